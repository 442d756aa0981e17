//! Audit: replaying a run bit for bit, verifying the trail's hash chain, and the
//! chargeback and root-cause report of `orchsim audit`.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde_json::Value as J;
use statrs::distribution::{ChiSquared, ContinuousCDF, DiscreteCDF, Poisson};

use crate::error::{Error, Result};
use crate::report::{self, trail, write_atomic};
use crate::runner::Runner;
use crate::scenario::{self, Loaded, Source};

fn read_manifest(dir: &Path) -> Result<J> {
    if dir.join("sweep_plan.json").is_file() {
        return Err(Error::Usage(format!(
            "{}: is a sweep folder; `replay` and `audit` work on a run folder. To audit one point of the sweep, \
             run it with its overrides: `orchsim run SCENARIO --set PATH=VALUE ... --audit --task-log --out DIR`, then `orchsim audit DIR`",
            dir.display()
        )));
    }
    let p = dir.join("manifest.json");
    let bytes =
        std::fs::read(&p).map_err(|e| Error::Usage(format!("{}: cannot read ({e}); is {} a run folder?", p.display(), dir.display())))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::Usage(format!("{}: invalid JSON: {e}", p.display())))
}

/// A run folder whose files were checked against its manifest.
#[derive(Debug)]
pub struct Checked {
    /// The manifest.
    pub manifest: J,
    /// The bytes of every data file the manifest lists (the trail excepted), as checked.
    pub files: BTreeMap<String, Vec<u8>>,
    /// The trail's summary, when the run has one.
    pub trail: Option<trail::TrailSummary>,
    /// Files with orchsim's names that the manifest does not list (never read).
    pub unlisted: Vec<String>,
}

impl Checked {
    /// A listed data file, or an error naming it.
    pub fn file(&self, name: &str) -> Result<&[u8]> {
        self.files.get(name).map(Vec::as_slice).ok_or_else(|| Error::Usage(format!("manifest.json: does not list {name}")))
    }
}

/// Checks every file the manifest lists against its SHA-256, and the trail's hash chain,
/// line count, final hash and SHA-256, without re-running anything. Reads nothing the
/// manifest does not list. Any difference is an error (exit 1) naming the file and,
/// for the trail, the line where the damage begins.
pub fn check(dir: &Path) -> Result<Checked> {
    let m = read_manifest(dir)?;
    let files = m["files"].as_object().ok_or_else(|| Error::Usage("manifest.json: no `files`".into()))?;
    let mut problems = Vec::new();
    let mut read = BTreeMap::new();
    let mut summary = None;
    let trail_meta = m.get("trail");
    for (name, digest) in files {
        let Some(want) = digest.as_str() else {
            problems.push(format!("manifest.json: files.{name}: expected a SHA-256 string"));
            continue;
        };
        if name.contains(['/', '\\']) || name.starts_with('.') {
            problems.push(format!("manifest.json: files.{name}: not a file name of a run folder"));
            continue;
        }
        if name == "events.jsonl" {
            let Some(t) = trail_meta else {
                problems.push("manifest.json: lists events.jsonl but has no `trail` record".into());
                continue;
            };
            match trail::verify(&dir.join(name))? {
                Err(b) => problems.push(format!("events.jsonl:{}: {}", b.line, b.why)),
                Ok(s) => {
                    let lines = t["lines"].as_u64();
                    if Some(s.lines) != lines {
                        let at = lines.map(|l| s.lines.min(l) + 1).unwrap_or(1);
                        problems.push(format!(
                            "events.jsonl:{at}: the chain is intact but has {} lines where the manifest records {} (cut short, extended, or the manifest was edited)",
                            s.lines,
                            lines.map(|l| l.to_string()).unwrap_or("none".into())
                        ));
                    } else if t["final_hash"].as_str() != Some(s.final_hash.as_str()) {
                        problems.push(format!(
                            "events.jsonl:{}: the chain ends in {} where the manifest records {} (the trail was replaced or the manifest edited)",
                            s.lines,
                            s.final_hash,
                            t["final_hash"]
                        ));
                    } else if s.sha256 != want {
                        problems.push("events.jsonl: sha256 differs from the manifest (the file or the manifest was changed)".into());
                    } else {
                        summary = Some(s);
                    }
                }
            }
            continue;
        }
        match std::fs::read(dir.join(name)) {
            Ok(b) if report::sha256_hex(&b) == want => {
                read.insert(name.clone(), b);
            }
            Ok(_) => problems.push(format!("{name}: sha256 differs from the manifest (the file was changed)")),
            Err(e) => problems.push(format!("{name}: {e}")),
        }
    }
    if trail_meta.is_some() && !files.contains_key("events.jsonl") {
        problems.push("manifest.json: has a `trail` record but does not list events.jsonl".into());
    }
    for input in m["inputs"].as_array().into_iter().flatten() {
        let (Some(f), Some(want)) = (input["file"].as_str(), input["sha256"].as_str()) else { continue };
        match std::fs::read(f) {
            Ok(b) if report::sha256_hex(&b) == want => {}
            Ok(_) => problems.push(format!("input {f}: sha256 differs from the manifest (the input changed since the run)")),
            Err(e) => problems.push(format!("input {f}: {e}")),
        }
    }
    // The resolved scenario is the one the manifest's hash and the trail's header name.
    let resolved = m["scenario_toml"].as_str().map(|t| report::sha256_hex(t.as_bytes()));
    if resolved.is_none() || resolved.as_deref() != m["resolved_scenario_sha256"].as_str() {
        problems.push("manifest.json: scenario_toml does not match resolved_scenario_sha256 (the manifest was edited)".into());
    } else if summary.is_some() {
        let header = File::open(dir.join("events.jsonl")).and_then(|f| {
            let mut line = String::new();
            BufReader::new(f).read_line(&mut line).map(|_| line)
        });
        let stated = header
            .ok()
            .and_then(|l| serde_json::from_str::<J>(&l).ok())
            .and_then(|h| h["resolved_scenario_sha256"].as_str().map(String::from));
        if stated != resolved {
            problems.push("events.jsonl:1: the header's resolved_scenario_sha256 differs from the manifest's".into());
        }
    }
    if !problems.is_empty() {
        return Err(Error::Mismatch(format!("{}: verification failed; nothing analysed:\n{}", dir.display(), problems.join("\n"))));
    }
    let unlisted = ["summary.csv", "replications.csv", "agents.csv", "business_units.csv", "tasks.csv", "events.jsonl"]
        .iter()
        .filter(|n| !files.contains_key(**n) && dir.join(n).exists())
        .map(|n| n.to_string())
        .collect();
    Ok(Checked { manifest: m, files: read, trail: summary, unlisted })
}

fn unlisted_note(c: &Checked) -> String {
    if c.unlisted.is_empty() {
        String::new()
    } else {
        format!("\nnote: ignored {} (not listed in the manifest, so not part of this run)", c.unlisted.join(", "))
    }
}

/// Checks the digests recorded in the manifest and, if there is a trail, its hash
/// chain, line count and final hash, without re-running anything.
pub fn verify_only(dir: &Path) -> Result<String> {
    let c = check(dir)?;
    let n = c.files.len() + usize::from(c.trail.is_some());
    let trail_note = match &c.trail {
        Some(s) => format!("\ntrail: {} lines, final chain hash {}", s.lines, s.final_hash),
        None => String::new(),
    };
    Ok(format!("verified: {n} files match the manifest{trail_note}{}", unlisted_note(&c)))
}

/// The scenario and options recorded in a run folder's manifest.
pub fn manifest_runner(m: &J, dir: &Path) -> Result<Runner> {
    let text = m["scenario_toml"].as_str().ok_or_else(|| Error::Usage("manifest.json: no `scenario_toml`".into()))?;
    let base_dir = PathBuf::from(m["options"]["base_dir"].as_str().unwrap_or("."));
    let source = Source { file: format!("{} (scenario_toml)", dir.join("manifest.json").display()), text: text.to_string(), base_dir };
    let tree = source.parse()?;
    let sc = scenario::from_tree(&tree, &source.file, &source.base_dir)?;
    let flag = |k: &str| m["options"][k].as_bool().unwrap_or(false);
    Ok(Runner::new(Loaded { source, tree, scenario: sc }).task_log(flag("task_log")).audit(flag("audit")))
}

/// The first line at which two byte streams differ, as a message naming `name` and the
/// line; `None` when they are equal. Lines compare byte for byte, terminators
/// included, so CRLF or a missing last newline is a difference. Long lines are
/// shortened, on a character boundary.
fn first_diff_lines(name: &str, mut recorded: impl BufRead, mut replayed: impl BufRead) -> std::io::Result<Option<String>> {
    let show = |s: &[u8], eof: bool| {
        if eof {
            return "<end of file>".to_string();
        }
        let t = String::from_utf8_lossy(s);
        let t = t.strip_suffix('\n').map(|x| x.to_string()).unwrap_or_else(|| format!("{t}<no newline>"));
        let t = t.replace('\r', "<CR>");
        if t.chars().count() > 300 { format!("{}...", t.chars().take(300).collect::<String>()) } else { t }
    };
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let mut n = 0;
    loop {
        n += 1;
        a.clear();
        b.clear();
        let (ea, eb) = (recorded.read_until(b'\n', &mut a)? == 0, replayed.read_until(b'\n', &mut b)? == 0);
        if ea && eb {
            return Ok(None);
        }
        if a != b {
            return Ok(Some(format!("{name}:{n}: differs\n  recorded: {}\n  replayed: {}", show(&a, ea), show(&b, eb))));
        }
    }
}

fn first_diff(name: &str, recorded: &[u8], replayed: &[u8]) -> Option<String> {
    first_diff_lines(name, recorded, replayed).ok().flatten()
}

fn first_diff_files(name: &str, recorded: &Path, replayed: &Path) -> Result<Option<String>> {
    let open = |p: &Path| File::open(p).map(BufReader::new).map_err(|e| Error::io(p, e));
    first_diff_lines(name, open(recorded)?, open(replayed)?).map_err(|e| Error::io(recorded, e))
}

/// Re-runs a run folder from its manifest and compares every data file and the trail
/// byte for byte, and the manifest's digests with the replay's. Writes nothing into
/// the folder (it may be read-only); the replayed trail goes to the system's temporary
/// folder.
pub fn replay(dir: &Path) -> Result<String> {
    let m = read_manifest(dir)?;
    let runner = manifest_runner(&m, dir)?;
    let out = runner.run()?;
    let recorded = m["files"].as_object().cloned().unwrap_or_default();
    let mut names: Vec<&str> = out.files.iter().map(|(n, _)| n.as_str()).collect();
    if out.trail.is_some() {
        names.push("events.jsonl");
    }
    for r in recorded.keys() {
        if !names.contains(&r.as_str()) {
            return Err(Error::Mismatch(format!("replay: {r} is recorded in the manifest but the replay does not produce it")));
        }
    }
    let digest_of = |name: &str| recorded.get(name).and_then(J::as_str).unwrap_or("");
    for (name, bytes) in &out.files {
        let on_disk = std::fs::read(dir.join(name)).map_err(|e| Error::io(dir.join(name), e))?;
        if let Some(d) = first_diff(name, &on_disk, bytes) {
            return Err(Error::Mismatch(format!("replay: {d}")));
        }
        if digest_of(name) != report::sha256_hex(bytes) {
            return Err(Error::Mismatch(format!("replay: manifest.json: the sha256 of {name} differs from the replay's")));
        }
    }
    let mut note = String::new();
    if let Some(t) = &out.trail {
        if let Some(d) = first_diff_files("events.jsonl", &dir.join("events.jsonl"), t.path())? {
            return Err(Error::Mismatch(format!("replay: {d}")));
        }
        let s = &t.summary;
        let mt = &m["trail"];
        if digest_of("events.jsonl") != s.sha256
            || mt["lines"].as_u64() != Some(s.lines)
            || mt["final_hash"].as_str() != Some(&s.final_hash)
        {
            return Err(Error::Mismatch(
                "replay: manifest.json: the trail's sha256, line count or final hash differs from the replay's".into(),
            ));
        }
        note = format!(" and the trail ({} lines, final chain hash {})", s.lines, s.final_hash);
    }
    Ok(format!("replay: identical: {} data files{note} of {}", out.files.len(), dir.display()))
}

// ---- the audit report -------------------------------------------------------------

fn read_rows(name: &str, bytes: &[u8]) -> Result<(Vec<String>, Vec<Vec<String>>)> {
    let mut r = csv::Reader::from_reader(bytes);
    let h: Vec<String> = r.headers().map_err(|e| Error::Usage(format!("{name}: {e}")))?.iter().map(String::from).collect();
    let mut rows = Vec::new();
    for rec in r.records() {
        rows.push(rec.map_err(|e| Error::Usage(format!("{name}: {e}")))?.iter().map(String::from).collect());
    }
    Ok((h, rows))
}

fn col(h: &[String], name: &str, file: &str) -> Result<usize> {
    h.iter().position(|c| c == name).ok_or_else(|| Error::Usage(format!("{file}: no column `{name}`")))
}

/// Parses an exact decimal dollar amount into pico-dollars; anything else is an error
/// naming the file and column, never a silent $0.
fn pico(s: &str, file: &str, column: &str) -> Result<i128> {
    let bad = || Error::Usage(format!("{file}: column `{column}`: {s:?} is not an exact dollar amount"));
    let (neg, body) = s.strip_prefix('-').map(|r| (true, r)).unwrap_or((false, s));
    let (w, f) = body.split_once('.').unwrap_or((body, ""));
    let digits = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit());
    if !digits(w) || (body.contains('.') && !digits(f)) || f.len() > 12 {
        return Err(bad());
    }
    let v = w
        .parse::<i128>()
        .ok()
        .and_then(|w| w.checked_mul(1_000_000_000_000))
        .and_then(|w| w.checked_add(format!("{f:0<12}").parse::<i128>().ok()?))
        .ok_or_else(bad)?;
    Ok(if neg { -v } else { v })
}

fn count(s: &str, file: &str, column: &str) -> Result<u64> {
    s.parse().map_err(|_| Error::Usage(format!("{file}: column `{column}`: {s:?} is not a whole number")))
}

/// Dollars for reading: to the cent from one cent up, else to three significant digits.
pub fn money(pico: i128) -> String {
    let neg = pico < 0;
    let p = pico.unsigned_abs();
    let s = if p >= 10_000_000_000 {
        let cents = (p + 5_000_000_000) / 10_000_000_000;
        let whole = (cents / 100).to_string();
        let mut grouped = String::new();
        for (i, c) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(c);
        }
        format!("{grouped}.{:02}", cents % 100)
    } else if p == 0 {
        "0.00".to_string()
    } else {
        let x = p as f64 / 1e12;
        let decimals = (2.0 - x.log10().floor()) as usize;
        format!("{x:.decimals$}")
    };
    format!("{}${s}", if neg { "-" } else { "" })
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

/// Reads the evidence from a trail that [`check`] verified, and checks that what it read
/// is still that trail (its SHA-256), so a file swapped in meanwhile is never analysed.
fn evidence_from_trail(path: &Path, verified_sha256: &str) -> Result<Evidence> {
    use sha2::{Digest, Sha256};
    let f = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut ev = Evidence { source: "events.jsonl", ..Default::default() };
    let mut class_of: BTreeMap<(u64, String, u64), String> = BTreeMap::new();
    let mut whole = Sha256::new();
    let mut reader = BufReader::new(f);
    let mut raw = Vec::new();
    for i in 0.. {
        raw.clear();
        if reader.read_until(b'\n', &mut raw).map_err(|e| Error::io(path, e))? == 0 {
            break;
        }
        whole.update(&raw);
        let line = String::from_utf8_lossy(&raw);
        let at = || format!("{}:{}", path.display(), i + 1);
        let v: J = serde_json::from_str(&line).map_err(|e| Error::Usage(format!("{}: {e}", at())))?;
        let Some(kind) = v["event"].as_str() else { continue };
        if !matches!(kind, "task_arrived" | "step_completed" | "task_finished") {
            continue;
        }
        let missing = |k: &str| Error::Usage(format!("{}: `{kind}` event without a valid `{k}`", at()));
        let text = |k: &str| v[k].as_str().map(String::from).ok_or_else(|| missing(k));
        let num = |k: &str| v[k].as_u64().ok_or_else(|| missing(k));
        let (st, rep, task) = (text("strategy")?, num("rep")?, num("task")?);
        match kind {
            "task_arrived" => {
                let c = text("class")?;
                *ev.tasks_by_class.entry(st.clone()).or_default().entry(c.clone()).or_default() += 1;
                class_of.insert((rep, st, task), c);
            }
            // One entry per execution of a worker step (replicas merged), in order.
            "step_completed" => {
                let step = text("step")?;
                let c = class_of.get(&(rep, st.clone(), task)).cloned().ok_or_else(|| missing("task (no task_arrived before)"))?;
                let defective = v["defective"].as_bool().ok_or_else(|| missing("defective"))?;
                ev.steps.entry((st, step)).or_default().runs.entry((rep, task)).or_insert_with(|| (c, Vec::new())).1.push(defective);
            }
            _ => {
                if let Some(root) = v["root_cause"].as_str() {
                    let c = class_of.get(&(rep, st.clone(), task)).cloned().ok_or_else(|| missing("task (no task_arrived before)"))?;
                    *ev.steps.entry((st, root.to_string())).or_default().by_class.entry(c).or_default() += 1;
                }
            }
        }
    }
    if crate::scenario::hex(&whole.finalize()) != verified_sha256 {
        return Err(Error::Mismatch(format!("{}: changed while it was being audited; nothing analysed", path.display())));
    }
    Ok(ev)
}

fn evidence_from_tasks(bytes: &[u8]) -> Result<Evidence> {
    let (h, rows) = read_rows("tasks.csv", bytes)?;
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

/// The result of one test of a step's faults.
#[derive(Clone, Debug, PartialEq)]
enum Outcome {
    /// The test did not run (too few faults, one class, no reruns).
    NotRun(String),
    /// Evidence of a systematic fault: significant and past every threshold.
    Systematic { stat: f64, p: f64, what: String, note: String },
    /// No significant departure from independent errors.
    Clear(String),
    /// Significant, but short of a threshold of a systematic fault.
    Unclear { stat: f64, p: f64, note: String },
}

impl Outcome {
    fn note(&self) -> &str {
        match self {
            Outcome::NotRun(n) | Outcome::Clear(n) | Outcome::Systematic { note: n, .. } | Outcome::Unclear { note: n, .. } => n,
        }
    }
}

/// The verdict follows from the tests alone: `systematic` when a test says so (the
/// strongest is cited); `stochastic` when at least one test ran and every test that
/// ran found independent errors; `undetermined` when a test found a significant pattern
/// short of a systematic fault's thresholds; `insufficient data` when no test ran.
fn verdict(tests: &[Outcome]) -> (&'static str, f64, f64, String) {
    let strongest = tests
        .iter()
        .filter_map(|t| match t {
            Outcome::Systematic { stat, p, what, .. } => Some((*stat, *p, what.clone())),
            _ => None,
        })
        .min_by(|a, b| a.1.total_cmp(&b.1));
    if let Some((stat, p, what)) = strongest {
        return ("systematic", stat, p, what);
    }
    if let Some((stat, p)) = tests.iter().find_map(|t| match t {
        Outcome::Unclear { stat, p, .. } => Some((*stat, *p)),
        _ => None,
    }) {
        return ("undetermined", stat, p, "a significant pattern, short of the thresholds of a systematic fault".into());
    }
    if tests.iter().any(|t| matches!(t, Outcome::Clear(_))) {
        return ("stochastic", f64::NAN, f64::NAN, "faults spread like independent errors".into());
    }
    ("insufficient data", f64::NAN, f64::NAN, "no test could run".into())
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
        f.evidence = if ev.source.is_empty() {
            "no test could run: run with --task-log or --audit for per-task evidence".into()
        } else {
            format!("no test could run: {} records no fault of this step", ev.source)
        };
        return f;
    };
    let mut tests = Vec::new();
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
    if exposure.len() < 2 {
        tests.push(Outcome::NotRun("concentration: one task class only".into()));
    } else if total < MIN_FAULTS || total_w <= 0.0 {
        tests.push(Outcome::NotRun(format!("concentration: fewer than {MIN_FAULTS} {what}")));
    } else {
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
        let class_rate = o as f64 / exposure.get(&top.1).map(|e| e.0).unwrap_or(0.0).max(1.0);
        let note = format!(
            "concentration: class `{}` has {o} of {total} {what}, a difficulty-adjusted rate {ratio:.1}x that of the other classes, \
             wrong on {:.0}% of its runs; chi2 = {chi2:.1}, p = {p:.2e}",
            top.1,
            100.0 * class_rate
        );
        tests.push(if p.is_nan() || p >= ALPHA {
            Outcome::Clear(note)
        } else if ratio >= CONCENTRATION && class_rate >= MAJORITY_WRONG {
            Outcome::Systematic { stat: chi2, p, what: format!("concentrated in class `{}`", top.1), note }
        } else {
            let note = format!(
                "{note} (significant, but a systematic fault needs >= {CONCENTRATION}x and >= {:.0}% wrong)",
                100.0 * MAJORITY_WRONG
            );
            Outcome::Unclear { stat: chi2, p, note }
        });
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
    if pairs == 0 {
        let why = match (se.runs.is_empty(), ev.source) {
            (true, "events.jsonl") => "the trail records no per-run result of this step",
            (true, _) => "no per-run evidence (run with --audit)",
            _ => "no rerun after a defective run",
        };
        tests.push(Outcome::NotRun(format!("persistence: {why}")));
    } else {
        let p = if repeats == 0 { 1.0 } else { Poisson::new(expected.max(1e-12)).map(|d| d.sf(repeats - 1)).unwrap_or(f64::NAN) };
        let note = format!(
            "persistence: defective again on {repeats} of {pairs} reruns after a defective run vs {expected:.1} expected from its defect rate; p = {p:.2e}"
        );
        tests.push(if p.is_nan() || p >= ALPHA {
            Outcome::Clear(note)
        } else if repeats >= 3 {
            Outcome::Systematic {
                stat: repeats as f64,
                p,
                what: "the same tasks are defective at this step on rerun after rerun".into(),
                note,
            }
        } else {
            Outcome::Unclear { stat: repeats as f64, p, note: format!("{note} (significant, but fewer than 3 repeats)") }
        });
    }
    // Persistence compares reruns with the class's own defect rate; a fault tied to a
    // class sets that rate, so next to a class concentration it cannot tell either way.
    if matches!(tests.first(), Some(Outcome::Systematic { .. }))
        && let Some(Outcome::Clear(n)) = tests.get_mut(1)
    {
        n.push_str(" (against the class's own rate, which a fault tied to the class sets: no evidence either way)");
    }
    let (class, stat, p, why) = verdict(&tests);
    f.classification = class.into();
    f.statistic = stat;
    f.p_value = p;
    f.evidence = std::iter::once(why).chain(tests.iter().map(|t| t.note().to_string())).collect::<Vec<_>>().join("; ");
    f
}

/// `orchsim audit DIR`: prints the report and writes `DIR/audit.csv`.
///
/// It first checks the folder against its manifest ([`check`]): a damaged or
/// mismatched file is an error (exit 1) and nothing is analysed. It reads only the
/// files the manifest lists. Writing `audit.csv` is skipped, with a note, when the
/// folder is read-only.
pub fn audit(dir: &Path) -> Result<(String, Vec<FaultFinding>)> {
    let checked = check(dir)?;
    let (ah, agents) = read_rows("agents.csv", checked.file("agents.csv")?)?;
    let (bh, bus) = read_rows("business_units.csv", checked.file("business_units.csv")?)?;
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
    let mut ev = if let Some(t) = &checked.trail {
        evidence_from_trail(&dir.join("events.jsonl"), &t.sha256)?
    } else if let Ok(t) = checked.file("tasks.csv") {
        evidence_from_tasks(t)?
    } else {
        Evidence::default()
    };
    // Difficulties from the resolved scenario, whose hash `check` tied to the manifest
    // (and, with a trail, to its chained header).
    let runner = manifest_runner(&checked.manifest, dir)?;
    for c in &runner.loaded().scenario.workload.classes {
        ev.difficulty.insert(c.name.clone(), c.difficulty);
    }

    let usd = |p: i128| crate::economics::Usd(p).to_string();
    let mut out = String::new();
    match &checked.trail {
        Some(t) => out.push_str(&format!(
            "verified: {} files match the manifest; trail of {} lines, final chain hash {}\n",
            checked.files.len() + 1,
            t.lines,
            t.final_hash
        )),
        None => out
            .push_str(&format!("verified: {} files match the manifest (no event trail: run with --audit for one)\n", checked.files.len())),
    }
    let note = unlisted_note(&checked);
    if !note.is_empty() {
        out.push_str(note.trim_start());
        out.push('\n');
    }
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
    report::csv::record(&mut w, &header.map(String::from))?;
    let mut rec = |fields: [&str; 14]| report::csv::record(&mut w, &fields.map(String::from));
    let mut findings = Vec::new();
    for st in &strategies {
        let mut total: i128 = 0;
        for r in agents.iter().filter(|r| &r[a_st] == st) {
            total += pico(&r[a_cost], "agents.csv", "cost_usd")?;
        }
        let share = |x: i128| if total == 0 { "0".to_string() } else { format!("{:.4}", x as f64 / total as f64) };
        out.push_str(&format!("\n== {st}: total {} over all replications\n", money(total)));
        // By business unit.
        let mut by_bu: Vec<(String, u64, u64, i128)> = Vec::new();
        for r in bus.iter().filter(|r| &r[b_st] == st) {
            let f = "business_units.csv";
            let (t, c, x) = (count(&r[b_tasks], f, "tasks")?, count(&r[b_correct], f, "correct")?, pico(&r[b_cost], f, "cost_usd")?);
            match by_bu.iter_mut().find(|e| e.0 == r[b_bu]) {
                Some(e) => {
                    e.1 += t;
                    e.2 += c;
                    e.3 += x;
                }
                None => by_bu.push((r[b_bu].clone(), t, c, x)),
            }
        }
        out.push_str(&format!("  {:<24} {:>8} {:>8} {:>14} {:>7}\n", "business unit", "tasks", "correct", "cost", "share"));
        for (bu, t, c, x) in &by_bu {
            out.push_str(&format!("  {bu:<24} {t:>8} {c:>8} {:>14} {:>6.1}%\n", money(*x), 100.0 * *x as f64 / total.max(1) as f64));
            rec(["business_unit", st, bu, "", "", &t.to_string(), &c.to_string(), "", &usd(*x), &share(*x), "", "", "", ""])?;
        }
        // By step (and agent).
        let mut by_step: Vec<(String, String, u64, u64, i128)> = Vec::new();
        for r in agents.iter().filter(|r| &r[a_st] == st) {
            let f = "agents.csv";
            let (calls, roots, x) =
                (count(&r[a_calls], f, "calls")?, count(&r[a_root], f, "root_causes")?, pico(&r[a_cost], f, "cost_usd")?);
            match by_step.iter_mut().find(|e| e.0 == r[a_step]) {
                Some(e) => {
                    e.2 += calls;
                    e.3 += roots;
                    e.4 += x;
                }
                None => by_step.push((r[a_step].clone(), r[a_agent].clone(), calls, roots, x)),
            }
        }
        out.push_str(&format!("  {:<24} {:<18} {:>8} {:>14} {:>7} {:>6}\n", "step", "agent", "calls", "cost", "share", "roots"));
        for (step, agent, calls, roots, x) in &by_step {
            out.push_str(&format!(
                "  {step:<24} {agent:<18} {calls:>8} {:>14} {:>6.1}% {roots:>6}\n",
                money(*x),
                100.0 * *x as f64 / total.max(1) as f64
            ));
            rec(["step", st, "", step, agent, "", "", &roots.to_string(), &usd(*x), &share(*x), "", "", "", ""])?;
        }
        let mut by_agent: Vec<(String, i128)> = Vec::new();
        for (_, agent, _, _, x) in &by_step {
            match by_agent.iter_mut().find(|e| &e.0 == agent) {
                Some(e) => e.1 += x,
                None => by_agent.push((agent.clone(), *x)),
            }
        }
        for (agent, x) in &by_agent {
            rec(["agent", st, "", "", agent, "", "", "", &usd(*x), &share(*x), "", "", "", ""])?;
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
            ])?;
            findings.push(f);
        }
    }
    match write_atomic(&dir.join("audit.csv"), &report::csv::into_bytes(w)?) {
        Ok(()) => out.push_str(&format!("\nwrote {}\n", dir.join("audit.csv").display())),
        // A read-only folder (an archive, a colleague's results) is still audited.
        Err(e) => out.push_str(&format!("\nnote: audit.csv not written: {e}\n")),
    }
    Ok((out, findings))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A small audited run folder, written as `orchsim run --audit --task-log` does.
    fn folder() -> (tempfile::TempDir, Vec<(String, Vec<u8>)>) {
        let d = tempfile::tempdir().unwrap();
        let sets = [("workload.tasks".to_string(), "8".to_string()), ("replications".to_string(), "2".to_string())];
        let out = Runner::load(None, &sets).unwrap().jobs(1).task_log(true).audit(true).run().unwrap();
        let plan = crate::commands::RunPlan { audit: true, task_log: true, ..Default::default() };
        crate::commands::write_run(&plan, out, d.path()).unwrap();
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(d.path())
            .unwrap()
            .flatten()
            .map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap()))
            .collect();
        files.sort();
        (d, files)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        /// Any byte of any data file changed, or any cut short: `check` and `audit`
        /// refuse with an error (never a panic, never an analysis), and the
        /// untouched folder passes.
        #[test]
        fn a_damaged_folder_is_refused_never_analysed(file in 0usize..6, at in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<bool>()) {
            let (d, files) = folder();
            prop_assert!(check(d.path()).is_ok());
            // Every file but the manifest, the root of trust; its checked fields have
            // their own tests.
            let data: Vec<&(String, Vec<u8>)> = files.iter().filter(|(n, _)| n != "manifest.json").collect();
            let (name, good) = data[file % data.len()];
            let mut bad = good.clone();
            let i = at.index(bad.len());
            if cut { bad.truncate(i) } else { bad[i] = byte }
            std::fs::write(d.path().join(name), &bad).unwrap();
            let damaged = bad != *good;
            prop_assert_eq!(check(d.path()).is_err(), damaged, "{}", name);
            prop_assert_eq!(audit(d.path()).is_err(), damaged, "{}", name);
        }
    }

    #[test]
    fn an_edited_resolved_scenario_is_caught() {
        let (d, files) = folder();
        let m = &files.iter().find(|(n, _)| n == "manifest.json").unwrap().1;
        let text = String::from_utf8(m.clone()).unwrap();
        let edited = text.replacen("difficulty = ", "difficulty = 9", 1);
        assert_ne!(edited, text);
        std::fs::write(d.path().join("manifest.json"), edited).unwrap();
        let e = check(d.path()).unwrap_err().to_string();
        assert!(e.contains("scenario_toml does not match"), "{e}");
    }

    #[test]
    fn money_is_to_the_cent_or_three_significant_digits() {
        assert_eq!(money(0), "$0.00");
        assert_eq!(money(12_345_678_900_000_000), "$12,345.68");
        assert_eq!(money(-50_000_000_000), "-$0.05");
        assert_eq!(money(1_004_999_999_999), "$1.00");
        assert_eq!(money(1_005_000_000_000), "$1.01");
        assert_eq!(money(123_456_000), "$0.000123");
        assert_eq!(money(9_990_000_000), "$0.00999");
    }

    #[test]
    fn dollar_amounts_parse_exactly_or_fail() {
        assert_eq!(pico("1.5", "f", "c").unwrap(), 1_500_000_000_000);
        assert_eq!(pico("-0.000000000001", "f", "c").unwrap(), -1);
        for bad in ["", "abc", "1.2.3", "1e3", " 1", "1.0000000000001", "-", "1."] {
            let e = pico(bad, "agents.csv", "cost_usd").unwrap_err();
            assert!(e.to_string().contains("agents.csv: column `cost_usd`"), "{bad}: {e}");
        }
        assert!(count("7", "f", "c").unwrap() == 7 && count("-1", "f", "c").is_err());
    }

    #[test]
    fn the_verdict_follows_from_the_tests() {
        let sys = |p: f64| Outcome::Systematic { stat: 1.0, p, what: format!("p{p}"), note: String::new() };
        let clear = Outcome::Clear(String::new());
        let unclear = Outcome::Unclear { stat: 2.0, p: 1e-9, note: String::new() };
        let none = Outcome::NotRun(String::new());
        assert_eq!(verdict(&[sys(1e-5), clear.clone()]).0, "systematic");
        let (_, _, p, what) = verdict(&[sys(1e-5), sys(1e-9)]);
        assert_eq!((p, what.as_str()), (1e-9, "p0.000000001"), "the strongest test is cited");
        assert_eq!(verdict(&[clear.clone(), none.clone()]).0, "stochastic");
        assert_eq!(verdict(&[unclear.clone(), clear.clone()]).0, "undetermined", "a significant pattern is never called stochastic");
        assert_eq!(verdict(&[sys(1e-4), unclear]).0, "systematic");
        assert_eq!(verdict(&[none.clone(), none]).0, "insufficient data");
    }
}
