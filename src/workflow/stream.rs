//! The task stream: arrival times, classes and per-task keys, drawn from their own
//! random stream so that every strategy of a replication sees the same tasks.

use std::sync::Arc;

use rand::RngExt;
use rand_distr::{Distribution, Exp1};

use crate::engine::time::round_to_u64;
use crate::engine::{Purpose, SimRng, SimTime, stream};
use crate::model::{Arrivals, Scenario};

/// One task as the stream produces it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskSpec {
    /// Task number, 0-based, in arrival order.
    pub id: u64,
    /// Arrival time.
    pub arrival: SimTime,
    /// Class index.
    pub class: usize,
    /// A per-task random key (systematic-fault membership is derived from it, so it
    /// is the same in every strategy).
    pub key: u64,
}

/// A lazily generated task stream (memory does not grow with the number of tasks). A
/// clone goes on with the same tasks.
#[derive(Clone, Debug)]
pub struct TaskStream {
    rng: SimRng,
    arrivals: ArrivalGen,
    cum_shares: Vec<f64>,
    next: u64,
    total: u64,
    clock: SimTime,
}

#[derive(Clone, Debug)]
enum ArrivalGen {
    Poisson {
        mean_ns: f64,
    },
    Fixed {
        interval: SimTime,
    },
    Batch,
    /// Seconds, shared with the scenario (converted per task, not copied per world).
    Trace(Arc<[f64]>),
}

impl TaskStream {
    /// The stream of replication `replication`.
    pub fn new(scenario: &Scenario, replication: u64) -> TaskStream {
        let w = &scenario.workload;
        let arrivals = match &w.arrivals {
            Arrivals::Poisson { rate_per_hour } => ArrivalGen::Poisson { mean_ns: 3600e9 / rate_per_hour },
            Arrivals::Fixed { interval_s } => ArrivalGen::Fixed { interval: SimTime::from_secs(*interval_s) },
            Arrivals::Batch => ArrivalGen::Batch,
            Arrivals::Trace { times_s } => ArrivalGen::Trace(Arc::clone(times_s)),
        };
        let total_share: f64 = w.classes.iter().map(|c| c.share).sum();
        let mut acc = 0.0;
        let cum_shares = w
            .classes
            .iter()
            .map(|c| {
                acc += c.share / total_share;
                acc
            })
            .collect();
        TaskStream {
            rng: stream(scenario.seed, replication, Purpose::Tasks, ""),
            arrivals,
            cum_shares,
            next: 0,
            total: w.tasks,
            clock: SimTime::ZERO,
        }
    }

    /// Number of tasks in the stream.
    pub fn len(&self) -> u64 {
        self.total
    }

    /// True when the stream has no tasks.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }
}

impl Iterator for TaskStream {
    type Item = TaskSpec;

    /// The next task. Draw order per task is fixed: inter-arrival gap (Poisson only),
    /// class, key.
    fn next(&mut self) -> Option<TaskSpec> {
        if self.next >= self.total {
            return None;
        }
        let id = self.next;
        let arrival = match &self.arrivals {
            ArrivalGen::Poisson { mean_ns } => {
                let gap: f64 = Exp1.sample(&mut self.rng);
                // The first task arrives after one gap, as in a stationary Poisson process.
                self.clock += SimTime(round_to_u64(gap * mean_ns));
                self.clock
            }
            ArrivalGen::Fixed { interval } => SimTime(interval.0.saturating_mul(id)),
            ArrivalGen::Batch => SimTime::ZERO,
            ArrivalGen::Trace(t) => SimTime::from_secs(t[id as usize]),
        };
        let u: f64 = self.rng.random();
        let class = self.cum_shares.iter().position(|&c| u < c).unwrap_or(self.cum_shares.len() - 1);
        let key: u64 = self.rng.random();
        self.next += 1;
        Some(TaskSpec { id, arrival, class, key })
    }
}

/// A uniform number in [0, 1) derived from a task key and a salt (an agent's name hash):
/// the same task and agent give the same number in every strategy.
#[inline]
pub fn keyed_uniform(key: u64, salt: u64) -> f64 {
    let mut z = key ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// A stable 64-bit hash of a name (FNV-1a).
pub fn name_hash(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}
