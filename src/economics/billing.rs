//! The bill of one model call, as the provider's invoice computes it.
//!
//! [`bill`] is a pure function of the model's prices, the service tier and the call's
//! usage; it returns the bill in parts (input, cache read, cache write, output, reasoning,
//! search, request fee) that add up exactly to [`BillParts::total`]. The rules:
//!
//! - **Prompt cache.** The cacheable prefix (the agent's system prompt, or in a later
//!   turn of an agent loop the conversation so far) is billed as the cache decided: a hit
//!   at the cache-read price; a write at the cache-write price where the map has one (the
//!   1-hour price for 1-hour writes), else at the input price; uncached at the input
//!   price. Fresh input is plain input, except in an agent loop, which writes each turn's
//!   new tokens to the cache for the next turn to read ([`CallUsage::fresh_cache`]: billed
//!   like a prefix write). Cached tokens are billed once: a provider's `prompt_tokens`
//!   that include them must be split first ([`CallUsage::from_openai_usage`]).
//! - **Long-context bands.** When the prompt, cached tokens included, holds more tokens than
//!   a band's threshold (`*_above_200k_tokens`), the whole request — every input, cache and
//!   output token — is priced at that band, not only the tokens past the threshold.
//! - **Service tiers.** `batch`, `flex` and `priority` use the map's `*_batches`, `*_flex`
//!   and `*_priority` prices; a tier the model does not offer is an error naming both.
//!   A cache price a tier lacks is that tier's input price (no discount assumed).
//! - **Reasoning tokens** are billed at `output_cost_per_reasoning_token`, else at the
//!   output price, in addition to the visible output.
//! - **Search** queries are billed at the map's `search_context_cost_per_query` (medium
//!   context) where it has one, else free; the **request fee** once per call.

pub mod cache;

use std::fmt;

pub use cache::{CacheMode, CacheRule, CacheUse, PromptCache};

use super::money::{PricePerMtok, Usd};
use crate::engine::SimTime;
use crate::model::pricing::{Pricing, Rates, ServiceTier};
use crate::model::{Agent, Model};

/// What one call consumed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallUsage {
    /// Input tokens that are not part of the cacheable prefix (task input, hand-offs,
    /// tool results).
    pub fresh_input: u64,
    /// Cacheable prefix tokens (the system prompt).
    pub prefix: u64,
    /// How the prefix is billed.
    pub prefix_cache: CacheUse,
    /// How the fresh input is billed: [`CacheUse::Uncached`] (plain input) except in an
    /// agent loop, whose turns write their new tokens to the cache
    /// ([`CacheUse::Write`] or [`CacheUse::Write1h`]). A hit is not meaningful here.
    pub fresh_cache: CacheUse,
    /// Visible output tokens.
    pub output: u64,
    /// Reasoning tokens (not included in `output`).
    pub reasoning: u64,
    /// Web-search queries.
    pub search_queries: u64,
}

impl CallUsage {
    /// Input and output only, nothing cached.
    pub fn plain(input: u64, output: u64) -> CallUsage {
        CallUsage {
            fresh_input: input,
            prefix: 0,
            prefix_cache: CacheUse::Uncached,
            fresh_cache: CacheUse::Uncached,
            output,
            reasoning: 0,
            search_queries: 0,
        }
    }

    /// From an OpenAI-style usage record, where `prompt_tokens` includes the cached tokens
    /// and `completion_tokens` includes the reasoning tokens: each token is counted once.
    pub fn from_openai_usage(prompt_tokens: u64, cached_tokens: u64, completion_tokens: u64, reasoning_tokens: u64) -> CallUsage {
        CallUsage {
            fresh_input: prompt_tokens.saturating_sub(cached_tokens),
            prefix: cached_tokens,
            prefix_cache: if cached_tokens > 0 { CacheUse::Hit } else { CacheUse::Uncached },
            fresh_cache: CacheUse::Uncached,
            output: completion_tokens.saturating_sub(reasoning_tokens),
            reasoning: reasoning_tokens,
            search_queries: 0,
        }
    }

    /// Prompt tokens, cached ones included: what selects the long-context band.
    pub fn prompt_tokens(&self) -> u64 {
        self.fresh_input + self.prefix
    }
}

/// A bill by category. The parts add up exactly to [`BillParts::total`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BillParts {
    /// Uncached input (fresh input, and a prefix that is not cached or is written
    /// without a write premium).
    pub input: Usd,
    /// Prefix read from the cache.
    pub cache_read: Usd,
    /// Prefix written to the cache at a write price.
    pub cache_write: Usd,
    /// Visible output.
    pub output: Usd,
    /// Reasoning tokens.
    pub reasoning: Usd,
    /// Search queries.
    pub search: Usd,
    /// Per-request fee.
    pub request: Usd,
}

impl BillParts {
    /// The whole bill.
    pub fn total(&self) -> Usd {
        self.input + self.cache_read + self.cache_write + self.output + self.reasoning + self.search + self.request
    }

    /// `(name, amount)` of every part, in a fixed order (for ledgers and reports).
    pub fn parts(&self) -> [(&'static str, Usd); 7] {
        [
            ("input", self.input),
            ("cache_read", self.cache_read),
            ("cache_write", self.cache_write),
            ("output", self.output),
            ("reasoning", self.reasoning),
            ("search", self.search),
            ("request", self.request),
        ]
    }
}

impl std::ops::AddAssign for BillParts {
    fn add_assign(&mut self, o: BillParts) {
        self.input += o.input;
        self.cache_read += o.cache_read;
        self.cache_write += o.cache_write;
        self.output += o.output;
        self.reasoning += o.reasoning;
        self.search += o.search;
        self.request += o.request;
    }
}

/// Why a call cannot be billed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BillError {
    /// The model is not sold at this service tier.
    TierNotOffered {
        /// The model.
        model: String,
        /// The tier asked for.
        tier: ServiceTier,
        /// The tiers it is sold at.
        offered: Vec<ServiceTier>,
    },
    /// A 1-hour cache write on a model without a 1-hour write price.
    NoOneHourWrite {
        /// The model.
        model: String,
    },
}

impl fmt::Display for BillError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BillError::TierNotOffered { model, tier, offered } => {
                let o: Vec<&str> = offered.iter().map(|t| t.name()).collect();
                write!(f, "{model} is not offered at service tier {tier}; the price map offers it at: {}", o.join(", "))
            }
            BillError::NoOneHourWrite { model } => {
                write!(f, "{model} has no 1-hour cache-write price (cache_creation_input_token_cost_above_1hr)")
            }
        }
    }
}

impl std::error::Error for BillError {}

/// The bill of one call of `model` at `tier`.
pub fn bill(model: &Model, tier: ServiceTier, usage: &CallUsage) -> Result<BillParts, BillError> {
    bill_priced(&model.name, &model.pricing, tier, usage)
}

/// [`bill`] from the prices alone; `name` is for error messages.
pub fn bill_priced(name: &str, pricing: &Pricing, tier: ServiceTier, u: &CallUsage) -> Result<BillParts, BillError> {
    bill_with_fresh_rate(name, pricing, tier, u).map(|(b, _)| b)
}

/// [`bill_priced`], and the price per million tokens its fresh input was billed at (the
/// band, tier and cache write it fell in): a caller can split a share of the fresh input
/// out (a hand-off) at exactly the price the bill charged it.
pub fn bill_with_fresh_rate(
    name: &str,
    pricing: &Pricing,
    tier: ServiceTier,
    u: &CallUsage,
) -> Result<(BillParts, PricePerMtok), BillError> {
    let rates = pricing.rates(tier, u.prompt_tokens()).ok_or_else(|| BillError::TierNotOffered {
        model: name.to_string(),
        tier,
        offered: pricing.offered(),
    })?;
    let mut b = BillParts::default();
    add_input(&mut b, name, pricing, rates, u.prefix, u.prefix_cache)?;
    // Fresh input is plain input unless a loop's turn writes it (a "hit" is not meaningful).
    let fresh_cache = if u.fresh_cache == CacheUse::Hit { CacheUse::Uncached } else { u.fresh_cache };
    let fresh_rate = add_input(&mut b, name, pricing, rates, u.fresh_input, fresh_cache)?;
    b.output = rates.output.cost(u.output);
    b.reasoning = rates.reasoning_or_output().cost(u.reasoning);
    b.search = Usd(pricing.search_per_query.unwrap_or_default().0 * u.search_queries as i128);
    b.request = pricing.per_request;
    Ok((b, fresh_rate))
}

/// Adds `tokens` of input billed as `how` to the bill `b` (see the module doc); returns
/// the price it charged them at.
fn add_input(
    b: &mut BillParts,
    name: &str,
    pricing: &Pricing,
    rates: &Rates,
    tokens: u64,
    how: CacheUse,
) -> Result<PricePerMtok, BillError> {
    let rate = input_rate(pricing, rates, how).ok_or_else(|| BillError::NoOneHourWrite { model: name.to_string() })?;
    let cost = rate.cost(tokens);
    match how {
        CacheUse::Hit => b.cache_read += cost,
        CacheUse::Write if rates.cache_write.is_some() => b.cache_write += cost,
        CacheUse::Write1h if rates.cache_write_1h.is_some() => b.cache_write += cost,
        // No write premium at this tier (or none at all): plain input.
        _ => b.input += cost,
    }
    Ok(rate)
}

/// The price per million tokens of input billed as `how` (as [`bill`] bills it); `None` for
/// a 1-hour write on a model without that price.
fn input_rate(pricing: &Pricing, rates: &Rates, how: CacheUse) -> Option<PricePerMtok> {
    Some(match how {
        CacheUse::Uncached => rates.input,
        CacheUse::Hit => rates.cache_read_or_input(),
        CacheUse::Write => rates.cache_write.unwrap_or(rates.input),
        CacheUse::Write1h => match (rates.cache_write_1h, pricing.base().cache_write_1h) {
            (Some(w), _) => w,
            (None, Some(_)) => rates.input,
            (None, None) => return None,
        },
    })
}

/// One call as the event loop sees it: who calls which model, when, with what tokens.
#[derive(Clone, Copy, Debug)]
pub struct Call<'a> {
    /// Index of the agent in the scenario (the prompt cache's key, with `model`).
    pub agent_index: usize,
    /// The agent: its system prompt is the cacheable prefix; its `prompt_cache` and
    /// `service_tier` apply.
    pub agent: &'a Agent,
    /// Index of the model in the scenario.
    pub model_index: usize,
    /// The model.
    pub model: &'a Model,
    /// When the call is sent.
    pub start: SimTime,
    /// When the provider has read its prompt (the end of the time to first token): from
    /// then on, a prefix this call writes is readable by later calls.
    pub prompt_read: SimTime,
    /// Input tokens besides the system prompt.
    pub fresh_input: u64,
    /// Visible output tokens.
    pub output: u64,
    /// Reasoning tokens.
    pub reasoning: u64,
    /// Web-search queries.
    pub search_queries: u64,
}

/// The billing state of one world: the prompt caches of its (agent, model) pairs, and
/// the calculator. The agents world asks [`Biller::cache_use`] when a billed attempt
/// starts (in start order, which is the clock's order) and bills the attempt with
/// [`bill`] when it ends; [`Biller::charge`] does both at once for a call known whole.
#[derive(Clone, Debug, Default)]
pub struct Biller {
    cache: PromptCache,
}

impl Biller {
    /// A world's biller, caches empty.
    pub fn new() -> Biller {
        Biller::default()
    }

    /// How a call of agent `agent_index` to model `model_index` starting at `start` pays
    /// for the agent's system prompt, recorded in the cache. `prompt_read`: when a prefix
    /// it writes becomes readable (see [`Call::prompt_read`]). Calls must come in the
    /// order of their `start`.
    pub fn cache_use(
        &mut self,
        (agent_index, agent): (usize, &Agent),
        (model_index, model): (usize, &Model),
        start: SimTime,
        prompt_read: SimTime,
    ) -> CacheUse {
        let key = (agent_index, model_index);
        self.cache.call(key, start, prompt_read, agent.system_prompt_tokens, &model.cache, agent.prompt_cache)
    }

    /// Decides the call's cache use, records it, and bills the call.
    pub fn charge(&mut self, c: &Call) -> Result<(CacheUse, BillParts), BillError> {
        let prefix = c.agent.system_prompt_tokens;
        let cache_use = self.cache_use((c.agent_index, c.agent), (c.model_index, c.model), c.start, c.prompt_read);
        let usage = CallUsage {
            fresh_input: c.fresh_input,
            prefix,
            prefix_cache: cache_use,
            fresh_cache: CacheUse::Uncached,
            output: c.output,
            reasoning: c.reasoning,
            search_queries: c.search_queries,
        };
        bill(c.model, c.agent.service_tier, &usage).map(|b| (cache_use, b))
    }
}

#[cfg(test)]
mod tests;
