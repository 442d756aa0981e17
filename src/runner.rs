//! The library's entry point: a scenario in, results out. It knows nothing of the
//! command line: no output folder, no manifest, no progress bar. The CLI
//! ([`crate::commands`]) is a thin layer that writes a [`Results`] into a folder.

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::error::{Error, Result};
use crate::experiment::{RunResult, pool, simulate};
use crate::report::{self, trail::TrailSummary};
use crate::scenario::{self, Loaded};
use crate::workflow::WorldOptions;

/// Runs a scenario: every replication of every strategy.
///
/// ```
/// # fn main() -> Result<(), orchsim::Error> {
/// let sets = [("workload.tasks".to_string(), "20".to_string()), ("replications".to_string(), "2".to_string())];
/// let results = orchsim::runner::Runner::load(None, &sets)?.jobs(1).run()?;
/// assert_eq!(results.run.units.len(), 2 * results.loaded.scenario.strategies.len());
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Runner {
    loaded: Loaded,
    jobs: usize,
    task_log: bool,
    audit: bool,
    trail_dir: Option<PathBuf>,
}

impl Runner {
    /// A runner of an already loaded scenario.
    pub fn new(loaded: Loaded) -> Runner {
        Runner { loaded, jobs: 0, task_log: false, audit: false, trail_dir: None }
    }

    /// Loads and validates a scenario file (`None`: the built-in default) with
    /// `PATH=VALUE` overrides applied in order.
    pub fn load(file: Option<&Path>, sets: &[(String, String)]) -> Result<Runner> {
        Ok(Runner::new(scenario::load(file, sets)?))
    }

    /// Worker threads (0, the default: one per core). Never changes the results.
    pub fn jobs(mut self, jobs: usize) -> Runner {
        self.jobs = jobs;
        self
    }

    /// Also produce `tasks.csv`, one row per task.
    pub fn task_log(mut self, on: bool) -> Runner {
        self.task_log = on;
        self
    }

    /// Also produce the hash-chained event trail.
    pub fn audit(mut self, on: bool) -> Runner {
        self.audit = on;
        self
    }

    /// The folder where the event trail is assembled (default: `orchsim/` in the
    /// system's temporary folder, where leftovers of killed processes are removed). Put it on the file system of the trail's destination so that
    /// [`Trail::persist`] is a rename.
    pub fn trail_dir(mut self, dir: &Path) -> Runner {
        self.trail_dir = Some(dir.to_path_buf());
        self
    }

    /// The scenario.
    pub fn loaded(&self) -> &Loaded {
        &self.loaded
    }

    /// Simulates and formats every data file. Writes nothing but, when auditing, the
    /// trail (a temporary file owned by [`Results::trail`]).
    pub fn run(&self) -> Result<Results> {
        self.run_observed(&|| {})
    }

    /// [`Runner::run`], calling `world_done` once per finished world.
    pub(crate) fn run_observed(&self, world_done: &(dyn Fn() + Sync)) -> Result<Results> {
        let loaded = self.loaded.clone();
        let pool = pool(self.jobs)?;
        let opts = WorldOptions { task_log: self.task_log };
        let scratch = match &self.trail_dir {
            Some(d) => d.clone(),
            None => shared_scratch()?,
        };
        let tag = format!("{}-{}", std::process::id(), unique());
        // Removed on every path out, like the trail itself until it is persisted.
        let parts_dir = self.audit.then(|| Scratch(scratch.join(format!(".trail-parts-{tag}"))));
        if let Some(d) = &parts_dir {
            std::fs::create_dir_all(&d.0).map_err(|e| Error::io(&d.0, e))?;
        }
        let run = simulate(&loaded.scenario, opts, &pool, world_done, parts_dir.as_ref().map(|d| d.0.as_path()))?;
        let trail = match &parts_dir {
            Some(_) => {
                let header = json!({
                    "event": "header",
                    "format": report::trail::FORMAT,
                    "orchsim_version": env!("CARGO_PKG_VERSION"),
                    "resolved_scenario_sha256": report::sha256_hex(scenario::to_toml_string(&loaded.tree).as_bytes()),
                    "seed": loaded.scenario.seed,
                    "replications": loaded.scenario.replications,
                });
                let parts: Vec<&Path> = run.units.iter().filter_map(|u| u.trail.as_deref()).collect();
                let file = Scratch(scratch.join(format!(".events.jsonl.tmp-{tag}")));
                let summary = report::trail::assemble(&file.0, &header, &parts)?;
                Some(Trail { file, summary })
            }
            None => None,
        };
        let sc = &loaded.scenario;
        let mut files = vec![
            ("summary.csv".to_string(), report::csv::summary(sc, &run)?),
            ("replications.csv".to_string(), report::csv::replications(sc, &run)?),
            ("agents.csv".to_string(), report::csv::agents(sc, &run)?),
            ("business_units.csv".to_string(), report::csv::business_units(sc, &run)?),
            ("comparisons.csv".to_string(), crate::analysis::comparisons_file(&self.loaded, &run)?),
        ];
        if self.task_log {
            files.push(("tasks.csv".to_string(), report::csv::tasks(sc, &run)?));
        }
        Ok(Results { loaded, run, files, trail })
    }
}

/// `orchsim/` in the system's temporary folder, without the files that killed
/// processes left there (their process id is in the name, and is gone).
fn shared_scratch() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join("orchsim");
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    if Path::new("/proc/self").exists() {
        for e in std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))?.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let pid =
                name.rsplit_once(".tmp-").or_else(|| name.rsplit_once("parts-")).and_then(|(_, t)| t.split('-').next().map(String::from));
            if let Some(pid) = pid.filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
                && !Path::new("/proc").join(&pid).exists()
            {
                let _ = report::folder::remove_tree(&e.path());
            }
        }
    }
    Ok(dir)
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// A temporary file or folder, removed on drop.
#[derive(Debug)]
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = report::folder::remove_tree(&self.0);
    }
}

/// The event trail of an audited run: a temporary file until [`Trail::persist`]ed.
#[derive(Debug)]
pub struct Trail {
    file: Scratch,
    /// Its line count, final chain hash and SHA-256.
    pub summary: TrailSummary,
}

impl Trail {
    /// Where the trail is now.
    pub fn path(&self) -> &Path {
        &self.file.0
    }

    /// Moves the trail to `dest` (a rename, or a copy across file systems).
    pub fn persist(self, dest: &Path) -> Result<()> {
        let src = self.file.0.clone();
        if std::fs::rename(&src, dest).is_err() {
            std::fs::copy(&src, dest).map_err(|e| Error::io(dest, e))?;
        }
        Ok(())
    }
}

/// What a run produced, in memory.
#[derive(Debug)]
pub struct Results {
    /// The scenario.
    pub loaded: Loaded,
    /// The results of every world.
    pub run: RunResult,
    /// `(file name, bytes)` of every data file (`summary.csv`, `replications.csv`,
    /// `agents.csv`, `business_units.csv`, `comparisons.csv`, and `tasks.csv` with a task log).
    pub files: Vec<(String, Vec<u8>)>,
    /// The event trail, when auditing.
    pub trail: Option<Trail>,
}
