//! `horizon.csv`, `horizon_summary.csv` and the printed verdict of a horizon run.

use super::{HorizonSpec, Trajectory, discount, npv, payback, summary};
use crate::economics::metrics::stat;
use crate::economics::money::Usd;
use crate::report::fmt_f64;

/// Header of `horizon.csv`.
pub const HORIZON_HEADER: [&str; 14] = [
    "month",
    "strategy",
    "adopt_at",
    "phase",
    "tasks",
    "cost_usd",
    "value_usd",
    "net_value_usd",
    "cumulative_net_value_usd",
    "discounted_net_value_usd",
    "net_ci95_low",
    "net_ci95_high",
    "cumulative_ci95_low",
    "cumulative_ci95_high",
];

/// Header of `horizon_summary.csv`: the long format of `summary.csv`, with the adoption
/// timing after the strategy.
pub const SUMMARY_HEADER: [&str; 8] = ["strategy", "adopt_at", "metric", "mean", "std", "ci95_low", "ci95_high", "replications"];

/// The mean of exact amounts, rounded to the nearest pico-dollar.
fn mean_usd(v: &[Usd]) -> Usd {
    if v.is_empty() {
        return Usd::ZERO;
    }
    v.iter().copied().sum::<Usd>().mul_div(1, v.len() as i128)
}

fn writer() -> ::csv::Writer<Vec<u8>> {
    ::csv::WriterBuilder::new().terminator(::csv::Terminator::Any(b'\n')).from_writer(Vec::new())
}

fn finish(w: ::csv::Writer<Vec<u8>>) -> std::io::Result<Vec<u8>> {
    w.into_inner().map_err(|e| std::io::Error::other(e.to_string()))
}

/// `horizon.csv`: one row per month, strategy and adoption timing. Money columns are
/// means over replications, exact to the pico-dollar; the discounted column and the
/// Student-t 95% intervals of the month's and the cumulative net value are floats.
pub fn horizon_csv(spec: &HorizonSpec, names: &[String], trajectories: &[Trajectory]) -> std::io::Result<Vec<u8>> {
    let mut w = writer();
    w.write_record(HORIZON_HEADER)?;
    for t in trajectories {
        let reps = t.months.first().map_or(0, |m| m.cost.len());
        let mut cum = vec![Usd::ZERO; reps];
        for m in &t.months {
            let net = m.net();
            for (c, n) in cum.iter_mut().zip(&net) {
                *c += *n;
            }
            let mean_net = mean_usd(&net);
            let s = stat(&net.iter().map(|x| x.as_f64()).collect::<Vec<_>>());
            let sc = stat(&cum.iter().map(|x| x.as_f64()).collect::<Vec<_>>());
            w.write_record([
                m.month.to_string(),
                names[t.strategy].clone(),
                t.adopt_at.to_string(),
                m.phase.as_str().to_string(),
                m.tasks.to_string(),
                mean_usd(&m.cost).to_string(),
                mean_usd(&m.value).to_string(),
                mean_net.to_string(),
                mean_usd(&cum).to_string(),
                fmt_f64(mean_net.as_f64() / discount(spec, m.month)),
                fmt_f64(s.ci95_low),
                fmt_f64(s.ci95_high),
                fmt_f64(sc.ci95_low),
                fmt_f64(sc.ci95_high),
            ])?;
        }
    }
    finish(w)
}

/// `horizon_summary.csv`.
pub fn summary_csv(spec: &HorizonSpec, names: &[String], trajectories: &[Trajectory]) -> std::io::Result<Vec<u8>> {
    let mut w = writer();
    w.write_record(SUMMARY_HEADER)?;
    for t in trajectories {
        for (metric, s) in summary(spec, t) {
            // A month that never comes (no payback, no switch) is left empty.
            let f = |x: f64| if s.n == 0 { String::new() } else { fmt_f64(x) };
            w.write_record([
                names[t.strategy].clone(),
                t.adopt_at.to_string(),
                metric.to_string(),
                f(s.mean),
                f(s.std),
                f(s.ci95_low),
                f(s.ci95_high),
                s.n.to_string(),
            ])?;
        }
    }
    finish(w)
}

/// Dollars with thousands separators, to the dollar (NPVs are large and uncertain).
pub fn dollars(x: f64) -> String {
    if !x.is_finite() {
        return "n/a".into();
    }
    let neg = x < 0.0;
    let digits = format!("{:.0}", x.abs());
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    format!("{}${out}", if neg { "-" } else { "" })
}

/// The printed verdict: the highest NPV with its payback, each adoption timing's NPV
/// and its advantage over the latest, and switches with their lock-in cost.
pub fn verdict(spec: &HorizonSpec, names: &[String], trajectories: &[Trajectory]) -> String {
    let mut out = String::new();
    let npvs: Vec<(usize, f64)> = trajectories.iter().enumerate().map(|(i, t)| (i, stat(&npv(spec, &t.months)).mean)).collect();
    let Some(&(best, best_npv)) = npvs.iter().filter(|(_, v)| v.is_finite()).max_by(|a, b| a.1.total_cmp(&b.1)) else {
        return "no strategy has a defined NPV\n".into();
    };
    let bt = &trajectories[best];
    let s = stat(&npv(spec, &bt.months));
    let pb: Vec<Option<u32>> = payback(&bt.months);
    let pb_text = match (pb.iter().flatten().min(), pb.iter().flatten().max(), pb.iter().all(Option::is_some)) {
        (Some(lo), Some(hi), true) if lo == hi => format!("pays back in month {lo}"),
        (Some(lo), Some(hi), true) => format!("pays back in month {lo}-{hi} across replications"),
        (Some(_), _, false) => "pays back in some replications only".to_string(),
        _ => format!("does not pay back within {} months", spec.months),
    };
    let timing = if spec.adoption[bt.strategy].is_some() { format!(" adopted at month {}", bt.adopt_at) } else { String::new() };
    out.push_str(&format!(
        "highest NPV: {}{timing}, {} (95% CI {} to {}) over {} months; {pb_text}\n",
        names[bt.strategy],
        dollars(best_npv),
        dollars(s.ci95_low),
        dollars(s.ci95_high),
        spec.months
    ));
    for (s, name) in names.iter().enumerate() {
        let timed: Vec<&(usize, f64)> = npvs.iter().filter(|(i, _)| trajectories[*i].strategy == s).collect();
        if timed.len() < 2 {
            continue;
        }
        let Some(latest) = timed.iter().max_by_key(|(i, _)| trajectories[*i].adopt_at) else { continue };
        for (i, v) in &timed {
            let t = &trajectories[*i];
            if t.adopt_at == trajectories[latest.0].adopt_at {
                continue;
            }
            let adv = (v - latest.1) / latest.1.abs() * 100.0;
            out.push_str(&format!(
                "{name} adopted at month {}: NPV {} vs {} at month {}: {}{:.1}% of the latest timing's |NPV| ({})\n",
                t.adopt_at,
                dollars(*v),
                dollars(latest.1),
                trajectories[latest.0].adopt_at,
                if adv >= 0.0 { "+" } else { "" },
                adv,
                if adv >= 0.0 { "waiting costs" } else { "waiting pays" }
            ));
        }
    }
    for t in trajectories {
        if let Some(Some(a)) = spec.adoption.get(t.strategy)
            && let Some(sw) = &a.switching
        {
            let lock = stat(&t.lock_in_cost).mean;
            let when = t.switch_month.map_or("never switches".to_string(), |m| format!("switches in month {m}"));
            out.push_str(&format!(
                "{} (adopted at month {}) {when} to {}; lock-in costs {} of NPV against switching freely\n",
                names[t.strategy],
                t.adopt_at,
                sw.to,
                dollars(lock)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollars_group_thousands() {
        assert_eq!(dollars(1234567.4), "$1,234,567");
        assert_eq!(dollars(-999.6), "-$1,000");
        assert_eq!(dollars(12.0), "$12");
        assert_eq!(dollars(f64::NAN), "n/a");
    }

    #[test]
    fn mean_usd_is_exact() {
        assert_eq!(mean_usd(&[Usd(1), Usd(2)]), Usd(2)); // 1.5 rounds half away from zero
        assert_eq!(mean_usd(&[Usd(3), Usd(3), Usd(3)]), Usd(3));
        assert_eq!(mean_usd(&[]), Usd::ZERO);
    }
}
