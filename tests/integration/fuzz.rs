//! Fuzzing the scenario loader: mutated shipped scenarios through `orchsim run` (a debug
//! build, so an integer overflow panics), and arbitrary bytes through the loader in
//! process. No case may panic or hang; every case either runs (exit 0) or is refused
//! (exit 2).
//!
//! The mutations are drawn from a seeded generator, so a failure names a case that can
//! be replayed. `ORCHSIM_FUZZ_CASES` (default 300) and `ORCHSIM_FUZZ_SEED` (default 1)
//! size and seed the corpus, and `ORCHSIM_FUZZ_BIN` runs it against another binary;
//! `scripts/fuzz.sh` runs a larger one.

use std::path::Path;
use std::time::Duration;

use orchsim::scenario::tree::{Node, Value, parse_document};
use orchsim::scenario::{from_tree, to_toml_string};

use crate::common::{orchsim, root, tmp};

/// A run this long is a hang (a tiny run takes well under a second).
const CASE_LIMIT: Duration = Duration::from_secs(60);

/// SplitMix64: small, seedable, good enough to pick mutations.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn env_num(key: &str, default: u64) -> u64 {
    std::env::var(key).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Index paths of every node below the root (table entries and array elements).
fn paths(n: &Node, here: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
    let children: Vec<&Node> = match &n.value {
        Value::Table(t) => t.iter().map(|(_, v)| v).collect(),
        Value::Array(a) => a.iter().collect(),
        _ => return,
    };
    for (i, c) in children.into_iter().enumerate() {
        here.push(i);
        out.push(here.clone());
        paths(c, here, out);
        here.pop();
    }
}

fn child(n: &mut Node, i: usize) -> &mut Node {
    match &mut n.value {
        Value::Table(t) => &mut t[i].1,
        Value::Array(a) => &mut a[i],
        _ => unreachable!("paths lead through tables and arrays"),
    }
}

fn at<'a>(root: &'a mut Node, path: &[usize]) -> &'a mut Node {
    path.iter().fold(root, |n, &i| child(n, i))
}

const NUMBERS: [f64; 12] = [0.0, -1.0, 1e308, -1e308, f64::MAX, 1e-300, 5e-324, 0.5, 1e15, 4_294_967_295.0, 1e9, 2.5];
const INTS: [i64; 6] = [i64::MAX, i64::MIN, 0, -1, 4_294_967_296, 65_536];

/// Applies one mutation; returns its description.
fn mutate(root: &mut Node, g: &mut Gen) -> String {
    let mut all = Vec::new();
    paths(root, &mut Vec::new(), &mut all);
    if all.is_empty() {
        return "nothing to mutate".into();
    }
    let path = all[g.below(all.len())].clone();
    let kind = g.below(11);
    if kind == 0 {
        // Delete the node from its parent.
        let (last, parent) = path.split_last().unwrap();
        match &mut at(root, parent).value {
            Value::Table(t) => {
                t.remove(*last);
            }
            Value::Array(a) => {
                a.remove(*last);
            }
            _ => {}
        }
        return format!("delete {path:?}");
    }
    if kind == 1 {
        // Add an unknown key, or copy a node elsewhere.
        let donor = at(root, &all[g.below(all.len())]).clone();
        if let Value::Table(t) = &mut at(root, &path).value {
            t.push((format!("k{}", g.below(100)), donor));
            return format!("add key under {path:?}");
        }
    }
    let n = at(root, &path);
    let value = match kind {
        2 | 3 => Value::Float(NUMBERS[g.below(NUMBERS.len())]),
        4 => Value::Int(INTS[g.below(INTS.len())]),
        5 => Value::Str("NaN".into()),
        6 => Value::Float([f64::NAN, f64::INFINITY, f64::NEG_INFINITY][g.below(3)]),
        7 => [Value::Str("x".into()), Value::Bool(true), Value::Array(vec![]), Value::Table(vec![])][g.below(4)].clone(),
        8 => Value::Str("é".repeat(10_000 + g.below(10_000))),
        9 => {
            // Deep nesting.
            let mut v = n.clone();
            for _ in 0..(20 + g.below(60)) {
                v = Node::new(if g.below(2) == 0 { Value::Array(vec![v]) } else { Value::Table(vec![("d".into(), v)]) });
            }
            v.value
        }
        _ => match &n.value {
            // Scale a number by a large factor.
            Value::Int(i) => Value::Int(i.saturating_mul(1 << 40)),
            Value::Float(f) => Value::Float(f * 1e200),
            other => other.clone(),
        },
    };
    let shown = format!("{}", Node::new(value.clone()));
    n.value = value;
    format!("set {path:?} = {}", shown.chars().take(40).collect::<String>())
}

/// The shipped scenarios, parsed.
fn shipped() -> Vec<(String, Node)> {
    let mut v: Vec<(String, Node)> = std::fs::read_dir(root().join("scenarios"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), parse_document(&std::fs::read_to_string(&p).unwrap()).unwrap()))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[derive(Debug, Default)]
struct Counts {
    cases: u64,
    ran: u64,
    refused: u64,
    failures: Vec<String>,
}

/// Runs `cases` mutated scenarios through `orchsim run`; used by the test and the script.
fn fuzz_cli(dir: &Path, cases: u64, seed: u64) -> Counts {
    let base = shipped();
    let mut g = Gen(seed);
    let mut c = Counts::default();
    for case in 0..cases {
        let (name, tree) = &base[g.below(base.len())];
        let mut tree = tree.clone();
        let what: Vec<String> = (0..1 + g.below(2)).map(|_| mutate(&mut tree, &mut g)).collect();
        let file = dir.join(format!("case{case}.toml"));
        std::fs::write(&file, to_toml_string(&tree)).unwrap();
        let out = dir.join(format!("out{case}"));
        let args =
            ["run", file.to_str().unwrap(), "--tasks", "20", "--replications", "1", "--no-charts", "--quiet", "--jobs", "1", "--out"];
        // `ORCHSIM_FUZZ_BIN` points the corpus at another build (e.g. an older one).
        let mut cmd = match std::env::var_os("ORCHSIM_FUZZ_BIN") {
            Some(bin) => {
                let mut c = assert_cmd::Command::new(bin);
                c.current_dir(dir);
                c
            }
            None => orchsim(dir),
        };
        let o = cmd.args(args).arg(&out).timeout(CASE_LIMIT).output().unwrap();
        c.cases += 1;
        match o.status.code() {
            Some(0) => c.ran += 1,
            Some(2) => c.refused += 1,
            code => {
                let err = String::from_utf8_lossy(&o.stderr);
                let why = if code.is_none() { "hang or signal".to_string() } else { format!("exit {code:?}") };
                c.failures.push(format!("case {case} ({name}; {}): {why}: {}", what.join("; "), err.chars().take(400).collect::<String>()));
                std::fs::copy(&file, dir.join(format!("failed{case}.toml"))).ok();
            }
        }
        std::fs::remove_file(&file).ok();
        std::fs::remove_dir_all(&out).ok();
    }
    c
}

#[test]
fn mutated_scenarios_run_or_are_refused_never_panic_or_hang() {
    let t = tmp("fuzz");
    let (cases, seed) = (env_num("ORCHSIM_FUZZ_CASES", 300), env_num("ORCHSIM_FUZZ_SEED", 1));
    let c = fuzz_cli(t.path(), cases, seed);
    println!("fuzz: {} cases (seed {seed}): {} ran, {} refused, {} failed", c.cases, c.ran, c.refused, c.failures.len());
    assert!(c.failures.is_empty(), "{:#?}\n(kept in {})", c.failures, t.keep().display());
    // The corpus exercises both paths.
    assert!(c.ran > 0 && c.refused > 0, "{c:?}");
}

#[test]
fn arbitrary_bytes_never_panic_the_loader() {
    let texts: Vec<Vec<u8>> = shipped().iter().map(|(n, _)| std::fs::read(root().join("scenarios").join(n)).unwrap()).collect();
    let mut g = Gen(env_num("ORCHSIM_FUZZ_SEED", 1));
    let cases = env_num("ORCHSIM_FUZZ_CASES", 300) * 10;
    let (mut parsed, mut valid) = (0, 0);
    for _ in 0..cases {
        let mut b = texts[g.below(texts.len())].clone();
        match g.below(3) {
            0 => b = (0..g.below(2000)).map(|_| g.next() as u8).collect(),
            1 => {
                for _ in 0..1 + g.below(8) {
                    let i = g.below(b.len());
                    b[i] = g.next() as u8;
                }
            }
            _ => {
                let i = g.below(b.len());
                b.truncate(i);
            }
        }
        let text = String::from_utf8_lossy(&b);
        let r = std::panic::catch_unwind(|| {
            let tree = parse_document(&text).ok()?;
            Some(from_tree(&tree, "x.toml", &root().join("scenarios")).is_ok())
        });
        match r {
            Ok(Some(ok)) => {
                parsed += 1;
                valid += ok as u64;
            }
            Ok(None) => {}
            Err(_) => panic!("the loader panicked on:\n{text}"),
        }
    }
    println!("bytes: {cases} cases: {parsed} parsed as TOML, {valid} valid");
    assert!(parsed > 0);
}
