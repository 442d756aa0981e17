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
    // series[s][x] = cost per success at the x-th axis value.
    let series: Vec<Vec<Stat>> = (0..sw.strategies.len())
        .map(|s| {
            let mut v = vec![NA; xs.len()];
            for (p, &x) in idx.iter().enumerate() {
                if let Some(st) = sw.cps.get(&(p, s)) {
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
    let top = header(a, "Cost per correct result across the sweep", &legend)?;
    let all = series.iter().flatten().flat_map(|s| [s.mean, s.lo, s.hi]);
    let sy = Scale::fit(all, true, true);
    let sx = Scale::fit(xs.iter().copied(), nums.is_some(), false);
    let p = Plot { l: 100, t: top + 10, r: W as i32 - 30, b: H as i32 - 62 };
    let name = &sw.axes[0];
    let ticks = if nums.is_some() { sx.ticks() } else { xs.clone() };
    let cat = |v: f64| labels.get(v as usize).cloned().unwrap_or_default();
    x_axis(a, &p, &sx, ticks, name, if nums.is_some() { &num } else { &cat })?;
    let yl = format!("USD per correct result{}", if sy.log { " (log scale)" } else { "" });
    y_axis(a, &p, &sy, &yl, &usd)?;
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
                let label = match &nums {
                    Some(_) => format!("≈ {}", sig(x, 3)),
                    None if x.fract() == 0.0 => format!("at {}", cat(x)),
                    None => format!("between {} and {}", cat(x.floor()), cat(x.ceil())),
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

pub(super) fn draw_sweep2<DB: DrawingBackend>(a: &Area<DB>, sw: &Sweep) -> R<DB> {
    let (lx, _, ix) = axis_values(sw, 0);
    let (ly, _, iy) = axis_values(sw, 1);
    let none = RGBColor(215, 215, 215);
    // cheapest[y][x] = (strategy index, cost); ties go to the earlier strategy.
    let mut cheapest: Vec<Vec<Option<(usize, f64)>>> = vec![vec![None; lx.len()]; ly.len()];
    for p in 0..sw.points.len() {
        for s in 0..sw.strategies.len() {
            let v = sw.cps.get(&(p, s)).map_or(f64::NAN, |st| st.mean);
            let cell = &mut cheapest[iy[p]][ix[p]];
            if v.is_finite() && cell.is_none_or(|(_, best)| v < best) {
                *cell = Some((s, v));
            }
        }
    }
    let mut legend: Vec<(Swatch, String)> =
        sw.strategies.iter().enumerate().map(|(i, n)| (Swatch::Fill(color(i)), format!("{} {n}", i + 1))).collect();
    if cheapest.iter().flatten().any(|c| c.is_none()) {
        legend.push((Swatch::Fill(none), "no correct result".into()));
    }
    let top = header(a, "Cheapest strategy (lowest mean cost per correct result)", &legend)?;
    let mut yw = 0;
    for l in &ly {
        yw = yw.max(width(a, l, 13.0)?);
    }
    let p = Plot { l: 60 + yw, t: top + 10, r: W as i32 - 30, b: H as i32 - 62 };
    let (cw, ch) = ((p.r - p.l) / lx.len().max(1) as i32, (p.b - p.t) / ly.len().max(1) as i32);
    for (yi, row) in cheapest.iter().enumerate() {
        // First y value at the bottom, as on a normal y axis.
        let y0 = p.b - ch * (yi as i32 + 1);
        for (xi, cell) in row.iter().enumerate() {
            let x0 = p.l + cw * xi as i32;
            let c = cell.map_or(none, |(s, _)| color(s));
            rect(a, (x0, y0), (x0 + cw, y0 + ch), &c)?;
            // The strategy's name (or number) in each cell keeps the map readable in greyscale.
            if let Some((s, v)) = cell {
                let big = cw >= 56 && ch >= 36;
                let name = &sw.strategies[*s];
                let label = if width(a, name, 13.0)? <= cw - 8 { name.clone() } else { format!("{}", s + 1) };
                let mid = (x0 + cw / 2, y0 + ch / 2);
                if cw >= 14 && ch >= 14 {
                    text(a, &label, (mid.0, mid.1 - if big { 8 } else { 0 }), 13.0, CC, &ink_on(&c))?;
                }
                if big {
                    text(a, &money(*v), (mid.0, mid.1 + 9), 12.0, CC, &ink_on(&c))?;
                }
            }
        }
    }
    // Thin out tick labels so they never collide.
    let step_x = ((lx.iter().map(|l| l.len()).max().unwrap_or(1) as i32 * 9 + 10) / cw.max(1) + 1) as usize;
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
