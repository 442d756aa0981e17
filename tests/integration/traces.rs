//! `orchsim traces`: ingestion of every recorded trace file, checked against sums
//! computed here from the raw JSON; OTLP and SDK files written here; bad files; and
//! repricing checked call by call against the recorded cost.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::{orchsim, pico, read_csv, root, tmp};
use orchsim::traces::{self, RepriceOptions, prices::PriceBook, prices::ServiceTier};

fn fixtures(set: &str) -> Vec<PathBuf> {
    let dir = root().join("tests/fixtures/traces").join(set);
    let mut v: Vec<PathBuf> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "json")).collect();
    v.sort();
    v
}

/// Per-trace sums: calls, calls with usage, input, cached, output, reasoning tokens,
/// calls with a recorded cost, and their sum in pico-dollars.
#[derive(Debug, Default, PartialEq, Eq, Clone, Copy)]
struct Sums {
    calls: u64,
    with_usage: u64,
    input: u64,
    cached: u64,
    output: u64,
    reasoning: u64,
    with_cost: u64,
    cost_pico: i128,
}

fn float_pico(v: &Value) -> i128 {
    (v.as_f64().unwrap() * 1e12).round() as i128
}

/// Quotes the integer ids of the SDK's `to_json`, so that `Value` keeps them exact.
fn quote_ids(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("_id\": ") {
        let (head, tail) = rest.split_at(i + 6);
        out.push_str(head);
        let n = tail.bytes().take_while(u8::is_ascii_digit).count();
        if n > 0 {
            out.push('"');
            out.push_str(&tail[..n]);
            out.push('"');
        }
        rest = &tail[n..];
    }
    out.push_str(rest);
    out
}

/// Drops LLM calls that hold another LLM call (the same call instrumented twice).
fn innermost(calls: &[(String, String)], parent: &HashMap<String, String>) -> HashSet<String> {
    let ids: HashSet<&str> = calls.iter().map(|(id, _)| id.as_str()).collect();
    let mut wrappers = HashSet::new();
    for (id, _) in calls {
        let mut cur = parent.get(id);
        while let Some(p) = cur {
            if ids.contains(p.as_str()) {
                wrappers.insert(p.clone());
            }
            cur = parent.get(p);
        }
    }
    calls.iter().filter(|(id, _)| !wrappers.contains(id)).map(|(id, _)| id.clone()).collect()
}

/// Independent sums for an any-agent file (OpenTelemetry Python SDK spans).
fn expected_sdk(path: &Path) -> BTreeMap<String, Sums> {
    let v: Value = serde_json::from_str(&quote_ids(&std::fs::read_to_string(path).unwrap())).unwrap();
    let mut seen = HashSet::new();
    let spans: Vec<&Value> = v["spans"].as_array().unwrap().iter().filter(|s| seen.insert(s["context"]["span_id"].clone())).collect();
    let id = |s: &Value| s["context"]["span_id"].as_str().unwrap().to_string();
    let parent: HashMap<String, String> =
        spans.iter().filter_map(|s| s["parent"]["span_id"].as_str().map(|p| (id(s), p.to_string()))).collect();
    let is_llm = |s: &Value| s["attributes"]["gen_ai.operation.name"] == "call_llm" || s["attributes"]["openinference.span.kind"] == "LLM";
    let llm: Vec<(String, String)> = spans.iter().filter(|s| is_llm(s)).map(|s| (id(s), String::new())).collect();
    let keep = innermost(&llm, &parent);
    let mut out: BTreeMap<String, Sums> = BTreeMap::new();
    for s in spans.iter().filter(|s| is_llm(s) && keep.contains(&id(s))) {
        let trace = format!("{:032x}", s["context"]["trace_id"].as_str().unwrap().parse::<u128>().unwrap());
        let a = &s["attributes"];
        let e = out.entry(trace).or_default();
        e.calls += 1;
        let get = |k1: &str, k2: &str| a.get(k1).or_else(|| a.get(k2)).and_then(Value::as_u64);
        if let (Some(i), Some(o)) =
            (get("gen_ai.usage.input_tokens", "llm.token_count.prompt"), get("gen_ai.usage.output_tokens", "llm.token_count.completion"))
        {
            e.with_usage += 1;
            e.input += i;
            e.output += o;
            e.cached += a.get("llm.token_count.prompt_details.cache_read").and_then(Value::as_u64).unwrap_or(0);
            e.reasoning += a.get("llm.token_count.completion_details.reasoning").and_then(Value::as_u64).unwrap_or(0);
        }
        for (ki, ko) in [("gen_ai.usage.input_cost", "gen_ai.usage.output_cost"), ("cost_prompt", "cost_completion")] {
            if a.get(ki).is_some() {
                e.with_cost += 1;
                e.cost_pico += float_pico(&a[ki]) + float_pico(&a[ko]);
                break;
            }
        }
    }
    out
}

/// Independent sums for a Langfuse export: GENERATION observations; usage types holding
/// `input` (or `output`) add up to the prompt (completion).
fn expected_langfuse(path: &Path) -> BTreeMap<String, Sums> {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut seen = HashSet::new();
    let obs: Vec<&Value> = v["observations"].as_array().unwrap().iter().filter(|o| seen.insert(o["id"].clone())).collect();
    let parent: HashMap<String, String> = obs
        .iter()
        .filter_map(|o| o["parentObservationId"].as_str().map(|p| (o["id"].as_str().unwrap().to_string(), p.to_string())))
        .collect();
    let gens: Vec<(String, String)> =
        obs.iter().filter(|o| o["type"] == "GENERATION").map(|o| (o["id"].as_str().unwrap().to_string(), String::new())).collect();
    let keep = innermost(&gens, &parent);
    let mut out: BTreeMap<String, Sums> = BTreeMap::new();
    for o in obs.iter().filter(|o| o["type"] == "GENERATION" && keep.contains(o["id"].as_str().unwrap())) {
        let e = out.entry(o["traceId"].as_str().unwrap().to_string()).or_default();
        e.calls += 1;
        let u = o["usageDetails"].as_object().unwrap();
        let sum = |word: &str| {
            let keys: Vec<_> = u.iter().filter(|(k, _)| k.contains(word) && !k.contains("_details.")).collect();
            (!keys.is_empty()).then(|| keys.iter().map(|(_, v)| v.as_u64().unwrap()).sum::<u64>())
        };
        let part = |a: &str, b: &str| u.get(a).or_else(|| u.get(b)).and_then(Value::as_u64).unwrap_or(0);
        if let (Some(i), Some(out_tokens)) = (sum("input"), sum("output")) {
            e.with_usage += 1;
            e.input += i;
            e.output += out_tokens;
            e.cached += part("input_cache_read", "prompt_details.cache_read");
            e.reasoning += part("output_reasoning", "completion_details.reasoning");
        }
        let c = o["costDetails"].as_object().unwrap();
        if !c.is_empty() {
            e.with_cost += 1;
            e.cost_pico += c.get("total").map(float_pico).unwrap_or_else(|| c.values().map(float_pico).sum());
        }
    }
    out
}

fn actual(set: &traces::TraceSet) -> BTreeMap<String, Sums> {
    let mut out: BTreeMap<String, Sums> = BTreeMap::new();
    for c in &set.calls {
        let e = out.entry(c.trace_id.clone()).or_default();
        e.calls += 1;
        if let Some(u) = c.usage {
            e.with_usage += 1;
            e.input += u.input_tokens;
            e.cached += u.cached_tokens;
            e.output += u.output_tokens;
            e.reasoning += u.reasoning_tokens;
        }
        if let Some(x) = c.recorded_cost {
            e.with_cost += 1;
            e.cost_pico += x.0;
        }
    }
    out
}

#[test]
fn every_recorded_file_gives_the_calls_and_tokens_of_its_raw_json() {
    let (mut files, mut calls) = (0, 0);
    for (set, expected) in [("any-agent-otel", expected_sdk as fn(&Path) -> _), ("langfuse-framework-traces", expected_langfuse)] {
        for path in fixtures(set) {
            let got = traces::load(std::slice::from_ref(&path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let want = expected(&path);
            assert!(!want.is_empty(), "{}: no LLM call", path.display());
            assert_eq!(actual(&got), want, "{}", path.display());
            files += 1;
            calls += want.values().map(|s| s.calls).sum::<u64>();
        }
    }
    // 155 any-agent traces and 20 Langfuse exports; 500 + 39 calls. The data README's 514
    // any-agent LLM spans count smolagents' nested wrappers and its 2 agent roll-ups; of
    // Langfuse's 42 generations, 3 wrap another (agno's OpenAIChat.invoke, Vercel's
    // ai.generateText).
    assert_eq!((files, calls), (175, 539));
}

#[test]
fn all_files_at_once_count_a_span_shared_by_two_files_once() {
    let mut paths = fixtures("any-agent-otel");
    paths.extend(fixtures("langfuse-framework-traces"));
    let set = traces::load(&paths).unwrap();
    // pydantic-ai and pydantic-ai-tools of 2025-06-06 are the same trace: its one
    // generation counts once, so 539 - 1 calls.
    assert_eq!(set.calls.len(), 538);
    assert!(
        set.warnings.iter().any(|w| w.file.ends_with("pydantic-ai-tools-2025-06-06.trace.json") && w.expected.contains("counted once"))
    );
    // smolagents' three nested LiteLLMModel.__call__ spans: the outer two are reported
    // (12 any-agent spans), and the 3 Langfuse wrappers.
    let nested = set.warnings.iter().filter(|w| w.expected.contains("only the innermost")).count();
    assert_eq!(nested, 15);
}

#[test]
fn summary_writes_calls_csv_with_the_recorded_values() {
    let dir = tmp("traces-summary");
    let file = root().join("tests/fixtures/traces/any-agent-otel/AGNO_83e2395d.json");
    let out = orchsim(dir.path()).args(["traces", "summary"]).arg(&file).args(["--out", "o"]).assert().success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(stdout.contains("3 LLM calls"), "{stdout}");
    let (h, rows) = read_csv(&dir.path().join("o/calls.csv"));
    assert_eq!(h, traces::CALLS_HEADER);
    // any-agent-otel-index.json: tokens (395, 16), (483, 14), (518, 44); the agent is the
    // invoke_agent parent's gen_ai.agent.name; costs are input_cost + output_cost.
    let tokens: Vec<(&str, &str)> = rows.iter().map(|r| (r[7].as_str(), r[10].as_str())).collect();
    assert_eq!(tokens, [("395", "16"), ("483", "14"), ("518", "44")]);
    assert!(rows.iter().all(|r| r[3] == "any_agent" && r[4] == "mistral/mistral-small-latest" && r[13] == "ok"));
    // 3.95e-05 + 4.8e-06 = 0.0000443.
    assert_eq!(pico(&rows[0][12]), 44_300_000);
    // trace id 39712373237291850001929057769826244787 in hex; start 1758026594777382000 ns.
    assert_eq!(rows[0][0], format!("{:032x}", 39712373237291850001929057769826244787u128));
    assert_eq!(rows[0][5], "1758026594.777382");
    assert_eq!(rows[0][6], "0.331559");
}

fn attr(key: &str, value: &str) -> String {
    format!(r#"{{"key":"{key}","value":{value}}}"#)
}

/// Two lines of the Collector's file exporter: an agent span (with rolled-up usage that
/// must not count) and, in the next batch, its two chat calls.
fn otlp_file() -> String {
    let span = |id: &str, parent: &str, start: u64, end: u64, attrs: &[String], code: u8| {
        format!(
            r#"{{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"{id}","parentSpanId":"{parent}","name":"x","kind":1,"startTimeUnixNano":"{start}","endTimeUnixNano":"{end}","attributes":[{}],"status":{{"code":{code}}}}}"#,
            attrs.join(",")
        )
    };
    let batch = |spans: &[String]| {
        format!(
            r#"{{"resourceSpans":[{{"resource":{{"attributes":[]}},"scopeSpans":[{{"scope":{{"name":"t"}},"spans":[{}]}}]}}]}}"#,
            spans.join(",")
        )
    };
    let agent = span(
        "eee19b7ec3c1b174",
        "",
        1_700_000_000_000_000_000,
        1_700_000_009_000_000_000,
        &[
            attr("gen_ai.operation.name", r#"{"stringValue":"invoke_agent"}"#),
            attr("gen_ai.agent.name", r#"{"stringValue":"planner"}"#),
            attr("gen_ai.usage.input_tokens", r#"{"intValue":"3500"}"#),
            attr("gen_ai.usage.output_tokens", r#"{"intValue":"700"}"#),
        ],
        0,
    );
    let chat = |id: &str, start: u64, end: u64, tokens: [&str; 4], cost: &str, code: u8| {
        span(
            id,
            "eee19b7ec3c1b174",
            start,
            end,
            &[
                attr("gen_ai.operation.name", r#"{"stringValue":"chat"}"#),
                attr("gen_ai.request.model", r#"{"stringValue":"gpt-4o"}"#),
                attr("gen_ai.response.model", r#"{"stringValue":"gpt-4o-2024-08-06"}"#),
                attr("gen_ai.usage.input_tokens", &format!(r#"{{"intValue":"{}"}}"#, tokens[0])),
                attr("gen_ai.usage.cache_read.input_tokens", &format!(r#"{{"intValue":{}}}"#, tokens[1])),
                attr("gen_ai.usage.output_tokens", &format!(r#"{{"intValue":"{}"}}"#, tokens[2])),
                attr("gen_ai.usage.reasoning.output_tokens", &format!(r#"{{"intValue":"{}"}}"#, tokens[3])),
                attr("gen_ai.usage.cost", &format!(r#"{{"doubleValue":{cost}}}"#)),
            ],
            code,
        )
    };
    let c1 = chat("aaaaaaaaaaaaaaa1", 1_700_000_001_000_000_000, 1_700_000_002_500_000_000, ["2000", "1000", "500", "0"], "0.00875", 1);
    let c2 = chat("aaaaaaaaaaaaaaa2", 1_700_000_003_000_000_000, 1_700_000_003_250_000_000, ["1500", "0", "200", "50"], "0.00575", 2);
    format!("{}\n{}\n", batch(&[agent]), batch(&[c1, c2]))
}

#[test]
fn otlp_json_lines_give_agents_from_ancestors_and_ignore_rolled_up_usage() {
    let dir = tmp("traces-otlp");
    std::fs::write(dir.path().join("t.jsonl"), otlp_file()).unwrap();
    let out = orchsim(dir.path()).args(["traces", "summary", "t.jsonl", "--out", "o"]).assert().success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    // The agent span (line 1) has usage that is its children's, reported and not counted.
    assert!(stderr.contains("t.jsonl:1: gen_ai.usage.input_tokens: token usage on a span that is not an LLM call"), "{stderr}");
    let (_, rows) = read_csv(&dir.path().join("o/calls.csv"));
    let want = [
        "5b8efff798038103d269b633813fc60c,aaaaaaaaaaaaaaa1,eee19b7ec3c1b174,planner,gpt-4o-2024-08-06,1700000001,1.5,2000,1000,0,500,0,0.00875,ok",
        "5b8efff798038103d269b633813fc60c,aaaaaaaaaaaaaaa2,eee19b7ec3c1b174,planner,gpt-4o-2024-08-06,1700000003,0.25,1500,0,0,200,50,0.00575,error",
    ];
    assert_eq!(rows.iter().map(|r| r.join(",")).collect::<Vec<_>>(), want);

    // Repriced at gpt-4o's catalog prices ($2.50 in, $1.25 cached, $10 out per Mtok):
    // call 1: 1000 × 2.5 + 1000 × 1.25 + 500 × 10 = $0.00875; call 2: 1500 × 2.5 + 200 × 10
    // = $0.00575 (the reasoning tokens at the output price). Both as recorded.
    orchsim(dir.path()).args(["traces", "reprice", "t.jsonl", "--out", "r"]).assert().success();
    let (h, rows) = read_csv(&dir.path().join("r/reprice.csv"));
    assert_eq!(h, traces::REPRICE_HEADER);
    assert_eq!(rows, [["5b8efff798038103d269b633813fc60c", "2", "0.0145", "0.0145", "0"]]);
    // Batch prices from the price map:
    let prices = root().join("tests/fixtures/traces/litellm-1.110.2-subset.json");
    orchsim(dir.path())
        .args(["traces", "reprice", "t.jsonl", "--model", "gpt-4o", "--service-tier", "batch", "--out", "b", "--prices"])
        .arg(&prices)
        .assert()
        .success();
    let (_, rows) = read_csv(&dir.path().join("b/reprice.csv"));
    // gpt-4o has no batch cache-read price in the map: cache reads at the batch input price,
    // 1000 × 1.25 + 1000 × 1.25 + 500 × 5 + 1500 × 1.25 + 200 × 5 = 0.007875.
    assert_eq!(rows[0][3], "0.007875");
    assert_eq!(rows[0][4], "-0.006625");
}

#[test]
fn python_sdk_console_spans_one_object_after_another() {
    let dir = tmp("traces-sdk");
    let span = |id: &str, parent: &str, start: &str, end: &str, attrs: &str| {
        format!(
            "{{\n    \"name\": \"chat\",\n    \"context\": {{\n        \"trace_id\": \"0x0af7651916cd43dd8448eb211c80319c\",\n        \"span_id\": \"{id}\",\n        \"trace_state\": \"[]\"\n    }},\n    \"kind\": \"SpanKind.CLIENT\",\n    \"parent_id\": {parent},\n    \"start_time\": \"{start}\",\n    \"end_time\": \"{end}\",\n    \"status\": {{\n        \"status_code\": \"UNSET\"\n    }},\n    \"attributes\": {attrs},\n    \"events\": [],\n    \"links\": [],\n    \"resource\": {{\n        \"attributes\": {{}},\n        \"schema_url\": \"\"\n    }}\n}}\n"
        )
    };
    let text = span(
        "0x00f067aa0ba902b7",
        "null",
        "2025-03-01T10:00:00.000000Z",
        "2025-03-01T10:00:02.250000Z",
        r#"{"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "writer"}"#,
    ) + &span(
        "0x00f067aa0ba902b8",
        "\"0x00f067aa0ba902b7\"",
        "2025-03-01T10:00:00.500000Z",
        "2025-03-01T10:00:02.000000Z",
        r#"{"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4.1-mini", "gen_ai.usage.input_tokens": 1200, "gen_ai.usage.output_tokens": 300}"#,
    ) + &span(
        "0x00f067aa0ba902b9",
        "\"0x00f067aa0ba902b7\"",
        "2025-03-01T10:00:02.000000Z",
        "2025-03-01T10:00:02.100000Z",
        r#"{"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4.1-mini"}"#,
    );
    std::fs::write(dir.path().join("console.json"), text).unwrap();
    let out = orchsim(dir.path()).args(["traces", "summary", "console.json", "--out", "o"]).assert().success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    // The third span starts on line 45 (each span is 22 lines): its usage is missing.
    assert!(stderr.contains("console.json:45: gen_ai.usage.input_tokens: an LLM call without token usage"), "{stderr}");
    let (_, rows) = read_csv(&dir.path().join("o/calls.csv"));
    // 2025-03-01T10:00:00.5Z = 1740823200.5 s since the epoch.
    assert_eq!(
        rows[0].join(","),
        "0af7651916cd43dd8448eb211c80319c,00f067aa0ba902b8,00f067aa0ba902b7,writer,gpt-4.1-mini,1740823200.5,1.5,1200,0,0,300,0,,unset"
    );
    assert_eq!(rows[1][7..12].join(","), ",,,,");
    // Repricing leaves the trace empty, and says which call could not be priced.
    let out = orchsim(dir.path()).args(["traces", "reprice", "console.json", "--out", "r"]).assert().success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(stderr.contains("console.json:45: usage: a call with token usage to reprice"), "{stderr}");
    let (_, rows) = read_csv(&dir.path().join("r/reprice.csv"));
    assert_eq!(rows, [["0af7651916cd43dd8448eb211c80319c", "2", "", "", ""]]);
}

#[test]
fn bad_trace_files_exit_2_with_file_line_and_what_was_wrong() {
    let dir = tmp("traces-bad");
    let cases: [(&str, String, &str); 4] = [
        ("syntax.json", "{\"resourceSpans\": [\n  {\"scopeSpans\": [\n    {\"spans\": [}\n]}]}".into(), "syntax.json:3: invalid JSON"),
        ("shape.json", "[\n  {\"hello\": 1}\n]".into(), "shape.json:2: "),
        (
            "tokens.jsonl",
            otlp_file().replace(r#"{"intValue":"1500"}"#, r#"{"intValue":"many"}"#),
            "tokens.jsonl:2: gen_ai.usage.input_tokens",
        ),
        ("ids.jsonl", otlp_file().replace("aaaaaaaaaaaaaaa2", "not-hex"), "ids.jsonl:2: spanId = \"not-hex\""),
    ];
    for (name, text, want) in &cases {
        std::fs::write(dir.path().join(name), text).unwrap();
        let out = orchsim(dir.path()).args(["traces", "summary", name, "--out", "o"]).assert().code(2);
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert!(stderr.contains(want), "{name}: {stderr}");
    }
    std::fs::write(dir.path().join("binary.json"), [0x1f, 0x8b, 0x08, 0xff, 0xfe]).unwrap();
    let out = orchsim(dir.path()).args(["traces", "summary", "binary.json", "--out", "o"]).assert().code(2);
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("binary.json:1: a UTF-8 text file of JSON"));
    assert!(!dir.path().join("o/calls.csv").exists());
}

#[test]
fn reprice_reproduces_any_agent_recorded_costs_or_explains_each_difference() {
    let paths = fixtures("any-agent-otel");
    let set = traces::load(&paths).unwrap();
    let book = PriceBook::load(Some(&root().join("tests/fixtures/traces/litellm-1.110.2-subset.json"))).unwrap();
    let (per_call, rows, _) = traces::reprice(&set, &book, &RepriceOptions::default());
    // The spans whose cost is in any-agent's older attributes cost_prompt / cost_completion.
    let legacy: HashSet<String> = paths
        .iter()
        .flat_map(|p| {
            let v: Value = serde_json::from_str(&quote_ids(&std::fs::read_to_string(p).unwrap())).unwrap();
            v["spans"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|s| s["attributes"].get("cost_prompt").is_some())
                .map(|s| format!("{:016x}", s["context"]["span_id"].as_str().unwrap().parse::<u64>().unwrap()))
                .collect::<Vec<_>>()
        })
        .collect();
    let (mut exact, mut legacy_zero_output, mut mistral_price_change) = (0, 0, 0);
    for (c, p) in set.calls.iter().zip(&per_call) {
        let (Some(rec), Some(rep), Some(u)) = (c.recorded_cost, p, c.usage) else { continue };
        let (i, o) = (u.input_tokens as i128, u.output_tokens as i128);
        // Per-token prices in pico-dollars.
        match c.model.as_str() {
            "gpt-4.1-mini" | "gpt-4.1-mini-2025-04-14" => {
                assert_eq!(rep.0, i * 400_000 + o * 1_600_000, "{}:{}", c.file, c.line);
                // OpenInference-era any-agent spans (cost_prompt / cost_completion)
                // recorded 0 for the completion: the difference is the output tokens.
                if legacy.contains(&c.span_id) {
                    assert_eq!(rec.0, i * 400_000, "{}:{}", c.file, c.line);
                    legacy_zero_output += 1;
                } else {
                    assert_eq!(rec, *rep, "{}:{}", c.file, c.line);
                    exact += 1;
                }
            }
            "mistral/mistral-small-latest" => {
                // Recorded at $0.10 / $0.30 per Mtok, the alias's price when the traces were
                // made; LiteLLM 1.110.2 prices the alias at $0.15 / $0.60.
                assert_eq!(rec.0, i * 100_000 + o * 300_000, "{}:{}", c.file, c.line);
                assert_eq!(rep.0, i * 150_000 + o * 600_000, "{}:{}", c.file, c.line);
                mistral_price_change += 1;
            }
            m => panic!("{}:{}: a recorded cost for {m}, which this test does not explain", c.file, c.line),
        }
    }
    assert_eq!((exact, legacy_zero_output, mistral_price_change), (123, 24, 153));
    // Every trace of the set has a row; traces with a call without usage have no repriced cost.
    let traces: HashSet<&str> = set.calls.iter().map(|c| c.trace_id.as_str()).collect();
    assert_eq!(rows.len(), traces.len());
    for r in &rows {
        let calls: Vec<_> = set.calls.iter().zip(&per_call).filter(|(c, _)| c.trace_id == r.trace_id).collect();
        assert_eq!(r.calls as usize, calls.len());
        assert_eq!(r.repriced.is_some(), calls.iter().all(|(_, p)| p.is_some()));
        if let Some(x) = r.repriced {
            assert_eq!(x, calls.iter().map(|(_, p)| p.unwrap()).sum());
        }
    }
    // The subset's entries are the built-in map's, so the built-in map prices alike. A
    // name the map lacks is found under its one provider-prefixed key, with a warning.
    let (builtin, _, warnings) = traces::reprice(&set, &PriceBook::load(None).unwrap(), &RepriceOptions::default());
    assert_eq!(builtin, per_call);
    let unknown = set.calls.iter().zip(&per_call).filter(|(c, p)| p.is_none() && c.usage.is_some()).count();
    assert_eq!(unknown, 0);
    let renamed =
        warnings.iter().filter(|w| w.value == "mistral-small-latest" && w.expected.ends_with("priced as mistral/mistral-small-latest"));
    assert_eq!(renamed.count(), 6);
    let batch = RepriceOptions { model: Some("gpt-4.1-mini".into()), tier: ServiceTier::Batch };
    let (per_call, _, _) = traces::reprice(&set, &book, &batch);
    for (c, p) in set.calls.iter().zip(&per_call) {
        if let Some(u) = c.usage {
            assert_eq!(p.unwrap().0, u.input_tokens as i128 * 200_000 + u.output_tokens as i128 * 800_000);
        }
    }
}

fn call(trace: &str, span: &str, start_s: i128, duration_s: f64, input: u64, output: u64, status: traces::SpanStatus) -> traces::Call {
    traces::Call {
        file: "t".into(),
        line: 1,
        trace_id: trace.into(),
        span_id: span.into(),
        parent_span_id: String::new(),
        invocation: String::new(),
        agent: "coder".into(),
        model: "gpt-4o-2024-08-06".into(),
        start_ns: start_s * 1_000_000_000,
        duration_ns: Some((duration_s * 1e9) as i128),
        usage: Some(traces::RecordedUsage { input_tokens: input, output_tokens: output, ..Default::default() }),
        recorded_cost: None,
        status,
    }
}

#[test]
fn calibrate_writes_a_valid_scenario_with_the_fitted_figures() {
    use traces::SpanStatus::{Error as Failed, Ok};
    // Three traces 100 s apart; in each, three calls of 100, 200, 300 output tokens lasting
    // 1.5, 2.5, 3.5 s (ttft 0.5 s, 100 tokens/s), inputs 1000, 1500, 2000, each call
    // starting 1.5 s after the previous one ended; one call of nine fails.
    let mut calls = Vec::new();
    for (t, t0) in [("a", 0), ("b", 100), ("c", 200)] {
        calls.push(call(t, &format!("{t}1"), t0, 1.5, 1000, 100, Ok));
        calls.push(call(t, &format!("{t}2"), t0 + 3, 2.5, 1500, 200, if t == "b" { Failed } else { Ok }));
        calls.push(call(t, &format!("{t}3"), t0 + 7, 3.5, 2000, 300, Ok));
    }
    let set = traces::TraceSet { calls, spans: 9, files: 1, warnings: vec![] };
    let outcomes: BTreeMap<String, String> =
        [("a", "correct"), ("b", "wrong"), ("c", "correct")].map(|(t, o)| (t.to_string(), o.to_string())).into();
    let text = traces::calibrate::scenario(&set, Some(&outcomes), &PriceBook::load(None).unwrap()).unwrap();
    let dir = tmp("traces-calibrate");
    let path = dir.path().join("fitted.toml");
    std::fs::write(&path, &text).unwrap();
    let loaded = orchsim::scenario::load(Some(&path), &[]).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let sc = &loaded.scenario;
    assert_eq!(sc.workload.tasks, 3);
    let a = &sc.agents[0];
    assert_eq!((a.name.as_str(), sc.models[a.model].name.as_str()), ("coder", "gpt-4o-2024-08-06"));
    assert!(a.input_tokens.as_constant().is_some_and(|v| v == 1000.0));
    assert_eq!(a.system_prompt_tokens, 0, "no call read the cache");
    // One loop per trace (no enclosing agent span): a and c answer three turns; in b the
    // second call failed and the third answered its second turn.
    let l = a.agent_loop.as_ref().expect("a loop");
    assert!(text.contains("# turns per invocation: lognormal, n = 3"), "{text}");
    // Growth beyond the previous answer: 1500 - 1000 - 100 = 400 and 2000 - 1500 - 200 = 300
    // in a and c; 2000 - 1000 - 100 = 900 in b.
    assert!(text.contains("# input growth per turn beyond the previous answer: lognormal, n = 5"), "{text}");
    assert!(l.tool_result_tokens.as_constant().is_none());
    // Every call starts 1.5 s after the previous one ended.
    assert!(l.tool_time_s.as_constant().is_some_and(|v| v == 1.5), "{:?}", l.tool_time_s);
    // b's failed call was retried 1.5 s after it ended: two attempts at most.
    assert!(text.contains("retry = { max_attempts = 2, backoff_base_s = 1.5, backoff_factor = 1 }"), "{text}");
    assert!((a.error_rate - 1.0 / 3.0).abs() < 1e-3, "{}", a.error_rate);
    let m = &sc.models[a.model];
    assert!((m.error_rate - 1.0 / 9.0).abs() < 1e-3);
    assert!(m.ttft_s.as_constant().is_some_and(|v| (v - 0.5).abs() < 1e-9), "{:?}", m.ttft_s);
    assert!(m.output_tokens_per_s.as_constant().is_some_and(|v| (v - 100.0).abs() < 1e-6));
    // Two gaps of 100 s between three trace starts: 36 an hour.
    assert!(text.contains("rate_per_hour = 36 "), "{text}");
    assert!(text.contains("# visible output tokens per turn: lognormal, n = 8, KS distance"), "{text}");

    // The recorded sets give a scenario that validates too.
    let set = traces::load(&fixtures("any-agent-otel")).unwrap();
    let text = traces::calibrate::scenario(&set, None, &PriceBook::load(None).unwrap()).unwrap();
    std::fs::write(&path, &text).unwrap();
    orchsim::scenario::load(Some(&path), &[]).unwrap_or_else(|e| panic!("{e}\n{text}"));
}

#[test]
fn calibrate_traces_command_writes_a_scenario_that_validates_and_refuses_bad_outcomes() {
    let dir = tmp("traces-calibrate-cli");
    let files = fixtures("langfuse-framework-traces");
    std::fs::write(dir.path().join("outcomes.csv"), "trace_id,outcome\n1b72c51fabed12ae7df83bfd4a09f545,correct\n").unwrap();
    orchsim(dir.path())
        .args(["calibrate", "traces"])
        .args(&files)
        .args(["--outcomes", "outcomes.csv", "--out", "fitted.toml"])
        .assert()
        .success();
    orchsim(dir.path()).args(["validate", "fitted.toml"]).assert().success();
    std::fs::write(dir.path().join("bad.csv"), "trace_id,outcome\nx,correct\ny,maybe\n").unwrap();
    let out =
        orchsim(dir.path()).args(["calibrate", "traces"]).args(&files).args(["--outcomes", "bad.csv", "--out", "f2.toml"]).assert().code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(stderr.contains("bad.csv:3: outcome = maybe: correct, wrong or failed"), "{stderr}");
    assert!(!dir.path().join("f2.toml").exists());
}

/// Part 5 of issue 14, held out: the any-agent traces of one model (each file a trace of
/// one agent loop: turns of an LLM call and a tool), split alternately into halves; the
/// scenario fitted to one half predicts the other half's mean cost per trace (repriced at
/// the catalog's prices from the recorded tokens) within that mean's 95% interval.
#[test]
fn a_scenario_fitted_to_half_the_traces_predicts_the_other_halfs_cost_per_trace() {
    let dir = tmp("traces-held-out");
    let book = PriceBook::load(None).unwrap();
    for model in ["mistral/mistral-small-latest", "gpt-4.1-mini"] {
        // The files whose every call with usage is of this model, agent any_agent.
        let files: Vec<PathBuf> = fixtures("any-agent-otel")
            .into_iter()
            .filter(|f| {
                let set = traces::load(std::slice::from_ref(f)).unwrap();
                let used: Vec<&traces::Call> = set.calls.iter().filter(|c| c.usage.is_some()).collect();
                !used.is_empty() && used.iter().all(|c| c.model == model && c.agent == "any_agent")
            })
            .collect();
        assert!(files.len() >= 40, "{model}: {} files", files.len());
        let fit: Vec<PathBuf> = files.iter().step_by(2).cloned().collect();
        let held: Vec<PathBuf> = files.iter().skip(1).step_by(2).cloned().collect();

        // The held-out half's cost per trace: each call's tokens at the catalog's prices.
        let set = traces::load(&held).unwrap();
        let mut per_trace: BTreeMap<&str, f64> = BTreeMap::new();
        for c in &set.calls {
            let u = c.usage.unwrap_or_default();
            let rates = book.resolve(&c.model).unwrap().pricing.base();
            *per_trace.entry(&c.trace_id).or_default() += (rates.input.cost(u.input_tokens) + rates.output.cost(u.output_tokens)).as_f64();
        }
        let v: Vec<f64> = per_trace.values().copied().collect();
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let hw = 1.96 * (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt() / n.sqrt();

        let text = traces::calibrate::scenario(&traces::load(&fit).unwrap(), None, &book).unwrap();
        assert!(text.contains("[agents.\"any_agent\".loop]"), "{text}");
        let path = dir.path().join("fitted.toml");
        std::fs::write(&path, &text).unwrap();
        orchsim(dir.path())
            .args(["run", "fitted.toml", "--tasks", "2000", "--replications", "5", "--no-charts", "--quiet", "--out", "re", "--force"])
            .assert()
            .success();
        let (h, rows) = read_csv(&dir.path().join("re/summary.csv"));
        let r = rows.iter().find(|r| r[1] == "model_cost_usd").unwrap();
        let predicted = r[h.iter().position(|x| x == "mean").unwrap()].parse::<f64>().unwrap() / 2000.0;
        eprintln!("{model}: held-out {mean:.6} ± {hw:.6} per trace ({} traces), predicted {predicted:.6}", v.len());
        assert!((predicted - mean).abs() <= hw, "{model}: predicted {predicted}, held-out {mean} ± {hw}");
    }
}
