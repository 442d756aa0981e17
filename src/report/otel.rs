//! `run --otel FILE`: the simulated LLM calls as OpenTelemetry spans, in the OTLP JSON
//! that the Collector's file exporter writes, so that a simulated run opens in the tools
//! that read real agent traces (and in `orchsim traces summary` and `calibrate traces`).
//!
//! The export is derived from the event trail (`events.jsonl`, see
//! [`crate::workflow::event`]): one line `{"resourceSpans":[...]}` per world
//! (replication x strategy, in the trail's order), with resource attributes
//! `service.name` = `orchsim`, `orchsim.scenario`, `orchsim.replication` and
//! `orchsim.strategy`. Each task of an agents strategy is one trace:
//!
//! - a root span `invoke_agent <strategy>` from the task's arrival to its outcome;
//! - under it, an `invoke_agent <agent>` span per run of a step and replica (a step that
//!   a reviewer sends back runs again, as a new span; each copy of a voting step is an
//!   invocation of its own, `orchsim.replica`), from its first attempt's start to the
//!   step's completion, verdict or failure;
//! - under that, a `chat <model>` span per attempt (an agent loop's turns, `orchsim.turn`,
//!   and their retries, `orchsim.attempt`), from taking the model's slot to its end,
//!   with `gen_ai.request.model`, `gen_ai.agent.name`, and the billed usage:
//!   `gen_ai.usage.input_tokens` (cached tokens included), of them
//!   `gen_ai.usage.cache_read.input_tokens` and `gen_ai.usage.cache_creation.input_tokens`,
//!   `gen_ai.usage.output_tokens` (reasoning included), of them
//!   `gen_ai.usage.reasoning.output_tokens` (none on a transient error, which billed
//!   nothing and, like a failed API call in a recorded trace, returns no usage);
//!   `gen_ai.usage.cost` (exact decimal dollars: the model's bill of the attempt,
//!   web-search query fees included), and where the attempt called tools
//!   `orchsim.tool_calls` and `orchsim.tool_cost_usd` (their fees: an attempt costs
//!   the two costs together, before platform fees); status OK, or ERROR with
//!   `error.type` `transient_error` or `timeout`.
//!
//! Human strategies make no LLM calls and export nothing; escalations to people are not
//! exported either. Times are unix nanoseconds (strings) from a fixed epoch,
//! 2026-01-01T00:00:00Z, plus the simulated time; the trace id is
//! `<replication+1><strategy number+1><task+1>` in hex (8, 8 and 16 digits), span ids count
//! from 1 within a trace in creation order. The export is a function of the trail and
//! the scenario only: the same run gives the same bytes.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::Path;

use crate::economics::money::Usd;
use crate::error::{Error, Result};
use crate::model::{Scenario, StrategyKind};
use crate::workflow::event::{AttemptEnd, Event, TrailLine};

/// 2026-01-01T00:00:00Z in unix nanoseconds: the simulated time 0 of every export.
pub const EPOCH_NS: u64 = 1_767_225_600_000_000_000;

/// A span being built.
struct SpanRec {
    id: u64,
    parent: u64,
    name: String,
    start_ns: u64,
    end_ns: u64,
    attrs: Vec<(&'static str, Attr)>,
    /// `None`: unset; `Some(None)`: OK; `Some(Some(msg))`: error.
    status: Option<Option<&'static str>>,
}

enum Attr {
    Str(String),
    Int(u64),
}

/// One task's trace.
#[derive(Default)]
struct TaskTrace {
    spans: Vec<SpanRec>,
    /// Open step runs: (step id, replica) -> index in `spans`.
    open_steps: BTreeMap<(String, u32), usize>,
    /// Started attempts not yet ended: (step, replica, turn, attempt) -> index in `spans`.
    running: HashMap<(String, u32, u32, u32), usize>,
}

impl TaskTrace {
    fn push(&mut self, parent: u64, name: String, start_ns: u64, attrs: Vec<(&'static str, Attr)>) -> usize {
        let id = self.spans.len() as u64 + 1;
        self.spans.push(SpanRec { id, parent, name, start_ns, end_ns: start_ns, attrs, status: None });
        self.spans.len() - 1
    }
}

fn ns(t: f64) -> u64 {
    EPOCH_NS + (t.max(0.0) * 1e9).round() as u64
}

/// The world being read: its tasks' traces, in task order.
struct World {
    rep: u32,
    strategy: String,
    number: usize,
    tasks: BTreeMap<u64, TaskTrace>,
}

/// Converts an event trail (`events.jsonl`) of `sc` into OTLP JSON lines.
pub fn export(sc: &Scenario, trail: &Path) -> Result<Vec<u8>> {
    let file = std::fs::File::open(trail).map_err(|e| Error::io(trail, e))?;
    let mut out = Vec::new();
    let mut world: Option<World> = None;
    let model_of: HashMap<&str, &str> = sc.agents.iter().map(|a| (a.name.as_str(), sc.models[a.model].name.as_str())).collect();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| Error::io(trail, e))?;
        if i == 0 || line.trim().is_empty() {
            continue; // the header
        }
        let tl: TrailLine = serde_json::from_str(&line).map_err(|e| {
            Error::invalid(&trail.display().to_string(), &format!("line {}", i + 1), "", format!("a trail event line: {e}"))
        })?;
        if world.as_ref().is_none_or(|w| w.rep != tl.rep || w.strategy != tl.strategy) {
            if let Some(w) = world.take() {
                write_world(sc, w, &mut out);
            }
            // Human strategies (number usize::MAX): no LLM calls, nothing to export.
            let number =
                sc.strategies.iter().position(|s| s.name == tl.strategy && matches!(s.kind, StrategyKind::Agents(_))).unwrap_or(usize::MAX);
            world = Some(World { rep: tl.rep, strategy: tl.strategy.clone(), number, tasks: BTreeMap::new() });
        }
        let Some(w) = world.as_mut().filter(|w| w.number != usize::MAX) else { continue };
        apply(w, &model_of, tl.t, tl.event);
    }
    if let Some(w) = world.filter(|w| w.number != usize::MAX) {
        write_world(sc, w, &mut out);
    }
    Ok(out)
}

fn apply(w: &mut World, model_of: &HashMap<&str, &str>, t: f64, event: Event<'static>) {
    let at = ns(t);
    match event {
        Event::TaskArrived { task, class, bu } => {
            let tr = w.tasks.entry(task).or_default();
            let attrs = vec![
                ("gen_ai.operation.name", Attr::Str("invoke_agent".into())),
                ("orchsim.task", Attr::Int(task)),
                ("orchsim.class", Attr::Str(class.into_owned())),
                ("orchsim.business_unit", Attr::Str(bu.into_owned())),
            ];
            tr.push(0, format!("invoke_agent {}", w.strategy), at, attrs);
        }
        Event::AttemptStarted { task, step, agent, replica, turn, attempt, .. } => {
            let tr = w.tasks.entry(task).or_default();
            let step_ix = match tr.open_steps.get(&(step.to_string(), replica)) {
                Some(ix) => *ix,
                None => {
                    let attrs = vec![
                        ("gen_ai.operation.name", Attr::Str("invoke_agent".into())),
                        ("gen_ai.agent.name", Attr::Str(agent.to_string())),
                        ("orchsim.step", Attr::Str(step.to_string())),
                        ("orchsim.replica", Attr::Int(replica.into())),
                    ];
                    let ix = tr.push(1, format!("invoke_agent {agent}"), at, attrs);
                    tr.open_steps.insert((step.to_string(), replica), ix);
                    ix
                }
            };
            let parent = tr.spans[step_ix].id;
            let model = model_of.get(agent.as_ref()).copied().unwrap_or(agent.as_ref()).to_string();
            let attrs = vec![
                ("gen_ai.operation.name", Attr::Str("chat".into())),
                ("gen_ai.request.model", Attr::Str(model.clone())),
                ("gen_ai.agent.name", Attr::Str(agent.to_string())),
                ("orchsim.step", Attr::Str(step.to_string())),
                ("orchsim.turn", Attr::Int(turn.into())),
                ("orchsim.attempt", Attr::Int(attempt.into())),
            ];
            let ix = tr.push(parent, format!("chat {model}"), at, attrs);
            tr.running.insert((step.into_owned(), replica, turn, attempt), ix);
        }
        Event::AttemptEnded {
            task,
            step,
            replica,
            turn,
            attempt,
            outcome,
            tokens_in,
            tokens_out,
            cache_read_in,
            cache_write_in,
            reasoning_out,
            tool_calls,
            tool_cost_usd,
            cost_usd,
            ..
        } => {
            let tr = w.tasks.entry(task).or_default();
            let Some(ix) = tr.running.remove(&(step.into_owned(), replica, turn, attempt)) else {
                return;
            };
            let s = &mut tr.spans[ix];
            s.end_ns = at.max(s.start_ns);
            // A failed API call returns no usage: a transient error carries none (it
            // billed nothing), as in recorded traces.
            if outcome != AttemptEnd::TransientError {
                s.attrs.push(("gen_ai.usage.input_tokens", Attr::Int(tokens_in)));
                s.attrs.push(("gen_ai.usage.cache_read.input_tokens", Attr::Int(cache_read_in)));
                s.attrs.push(("gen_ai.usage.cache_creation.input_tokens", Attr::Int(cache_write_in)));
                s.attrs.push(("gen_ai.usage.output_tokens", Attr::Int(tokens_out)));
                s.attrs.push(("gen_ai.usage.reasoning.output_tokens", Attr::Int(reasoning_out)));
            }
            // The model's bill; the tools' own fees are the tools', as in recorded traces.
            s.attrs.push(("gen_ai.usage.cost", Attr::Str(usd_text(cost_usd - tool_cost_usd))));
            if tool_calls > 0 {
                s.attrs.push(("orchsim.tool_calls", Attr::Int(tool_calls)));
                s.attrs.push(("orchsim.tool_cost_usd", Attr::Str(usd_text(tool_cost_usd))));
            }
            s.status = Some(match outcome {
                AttemptEnd::Success => None,
                AttemptEnd::TransientError => Some("transient_error"),
                AttemptEnd::Timeout => Some("timeout"),
            });
            if let Some(msg) = s.status.flatten() {
                s.attrs.push(("error.type", Attr::Str(msg.into())));
            }
        }
        Event::StepCompleted { task, step, .. } | Event::Reviewed { task, step, .. } | Event::StepFailed { task, step, .. } => {
            let tr = w.tasks.entry(task).or_default();
            // Every replica's run of the step ends with it.
            let runs: Vec<(String, u32)> =
                tr.open_steps.range((step.to_string(), 0)..=(step.to_string(), u32::MAX)).map(|(k, _)| k.clone()).collect();
            for k in runs {
                if let Some(ix) = tr.open_steps.remove(&k) {
                    tr.spans[ix].end_ns = at;
                }
            }
        }
        Event::TaskFinished { task, outcome, .. } => {
            let tr = w.tasks.entry(task).or_default();
            for (_, ix) in std::mem::take(&mut tr.open_steps) {
                tr.spans[ix].end_ns = at;
            }
            if let Some(root) = tr.spans.first_mut() {
                root.end_ns = at;
                root.attrs.push(("orchsim.outcome", Attr::Str(format!("{outcome:?}").to_lowercase())));
            }
        }
        _ => {}
    }
}

fn usd_text(u: Usd) -> String {
    u.to_string()
}

fn json_str(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

fn attr_json(out: &mut String, key: &str, v: &Attr) {
    let _ = match v {
        Attr::Str(s) => write!(out, "{{\"key\":{},\"value\":{{\"stringValue\":{}}}}}", json_str(key), json_str(s)),
        Attr::Int(i) => write!(out, "{{\"key\":{},\"value\":{{\"intValue\":\"{i}\"}}}}", json_str(key)),
    };
}

fn attrs_json(out: &mut String, attrs: &[(&str, Attr)]) {
    out.push('[');
    for (i, (k, v)) in attrs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        attr_json(out, k, v);
    }
    out.push(']');
}

/// One world as one `{"resourceSpans":[...]}` line.
fn write_world(sc: &Scenario, mut w: World, out: &mut Vec<u8>) {
    let mut s = String::from("{\"resourceSpans\":[{\"resource\":{\"attributes\":");
    let resource = [
        ("service.name", Attr::Str("orchsim".into())),
        ("orchsim.scenario", Attr::Str(sc.name.clone())),
        ("orchsim.replication", Attr::Int(w.rep.into())),
        ("orchsim.strategy", Attr::Str(w.strategy.clone())),
    ];
    attrs_json(&mut s, &resource);
    let _ = write!(s, "}},\"scopeSpans\":[{{\"scope\":{{\"name\":\"orchsim\",\"version\":\"{}\"}},\"spans\":[", env!("CARGO_PKG_VERSION"));
    let mut first = true;
    for (task, tr) in &mut w.tasks {
        // A parent covers its children: a stale attempt may end after its step or task.
        for i in (1..tr.spans.len()).rev() {
            let (end, parent) = (tr.spans[i].end_ns, tr.spans[i].parent);
            if parent > 0 {
                let p = &mut tr.spans[parent as usize - 1];
                p.end_ns = p.end_ns.max(end);
            }
        }
        let trace_id = format!("{:08x}{:08x}{:016x}", w.rep as u64 + 1, w.number as u64 + 1, task + 1);
        for sp in &tr.spans {
            if !first {
                s.push(',');
            }
            first = false;
            let kind = if sp.parent == 0 {
                2
            } else if sp.name.starts_with("chat ") {
                3
            } else {
                1
            };
            let _ = write!(s, "{{\"traceId\":\"{trace_id}\",\"spanId\":\"{:016x}\",", sp.id);
            if sp.parent > 0 {
                let _ = write!(s, "\"parentSpanId\":\"{:016x}\",", sp.parent);
            }
            let _ = write!(
                s,
                "\"name\":{},\"kind\":{kind},\"startTimeUnixNano\":\"{}\",\"endTimeUnixNano\":\"{}\",\"attributes\":",
                json_str(&sp.name),
                sp.start_ns,
                sp.end_ns
            );
            attrs_json(&mut s, &sp.attrs);
            match sp.status {
                None => s.push_str(",\"status\":{}"),
                Some(None) => s.push_str(",\"status\":{\"code\":1}"),
                Some(Some(m)) => {
                    let _ = write!(s, ",\"status\":{{\"code\":2,\"message\":{}}}", json_str(m));
                }
            }
            s.push('}');
        }
    }
    s.push_str("]}]}]}\n");
    out.extend_from_slice(s.as_bytes());
}
