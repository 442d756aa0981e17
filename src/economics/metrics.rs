//! Metrics: per-replication values from a world's counters, and their aggregation
//! across replications with Student-t 95% confidence intervals.
//!
//! The metric names and their order are part of the contract (SPEC section 4): they are
//! the fields of [`Metrics`], declared once in `metrics!` below; add a metric there and
//! in [`metrics`] (which does not compile until it is filled), and to README.md.

use hdrhistogram::Histogram;
use statrs::distribution::{ContinuousCDF, StudentsT};

use super::ledger::{Category, Ledger};
use super::money::Usd;
use crate::engine::SimTime;

/// Declares the metrics once: the struct's fields, in output order, give the names
/// ([`METRICS`]), the positions ([`METRIC`]) and the array order ([`Metrics::to_array`]).
macro_rules! metrics {
    ($($(#[$doc:meta])* $name:ident,)*) => {
        /// One value per metric, by name: a misspelt metric does not compile.
        /// `Metrics<f64>` holds a world's values; [`METRIC`] (a `Metrics<usize>`) says
        /// where each metric sits in [`METRICS`] order.
        #[derive(Clone, Copy, Debug, Default, PartialEq)]
        pub struct Metrics<T> {
            $($(#[$doc])* pub $name: T,)*
        }

        /// Number of metrics.
        pub const N_METRICS: usize = [$(stringify!($name)),*].len();

        /// Metric names in output order (the CSV columns).
        pub const METRICS: [&str; N_METRICS] = [$(stringify!($name)),*];

        /// The position of each metric in [`METRICS`] order: `METRIC.cost_usd` is the
        /// index of `cost_usd` in a values array.
        pub const METRIC: Metrics<usize> = {
            let mut i = 0;
            Metrics { $($name: { i += 1; i - 1 },)* }
        };

        impl<T: Copy> Metrics<T> {
            /// The values in [`METRICS`] order.
            pub fn to_array(&self) -> [T; N_METRICS] {
                [$(self.$name),*]
            }
        }
    };
}

metrics! {
    /// Tasks that arrived.
    tasks,
    /// Tasks delivered correct.
    correct,
    /// Tasks delivered wrong.
    wrong,
    /// Tasks not delivered.
    failed,
    /// Tasks handed to people.
    escalated,
    /// `correct / tasks`.
    success_rate,
    /// Everything charged, USD.
    cost_usd,
    /// Model calls, USD.
    model_cost_usd,
    /// Tool calls, USD.
    tool_cost_usd,
    /// Orchestrator calls and handoffs, USD.
    orchestration_cost_usd,
    /// Platform fees, USD.
    platform_fee_usd,
    /// People's time, USD.
    human_cost_usd,
    /// Spend that did not end in the delivered result, USD.
    wasted_cost_usd,
    /// `cost_usd / tasks`.
    cost_per_task_usd,
    /// `cost_usd / correct` (infinite with none correct).
    cost_per_success_usd,
    /// Orchestration and platform share of the cost.
    coordination_share,
    /// Billed input tokens.
    tokens_in,
    /// Billed output tokens.
    tokens_out,
    /// Mean latency of finished tasks, s.
    latency_mean_s,
    /// Median latency, s.
    latency_p50_s,
    /// 95th percentile latency, s.
    latency_p95_s,
    /// 99th percentile latency, s.
    latency_p99_s,
    /// Mean wait for a model slot or a team, s.
    queue_wait_mean_s,
    /// Share of tasks delivered within their class deadline.
    sla_met_rate,
    /// Delivered tasks per hour of makespan.
    throughput_per_hour,
    /// When the last task was decided, s.
    makespan_s,
    /// Value of correct results minus penalties of wrong ones, USD.
    value_usd,
    /// `value_usd - cost_usd`.
    net_value_usd,
    /// Events processed.
    events,
}

/// Index of a metric by name (for names given at run time, such as a sweep's).
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

/// The metrics of one world.
pub fn metrics(c: &Counters, l: &Ledger) -> Metrics<f64> {
    let cost = l.total.as_f64();
    let finished = c.correct + c.wrong + c.failed;
    let delivered = c.correct + c.wrong;
    let pct = |q: f64| {
        if c.latency_us.is_empty() { f64::NAN } else { c.latency_us.value_at_quantile(q) as f64 / 1e6 }
    };
    let orch = l.category(Category::Orchestration);
    let platform = l.category(Category::Platform);
    let makespan_s = c.makespan.as_secs();
    Metrics {
        tasks: c.tasks as f64,
        correct: c.correct as f64,
        wrong: c.wrong as f64,
        failed: c.failed as f64,
        escalated: c.escalated as f64,
        success_rate: ratio(c.correct as f64, c.tasks as f64),
        cost_usd: cost,
        model_cost_usd: l.category(Category::Model).as_f64(),
        tool_cost_usd: l.category(Category::Tool).as_f64(),
        orchestration_cost_usd: orch.as_f64(),
        platform_fee_usd: platform.as_f64(),
        human_cost_usd: l.category(Category::Human).as_f64(),
        wasted_cost_usd: c.wasted.as_f64(),
        cost_per_task_usd: ratio(cost, c.tasks as f64),
        cost_per_success_usd: if c.correct == 0 { f64::INFINITY } else { cost / c.correct as f64 },
        coordination_share: ratio((orch + platform).as_f64(), cost),
        tokens_in: c.tokens_in as f64,
        tokens_out: c.tokens_out as f64,
        latency_mean_s: ratio(c.latency_sum_ns as f64 / 1e9, finished as f64),
        latency_p50_s: pct(0.5),
        latency_p95_s: pct(0.95),
        latency_p99_s: pct(0.99),
        queue_wait_mean_s: ratio(c.queue_wait_sum_ns as f64 / 1e9, c.queue_waits as f64),
        sla_met_rate: ratio(c.sla_met as f64, c.tasks as f64),
        throughput_per_hour: ratio(delivered as f64 * 3600.0, makespan_s),
        makespan_s,
        value_usd: c.value.as_f64(),
        net_value_usd: (c.value - l.total).as_f64(),
        events: c.events as f64,
    }
}

/// The metric values of one world, in [`METRICS`] order.
pub fn metric_values(c: &Counters, l: &Ledger) -> [f64; N_METRICS] {
    metrics(c, l).to_array()
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

    const PICO: i128 = super::super::money::PICO_PER_USD;

    /// The CSV columns, written out by hand: the struct must keep these names in this
    /// order, and `METRIC` must point at each.
    #[test]
    fn metric_names_and_positions_are_the_contract() {
        let want = "tasks correct wrong failed escalated success_rate cost_usd model_cost_usd tool_cost_usd \
            orchestration_cost_usd platform_fee_usd human_cost_usd wasted_cost_usd cost_per_task_usd \
            cost_per_success_usd coordination_share tokens_in tokens_out latency_mean_s latency_p50_s \
            latency_p95_s latency_p99_s queue_wait_mean_s sla_met_rate throughput_per_hour makespan_s \
            value_usd net_value_usd events";
        assert_eq!(METRICS.to_vec(), want.split_whitespace().collect::<Vec<_>>());
        assert_eq!(METRIC.to_array().to_vec(), (0..N_METRICS).collect::<Vec<_>>());
        assert_eq!((METRIC.cost_usd, METRIC.events), (6, 28));
        assert_eq!(metric_index("net_value_usd"), Some(METRIC.net_value_usd));
    }

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

    /// Every metric of one hand-filled world, against values worked out by hand: 10
    /// tasks (6 correct, 2 wrong, 2 failed, 1 escalated), latencies 1..=10 s, waits of 2
    /// and 4 s, $6.75 charged over the five categories, a makespan of 2 h.
    #[test]
    fn metrics_of_a_hand_filled_world() {
        let mut c = Counters { tasks: 10, correct: 6, wrong: 2, failed: 2, escalated: 1, ..Counters::default() };
        c.wasted = Usd(1_500_000_000_000);
        (c.tokens_in, c.tokens_out) = (1_000, 500);
        for s in 1..=10u64 {
            c.record_latency(SimTime(s * 1_000_000_000));
        }
        c.record_wait(SimTime(2_000_000_000));
        c.record_wait(SimTime(4_000_000_000));
        c.sla_met = 5;
        c.makespan = SimTime(7_200 * 1_000_000_000);
        c.value = Usd(20 * PICO);
        c.events = 123;
        let mut l = Ledger::new(1, 1);
        let dollars = [
            (Category::Model, 3.0),
            (Category::Tool, 1.0),
            (Category::Orchestration, 0.5),
            (Category::Platform, 0.25),
            (Category::Human, 2.0),
        ];
        for (cat, usd) in dollars {
            l.charge(0, 0, cat, Usd((usd * PICO as f64) as i128));
        }
        let m = metrics(&c, &l);
        assert_eq!((m.tasks, m.correct, m.wrong, m.failed, m.escalated), (10.0, 6.0, 2.0, 2.0, 1.0));
        assert_eq!(m.success_rate, 0.6);
        assert_eq!(m.cost_usd, 6.75);
        assert_eq!((m.model_cost_usd, m.tool_cost_usd, m.orchestration_cost_usd), (3.0, 1.0, 0.5));
        assert_eq!((m.platform_fee_usd, m.human_cost_usd, m.wasted_cost_usd), (0.25, 2.0, 1.5));
        assert_eq!(m.cost_per_task_usd, 0.675);
        assert_eq!(m.cost_per_success_usd, 1.125);
        // (0.5 + 0.25) / 6.75 = 1/9: both operands are exact binary fractions.
        assert_eq!(m.coordination_share, 1.0 / 9.0);
        assert_eq!((m.tokens_in, m.tokens_out), (1_000.0, 500.0));
        // 55 s over the 10 finished tasks (correct + wrong + failed).
        assert_eq!(m.latency_mean_s, 5.5);
        // Nearest-rank quantiles of 1..=10 s (5th, 10th, 10th value), to the histogram's
        // 3 significant digits.
        for (got, want) in [(m.latency_p50_s, 5.0), (m.latency_p95_s, 10.0), (m.latency_p99_s, 10.0)] {
            assert!((got - want).abs() <= want * 1e-3, "{got} vs {want}");
        }
        assert_eq!(m.queue_wait_mean_s, 3.0);
        assert_eq!(m.sla_met_rate, 0.5);
        // 8 delivered (correct + wrong) in 2 h.
        assert_eq!(m.throughput_per_hour, 4.0);
        assert_eq!(m.makespan_s, 7_200.0);
        assert_eq!((m.value_usd, m.net_value_usd, m.events), (20.0, 13.25, 123.0));
        assert_eq!(metric_values(&c, &l), m.to_array());
    }

    /// The undefined cases: no tasks, no correct result, no latency recorded.
    #[test]
    fn metrics_of_an_empty_world() {
        let c = Counters::default();
        let mut l = Ledger::new(1, 1);
        let m = metrics(&c, &l);
        assert_eq!(m.cost_usd, 0.0);
        for v in [
            m.success_rate,
            m.cost_per_task_usd,
            m.coordination_share,
            m.latency_mean_s,
            m.latency_p50_s,
            m.queue_wait_mean_s,
            m.throughput_per_hour,
        ] {
            assert!(v.is_nan(), "{m:?}");
        }
        assert_eq!(m.cost_per_success_usd, f64::INFINITY);
        l.charge(0, 0, Category::Model, Usd(PICO));
        let one = Counters { tasks: 1, correct: 1, ..Counters::default() };
        assert_eq!(metrics(&one, &l).cost_per_success_usd, 1.0);
        // A latency under 1 µs is recorded as 1 µs (the histogram's lowest value).
        let mut fast = Counters::default();
        fast.record_latency(SimTime(10));
        assert_eq!(fast.latency_sum_ns, 10);
        assert_eq!((fast.latency_us.len(), fast.latency_us.min()), (1, 1));
    }

    /// Two and three values, worked by hand: mean, n − 1 spread, t interval.
    #[test]
    fn stat_of_small_samples() {
        let s = stat(&[1.0, 3.0]);
        // mean 2, var ((−1)² + 1²)/1 = 2, half = t(0.975; 1) · √2 / √2 = 12.706...
        assert_eq!((s.mean, s.n), (2.0, 2));
        assert_eq!(s.std, 2f64.sqrt());
        let t1 = t_critical_975(1);
        assert!((s.ci95_low - (2.0 - t1)).abs() < 1e-12 && (s.ci95_high - (2.0 + t1)).abs() < 1e-12, "{s:?}");
        let s = stat(&[2.0, 4.0, 9.0]);
        // mean 5, var (9 + 1 + 16)/2 = 13.
        assert_eq!(s.mean, 5.0);
        assert!((s.std - 13f64.sqrt()).abs() < 1e-12);
        let e = stat(&[]);
        assert!(e.mean.is_nan() && e.std.is_nan() && e.n == 0);
        let one = stat(&[7.0, f64::NAN]);
        assert_eq!((one.mean, one.n), (7.0, 1));
        assert!(one.std.is_nan() && one.ci95_low.is_nan() && one.ci95_high.is_nan());
        let inf = stat(&[-1.0, f64::NEG_INFINITY, 3.0]);
        assert_eq!((inf.mean, inf.n), (f64::NEG_INFINITY, 3));
        assert!(inf.std.is_nan() && inf.ci95_low.is_nan());
        assert!(t_critical_975(0).is_nan());
    }

    #[test]
    fn metric_list_is_the_contract() {
        assert_eq!(N_METRICS, 29);
        assert_eq!(METRICS[14], "cost_per_success_usd");
        assert_eq!(METRICS[N_METRICS - 1], "events");
    }
}
