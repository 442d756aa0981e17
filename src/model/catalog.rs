//! The catalog of real models: LiteLLM's price map.
//!
//! The map (`data/litellm/`, version [`BUILTIN_VERSION`], MIT) is embedded in the binary
//! and parsed once per process. `--prices FILE` or a scenario's `prices = "FILE"` reads a
//! newer map of the same format instead (parsed once per file per process). Only entries
//! whose `mode` is `chat` or `responses` become models; their names are the map's keys.
//!
//! Prices are read as exact decimals from the JSON text (see [`decimal`]) into integer
//! pico-dollars per token. The map's field names say what each price is:
//!
//! | field (suffix `_batches`, `_flex`, `_priority` for the service tier; `_above_Nk_tokens` for a long-context band) | here |
//! |---|---|
//! | `input_cost_per_token` | [`Rates::input`] |
//! | `output_cost_per_token` | [`Rates::output`] |
//! | `cache_read_input_token_cost` | [`Rates::cache_read`] |
//! | `cache_creation_input_token_cost` (a zero value = no write premium) | [`Rates::cache_write`] |
//! | `cache_creation_input_token_cost_above_1hr` | [`Rates::cache_write_1h`] |
//! | `output_cost_per_reasoning_token` | [`Rates::reasoning`] |
//! | `input_cost_per_request` | [`Pricing::per_request`] |
//! | `search_context_cost_per_query.search_context_size_medium` | [`Pricing::search_per_query`] |
//!
//! A service tier is offered when its base input and output prices are both present. A
//! long-context band takes the base band's input or output price where it lacks its own.
//! Latency profiles come from a separate table ([`super::latency`]).

pub mod decimal;
pub mod list;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::value::RawValue;

use super::Model;
use super::latency;
use super::pricing::{Band, Pricing, Rates, ServiceTier};
use crate::economics::billing::cache::CacheRule;
use crate::economics::money::{PricePerMtok, Usd};
use crate::error::{Diagnostic, Error, Result};

/// The version of LiteLLM whose price map is built in.
pub const BUILTIN_VERSION: &str = "litellm 1.110.2";
/// The built-in map, byte-identical to the one in the `litellm==1.110.2` wheel.
const BUILTIN_JSON: &str = include_str!("../../data/litellm/model_prices-1.110.2.json");

/// One model of the map.
#[derive(Clone, Debug)]
pub struct CatalogModel {
    /// The map's key: the name used in scenarios.
    pub name: String,
    /// `litellm_provider`.
    pub provider: String,
    /// `chat` or `responses`.
    pub mode: String,
    /// Whether the map gives standard input and output prices (a model without them
    /// needs `input_usd_per_mtok` and `output_usd_per_mtok` in a scenario).
    pub priced: bool,
    /// The prices.
    pub pricing: Pricing,
    /// `max_input_tokens`.
    pub max_input_tokens: Option<u64>,
    /// `max_output_tokens`.
    pub max_output_tokens: Option<u64>,
    /// `prompt_cache_min_tokens`: the shortest prefix the provider caches for this model.
    pub cache_min_tokens: Option<u64>,
    /// `supports_reasoning`.
    pub reasoning: bool,
    /// `source`: where the map's authors read the prices.
    pub source: Option<String>,
    /// Whether a price was finer than a pico-dollar per token and was rounded.
    pub rounded: bool,
}

impl CatalogModel {
    /// The model as a scenario gets it before its own `[models.NAME]` table: the map's
    /// prices, the latency table's profile, the provider's prompt-cache rule, no limits.
    pub fn to_model(&self) -> Model {
        let lat = latency::table().profile(&self.name, self.reasoning);
        let base = self.pricing.base();
        Model {
            name: self.name.clone(),
            provider: self.provider.clone(),
            input_price: base.input,
            output_price: base.output,
            cached_input_price: base.cache_read,
            usd_per_request: self.pricing.per_request,
            pricing: self.pricing.clone(),
            cache: CacheRule::for_model(&self.provider, &self.name, self.cache_min_tokens),
            ttft_s: lat.ttft.dist(),
            output_tokens_per_s: lat.tokens_per_s.dist(),
            batch_delay_s: latency::table().batch_delay.dist(),
            max_concurrency: u32::MAX,
            requests_per_min: None,
            tokens_per_min: None,
            error_rate: 0.0,
            timeout_s: None,
        }
    }
}

/// A parsed price map.
#[derive(Debug)]
pub struct PriceMap {
    /// What it is: the built-in version, or the file it was read from.
    pub label: String,
    /// SHA-256 of its bytes.
    pub sha256: String,
    /// Chat and responses models, sorted by name.
    pub models: Vec<CatalogModel>,
    index: HashMap<String, usize>,
}

impl PriceMap {
    /// Looks a model up by its key.
    pub fn find(&self, name: &str) -> Option<&CatalogModel> {
        self.index.get(name).map(|&i| &self.models[i])
    }

    /// Parses a map. `file` names it in diagnostics.
    pub fn parse(file: &str, label: String, text: &str) -> Result<PriceMap> {
        let top: BTreeMap<String, &RawValue> = serde_json::from_str(text).map_err(|e| {
            Error::Invalid(vec![Diagnostic {
                file: file.to_string(),
                line: Some(e.line() as u32),
                path: String::new(),
                value: String::new(),
                expected: format!("a LiteLLM price map (a JSON object of model entries): {e}"),
            }])
        })?;
        let mut models = Vec::new();
        let mut diags = Vec::new();
        for (name, raw) in &top {
            let Ok(entry) = serde_json::from_str::<BTreeMap<String, &RawValue>>(raw.get()) else { continue };
            let mode = entry.get("mode").and_then(|m| serde_json::from_str::<String>(m.get()).ok());
            if !matches!(mode.as_deref(), Some("chat" | "responses")) {
                continue;
            }
            let mut p = EntryParser { file, text, name, diags: &mut diags, rounded: false };
            if let Some(m) = p.model(mode.unwrap_or_default(), &entry) {
                models.push(m);
            }
        }
        if !diags.is_empty() {
            return Err(Error::Invalid(diags));
        }
        let index = models.iter().enumerate().map(|(i, m)| (m.name.clone(), i)).collect();
        Ok(PriceMap { label, sha256: crate::report::sha256_hex(text.as_bytes()), models, index })
    }
}

/// Reads one entry, collecting problems.
struct EntryParser<'a> {
    file: &'a str,
    text: &'a str,
    name: &'a str,
    diags: &'a mut Vec<Diagnostic>,
    rounded: bool,
}

/// Which [`Rates`] field a map field fills.
#[derive(Clone, Copy)]
enum Part {
    Input,
    Output,
    CacheRead,
    CacheWrite,
    CacheWrite1h,
    Reasoning,
}

const PARTS: [(&str, Part); 6] = [
    ("input_cost_per_token", Part::Input),
    ("output_cost_per_token", Part::Output),
    ("cache_read_input_token_cost", Part::CacheRead),
    ("cache_creation_input_token_cost", Part::CacheWrite),
    ("cache_creation_input_token_cost_above_1hr", Part::CacheWrite1h),
    ("output_cost_per_reasoning_token", Part::Reasoning),
];

/// Splits a field name into (rates part, service tier, band threshold in tokens).
fn classify(key: &str) -> Option<(Part, ServiceTier, u64)> {
    let (rest, tier) = ServiceTier::ALL[1..]
        .iter()
        .find_map(|t| key.strip_suffix(t.map_suffix()).map(|r| (r, *t)))
        .unwrap_or((key, ServiceTier::Standard));
    let (base, band) = match rest.strip_suffix("k_tokens").and_then(|r| r.rsplit_once("_above_")) {
        Some((b, n)) => (b, n.parse::<u64>().ok()?.checked_mul(1000)?),
        None => (rest, 0),
    };
    PARTS.iter().find(|(n, _)| *n == base).map(|(_, p)| (*p, tier, band))
}

#[derive(Clone, Copy, Default)]
struct Partial {
    input: Option<PricePerMtok>,
    output: Option<PricePerMtok>,
    cache_read: Option<PricePerMtok>,
    cache_write: Option<PricePerMtok>,
    cache_write_1h: Option<PricePerMtok>,
    reasoning: Option<PricePerMtok>,
}

impl EntryParser<'_> {
    fn bad(&mut self, raw: &RawValue, field: &str, expected: &str) {
        let offset = (raw.get().as_ptr() as usize).saturating_sub(self.text.as_ptr() as usize);
        let line = self.text.get(..offset).map(|t| t.bytes().filter(|&b| b == b'\n').count() as u32 + 1);
        self.diags.push(Diagnostic {
            file: self.file.to_string(),
            line,
            path: format!("{}.{field}", self.name),
            value: raw.get().chars().take(60).collect(),
            expected: expected.to_string(),
        });
    }

    /// A non-negative decimal scaled by 10^scale; records rounding.
    fn decimal(&mut self, raw: &RawValue, field: &str, scale: u32) -> Option<i128> {
        match decimal::scaled(raw.get(), scale) {
            Some((v, exact)) if v >= 0 => {
                self.rounded |= !exact;
                Some(v)
            }
            _ => {
                self.bad(raw, field, "a non-negative number");
                None
            }
        }
    }

    fn count(&mut self, e: &BTreeMap<String, &RawValue>, field: &str) -> Option<u64> {
        let raw = *e.get(field)?;
        if raw.get() == "null" {
            return None;
        }
        match decimal::scaled(raw.get(), 0) {
            Some((v, true)) if v >= 0 => u64::try_from(v).ok(),
            _ => {
                self.bad(raw, field, "a whole number of tokens");
                None
            }
        }
    }

    fn usd(&mut self, raw: &RawValue, field: &str) -> Option<Usd> {
        self.decimal(raw, field, 12).map(Usd)
    }

    fn model(&mut self, mode: String, e: &BTreeMap<String, &RawValue>) -> Option<CatalogModel> {
        let string = |k: &str| e.get(k).and_then(|v| serde_json::from_str::<String>(v.get()).ok());
        let mut cells: BTreeMap<(ServiceTier, u64), Partial> = BTreeMap::new();
        for (k, raw) in e {
            let Some((part, tier, band)) = classify(k) else { continue };
            if raw.get() == "null" {
                continue;
            }
            let Some(v) = self.decimal(raw, k, 12) else { continue };
            let Ok(v) = i64::try_from(v) else {
                self.bad(raw, k, "a price below $9,000,000 per token");
                continue;
            };
            let c = cells.entry((tier, band)).or_default();
            let slot = match part {
                Part::Input => &mut c.input,
                Part::Output => &mut c.output,
                Part::CacheRead => &mut c.cache_read,
                Part::CacheWrite => &mut c.cache_write,
                Part::CacheWrite1h => &mut c.cache_write_1h,
                Part::Reasoning => &mut c.reasoning,
            };
            *slot = Some(PricePerMtok(v));
        }
        let mut pricing = Pricing::default();
        for tier in ServiceTier::ALL {
            let Some(base) = cells.get(&(tier, 0)).copied() else { continue };
            let (Some(input), Some(output)) = (base.input, base.output) else { continue };
            let mut bands = Vec::new();
            for (&(t, above), c) in cells.range((tier, 0)..=(tier, u64::MAX)) {
                debug_assert_eq!(t, tier);
                if above > 0 && c.input.is_none() && c.output.is_none() {
                    continue; // a cache price alone does not make a band
                }
                let input = c.input.unwrap_or(input);
                bands.push(Band {
                    above_tokens: above,
                    rates: Rates {
                        input,
                        output: c.output.unwrap_or(output),
                        cache_read: c.cache_read,
                        // DeepSeek's map entry writes 0.0: no write premium, not free input.
                        cache_write: c.cache_write.filter(|p| p.0 > 0),
                        cache_write_1h: c.cache_write_1h.filter(|p| p.0 > 0),
                        reasoning: c.reasoning,
                    },
                });
            }
            pricing.tiers.insert(tier, bands);
        }
        let priced = pricing.offers(ServiceTier::Standard);
        if let Some(raw) = e.get("input_cost_per_request").copied().filter(|r| r.get() != "null") {
            pricing.per_request = self.usd(raw, "input_cost_per_request").unwrap_or_default();
        }
        if let Some(raw) = e.get("search_context_cost_per_query").copied()
            && let Ok(o) = serde_json::from_str::<BTreeMap<String, &RawValue>>(raw.get())
            && let Some(m) = o.get("search_context_size_medium")
        {
            pricing.search_per_query = self.usd(m, "search_context_cost_per_query.search_context_size_medium");
        }
        let reasoning = e.get("supports_reasoning").is_some_and(|v| v.get() == "true");
        Some(CatalogModel {
            name: self.name.to_string(),
            provider: string("litellm_provider").unwrap_or_default(),
            mode,
            priced,
            pricing,
            max_input_tokens: self.count(e, "max_input_tokens"),
            max_output_tokens: self.count(e, "max_output_tokens"),
            cache_min_tokens: self.count(e, "prompt_cache_min_tokens"),
            reasoning,
            source: string("source"),
            rounded: self.rounded,
        })
    }
}

/// The built-in map, parsed on first use.
pub fn builtin() -> Arc<PriceMap> {
    static MAP: OnceLock<Arc<PriceMap>> = OnceLock::new();
    MAP.get_or_init(|| {
        // The embedded file is checked by the tests below; a failure here is a build bug.
        let m = PriceMap::parse("<built-in price map>", format!("{BUILTIN_VERSION} (built in)"), BUILTIN_JSON);
        Arc::new(m.unwrap_or_else(|e| panic!("the built-in price map does not parse: {e}")))
    })
    .clone()
}

/// A user's map, read and parsed once per process per path.
pub fn load(path: &Path) -> Result<Arc<PriceMap>> {
    static FILES: OnceLock<Mutex<HashMap<std::path::PathBuf, Arc<PriceMap>>>> = OnceLock::new();
    let files = FILES.get_or_init(Default::default);
    if let Some(m) = files.lock().ok().and_then(|f| f.get(path).cloned()) {
        return Ok(m);
    }
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let shown = path.display().to_string();
    let map = Arc::new(PriceMap::parse(&shown, shown.clone(), &text)?);
    if let Ok(mut f) = files.lock() {
        f.insert(path.to_path_buf(), map.clone());
    }
    Ok(map)
}

/// The built-in map, or the file's when `path` is given.
pub fn resolve(path: Option<&Path>) -> Result<Arc<PriceMap>> {
    match path {
        Some(p) => load(p),
        None => Ok(builtin()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pm(name: &str) -> CatalogModel {
        builtin().find(name).cloned().unwrap_or_else(|| panic!("{name} not in the map"))
    }

    #[test]
    fn the_built_in_map_holds_every_chat_and_responses_model() {
        let m = builtin();
        // Counted independently with Python's json module: 3,471 chat + 205 responses.
        assert_eq!(m.models.len(), 3_676);
        assert!(m.label.contains("1.110.2"));
        assert!(m.sha256.starts_with("8943af58bf9f979c"), "{}", m.sha256);
        assert!(m.find("text-embedding-3-small").is_none(), "embeddings are not chat models");
        assert!(m.find("sample_spec").is_none());
        assert_eq!(pm("o3-pro").mode, "responses");
    }

    #[test]
    fn reads_gpt_4o_exactly() {
        let g = pm("gpt-4o");
        assert_eq!(g.provider, "openai");
        let std = g.pricing.base();
        assert_eq!((std.input.0, std.output.0, std.cache_read.map(|p| p.0)), (2_500_000, 10_000_000, Some(1_250_000)));
        assert_eq!(std.cache_write, None);
        let b = g.pricing.rates(ServiceTier::Batch, 0).unwrap();
        assert_eq!((b.input.0, b.output.0), (1_250_000, 5_000_000));
        let p = g.pricing.rates(ServiceTier::Priority, 0).unwrap();
        assert_eq!((p.input.0, p.output.0, p.cache_read.map(|x| x.0)), (4_250_000, 17_000_000, Some(2_125_000)));
        assert!(!g.pricing.offers(ServiceTier::Flex));
        assert_eq!(g.max_input_tokens, Some(128_000));
        assert!(!g.rounded);
    }

    #[test]
    fn reads_bands_cache_writes_and_search_fees() {
        let g = pm("gemini/gemini-2.5-pro");
        let bands = &g.pricing.tiers[&ServiceTier::Standard];
        assert_eq!(bands.len(), 2);
        assert_eq!(bands[1].above_tokens, 200_000);
        assert_eq!((bands[1].rates.input.0, bands[1].rates.output.0), (2_500_000, 15_000_000));
        assert_eq!(bands[1].rates.cache_read.map(|p| p.0), Some(250_000));
        assert_eq!(g.pricing.search_per_query, Some(Usd(35_000_000_000)));
        assert_eq!(g.cache_min_tokens, Some(2048));
        let c = pm("claude-sonnet-4-5");
        let r = c.pricing.base();
        assert_eq!((r.cache_write.map(|p| p.0), r.cache_write_1h.map(|p| p.0)), (Some(3_750_000), Some(6_000_000)));
        // DeepSeek writes a cache-creation price of 0.0: read as "no write premium".
        assert_eq!(pm("deepseek/deepseek-chat").pricing.base().cache_write, None);
        assert!(pm("morph/morph-dsv4flash").rounded, "3.59375E-8 is finer than a pico-dollar");
    }

    #[test]
    fn classifies_field_names() {
        let c = |k| classify(k).map(|(_, t, b)| (t, b));
        assert_eq!(c("input_cost_per_token"), Some((ServiceTier::Standard, 0)));
        assert_eq!(c("input_cost_per_token_above_200k_tokens_priority"), Some((ServiceTier::Priority, 200_000)));
        assert_eq!(c("cache_creation_input_token_cost_above_1hr"), Some((ServiceTier::Standard, 0)));
        assert!(matches!(classify("cache_creation_input_token_cost_above_1hr"), Some((Part::CacheWrite1h, _, _))));
        assert_eq!(c("output_cost_per_token_batches"), Some((ServiceTier::Batch, 0)));
        assert_eq!(c("cache_creation_input_token_cost_above_12hr"), None);
        assert_eq!(c("input_cost_per_audio_token"), None);
    }

    #[test]
    fn a_bad_price_is_reported_with_file_line_and_field() {
        let text = "{\n \"m\": {\"mode\": \"chat\",\n  \"input_cost_per_token\": \"cheap\",\n  \"output_cost_per_token\": 1e-6}\n}";
        let Err(Error::Invalid(d)) = PriceMap::parse("p.json", "p".into(), text) else { panic!("accepted") };
        assert_eq!(d.len(), 1);
        assert_eq!((d[0].file.as_str(), d[0].line, d[0].path.as_str()), ("p.json", Some(3), "m.input_cost_per_token"));
        assert!(PriceMap::parse("p.json", "p".into(), "[1,2]").is_err());
    }
}
