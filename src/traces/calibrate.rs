//! A scenario fitted to recorded traces (issue 14, part 3): agents by `gen_ai.agent.name`
//! (else the model), and per agent its calls per trace, first-call input, input growth
//! per call, output and reasoning tokens, tool time between calls, and per model the
//! first-token time and speed from call durations.
//!
//! Until steps can loop (issue 14, part 1), an agent's calls in a trace become one call
//! with tool calls: `tool_calls.count` is the calls per trace minus one,
//! `tool_calls.tokens_per_call` the input growth per call, `tool_calls.latency_s` the
//! gap between calls. That keeps the tokens of the last call and the time, not the
//! re-sent context of every call: a recorded loop costs more than the fitted step.
//!
//! Token distributions are lognormal (fitted by maximum likelihood on the logarithms)
//! unless a one-sample Kolmogorov-Smirnov test rejects it at 5% (D above 1.36/sqrt(n));
//! then the sample itself (`empirical`). Every fit is written with its sample size and
//! KS distance as a comment.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use statrs::distribution::{ContinuousCDF, Normal};

use super::prices::PriceBook;
use super::{Call, SpanStatus, TraceSet};
use crate::error::{Error, Result};

/// A fitted distribution of positive values.
#[derive(Clone, Debug, PartialEq)]
pub enum Fitted {
    /// One value (every sample equal, or one sample).
    Const(f64),
    /// Lognormal with this mean and standard deviation (of the values, not the logs).
    Lognormal {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        sd: f64,
    },
    /// The sample itself.
    Empirical(Vec<f64>),
}

/// A fit and its evidence.
#[derive(Clone, Debug, PartialEq)]
pub struct Fit {
    /// What was chosen.
    pub dist: Fitted,
    /// Sample size.
    pub n: usize,
    /// KS distance between the sample and the fitted lognormal (NaN when none was fitted).
    pub ks: f64,
}

/// Fits a sample: constant, lognormal unless the KS test rejects it, else empirical.
/// Zeros rule out a lognormal.
pub fn fit(sample: &[f64]) -> Option<Fit> {
    let n = sample.len();
    let first = *sample.first()?;
    if sample.iter().all(|x| *x == first) {
        return Some(Fit { dist: Fitted::Const(first), n, ks: f64::NAN });
    }
    let mut sorted = sample.to_vec();
    sorted.sort_by(f64::total_cmp);
    if sorted[0] <= 0.0 {
        return Some(Fit { dist: Fitted::Empirical(sorted), n, ks: f64::NAN });
    }
    let logs: Vec<f64> = sorted.iter().map(|x| x.ln()).collect();
    let mu = logs.iter().sum::<f64>() / n as f64;
    let s = (logs.iter().map(|l| (l - mu).powi(2)).sum::<f64>() / n as f64).sqrt();
    let normal = Normal::new(0.0, 1.0).ok()?;
    let ks = logs
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let f = normal.cdf((l - mu) / s);
            (f - i as f64 / n as f64).max((i + 1) as f64 / n as f64 - f)
        })
        .fold(0.0, f64::max);
    let dist = if ks <= 1.36 / (n as f64).sqrt() {
        let mean = (mu + s * s / 2.0).exp();
        Fitted::Lognormal { mean, sd: mean * ((s * s).exp() - 1.0).sqrt() }
    } else {
        Fitted::Empirical(sorted)
    };
    Some(Fit { dist, n, ks })
}

fn num(x: f64) -> String {
    // Four significant figures are plenty for a fitted parameter and keep the file stable.
    let v: f64 = format!("{x:.4e}").parse().unwrap_or(x);
    format!("{v}")
}

impl Fit {
    /// The fit as a scenario distribution.
    pub fn toml(&self) -> String {
        match &self.dist {
            Fitted::Const(v) => num(*v),
            Fitted::Lognormal { mean, sd } => format!("{{ dist = \"lognormal\", mean = {}, sd = {} }}", num(*mean), num(*sd)),
            Fitted::Empirical(v) => {
                format!("{{ dist = \"empirical\", values = [{}] }}", v.iter().map(|x| num(*x)).collect::<Vec<_>>().join(", "))
            }
        }
    }
    fn comment(&self, what: &str) -> String {
        let kind = match self.dist {
            Fitted::Const(_) => "constant",
            Fitted::Lognormal { .. } => "lognormal",
            Fitted::Empirical(_) => "empirical",
        };
        let ks = if self.ks.is_nan() {
            String::new()
        } else {
            format!(", KS distance to the lognormal {:.3} (5% critical {:.3})", self.ks, 1.36 / (self.n as f64).sqrt())
        };
        format!("# {what}: {kind}, n = {}{ks}\n", self.n)
    }
}

/// Least squares `duration = ttft + output / speed`; `None` without a positive slope.
pub fn latency_fit(points: &[(f64, f64)]) -> Option<(f64, f64)> {
    let n = points.len() as f64;
    if points.len() < 3 {
        return None;
    }
    let (mx, my) = (points.iter().map(|p| p.0).sum::<f64>() / n, points.iter().map(|p| p.1).sum::<f64>() / n);
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let slope = sxy / sxx;
    (sxx > 0.0 && slope > 0.0).then(|| ((my - slope * mx).max(0.0), 1.0 / slope))
}

/// One agent's calls grouped by trace, in time order.
fn by_trace<'a>(calls: &[&'a Call]) -> BTreeMap<&'a str, Vec<&'a Call>> {
    let mut m: BTreeMap<&str, Vec<&Call>> = BTreeMap::new();
    for c in calls {
        m.entry(c.trace_id.as_str()).or_default().push(c);
    }
    m
}

fn toml_key(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Outcomes read from `--outcomes`: `trace_id,outcome` with correct, wrong or failed.
pub fn read_outcomes(path: &Path) -> Result<BTreeMap<String, String>> {
    let file = path.display().to_string();
    let mut r = ::csv::Reader::from_path(path).map_err(|e| Error::invalid(&file, "", "", format!("a CSV file trace_id,outcome: {e}")))?;
    let mut out = BTreeMap::new();
    for (i, rec) in r.records().enumerate() {
        let line = i as u32 + 2;
        let bad = |v: &str, what: &str| {
            Error::Invalid(vec![crate::error::Diagnostic {
                file: file.clone(),
                line: Some(line),
                path: "outcome".into(),
                value: v.into(),
                expected: what.into(),
            }])
        };
        let rec = rec.map_err(|e| bad("", &format!("a row trace_id,outcome: {e}")))?;
        let (Some(t), Some(o)) = (rec.get(0), rec.get(1)) else { return Err(bad("", "two columns: trace_id,outcome")) };
        if !matches!(o, "correct" | "wrong" | "failed") {
            return Err(bad(o, "correct, wrong or failed"));
        }
        out.insert(t.to_string(), o.to_string());
    }
    Ok(out)
}

/// The scenario text fitted to the calls with usage. Models are named as the price map
/// names them (a recorded name it lacks is an error, exit 2).
pub fn scenario(set: &TraceSet, outcomes: Option<&BTreeMap<String, String>>, book: &PriceBook) -> Result<String> {
    let calls: Vec<&Call> = set.calls.iter().filter(|c| c.usage.is_some()).collect();
    if calls.is_empty() {
        return Err(Error::Usage("calibrate traces: no LLM call with token usage in the files".into()));
    }
    let agent_of = |c: &Call| if c.agent.is_empty() { c.model.clone() } else { c.agent.clone() };
    let mut agents: BTreeMap<String, Vec<&Call>> = BTreeMap::new();
    for c in &calls {
        agents.entry(agent_of(c)).or_default().push(c);
    }
    // An agent that called several models gets the one it called most (ties: the first
    // name); the scenario's comment says how many calls that is.
    let mut model_of: BTreeMap<String, String> = BTreeMap::new();
    let mut model_note: BTreeMap<String, String> = BTreeMap::new();
    for (a, cs) in &agents {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for c in cs {
            *counts.entry(c.model.as_str()).or_default() += 1;
        }
        let (recorded, n) = counts.iter().fold(("", 0), |best, (m, k)| if *k > best.1 { (*m, *k) } else { best });
        if counts.len() > 1 {
            model_note.insert(
                a.clone(),
                format!("# Calls {} models; fitted with the most called, {recorded} ({n} of {} calls).\n", counts.len(), cs.len()),
            );
        }
        let m = book.resolve(recorded).map_err(|e| {
            Error::Usage(format!(
                "calibrate traces: agent {a:?} calls {recorded:?}; expected {e} in {} (give one with --prices)",
                book.describe()
            ))
        })?;
        model_of.insert(a.clone(), m.name.clone());
    }
    // Steps in the order agents first act in a trace (median rank over traces).
    let traces: BTreeMap<&str, Vec<&Call>> = by_trace(&calls);
    let mut rank: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for cs in traces.values() {
        let mut seen: Vec<String> = Vec::new();
        for c in cs {
            let a = agent_of(c);
            if !seen.contains(&a) {
                seen.push(a);
            }
        }
        for (i, a) in seen.into_iter().enumerate() {
            rank.entry(a).or_default().push(i);
        }
    }
    let mut order: Vec<(usize, String)> = rank
        .into_iter()
        .map(|(a, mut r)| {
            r.sort_unstable();
            (r[r.len() / 2], a)
        })
        .collect();
    order.sort();

    let starts: Vec<f64> = traces.values().map(|cs| cs.iter().map(|c| c.start_ns).min().unwrap_or(0) as f64 / 1e9).collect();
    let (first, last) = starts.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| (a.min(*x), b.max(*x)));
    let mut s = format!(
        "# Fitted by `orchsim calibrate traces` to {} traces ({} LLM calls with usage) in {} files.\n\
         # Until steps can loop, an agent's calls in a trace are one call whose tool calls\n\
         # stand for the later calls: the fitted step keeps the last call's tokens and the\n\
         # time between calls, not the context every call re-sends (it costs less than the\n\
         # recorded loop).\n\nname = \"calibrated\"\ndescription = \"Fitted to recorded traces\"\nseed = 1\nreplications = 10\n\n[workload]\ntasks = {}\n",
        traces.len(),
        calls.len(),
        set.files,
        traces.len()
    );
    if traces.len() >= 2 && last > first {
        let rate = (traces.len() - 1) as f64 / (last - first) * 3600.0;
        let _ = writeln!(
            s,
            "# Arrivals: {} trace starts over {} s.\narrivals = {{ process = \"poisson\", rate_per_hour = {} }}",
            traces.len(),
            num(last - first),
            num(rate)
        );
    } else {
        s.push_str("arrivals = { process = \"batch\" }\n");
    }
    s.push_str("\n[[workload.classes]]\nname = \"recorded\"\nshare = 1\n");

    // Models: API errors from span status, latency from durations.
    let mut by_model: BTreeMap<&str, Vec<&Call>> = BTreeMap::new();
    for c in &calls {
        by_model.entry(model_of[&agent_of(c)].as_str()).or_default().push(c);
    }
    for (m, cs) in &by_model {
        let _ = write!(s, "\n[models.{}]\n", toml_key(m));
        let errors = cs.iter().filter(|c| c.status == SpanStatus::Error).count();
        let _ = writeln!(
            s,
            "# {errors} of {} calls have status error.\nerror_rate = {}",
            cs.len(),
            num((errors as f64 / cs.len() as f64).min(0.99))
        );
        let points: Vec<(f64, f64)> =
            cs.iter().filter_map(|c| Some((c.usage?.output_tokens as f64, c.duration_ns? as f64 / 1e9))).collect();
        match latency_fit(&points) {
            Some((ttft, speed)) => {
                let _ = writeln!(
                    s,
                    "# Least squares over {} calls: duration = ttft + output tokens / speed.\nttft_s = {}\noutput_tokens_per_s = {}",
                    points.len(),
                    num(ttft),
                    num(speed)
                );
            }
            None => {
                let _ =
                    writeln!(s, "# Latency: the catalog's ({} calls with a duration: fewer than 3, or no positive slope).", points.len());
            }
        }
    }

    let wrong_share = outcomes.map(|o| {
        let scored: Vec<&String> = traces.keys().filter_map(|t| o.get(*t)).collect();
        let wrong = scored.iter().filter(|x| x.as_str() != "correct").count();
        (wrong, scored.len())
    });
    let last_agent = order.last().map(|(_, a)| a.clone()).unwrap_or_default();
    for (_, a) in &order {
        let cs = &agents[a];
        let per_trace = by_trace(cs);
        let turns: Vec<f64> = per_trace.values().map(|v| v.len() as f64).collect();
        let first_in: Vec<f64> = per_trace.values().filter_map(|v| v[0].usage.map(|u| u.input_tokens as f64)).collect();
        let mut growth = Vec::new();
        let mut gaps = Vec::new();
        for v in per_trace.values() {
            for w in v.windows(2) {
                if let (Some(a0), Some(a1)) = (w[0].usage, w[1].usage) {
                    growth.push(a1.input_tokens.saturating_sub(a0.input_tokens) as f64);
                }
                if let Some(d) = w[0].duration_ns {
                    gaps.push(((w[1].start_ns - w[0].start_ns - d).max(0)) as f64 / 1e9);
                }
            }
        }
        let output: Vec<f64> =
            cs.iter().filter_map(|c| c.usage.map(|u| (u.output_tokens - u.reasoning_tokens.min(u.output_tokens)) as f64)).collect();
        let reasoning: Vec<f64> = cs.iter().filter_map(|c| c.usage.map(|u| u.reasoning_tokens as f64)).collect();
        let _ = write!(
            s,
            "\n[agents.{}]\n{}model = {}\nsystem_prompt_tokens = 0\n",
            toml_key(a),
            model_note.get(a).map_or("", String::as_str),
            toml_key(&model_of[a])
        );
        let mut put = |key: &str, what: &str, sample: &[f64]| {
            if let Some(f) = fit(sample) {
                s.push_str(&f.comment(what));
                let _ = writeln!(s, "{key} = {}", f.toml());
            }
        };
        put("input_tokens", "first call's input tokens per trace", &first_in);
        put("output_tokens", "visible output tokens per call", &output);
        put("reasoning_tokens", "reasoning tokens per call", &reasoning);
        let (tc, tg, tl) = (fit(&turns.iter().map(|t| t - 1.0).collect::<Vec<_>>()), fit(&growth), fit(&gaps));
        if let (Some(tc), false) = (&tc, turns.iter().all(|t| *t == 1.0)) {
            s.push_str(&tc.comment("calls per trace minus one (tool_calls.count)"));
            let mut parts = vec![format!("count = {}", tc.toml())];
            if let Some(g) = &tg {
                s.push_str(&g.comment("input growth per call (tool_calls.tokens_per_call)"));
                parts.push(format!("tokens_per_call = {}", g.toml()));
            }
            if let Some(l) = &tl {
                s.push_str(&l.comment("seconds between calls (tool_calls.latency_s)"));
                parts.push(format!("latency_s = {}", l.toml()));
            }
            let _ = writeln!(s, "tool_calls = {{ {} }}", parts.join(", "));
        }
        match (wrong_share, a == &last_agent) {
            (Some((w, n)), true) if n > 0 => {
                let _ = writeln!(
                    s,
                    "# {w} of {n} scored traces are wrong or failed (--outcomes), all put on the last step's agent.\nerror_rate = {}",
                    num(w as f64 / n as f64)
                );
            }
            _ => s.push_str("error_rate = 0\n"),
        }
    }
    s.push_str("\n[strategies.recorded]\nsteps = [");
    s.push_str(&order.iter().map(|(_, a)| format!("{{ id = {}, agent = {} }}", toml_key(a), toml_key(a))).collect::<Vec<_>>().join(", "));
    s.push_str("]\n");
    Ok(s)
}

/// `orchsim calibrate traces`: writes the fitted scenario to `out` and returns what to print.
pub fn command(files: &[PathBuf], outcomes: Option<&Path>, prices: Option<&Path>, out: &Path) -> Result<String> {
    let book = PriceBook::load(prices)?;
    let outcomes = outcomes.map(read_outcomes).transpose()?;
    let set = super::load(files)?;
    for w in &set.warnings {
        eprintln!("warning: {w}");
    }
    let text = scenario(&set, outcomes.as_ref(), &book)?;
    crate::report::write_atomic(out, text.as_bytes())?;
    Ok(format!("wrote {} (check it with `orchsim validate {}`)\n", out.display(), out.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_by_hand() {
        assert_eq!(fit(&[3.0, 3.0]).unwrap().dist, Fitted::Const(3.0));
        assert_eq!(fit(&[0.0, 5.0]).unwrap().dist, Fitted::Empirical(vec![0.0, 5.0]));
        assert!(fit(&[]).is_none());
        // Logs -1, 0, 1: mu = 0, s = sqrt(2/3); the largest gap to the normal CDF is at
        // the first point: Phi(-1.2247) = 0.1103, and 1/3 - 0.1103 = 0.2230.
        let f = fit(&[(-1f64).exp(), 1.0, 1f64.exp()]).unwrap();
        assert!((f.ks - 0.2230).abs() < 1e-3, "{}", f.ks);
        let s2: f64 = 2.0 / 3.0;
        match f.dist {
            Fitted::Lognormal { mean, sd } => {
                assert!((mean - (s2 / 2.0).exp()).abs() < 1e-12);
                assert!((sd - mean * (s2.exp() - 1.0).sqrt()).abs() < 1e-12);
            }
            d => panic!("{d:?}"),
        }
        // Ten equal values and one far away: the lognormal is rejected.
        let mut v = vec![100.0; 10];
        v.push(1e6);
        assert!(matches!(fit(&v).unwrap().dist, Fitted::Empirical(_)));
    }

    #[test]
    fn latency_from_a_straight_line() {
        let (ttft, speed) = latency_fit(&[(100.0, 1.5), (200.0, 2.5), (300.0, 3.5)]).unwrap();
        assert!((ttft - 0.5).abs() < 1e-12 && (speed - 100.0).abs() < 1e-9);
        assert!(latency_fit(&[(100.0, 1.0), (100.0, 2.0), (100.0, 3.0)]).is_none());
        assert!(latency_fit(&[(100.0, 1.0), (200.0, 2.0)]).is_none());
    }
}
