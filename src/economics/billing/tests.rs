//! Bills computed by hand from the price map (litellm 1.110.2), call by call.

use super::*;
use crate::engine::SimTime;
use crate::model::catalog::{self, PriceMap, decimal};
use crate::model::pricing::ServiceTier::{self, *};

fn usd(s: &str) -> Usd {
    Usd(decimal::scaled(s, 12).unwrap().0)
}

fn pricing(name: &str) -> Pricing {
    catalog::builtin().find(name).unwrap_or_else(|| panic!("{name}")).pricing.clone()
}

fn total(name: &str, tier: ServiceTier, u: CallUsage) -> Usd {
    bill_priced(name, &pricing(name), tier, &u).unwrap().total()
}

#[test]
fn gpt_4o_at_each_tier() {
    let u = CallUsage::plain(2000, 500);
    // 2,000 × $2.50/M + 500 × $10/M.
    assert_eq!(total("gpt-4o", Standard, u), usd("0.01"));
    // Batch: $1.25/M and $5/M.
    assert_eq!(total("gpt-4o", Batch, u), usd("0.005"));
    // Priority: $4.25/M and $17/M.
    assert_eq!(total("gpt-4o", Priority, u), usd("0.017"));
}

#[test]
fn o3_flex() {
    // 2,000 × $1/M + 500 × $4/M.
    assert_eq!(total("o3", Flex, CallUsage::plain(2000, 500)), usd("0.004"));
}

#[test]
fn o4_mini_reasoning_tokens_are_billed_as_output() {
    // The map has no reasoning price for o4-mini: 2,000 × $1.10/M + (500 + 1,500) × $4.40/M.
    let u = CallUsage { reasoning: 1500, ..CallUsage::plain(2000, 500) };
    let b = bill_priced("o4-mini", &pricing("o4-mini"), Standard, &u).unwrap();
    assert_eq!(b.total(), usd("0.011"));
    assert_eq!(b.reasoning, usd("0.0066"));
}

#[test]
fn a_reasoning_price_is_used_where_the_map_has_one() {
    let name = catalog::builtin()
        .models
        .iter()
        .find(|m| m.pricing.base().reasoning.is_some_and(|r| r != m.pricing.base().output))
        .map(|m| m.name.clone());
    if let Some(name) = name {
        let r = pricing(&name).base();
        let u = CallUsage { reasoning: 1000, ..CallUsage::plain(0, 0) };
        assert_eq!(total(&name, Standard, u), r.reasoning.unwrap().cost(1000) + pricing(&name).per_request, "{name}");
    }
}

#[test]
fn gemini_2_5_pro_long_context_prices_the_whole_request() {
    // ≤ 200k: 150,000 × $1.25/M + 1,000 × $10/M.
    assert_eq!(total("gemini/gemini-2.5-pro", Standard, CallUsage::plain(150_000, 1000)), usd("0.1975"));
    // > 200k: every token at the band, 250,000 × $2.50/M + 1,000 × $15/M.
    assert_eq!(total("gemini/gemini-2.5-pro", Standard, CallUsage::plain(250_000, 1000)), usd("0.64"));
}

/// The claude-sonnet-4-5 workload of the issue: a 5,000-token system prompt, 1,000 fresh
/// input tokens and 200 output tokens per task, one task every `every_s` seconds.
fn sonnet_tasks(prompt: u64, every_s: f64, tasks: u32) -> Usd {
    let m = catalog::builtin().find("claude-sonnet-4-5").unwrap().to_model();
    let mut cache = PromptCache::new();
    let mut sum = Usd::ZERO;
    for i in 0..tasks {
        let now = SimTime::from_secs(i as f64 * every_s);
        let ready = SimTime::from_secs(i as f64 * every_s + 1.2);
        let hit = cache.call((0, 0), now, ready, prompt, &m.cache, CacheMode::Auto);
        let u = CallUsage { prefix: prompt, prefix_cache: hit, ..CallUsage::plain(1000, 200) };
        sum += bill(&m, Standard, &u).unwrap().total();
    }
    sum
}

#[test]
fn claude_sonnet_prompt_cache_over_100_tasks() {
    // Every 60 s: one write (5,000 × $3.75/M + 1,000 × $3/M + 200 × $15/M = $0.02475),
    // then 99 hits at $0.0075 (5,000 × $0.30/M + $0.003 + $0.003): mean $0.0076725.
    assert_eq!(sonnet_tasks(5000, 60.0, 100), usd("0.76725"));
    assert_eq!(usd("0.76725").mul_div(1, 100), usd("0.0076725"));
    // Every 600 s the 5-minute cache has expired each time: a write on every call.
    assert_eq!(sonnet_tasks(5000, 600.0, 100), usd("2.475"));
    // An 800-token prompt is below the 1,024-token minimum: plain input, $0.0084 a call.
    assert_eq!(sonnet_tasks(800, 60.0, 100), usd("0.84"));
}

#[test]
fn a_newer_map_from_the_user_changes_the_price() {
    let text = r#"{"gpt-4o": {"mode": "chat", "litellm_provider": "openai",
        "input_cost_per_token": 5e-06, "output_cost_per_token": 1e-05}}"#;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prices.json");
    std::fs::write(&path, text).unwrap();
    let map = catalog::load(&path).unwrap();
    assert_eq!(map.sha256, crate::report::sha256_hex(text.as_bytes()));
    let m = map.find("gpt-4o").unwrap();
    // 2,000 × $5/M + 500 × $10/M.
    assert_eq!(bill_priced("gpt-4o", &m.pricing, Standard, &CallUsage::plain(2000, 500)).unwrap().total(), usd("0.015"));
    assert!(PriceMap::parse("x", "x".into(), text).unwrap().find("gpt-4o").is_some());
}

#[test]
fn a_tier_the_model_does_not_offer_is_refused_by_name() {
    let e = bill_priced("gpt-4o", &pricing("gpt-4o"), Flex, &CallUsage::plain(1, 1)).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("gpt-4o") && msg.contains("flex") && msg.contains("standard, batch, priority"), "{msg}");
    let e = bill_priced(
        "gpt-4o",
        &pricing("gpt-4o"),
        Standard,
        &CallUsage { prefix: 2000, prefix_cache: CacheUse::Write1h, ..CallUsage::plain(1, 1) },
    );
    assert!(matches!(e, Err(BillError::NoOneHourWrite { .. })));
}

#[test]
fn parts_add_up_and_each_is_its_own_category() {
    let mut p = pricing("claude-sonnet-4-5");
    p.per_request = usd("0.001");
    let u = CallUsage { prefix: 5000, prefix_cache: CacheUse::Write1h, reasoning: 100, search_queries: 2, ..CallUsage::plain(1000, 200) };
    let b = bill_priced("claude-sonnet-4-5", &p, Standard, &u).unwrap();
    assert_eq!(b.input, usd("0.003"));
    assert_eq!(b.cache_write, usd("0.03")); // 5,000 × $6/M (1-hour write)
    assert_eq!(b.cache_read, Usd::ZERO);
    assert_eq!(b.output, usd("0.003"));
    assert_eq!(b.reasoning, usd("0.0015"));
    assert_eq!(b.search, usd("0.02")); // 2 × $0.01
    assert_eq!(b.request, usd("0.001"));
    assert_eq!(b.total(), b.parts().iter().map(|(_, u)| *u).sum());
    assert_eq!(b.total(), usd("0.0585"));
}

// ---- regressions of bugs that cost tools like this one their users' trust -----------------

#[test]
fn regression_cached_tokens_are_not_counted_twice() {
    // OpenAI-style usage: prompt_tokens 6,000 of which 5,000 cached; completion_tokens
    // 2,000 of which 1,500 reasoning. Each token is billed once.
    let u = CallUsage::from_openai_usage(6000, 5000, 2000, 1500);
    assert_eq!((u.fresh_input, u.prefix, u.output, u.reasoning), (1000, 5000, 500, 1500));
    let b = bill_priced("o4-mini", &pricing("o4-mini"), Standard, &u).unwrap();
    // 1,000 × $1.10/M + 5,000 × $0.275/M + 2,000 × $4.40/M.
    assert_eq!(b.input, usd("0.0011"));
    assert_eq!(b.cache_read, usd("0.001375"));
    assert_eq!(b.total(), usd("0.011275"));
    // The double count would have been 6,000 × $1.10/M + 5,000 × $0.275/M + 3,500 × $4.40/M.
    assert_ne!(b.total(), usd("0.023375"));
}

#[test]
fn regression_a_long_context_band_prices_the_whole_request_not_the_excess() {
    let b = bill_priced("gemini/gemini-2.5-pro", &pricing("gemini/gemini-2.5-pro"), Standard, &CallUsage::plain(250_000, 1000)).unwrap();
    assert_eq!(b.input, usd("0.625"));
    assert_eq!(b.output, usd("0.015"));
    // Per excess token it would be 200,000 × $1.25/M + 50,000 × $2.50/M = $0.375.
    assert_ne!(b.input, usd("0.375"));
    // Cached tokens count toward the threshold: 150k fresh + 60k cached is above it.
    let u = CallUsage { prefix: 60_000, prefix_cache: CacheUse::Hit, ..CallUsage::plain(150_000, 1000) };
    let b = bill_priced("gemini/gemini-2.5-pro", &pricing("gemini/gemini-2.5-pro"), Standard, &u).unwrap();
    assert_eq!((b.input, b.cache_read, b.output), (usd("0.375"), usd("0.015"), usd("0.015")));
    // Exactly at the threshold is still the base band.
    assert_eq!(total("gemini/gemini-2.5-pro", Standard, CallUsage::plain(200_000, 1000)), usd("0.26"));
}

#[test]
fn regression_the_batch_discount_is_applied_to_every_part() {
    for name in ["gpt-4o", "claude-sonnet-4-5", "gpt-4.1-mini-2025-04-14"] {
        let u = CallUsage { prefix: 5000, prefix_cache: CacheUse::Write, ..CallUsage::plain(1000, 200) };
        let (s, b) = (total(name, Standard, u), total(name, Batch, u));
        assert_eq!(b.mul_div(2, 1), s, "{name}: batch is half price");
    }
    // Anthropic's batch cache write: 5,000 × $1.875/M + 1,000 × $1.50/M + 200 × $7.50/M.
    let u = CallUsage { prefix: 5000, prefix_cache: CacheUse::Write, ..CallUsage::plain(1000, 200) };
    assert_eq!(total("claude-sonnet-4-5", Batch, u), usd("0.012375"));
}

#[test]
fn the_biller_keys_caches_by_agent_and_model_and_applies_the_agents_tier() {
    let sc = crate::scenario::load(None, &[]).unwrap().scenario;
    let (ai, agent) = sc.agents.iter().enumerate().find(|(_, a)| a.system_prompt_tokens >= 1024).unwrap();
    let model = &sc.models[agent.model];
    let mut biller = Biller::new();
    fn call<'a>(ai: usize, start: f64, agent: &'a crate::model::Agent, model: &'a crate::model::Model) -> Call<'a> {
        Call {
            agent_index: ai,
            agent,
            model_index: agent.model,
            model,
            start: SimTime::from_secs(start),
            prompt_read: SimTime::from_secs(start + 0.5),
            fresh_input: 1000,
            output: 100,
            reasoning: 0,
            search_queries: 0,
        }
    }
    let rates = model.pricing.base();
    let p = agent.system_prompt_tokens;
    let expect = |prefix_price: crate::economics::money::PricePerMtok| {
        prefix_price.cost(p) + rates.input.cost(1000) + rates.output.cost(100) + model.pricing.per_request
    };
    let (u, b) = biller.charge(&call(ai, 0.0, agent, model)).unwrap();
    assert_eq!((u, b.total()), (CacheUse::Write, expect(rates.cache_write.unwrap_or(rates.input))));
    let (u, b) = biller.charge(&call(ai, 10.0, agent, model)).unwrap();
    assert_eq!((u, b.total()), (CacheUse::Hit, expect(rates.cache_read_or_input())));
    // The same agent with its cache off, and at the batch tier.
    let mut off = agent.clone();
    off.prompt_cache = CacheMode::Off;
    off.service_tier = ServiceTier::Batch;
    let (u, b) = biller.charge(&call(ai, 20.0, &off, model)).unwrap();
    let batch = model.pricing.rates(Batch, 0).unwrap();
    assert_eq!((u, b.total()), (CacheUse::Uncached, batch.input.cost(p + 1000) + batch.output.cost(100) + model.pricing.per_request));
}

proptest::proptest! {
    /// Within one context band, a bill is linear in the tokens: two calls cost what one
    /// call with their summed usage costs (request fees aside), at every offered tier.
    #[test]
    fn bills_are_linear_in_tokens_within_a_band(
        m in 0usize..5, t in 0usize..4, c in 0usize..4,
        a in proptest::array::uniform5(0u64..40_000), b in proptest::array::uniform5(0u64..40_000),
    ) {
        let name = ["gpt-4o", "claude-sonnet-4-5", "gemini/gemini-2.5-pro", "o3", "deepseek/deepseek-chat"][m];
        let p = pricing(name);
        let tier = ServiceTier::ALL[t];
        let cache = [CacheUse::Uncached, CacheUse::Hit, CacheUse::Write, CacheUse::Write1h][c];
        let u = |x: [u64; 5]| CallUsage { fresh_input: x[0], prefix: x[1], prefix_cache: cache, fresh_cache: CacheUse::Uncached, output: x[2], reasoning: x[3], search_queries: x[4] % 3 };
        let (ua, ub) = (u(a), u(b));
        let sum = CallUsage { fresh_input: a[0] + b[0], prefix: a[1] + b[1], output: a[2] + b[2], reasoning: a[3] + b[3], search_queries: a[4] % 3 + b[4] % 3, ..ua };
        match (bill_priced(name, &p, tier, &ua), bill_priced(name, &p, tier, &ub), bill_priced(name, &p, tier, &sum)) {
            (Ok(x), Ok(y), Ok(z)) => {
                proptest::prop_assert_eq!(x.total() + y.total() - p.per_request, z.total());
                proptest::prop_assert_eq!(x.total(), x.parts().iter().map(|(_, v)| *v).sum::<Usd>());
                if tier == Standard && cache == CacheUse::Uncached {
                    proptest::prop_assert_eq!(x.cache_read + x.cache_write, Usd::ZERO);
                }
            }
            (Err(_), Err(_), Err(_)) => proptest::prop_assert!(!p.offers(tier) || cache == CacheUse::Write1h),
            other => proptest::prop_assert!(false, "inconsistent: {:?}", other),
        }
    }
}
