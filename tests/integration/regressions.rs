//! Regression tests for defects found in review (named rN after the finding's number in
//! the closing note of the session that fixed them).

use std::io::Write;

use orchsim::workflow::{WorldOptions, run_world};

use crate::common::*;

fn load(text: &str) -> orchsim::model::Scenario {
    let mut f = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    orchsim::scenario::load(Some(f.path()), &[]).unwrap_or_else(|e| panic!("{e}")).scenario
}

const BASE: &str = r#"
name = "r"
seed = 5
replications = 1
[workload]
tasks = 400
arrivals = { process = "poisson", rate_per_hour = 3600 }
[models.m]
input_usd_per_mtok = 1
output_usd_per_mtok = 4
ttft_s = { dist = "exp", mean = 1 }
output_tokens_per_s = 50
[agents.w]
model = "m"
input_tokens = 100
output_tokens = 50
error_rate = 0.3
[agents.r]
model = "m"
output_tokens = 10
review = { recall = 0.8, false_positive_rate = 0.1 }
"#;

fn invariants(sc: &orchsim::model::Scenario) {
    for s in 0..sc.strategies.len() {
        let w = run_world(sc, s, 0, WorldOptions { task_log: true }, None);
        let c = &w.counters;
        assert_eq!(c.correct + c.wrong + c.failed, c.tasks, "every task ends once");
        assert_eq!(w.task_rows.len() as u64, c.tasks, "no task vanishes");
        assert_eq!(w.ledger.rows.iter().map(|r| r.cost.0).sum::<i128>(), w.ledger.total.0);
        assert_eq!(w.task_rows.iter().map(|t| t.cost.0).sum::<i128>(), w.ledger.total.0);
    }
}

#[test]
fn r1_a_rework_target_that_does_not_feed_the_reviewer_is_rejected() {
    let t = tmp("r1");
    let text = format!(
        "{BASE}[strategies.s]\nsteps = [{{ id = \"a\", agent = \"w\" }}, {{ id = \"b\", agent = \"w\", after = [] }}, {{ id = \"rv\", agent = \"r\", after = [\"b\"], reworks = \"a\" }}]\n"
    );
    std::fs::write(t.path().join("s.toml"), text).unwrap();
    let a = orchsim(t.path()).args(["validate", "s.toml"]).assert().code(2);
    assert!(
        String::from_utf8_lossy(&a.get_output().stderr)
            .contains("strategies.s.steps.rv.reworks = \"a\": step `a` is not upstream of this reviewer")
    );
    // Without `reworks`, the default is the nearest worker *upstream*, not in file order.
    let sc = load(&format!(
        "{BASE}[strategies.s]\nsteps = [{{ id = \"a\", agent = \"w\" }}, {{ id = \"b\", agent = \"w\", after = [] }}, {{ id = \"rv\", agent = \"r\", after = [\"a\"] }}]\n"
    ));
    let orchsim::model::StrategyKind::Agents(a) = &sc.strategies[0].kind else { panic!() };
    assert_eq!(a.steps[2].reworks, Some(0));
    invariants(&sc);
}

#[test]
fn r2_parallel_reviewers_reworking_one_step_never_run_it_twice_at_once() {
    // Debug builds check arithmetic: a double launch used to underflow a counter here.
    let sc = load(&format!(
        "{BASE}[strategies.s]\nsteps = [{{ id = \"a\", agent = \"w\", replicas = 2 }}, {{ id = \"r1\", agent = \"r\", after = [\"a\"] }}, {{ id = \"r2\", agent = \"r\", after = [\"a\"] }}, {{ id = \"z\", agent = \"w\", after = [\"r1\", \"r2\"] }}]\n"
    ));
    invariants(&sc);
    let w = run_world(&sc, 0, 0, WorldOptions::default(), None);
    assert!(w.counters.wasted.0 > 0, "reworked and stale work is counted as waste");
}

#[test]
fn r3_every_per_step_plan_of_the_orchestrator_counts() {
    // Three error-free steps, an orchestrator wrong half the time: per step, a task is
    // correct only if all three plans are right (1/8); per task, if its one plan is (1/2).
    let plan = |calls: &str| {
        format!(
            "{BASE}[agents.boss]\nmodel = \"m\"\noutput_tokens = 5\nerror_rate = 0.5\n[agents.ok]\nmodel = \"m\"\noutput_tokens = 5\n\
             [strategies.s]\norchestrator = {{ agent = \"boss\", calls = \"{calls}\" }}\nsteps = [{{ id = \"a\", agent = \"ok\" }}, {{ id = \"b\", agent = \"ok\" }}, {{ id = \"c\", agent = \"ok\" }}]\n"
        )
    };
    for (calls, p) in [("per_step", 0.125), ("per_task", 0.5)] {
        let sc = load(&plan(calls).replace("tasks = 400", "tasks = 4000"));
        let w = run_world(&sc, 0, 0, WorldOptions::default(), None);
        let n = w.counters.tasks as f64;
        let rate = w.counters.correct as f64 / n;
        let se = (p * (1.0 - p) / n).sqrt();
        assert!((rate - p).abs() < 5.0 * se, "{calls}: success {rate} vs {p} (5 SE = {})", 5.0 * se);
    }
}

#[test]
fn r4_audit_classifies_a_systematic_fault_in_a_voting_step() {
    let t = tmp("r4");
    let text = r#"
name = "r4"
seed = 9
replications = 2
[workload]
tasks = 300
arrivals = { process = "batch" }
[[workload.classes]]
name = "x"
share = 0.3
[[workload.classes]]
name = "y"
share = 0.7
[models.m]
input_usd_per_mtok = 1
output_usd_per_mtok = 1
ttft_s = 1
output_tokens_per_s = 50
[agents.w]
model = "m"
output_tokens = 20
error_rate = 0.05
systematic = { classes = ["x"] }
[strategies.s]
steps = [{ id = "a", agent = "w", replicas = 3, merge = "vote" }]
"#;
    std::fs::write(t.path().join("s.toml"), text).unwrap();
    orchsim(t.path()).args(["run", "s.toml", "--audit", "--no-charts", "--quiet", "--out", "o"]).assert().success();
    let a = orchsim(t.path()).args(["audit", "o"]).assert().success();
    let out = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    assert!(out.lines().any(|l| l.contains(" a ") && l.contains("systematic: concentrated in class `x`")), "{out}");
}

#[test]
fn r5_a_reused_output_folder_keeps_no_stale_files() {
    let t = tmp("r5");
    orchsim(t.path())
        .args(["run", "--tasks", "20", "--replications", "2", "--audit", "--task-log", "--quiet", "--out", "o"])
        .assert()
        .success();
    std::fs::write(t.path().join("o/notes.txt"), "mine").unwrap();
    orchsim(t.path()).args(["audit", "o"]).assert().success();
    orchsim(t.path()).args(["run", "--tasks", "20", "--replications", "2", "--no-charts", "--quiet", "--out", "o"]).assert().success();
    for stale in ["events.jsonl", "tasks.csv", "audit.csv", "charts"] {
        assert!(!t.path().join("o").join(stale).exists(), "{stale} left from the previous run");
    }
    assert_eq!(std::fs::read_to_string(t.path().join("o/notes.txt")).unwrap(), "mine", "the user's files are untouched");
    orchsim(t.path()).args(["replay", "o"]).assert().success();
}

#[test]
fn r6_a_trace_run_replays_from_anywhere_and_its_input_is_checked() {
    let t = tmp("r6");
    std::fs::create_dir(t.path().join("sc")).unwrap();
    std::fs::write(t.path().join("sc/tr.csv"), "at\n0\n1\n2\n").unwrap();
    let text = "name = \"r6\"\nreplications = 1\n[workload]\ntasks = 3\narrivals = { process = \"trace\", file = \"tr.csv\", column = \"at\" }\n\
                [models.m]\ninput_usd_per_mtok = 1\noutput_usd_per_mtok = 1\nttft_s = 1\noutput_tokens_per_s = 5\n[agents.a]\nmodel = \"m\"\n\
                [strategies.s]\nsteps = [{ id = \"x\", agent = \"a\" }]\n";
    std::fs::write(t.path().join("sc/s.toml"), text).unwrap();
    orchsim(&t.path().join("sc")).args(["run", "s.toml", "--no-charts", "--quiet", "--out", "../o"]).assert().success();
    orchsim(t.path()).args(["replay", "o"]).assert().success();
    orchsim(std::path::Path::new("/")).args(["replay", t.path().join("o").to_str().unwrap()]).assert().success();
    std::fs::write(t.path().join("sc/tr.csv"), "at\n0\n1\n5\n").unwrap();
    let a = orchsim(t.path()).args(["replay", "--verify-only", "o"]).assert().code(1);
    assert!(String::from_utf8_lossy(&a.get_output().stderr).contains("the input changed"));
}

#[test]
fn r7_a_timeout_shorter_than_the_first_token_cuts_off_even_a_failing_attempt() {
    let sc = load(
        "name = \"r7\"\nreplications = 1\n[workload]\ntasks = 200\narrivals = { process = \"fixed\", interval_s = 10 }\n\
         [models.m]\ninput_usd_per_mtok = 1\noutput_usd_per_mtok = 1\nttft_s = 1\noutput_tokens_per_s = 5\ntimeout_s = 0.5\nerror_rate = 0.5\n\
         [agents.a]\nmodel = \"m\"\ninput_tokens = 1000\n[strategies.s]\nretry = { max_attempts = 2, backoff_base_s = 0 }\nsteps = [{ id = \"x\", agent = \"a\" }]\n",
    );
    let w = run_world(&sc, 0, 0, WorldOptions { task_log: true }, None);
    assert_eq!(w.counters.failed, 200, "every attempt is cut off");
    assert_eq!(w.ledger.rows[0].attempts, 400);
    // Both attempts are billed for their input: 2 x 1,000 tokens at $1/Mtok per task.
    assert_eq!(w.ledger.total, orchsim::economics::Usd(200 * 2 * 1000 * 1_000_000));
    assert!(w.task_rows.iter().all(|t| (t.finish_s - t.arrival_s - 1.0).abs() < 1e-9), "two cut-offs of 0.5 s each");
}

#[test]
fn r8_values_are_never_clamped_or_ignored_silently() {
    let t = tmp("r8");
    let text = format!(
        "{BASE}[models.slow]\ninput_usd_per_mtok = 1\noutput_usd_per_mtok = 1\nttft_s = 1\noutput_tokens_per_s = {{ dist = \"uniform\", min = 0, max = 10 }}\n\
         [agents.r2]\nmodel = \"m\"\nerror_rate = 0.2\nreview = {{ recall = 0.5 }}\n\
         [strategies.s]\nretry = {{ max_attempts = 20000 }}\nsteps = [{{ id = \"a\", agent = \"w\", replicas = 5000 }}]\n"
    );
    std::fs::write(t.path().join("s.toml"), text).unwrap();
    let a = orchsim(t.path()).args(["validate", "s.toml"]).assert().code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    for want in [
        "models.slow.output_tokens_per_s",
        "agents.r2.error_rate = 0.2: a reviewer introduces no defects",
        "strategies.s.retry.max_attempts = 20000: expected at most 10000 attempts",
        "strategies.s.steps.a.replicas = 5000: expected at most 1000 replicas",
    ] {
        assert!(err.contains(want), "missing {want:?} in:\n{err}");
    }
    // Task classes are addressed by name in overrides, and a created table that lacks
    // required fields is reported as coming from --set.
    orchsim(t.path())
        .args([
            "run",
            "--tasks",
            "10",
            "--replications",
            "2",
            "--no-charts",
            "--quiet",
            "--out",
            "o",
            "--set",
            "workload.classes.brief.difficulty=3",
        ])
        .assert()
        .success();
    let a = orchsim(t.path()).args(["run", "--out", "p", "--set", "agents.nobody.error_rate=0.1"]).assert().code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(err.contains("(--set): agents.nobody.model: missing"), "{err}");
}

#[test]
fn r9_a_run_never_overwrites_a_sweep_folder_nor_a_sweep_a_run_folder() {
    let t = tmp("r9");
    let s = scenario("research-report.toml");
    small_sweep(t.path(), "sw", &[]);
    let before = std::fs::read(t.path().join("sw/sweep.csv")).unwrap();
    let a = orchsim(t.path()).args(["run", "--tasks", "10", "--quiet", "--out", "sw"]).assert().code(2);
    assert!(String::from_utf8_lossy(&a.get_output().stderr).contains("holds the results of a sweep"));
    assert_eq!(std::fs::read(t.path().join("sw/sweep.csv")).unwrap(), before);
    orchsim(t.path()).args(["run", "--tasks", "10", "--replications", "2", "--no-charts", "--quiet", "--out", "r"]).assert().success();
    let a = orchsim(t.path()).args(["sweep", s.to_str().unwrap(), "--quiet", "--out", "r", "--vary", "seed=1,2"]).assert().code(2);
    assert!(String::from_utf8_lossy(&a.get_output().stderr).contains("holds the results of a run"));
    assert!(t.path().join("r/summary.csv").exists());
}

fn fixture(name: &str) -> String {
    root().join("tests/fixtures").join(name).to_string_lossy().into_owned()
}

#[test]
fn r10_a_task_is_timed_at_delivery_not_when_its_stale_calls_end() {
    let t = tmp("r10");
    orchsim(t.path())
        .args(["run", &fixture("stale-delivery.toml"), "--audit", "--task-log", "--no-charts", "--quiet", "--out", "o"])
        .assert()
        .success();
    // The last step result of a delivered task is its delivery.
    let trail = std::fs::read_to_string(t.path().join("o/events.jsonl")).unwrap();
    let mut last: std::collections::BTreeMap<u64, f64> = Default::default();
    for line in trail.lines().skip(1) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if matches!(v["event"].as_str(), Some("step_completed" | "review")) {
            last.insert(v["task"].as_u64().unwrap(), v["t"].as_f64().unwrap());
        }
    }
    let (_, rows) = read_csv(&t.path().join("o/tasks.csv"));
    let mut checked = 0;
    for r in &rows {
        let finish: f64 = r[6].parse().unwrap();
        let want = last[&r[2].parse::<u64>().unwrap()];
        assert!((finish - want).abs() < 1e-6, "task {}: finish {finish} vs delivery {want}", r[2]);
        checked += 1;
    }
    assert_eq!(checked, 200);
    assert!(trail.contains("\"stale\":true"), "stale attempts are marked, not called timeouts");
    assert!(!trail.contains("\"outcome\":\"timeout\""), "no timeout configured");
}

#[test]
fn r11_a_queued_call_of_a_discarded_step_is_dropped_before_it_runs() {
    let t = tmp("r11");
    orchsim(t.path()).args(["run", &fixture("stale-queued.toml"), "--task-log", "--no-charts", "--quiet", "--out", "o"]).assert().success();
    let (_, agents) = read_csv(&t.path().join("o/agents.csv"));
    let a = agents.iter().find(|r| r[2] == "a").unwrap();
    assert_eq!(a[5], "3", "one discarded attempt that was running, two live ones; the queued one never ran");
    let (_, tasks) = read_csv(&t.path().join("o/tasks.csv"));
    let finish: f64 = tasks[0][6].parse().unwrap();
    // 0.2 s root, then the slow slot: the stale replica until 100.3, two live ones of 100.1 s each.
    assert!((finish - 300.5).abs() < 1e-6, "{finish}");
}

#[test]
fn r12_only_orchsims_own_files_are_ever_removed() {
    let t = tmp("r12");
    let o = t.path().join("o");
    std::fs::create_dir_all(o.join("charts")).unwrap();
    std::fs::create_dir_all(o.join("parts")).unwrap();
    std::fs::write(o.join("charts/my-notes.txt"), "mine").unwrap();
    std::fs::write(o.join("parts/thesis.tex"), "mine").unwrap();
    std::fs::write(o.join("tasks.csv"), "not orchsim's").unwrap();
    // Not an orchsim folder yet: nothing is removed.
    orchsim(t.path()).args(["run", "--tasks", "10", "--replications", "2", "--no-charts", "--quiet", "--out", "o"]).assert().success();
    assert!(o.join("tasks.csv").exists() && o.join("charts/my-notes.txt").exists() && o.join("parts/thesis.tex").exists());
    // Now it is: orchsim's stale outputs go, the user's files stay.
    orchsim(t.path()).args(["run", "--tasks", "10", "--replications", "2", "--quiet", "--out", "o"]).assert().success();
    orchsim(t.path()).args(["run", "--tasks", "10", "--replications", "2", "--no-charts", "--quiet", "--out", "o"]).assert().success();
    assert!(!o.join("tasks.csv").exists() && !o.join("charts/cost_per_result.png").exists());
    assert!(o.join("charts/my-notes.txt").exists() && o.join("parts/thesis.tex").exists());
}

#[test]
fn r13_the_verdict_that_triggers_a_rework_is_not_waste() {
    let sc = load(
        "name = \"r13\"\nreplications = 1\n[workload]\ntasks = 1\narrivals = { process = \"batch\" }\n\
         [models.m]\ninput_usd_per_mtok = 1\noutput_usd_per_mtok = 1\nttft_s = 1\noutput_tokens_per_s = 100\n\
         [agents.w]\nmodel = \"m\"\noutput_tokens = 200\nerror_rate = 1\n[agents.r]\nmodel = \"m\"\noutput_tokens = 110\nreview = { recall = 1 }\n\
         [strategies.s]\nsteps = [{ id = \"root\", agent = \"w\" }, { id = \"rv\", agent = \"r\", max_rework = 1, on_exhausted = \"deliver\" }]\n",
    );
    let w = run_world(&sc, 0, 0, WorldOptions::default(), None);
    // Only the first run of `root` (200 output tokens at $1/Mtok) was thrown away.
    assert_eq!(w.counters.wasted, orchsim::economics::Usd(200 * 1_000_000));
}

#[cfg(unix)]
#[test]
fn r14_a_linked_charts_or_parts_folder_loses_the_link_never_the_files_it_points_to() {
    let t = tmp("r14");
    let run = |extra: &[&str]| {
        orchsim(t.path()).args(["run", "--tasks", "10", "--replications", "2", "--quiet", "--out", "o"]).args(extra).assert().success();
    };
    run(&[]);
    let precious = t.path().join("precious");
    std::fs::create_dir(&precious).unwrap();
    for f in ["cost_per_result.png", "point-000000.csv", ".point-000001.csv.tmp-1"] {
        std::fs::write(precious.join(f), "mine").unwrap();
    }
    let link = |name: &str| {
        let p = t.path().join("o").join(name);
        let _ = std::fs::remove_dir_all(&p);
        std::os::unix::fs::symlink(&precious, &p).unwrap();
    };
    link("charts");
    link("parts");
    run(&[]);
    run(&["--no-charts"]);
    link("parts");
    small_sweep(t.path(), "o", &["--force"]);
    let mut left: Vec<String> =
        std::fs::read_dir(&precious).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    left.sort();
    assert_eq!(left, [".point-000001.csv.tmp-1", "cost_per_result.png", "point-000000.csv"]);
    for f in &left {
        assert_eq!(std::fs::read_to_string(precious.join(f)).unwrap(), "mine", "{f}");
    }
}
