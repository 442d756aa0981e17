//! OpenTelemetry spans: OTLP JSON (the Collector's file exporter) and the Python SDK's
//! span JSON, both read into [`Span`]s; and the GenAI attributes that make a span an
//! LLM call with usage and a recorded cost.

use serde_json::{Map, Value};

use super::json::{Doc, count, hex_id, int, rfc3339_ns, show, usd};
use super::{CallFacts, RecordedUsage, Sink, Span, SpanStatus};
use crate::economics::money::Usd;

/// `gen_ai.operation.name` values of an LLM call. `call_llm` is any-agent's name.
const LLM_OPERATIONS: &[&str] = &["chat", "text_completion", "generate_content", "completion", "responses", "call_llm"];

/// Token attributes, first match wins: the GenAI semantic conventions, their older
/// names, then OpenInference's.
const INPUT: &[&str] = &["gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.token_count.prompt"];
const OUTPUT: &[&str] = &["gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens", "llm.token_count.completion"];
const CACHE_READ: &[&str] =
    &["gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens", "llm.token_count.prompt_details.cache_read"];
const CACHE_WRITE: &[&str] =
    &["gen_ai.usage.cache_creation.input_tokens", "gen_ai.usage.cache_creation_input_tokens", "llm.token_count.prompt_details.cache_write"];
const REASONING: &[&str] =
    &["gen_ai.usage.reasoning.output_tokens", "gen_ai.usage.reasoning_tokens", "llm.token_count.completion_details.reasoning"];

/// Recorded cost: a total, else the sum of parts, in this order of preference.
const COST_TOTAL: &[&str] = &["gen_ai.usage.cost", "llm.cost.total"];
const COST_PARTS: &[&[&str]] = &[
    &["gen_ai.usage.input_cost", "gen_ai.usage.output_cost"],
    &["llm.cost.prompt", "llm.cost.completion"],
    // any-agent's names before it adopted gen_ai.usage.*_cost.
    &["cost_prompt", "cost_completion"],
];

fn first<'a>(attrs: &'a Map<String, Value>, keys: &[&'static str]) -> Option<(&'static str, &'a Value)> {
    keys.iter().find_map(|k| attrs.get(*k).filter(|v| !v.is_null()).map(|v| (*k, v)))
}

/// Reads the GenAI attributes of one span: its agent name, and, for an LLM call, the
/// model, usage and recorded cost. Usage on other spans is not counted (some
/// instrumentations roll children's usage up into agent spans) and is reported.
pub(crate) fn genai(sink: &mut Sink<'_>, line: u32, attrs: &Map<String, Value>) -> (Option<String>, Option<CallFacts>) {
    let text = |k: &str| attrs.get(k).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty());
    let agent = text("gen_ai.agent.name").map(String::from);
    let op = text("gen_ai.operation.name");
    let oi_kind = text("openinference.span.kind");
    let is_call = op.is_some_and(|o| LLM_OPERATIONS.contains(&o)) || oi_kind.is_some_and(|k| k.eq_ignore_ascii_case("LLM"));
    if !is_call {
        if let Some((k, _)) = first(attrs, INPUT).or_else(|| first(attrs, OUTPUT)) {
            let kind = op.or(oi_kind).unwrap_or("none");
            sink.warn(line, k, "", format!("token usage on a span that is not an LLM call (operation {kind}) is not counted: instrumentations roll children's usage up into such spans"));
        }
        return (agent, None);
    }
    let model = text("gen_ai.response.model").or_else(|| text("gen_ai.request.model")).or_else(|| text("llm.model_name")).unwrap_or("");
    if model.is_empty() {
        sink.warn(
            line,
            "gen_ai.request.model",
            "",
            "an LLM call without a model name (gen_ai.response.model, gen_ai.request.model or llm.model_name)",
        );
    }
    let mut tokens = |keys: &[&'static str]| -> Option<u64> {
        let (k, v) = first(attrs, keys)?;
        let n = count(v);
        if n.is_none() {
            sink.error(line, k, &show(v), "a non-negative integer token count");
        }
        n
    };
    let (input, output) = (tokens(INPUT), tokens(OUTPUT));
    let (cached, write, reasoning) = (tokens(CACHE_READ), tokens(CACHE_WRITE), tokens(REASONING));
    let usage = match (input, output) {
        (Some(i), Some(o)) => Some(RecordedUsage {
            input_tokens: i,
            cached_tokens: cached.unwrap_or(0),
            cache_write_tokens: write.unwrap_or(0),
            output_tokens: o,
            reasoning_tokens: reasoning.unwrap_or(0),
        }),
        (None, None) => {
            sink.warn(
                line,
                "gen_ai.usage.input_tokens",
                "",
                "an LLM call without token usage: not counted in token totals and not repriced",
            );
            None
        }
        (i, _) => {
            let missing = if i.is_none() { "gen_ai.usage.input_tokens" } else { "gen_ai.usage.output_tokens" };
            sink.warn(line, missing, "", "an LLM call with only half of its token usage: not counted in token totals and not repriced");
            None
        }
    };
    if let Some(u) = &usage {
        check_usage(sink, line, u);
    }
    let recorded_cost = recorded_cost(sink, line, attrs);
    (agent, Some(CallFacts { model: model.to_string(), usage, recorded_cost }))
}

/// Warns about usage that contradicts the conventions (input includes cached tokens,
/// output includes reasoning tokens) or reports nothing.
pub(crate) fn check_usage(sink: &mut Sink<'_>, line: u32, u: &RecordedUsage) {
    if u.cached_tokens + u.cache_write_tokens > u.input_tokens {
        sink.warn(
            line,
            "gen_ai.usage.cache_read.input_tokens",
            &format!("{} + {} > {}", u.cached_tokens, u.cache_write_tokens, u.input_tokens),
            "cache reads and writes within the input tokens (the instrumentation may report input without cached tokens)",
        );
    }
    if u.reasoning_tokens > u.output_tokens {
        sink.warn(
            line,
            "gen_ai.usage.reasoning.output_tokens",
            &format!("{} > {}", u.reasoning_tokens, u.output_tokens),
            "reasoning tokens within the output tokens",
        );
    }
    if u.input_tokens == 0 && u.output_tokens == 0 {
        sink.warn(line, "gen_ai.usage.input_tokens", "0", "an LLM call that reports 0 input and 0 output tokens");
    }
}

fn recorded_cost(sink: &mut Sink<'_>, line: u32, attrs: &Map<String, Value>) -> Option<Usd> {
    let mut amount = |k: &str, v: &Value| -> Option<Usd> {
        let a = usd(v);
        if a.is_none() {
            sink.error(line, k, &show(v), "a decimal amount of dollars");
        }
        a
    };
    if let Some((k, v)) = first(attrs, COST_TOTAL) {
        return amount(k, v);
    }
    for parts in COST_PARTS {
        let present: Vec<(&str, &Value)> = parts.iter().filter_map(|k| attrs.get(*k).filter(|v| !v.is_null()).map(|v| (*k, v))).collect();
        if !present.is_empty() {
            return present.into_iter().map(|(k, v)| amount(k, v)).sum();
        }
    }
    None
}

/// OTLP's `AnyValue` as a plain JSON value (`intValue` strings become integers).
fn any_value(v: &Value) -> Option<Value> {
    let m = v.as_object()?;
    let (k, x) = m.iter().next()?;
    Some(match k.as_str() {
        "stringValue" | "bytesValue" => Value::String(x.as_str()?.to_string()),
        "boolValue" => Value::Bool(x.as_bool()?),
        // A malformed count stays as written, for the reader of that attribute to report.
        "intValue" => int(x).and_then(|i| i64::try_from(i).ok()).map_or_else(|| x.clone(), Value::from),
        "doubleValue" => match x {
            Value::Number(_) => x.clone(),
            Value::String(s) => Value::from(s.parse::<f64>().ok()?),
            _ => return None,
        },
        "arrayValue" => {
            Value::Array(x.get("values").and_then(Value::as_array).map_or(Some(vec![]), |a| a.iter().map(any_value).collect())?)
        }
        "kvlistValue" => {
            let mut out = Map::new();
            for kv in x.get("values").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]) {
                out.insert(kv.get("key")?.as_str()?.to_string(), kv.get("value").map_or(Some(Value::Null), any_value)?);
            }
            Value::Object(out)
        }
        _ => return None,
    })
}

/// OTLP's attribute list `[{key, value: {stringValue: ...}}]` as a flat map.
fn otlp_attributes(sink: &mut Sink<'_>, line: u32, list: Option<&Value>) -> Map<String, Value> {
    let mut out = Map::new();
    let Some(list) = list.filter(|v| !v.is_null()) else { return out };
    let Some(items) = list.as_array() else {
        sink.error(line, "attributes", &show(list), "a list of {key, value} objects");
        return out;
    };
    for item in items {
        let key = item.get("key").and_then(Value::as_str);
        let value = item.get("value").map_or(Some(Value::Null), any_value);
        match (key, value) {
            (Some(k), Some(v)) => {
                out.insert(k.to_string(), v);
            }
            _ => sink.error(
                line,
                &format!("attributes.{}", key.unwrap_or("?")),
                &show(item),
                "{\"key\": NAME, \"value\": {\"stringValue\"|\"intValue\"|\"doubleValue\"|\"boolValue\"|\"arrayValue\"|\"kvlistValue\": ...}}",
            ),
        }
    }
    out
}

fn field<'a>(sink: &mut Sink<'_>, line: u32, obj: &'a Map<String, Value>, key: &str, expected: &str) -> Option<&'a Value> {
    let v = obj.get(key).filter(|v| !v.is_null());
    if v.is_none() {
        sink.error(line, key, "", format!("{expected} (missing)"));
    }
    v
}

fn id(sink: &mut Sink<'_>, line: u32, key: &str, v: &Value, bytes: usize) -> Option<String> {
    let h = hex_id(v, bytes);
    if h.is_none() {
        sink.error(line, key, &show(v), format!("a {bytes}-byte id: {} hex digits or an integer", 2 * bytes));
    }
    h
}

fn list<'a>(sink: &mut Sink<'_>, line: u32, obj: &'a Map<String, Value>, key: &str) -> &'a [Value] {
    match obj.get(key) {
        None | Some(Value::Null) => &[],
        Some(Value::Array(a)) => a,
        Some(v) => {
            sink.error(line, key, &show(v), "a list");
            &[]
        }
    }
}

/// One `{"resourceSpans": [...]}` document.
pub(crate) fn read_otlp(sink: &mut Sink<'_>, doc: &Doc, root: &Map<String, Value>) {
    let line = doc.line(root);
    for rs in list(sink, line, root, "resourceSpans") {
        let Some(rs) = rs.as_object() else {
            sink.error(line, "resourceSpans[]", &show(rs), "an object with scopeSpans");
            continue;
        };
        let l = doc.line(rs);
        let key = if rs.contains_key("scopeSpans") { "scopeSpans" } else { "instrumentationLibrarySpans" };
        for ss in list(sink, l, rs, key) {
            let Some(ss) = ss.as_object() else {
                sink.error(l, key, &show(ss), "an object with spans");
                continue;
            };
            let l = doc.line(ss);
            for s in list(sink, l, ss, "spans") {
                match s.as_object() {
                    Some(s) => read_otlp_span(sink, doc, s),
                    None => sink.error(l, "spans[]", &show(s), "a span object"),
                }
            }
        }
    }
}

fn read_otlp_span(sink: &mut Sink<'_>, doc: &Doc, s: &Map<String, Value>) {
    let line = doc.line(s);
    let errors = sink.errors.len();
    let trace_id = field(sink, line, s, "traceId", "a trace id").and_then(|v| id(sink, line, "traceId", v, 16));
    let span_id = field(sink, line, s, "spanId", "a span id").and_then(|v| id(sink, line, "spanId", v, 8));
    let parent = match s.get("parentSpanId") {
        None | Some(Value::Null) => Some(String::new()),
        Some(Value::String(p)) if p.is_empty() => Some(String::new()),
        Some(v) => id(sink, line, "parentSpanId", v, 8),
    };
    let mut time = |key: &str| {
        let v = field(sink, line, s, key, "unix nanoseconds")?;
        let t = int(v);
        if t.is_none() {
            sink.error(line, key, &show(v), "unix nanoseconds (an integer or a string of digits)");
        }
        t
    };
    let (start, end) = (time("startTimeUnixNano"), time("endTimeUnixNano").map(Some));
    let status = match s.get("status").and_then(|st| st.get("code")) {
        None | Some(Value::Null) => SpanStatus::Unset,
        Some(c) => match (c.as_u64(), c.as_str()) {
            (Some(0), _) | (_, Some("STATUS_CODE_UNSET")) => SpanStatus::Unset,
            (Some(1), _) | (_, Some("STATUS_CODE_OK")) => SpanStatus::Ok,
            (Some(2), _) | (_, Some("STATUS_CODE_ERROR")) => SpanStatus::Error,
            _ => {
                sink.error(line, "status.code", &show(c), "0, 1 or 2 (unset, ok, error)");
                SpanStatus::Unset
            }
        },
    };
    let attrs = otlp_attributes(sink, line, s.get("attributes"));
    let (agent, call) = genai(sink, line, &attrs);
    if sink.errors.len() > errors {
        return;
    }
    if let (Some(trace_id), Some(span_id), Some(parent), Some(start_ns), Some(end_ns)) = (trace_id, span_id, parent, start, end) {
        sink.push(Span { line, trace_id, span_id, parent, start_ns, end_ns, status, agent, call });
    }
}

/// One span of the Python SDK's `span.to_json()`: `context.trace_id`, `parent_id` (or
/// any-agent's `parent.span_id`), ISO or nanosecond times, flat `attributes`.
pub(crate) fn read_sdk_span(sink: &mut Sink<'_>, doc: &Doc, s: &Map<String, Value>) {
    let line = doc.line(s);
    let errors = sink.errors.len();
    let ctx = field(sink, line, s, "context", "the span context {trace_id, span_id}").and_then(Value::as_object);
    let (trace_id, span_id) = match ctx {
        Some(c) => (
            field(sink, line, c, "trace_id", "context.trace_id").and_then(|v| id(sink, line, "context.trace_id", v, 16)),
            field(sink, line, c, "span_id", "context.span_id").and_then(|v| id(sink, line, "context.span_id", v, 8)),
        ),
        None => (None, None),
    };
    let parent = match (s.get("parent_id"), s.get("parent")) {
        (Some(v), _) if !v.is_null() => id(sink, line, "parent_id", v, 8),
        (_, Some(Value::Object(p))) => match p.get("span_id") {
            Some(v) if !v.is_null() => id(sink, line, "parent.span_id", v, 8),
            _ => Some(String::new()),
        },
        _ => Some(String::new()),
    };
    let mut time = |key: &str| {
        let v = field(sink, line, s, key, "a time")?;
        let t = match v {
            Value::String(x) => rfc3339_ns(x),
            _ => int(v),
        };
        if t.is_none() {
            sink.error(line, key, &show(v), "an RFC 3339 time with a zone (2025-06-06T11:31:33.965Z) or unix nanoseconds");
        }
        t
    };
    let start = time("start_time");
    // A span exported before it ended has `end_time: null`: its duration is unknown.
    let end = match s.get("end_time") {
        None | Some(Value::Null) => {
            sink.warn(line, "end_time", "null", "the end of the span: its duration is left empty");
            Some(None)
        }
        Some(_) => time("end_time").map(Some),
    };
    let status = match s.get("status").and_then(|st| st.get("status_code")).and_then(Value::as_str) {
        None => SpanStatus::Unset,
        Some(c) => {
            let c = c.rsplit('.').next().unwrap_or(c).to_ascii_lowercase();
            match c.as_str() {
                "unset" => SpanStatus::Unset,
                "ok" => SpanStatus::Ok,
                "error" => SpanStatus::Error,
                _ => {
                    sink.error(line, "status.status_code", &c, "UNSET, OK or ERROR");
                    SpanStatus::Unset
                }
            }
        }
    };
    let empty = Map::new();
    let attrs = match s.get("attributes") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(a)) => a,
        Some(v) => {
            sink.error(line, "attributes", &show(v), "an object of attributes");
            &empty
        }
    };
    let (agent, call) = genai(sink, line, attrs);
    if sink.errors.len() > errors {
        return;
    }
    if let (Some(trace_id), Some(span_id), Some(parent), Some(start_ns), Some(end_ns)) = (trace_id, span_id, parent, start, end) {
        sink.push(Span { line, trace_id, span_id, parent, start_ns, end_ns, status, agent, call });
    }
}
