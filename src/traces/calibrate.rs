//! A scenario fitted to recorded traces (issue 14, part 3): agents by `gen_ai.agent.name`
//! (else the model), each an agent loop (`[agents.NAME.loop]`) when it makes more than
//! one call per invocation, and per model the error rate, first-token time and speed.
//!
//! **Invocations.** An agent's calls inside one span that names it (its `invoke_agent`
//! span) are one invocation: one run of its loop. Invocations of one agent that overlap
//! in time in a trace are copies of a voting step (`replicas`, `merge = "vote"`).
//!
//! **Per agent.** Its turns are an invocation's answered calls (status not error, with
//! usage); a call with status error is a failed attempt that is retried. From them:
//! - `loop.turns`: turns per invocation;
//! - `system_prompt_tokens`: the median of the first turn's cached input (the prefix a
//!   plain call reads from the cache), and `input_tokens` the rest of the first turn's
//!   prompt;
//! - `loop.tool_result_tokens`: each later turn's input minus the previous turn's input
//!   and visible output (the loop's growth that is not the answer re-sent);
//! - `loop.tool_time_s`: the time from a turn's end to the next call's start;
//! - `output_tokens` and `reasoning_tokens` per turn.
//!
//! Steps follow the median rank of each agent's first act in a trace.
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
use super::{Call, RecordedUsage, SpanStatus, TraceSet};
use crate::error::{Error, Result};
use crate::model::limits;

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

/// One agent's invocations, each its calls in time order: grouped by trace and
/// enclosing agent span ([`Call::invocation`]).
fn invocations<'a>(calls: &[&'a Call]) -> Vec<Vec<&'a Call>> {
    let mut groups: BTreeMap<(&str, &str), Vec<&Call>> = BTreeMap::new();
    for c in calls {
        groups.entry((c.trace_id.as_str(), c.invocation.as_str())).or_default().push(c);
    }
    let mut groups: Vec<Vec<&Call>> = groups.into_values().collect();
    for g in &mut groups {
        g.sort_by_key(|c| (c.start_ns, c.span_id.clone()));
    }
    groups
}

/// A last step that sends work back: how often, to which step.
struct Rework {
    /// The step it sends work back to: the first whose runs grow with the last's.
    target: String,
    /// Its runs in all, the extra ones (reworks), the most extra in one trace, and the
    /// traces it ran in.
    reviews: u32,
    reworks: u32,
    most: u32,
    traces: usize,
}

/// The rework of the last step of `order`, if it ran more than once in some trace.
fn rework_of(order: &[(usize, String)], runs: &BTreeMap<&String, BTreeMap<&str, u32>>) -> Option<Rework> {
    let (_, last) = order.last()?;
    let mine = &runs[last];
    let reviews: u32 = mine.values().sum();
    let reworks: u32 = mine.values().map(|k| k - 1).sum();
    if order.len() < 2 || reworks == 0 {
        return None;
    }
    let again: Vec<&str> = mine.iter().filter(|(_, k)| **k > 1).map(|(t, _)| *t).collect();
    let target = order[..order.len() - 1]
        .iter()
        .find(|(_, a)| again.iter().filter(|t| runs[a].get(**t).is_some_and(|k| *k > 1)).count() * 2 >= again.len())
        .map_or_else(|| order[0].1.clone(), |(_, a)| a.clone());
    Some(Rework { target, reviews, reworks, most: mine.values().max().copied().unwrap_or(1) - 1, traces: mine.len() })
}

/// The retry policy the calls show: the most attempts one answered call took (its
/// failed calls before it in the invocation), and the median time from a failed call's
/// end to the next call; `None` when no call failed.
fn retries(invs: &BTreeMap<&String, Vec<Vec<&Call>>>) -> Option<(u32, f64)> {
    let (mut most, mut waits) = (1u32, Vec::new());
    for inv in invs.values().flatten() {
        let mut run = 1u32;
        for w in inv.windows(2) {
            if w[0].status == SpanStatus::Error {
                run += 1;
                most = most.max(run);
                if let Some(d) = w[0].duration_ns {
                    waits.push(((w[1].start_ns - w[0].start_ns - d).max(0)) as f64 / 1e9);
                }
            } else {
                run = 1;
            }
        }
    }
    waits.sort_by(f64::total_cmp);
    (most > 1).then(|| (most, waits.get(waits.len() / 2).copied().unwrap_or(0.0)))
}

/// The copies of a voting step: in each trace, the invocations that overlap the first
/// one in time; the median over traces.
fn replicas(inv: &[Vec<&Call>]) -> u32 {
    let mut per_trace: BTreeMap<&str, Vec<(i128, i128)>> = BTreeMap::new();
    for v in inv {
        let start = v.iter().map(|c| c.start_ns).min().unwrap_or(0);
        let end = v.iter().map(|c| c.start_ns + c.duration_ns.unwrap_or(0)).max().unwrap_or(start);
        per_trace.entry(v[0].trace_id.as_str()).or_default().push((start, end));
    }
    let mut counts: Vec<u32> = per_trace
        .values_mut()
        .map(|spans| {
            spans.sort_unstable();
            let first = spans[0];
            spans.iter().filter(|(s, _)| *s < first.1.max(first.0 + 1)).count() as u32
        })
        .collect();
    counts.sort_unstable();
    counts.get(counts.len() / 2).copied().unwrap_or(1).max(1)
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
         # Each agent's invocations are fitted as an agent loop (see `orchsim calibrate traces --help`).\n\nname = \"calibrated\"\ndescription = \"Fitted to recorded traces\"\nseed = 1\nreplications = 10\n\n[workload]\ntasks = {}\n",
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
        // Every call counts here, those without usage too: a transient error returns none.
        let tried: Vec<&Call> = set.calls.iter().filter(|c| model_of.get(&agent_of(c)).is_some_and(|x| x == m)).collect();
        let errors = tried.iter().filter(|c| c.status == SpanStatus::Error).count();
        let _ = writeln!(
            s,
            "# {errors} of {} calls have status error.\nerror_rate = {}",
            tried.len(),
            num((errors as f64 / tried.len().max(1) as f64).min(0.99))
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
    // Invocations hold every call, failed ones without usage too.
    let mut tried: BTreeMap<String, Vec<&Call>> = BTreeMap::new();
    for c in &set.calls {
        tried.entry(agent_of(c)).or_default().push(c);
    }
    let invs: BTreeMap<&String, Vec<Vec<&Call>>> = order.iter().map(|(_, a)| (a, invocations(&tried[a]))).collect();
    let replicas_of: BTreeMap<&String, u32> = invs.iter().map(|(a, inv)| (*a, replicas(inv))).collect();
    // Runs of each agent per trace (its invocations over its copies): a last step that
    // runs more than once in a trace sent the work back, as a reviewer does.
    let runs: BTreeMap<&String, BTreeMap<&str, u32>> = invs
        .iter()
        .map(|(a, inv)| {
            let mut per: BTreeMap<&str, u32> = BTreeMap::new();
            for v in inv {
                *per.entry(v[0].trace_id.as_str()).or_default() += 1;
            }
            let r = replicas_of[a];
            (*a, per.into_iter().map(|(t, n)| (t, n.div_ceil(r))).collect())
        })
        .collect();
    let rework = rework_of(&order, &runs);
    let retry = retries(&invs);
    let last_agent = order.last().map(|(_, a)| a.clone()).unwrap_or_default();
    // The scored share of wrong results goes on the last worker (not a reviewer).
    let wrong_agent = match (&rework, order.len()) {
        (Some(_), n) if n >= 2 => order[n - 2].1.clone(),
        _ => last_agent.clone(),
    };
    for (_, a) in &order {
        let inv = &invs[a];
        let turns_of: Vec<Vec<&Call>> = inv
            .iter()
            .map(|v| v.iter().copied().filter(|c| c.status != SpanStatus::Error && c.usage.is_some()).collect::<Vec<&Call>>())
            .filter(|v| !v.is_empty())
            .collect();
        let turns: Vec<f64> = turns_of.iter().map(|v| v.len() as f64).collect();
        let usage = |c: &Call| c.usage.unwrap_or_default();
        let mut cached: Vec<u64> = turns_of.iter().map(|v| usage(v[0]).cached_tokens).collect();
        cached.sort_unstable();
        let system = cached.get(cached.len() / 2).copied().unwrap_or(0);
        let first_in: Vec<f64> = turns_of.iter().map(|v| usage(v[0]).input_tokens.saturating_sub(system) as f64).collect();
        let visible = |u: RecordedUsage| u.output_tokens - u.reasoning_tokens.min(u.output_tokens);
        let (mut growth, mut gaps) = (Vec::new(), Vec::new());
        for (v, all) in turns_of.iter().zip(inv.iter().filter(|v| v.iter().any(|c| c.status != SpanStatus::Error))) {
            for w in v.windows(2) {
                let (u0, u1) = (usage(w[0]), usage(w[1]));
                growth.push(u1.input_tokens.saturating_sub(u0.input_tokens + visible(u0)) as f64);
                // The tool's time: from a turn's end to the next call, whatever its status.
                if let (Some(d), Some(next)) = (
                    w[0].duration_ns,
                    all.iter().find(|c| c.start_ns >= w[0].start_ns + w[0].duration_ns.unwrap_or(0) && c.span_id != w[0].span_id),
                ) {
                    gaps.push(((next.start_ns - w[0].start_ns - d).max(0)) as f64 / 1e9);
                }
            }
        }
        let answered_calls: Vec<&Call> = turns_of.iter().flatten().copied().collect();
        let output: Vec<f64> = answered_calls.iter().map(|c| visible(usage(c)) as f64).collect();
        let reasoning: Vec<f64> = answered_calls.iter().map(|c| usage(c).reasoning_tokens as f64).collect();
        let _ = write!(
            s,
            "\n[agents.{}]\n{}model = {}\n# system prompt: the median of the first turn's cached input tokens ({} invocations).\nsystem_prompt_tokens = {system}\n",
            toml_key(a),
            model_note.get(a).map_or("", String::as_str),
            toml_key(&model_of[a]),
            turns_of.len()
        );
        let put = |s: &mut String, key: &str, what: &str, sample: &[f64]| {
            if let Some(f) = fit(sample) {
                s.push_str(&f.comment(what));
                let _ = writeln!(s, "{key} = {}", f.toml());
            }
        };
        put(&mut s, "input_tokens", "first turn's input tokens beyond the system prompt", &first_in);
        put(&mut s, "output_tokens", "visible output tokens per turn", &output);
        put(&mut s, "reasoning_tokens", "reasoning tokens per turn", &reasoning);
        match (wrong_share, a == &wrong_agent) {
            (Some((w, n)), true) if n > 0 => {
                let _ = writeln!(
                    s,
                    "# {w} of {n} scored traces are wrong or failed (--outcomes), all put on the last worker.\nerror_rate = {}",
                    num(w as f64 / n as f64)
                );
            }
            _ => s.push_str("error_rate = 0\n"),
        }
        if let (Some(r), true) = (&rework, a == &last_agent) {
            let _ = writeln!(
                s,
                "# It ran {} times in {} traces: it sent the work back {} times, as a reviewer that flags at this rate\n\
                 # whatever the work's quality (traces do not say which work was defective).\n\
                 review = {{ recall = 0, false_positive_rate = {} }}",
                r.reviews,
                r.traces,
                r.reworks,
                num(r.reworks as f64 / r.reviews as f64)
            );
        }
        if turns.iter().any(|t| *t > 1.0) {
            let most: f64 = turns.iter().fold(0.0, |m: f64, t| m.max(*t));
            let _ = writeln!(s, "[agents.{}.loop]", toml_key(a));
            put(&mut s, "turns", "turns per invocation", &turns);
            // Room above the longest recorded loop, so that the limit fails no task the
            // recordings did not.
            let _ = writeln!(
                s,
                "# The longest recorded loop has {most} turns.\nmax_turns = {}",
                (2.0 * most).max(limits::DEFAULT_MAX_TURNS as f64).min(limits::MAX_TURNS as f64)
            );
            put(&mut s, "tool_result_tokens", "input growth per turn beyond the previous answer", &growth);
            put(&mut s, "tool_time_s", "seconds from a turn's end to the next call", &gaps);
        }
    }
    s.push_str("\n[strategies.recorded]\n");
    if let Some((attempts, backoff)) = retry {
        let _ = writeln!(
            s,
            "# The most attempts a recorded call took, and the median wait before a retry.\n\
             retry = {{ max_attempts = {attempts}, backoff_base_s = {}, backoff_factor = 1 }}",
            num(backoff)
        );
    }
    s.push_str("steps = [");
    let step = |a: &String| {
        let mut t = format!("{{ id = {}, agent = {}", toml_key(a), toml_key(a));
        if let Some(r) = replicas_of.get(a).copied().filter(|r| *r > 1) {
            let _ = write!(t, ", replicas = {r}, merge = \"vote\"");
        }
        if let Some(r) = rework.as_ref().filter(|_| a == &last_agent) {
            let _ = write!(t, ", reworks = {}, max_rework = {}", toml_key(&r.target), r.most);
        }
        t + " }"
    };
    s.push_str(&order.iter().map(|(_, a)| step(a)).collect::<Vec<_>>().join(", "));
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
