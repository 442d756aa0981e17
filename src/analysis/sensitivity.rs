//! One-at-a-time sensitivity: each uncertain input is run at the low and at the high
//! end of its range, everything else at the file's values, on the same replication
//! seeds; which inputs move the metric most, and which, if any, change the winner.
//!
//! Ranges come from `--range PATH=LOW:HIGH` or, without any, from the scenario's
//! `[assumptions]` table (`"agents.researcher.error_rate" = "0.02:0.10"`). Each end is
//! set with the machinery of `--set` and validated like a value in the file.

use std::path::PathBuf;

use super::compare::paired;
use super::verdict::{duration, money};
use super::{Better, Samples, better, parse_metric};
use crate::economics::metrics::{METRICS, stat};
use crate::error::{Diagnostic, Error, Result};
use crate::experiment::{pool, simulate};
use crate::report::fmt_f64;
use crate::scenario::{self, Node, Value, overrides, tree::parse_value};
use crate::workflow::WorldOptions;

/// Header of `sensitivity.csv`.
pub const HEADER: [&str; 8] = ["input", "side", "value", "strategy", "metric", "mean", "ci95_low", "ci95_high"];

/// An uncertain input and its range.
#[derive(Clone, Debug, PartialEq)]
pub struct Range {
    /// Dotted path, as for `--set`.
    pub path: String,
    /// The low end as written.
    pub low: String,
    /// The high end as written.
    pub high: String,
}

/// Parses `LOW:HIGH` (two numbers, low <= high).
pub fn parse_range(path: &str, spec: &str) -> std::result::Result<Range, String> {
    let bad = || format!("expected LOW:HIGH with two numbers, LOW <= HIGH (e.g. \"0.02:0.10\"), got {spec:?}");
    let (l, h) = spec.split_once(':').ok_or_else(bad)?;
    let (l, h) = (l.trim(), h.trim());
    let num = |s: &str| s.parse::<f64>().ok().filter(|x| x.is_finite());
    match (num(l), num(h)) {
        (Some(a), Some(b)) if a <= b => Ok(Range { path: path.to_string(), low: l.to_string(), high: h.to_string() }),
        _ => Err(bad()),
    }
}

/// The ranges of a scenario's `[assumptions]` table; every bad entry is reported.
pub fn assumptions(tree: &Node, file: &str) -> std::result::Result<Vec<Range>, Vec<Diagnostic>> {
    let mut out = Vec::new();
    let mut diags = Vec::new();
    let Some(node) = tree.get("assumptions") else { return Ok(out) };
    let Some(entries) = node.as_table() else {
        diags.push(Diagnostic {
            file: file.into(),
            line: node.line,
            path: "assumptions".into(),
            value: node.to_string(),
            expected: "expected a table of \"path\" = \"LOW:HIGH\"".into(),
        });
        return Err(diags);
    };
    for (path, v) in entries {
        let d = |expected: String| Diagnostic {
            file: file.into(),
            line: v.line,
            path: format!("assumptions.\"{path}\""),
            value: v.to_string(),
            expected,
        };
        match &v.value {
            // Each end is checked like a value in the file when the analysis runs (a
            // field may be absent from the file and take its default).
            Value::Str(s) => match (overrides::split_path(path), parse_range(path, s)) {
                (Err(e), _) => diags.push(d(e.0)),
                (_, Err(e)) => diags.push(d(e)),
                (Ok(_), Ok(r)) => out.push(r),
            },
            _ => diags.push(d("expected a string \"LOW:HIGH\"".into())),
        }
    }
    if diags.is_empty() { Ok(out) } else { Err(diags) }
}

/// What `orchsim sensitivity` was asked to do.
#[derive(Clone, Debug, Default)]
pub struct SensitivityPlan {
    /// Scenario file.
    pub scenario: PathBuf,
    /// `--set` overrides (plus `--replications`, `--seed`, `--tasks`).
    pub sets: Vec<(String, String)>,
    /// `--range PATH=LOW:HIGH`; empty: the scenario's `[assumptions]`.
    pub ranges: Vec<(String, String)>,
    /// `--metric` (default `cost_per_success_usd`).
    pub metric: Option<String>,
    /// `--compare A,B`: the difference A − B is what is followed.
    pub compare: Option<String>,
    /// Output folder; default `output/<scenario name>-sensitivity/`.
    pub out: Option<PathBuf>,
    /// Worker threads (0 = one per core).
    pub jobs: usize,
    /// Print nothing but errors.
    pub quiet: bool,
    /// Draw the tornado chart.
    pub charts: bool,
}

/// One run of the analysis: an input at one end (or the base).
#[derive(Clone, Debug)]
pub struct Case {
    /// The input's path (`base` for the file's values).
    pub input: String,
    /// `low`, `high` or `base`.
    pub side: &'static str,
    /// The value set (empty for the base).
    pub value: String,
    /// The replications.
    pub samples: Samples,
}

/// The result of an analysis.
#[derive(Clone, Debug)]
pub struct Analysis {
    /// The metric followed.
    pub metric: usize,
    /// `(A, B)` when a difference is followed.
    pub compare: Option<(usize, usize)>,
    /// The base case first, then each input's low and high.
    pub cases: Vec<Case>,
}

/// The followed quantity of a case for strategy `s`: mean and interval of the metric.
fn level(c: &Case, s: usize, m: usize) -> (f64, f64, f64) {
    let st = stat(&c.samples.series(s, m));
    (st.mean, st.ci95_low, st.ci95_high)
}

/// The compared difference A − B of a case: paired mean and interval.
fn diff(c: &Case, a: usize, b: usize, m: usize) -> (f64, f64, f64) {
    let p = paired(&c.samples.series(a, m), &c.samples.series(b, m), Better::Neither);
    (p.mean_diff, p.ci95_low, p.ci95_high)
}

/// The name of the compared difference in `sensitivity.csv`'s `strategy` column.
pub fn diff_name(a: &str, b: &str) -> String {
    format!("{a}-{b}")
}

/// The winner of a case on the metric: among A and B when compared, else among all.
pub fn winner(an: &Analysis, c: &Case) -> Option<usize> {
    let dir = better(METRICS[an.metric]).unwrap_or(Better::Lower);
    let candidates: Vec<usize> = match an.compare {
        Some((a, b)) => vec![a, b],
        None => (0..c.samples.strategies.len()).collect(),
    };
    let mut best: Option<(usize, f64)> = None;
    for s in candidates {
        let m = stat(&c.samples.series(s, an.metric)).mean;
        if m.is_nan() {
            continue;
        }
        if best.is_none_or(|(_, bm)| dir.is_better(m, bm)) {
            best = Some((s, m));
        }
    }
    best.map(|(s, _)| s)
}

/// `sensitivity.csv`: the base rows (`input` and `side` = `base`), then per input its
/// low and high rows; per case one row per strategy, then the compared difference.
pub fn csv(an: &Analysis) -> Result<Vec<u8>> {
    use crate::report::csv::{buffer, into_bytes, record};
    let mut w = buffer();
    record(&mut w, &HEADER.map(String::from))?;
    for c in &an.cases {
        let mut row = |strategy: String, (mean, lo, hi): (f64, f64, f64)| {
            record(
                &mut w,
                &[
                    c.input.clone(),
                    c.side.to_string(),
                    c.value.clone(),
                    strategy,
                    METRICS[an.metric].to_string(),
                    fmt_f64(mean),
                    fmt_f64(lo),
                    fmt_f64(hi),
                ],
            )
        };
        for (s, name) in c.samples.strategies.iter().enumerate() {
            row(name.clone(), level(c, s, an.metric))?;
        }
        if let Some((a, b)) = an.compare {
            row(diff_name(&c.samples.strategies[a], &c.samples.strategies[b]), diff(c, a, b, an.metric))?;
        }
    }
    into_bytes(w)
}

/// The terminal report: per input (largest swing first) the followed quantity at each
/// end, then which inputs flip the winner.
pub fn report(an: &Analysis) -> String {
    let Some(base) = an.cases.first() else { return String::new() };
    let name = METRICS[an.metric];
    let fmt: fn(f64) -> String = if name.ends_with("_usd") {
        money
    } else if name.ends_with("_s") {
        duration
    } else {
        |x| super::breakeven::sig(x, 4)
    };
    let names = &base.samples.strategies;
    let follow = |c: &Case| -> f64 {
        match an.compare {
            Some((a, b)) => diff(c, a, b, an.metric).0,
            None => winner(an, base).map(|w| level(c, w, an.metric).0).unwrap_or(f64::NAN),
        }
    };
    let what = match an.compare {
        Some((a, b)) => format!("{name} of {} minus {}", names[a], names[b]),
        None => format!("{name} of {}", winner(an, base).map(|w| names[w].as_str()).unwrap_or("-")),
    };
    let mut out = format!("Sensitivity of {what}: {} at the file's values.\n", fmt(follow(base)));
    let mut inputs: Vec<(&Case, &Case, f64)> =
        an.cases[1..].chunks(2).filter(|p| p.len() == 2).map(|p| (&p[0], &p[1], (follow(&p[1]) - follow(&p[0])).abs())).collect();
    inputs.sort_by(|x, y| y.2.total_cmp(&x.2));
    let width = inputs.iter().map(|(l, _, _)| l.input.chars().count()).max().unwrap_or(0);
    for (lo, hi, swing) in &inputs {
        out.push_str(&format!(
            "  {:<width$}  {} -> {}   {} -> {}   swing {}\n",
            lo.input,
            lo.value,
            fmt(follow(lo)),
            hi.value,
            fmt(follow(hi)),
            fmt(*swing)
        ));
    }
    let bw = winner(an, base);
    let flips: Vec<String> = inputs
        .iter()
        .flat_map(|(lo, hi, _)| [lo, hi])
        .filter_map(|c| {
            let w = winner(an, c)?;
            (Some(w) != bw).then(|| format!("{} at its {} end ({}: {})", c.input, c.side, c.value, names[w]))
        })
        .collect();
    let bw_name = bw.map(|w| names[w].as_str()).unwrap_or("-");
    if flips.is_empty() {
        out.push_str(&format!("No input flips the winner ({bw_name}) within its range.\n"));
    } else {
        out.push_str(&format!("Winner at the file's values: {bw_name}. Flipped by: {}.\n", flips.join("; ")));
    }
    out
}

/// Runs the analysis of `base` (the plan's scenario, loaded with its `--set`): validates
/// every case first, then simulates them.
pub fn analyse(plan: &SensitivityPlan, base: &scenario::Loaded, progress: &(dyn Fn() + Sync)) -> Result<Analysis> {
    let file = base.source.file.clone();
    let metric_name = plan.metric.as_deref().unwrap_or("cost_per_success_usd");
    let metric = parse_metric(metric_name).map_err(Error::Usage)?;
    let names: Vec<String> = base.scenario.strategies.iter().map(|s| s.name.clone()).collect();
    let compare = match &plan.compare {
        None => None,
        Some(spec) => {
            let idx = |n: &str| names.iter().position(|s| s == n.trim());
            match spec.split_once(',').map(|(a, b)| (idx(a), idx(b))) {
                Some((Some(a), Some(b))) if a != b => Some((a, b)),
                _ => {
                    return Err(Error::Usage(format!(
                        "--compare {spec:?}: expected two different strategies A,B; strategies: {}",
                        names.join(", ")
                    )));
                }
            }
        }
    };
    let mut diags = Vec::new();
    let ranges = if plan.ranges.is_empty() {
        assumptions(&base.tree, &file).map_err(Error::Invalid)?
    } else {
        let mut v = Vec::new();
        for (path, spec) in &plan.ranges {
            match parse_range(path, spec) {
                Ok(r) => v.push(r),
                Err(e) => {
                    diags.push(Diagnostic { file: "--range".into(), line: None, path: path.clone(), value: spec.clone(), expected: e })
                }
            }
        }
        v
    };
    if ranges.is_empty() && diags.is_empty() {
        return Err(Error::Usage(format!(
            "{file}: nothing to vary: give --range PATH=LOW:HIGH or an [assumptions] table of \"path\" = \"LOW:HIGH\""
        )));
    }
    let mut scenarios = vec![("base".to_string(), "base", String::new(), base.scenario.clone())];
    for r in &ranges {
        for (side, value) in [("low", &r.low), ("high", &r.high)] {
            let mut tree = base.tree.clone();
            if let Err(e) = overrides::set(&mut tree, &r.path, parse_value(value)) {
                diags.push(Diagnostic { file: "--range".into(), line: None, path: r.path.clone(), value: value.clone(), expected: e.0 });
                continue;
            }
            let origin = format!("{file} (sensitivity: {}={value})", r.path);
            match scenario::from_tree_labelled(&tree, &file, &base.source.base_dir, &origin) {
                Ok(sc) => scenarios.push((r.path.clone(), side, value.clone(), sc)),
                Err(Error::Invalid(d)) => {
                    // A problem of the path shows at both ends: report it once.
                    for x in d {
                        if !diags.iter().any(|y| y.path == x.path && y.expected == x.expected) {
                            diags.push(x);
                        }
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }
    if !diags.is_empty() {
        return Err(Error::Invalid(diags));
    }
    let pool = pool(plan.jobs)?;
    let mut cases = Vec::new();
    for (input, side, value, sc) in scenarios {
        let run = simulate(&sc, WorldOptions::default(), &pool, progress, None)?;
        cases.push(Case { input, side, value, samples: Samples::from_run(&names, &run) });
    }
    Ok(Analysis { metric, compare, cases })
}

/// `orchsim sensitivity`: runs, writes `sensitivity.csv`, prints the report.
pub fn run(plan: &SensitivityPlan) -> Result<PathBuf> {
    let loaded = scenario::load(Some(&plan.scenario), &plan.sets)?;
    let out = plan.out.clone().unwrap_or_else(|| PathBuf::from("output").join(format!("{}-sensitivity", loaded.scenario.name)));
    // Never over a run's or a sweep's results (checked again, under the lock, before
    // anything is written).
    let out = crate::report::folder::target(&out)?;
    let holds = crate::report::folder::Holds::Run(format!("sensitivity:{}", loaded.scenario.name));
    crate::report::folder::claim(&out, &holds, false)?;
    let sc = &loaded.scenario;
    let n_inputs = if plan.ranges.is_empty() {
        assumptions(&loaded.tree, &loaded.source.file).map(|v| v.len()).unwrap_or(0)
    } else {
        plan.ranges.len()
    };
    let worlds = (1 + 2 * n_inputs as u64) * sc.replications as u64 * sc.strategies.len() as u64;
    let bar = crate::commands::progress_bar(worlds, plan.quiet, "worlds");
    let an = analyse(plan, &loaded, &|| bar.inc(1))?;
    bar.finish_and_clear();
    let bytes = csv(&an)?;
    // One writer per folder.
    let _lock = crate::report::folder::lock(&out)?;
    crate::report::folder::claim(&out, &holds, false)?;
    crate::report::write_atomic(&out.join("sensitivity.csv"), &bytes)?;
    // What the tornado chart follows, for `orchsim plot` (under `options`), and what ran.
    let names = &an.cases[0].samples.strategies;
    let manifest = serde_json::json!({
        "orchsim_version": env!("CARGO_PKG_VERSION"),
        "kind": "sensitivity",
        "scenario_name": sc.name,
        "scenario_file": loaded.source.file,
        "resolved_scenario_sha256": crate::report::sha256_hex(scenario::to_toml_string(&loaded.tree).as_bytes()),
        "seed": sc.seed,
        "replications": sc.replications,
        "price_map": crate::report::manifest::price_map(sc),
        "options": {
            "metric": METRICS[an.metric],
            "compare": an.compare.map(|(a, b)| format!("{},{}", names[a], names[b])),
            "ranges": an.cases[1..].chunks(2).map(|c| format!("{}={}:{}", c[0].input, c[0].value, c.get(1).map(|h| h.value.as_str()).unwrap_or(""))).collect::<Vec<_>>(),
        },
        "files": { "sensitivity.csv": crate::report::sha256_hex(&bytes) },
    });
    let mut text = serde_json::to_string_pretty(&manifest).unwrap_or_default();
    text.push('\n');
    crate::report::write_atomic(&out.join("manifest.json"), text.as_bytes())?;
    if plan.charts {
        // The tornado chart, on what the manifest records.
        crate::commands::plot(&out)?;
    }
    if !plan.quiet {
        let n = (an.cases.len() - 1) / 2;
        let inputs = if n == 1 { "input" } else { "inputs" };
        crate::sayln!("{}: {n} {inputs} x 2 ends, {} replications each", sc.name, sc.replications)?;
        crate::commands::say(&report(&an))?;
        crate::sayln!("wrote {}", out.join("sensitivity.csv").display())?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_and_check_order() {
        assert_eq!(parse_range("a.b", "0.02:0.10").unwrap(), Range { path: "a.b".into(), low: "0.02".into(), high: "0.10".into() });
        assert!(parse_range("a", "0.1:0.02").is_err());
        assert!(parse_range("a", "x:1").is_err());
        assert!(parse_range("a", "1").is_err());
    }

    #[test]
    fn assumptions_table_is_checked_entry_by_entry() {
        let tree = crate::scenario::tree::parse_document(
            "seed = 1\n[agents.r]\nerror_rate = 0.1\n[assumptions]\n\"agents.r.error_rate\" = \"0.02:0.2\"\n\"agents..y\" = \"1:2\"\n\"seed\" = 3\n",
        )
        .unwrap();
        let d = assumptions(&tree, "f.toml").unwrap_err();
        assert_eq!(d.len(), 2);
        assert_eq!((d[0].line, d[0].path.as_str()), (Some(6), "assumptions.\"agents..y\""));
        assert_eq!(d[1].line, Some(7));
    }
}
