//! The plain lines printed after a run's table: which strategy is cheapest per correct
//! result, which has the highest net value per task and which is fastest at p95, each
//! with its lead over the runner-up and the paired 95% interval of that lead.
//!
//! Also the terminal's number formats: money with significant digits (so that
//! $0.000415 never reads as $0.0004) and durations.

use super::compare::{Paired, paired};
use super::{Better, Samples};
use crate::economics::metrics::{METRIC, stat};

/// Dollars for the terminal: whole dollars (grouped) from $100, cents from $1, and three
/// significant digits below $1 ($0.0129, $0.000415). `-` for NaN, `inf` for infinity.
pub fn money(x: f64) -> String {
    if x.is_nan() {
        return "-".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if x < 0.0 {
        let m = money(-x);
        return if m == "$0.00" { m } else { format!("-{m}") };
    }
    if x == 0.0 {
        return "$0.00".into();
    }
    if x < 1.0 {
        let decimals = |v: f64| (2 - v.log10().floor() as i32).max(0) as usize;
        let s = format!("{x:.d$}", d = decimals(x));
        let r: f64 = s.parse().unwrap_or(x);
        if r < 1.0 {
            // Rounding up to the next decade (0.09996 -> 0.1000) keeps three digits.
            return format!("${r:.d$}", d = decimals(r));
        }
    }
    let cents = format!("{x:.2}");
    if cents.parse::<f64>().unwrap_or(x) < 100.0 {
        return format!("${cents}");
    }
    format!("${}", group(&format!("{x:.0}")))
}

/// Digits grouped by thousands: "73512" -> "73,512".
pub fn group(digits: &str) -> String {
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// A duration for the terminal: hours or minutes with one decimal from a minute, one
/// decimal from 10 s, three significant digits below ("1.52s", "0.00340s").
pub fn duration(x: f64) -> String {
    if x.is_nan() {
        "-".into()
    } else if x < 0.0 {
        format!("-{}", duration(-x))
    } else if x >= 3600.0 {
        format!("{:.1}h", x / 3600.0)
    } else if x >= 60.0 {
        format!("{:.1}m", x / 60.0)
    } else if x >= 9.995 || x == 0.0 {
        format!("{x:.1}s")
    } else {
        let d = (2 - x.log10().floor() as i32).max(0) as usize;
        format!("{x:.d$}s")
    }
}

/// One verdict: a question, how its values read, and which way is better.
#[derive(Clone, Copy, Debug)]
pub struct Question {
    /// "Cheapest per correct result".
    pub title: &'static str,
    /// "less than", "more than", "faster than".
    pub lead_word: &'static str,
    /// Which direction wins.
    pub better: Better,
    /// How a value reads.
    pub fmt: fn(f64) -> String,
}

/// The line of one question, given the winner, its level, the runner-up and the paired
/// comparison `lead` (positive when the winner is better).
pub fn line(q: &Question, winner: &str, level: f64, runner_up: &str, lead: &Paired) -> String {
    let f = q.fmt;
    let head = format!("{}: {winner} at {}", q.title, f(level));
    if lead.ci95_low.is_nan() {
        return format!("{head}, {} {} {runner_up} (no interval from one replication).", f(lead.mean_diff), q.lead_word);
    }
    let ci = format!("95% CI {} to {}", f(lead.ci95_low), f(lead.ci95_high));
    if lead.distinguishable() {
        format!("{head}, {} {} {runner_up} ({ci}).", f(lead.mean_diff), q.lead_word)
    } else {
        format!("{head}, not distinguishable from {runner_up} (lead {}, {ci}).", f(lead.mean_diff))
    }
}

/// The winner and runner-up of `series` (one per strategy) by mean in direction `dir`,
/// with the paired lead of the winner (positive = winner better). `None` with fewer
/// than two strategies that have a finite mean.
pub fn lead(series: &[Vec<f64>], dir: Better) -> Option<(usize, usize, f64, Paired)> {
    let mut ranked: Vec<(usize, f64)> = series.iter().enumerate().map(|(s, v)| (s, stat(v).mean)).filter(|(_, m)| m.is_finite()).collect();
    ranked.sort_by(|a, b| {
        let o = a.1.total_cmp(&b.1);
        if dir == Better::Higher { o.reverse() } else { o }
    });
    let (&(w, level), &(u, _)) = (ranked.first()?, ranked.get(1)?);
    let p = match dir {
        Better::Higher => paired(&series[w], &series[u], dir),
        _ => paired(&series[u], &series[w], dir),
    };
    Some((w, u, level, p))
}

/// The verdict lines of a run.
pub fn verdicts(samples: &Samples) -> String {
    // Metric positions by field: a misspelt metric fails to compile.
    let n = samples.strategies.len();
    let cps: Vec<Vec<f64>> = (0..n).map(|s| samples.series(s, METRIC.cost_per_success_usd)).collect();
    let (tasks, net_value) = (METRIC.tasks, METRIC.net_value_usd);
    let net: Vec<Vec<f64>> = (0..n)
        .map(|s| samples.values[s].iter().map(|v| if v[tasks] > 0.0 { v[net_value] / v[tasks] } else { f64::NAN }).collect())
        .collect();
    let p95: Vec<Vec<f64>> = (0..n).map(|s| samples.series(s, METRIC.latency_p95_s)).collect();
    let questions = [
        (Question { title: "Cheapest per correct result", lead_word: "less than", better: Better::Lower, fmt: money }, cps),
        (Question { title: "Highest net value per task", lead_word: "more than", better: Better::Higher, fmt: money }, net),
        (Question { title: "Fastest at p95", lead_word: "faster than", better: Better::Lower, fmt: duration }, p95),
    ];
    let mut out = String::new();
    for (q, series) in &questions {
        if let Some((w, u, level, p)) = lead(series, q.better) {
            out.push_str(&line(q, &samples.strategies[w], level, &samples.strategies[u], &p));
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_keeps_significant_digits() {
        let cases = [
            (0.000415, "$0.000415"),
            (0.0129, "$0.0129"),
            (0.01, "$0.0100"),
            (0.2571, "$0.257"),
            (0.09996, "$0.100"),
            (0.9996, "$1.00"),
            (14.372, "$14.37"),
            (99.999, "$100"),
            (896.4, "$896"),
            (73_512.4, "$73,512"),
            (-4.49, "-$4.49"),
            (-0.9712, "-$0.971"),
            (0.0, "$0.00"),
            (f64::NAN, "-"),
            (f64::INFINITY, "inf"),
        ];
        for (x, s) in cases {
            assert_eq!(money(x), s, "money({x})");
        }
    }

    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(duration(10.3), "10.3s");
        assert_eq!(duration(1.523), "1.52s");
        assert_eq!(duration(0.0034), "0.00340s");
        assert_eq!(duration(108.0), "1.8m");
        assert_eq!(duration(20_880.0), "5.8h");
    }

    #[test]
    fn verdict_lines_say_lead_and_interval() {
        let q = Question { title: "Cheapest per correct result", lead_word: "less than", better: Better::Lower, fmt: money };
        let p = Paired { mean_diff: 0.0225, ci95_low: 0.0221, ci95_high: 0.02294, ratio: 2.7, p_better: 1.0, n: 20 };
        assert_eq!(
            line(&q, "single", 0.0129, "vote3", &p),
            "Cheapest per correct result: single at $0.0129, $0.0225 less than vote3 (95% CI $0.0221 to $0.0229)."
        );
        let close = Paired { ci95_low: -0.0001, ..p };
        assert_eq!(
            line(&q, "single", 0.000415, "vote3", &close),
            "Cheapest per correct result: single at $0.000415, not distinguishable from vote3 (lead $0.0225, 95% CI -$0.000100 to $0.0229)."
        );
        let one = Paired { ci95_low: f64::NAN, ci95_high: f64::NAN, ..p };
        assert_eq!(
            line(&q, "single", 0.0129, "vote3", &one),
            "Cheapest per correct result: single at $0.0129, $0.0225 less than vote3 (no interval from one replication)."
        );
    }

    #[test]
    fn the_winner_leads_the_runner_up_pair_by_pair() {
        // Strategy 1 is cheapest; strategy 2 is next; strategy 0 is dearest.
        let series = vec![vec![5.0, 6.0, 7.0], vec![1.0, 2.0, 3.0], vec![2.0, 4.0, 3.0]];
        let (w, u, level, p) = lead(&series, Better::Lower).unwrap();
        assert_eq!((w, u, level), (1, 2, 2.0));
        assert_eq!(p.mean_diff, 1.0); // (1 + 2 + 0) / 3
        let (w, u, _, p) = lead(&series, Better::Higher).unwrap();
        assert_eq!((w, u), (0, 2));
        assert_eq!(p.mean_diff, 3.0);
        assert!(lead(&series[..1], Better::Lower).is_none());
    }
}
