//! The events a world reports, as a typed enum, and the [`Observer`] that receives them.
//!
//! A world emits each event to its observer the moment it happens. With `--audit` the
//! observer is a [`TrailWriter`](super::trail::TrailWriter), which writes one JSON line
//! per event (`events.jsonl`); without it the observer is [`NoTrail`], whose
//! [`Observer::ENABLED`] is `false`, so the worlds (generic over the observer) build no
//! event at all: a plain run pays nothing, not even a branch.
//!
//! # Wire format
//!
//! One line per event:
//!
//! ```text
//! {"rep":0,"strategy":"pipeline","t":12.000000250,"event":"attempt_started","task":3,"step":"research",...}
//! ```
//!
//! `rep`, `strategy` and `t` (simulated seconds, exactly nine decimals) come from the
//! writer; `event` (the snake-case name given below), `task` and the event's fields
//! come from serialising an [`Event`] with serde. Fields appear in the order declared
//! here. Money is a string of exact decimal dollars (`"0.0125"`); durations are seconds
//! printed as Rust prints an `f64` (`0`, `0.5`, `0.0000001`: never an exponent). The
//! report layer then adds the hash chain (`report/trail.rs`).
//!
//! Reading back: [`TrailLine`] deserialises one line (hash fields are ignored).

use std::borrow::Cow;
use std::io;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::Outcome;
use crate::economics::money::Usd;
use crate::engine::SimTime;

/// How an attempt ended, as written in [`Event::AttemptEnded`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptEnd {
    /// The model answered.
    Success,
    /// The model returned a transient error (nothing billed).
    TransientError,
    /// The attempt was cut off by the model's timeout (billed for what was produced).
    Timeout,
}

/// Why an agent loop stopped before the turns it wanted, in [`Event::LoopStopped`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoopLimit {
    /// It wanted more turns than `max_turns`.
    MaxTurns,
    /// Its turns had spent `max_cost_usd`.
    MaxCostUsd,
    /// Its next prompt would not fit the largest context window.
    ContextWindow,
}

/// What kind of platform fee [`Event::PlatformFeeCharged`] records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeeKind {
    /// The monthly fee, prorated over the makespan, for one business unit.
    Monthly,
}

/// One event of a world. Strings borrow from the world when emitted and are owned when
/// read back. `task` is the task's number (arrival order, 0-based), the same in every
/// strategy of a replication. `step`, `agent`: the ledger row concerned, as in
/// `agents.csv`.
///
/// Each variant's documentation names its fields; the fields themselves carry none.
#[allow(missing_docs)]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event<'a> {
    /// A task arrived (both worlds), of class `class` for business unit `bu`.
    TaskArrived { task: u64, class: Cow<'a, str>, bu: Cow<'a, str> },
    /// Agents world: an attempt took a model slot after waiting `wait_s` seconds in the
    /// model's queue (rate limits included). `replica` (written only when above 0)
    /// numbers a voting step's copies from 0; `turn` (likewise) counts an agent loop's
    /// turns from 0; `attempt` counts a turn's attempts from 1.
    AttemptStarted {
        task: u64,
        step: Cow<'a, str>,
        agent: Cow<'a, str>,
        #[serde(default, skip_serializing_if = "is_zero")]
        replica: u32,
        #[serde(default, skip_serializing_if = "is_zero")]
        turn: u32,
        attempt: u32,
        wait_s: f64,
    },
    /// Agents world: an attempt ended. `stale` (written only when true): a success whose
    /// step a rework had already discarded, billed as waste. `tokens_in` and `tokens_out`
    /// are the billed tokens, `cost_usd` everything the attempt cost before platform fees;
    /// `replica` and `turn` as in `AttemptStarted`. Of them (each written only when above 0): `cache_read_in` input tokens read from
    /// the prompt cache, `cache_write_in` written to it, `reasoning_out` reasoning tokens;
    /// `tool_calls` the attempt's tool calls and `tool_cost_usd` their fees (part of
    /// `cost_usd`; a web search's per-query fee is the model provider's, not in it).
    AttemptEnded {
        task: u64,
        step: Cow<'a, str>,
        agent: Cow<'a, str>,
        #[serde(default, skip_serializing_if = "is_zero")]
        replica: u32,
        #[serde(default, skip_serializing_if = "is_zero")]
        turn: u32,
        attempt: u32,
        outcome: AttemptEnd,
        #[serde(default, skip_serializing_if = "is_false")]
        stale: bool,
        tokens_in: u64,
        tokens_out: u64,
        #[serde(default, skip_serializing_if = "is_zero")]
        cache_read_in: u64,
        #[serde(default, skip_serializing_if = "is_zero")]
        cache_write_in: u64,
        #[serde(default, skip_serializing_if = "is_zero")]
        reasoning_out: u64,
        #[serde(default, skip_serializing_if = "is_zero")]
        tool_calls: u64,
        #[serde(default, skip_serializing_if = "is_zero", with = "usd_string")]
        tool_cost_usd: Usd,
        #[serde(with = "usd_string")]
        cost_usd: Usd,
    },
    /// Agents world: an agent loop stopped at a limit after `turns` turns, having spent
    /// `spent_usd`; the task fails.
    LoopStopped {
        task: u64,
        step: Cow<'a, str>,
        agent: Cow<'a, str>,
        turns: u32,
        limit: LoopLimit,
        #[serde(with = "usd_string")]
        spent_usd: Usd,
    },
    /// Agents world: a failed attempt will be retried after `backoff_s` seconds.
    RetryScheduled { task: u64, step: Cow<'a, str>, agent: Cow<'a, str>, attempt: u32, backoff_s: f64 },
    /// Agents world: a call spent its `attempts` without success; the task fails.
    StepFailed { task: u64, step: Cow<'a, str>, agent: Cow<'a, str>, attempts: u32 },
    /// Agents world: a worker's output, or the orchestrator's plan, is defective;
    /// `systematic` when the fault is systematic (it recurs on every attempt).
    DefectIntroduced { task: u64, step: Cow<'a, str>, agent: Cow<'a, str>, systematic: bool },
    /// Agents world: a worker step finished (all its replicas merged).
    StepCompleted { task: u64, step: Cow<'a, str>, agent: Cow<'a, str>, defective: bool, systematic: bool },
    /// Agents world: a reviewer step gave its verdict (`flagged`), and whether the work
    /// it reviewed held a defect.
    #[serde(rename = "review")]
    Reviewed { task: u64, step: Cow<'a, str>, agent: Cow<'a, str>, flagged: bool, defects_present: bool },
    /// Agents world: a reviewer sent the work back to step `to` (`null` if it names
    /// none); `rework` counts this reviewer's reworks on the task.
    #[serde(rename = "rework")]
    ReworkRequested { task: u64, step: Cow<'a, str>, agent: Cow<'a, str>, to: Option<Cow<'a, str>>, rework: u32 },
    /// Agents world: the task went to people (the escalation row), who take `hours`.
    Escalated {
        task: u64,
        step: Cow<'a, str>,
        agent: Cow<'a, str>,
        hours: f64,
        #[serde(with = "usd_string")]
        cost_usd: Usd,
    },
    /// Agents world: people finished an escalated task, `correct` or not.
    EscalationFinished { task: u64, correct: bool },
    /// Agents world: a platform fee was charged to business unit `bu`: per task or per
    /// step or a share of model spend (`task` set, no `kind`), or the monthly fee
    /// (`task` null, `kind` monthly).
    #[serde(rename = "platform_fee")]
    PlatformFeeCharged {
        task: Option<u64>,
        bu: Cow<'a, str>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kind: Option<FeeKind>,
        #[serde(with = "usd_string")]
        cost_usd: Usd,
    },
    /// Human world: a team took the task after it waited `wait_s` seconds; the work
    /// takes `hours` of each member and costs `cost_usd`.
    WorkStarted {
        task: u64,
        bu: Cow<'a, str>,
        step: Cow<'a, str>,
        agent: Cow<'a, str>,
        wait_s: f64,
        hours: f64,
        #[serde(with = "usd_string")]
        cost_usd: Usd,
    },
    /// Both worlds: the task's outcome was decided `latency_s` seconds after it arrived.
    /// `root_cause` names the ledger row (step) at fault for a task that did not end
    /// correct, `systematic` whether that fault was systematic; `task_cost_usd` is all
    /// the task cost.
    TaskFinished {
        task: u64,
        bu: Cow<'a, str>,
        outcome: Outcome,
        latency_s: f64,
        #[serde(with = "usd_string")]
        task_cost_usd: Usd,
        root_cause: Option<Cow<'a, str>>,
        systematic: bool,
    },
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero<T: Default + PartialEq>(x: &T) -> bool {
    *x == T::default()
}

/// Receives a world's events, in the order they happen, with the simulated time.
pub trait Observer {
    /// `false` for an observer that ignores everything: the worlds then neither build
    /// nor pass events (the check is on a constant, so it compiles away).
    const ENABLED: bool = true;
    /// One event at simulated time `t`.
    fn event(&mut self, t: SimTime, event: &Event<'_>);
}

/// The observer of a run without `--audit`: ignores every event.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoTrail;

impl Observer for NoTrail {
    const ENABLED: bool = false;
    #[inline(always)]
    fn event(&mut self, _: SimTime, _: &Event<'_>) {}
}

/// Collects owned events: for tests and for callers of the library.
impl Observer for Vec<(SimTime, Event<'static>)> {
    fn event(&mut self, t: SimTime, event: &Event<'_>) {
        self.push((t, event.to_owned_event()));
    }
}

impl Event<'_> {
    /// The same event, owning its strings: read back from its JSON value (every event
    /// reads back to itself, see the tests; times and amounts are finite and exact).
    pub fn to_owned_event(&self) -> Event<'static> {
        let v = serde_json::to_value(self).expect("an event is plain data");
        serde_json::from_value(v).expect("an event reads back from its own JSON")
    }
}

/// One line of a world's trail as read back (the hash chain's fields are ignored).
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct TrailLine {
    /// Replication number.
    pub rep: u32,
    /// Strategy name.
    pub strategy: String,
    /// Simulated time, seconds.
    pub t: f64,
    /// The event.
    #[serde(flatten)]
    pub event: Event<'static>,
}

/// Serialises an event's JSON object (`{"event":..,"task":..,...}`) into `out`, with
/// floats as Rust's `Display` prints them (see the module's wire format).
pub fn write_event_json(out: &mut Vec<u8>, event: &Event<'_>) -> io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(&mut *out, DisplayFloats);
    event.serialize(&mut ser).map_err(io::Error::other)
}

/// serde_json's compact format, except that finite floats are written as Rust's
/// `Display` writes them: `0` rather than `0.0`, `0.0000001` rather than `1e-7`. This
/// keeps the trail's numbers as they were before events were typed, and every float
/// still parses back to the same `f64`.
struct DisplayFloats;

impl serde_json::ser::Formatter for DisplayFloats {
    fn write_f64<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        write!(writer, "{value}")
    }
}

/// Money as a JSON string of exact decimal dollars (`Usd`'s `Display`), read back
/// exactly: at most 12 decimals, an optional leading minus.
mod usd_string {
    use super::*;

    pub(super) fn serialize<S: Serializer>(v: &Usd, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Usd, D::Error> {
        let s = Cow::<str>::deserialize(d)?;
        parse_usd(&s).ok_or_else(|| serde::de::Error::custom(format!("expected exact decimal dollars such as \"0.0125\", got {s:?}")))
    }
}

/// Parses exact decimal dollars (`-1.25`, `0.000000000001`) into pico-dollars; `None`
/// for anything else (exponents, more than 12 decimals, overflow).
pub fn parse_usd(s: &str) -> Option<Usd> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (whole, frac) = match body.split_once('.') {
        Some((w, f)) => (w, f),
        None => (body, ""),
    };
    let digits = |x: &str| x.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(frac) || frac.len() > 12 || (body.contains('.') && frac.is_empty()) {
        return None;
    }
    let whole: i128 = whole.parse().ok()?;
    let frac_pico: i128 = if frac.is_empty() { 0 } else { format!("{frac:0<12}").parse().ok()? };
    let pico = whole.checked_mul(1_000_000_000_000)?.checked_add(frac_pico)?;
    Some(Usd(if neg { -pico } else { pico }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(e: &Event<'_>) -> String {
        let mut v = Vec::new();
        write_event_json(&mut v, e).unwrap();
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn events_serialise_in_the_trail_format_written_by_hand() {
        let e =
            Event::AttemptStarted { task: 7, step: "research".into(), agent: "r\"x".into(), replica: 0, turn: 0, attempt: 2, wait_s: 0.0 };
        assert_eq!(json(&e), r#"{"event":"attempt_started","task":7,"step":"research","agent":"r\"x","attempt":2,"wait_s":0}"#);
        let e = Event::AttemptEnded {
            task: 1,
            step: "s".into(),
            agent: "a".into(),
            replica: 0,
            turn: 0,
            attempt: 1,
            outcome: AttemptEnd::Success,
            stale: true,
            tokens_in: 10,
            tokens_out: 3,
            cache_read_in: 0,
            cache_write_in: 0,
            reasoning_out: 0,
            tool_calls: 0,
            tool_cost_usd: Usd::ZERO,
            cost_usd: Usd(12_500_000_000),
        };
        assert_eq!(
            json(&e),
            r#"{"event":"attempt_ended","task":1,"step":"s","agent":"a","attempt":1,"outcome":"success","stale":true,"tokens_in":10,"tokens_out":3,"cost_usd":"0.0125"}"#
        );
        // A loop's later turn, with cache and reasoning detail: written only when not 0.
        let e = Event::AttemptEnded {
            task: 1,
            step: "s".into(),
            agent: "a".into(),
            replica: 1,
            turn: 2,
            attempt: 1,
            outcome: AttemptEnd::Success,
            stale: false,
            tokens_in: 10,
            tokens_out: 3,
            cache_read_in: 6,
            cache_write_in: 4,
            reasoning_out: 1,
            tool_calls: 2,
            tool_cost_usd: Usd(1),
            cost_usd: Usd(1),
        };
        assert_eq!(
            json(&e),
            r#"{"event":"attempt_ended","task":1,"step":"s","agent":"a","replica":1,"turn":2,"attempt":1,"outcome":"success","tokens_in":10,"tokens_out":3,"cache_read_in":6,"cache_write_in":4,"reasoning_out":1,"tool_calls":2,"tool_cost_usd":"0.000000000001","cost_usd":"0.000000000001"}"#
        );
        let e = Event::LoopStopped {
            task: 3,
            step: "s".into(),
            agent: "a".into(),
            turns: 40,
            limit: LoopLimit::MaxCostUsd,
            spent_usd: Usd(2_000_000_000_000),
        };
        assert_eq!(
            json(&e),
            r#"{"event":"loop_stopped","task":3,"step":"s","agent":"a","turns":40,"limit":"max_cost_usd","spent_usd":"2"}"#
        );
        let e = Event::PlatformFeeCharged { task: None, bu: "ops".into(), kind: Some(FeeKind::Monthly), cost_usd: Usd(-1) };
        assert_eq!(json(&e), r#"{"event":"platform_fee","task":null,"bu":"ops","kind":"monthly","cost_usd":"-0.000000000001"}"#);
        let e = Event::RetryScheduled { task: 0, step: "s".into(), agent: "a".into(), attempt: 1, backoff_s: 1e-7 };
        assert!(json(&e).ends_with(r#""backoff_s":0.0000001}"#), "{}", json(&e));
        let e = Event::TaskFinished {
            task: 2,
            bu: "b".into(),
            outcome: Outcome::Escalated,
            latency_s: 1.5,
            task_cost_usd: Usd(3_000_000_000_000),
            root_cause: None,
            systematic: false,
        };
        assert_eq!(
            json(&e),
            r#"{"event":"task_finished","task":2,"bu":"b","outcome":"escalated","latency_s":1.5,"task_cost_usd":"3","root_cause":null,"systematic":false}"#
        );
    }

    #[test]
    fn a_written_line_reads_back_to_the_same_event() {
        let events = [
            Event::ReworkRequested { task: 4, step: "check".into(), agent: "rev".into(), to: Some("draft".into()), rework: 2 },
            Event::AttemptEnded {
                task: 1,
                step: "s".into(),
                agent: "a".into(),
                replica: 2,
                turn: 5,
                attempt: 3,
                outcome: AttemptEnd::Timeout,
                stale: false,
                tokens_in: 1,
                tokens_out: 0,
                cache_read_in: 0,
                cache_write_in: 1,
                reasoning_out: 0,
                tool_calls: 3,
                tool_cost_usd: Usd(100),
                cost_usd: Usd(123),
            },
            Event::LoopStopped {
                task: 3,
                step: "s".into(),
                agent: "a".into(),
                turns: 7,
                limit: LoopLimit::ContextWindow,
                spent_usd: Usd(9),
            },
            Event::WorkStarted {
                task: 9,
                bu: "b".into(),
                step: "work".into(),
                agent: "team".into(),
                wait_s: 0.1 + 0.2,
                hours: 1e-9,
                cost_usd: Usd(5),
            },
        ];
        for e in events {
            let body = json(&e);
            let line = format!("{{\"rep\":3,\"strategy\":\"s\",\"t\":1.000000002,{},\"hash\":\"00\"}}", &body[1..body.len() - 1]);
            let back: TrailLine = serde_json::from_str(&line).unwrap();
            assert_eq!((back.rep, back.strategy.as_str(), back.t), (3, "s", 1.000000002));
            assert_eq!(back.event, e.to_owned_event());
        }
    }

    #[test]
    fn money_parses_exactly_or_not_at_all() {
        assert_eq!(parse_usd("0.0125"), Some(Usd(12_500_000_000)));
        assert_eq!(parse_usd("-3"), Some(Usd(-3_000_000_000_000)));
        assert_eq!(parse_usd("0.000000000001"), Some(Usd(1)));
        for bad in ["", "-", "1.", ".5", "1e3", "0.0000000000001", "1,5", "+1", "99999999999999999999999999999999999999"] {
            assert_eq!(parse_usd(bad), None, "{bad}");
        }
    }

    /// Runs every strategy of a shipped scenario with a collecting observer and checks
    /// the events against the world's own books, which are kept independently: one
    /// `task_finished` per task, task costs plus monthly fees adding up to the ledger's
    /// total to the pico-dollar, billed tokens adding up to the counters'. The results
    /// must not depend on whether anyone observes.
    #[test]
    fn events_add_up_to_the_ledger_and_observing_changes_nothing() {
        use crate::workflow::{WorldOptions, run_observed};
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/research-report.toml");
        let sets = [("workload.tasks".to_string(), "300".to_string())];
        let sc = crate::scenario::load(Some(&path), &sets).unwrap().scenario;
        for k in 0..sc.strategies.len() {
            let (seen, events) = run_observed(&sc, k, 1, WorldOptions::default(), Vec::new());
            let (plain, _) = run_observed(&sc, k, 1, WorldOptions::default(), NoTrail);
            assert_eq!(seen.ledger.total, plain.ledger.total);
            assert_eq!(seen.counters.events, plain.counters.events);
            assert_eq!(seen.counters.latency_sum_ns, plain.counters.latency_sum_ns);
            let (mut finished, mut money, mut tokens_in) = (0u64, Usd::ZERO, 0u64);
            let mut last = SimTime::ZERO;
            for (t, e) in &events {
                assert!(*t >= last, "events out of time order");
                last = *t;
                match e {
                    Event::TaskFinished { task_cost_usd, .. } => {
                        finished += 1;
                        money += *task_cost_usd;
                    }
                    Event::PlatformFeeCharged { task: None, cost_usd, .. } => money += *cost_usd,
                    Event::AttemptEnded { tokens_in: n, .. } => tokens_in += n,
                    _ => {}
                }
            }
            let name = &sc.strategies[k].name;
            assert_eq!(finished, seen.counters.tasks, "{name}");
            assert_eq!(money, seen.ledger.total, "{name}");
            assert_eq!(tokens_in, seen.counters.tokens_in, "{name}");
            assert!(seen.ledger.total > Usd::ZERO, "{name}");
        }
    }
}
