//! Model pools: each model's concurrency slots, its FIFO of waiting attempts and its
//! rate limits (token buckets for requests and tokens per minute).
//!
//! # Deferred arrivals
//!
//! A backlog (a batch of 10^7 tasks arriving at once, or an overloaded pool) would
//! otherwise hold a task slot and a call for every task waiting in a FIFO: hundreds of
//! bytes each. When an arriving task's only call would join a FIFO that already holds
//! [`DEFER_AFTER`] calls, it could not start before them anyway: the FIFO then takes an
//! [`ARRIVAL`] entry (4 bytes) in its place, and the task is admitted (slot, call,
//! draws, fees, counts) only when that entry reaches the head and a slot is free. The
//! deferred tasks are replayed, in order, by a copy of the task stream taken when the
//! backlog began; while any is waiting, every arrival is deferred, so the copy never
//! skips one. Every draw is keyed by what it is about, the counts and charges are
//! sums, and the call's wait is timed from its arrival, so the results are those of
//! admitting each task at once. Deferral is used only where that is exact: without a
//! trail (its lines would come in another order), for strategies that issue one call
//! per arrival, on pools without rate limits (whose buckets refill at every dispatch).

use std::collections::VecDeque;

use super::super::{TaskSpec, TaskStream};
use super::{Ev, World};
use crate::engine::SimTime;
use crate::model::Model;
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
    /// While a deferred arrival is admitted: the FIFO position of its `ARRIVAL` entry,
    /// which its call takes, and its arrival time (when the call joined the FIFO).
    admitting: Option<(usize, SimTime)>,
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

impl<O: Observer> World<'_, O> {
    /// Queues call `c` for a slot of model `m` and starts what can start; a call of a
    /// deferred arrival being admitted takes its `ARRIVAL` entry's place instead.
    pub(super) fn enqueue(&mut self, m: usize, c: u32) {
        let pool = &mut self.pools[m];
        if let Some((at, arrived)) = pool.admitting.take() {
            pool.waiting[at] = c;
            self.calls[c as usize].enqueued = arrived;
            return;
        }
        pool.waiting.push_back(c);
        self.dispatch(m);
    }

    /// The pool that an arriving task's one and only first call goes to, if the
    /// strategy issues exactly one call when a task arrives (a per-task plan, or a
    /// single first step with one replica or planned per step).
    fn arrival_pool(&self) -> Option<usize> {
        let model = |agent: usize| self.sc.agents[agent].model;
        match &self.st.orchestrator {
            Some(o) if !o.per_step => return Some(model(o.agent)),
            _ => {}
        }
        let mut roots = (0..self.n).filter(|&s| self.preds[s] == 0);
        let s = roots.next()?;
        if roots.next().is_some() {
            return None;
        }
        match &self.st.orchestrator {
            Some(o) => Some(model(o.agent)),
            None if self.st.steps[s].replicas == 1 => Some(model(self.st.steps[s].agent)),
            None => None,
        }
    }

    /// Defers the arrival of `spec` (see the module's documentation) when its one call
    /// would only join the back of a long FIFO; `false` when the task must be admitted
    /// now.
    pub(super) fn defer_arrival(&mut self, spec: &TaskSpec) -> bool {
        if O::ENABLED {
            return false;
        }
        let Some(m) = self.arrival_pool() else { return false };
        let pool = &mut self.pools[m];
        if pool.backlog.is_none() && (pool.waiting.len() < DEFER_AFTER || pool.rate_limited()) {
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
        pool.waiting.push_back(ARRIVAL);
        // As for a call joining the FIFO: dead calls at its head are dropped now. The
        // FIFO was not empty, so its head is waiting for a slot (dispatch stops at a
        // head that cannot start, and a freed slot is dispatched at once).
        self.dispatch(m);
        true
    }

    /// Admits the deferred arrival whose `ARRIVAL` entry is at position `at` of model
    /// `m`'s FIFO (the next in the backlog's order): its call replaces the entry.
    fn admit_deferred(&mut self, m: usize, at: usize) {
        let pool = &mut self.pools[m];
        let Some(backlog) = &mut pool.backlog else { unreachable!("an ARRIVAL entry without a backlog") };
        let spec = backlog.next();
        if backlog.queued == 0 {
            pool.backlog = None;
        }
        pool.admitting = Some((at, spec.arrival));
        self.admit(spec);
        debug_assert!(self.pools[m].admitting.is_none(), "the arrival issued no call");
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
                // A deferred arrival (never rate-limited) is admitted when it can start.
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

    /// Runs strategy 0 of replication 0 with observer `obs` and returns the world after
    /// its events with its results: the task and call slots it allocated are its peaks
    /// (slots are reused, never freed).
    fn run<O: Observer>(sc: &Scenario, obs: O) -> (usize, usize, WorldResult) {
        let st = &sc.strategies[0];
        let StrategyKind::Agents(a) = &st.kind else { panic!("an agents strategy") };
        let draws = Draws::new(sc.seed, 0, &st.name);
        let opts = WorldOptions { task_log: true };
        let mut w = World::new(sc, &st.name, a, TaskStream::new(sc, 0), draws, opts, obs);
        w.run_events();
        let (tasks, calls) = (w.tasks.len(), w.calls.len());
        (tasks, calls, w.run().0)
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
}
