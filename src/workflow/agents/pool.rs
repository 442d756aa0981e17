//! Model pools: each model's concurrency slots, its FIFO of waiting attempts and its
//! rate limits (token buckets for requests and tokens per minute).
//!
//! # Deferred arrivals
//!
//! A backlog (a batch of 10^7 tasks arriving at once, or an overloaded pool) would
//! otherwise hold a task slot and a call for every task waiting in a FIFO: hundreds of
//! bytes each. When an arriving task's first calls would join a FIFO that already holds
//! [`DEFER_AFTER`] calls, they could not start before those anyway: the FIFO then takes
//! an [`ARRIVAL`] entry (4 bytes) in place of each, and the task is admitted (slot,
//! calls, draws, fees, counts) only when its first entry reaches the head with a slot
//! free, where its calls take its entries' places. The deferred tasks are replayed, in
//! order, by a copy of the task stream taken when the backlog began; while any is
//! waiting, every arrival is deferred, so the copy never skips one. Every draw is keyed
//! by what it is about, the counts and charges are sums, a call's wait is timed from its
//! arrival, and the pool dispatches at the same instants with the same calls at its
//! head (rate-limit buckets included), so the results are those of admitting each task
//! at once. Deferral is used where that holds: without a trail (its lines would come in
//! another order), for strategies whose arrivals issue their calls to one pool (a
//! per-task plan, or one first step, its replicas or its per-step plan).

use std::collections::VecDeque;

use super::super::{TaskSpec, TaskStream};
use super::{Ev, World};
use crate::engine::SimTime;
use crate::model::{AgentsStrategy, Model, Scenario};
use crate::workflow::event::Observer;

/// A FIFO entry that stands for the next deferred arrival of the pool's backlog.
pub(super) const ARRIVAL: u32 = u32::MAX;

/// Arrivals are deferred once this many calls wait in the FIFO (so that a short queue
/// costs no second pass over the task stream).
pub(super) const DEFER_AFTER: usize = 64;

/// The arrivals a pool deferred and has not admitted yet (see the module's
/// documentation).
#[derive(Debug)]
pub(super) struct Backlog {
    /// The first deferred tasks, taken from the world (which had drawn them already).
    first: VecDeque<TaskSpec>,
    /// The task stream after them.
    rest: TaskStream,
    /// `ARRIVAL` entries in the FIFO.
    queued: u64,
}

impl Backlog {
    /// The next deferred task.
    fn next(&mut self) -> TaskSpec {
        self.queued -= 1;
        let spec = self.first.pop_front().or_else(|| self.rest.next());
        spec.unwrap_or_else(|| unreachable!("the stream ended before the backlog"))
    }
}

/// A token bucket holding up to one minute's budget, refilled continuously.
#[derive(Debug)]
pub(super) struct Bucket {
    pub(super) cap: f64,
    per_ns: f64,
    pub(super) level: f64,
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

/// One model's slots, queue and rate limits.
#[derive(Debug)]
pub(super) struct Pool {
    max: u32,
    pub(super) in_flight: u32,
    /// Calls waiting for a slot, FIFO.
    pub(super) waiting: VecDeque<u32>,
    rpm: Option<Bucket>,
    tpm: Option<Bucket>,
    /// A `BucketsRefilled` event is already scheduled for this pool.
    pub(super) wake_pending: bool,
    /// The limit that made the queue head wait last (names the cause of an overrun).
    pub(super) binding: Limit,
    /// Deferred arrivals, once the pool has had one.
    backlog: Option<Backlog>,
    /// While a deferred arrival is admitted: the FIFO position of its next `ARRIVAL`
    /// entry, which its next call takes, the entries left, and its arrival time (when
    /// its calls joined the FIFO).
    admitting: Option<(usize, u32, SimTime)>,
}

/// A model's rate limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Limit {
    /// `requests_per_min`.
    Requests,
    /// `tokens_per_min`.
    Tokens,
}

impl Limit {
    /// The scenario field.
    pub(super) fn field(self) -> &'static str {
        match self {
            Limit::Requests => "requests_per_min",
            Limit::Tokens => "tokens_per_min",
        }
    }
}

/// What the rate limits say about starting an attempt that needs `need` tokens.
enum Admission {
    /// Start now (the budget has been taken).
    Go,
    /// Wait this many nanoseconds for the buckets to refill, for this limit.
    Wait(f64, Limit),
}

impl Pool {
    pub(super) fn new(m: &Model) -> Pool {
        Pool {
            max: m.max_concurrency,
            in_flight: 0,
            waiting: VecDeque::with_capacity(64),
            rpm: m.requests_per_min.map(Bucket::new),
            tpm: m.tokens_per_min.map(Bucket::new),
            wake_pending: false,
            binding: Limit::Requests,
            backlog: None,
            admitting: None,
        }
    }

    fn rate_limited(&self) -> bool {
        self.rpm.is_some() || self.tpm.is_some()
    }

    /// Refills the buckets to `now` and takes one request and `need` tokens from them
    /// if both are available.
    fn admit(&mut self, now: SimTime, need: f64) -> Admission {
        let mut wait: f64 = 0.0;
        let mut binding = Limit::Requests;
        if let Some(b) = &mut self.rpm {
            b.refill(now);
            wait = wait.max(b.wait_ns(1.0));
        }
        if let Some(b) = &mut self.tpm {
            b.refill(now);
            let w = b.wait_ns(need);
            if w > wait {
                binding = Limit::Tokens;
            }
            wait = wait.max(w);
        }
        if wait > 0.0 {
            return Admission::Wait(wait, binding);
        }
        if let Some(b) = &mut self.rpm {
            b.level -= 1.0;
        }
        if let Some(b) = &mut self.tpm {
            b.level -= need.min(b.cap);
        }
        Admission::Go
    }
}

/// The pool that an arriving task's first calls go to, and how many it issues, if they
/// all go to one pool (a per-task plan, or one first step: its replicas, or its
/// per-step plan). `preds[s]` are the predecessors of step `s` (bits).
pub(super) fn first_calls(sc: &Scenario, st: &AgentsStrategy, preds: &[u64]) -> Option<(usize, u32)> {
    let model = |agent: usize| sc.agents[agent].model;
    match &st.orchestrator {
        Some(o) if !o.per_step => return Some((model(o.agent), 1)),
        _ => {}
    }
    let mut roots = (0..preds.len()).filter(|&s| preds[s] == 0);
    let s = roots.next()?;
    if roots.next().is_some() {
        return None;
    }
    match &st.orchestrator {
        Some(o) => Some((model(o.agent), 1)),
        None => Some((model(st.steps[s].agent), st.steps[s].replicas)),
    }
}

impl<O: Observer> World<'_, O> {
    /// Queues call `c` for a slot of model `m` and starts what can start; a call of a
    /// deferred arrival being admitted takes its `ARRIVAL` entry's place instead.
    pub(super) fn enqueue(&mut self, m: usize, c: u32) {
        let pool = &mut self.pools[m];
        if let Some((at, left, arrived)) = pool.admitting.take() {
            pool.waiting[at] = c;
            if left > 1 {
                pool.admitting = Some((at + 1, left - 1, arrived));
            }
            self.calls[c as usize].enqueued = arrived;
            return;
        }
        pool.waiting.push_back(c);
        self.dispatch(m);
    }

    /// Defers the arrival of `spec` (see the module's documentation) when its calls
    /// would only join the back of a long FIFO; `false` when the task must be admitted
    /// now.
    pub(super) fn defer_arrival(&mut self, spec: &TaskSpec) -> bool {
        if O::ENABLED {
            return false;
        }
        let Some((m, calls)) = self.first_calls else { return false };
        let pool = &mut self.pools[m];
        if pool.backlog.is_none() && pool.waiting.len() < DEFER_AFTER {
            return false;
        }
        // The world has drawn the next task already: the copy of the stream goes on
        // after it.
        let (next, stream) = (self.next_spec, &self.stream);
        let backlog = pool.backlog.get_or_insert_with(|| Backlog {
            first: [*spec].into_iter().chain(next).collect(),
            rest: stream.clone(),
            queued: 0,
        });
        backlog.queued += 1;
        pool.waiting.extend(std::iter::repeat_n(ARRIVAL, calls as usize));
        // As for calls joining the FIFO: the pool dispatches (drops dead calls at its
        // head, and starts what the rate limits now admit).
        self.dispatch(m);
        true
    }

    /// Admits the deferred arrival whose first `ARRIVAL` entry is at position `at` of
    /// model `m`'s FIFO (the next in the backlog's order): its calls replace its entries.
    fn admit_deferred(&mut self, m: usize, at: usize) {
        let pool = &mut self.pools[m];
        let Some(backlog) = &mut pool.backlog else { unreachable!("an ARRIVAL entry without a backlog") };
        let spec = backlog.next();
        if backlog.queued == 0 {
            pool.backlog = None;
        }
        let Some((_, calls)) = self.first_calls else { unreachable!("a backlog of a strategy that cannot defer") };
        self.pools[m].admitting = Some((at, calls, spec.arrival));
        self.admit(spec);
        debug_assert!(self.pools[m].admitting.is_none(), "the arrival issued fewer calls than it has entries");
    }

    /// Admits every deferred arrival still waiting (a run stopped at the time limit),
    /// so that they are counted and charged as they arrived.
    pub(super) fn admit_backlog(&mut self) {
        for m in 0..self.pools.len() {
            let mut at = 0;
            while self.pools[m].backlog.is_some() {
                while self.pools[m].waiting[at] != ARRIVAL {
                    at += 1;
                }
                self.admit_deferred(m, at);
            }
        }
    }

    /// Starts queued attempts while the model has free slots and rate-limit budget.
    pub(super) fn dispatch(&mut self, m: usize) {
        loop {
            let now = self.q.now();
            let Some(&head) = self.pools[m].waiting.front() else { return };
            if head == ARRIVAL {
                // A deferred arrival is admitted when a slot is free (as a waiting call
                // would go on to the rate limits).
                let pool = &self.pools[m];
                if pool.in_flight >= pool.max {
                    return;
                }
                self.admit_deferred(m, 0);
                continue;
            }
            // A queued call whose task has stopped, or whose step execution a rework has
            // discarded, is dropped before it starts: no slot, no rate limit, no bill.
            let call = &self.calls[head as usize];
            let task = call.task;
            if self.tasks[task as usize].stopped || self.is_stale(call) {
                self.pools[m].waiting.pop_front();
                self.release_call(head);
                self.maybe_finalize(task);
                continue;
            }
            let pool = &mut self.pools[m];
            if pool.in_flight >= pool.max {
                return;
            }
            if pool.rate_limited() {
                let need = self.calls[head as usize].tokens_needed() as f64;
                if let Admission::Wait(wait, binding) = pool.admit(now, need) {
                    pool.binding = binding;
                    if !pool.wake_pending {
                        pool.wake_pending = true;
                        self.q.schedule(now + SimTime(wait as u64), Ev::BucketsRefilled(m as u32));
                    }
                    return;
                }
            }
            pool.waiting.pop_front();
            pool.in_flight += 1;
            self.start_attempt(head);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::draws::Draws;
    use super::super::super::event::{Event, NoTrail};
    use super::super::super::{TaskStream, WorldOptions, WorldResult};
    use super::*;
    use crate::economics::metrics::metric_values;
    use crate::model::{Scenario, StrategyKind};

    fn load(file: &str, sets: &[(&str, &str)]) -> Scenario {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
        let sets: Vec<(String, String)> = sets.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        crate::scenario::load(Some(&path), &sets).unwrap().scenario
    }

    /// Runs strategy 0 of replication 0 with observer `obs`; returns the task and call
    /// slots it allocated (their peaks: slots are reused, never freed) and its results.
    fn run<O: Observer>(sc: &Scenario, obs: O) -> (usize, usize, WorldResult) {
        run_strategy(sc, 0, obs).expect("an agents strategy")
    }

    /// [`run`] for strategy `strategy`, if it is an agents strategy.
    fn run_strategy<O: Observer>(sc: &Scenario, strategy: usize, obs: O) -> Option<(usize, usize, WorldResult)> {
        let st = &sc.strategies[strategy];
        let StrategyKind::Agents(a) = &st.kind else { return None };
        let draws = Draws::new(sc.seed, 0, &st.name);
        let opts = WorldOptions { task_log: true };
        let mut w = World::new(sc, &st.name, a, TaskStream::new(sc, 0), draws, opts, obs);
        w.run_events();
        let (tasks, calls) = (w.tasks.len(), w.calls.len());
        Some((tasks, calls, w.run().0))
    }

    /// Everything a world reports, as one comparable string (metrics to the bit).
    fn fingerprint(r: &WorldResult) -> String {
        let bits: Vec<u64> = metric_values(&r.counters, &r.ledger).iter().map(|v| v.to_bits()).collect();
        let mut rows: Vec<_> = r.task_rows.iter().map(|t| format!("{t:?}")).collect();
        rows.sort();
        format!("{bits:?} {:?} {rows:?} {:?}", r.ledger, r.stopped)
    }

    /// A batch of 20,000 tasks on M/M/5: deferred, the waiting tasks past the first
    /// `DEFER_AFTER` take no task or call slot (a 4-byte FIFO entry each), and the results equal those of
    /// admitting every task on arrival (which a recording observer forces) to the bit.
    #[test]
    fn a_batch_backlog_takes_no_slots_and_changes_no_result() {
        let sc = load("scenarios/mmc.toml", &[("workload.tasks", "20000"), ("workload.arrivals", "{ process = \"batch\" }")]);
        let (tasks, calls, deferred) = run(&sc, NoTrail);
        let (eager_tasks, _, eager) = run(&sc, Vec::<(SimTime, Event<'static>)>::new());
        assert_eq!(eager_tasks, 20_000, "admitted on arrival, every task holds a slot");
        // The FIFO's first DEFER_AFTER calls, five in service, the one whose call just
        // ended and the head admitted to replace it.
        assert!(tasks <= DEFER_AFTER + 8 && calls <= DEFER_AFTER + 8, "{tasks} task slots, {calls} call slots");
        assert_eq!(deferred.counters.tasks, 20_000);
        assert_eq!(fingerprint(&deferred), fingerprint(&eager));
    }

    /// The pipeline benchmark (a pool shared by two steps, retries with backoff), as a
    /// batch and overloaded (queues that grow, so backlogs begin and end): the same
    /// results as admitting every task on arrival.
    #[test]
    fn deferred_arrivals_change_no_result_in_a_pipeline() {
        for arrivals in ["{ process = \"batch\" }", "{ process = \"poisson\", rate_per_hour = 5000 }"] {
            let sc = load("benches/pipeline.toml", &[("workload.tasks", "3000"), ("workload.arrivals", arrivals)]);
            let (tasks, _, deferred) = run(&sc, NoTrail);
            let (eager_tasks, _, eager) = run(&sc, Vec::<(SimTime, Event<'static>)>::new());
            if arrivals.contains("poisson") {
                // (A batch's tasks all wait for their last step behind the deferred
                // drafts in the shared pool's FIFO, deferred or not.)
                assert!(tasks < eager_tasks, "{arrivals}: {tasks} slots deferred, {eager_tasks} eager");
            }
            assert_eq!(fingerprint(&deferred), fingerprint(&eager), "{arrivals}");
        }
    }

    /// A batch whose service outlasts the time limit: the run stops with tasks still
    /// deferred, which are then counted and charged as if admitted on arrival.
    #[test]
    fn a_run_stopped_at_the_time_limit_counts_its_deferred_arrivals() {
        let mut sc = load("scenarios/mmc.toml", &[("workload.tasks", "400"), ("workload.arrivals", "{ process = \"batch\" }")]);
        sc.models[0].ttft_s = crate::model::Dist::constant(3e8); // 9.5 years per task
        let (_, _, deferred) = run(&sc, NoTrail);
        let (_, _, eager) = run(&sc, Vec::<(SimTime, Event<'static>)>::new());
        assert!(deferred.stopped.is_some(), "the run must stop at the time limit");
        assert_eq!(deferred.counters.tasks, 400);
        assert_eq!(fingerprint(&deferred), fingerprint(&eager));
    }

    /// Every agents strategy of two shipped scenarios as a batch: voting replicas (their
    /// calls replace consecutive entries), plans, reviews and rework, and pools with
    /// request and token rate limits (whose buckets are refilled at every dispatch): the
    /// same results deferred as admitted on arrival, and fewer slots.
    #[test]
    fn deferred_batches_change_no_result_in_shipped_scenarios() {
        let batch = ("workload.arrivals", "{ process = \"batch\" }");
        for (file, tasks) in [("scenarios/research-report.toml", "1500"), ("scenarios/support-triage.toml", "1500")] {
            let sc = load(file, &[("workload.tasks", tasks), batch]);
            for s in 0..sc.strategies.len() {
                let Some((slots, _, deferred)) = run_strategy(&sc, s, NoTrail) else { continue };
                let (eager_slots, _, eager) = run_strategy(&sc, s, Vec::<(SimTime, Event<'static>)>::new()).unwrap();
                let name = &sc.strategies[s].name;
                assert_eq!(fingerprint(&deferred), fingerprint(&eager), "{file} {name}");
                assert!(slots < eager_slots, "{file} {name}: {slots} slots deferred, {eager_slots} eager");
            }
        }
    }
}
