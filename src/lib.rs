//! # orchsim
//!
//! A deterministic discrete-event simulator for the unit economics of AI-agent
//! orchestration: *when does a team of coordinated LLM agents beat one agent, or a
//! human team, on cost per correct result?*
//!
//! **Scenario.** A TOML file: priced, rate-limited LLM **models**; **agents** (roles
//! bound to a model, with token budgets, error rates, tools, reviews); a **workload**
//! of tasks in classes; and competing **strategies**. See `scenarios/`.
//!
//! **Strategy.** An orchestration design: steps of agents (pipelines, fan-out and
//! voting, supervisors, reviewers with rework) or a human team.
//!
//! **Replication.** One independent run of every strategy on the same task stream
//! (common random numbers); results are aggregated with Student-t 95% intervals.
//!
//! **Sweep.** A grid of overrides of any scenario field, each point run like a scenario
//! ([`sweep`]); resumable, shardable, merged byte for byte.
//!
//! **Audit.** Every charge lands in an exact ledger (pico-dollars) by step, agent and
//! business unit; `--audit` adds a hash-chained event trail; [`audit`] replays runs bit
//! for bit and classifies faults as systematic or stochastic.
//!
//! Data flow: [`scenario`] (TOML -> tree -> overrides -> typed [`model::Scenario`]) ->
//! [`experiment`] (worlds on rayon) -> [`workflow`] (one world per replication and
//! strategy, on the [`engine`]) -> [`economics`] (ledger, metrics) -> [`report`] (CSV,
//! manifest, charts, trail). [`analysis`] turns per-replication results into decisions:
//! paired comparisons, verdicts, break-evens and sensitivity. [`runner::Runner`] is the
//! library's entry point: a scenario in, results out. The binary ([`cli`]) is a thin
//! layer over [`commands`], which write those results into output folders.
//!
//! ```text
//! task --> research --> verification --> summarization --> formatting --> quality check --> delivered
//!              ^                                                              |
//!              +----------------------- flagged: rework -----------------------+
//! ```
//!
//! ```
//! use orchsim::{economics::metrics::metric_index, runner::Runner};
//! # fn main() -> Result<(), orchsim::Error> {
//! let sets = [("workload.tasks".to_string(), "50".to_string()), ("replications".to_string(), "2".to_string())];
//! let out = Runner::load(None, &sets)?.jobs(1).run()?; // None: the built-in default
//! let cps = metric_index("cost_per_task_usd").unwrap();
//! let single = &out.run.units[0];                     // replication 0, first strategy
//! assert_eq!(out.loaded.scenario.strategies[single.strategy].name, "single");
//! assert!(single.metrics[cps] > 0.005 && single.metrics[cps] < 0.02); // about $0.01
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

pub mod analysis;
pub mod audit;
pub mod calibrate;
pub mod cli;
pub mod commands;
pub mod economics;
pub mod engine;
pub mod error;
pub mod experiment;
pub mod horizon;
pub mod model;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod sweep;
pub mod traces;
pub mod workflow;

pub use error::{Error, Result};
