//! Output: results are computed once into plain structs; each exporter only formats
//! them, and [`write_atomic`] is the one place that writes files.

pub mod charts;
pub mod csv;
pub mod manifest;
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
        match *name {
            "charts" | "parts" if p.is_dir() => {
                for e in std::fs::read_dir(&p).map_err(|e| Error::io(&p, e))?.flatten() {
                    let f = e.file_name().to_string_lossy().into_owned();
                    let ours = if *name == "charts" {
                        CHARTS.iter().any(|c| f == format!("{c}.svg") || f == format!("{c}.png"))
                    } else {
                        f.starts_with("point-") && f.ends_with(".csv")
                    };
                    if ours || (f.starts_with('.') && f.contains(".tmp-")) {
                        rm(&e.path())?;
                    }
                }
                // Gone if it held only our files.
                let _ = std::fs::remove_dir(&p);
            }
            _ if p.is_file() => rm(&p)?,
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

/// SHA-256 of bytes, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    crate::scenario::hex(&Sha256::digest(bytes))
}
