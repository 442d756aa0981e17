//! Charts from `summary.csv`: cost per result, cost breakdown and outcomes.

use super::common::*;
use super::input::*;
use plotters::prelude::*;

/// A dot plot: a dot's position is the value, so a log axis is honest (bars on a log axis
/// start from an arbitrary floor and their lengths mean nothing). Per strategy, cost per
/// task and cost per correct result sit on two lines of its row, each with its 95% CI as a
/// whisker and its value as a label; people's cost per correct result is a dashed
/// reference line, labelled in a strip above the plot where no other text is.
pub(super) fn draw_cost_per_result<DB: DrawingBackend>(a: &Area<DB>, s: &[StrategyRow]) -> R<DB> {
    let metrics = [("cost_per_task_usd", RGBColor(230, 159, 0), 0), ("cost_per_success_usd", RGBColor(0, 114, 178), 3)];
    let humans: Vec<&StrategyRow> = s.iter().filter(|r| r.is_human() && r.mean("cost_per_success_usd").is_finite()).collect();
    let mut legend = vec![
        (Swatch::Mark(metrics[0].1, metrics[0].2), "cost per task (mean)".to_string()),
        (Swatch::Mark(metrics[1].1, metrics[1].2), "cost per correct result (mean)".to_string()),
    ];
    let has_ci = s.iter().any(|r| metrics.iter().any(|m| r.get(m.0).lo.is_finite()));
    if has_ci {
        legend.push((Swatch::Line(DARK, 0, None), "95% CI over replications".to_string()));
    }
    if !humans.is_empty() {
        legend.push((Swatch::Line(BLACK, 8, None), "people's cost per correct result".to_string()));
    }
    let top = header(a, "Cost per task and per correct result", &legend)?;
    let vals = s.iter().flat_map(|r| {
        metrics.iter().flat_map(|m| {
            let st = r.get(m.0);
            [st.mean, st.lo, st.hi]
        })
    });
    let sc = Scale::fit(vals, true, true);
    let col = name_column(a, &names(s))?;
    let strip = 18 * humans.len() as i32;
    let p = Plot { l: 30 + col, t: top + 12 + strip, r: W as i32 - 100, b: H as i32 - 62 };
    let label = if sc.log { "USD (log scale: each gridline is 10x)" } else { "USD" };
    x_axis(a, &p, &sc, sc.ticks(), label, &usd)?;
    // The reference lines go under the dots; their labels are stacked in the strip above.
    for (k, h) in humans.iter().enumerate() {
        let v = h.mean("cost_per_success_usd");
        let (x, y) = (p.x(&sc, v), p.t - strip + 18 * k as i32);
        line(a, vec![(x, y), (x, p.b)], &BLACK, 2, 8)?;
        let msg = format!("{}: {} per correct result", h.name, money(v));
        let right = x > (p.l + p.r) / 2;
        boxed(a, &msg, (if right { x - 6 } else { x + 6 }, y), if right { RT } else { LT }, &BLACK)?;
    }
    let rh = row_labels(a, &p, &names(s), col)?;
    let dy = (rh / 5).clamp(6, 16);
    for (i, r) in s.iter().enumerate() {
        let mid = p.t + rh * i as i32 + rh / 2;
        for (k, (metric, c, shape)) in metrics.iter().enumerate() {
            let y = if k == 0 { mid - dy } else { mid + dy };
            // A faint guide from the name to the dot, as in a Cleveland dot plot.
            line(a, vec![(p.l, y), (p.r, y)], &GRID, 1, 2)?;
            let st = r.get(metric);
            if st.mean.is_nan() {
                text(a, "n/a", (p.l + 6, y), 13.0, LC, &MUTED)?;
                continue;
            }
            if st.mean.is_infinite() {
                text(a, "no correct result", (p.l + 6, y), 13.0, LC, &MUTED)?;
                continue;
            }
            let x = p.x(&sc, st.mean);
            let (mut xl, mut xh) = (x, x);
            if st.lo.is_finite() && st.hi.is_finite() {
                (xl, xh) = (p.x(&sc, st.lo).min(x), p.x(&sc, st.hi).max(x));
                line(a, vec![(xl, y), (xh, y)], &DARK, 2, 0)?;
                line(a, vec![(xl, y - 5), (xl, y + 5)], &DARK, 2, 0)?;
                line(a, vec![(xh, y - 5), (xh, y + 5)], &DARK, 2, 0)?;
            }
            marker(a, (x, y), *shape, c)?;
            // The value to the right of the dot and whisker, or to the left where it would
            // leave the picture.
            let msg = money(st.mean);
            let w = width(a, &msg, 13.0)?;
            if xh.max(x + 6) + 8 + w <= W as i32 - 4 {
                boxed(a, &msg, (xh.max(x + 6) + 8, y), LC, &DARK)?;
            } else {
                boxed(a, &msg, (xl.min(x - 6) - 8, y), RC, &DARK)?;
            }
        }
    }
    Ok(())
}

pub(super) const PARTS: [(&str, &str, RGBColor); 5] = [
    ("model_cost_usd", "model", RGBColor(0, 114, 178)),
    ("tool_cost_usd", "tools", RGBColor(230, 159, 0)),
    ("orchestration_cost_usd", "orchestration", RGBColor(136, 34, 85)),
    ("platform_fee_usd", "platform fee", RGBColor(86, 180, 233)),
    ("human_cost_usd", "human", RGBColor(240, 228, 66)),
];

pub(super) fn draw_breakdown<DB: DrawingBackend>(a: &Area<DB>, s: &[StrategyRow]) -> R<DB> {
    let waste = RGBColor(60, 60, 60);
    let mut legend: Vec<(Swatch, String)> = PARTS.iter().map(|(_, l, c)| (Swatch::Fill(*c), l.to_string())).collect();
    legend.push((Swatch::Fill(waste), "wasted (billed, not delivered)".into()));
    let top = header(a, "Mean cost per task by component", &legend)?;
    // Per-task parts; a strategy without a usable task count gets no bar.
    let per_task: Vec<Option<(Vec<f64>, f64, f64)>> = s
        .iter()
        .map(|r| {
            let n = r.mean("tasks");
            let parts: Vec<f64> = PARTS.iter().map(|(m, _, _)| (r.mean(m) / n).max(0.0)).collect();
            let total: f64 = parts.iter().sum();
            let wasted = r.mean("wasted_cost_usd") / n;
            (n > 0.0 && total.is_finite()).then_some((parts, total, wasted))
        })
        .collect();
    let total = |i: usize| per_task[i].as_ref().map_or(f64::NAN, |p| p.1);
    // Human teams often cost ~1000x an agent: a shared linear axis would flatten every agent
    // bar, so bars far beyond the agents' range are cut with a break mark and labelled.
    let agent_max = (0..s.len()).filter(|i| !s[*i].is_human()).map(total).fold(f64::NAN, f64::max);
    let all_max = (0..s.len()).map(total).fold(f64::NAN, f64::max);
    let cap = if agent_max > 0.0 && all_max > 10.0 * agent_max { agent_max * 1.25 } else { all_max };
    let sc = Scale::fit([0.0, cap], false, true);
    let col = name_column(a, &names(s))?;
    let p = Plot { l: 30 + col, t: top + 6, r: W as i32 - 190, b: H as i32 - 62 };
    x_axis(a, &p, &sc, sc.ticks(), "USD per task (mean over replications)", &usd)?;
    let rh = row_labels(a, &p, &names(s), col)?;
    let bh = (rh / 2).min(44);
    for (i, pt) in per_task.iter().enumerate() {
        let y0 = p.t + rh * i as i32 + (rh - bh) / 2 - 4;
        let Some((parts, tot, wasted)) = pt else {
            text(a, "n/a", (p.l + 6, y0 + bh / 2), 13.0, LC, &MUTED)?;
            continue;
        };
        let mut acc = 0.0;
        for (v, (_, _, c)) in parts.iter().zip(PARTS.iter()) {
            let (x0, x1) = (p.x(&sc, acc), p.x(&sc, acc + v));
            if x1 > x0 {
                rect(a, (x0, y0), (x1, y0 + bh), c)?;
            }
            acc += v;
        }
        let end = p.x(&sc, *tot);
        let off = *tot > sc.hi;
        if wasted.is_finite() && *wasted > 0.0 {
            let wx = p.x(&sc, *wasted);
            a.draw(&Rectangle::new([(p.l, y0 + bh + 2), (wx.max(p.l + 2), y0 + bh + 9)], waste.filled()))?;
        }
        if off {
            for dx in [-14, -8] {
                let pts = vec![(end + dx, y0 - 3), (end + dx + 4, y0 - 3), (end + dx - 2, y0 + bh + 12), (end + dx - 6, y0 + bh + 12)];
                a.draw(&Polygon::new(pts, WHITE.filled()))?;
            }
        }
        let share = if *tot > 0.0 && wasted.is_finite() { pct(wasted / tot) } else { "n/a".into() };
        let scale_note = if off { " (bar cut to fit)" } else { "" };
        text(a, &format!("{}/task{scale_note}", money(*tot)), (end + 6, y0 + bh / 2 - 8), 13.0, LC, &DARK)?;
        text(a, &format!("wasted: {share}"), (end + 6, y0 + bh / 2 + 9), 13.0, LC, &MUTED)?;
    }
    Ok(())
}

pub(super) fn draw_outcomes<DB: DrawingBackend>(a: &Area<DB>, s: &[StrategyRow]) -> R<DB> {
    // correct + wrong + failed = tasks. Escalated tasks were finished by people and are
    // inside correct or wrong, so they are shown as a strip under the bar, not a segment.
    let parts = [("correct", RGBColor(0, 114, 178)), ("wrong", RGBColor(230, 159, 0)), ("failed", RGBColor(136, 34, 85))];
    let strip = RGBColor(60, 60, 60);
    let mut legend: Vec<_> = parts.iter().map(|(n, c)| (Swatch::Fill(*c), n.to_string())).collect();
    legend.push((Swatch::Fill(strip), "escalated to people (within correct/wrong)".to_string()));
    let top = header(a, "Task outcomes by strategy", &legend)?;
    let sc = Scale { lo: 0.0, hi: 1.0, log: false };
    let col = name_column(a, &names(s))?;
    let p = Plot { l: 30 + col, t: top + 6, r: W as i32 - 40, b: H as i32 - 62 };
    x_axis(a, &p, &sc, sc.ticks(), "share of tasks (%)", &|v| format!("{}%", sig(v * 100.0, 3)))?;
    let rh = row_labels(a, &p, &names(s), col)?;
    let bh = (rh * 6 / 10).min(50);
    for (i, r) in s.iter().enumerate() {
        let y0 = p.t + rh * i as i32 + (rh - bh) / 2;
        let vals: Vec<f64> = parts.iter().map(|(m, _)| r.mean(m).max(0.0)).collect();
        let sum: f64 = vals.iter().filter(|v| v.is_finite()).sum();
        if sum <= 0.0 {
            text(a, "no tasks", (p.l + 6, y0 + bh / 2), 13.0, LC, &MUTED)?;
            continue;
        }
        let mut acc = 0.0;
        for (v, (_, c)) in vals.iter().zip(parts.iter()) {
            let f = if v.is_finite() { v / sum } else { 0.0 };
            let (x0, x1) = (p.x(&sc, acc), p.x(&sc, acc + f));
            if x1 > x0 {
                rect(a, (x0, y0), (x1, y0 + bh), c)?;
            }
            if x1 - x0 >= 32 {
                text(a, &pct(f), ((x0 + x1) / 2, y0 + bh / 2), 13.0, CC, &ink_on(c))?;
            }
            acc += f;
        }
        let esc = r.mean("escalated");
        if esc.is_finite() && esc > 0.0 {
            let f = (esc / sum).min(1.0);
            let x1 = p.x(&sc, f).max(p.l + 2);
            rect(a, (p.l, y0 + bh + 2), (x1, y0 + bh + 8), &strip)?;
            text(a, &format!("escalated: {}", pct(f)), (x1 + 6, y0 + bh + 5), 12.0, LC, &MUTED)?;
        }
    }
    Ok(())
}
