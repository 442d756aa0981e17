//! Prompt caching on the event clock: which calls hit the cache, which write it, which
//! pay plain input.
//!
//! An agent's system prompt is its cacheable prefix. A call is a **hit** if the same agent
//! used the same model within the time to live, measured from the last use (each hit
//! refreshes it), and the prefix is at least the model's minimum. Otherwise it is a
//! **write**: it pays the cache-write price where the price map has one, else plain input.
//! A write is usable from the moment the writing call has read its prompt (`ready`, the
//! caller passes the end of its time to first token), so calls that start before then —
//! concurrent first calls — each pay the write.
//!
//! # Provider rules
//!
//! | provider (LiteLLM's `litellm_provider`) | minimum prefix | time to live | writes | source |
//! |---|---|---|---|---|
//! | `openai`, `azure` | 1,024 tokens | 5 min (documented: 5–10 min of inactivity, up to 1 h off-peak) | automatic, no premium | OpenAI, Prompt caching guide; OpenAI cookbook "Prompt Caching 201" |
//! | `anthropic`, `vertex_ai-anthropic_models`, `bedrock`, `bedrock_converse` | 1,024 tokens (Sonnet, Opus 4.1 and older); 2,048 (Haiku 3, 3.5); 4,096 (Haiku 4.5, Opus 4.5, 4.6) | 5 min, or 1 h with `prompt_cache = "1h"` | `cache_creation_input_token_cost` (1.25×), 1 h at `cache_creation_input_token_cost_above_1hr` (2×) | Anthropic, Prompt caching (platform.claude.com/docs/en/build-with-claude/prompt-caching) |
//! | `gemini`, `vertex_ai-language-models`, `vertex_ai` | 2,048 tokens (Gemini 2.5 Flash and Pro); 4,096 (newer) | 5 min (assumption: implicit caching has no documented lifetime; Google advises sending requests with the same prefix "in a short amount of time") | implicit, no premium | Google, Gemini API context caching (ai.google.dev/gemini-api/docs/caching), page updated 2026-10-13 |
//! | `deepseek` | 64 tokens | 1 h (assumption: "hours to days", not documented exactly) | automatic, no premium | DeepSeek, Context caching (api-docs.deepseek.com/guides/kv_cache) |
//! | any other | 1,024 tokens (assumption) | 5 min (assumption) | as the map prices them | — |
//!
//! Where the price map gives a model's `prompt_cache_min_tokens`, that figure is the
//! model's minimum (it is per model, and tracks the providers' pages); the table's is the
//! fallback.

use std::collections::HashMap;

use crate::engine::SimTime;

/// An agent's `prompt_cache` setting.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CacheMode {
    /// The provider's default caching (5-minute lifetime on Anthropic).
    #[default]
    Auto,
    /// Anthropic's 1-hour lifetime, written at the 1-hour price.
    OneHour,
    /// Never cached: the prefix is plain input.
    Off,
}

impl CacheMode {
    /// The scenario's names, in order.
    pub const NAMES: [&'static str; 3] = ["auto", "1h", "off"];

    /// Parses a scenario value.
    pub fn parse(s: &str) -> Option<CacheMode> {
        match s {
            "auto" => Some(CacheMode::Auto),
            "1h" => Some(CacheMode::OneHour),
            "off" => Some(CacheMode::Off),
            _ => None,
        }
    }
}

/// How a call's prefix is billed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheUse {
    /// Not cacheable (off, no prefix, or below the minimum): plain input.
    Uncached,
    /// Read from the cache.
    Hit,
    /// Written to the cache with the default lifetime.
    Write,
    /// Written to the cache with a 1-hour lifetime.
    Write1h,
}

/// A model's caching rule.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CacheRule {
    /// The shortest prefix that is cached, tokens.
    pub min_tokens: u64,
    /// Time to live from last use, seconds.
    pub ttl_s: f64,
    /// The 1-hour lifetime, where the provider offers it.
    pub ttl_1h_s: Option<f64>,
}

impl Default for CacheRule {
    fn default() -> Self {
        CacheRule { min_tokens: 1024, ttl_s: 300.0, ttl_1h_s: None }
    }
}

impl CacheRule {
    /// The rule for a model of the price map (see the table above).
    pub fn for_model(provider: &str, name: &str, map_min_tokens: Option<u64>) -> CacheRule {
        let n = name.to_ascii_lowercase();
        let anthropic =
            matches!(provider, "anthropic" | "vertex_ai-anthropic_models" | "bedrock" | "bedrock_converse") && n.contains("claude");
        let (min, ttl, ttl_1h) = match provider {
            _ if anthropic => {
                let min = if n.contains("haiku-4") || n.contains("opus-4-5") || n.contains("opus-4-6") {
                    4096
                } else if n.contains("haiku") {
                    2048
                } else {
                    1024
                };
                (min, 300.0, Some(3600.0))
            }
            "openai" | "azure" => (1024, 300.0, None),
            "gemini" | "vertex_ai-language-models" | "vertex_ai" => (if n.contains("gemini-2.5") { 2048 } else { 4096 }, 300.0, None),
            "deepseek" => (64, 3600.0, None),
            _ => (1024, 300.0, None),
        };
        CacheRule { min_tokens: map_min_tokens.unwrap_or(min), ttl_s: ttl, ttl_1h_s: ttl_1h }
    }
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    /// When the written prefix becomes readable.
    ready: SimTime,
    /// Last write or hit.
    last_use: SimTime,
    /// Its lifetime.
    ttl: SimTime,
}

/// The caches of one world, keyed by (agent, model) indices.
#[derive(Clone, Debug, Default)]
pub struct PromptCache {
    entries: HashMap<(usize, usize), Entry>,
}

impl PromptCache {
    /// An empty cache.
    pub fn new() -> PromptCache {
        PromptCache::default()
    }

    /// Decides how a call starting at `now` pays for its `prefix` tokens, and records its
    /// use. `ready` (≥ `now`) is when a prefix this call writes becomes readable.
    pub fn call(&mut self, key: (usize, usize), now: SimTime, ready: SimTime, prefix: u64, rule: &CacheRule, mode: CacheMode) -> CacheUse {
        if mode == CacheMode::Off || prefix == 0 || prefix < rule.min_tokens {
            return CacheUse::Uncached;
        }
        let (ttl_s, write) = match (mode, rule.ttl_1h_s) {
            (CacheMode::OneHour, Some(t)) => (t, CacheUse::Write1h),
            _ => (rule.ttl_s, CacheUse::Write),
        };
        let ttl = SimTime::from_secs(ttl_s);
        let ready = ready.max(now);
        match self.entries.get_mut(&key) {
            Some(e) if e.ready <= now && now.0.saturating_sub(e.last_use.0) <= e.ttl.0 => {
                e.last_use = now;
                CacheUse::Hit
            }
            // A write still in flight: this call writes too; the first to land serves.
            Some(e) if e.ready > now => {
                e.ready = e.ready.min(ready);
                e.last_use = e.last_use.max(ready);
                e.ttl = e.ttl.max(ttl);
                write
            }
            _ => {
                self.entries.insert(key, Entry { ready, last_use: ready, ttl });
                write
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: f64) -> SimTime {
        SimTime::from_secs(x)
    }

    const SONNET: CacheRule = CacheRule { min_tokens: 1024, ttl_s: 300.0, ttl_1h_s: Some(3600.0) };

    #[test]
    fn hits_within_the_ttl_from_last_use_which_each_hit_refreshes() {
        let mut c = PromptCache::new();
        let k = (0, 0);
        assert_eq!(c.call(k, s(0.0), s(0.0), 5000, &SONNET, CacheMode::Auto), CacheUse::Write);
        // 290 s, then 290 s again: 580 s after the write, but each within 300 s of the last use.
        assert_eq!(c.call(k, s(290.0), s(290.0), 5000, &SONNET, CacheMode::Auto), CacheUse::Hit);
        assert_eq!(c.call(k, s(580.0), s(580.0), 5000, &SONNET, CacheMode::Auto), CacheUse::Hit);
        // Exactly at the TTL still hits; one nanosecond past, it is gone.
        assert_eq!(c.call(k, s(880.0), s(880.0), 5000, &SONNET, CacheMode::Auto), CacheUse::Hit);
        assert_eq!(c.call(k, SimTime(s(1180.0).0 + 1), s(1181.0), 5000, &SONNET, CacheMode::Auto), CacheUse::Write);
    }

    #[test]
    fn caches_are_per_agent_and_model() {
        let mut c = PromptCache::new();
        assert_eq!(c.call((0, 0), s(0.0), s(0.0), 5000, &SONNET, CacheMode::Auto), CacheUse::Write);
        assert_eq!(c.call((1, 0), s(1.0), s(1.0), 5000, &SONNET, CacheMode::Auto), CacheUse::Write);
        assert_eq!(c.call((0, 1), s(1.0), s(1.0), 5000, &SONNET, CacheMode::Auto), CacheUse::Write);
        assert_eq!(c.call((0, 0), s(2.0), s(2.0), 5000, &SONNET, CacheMode::Auto), CacheUse::Hit);
    }

    #[test]
    fn concurrent_first_calls_each_pay_the_write() {
        let mut c = PromptCache::new();
        let k = (3, 1);
        // Three calls start before the first one's prompt is read (ready at 2 s).
        assert_eq!(c.call(k, s(0.0), s(2.0), 5000, &SONNET, CacheMode::Auto), CacheUse::Write);
        assert_eq!(c.call(k, s(0.0), s(2.0), 5000, &SONNET, CacheMode::Auto), CacheUse::Write);
        assert_eq!(c.call(k, s(1.5), s(3.0), 5000, &SONNET, CacheMode::Auto), CacheUse::Write);
        assert_eq!(c.call(k, s(2.0), s(4.0), 5000, &SONNET, CacheMode::Auto), CacheUse::Hit);
    }

    #[test]
    fn short_prefixes_and_off_are_never_cached() {
        let mut c = PromptCache::new();
        for t in 0..5 {
            assert_eq!(c.call((0, 0), s(t as f64), s(t as f64), 800, &SONNET, CacheMode::Auto), CacheUse::Uncached);
            assert_eq!(c.call((1, 0), s(t as f64), s(t as f64), 5000, &SONNET, CacheMode::Off), CacheUse::Uncached);
            assert_eq!(c.call((2, 0), s(t as f64), s(t as f64), 0, &SONNET, CacheMode::Auto), CacheUse::Uncached);
        }
        assert_eq!(c.call((0, 0), s(9.0), s(9.0), 1024, &SONNET, CacheMode::Auto), CacheUse::Write, "the minimum itself caches");
    }

    #[test]
    fn one_hour_writes_live_an_hour() {
        let mut c = PromptCache::new();
        let k = (0, 0);
        assert_eq!(c.call(k, s(0.0), s(0.0), 5000, &SONNET, CacheMode::OneHour), CacheUse::Write1h);
        assert_eq!(c.call(k, s(3000.0), s(3000.0), 5000, &SONNET, CacheMode::OneHour), CacheUse::Hit);
        // Without a 1-hour offer the default write and lifetime apply.
        let openai = CacheRule::for_model("openai", "gpt-4o", None);
        assert_eq!(c.call((1, 0), s(0.0), s(0.0), 5000, &openai, CacheMode::OneHour), CacheUse::Write);
        assert_eq!(c.call((1, 0), s(400.0), s(400.0), 5000, &openai, CacheMode::OneHour), CacheUse::Write);
    }

    #[test]
    fn provider_rules_follow_the_table_and_the_map() {
        assert_eq!(CacheRule::for_model("openai", "gpt-4o", None), CacheRule { min_tokens: 1024, ttl_s: 300.0, ttl_1h_s: None });
        assert_eq!(CacheRule::for_model("anthropic", "claude-sonnet-4-5", None).min_tokens, 1024);
        assert_eq!(CacheRule::for_model("anthropic", "claude-3-5-haiku-20241022", None).min_tokens, 2048);
        assert_eq!(CacheRule::for_model("anthropic", "claude-haiku-4-5", None).min_tokens, 4096);
        assert_eq!(CacheRule::for_model("anthropic", "claude-sonnet-4-5", None).ttl_1h_s, Some(3600.0));
        assert_eq!(CacheRule::for_model("gemini", "gemini/gemini-2.5-pro", None).min_tokens, 2048);
        // The map's per-model figure wins.
        assert_eq!(CacheRule::for_model("anthropic", "claude-haiku-4-5", Some(512)).min_tokens, 512);
    }
}
