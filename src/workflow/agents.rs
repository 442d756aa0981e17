//! The world of an agents strategy: steps, model pools, retries, reviews and rework.
//!
//! This file holds the world, its events and the step graph (arrivals, launching the
//! steps whose predecessors are done). The rest lives in rooms:
//!
//! - [`pool`]: model slots, their FIFO queues and rate limits;
//! - [`task`]: a task's state, escalation and the final tally;
//! - [`attempt`]: calls, attempts, transient errors, timeouts, retries with backoff;
//! - [`billing`]: what an attempt costs and who is charged;
//! - [`quality`]: defects, reviews, votes, rework and root causes.
//!
//! State lives in slabs (`tasks`, `calls`) with free lists, so after warm-up the event
//! loop allocates nothing: a finished task's slot and vectors are reused by the next.
//!
//! Every random draw comes from a stream keyed by what it is about ([`Draws`]), so the
//! order of events never matters to the numbers drawn: moving code between rooms, or
//! changing one agent's parameters, leaves every other draw unchanged.

use super::draws::Draws;
use super::event::{Event, Observer};
use super::stream::name_hash;
use super::{Outcome, TaskRow, TaskSpec, TaskStream, TimeLimitExceeded, WorldOptions, WorldResult};
use crate::economics::billing::Biller;
use crate::economics::ledger::{Category, Ledger};
use crate::economics::metrics::Counters;
use crate::economics::money::Usd;
use crate::engine::EventQueue;
use crate::engine::keyed::mix64;
use crate::model::quality::{Loading, Threshold};
use crate::model::{AgentsStrategy, Scenario};

/// Emits an event to the world's observer. For an observer that is not
/// [`ENABLED`](Observer::ENABLED) the branch is on a constant: the event is never built.
/// Must be used where the world's observer type is called `O`, and the event may
/// borrow fields of the world but not the world as a whole.
macro_rules! emit {
    ($self:ident, $event:expr) => {
        if O::ENABLED {
            let now = $self.q.now();
            let event = $event;
            $self.obs.event(now, &event);
        }
    };
}

mod attempt;
mod billing;
mod pool;
mod quality;
mod task;

use attempt::Call;
use pool::{Limit, Pool};
use quality::{ORCH_BIT, defect_set};
use task::Task;

/// `then_step` of a call that plans no single step.
const NO_STEP: u32 = u32::MAX;

/// Events of an agents world. Emitted and handled by [`World`].
#[derive(Clone, Copy, Debug)]
enum Ev {
    /// The next task of the stream arrived (the spec is in `World::next_spec`).
    TaskArrived,
    /// An attempt ended (successfully, with a transient error, or cut off by a timeout).
    AttemptEnded(u32),
    /// A backoff elapsed: the call asks for a model slot again.
    BackoffElapsed(u32),
    /// An agent loop's tool finished: the call asks for a slot for its next turn.
    TurnReady(u32),
    /// A model's rate-limit buckets may have refilled enough for its queue head.
    BucketsRefilled(u32),
    /// People finished an escalated task (task slot, generation).
    EscalationFinished(u32, u32),
}

/// An agent's quality on one class of tasks: the thresholds of its errors (as a worker)
/// and misses (as a reviewer), and its loading on the task's latent difficulty.
#[derive(Clone, Copy, Debug)]
struct AgentQuality {
    wrong: Threshold,
    miss: Threshold,
    loading: Loading,
}

/// An agents strategy's world.
pub(crate) struct World<'a, O: Observer> {
    sc: &'a Scenario,
    /// The strategy's name.
    name: &'a str,
    st: &'a AgentsStrategy,
    stream: TaskStream,
    next_spec: Option<TaskSpec>,
    draws: Draws,
    /// Per (agent, class), at `agent * classes + class`: the agent's error and miss
    /// thresholds and loading on that class's tasks.
    quality: Vec<AgentQuality>,
    /// Per class: the people's (escalation's) error threshold and loading.
    people: Vec<(Threshold, Loading)>,
    /// Per ledger row's live slot: the hash that keys its calls' draws (a step's id; the
    /// orchestrator's plan of a step, or of the task at index `n`).
    step_key: Vec<u64>,
    orch_key: Vec<u64>,
    opts: WorldOptions,
    q: EventQueue<Ev>,
    pools: Vec<Pool>,
    calls: Vec<Call>,
    free_calls: Vec<u32>,
    tasks: Vec<Task>,
    free_tasks: Vec<u32>,
    ledger: Ledger,
    /// The prompt caches of the agents' system prompts, per (agent, model).
    biller: Biller,
    counters: Counters,
    rows: Vec<(String, String)>,
    task_rows: Vec<TaskRow>,
    n: usize,
    preds: Vec<u64>,
    ancestors: Vec<u64>,
    rework_set: Vec<u64>,
    agent_salt: Vec<u64>,
    /// The pool an arriving task's first calls go to and their number, when they all go
    /// to one pool (arrivals can then be deferred, see [`pool`]).
    first_calls: Option<(usize, u32)>,
    orch_row: usize,
    platform_row: usize,
    escalation_row: usize,
    /// Receives the world's events (the trail with `--audit`).
    obs: O,
}

impl<'a, O: Observer> World<'a, O> {
    pub(crate) fn new(
        sc: &'a Scenario,
        name: &'a str,
        st: &'a AgentsStrategy,
        stream: TaskStream,
        draws: Draws,
        opts: WorldOptions,
        obs: O,
    ) -> World<'a, O> {
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
        let classes = &sc.workload.classes;
        let quality = sc
            .agents
            .iter()
            .flat_map(|a| {
                classes.iter().map(move |c| AgentQuality {
                    wrong: Threshold::new((a.error_rate * c.difficulty).min(1.0)),
                    miss: Threshold::new(a.review.map_or(0.0, |r| 1.0 - r.recall)),
                    loading: Loading::new(a.error_correlation.unwrap_or(c.error_correlation)),
                })
            })
            .collect();
        let people_rate = st.escalation.as_ref().map_or(0.0, |e| e.error_rate);
        let people = classes.iter().map(|c| (Threshold::new(people_rate), Loading::new(c.error_correlation))).collect();
        let step_hash: Vec<u64> = st.steps.iter().map(|s| name_hash(&s.id)).collect();
        let orch = name_hash("orchestrator");
        let orch_key = step_hash.iter().map(|&k| mix64(orch ^ k)).chain([orch]).map(|k| draws.step(k)).collect();
        let step_key = step_hash.iter().map(|&k| draws.step(k)).collect();
        let pools = sc.models.iter().map(Pool::new).collect();
        let first_calls = pool::first_calls(sc, st, &preds);
        let ledger = Ledger::new(rows.len(), sc.business_units.len());
        World {
            sc,
            name,
            st,
            stream,
            next_spec: None,
            draws,
            quality,
            people,
            step_key,
            orch_key,
            opts,
            q: EventQueue::with_capacity(1024),
            pools,
            calls: Vec::with_capacity(256),
            free_calls: Vec::with_capacity(256),
            tasks: Vec::with_capacity(64),
            free_tasks: Vec::with_capacity(64),
            ledger,
            biller: Biller::new(),
            counters: Counters::default(),
            rows,
            task_rows: Vec::new(),
            n,
            preds,
            ancestors,
            rework_set,
            agent_salt: sc.agents.iter().map(|a| name_hash(&a.name)).collect(),
            first_calls,
            orch_row,
            platform_row,
            escalation_row,
            obs,
        }
    }

    /// Runs the world to its end; returns its results and its observer.
    pub(crate) fn run(mut self) -> (WorldResult, O) {
        self.run_events();
        self.admit_backlog();
        let stopped = self.q.overrun().map(|(_, ev)| self.overrun_cause(ev));
        self.charge_monthly_fee();
        self.counters.events = self.q.events_processed();
        let result = WorldResult {
            ledger: self.ledger,
            counters: self.counters,
            row_names: self.rows,
            task_rows: self.task_rows,
            trail: None,
            stopped,
        };
        (result, self.obs)
    }

    /// Processes events until none is left (or the time limit stops the queue).
    fn run_events(&mut self) {
        self.next_spec = self.stream.next();
        if let Some(s) = self.next_spec {
            self.q.schedule(s.arrival, Ev::TaskArrived);
        }
        while let Some((_, ev)) = self.q.step() {
            match ev {
                Ev::TaskArrived => self.on_task_arrived(),
                Ev::AttemptEnded(c) => self.on_attempt_ended(c),
                Ev::BackoffElapsed(c) | Ev::TurnReady(c) => self.on_backoff_elapsed(c),
                Ev::BucketsRefilled(m) => {
                    self.pools[m as usize].wake_pending = false;
                    self.dispatch(m as usize);
                }
                Ev::EscalationFinished(t, g) => self.on_escalation_finished(t, g),
            }
        }
    }

    /// The scenario field behind an event that would have fallen past the time limit.
    fn overrun_cause(&self, ev: Ev) -> TimeLimitExceeded {
        let strategy = self.name;
        let model = |m: usize| &self.sc.models[m];
        let (field, value, what) = match ev {
            Ev::TaskArrived => ("workload.arrivals".to_string(), String::new(), "the next task would arrive"),
            Ev::AttemptEnded(c) => {
                let m = model(self.calls[c as usize].model as usize);
                (
                    format!("models.{}.ttft_s", m.name),
                    String::new(),
                    "an attempt on this model (its ttft_s, output_tokens_per_s, timeout_s and tool latencies) would end",
                )
            }
            Ev::BackoffElapsed(_) => (format!("strategies.{strategy}.retry"), String::new(), "a retry's backoff would end"),
            Ev::TurnReady(c) => {
                let a = &self.sc.agents[self.calls[c as usize].agent as usize];
                (format!("agents.{}.loop.tool_time_s", a.name), String::new(), "an agent loop's tool would finish")
            }
            Ev::BucketsRefilled(m) => {
                let (limit, m) = (self.pools[m as usize].binding, model(m as usize));
                let value = match limit {
                    Limit::Requests => m.requests_per_min,
                    Limit::Tokens => m.tokens_per_min,
                };
                let value = value.map(|v| v.to_string()).unwrap_or_default();
                (format!("models.{}.{}", m.name, limit.field()), value, "this rate limit would next admit a request")
            }
            Ev::EscalationFinished(..) => {
                (format!("strategies.{strategy}.escalation.hours"), String::new(), "people would finish an escalated task")
            }
        };
        TimeLimitExceeded::new(field, value, what)
    }

    // ---- arrivals -------------------------------------------------------------------

    fn on_task_arrived(&mut self) {
        let Some(spec) = self.next_spec.take() else { return };
        self.next_spec = self.stream.next();
        if let Some(s) = self.next_spec {
            self.q.schedule(s.arrival, Ev::TaskArrived);
        }
        if !self.defer_arrival(&spec) {
            self.admit(spec);
        }
    }

    /// Gives an arrived task a slot, counts and charges it, and issues its first calls.
    fn admit(&mut self, spec: TaskSpec) {
        let class = &self.sc.workload.classes[spec.class];
        let bu = class.business_unit;
        let t = match self.free_tasks.pop() {
            Some(t) => t,
            None => {
                self.tasks.push(Task::new(self.n));
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
        if let Some(o) = &self.st.orchestrator
            && self.is_systematic(o.agent, &spec)
        {
            systematic |= ORCH_BIT;
        }
        self.tasks[t as usize].reset(spec, bu, systematic);

        self.counters.tasks += 1;
        self.ledger.bus[bu].tasks += 1;
        emit!(
            self,
            Event::TaskArrived { task: spec.id, class: class.name.as_str().into(), bu: self.sc.business_units[bu].as_str().into() }
        );
        let fee = self.st.platform.usd_per_task;
        if fee != Usd::ZERO {
            self.charge_task(t, self.platform_row, Category::Platform, fee, None, false);
        }
        match &self.st.orchestrator {
            Some(o) if !o.per_step => self.issue_call(t, self.orch_row, o.agent, NO_STEP, 0),
            _ => self.launch_ready(t),
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
                let (root, sys) = quality::root_cause(d, task.systematic, self.orch_row);
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
                    Some(o) if o.per_step => self.issue_call(t, self.orch_row, o.agent, s as u32, 0),
                    _ => self.start_step(t, s),
                }
            }
        }
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
        for r in 0..replicas {
            self.issue_call(t, s, agent, NO_STEP, r);
        }
    }
}
