//! Billing: what an attempt costs, and charging it to the ledger, the task and its
//! business unit, with the platform's fees.

use super::World;
use super::attempt::{AttemptOutcome, Call};
use crate::economics::billing::{CacheMode, CacheUse, CallUsage, bill_with_fresh_rate};
use crate::economics::ledger::Category;
use crate::economics::money::Usd;
use crate::engine::SimTime;
use crate::model::{Agent, Model, ServiceTier};
use crate::workflow::event::{AttemptEnd, Event, FeeKind, Observer};

/// Seconds in the 30-day month used to prorate monthly fees.
const MONTH_S: i128 = 30 * 24 * 3600;

/// What one attempt costs, before the platform's share.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct CallBill {
    /// The model's work: system prompt (cache read, write or plain input), fresh input,
    /// output, reasoning and the request fee.
    pub(super) work: Usd,
    /// The handoff input from earlier steps (orchestration overhead).
    pub(super) handoff: Usd,
    /// Tool-call fees, and the provider's per-query fees of web-search tool calls.
    pub(super) tools: Usd,
}

/// The calculator's usage record of an attempt: the cacheable prefix (the agent's system
/// prompt, or in a loop's later turn the previous turn's prompt) billed as the prompt
/// cache decided when the attempt started; task input, tool results and hand-offs are
/// fresh input (written to the cache in a loop); output and reasoning tokens as far as
/// the attempt produced them; tool calls of kind `web_search` are search queries.
pub(super) fn usage(agent: &Agent, call: &Call) -> CallUsage {
    CallUsage {
        fresh_input: call.fresh_in + call.handoff_in,
        prefix: call.cached_in,
        prefix_cache: call.prefix_cache,
        fresh_cache: call.fresh_cache,
        output: call.billed_out,
        reasoning: call.billed_reasoning,
        search_queries: if agent.tool_calls.as_ref().is_some_and(|tc| tc.web_search) { call.tool_calls } else { 0 },
    }
}

/// The bill of one attempt, through [`crate::economics::billing::bill`] (the one billing
/// path): the agent's service tier, the long-context band its prompt falls in, the prompt
/// cache, reasoning tokens, search queries and the request fee; plus the agent's tool
/// fees. The hand-off tokens' share (at the band's input price) is split out as
/// orchestration overhead, the search fees go with the tool fees.
pub(super) fn call_bill(model: &Model, agent: &Agent, call: &Call) -> CallBill {
    let u = usage(agent, call);
    let tier = agent.service_tier;
    // The scenario refuses a tier the model is not sold at, and a 1-hour cache on a model
    // without a 1-hour write price, so a model's run cannot meet these errors.
    let (parts, fresh_rate) =
        bill_with_fresh_rate(&model.name, &model.pricing, tier, &u).unwrap_or_else(|e| panic!("validated by the scenario: {e}"));
    // The hand-off is billed as the rest of the fresh input (written, in a loop).
    let handoff = fresh_rate.cost(call.handoff_in);
    let tools = tool_fees(agent, call);
    CallBill { work: parts.total() - handoff - parts.search, handoff, tools: tools + parts.search }
}

/// The agent's fees for the attempt's tool calls (not the provider's search fees).
fn tool_fees(agent: &Agent, call: &Call) -> Usd {
    match &agent.tool_calls {
        Some(tc) => Usd(tc.usd_per_call.0 * call.tool_calls as i128),
        None => Usd::ZERO,
    }
}

impl<O: Observer> World<'_, O> {
    /// How a billed attempt of call `c` starting at `now` pays for its prefix and its
    /// fresh input; `ready` is when what it writes becomes readable (its first token).
    ///
    /// The first turn's prefix is the agent's system prompt, in the world's prompt cache
    /// keyed by (agent, model) on the event clock. An agent loop also writes each turn's
    /// new tokens (when the prompt reaches the model's minimum and caching is not off),
    /// and a later turn's prefix, the previous turn's prompt, is a hit while the
    /// conversation written lives (the model's time to live from its last write or read:
    /// a tool that runs longer, or a long wait for a slot, makes the turn write it again).
    pub(super) fn prompt_cache_use(&mut self, c: u32, now: SimTime, ready: SimTime) -> (CacheUse, CacheUse) {
        let call = self.calls[c as usize];
        let (a, m) = (call.agent as usize, call.model as usize);
        let (agent, model) = (&self.sc.agents[a], &self.sc.models[m]);
        if agent.agent_loop.is_none() {
            return (self.biller.cache_use((a, agent), (m, model), now, ready), CacheUse::Uncached);
        }
        let rule = &model.cache;
        let (write, ttl_s) = match (agent.prompt_cache, rule.ttl_1h_s) {
            (CacheMode::Off, _) => return (CacheUse::Uncached, CacheUse::Uncached),
            (CacheMode::OneHour, Some(t)) => (CacheUse::Write1h, t),
            _ => (CacheUse::Write, rule.ttl_s),
        };
        let prefix = if call.turn == 0 {
            self.biller.cache_use((a, agent), (m, model), now, ready)
        } else if call.conv_tokens > 0 && call.conv_used <= now && (now - call.conv_used).as_secs() <= ttl_s {
            CacheUse::Hit
        } else if call.cached_in >= rule.min_tokens {
            write
        } else {
            CacheUse::Uncached
        };
        if call.prompt() < rule.min_tokens {
            return (prefix, CacheUse::Uncached);
        }
        let cl = &mut self.calls[c as usize];
        cl.conv_tokens = call.prompt();
        cl.conv_used = ready.max(now);
        (prefix, write)
    }

    /// The extra time a batch-tier attempt takes to come back, seconds: a draw of the
    /// model's `batch_delay_s`; 0 (and no draw) at other tiers.
    pub(super) fn batch_delay_s(&mut self, call: &Call) -> f64 {
        if self.sc.agents[call.agent as usize].service_tier != ServiceTier::Batch {
            return 0.0;
        }
        crate::workflow::draws::sample(
            &self.sc.models[call.model as usize].batch_delay_s,
            &call.key,
            crate::workflow::draws::Draw::BatchDelay,
        )
    }

    /// Bills an attempt (see [`call_bill`]) with the platform's share, and counts its
    /// tokens (reasoning tokens count as output). `wasted`: the attempt's work is thrown
    /// away (a timeout, a stale call). Returns the attempt's cost before platform fees.
    pub(super) fn bill(&mut self, call: &Call, wasted: bool) -> Usd {
        let row = call.row as usize;
        let t = call.task;
        let CallBill { work, handoff, tools } = call_bill(&self.sc.models[call.model as usize], &self.sc.agents[call.agent as usize], call);
        emit!(self, {
            let timeout = call.outcome == AttemptOutcome::Timeout;
            let written = |how: CacheUse, n: u64| if matches!(how, CacheUse::Write | CacheUse::Write1h) { n } else { 0 };
            Event::AttemptEnded {
                task: self.tasks[t as usize].id,
                step: self.rows[row].0.as_str().into(),
                agent: self.rows[row].1.as_str().into(),
                replica: call.replica,
                turn: call.turn,
                attempt: call.attempt,
                outcome: if timeout { AttemptEnd::Timeout } else { AttemptEnd::Success },
                stale: wasted && !timeout,
                tokens_in: call.prompt(),
                tokens_out: call.billed_out + call.billed_reasoning,
                cache_read_in: if call.prefix_cache == CacheUse::Hit { call.cached_in } else { 0 },
                cache_write_in: written(call.prefix_cache, call.cached_in) + written(call.fresh_cache, call.fresh_in + call.handoff_in),
                reasoning_out: call.billed_reasoning,
                tool_calls: call.tool_calls,
                tool_cost_usd: tool_fees(&self.sc.agents[call.agent as usize], call),
                cost_usd: work + handoff + tools,
            }
        });
        let work_cat = if row == self.orch_row { Category::Orchestration } else { Category::Model };
        let live = Some(call.live as usize);
        self.charge_task(t, row, work_cat, work, live, wasted);
        self.charge_task(t, row, Category::Orchestration, handoff, live, wasted);
        self.charge_task(t, row, Category::Tool, tools, live, wasted);
        let ppb = self.st.platform.ppb_of_model_spend;
        if ppb != 0 {
            let fee = (work + handoff).mul_div(ppb, 1_000_000_000);
            self.charge_task(t, self.platform_row, Category::Platform, fee, live, wasted);
        }
        let tokens_in = call.cached_in + call.fresh_in + call.handoff_in;
        let tokens_out = call.billed_out + call.billed_reasoning;
        let r = &mut self.ledger.rows[row];
        r.tokens_in += tokens_in;
        r.tokens_out += tokens_out;
        self.counters.tokens_in += tokens_in;
        self.counters.tokens_out += tokens_out;
        let task = &mut self.tasks[t as usize];
        task.tokens_in += tokens_in;
        task.tokens_out += tokens_out;
        work + handoff + tools
    }

    /// Charges a task's business unit on a ledger row, and the task itself: as waste, or
    /// as the live cost of slot `live` (moved to waste if a rework discards that step's
    /// output), or to the task as a whole (`None`).
    pub(super) fn charge_task(&mut self, t: u32, row: usize, cat: Category, amount: Usd, live: Option<usize>, wasted: bool) {
        if amount == Usd::ZERO {
            return;
        }
        if cat == Category::Platform {
            emit!(
                self,
                Event::PlatformFeeCharged {
                    task: Some(self.tasks[t as usize].id),
                    bu: self.sc.business_units[self.tasks[t as usize].bu].as_str().into(),
                    kind: None,
                    cost_usd: amount,
                }
            );
        }
        let task = &mut self.tasks[t as usize];
        self.ledger.charge(row, task.bu, cat, amount);
        task.cost += amount;
        if wasted {
            task.wasted += amount;
        } else if let Some(k) = live {
            task.live_cost[k] += amount;
        }
        if cat == Category::Human {
            task.human_cost += amount;
        }
    }

    /// The monthly platform fee, prorated over the makespan and split across business
    /// units by task count (largest remainder, so the parts add up to the fee exactly).
    pub(super) fn charge_monthly_fee(&mut self) {
        let monthly = self.st.platform.usd_per_month;
        if monthly == Usd::ZERO {
            return;
        }
        let ns = self.counters.makespan.0 as i128;
        let fee = monthly.mul_div(ns, MONTH_S * 1_000_000_000);
        let weights: Vec<u64> = self.ledger.bus.iter().map(|b| b.tasks).collect();
        for (bu, part) in apportion(fee, &weights).into_iter().enumerate() {
            if part != Usd::ZERO {
                emit!(
                    self,
                    Event::PlatformFeeCharged {
                        task: None,
                        bu: self.sc.business_units[bu].as_str().into(),
                        kind: Some(FeeKind::Monthly),
                        cost_usd: part
                    }
                );
                self.ledger.charge(self.platform_row, bu, Category::Platform, part);
            }
        }
    }
}

/// Splits `total` in proportion to `weights` so that the parts add up exactly
/// (largest-remainder method; ties go to the earlier unit).
pub(crate) fn apportion(total: Usd, weights: &[u64]) -> Vec<Usd> {
    let sum: u128 = weights.iter().map(|&w| w as u128).sum();
    if sum == 0 {
        let mut v = vec![Usd::ZERO; weights.len()];
        if let Some(first) = v.first_mut() {
            *first = total;
        }
        return v;
    }
    let mut parts: Vec<Usd> = Vec::with_capacity(weights.len());
    let mut rems: Vec<(i128, usize)> = Vec::with_capacity(weights.len());
    for (i, &w) in weights.iter().enumerate() {
        let p = total.0 * w as i128;
        parts.push(Usd(p.div_euclid(sum as i128)));
        rems.push((p.rem_euclid(sum as i128), i));
    }
    let left = total.0 - parts.iter().map(|p| p.0).sum::<i128>();
    rems.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(_, i) in rems.iter().take(left as usize) {
        parts[i].0 += 1;
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apportion_adds_up_exactly() {
        let parts = apportion(Usd(100), &[1, 1, 1]);
        assert_eq!(parts, vec![Usd(34), Usd(33), Usd(33)]);
        let parts = apportion(Usd(1_000_000_007), &[3, 0, 7, 11]);
        assert_eq!(parts.iter().map(|p| p.0).sum::<i128>(), 1_000_000_007);
        assert_eq!(parts[1], Usd::ZERO);
        assert_eq!(apportion(Usd(5), &[0, 0]), vec![Usd(5), Usd::ZERO]);
    }
}
