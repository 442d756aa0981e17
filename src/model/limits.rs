//! What can be simulated: the bounds `validate` puts on every scenario value, and why
//! they make overflow impossible.
//!
//! The README ("Scenario format", "Limits") lists the same numbers; keep them in step.
//!
//! # The bound argument
//!
//! Money is an `i128` count of pico-dollars (±1.7e38, i.e. ±1.7e26 USD) and token,
//! attempt and task counters are `u64` (1.8e19). Every sum the simulator makes is a sum
//! of non-negative terms within one world (one strategy in one replication): costs are
//! summed per row, business unit, category, task and world; tokens per row, task and
//! world. So each sum is at most (number of terms) × (largest term), and both factors
//! are bounded by what validation accepts:
//!
//! * every random draw is clamped to the limit of its quantity ([`MAX_TOKENS`] for
//!   tokens, [`MAX_TOOL_CALLS`] for tool-call counts, [`MAX_SECONDS`] for seconds,
//!   [`MAX_HOURS`] for person-hours), and a distribution whose location (its constant,
//!   mean or maximum) exceeds that limit is refused;
//! * prices, fees and rates are at most [`MAX_USD_PER_MTOK`], [`MAX_FEE_USD`],
//!   [`MAX_USD_PER_HOUR`], [`MAX_USD_PER_MONTH`], [`MAX_VALUE_USD`];
//! * counts are at most [`MAX_TASKS`], [`MAX_STEPS`], [`MAX_REPLICAS`],
//!   [`MAX_ATTEMPTS`], [`MAX_REWORK`], [`MAX_TURNS`], [`MAX_TEAM_SIZE`];
//! * an agent loop's prompt is at most [`MAX_TOKENS`]: a turn whose prompt would be
//!   longer stops the loop (the largest context window is full).
//!
//! A task's attempts are then at most
//! `A = 2 × max_attempts × max_turns × (1 + Σ max_rework) × Σ replicas` (a rework, limited per
//! reviewer, reruns at most every step; an orchestrator adds at most one call per step
//! execution and one per task), and an attempt's tokens at most
//! `T = system prompt + input + handoff + tool calls × tokens per call + Σ replicas ×
//! output` (the context is at most every upstream output), each term at its maximum.
//! [`world_volume`] multiplies these out in `f64` (no overflow: every factor is below
//! 1e13, the product below 1e300), and validation refuses a strategy whose
//! worst-case world has more than [`MAX_WORLD_TOKENS`] tokens or [`MAX_WORLD_ATTEMPTS`]
//! attempts, or costs more than [`MAX_WORLD_USD`]: all below the types' limits (by
//! factors of 1.8, 18 and 170), so no counter or sum can overflow whatever the random
//! draws. The test
//! `worst_case_sums_fit` in this module checks the arithmetic at the largest values
//! accepted.

/// Tokens in one draw (input, output, tool result, system prompt, handoff): the largest
/// context window of any model.
pub(crate) const MAX_TOKENS: f64 = 10_000_000.0;
/// Tool calls in one attempt (they are drawn one at a time).
pub(crate) const MAX_TOOL_CALLS: f64 = 1_000.0;
/// Seconds in one draw or setting (TTFT, tool latency, timeout, backoff, deadline,
/// arrival interval): about 116 days.
pub(crate) const MAX_SECONDS: f64 = 10_000_000.0;
/// Person-hours in one draw (human work per task, escalation).
pub(crate) const MAX_HOURS: f64 = 10_000.0;
/// Output speed, tokens per second (a draw is clamped to `[MIN_TOKENS_PER_S, this]`).
pub(crate) const MAX_TOKENS_PER_S: f64 = 10_000_000.0;
/// The slowest output speed a constant, uniform or empirical speed may have.
pub(crate) const MIN_TOKENS_PER_S: f64 = 0.001;
/// Time by which the last task has arrived (fixed and Poisson arrivals: `tasks ×`
/// mean gap; trace arrivals: the last time), seconds: about 31.7 years.
pub(crate) const MAX_ARRIVAL_SPAN_S: f64 = 1_000_000_000.0;
/// A token price after `price_multiplier`, USD per million tokens.
pub(crate) const MAX_USD_PER_MTOK: f64 = 100_000.0;
/// A fee per request, tool call, task or step, USD.
pub(crate) const MAX_FEE_USD: f64 = 1_000_000.0;
/// A platform's monthly fee, USD.
pub(crate) const MAX_USD_PER_MONTH: f64 = 1_000_000_000.0;
/// A platform's share of model spend, percent.
pub(crate) const MAX_PCT_OF_MODEL_SPEND: f64 = 1_000.0;
/// A person-hour rate, USD.
pub(crate) const MAX_USD_PER_HOUR: f64 = 1_000_000.0;
/// A task class's value or wrong-result penalty, USD.
pub(crate) const MAX_VALUE_USD: f64 = 1_000_000_000.0;
/// Requests per minute of a token bucket: at least one (a bucket holds one minute of
/// budget, so a request must fit), at most this.
pub(crate) const MAX_PER_MIN: f64 = 1e12;
/// Tasks per replication.
pub(crate) const MAX_TASKS: u64 = 1_000_000_000;
/// Replications.
pub(crate) const MAX_REPLICATIONS: u64 = 1_000_000;
/// Steps per strategy (bits of a `u64` defect set, one kept for the orchestrator).
pub(crate) const MAX_STEPS: usize = 63;
/// Replicas of a step.
pub(crate) const MAX_REPLICAS: u64 = 1_000;
/// Attempts of a call (the first included).
pub(crate) const MAX_ATTEMPTS: u64 = 10_000;
/// Turns of an agent loop's call (`max_turns`).
pub(crate) const MAX_TURNS: u64 = 10_000;
/// Turns of an agent loop's call when its scenario sets no `max_turns`.
pub(crate) const DEFAULT_MAX_TURNS: u64 = 100;
/// Reworks a reviewer may send back per task.
pub(crate) const MAX_REWORK: u64 = 1_000;
/// Growth factor of retry backoff.
pub(crate) const MAX_BACKOFF_FACTOR: f64 = 1_000.0;
/// People per human team, and human teams.
pub(crate) const MAX_TEAM_SIZE: u64 = 1_000_000;
/// Worst-case tokens of one world (u64 holds 1.8e19).
pub(crate) const MAX_WORLD_TOKENS: f64 = 1e19;
/// Worst-case attempts of one world (u64 holds 1.8e19).
pub(crate) const MAX_WORLD_ATTEMPTS: f64 = 1e18;
/// Worst-case cost of one world, USD (i128 pico-dollars hold 1.7e26 USD).
pub(crate) const MAX_WORLD_USD: f64 = 1e24;

/// The worst case of one world of an agents strategy, from per-quantity maxima.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Volume {
    /// Attempts per task, at most.
    pub(crate) attempts_per_task: f64,
    /// Tokens per attempt, at most.
    pub(crate) tokens_per_attempt: f64,
    /// Money per attempt, USD, at most.
    pub(crate) usd_per_attempt: f64,
    /// Money per task outside attempts (platform fees, escalation, value), USD.
    pub(crate) usd_per_task: f64,
}

/// Worst-case tokens and dollars of a world of `tasks` tasks (see the module doc).
/// Returns `(attempts, tokens, usd)`.
pub(crate) fn world_volume(v: &Volume, tasks: u64) -> (f64, f64, f64) {
    let attempts = tasks as f64 * v.attempts_per_task;
    (attempts, attempts * v.tokens_per_attempt, attempts * v.usd_per_attempt + tasks as f64 * v.usd_per_task)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::economics::money::{PricePerMtok, Usd};

    /// The largest attempt validation can accept, priced and summed as the simulator
    /// does, stays within the types, and `world_volume` never underestimates it.
    #[test]
    fn worst_case_sums_fit() {
        // The largest single attempt: every token draw at its limit, every tool call.
        let replicas = MAX_REPLICAS as f64 * MAX_STEPS as f64;
        let tokens = (3.0 + MAX_TOOL_CALLS + replicas) * MAX_TOKENS;
        assert!(tokens < u64::MAX as f64);
        let price = PricePerMtok::try_from_usd_per_mtok(MAX_USD_PER_MTOK).unwrap();
        let one = price.cost(tokens as u64);
        // Three token prices, a request fee, tool fees: still far from i128.
        let fee = Usd::try_from_f64(MAX_FEE_USD).unwrap();
        let attempt = Usd(one.0 * 3 + fee.0 * (1 + MAX_TOOL_CALLS as i128));
        let v = Volume { attempts_per_task: 1.0, tokens_per_attempt: tokens, usd_per_attempt: attempt.as_f64(), usd_per_task: 0.0 };
        // The number of such attempts a world may hold under MAX_WORLD_TOKENS and
        // MAX_WORLD_USD, and the exact sums over them, fit with room to spare.
        let n_by_tokens = (MAX_WORLD_TOKENS / tokens).floor();
        let n_by_usd = (MAX_WORLD_USD / attempt.as_f64()).floor();
        let n = n_by_tokens.min(n_by_usd).max(1.0) as u64;
        let (a, t, usd) = world_volume(&v, n);
        assert_eq!(a, n as f64);
        assert!(t <= MAX_WORLD_TOKENS * 1.0000001, "{t}");
        let total_tokens = (tokens as u64).checked_mul(n).unwrap();
        assert!(total_tokens as f64 <= MAX_WORLD_TOKENS * 1.0000001);
        let total = attempt.0.checked_mul(n as i128).unwrap();
        assert!(total < i128::MAX / 100);
        assert!(usd >= Usd(total).as_f64() * 0.999_999);
        // A world at the limit can still carry a task's value and penalty.
        let value = Usd::try_from_f64(MAX_VALUE_USD).unwrap();
        assert!(value.0.checked_mul(2 * MAX_TASKS as i128).unwrap().checked_add(total).is_some());
    }
}
