//! `--audit`, `replay`, `replay --verify-only` and `audit`.

use std::path::Path;

use crate::common::*;

fn audited_run(dir: &Path, out: &str, extra: &[&str]) {
    orchsim(dir)
        .args(["run", "--tasks", "50", "--replications", "3", "--no-charts", "--quiet", "--audit", "--task-log", "--out", out])
        .args(extra)
        .assert()
        .success();
}

fn stderr(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}

#[test]
fn replay_confirms_an_untouched_run_and_names_the_first_edited_line() {
    let t = tmp("replay");
    audited_run(t.path(), "o", &[]);
    let ok = orchsim(t.path()).args(["replay", "o"]).assert().success();
    assert!(String::from_utf8_lossy(&ok.get_output().stdout).contains("identical"));
    let path = t.path().join("o/agents.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    lines[6] = lines[6].replacen(",0,", ",1,", 1);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let bad = orchsim(t.path()).args(["replay", "o"]).assert().code(1);
    assert!(stderr(&bad).contains("agents.csv:7: differs"), "{}", stderr(&bad));
    let v = orchsim(t.path()).args(["replay", "--verify-only", "o"]).assert().code(1);
    assert!(stderr(&v).contains("agents.csv: sha256 differs"), "{}", stderr(&v));
}

#[test]
fn verify_only_catches_edits_deletions_and_truncation_of_the_trail() {
    let t = tmp("verify");
    audited_run(t.path(), "o", &[]);
    orchsim(t.path()).args(["replay", "--verify-only", "o"]).assert().success();
    let path = t.path().join("o/events.jsonl");
    let good = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = good.lines().collect();
    assert!(lines[0].contains("\"format\":\"orchsim-trail/1\"") && lines[0].contains("\"seed\":20261125"));
    let expect_line = |text: String, line: usize| {
        std::fs::write(&path, text).unwrap();
        let a = orchsim(t.path()).args(["replay", "--verify-only", "o"]).assert().code(1);
        assert!(stderr(&a).contains(&format!("events.jsonl:{line}:")), "line {line}: {}", stderr(&a));
    };
    // An edited cost.
    let mut edited: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
    let k = edited.iter().position(|l| l.contains("\"cost_usd\":\"0.0")).unwrap();
    edited[k] = edited[k].replacen("\"cost_usd\":\"0.0", "\"cost_usd\":\"0.1", 1);
    expect_line(edited.join("\n") + "\n", k + 1);
    // A deleted line, a duplicated one, two swapped.
    let mut del: Vec<&str> = lines.clone();
    del.remove(10);
    expect_line(del.join("\n") + "\n", 11);
    let mut dup: Vec<&str> = lines.clone();
    dup.insert(20, lines[20]);
    expect_line(dup.join("\n") + "\n", 22);
    let mut swap: Vec<&str> = lines.clone();
    swap.swap(30, 31);
    expect_line(swap.join("\n") + "\n", 31);
    // Cut short: the chain holds but the manifest's line count does not.
    let cut: Vec<&str> = lines[..lines.len() - 5].to_vec();
    std::fs::write(&path, cut.join("\n") + "\n").unwrap();
    let a = orchsim(t.path()).args(["replay", "--verify-only", "o"]).assert().code(1);
    assert!(stderr(&a).contains("cut short"), "{}", stderr(&a));
}

#[test]
fn the_trail_accounts_for_every_dollar_and_does_not_depend_on_threads() {
    let t = tmp("trail_money");
    audited_run(t.path(), "a", &["--jobs", "1"]);
    audited_run(t.path(), "b", &["--jobs", "2"]);
    assert_eq!(data_files(&t.path().join("a")), data_files(&t.path().join("b")));
    let trail = std::fs::read_to_string(t.path().join("a/events.jsonl")).unwrap();
    let mut sums: std::collections::BTreeMap<(u64, String), i128> = Default::default();
    for line in trail.lines().skip(1) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if let Some(c) = v["cost_usd"].as_str() {
            *sums.entry((v["rep"].as_u64().unwrap(), v["strategy"].as_str().unwrap().to_string())).or_default() += pico(c);
        }
    }
    let (h, reps) = read_csv(&t.path().join("a/replications.csv"));
    let ci = h.iter().position(|c| c == "cost_usd").unwrap();
    assert_eq!(reps.len(), sums.len());
    for r in &reps {
        assert_eq!(sums[&(r[0].parse().unwrap(), r[2].clone())], pico(&r[ci]), "{r:?}");
    }
}

fn classification(out: &str, strategy: &str, step: &str) -> String {
    let (h, rows) = read_csv(&Path::new(out).join("audit.csv"));
    let c = |n: &str| h.iter().position(|x| x == n).unwrap();
    rows.iter()
        .find(|r| r[c("section")] == "root_cause" && r[c("strategy")] == strategy && r[c("step")] == step)
        .map(|r| r[c("classification")].clone())
        .unwrap_or_else(|| "absent".into())
}

#[test]
fn audit_finds_the_systematic_fault_hidden_in_the_contract_scenario() {
    let t = tmp("audit_class");
    orchsim(t.path())
        .args([
            "run",
            scenario("systematic-fault.toml").to_str().unwrap(),
            "--replications",
            "4",
            "--audit",
            "--no-charts",
            "--quiet",
            "--out",
            "o",
        ])
        .assert()
        .success();
    let a = orchsim(t.path()).args(["audit", "o"]).assert().success();
    let text = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    assert!(text.contains("m-and-a"), "chargeback by business unit: {text}");
    let o = t.path().join("o");
    let o = o.to_str().unwrap();
    assert_eq!(classification(o, "pipeline", "clause_check"), "systematic");
    // With correlated errors (error_correlation), stochastic defects gather on hard
    // tasks, so a step may show a significant but sub-threshold pattern
    // ("undetermined"); what must never happen is a stochastic step called systematic.
    for (st, step) in [("pipeline", "extract"), ("single", "review"), ("paralegals", "work")] {
        let c = classification(o, st, step);
        assert!(c == "stochastic" || c == "undetermined", "{st}/{step}: {c}");
    }
    // Chargeback adds up: business-unit rows sum to the strategy's total.
    let (h, rows) = read_csv(&t.path().join("o/audit.csv"));
    let c = |n: &str| h.iter().position(|x| x == n).unwrap();
    for st in ["single", "pipeline", "paralegals"] {
        let bu: i128 =
            rows.iter().filter(|r| r[c("section")] == "business_unit" && r[c("strategy")] == st).map(|r| pico(&r[c("cost_usd")])).sum();
        let steps: i128 =
            rows.iter().filter(|r| r[c("section")] == "step" && r[c("strategy")] == st).map(|r| pico(&r[c("cost_usd")])).sum();
        assert_eq!(bu, steps, "{st}");
    }
}

#[test]
fn audit_tells_a_per_task_systematic_fault_from_stochastic_errors_by_persistence() {
    // Same rates, one agent wrong on a fixed 15% of tasks every time, one wrong 15% of
    // the time at random; a reviewer sends defective work back up to three times.
    let t = tmp("audit_share");
    let text = r#"
name = "share"
seed = 3
replications = 3
[workload]
tasks = 400
arrivals = { process = "batch" }
[models.m]
input_usd_per_mtok = 1
output_usd_per_mtok = 2
ttft_s = 1
output_tokens_per_s = 100
[agents.stuck]
model = "m"
output_tokens = 100
systematic = { share = 0.15 }
[agents.noisy]
model = "m"
output_tokens = 100
error_rate = 0.15
[agents.checker]
model = "m"
output_tokens = 10
review = { recall = 0.9, false_positive_rate = 0.02 }
[strategies.a]
steps = [{ id = "work", agent = "stuck" }, { id = "check", agent = "checker", max_rework = 3, on_exhausted = "deliver" }]
[strategies.b]
steps = [{ id = "work", agent = "noisy" }, { id = "check", agent = "checker", max_rework = 3, on_exhausted = "deliver" }]
"#;
    std::fs::write(t.path().join("s.toml"), text).unwrap();
    orchsim(t.path()).args(["run", "s.toml", "--audit", "--no-charts", "--quiet", "--out", "o"]).assert().success();
    orchsim(t.path()).args(["audit", "o"]).assert().success();
    let o = t.path().join("o");
    assert_eq!(classification(o.to_str().unwrap(), "a", "work"), "systematic");
    assert_eq!(classification(o.to_str().unwrap(), "b", "work"), "stochastic");
}

#[test]
fn audit_and_replay_refuse_folders_that_are_not_runs() {
    let t = tmp("audit_bad");
    std::fs::create_dir(t.path().join("empty")).unwrap();
    orchsim(t.path()).args(["audit", "empty"]).assert().code(2);
    orchsim(t.path()).args(["replay", "empty"]).assert().code(2);
    orchsim(t.path()).args(["plot", "empty"]).assert().code(2);
}

#[test]
fn audit_refuses_a_truncated_or_tampered_trail_and_analyses_nothing() {
    let t = tmp("audit_damaged");
    audited_run(t.path(), "o", &[]);
    let ok = orchsim(t.path()).args(["audit", "o"]).assert().success();
    let text = String::from_utf8_lossy(&ok.get_output().stdout).into_owned();
    let v = orchsim(t.path()).args(["replay", "--verify-only", "o"]).assert().success();
    let hash = String::from_utf8_lossy(&v.get_output().stdout).split("final chain hash ").nth(1).unwrap().trim().to_string();
    assert_eq!(hash.len(), 64);
    assert!(text.contains(&format!("final chain hash {hash}")), "the audit prints the chain's final hash: {text}");
    // Money to the cent, not 12 decimals.
    assert!(!text.lines().any(|l| l.contains('$') && l.split('$').nth(1).unwrap().split_whitespace().next().unwrap().len() > 12), "{text}");
    let path = t.path().join("o/events.jsonl");
    let good = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = good.lines().collect();
    let refused = |text: String, line: usize| {
        std::fs::write(&path, text).unwrap();
        let a = orchsim(t.path()).args(["audit", "o"]).assert().code(1);
        assert!(a.get_output().stdout.is_empty(), "no analysis printed");
        assert!(stderr(&a).contains(&format!("events.jsonl:{line}:")), "line {line}: {}", stderr(&a));
    };
    // Truncated: a valid chain, fewer lines than the manifest records.
    refused(lines[..lines.len() / 2].join("\n") + "\n", lines.len() / 2 + 1);
    // Tampered: one byte changed in line 30.
    let mut edited: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
    edited[29] = edited[29].replacen("\"event\":\"", "\"event\":\"x", 1);
    assert_ne!(edited[29], lines[29]);
    refused(edited.join("\n") + "\n", 30);
    // CRLF line ends, and a missing last newline.
    refused(lines.join("\r\n") + "\r\n", 1);
    refused(lines.join("\n"), lines.len());
    std::fs::write(&path, &good).unwrap();
    // The manifest's record of the trail is checked too.
    let mpath = t.path().join("o/manifest.json");
    let m = std::fs::read_to_string(&mpath).unwrap();
    let n = lines.len();
    std::fs::write(&mpath, m.replace(&format!("\"lines\": {n}"), &format!("\"lines\": {}", n + 1))).unwrap();
    let a = orchsim(t.path()).args(["audit", "o"]).assert().code(1);
    assert!(stderr(&a).contains(&format!("events.jsonl:{}:", n + 1)), "{}", stderr(&a));
    std::fs::write(&mpath, &m).unwrap();
    orchsim(t.path()).args(["audit", "o"]).assert().success();
}

#[test]
fn a_trail_the_manifest_does_not_list_is_never_read() {
    let t = tmp("audit_planted");
    orchsim(t.path()).args(["run", "--tasks", "30", "--replications", "2", "--no-charts", "--quiet", "--out", "plain"]).assert().success();
    audited_run(t.path(), "audited", &[]);
    std::fs::copy(t.path().join("audited/events.jsonl"), t.path().join("plain/events.jsonl")).unwrap();
    let v = orchsim(t.path()).args(["replay", "--verify-only", "plain"]).assert().success();
    assert!(String::from_utf8_lossy(&v.get_output().stdout).contains("ignored events.jsonl"));
    let a = orchsim(t.path()).args(["audit", "plain"]).assert().success();
    let text = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    assert!(text.contains("no event trail") && text.contains("ignored events.jsonl"), "{text}");
    assert!(!text.contains("persistence: defective again"), "no per-run evidence came from the planted trail: {text}");
}

#[test]
fn replay_compares_bytes_and_never_panics_on_a_multibyte_line() {
    let t = tmp("replay_bytes");
    audited_run(t.path(), "o", &[]);
    let path = t.path().join("o/events.jsonl");
    let good = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = good.lines().collect();
    // A line that ends in a multi-byte character where the hash field should be.
    let mut bad: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
    bad[3] = format!("{}é", &bad[3][..bad[3].len() - 2]);
    std::fs::write(&path, bad.join("\n") + "\n").unwrap();
    let a = orchsim(t.path()).args(["replay", "--verify-only", "o"]).assert().code(1);
    assert!(stderr(&a).contains("events.jsonl:4:"), "{}", stderr(&a));
    orchsim(t.path()).args(["replay", "o"]).assert().code(1);
    orchsim(t.path()).args(["audit", "o"]).assert().code(1);
    // A CSV with CRLF line ends differs, even though every line reads the same.
    std::fs::write(&path, &good).unwrap();
    let csv = t.path().join("o/summary.csv");
    let text = std::fs::read_to_string(&csv).unwrap();
    std::fs::write(&csv, text.replace('\n', "\r\n")).unwrap();
    let a = orchsim(t.path()).args(["replay", "o"]).assert().code(1);
    assert!(stderr(&a).contains("summary.csv:1: differs"), "{}", stderr(&a));
}

#[cfg(unix)]
#[test]
fn replay_and_audit_work_on_a_read_only_folder_and_explain_a_sweep_folder() {
    use std::os::unix::fs::PermissionsExt;
    let t = tmp("readonly");
    audited_run(t.path(), "o", &[]);
    let o = t.path().join("o");
    std::fs::set_permissions(&o, std::fs::Permissions::from_mode(0o555)).unwrap();
    let writable = std::fs::write(o.join("probe"), "x").is_ok(); // root ignores modes
    orchsim(t.path()).args(["replay", "o"]).assert().success();
    orchsim(t.path()).args(["replay", "--verify-only", "o"]).assert().success();
    let a = orchsim(t.path()).args(["audit", "o"]).assert().success();
    if !writable {
        assert!(String::from_utf8_lossy(&a.get_output().stdout).contains("audit.csv not written"));
    }
    std::fs::set_permissions(&o, std::fs::Permissions::from_mode(0o755)).unwrap();
    small_sweep(t.path(), "sw", &[]);
    for cmd in [&["audit", "sw"][..], &["replay", "sw"], &["replay", "--verify-only", "sw"]] {
        let a = orchsim(t.path()).args(cmd).assert().code(2);
        assert!(stderr(&a).contains("is a sweep folder") && stderr(&a).contains("--audit --task-log"), "{}", stderr(&a));
    }
}
