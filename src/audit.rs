//! Audit: replaying a run bit for bit, verifying the trail's hash chain, and the
//! chargeback and root-cause report of `orchsim audit`.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde_json::Value as J;
use statrs::distribution::{ChiSquared, ContinuousCDF, DiscreteCDF, Poisson};

use crate::commands::{RunPlan, compute_loaded};
use crate::error::{Error, Result};
use crate::report::{self, trail, write_atomic};
use crate::scenario::{self, Loaded, Source};

fn read_manifest(dir: &Path) -> Result<J> {
    let p = dir.join("manifest.json");
    let bytes =
        std::fs::read(&p).map_err(|e| Error::Usage(format!("{}: cannot read ({e}); is {} a run folder?", p.display(), dir.display())))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::Usage(format!("{}: invalid JSON: {e}", p.display())))
}

/// Checks the digests recorded in the manifest and, if there is a trail, its hash
/// chain, line count and final hash, without re-running anything.
pub fn verify_only(dir: &Path) -> Result<String> {
    let m = read_manifest(dir)?;
    let files = m["files"].as_object().ok_or_else(|| Error::Usage("manifest.json: no `files`".into()))?;
    let mut problems = Vec::new();
    for (name, digest) in files {
        if name == "events.jsonl" {
            continue;
        }
        match std::fs::read(dir.join(name)) {
            Ok(b) if Some(report::sha256_hex(&b).as_str()) == digest.as_str() => {}
            Ok(_) => problems.push(format!("{name}: sha256 differs from the manifest (the file was changed)")),
            Err(e) => problems.push(format!("{name}: {e}")),
        }
    }
    for input in m["inputs"].as_array().into_iter().flatten() {
        let (Some(f), Some(want)) = (input["file"].as_str(), input["sha256"].as_str()) else { continue };
        match std::fs::read(f) {
            Ok(b) if report::sha256_hex(&b) == want => {}
            Ok(_) => problems.push(format!("input {f}: sha256 differs from the manifest (the input changed since the run)")),
            Err(e) => problems.push(format!("input {f}: {e}")),
        }
    }
    let mut trail_note = String::new();
    if let Some(t) = m.get("trail") {
        let path = dir.join("events.jsonl");
        match trail::verify(&path)? {
            Err(b) => problems.push(format!("events.jsonl:{}: {}", b.line, b.why)),
            Ok(s) => {
                let lines = t["lines"].as_u64().unwrap_or(0);
                if s.lines != lines || Some(s.final_hash.as_str()) != t["final_hash"].as_str() {
                    problems.push(format!(
                        "events.jsonl:{}: the chain is intact but has {} lines where the manifest records {lines} (cut short or extended)",
                        s.lines.min(lines) + 1,
                        s.lines
                    ));
                }
                trail_note = format!(", trail of {} lines chained to {}", s.lines, &s.final_hash[..12]);
            }
        }
    }
    if problems.is_empty() {
        Ok(format!("verified: {} files match the manifest{trail_note}", files.len()))
    } else {
        Err(Error::Mismatch(format!("verification failed:\n{}", problems.join("\n"))))
    }
}

/// The scenario and options recorded in a run folder's manifest.
pub fn manifest_plan(dir: &Path) -> Result<(Loaded, RunPlan)> {
    let m = read_manifest(dir)?;
    let text = m["scenario_toml"].as_str().ok_or_else(|| Error::Usage("manifest.json: no `scenario_toml`".into()))?;
    let base_dir = PathBuf::from(m["options"]["base_dir"].as_str().unwrap_or("."));
    let source = Source { file: format!("{} (scenario_toml)", dir.join("manifest.json").display()), text: text.to_string(), base_dir };
    let tree = source.parse()?;
    let sc = scenario::from_tree(&tree, &source.file, &source.base_dir)?;
    let plan = RunPlan {
        task_log: m["options"]["task_log"].as_bool().unwrap_or(false),
        audit: m["options"]["audit"].as_bool().unwrap_or(false),
        jobs: 0,
        quiet: true,
        ..RunPlan::default()
    };
    Ok((Loaded { source, tree, scenario: sc }, plan))
}

/// The first line at which two texts differ, as a message naming `name` and the line;
/// `None` when every line is equal. Long lines are shortened, on a character boundary.
fn first_diff_lines(name: &str, recorded: impl BufRead, replayed: impl BufRead) -> std::io::Result<Option<String>> {
    let (mut a, mut b) = (recorded.lines(), replayed.lines());
    let show = |s: Option<String>| match s {
        Some(s) if s.chars().count() > 300 => format!("{}...", s.chars().take(300).collect::<String>()),
        Some(s) => s,
        None => "<end of file>".into(),
    };
    let mut n = 0;
    loop {
        n += 1;
        match (a.next().transpose()?, b.next().transpose()?) {
            (None, None) => return Ok(None),
            (Some(x), Some(y)) if x == y => continue,
            (x, y) => return Ok(Some(format!("{name}:{n}: differs\n  recorded: {}\n  replayed: {}", show(x), show(y)))),
        }
    }
}

/// [`first_diff_lines`] for a file on disk and bytes in memory. Bytes that differ only
/// where lines do not (line endings, a missing last newline) still count as a difference.
fn first_diff(name: &str, recorded: &[u8], replayed: &[u8]) -> Option<String> {
    if recorded == replayed {
        return None;
    }
    let lossy = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let (a, b) = (lossy(recorded), lossy(replayed));
    Some(
        first_diff_lines(name, a.as_bytes(), b.as_bytes())
            .ok()
            .flatten()
            .unwrap_or_else(|| format!("{name}: differs in line endings or trailing bytes")),
    )
}

fn first_diff_files(name: &str, recorded: &Path, replayed: &Path) -> Result<Option<String>> {
    let open = |p: &Path| File::open(p).map(BufReader::new).map_err(|e| Error::io(p, e));
    first_diff_lines(name, open(recorded)?, open(replayed)?).map_err(|e| Error::io(recorded, e))
}

/// Re-runs a run folder from its manifest and compares every data file and the trail.
pub fn replay(dir: &Path) -> Result<String> {
    let (loaded, plan) = manifest_plan(dir)?;
    let m = read_manifest(dir)?;
    let scratch = dir.join(format!(".replay-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).map_err(|e| Error::io(&scratch, e))?;
    let result = (|| -> Result<String> {
        let out = compute_loaded(loaded, &plan, &|| {}, &scratch)?;
        let recorded: Vec<String> = m["files"].as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default();
        let mut names: Vec<&str> = out.files.iter().map(|(n, _)| n.as_str()).collect();
        if out.trail.is_some() {
            names.push("events.jsonl");
        }
        for r in &recorded {
            if !names.contains(&r.as_str()) {
                return Err(Error::Mismatch(format!("replay: {r} is recorded in the manifest but the replay does not produce it")));
            }
        }
        for (name, bytes) in &out.files {
            let on_disk = std::fs::read(dir.join(name)).map_err(|e| Error::io(dir.join(name), e))?;
            if let Some(d) = first_diff(name, &on_disk, bytes) {
                return Err(Error::Mismatch(format!("replay: {d}")));
            }
        }
        let mut note = String::new();
        if let Some((tmp, summary)) = &out.trail {
            if let Some(d) = first_diff_files("events.jsonl", &dir.join("events.jsonl"), tmp)? {
                return Err(Error::Mismatch(format!("replay: {d}")));
            }
            note = format!(" and the trail ({} lines)", summary.lines);
        }
        Ok(format!("replay: identical: {} data files{note} of {}", out.files.len(), dir.display()))
    })();
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

// ---- the audit report -------------------------------------------------------------

fn read_rows(path: &Path) -> Result<(Vec<String>, Vec<Vec<String>>)> {
    let mut r = csv::Reader::from_path(path).map_err(|e| Error::Usage(format!("{}: {e}", path.display())))?;
    let h: Vec<String> = r.headers().map_err(|e| Error::Usage(format!("{}: {e}", path.display())))?.iter().map(String::from).collect();
    let mut rows = Vec::new();
    for rec in r.records() {
        rows.push(rec.map_err(|e| Error::Usage(format!("{}: {e}", path.display())))?.iter().map(String::from).collect());
    }
    Ok((h, rows))
}

fn col(h: &[String], name: &str, file: &str) -> Result<usize> {
    h.iter().position(|c| c == name).ok_or_else(|| Error::Usage(format!("{file}: no column `{name}`")))
}

/// Parses an exact decimal dollar amount into pico-dollars.
fn pico(s: &str) -> i128 {
    let (neg, s) = s.strip_prefix('-').map(|r| (true, r)).unwrap_or((false, s));
    let (w, f) = s.split_once('.').unwrap_or((s, ""));
    let frac: String = format!("{f:0<12}").chars().take(12).collect();
    let v = w.parse::<i128>().unwrap_or(0) * 1_000_000_000_000 + frac.parse::<i128>().unwrap_or(0);
    if neg { -v } else { v }
}

/// How an agent's faults look.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultFinding {
    /// Strategy.
    pub strategy: String,
    /// Step id.
    pub step: String,
    /// Agent.
    pub agent: String,
    /// Wrong or failed tasks whose root cause is this step.
    pub root_causes: u64,
    /// `systematic`, `stochastic` or `insufficient data`.
    pub classification: String,
    /// The strongest test statistic.
    pub statistic: f64,
    /// Its p-value.
    pub p_value: f64,
    /// Evidence in words.
    pub evidence: String,
}

/// Significance level below which a fault is called systematic.
pub const ALPHA: f64 = 0.001;
/// A class whose difficulty-adjusted fault rate is at least this many times that of the
/// other classes (and significantly so) marks a systematic fault. Three, not two: a
/// majority vote turns an error rate `e` into `3e² − 2e³`, which alone can more than
/// double the adjusted rate of a harder class.
pub const CONCENTRATION: f64 = 3.0;
/// ... and the step is wrong on at least this share of that class's runs: a fault tied
/// to a class strikes nearly always, a stochastic error rate that difficulty scales up
/// rarely makes a step wrong more often than right.
pub const MAJORITY_WRONG: f64 = 0.5;
/// Fewer root causes than this are not classified.
pub const MIN_FAULTS: u64 = 5;

#[derive(Default)]
struct StepEvidence {
    /// Root causes by task class.
    by_class: BTreeMap<String, u64>,
    /// Per task (replication, task): its class and, in order, whether each execution of
    /// the step put a defect into it.
    runs: BTreeMap<(u64, u64), (String, Vec<bool>)>,
}

/// Per strategy: tasks by class, and per step the evidence.
#[derive(Default)]
struct Evidence {
    tasks_by_class: BTreeMap<String, BTreeMap<String, u64>>,
    steps: BTreeMap<(String, String), StepEvidence>,
    /// Difficulty of each class (from the manifest), which scales stochastic error rates.
    difficulty: BTreeMap<String, f64>,
    source: &'static str,
}

fn evidence_from_trail(path: &Path) -> Result<Evidence> {
    let f = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut ev = Evidence { source: "events.jsonl", ..Default::default() };
    let mut class_of: BTreeMap<(u64, String, u64), String> = BTreeMap::new();
    for (i, line) in BufReader::new(f).lines().enumerate() {
        let line = line.map_err(|e| Error::io(path, e))?;
        let v: J = serde_json::from_str(&line).map_err(|e| Error::Usage(format!("{}:{}: {e}", path.display(), i + 1)))?;
        let Some(kind) = v["event"].as_str() else { continue };
        let st = v["strategy"].as_str().unwrap_or("").to_string();
        let rep = v["rep"].as_u64().unwrap_or(0);
        let task = v["task"].as_u64().unwrap_or(u64::MAX);
        match kind {
            "task_arrived" => {
                let c = v["class"].as_str().unwrap_or("").to_string();
                *ev.tasks_by_class.entry(st.clone()).or_default().entry(c.clone()).or_default() += 1;
                class_of.insert((rep, st, task), c);
            }
            // One entry per execution of a worker step (replicas merged), in order.
            "step_completed" => {
                let step = v["step"].as_str().unwrap_or("").to_string();
                let c = class_of.get(&(rep, st.clone(), task)).cloned().unwrap_or_default();
                let defective = v["defective"].as_bool().unwrap_or(false);
                ev.steps.entry((st, step)).or_default().runs.entry((rep, task)).or_insert_with(|| (c, Vec::new())).1.push(defective);
            }
            "task_finished" => {
                if let Some(root) = v["root_cause"].as_str() {
                    let c = class_of.get(&(rep, st.clone(), task)).cloned().unwrap_or_default();
                    *ev.steps.entry((st, root.to_string())).or_default().by_class.entry(c).or_default() += 1;
                }
            }
            _ => {}
        }
    }
    Ok(ev)
}

fn evidence_from_tasks(path: &Path) -> Result<Evidence> {
    let (h, rows) = read_rows(path)?;
    let (cs, cc, cr) = (col(&h, "strategy", "tasks.csv")?, col(&h, "class", "tasks.csv")?, col(&h, "root_cause", "tasks.csv")?);
    let mut ev = Evidence { source: "tasks.csv", ..Default::default() };
    for r in &rows {
        *ev.tasks_by_class.entry(r[cs].clone()).or_default().entry(r[cc].clone()).or_default() += 1;
        if !r[cr].is_empty() {
            *ev.steps.entry((r[cs].clone(), r[cr].clone())).or_default().by_class.entry(r[cc].clone()).or_default() += 1;
        }
    }
    Ok(ev)
}

/// Tests one step's faults: concentration in a class (chi-square against the class
/// mix of all tasks) and repetition on the same task (every execution defective, far
/// more often than the step's own defect rate allows: Poisson tail).
fn classify(strategy: &str, step: &str, agent: &str, root_causes: u64, ev: &Evidence) -> FaultFinding {
    let mut f = FaultFinding {
        strategy: strategy.into(),
        step: step.into(),
        agent: agent.into(),
        root_causes,
        classification: "insufficient data".into(),
        statistic: f64::NAN,
        p_value: f64::NAN,
        evidence: String::new(),
    };
    let Some(se) = ev.steps.get(&(strategy.to_string(), step.to_string())) else {
        f.evidence =
            if ev.source.is_empty() { "run with --task-log or --audit for per-task evidence".into() } else { "no faults recorded".into() };
        return f;
    };
    let mut notes = Vec::new();
    let mut best: Option<(f64, f64, String)> = None;
    // Test 1: class concentration beyond what difficulty explains. Under stochastic
    // errors the expected number of faults of a class is proportional to its exposure
    // (executions of the step, from the trail; else tasks) times its difficulty, which
    // multiplies every error rate. From the trail the faults counted are the defects
    // the step introduced; from tasks.csv only, the tasks it was the root cause of.
    let mut exposure: BTreeMap<String, (f64, u64)> = BTreeMap::new();
    if se.runs.is_empty() {
        for (c, &n) in ev.tasks_by_class.get(strategy).into_iter().flatten() {
            exposure.insert(c.clone(), (n as f64, se.by_class.get(c).copied().unwrap_or(0)));
        }
    } else {
        for c in ev.tasks_by_class.get(strategy).into_iter().flatten().map(|(c, _)| c) {
            exposure.insert(c.clone(), (0.0, 0));
        }
        for (c, runs) in se.runs.values() {
            let e = exposure.entry(c.clone()).or_default();
            e.0 += runs.len() as f64;
            e.1 += runs.iter().filter(|d| **d).count() as u64;
        }
    }
    let what = if se.runs.is_empty() { "wrong or failed tasks" } else { "defective runs" };
    let weight = |c: &str, n: f64| n * ev.difficulty.get(c).copied().unwrap_or(1.0);
    let total_w: f64 = exposure.iter().map(|(c, e)| weight(c, e.0)).sum();
    let total: u64 = exposure.values().map(|e| e.1).sum();
    if exposure.len() >= 2 && total >= MIN_FAULTS && total_w > 0.0 {
        let (mut chi2, mut df, mut top) = (0.0, 0usize, (0.0, String::new()));
        for (c, e) in &exposure {
            let expect = total as f64 * weight(c, e.0) / total_w;
            if expect > 0.0 {
                df += 1;
                chi2 += (e.1 as f64 - expect).powi(2) / expect;
                if e.1 as f64 / expect > top.0 {
                    top = (e.1 as f64 / expect, c.clone());
                }
            }
        }
        let p = ChiSquared::new(df.saturating_sub(1).max(1) as f64).map(|d| d.sf(chi2)).unwrap_or(f64::NAN);
        let (o, wc) = exposure.get(&top.1).map(|e| (e.1, weight(&top.1, e.0))).unwrap_or((0, 0.0));
        // Difficulty-adjusted fault rate of the top class over that of all other classes.
        let rest = (total - o) as f64 / (total_w - wc).max(f64::MIN_POSITIVE);
        let ratio = if rest > 0.0 { (o as f64 / wc.max(f64::MIN_POSITIVE)) / rest } else { f64::INFINITY };
        notes.push(format!(
            "class `{}`: {o} of {total} {what}, a difficulty-adjusted rate {ratio:.1}x that of the other classes; chi2 = {chi2:.1}, p = {p:.2e}",
            top.1
        ));
        let class_rate = o as f64 / exposure.get(&top.1).map(|e| e.0).unwrap_or(0.0).max(1.0);
        if p < ALPHA && ratio >= CONCENTRATION && class_rate >= MAJORITY_WRONG {
            best = Some((chi2, p, format!("concentrated in class `{}`", top.1)));
        } else {
            f.statistic = chi2;
            f.p_value = p;
        }
    }
    // Test 2: persistence on the same task. A stochastic error is a fresh draw on every
    // run, so after a defective run the next run of the same step on the same task is
    // defective only at the step's (class) defect rate; a systematic fault repeats.
    let mut rate: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for (c, runs) in se.runs.values() {
        let e = rate.entry(c.as_str()).or_default();
        e.0 += runs.len() as u64;
        e.1 += runs.iter().filter(|d| **d).count() as u64;
    }
    let d_sum: u64 = rate.values().map(|r| r.1).sum();
    let (mut pairs, mut repeats, mut expected) = (0u64, 0u64, 0.0f64);
    for (c, runs) in se.runs.values() {
        let (n, d) = rate[c.as_str()];
        let r = d as f64 / n.max(1) as f64;
        for w in runs.windows(2) {
            if w[0] {
                pairs += 1;
                expected += r;
                if w[1] {
                    repeats += 1;
                }
            }
        }
    }
    if pairs > 0 {
        let p = if repeats == 0 { 1.0 } else { Poisson::new(expected.max(1e-12)).map(|d| d.sf(repeats - 1)).unwrap_or(f64::NAN) };
        notes.push(format!("defective again on {repeats} of {pairs} reruns after a defective run vs {expected:.1} expected from its defect rate; p = {p:.2e}"));
        if p < ALPHA && repeats >= 3 && best.as_ref().is_none_or(|b| p < b.1) {
            best = Some((repeats as f64, p, "the same tasks are defective at this step on every rerun".into()));
        }
    }
    match best {
        Some((stat, p, msg)) => {
            f.classification = "systematic".into();
            f.statistic = stat;
            f.p_value = p;
            notes.insert(0, msg);
        }
        None if root_causes >= MIN_FAULTS || d_sum >= MIN_FAULTS => {
            f.classification = "stochastic".into();
            notes.insert(0, "faults spread like independent errors".into());
        }
        None => notes.insert(0, format!("fewer than {MIN_FAULTS} faults")),
    }
    f.evidence = notes.join("; ");
    f
}

/// `orchsim audit DIR`: prints the report and writes `DIR/audit.csv`.
pub fn audit(dir: &Path) -> Result<(String, Vec<FaultFinding>)> {
    let (ah, agents) = read_rows(&dir.join("agents.csv"))?;
    let (bh, bus) = read_rows(&dir.join("business_units.csv"))?;
    let a = |n: &str| col(&ah, n, "agents.csv");
    let (a_st, a_step, a_agent, a_cost, a_root, a_calls) =
        (a("strategy")?, a("step")?, a("agent")?, a("cost_usd")?, a("root_causes")?, a("calls")?);
    let b = |n: &str| col(&bh, n, "business_units.csv");
    let (b_st, b_bu, b_tasks, b_correct, b_cost) = (b("strategy")?, b("business_unit")?, b("tasks")?, b("correct")?, b("cost_usd")?);

    let mut strategies: Vec<String> = Vec::new();
    for r in &agents {
        if !strategies.contains(&r[a_st]) {
            strategies.push(r[a_st].clone());
        }
    }
    let mut ev = if dir.join("events.jsonl").is_file() {
        evidence_from_trail(&dir.join("events.jsonl"))?
    } else if dir.join("tasks.csv").is_file() {
        evidence_from_tasks(&dir.join("tasks.csv"))?
    } else {
        Evidence::default()
    };
    if let Ok(m) = read_manifest(dir) {
        for c in m["scenario"]["workload"]["classes"].as_array().into_iter().flatten() {
            if let Some(name) = c["name"].as_str() {
                ev.difficulty.insert(name.to_string(), c["difficulty"].as_f64().unwrap_or(1.0));
            }
        }
    }

    let usd = |p: i128| crate::economics::Usd(p).to_string();
    let mut out = String::new();
    let mut w = report::csv::buffer();
    let header = [
        "section",
        "strategy",
        "business_unit",
        "step",
        "agent",
        "tasks",
        "correct",
        "root_causes",
        "cost_usd",
        "share",
        "classification",
        "statistic",
        "p_value",
        "evidence",
    ];
    report::csv::record(&mut w, &header.map(String::from));
    let mut rec = |fields: [&str; 14]| report::csv::record(&mut w, &fields.map(String::from));
    let mut findings = Vec::new();
    for st in &strategies {
        let total: i128 = agents.iter().filter(|r| &r[a_st] == st).map(|r| pico(&r[a_cost])).sum();
        let share = |x: i128| if total == 0 { "0".to_string() } else { format!("{:.4}", x as f64 / total as f64) };
        out.push_str(&format!("\n== {st}: total ${} over all replications\n", usd(total)));
        // By business unit.
        let mut by_bu: Vec<(String, u64, u64, i128)> = Vec::new();
        for r in bus.iter().filter(|r| &r[b_st] == st) {
            let (t, c, x) = (r[b_tasks].parse::<u64>().unwrap_or(0), r[b_correct].parse::<u64>().unwrap_or(0), pico(&r[b_cost]));
            match by_bu.iter_mut().find(|e| e.0 == r[b_bu]) {
                Some(e) => {
                    e.1 += t;
                    e.2 += c;
                    e.3 += x;
                }
                None => by_bu.push((r[b_bu].clone(), t, c, x)),
            }
        }
        out.push_str(&format!("  {:<24} {:>8} {:>8} {:>16} {:>7}\n", "business unit", "tasks", "correct", "cost USD", "share"));
        for (bu, t, c, x) in &by_bu {
            out.push_str(&format!("  {bu:<24} {t:>8} {c:>8} {:>16} {:>6.1}%\n", usd(*x), 100.0 * *x as f64 / total.max(1) as f64));
            rec(["business_unit", st, bu, "", "", &t.to_string(), &c.to_string(), "", &usd(*x), &share(*x), "", "", "", ""]);
        }
        // By step (and agent).
        let mut by_step: Vec<(String, String, u64, u64, i128)> = Vec::new();
        for r in agents.iter().filter(|r| &r[a_st] == st) {
            let (calls, roots, x) = (r[a_calls].parse::<u64>().unwrap_or(0), r[a_root].parse::<u64>().unwrap_or(0), pico(&r[a_cost]));
            match by_step.iter_mut().find(|e| e.0 == r[a_step]) {
                Some(e) => {
                    e.2 += calls;
                    e.3 += roots;
                    e.4 += x;
                }
                None => by_step.push((r[a_step].clone(), r[a_agent].clone(), calls, roots, x)),
            }
        }
        out.push_str(&format!("  {:<24} {:<18} {:>8} {:>16} {:>7} {:>6}\n", "step", "agent", "calls", "cost USD", "share", "roots"));
        for (step, agent, calls, roots, x) in &by_step {
            out.push_str(&format!(
                "  {step:<24} {agent:<18} {calls:>8} {:>16} {:>6.1}% {roots:>6}\n",
                usd(*x),
                100.0 * *x as f64 / total.max(1) as f64
            ));
            rec(["step", st, "", step, agent, "", "", &roots.to_string(), &usd(*x), &share(*x), "", "", "", ""]);
        }
        let mut by_agent: Vec<(String, i128)> = Vec::new();
        for (_, agent, _, _, x) in &by_step {
            match by_agent.iter_mut().find(|e| &e.0 == agent) {
                Some(e) => e.1 += x,
                None => by_agent.push((agent.clone(), *x)),
            }
        }
        for (agent, x) in &by_agent {
            rec(["agent", st, "", "", agent, "", "", "", &usd(*x), &share(*x), "", "", "", ""]);
        }
        // Root causes and their nature.
        let faulty: Vec<&(String, String, u64, u64, i128)> = by_step.iter().filter(|e| e.3 > 0).collect();
        if !faulty.is_empty() {
            out.push_str("  root causes of wrong and failed tasks:\n");
        }
        for (step, agent, _, roots, _) in faulty {
            let f = classify(st, step, agent, *roots, &ev);
            out.push_str(&format!("  {step:<24} {agent:<18} {roots:>6}  {}: {}\n", f.classification, f.evidence));
            rec([
                "root_cause",
                st,
                "",
                step,
                agent,
                "",
                "",
                &roots.to_string(),
                "",
                "",
                &f.classification,
                &report::fmt_f64(f.statistic),
                &report::fmt_f64(f.p_value),
                &f.evidence,
            ]);
            findings.push(f);
        }
    }
    write_atomic(&dir.join("audit.csv"), &report::csv::into_bytes(w))?;
    out.push_str(&format!("\nwrote {}\n", dir.join("audit.csv").display()));
    Ok((out, findings))
}
