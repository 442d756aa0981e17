//! What a sweep found: the winner at each point on the chosen metric, and the
//! break-evens, where the paired difference of two strategies changes sign along an axis.
//!
//! **Break-even value.** Along one axis (the other axes held at one of their values),
//! `D(x)` is the mean over replications of (a − b) at each point. Where `D` changes sign
//! between neighbouring points, the crossing is linearly interpolated:
//! `x* = x_k + (x_{k+1} − x_k) · D_k / (D_k − D_{k+1})`.
//!
//! **Interval: per-replication crossings.** Every point of a sweep runs the same
//! replication seeds, so replication `r` has its own difference curve `d_r(x)` along the
//! axis. Its crossing is found the same way (the one nearest `x*` when it crosses more
//! than once), and the 95% interval is the Student-t interval of the mean over the
//! replications' crossings. When some replication's difference does not change sign
//! along the axis, the crossing is not resolved by the grid and the interval is `NaN`
//! (widen the axis, or add replications). A replication whose value is undefined at a
//! point (see [`super::compare`]) has no difference there; a bracket needs both ends.

use super::verdict::lead;
use super::{Better, Samples, better};
use crate::economics::metrics::{METRICS, N_METRICS, stat};
use crate::report::fmt_f64;

/// Header of `breakeven.csv`.
pub const HEADER: [&str; 8] = ["axis", "strategy_a", "strategy_b", "metric", "value", "ci95_low", "ci95_high", "other_axes"];

/// One point of a sweep.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    /// The axis values as written in the sweep files.
    pub labels: Vec<String>,
    /// The axis values as numbers (`None` for a value that is not a number).
    pub coords: Vec<Option<f64>>,
    /// The replications of every strategy at this point.
    pub samples: Samples,
}

/// A whole sweep: its axes and its points in grid order.
#[derive(Clone, Debug, PartialEq)]
pub struct Sweep {
    /// Axis paths.
    pub axes: Vec<String>,
    /// Points in grid order.
    pub points: Vec<Point>,
}

impl Sweep {
    /// Reads the rows of `sweep_replications.csv` (without header): `point`, one column
    /// per axis, `replication`, `seed`, `strategy`, then the metrics.
    pub fn from_rows(axes: &[String], rows: &[Vec<String>]) -> Sweep {
        let a = axes.len();
        let mut points: Vec<Point> = Vec::new();
        let mut current: Option<&str> = None;
        for r in rows {
            if r.len() < a + 4 + N_METRICS {
                continue;
            }
            if current != Some(r[0].as_str()) {
                current = Some(r[0].as_str());
                let labels = r[1..=a].to_vec();
                let coords = labels.iter().map(|l| l.parse::<f64>().ok().filter(|x| x.is_finite())).collect();
                points.push(Point { labels, coords, samples: Samples::default() });
            }
            let Some(p) = points.last_mut() else { continue };
            let name = &r[a + 3];
            let s = match p.samples.strategy(name) {
                Some(s) => s,
                None => {
                    p.samples.strategies.push(name.clone());
                    p.samples.values.push(Vec::new());
                    p.samples.strategies.len() - 1
                }
            };
            let mut v = [f64::NAN; N_METRICS];
            for (m, x) in v.iter_mut().enumerate() {
                *x = r[a + 4 + m].parse().unwrap_or(f64::NAN);
            }
            p.samples.values[s].push(v);
        }
        Sweep { axes: axes.to_vec(), points }
    }

    /// The lines along axis `i`: for each combination of the other axes' values (in
    /// grid order), the point indices sorted by their value on axis `i`. Empty when the
    /// axis is not numeric.
    pub fn lines(&self, i: usize) -> Vec<(String, Vec<usize>)> {
        if self.points.iter().any(|p| p.coords[i].is_none()) {
            return Vec::new();
        }
        let mut lines: Vec<(String, Vec<usize>)> = Vec::new();
        for (k, p) in self.points.iter().enumerate() {
            let other: Vec<String> =
                self.axes.iter().zip(&p.labels).enumerate().filter(|(j, _)| *j != i).map(|(_, (a, l))| format!("{a}={l}")).collect();
            let key = other.join(";");
            match lines.iter_mut().find(|(o, _)| *o == key) {
                Some((_, v)) => v.push(k),
                None => lines.push((key, vec![k])),
            }
        }
        for (_, v) in &mut lines {
            v.sort_by(|a, b| self.points[*a].coords[i].unwrap_or(0.0).total_cmp(&self.points[*b].coords[i].unwrap_or(0.0)));
        }
        lines
    }
}

/// Where a piecewise-linear curve through `(x[k], y[k])` changes sign: the interpolated
/// crossings, in order. A bracket needs both ends finite; a curve that touches 0 at a
/// point and turns back does not cross.
pub fn crossings(x: &[f64], y: &[f64]) -> Vec<f64> {
    let mut out = Vec::new();
    for k in 0..x.len().saturating_sub(1) {
        let (y0, y1) = (y[k], y[k + 1]);
        if !(y0.is_finite() && y1.is_finite()) {
            continue;
        }
        if (y0 < 0.0 && y1 >= 0.0) || (y0 > 0.0 && y1 <= 0.0) {
            out.push(x[k] + (x[k + 1] - x[k]) * y0 / (y0 - y1));
        }
    }
    out
}

/// One row of `breakeven.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct Breakeven {
    /// The axis.
    pub axis: String,
    /// First strategy (scenario order).
    pub a: String,
    /// Second strategy.
    pub b: String,
    /// The metric.
    pub metric: &'static str,
    /// The crossing of the mean paired difference.
    pub value: f64,
    /// Student-t 95% interval over the replications' own crossings.
    pub ci95_low: f64,
    /// Upper end.
    pub ci95_high: f64,
    /// The other axes' values on this line, `path=value;...`.
    pub other_axes: String,
}

/// Every break-even of metric `m` along every numeric axis, for every pair of strategies.
pub fn breakevens(sweep: &Sweep, m: usize) -> Vec<Breakeven> {
    let mut out = Vec::new();
    let Some(first) = sweep.points.first() else { return out };
    let names = &first.samples.strategies;
    for i in 0..sweep.axes.len() {
        for (other, line) in sweep.lines(i) {
            let x: Vec<f64> = line.iter().map(|&k| sweep.points[k].coords[i].unwrap_or(f64::NAN)).collect();
            for a in 0..names.len() {
                for b in a + 1..names.len() {
                    // d[k][r]: the paired difference at point k in replication r.
                    let d: Vec<Vec<f64>> = line
                        .iter()
                        .map(|&k| {
                            let s = &sweep.points[k].samples;
                            s.values[a]
                                .iter()
                                .zip(&s.values[b])
                                .map(|(va, vb)| if va[m].is_finite() && vb[m].is_finite() { va[m] - vb[m] } else { f64::NAN })
                                .collect()
                        })
                        .collect();
                    let mean: Vec<f64> = d.iter().map(|v| stat(v).mean).collect();
                    let reps = d.iter().map(Vec::len).min().unwrap_or(0);
                    for value in crossings(&x, &mean) {
                        let mut own = Vec::with_capacity(reps);
                        for r in 0..reps {
                            let y: Vec<f64> = d.iter().map(|v| v[r]).collect();
                            let c = crossings(&x, &y);
                            match c.into_iter().min_by(|p, q| (p - value).abs().total_cmp(&(q - value).abs())) {
                                Some(c) => own.push(c),
                                None => {
                                    own.clear();
                                    break;
                                }
                            }
                        }
                        let ci = if own.len() == reps { stat(&own) } else { stat(&[]) };
                        out.push(Breakeven {
                            axis: sweep.axes[i].clone(),
                            a: names[a].clone(),
                            b: names[b].clone(),
                            metric: METRICS[m],
                            value,
                            ci95_low: ci.ci95_low,
                            ci95_high: ci.ci95_high,
                            other_axes: other.clone(),
                        });
                    }
                }
            }
        }
    }
    out
}

/// `breakeven.csv`.
pub fn csv(sweep: &Sweep, m: usize) -> crate::error::Result<Vec<u8>> {
    use crate::report::csv::{buffer, into_bytes, record};
    let mut w = buffer();
    record(&mut w, &HEADER.map(String::from))?;
    for b in breakevens(sweep, m) {
        record(
            &mut w,
            &[b.axis, b.a, b.b, b.metric.to_string(), fmt_f64(b.value), fmt_f64(b.ci95_low), fmt_f64(b.ci95_high), b.other_axes],
        )?;
    }
    into_bytes(w)
}

/// `x` with `digits` significant digits, trailing zeros dropped ("6.12", "2500").
pub fn sig(x: f64, digits: i32) -> String {
    if !x.is_finite() {
        return fmt_f64(x);
    }
    if x == 0.0 {
        return "0".into();
    }
    let d = (digits - 1 - x.abs().log10().floor() as i32).max(0) as usize;
    let s = format!("{x:.d$}");
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
}

/// The winner at one point: winner, runner-up and whether the paired lead's interval
/// excludes 0.
pub fn winner(samples: &Samples, m: usize) -> Option<(usize, usize, bool)> {
    let dir = better(METRICS[m]).unwrap_or(Better::Lower);
    let series: Vec<Vec<f64>> = (0..samples.strategies.len()).map(|s| samples.series(s, m)).collect();
    lead(&series, dir).map(|(w, u, _, p)| (w, u, p.distinguishable()))
}

/// At most this many lines of each part of the sweep summary.
const MAX_LINES: usize = 30;

/// The terminal summary of a sweep on metric `m`: along the last axis, for each value
/// of the others, the runs of points with the same winner (and at how many of them the
/// lead over the runner-up is distinguishable from 0); then the break-evens.
pub fn summary(sweep: &Sweep, m: usize) -> String {
    let dir = match better(METRICS[m]) {
        Some(Better::Higher) => "higher is better",
        _ => "lower is better",
    };
    let mut out = format!("Winner on {} ({dir}):\n", METRICS[m]);
    let Some(last) = sweep.axes.len().checked_sub(1) else { return out };
    // Grid order: the last axis varies fastest, so consecutive points form its lines.
    let n_last = sweep.points.iter().take_while(|p| p.labels[..last] == sweep.points[0].labels[..last]).count().max(1);
    let lines = sweep.points.len().div_ceil(n_last);
    for line in sweep.points.chunks(n_last).take(MAX_LINES) {
        let prefix: Vec<String> = sweep.axes[..last].iter().zip(&line[0].labels).map(|(a, l)| format!("{a}={l}")).collect();
        let mut runs: Vec<(String, String, String, usize, usize)> = Vec::new();
        for p in line {
            let (name, clear) = match winner(&p.samples, m) {
                Some((w, _, c)) => (p.samples.strategies[w].clone(), c),
                None => ("-".to_string(), false),
            };
            let l = p.labels[last].clone();
            match runs.last_mut() {
                Some(r) if r.0 == name => {
                    r.2 = l;
                    r.3 += 1;
                    r.4 += clear as usize;
                }
                _ => runs.push((name, l.clone(), l, 1, clear as usize)),
            }
        }
        let parts: Vec<String> = runs
            .iter()
            .map(|(name, from, to, n, clear)| {
                let span = if from == to { from.clone() } else { format!("{from} to {to}") };
                let pts = if *n == 1 { "point" } else { "points" };
                format!("{span}: {name} (clear at {clear} of {n} {pts})")
            })
            .collect();
        let head = if prefix.is_empty() { String::new() } else { format!("{}, ", prefix.join(", ")) };
        out.push_str(&format!("  {head}{}: {}\n", sweep.axes[last], parts.join("; ")));
    }
    if lines > MAX_LINES {
        out.push_str(&format!("  ... and {} more lines of the grid (sweep.csv has them all)\n", lines - MAX_LINES));
    }
    let be = breakevens(sweep, m);
    if be.is_empty() {
        out.push_str("No break-even: no two strategies swap places along any axis.\n");
    } else {
        out.push_str("Break-evens (the paired difference changes sign):\n");
        for b in be.iter().take(MAX_LINES) {
            let ci = if b.ci95_low.is_nan() {
                "interval not resolved by the grid".to_string()
            } else {
                format!("95% CI {} to {}", sig(b.ci95_low, 3), sig(b.ci95_high, 3))
            };
            let at = if b.other_axes.is_empty() { String::new() } else { format!(" with {}", b.other_axes.replace(';', ", ")) };
            out.push_str(&format!("  {} and {} at {} = {} ({ci}){at}\n", b.a, b.b, b.axis, sig(b.value, 4)));
        }
        if be.len() > MAX_LINES {
            out.push_str(&format!("  ... and {} more in breakeven.csv\n", be.len() - MAX_LINES));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::economics::metrics::metric_index;

    #[test]
    fn crossings_are_interpolated() {
        assert_eq!(crossings(&[0.0, 1.0, 2.0], &[-1.0, 1.0, 3.0]), vec![0.5]);
        assert_eq!(crossings(&[0.0, 2.0, 4.0], &[3.0, 1.0, -1.0]), vec![3.0]);
        // Touching 0 and turning back is no crossing; reaching 0 exactly is.
        assert!(crossings(&[0.0, 1.0, 2.0], &[1.0, 0.0, 1.0]).len() == 1);
        assert!(crossings(&[0.0, 1.0], &[0.0, 1.0]).is_empty());
        assert!(crossings(&[0.0, 1.0, 2.0], &[-1.0, f64::NAN, 1.0]).is_empty());
    }

    fn row(point: usize, x: f64, rep: u32, strategy: &str, cps: f64) -> Vec<String> {
        let mut r = vec![point.to_string(), fmt_f64(x), rep.to_string(), "0".into(), strategy.into()];
        let mut v = vec!["1".to_string(); N_METRICS];
        v[metric_index("cost_per_success_usd").unwrap()] = fmt_f64(cps);
        r.extend(v);
        r
    }

    #[test]
    fn a_linear_crossing_and_its_replication_interval() {
        // a costs x·k_r, b costs 3 in every replication: a's own crossings are 3/k_r.
        let ks = [1.0, 1.5, 0.75];
        let mut rows = Vec::new();
        for (p, x) in [1.0, 2.0, 3.0, 4.0, 5.0].iter().enumerate() {
            for (r, k) in ks.iter().enumerate() {
                rows.push(row(p, *x, r as u32, "a", x * k));
                rows.push(row(p, *x, r as u32, "b", 3.0));
            }
        }
        let sweep = Sweep::from_rows(&["m.price_multiplier".to_string()], &rows);
        let m = metric_index("cost_per_success_usd").unwrap();
        let be = breakevens(&sweep, m);
        assert_eq!(be.len(), 1);
        // Mean slope 13/12 per unit: D(x) = 13x/12 − 3, zero at 36/13 (linear between grid points).
        assert!((be[0].value - 36.0 / 13.0).abs() < 1e-12);
        let own: Vec<f64> = ks.iter().map(|k| 3.0 / k).collect();
        let s = stat(&own);
        assert!((be[0].ci95_low - s.ci95_low).abs() < 1e-12 && (be[0].ci95_high - s.ci95_high).abs() < 1e-12);
        let text = summary(&sweep, m);
        assert!(text.contains("m.price_multiplier: 1 to 2: a (clear at 1 of 2 points); 3 to 5: b (clear at 0 of 3 points)"), "{text}");
        assert!(text.contains("a and b at m.price_multiplier = 2.769"), "{text}");
    }

    #[test]
    fn significant_digits() {
        assert_eq!(sig(6.1234, 4), "6.123");
        assert_eq!(sig(2500.0, 3), "2500");
        assert_eq!(sig(0.0012345, 3), "0.00123");
        assert_eq!(sig(3.0, 4), "3");
    }
}
