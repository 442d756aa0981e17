//! Model pools: each model's concurrency slots, its FIFO of waiting attempts and its
//! rate limits (token buckets for requests and tokens per minute).

use std::collections::VecDeque;

use super::{Ev, World};
use crate::engine::SimTime;
use crate::model::Model;
use crate::workflow::event::Observer;

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
}

/// What the rate limits say about starting an attempt that needs `need` tokens.
enum Admission {
    /// Start now (the budget has been taken).
    Go,
    /// Wait this many nanoseconds for the buckets to refill.
    Wait(f64),
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
        }
    }

    fn rate_limited(&self) -> bool {
        self.rpm.is_some() || self.tpm.is_some()
    }

    /// Refills the buckets to `now` and takes one request and `need` tokens from them
    /// if both are available.
    fn admit(&mut self, now: SimTime, need: f64) -> Admission {
        let mut wait: f64 = 0.0;
        if let Some(b) = &mut self.rpm {
            b.refill(now);
            wait = wait.max(b.wait_ns(1.0));
        }
        if let Some(b) = &mut self.tpm {
            b.refill(now);
            wait = wait.max(b.wait_ns(need));
        }
        if wait > 0.0 {
            return Admission::Wait(wait);
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
    /// Starts queued attempts while the model has free slots and rate-limit budget.
    pub(super) fn dispatch(&mut self, m: usize) {
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
            if pool.rate_limited() {
                let need = self.calls[head as usize].tokens_needed() as f64;
                if let Admission::Wait(wait) = pool.admit(now, need) {
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
