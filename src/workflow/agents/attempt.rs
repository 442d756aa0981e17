//! Calls and their attempts: issuing a call, drawing each attempt's tokens, its
//! latency and whether it errs or times out, and retrying with backoff.

use rand::RngExt;

use super::super::Outcome;
use super::super::draws::{Draw, count, sample, uniform};
use super::{Ev, NO_STEP, World};
use crate::economics::billing::CacheUse;
use crate::economics::money::Usd;
use crate::engine::SimTime;
use crate::engine::keyed::Keyed;
use crate::engine::keyed::mix64;
use crate::model::limits::MAX_TOKENS;
use crate::model::{AgentLoop, Context, Jitter, Turns};
use crate::workflow::event::{AttemptEnd, Event, LoopLimit, Observer};

/// How an attempt ended (decided when it starts).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum AttemptOutcome {
    Pending,
    Success,
    TransientError,
    Timeout,
}

/// A model call of one step (or plan) of one task, across its attempts.
#[derive(Clone, Copy, Debug)]
pub(super) struct Call {
    pub(super) task: u32,
    pub(super) row: u32,
    pub(super) agent: u32,
    pub(super) model: u32,
    pub(super) then_step: u32,
    /// The task's live-cost slot this call works for: its step (a per-step
    /// orchestrator call works for the step it plans), or `n` for a per-task plan.
    pub(super) live: u32,
    /// The epoch of that step when the call was issued; a rework bumps the epoch, and
    /// calls of an older epoch are stale: billed as waste, their result dropped.
    pub(super) epoch: u32,
    /// The run of that step on the task when the call was issued (keys its draws).
    pub(super) run: u32,
    /// The call's copy among a voting step's replicas (0 for others).
    pub(super) replica: u32,
    /// The call's turn (0-based) when its agent runs as a loop; 0 otherwise.
    pub(super) turn: u32,
    /// The turns the loop wants (drawn at the first turn, capped at `max_turns + 1`).
    pub(super) turns: u32,
    /// The attempt of the current turn, from 1.
    pub(super) attempt: u32,
    /// The keyed streams of the current attempt (set when it is requested).
    pub(super) key: Keyed,
    pub(super) enqueued: SimTime,
    pub(super) cached_in: u64,
    pub(super) fresh_in: u64,
    pub(super) handoff_in: u64,
    pub(super) out: u64,
    pub(super) billed_out: u64,
    /// Reasoning tokens the attempt would generate, and those it did (billed).
    pub(super) reasoning: u64,
    pub(super) billed_reasoning: u64,
    /// How the system prompt is billed, decided by the prompt cache when it starts.
    pub(super) prefix_cache: CacheUse,
    pub(super) tool_calls: u64,
    pub(super) outcome: AttemptOutcome,
    /// How the fresh input is billed: written to the cache by a loop's turn, else plain.
    pub(super) fresh_cache: CacheUse,
    /// The loop's conversation in the prompt cache: tokens written (0: none), and the
    /// last time they were written or read (their time to live runs from it).
    pub(super) conv_tokens: u64,
    pub(super) conv_used: SimTime,
    /// The previous turn's whole prompt, and the tokens this turn adds to it (the
    /// previous turn's output and the tool's result): this turn's prefix and fresh input.
    pub(super) prev_prompt: u64,
    pub(super) new_tokens: u64,
    /// What the call's turns and attempts have cost so far (a loop's budget).
    pub(super) spent: Usd,
}

impl Call {
    /// Tokens the attempt asks of a tokens-per-minute budget: all input and output.
    pub(super) fn tokens_needed(&self) -> u64 {
        self.prompt() + self.out + self.reasoning
    }

    /// The attempt's whole prompt.
    pub(super) fn prompt(&self) -> u64 {
        self.cached_in + self.fresh_in + self.handoff_in
    }
}

/// Odd multiplier of a turn number in an attempt's key.
const TURN: u64 = 0xE703_7ED1_A0B4_28DB;

impl<O: Observer> World<'_, O> {
    pub(super) fn issue_call(&mut self, t: u32, row: usize, agent: usize, then_step: u32, replica: u32) {
        let live = if row < self.n {
            row
        } else if then_step != NO_STEP {
            then_step as usize
        } else {
            self.n
        };
        let epoch = self.tasks[t as usize].epoch.get(live).copied().unwrap_or(0);
        let run = self.tasks[t as usize].runs[live];
        let call = Call {
            task: t,
            row: row as u32,
            agent: agent as u32,
            model: self.sc.agents[agent].model as u32,
            then_step,
            live: live as u32,
            epoch,
            run,
            replica,
            turn: 0,
            turns: 1,
            attempt: 0,
            key: Keyed::new(0),
            enqueued: SimTime::ZERO,
            cached_in: 0,
            fresh_in: 0,
            handoff_in: 0,
            out: 0,
            billed_out: 0,
            reasoning: 0,
            billed_reasoning: 0,
            prefix_cache: CacheUse::Uncached,
            tool_calls: 0,
            outcome: AttemptOutcome::Pending,
            fresh_cache: CacheUse::Uncached,
            conv_tokens: 0,
            conv_used: SimTime::ZERO,
            prev_prompt: 0,
            new_tokens: 0,
            spent: Usd::ZERO,
        };
        let mut call = call;
        if let Some(l) = &self.sc.agents[agent].agent_loop {
            call.turns = wanted_turns(l, &self.turn_key(&call, 0));
        }
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

    /// The keyed streams of the current attempt of `call` (kept in `Call::key`).
    fn attempt_key(&self, call: &Call) -> Keyed {
        self.turn_key(call, call.attempt)
    }

    /// The keyed streams of attempt `attempt` of the call's current turn; attempt 0
    /// (attempts count from 1) keys what belongs to the turn itself: the loop's wanted
    /// turns, the tool result and the tool's time before it. A later turn offsets the
    /// step's word, so turn 0 (a plain call) keeps the keys it always had.
    fn turn_key(&self, call: &Call, attempt: u32) -> Keyed {
        let live = call.live as usize;
        let mut step = if call.row as usize == self.orch_row { self.orch_key[live] } else { self.step_key[call.row as usize] };
        if call.turn > 0 {
            step = mix64(step ^ u64::from(call.turn).wrapping_mul(TURN));
        }
        self.draws.attempt(self.tasks[call.task as usize].id, step, call.run, call.replica, attempt)
    }

    /// Starts the call's next attempt: draws its tokens and queues it for a model slot.
    pub(super) fn request(&mut self, c: u32) {
        self.calls[c as usize].attempt += 1;
        let call = self.calls[c as usize];
        let key = self.attempt_key(&call);
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
        let mut handoff = if row < self.n { self.st.handoff_tokens } else { 0 };
        let mut prefix = a.system_prompt_tokens;
        let mut fresh = if call.turn == 0 {
            count(&a.input_tokens, &key, Draw::InputTokens) + context
        } else {
            // A later turn: the previous turn's prompt is the prefix; its output and the
            // tool's result (drawn once per turn, in `next_turn`) are new, on a retry too.
            prefix = call.prev_prompt;
            handoff = 0;
            call.new_tokens
        };
        let mut tools = 0;
        if let Some(tc) = &a.tool_calls {
            tools = count(&tc.count, &key, Draw::ToolCalls);
            // Each call's tokens from one stream of their own, after the count's.
            let mut g = key.stream(Draw::ToolTokens as u64);
            for _ in 0..tools {
                fresh += tc.tokens_per_call.sample_count(&mut g);
            }
        }
        let out = count(&a.output_tokens, &key, Draw::OutputTokens);
        // Billing: reasoning tokens (a constant 0 for agents without; its draw has its own key).
        let reasoning = count(&a.reasoning_tokens, &key, Draw::Reasoning);
        let now = self.q.now();
        let cl = &mut self.calls[c as usize];
        cl.key = key;
        cl.enqueued = now;
        cl.cached_in = prefix;
        cl.fresh_in = fresh;
        cl.handoff_in = handoff;
        cl.out = out;
        cl.billed_out = 0;
        cl.reasoning = reasoning;
        cl.billed_reasoning = 0;
        cl.prefix_cache = CacheUse::Uncached;
        cl.fresh_cache = CacheUse::Uncached;
        cl.tool_calls = tools;
        cl.outcome = AttemptOutcome::Pending;
        let m = cl.model as usize;
        self.enqueue(m, c);
    }

    pub(super) fn start_attempt(&mut self, c: u32) {
        let now = self.q.now();
        let call = self.calls[c as usize];
        let (task, row, attempt, enqueued, out, reasoning) =
            (call.task as usize, call.row as usize, call.attempt, call.enqueued, call.out, call.reasoning);
        self.counters.record_wait(now - enqueued);
        emit!(
            self,
            Event::AttemptStarted {
                task: self.tasks[task].id,
                step: self.rows[row].0.as_str().into(),
                agent: self.rows[row].1.as_str().into(),
                replica: call.replica,
                turn: call.turn,
                attempt,
                wait_s: (now - enqueued).as_secs(),
            }
        );
        self.ledger.rows[call.row as usize].attempts += 1;
        self.tasks[call.task as usize].attempts += 1;
        let model = &self.sc.models[call.model as usize];
        let key = call.key;
        let ttft = sample(&model.ttft_s, &key, Draw::Ttft);
        // A rate of 0 skips a draw that has its own key: no other draw moves.
        let transient = model.error_rate > 0.0 && uniform(&key, Draw::Transient) < model.error_rate;
        let (outcome, duration, billed_out, billed_reasoning) = if let Some(limit) = model.timeout_s.filter(|&l| l < ttft) {
            // Cut off before the first token, error or not: billed for the input.
            (AttemptOutcome::Timeout, limit, 0, 0)
        } else if transient {
            (AttemptOutcome::TransientError, ttft, 0, 0)
        } else {
            let mut tools_s = 0.0;
            if let Some(tc) = &self.sc.agents[call.agent as usize].tool_calls {
                let mut g = key.stream(Draw::ToolLatency as u64);
                for _ in 0..call.tool_calls {
                    tools_s += tc.latency_s.sample(&mut g);
                }
            }
            // Validation keeps speeds positive; the floor guards against a draw of 0.
            let tps = sample(&model.output_tokens_per_s, &key, Draw::Speed).max(1e-3);
            // Reasoning tokens are generated first, at the output speed.
            let total = ttft + tools_s + (reasoning + out) as f64 / tps;
            match model.timeout_s {
                Some(limit) if total > limit => {
                    let produced = ((limit - ttft - tools_s).max(0.0) * tps).floor() as u64;
                    let reasoned = produced.min(reasoning);
                    (AttemptOutcome::Timeout, limit, (produced - reasoned).min(out), reasoned)
                }
                _ => (AttemptOutcome::Success, total, out, reasoning),
            }
        };
        // Billing: the prompt cache decides how a billed attempt pays for its system prompt;
        // its prompt is read by the first token (or the cut-off), when a write lands.
        let (prefix_cache, fresh_cache) = match outcome {
            AttemptOutcome::TransientError => (CacheUse::Uncached, CacheUse::Uncached),
            _ => self.prompt_cache_use(c, now, now + SimTime::from_secs(ttft.min(duration))),
        };
        // Billing: a batch-tier call's result comes back after the batch delay.
        let duration = duration + self.batch_delay_s(&call);
        let cl = &mut self.calls[c as usize];
        cl.outcome = outcome;
        cl.billed_out = billed_out;
        cl.billed_reasoning = billed_reasoning;
        cl.prefix_cache = prefix_cache;
        cl.fresh_cache = fresh_cache;
        self.q.schedule(now + SimTime::from_secs(duration), Ev::AttemptEnded(c));
    }

    pub(super) fn on_attempt_ended(&mut self, c: u32) {
        let call = self.calls[c as usize];
        let m = call.model as usize;
        self.pools[m].in_flight -= 1;
        self.dispatch(m);
        match call.outcome {
            AttemptOutcome::Success => {
                let stale = self.is_stale(&call);
                let cost = self.bill(&call, stale);
                self.calls[c as usize].spent += cost;
                if !stale && call.turn + 1 < call.turns && !self.tasks[call.task as usize].stopped {
                    self.next_turn(c);
                    return;
                }
                self.release_call(c);
                if stale {
                    self.maybe_finalize(call.task);
                } else {
                    self.on_call_succeeded(&call);
                }
            }
            AttemptOutcome::Timeout => {
                self.ledger.rows[call.row as usize].failed_attempts += 1;
                let cost = self.bill(&call, true);
                self.calls[c as usize].spent += cost;
                self.retry_or_give_up(c);
            }
            AttemptOutcome::TransientError | AttemptOutcome::Pending => {
                emit!(
                    self,
                    Event::AttemptEnded {
                        task: self.tasks[call.task as usize].id,
                        step: self.rows[call.row as usize].0.as_str().into(),
                        agent: self.rows[call.row as usize].1.as_str().into(),
                        replica: call.replica,
                        turn: call.turn,
                        attempt: call.attempt,
                        outcome: AttemptEnd::TransientError,
                        stale: false,
                        tokens_in: 0,
                        tokens_out: 0,
                        cache_read_in: 0,
                        cache_write_in: 0,
                        reasoning_out: 0,
                        tool_calls: 0,
                        tool_cost_usd: Usd::ZERO,
                        cost_usd: Usd::ZERO,
                    }
                );
                self.ledger.rows[call.row as usize].failed_attempts += 1;
                self.retry_or_give_up(c);
            }
        }
    }

    /// Whether a call works for a step execution that a rework has since discarded.
    pub(super) fn is_stale(&self, call: &Call) -> bool {
        let task = &self.tasks[call.task as usize];
        task.epoch.get(call.live as usize).is_some_and(|&e| e != call.epoch)
    }

    /// Releases a call whose task has stopped or whose step execution a rework has
    /// discarded (and finishes the task if that was its last call); `true` if it did.
    fn released_if_dead(&mut self, c: u32) -> bool {
        let call = self.calls[c as usize];
        let dead = self.tasks[call.task as usize].stopped || self.is_stale(&call);
        if dead {
            self.release_call(c);
            self.maybe_finalize(call.task);
        }
        dead
    }

    pub(super) fn retry_or_give_up(&mut self, c: u32) {
        if self.released_if_dead(c) {
            return;
        }
        let call = self.calls[c as usize];
        let t = call.task;
        let r = &self.st.retry;
        if call.attempt < r.max_attempts {
            let mut backoff = (r.backoff_base_s * r.backoff_factor.powi(call.attempt as i32 - 1)).min(r.backoff_max_s);
            if r.jitter == Jitter::Full && backoff > 0.0 {
                backoff = call.key.stream(Draw::Jitter as u64).random_range(0.0..backoff);
            }
            emit!(
                self,
                Event::RetryScheduled {
                    task: self.tasks[t as usize].id,
                    step: self.rows[call.row as usize].0.as_str().into(),
                    agent: self.rows[call.row as usize].1.as_str().into(),
                    attempt: call.attempt,
                    backoff_s: backoff,
                }
            );
            self.q.schedule_in(SimTime::from_secs(backoff), Ev::BackoffElapsed(c));
        } else {
            // Retries spent: the step fails the task, with this agent as root cause.
            emit!(
                self,
                Event::StepFailed {
                    task: self.tasks[t as usize].id,
                    step: self.rows[call.row as usize].0.as_str().into(),
                    agent: self.rows[call.row as usize].1.as_str().into(),
                    attempts: call.attempt
                }
            );
            self.release_call(c);
            self.stop(t, Outcome::Failed, Some(call.row as usize), false);
        }
    }

    pub(super) fn on_backoff_elapsed(&mut self, c: u32) {
        if !self.released_if_dead(c) {
            self.request(c);
        }
    }

    /// An agent loop's turn ended and the loop wants more: stops it at a limit (the task
    /// fails, this step at fault), or runs the tool and asks for the next turn.
    fn next_turn(&mut self, c: u32) {
        let call = self.calls[c as usize];
        let a = &self.sc.agents[call.agent as usize];
        let l = a.agent_loop.as_ref().expect("only a loop has more turns");
        let next = call.turn + 1;
        let mut then = call;
        then.turn = next;
        let turn_key = self.turn_key(&then, 0);
        // The next prompt: this one, its answer and the tool's result.
        let new_tokens = call.billed_out + count(&l.tool_result_tokens, &turn_key, Draw::ToolResult);
        let prompt = call.prompt() + new_tokens;
        let limit = if next >= l.max_turns {
            Some(LoopLimit::MaxTurns)
        } else if l.max_cost_usd.is_some_and(|b| call.spent >= b) {
            Some(LoopLimit::MaxCostUsd)
        } else if prompt as f64 > MAX_TOKENS {
            Some(LoopLimit::ContextWindow)
        } else {
            None
        };
        let t = call.task;
        if let Some(limit) = limit {
            emit!(
                self,
                Event::LoopStopped {
                    task: self.tasks[t as usize].id,
                    step: self.rows[call.row as usize].0.as_str().into(),
                    agent: self.rows[call.row as usize].1.as_str().into(),
                    turns: next,
                    limit,
                    spent_usd: call.spent,
                }
            );
            self.release_call(c);
            self.stop(t, Outcome::Failed, Some(call.row as usize), false);
            return;
        }
        let cl = &mut self.calls[c as usize];
        cl.prev_prompt = call.prompt();
        cl.new_tokens = new_tokens;
        cl.turn = next;
        cl.attempt = 0;
        self.ledger.rows[call.row as usize].calls += 1;
        let tool_s = sample(&l.tool_time_s, &turn_key, Draw::ToolTime);
        self.q.schedule_in(SimTime::from_secs(tool_s), Ev::TurnReady(c));
    }

    pub(super) fn release_call(&mut self, c: u32) {
        let t = self.calls[c as usize].task;
        self.tasks[t as usize].in_flight -= 1;
        self.free_calls.push(c);
    }
}

/// The turns a loop wants on a call, from its turn-level key: at least 1, at most
/// `max_turns + 1` (wanting more than `max_turns` stops the loop at the limit).
fn wanted_turns(l: &AgentLoop, key: &Keyed) -> u32 {
    let cap = l.max_turns as f64 + 1.0;
    let n = match &l.turns {
        Turns::Dist(d) => sample(d, key, Draw::Turns).round(),
        // Geometric on 1, 2, ...: the first turn after which the agent stops, by
        // inversion of one uniform (1 - u lies in (0, 1]).
        Turns::StopProbability(p) if *p >= 1.0 => 1.0,
        Turns::StopProbability(p) => 1.0 + ((1.0 - uniform(key, Draw::Turns)).ln() / (1.0 - p).ln()).floor(),
    };
    if n.is_nan() { 1 } else { n.clamp(1.0, cap) as u32 }
}

/// The sum of `v[i]` over the bits `i` of `mask`.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sum_masked_picks_bits() {
        assert_eq!(sum_masked(&[1, 10, 100, 1000], 0b1010), 1010);
    }
}
