//! Strategies at work: one *world* per (replication, strategy), fed by the shared task
//! stream, producing a ledger and counters.
//!
//! ```text
//!  task stream (common random numbers)
//!       |  TaskArrived
//!       v
//!  [orchestrator]? -> research -> verification -> summarization -> formatting -> quality check
//!                        ^                                                          |
//!                        +------------------ flagged: rework ------------------------+
//!  each step: request -> FIFO wait for a model slot / rate limit -> attempt
//!             -> transient error / timeout -> backoff, retry | success -> defect draw
//! ```

pub(crate) mod agents;
pub(crate) mod draws;
pub mod event;
pub(crate) mod human;
pub mod stream;
pub mod trail;

use crate::economics::ledger::{BuStats, Ledger};
use crate::economics::metrics::Counters;
use crate::engine::SimTime;
use crate::model::{Class, Scenario, StrategyKind};
use event::{NoTrail, Observer};

pub use stream::{TaskSpec, TaskStream};

/// Outcome of a task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Delivered without defect.
    Correct,
    /// Delivered with a defect.
    Wrong,
    /// Not delivered.
    Failed,
    /// Finished by people after the agents gave up: correct unless the people erred,
    /// in which case the task's root cause is the escalation row.
    Escalated,
}

impl Outcome {
    /// The name used in output files.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Correct => "correct",
            Outcome::Wrong => "wrong",
            Outcome::Failed => "failed",
            Outcome::Escalated => "escalated",
        }
    }
}

/// One row of `tasks.csv`.
#[derive(Clone, Debug)]
pub struct TaskRow {
    /// Task number (0-based, arrival order).
    pub task: u64,
    /// Class index.
    pub class: usize,
    /// Arrival time, s.
    pub arrival_s: f64,
    /// Finish time, s.
    pub finish_s: f64,
    /// Outcome.
    pub outcome: Outcome,
    /// Everything charged for this task.
    pub cost: crate::economics::Usd,
    /// Billed input tokens.
    pub tokens_in: u64,
    /// Billed output tokens.
    pub tokens_out: u64,
    /// Attempts, retries included.
    pub attempts: u64,
    /// Reworks.
    pub reworks: u64,
    /// Ledger row of the root cause, for wrong and failed tasks.
    pub root_cause: Option<usize>,
}

/// Counts a task whose outcome was decided at `at`: its latency and the makespan, and,
/// its value or penalty (`Some(correct)` when delivered; `None` is a failure, which
/// costs the class's failure penalty), and, when correct, its business unit's correct
/// count and whether it met its class deadline. Both worlds
/// count through here, so the metrics mean the same for agents and for people.
pub(crate) fn tally(c: &mut Counters, bu: &mut BuStats, class: &Class, arrival: SimTime, at: SimTime, delivered: Option<bool>) {
    let latency = at - arrival;
    c.record_latency(latency);
    c.makespan = c.makespan.max(at);
    match delivered {
        Some(true) => {
            c.correct += 1;
            c.value += class.value_usd;
            bu.correct += 1;
        }
        Some(false) => {
            c.wrong += 1;
            c.value -= class.wrong_penalty_usd;
        }
        None => {
            c.failed += 1;
            c.value -= class.failure_penalty_usd;
        }
    }
    // A deadline is met by a correct result: a wrong answer on time is no service.
    if delivered == Some(true) && class.deadline_s.is_none_or(|d| latency <= SimTime::from_secs(d)) {
        c.sla_met += 1;
    }
}

/// Names of a world's ledger rows: `(step, agent)` pairs as written to `agents.csv`.
pub type RowNames = Vec<(String, String)>;

/// Everything a world produced.
#[derive(Debug)]
pub struct WorldResult {
    /// Money, by row, business unit and category.
    pub ledger: Ledger,
    /// Counts and timings.
    pub counters: Counters,
    /// Ledger row names.
    pub row_names: RowNames,
    /// Per-task rows, when requested.
    pub task_rows: Vec<TaskRow>,
    /// The trail file and its line count, when a trail was written.
    pub trail: Option<std::io::Result<(std::path::PathBuf, u64)>>,
}

/// Options of a world.
#[derive(Clone, Copy, Debug, Default)]
pub struct WorldOptions {
    /// Keep one row per task.
    pub task_log: bool,
}

/// Runs strategy `strategy` of `scenario` for replication `replication`.
/// `trail`, when given, receives the world's events (`--audit`).
pub fn run_world(
    scenario: &Scenario,
    strategy: usize,
    replication: u64,
    opts: WorldOptions,
    trail: Option<trail::TrailWriter>,
) -> WorldResult {
    match trail {
        Some(writer) => {
            let (mut result, writer) = run_observed(scenario, strategy, replication, opts, writer);
            result.trail = Some(writer.finish());
            result
        }
        None => run_observed(scenario, strategy, replication, opts, NoTrail).0,
    }
}

/// Runs strategy `strategy` of `scenario` for replication `replication`, reporting its
/// events to `obs`; returns the results (without a trail) and the observer.
pub fn run_observed<O: Observer>(scenario: &Scenario, strategy: usize, replication: u64, opts: WorldOptions, obs: O) -> (WorldResult, O) {
    let tasks = TaskStream::new(scenario, replication);
    let st = &scenario.strategies[strategy];
    let draws = draws::Draws::new(scenario.seed, replication, &st.name);
    match &st.kind {
        StrategyKind::Agents(a) => agents::World::new(scenario, a, tasks, draws, opts, obs).run(),
        StrategyKind::Human(h) => human::run(scenario, h, tasks, draws, opts, obs),
    }
}
