//! Where a world's random numbers come from: one keyed stream per thing drawn
//! (common random numbers by construction, see [`crate::engine::keyed`]).
//!
//! Every draw is keyed by what it is about, never by the order of events:
//!
//! - a task's latent difficulty `z` by (replication, task) only, so every strategy sees
//!   the same hard tasks;
//! - an attempt's tokens, latency, transient error, correctness, review verdict and
//!   backoff jitter by (replication, task, strategy, step, run, replica, attempt,
//!   purpose): `step` is the hash of the step's id (so adding a step moves no other
//!   step's draws), `run` counts the step's executions on the task (a rework reruns it),
//!   `replica` numbers the copies of a voting step, `attempt` the retries of a call;
//! - the people's hours and errors (escalation, human strategies) by (replication,
//!   task, strategy, purpose).
//!
//! Arrival times and classes come from the replication's task stream
//! ([`super::TaskStream`]), shared by every strategy.

use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};

use super::stream::name_hash;
use crate::engine::keyed::{Keyed, KeyedRng, mix64};
use crate::engine::time::round_to_u64;
use crate::engine::{Purpose, stream as rng_stream};
use crate::model::Dist;

/// What a draw is for: the last word of an attempt's key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub(crate) enum Draw {
    InputTokens = 1,
    ToolCalls = 2,
    OutputTokens = 3,
    Ttft = 4,
    Transient = 5,
    ToolLatency = 6,
    Speed = 7,
    /// `eps` of a worker's (or orchestrator's, or people's) correctness.
    Correct = 8,
    /// `eps` of a reviewer's miss of a defect.
    Miss = 9,
    /// A reviewer's false alarm on a clean task.
    FalseAlarm = 10,
    Jitter = 11,
    /// People's hours on a task.
    Hours = 12,
    /// Tokens of an attempt's tool calls.
    ToolTokens = 13,
    /// An attempt's reasoning tokens.
    Reasoning = 14,
    /// The delay of a batch-tier attempt.
    BatchDelay = 15,
    /// The turns an agent loop wants on a call (its first turn's turn-level key).
    Turns = 16,
    /// Tokens of the tool result a loop's turn adds (the turn's turn-level key).
    ToolResult = 17,
    /// The tool's time before a loop's turn (the turn's turn-level key).
    ToolTime = 18,
}

/// Odd multiplier of a replica number in an attempt's key.
const REPLICA: u64 = 0xA076_1D64_78BD_642F;

/// Tag of a task's latent difficulty (its key has no strategy).
const LATENT: u64 = 0x6c61_7465_6e74; // "latent"

/// The keyed streams of one (replication, strategy) world.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Draws {
    root: Keyed,
    strategy: u64,
}

impl Draws {
    /// The streams of strategy `strategy` in replication `replication`. The
    /// replication's key is the first word of its seeded stream `keyed-v1`.
    pub(crate) fn new(seed: u64, replication: u64, strategy: &str) -> Draws {
        let key: u64 = rng_stream(seed, replication, Purpose::Tasks, "keyed-v1").random();
        Draws { root: Keyed::new(key), strategy: name_hash(strategy) }
    }

    /// Task `task`'s latent difficulty `z ~ N(0, 1)`: the same in every strategy.
    pub(crate) fn latent(&self, task: u64) -> f64 {
        StandardNormal.sample(&mut self.root.at(&[LATENT, task]))
    }

    /// The word that keys a step's draws in this strategy, from the step's hash
    /// (computed once per world).
    pub(crate) fn step(&self, step: u64) -> u64 {
        mix64(mix64(self.strategy) ^ step)
    }

    /// The streams of one attempt: `step` is [`Draws::step`], `run` the step's execution
    /// on the task, `replica` and `attempt` the copy and the retry. Three words are
    /// hashed: the task, the step and replica (a replica offsets the step's word by a
    /// multiple of an odd constant), the run and the attempt.
    #[inline]
    pub(crate) fn attempt(&self, task: u64, step: u64, run: u32, replica: u32, attempt: u32) -> Keyed {
        let copy = step.wrapping_add(u64::from(replica).wrapping_mul(REPLICA));
        self.root.child(&[task, copy, (u64::from(run) << 32) | u64::from(attempt)])
    }

    /// The stream of the people's `draw` on task `task` (`step` tells escalation from
    /// a human strategy's work).
    pub(crate) fn people(&self, task: u64, step: u64, draw: Draw) -> KeyedRng {
        self.root.child(&[task, self.step(step)]).stream(draw as u64)
    }
}

/// Draws `draw` of an attempt from `d`: a constant costs no hashing.
#[inline]
pub(crate) fn sample(d: &Dist, attempt: &Keyed, draw: Draw) -> f64 {
    match d.as_constant() {
        Some(v) => v,
        None => d.sample(&mut attempt.stream(draw as u64)),
    }
}

/// Draws a count (rounded to nearest, never negative) like [`Dist::sample_count`].
#[inline]
pub(crate) fn count(d: &Dist, attempt: &Keyed, draw: Draw) -> u64 {
    let x = sample(d, attempt, draw);
    if x.is_finite() { round_to_u64(x) } else { 0 }
}

/// A standard normal `eps` for `draw` of an attempt.
#[inline]
pub(crate) fn normal(attempt: &Keyed, draw: Draw) -> f64 {
    StandardNormal.sample(&mut attempt.stream(draw as u64))
}

/// A uniform in `[0, 1)` for `draw` of an attempt.
#[inline]
pub(crate) fn uniform(attempt: &Keyed, draw: Draw) -> f64 {
    attempt.stream(draw as u64).uniform()
}
