//! Output: results are computed once into plain structs; each exporter only formats
//! them, and [`write_atomic`] is the one place that writes files.

pub mod charts;
pub mod csv;
pub mod folder;
pub mod manifest;
pub mod otel;
pub mod table;
pub mod trail;

use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, flushed
/// and synced, then renamed over the target. A reader or a crash never sees half a file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let res = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = res {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    folder::kill_point(name);
    Ok(())
}

/// Every file and folder that orchsim writes into an output folder.
pub const OUTPUTS: &[&str] = &[
    "summary.csv",
    "replications.csv",
    "agents.csv",
    "business_units.csv",
    "comparisons.csv",
    "tasks.csv",
    "events.jsonl",
    "manifest.json",
    "audit.csv",
    "sweep.csv",
    "sweep_replications.csv",
    "sweep_plan.json",
    "breakeven.csv",
    "sensitivity.csv",
    "charts",
    "parts",
];

/// The charts that `report::charts` draws (each as `.svg` and `.png`).
pub const CHARTS: &[&str] = &["cost_per_result", "cost_breakdown", "latency", "outcomes", "sweep_cost_per_success", "sweep_cheapest"];

/// Removes orchsim's own outputs from `dir` except those in `keep`, so that a folder
/// reused for another run holds no stale file (an old trail or task log that `audit`
/// would otherwise read). Only a folder that orchsim wrote before (it holds a
/// `manifest.json` or `sweep_plan.json`) is cleaned, and only files with the names
/// orchsim writes: the user's own files, even inside `charts/` or `parts/`, are kept.
pub fn remove_stale(dir: &Path, keep: &[&str]) -> Result<()> {
    if !dir.join("manifest.json").is_file() && !dir.join("sweep_plan.json").is_file() {
        return Ok(());
    }
    let rm = |p: &Path| -> Result<()> {
        match std::fs::remove_file(p) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(p, e)),
            _ => Ok(()),
        }
    };
    for name in OUTPUTS.iter().filter(|n| !keep.contains(n)) {
        let p = dir.join(name);
        let Ok(meta) = std::fs::symlink_metadata(&p) else { continue };
        match *name {
            // A link is removed, never followed.
            _ if meta.file_type().is_symlink() => rm(&p)?,
            "charts" | "parts" if meta.is_dir() => {
                for e in std::fs::read_dir(&p).map_err(|e| Error::io(&p, e))?.flatten() {
                    let f = e.file_name().to_string_lossy().into_owned();
                    let ours = if *name == "charts" {
                        CHARTS.iter().any(|c| f == format!("{c}.svg") || f == format!("{c}.png"))
                    } else {
                        f.starts_with("point-") && f.ends_with(".csv")
                    };
                    let is_file = e.file_type().is_ok_and(|t| t.is_file() || t.is_symlink());
                    if is_file && (ours || (f.starts_with('.') && f.contains(".tmp-"))) {
                        rm(&e.path())?;
                    }
                }
                // Gone if it held only our files.
                let _ = std::fs::remove_dir(&p);
            }
            _ if meta.is_file() => rm(&p)?,
            _ => {}
        }
    }
    Ok(())
}

/// Formats a float for CSV: shortest round-trip decimal, `inf`, `-inf` or `NaN`.
pub fn fmt_f64(x: f64) -> String {
    if x.is_nan() {
        "NaN".to_string()
    } else if x == 0.0 {
        "0".to_string()
    } else {
        format!("{x}")
    }
}

/// Writes text to standard output. A closed pipe (`orchsim models | head -1`) comes
/// back as an I/O error that `main` treats as success, instead of a panic.
pub fn say(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).and_then(|_| out.flush()).map_err(|e| Error::io("<stdout>", e))
}

/// [`say`] with `format!` arguments and a newline.
#[macro_export]
macro_rules! sayln {
    ($($arg:tt)*) => { $crate::report::say(&format!("{}\n", format_args!($($arg)*))) };
}

/// A progress bar on stderr, drawn only on a terminal and when not quiet.
pub fn progress_bar(len: u64, quiet: bool, unit: &str) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if quiet || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    let style = indicatif::ProgressStyle::with_template(&format!("{{bar:40}} {{pos}}/{{len}} {unit} ({{rate}}, {{eta}} left)"))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .with_key("rate", |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
            let r = s.per_sec();
            let _ = if r >= 10.0 { write!(w, "{r:.0}/s") } else { write!(w, "{r:.1}/s") };
        });
    bar.set_style(style);
    bar
}

/// (Re)draws the charts of a run or sweep folder from its files alone.
pub fn plot(dir: &Path) -> Result<Vec<std::path::PathBuf>> {
    use charts::ChartError as C;
    // A sweep's charts follow the metric its manifest records (`sweep --metric`).
    let metric = crate::analysis::recorded_metric(dir).unwrap_or_else(|| charts::DEFAULT_METRIC.to_string());
    charts::render_dir_for(dir, &metric).map_err(|e| match e {
        C::NoData { .. } => Error::Usage(format!("{e}: not a run or sweep folder")),
        // Unreadable or malformed input files are invalid input (exit 2).
        C::Csv { .. } | C::MissingColumn { .. } | C::BadNumber { .. } | C::BadValue { .. } | C::Invalid { .. } | C::Json { .. } => {
            Error::Usage(format!("charts: {e}"))
        }
        e => Error::Other(format!("charts: {e}")),
    })
}

/// SHA-256 of bytes, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    crate::scenario::hex(&Sha256::digest(bytes))
}
