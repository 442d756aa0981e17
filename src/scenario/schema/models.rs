//! `[models.NAME]`: prices, speeds, limits; catalog models need no table.

use std::path::Path;
use std::sync::Arc;

use super::Cx;
use super::fields::{Check, Fields, Qty, SECONDS, SPEED, count, usd};
use crate::economics::money::PricePerMtok;
use crate::model::dist::Shape;
use crate::model::*;
use crate::model::{catalog, limits};
use crate::scenario::tree::{Node, Value};

/// The scenario's `prices` key: the price map its catalog models come from (the built-in
/// one without it). The file is recorded as an input, with its SHA-256.
pub(super) fn price_map(cx: &mut Cx, top: &mut Fields, root: &Node, base_dir: &Path) -> Arc<catalog::PriceMap> {
    let Some(p) = top.string_opt(cx, "prices") else { return catalog::builtin() };
    let path = base_dir.join(p);
    match catalog::load(&path) {
        Ok(m) => {
            cx.inputs.push((path.display().to_string(), m.sha256.clone()));
            m
        }
        Err(e) => {
            let line = root.get("prices").and_then(|n| n.line);
            cx.err(line, "prices", format!("{p:?}"), format!("expected a LiteLLM price map: {e}"));
            catalog::builtin()
        }
    }
}

/// The limit of a model's distribution-valued key.
fn quantity(key: &str) -> Qty {
    if key == "output_tokens_per_s" { SPEED } else { SECONDS }
}

pub(super) fn model(cx: &mut Cx, name: &str, node: Option<&Node>, path: &str, prices: &catalog::PriceMap) -> Option<Model> {
    let cat = prices.find(name);
    let base = cat.map(|c| c.to_model());
    let priced = cat.is_some_and(|c| c.priced);
    let Some(node) = node else {
        if cat.is_some() && !priced {
            let msg = "the price map has no input and output price for this model: give input_usd_per_mtok and output_usd_per_mtok in its [models] table";
            cx.err(None, path, String::new(), msg);
            return None;
        }
        return base;
    };
    let mut f = Fields::of(cx, node, path)?;
    // Scales every price of the model (tokens and request fee): the knob for "what if
    // this model cost k times as much", e.g. in a sweep.
    let mult = f.num(cx, "price_multiplier", 1.0, Check::NonNeg);
    // The keys override the standard tier's base prices; other tiers keep the map's.
    let mut pricing = base.as_ref().map(|m| m.pricing.clone()).unwrap_or_default();
    for key in ["input_usd_per_mtok", "output_usd_per_mtok"] {
        match f.num_opt(cx, key, Check::NonNeg) {
            Some(v) if key.starts_with("in") => pricing.base_mut().input = PricePerMtok::from_usd_per_mtok(v),
            Some(v) => pricing.base_mut().output = PricePerMtok::from_usd_per_mtok(v),
            None if !priced && node.get(key).is_none() => f.missing(cx, key, "a non-negative number"),
            None => {}
        }
    }
    if let Some(v) = f.num_opt(cx, "cached_input_usd_per_mtok", Check::NonNeg) {
        pricing.base_mut().cache_read = Some(PricePerMtok::from_usd_per_mtok(v));
    }
    if let Some(v) = f.num_opt(cx, "cache_write_usd_per_mtok", Check::NonNeg) {
        pricing.base_mut().cache_write = Some(PricePerMtok::from_usd_per_mtok(v));
    }
    if let Some(v) = f.num_opt(cx, "usd_per_request", Check::NonNeg) {
        pricing.per_request = usd(v);
    }
    let pricing = pricing.scaled(mult);
    // Every price, after the multiplier, stays within what can be simulated without
    // overflow (model/limits.rs): the error names the price the file sets too high, else
    // the multiplier that takes a price over the limit.
    let max = limits::MAX_USD_PER_MTOK;
    let keys = ["input_usd_per_mtok", "output_usd_per_mtok", "cached_input_usd_per_mtok", "cache_write_usd_per_mtok"];
    let too_high = keys.into_iter().find_map(|k| {
        let n = node.get(k)?;
        let v = match n.value {
            Value::Int(i) => i as f64,
            Value::Float(x) => x,
            _ => return None,
        };
        (v > max).then_some((k, n))
    });
    if let Some((k, n)) = too_high {
        cx.bad(n, &f.p(k), format!("expected at most {max} USD per million tokens"));
    } else if pricing.max_usd_per_mtok() > max {
        let detail =
            format!("expected at most {max} USD per million tokens after price_multiplier: a price of this model times {mult} is above it");
        match node.get("price_multiplier") {
            Some(n) => cx.bad(n, &f.p("price_multiplier"), detail),
            None => cx.err(None, path, String::new(), detail),
        }
    }
    if pricing.per_request.as_f64() > limits::MAX_FEE_USD {
        cx.err(
            node.get("usd_per_request").and_then(|n| n.line),
            &f.p("usd_per_request"),
            String::new(),
            format!("expected at most {} USD per request after price_multiplier", limits::MAX_FEE_USD),
        );
    }
    let lat = |f: &mut Fields, cx: &mut Cx, key: &'static str, base: Option<&Dist>| match (f.dist_opt(cx, key, quantity(key)), base) {
        (Some(d), _) => d,
        (None, Some(d)) => d.clone(),
        (None, None) => {
            if node.get(key).is_none() {
                f.missing(cx, key, "a positive number or a distribution table");
            }
            Dist::constant(1.0)
        }
    };
    let ttft_s = lat(&mut f, cx, "ttft_s", base.as_ref().map(|b| &b.ttft_s));
    let output_tokens_per_s = lat(&mut f, cx, "output_tokens_per_s", base.as_ref().map(|b| &b.output_tokens_per_s));
    let default_batch = crate::model::latency::table().batch_delay.dist();
    let batch_delay_s = lat(&mut f, cx, "batch_delay_s", Some(base.as_ref().map_or(&default_batch, |b| &b.batch_delay_s)));
    // A speed of zero would stall an attempt forever: constants, uniform lower bounds
    // and empirical values must be at least the slowest speed, and counts are not
    // speeds.
    let slow = |x: f64| x < limits::MIN_TOKENS_PER_S;
    let stalls = match output_tokens_per_s.shape() {
        Shape::Const(v) => slow(*v),
        Shape::Uniform(a, _) => slow(*a),
        Shape::Empirical(v) => v.iter().any(|x| slow(*x)),
        Shape::Poisson(_) => true,
        _ => false,
    };
    if stalls && let Some(n) = node.get("output_tokens_per_s") {
        cx.bad(
            n,
            &f.p("output_tokens_per_s"),
            format!(
                "expected a speed that cannot be zero (a number of at least {}, or a distribution with positive support)",
                limits::MIN_TOKENS_PER_S
            ),
        );
    }
    let max_concurrency = match f.take("max_concurrency") {
        Some(n) => match count(cx, n, &f.p("max_concurrency"), 1) {
            Some(c) if c <= u32::MAX as u64 => c as u32,
            Some(_) => {
                cx.bad(n, &f.p("max_concurrency"), format!("expected a whole number from 1 to {} (or no limit: leave it out)", u32::MAX));
                1
            }
            None => 1,
        },
        None => u32::MAX,
    };
    // A bucket holds one minute of budget, and a request needs one unit of it.
    let per_min = Check::Between(1.0, limits::MAX_PER_MIN);
    let requests_per_min = f.num_opt(cx, "requests_per_min", per_min);
    let tokens_per_min = f.num_opt(cx, "tokens_per_min", per_min);
    let error_rate = f.num(cx, "error_rate", 0.0, Check::Prob);
    if error_rate >= 1.0
        && let Some(n) = node.get("error_rate")
    {
        cx.bad(n, &f.p("error_rate"), "must be below 1 (every attempt would fail)");
    }
    let timeout_s = f.num_opt(cx, "timeout_s", Check::PosAtMost(limits::MAX_SECONDS));
    f.finish(cx);
    let base_rates = pricing.base();
    Some(Model {
        name: name.to_string(),
        provider: base.as_ref().map(|b| b.provider.clone()).unwrap_or_default(),
        input_price: base_rates.input,
        output_price: base_rates.output,
        cached_input_price: base_rates.cache_read,
        usd_per_request: pricing.per_request,
        cache: base.as_ref().map(|b| b.cache).unwrap_or_default(),
        pricing,
        ttft_s,
        output_tokens_per_s,
        batch_delay_s,
        max_concurrency,
        requests_per_min,
        tokens_per_min,
        error_rate,
        timeout_s,
    })
}

#[cfg(test)]
mod tests {
    use crate::economics::money::{PricePerMtok, Usd};
    use crate::model::dist::Shape;
    use crate::scenario::schema::testing::{load, refused};

    #[test]
    fn error_rate_is_a_probability_below_one() {
        assert_eq!(load(&[("MODELS", "error_rate = 0.25")]).unwrap().models[0].error_rate, 0.25);
        assert_eq!(refused(&[("MODELS", "error_rate = 1.5")]), "t.toml:11: models.m.error_rate = 1.5: must be between 0 and 1");
        assert_eq!(
            refused(&[("MODELS", "error_rate = 1")]),
            "t.toml:11: models.m.error_rate = 1: must be below 1 (every attempt would fail)"
        );
    }

    #[test]
    fn price_multiplier_scales_every_price() {
        let sc = load(&[("MODELS", "price_multiplier = 3\nusd_per_request = 0.5")]).unwrap();
        let m = &sc.models[0];
        assert_eq!(m.input_price, PricePerMtok::from_usd_per_mtok(3.0));
        assert_eq!(m.output_price, PricePerMtok::from_usd_per_mtok(6.0));
        assert_eq!(m.usd_per_request, Usd::from_f64(1.5));
        assert_eq!(
            refused(&[("MODELS", "price_multiplier = -1")]),
            "t.toml:11: models.m.price_multiplier = -1: expected a non-negative number"
        );
    }

    #[test]
    fn a_speed_must_not_be_zero_and_limits_are_positive() {
        let sc = load(&[("MODELS", "max_concurrency = 4\nrequests_per_min = 60")]).unwrap();
        assert_eq!((sc.models[0].max_concurrency, sc.models[0].requests_per_min), (4, Some(60.0)));
        assert!(matches!(sc.models[0].output_tokens_per_s.shape(), Shape::Const(v) if *v == 50.0));
        assert_eq!(refused(&[("MODELS", "max_concurrency = 0")]), "t.toml:11: models.m.max_concurrency = 0: expected a whole number >= 1");
        let d = load(&[("MODELS", "[models.n]\ninput_usd_per_mtok = 1\noutput_usd_per_mtok = 1\nttft_s = 1\noutput_tokens_per_s = 0")])
            .unwrap_err();
        assert_eq!(
            d,
            ["t.toml:15: models.n.output_tokens_per_s = 0: expected a speed that cannot be zero (a number of at least 0.001, \
              or a distribution with positive support)"]
        );
    }

    #[test]
    fn a_model_outside_the_catalog_needs_its_prices() {
        let d = load(&[("MODELS", "[models.n]\nttft_s = 1\noutput_tokens_per_s = 5")]).unwrap_err();
        assert_eq!(
            d,
            [
                "t.toml:11: models.n.input_usd_per_mtok: missing; expected a non-negative number",
                "t.toml:11: models.n.output_usd_per_mtok: missing; expected a non-negative number"
            ]
        );
    }

    #[test]
    fn catalog_models_come_from_the_price_map_with_their_latency_profile() {
        let sc = load(&[("model = \"m\"", "model = \"gemini/gemini-2.5-pro\"")]).unwrap();
        let m = sc.models.iter().find(|m| m.name == "gemini/gemini-2.5-pro").unwrap();
        assert_eq!((m.input_price.0, m.output_price.0, m.cached_input_price), (1_250_000, 10_000_000, Some(PricePerMtok(125_000))));
        assert_eq!((m.provider.as_str(), m.cache.min_tokens), ("gemini", 2048));
        assert!(matches!(m.ttft_s.shape(), crate::model::dist::Shape::LogNormal(_)));
        assert!(sc.prices.label.contains("1.110.2") && sc.prices.sha256.starts_with("8943af58"));
    }

    #[test]
    fn a_models_table_overrides_the_standard_price_only() {
        let t = ("MODELS", "[models.gpt-4o]\ninput_usd_per_mtok = 5");
        let sc = load(&[t, ("model = \"m\"", "model = \"gpt-4o\"")]).unwrap();
        let m = sc.models.iter().find(|m| m.name == "gpt-4o").unwrap();
        assert_eq!((m.input_price.0, m.output_price.0), (5_000_000, 10_000_000));
        let batch = m.pricing.rates(crate::model::ServiceTier::Batch, 0).unwrap();
        assert_eq!(batch.input.0, 1_250_000, "the batch tier keeps the map's price");
    }

    #[test]
    fn the_prices_key_reads_a_newer_map_and_records_it() {
        use crate::scenario::schema::testing::load_in;
        let dir = tempfile::tempdir().unwrap();
        let text =
            r#"{"gpt-4o": {"mode": "chat", "litellm_provider": "openai", "input_cost_per_token": 5e-06, "output_cost_per_token": 1e-05}}"#;
        std::fs::write(dir.path().join("p.json"), text).unwrap();
        let parts = [("name = \"t\"", "name = \"t\"\nprices = \"p.json\""), ("model = \"m\"", "model = \"gpt-4o\"")];
        let sc = load_in(dir.path(), &parts).unwrap();
        let m = sc.models.iter().find(|m| m.name == "gpt-4o").unwrap();
        assert_eq!((m.input_price.0, m.cached_input_price), (5_000_000, None));
        assert_eq!(sc.prices.sha256, crate::report::sha256_hex(text.as_bytes()));
        assert!(sc.inputs.iter().any(|(p, h)| p.ends_with("p.json") && *h == sc.prices.sha256));
        let d = load_in(dir.path(), &[("name = \"t\"", "name = \"t\"\nprices = \"none.json\"")]).unwrap_err();
        assert!(d[0].starts_with("t.toml:2: prices = \"none.json\": expected a LiteLLM price map: "), "{d:?}");
    }
}
