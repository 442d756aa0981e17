//! Latency charts: an ECDF from `tasks.csv`, or percentile boxes from `summary.csv`.

use super::common::*;
use super::input::*;
use plotters::prelude::*;

/// A latency axis: log seconds with clock ticks when values span more than two decades,
/// otherwise linear in one readable unit (s, min or h).
pub(super) struct TimeAxis {
    pub(super) sc: Scale,
    pub(super) unit: f64,
    pub(super) name: &'static str,
}

impl TimeAxis {
    pub(super) fn fit(secs: Vec<f64>, from_zero: bool) -> TimeAxis {
        let sc = Scale::fit(secs.iter().copied(), true, from_zero);
        if sc.log {
            // Both ends on a clock mark, so the axis is labelled from its first pixel.
            let finite = || secs.iter().copied().filter(|v| v.is_finite() && *v > 0.0);
            let (min, max) = (finite().fold(f64::INFINITY, f64::min), finite().fold(0.0, f64::max));
            let lo = CLOCK.iter().rev().copied().find(|c| *c <= min * 1.0001).unwrap_or(sc.lo);
            let hi = CLOCK.iter().copied().find(|c| *c >= max).unwrap_or(sc.hi);
            return TimeAxis { sc: Scale { lo, hi, log: true }, unit: 1.0, name: "s" };
        }
        let max = secs.iter().copied().filter(|v| v.is_finite()).fold(0.0, f64::max);
        let (unit, name) = match max {
            m if m >= 36_000.0 => (3600.0, "h"),
            m if m >= 600.0 => (60.0, "min"),
            _ => (1.0, "s"),
        };
        TimeAxis { sc: Scale::fit(secs.iter().map(|v| v / unit), false, from_zero), unit, name }
    }
    pub(super) fn x(&self, p: &Plot, secs: f64) -> i32 {
        p.x(&self.sc, secs / self.unit)
    }
    pub(super) fn axis<DB: DrawingBackend>(&self, a: &Area<DB>, p: &Plot) -> R<DB> {
        if self.sc.log {
            x_axis(a, p, &self.sc, time_ticks(&self.sc), "latency (log scale)", &dur)
        } else {
            x_axis(a, p, &self.sc, self.sc.ticks(), &format!("latency ({})", self.name), &num)
        }
    }
    /// Deadlines go on last so that they sit on top of the data; their labels are stacked
    /// in the strip that `deadline_strip` reserved above the plot, clear of the curves.
    pub(super) fn deadlines<DB: DrawingBackend>(&self, a: &Area<DB>, p: &Plot, d: &[(f64, String)]) -> R<DB> {
        let rows = deadline_strip(d) / 18;
        for (k, (secs, classes)) in d.iter().enumerate() {
            let (x, y) = (self.x(p, *secs), p.t - 18 * (rows - k as i32 % rows.max(1)));
            line(a, vec![(x, y), (x, p.b)], &BLACK, 2, 6)?;
            let right = x > (p.l + p.r) / 2;
            let msg = format!("deadline {} ({classes})", dur(*secs));
            boxed(a, &msg, (if right { x - 5 } else { x + 5 }, y), if right { RT } else { LT }, &BLACK)?;
        }
        Ok(())
    }
}

/// Pixels reserved above the plot for deadline labels (at most four rows).
pub(super) fn deadline_strip(d: &[(f64, String)]) -> i32 {
    18 * d.len().min(4) as i32
}

pub(super) fn draw_ecdf<DB: DrawingBackend>(a: &Area<DB>, s: &[StrategyRow], lat: &Latencies, d: &[(f64, String)]) -> R<DB> {
    let idx = |n: &str| s.iter().position(|r| r.name == n).unwrap_or(s.len());
    let mut legend: Vec<(Swatch, String)> =
        lat.iter().map(|(n, _)| (Swatch::Line(color(idx(n)), DASHES[idx(n) % 4], Some(idx(n))), n.clone())).collect();
    if !d.is_empty() {
        legend.push((Swatch::Line(BLACK, 6, None), "deadline".into()));
    }
    let top = header(a, "Latency distribution (share of tasks finished within a time)", &legend)?;
    let secs = lat.iter().flat_map(|(_, v)| v.iter().copied()).chain(d.iter().map(|x| x.0));
    let tx = TimeAxis::fit(secs.collect(), false);
    let sy = Scale { lo: 0.0, hi: 1.0, log: false };
    let p = Plot { l: 90, t: top + 6 + deadline_strip(d), r: W as i32 - 30, b: H as i32 - 62 };
    y_axis(a, &p, &sy, "tasks finished (cumulative %)", &|v| format!("{}%", sig(v * 100.0, 3)))?;
    tx.axis(a, &p)?;
    for (n, v) in lat {
        let i = idx(n);
        let at = |j: usize| (tx.x(&p, v[j]), p.y(&sy, (j + 1) as f64 / v.len() as f64));
        // At most ~400 steps per curve keeps the SVG small for big task logs.
        let m = v.len().min(400);
        let mut pts = vec![(tx.x(&p, v[0]), p.b)];
        for k in 0..m {
            let (x, y) = at(((k + 1) * v.len()).div_ceil(m) - 1);
            if let Some(&(_, py)) = pts.last() {
                pts.push((x, py));
            }
            pts.push((x, y));
        }
        line(a, pts, &color(i), 2, DASHES[i % 4])?;
        for q in [0.25, 0.5, 0.75, 0.95] {
            marker(a, at(((q * v.len() as f64) as usize).min(v.len() - 1)), i, &color(i))?;
        }
    }
    tx.deadlines(a, &p, d)
}

pub(super) fn draw_latency_boxes<DB: DrawingBackend>(a: &Area<DB>, s: &[StrategyRow], d: &[(f64, String)]) -> R<DB> {
    let fill = RGBColor(86, 180, 233);
    let mut legend = vec![
        (Swatch::Fill(fill), "median (p50) to p95".to_string()),
        (Swatch::Line(DARK, 0, None), "whisker to p99".to_string()),
        (Swatch::Mark(BLACK, 3), "mean".to_string()),
    ];
    if !d.is_empty() {
        legend.push((Swatch::Line(BLACK, 6, None), "deadline".into()));
    }
    let top = header(a, "Latency percentiles by strategy", &legend)?;
    let keys = ["latency_p50_s", "latency_p95_s", "latency_p99_s", "latency_mean_s"];
    let secs = s.iter().flat_map(|r| keys.map(|k| r.mean(k))).chain(d.iter().map(|x| x.0));
    let tx = TimeAxis::fit(secs.collect(), true);
    let col = name_column(a, &names(s))?;
    let p = Plot { l: 30 + col, t: top + 6 + deadline_strip(d), r: W as i32 - 40, b: H as i32 - 62 };
    tx.axis(a, &p)?;
    let rh = row_labels(a, &p, &names(s), col)?;
    let bh = (rh / 2).min(40);
    for (i, r) in s.iter().enumerate() {
        let [p50, p95, p99, mean] = keys.map(|k| r.mean(k));
        let ym = p.t + rh * i as i32 + rh / 2;
        if p50.is_finite() && p95.is_finite() {
            if p99.is_finite() {
                let x99 = tx.x(&p, p99);
                line(a, vec![(tx.x(&p, p95), ym), (x99, ym)], &DARK, 2, 0)?;
                line(a, vec![(x99, ym - bh / 4), (x99, ym + bh / 4)], &DARK, 2, 0)?;
            }
            let (x0, x1) = (tx.x(&p, p50), tx.x(&p, p95).max(tx.x(&p, p50) + 2));
            a.draw(&Rectangle::new([(x0, ym - bh / 2), (x1, ym + bh / 2)], fill.filled()))?;
            a.draw(&Rectangle::new([(x0, ym - bh / 2), (x1, ym + bh / 2)], DARK.stroke_width(1)))?;
            line(a, vec![(x0, ym - bh / 2), (x0, ym + bh / 2)], &DARK, 3, 0)?;
        }
        if mean.is_finite() {
            marker(a, (tx.x(&p, mean), ym), 3, &BLACK)?;
        }
    }
    tx.deadlines(a, &p, d)
}
