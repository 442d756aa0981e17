//! Metrics: per-replication values from a world's counters, and their aggregation
//! across replications with Student-t 95% confidence intervals.
//!
//! The metric names and their order are part of the contract (SPEC section 4): add a
//! metric to [`METRICS`] and to [`metric_values`] together, and to README.md.

use hdrhistogram::Histogram;
use statrs::distribution::{ContinuousCDF, StudentsT};

use super::ledger::{Category, Ledger};
use super::money::Usd;
use crate::engine::SimTime;

/// Metric names in output order.
pub const METRICS: [&str; 29] = [
    "tasks",
    "correct",
    "wrong",
    "failed",
    "escalated",
    "success_rate",
    "cost_usd",
    "model_cost_usd",
    "tool_cost_usd",
    "orchestration_cost_usd",
    "platform_fee_usd",
    "human_cost_usd",
    "wasted_cost_usd",
    "cost_per_task_usd",
    "cost_per_success_usd",
    "coordination_share",
    "tokens_in",
    "tokens_out",
    "latency_mean_s",
    "latency_p50_s",
    "latency_p95_s",
    "latency_p99_s",
    "queue_wait_mean_s",
    "sla_met_rate",
    "throughput_per_hour",
    "makespan_s",
    "value_usd",
    "net_value_usd",
    "events",
];

/// Number of metrics.
pub const N_METRICS: usize = METRICS.len();

/// Index of a metric by name.
pub fn metric_index(name: &str) -> Option<usize> {
    METRICS.iter().position(|m| *m == name)
}

/// Raw counters of one world, filled by the simulation.
#[derive(Debug)]
pub struct Counters {
    /// Tasks that arrived.
    pub tasks: u64,
    /// Delivered correct (escalated tasks that the people got right included).
    pub correct: u64,
    /// Delivered wrong (escalated tasks that the people got wrong included).
    pub wrong: u64,
    /// Not delivered. `correct + wrong + failed = tasks`.
    pub failed: u64,
    /// Handed to people after the agents gave up (counted in `correct` or `wrong` too).
    pub escalated: u64,
    /// Billed for attempts and rework that did not end in the delivered result.
    pub wasted: Usd,
    /// Billed input tokens.
    pub tokens_in: u64,
    /// Billed output tokens.
    pub tokens_out: u64,
    /// Sum of task latencies (arrival to finish), ns.
    pub latency_sum_ns: u128,
    /// Task latencies in microseconds (3 significant digits).
    pub latency_us: Histogram<u64>,
    /// Sum of waits for a model slot or a team, ns.
    pub queue_wait_sum_ns: u128,
    /// Number of waits summed.
    pub queue_waits: u64,
    /// Correct results delivered within their class deadline (or with no deadline).
    pub sla_met: u64,
    /// Time the last task finished.
    pub makespan: SimTime,
    /// Value of correct results minus the penalties of wrong and of failed tasks.
    pub value: Usd,
    /// Events processed.
    pub events: u64,
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            tasks: 0,
            correct: 0,
            wrong: 0,
            failed: 0,
            escalated: 0,
            wasted: Usd::ZERO,
            tokens_in: 0,
            tokens_out: 0,
            latency_sum_ns: 0,
            // 1 µs to ~1 year at 3 significant digits (0.1% relative error): a fixed
            // size, whatever the number of tasks.
            latency_us: Histogram::new_with_bounds(1, 32_000_000_000_000, 3).unwrap_or_else(|_| unreachable_hist()),
            queue_wait_sum_ns: 0,
            queue_waits: 0,
            sla_met: 0,
            makespan: SimTime::ZERO,
            value: Usd::ZERO,
            events: 0,
        }
    }
}

#[cold]
fn unreachable_hist() -> Histogram<u64> {
    // 3 significant digits is always a valid configuration.
    Histogram::new_with_bounds(1, 2, 3).unwrap_or_else(|_| std::process::abort())
}

impl Counters {
    /// Records a finished task's latency.
    #[inline]
    pub fn record_latency(&mut self, latency: SimTime) {
        self.latency_sum_ns += latency.0 as u128;
        self.latency_us.saturating_record((latency.0 / 1_000).max(1));
    }

    /// Records a wait for capacity.
    #[inline]
    pub fn record_wait(&mut self, wait: SimTime) {
        self.queue_wait_sum_ns += wait.0 as u128;
        self.queue_waits += 1;
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 { f64::NAN } else { a / b }
}

/// The metric values of one world, in [`METRICS`] order.
pub fn metric_values(c: &Counters, l: &Ledger) -> [f64; N_METRICS] {
    let cost = l.total.as_f64();
    let finished = c.correct + c.wrong + c.failed;
    let delivered = c.correct + c.wrong;
    let pct = |q: f64| {
        if c.latency_us.is_empty() { f64::NAN } else { c.latency_us.value_at_quantile(q) as f64 / 1e6 }
    };
    let orch = l.category(Category::Orchestration);
    let platform = l.category(Category::Platform);
    let makespan_s = c.makespan.as_secs();
    [
        c.tasks as f64,
        c.correct as f64,
        c.wrong as f64,
        c.failed as f64,
        c.escalated as f64,
        ratio(c.correct as f64, c.tasks as f64),
        cost,
        l.category(Category::Model).as_f64(),
        l.category(Category::Tool).as_f64(),
        orch.as_f64(),
        platform.as_f64(),
        l.category(Category::Human).as_f64(),
        c.wasted.as_f64(),
        ratio(cost, c.tasks as f64),
        if c.correct == 0 { f64::INFINITY } else { cost / c.correct as f64 },
        ratio((orch + platform).as_f64(), cost),
        c.tokens_in as f64,
        c.tokens_out as f64,
        ratio(c.latency_sum_ns as f64 / 1e9, finished as f64),
        pct(0.5),
        pct(0.95),
        pct(0.99),
        ratio(c.queue_wait_sum_ns as f64 / 1e9, c.queue_waits as f64),
        ratio(c.sla_met as f64, c.tasks as f64),
        ratio(delivered as f64 * 3600.0, makespan_s),
        makespan_s,
        c.value.as_f64(),
        (c.value - l.total).as_f64(),
        c.events as f64,
    ]
}

/// Mean, spread and confidence interval of one metric across replications.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stat {
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation (n − 1); NaN for one replication.
    pub std: f64,
    /// Lower end of the Student-t 95% interval of the mean.
    pub ci95_low: f64,
    /// Upper end.
    pub ci95_high: f64,
    /// Replications with a defined value.
    pub n: usize,
}

/// Aggregates values in replication order (so sums are reproducible). NaN values
/// (undefined for that replication, e.g. a mean over zero tasks) are left out; any
/// infinite value makes the mean infinite and the spread undefined.
pub fn stat(values: &[f64]) -> Stat {
    let v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    let n = v.len();
    if n == 0 {
        return Stat { mean: f64::NAN, std: f64::NAN, ci95_low: f64::NAN, ci95_high: f64::NAN, n };
    }
    if v.iter().any(|x| x.is_infinite()) {
        let mean = v.iter().sum::<f64>();
        return Stat { mean: mean.signum() * f64::INFINITY, std: f64::NAN, ci95_low: f64::NAN, ci95_high: f64::NAN, n };
    }
    let mean = v.iter().sum::<f64>() / n as f64;
    if n < 2 {
        return Stat { mean, std: f64::NAN, ci95_low: f64::NAN, ci95_high: f64::NAN, n };
    }
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let std = var.sqrt();
    let t = t_critical_975(n - 1);
    let half = t * std / (n as f64).sqrt();
    Stat { mean, std, ci95_low: mean - half, ci95_high: mean + half, n }
}

/// The 97.5% quantile of Student's t with `df` degrees of freedom.
pub fn t_critical_975(df: usize) -> f64 {
    match StudentsT::new(0.0, 1.0, df as f64) {
        Ok(t) => t.inverse_cdf(0.975),
        Err(_) => f64::NAN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_match_tables() {
        // Standard tables: t(0.975; 1) = 12.706, t(0.975; 9) = 2.262, t(0.975; 29) = 2.045.
        assert!((t_critical_975(1) - 12.706).abs() < 1e-3);
        assert!((t_critical_975(9) - 2.262).abs() < 1e-3);
        assert!((t_critical_975(29) - 2.045).abs() < 1e-3);
    }

    #[test]
    fn stat_of_known_sample() {
        let s = stat(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(s.mean, 2.5);
        assert!((s.std - (5.0f64 / 3.0).sqrt()).abs() < 1e-12);
        let half = 3.182446 * s.std / 2.0; // t(0.975; 3) = 3.182446
        assert!((s.ci95_high - (2.5 + half)).abs() < 1e-5);
        assert!(stat(&[1.0]).std.is_nan());
        assert_eq!(stat(&[1.0, f64::INFINITY]).mean, f64::INFINITY);
        assert_eq!(stat(&[f64::NAN, 2.0, 4.0]).mean, 3.0);
    }

    #[test]
    fn metric_list_is_the_contract() {
        assert_eq!(N_METRICS, 29);
        assert_eq!(METRICS[14], "cost_per_success_usd");
        assert_eq!(METRICS[N_METRICS - 1], "events");
    }
}
