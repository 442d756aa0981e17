//! The world of an agents strategy: steps, model pools, retries, reviews and rework.
//!
//! State lives in slabs (`tasks`, `calls`) with free lists, so after warm-up the event
//! loop allocates nothing: a finished task's slot and vectors are reused by the next.

use std::collections::VecDeque;

use rand::RngExt;

use super::stream::{keyed_uniform, name_hash};
use super::trail::{TrailWriter, bu_fields, json_str};
use super::{Outcome, TaskRow, TaskSpec, TaskStream, WorldOptions, WorldResult, tally};
use crate::economics::ledger::{Category, Ledger};
use crate::economics::metrics::Counters;
use crate::economics::money::Usd;
use crate::engine::{EventQueue, SimRng, SimTime};
use crate::model::{AgentsStrategy, Context, Jitter, Merge, OnExhausted, Scenario};

/// Writes a trail event when the world has a trail; costs one branch otherwise.
macro_rules! trail {
    ($self:ident, $kind:expr, $task:expr, $($fmt:tt)*) => {
        if let Some(tr) = $self.trail.as_mut() {
            tr.event($self.q.now(), $kind, $task, format_args!($($fmt)*));
        }
    };
}

/// Defect bit of the orchestrator (steps use bits 0..63).
const ORCH_BIT: u64 = 1 << 63;
const NO_STEP: u32 = u32::MAX;
/// Seconds in the 30-day month used to prorate monthly fees.
const MONTH_S: i128 = 30 * 24 * 3600;

/// Events of an agents world. Emitted and handled by [`World`].
#[derive(Clone, Copy, Debug)]
enum Ev {
    /// The next task of the stream arrived (the spec is in `World::next_spec`).
    TaskArrived,
    /// An attempt ended (successfully, with a transient error, or cut off by a timeout).
    AttemptEnded(u32),
    /// A backoff elapsed: the call asks for a model slot again.
    BackoffElapsed(u32),
    /// A model's rate-limit buckets may have refilled enough for its queue head.
    BucketsRefilled(u32),
    /// People finished an escalated task (task slot, generation).
    EscalationFinished(u32, u32),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AttemptOutcome {
    Pending,
    Success,
    TransientError,
    Timeout,
}

#[derive(Clone, Copy, Debug)]
struct Call {
    task: u32,
    row: u32,
    agent: u32,
    model: u32,
    then_step: u32,
    /// The task's live-cost slot this call works for: its step (a per-step
    /// orchestrator call works for the step it plans), or `n` for a per-task plan.
    live: u32,
    /// The epoch of that step when the call was issued; a rework bumps the epoch, and
    /// calls of an older epoch are stale: billed as waste, their result dropped.
    epoch: u32,
    attempt: u32,
    enqueued: SimTime,
    cached_in: u64,
    fresh_in: u64,
    handoff_in: u64,
    out: u64,
    billed_out: u64,
    tool_calls: u64,
    outcome: AttemptOutcome,
}

#[derive(Debug)]
struct Bucket {
    cap: f64,
    per_ns: f64,
    level: f64,
    last: SimTime,
}

impl Bucket {
    fn new(per_min: f64) -> Bucket {
        Bucket { cap: per_min, per_ns: per_min / 60e9, level: per_min, last: SimTime::ZERO }
    }
    fn refill(&mut self, now: SimTime) {
        let dt = now.saturating_sub(self.last).0 as f64;
        self.level = (self.level + dt * self.per_ns).min(self.cap);
        self.last = now;
    }
    /// Nanoseconds until `need` (capped at capacity) is available.
    fn wait_ns(&self, need: f64) -> f64 {
        let need = need.min(self.cap);
        if self.level >= need { 0.0 } else { ((need - self.level) / self.per_ns).ceil() }
    }
}

#[derive(Debug)]
struct Pool {
    max: u32,
    in_flight: u32,
    waiting: VecDeque<u32>,
    rpm: Option<Bucket>,
    tpm: Option<Bucket>,
    wake_pending: bool,
}

#[derive(Debug, Default)]
struct Task {
    spec: Option<TaskSpec>,
    id: u64,
    generation: u32,
    bu: usize,
    difficulty: f64,
    done: u64,
    launched: u64,
    /// Worker steps whose current output is defective (bits 0..63).
    defects: u64,
    /// The orchestrator's defective plans: bit s for its plan of step s (per step), or
    /// `ORCH_BIT` for its plan of the whole task (per task).
    orch_defects: u64,
    systematic: u64,
    epoch: Vec<u32>,
    in_flight: u32,
    stopped: bool,
    /// When the task's outcome was decided (delivered, failed, or finished by people):
    /// its finish time, even if stale calls keep its slot busy a little longer.
    decided_at: SimTime,
    escalating: bool,
    final_outcome: Option<(Outcome, Option<usize>, bool)>,
    rep_pending: Vec<u32>,
    rep_bad: Vec<u32>,
    out_tokens: Vec<u64>,
    live_cost: Vec<Usd>,
    rework_used: Vec<u32>,
    cost: Usd,
    wasted: Usd,
    human_cost: Usd,
    tokens_in: u64,
    tokens_out: u64,
    attempts: u64,
    reworks: u64,
}

/// An agents strategy's world.
pub(crate) struct World<'a> {
    sc: &'a Scenario,
    st: &'a AgentsStrategy,
    stream: TaskStream,
    next_spec: Option<TaskSpec>,
    rng: SimRng,
    opts: WorldOptions,
    q: EventQueue<Ev>,
    pools: Vec<Pool>,
    calls: Vec<Call>,
    free_calls: Vec<u32>,
    tasks: Vec<Task>,
    free_tasks: Vec<u32>,
    ledger: Ledger,
    counters: Counters,
    rows: Vec<(String, String)>,
    task_rows: Vec<TaskRow>,
    n: usize,
    preds: Vec<u64>,
    ancestors: Vec<u64>,
    rework_set: Vec<u64>,
    agent_salt: Vec<u64>,
    orch_row: usize,
    platform_row: usize,
    escalation_row: usize,
    trail: Option<TrailWriter>,
    /// `,"step":..,"agent":..` per ledger row, and `,"bu":..` per business unit,
    /// JSON-escaped once for the trail.
    row_json: Vec<String>,
    bu_json: Vec<String>,
}

impl<'a> World<'a> {
    pub(crate) fn new(
        sc: &'a Scenario,
        st: &'a AgentsStrategy,
        stream: TaskStream,
        rng: SimRng,
        opts: WorldOptions,
        trail: Option<TrailWriter>,
    ) -> World<'a> {
        let n = st.steps.len();
        let mut rows: Vec<(String, String)> = st.steps.iter().map(|s| (s.id.clone(), sc.agents[s.agent].name.clone())).collect();
        let mut push_row = |name: &str, agent: &str| {
            rows.push((name.to_string(), agent.to_string()));
            rows.len() - 1
        };
        let orch_row = match &st.orchestrator {
            Some(o) => push_row("orchestrator", &sc.agents[o.agent].name),
            None => usize::MAX,
        };
        let p = &st.platform;
        let has_platform =
            p.usd_per_task != Usd::ZERO || p.usd_per_step != Usd::ZERO || p.ppb_of_model_spend != 0 || p.usd_per_month != Usd::ZERO;
        let platform_row = if has_platform { push_row("platform", "-") } else { usize::MAX };
        let escalation_row = if st.escalation.is_some() { push_row("escalation", "people") } else { usize::MAX };

        let preds: Vec<u64> = st.steps.iter().map(|s| s.after.iter().fold(0u64, |m, &p| m | (1 << p))).collect();
        let mut ancestors = vec![0u64; n];
        for s in 0..n {
            // Steps only follow earlier steps, so ancestors of predecessors are known.
            ancestors[s] = (0..s).filter(|p| preds[s] & (1 << p) != 0).fold(preds[s], |a, p| a | ancestors[p]);
        }
        // A rework reruns its target and everything downstream of it: every step whose
        // input came from a rerun step is stale too (in a linear pipeline: the steps from
        // the target to the reviewer; in a graph, also parallel branches fed by the target).
        let rework_set = (0..n)
            .map(|s| match st.steps[s].reworks {
                Some(r) => (r..n).filter(|&k| k == r || ancestors[k] & (1 << r) != 0).fold(0u64, |m, k| m | (1 << k)),
                None => 0,
            })
            .collect();
        let pools = sc
            .models
            .iter()
            .map(|m| Pool {
                max: m.max_concurrency,
                in_flight: 0,
                waiting: VecDeque::with_capacity(64),
                rpm: m.requests_per_min.map(Bucket::new),
                tpm: m.tokens_per_min.map(Bucket::new),
                wake_pending: false,
            })
            .collect();
        let ledger = Ledger::new(rows.len(), sc.business_units.len());
        let row_json = rows.iter().map(|(s, a)| format!(",\"step\":{},\"agent\":{}", json_str(s), json_str(a))).collect();
        let bu_json = bu_fields(&sc.business_units);
        World {
            sc,
            st,
            stream,
            next_spec: None,
            rng,
            opts,
            q: EventQueue::with_capacity(1024),
            pools,
            calls: Vec::with_capacity(256),
            free_calls: Vec::with_capacity(256),
            tasks: Vec::with_capacity(64),
            free_tasks: Vec::with_capacity(64),
            ledger,
            counters: Counters::default(),
            rows,
            task_rows: Vec::new(),
            n,
            preds,
            ancestors,
            rework_set,
            agent_salt: sc.agents.iter().map(|a| name_hash(&a.name)).collect(),
            orch_row,
            platform_row,
            escalation_row,
            trail,
            row_json,
            bu_json,
        }
    }

    pub(crate) fn run(mut self) -> WorldResult {
        self.next_spec = self.stream.next();
        if let Some(s) = self.next_spec {
            self.q.schedule(s.arrival, Ev::TaskArrived);
        }
        while let Some((_, ev)) = self.q.step() {
            match ev {
                Ev::TaskArrived => self.on_task_arrived(),
                Ev::AttemptEnded(c) => self.on_attempt_ended(c),
                Ev::BackoffElapsed(c) => self.on_backoff_elapsed(c),
                Ev::BucketsRefilled(m) => {
                    self.pools[m as usize].wake_pending = false;
                    self.dispatch(m as usize);
                }
                Ev::EscalationFinished(t, g) => self.on_escalation_finished(t, g),
            }
        }
        self.charge_monthly_fee();
        self.counters.events = self.q.events_processed();
        WorldResult {
            ledger: self.ledger,
            counters: self.counters,
            row_names: self.rows,
            task_rows: self.task_rows,
            trail: self.trail.map(TrailWriter::finish),
        }
    }

    // ---- arrivals -------------------------------------------------------------------

    fn on_task_arrived(&mut self) {
        let Some(spec) = self.next_spec.take() else { return };
        self.next_spec = self.stream.next();
        if let Some(s) = self.next_spec {
            self.q.schedule(s.arrival, Ev::TaskArrived);
        }
        let class = &self.sc.workload.classes[spec.class];
        let bu = class.business_unit;
        let t = match self.free_tasks.pop() {
            Some(t) => t,
            None => {
                self.tasks.push(Task {
                    rep_pending: vec![0; self.n],
                    rep_bad: vec![0; self.n],
                    out_tokens: vec![0; self.n],
                    live_cost: vec![Usd::ZERO; self.n + 1],
                    rework_used: vec![0; self.n],
                    epoch: vec![0; self.n],
                    ..Task::default()
                });
                (self.tasks.len() - 1) as u32
            }
        };
        // Systematic faults: by class, or for a per-task share keyed on the task, so
        // the same tasks are affected in every strategy.
        let mut systematic = 0u64;
        for (s, step) in self.st.steps.iter().enumerate() {
            if self.is_systematic(step.agent, &spec) {
                systematic |= 1 << s;
            }
        }
        if let Some(o) = &self.st.orchestrator {
            if self.is_systematic(o.agent, &spec) {
                systematic |= ORCH_BIT;
            }
        }
        let task = &mut self.tasks[t as usize];
        let generation = task.generation;
        task.spec = Some(spec);
        task.id = spec.id;
        task.bu = bu;
        task.difficulty = class.difficulty;
        task.done = 0;
        task.launched = 0;
        task.defects = 0;
        task.orch_defects = 0;
        task.systematic = systematic;
        task.in_flight = 0;
        task.stopped = false;
        task.escalating = false;
        task.final_outcome = None;
        task.rep_pending.fill(0);
        task.rep_bad.fill(0);
        task.out_tokens.fill(0);
        task.live_cost.fill(Usd::ZERO);
        task.rework_used.fill(0);
        task.cost = Usd::ZERO;
        task.wasted = Usd::ZERO;
        task.human_cost = Usd::ZERO;
        task.tokens_in = 0;
        task.tokens_out = 0;
        task.attempts = 0;
        task.reworks = 0;
        task.generation = generation;

        self.counters.tasks += 1;
        self.ledger.bus[bu].tasks += 1;
        trail!(self, "task_arrived", Some(spec.id), ",\"class\":{}{}", json_str(&class.name), self.bu_json[bu]);
        let fee = self.st.platform.usd_per_task;
        if fee != Usd::ZERO {
            self.charge_task(t, self.platform_row, Category::Platform, fee, None, false);
        }
        match &self.st.orchestrator {
            Some(o) if !o.per_step => self.issue_call(t, self.orch_row, o.agent, NO_STEP),
            _ => self.launch_ready(t),
        }
    }

    fn is_systematic(&self, agent: usize, spec: &TaskSpec) -> bool {
        match &self.sc.agents[agent].systematic {
            Some(s) => s.classes.contains(&spec.class) || (s.share > 0.0 && keyed_uniform(spec.key, self.agent_salt[agent]) < s.share),
            None => false,
        }
    }

    // ---- steps ----------------------------------------------------------------------

    fn launch_ready(&mut self, t: u32) {
        let all = (1u64 << self.n) - 1; // n <= 63 (validated)
        let task = &self.tasks[t as usize];
        if task.done == all {
            // Stale calls of reworked steps may still be in flight: stop() finishes the
            // task once they have ended.
            let d = defect_set(task);
            if d == 0 {
                self.stop(t, Outcome::Correct, None, false);
            } else {
                let (root, sys) = self.root_cause(d, task.systematic);
                self.stop(t, Outcome::Wrong, Some(root), sys);
            }
            return;
        }
        for s in 0..self.n {
            let task = &self.tasks[t as usize];
            let bit = 1u64 << s;
            if (task.done | task.launched) & bit == 0 && task.done & self.preds[s] == self.preds[s] {
                self.tasks[t as usize].launched |= bit;
                match &self.st.orchestrator {
                    Some(o) if o.per_step => self.issue_call(t, self.orch_row, o.agent, s as u32),
                    _ => self.start_step(t, s),
                }
            }
        }
    }

    /// The root cause of a non-empty defect set: the ledger row of its first step
    /// (pipeline order; the orchestrator, which plans before any step, comes first),
    /// and whether that entry was a systematic fault.
    fn root_cause(&self, defects: u64, systematic: u64) -> (usize, bool) {
        root_cause(defects, systematic, self.orch_row)
    }

    fn start_step(&mut self, t: u32, s: usize) {
        let step = &self.st.steps[s];
        let replicas = step.replicas;
        let agent = step.agent;
        let fee = self.st.platform.usd_per_step;
        if fee != Usd::ZERO {
            self.charge_task(t, self.platform_row, Category::Platform, fee, Some(s), false);
        }
        let task = &mut self.tasks[t as usize];
        task.rep_pending[s] = replicas;
        task.rep_bad[s] = 0;
        task.out_tokens[s] = 0;
        for _ in 0..replicas {
            self.issue_call(t, s, agent, NO_STEP);
        }
    }

    // ---- calls and attempts ---------------------------------------------------------

    fn issue_call(&mut self, t: u32, row: usize, agent: usize, then_step: u32) {
        let live = if row < self.n {
            row
        } else if then_step != NO_STEP {
            then_step as usize
        } else {
            self.n
        };
        let epoch = self.tasks[t as usize].epoch.get(live).copied().unwrap_or(0);
        let call = Call {
            task: t,
            row: row as u32,
            agent: agent as u32,
            model: self.sc.agents[agent].model as u32,
            then_step,
            live: live as u32,
            epoch,
            attempt: 0,
            enqueued: SimTime::ZERO,
            cached_in: 0,
            fresh_in: 0,
            handoff_in: 0,
            out: 0,
            billed_out: 0,
            tool_calls: 0,
            outcome: AttemptOutcome::Pending,
        };
        let c = match self.free_calls.pop() {
            Some(c) => {
                self.calls[c as usize] = call;
                c
            }
            None => {
                self.calls.push(call);
                (self.calls.len() - 1) as u32
            }
        };
        self.ledger.rows[row].calls += 1;
        self.tasks[t as usize].in_flight += 1;
        self.request(c);
    }

    /// Draws the attempt's tokens and queues it for a model slot.
    fn request(&mut self, c: u32) {
        let call = self.calls[c as usize];
        let a = &self.sc.agents[call.agent as usize];
        let row = call.row as usize;
        let task = &self.tasks[call.task as usize];
        let context = if row < self.n {
            match self.st.context {
                Context::None => 0,
                Context::Previous => sum_masked(&task.out_tokens, self.preds[row]),
                Context::All => sum_masked(&task.out_tokens, self.ancestors[row]),
            }
        } else {
            0
        };
        let handoff = if row < self.n { self.st.handoff_tokens } else { 0 };
        let mut fresh = a.input_tokens.sample_count(&mut self.rng) + context;
        let mut tools = 0;
        if let Some(tc) = &a.tool_calls {
            tools = tc.count.sample_count(&mut self.rng);
            for _ in 0..tools {
                fresh += tc.tokens_per_call.sample_count(&mut self.rng);
            }
        }
        let out = a.output_tokens.sample_count(&mut self.rng);
        let now = self.q.now();
        let cl = &mut self.calls[c as usize];
        cl.attempt += 1;
        cl.enqueued = now;
        cl.cached_in = a.system_prompt_tokens;
        cl.fresh_in = fresh;
        cl.handoff_in = handoff;
        cl.out = out;
        cl.billed_out = 0;
        cl.tool_calls = tools;
        cl.outcome = AttemptOutcome::Pending;
        let m = cl.model as usize;
        self.pools[m].waiting.push_back(c);
        self.dispatch(m);
    }

    /// Starts queued attempts while the model has free slots and rate-limit budget.
    fn dispatch(&mut self, m: usize) {
        loop {
            let now = self.q.now();
            // A queued call whose task has stopped, or whose step execution a rework has
            // discarded, is dropped before it starts: no slot, no rate limit, no bill.
            if let Some(&head) = self.pools[m].waiting.front() {
                let call = self.calls[head as usize];
                if self.tasks[call.task as usize].stopped || self.is_stale(&call) {
                    self.pools[m].waiting.pop_front();
                    self.release_call(head);
                    self.maybe_finalize(call.task);
                    continue;
                }
            }
            let pool = &mut self.pools[m];
            if pool.in_flight >= pool.max {
                return;
            }
            let Some(&head) = pool.waiting.front() else { return };
            if pool.rpm.is_some() || pool.tpm.is_some() {
                let cl = &self.calls[head as usize];
                let need = (cl.cached_in + cl.fresh_in + cl.handoff_in + cl.out) as f64;
                let mut wait: f64 = 0.0;
                if let Some(b) = &mut pool.rpm {
                    b.refill(now);
                    wait = wait.max(b.wait_ns(1.0));
                }
                if let Some(b) = &mut pool.tpm {
                    b.refill(now);
                    wait = wait.max(b.wait_ns(need));
                }
                if wait > 0.0 {
                    if !pool.wake_pending {
                        pool.wake_pending = true;
                        self.q.schedule(now + SimTime(wait as u64), Ev::BucketsRefilled(m as u32));
                    }
                    return;
                }
                if let Some(b) = &mut pool.rpm {
                    b.level -= 1.0;
                }
                if let Some(b) = &mut pool.tpm {
                    b.level -= need.min(b.cap);
                }
            }
            pool.waiting.pop_front();
            pool.in_flight += 1;
            self.start_attempt(head);
        }
    }

    fn start_attempt(&mut self, c: u32) {
        let now = self.q.now();
        let call = self.calls[c as usize];
        self.counters.record_wait(now - call.enqueued);
        trail!(
            self,
            "attempt_started",
            Some(self.tasks[call.task as usize].id),
            "{},\"attempt\":{},\"wait_s\":{}",
            self.row_json[call.row as usize],
            call.attempt,
            (now - call.enqueued).as_secs()
        );
        self.ledger.rows[call.row as usize].attempts += 1;
        self.tasks[call.task as usize].attempts += 1;
        let model = &self.sc.models[call.model as usize];
        let ttft = model.ttft_s.sample(&mut self.rng);
        let transient = model.error_rate > 0.0 && self.rng.random::<f64>() < model.error_rate;
        let (outcome, duration, billed_out) = if let Some(limit) = model.timeout_s.filter(|&l| l < ttft) {
            // Cut off before the first token, error or not: billed for the input.
            (AttemptOutcome::Timeout, limit, 0)
        } else if transient {
            (AttemptOutcome::TransientError, ttft, 0)
        } else {
            let mut tools_s = 0.0;
            if let Some(tc) = &self.sc.agents[call.agent as usize].tool_calls {
                for _ in 0..call.tool_calls {
                    tools_s += tc.latency_s.sample(&mut self.rng);
                }
            }
            // Validation keeps speeds positive; the floor guards against a draw of 0.
            let tps = model.output_tokens_per_s.sample(&mut self.rng).max(1e-3);
            let total = ttft + tools_s + call.out as f64 / tps;
            match model.timeout_s {
                Some(limit) if total > limit => {
                    let produced = ((limit - ttft - tools_s).max(0.0) * tps).floor() as u64;
                    (AttemptOutcome::Timeout, limit, produced.min(call.out))
                }
                _ => (AttemptOutcome::Success, total, call.out),
            }
        };
        let cl = &mut self.calls[c as usize];
        cl.outcome = outcome;
        cl.billed_out = billed_out;
        self.q.schedule(now + SimTime::from_secs(duration), Ev::AttemptEnded(c));
    }

    fn on_attempt_ended(&mut self, c: u32) {
        let call = self.calls[c as usize];
        let m = call.model as usize;
        self.pools[m].in_flight -= 1;
        self.dispatch(m);
        match call.outcome {
            AttemptOutcome::Success => {
                let stale = self.is_stale(&call);
                self.bill(&call, stale);
                self.release_call(c);
                if stale {
                    self.maybe_finalize(call.task);
                } else {
                    self.on_call_succeeded(&call);
                }
            }
            AttemptOutcome::Timeout => {
                self.ledger.rows[call.row as usize].failed_attempts += 1;
                self.bill(&call, true);
                self.retry_or_give_up(c);
            }
            AttemptOutcome::TransientError | AttemptOutcome::Pending => {
                trail!(
                    self,
                    "attempt_ended",
                    Some(self.tasks[call.task as usize].id),
                    "{},\"attempt\":{},\"outcome\":\"transient_error\",\"tokens_in\":0,\"tokens_out\":0,\"cost_usd\":\"0\"",
                    self.row_json[call.row as usize],
                    call.attempt
                );
                self.ledger.rows[call.row as usize].failed_attempts += 1;
                self.retry_or_give_up(c);
            }
        }
    }

    /// Bills an attempt: tokens at list price (system prompt at the cached price when
    /// the model has one), request and tool fees, and the platform's share.
    fn bill(&mut self, call: &Call, wasted: bool) {
        let model = &self.sc.models[call.model as usize];
        let row = call.row as usize;
        let t = call.task;
        let cached_price = model.cached_input_price.unwrap_or(model.input_price);
        let work = cached_price.cost(call.cached_in)
            + model.input_price.cost(call.fresh_in)
            + model.output_price.cost(call.billed_out)
            + model.usd_per_request;
        let handoff = model.input_price.cost(call.handoff_in);
        let tools = match &self.sc.agents[call.agent as usize].tool_calls {
            Some(tc) => Usd(tc.usd_per_call.0 * call.tool_calls as i128),
            None => Usd::ZERO,
        };
        trail!(
            self,
            "attempt_ended",
            Some(self.tasks[t as usize].id),
            "{},\"attempt\":{},\"outcome\":\"{},\"tokens_in\":{},\"tokens_out\":{},\"cost_usd\":\"{}\"",
            self.row_json[row],
            call.attempt,
            if call.outcome == AttemptOutcome::Timeout {
                "timeout\""
            } else if wasted {
                "success\",\"stale\":true"
            } else {
                "success\""
            },
            call.cached_in + call.fresh_in + call.handoff_in,
            call.billed_out,
            work + handoff + tools
        );
        let work_cat = if row == self.orch_row { Category::Orchestration } else { Category::Model };
        let live = Some(call.live as usize);
        self.charge_task(t, row, work_cat, work, live, wasted);
        self.charge_task(t, row, Category::Orchestration, handoff, live, wasted);
        self.charge_task(t, row, Category::Tool, tools, live, wasted);
        let ppb = self.st.platform.ppb_of_model_spend;
        if ppb != 0 {
            let fee = (work + handoff).mul_div(ppb, 1_000_000_000);
            self.charge_task(t, self.platform_row, Category::Platform, fee, live, wasted);
        }
        let tokens_in = call.cached_in + call.fresh_in + call.handoff_in;
        let r = &mut self.ledger.rows[row];
        r.tokens_in += tokens_in;
        r.tokens_out += call.billed_out;
        self.counters.tokens_in += tokens_in;
        self.counters.tokens_out += call.billed_out;
        let task = &mut self.tasks[t as usize];
        task.tokens_in += tokens_in;
        task.tokens_out += call.billed_out;
    }

    /// Whether a call works for a step execution that a rework has since discarded.
    fn is_stale(&self, call: &Call) -> bool {
        let task = &self.tasks[call.task as usize];
        task.epoch.get(call.live as usize).is_some_and(|&e| e != call.epoch)
    }

    /// Charges a task's business unit on a ledger row, and the task itself: as waste, or
    /// as the live cost of slot `live` (moved to waste if a rework discards that step's
    /// output), or to the task as a whole (`None`).
    fn charge_task(&mut self, t: u32, row: usize, cat: Category, amount: Usd, live: Option<usize>, wasted: bool) {
        if amount == Usd::ZERO {
            return;
        }
        if cat == Category::Platform {
            trail!(
                self,
                "platform_fee",
                Some(self.tasks[t as usize].id),
                "{},\"cost_usd\":\"{amount}\"",
                self.bu_json[self.tasks[t as usize].bu]
            );
        }
        let task = &mut self.tasks[t as usize];
        self.ledger.charge(row, task.bu, cat, amount);
        task.cost += amount;
        if wasted {
            task.wasted += amount;
        } else if let Some(k) = live {
            task.live_cost[k] += amount;
        }
        if cat == Category::Human {
            task.human_cost += amount;
        }
    }

    fn retry_or_give_up(&mut self, c: u32) {
        let call = self.calls[c as usize];
        let t = call.task;
        if self.tasks[t as usize].stopped || self.is_stale(&call) {
            self.release_call(c);
            self.maybe_finalize(t);
            return;
        }
        let r = &self.st.retry;
        if call.attempt < r.max_attempts {
            let mut backoff = (r.backoff_base_s * r.backoff_factor.powi(call.attempt as i32 - 1)).min(r.backoff_max_s);
            if r.jitter == Jitter::Full && backoff > 0.0 {
                backoff = self.rng.random_range(0.0..backoff);
            }
            trail!(
                self,
                "retry_scheduled",
                Some(self.tasks[t as usize].id),
                "{},\"attempt\":{},\"backoff_s\":{backoff}",
                self.row_json[call.row as usize],
                call.attempt
            );
            self.q.schedule_in(SimTime::from_secs(backoff), Ev::BackoffElapsed(c));
        } else {
            // Retries spent: the step fails the task, with this agent as root cause.
            trail!(
                self,
                "step_failed",
                Some(self.tasks[t as usize].id),
                "{},\"attempts\":{}",
                self.row_json[call.row as usize],
                call.attempt
            );
            self.release_call(c);
            self.stop(t, Outcome::Failed, Some(call.row as usize), false);
        }
    }

    fn on_backoff_elapsed(&mut self, c: u32) {
        let call = self.calls[c as usize];
        let t = call.task;
        if self.tasks[t as usize].stopped || self.is_stale(&call) {
            self.release_call(c);
            self.maybe_finalize(t);
        } else {
            self.request(c);
        }
    }

    fn release_call(&mut self, c: u32) {
        let t = self.calls[c as usize].task;
        self.tasks[t as usize].in_flight -= 1;
        self.free_calls.push(c);
    }

    fn on_call_succeeded(&mut self, call: &Call) {
        let t = call.task;
        if self.tasks[t as usize].stopped {
            self.maybe_finalize(t);
            return;
        }
        let row = call.row as usize;
        if row == self.orch_row {
            // The orchestrator's plan for a step (per step) or for the task (per task):
            // each plan is an entry of its own, which leaves the set when it is redrawn.
            let wrong = self.draws_wrong(t, call.agent as usize, ORCH_BIT);
            let plan = if (call.live as usize) < self.n { 1u64 << call.live } else { ORCH_BIT };
            let task = &mut self.tasks[t as usize];
            task.orch_defects &= !plan;
            if wrong {
                task.orch_defects |= plan;
                self.ledger.rows[row].defects_introduced += 1;
                let (id, sys) = (task.id, task.systematic & ORCH_BIT != 0);
                trail!(self, "defect_introduced", Some(id), "{},\"systematic\":{sys}", self.row_json[row]);
            }
            if call.then_step == NO_STEP {
                self.launch_ready(t);
            } else {
                self.start_step(t, call.then_step as usize);
            }
            return;
        }
        let s = row;
        let agent = &self.sc.agents[call.agent as usize];
        let bad = match agent.review {
            Some(rv) => {
                let p = if defect_set(&self.tasks[t as usize]) != 0 { rv.recall } else { rv.false_positive_rate };
                self.rng.random::<f64>() < p
            }
            None => self.draws_wrong(t, call.agent as usize, 1 << s),
        };
        let task = &mut self.tasks[t as usize];
        task.out_tokens[s] += call.billed_out;
        task.rep_pending[s] -= 1;
        if bad {
            task.rep_bad[s] += 1;
        }
        if task.rep_pending[s] > 0 {
            return;
        }
        let step = &self.st.steps[s];
        let bad = match step.merge {
            Merge::All => task.rep_bad[s] > 0,
            // Correct when more than half of the replicas are.
            Merge::Vote => 2 * (step.replicas - task.rep_bad[s]) <= step.replicas,
        };
        let bit = 1u64 << s;
        if agent.review.is_none() {
            task.defects &= !bit;
            task.done |= bit;
            let (id, sys) = (task.id, task.systematic & bit != 0);
            if bad {
                task.defects |= bit;
                self.ledger.rows[s].defects_introduced += 1;
                trail!(self, "defect_introduced", Some(id), "{},\"systematic\":{sys}", self.row_json[s]);
            }
            trail!(self, "step_completed", Some(id), "{},\"defective\":{bad},\"systematic\":{sys}", self.row_json[s]);
            self.launch_ready(t);
            return;
        }
        let (id, present) = (task.id, defect_set(task) != 0);
        trail!(self, "review", Some(id), "{},\"flagged\":{bad},\"defects_present\":{present}", self.row_json[s]);
        let task = &mut self.tasks[t as usize];
        if !bad {
            task.done |= bit;
            self.launch_ready(t);
            return;
        }
        // Flagged.
        if defect_set(task) != 0 {
            self.ledger.rows[s].defects_caught += 1;
        }
        if task.rework_used[s] < step.max_rework {
            task.rework_used[s] += 1;
            task.reworks += 1;
            let (id, n) = (task.id, task.rework_used[s]);
            trail!(
                self,
                "rework",
                Some(id),
                "{},\"to\":{},\"rework\":{n}",
                self.row_json[s],
                step.reworks.map(|r| json_str(&self.st.steps[r].id)).unwrap_or_default()
            );
            let task = &mut self.tasks[t as usize];
            let set = self.rework_set[s];
            for k in 0..self.n {
                let b = 1u64 << k;
                if set & b != 0 && (task.done | task.launched) & b != 0 {
                    // Calls still working for this execution become stale.
                    task.epoch[k] = task.epoch[k].wrapping_add(1);
                    if k != s {
                        // The flagging verdict did its job; everything else is thrown away.
                        task.wasted += task.live_cost[k];
                        task.live_cost[k] = Usd::ZERO;
                    }
                    task.done &= !b;
                    task.launched &= !b;
                    task.defects &= !b;
                    task.orch_defects &= !b;
                    task.out_tokens[k] = 0;
                    task.rep_pending[k] = 0;
                    task.rep_bad[k] = 0;
                }
            }
            self.launch_ready(t);
            return;
        }
        match step.on_exhausted {
            OnExhausted::Deliver => {
                task.done |= bit;
                self.launch_ready(t);
            }
            OnExhausted::Fail => {
                let d = defect_set(task);
                let (root, sys) = if d == 0 { (s, false) } else { root_cause(d, task.systematic, self.orch_row) };
                self.stop(t, Outcome::Failed, Some(root), sys);
            }
            OnExhausted::Escalate => self.escalate(t),
        }
    }

    /// Whether an agent's output on task `t` is wrong: always for a systematic fault,
    /// else with probability `error_rate × difficulty` (capped at 1).
    fn draws_wrong(&mut self, t: u32, agent: usize, bit: u64) -> bool {
        let task = &self.tasks[t as usize];
        if task.systematic & bit != 0 {
            return true;
        }
        let p = (self.sc.agents[agent].error_rate * task.difficulty).min(1.0);
        p > 0.0 && self.rng.random::<f64>() < p
    }

    // ---- escalation and finishing ----------------------------------------------------

    fn escalate(&mut self, t: u32) {
        let Some(e) = &self.st.escalation else { return };
        let hours = e.hours.sample(&mut self.rng);
        let cost = Usd::from_f64(hours * e.usd_per_hour);
        trail!(
            self,
            "escalated",
            Some(self.tasks[t as usize].id),
            "{},\"hours\":{hours},\"cost_usd\":\"{cost}\"",
            self.row_json[self.escalation_row]
        );
        self.charge_task(t, self.escalation_row, Category::Human, cost, None, false);
        self.ledger.rows[self.escalation_row].calls += 1;
        let task = &mut self.tasks[t as usize];
        task.stopped = true;
        task.escalating = true;
        let generation = task.generation;
        self.q.schedule_in(SimTime::from_secs(hours * 3600.0), Ev::EscalationFinished(t, generation));
    }

    fn on_escalation_finished(&mut self, t: u32, generation: u32) {
        if self.tasks[t as usize].generation != generation {
            return;
        }
        let p = self.st.escalation.as_ref().map(|e| e.error_rate).unwrap_or(0.0);
        let wrong = p > 0.0 && self.rng.random::<f64>() < p;
        trail!(self, "escalation_finished", Some(self.tasks[t as usize].id), ",\"correct\":{}", !wrong);
        let now = self.q.now();
        let task = &mut self.tasks[t as usize];
        task.escalating = false;
        task.decided_at = now;
        task.final_outcome = Some((Outcome::Escalated, if wrong { Some(self.escalation_row) } else { None }, false));
        self.maybe_finalize(t);
    }

    /// Stops a task: no new calls; it finishes once its calls in flight have ended.
    fn stop(&mut self, t: u32, outcome: Outcome, root: Option<usize>, systematic: bool) {
        let now = self.q.now();
        let task = &mut self.tasks[t as usize];
        task.stopped = true;
        task.decided_at = now;
        task.final_outcome = Some((outcome, root, systematic));
        self.maybe_finalize(t);
    }

    fn maybe_finalize(&mut self, t: u32) {
        let task = &self.tasks[t as usize];
        if task.in_flight == 0 && !task.escalating {
            if let Some((o, r, s)) = task.final_outcome {
                self.finish(t, o, r, s);
            }
        }
    }

    fn finish(&mut self, t: u32, outcome: Outcome, root: Option<usize>, systematic: bool) {
        let now = self.q.now();
        let task = &mut self.tasks[t as usize];
        let Some(spec) = task.spec.take() else { return };
        let class = &self.sc.workload.classes[spec.class];
        // Timed at the decision, not at the end of stale calls that outlived it.
        let at = task.decided_at;
        let latency = at - spec.arrival;
        // An escalated task is correct unless the people erred (then its root cause is
        // the escalation row); the agents' spend on it, like all of a failed task's, is waste.
        let delivered = match outcome {
            Outcome::Correct => Some(true),
            Outcome::Wrong => Some(false),
            Outcome::Failed => None,
            Outcome::Escalated => Some(root.is_none()),
        };
        tally(&mut self.counters, &mut self.ledger.bus[task.bu], class, spec.arrival, at, delivered);
        let c = &mut self.counters;
        match outcome {
            Outcome::Failed => task.wasted = task.cost,
            Outcome::Escalated => {
                c.escalated += 1;
                task.wasted = task.cost - task.human_cost;
            }
            Outcome::Correct | Outcome::Wrong => {}
        }
        c.wasted += task.wasted;
        // Root causes are counted for every task that did not end correct.
        if let Some(r) = root {
            self.ledger.rows[r].root_causes += 1;
            if systematic {
                self.ledger.rows[r].systematic_root_causes += 1;
            }
        }
        if let Some(tr) = self.trail.as_mut() {
            let root_name = root.map(|r| json_str(&self.rows[r].0)).unwrap_or_else(|| "null".into());
            tr.event(
                now,
                "task_finished",
                Some(spec.id),
                format_args!(
                    "{},\"outcome\":\"{}\",\"latency_s\":{},\"task_cost_usd\":\"{}\",\"root_cause\":{root_name},\"systematic\":{systematic}",
                    self.bu_json[task.bu],
                    outcome.as_str(),
                    latency.as_secs(),
                    task.cost
                ),
            );
        }
        if self.opts.task_log {
            self.task_rows.push(TaskRow {
                task: spec.id,
                class: spec.class,
                arrival_s: spec.arrival.as_secs(),
                finish_s: at.as_secs(),
                outcome,
                cost: task.cost,
                tokens_in: task.tokens_in,
                tokens_out: task.tokens_out,
                attempts: task.attempts,
                reworks: task.reworks,
                root_cause: root,
            });
        }
        task.generation = task.generation.wrapping_add(1);
        self.free_tasks.push(t);
    }

    /// The monthly platform fee, prorated over the makespan and split across business
    /// units by task count (largest remainder, so the parts add up to the fee exactly).
    fn charge_monthly_fee(&mut self) {
        let monthly = self.st.platform.usd_per_month;
        if monthly == Usd::ZERO {
            return;
        }
        let ns = self.counters.makespan.0 as i128;
        let fee = monthly.mul_div(ns, MONTH_S * 1_000_000_000);
        let weights: Vec<u64> = self.ledger.bus.iter().map(|b| b.tasks).collect();
        for (bu, part) in apportion(fee, &weights).into_iter().enumerate() {
            if part != Usd::ZERO {
                trail!(self, "platform_fee", None, "{},\"kind\":\"monthly\",\"cost_usd\":\"{part}\"", self.bu_json[bu]);
                self.ledger.charge(self.platform_row, bu, Category::Platform, part);
            }
        }
    }
}

/// A task's defect set: the worker steps whose output is defective, plus `ORCH_BIT`
/// when any of the orchestrator's plans is.
fn defect_set(task: &Task) -> u64 {
    task.defects | if task.orch_defects != 0 { ORCH_BIT } else { 0 }
}

fn root_cause(defects: u64, systematic: u64, orch_row: usize) -> (usize, bool) {
    let bit = if defects & ORCH_BIT != 0 { ORCH_BIT } else { defects & defects.wrapping_neg() };
    let row = if bit == ORCH_BIT { orch_row } else { bit.trailing_zeros() as usize };
    (row, systematic & bit != 0)
}

fn sum_masked(v: &[u64], mask: u64) -> u64 {
    let mut m = mask;
    let mut s = 0;
    while m != 0 {
        let i = m.trailing_zeros() as usize;
        s += v[i];
        m &= m - 1;
    }
    s
}

/// Splits `total` in proportion to `weights` so that the parts add up exactly
/// (largest-remainder method; ties go to the earlier unit).
pub fn apportion(total: Usd, weights: &[u64]) -> Vec<Usd> {
    let sum: u128 = weights.iter().map(|&w| w as u128).sum();
    if sum == 0 {
        let mut v = vec![Usd::ZERO; weights.len()];
        if let Some(first) = v.first_mut() {
            *first = total;
        }
        return v;
    }
    let mut parts: Vec<Usd> = Vec::with_capacity(weights.len());
    let mut rems: Vec<(i128, usize)> = Vec::with_capacity(weights.len());
    for (i, &w) in weights.iter().enumerate() {
        let p = total.0 * w as i128;
        parts.push(Usd(p.div_euclid(sum as i128)));
        rems.push((p.rem_euclid(sum as i128), i));
    }
    let left = total.0 - parts.iter().map(|p| p.0).sum::<i128>();
    rems.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(_, i) in rems.iter().take(left as usize) {
        parts[i].0 += 1;
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apportion_adds_up_exactly() {
        let parts = apportion(Usd(100), &[1, 1, 1]);
        assert_eq!(parts, vec![Usd(34), Usd(33), Usd(33)]);
        let parts = apportion(Usd(1_000_000_007), &[3, 0, 7, 11]);
        assert_eq!(parts.iter().map(|p| p.0).sum::<i128>(), 1_000_000_007);
        assert_eq!(parts[1], Usd::ZERO);
        assert_eq!(apportion(Usd(5), &[0, 0]), vec![Usd(5), Usd::ZERO]);
    }

    #[test]
    fn sum_masked_picks_bits() {
        assert_eq!(sum_masked(&[1, 10, 100, 1000], 0b1010), 1010);
    }
}
