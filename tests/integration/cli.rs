//! The command line: exit codes, output files, determinism, bad input.

use crate::common::*;

const SMALL: &[&str] = &["--tasks", "60", "--replications", "3", "--no-charts", "--quiet"];

fn run_small(dir: &std::path::Path, out: &str, extra: &[&str]) {
    let mut c = orchsim(dir);
    c.arg("run").args(SMALL).args(["--out", out]).args(extra);
    c.assert().success();
}

#[test]
fn default_run_writes_every_output_file_under_output() {
    let t = tmp("default_run");
    let out = orchsim(t.path()).args(["run", "--tasks", "40", "--replications", "2"]).assert().success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    for s in ["single", "pipeline", "analysts", "cost/success"] {
        assert!(stdout.contains(s), "table lacks {s}: {stdout}");
    }
    let dir = t.path().join("output/research-report");
    for f in ["summary.csv", "replications.csv", "agents.csv", "business_units.csv", "manifest.json", "charts/cost_per_result.png"] {
        assert!(dir.join(f).is_file(), "missing {f}");
    }
    assert!(!dir.join("tasks.csv").exists(), "tasks.csv only with --task-log");
    // No temporary files are left behind.
    let leftovers: Vec<_> =
        std::fs::read_dir(&dir).unwrap().filter_map(|e| e.ok()).filter(|e| e.file_name().to_string_lossy().contains(".tmp")).collect();
    assert!(leftovers.is_empty());
}

#[test]
fn headers_are_the_contract() {
    let t = tmp("headers");
    run_small(t.path(), "o", &["--task-log"]);
    let o = t.path().join("o");
    let h = |f: &str| read_csv(&o.join(f)).0.join(",");
    assert_eq!(h("summary.csv"), "strategy,metric,mean,std,ci95_low,ci95_high,replications");
    assert!(h("replications.csv").starts_with("replication,seed,strategy,tasks,correct,wrong,failed,escalated,success_rate,cost_usd,"));
    assert!(h("replications.csv").ends_with(",value_usd,net_value_usd,events"));
    assert_eq!(
        h("agents.csv"),
        "replication,strategy,step,agent,calls,attempts,failed_attempts,tokens_in,tokens_out,cost_usd,defects_introduced,defects_caught,root_causes"
    );
    assert_eq!(h("business_units.csv"), "replication,strategy,business_unit,tasks,correct,cost_usd");
    assert_eq!(
        h("tasks.csv"),
        "replication,strategy,task,class,business_unit,arrival_s,finish_s,latency_s,outcome,cost_usd,tokens_in,tokens_out,attempts,reworks,root_cause"
    );
}

#[test]
fn same_seed_twice_and_any_thread_count_give_identical_bytes() {
    let t = tmp("determinism");
    run_small(t.path(), "a", &["--task-log", "--jobs", "1"]);
    run_small(t.path(), "b", &["--task-log", "--jobs", "2"]);
    run_small(t.path(), "c", &["--task-log", "--jobs", "2"]);
    let a = data_files(&t.path().join("a"));
    assert_eq!(a.len(), 6);
    assert_eq!(a, data_files(&t.path().join("b")), "--jobs 1 vs --jobs 2");
    assert_eq!(a, data_files(&t.path().join("c")), "same seed twice");
    run_small(t.path(), "d", &["--task-log", "--seed", "7"]);
    assert_ne!(a, data_files(&t.path().join("d")), "another seed must change the results");
}

#[test]
fn adding_a_strategy_leaves_the_others_unchanged() {
    let t = tmp("add_strategy");
    run_small(t.path(), "a", &[]);
    run_small(t.path(), "b", &["--set", r#"strategies.extra.steps=[{ id = "x", agent = "summarizer" }]"#]);
    let rows = |d: &str| -> Vec<Vec<String>> { read_csv(&t.path().join(d).join("replications.csv")).1 };
    let a = rows("a");
    let b: Vec<Vec<String>> = rows("b").into_iter().filter(|r| r[2] != "extra").collect();
    assert_eq!(a.len(), 12);
    assert_eq!(a, b);
}

#[test]
fn money_breakdowns_add_up_to_the_total_exactly() {
    let t = tmp("money");
    run_small(t.path(), "o", &["--task-log", "--jobs", "2"]);
    let o = t.path().join("o");
    let (h, reps) = read_csv(&o.join("replications.csv"));
    let ci = h.iter().position(|c| c == "cost_usd").unwrap();
    let total = |file: &str, col: usize, rep: &str, st: &str| -> i128 {
        read_csv(&o.join(file)).1.iter().filter(|r| r[0] == rep && r[1] == st).map(|r| pico(&r[col])).sum()
    };
    for r in &reps {
        let want = pico(&r[ci]);
        assert_eq!(total("agents.csv", 9, &r[0], &r[2]), want, "agents.csv, {r:?}");
        assert_eq!(total("business_units.csv", 5, &r[0], &r[2]), want, "business_units.csv, {r:?}");
        // No monthly platform fee in the default scenario, so tasks add up too.
        assert_eq!(total("tasks.csv", 9, &r[0], &r[2]), want, "tasks.csv, {r:?}");
    }
}

#[test]
fn outcomes_partition_the_tasks() {
    let t = tmp("partition");
    run_small(t.path(), "o", &["--task-log"]);
    let (h, reps) = read_csv(&t.path().join("o/replications.csv"));
    let col = |n: &str| h.iter().position(|c| c == n).unwrap();
    for r in &reps {
        let n = |c: &str| r[col(c)].parse::<f64>().unwrap();
        assert_eq!(n("tasks"), 60.0);
        assert_eq!(n("correct") + n("wrong") + n("failed"), n("tasks"), "{r:?}");
        assert!(n("escalated") <= n("correct") + n("wrong"), "{r:?}");
    }
    let (_, tasks) = read_csv(&t.path().join("o/tasks.csv"));
    assert_eq!(tasks.len(), 60 * 3 * 4);
    assert!(tasks.iter().all(|r| ["correct", "wrong", "failed", "escalated"].contains(&r[8].as_str())));
    // tasks.csv agrees with the metrics: an escalated task is correct unless its root
    // cause is the escalation (the people erred).
    for r in &reps {
        let rows: Vec<&Vec<String>> = tasks.iter().filter(|t| t[0] == r[0] && t[1] == r[2]).collect();
        let correct = rows.iter().filter(|t| t[8] == "correct" || (t[8] == "escalated" && t[14].is_empty())).count();
        let escalated = rows.iter().filter(|t| t[8] == "escalated").count();
        assert_eq!(correct as f64, r[col("correct")].parse::<f64>().unwrap());
        assert_eq!(escalated as f64, r[col("escalated")].parse::<f64>().unwrap());
    }
}

#[test]
fn manifest_records_digests_of_every_data_file() {
    let t = tmp("manifest");
    run_small(t.path(), "o", &[]);
    let o = t.path().join("o");
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(o.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["seed"], 20261125);
    assert_eq!(m["orchsim_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(m["scenario"]["workload"]["tasks"], 60, "overrides are in the resolved scenario");
    let files = m["files"].as_object().unwrap();
    assert_eq!(files.len(), 5);
    for (name, digest) in files {
        use sha2::Digest;
        let bytes = std::fs::read(o.join(name)).unwrap();
        let hex: String = sha2::Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(digest.as_str().unwrap(), hex, "{name}");
    }
}

#[test]
fn bad_scenario_exits_2_names_file_line_path_value_and_writes_nothing() {
    let t = tmp("bad_scenario");
    let f = t.path().join("bad.toml");
    std::fs::write(
        &f,
        "name = \"bad\"\n[workload]\ntasks = 10\narrivals = { process = \"batch\" }\n[agents.a]\nmodel = \"gpt-4o\"\n\
         [agents.v]\nmodel = \"gpt-4o\"\nreview = { recall = 1.4 }\n[strategies.s]\nsteps = [{ id = \"a\", agent = \"a\" }, { id = \"b\", agent = \"ghost\" }]\n\
         [strategies.h]\nkind = \"human\"\nhours_per_task = -2\nusd_per_hour = 50\ncolour = \"red\"\n",
    )
    .unwrap();
    let out = orchsim(t.path()).args(["run", "bad.toml", "--out", "o"]).assert().code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("bad.toml:9: agents.v.review.recall = 1.4: must be between 0 and 1"), "{err}");
    assert!(err.contains("bad.toml:11: strategies.s.steps.b.agent = \"ghost\": unknown agent"), "{err}");
    assert!(err.contains("bad.toml:14: strategies.h.hours_per_task = -2"), "{err}");
    assert!(err.contains("bad.toml:16: strategies.h.colour = \"red\": unknown key"), "{err}");
    assert!(!err.contains("panicked"));
    assert!(!t.path().join("o").exists(), "no output for invalid input");
}

#[test]
fn existing_output_survives_a_failed_run() {
    let t = tmp("no_overwrite");
    run_small(t.path(), "o", &[]);
    let before = data_files(&t.path().join("o"));
    orchsim(t.path()).args(["run", "--out", "o", "--set", "agents.generalist.error_rate=2"]).assert().code(2);
    assert_eq!(before, data_files(&t.path().join("o")));
}

#[test]
fn syntax_errors_and_bad_overrides_exit_2() {
    let t = tmp("syntax");
    std::fs::write(t.path().join("x.toml"), "name = \"x\"\n[workload\n").unwrap();
    let out = orchsim(t.path()).args(["validate", "x.toml"]).assert().code(2);
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("x.toml:2: invalid TOML"));
    let out = orchsim(t.path()).args(["run", "--set", "noequals"]).assert().code(2);
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("expected PATH=VALUE"));
    let out = orchsim(t.path()).args(["run", "--set", "strategies.pipeline.steps.nosuch.max_rework=1"]).assert().code(2);
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("no element with id or name `nosuch`"));
    orchsim(t.path()).args(["run", "--bogus-flag"]).assert().code(2);
    orchsim(t.path()).args(["run", "missing.toml"]).assert().code(2);
}

#[test]
fn every_shipped_scenario_validates() {
    let t = tmp("validate_all");
    let mut files: Vec<_> = std::fs::read_dir(root().join("scenarios")).unwrap().map(|e| e.unwrap().path()).collect();
    files.retain(|p| p.extension().is_some_and(|e| e == "toml"));
    assert!(!files.is_empty());
    let out = orchsim(t.path()).arg("validate").args(&files).assert().success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert_eq!(stdout.lines().filter(|l| l.starts_with("ok: ")).count(), files.len());
}

#[test]
fn the_builtin_default_is_the_shipped_file() {
    assert_eq!(orchsim::scenario::DEFAULT_SCENARIO, std::fs::read_to_string(scenario("research-report.toml")).unwrap());
}

#[test]
fn models_lists_the_catalog_and_help_works() {
    let t = tmp("models");
    let out = orchsim(t.path()).arg("models").assert().success();
    let s = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(s.lines().count() > 12);
    for m in ["gpt-4o", "claude-sonnet-4-5", "gemini/gemini-2.5-pro", "deepseek/deepseek-chat", "o3-pro"] {
        assert!(s.contains(m), "{m}");
    }
    orchsim(t.path()).arg("--help").assert().success();
    orchsim(t.path()).args(["run", "--help"]).assert().success();
}

#[test]
fn default_single_agent_question_costs_one_cent_exactly() {
    // 2,000 input + 500 output tokens on gpt-4o at $2.50/$10 per Mtok = $0.005 + $0.005.
    let t = tmp("one_cent");
    run_small(
        t.path(),
        "o",
        &[
            "--set",
            "agents.generalist.input_tokens=2000",
            "--set",
            "agents.generalist.output_tokens=500",
            "--set",
            "models.gpt-4o-2024-08-06.error_rate=0",
        ],
    );
    let (h, reps) = read_csv(&t.path().join("o/replications.csv"));
    let c = h.iter().position(|x| x == "cost_usd").unwrap();
    for r in reps.iter().filter(|r| r[2] == "single") {
        assert_eq!(r[c], "0.6", "60 tasks x $0.01");
    }
}

#[test]
fn trace_arrivals_replay_a_recorded_workload() {
    let t = tmp("trace");
    std::fs::write(t.path().join("arrivals.csv"), "id,at_s\n1,0\n2,0.5\n3,10\n4,10\n5,3600\n").unwrap();
    let text = r#"
name = "trace"
replications = 2
[workload]
tasks = 5
arrivals = { process = "trace", file = "arrivals.csv", column = "at_s" }
[models.m]
input_usd_per_mtok = 1
output_usd_per_mtok = 1
ttft_s = 1
output_tokens_per_s = 10
[agents.a]
model = "m"
[strategies.s]
steps = [{ id = "x", agent = "a" }]
"#;
    std::fs::write(t.path().join("t.toml"), text).unwrap();
    orchsim(t.path()).args(["run", "t.toml", "--task-log", "--no-charts", "--quiet", "--out", "o"]).assert().success();
    let (_, rows) = read_csv(&t.path().join("o/tasks.csv"));
    let arrivals: Vec<&str> = rows.iter().filter(|r| r[0] == "0").map(|r| r[5].as_str()).collect();
    assert_eq!(arrivals, ["0", "0.5", "10", "10", "3600"]);
    // Unsorted times, a missing column and too few rows are reported, with exit 2.
    std::fs::write(t.path().join("arrivals.csv"), "id,at_s\n1,5\n2,1\n").unwrap();
    let a = orchsim(t.path()).args(["validate", "t.toml"]).assert().code(2);
    assert!(String::from_utf8_lossy(&a.get_output().stderr).contains("arrivals.csv:3"));
    std::fs::write(t.path().join("t2.toml"), text.replace("\"at_s\"", "\"when\"")).unwrap();
    let a = orchsim(t.path()).args(["validate", "t2.toml"]).assert().code(2);
    assert!(String::from_utf8_lossy(&a.get_output().stderr).contains("workload.arrivals.column = \"when\""));
}

#[test]
fn any_replication_reruns_alone_from_its_seed() {
    let t = tmp("rerun_replication");
    run_small(t.path(), "all", &[]);
    let (_, rows) = read_csv(&t.path().join("all/replications.csv"));
    let third: Vec<&Vec<String>> = rows.iter().filter(|r| r[0] == "2").collect();
    let seed = third[0][1].clone();
    orchsim(t.path())
        .args(["run", "--tasks", "60", "--replications", "1", "--no-charts", "--quiet", "--out", "one", "--seed", &seed])
        .assert()
        .success();
    let (_, alone) = read_csv(&t.path().join("one/replications.csv"));
    assert_eq!(alone.len(), third.len());
    for (a, b) in alone.iter().zip(third) {
        assert_eq!(a[1], seed);
        assert_eq!(a[2..], b[2..], "replication 2 re-run alone with its seed");
    }
}

#[test]
fn no_progress_bar_or_noise_when_stderr_is_not_a_terminal() {
    let t = tmp("no_bar");
    let a = orchsim(t.path()).args(["run", "--tasks", "20", "--replications", "2", "--no-charts", "--out", "o"]).assert().success();
    assert!(a.get_output().stderr.is_empty(), "{}", String::from_utf8_lossy(&a.get_output().stderr));
    let s = scenario("research-report.toml");
    let a = orchsim(t.path())
        .args(["sweep", s.to_str().unwrap(), "--tasks", "10", "--replications", "2", "--no-charts", "--out", "s"])
        .assert()
        .success();
    assert!(a.get_output().stderr.is_empty());
    let q =
        orchsim(t.path()).args(["run", "--tasks", "20", "--replications", "2", "--no-charts", "--quiet", "--out", "q"]).assert().success();
    assert!(q.get_output().stdout.is_empty(), "--quiet prints nothing");
}

#[test]
fn the_readme_scenario_example_is_valid() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let start = readme.find("```toml\nname = \"example\"").expect("the README shows a scenario") + "```toml\n".len();
    let end = start + readme[start..].find("```").unwrap();
    let t = tmp("readme_example");
    std::fs::write(t.path().join("example.toml"), &readme[start..end]).unwrap();
    orchsim(t.path()).args(["validate", "example.toml"]).assert().success();
    orchsim(t.path()).args(["run", "example.toml", "--tasks", "20", "--replications", "2", "--no-charts", "--quiet"]).assert().success();
}

/// Every file of a folder, recursively, with contents (lock and leftovers included).
fn tree(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut v = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                v.push((p.strip_prefix(dir).unwrap().display().to_string(), std::fs::read(&p).unwrap()));
            }
        }
    }
    v.sort();
    v
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn a_run_killed_after_any_file_leaves_the_old_folder_or_the_new_one_never_a_mix() {
    let t = tmp("kill");
    let args = |seed: &str, out: &str| -> Vec<String> {
        ["run", "--tasks", "15", "--replications", "2", "--audit", "--task-log", "--quiet", "--seed", seed, "--out", out]
            .iter()
            .map(|s| s.to_string())
            .collect()
    };
    orchsim(t.path()).args(args("1", "old")).assert().success();
    orchsim(t.path()).args(args("2", "new")).assert().success();
    let (old, new) = (tree(&t.path().join("old")), tree(&t.path().join("new")));
    let data = |v: &[(String, Vec<u8>)]| -> Vec<(String, Vec<u8>)> { v.iter().filter(|(n, _)| n != "manifest.json").cloned().collect() };
    assert_ne!(data(&old), data(&new));
    let mut files: Vec<String> = old.iter().map(|(n, _)| n.clone()).filter(|n| !n.contains('/')).collect();
    files.push("swap".into());
    for (i, kill) in files.iter().enumerate() {
        let o = format!("o{i}");
        copy_dir(&t.path().join("old"), &t.path().join(&o));
        orchsim(t.path()).args(args("2", &o)).env("ORCHSIM_TEST_KILL_AFTER", kill).assert().failure();
        let now = tree(&t.path().join(&o));
        // The manifest records the command line (its --out), so compare data files,
        // charts, and the manifest's digests.
        let is = |v: &[(String, Vec<u8>)]| data(&now) == data(v);
        if kill == "swap" {
            assert!(is(&new), "killed after the swap: the new folder");
        } else {
            assert!(is(&old), "killed after {kill}: the old folder, untouched");
            assert_eq!(now, old, "killed after {kill}");
        }
        // The next run cleans up what the killed one left beside the folder.
        orchsim(t.path()).args(args("2", &o)).assert().success();
        let left: Vec<String> = std::fs::read_dir(t.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(&format!(".{o}.")))
            .collect();
        assert!(left.is_empty(), "leftovers of the killed run: {left:?}");
        assert_eq!(data(&tree(&t.path().join(&o))), data(&new));
    }
}

#[test]
fn invalid_command_lines_exit_2_and_name_the_problem() {
    let t = tmp("exit2");
    std::fs::write(t.path().join("a-file"), "x").unwrap();
    let err = |args: &[&str]| {
        let a = orchsim(t.path()).args(args).assert().code(2);
        String::from_utf8_lossy(&a.get_output().stderr).into_owned()
    };
    assert!(err(&["run", "--tasks", "5", "--out", "a-file"]).contains("is a file, not a folder"));
    assert!(err(&["run", "--set", r#"name="a\u0000b""#, "--tasks", "5"]).contains("name"));
    let long = format!("name={}", "x".repeat(300));
    assert!(err(&["run", "--set", &long, "--tasks", "5"]).contains("name"));
    let s = scenario("research-report.toml");
    let mut sweep = vec!["sweep", s.to_str().unwrap()];
    for axis in [
        "seed=0:65535:65536",
        "workload.tasks=1:65536:65536",
        "replications=2:65537:65536",
        "strategies.pipeline.handoff_tokens=0:65535:65536",
    ] {
        sweep.extend(["--vary", axis]);
    }
    let e = err(&sweep);
    assert!(e.contains("65536 x 65536 x 65536 x 65536 points"), "{e}");
    assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 1, "nothing written");
}

/// The commands that simulate a scenario, each with the smallest arguments that make it
/// run quickly (they share the flags of `orchsim::cli::ScenarioFlags` and `OutputFlags`).
fn simulating_commands() -> Vec<(&'static str, Vec<String>)> {
    let s = |f: &str| scenario(f).display().to_string();
    let small = ["--tasks", "5", "--replications", "2", "--no-charts", "--quiet"].map(String::from);
    let with = |v: Vec<String>| v.into_iter().chain(small.iter().cloned()).collect::<Vec<_>>();
    vec![
        ("run", with(vec!["run".into()])),
        ("sweep", with(vec!["sweep".into(), s("research-report.toml"), "--vary".into(), "workload.tasks=5".into()])),
        (
            "sensitivity",
            with(vec!["sensitivity".into(), s("research-report.toml"), "--range".into(), "agents.researcher.error_rate=0.02:0.10".into()]),
        ),
        ("horizon", with(vec!["horizon".into(), s("adoption-horizon.toml")])),
    ]
}

#[test]
fn every_simulating_command_refuses_a_seed_or_jobs_out_of_range_and_takes_the_largest() {
    let t = tmp("flag_ranges");
    for (name, args) in simulating_commands() {
        for (flag, value, says) in [("--seed", "9223372036854775808", "0..=9223372036854775807"), ("--jobs", "100000", "at most 1024")] {
            let a = orchsim(t.path()).args(&args).args([flag, value, "--out", name]).assert().code(2);
            let e = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
            assert!(e.contains(flag) && e.contains(value) && e.contains(says), "{name} {flag} {value}: {e}");
        }
        assert!(!t.path().join(name).exists(), "{name}: nothing written");
        // The largest seed runs, and the manifest records it as itself.
        orchsim(t.path()).args(&args).args(["--seed", "9223372036854775807", "--out", name]).assert().success();
        let m: serde_json::Value = serde_json::from_slice(&std::fs::read(t.path().join(name).join("manifest.json")).unwrap()).unwrap();
        assert_eq!(m["seed"].as_u64(), Some(i64::MAX as u64), "{name}");
    }
}

#[test]
fn every_simulating_command_accepts_1024_jobs() {
    // Parsed by the binary's own parser, not run: 1024 threads on a small machine would
    // cost far more than the check is worth.
    use clap::Parser;
    for (name, mut args) in simulating_commands() {
        args.insert(0, "orchsim".into());
        args.extend(["--jobs", "1024", "--seed", "9223372036854775807"].map(String::from));
        let cli = orchsim::cli::Cli::try_parse_from(&args).unwrap_or_else(|e| panic!("{name}: {e}"));
        let (jobs, seed) = match cli.command {
            Some(orchsim::cli::Command::Run(a)) => (a.output.jobs, a.scenario_flags.seed),
            Some(orchsim::cli::Command::Sweep(a)) => (a.output.jobs, a.scenario_flags.seed),
            Some(orchsim::cli::Command::Sensitivity(a)) => (a.output.jobs, a.scenario_flags.seed),
            Some(orchsim::cli::Command::Horizon(a)) => (a.output.jobs, a.scenario_flags.seed),
            other => panic!("{name}: parsed as {other:?}"),
        };
        assert_eq!((jobs, seed), (1024, Some(i64::MAX as u64)), "{name}");
    }
}

#[test]
fn every_flag_the_readme_lists_exists_under_its_command() {
    use clap::CommandFactory;
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let start = readme.find("## Commands").expect("a Commands section");
    let block = readme[start..].split("```").nth(1).expect("a synopsis block");
    let cli = orchsim::cli::Cli::command();
    let mut checked = 0;
    let mut current: Option<&clap::Command> = None;
    for line in block.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.first() == Some(&"orchsim") {
            // The command, and a nested subcommand (`calibrate pass-at-k`) if there is one.
            let mut c = cli.find_subcommand(words[1]).unwrap_or_else(|| panic!("README lists unknown command: {line}"));
            if let Some(sub) = words.get(2).and_then(|w| c.find_subcommand(w)) {
                c = sub;
            }
            current = Some(c);
        }
        let Some(c) = current else { continue };
        for w in &words {
            let Some(flag) = w.trim_start_matches('[').strip_prefix("--") else { continue };
            let flag = flag.split([' ', ']', '=']).next().unwrap();
            assert!(
                c.get_arguments().any(|a| a.get_long() == Some(flag)),
                "README lists --{flag} for `{}`, which has no such flag",
                c.get_name()
            );
            checked += 1;
        }
    }
    assert!(checked > 50, "the synopsis was read ({checked} flags)");
}

#[test]
fn plot_and_audit_wait_their_turn_for_a_folder_in_use() {
    let t = tmp("plot_lock");
    run_small(t.path(), "o", &["--task-log"]);
    let o = t.path().join("o");
    let before = tree(&o);
    {
        // Another writer holds the folder (the lock run and sweep take).
        let _held = orchsim::report::folder::lock(&o).unwrap();
        for cmd in ["plot", "audit"] {
            let a = orchsim(t.path()).args([cmd, "o"]).assert().code(1);
            let e = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
            assert!(e.contains("in use by another orchsim process"), "{cmd}: {e}");
            assert_eq!(tree(&o), before, "{cmd} wrote into a folder in use");
        }
    }
    // Released: both work, and leave no lock file behind.
    orchsim(t.path()).args(["plot", "o"]).assert().success();
    assert!(o.join("charts/cost_per_result.png").is_file());
    orchsim(t.path()).args(["audit", "o"]).assert().success();
    assert!(o.join("audit.csv").is_file());
    assert!(!t.path().join(".o.lock").exists());
}
