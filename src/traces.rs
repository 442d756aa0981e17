//! Recorded agent traces in: OpenTelemetry GenAI spans (OTLP JSON, the Python SDK's span
//! JSON) and Langfuse exports, read into one table of LLM calls ([`TraceSet`]), then
//! summarised (`orchsim traces summary`) or repriced (`orchsim traces reprice`).
//!
//! A call is an LLM-call span only (`gen_ai.operation.name` `chat`, `text_completion`,
//! `generate_content`, any-agent's `call_llm`; OpenInference kind `LLM`; Langfuse type
//! GENERATION): some instrumentations roll their children's usage up into agent spans,
//! and counting those would count tokens twice. Problems come in two kinds. A file that
//! is not JSON, a document of no known shape, or a span with a missing id or time or a
//! token count that is not a count is invalid: every such problem is reported with its
//! file and line, and the command exits with code 2. A call without usage, without a
//! model or with a model the price map does not know is kept, and reported as a
//! warning with its file and line; nothing is guessed silently.

pub mod calibrate;
mod json;
mod langfuse;
mod otel;
pub mod prices;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::economics::money::Usd;
use crate::error::{Diagnostic, Error, Result};
use crate::report::write_atomic;
use prices::{PriceBook, ServiceTier};

/// Tokens of one recorded LLM call, as the GenAI conventions count them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecordedUsage {
    /// Prompt tokens, cached and cache-written ones included.
    pub input_tokens: u64,
    /// Prompt tokens read from the provider's cache.
    pub cached_tokens: u64,
    /// Prompt tokens written to the provider's cache.
    pub cache_write_tokens: u64,
    /// Completion tokens, reasoning tokens included.
    pub output_tokens: u64,
    /// Reasoning tokens.
    pub reasoning_tokens: u64,
}

/// A span's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpanStatus {
    /// Not set (Langfuse: any level but ERROR).
    Unset,
    /// OK.
    Ok,
    /// Error (Langfuse: level ERROR).
    Error,
}

impl SpanStatus {
    /// `unset`, `ok` or `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            SpanStatus::Unset => "unset",
            SpanStatus::Ok => "ok",
            SpanStatus::Error => "error",
        }
    }
}

/// One LLM call read from a trace file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    /// The file it was read from.
    pub file: String,
    /// The line of its span.
    pub line: u32,
    /// Trace id (lowercase hex for OpenTelemetry, as written for Langfuse).
    pub trace_id: String,
    /// Span (observation) id.
    pub span_id: String,
    /// Parent span id, empty for a root.
    pub parent_span_id: String,
    /// The span id of the nearest enclosing span that names an agent (its `invoke_agent`
    /// span, or Langfuse's AGENT observation): the calls of one run of an agent share it.
    /// Empty when no enclosing span names one.
    pub invocation: String,
    /// `gen_ai.agent.name` of the span or its nearest ancestor that has one (Langfuse:
    /// also the name of the nearest AGENT observation); empty when none has.
    pub agent: String,
    /// The model as recorded (`gen_ai.response.model`, else `gen_ai.request.model`, else
    /// `llm.model_name`); empty when none is.
    pub model: String,
    /// Start, unix nanoseconds.
    pub start_ns: i128,
    /// End minus start, nanoseconds; `None` when the span has no end time.
    pub duration_ns: Option<i128>,
    /// Token usage; `None` when the span records none.
    pub usage: Option<RecordedUsage>,
    /// The cost the instrumentation recorded, rounded to the pico-dollar.
    pub recorded_cost: Option<Usd>,
    /// Span status.
    pub status: SpanStatus,
}

/// The LLM calls of a set of trace files, and the warnings met while reading them.
#[derive(Clone, Debug, Default)]
pub struct TraceSet {
    /// Calls, ordered by trace (first start, then id), then start, then span id.
    pub calls: Vec<Call>,
    /// Spans read, LLM calls or not (after removing duplicates).
    pub spans: usize,
    /// Files read.
    pub files: usize,
    /// Problems that did not stop reading: calls without usage or model, usage that
    /// contradicts itself, duplicate spans, usage on spans that are not calls.
    pub warnings: Vec<Diagnostic>,
}

/// What a reader learnt about one span.
#[derive(Debug)]
pub(crate) struct Span {
    pub(crate) line: u32,
    pub(crate) trace_id: String,
    pub(crate) span_id: String,
    pub(crate) parent: String,
    pub(crate) start_ns: i128,
    /// `None` for a span exported before it ended.
    pub(crate) end_ns: Option<i128>,
    pub(crate) status: SpanStatus,
    /// The agent name this span itself carries.
    pub(crate) agent: Option<String>,
    /// Present when the span is an LLM call.
    pub(crate) call: Option<CallFacts>,
}

/// The LLM-call part of a span.
#[derive(Debug)]
pub(crate) struct CallFacts {
    pub(crate) model: String,
    pub(crate) usage: Option<RecordedUsage>,
    pub(crate) recorded_cost: Option<Usd>,
}

/// Where readers put spans and problems of one file.
#[derive(Debug)]
pub(crate) struct Sink<'a> {
    file: &'a str,
    spans: Vec<Span>,
    errors: Vec<Diagnostic>,
    warnings: Vec<Diagnostic>,
}

impl Sink<'_> {
    pub(crate) fn error(&mut self, line: u32, path: &str, value: &str, expected: impl Into<String>) {
        self.errors.push(json::diag(self.file, line, path, value, expected));
    }
    pub(crate) fn warn(&mut self, line: u32, path: &str, value: &str, expected: impl Into<String>) {
        self.warnings.push(json::diag(self.file, line, path, value, expected));
    }
    pub(crate) fn push(&mut self, span: Span) {
        if let Some(end) = span.end_ns.filter(|e| *e < span.start_ns) {
            let d = json::seconds(end - span.start_ns);
            self.error(span.line, "end time", &format!("{d} s after the start"), "an end at or after the start");
            return;
        }
        self.spans.push(span);
    }
}

const SHAPES: &str = "a trace document: OTLP JSON {\"resourceSpans\": [...]}, the OpenTelemetry Python SDK's spans \
     ({\"spans\": [...]}, a list of spans, or one span object {\"name\", \"context\", ...} after another), \
     or a Langfuse export {\"trace\": ..., \"observations\": [...]}";

fn read_doc(sink: &mut Sink<'_>, doc: &json::Doc) {
    let is_sdk_span = |m: &serde_json::Map<String, Value>| m.contains_key("context") && m.contains_key("start_time");
    let is_observation = |m: &serde_json::Map<String, Value>| m.contains_key("traceId") && m.contains_key("type");
    match &*doc.value {
        Value::Object(m) if m.contains_key("resourceSpans") => otel::read_otlp(sink, doc, m),
        Value::Object(m) if m.contains_key("observations") || m.get("trace").is_some_and(|t| t.get("observations").is_some()) => {
            langfuse::read(sink, doc, m)
        }
        Value::Object(m) if m.get("spans").is_some_and(Value::is_array) => {
            for s in m.get("spans").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]) {
                match s.as_object() {
                    Some(s) => otel::read_sdk_span(sink, doc, s),
                    None => sink.error(doc.line(m), "spans[]", &json::show(s), "a span object"),
                }
            }
        }
        Value::Object(m) if is_sdk_span(m) => otel::read_sdk_span(sink, doc, m),
        Value::Array(items) => {
            for it in items {
                match it.as_object() {
                    Some(m) if is_sdk_span(m) => otel::read_sdk_span(sink, doc, m),
                    Some(m) if is_observation(m) => langfuse::read_observation(sink, doc, m, None),
                    Some(m) if m.contains_key("resourceSpans") => otel::read_otlp(sink, doc, m),
                    Some(m) => sink.error(doc.line(m), "", &json::show(it), format!("an element of {SHAPES}")),
                    None => sink.error(doc.first_line, "", &json::show(it), format!("an element of {SHAPES}")),
                }
            }
        }
        v => sink.error(doc.first_line, "", &json::show(v), SHAPES),
    }
}

type SpanIndex<'a> = HashMap<(&'a str, &'a str), &'a Span>;

/// A span, its parent, its parent's parent... within its trace.
fn ancestors<'a>(index: &'a SpanIndex<'a>, s: &'a Span) -> impl Iterator<Item = &'a Span> + 'a {
    let mut cur = Some(s);
    std::iter::from_fn(move || {
        let c = cur?;
        cur = (!c.parent.is_empty()).then(|| index.get(&(c.trace_id.as_str(), c.parent.as_str())).copied()).flatten();
        Some(c)
    })
    // Bounded: a cycle of parent ids in a corrupt file must not hang the reader.
    .take(10_000)
}

/// Reads trace files: every problem that makes a file unreadable is collected, and
/// then they are returned together as [`Error::Invalid`] (exit code 2).
pub fn load(paths: &[PathBuf]) -> Result<TraceSet> {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let mut spans: Vec<(usize, Span)> = Vec::new();
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    for (i, path) in paths.iter().enumerate() {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let mut sink = Sink { file: &names[i], spans: Vec::new(), errors: Vec::new(), warnings: Vec::new() };
        let Ok(text) = String::from_utf8(bytes) else {
            sink.error(1, "", "", "a UTF-8 text file of JSON (this file is not text)");
            errors.append(&mut sink.errors);
            continue;
        };
        match json::documents(&names[i], &text) {
            Err(d) => sink.errors.push(d),
            Ok(docs) if docs.is_empty() => sink.error(1, "", "", format!("{SHAPES}; the file is empty")),
            Ok(docs) => docs.iter().for_each(|d| read_doc(&mut sink, d)),
        }
        errors.append(&mut sink.errors);
        warnings.append(&mut sink.warnings);
        spans.extend(sink.spans.into_iter().map(|s| (i, s)));
    }
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    // The same span twice (overlapping exports, or a file given twice) counts once.
    let mut seen: HashMap<(String, String), (usize, u32)> = HashMap::new();
    spans.retain(|(f, s)| match seen.get(&(s.trace_id.clone(), s.span_id.clone())) {
        Some(&(f0, l0)) => {
            warnings.push(json::diag(
                &names[*f],
                s.line,
                "span",
                &s.span_id,
                format!("a span not read before: trace {} has it at {}:{l0}; counted once", s.trace_id, names[f0]),
            ));
            false
        }
        None => {
            seen.insert((s.trace_id.clone(), s.span_id.clone()), (*f, s.line));
            true
        }
    });
    let index: SpanIndex<'_> = spans.iter().map(|(_, s)| ((s.trace_id.as_str(), s.span_id.as_str()), s)).collect();
    // An LLM-call span around another one (smolagents' `LiteLLMModel.__call__` nests
    // three deep, each with the same usage) is one call: only the innermost counts.
    let mut wrappers: HashMap<(&str, &str), &Span> = HashMap::new();
    for (_, s) in spans.iter().filter(|(_, s)| s.call.is_some()) {
        if let Some(outer) = ancestors(&index, s).skip(1).find(|a| a.call.is_some()) {
            wrappers.insert((outer.trace_id.as_str(), outer.span_id.as_str()), s);
        }
    }
    for (f, s) in &spans {
        if let Some(inner) = wrappers.get(&(s.trace_id.as_str(), s.span_id.as_str())) {
            warnings.push(json::diag(
                &names[*f],
                s.line,
                "span",
                &s.span_id,
                format!(
                    "an LLM call that holds no other (span {} at line {} is one inside it): only the innermost is counted",
                    inner.span_id, inner.line
                ),
            ));
        }
    }
    let agent_of = |s| ancestors(&index, s).find_map(|a| a.agent.clone()).unwrap_or_default();
    let invocation_of = |s| ancestors(&index, s).skip(1).find(|a| a.agent.is_some()).map(|a| a.span_id.clone()).unwrap_or_default();
    let mut calls: Vec<Call> = spans
        .iter()
        .filter(|(_, s)| !wrappers.contains_key(&(s.trace_id.as_str(), s.span_id.as_str())))
        .filter_map(|(f, s)| {
            let c = s.call.as_ref()?;
            Some(Call {
                file: names[*f].clone(),
                line: s.line,
                trace_id: s.trace_id.clone(),
                span_id: s.span_id.clone(),
                parent_span_id: s.parent.clone(),
                invocation: invocation_of(s),
                agent: agent_of(s),
                model: c.model.clone(),
                start_ns: s.start_ns,
                duration_ns: s.end_ns.map(|e| e - s.start_ns),
                usage: c.usage,
                recorded_cost: c.recorded_cost,
                status: s.status,
            })
        })
        .collect();
    let mut first: HashMap<&str, i128> = HashMap::new();
    for c in &calls {
        let e = first.entry(&c.trace_id).or_insert(c.start_ns);
        *e = (*e).min(c.start_ns);
    }
    let first: HashMap<String, i128> = first.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    calls.sort_by(|a, b| {
        (first[&a.trace_id], &a.trace_id, a.start_ns, &a.span_id).cmp(&(first[&b.trace_id], &b.trace_id, b.start_ns, &b.span_id))
    });
    Ok(TraceSet { calls, spans: spans.len(), files: paths.len(), warnings })
}

fn writer() -> ::csv::Writer<Vec<u8>> {
    ::csv::WriterBuilder::new().terminator(::csv::Terminator::Any(b'\n')).from_writer(Vec::new())
}

fn finish(w: ::csv::Writer<Vec<u8>>) -> Vec<u8> {
    // Writing to a Vec cannot fail.
    w.into_inner().unwrap_or_default()
}

/// Header of `calls.csv` (the contract; change README.md with it).
pub const CALLS_HEADER: [&str; 14] = [
    "trace_id",
    "span_id",
    "parent_span_id",
    "agent",
    "model",
    "start_s",
    "duration_s",
    "input_tokens",
    "cached_tokens",
    "cache_write_tokens",
    "output_tokens",
    "reasoning_tokens",
    "recorded_cost_usd",
    "status",
];

/// `calls.csv`: one row per LLM call; token and cost cells are empty where the trace
/// records nothing.
pub fn calls_csv(calls: &[Call]) -> Vec<u8> {
    let mut w = writer();
    let _ = w.write_record(CALLS_HEADER);
    for c in calls {
        let u = |f: fn(&RecordedUsage) -> u64| c.usage.as_ref().map(|u| f(u).to_string()).unwrap_or_default();
        let _ = w.write_record([
            c.trace_id.clone(),
            c.span_id.clone(),
            c.parent_span_id.clone(),
            c.agent.clone(),
            c.model.clone(),
            json::seconds(c.start_ns),
            c.duration_ns.map(json::seconds).unwrap_or_default(),
            u(|u| u.input_tokens),
            u(|u| u.cached_tokens),
            u(|u| u.cache_write_tokens),
            u(|u| u.output_tokens),
            u(|u| u.reasoning_tokens),
            c.recorded_cost.map(|x| x.to_string()).unwrap_or_default(),
            c.status.as_str().to_string(),
        ]);
    }
    finish(w)
}

/// Sums of a group of calls.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Calls.
    pub calls: u64,
    /// Calls with usage (the token sums are over these).
    pub with_usage: u64,
    /// Token sums.
    pub usage: RecordedUsage,
    /// Calls with a recorded cost (the cost sum is over these).
    pub with_cost: u64,
    /// Sum of recorded costs.
    pub recorded_cost: Usd,
    /// Calls with status error.
    pub errors: u64,
}

impl Totals {
    fn add(&mut self, c: &Call) {
        self.calls += 1;
        if let Some(u) = &c.usage {
            self.with_usage += 1;
            self.usage.input_tokens += u.input_tokens;
            self.usage.cached_tokens += u.cached_tokens;
            self.usage.cache_write_tokens += u.cache_write_tokens;
            self.usage.output_tokens += u.output_tokens;
            self.usage.reasoning_tokens += u.reasoning_tokens;
        }
        if let Some(x) = c.recorded_cost {
            self.with_cost += 1;
            self.recorded_cost += x;
        }
        self.errors += u64::from(c.status == SpanStatus::Error);
    }
}

/// Totals grouped by a key, in key order.
pub fn totals_by(calls: &[Call], key: impl Fn(&Call) -> String) -> BTreeMap<String, Totals> {
    let mut m: BTreeMap<String, Totals> = BTreeMap::new();
    for c in calls {
        m.entry(key(c)).or_default().add(c);
    }
    m
}

fn totals_table(title: &str, groups: &BTreeMap<String, Totals>) -> String {
    let width = groups.keys().map(|k| k.chars().count()).chain([title.len(), 6]).max().unwrap_or(6).min(60);
    let mut s = format!(
        "{title:<width$} {:>6} {:>6} {:>11} {:>11} {:>11} {:>10} {:>10} {:>6} {:>14} {:>6}\n",
        "calls", "usage", "input", "cached", "cache_write", "output", "reasoning", "costed", "recorded_usd", "errors"
    );
    for (k, t) in groups {
        let name = if k.is_empty() { "(none)" } else { k };
        let _ = writeln!(
            s,
            "{name:<width$} {:>6} {:>6} {:>11} {:>11} {:>11} {:>10} {:>10} {:>6} {:>14} {:>6}",
            t.calls,
            t.with_usage,
            t.usage.input_tokens,
            t.usage.cached_tokens,
            t.usage.cache_write_tokens,
            t.usage.output_tokens,
            t.usage.reasoning_tokens,
            t.with_cost,
            t.recorded_cost.to_string(),
            t.errors
        );
    }
    s
}

/// The text `traces summary` prints: counts, then totals by agent and by model.
pub fn summary_text(set: &TraceSet) -> String {
    let traces = set.calls.iter().map(|c| c.trace_id.as_str()).collect::<std::collections::BTreeSet<_>>().len();
    let all = totals_by(&set.calls, |_| String::new());
    let t = all.values().next().copied().unwrap_or_default();
    let mut s = format!(
        "{} files, {} spans, {} traces with LLM calls, {} LLM calls ({} with usage, {} with a recorded cost, {} with status error)\n\n",
        set.files, set.spans, traces, t.calls, t.with_usage, t.with_cost, t.errors
    );
    s.push_str(&totals_table("agent", &totals_by(&set.calls, |c| c.agent.clone())));
    s.push('\n');
    s.push_str(&totals_table("model", &totals_by(&set.calls, |c| c.model.clone())));
    s.push_str("\nToken sums are over the calls with usage; recorded_usd over the calls with a recorded cost (costed).\n");
    s
}

fn print_warnings(warnings: &[Diagnostic]) {
    for w in warnings {
        eprintln!("warning: {w}");
    }
}

/// `orchsim traces summary`: reads the files, writes `OUT/calls.csv`, prints totals.
pub fn summary(files: &[PathBuf], out: &Path) -> Result<()> {
    let set = load(files)?;
    print_warnings(&set.warnings);
    let path = out.join("calls.csv");
    write_atomic(&path, &calls_csv(&set.calls))?;
    crate::commands::say(&summary_text(&set))?;
    crate::sayln!("wrote {}", path.display())
}

/// One row of `reprice.csv`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepricedTrace {
    /// Trace id.
    pub trace_id: String,
    /// LLM calls.
    pub calls: u64,
    /// Sum of recorded costs; `None` unless every call recorded one.
    pub recorded: Option<Usd>,
    /// Sum of the price map's costs; `None` unless every call could be priced.
    pub repriced: Option<Usd>,
}

/// What to price the calls at.
#[derive(Clone, Debug, Default)]
pub struct RepriceOptions {
    /// Price every call at this model instead of the recorded one.
    pub model: Option<String>,
    /// The service tier.
    pub tier: ServiceTier,
}

/// The price of every call (`None` where it cannot be priced, with a warning naming
/// the call's file and line) and the per-trace rows, in the calls' trace order.
pub fn reprice(set: &TraceSet, book: &PriceBook, opts: &RepriceOptions) -> (Vec<Option<Usd>>, Vec<RepricedTrace>, Vec<Diagnostic>) {
    let mut warnings = Vec::new();
    let mut per_call = Vec::with_capacity(set.calls.len());
    for c in &set.calls {
        let model = opts.model.as_deref().unwrap_or(&c.model);
        let warn = |msg: String| json::diag(&c.file, c.line, "model", model, msg);
        let price = match (&c.usage, model.is_empty()) {
            (None, _) => {
                warnings.push(json::diag(
                    &c.file,
                    c.line,
                    "usage",
                    "",
                    "a call with token usage to reprice: this trace's repriced cost is left empty",
                ));
                None
            }
            (_, true) => {
                warnings.push(warn("a model name to price the call: this trace's repriced cost is left empty".into()));
                None
            }
            (Some(u), false) => match book.price(model, u, opts.tier) {
                Ok(p) => {
                    if p.priced_as != model {
                        warnings.push(warn(format!("a model named as in the price map: priced as {}", p.priced_as)));
                    }
                    Some(p.cost)
                }
                Err(e) => {
                    warnings.push(warn(format!("{e}: this trace's repriced cost is left empty")));
                    None
                }
            },
        };
        per_call.push(price);
    }
    let mut rows: Vec<RepricedTrace> = Vec::new();
    for (c, p) in set.calls.iter().zip(&per_call) {
        if rows.last().is_none_or(|r| r.trace_id != c.trace_id) {
            rows.push(RepricedTrace { trace_id: c.trace_id.clone(), calls: 0, recorded: Some(Usd::ZERO), repriced: Some(Usd::ZERO) });
        }
        if let Some(r) = rows.last_mut() {
            r.calls += 1;
            r.recorded = r.recorded.zip(c.recorded_cost).map(|(a, b)| a + b);
            r.repriced = r.repriced.zip(*p).map(|(a, b)| a + b);
        }
    }
    (per_call, rows, warnings)
}

/// Header of `reprice.csv`.
pub const REPRICE_HEADER: [&str; 5] = ["trace_id", "calls", "recorded_cost_usd", "repriced_cost_usd", "difference_usd"];

/// `reprice.csv`: per trace, recorded and repriced cost and repriced minus recorded.
pub fn reprice_csv(rows: &[RepricedTrace]) -> Vec<u8> {
    let mut w = writer();
    let _ = w.write_record(REPRICE_HEADER);
    let s = |x: Option<Usd>| x.map(|x| x.to_string()).unwrap_or_default();
    for r in rows {
        let diff = r.repriced.zip(r.recorded).map(|(a, b)| a - b);
        let _ = w.write_record([r.trace_id.clone(), r.calls.to_string(), s(r.recorded), s(r.repriced), s(diff)]);
    }
    finish(w)
}

/// `orchsim traces reprice`.
pub fn reprice_command(files: &[PathBuf], opts: &RepriceOptions, prices: Option<&Path>, out: &Path) -> Result<()> {
    let book = PriceBook::load(prices)?;
    if let Some(m) = &opts.model {
        book.check_model(m, opts.tier)?;
    }
    let set = load(files)?;
    let (_, rows, more) = reprice(&set, &book, opts);
    print_warnings(&set.warnings);
    print_warnings(&more);
    let path = out.join("reprice.csv");
    write_atomic(&path, &reprice_csv(&rows))?;
    let both: Vec<&RepricedTrace> = rows.iter().filter(|r| r.recorded.is_some() && r.repriced.is_some()).collect();
    let sum = |f: fn(&RepricedTrace) -> Option<Usd>| both.iter().filter_map(|r| f(r)).sum::<Usd>();
    let (rec, rep) = (sum(|r| r.recorded), sum(|r| r.repriced));
    crate::sayln!(
        "{} traces, {} LLM calls; priced at {} ({} tier) with {}\n{} traces have both a recorded and a repriced cost: recorded ${rec}, repriced ${rep}, difference ${}\n{} traces lack a recorded cost on some call, {} could not be repriced (see the warnings)",
        rows.len(),
        set.calls.len(),
        opts.model.as_deref().unwrap_or("the recorded models"),
        opts.tier.name(),
        book.describe(),
        both.len(),
        rep - rec,
        rows.iter().filter(|r| r.recorded.is_none()).count(),
        rows.iter().filter(|r| r.repriced.is_none()).count(),
    )?;
    crate::sayln!("wrote {}", path.display())
}
