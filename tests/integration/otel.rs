//! `run --otel FILE`: the export read back by orchsim's own trace reader and checked
//! against the event trail and agents.csv (computed here from the raw files), its span
//! tree, its determinism, and the round trip export -> `calibrate traces` -> run.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::{orchsim, pico, read_csv, scenario, tmp};
use orchsim::traces;

/// Runs research-report (30 tasks, 1 replication) with `--otel`; returns the folder.
fn export(dir: &Path, out: &str, otel: &str, extra: &[&str]) -> PathBuf {
    orchsim(dir)
        .arg("run")
        .arg(scenario("research-report.toml"))
        .args(["--tasks", "30", "--replications", "1", "--no-charts", "--quiet", "--out", out, "--otel", otel])
        .args(extra)
        .assert()
        .success();
    dir.join(out)
}

fn attrs(span: &Value) -> HashMap<String, Value> {
    span["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let v = a["value"].as_object().unwrap().values().next().unwrap().clone();
            (a["key"].as_str().unwrap().to_string(), v)
        })
        .collect()
}

fn text(a: &HashMap<String, Value>, k: &str) -> String {
    a.get(k).and_then(Value::as_str).unwrap_or_default().to_string()
}

/// Every span of an export, with its line's strategy.
fn spans(path: &Path) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for line in std::fs::read_to_string(path).unwrap().lines() {
        let doc: Value = serde_json::from_str(line).unwrap();
        let rs = &doc["resourceSpans"][0];
        let strategy = text(&attrs(&rs["resource"]), "orchsim.strategy");
        for s in rs["scopeSpans"][0]["spans"].as_array().unwrap() {
            out.push((strategy.clone(), s.clone()));
        }
    }
    out
}

#[test]
fn the_export_reads_back_with_the_trails_attempts_and_agents_csv_totals() {
    let dir = tmp("otel-sums");
    let run = export(dir.path(), "run", "calls.otlp.json", &["--audit"]);
    let otel = dir.path().join("calls.otlp.json");

    // Attempts that ended, per (strategy, task), from the raw trail.
    let mut ended: BTreeMap<(String, u64), u64> = BTreeMap::new();
    let (mut trail_in, mut trail_out, mut transient) = (0u64, 0u64, 0usize);
    for line in std::fs::read_to_string(run.join("events.jsonl")).unwrap().lines().skip(1) {
        let e: Value = serde_json::from_str(line).unwrap();
        if e["event"] == "attempt_ended" {
            *ended.entry((e["strategy"].as_str().unwrap().to_string(), e["task"].as_u64().unwrap())).or_default() += 1;
            trail_in += e["tokens_in"].as_u64().unwrap();
            trail_out += e["tokens_out"].as_u64().unwrap();
            transient += usize::from(e["outcome"] == "transient_error");
        }
    }
    let attempts: u64 = ended.values().sum();
    assert!(attempts > 30, "{attempts}");

    // agents.csv: tokens and cost of the LLM rows, per agent and in all.
    let (h, rows) = read_csv(&run.join("agents.csv"));
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    let mut by_agent: BTreeMap<String, (u64, u64, i128, u64)> = BTreeMap::new();
    for r in rows.iter().filter(|r| r[col("attempts")] != "0" && r[col("strategy")] != "analysts") {
        let e = by_agent.entry(r[col("agent")].clone()).or_default();
        e.0 += r[col("tokens_in")].parse::<u64>().unwrap();
        e.1 += r[col("tokens_out")].parse::<u64>().unwrap();
        e.2 += pico(&r[col("cost_usd")]);
        e.3 += r[col("attempts")].parse::<u64>().unwrap();
    }
    let csv_in: u64 = by_agent.values().map(|v| v.0).sum();
    assert_eq!((csv_in, by_agent.values().map(|v| v.1).sum::<u64>()), (trail_in, trail_out));
    assert_eq!(by_agent.values().map(|v| v.3).sum::<u64>(), attempts);

    // orchsim's own reader: one call per ended attempt, the same tokens and costs;
    // usage on every call but the transient errors (status error, billed nothing).
    let set = traces::load(std::slice::from_ref(&otel)).unwrap();
    assert_eq!(set.calls.len() as u64, attempts);
    assert!(transient > 0, "the run should have a transient error to check");
    assert_eq!(set.calls.iter().filter(|c| c.usage.is_none()).count(), transient);
    assert!(set.calls.iter().filter(|c| c.usage.is_none()).all(|c| c.status == traces::SpanStatus::Error));
    // The tools' fees are on the chat spans beside the model's bill (orchsim.tool_cost_usd).
    let mut tool_fees: HashMap<(String, String), i128> = HashMap::new();
    for (_, sp) in spans(&otel) {
        let a = attrs(&sp);
        if let Some(v) = a.get("orchsim.tool_cost_usd") {
            tool_fees.insert((sp["traceId"].as_str().unwrap().into(), sp["spanId"].as_str().unwrap().into()), pico(v.as_str().unwrap()));
        }
    }
    assert!(!tool_fees.is_empty(), "the researcher calls tools");
    let mut read: BTreeMap<String, (u64, u64, i128, u64)> = BTreeMap::new();
    for c in &set.calls {
        let u = c.usage.unwrap_or_default();
        let e = read.entry(c.agent.clone()).or_default();
        e.0 += u.input_tokens;
        e.1 += u.output_tokens;
        e.2 += c.recorded_cost.expect("every call has a cost").0;
        e.2 += tool_fees.get(&(c.trace_id.clone(), c.span_id.clone())).copied().unwrap_or(0);
        e.3 += 1;
    }
    assert_eq!(read, by_agent);

    // `traces summary` on the export: calls.csv has a row per attempt.
    orchsim(dir.path()).args(["traces", "summary", "calls.otlp.json", "--out", "sum"]).assert().success();
    assert_eq!(read_csv(&dir.path().join("sum/calls.csv")).1.len() as u64, attempts);

    // The tree: per trace one root invoke_agent span; invoke_agent step spans under
    // it; chat spans under a step span of the same agent, as many as the task's
    // attempts; a parent's time covers its children's.
    let all = spans(&otel);
    let by_id: HashMap<(String, String), &Value> =
        all.iter().map(|(_, s)| ((s["traceId"].as_str().unwrap().into(), s["spanId"].as_str().unwrap().into()), s)).collect();
    let mut chats: BTreeMap<(String, u64), u64> = BTreeMap::new();
    let mut roots: BTreeMap<String, u64> = BTreeMap::new();
    let ns = |s: &Value, k: &str| s[k].as_str().unwrap().parse::<u64>().unwrap();
    for (strategy, s) in &all {
        let a = attrs(s);
        let trace = s["traceId"].as_str().unwrap().to_string();
        assert_eq!(trace.len(), 32);
        assert!(ns(s, "endTimeUnixNano") >= ns(s, "startTimeUnixNano"));
        let Some(p) = s.get("parentSpanId").and_then(Value::as_str) else {
            assert_eq!(text(&a, "gen_ai.operation.name"), "invoke_agent");
            *roots.entry(trace).or_default() += 1;
            continue;
        };
        let parent = by_id[&(trace.clone(), p.to_string())];
        let pa = attrs(parent);
        assert_eq!(text(&pa, "gen_ai.operation.name"), "invoke_agent");
        assert!(ns(parent, "startTimeUnixNano") <= ns(s, "startTimeUnixNano"));
        assert!(ns(parent, "endTimeUnixNano") >= ns(s, "endTimeUnixNano"));
        if text(&a, "gen_ai.operation.name") == "chat" {
            assert_eq!(text(&pa, "gen_ai.agent.name"), text(&a, "gen_ai.agent.name"));
            assert!(parent.get("parentSpanId").is_some(), "a chat span hangs under a step span");
            assert!(!text(&a, "gen_ai.request.model").is_empty());
            let task = u64::from_str_radix(&trace[16..], 16).unwrap() - 1;
            *chats.entry((strategy.clone(), task)).or_default() += 1;
        }
    }
    assert_eq!(chats, ended);
    assert!(roots.values().all(|n| *n == 1));
    // Every task of the three agent strategies is a trace; the human strategy exports none.
    assert_eq!(roots.len(), 3 * 30);
    assert!(all.iter().all(|(s, _)| s != "analysts"));
}

#[test]
fn the_export_is_byte_identical_across_runs_with_or_without_the_trail() {
    let dir = tmp("otel-determinism");
    let a = export(dir.path(), "a", "a.json", &["--audit", "--jobs", "1"]);
    let b = export(dir.path(), "b", "b.json", &["--jobs", "2"]);
    let (x, y) = (std::fs::read(dir.path().join("a.json")).unwrap(), std::fs::read(dir.path().join("b.json")).unwrap());
    assert!(!x.is_empty());
    assert_eq!(x, y);
    // FILE may be inside the output folder: it is written after the folder is in place.
    let c = export(dir.path(), "c", "c/calls.json", &[]);
    assert_eq!(std::fs::read(c.join("calls.json")).unwrap(), x);
    assert!(c.join("agents.csv").exists());
    // The trail is kept only when asked for; the data files do not change.
    assert!(a.join("events.jsonl").exists() && !b.join("events.jsonl").exists());
    assert_eq!(std::fs::read(a.join("agents.csv")).unwrap(), std::fs::read(b.join("agents.csv")).unwrap());
}

/// Mean and 95% half-width of a sample.
fn mean_ci(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let sd = (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    (m, 1.96 * sd / n.sqrt())
}

/// Per-trace model cost and tokens of an export, summed here from the raw chat spans
/// (the model's bill: `gen_ai.usage.cost`, tool fees apart).
fn per_trace(path: &Path) -> BTreeMap<String, (f64, f64)> {
    let mut per_trace: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for (_, s) in spans(path) {
        let a = attrs(&s);
        let e = per_trace.entry(s["traceId"].as_str().unwrap().to_string()).or_default();
        if text(&a, "gen_ai.operation.name") == "chat" {
            e.0 += pico(&text(&a, "gen_ai.usage.cost")) as f64 / 1e12;
            let n = |k: &str| a.get(k).map_or(0.0, |v| v.as_str().unwrap().parse::<f64>().unwrap());
            e.1 += n("gen_ai.usage.input_tokens") + n("gen_ai.usage.output_tokens");
        }
    }
    per_trace
}

/// Calibrates from the export `file` (in `dir`), re-runs the fitted scenario for `tasks`
/// tasks and 5 replications, and checks that its mean model cost and tokens per task lie
/// within the 95% interval of the export's per-trace means. Returns the fitted text.
fn round_trip(dir: &Path, file: &str, tasks: usize) -> String {
    let traces = per_trace(&dir.join(file));
    assert_eq!(traces.len(), tasks);
    let (cost, cost_hw) = mean_ci(&traces.values().map(|v| v.0).collect::<Vec<_>>());
    let (tokens, tokens_hw) = mean_ci(&traces.values().map(|v| v.1).collect::<Vec<_>>());
    let cal = format!("{file}.toml");
    let out = format!("{file}.re");
    orchsim(dir).args(["calibrate", "traces", file, "--out", &cal]).assert().success();
    orchsim(dir)
        .args(["run", &cal, "--tasks", &tasks.to_string(), "--replications", "5", "--no-charts", "--quiet", "--out", &out])
        .assert()
        .success();
    let (h, rows) = read_csv(&dir.join(&out).join("summary.csv"));
    let get = |metric: &str| {
        let r = rows.iter().find(|r| r[1] == metric).unwrap();
        r[h.iter().position(|x| x == "mean").unwrap()].parse::<f64>().unwrap() / tasks as f64
    };
    let (re_cost, re_tokens) = (get("model_cost_usd"), get("tokens_in") + get("tokens_out"));
    eprintln!(
        "{file}: cost/task {cost:.6} ± {cost_hw:.6}, re-run {re_cost:.6}; tokens/task {tokens:.1} ± {tokens_hw:.1}, re-run {re_tokens:.1}"
    );
    assert!((re_cost - cost).abs() <= cost_hw, "{file}: cost per task: re-run {re_cost}, export {cost} ± {cost_hw}");
    assert!((re_tokens - tokens).abs() <= tokens_hw, "{file}: tokens per task: re-run {re_tokens}, export {tokens} ± {tokens_hw}");
    std::fs::read_to_string(dir.join(cal)).unwrap()
}

/// The lines of an export that hold strategy `name`'s world.
fn strategy_lines(all: &str, name: &str) -> String {
    let tag = format!(r#""orchsim.strategy","value":{{"stringValue":"{name}"}}"#);
    all.lines().filter(|l| l.contains(&tag)).map(|l| l.to_string() + "\n").collect()
}

/// Part 5 of issue 14: export, calibrate from the export, run the fitted scenario, for
/// the three agent strategies of research-report: the single agent, the vote of three
/// (its copies are overlapping invocations) and the five-step pipeline (its reviewer's
/// reworks are the last step's extra runs). Model cost and tokens per task of the
/// re-run fall within the 95% interval of the exported traces' means.
#[test]
fn round_trip_export_calibrate_rerun_keeps_cost_and_tokens_per_task() {
    let dir = tmp("otel-roundtrip");
    orchsim(dir.path())
        .arg("run")
        .arg(scenario("research-report.toml"))
        .args(["--tasks", "400", "--replications", "1", "--no-charts", "--quiet", "--out", "orig", "--otel", "all.json"])
        .assert()
        .success();
    let all = std::fs::read_to_string(dir.path().join("all.json")).unwrap();
    for name in ["single", "vote3", "pipeline"] {
        let lines = strategy_lines(&all, name);
        assert_eq!(lines.lines().count(), 1);
        std::fs::write(dir.path().join(format!("{name}.json")), &lines).unwrap();
    }

    // The recorded cost of a single-agent call is its tokens at the catalog's prices
    // (no tools, no cache): repricing reproduces it exactly, trace by trace.
    orchsim(dir.path()).args(["traces", "reprice", "single.json", "--out", "rp"]).assert().success();
    let (h, rows) = read_csv(&dir.path().join("rp/reprice.csv"));
    let c = |n: &str| h.iter().position(|x| x == n).unwrap();
    let both: Vec<&Vec<String>> =
        rows.iter().filter(|r| !r[c("recorded_cost_usd")].is_empty() && !r[c("repriced_cost_usd")].is_empty()).collect();
    assert!(both.len() > 350, "{}", both.len());
    for r in both {
        assert_eq!(pico(&r[c("recorded_cost_usd")]), pico(&r[c("repriced_cost_usd")]), "{r:?}");
    }

    round_trip(dir.path(), "single.json", 400);
    let vote = round_trip(dir.path(), "vote3.json", 400);
    assert!(vote.contains("replicas = 3, merge = \"vote\""), "{vote}");
    let pipeline = round_trip(dir.path(), "pipeline.json", 400);
    assert!(pipeline.contains("reworks = \"researcher\""), "{pipeline}");
    assert!(pipeline.contains("review = { recall = 0, false_positive_rate = "), "{pipeline}");
}

/// The round trip of an agent loop: a coding agent on a model with a cache-write
/// premium, whose turns read the conversation from the cache and call tools. The
/// fitted scenario is a loop again (turns, tool results, tool time, the system prompt
/// as the first turn's cached tokens), and its cost and tokens per task match.
#[test]
fn round_trip_of_an_agent_loop_keeps_cost_and_tokens_per_task() {
    let dir = tmp("otel-roundtrip-loop");
    let scenario = "name = \"coder\"\nseed = 4\nreplications = 1\n[workload]\ntasks = 400\n\
         arrivals = { process = \"poisson\", rate_per_hour = 120 }\n\
         [models.\"claude-sonnet-4-5-20250929\"]\nmax_concurrency = 20\nerror_rate = 0.02\n\
         [agents.coder]\nmodel = \"claude-sonnet-4-5-20250929\"\nsystem_prompt_tokens = 3000\n\
         input_tokens = { dist = \"lognormal\", mean = 1500, sd = 500 }\n\
         output_tokens = { dist = \"lognormal\", mean = 300, sd = 150 }\n\
         tool_calls = { count = 1, usd_per_call = 0.001 }\n\
         [agents.coder.loop]\nstop_probability = 0.15\nmax_turns = 60\n\
         tool_result_tokens = { dist = \"lognormal\", mean = 800, sd = 600 }\n\
         tool_time_s = { dist = \"lognormal\", mean = 4, sd = 3 }\n\
         [strategies.solo]\nretry = { max_attempts = 3, backoff_base_s = 1 }\nsteps = [{ id = \"code\", agent = \"coder\" }]\n";
    std::fs::write(dir.path().join("coder.toml"), scenario).unwrap();
    orchsim(dir.path()).args(["run", "coder.toml", "--no-charts", "--quiet", "--out", "orig", "--otel", "coder.json"]).assert().success();
    let fitted = round_trip(dir.path(), "coder.json", 400);
    assert!(fitted.contains("[agents.\"coder\".loop]"), "{fitted}");
    assert!(fitted.contains("system_prompt_tokens = 3000"), "{fitted}");
}
