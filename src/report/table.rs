//! The short human-readable table printed after a run.

use crate::economics::metrics::{Stat, metric_index};
use crate::experiment::RunResult;
use crate::model::{Scenario, StrategyKind};

fn money(x: f64) -> String {
    if x.is_nan() {
        "-".into()
    } else if x.is_infinite() {
        "none correct".into()
    } else if x.abs() >= 100.0 {
        format!("${x:.0}")
    } else if x.abs() >= 1.0 {
        format!("${x:.2}")
    } else {
        format!("${x:.4}")
    }
}

fn secs(x: f64) -> String {
    if x.is_nan() {
        "-".into()
    } else if x >= 3600.0 {
        format!("{:.1}h", x / 3600.0)
    } else if x >= 60.0 {
        format!("{:.1}m", x / 60.0)
    } else {
        format!("{x:.1}s")
    }
}

/// Renders the table: per strategy, success rate, cost per task, cost per success with
/// its 95% CI, p95 latency, and the cost-per-success ratio to the (first) human team.
pub fn render(sc: &Scenario, run: &RunResult) -> String {
    let stats = super::csv::summary_stats(sc, run);
    let get = |s: &str, m: &str| -> Stat {
        let i = metric_index(m).unwrap_or(0);
        let per = crate::economics::metrics::N_METRICS;
        let si = sc.strategies.iter().position(|x| x.name == s).unwrap_or(0);
        stats[si * per + i].2
    };
    let human = sc.strategies.iter().find(|s| matches!(s.kind, StrategyKind::Human(_))).map(|s| s.name.clone());
    let human_cps = human.as_ref().map(|h| get(h, "cost_per_success_usd").mean);
    let mut rows = vec![[
        "strategy".to_string(),
        "success".into(),
        "cost/task".into(),
        "cost/success (95% CI)".into(),
        "p95 latency".into(),
        match &human {
            Some(h) => format!("vs {h}"),
            None => "vs human".into(),
        },
    ]];
    for st in &sc.strategies {
        let sr = get(&st.name, "success_rate");
        let cpt = get(&st.name, "cost_per_task_usd");
        let cps = get(&st.name, "cost_per_success_usd");
        let p95 = get(&st.name, "latency_p95_s");
        let ci = if cps.ci95_low.is_nan() { String::new() } else { format!(" ({}-{})", money(cps.ci95_low), money(cps.ci95_high)) };
        let ratio = match human_cps {
            Some(h) if h.is_finite() && h > 0.0 && cps.mean.is_finite() => format!("{:.4}x", cps.mean / h),
            _ => "-".into(),
        };
        rows.push([
            st.name.clone(),
            if sr.mean.is_nan() { "-".into() } else { format!("{:.1}%", sr.mean * 100.0) },
            money(cpt.mean),
            format!("{}{ci}", money(cps.mean)),
            secs(p95.mean),
            ratio,
        ]);
    }
    let widths: Vec<usize> = (0..6).map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for (i, r) in rows.iter().enumerate() {
        let line: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(c, v)| if c == 0 { format!("{v:<w$}", w = widths[c]) } else { format!("{v:>w$}", w = widths[c]) })
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
        if i == 0 {
            out.push_str(&"-".repeat(widths.iter().sum::<usize>() + 2 * (widths.len() - 1)));
            out.push('\n');
        }
    }
    out
}
