//! The commands behind the command line: each takes a validated plan and does the work.
//! The binary (`src/main.rs` + `src/cli.rs`) is a thin layer over these.

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::error::{Error, Result};
use crate::experiment::{RunResult, pool, simulate};
use crate::report::{self, write_atomic};
use crate::scenario::{self, Loaded};
use crate::workflow::WorldOptions;

/// What `orchsim run` was asked to do.
#[derive(Clone, Debug, Default)]
pub struct RunPlan {
    /// Scenario file; `None` runs the built-in default.
    pub scenario: Option<PathBuf>,
    /// `PATH=VALUE` overrides, in order (`--seed`, `--replications` and `--tasks` are
    /// turned into overrides of `seed`, `replications` and `workload.tasks`).
    pub sets: Vec<(String, String)>,
    /// Output folder; default `output/<scenario name>/`.
    pub out: Option<PathBuf>,
    /// Worker threads (0 = one per core).
    pub jobs: usize,
    /// Write `events.jsonl`.
    pub audit: bool,
    /// Write `tasks.csv`.
    pub task_log: bool,
    /// Draw the charts.
    pub charts: bool,
    /// Print nothing but errors.
    pub quiet: bool,
    /// The command line, for the manifest.
    pub command: Vec<String>,
}

/// The files a run produced, in memory, ready to be written.
#[derive(Debug)]
pub struct RunOutput {
    /// The loaded scenario.
    pub loaded: Loaded,
    /// The results.
    pub run: RunResult,
    /// `(file name, bytes)` of every data file.
    pub files: Vec<(String, Vec<u8>)>,
    /// The assembled event trail (a temporary file) and its summary, with `--audit`.
    pub trail: Option<(PathBuf, report::trail::TrailSummary)>,
}

/// Loads and validates, simulates, and formats every data file. Nothing is written
/// but, with `--audit`, the trail: into a temporary file in `scratch`.
pub fn compute_run(plan: &RunPlan, progress: &(dyn Fn() + Sync), scratch: &Path) -> Result<RunOutput> {
    let loaded = scenario::load(plan.scenario.as_deref(), &plan.sets)?;
    compute_loaded(loaded, plan, progress, scratch)
}

/// [`compute_run`] for an already loaded scenario.
pub fn compute_loaded(loaded: Loaded, plan: &RunPlan, progress: &(dyn Fn() + Sync), scratch: &Path) -> Result<RunOutput> {
    let pool = pool(plan.jobs)?;
    let opts = WorldOptions { task_log: plan.task_log };
    let parts_dir = scratch.join(format!(".trail-parts-{}", std::process::id()));
    if plan.audit {
        std::fs::create_dir_all(&parts_dir).map_err(|e| Error::io(&parts_dir, e))?;
    }
    let run = simulate(&loaded.scenario, opts, &pool, progress, plan.audit.then_some(parts_dir.as_path()));
    let run = match run {
        Ok(r) => r,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&parts_dir);
            return Err(e);
        }
    };
    let trail = if plan.audit {
        let header = json!({
            "event": "header",
            "format": report::trail::FORMAT,
            "orchsim_version": env!("CARGO_PKG_VERSION"),
            "resolved_scenario_sha256": report::sha256_hex(scenario::to_toml_string(&loaded.tree).as_bytes()),
            "seed": loaded.scenario.seed,
            "replications": loaded.scenario.replications,
        });
        let parts: Vec<&Path> = run.units.iter().filter_map(|u| u.trail.as_deref()).collect();
        let dest = scratch.join(format!(".events.jsonl.tmp-{}", std::process::id()));
        let summary = report::trail::assemble(&dest, &header, &parts);
        let _ = std::fs::remove_dir_all(&parts_dir);
        Some((dest, summary?))
    } else {
        None
    };
    let sc = &loaded.scenario;
    let mut files = vec![
        ("summary.csv".to_string(), report::csv::summary(sc, &run)),
        ("replications.csv".to_string(), report::csv::replications(sc, &run)),
        ("agents.csv".to_string(), report::csv::agents(sc, &run)),
        ("business_units.csv".to_string(), report::csv::business_units(sc, &run)),
        ("comparisons.csv".to_string(), crate::analysis::comparisons_file(&loaded, &run)),
    ];
    if plan.task_log {
        files.push(("tasks.csv".to_string(), report::csv::tasks(sc, &run)));
    }
    Ok(RunOutput { loaded, run, files, trail })
}

/// Writes text to standard output. A closed pipe (`orchsim models | head -1`) comes
/// back as an I/O error that `main` treats as success, instead of a panic.
pub fn say(text: &str) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).and_then(|_| out.flush()).map_err(|e| Error::io("<stdout>", e))
}

/// [`say`] with `format!` arguments and a newline.
#[macro_export]
macro_rules! sayln {
    ($($arg:tt)*) => { $crate::commands::say(&format!("{}\n", format_args!($($arg)*))) };
}

/// The default output folder of a scenario.
pub fn default_out(name: &str) -> PathBuf {
    Path::new("output").join(name)
}

/// `orchsim run`.
pub fn run(plan: &RunPlan) -> Result<()> {
    // Validate before anything is created on disk.
    let loaded = scenario::load(plan.scenario.as_deref(), &plan.sets)?;
    let sc = &loaded.scenario;
    let out = plan.out.clone().unwrap_or_else(|| default_out(&sc.name));
    refuse_other_kind(&out, "sweep_plan.json", "a sweep")?;
    let units = sc.replications as u64 * sc.strategies.len() as u64;
    let bar = progress_bar(units, plan.quiet, "worlds");
    if plan.audit {
        // The trail is streamed into the output folder while the worlds run.
        std::fs::create_dir_all(&out).map_err(|e| Error::io(&out, e))?;
    }
    let output = compute_loaded(loaded.clone(), plan, &|| bar.inc(1), &out)?;
    bar.finish_and_clear();
    write_run(plan, &output, &out)?;
    if plan.charts {
        plot(&out)?;
    }
    if !plan.quiet {
        crate::sayln!(
            "{}: {} replications x {} strategies, {} tasks each",
            sc.name,
            sc.replications,
            sc.strategies.len(),
            sc.workload.tasks
        )?;
        say(&report::table::render(sc, &output.run))?;
        say(&crate::analysis::verdict_lines(&output.loaded, &output.run))?;
        crate::sayln!("wrote {}", out.display())?;
    }
    Ok(())
}

/// Refuses to write into `out` when it holds results of the other kind (`marker`
/// present): a run into a sweep folder, or a sweep into a run folder, would remove
/// results the user may have spent hours computing.
pub fn refuse_other_kind(out: &Path, marker: &str, what: &str) -> Result<()> {
    if out.join(marker).exists() {
        return Err(Error::Usage(format!("{}: holds {what}; choose another --out (or remove the folder)", out.display())));
    }
    Ok(())
}

/// Writes the files of a run (each atomically), the manifest last.
pub fn write_run(plan: &RunPlan, output: &RunOutput, out: &Path) -> Result<()> {
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let mut keep: Vec<&str> = output.files.iter().map(|(n, _)| n.as_str()).collect();
    keep.push("manifest.json");
    report::remove_stale(out, &keep)?;
    let mut digests = Vec::new();
    for (name, bytes) in &output.files {
        write_atomic(&out.join(name), bytes)?;
        digests.push((name.clone(), report::sha256_hex(bytes)));
    }
    let mut extra = json!({});
    if let Some((tmp, summary)) = &output.trail {
        let dest = out.join("events.jsonl");
        std::fs::rename(tmp, &dest).map_err(|e| Error::io(&dest, e))?;
        digests.push(("events.jsonl".to_string(), summary.sha256.clone()));
        extra = json!({ "trail": { "file": "events.jsonl", "format": report::trail::FORMAT, "lines": summary.lines, "final_hash": summary.final_hash } });
    }
    let options =
        json!({ "task_log": plan.task_log, "audit": plan.audit, "base_dir": output.loaded.source.base_dir.display().to_string() });
    let manifest = report::manifest::build(&output.loaded, &plan.command, options, &digests, extra);
    write_atomic(&out.join("manifest.json"), &manifest)?;
    Ok(())
}

/// `orchsim plot`: (re)draws the charts of a run or sweep folder from its files alone.
pub fn plot(dir: &Path) -> Result<Vec<PathBuf>> {
    use report::charts::ChartError as C;
    report::charts::render_dir(dir).map_err(|e| match e {
        C::NoData { .. } => Error::Usage(format!("{e}: not a run or sweep folder")),
        // Unreadable or malformed input files are invalid input (exit 2).
        C::Csv { .. } | C::MissingColumn { .. } | C::BadNumber { .. } | C::BadValue { .. } | C::Invalid { .. } | C::Json { .. } => {
            Error::Usage(format!("charts: {e}"))
        }
        e => Error::Other(format!("charts: {e}")),
    })
}

/// `orchsim validate`: checks every file, reports every problem.
pub fn validate(files: &[PathBuf], quiet: bool) -> Result<()> {
    let mut all = Vec::new();
    for f in files {
        match scenario::load(Some(f), &[]) {
            Ok(l) => {
                // A [sweep.vary] table is checked too: every point of its grid.
                let mut grid = String::new();
                if l.tree.get("sweep").is_some() {
                    let plan = crate::sweep::SweepPlan { scenario: f.clone(), ..Default::default() };
                    match crate::sweep::prepare(&plan) {
                        Ok(p) => grid = format!(", sweep of {} points", p.points.len()),
                        Err(Error::Invalid(d)) => {
                            all.extend(d);
                            continue;
                        }
                        Err(e) => return Err(e),
                    }
                }
                if !quiet {
                    let sc = &l.scenario;
                    crate::sayln!(
                        "ok: {} ({}: {} strategies, {} agents, {} models, {} tasks x {} replications{grid})",
                        f.display(),
                        sc.name,
                        sc.strategies.len(),
                        sc.agents.len(),
                        sc.models.len(),
                        sc.workload.tasks,
                        sc.replications
                    )?;
                }
            }
            Err(Error::Invalid(d)) => all.extend(d),
            Err(e) => return Err(e),
        }
    }
    if all.is_empty() { Ok(()) } else { Err(Error::Invalid(all)) }
}

/// `orchsim models`: the catalog as a table or CSV.
pub fn models(a: &crate::cli::ModelsArgs) -> Result<String> {
    crate::model::catalog::list::command(a.prices.as_deref(), a.provider.clone(), a.search.clone(), a.csv)
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
