//! The discrete-event engine: simulated time, the event queue and seeded random streams.
//!
//! The engine knows no domain words: no tokens, no dollars, no agents. It orders events
//! and hands out random streams; `workflow` gives events their meaning. It benchmarks on
//! a bare M/M/c model (see `benches/engine.rs`).
//!
//! # Determinism guarantees
//!
//! 1. **Time is an integer.** [`SimTime`] counts nanoseconds in a `u64`, so adding
//!    durations is exact and associative: the order in which a run sums intervals never
//!    changes when an event fires.
//! 2. **Ties are broken by insertion order.** [`EventQueue`] orders events by
//!    `(time, seq)` where `seq` is a counter incremented on every [`EventQueue::schedule`].
//!    Two events at the same instant fire in the order they were scheduled.
//! 3. **All randomness comes from [`rng::stream`]**, one ChaCha8 stream per
//!    (master seed, replication, purpose, key). No thread-local or OS randomness is used
//!    anywhere, so a run is a pure function of its inputs and of the orchsim version.

pub mod keyed;
pub mod queue;
pub mod rng;
pub mod time;

pub use queue::EventQueue;
pub use rng::{Purpose, SimRng, stream};
pub use time::SimTime;
