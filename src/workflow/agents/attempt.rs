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
use crate::model::{Context, Jitter};
use crate::workflow::event::{AttemptEnd, Event, Observer};

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
}

impl Call {
    /// Tokens the attempt asks of a tokens-per-minute budget: all input and output.
    pub(super) fn tokens_needed(&self) -> u64 {
        self.cached_in + self.fresh_in + self.handoff_in + self.out + self.reasoning
    }
}

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

    /// The keyed streams of the current attempt of `call` (kept in `Call::key`).
    fn attempt_key(&self, call: &Call) -> Keyed {
        let live = call.live as usize;
        let step = if call.row as usize == self.orch_row { self.orch_key[live] } else { self.step_key[call.row as usize] };
        self.draws.attempt(self.tasks[call.task as usize].id, step, call.run, call.replica, call.attempt)
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
        let handoff = if row < self.n { self.st.handoff_tokens } else { 0 };
        let mut fresh = count(&a.input_tokens, &key, Draw::InputTokens) + context;
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
        cl.cached_in = a.system_prompt_tokens;
        cl.fresh_in = fresh;
        cl.handoff_in = handoff;
        cl.out = out;
        cl.billed_out = 0;
        cl.reasoning = reasoning;
        cl.billed_reasoning = 0;
        cl.prefix_cache = CacheUse::Uncached;
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
        let prefix_cache = match outcome {
            AttemptOutcome::TransientError => CacheUse::Uncached,
            _ => self.prompt_cache_use(&call, now, now + SimTime::from_secs(ttft.min(duration))),
        };
        // Billing: a batch-tier call's result comes back after the batch delay.
        let duration = duration + self.batch_delay_s(&call);
        let cl = &mut self.calls[c as usize];
        cl.outcome = outcome;
        cl.billed_out = billed_out;
        cl.billed_reasoning = billed_reasoning;
        cl.prefix_cache = prefix_cache;
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
                emit!(
                    self,
                    Event::AttemptEnded {
                        task: self.tasks[call.task as usize].id,
                        step: self.rows[call.row as usize].0.as_str().into(),
                        agent: self.rows[call.row as usize].1.as_str().into(),
                        attempt: call.attempt,
                        outcome: AttemptEnd::TransientError,
                        stale: false,
                        tokens_in: 0,
                        tokens_out: 0,
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

    pub(super) fn release_call(&mut self, c: u32) {
        let t = self.calls[c as usize].task;
        self.tasks[t as usize].in_flight -= 1;
        self.free_calls.push(c);
    }
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
