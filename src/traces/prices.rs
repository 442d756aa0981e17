//! Prices for repricing recorded calls: a narrow [`PriceBook`] trait, with two books:
//! the built-in catalog (`model::catalog`, standard tier only) and a LiteLLM price map
//! given with `--prices FILE` (standard, batch, flex and priority tiers).
//!
//! WIRING NOTE: issue 11 replaces the built-in catalog with LiteLLM's price map and adds
//! a pure billing function; when it lands, [`load_book`]'s default should become that
//! catalog and [`bill`] should call that billing function, so that `reprice` and `run`
//! bill a call identically. The trait is the seam: nothing else here needs to change.

use std::fmt;
use std::path::Path;

use serde_json::Value;

use super::CallUsage;
use super::json::{decimal_scaled, documents};
use crate::economics::money::Usd;
use crate::error::{Diagnostic, Error, Result};
use crate::model::catalog::CATALOG;

/// A provider's service tier.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ServiceTier {
    /// List prices.
    #[default]
    Standard,
    /// Batch API prices (`*_batches` in LiteLLM's map).
    Batch,
    /// Flex processing (`*_flex`).
    Flex,
    /// Priority processing (`*_priority`).
    Priority,
}

impl ServiceTier {
    /// Parses `standard`, `batch`, `flex` or `priority`.
    pub fn parse(s: &str) -> Result<ServiceTier> {
        Ok(match s {
            "standard" => ServiceTier::Standard,
            "batch" => ServiceTier::Batch,
            "flex" => ServiceTier::Flex,
            "priority" => ServiceTier::Priority,
            _ => return Err(Error::Usage(format!("--service-tier {s:?}: expected standard, batch, flex or priority"))),
        })
    }
    /// The tier's name.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceTier::Standard => "standard",
            ServiceTier::Batch => "batch",
            ServiceTier::Flex => "flex",
            ServiceTier::Priority => "priority",
        }
    }
    fn suffix(self) -> &'static str {
        match self {
            ServiceTier::Standard => "",
            ServiceTier::Batch => "_batches",
            ServiceTier::Flex => "_flex",
            ServiceTier::Priority => "_priority",
        }
    }
}

/// Why a call could not be priced.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PriceError {
    /// The book has no such model, under any of the names tried.
    #[error("a model of the price book (none of {0} matches)")]
    UnknownModel(String),
    /// The model has no prices for this tier.
    #[error("a model with {tier} prices ({model} has none)")]
    NoTier {
        /// The model as found in the book.
        model: String,
        /// The tier asked for.
        tier: &'static str,
    },
}

/// The exact cost of one call, and the book's name of the model it was priced as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Priced {
    /// The cost.
    pub cost: Usd,
    /// The model as named in the book (differs from the recorded name when a date
    /// suffix or a provider path had to be dropped to find it).
    pub priced_as: String,
}

/// Per-token prices of one model at one tier, in pico-dollars per token (exact).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TokenPrices {
    /// Fresh input.
    pub input: i128,
    /// Output.
    pub output: i128,
    /// Cache reads; the input price where `None`.
    pub cache_read: Option<i128>,
    /// Cache writes; the input price where `None`.
    pub cache_write: Option<i128>,
    /// Reasoning tokens; the output price where `None`.
    pub reasoning: Option<i128>,
    /// Above 200k prompt tokens the whole request is priced at (input, output, cache read).
    pub above_200k: Option<(i128, i128, Option<i128>)>,
}

/// The bill of one call: fresh input, cache reads and writes at their prices, output
/// with reasoning at the reasoning price; a prompt above 200k tokens (cached included)
/// prices the whole request at the long-context tier. See the wiring note above.
pub fn bill(p: &TokenPrices, u: &CallUsage) -> Usd {
    let (input, output, cache_read) = match p.above_200k {
        Some((i, o, c)) if u.input_tokens > 200_000 => (i, o, c.or(p.cache_read)),
        _ => (p.input, p.output, p.cache_read),
    };
    let fresh = u.input_tokens.saturating_sub(u.cached_tokens + u.cache_write_tokens) as i128;
    let visible = u.output_tokens.saturating_sub(u.reasoning_tokens) as i128;
    Usd(fresh * input
        + u.cached_tokens as i128 * cache_read.unwrap_or(input)
        + u.cache_write_tokens as i128 * p.cache_write.unwrap_or(input)
        + visible * output
        + u.reasoning_tokens as i128 * p.reasoning.unwrap_or(output))
}

/// Prices calls.
pub trait PriceBook: fmt::Debug {
    /// The model's prices at a tier, by the book's own name.
    fn prices(&self, name: &str, tier: ServiceTier) -> Option<Result<TokenPrices, PriceError>>;
    /// What the book is, for the printed summary.
    fn describe(&self) -> String;

    /// The exact cost of a call of `model` with `usage` at `tier`. The name is tried as
    /// written, then without a date suffix (`-2025-04-14`, `-20250929`), then without a
    /// provider path (`mistral/`, `projects/.../models/`).
    fn price(&self, model: &str, usage: &CallUsage, tier: ServiceTier) -> Result<Priced, PriceError> {
        let names = candidates(model);
        for n in &names {
            if let Some(p) = self.prices(n, tier) {
                return p.map(|p| Priced { cost: bill(&p, usage), priced_as: n.clone() });
            }
        }
        Err(PriceError::UnknownModel(names.join(", ")))
    }

    /// Refuses (exit 2) a `--model` the book cannot price at `tier`.
    fn check_model(&self, model: &str, tier: ServiceTier) -> Result<()> {
        self.price(model, &CallUsage::default(), tier)
            .map(|_| ())
            .map_err(|e| Error::Usage(format!("--model {model:?} at the {} tier: expected {e}", tier.as_str())))
    }
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

/// The names tried for a recorded model, in order, without repeats.
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

/// The built-in catalog: standard list prices; cache writes at the input price.
#[derive(Debug, Default)]
pub struct CatalogBook;

impl PriceBook for CatalogBook {
    fn prices(&self, name: &str, tier: ServiceTier) -> Option<Result<TokenPrices, PriceError>> {
        let m = CATALOG.iter().find(|m| m.name == name)?;
        if tier != ServiceTier::Standard {
            return Some(Err(PriceError::NoTier { model: name.to_string(), tier: tier.as_str() }));
        }
        let p = |usd_per_mtok: f64| crate::economics::money::PricePerMtok::from_usd_per_mtok(usd_per_mtok).0 as i128;
        Some(Ok(TokenPrices {
            input: p(m.input_usd_per_mtok),
            output: p(m.output_usd_per_mtok),
            cache_read: m.cached_input_usd_per_mtok.map(p),
            ..TokenPrices::default()
        }))
    }
    fn describe(&self) -> String {
        format!("the built-in catalog ({} models)", CATALOG.len())
    }
}

/// A LiteLLM price map (`model_prices_and_context_window.json`): per-token USD prices,
/// read from their decimal literals into exact pico-dollars.
#[derive(Debug)]
pub struct LiteLlmBook {
    source: String,
    entries: serde_json::Map<String, Value>,
}

impl LiteLlmBook {
    /// Reads a map; a field that is not a number is reported with its line (exit 2).
    pub fn from_file(path: &Path) -> Result<LiteLlmBook> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let mut docs = documents(&file, &text).map_err(|d| Error::Invalid(vec![d]))?;
        let root = match docs.pop().map(|d| *d.value) {
            Some(Value::Object(m)) if docs.is_empty() => m,
            _ => return Err(Error::invalid(&file, "", "", "one JSON object of models, as LiteLLM's model_prices_and_context_window.json")),
        };
        let mut errors: Vec<Diagnostic> = Vec::new();
        for (name, e) in &root {
            for (k, v) in e.as_object().into_iter().flatten() {
                let price = k.contains("cost") && k.contains("token");
                if price && !v.is_null() && v.as_f64().is_none() {
                    errors.push(Diagnostic {
                        file: file.clone(),
                        line: None,
                        path: format!("{name}.{k}"),
                        value: v.to_string(),
                        expected: "a number of dollars per token".into(),
                    });
                }
            }
        }
        if !errors.is_empty() {
            return Err(Error::Invalid(errors));
        }
        Ok(LiteLlmBook { source: file, entries: root })
    }
}

fn per_token(e: &serde_json::Map<String, Value>, key: &str) -> Option<i128> {
    e.get(key).filter(|v| v.is_number()).and_then(|v| decimal_scaled(&v.to_string(), 12))
}

impl PriceBook for LiteLlmBook {
    fn prices(&self, name: &str, tier: ServiceTier) -> Option<Result<TokenPrices, PriceError>> {
        if name == "sample_spec" {
            return None;
        }
        let e = self.entries.get(name)?.as_object()?;
        let sfx = tier.suffix();
        // An entry without a standard input price (images, audio...) is not a model here.
        per_token(e, "input_cost_per_token")?;
        let (Some(input), Some(output)) =
            (per_token(e, &format!("input_cost_per_token{sfx}")), per_token(e, &format!("output_cost_per_token{sfx}")))
        else {
            return Some(Err(PriceError::NoTier { model: name.to_string(), tier: tier.as_str() }));
        };
        let above = match (per_token(e, "input_cost_per_token_above_200k_tokens"), per_token(e, "output_cost_per_token_above_200k_tokens"))
        {
            (Some(i), Some(o)) if tier == ServiceTier::Standard => {
                Some((i, o, per_token(e, "cache_read_input_token_cost_above_200k_tokens")))
            }
            _ => None,
        };
        Some(Ok(TokenPrices {
            input,
            output,
            cache_read: per_token(e, &format!("cache_read_input_token_cost{sfx}")),
            cache_write: per_token(e, &format!("cache_creation_input_token_cost{sfx}")),
            reasoning: if tier == ServiceTier::Standard { per_token(e, "output_cost_per_reasoning_token") } else { None },
            above_200k: above,
        }))
    }
    fn describe(&self) -> String {
        format!("the price map {}", self.source)
    }
}

/// The book to reprice with: `--prices FILE` or the built-in catalog.
pub fn load_book(prices: Option<&Path>) -> Result<Box<dyn PriceBook>> {
    Ok(match prices {
        Some(p) => Box::new(LiteLlmBook::from_file(p)?),
        None => Box::new(CatalogBook),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(i: u64, c: u64, w: u64, o: u64, r: u64) -> CallUsage {
        CallUsage { input_tokens: i, cached_tokens: c, cache_write_tokens: w, output_tokens: o, reasoning_tokens: r }
    }

    #[test]
    fn bills_by_hand() {
        // $3/M input, $15/M output, $0.30/M cache read, $3.75/M cache write:
        // 1000 fresh + 5000 read + 2000 written in, 200 out (50 reasoning at $20/M):
        // 0.003 + 0.0015 + 0.0075 + 150 × 15e-6 + 50 × 20e-6 = 0.01525.
        let p = TokenPrices {
            input: 3_000_000,
            output: 15_000_000,
            cache_read: Some(300_000),
            cache_write: Some(3_750_000),
            reasoning: Some(20_000_000),
            above_200k: None,
        };
        assert_eq!(bill(&p, &usage(8000, 5000, 2000, 200, 50)).to_string(), "0.01525");
        // Long context: 250k in, 1k out at $2.50/M and $15/M for the whole request = 0.64.
        let g = TokenPrices { input: 1_250_000, output: 10_000_000, above_200k: Some((2_500_000, 15_000_000, None)), ..Default::default() };
        assert_eq!(bill(&g, &usage(250_000, 0, 0, 1000, 0)).to_string(), "0.64");
        assert_eq!(bill(&g, &usage(150_000, 0, 0, 1000, 0)).to_string(), "0.1975");
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

    #[test]
    fn catalog_prices_gpt_4o_and_refuses_other_tiers() {
        let p = CatalogBook.price("gpt-4o", &usage(2000, 0, 0, 500, 0), ServiceTier::Standard).unwrap();
        assert_eq!(p.cost.to_string(), "0.01");
        assert!(matches!(CatalogBook.price("gpt-4o", &usage(1, 0, 0, 1, 0), ServiceTier::Batch), Err(PriceError::NoTier { .. })));
        assert!(matches!(CatalogBook.price("nope", &usage(1, 0, 0, 1, 0), ServiceTier::Standard), Err(PriceError::UnknownModel(_))));
    }
}
