//! The built-in catalog of real models: published list prices, with date and source.
//!
//! Prices are the providers' published standard (non-batch) list prices per million
//! tokens for the shortest context tier, as read on the date given. Latency figures are
//! typical observed values (time to first token, output speed) for planning, not
//! published guarantees; override them in a scenario for your own measurements.
//! `orchsim models` prints this table. A scenario's `[models.NAME]` overrides any field.

/// One catalog model.
#[derive(Clone, Copy, Debug)]
pub struct CatalogModel {
    /// Name used in scenarios (`model = "gpt-4o-mini"`).
    pub name: &'static str,
    /// Who serves it.
    pub provider: &'static str,
    /// USD per million uncached input tokens.
    pub input_usd_per_mtok: f64,
    /// USD per million output tokens.
    pub output_usd_per_mtok: f64,
    /// USD per million cached input tokens (cache reads), if offered.
    pub cached_input_usd_per_mtok: Option<f64>,
    /// Typical time to first token, seconds.
    pub ttft_s: f64,
    /// Typical output speed, tokens per second.
    pub output_tokens_per_s: f64,
    /// When the price was read (YYYY-MM-DD).
    pub price_date: &'static str,
    /// Where the price was published.
    pub source: &'static str,
}

const OPENAI: &str = "OpenAI API pricing page (openai.com/api/pricing)";
const ANTHROPIC: &str = "Anthropic pricing page (anthropic.com/pricing), cache-read price";
const GOOGLE: &str = "Google Gemini API pricing (ai.google.dev/pricing), <=200k-token tier";
const MISTRAL: &str = "Mistral AI pricing page (mistral.ai/pricing)";
const DEEPSEEK: &str = "DeepSeek API pricing (api-docs.deepseek.com), standard hours, cache hit";

macro_rules! m {
    ($name:expr, $prov:expr, $in:expr, $out:expr, $cached:expr, $ttft:expr, $tps:expr, $date:expr, $src:expr) => {
        CatalogModel {
            name: $name,
            provider: $prov,
            input_usd_per_mtok: $in,
            output_usd_per_mtok: $out,
            cached_input_usd_per_mtok: $cached,
            ttft_s: $ttft,
            output_tokens_per_s: $tps,
            price_date: $date,
            source: $src,
        }
    };
}

/// The catalog, sorted by provider then name.
pub const CATALOG: &[CatalogModel] = &[
    m!("claude-3.5-haiku", "Anthropic", 0.80, 4.00, Some(0.08), 0.7, 65.0, "2025-08-01", ANTHROPIC),
    m!("claude-haiku-4.5", "Anthropic", 1.00, 5.00, Some(0.10), 0.6, 100.0, "2025-10-15", ANTHROPIC),
    m!("claude-opus-4.1", "Anthropic", 15.00, 75.00, Some(1.50), 1.8, 40.0, "2025-08-05", ANTHROPIC),
    m!("claude-sonnet-4", "Anthropic", 3.00, 15.00, Some(0.30), 1.2, 60.0, "2025-08-01", ANTHROPIC),
    m!("claude-sonnet-4.5", "Anthropic", 3.00, 15.00, Some(0.30), 1.2, 65.0, "2025-09-29", ANTHROPIC),
    m!("deepseek-chat", "DeepSeek", 0.27, 1.10, Some(0.07), 1.5, 30.0, "2025-08-01", DEEPSEEK),
    m!("deepseek-reasoner", "DeepSeek", 0.55, 2.19, Some(0.14), 4.0, 30.0, "2025-08-01", DEEPSEEK),
    m!("gemini-2.0-flash", "Google", 0.10, 0.40, Some(0.025), 0.5, 150.0, "2025-08-01", GOOGLE),
    m!("gemini-2.5-flash", "Google", 0.30, 2.50, Some(0.075), 0.8, 150.0, "2025-08-01", GOOGLE),
    m!("gemini-2.5-pro", "Google", 1.25, 10.00, Some(0.31), 2.5, 80.0, "2025-08-01", GOOGLE),
    m!("mistral-large", "Mistral AI", 2.00, 6.00, None, 0.8, 50.0, "2025-08-01", MISTRAL),
    m!("mistral-small", "Mistral AI", 0.10, 0.30, None, 0.4, 120.0, "2025-08-01", MISTRAL),
    m!("gpt-4.1", "OpenAI", 2.00, 8.00, Some(0.50), 0.8, 80.0, "2025-08-01", OPENAI),
    m!("gpt-4.1-mini", "OpenAI", 0.40, 1.60, Some(0.10), 0.5, 100.0, "2025-08-01", OPENAI),
    m!("gpt-4.1-nano", "OpenAI", 0.10, 0.40, Some(0.025), 0.4, 150.0, "2025-08-01", OPENAI),
    m!("gpt-4o", "OpenAI", 2.50, 10.00, Some(1.25), 0.6, 80.0, "2025-08-01", OPENAI),
    m!("gpt-4o-mini", "OpenAI", 0.15, 0.60, Some(0.075), 0.5, 90.0, "2025-08-01", OPENAI),
    m!("o3", "OpenAI", 2.00, 8.00, Some(0.50), 5.0, 60.0, "2025-08-01", OPENAI),
    m!("o4-mini", "OpenAI", 1.10, 4.40, Some(0.275), 3.0, 90.0, "2025-08-01", OPENAI),
];

/// Looks a model up by name.
pub fn find(name: &str) -> Option<&'static CatalogModel> {
    CATALOG.iter().find(|m| m.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn catalog_is_broad_unique_and_sane() {
        assert!(CATALOG.len() >= 12);
        let providers: BTreeSet<_> = CATALOG.iter().map(|m| m.provider).collect();
        assert!(providers.len() >= 4);
        let names: BTreeSet<_> = CATALOG.iter().map(|m| m.name).collect();
        assert_eq!(names.len(), CATALOG.len(), "duplicate model names");
        for m in CATALOG {
            assert!(m.input_usd_per_mtok > 0.0 && m.output_usd_per_mtok >= m.input_usd_per_mtok, "{}", m.name);
            if let Some(c) = m.cached_input_usd_per_mtok {
                assert!(c < m.input_usd_per_mtok, "{}: cached must be cheaper", m.name);
            }
            assert_eq!(m.price_date.len(), 10);
            assert!(m.ttft_s > 0.0 && m.output_tokens_per_s > 0.0);
        }
    }
}
