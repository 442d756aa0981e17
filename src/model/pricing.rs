//! What one model charges: token rates per service tier and context band, request and
//! search fees. Read from LiteLLM's price map by [`super::catalog`]; billed by
//! [`crate::economics::billing`].

use std::collections::BTreeMap;
use std::fmt;

use crate::economics::money::{PricePerMtok, Usd};

/// How a request is served, at what price and speed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServiceTier {
    /// The list price.
    #[default]
    Standard,
    /// Asynchronous batch API: about half price, results within 24 hours.
    Batch,
    /// OpenAI's flex processing (and Gemini's): cheaper, slower, may be refused.
    Flex,
    /// Priority processing: dearer, faster.
    Priority,
}

impl ServiceTier {
    /// Every tier, in order.
    pub const ALL: [ServiceTier; 4] = [ServiceTier::Standard, ServiceTier::Batch, ServiceTier::Flex, ServiceTier::Priority];

    /// The name used in scenarios.
    pub fn name(self) -> &'static str {
        match self {
            ServiceTier::Standard => "standard",
            ServiceTier::Batch => "batch",
            ServiceTier::Flex => "flex",
            ServiceTier::Priority => "priority",
        }
    }

    /// The suffix of the price map's fields for this tier.
    pub fn map_suffix(self) -> &'static str {
        match self {
            ServiceTier::Standard => "",
            ServiceTier::Batch => "_batches",
            ServiceTier::Flex => "_flex",
            ServiceTier::Priority => "_priority",
        }
    }

    /// Parses a scenario name.
    pub fn parse(s: &str) -> Option<ServiceTier> {
        ServiceTier::ALL.into_iter().find(|t| t.name() == s)
    }
}

impl fmt::Display for ServiceTier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Token rates of one (service tier, context band) cell. Each is pico-dollars per token
/// (micro-dollars per million tokens).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rates {
    /// Uncached input.
    pub input: PricePerMtok,
    /// Output (visible).
    pub output: PricePerMtok,
    /// Input read from the prompt cache; absent = no discount (the input price).
    pub cache_read: Option<PricePerMtok>,
    /// Input written to the prompt cache with the default (5-minute) lifetime; absent = no
    /// write premium (the input price).
    pub cache_write: Option<PricePerMtok>,
    /// Input written to the prompt cache with a 1-hour lifetime (Anthropic).
    pub cache_write_1h: Option<PricePerMtok>,
    /// Reasoning tokens; absent = the output price.
    pub reasoning: Option<PricePerMtok>,
}

impl Rates {
    /// The price of a cache read.
    pub fn cache_read_or_input(&self) -> PricePerMtok {
        self.cache_read.unwrap_or(self.input)
    }
    /// The price of reasoning tokens.
    pub fn reasoning_or_output(&self) -> PricePerMtok {
        self.reasoning.unwrap_or(self.output)
    }
    fn scaled(&self, mult: f64) -> Rates {
        let s = |p: PricePerMtok| scale_price(p, mult);
        Rates {
            input: s(self.input),
            output: s(self.output),
            cache_read: self.cache_read.map(s),
            cache_write: self.cache_write.map(s),
            cache_write_1h: self.cache_write_1h.map(s),
            reasoning: self.reasoning.map(s),
        }
    }
}

fn scale_price(p: PricePerMtok, mult: f64) -> PricePerMtok {
    if mult == 1.0 { p } else { PricePerMtok((p.0 as f64 * mult).round() as i64) }
}

/// Rates that apply when a request's prompt (cached tokens included) holds more than
/// `above_tokens` tokens. The band with threshold 0 is the base price.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Band {
    /// Threshold: the band applies to prompts strictly longer than this.
    pub above_tokens: u64,
    /// Its rates.
    pub rates: Rates,
}

/// Everything a model charges.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pricing {
    /// Bands per offered service tier, sorted by threshold, the first at 0. A tier not
    /// in the map is not offered.
    pub tiers: BTreeMap<ServiceTier, Vec<Band>>,
    /// Fee per request.
    pub per_request: Usd,
    /// Fee per web-search query (the map's medium search-context price), if the model
    /// offers web search.
    pub search_per_query: Option<Usd>,
}

impl Pricing {
    /// Flat pricing: standard tier only, one band.
    pub fn flat(rates: Rates) -> Pricing {
        Pricing { tiers: BTreeMap::from([(ServiceTier::Standard, vec![Band { above_tokens: 0, rates }])]), ..Pricing::default() }
    }

    /// The standard tier's base rates (the list price).
    pub fn base(&self) -> Rates {
        self.tiers.get(&ServiceTier::Standard).and_then(|b| b.first()).map(|b| b.rates).unwrap_or_default()
    }

    /// The highest token price of any tier, band and kind, in USD per million tokens
    /// (what the scenario limits bound).
    pub fn max_usd_per_mtok(&self) -> f64 {
        let mut top = 0.0f64;
        for r in self.tiers.values().flatten().map(|b| b.rates) {
            for p in [Some(r.input), Some(r.output), r.cache_read, r.cache_write, r.cache_write_1h, r.reasoning].into_iter().flatten() {
                top = top.max(p.usd_per_mtok());
            }
        }
        top
    }

    /// Mutable base rates, created if absent (scenario overrides write here).
    pub fn base_mut(&mut self) -> &mut Rates {
        let bands = self.tiers.entry(ServiceTier::Standard).or_default();
        if bands.first().map(|b| b.above_tokens) != Some(0) {
            bands.insert(0, Band { above_tokens: 0, rates: Rates::default() });
        }
        &mut bands[0].rates
    }

    /// Whether the model is offered at `tier`.
    pub fn offers(&self, tier: ServiceTier) -> bool {
        self.tiers.contains_key(&tier)
    }

    /// The tiers offered, in order.
    pub fn offered(&self) -> Vec<ServiceTier> {
        self.tiers.keys().copied().collect()
    }

    /// The rates for a prompt of `prompt_tokens` at `tier`: the band with the highest
    /// threshold the prompt exceeds. `None` when the tier is not offered.
    pub fn rates(&self, tier: ServiceTier, prompt_tokens: u64) -> Option<&Rates> {
        let bands = self.tiers.get(&tier)?;
        bands.iter().rev().find(|b| b.above_tokens == 0 || prompt_tokens > b.above_tokens).or(bands.first()).map(|b| &b.rates)
    }

    /// Every price multiplied by `mult` (token rates rounded to the pico-dollar per
    /// token, fees to the pico-dollar): the scenario's `price_multiplier`.
    pub fn scaled(&self, mult: f64) -> Pricing {
        if mult == 1.0 {
            return self.clone();
        }
        let fee = |u: Usd| Usd((u.0 as f64 * mult).round() as i128);
        Pricing {
            tiers: self
                .tiers
                .iter()
                .map(|(t, bands)| (*t, bands.iter().map(|b| Band { above_tokens: b.above_tokens, rates: b.rates.scaled(mult) }).collect()))
                .collect(),
            per_request: fee(self.per_request),
            search_per_query: self.search_per_query.map(fee),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(input: i64) -> Rates {
        Rates { input: PricePerMtok(input), output: PricePerMtok(4 * input), ..Rates::default() }
    }

    #[test]
    fn a_band_applies_strictly_above_its_threshold() {
        let mut p = Pricing::flat(r(1));
        p.tiers.get_mut(&ServiceTier::Standard).unwrap().push(Band { above_tokens: 200_000, rates: r(2) });
        p.tiers.get_mut(&ServiceTier::Standard).unwrap().push(Band { above_tokens: 500_000, rates: r(3) });
        let input = |n| p.rates(ServiceTier::Standard, n).unwrap().input.0;
        assert_eq!((input(0), input(200_000), input(200_001), input(500_000), input(500_001)), (1, 1, 2, 2, 3));
        assert!(p.rates(ServiceTier::Batch, 10).is_none());
    }

    #[test]
    fn scaling_multiplies_every_price() {
        let mut p = Pricing::flat(r(1_000_000));
        p.per_request = Usd(10);
        p.search_per_query = Some(Usd(30));
        let q = p.scaled(1.5);
        assert_eq!(q.base().input.0, 1_500_000);
        assert_eq!(q.base().output.0, 6_000_000);
        assert_eq!((q.per_request, q.search_per_query), (Usd(15), Some(Usd(45))));
        assert_eq!(p.scaled(1.0), p);
    }
}
