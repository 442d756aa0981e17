//! Decisions with uncertainty: what the replications say about one strategy *against*
//! another, not only about each strategy's level.
//!
//! Strategies share their task stream (common random numbers), so the difference
//! between two strategies in the same replication varies far less than either level.
//! Everything here works on those paired, per-replication differences:
//!
//! - [`compare`]: `comparisons.csv`, every strategy against a baseline on every metric
//!   (mean difference, Student-t 95% interval, ratio, share of replications won);
//! - [`verdict`]: the plain lines printed after a run's table, and money with
//!   significant digits;
//! - [`breakeven`]: where the paired difference of two strategies changes sign along a
//!   sweep axis (`breakeven.csv`), and the winner per sweep point;
//! - [`sensitivity`]: one input at a time at the ends of its range (`sensitivity.csv`).
//!
//! Every function is pure: it takes per-replication values and returns rows or text.

pub mod breakeven;
pub mod compare;
pub mod sensitivity;
pub mod verdict;

use crate::economics::metrics::{METRICS, N_METRICS, metric_index};
use crate::experiment::RunResult;
use crate::scenario::{Loaded, Node, Value};

/// Which direction of a metric is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Better {
    /// Less is better (costs, latencies, failures).
    Lower,
    /// More is better (correct results, success rate, value).
    Higher,
    /// Neither: a count that describes the run, not its quality (`tasks`, `events`).
    Neither,
}

impl Better {
    /// Whether `a` is strictly better than `b` in this direction.
    pub fn is_better(self, a: f64, b: f64) -> bool {
        match self {
            Better::Lower => a < b,
            Better::Higher => a > b,
            Better::Neither => false,
        }
    }
}

/// Which direction of metric `name` is better; `None` for an unknown name.
pub fn better(name: &str) -> Option<Better> {
    use Better::*;
    Some(match name {
        "tasks" | "events" => Neither,
        "correct" | "success_rate" | "sla_met_rate" | "throughput_per_hour" | "value_usd" | "net_value_usd" => Higher,
        "wrong"
        | "failed"
        | "escalated"
        | "cost_usd"
        | "model_cost_usd"
        | "tool_cost_usd"
        | "orchestration_cost_usd"
        | "platform_fee_usd"
        | "human_cost_usd"
        | "wasted_cost_usd"
        | "cost_per_task_usd"
        | "cost_per_success_usd"
        | "coordination_share"
        | "tokens_in"
        | "tokens_out"
        | "latency_mean_s"
        | "latency_p50_s"
        | "latency_p95_s"
        | "latency_p99_s"
        | "queue_wait_mean_s"
        | "makespan_s" => Lower,
        _ => return None,
    })
}

/// Looks up a metric for `--metric`: its index, or a usage message listing the names.
pub fn parse_metric(name: &str) -> Result<usize, String> {
    metric_index(name).filter(|_| better(name).is_some_and(|b| b != Better::Neither)).ok_or_else(|| {
        let names: Vec<&str> = METRICS.iter().copied().filter(|m| better(m).is_some_and(|b| b != Better::Neither)).collect();
        format!("--metric {name:?}: not a metric with a better direction; expected one of: {}", names.join(", "))
    })
}

/// Per-replication metric values of every strategy: `values[strategy][replication]`,
/// replications in the same order for every strategy (so index `r` pairs them).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Samples {
    /// Strategy names, in scenario order.
    pub strategies: Vec<String>,
    /// `values[s][r][m]`, metrics in [`METRICS`] order.
    pub values: Vec<Vec<[f64; N_METRICS]>>,
}

impl Samples {
    /// The samples of a run (its units are replication-major, strategy-minor).
    pub fn from_run(strategies: &[String], run: &RunResult) -> Samples {
        let mut values = vec![Vec::new(); strategies.len()];
        for u in &run.units {
            values[u.strategy].push(u.metrics);
        }
        Samples { strategies: strategies.to_vec(), values }
    }

    /// The values of metric `m` for strategy `s`, in replication order.
    pub fn series(&self, s: usize, m: usize) -> Vec<f64> {
        self.values[s].iter().map(|v| v[m]).collect()
    }

    /// Index of a strategy by name.
    pub fn strategy(&self, name: &str) -> Option<usize> {
        self.strategies.iter().position(|s| s == name)
    }
}

/// The baseline strategy of a scenario: its `baseline` key (set by `--baseline`,
/// validated with the scenario), or the first strategy.
pub fn baseline(tree: &Node, strategies: &[String]) -> usize {
    match tree.get("baseline").map(|n| &n.value) {
        Some(Value::Str(name)) => strategies.iter().position(|s| s == name).unwrap_or(0),
        _ => 0,
    }
}

/// The metric a sweep folder's `manifest.json` records (`sweep --metric`), if any.
pub fn recorded_metric(dir: &std::path::Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("manifest.json")).ok()?;
    let m: serde_json::Value = serde_json::from_str(&text).ok()?;
    m.get("metric")?.as_str().filter(|s| metric_index(s).is_some()).map(str::to_string)
}

/// The strategy names of a loaded scenario.
pub fn strategy_names(loaded: &Loaded) -> Vec<String> {
    loaded.scenario.strategies.iter().map(|s| s.name.clone()).collect()
}

/// `comparisons.csv` of a run: every strategy against the scenario's baseline.
pub fn comparisons_file(loaded: &Loaded, run: &RunResult) -> crate::error::Result<Vec<u8>> {
    let names = strategy_names(loaded);
    compare::csv(&Samples::from_run(&names, run), baseline(&loaded.tree, &names))
}

/// The verdict lines printed after a run's table.
/// Preceded by a blank line, to stand apart from the table.
pub fn verdict_lines(loaded: &Loaded, run: &RunResult) -> String {
    let v = verdict::verdicts(&Samples::from_run(&strategy_names(loaded), run));
    if v.is_empty() { v } else { format!("\n{v}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_says_which_way_is_better() {
        for m in METRICS {
            assert!(better(m).is_some(), "{m} has no direction");
        }
        assert_eq!(better("cost_per_success_usd"), Some(Better::Lower));
        assert_eq!(better("net_value_usd"), Some(Better::Higher));
        assert!(Better::Lower.is_better(1.0, 2.0) && !Better::Lower.is_better(2.0, 2.0));
        assert!(parse_metric("tasks").is_err() && parse_metric("nope").is_err());
        assert_eq!(parse_metric("latency_p95_s"), Ok(metric_index("latency_p95_s").unwrap()));
    }
}
