//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};

/// The orchsim binary, run in `dir`.
pub fn orchsim(dir: &Path) -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("orchsim").expect("binary built");
    c.current_dir(dir).env_remove("CI");
    c
}

/// A fresh temporary folder named after the test.
pub fn tmp(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(&format!("orchsim-{name}-")).tempdir().expect("temp dir")
}

/// The repository root (for scenario files).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A scenario file under `scenarios/`.
pub fn scenario(name: &str) -> PathBuf {
    root().join("scenarios").join(name)
}

/// Every data file of a run folder (CSV and JSONL), sorted by name, with contents.
pub fn data_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .expect("run folder")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("csv" | "jsonl")))
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect();
    v.sort();
    v
}

/// Parses an exact decimal dollar string into pico-dollars (independent of the crate's
/// own formatting code).
pub fn pico(s: &str) -> i128 {
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let (w, f) = s.split_once('.').unwrap_or((s, ""));
    assert!(f.len() <= 12, "more than 12 decimals: {s}");
    let v = w.parse::<i128>().unwrap() * 1_000_000_000_000 + format!("{f:0<12}").parse::<i128>().unwrap();
    if neg { -v } else { v }
}

/// Reads a CSV file into (header, rows).
pub fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let h = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r.records().map(|x| x.unwrap().iter().map(String::from).collect()).collect();
    (h, rows)
}

/// A small sweep of the default scenario over two seeds into `dir/out`.
pub fn small_sweep(dir: &Path, out: &str, extra: &[&str]) {
    let s = scenario("research-report.toml");
    orchsim(dir)
        .args(["sweep", s.to_str().unwrap(), "--tasks", "10", "--replications", "2", "--no-charts", "--quiet", "--out", out])
        .args(["--vary", "seed=1,2"])
        .args(extra)
        .assert()
        .success();
}

/// Loads a scenario from TOML text through the public loader (a temp file, as a user
/// would write it); panics with the text when it does not load.
pub fn load_scenario(toml: &str) -> orchsim::model::Scenario {
    use std::io::Write;
    let mut f = tempfile::Builder::new().suffix(".toml").tempfile().expect("temp file");
    f.write_all(toml.as_bytes()).expect("write scenario");
    match orchsim::scenario::load(Some(f.path()), &[]) {
        Ok(l) => l.scenario,
        Err(e) => panic!("scenario does not load: {e}\n---\n{toml}"),
    }
}
