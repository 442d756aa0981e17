//! Paired comparisons: every strategy against a baseline, replication by replication.
//!
//! **Rule for undefined values.** A replication enters a comparison only when both
//! strategies have a finite value of the metric in it: `cost_per_success_usd` is `inf`
//! in a replication with no correct result, and means over no tasks are `NaN`. Such a
//! replication is left out of every column of the row (mean difference, interval,
//! ratio and share won), and `replications` says how many pairs remained.

use super::{Better, Samples, better};
use crate::economics::metrics::{METRICS, stat};
use crate::report::fmt_f64;

/// Header of `comparisons.csv`.
pub const HEADER: [&str; 9] = ["strategy", "baseline", "metric", "mean_diff", "ci95_low", "ci95_high", "ratio", "p_better", "replications"];

/// The paired comparison of two series of per-replication values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Paired {
    /// Mean over replications of (a − b).
    pub mean_diff: f64,
    /// Lower end of the Student-t 95% interval of the mean difference (`NaN` with fewer
    /// than two pairs).
    pub ci95_low: f64,
    /// Upper end.
    pub ci95_high: f64,
    /// mean(a) / mean(b) over the same pairs (`NaN` when mean(b) is 0).
    pub ratio: f64,
    /// Share of the pairs in which `a` is strictly better than `b` (`NaN` for a metric
    /// with no better direction, or no pairs).
    pub p_better: f64,
    /// Pairs used: replications in which both values are finite.
    pub n: usize,
}

impl Paired {
    /// Whether the interval excludes 0: the two are distinguishable.
    pub fn distinguishable(&self) -> bool {
        self.ci95_low > 0.0 || self.ci95_high < 0.0
    }
}

/// Compares `a` with `b`, pair by pair (`a[r]` with `b[r]`).
pub fn paired(a: &[f64], b: &[f64], dir: Better) -> Paired {
    let pairs: Vec<(f64, f64)> = a.iter().zip(b).map(|(x, y)| (*x, *y)).filter(|(x, y)| x.is_finite() && y.is_finite()).collect();
    let n = pairs.len();
    let diffs: Vec<f64> = pairs.iter().map(|(x, y)| x - y).collect();
    let d = stat(&diffs);
    let (sa, sb) = pairs.iter().fold((0.0, 0.0), |(sa, sb), (x, y)| (sa + x, sb + y));
    let ratio = if n == 0 || sb == 0.0 { f64::NAN } else { (sa / n as f64) / (sb / n as f64) };
    let p_better = if n == 0 || dir == Better::Neither {
        f64::NAN
    } else {
        pairs.iter().filter(|(x, y)| dir.is_better(*x, *y)).count() as f64 / n as f64
    };
    Paired { mean_diff: d.mean, ci95_low: d.ci95_low, ci95_high: d.ci95_high, ratio, p_better, n }
}

/// One row of `comparisons.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// The strategy compared.
    pub strategy: String,
    /// The baseline it is compared with.
    pub baseline: String,
    /// The metric.
    pub metric: &'static str,
    /// strategy − baseline.
    pub paired: Paired,
}

/// Every strategy but the baseline against the baseline, on every metric: strategy
/// order, then metric order.
pub fn comparisons(samples: &Samples, baseline: usize) -> Vec<Comparison> {
    let mut out = Vec::new();
    for (s, name) in samples.strategies.iter().enumerate() {
        if s == baseline {
            continue;
        }
        for (m, metric) in METRICS.iter().enumerate() {
            let dir = better(metric).unwrap_or(Better::Neither);
            out.push(Comparison {
                strategy: name.clone(),
                baseline: samples.strategies[baseline].clone(),
                metric,
                paired: paired(&samples.series(s, m), &samples.series(baseline, m), dir),
            });
        }
    }
    out
}

/// `comparisons.csv`.
pub fn csv(samples: &Samples, baseline: usize) -> crate::error::Result<Vec<u8>> {
    use crate::report::csv::{buffer, into_bytes, record};
    let mut w = buffer();
    record(&mut w, &HEADER.map(String::from))?;
    for c in comparisons(samples, baseline) {
        let p = &c.paired;
        record(
            &mut w,
            &[
                c.strategy,
                c.baseline,
                c.metric.to_string(),
                fmt_f64(p.mean_diff),
                fmt_f64(p.ci95_low),
                fmt_f64(p.ci95_high),
                fmt_f64(p.ratio),
                fmt_f64(p.p_better),
                p.n.to_string(),
            ],
        )?;
    }
    into_bytes(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paired_differences_by_hand() {
        // Differences 1, 2, 3, 2: mean 2, sd sqrt(2/3), t(0.975; 3) = 3.182446.
        let a = [3.0, 4.0, 6.0, 5.0];
        let b = [2.0, 2.0, 3.0, 3.0];
        let p = paired(&a, &b, Better::Lower);
        assert_eq!(p.mean_diff, 2.0);
        let half = 3.182446 * (2.0f64 / 3.0).sqrt() / 2.0;
        assert!((p.ci95_low - (2.0 - half)).abs() < 1e-5 && (p.ci95_high - (2.0 + half)).abs() < 1e-5);
        assert_eq!(p.ratio, 4.5 / 2.5);
        assert_eq!(p.p_better, 0.0);
        assert_eq!(paired(&a, &b, Better::Higher).p_better, 1.0);
        assert!(paired(&a, &b, Better::Neither).p_better.is_nan());
        assert!(p.distinguishable());
    }

    #[test]
    fn undefined_replications_are_left_out_of_both_sides() {
        let a = [1.0, f64::INFINITY, 3.0, f64::NAN];
        let b = [2.0, 1.0, 1.0, 1.0];
        let p = paired(&a, &b, Better::Lower);
        assert_eq!(p.n, 2);
        assert_eq!(p.mean_diff, 0.5);
        assert_eq!(p.ratio, 2.0 / 1.5);
        assert_eq!(p.p_better, 0.5);
        let none = paired(&[f64::NAN], &[1.0], Better::Lower);
        assert_eq!(none.n, 0);
        assert!(none.mean_diff.is_nan() && none.ratio.is_nan() && none.p_better.is_nan());
        // One pair: a mean but no interval.
        let one = paired(&[2.0], &[1.0], Better::Lower);
        assert_eq!(one.mean_diff, 1.0);
        assert!(one.ci95_low.is_nan() && !one.distinguishable());
    }
}
