//! Sweep charts: one axis as lines with break-evens, two axes as a heat map.

use super::common::*;
use super::input::*;
use plotters::prelude::*;
use plotters::style::text_anchor::Pos;

/// Distinct values of one sweep axis: numbers sorted ascending, otherwise first-appearance
/// order. Returns (labels, numeric positions, the index of each point's value).
pub(super) fn axis_values(sw: &Sweep, k: usize) -> (Vec<String>, Option<Vec<f64>>, Vec<usize>) {
    let raw: Vec<&str> = sw.points.iter().map(|p| p.get(k).map_or("", |s| s.as_str())).collect();
    let nums: Option<Vec<f64>> = raw.iter().map(|s| s.parse::<f64>().ok().filter(|v| v.is_finite())).collect();
    match nums {
        Some(n) => {
            let mut u = n.clone();
            u.sort_by(f64::total_cmp);
            u.dedup();
            let idx = n.iter().map(|v| u.iter().position(|x| x == v).unwrap_or(0)).collect();
            (u.iter().map(|v| num(*v)).collect(), Some(u), idx)
        }
        None => {
            let mut u: Vec<String> = Vec::new();
            let idx = raw.iter().map(|s| index_of(&mut u, s)).collect();
            (u, None, idx)
        }
    }
}

/// Where two piecewise-linear curves cross, by linear interpolation between adjacent points.
pub(super) fn crossings(xs: &[f64], a: &[f64], b: &[f64]) -> Vec<(f64, f64)> {
    let mut out = Vec::new();
    for i in 0..xs.len().saturating_sub(1) {
        let (d0, d1) = (a[i] - b[i], a[i + 1] - b[i + 1]);
        if !d0.is_finite() || !d1.is_finite() {
            continue;
        }
        if d0 == 0.0 && (i == 0 || out.last().is_none_or(|(x, _)| *x != xs[i])) {
            out.push((xs[i], a[i]));
        } else if d0 * d1 < 0.0 {
            let t = d0 / (d0 - d1);
            out.push((xs[i] + t * (xs[i + 1] - xs[i]), a[i] + t * (a[i + 1] - a[i])));
        }
        if d1 == 0.0 && i + 2 == xs.len() {
            out.push((xs[i + 1], a[i + 1]));
        }
    }
    out
}

pub(super) fn draw_sweep1<DB: DrawingBackend>(a: &Area<DB>, sw: &Sweep) -> R<DB> {
    let (labels, nums, idx) = axis_values(sw, 0);
    let xs: Vec<f64> = nums.clone().unwrap_or_else(|| (0..labels.len()).map(|i| i as f64).collect());
    // series[s][x] = the metric at the x-th axis value.
    let series: Vec<Vec<Stat>> = (0..sw.strategies.len())
        .map(|s| {
            let mut v = vec![NA; xs.len()];
            for (p, &x) in idx.iter().enumerate() {
                if let Some(st) = sw.values.get(&(p, s)) {
                    v[x] = *st;
                }
            }
            v
        })
        .collect();
    let mut legend: Vec<(Swatch, String)> =
        sw.strategies.iter().enumerate().map(|(i, n)| (Swatch::Line(color(i), DASHES[i % 4], Some(i)), n.clone())).collect();
    legend.push((Swatch::Fill(RGBColor(200, 200, 200)), "95% CI".into()));
    legend.push((Swatch::Ring, "break-even (axis value)".into()));
    let title = if sw.metric == super::DEFAULT_METRIC { "Cost per correct result".to_string() } else { sw.metric.clone() };
    let top = header(a, &format!("{title} across the sweep"), &legend)?;
    let all: Vec<f64> = series.iter().flatten().flat_map(|s| [s.mean, s.lo, s.hi]).filter(|v| v.is_finite()).collect();
    // A log scale only for positive values; from zero only when zero is a natural floor.
    let positive = all.iter().all(|v| *v > 0.0);
    let sy = Scale::fit(all, positive, positive);
    let sx = Scale::fit(xs.iter().copied(), nums.is_some(), false);
    let p = Plot { l: 100, t: top + 10, r: W as i32 - 30, b: H as i32 - 62 };
    let name = &sw.axes[0];
    let ticks = if nums.is_some() { sx.ticks() } else { xs.clone() };
    let cat = |v: f64| labels.get(v as usize).cloned().unwrap_or_default();
    x_axis(a, &p, &sx, ticks, name, if nums.is_some() { &num } else { &cat })?;
    let unit = if sw.metric == super::DEFAULT_METRIC { "USD per correct result".to_string() } else { sw.metric.clone() };
    let yl = format!("{unit}{}", if sy.log { " (log scale)" } else { "" });
    y_axis(a, &p, &sy, &yl, &tick_format(&sw.metric))?;
    for (i, ser) in series.iter().enumerate() {
        let c = color(i);
        // CI band and line run only over consecutive finite points (inf = no correct result).
        let mut runs: Vec<Vec<usize>> = vec![Vec::new()];
        for (k, st) in ser.iter().enumerate() {
            match (st.mean.is_finite(), runs.last_mut()) {
                (true, Some(r)) => r.push(k),
                _ => runs.push(Vec::new()),
            }
        }
        for run in runs.iter().filter(|r| !r.is_empty()) {
            let ci: Vec<usize> = run.iter().copied().filter(|&k| ser[k].lo.is_finite() && ser[k].hi.is_finite()).collect();
            if ci.len() == run.len() && run.len() > 1 {
                let mut poly: Vec<(i32, i32)> = run.iter().map(|&k| (p.x(&sx, xs[k]), p.y(&sy, ser[k].hi))).collect();
                poly.extend(run.iter().rev().map(|&k| (p.x(&sx, xs[k]), p.y(&sy, ser[k].lo))));
                a.draw(&Polygon::new(poly, c.mix(0.18).filled()))?;
            }
            let pts: Vec<(i32, i32)> = run.iter().map(|&k| (p.x(&sx, xs[k]), p.y(&sy, ser[k].mean))).collect();
            line(a, pts.clone(), &c, 2, DASHES[i % 4])?;
            for pt in pts {
                marker(a, pt, i, &c)?;
            }
        }
    }
    let mut n_marks = 0;
    for i in 0..series.len() {
        for j in i + 1..series.len() {
            let m = |s: &Vec<Stat>| s.iter().map(|x| x.mean).collect::<Vec<f64>>();
            for (x, y) in crossings(&xs, &m(&series[i]), &m(&series[j])) {
                let at = (p.x(&sx, x), p.y(&sy, y));
                a.draw(&Circle::new(at, 7, BLACK.stroke_width(2)))?;
                let pair = format!("{} = {}", sw.strategies[i], sw.strategies[j]);
                let label = match &nums {
                    Some(_) => format!("{pair} at ≈ {}", sig(x, 3)),
                    None if x.fract() == 0.0 => format!("{pair} at {}", cat(x)),
                    None => format!("{pair} between {} and {}", cat(x.floor()), cat(x.ceil())),
                };
                let dy = if n_marks % 2 == 0 { -12 } else { 12 };
                let v = if dy < 0 { CB } else { CT };
                boxed(a, &label, (at.0, at.1 + dy), v, &BLACK)?;
                n_marks += 1;
            }
        }
    }
    Ok(())
}

/// Where a cell's lead falls: the shade bins of the heat map, as (lower bound, label).
pub(super) const LEAD_BINS: [(f64, &str); 5] = [(0.0, "< 2%"), (0.02, "2–10%"), (0.10, "10–25%"), (0.25, "25–50%"), (0.5, "≥ 50%")];

/// The winner's relative lead over the runner-up: (runner-up − best) / |runner-up| when
/// smaller is better, (best − runner-up) / |runner-up| when larger is; 0 when both are 0.
pub(super) fn lead(best: f64, runner_up: f64, higher: bool) -> f64 {
    let d = if higher { best - runner_up } else { runner_up - best };
    let denom = runner_up.abs().max(if runner_up == 0.0 { best.abs() } else { 0.0 });
    if denom == 0.0 { 0.0 } else { d / denom }
}

/// `c` mixed with white: `t` = 1 is `c`, 0 is white.
fn tint(c: RGBColor, t: f64) -> RGBColor {
    let m = |v: u8| (f64::from(v) * t + 255.0 * (1.0 - t)).round() as u8;
    RGBColor(m(c.0), m(c.1), m(c.2))
}

fn shade(bin: usize) -> f64 {
    0.2 + 0.2 * bin as f64
}

/// The best strategy of one heat-map cell.
#[derive(Clone, Copy)]
struct Best {
    strategy: usize,
    value: f64,
    /// Lead over the runner-up (NaN when it is the only strategy with a value).
    lead: f64,
    /// The two best's 95% intervals overlap.
    overlap: bool,
}

pub(super) fn draw_sweep2<DB: DrawingBackend>(a: &Area<DB>, sw: &Sweep) -> R<DB> {
    let (lx, _, ix) = axis_values(sw, 0);
    let (ly, _, iy) = axis_values(sw, 1);
    let none = RGBColor(215, 215, 215);
    let higher = super::higher_is_better(&sw.metric);
    let better = |x: f64, y: f64| if higher { x > y } else { x < y };
    // ranked[y][x] = (strategy, stat) of the finite means, best first; ties keep file order.
    let mut ranked: Vec<Vec<Vec<(usize, Stat)>>> = vec![vec![Vec::new(); lx.len()]; ly.len()];
    for p in 0..sw.points.len() {
        for s in 0..sw.strategies.len() {
            if let Some(st) = sw.values.get(&(p, s)).filter(|st| st.mean.is_finite()) {
                ranked[iy[p]][ix[p]].push((s, *st));
            }
        }
    }
    let best: Vec<Vec<Option<Best>>> = ranked
        .iter_mut()
        .map(|row| {
            row.iter_mut()
                .map(|cell| {
                    cell.sort_by(|x, y| {
                        if better(x.1.mean, y.1.mean) {
                            std::cmp::Ordering::Less
                        } else if better(y.1.mean, x.1.mean) {
                            std::cmp::Ordering::Greater
                        } else {
                            std::cmp::Ordering::Equal
                        }
                    });
                    let (s, b) = *cell.first()?;
                    let (lead, overlap) = match cell.get(1) {
                        Some((_, r)) => (lead(b.mean, r.mean, higher), b.lo <= r.hi && r.lo <= b.hi),
                        None => (f64::NAN, false),
                    };
                    Some(Best { strategy: s, value: b.mean, lead, overlap })
                })
                .collect()
        })
        .collect();
    let used: Vec<usize> = (0..sw.strategies.len()).filter(|s| best.iter().flatten().flatten().any(|b| b.strategy == *s)).collect();
    let mut legend: Vec<(Swatch, String)> =
        used.iter().map(|&i| (Swatch::Fill(color(i)), format!("{} {}", i + 1, sw.strategies[i]))).collect();
    if best.iter().flatten().any(|c| c.is_none()) {
        legend.push((Swatch::Fill(none), format!("no finite {}", sw.metric)));
    }
    legend.push((Swatch::Caption, "lead over the runner-up:".into()));
    for (k, (_, label)) in LEAD_BINS.iter().enumerate() {
        legend.push((Swatch::Fill(tint(RGBColor(90, 90, 90), shade(k))), label.to_string()));
    }
    let title = if sw.metric == super::DEFAULT_METRIC {
        "Cheapest strategy (lowest mean cost per correct result)".to_string()
    } else {
        format!("Best strategy by {} ({} mean)", sw.metric, if higher { "highest" } else { "lowest" })
    };
    let top = header(a, &title, &legend)?;
    let how = if higher { "(best − runner-up) / runner-up" } else { "(runner-up − best) / runner-up" };
    let note = format!("Colour: best strategy. Shade and “by”: its lead, {how}. *: the two best's 95% CIs overlap.");
    text(a, &note, (W as i32 / 2, top + 2), 13.0, CT, &MUTED)?;
    let top = top + 22;
    let mut yw = 0;
    for l in &ly {
        yw = yw.max(width(a, l, 13.0)?);
    }
    let p = Plot { l: 60 + yw, t: top + 6, r: W as i32 - 30, b: H as i32 - 62 };
    let (cw, ch) = ((p.r - p.l) / lx.len().max(1) as i32, (p.b - p.t) / ly.len().max(1) as i32);
    let fmt = value_format(&sw.metric);
    for (yi, row) in best.iter().enumerate() {
        // First y value at the bottom, as on a normal y axis.
        let y0 = p.b - ch * (yi as i32 + 1);
        for (xi, cell) in row.iter().enumerate() {
            let x0 = p.l + cw * xi as i32;
            let c = cell.map_or(none, |b| {
                let bin = LEAD_BINS.iter().rposition(|(lo, _)| b.lead.is_nan() || b.lead >= *lo).unwrap_or(0);
                tint(color(b.strategy), shade(bin))
            });
            rect(a, (x0, y0), (x0 + cw, y0 + ch), &c)?;
            let Some(b) = cell else {
                continue;
            };
            // The strategy's name (or number) in each cell keeps the map readable in greyscale.
            let name = &sw.strategies[b.strategy];
            let label = if width(a, name, 13.0)? <= cw - 8 { name.clone() } else { format!("{}", b.strategy + 1) };
            let by =
                if b.lead.is_nan() { "only one".to_string() } else { format!("by {}{}", pct(b.lead), if b.overlap { "*" } else { "" }) };
            let lines: Vec<(String, f64)> = if cw >= 56 && ch >= 50 {
                vec![(label, 13.0), (fmt(b.value), 12.0), (by, 12.0)]
            } else if ch >= 34 && cw >= 40 {
                vec![(label, 13.0), (by, 12.0)]
            } else if cw >= 14 && ch >= 14 {
                vec![(label, 12.0)]
            } else {
                Vec::new()
            };
            let n = lines.len() as i32;
            for (k, (t, size)) in lines.iter().enumerate() {
                let y = y0 + ch / 2 + (2 * k as i32 - (n - 1)) * 8;
                text(a, t, (x0 + cw / 2, y), *size, CC, &ink_on(&c))?;
            }
        }
    }
    // Thin out tick labels so they never collide.
    let mut widest = 1;
    for l in &lx {
        widest = widest.max(width(a, l, 13.0)?);
    }
    let step_x = ((widest + 10) / cw.max(1) + 1) as usize;
    for (i, l) in lx.iter().enumerate().step_by(step_x) {
        text(a, l, (p.l + cw * i as i32 + cw / 2, p.b + 6), 13.0, CT, &DARK)?;
    }
    let step_y = (18 / ch.max(1) + 1) as usize;
    for (i, l) in ly.iter().enumerate().step_by(step_y) {
        text(a, l, (p.l - 6, p.b - ch * i as i32 - ch / 2), 13.0, RC, &DARK)?;
    }
    text(a, &sw.axes[0], ((p.l + p.r) / 2, p.b + 28), 15.0, CT, &DARK)?;
    let style = font(15.0, false).color(&DARK).pos(Pos::new(CT.0, CT.1)).transform(FontTransform::Rotate270);
    a.draw_text(&sw.axes[1], &style, (p.l - yw - 34, (p.t + p.b) / 2))
}
