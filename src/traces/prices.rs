//! Repricing recorded calls with the catalog's price map (LiteLLM's, built in, or a
//! user's with `--prices FILE`) and the billing function the simulator uses
//! ([`crate::economics::billing::bill_priced`]), so that `traces reprice` bills a call
//! exactly as `run` would.
//!
//! A recorded call says how many prompt tokens were cache reads and cache writes, not
//! which prefix was cached: the reads are billed as a cache hit and the writes as a
//! cache write at the 5-minute price (traces do not say which TTL was bought).

use std::path::Path;
use std::sync::Arc;

use super::RecordedUsage;
use crate::economics::billing::{BillParts, CacheUse, CallUsage, bill_priced};
use crate::economics::money::Usd;
use crate::error::{Error, Result};
use crate::model::catalog::{self, CatalogModel, PriceMap};
pub use crate::model::pricing::ServiceTier;

/// Parses `--service-tier`.
pub fn parse_tier(s: &str) -> Result<ServiceTier> {
    ServiceTier::parse(s).ok_or_else(|| Error::Usage(format!("--service-tier {s:?}: expected standard, batch, flex or priority")))
}

/// Why a call could not be priced.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PriceError {
    /// The map has no priced model under any of the names tried.
    #[error("a model of the price map (none of {0} matches)")]
    UnknownModel(String),
    /// The billing function refused (a tier the model is not sold at).
    #[error("a price at this tier: {0}")]
    Bill(String),
    /// Cache reads and writes in one call whose parts would fall in different
    /// long-context bands: the billing function prices one cached prefix per call.
    #[error("one long-context band for the call's cache reads and writes ({0})")]
    Bands(String),
}

/// The exact cost of one call, and the map's name of the model it was priced as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Priced {
    /// The cost.
    pub cost: Usd,
    /// The model as named in the map (differs from the recorded name when a date suffix
    /// or a provider path had to be dropped to find it).
    pub priced_as: String,
}

fn strip_date(s: &str) -> Option<&str> {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let n = b.len();
    if n > 11
        && b[n - 11] == b'-'
        && b[n - 6] == b'-'
        && b[n - 3] == b'-'
        && digits(n - 10..n - 6)
        && digits(n - 5..n - 3)
        && digits(n - 2..n)
    {
        return Some(&s[..n - 11]);
    }
    if n > 9 && matches!(b[n - 9], b'-' | b'@') && digits(n - 8..n) {
        return Some(&s[..n - 9]);
    }
    None
}

/// The names tried for a recorded model, in order, without repeats: as written, without
/// a date suffix (`-2025-04-14`, `-20250929`), without a provider path (`projects/.../models/`).
pub fn candidates(model: &str) -> Vec<String> {
    let mut v: Vec<String> = vec![model.to_string()];
    let mut push = |s: &str| {
        if !s.is_empty() && !v.iter().any(|x| x == s) {
            v.push(s.to_string());
        }
    };
    if let Some(d) = strip_date(model) {
        push(d);
    }
    if let Some((_, last)) = model.rsplit_once('/') {
        push(last);
        if let Some(d) = strip_date(last) {
            push(d);
        }
    }
    v
}

/// The recorded usage as the billing function's calls: one, or two when the call both
/// read and wrote the cache (the billing function takes one cached prefix per call).
fn billed_usage(u: &RecordedUsage) -> Vec<CallUsage> {
    let output = u.output_tokens.saturating_sub(u.reasoning_tokens);
    let fresh = u.input_tokens.saturating_sub(u.cached_tokens + u.cache_write_tokens);
    let call = |prefix: u64, prefix_cache: CacheUse, fresh_input: u64, output: u64, reasoning: u64| CallUsage {
        fresh_input,
        prefix,
        prefix_cache: if prefix == 0 { CacheUse::Uncached } else { prefix_cache },
        fresh_cache: CacheUse::Uncached,
        output,
        reasoning,
        search_queries: 0,
    };
    match (u.cached_tokens, u.cache_write_tokens) {
        (_, 0) => vec![call(u.cached_tokens, CacheUse::Hit, fresh, output, u.reasoning_tokens)],
        (0, w) => vec![call(w, CacheUse::Write, fresh, output, u.reasoning_tokens)],
        (c, w) => vec![call(c, CacheUse::Hit, fresh, output, u.reasoning_tokens), call(w, CacheUse::Write, 0, 0, 0)],
    }
}

/// A price map to reprice with.
#[derive(Debug, Clone)]
pub struct PriceBook {
    map: Arc<PriceMap>,
}

impl PriceBook {
    /// The built-in map, or the user's `--prices FILE`.
    pub fn load(prices: Option<&Path>) -> Result<PriceBook> {
        Ok(PriceBook { map: catalog::resolve(prices)? })
    }

    /// The map's label, for the printed summary.
    pub fn describe(&self) -> String {
        format!("the price map {}", self.map.label)
    }

    /// The map's model for a recorded name: the first of [`candidates`] that the map
    /// prices, else the one priced key that ends with `/` and a candidate
    /// (`gemini-2.0-flash` as `gemini/gemini-2.0-flash`); several such keys are ambiguous.
    pub fn resolve(&self, model: &str) -> Result<&CatalogModel, PriceError> {
        let names = candidates(model);
        if let Some(m) = names.iter().find_map(|n| self.map.find(n).filter(|m| m.priced)) {
            return Ok(m);
        }
        let suffixed: Vec<&CatalogModel> =
            self.map.models.iter().filter(|m| m.priced && names.iter().any(|n| m.name.ends_with(&format!("/{n}")))).collect();
        match suffixed.as_slice() {
            [one] => Ok(one),
            [] => Err(PriceError::UnknownModel(names.join(", "))),
            many => Err(PriceError::UnknownModel(format!(
                "{}; ambiguous: {}",
                names.join(", "),
                many.iter().map(|m| m.name.as_str()).collect::<Vec<_>>().join(", ")
            ))),
        }
    }

    /// The exact cost of a call of `model` with `usage` at `tier`, from [`Self::resolve`]'s
    /// model.
    pub fn price(&self, model: &str, usage: &RecordedUsage, tier: ServiceTier) -> Result<Priced, PriceError> {
        let m = self.resolve(model)?;
        let parts = billed_usage(usage);
        if parts.len() > 1 {
            let band = |prompt| m.pricing.rates(tier, prompt).copied();
            if parts.iter().any(|p| band(p.prompt_tokens()) != band(usage.input_tokens)) {
                return Err(PriceError::Bands(format!("{} prompt tokens", usage.input_tokens)));
            }
        }
        let mut total = BillParts::default();
        for p in &parts {
            total += bill_priced(&m.name, &m.pricing, tier, p).map_err(|e| PriceError::Bill(e.to_string()))?;
        }
        Ok(Priced { cost: total.total(), priced_as: m.name.clone() })
    }

    /// Refuses (exit 2) a `--model` the map cannot price at `tier`.
    pub fn check_model(&self, model: &str, tier: ServiceTier) -> Result<()> {
        self.price(model, &RecordedUsage::default(), tier)
            .map(|_| ())
            .map_err(|e| Error::Usage(format!("--model {model:?} at the {tier} tier: expected {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(i: u64, c: u64, w: u64, o: u64, r: u64) -> RecordedUsage {
        RecordedUsage { input_tokens: i, cached_tokens: c, cache_write_tokens: w, output_tokens: o, reasoning_tokens: r }
    }

    fn price(model: &str, u: RecordedUsage, tier: ServiceTier) -> String {
        PriceBook::load(None).unwrap().price(model, &u, tier).unwrap().cost.to_string()
    }

    #[test]
    fn bills_recorded_usage_by_hand() {
        // gpt-4o (LiteLLM 1.110.2): $2.50 in, $1.25 cache read, $10 out per Mtok.
        assert_eq!(price("gpt-4o", usage(2000, 0, 0, 500, 0), ServiceTier::Standard), "0.01");
        assert_eq!(price("gpt-4o", usage(2000, 1000, 0, 500, 0), ServiceTier::Standard), "0.00875");
        assert_eq!(price("gpt-4o", usage(2000, 0, 0, 500, 0), ServiceTier::Batch), "0.005");
        // claude-sonnet-4-5: $3 in, $0.30 read, $3.75 write, $15 out: 1000 fresh + 5000
        // read + 2000 written, 200 out = 0.003 + 0.0015 + 0.0075 + 0.003 = 0.015.
        assert_eq!(price("claude-sonnet-4-5-20250929", usage(8000, 5000, 2000, 200, 0), ServiceTier::Standard), "0.015");
        // gemini-2.5-pro above 200k prompt tokens: the whole request at $2.50 / $15.
        assert_eq!(price("gemini/gemini-2.5-pro", usage(250_000, 0, 0, 1000, 0), ServiceTier::Standard), "0.64");
        let book = PriceBook::load(None).unwrap();
        assert!(matches!(book.price("claude-sonnet-4-5", &usage(1, 0, 0, 1, 0), ServiceTier::Flex), Err(PriceError::Bill(_))));
        assert!(matches!(book.price("no-such-model", &usage(1, 0, 0, 1, 0), ServiceTier::Standard), Err(PriceError::UnknownModel(_))));
    }

    #[test]
    fn a_name_without_its_provider_is_found_only_when_one_key_fits() {
        let book = PriceBook::load(None).unwrap();
        assert_eq!(book.resolve("gemini-2.0-flash").unwrap().name, "vertex_ai/gemini-2.0-flash");
        let e = book.resolve("mistral-large-latest").unwrap_err().to_string();
        assert!(e.contains("ambiguous: azure/mistral-large-latest, azure_ai/mistral-large-latest, mistral/mistral-large-latest"), "{e}");
    }

    #[test]
    fn names_tried() {
        assert_eq!(candidates("gpt-4.1-2025-04-14"), ["gpt-4.1-2025-04-14", "gpt-4.1"]);
        assert_eq!(candidates("claude-sonnet-4-5-20250929"), ["claude-sonnet-4-5-20250929", "claude-sonnet-4-5"]);
        assert_eq!(
            candidates("projects/p/locations/l/publishers/google/models/gemini-2.5-flash"),
            ["projects/p/locations/l/publishers/google/models/gemini-2.5-flash", "gemini-2.5-flash"]
        );
        assert_eq!(candidates("gpt-4o"), ["gpt-4o"]);
    }
}
