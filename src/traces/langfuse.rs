//! Langfuse trace exports: `{"trace": {...}, "observations": [...]}`. Observations of
//! type GENERATION are LLM calls; their `usageDetails` and `costDetails` give usage and
//! recorded cost.
//!
//! Langfuse's usage types are disjoint and add up to `total`: `input`, `input_cache_read`
//! (or `input_cached_tokens`), `output`, `output_reasoning`... so the prompt is the sum of
//! the keys holding `input`, and the completion of those holding `output`. Keys copied
//! from OpenInference, `prompt_details.cache_read` and `completion_details.reasoning`,
//! are parts already inside `input` and `output`. Where `total` disagrees with the sum,
//! the observation is reported.

use serde_json::{Map, Value};

use super::json::{Doc, count, rfc3339_ns, show, usd};
use super::otel::check_usage;
use super::{CallFacts, RecordedUsage, Sink, Span, SpanStatus};
use crate::economics::money::Usd;

/// The observations of a Langfuse export. The top-level list is used when both it and
/// `trace.observations` are present: they hold the same observations.
pub(crate) fn read(sink: &mut Sink<'_>, doc: &Doc, root: &Map<String, Value>) {
    let line = doc.line(root);
    let trace = root.get("trace").and_then(Value::as_object);
    let list = root.get("observations").or_else(|| trace.and_then(|t| t.get("observations")));
    let trace_id = trace.and_then(|t| t.get("id")).and_then(Value::as_str);
    match list.and_then(Value::as_array) {
        Some(obs) => {
            for o in obs {
                match o.as_object() {
                    Some(o) => read_observation(sink, doc, o, trace_id),
                    None => sink.error(line, "observations[]", &show(o), "an observation object"),
                }
            }
        }
        None => sink.error(line, "observations", &list.map(show).unwrap_or_default(), "a list of observations"),
    }
}

fn text<'a>(o: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    o.get(key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty())
}

/// One observation (also as an element of a bare list of observations).
pub(crate) fn read_observation(sink: &mut Sink<'_>, doc: &Doc, o: &Map<String, Value>, trace_id: Option<&str>) {
    let line = doc.line(o);
    let errors = sink.errors.len();
    let mut need = |key: &str, what: &str| -> Option<String> {
        let v = text(o, key).map(String::from);
        if v.is_none() {
            sink.error(line, key, &o.get(key).map(show).unwrap_or_default(), format!("{what} (a non-empty string)"));
        }
        v
    };
    let id = need("id", "the observation id");
    let kind = need("type", "the observation type (GENERATION, SPAN, AGENT, TOOL...)");
    let start_text = need("startTime", "the start time");
    let trace_id = text(o, "traceId").or(trace_id).map(String::from);
    if trace_id.is_none() {
        sink.error(line, "traceId", "", "the trace id (a non-empty string)");
    }
    let parent = text(o, "parentObservationId").unwrap_or("").to_string();
    let start = start_text.as_deref().and_then(|t| {
        let ns = rfc3339_ns(t);
        if ns.is_none() {
            sink.error(line, "startTime", t, "an RFC 3339 time with a zone (2025-06-06T11:31:33.965Z)");
        }
        ns
    });
    let end = match o.get("endTime") {
        None | Some(Value::Null) => {
            if kind.as_deref() == Some("GENERATION") {
                sink.warn(line, "endTime", "null", "the end of the generation: its duration is left empty");
            }
            Some(None)
        }
        Some(v) => {
            let ns = v.as_str().and_then(rfc3339_ns);
            if ns.is_none() {
                sink.error(line, "endTime", &show(v), "an RFC 3339 time with a zone, or null");
            }
            ns.map(Some)
        }
    };
    let status = if text(o, "level") == Some("ERROR") { SpanStatus::Error } else { SpanStatus::Unset };
    let agent = metadata_agent(o).or_else(|| (kind.as_deref() == Some("AGENT")).then(|| text(o, "name").map(String::from)).flatten());
    let call = (kind.as_deref() == Some("GENERATION")).then(|| generation(sink, line, o));
    if sink.errors.len() > errors {
        return;
    }
    if let (Some(span_id), Some(trace_id), Some(start_ns), Some(end_ns)) = (id, trace_id, start, end) {
        sink.push(Span { line, trace_id, span_id, parent, start_ns, end_ns, status, agent, call });
    }
}

/// `gen_ai.agent.name` among the OpenTelemetry attributes Langfuse keeps in `metadata`
/// (a JSON string or an object).
fn metadata_agent(o: &Map<String, Value>) -> Option<String> {
    let parsed;
    let md = match o.get("metadata")? {
        Value::String(s) => {
            parsed = serde_json::from_str::<Value>(s).ok()?;
            &parsed
        }
        v => v,
    };
    md.get("attributes")?.get("gen_ai.agent.name")?.as_str().map(String::from)
}

fn generation(sink: &mut Sink<'_>, line: u32, o: &Map<String, Value>) -> CallFacts {
    let model = text(o, "model").unwrap_or("").to_string();
    if model.is_empty() {
        sink.warn(line, "model", "", "a generation without a model name");
    }
    let usage = match o.get("usageDetails").or_else(|| o.get("usage")) {
        None | Some(Value::Null) => None,
        Some(Value::Object(u)) => usage_details(sink, line, u),
        Some(v) => {
            sink.error(line, "usageDetails", &show(v), "an object of token counts by usage type");
            None
        }
    };
    if usage.is_none() {
        sink.warn(
            line,
            "usageDetails",
            "",
            "a generation without input and output token counts: not counted in token totals and not repriced",
        );
    }
    let recorded_cost = match o.get("costDetails") {
        Some(Value::Object(c)) if !c.is_empty() => cost_details(sink, line, c),
        _ => None,
    };
    CallFacts { model, usage, recorded_cost }
}

fn usage_details(sink: &mut Sink<'_>, line: u32, u: &Map<String, Value>) -> Option<RecordedUsage> {
    let (mut input, mut output, mut total) = (None::<u64>, None::<u64>, None::<u64>);
    let (mut cached, mut write, mut reasoning) = (0u64, 0u64, 0u64);
    let (mut cached_part, mut write_part, mut reasoning_part) = (0u64, 0u64, 0u64);
    for (k, v) in u {
        let Some(n) = count(v) else {
            sink.error(line, &format!("usageDetails.{k}"), &show(v), "a non-negative integer token count");
            continue;
        };
        let key = k.as_str();
        let cache_read = key.contains("cache_read") || key.contains("cached");
        let cache_write = key.contains("cache_creation") || key.contains("cache_write");
        if key == "total" {
            total = Some(n);
        } else if key.starts_with("prompt_details.") {
            // OpenInference's parts of the prompt, already inside `input`.
            if cache_read {
                cached_part += n;
            } else if cache_write {
                write_part += n;
            }
        } else if key.starts_with("completion_details.") {
            if key.contains("reasoning") {
                reasoning_part += n;
            }
        } else if key.contains("input") {
            *input.get_or_insert(0) += n;
            if cache_read {
                cached += n;
            } else if cache_write {
                write += n;
            }
        } else if key.contains("output") {
            *output.get_or_insert(0) += n;
            if key.contains("reasoning") {
                reasoning += n;
            }
        } else {
            sink.warn(line, &format!("usageDetails.{k}"), &n.to_string(), "a usage type naming input or output: not counted");
        }
    }
    let (input, output) = (input?, output?);
    let usage = RecordedUsage {
        input_tokens: input,
        cached_tokens: if cached > 0 { cached } else { cached_part },
        cache_write_tokens: if write > 0 { write } else { write_part },
        output_tokens: output,
        reasoning_tokens: if reasoning > 0 { reasoning } else { reasoning_part },
    };
    if let Some(t) = total.filter(|t| *t != input + output) {
        sink.warn(
            line,
            "usageDetails.total",
            &t.to_string(),
            format!("the sum of the input and output usage types, {}: tokens are missing or counted twice", input + output),
        );
    }
    check_usage(sink, line, &usage);
    Some(usage)
}

fn cost_details(sink: &mut Sink<'_>, line: u32, c: &Map<String, Value>) -> Option<Usd> {
    let mut amount = |k: &str, v: &Value| {
        let a = usd(v);
        if a.is_none() {
            sink.error(line, &format!("costDetails.{k}"), &show(v), "a decimal amount of dollars");
        }
        a
    };
    match c.get("total") {
        Some(t) => amount("total", t),
        None => c.iter().map(|(k, v)| amount(k, v)).sum(),
    }
}
