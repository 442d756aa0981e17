//! `orchsim sweep` and `orchsim merge`: equivalence with `run`, determinism, shards,
//! resume after a kill, invalid points.

use std::path::Path;

use crate::common::*;

const GRID: &[&str] = &["--vary", "strategies.pipeline.handoff_tokens=0:3000:4", "--vary", "agents.quality_check.review.recall=0.5,0.9"];

fn sweep(dir: &Path, out: &str, extra: &[&str]) {
    orchsim(dir)
        .args([
            "sweep",
            scenario("research-report.toml").to_str().unwrap(),
            "--tasks",
            "40",
            "--replications",
            "3",
            "--no-charts",
            "--quiet",
            "--out",
            out,
        ])
        .args(GRID)
        .args(extra)
        .assert()
        .success();
}

fn sweep_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v = data_files(dir);
    v.retain(|(n, _)| n.starts_with("sweep"));
    assert_eq!(v.len(), 2, "sweep.csv and sweep_replications.csv in {}", dir.display());
    v
}

#[test]
fn a_sweep_point_equals_a_run_with_the_same_overrides() {
    let t = tmp("sweep_vs_run");
    sweep(t.path(), "s", &[]);
    orchsim(t.path())
        .args([
            "run",
            scenario("research-report.toml").to_str().unwrap(),
            "--tasks",
            "40",
            "--replications",
            "3",
            "--no-charts",
            "--quiet",
            "--out",
            "r",
        ])
        .args(["--set", "strategies.pipeline.handoff_tokens=2000", "--set", "agents.quality_check.review.recall=0.9"])
        .assert()
        .success();
    // Point 5 = (2000, 0.9): axes in order, first slowest.
    let strip = |line: &str, n: usize| line.splitn(n + 1, ',').nth(n).unwrap().to_string();
    let sweep_csv = std::fs::read_to_string(t.path().join("s/sweep.csv")).unwrap();
    let point: Vec<String> = sweep_csv.lines().filter(|l| l.starts_with("5,2000,0.9,")).map(|l| strip(l, 3)).collect();
    let summary = std::fs::read_to_string(t.path().join("r/summary.csv")).unwrap();
    let run: Vec<String> = summary.lines().skip(1).map(String::from).collect();
    assert_eq!(point.len(), 4 * 29);
    assert_eq!(point, run);
    let reps = std::fs::read_to_string(t.path().join("s/sweep_replications.csv")).unwrap();
    let point_reps: Vec<String> = reps.lines().filter(|l| l.starts_with("5,2000,0.9,")).map(|l| strip(l, 3)).collect();
    let run_reps: Vec<String> =
        std::fs::read_to_string(t.path().join("r/replications.csv")).unwrap().lines().skip(1).map(String::from).collect();
    assert_eq!(point_reps, run_reps);
}

#[test]
fn jobs_and_shards_never_change_a_byte() {
    let t = tmp("sweep_shards");
    sweep(t.path(), "whole1", &["--jobs", "1"]);
    sweep(t.path(), "whole2", &["--jobs", "2"]);
    let whole = sweep_files(&t.path().join("whole1"));
    assert_eq!(whole, sweep_files(&t.path().join("whole2")));
    for k in 0..3 {
        sweep(t.path(), &format!("shard{k}"), &["--shard", &format!("{k}/3")]);
        assert!(!t.path().join(format!("shard{k}/sweep.csv")).exists(), "a shard alone is not the whole sweep");
    }
    orchsim(t.path()).args(["merge", "shard2", "shard0", "shard1", "--out", "merged", "--no-charts"]).assert().success();
    assert_eq!(whole, sweep_files(&t.path().join("merged")));
    // A merge with a shard missing names the missing points and exits 1.
    let out = orchsim(t.path()).args(["merge", "shard0", "shard1", "--out", "partial", "--no-charts"]).assert().code(1);
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("points missing"));
}

#[test]
fn resume_after_a_kill_finishes_only_the_missing_points() {
    let t = tmp("sweep_resume");
    let args = |out: &str| -> Vec<String> {
        let mut a: Vec<String> = [
            "sweep",
            scenario("research-report.toml").to_str().unwrap(),
            "--tasks",
            "30",
            "--replications",
            "2",
            "--no-charts",
            "--quiet",
            "--jobs",
            "1",
            "--out",
            out,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        a.extend(["--vary".to_string(), "strategies.pipeline.handoff_tokens=0:4900:8".to_string()]);
        a
    };
    orchsim(t.path()).args(args("whole")).assert().success();
    let whole = sweep_files(&t.path().join("whole"));
    let parts = t.path().join("killed/parts");
    let points = || {
        let mut v: Vec<String> = std::fs::read_dir(&parts)
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        v.retain(|n| n.starts_with("point-"));
        v.sort();
        v
    };
    // Killed (abort, as kill -9) right after point 3 is written: a deterministic hook.
    orchsim(t.path()).args(args("killed")).env("ORCHSIM_TEST_KILL_AFTER", "point-000003.csv").assert().failure();
    let done = points();
    assert!(done.contains(&"point-000003.csv".to_string()) && done.len() < 8, "killed part-way: {done:?}");
    assert!(!t.path().join("killed/sweep.csv").exists() && !t.path().join("killed/manifest.json").exists());
    // A half-written temporary file left by a kill is ignored, and removed.
    std::fs::write(parts.join(".point-000007.csv.tmp-99999"), "point,garbage").unwrap();
    let mtime = |p: &str| std::fs::metadata(parts.join(p)).unwrap().modified().unwrap();
    let first = mtime("point-000000.csv");
    // Killed again between the assembled files and the manifest, then resumed.
    orchsim(t.path()).args(args("killed")).arg("--resume").env("ORCHSIM_TEST_KILL_AFTER", "sweep.csv").assert().failure();
    assert!(!t.path().join("killed/manifest.json").exists());
    orchsim(t.path()).args(args("killed")).arg("--resume").assert().success();
    assert_eq!(mtime("point-000000.csv"), first, "computed points are kept, not recomputed");
    assert_eq!(points().len(), 8, "no temporary file left: {:?}", points());
    assert!(!parts.join(".point-000007.csv.tmp-99999").exists());
    assert_eq!(whole, sweep_files(&t.path().join("killed")));

    // Resuming into a folder of a different sweep is refused, and changes nothing.
    let mut other = args("killed");
    other[3] = "31".into();
    let a = orchsim(t.path()).args(other).arg("--resume").assert().code(2);
    assert!(String::from_utf8_lossy(&a.get_output().stderr).contains("--force"));
    assert_eq!(whole, sweep_files(&t.path().join("killed")));
}

/// The sweep folder's plan, manifest and assembled files agree: every point of its own
/// plan, and the manifest's digests.
fn assert_consistent(dir: &Path) {
    let plan: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("sweep_plan.json")).unwrap()).unwrap();
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["sweep"], plan, "the manifest is of the folder's plan");
    for (name, digest) in m["files"].as_object().unwrap() {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        use sha2::Digest;
        let hex: String = sha2::Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(digest.as_str().unwrap(), hex, "{name}");
    }
    let values: Vec<String> =
        plan["axes"][0]["values"].as_array().unwrap().iter().map(|v| v.to_string().trim_matches('"').to_string()).collect();
    let (h, rows) = read_csv(&dir.join("sweep_replications.csv"));
    let axis = h.iter().position(|c| c == plan["axes"][0]["path"].as_str().unwrap()).expect("the plan's axis is a column");
    let mut seen: Vec<String> = rows.iter().map(|r| r[axis].clone()).collect();
    seen.dedup();
    assert_eq!(seen, values);
}

#[test]
fn a_folder_has_one_writer_and_another_sweeps_results_are_never_lost() {
    let t = tmp("sweep_two");
    let sc = scenario("research-report.toml");
    let args = |vary: &str| -> Vec<String> {
        ["sweep", sc.to_str().unwrap(), "--tasks", "20", "--replications", "2", "--no-charts", "--quiet", "--out", "o", "--vary", vary]
            .iter()
            .map(|s| s.to_string())
            .collect()
    };
    // Two sweeps started at once into one folder: one result, consistent with its plan.
    let bin = assert_cmd::cargo::cargo_bin("orchsim");
    let spawn = |vary: &str| {
        std::process::Command::new(&bin).current_dir(t.path()).args(args(vary)).stderr(std::process::Stdio::piped()).spawn().unwrap()
    };
    let (a, b) = (spawn("seed=1,2,3"), spawn("seed=4,5"));
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let codes = [a.status.code(), b.status.code()];
    assert!(codes.contains(&Some(0)), "{codes:?}");
    for o in [&a, &b] {
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success() || err.contains("in use by another orchsim process") || err.contains("--force"), "{err}");
    }
    assert_consistent(&t.path().join("o"));

    // While a process holds the folder's lock, another changes nothing and says so.
    let before = sweep_files(&t.path().join("o"));
    let lock = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(t.path().join(".o.lock")).unwrap();
    #[allow(clippy::incompatible_msrv)] // Rust 1.89, as statrs needs
    lock.lock().unwrap();
    let busy = orchsim(t.path()).args(args("seed=7,8")).arg("--force").assert().code(1);
    assert!(String::from_utf8_lossy(&busy.get_output().stderr).contains("in use by another orchsim process"));
    drop(lock);
    assert_eq!(before, sweep_files(&t.path().join("o")));

    // Another sweep, then a run, into the folder: both refused, nothing lost.
    let other = orchsim(t.path()).args(args("seed=9,10")).assert().code(2);
    assert!(String::from_utf8_lossy(&other.get_output().stderr).contains("holds the results of a different sweep"));
    let run = orchsim(t.path()).args(["run", "--tasks", "10", "--quiet", "--out", "o"]).assert().code(2);
    assert!(String::from_utf8_lossy(&run.get_output().stderr).contains("--out DIR"));
    assert_eq!(before, sweep_files(&t.path().join("o")));
    assert_consistent(&t.path().join("o"));
    // With --force, the other sweep replaces it, consistently.
    orchsim(t.path()).args(args("seed=9,10")).arg("--force").assert().success();
    assert_consistent(&t.path().join("o"));
}

#[test]
fn invalid_points_fail_before_anything_runs() {
    let t = tmp("sweep_invalid");
    let out = orchsim(t.path())
        .args([
            "sweep",
            scenario("research-report.toml").to_str().unwrap(),
            "--out",
            "o",
            "--vary",
            "agents.generalist.error_rate=0.1,1.5,2",
        ])
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("agents.generalist.error_rate = 1.5: must be between 0 and 1"), "{err}");
    assert!(err.contains("agents.generalist.error_rate = 2: must be between 0 and 1"), "{err}");
    assert!(!t.path().join("o").exists());
    orchsim(t.path()).args(["sweep", scenario("research-report.toml").to_str().unwrap(), "--vary", "x=1:2"]).assert().code(2);
    orchsim(t.path())
        .args(["sweep", scenario("research-report.toml").to_str().unwrap(), "--vary", "seed=1,2", "--shard", "3/3"])
        .assert()
        .code(2);
    let nothing = orchsim(t.path()).args(["sweep", scenario("mmc.toml").to_str().unwrap()]).assert().code(2);
    assert!(String::from_utf8_lossy(&nothing.get_output().stderr).contains("nothing to sweep"));
}

#[test]
fn sweep_vary_table_in_the_file_is_used() {
    let t = tmp("sweep_table");
    let text = std::fs::read_to_string(scenario("research-report.toml")).unwrap();
    let at = text.find("[sweep.vary]").expect("the default scenario ships a sweep");
    let mut text = text[..at].to_string();
    text.push_str(
        "[sweep.vary]\n\"strategies.pipeline.platform.usd_per_task\" = [0.0, 0.5]\n\"models.gpt-4o-2024-08-06.input_usd_per_mtok\" = \"2.5:5:2\"\n",
    );
    std::fs::write(t.path().join("s.toml"), text).unwrap();
    orchsim(t.path()).args(["sweep", "s.toml", "--tasks", "20", "--replications", "2", "--out", "o"]).assert().success();
    let (h, rows) = read_csv(&t.path().join("o/sweep.csv"));
    assert_eq!(h[1], "strategies.pipeline.platform.usd_per_task");
    assert_eq!(h[2], "models.gpt-4o-2024-08-06.input_usd_per_mtok");
    assert_eq!(rows.iter().map(|r| r[0].as_str()).collect::<std::collections::BTreeSet<_>>().len(), 4);
    // Cost per task of the pipeline rises by exactly the platform fee.
    let cpt = |p: &str| -> f64 {
        rows.iter().find(|r| r[0] == p && r[3] == "pipeline" && r[4] == "platform_fee_usd").unwrap()[5].parse::<f64>().unwrap()
    };
    assert_eq!(cpt("0"), 0.0);
    assert!((cpt("2") - 0.5 * 20.0).abs() < 1e-9);
    assert!(t.path().join("o/charts/sweep_cheapest.png").is_file(), "two-axis sweeps get a heat map");
}

#[test]
fn shipped_sweeps_run_from_their_files_and_command_line_axes_replace_them() {
    let t = tmp("sweep_shipped");
    for f in ["research-report.toml", "coordination-tax.toml", "code-review.toml"] {
        let text = std::fs::read_to_string(scenario(f)).unwrap();
        assert!(text.contains("[sweep.vary]"), "{f} ships a ready-made sweep");
    }
    orchsim(t.path())
        .args([
            "sweep",
            scenario("coordination-tax.toml").to_str().unwrap(),
            "--tasks",
            "20",
            "--replications",
            "2",
            "--out",
            "c",
            "--no-charts",
            "--quiet",
        ])
        .assert()
        .success();
    let (h, _) = read_csv(&t.path().join("c/sweep.csv"));
    assert_eq!(&h[1..3], ["strategies.pipeline.handoff_tokens", "strategies.pipeline.platform.usd_per_task"]);
    orchsim(t.path())
        .args([
            "sweep",
            scenario("coordination-tax.toml").to_str().unwrap(),
            "--tasks",
            "20",
            "--replications",
            "2",
            "--out",
            "d",
            "--no-charts",
            "--quiet",
        ])
        .args(["--vary", "agents.frontier.error_rate=0.2,0.4"])
        .assert()
        .success();
    let (h, rows) = read_csv(&t.path().join("d/sweep.csv"));
    assert_eq!(h[1], "agents.frontier.error_rate");
    assert_eq!(h[2], "strategy", "the file's axes are replaced, not added to");
    assert_eq!(rows.iter().map(|r| r[0].as_str()).collect::<std::collections::BTreeSet<_>>().len(), 2);
}

#[test]
fn a_price_multiplier_scales_a_models_bill_exactly() {
    let t = tmp("price_multiplier");
    for (out, m) in [("a", "1"), ("b", "3")] {
        orchsim(t.path())
            .args(["run", "--tasks", "30", "--replications", "2", "--no-charts", "--quiet", "--out", out])
            .args(["--set", "agents.generalist.input_tokens=2000", "--set", "agents.generalist.output_tokens=500"])
            .args(["--set", &format!("models.gpt-4o-2024-08-06.price_multiplier={m}")])
            .assert()
            .success();
    }
    let cost = |d: &str| -> i128 {
        let (h, rows) = read_csv(&t.path().join(d).join("replications.csv"));
        let c = h.iter().position(|x| x == "cost_usd").unwrap();
        rows.iter().filter(|r| r[2] == "single").map(|r| pico(&r[c])).sum()
    };
    // Transient errors are not billed and the error draws do not depend on prices, so
    // the single agent's bill scales exactly.
    assert_eq!(cost("b"), 3 * cost("a"));
}

#[test]
fn validate_checks_every_point_of_a_files_sweep_with_its_line() {
    let t = tmp("validate_sweep");
    let text = std::fs::read_to_string(scenario("research-report.toml")).unwrap();
    let at = text.find("[sweep.vary]").unwrap();
    std::fs::write(t.path().join("s.toml"), format!("{}[sweep.vary]\n\"agents.generalist.error_rate\" = [0.1, 3]\n", &text[..at])).unwrap();
    let line = text[..at].lines().count() + 2;
    let a = orchsim(t.path()).args(["validate", "s.toml"]).assert().code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(err.contains(&format!("s.toml:{line}: agents.generalist.error_rate = 3: must be between 0 and 1")), "{err}");
    let ok = orchsim(t.path()).args(["validate", scenario("coordination-tax.toml").to_str().unwrap()]).assert().success();
    assert!(String::from_utf8_lossy(&ok.get_output().stdout).contains("sweep of 36 points"));
}
