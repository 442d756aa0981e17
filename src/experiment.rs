//! Running a scenario: every (replication, strategy) world in parallel, results in a
//! fixed order.
//!
//! Parallelism is only across independent worlds; `par_iter().map().collect()` keeps
//! input order, so the thread count never changes a byte of output.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::economics::ledger::{BuStats, RowStats};
use crate::economics::metrics::{N_METRICS, metric_values};
use crate::engine::rng::replication_seed;
use crate::error::{Error, Result};
use crate::model::Scenario;
use crate::workflow::trail::TrailWriter;
use crate::workflow::{TaskRow, WorldOptions, WorldResult, run_world};

/// The results of one world, reduced to what the reports need.
#[derive(Clone, Debug)]
pub struct UnitResult {
    /// Replication number.
    pub replication: u32,
    /// Strategy index.
    pub strategy: usize,
    /// Metric values in `METRICS` order.
    pub metrics: [f64; N_METRICS],
    /// Ledger rows with their `(step, agent)` names.
    pub rows: Vec<(String, String, RowStats)>,
    /// Per business unit.
    pub bus: Vec<BuStats>,
    /// Exact total cost.
    pub total: crate::economics::Usd,
    /// Exact value of the results: values of correct results less penalties of wrong ones.
    pub value: crate::economics::Usd,
    /// Per-task rows (with `--task-log`).
    pub task_rows: Vec<TaskRow>,
    /// This world's part of the event trail (with `--audit`).
    pub trail: Option<PathBuf>,
}

/// All worlds of a run, ordered by replication, then strategy.
#[derive(Clone, Debug)]
pub struct RunResult {
    /// Replication-major, strategy-minor.
    pub units: Vec<UnitResult>,
    /// Replications run.
    pub replications: u32,
}

impl RunResult {
    /// The `seed` column of replication `r`.
    pub fn replication_seed(seed: u64, r: u32) -> u64 {
        replication_seed(seed, r as u64)
    }
}

/// Runs one world and reduces it.
pub fn run_unit(sc: &Scenario, replication: u32, strategy: usize, opts: WorldOptions) -> UnitResult {
    reduce(run_world(sc, strategy, replication as u64, opts, None), replication, strategy, None)
}

/// Runs one world, streaming its events into a file in `trail_dir` when given.
pub fn run_unit_traced(
    sc: &Scenario,
    replication: u32,
    strategy: usize,
    opts: WorldOptions,
    trail_dir: Option<&Path>,
) -> Result<UnitResult> {
    let Some(dir) = trail_dir else {
        let w = run_world(sc, strategy, replication as u64, opts, None);
        time_limit(sc, &w)?;
        return Ok(reduce(w, replication, strategy, None));
    };
    let path = dir.join(format!("r{replication:06}-s{strategy:04}.jsonl"));
    let trail = TrailWriter::create(path.clone(), replication, &sc.strategies[strategy].name).map_err(|e| Error::io(&path, e))?;
    let mut w = run_world(sc, strategy, replication as u64, opts, Some(trail));
    time_limit(sc, &w)?;
    let written = match w.trail.take() {
        Some(Ok((p, _))) => Some(p),
        Some(Err(e)) => return Err(Error::io(&path, e)),
        None => None,
    };
    Ok(reduce(w, replication, strategy, written))
}

/// A world that stopped at the simulated-time limit is an invalid scenario (exit 2).
fn time_limit(sc: &Scenario, w: &WorldResult) -> Result<()> {
    match &w.stopped {
        None => Ok(()),
        Some(t) => Err(Error::Invalid(vec![crate::error::Diagnostic {
            file: format!("scenario {}", sc.name),
            line: None,
            path: t.field.clone(),
            value: t.value.clone(),
            expected: t.expected(),
        }])),
    }
}

/// Reduces a world to what the reports need.
fn reduce(w: WorldResult, replication: u32, strategy: usize, trail: Option<PathBuf>) -> UnitResult {
    let metrics = metric_values(&w.counters, &w.ledger);
    let rows = w.row_names.into_iter().zip(w.ledger.rows).map(|((s, a), r)| (s, a, r)).collect();
    UnitResult {
        replication,
        strategy,
        metrics,
        rows,
        bus: w.ledger.bus,
        total: w.ledger.total,
        value: w.counters.value,
        task_rows: w.task_rows,
        trail,
    }
}

/// The most worker threads a pool has.
pub const MAX_JOBS: usize = 1024;

/// Builds a rayon pool of `jobs` threads (0 = one per core, at most [`MAX_JOBS`]).
pub fn pool(jobs: usize) -> Result<rayon::ThreadPool> {
    if jobs > MAX_JOBS {
        return Err(Error::Usage(format!("--jobs {jobs}: at most {MAX_JOBS} worker threads (0 = one per core)")));
    }
    rayon::ThreadPoolBuilder::new().num_threads(jobs).build().map_err(|e| Error::Other(format!("cannot start {jobs} worker threads: {e}")))
}

/// Runs every replication of every strategy on `pool`, calling `progress` once per
/// finished world; with `trail_dir`, each world streams its events to a file there.
pub fn simulate(
    sc: &Scenario,
    opts: WorldOptions,
    pool: &rayon::ThreadPool,
    progress: &(dyn Fn() + Sync),
    trail_dir: Option<&Path>,
) -> Result<RunResult> {
    let units: Vec<(u32, usize)> = (0..sc.replications).flat_map(|r| (0..sc.strategies.len()).map(move |s| (r, s))).collect();
    let results: Result<Vec<UnitResult>> = pool.install(|| {
        units
            .par_iter()
            .map(|&(r, s)| {
                let u = run_unit_traced(sc, r, s, opts, trail_dir);
                progress();
                u
            })
            .collect()
    });
    Ok(RunResult { units: results?, replications: sc.replications })
}
