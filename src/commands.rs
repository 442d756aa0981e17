//! The commands behind the command line: each takes a validated plan and does the work,
//! on top of the library's [`Runner`] and [`crate::sweep`]. The binary (`src/main.rs` +
//! `src/cli.rs`) is a thin layer over these.

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::error::{Error, Result};

use crate::report::{self, write_atomic};
use crate::runner::{Results, Runner};
use crate::scenario;

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
    /// Write the simulated calls as OTLP JSON to this file (see [`report::otel`]).
    pub otel: Option<PathBuf>,
    /// Draw the charts.
    pub charts: bool,
    /// Print nothing but errors.
    pub quiet: bool,
    /// Replace a folder holding other results (of another scenario, or a sweep).
    pub force: bool,
    /// The command line, for the manifest.
    pub command: Vec<String>,
}

/// Writes text to standard output (see [`report::say`]).
pub use crate::report::{plot, progress_bar, say};

/// The default output folder of a scenario.
pub fn default_out(name: &str) -> PathBuf {
    Path::new("output").join(name)
}

/// `orchsim run`: simulates into memory, writes a complete folder beside the output
/// folder and puts it in place in one step (see [`report::folder`]).
pub fn run(plan: &RunPlan) -> Result<()> {
    // Validate before anything is created on disk.
    let loaded = scenario::load(plan.scenario.as_deref(), &plan.sets)?;
    let sc = loaded.scenario.clone();
    let out = report::folder::choose(plan.out.as_deref(), &sc.name, || default_out(&sc.name))?;
    let _lock = report::folder::lock(&out)?;
    report::folder::claim(&out, &report::folder::Holds::Run(sc.name.clone()), plan.force)?;
    let staging = report::folder::Staging::new(&out)?;
    let units = sc.replications as u64 * sc.strategies.len() as u64;
    let bar = progress_bar(units, plan.quiet, "worlds");
    // The OTLP export is made from the event trail, which is then kept only if asked for.
    let trail = plan.audit || plan.otel.is_some();
    let runner = Runner::new(loaded).jobs(plan.jobs).task_log(plan.task_log).audit(trail).trail_dir(staging.path());
    let mut output = runner.run_observed(&|| bar.inc(1))?;
    bar.finish_and_clear();
    let otel = match (&plan.otel, &output.trail) {
        (Some(file), Some(t)) => Some((file, report::otel::export(&sc, t.path())?)),
        _ => None,
    };
    if !plan.audit {
        output.trail = None;
    }
    let table = report::table::render(&sc, &output.run);
    let verdicts = crate::analysis::verdict_lines(&output.loaded, &output.run);
    // A folder of someone else's files is not swapped away (with its permissions and
    // every process's view of it): there are no old results in it to protect, so the
    // run is written in place, the manifest last.
    let in_place = report::folder::holds(&out) == report::folder::Holds::Other;
    let dest = if in_place { out.clone() } else { staging.path().to_path_buf() };
    write_run(plan, output, &dest)?;
    if plan.charts {
        plot(&dest)?;
    }
    if !in_place {
        staging.commit()?;
    }
    // After the folder is in place, so that FILE may be inside it.
    if let Some((file, bytes)) = otel {
        write_atomic(file, &bytes)?;
    }
    if !plan.quiet {
        crate::sayln!(
            "{}: {} replications x {} strategies, {} tasks each",
            sc.name,
            sc.replications,
            sc.strategies.len(),
            sc.workload.tasks
        )?;
        say(&table)?;
        say(&verdicts)?;
        crate::sayln!("wrote {}", out.display())?;
    }
    Ok(())
}

/// Writes the files of a run into `out` (a fresh folder), each atomically, the
/// manifest last.
pub fn write_run(plan: &RunPlan, output: Results, out: &Path) -> Result<()> {
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let mut digests = Vec::new();
    for (name, bytes) in &output.files {
        write_atomic(&out.join(name), bytes)?;
        digests.push((name.clone(), report::sha256_hex(bytes)));
    }
    let mut extra = json!({});
    if let Some(trail) = output.trail {
        let summary = trail.summary.clone();
        let dest = out.join("events.jsonl");
        trail.persist(&dest)?;
        report::folder::kill_point("events.jsonl");
        digests.push(("events.jsonl".to_string(), summary.sha256.clone()));
        extra = json!({ "trail": { "file": "events.jsonl", "format": report::trail::FORMAT, "lines": summary.lines, "final_hash": summary.final_hash } });
    }
    let options =
        json!({ "task_log": plan.task_log, "audit": plan.audit, "base_dir": output.loaded.source.base_dir.display().to_string() });
    let manifest = report::manifest::build(&output.loaded, &plan.command, options, &digests, extra);
    write_atomic(&out.join("manifest.json"), &manifest)?;
    Ok(())
}

/// `orchsim validate`: checks every file, reports every problem.
pub fn validate(files: &[PathBuf], quiet: bool) -> Result<()> {
    let mut all = Vec::new();
    for f in files {
        match scenario::load(Some(f), &[]) {
            Ok(l) => {
                // A [horizon] table (and its adoption tables) is checked too.
                match crate::horizon::spec::read(&l.tree, &l.scenario, &l.source.file) {
                    Ok(_) => {}
                    Err(Error::Invalid(d)) => {
                        all.extend(d);
                        continue;
                    }
                    Err(e) => return Err(e),
                }
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
