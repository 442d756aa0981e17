//! The short human-readable table printed after a run (the verdict lines that follow
//! it are [`crate::analysis::verdict`]).

use crate::analysis::verdict;
use crate::economics::metrics::{Stat, metric_index};
use crate::experiment::RunResult;
use crate::model::{Scenario, StrategyKind};

/// Money with significant digits; a strategy with no correct result has no cost per
/// correct result.
fn money(x: f64) -> String {
    if x == f64::INFINITY { "none correct".into() } else { verdict::money(x) }
}

/// "73,500x cheaper" or "2.1x dearer": cost per correct result against the human team.
fn times(r: f64) -> String {
    let (x, word) = if r >= 1.0 { (r, "cheaper") } else { (1.0 / r, "dearer") };
    if x >= 100.0 { format!("{}x {word}", verdict::group(&format!("{x:.0}"))) } else { format!("{x:.1}x {word}") }
}

/// Renders the table: per strategy, success rate, cost per task, cost per success with
/// its 95% CI, p95 latency, net value per task (value of correct results minus
/// penalties of wrong ones minus cost), and the cost-per-success ratio to the (first)
/// human team.
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
    let mut rows: Vec<[String; 7]> = vec![[
        "strategy".to_string(),
        "success".into(),
        "cost/task".into(),
        "cost/success (95% CI)".into(),
        "p95 latency".into(),
        "net value/task".into(),
        match &human {
            Some(h) => format!("cost/success vs {h}"),
            None => "vs people".into(),
        },
    ]];
    for st in &sc.strategies {
        let sr = get(&st.name, "success_rate");
        let cpt = get(&st.name, "cost_per_task_usd");
        let cps = get(&st.name, "cost_per_success_usd");
        let p95 = get(&st.name, "latency_p95_s");
        let net = get(&st.name, "net_value_usd").mean / get(&st.name, "tasks").mean;
        let ci = if cps.ci95_low.is_nan() { String::new() } else { format!(" ({}-{})", money(cps.ci95_low), money(cps.ci95_high)) };
        let ratio = match human_cps {
            _ if human.as_deref() == Some(st.name.as_str()) => "reference".into(),
            Some(h) if h.is_finite() && h > 0.0 && cps.mean.is_finite() && cps.mean > 0.0 => times(h / cps.mean),
            _ => "-".into(),
        };
        rows.push([
            st.name.clone(),
            if sr.mean.is_nan() { "-".into() } else { format!("{:.1}%", sr.mean * 100.0) },
            money(cpt.mean),
            format!("{}{ci}", money(cps.mean)),
            verdict::duration(p95.mean),
            money(net),
            ratio,
        ]);
    }
    let widths: Vec<usize> = (0..7).map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
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

#[cfg(test)]
mod tests {
    use super::times;

    #[test]
    fn ratios_read_as_words() {
        assert_eq!(times(73_512.4), "73,512x cheaper");
        assert_eq!(times(2.0), "2.0x cheaper");
        assert_eq!(times(0.5), "2.0x dearer");
        assert_eq!(times(1234.0), "1,234x cheaper");
    }
}
