//! `[models.NAME]`: prices, speeds, limits; catalog models need no table.

use super::Cx;
use super::fields::{Check, Fields, SECONDS, SPEED, count, usd};
use crate::economics::money::{PricePerMtok, Usd};
use crate::model::dist::Shape;
use crate::model::*;
use crate::model::{catalog, limits};
use crate::scenario::tree::Node;

/// A validated price (within the limit, so the conversion cannot fail).
fn per_mtok(usd: f64) -> PricePerMtok {
    PricePerMtok::try_from_usd_per_mtok(usd).unwrap_or_default()
}

pub(super) fn model(cx: &mut Cx, name: &str, node: Option<&Node>, path: &str) -> Option<Model> {
    let cat = catalog::find(name);
    let Some(node) = node else {
        let c = cat?;
        return Some(Model {
            name: name.to_string(),
            input_price: PricePerMtok::from_usd_per_mtok(c.input_usd_per_mtok),
            output_price: PricePerMtok::from_usd_per_mtok(c.output_usd_per_mtok),
            cached_input_price: c.cached_input_usd_per_mtok.map(PricePerMtok::from_usd_per_mtok),
            usd_per_request: Usd::ZERO,
            ttft_s: Dist::constant(c.ttft_s),
            output_tokens_per_s: Dist::constant(c.output_tokens_per_s),
            max_concurrency: u32::MAX,
            requests_per_min: None,
            tokens_per_min: None,
            error_rate: 0.0,
            timeout_s: None,
        });
    };
    let mut f = Fields::of(cx, node, path)?;
    // Scales every price of the model (tokens and request fee): the knob for "what if
    // this model cost k times as much", e.g. in a sweep.
    let mult = f.num(cx, "price_multiplier", 1.0, Check::NonNeg);
    // A price times the multiplier must stay within its limit: the error names the
    // price when the file sets it, else the multiplier.
    let scaled = |f: &Fields, cx: &mut Cx, key: &str, v: f64, max: f64, unit: &str| -> f64 {
        let x = v * mult;
        if x > max {
            let at = if node.get(key).is_some() { key } else { "price_multiplier" };
            if let Some(n) = node.get(at) {
                cx.bad(n, &f.p(at), format!("expected at most {max} {unit} after price_multiplier ({v} × {mult} = {x})"));
            }
            return 0.0;
        }
        x
    };
    let price = |f: &mut Fields, cx: &mut Cx, key: &'static str, cat_v: Option<f64>| -> PricePerMtok {
        let v = match cat_v {
            Some(d) => f.num(cx, key, d, Check::NonNeg),
            None => f.num_req(cx, key, Check::NonNeg),
        };
        per_mtok(scaled(f, cx, key, v, limits::MAX_USD_PER_MTOK, "USD per million tokens"))
    };
    let input_price = price(&mut f, cx, "input_usd_per_mtok", cat.map(|c| c.input_usd_per_mtok));
    let output_price = price(&mut f, cx, "output_usd_per_mtok", cat.map(|c| c.output_usd_per_mtok));
    let cached_input_price = f
        .num_opt(cx, "cached_input_usd_per_mtok", Check::NonNeg)
        .or(cat.and_then(|c| c.cached_input_usd_per_mtok))
        .map(|p| per_mtok(scaled(&f, cx, "cached_input_usd_per_mtok", p, limits::MAX_USD_PER_MTOK, "USD per million tokens")));
    let fee = f.num(cx, "usd_per_request", 0.0, Check::NonNeg);
    let usd_per_request = usd(scaled(&f, cx, "usd_per_request", fee, limits::MAX_FEE_USD, "USD"));
    let ttft_s = match cat {
        Some(c) => f.dist(cx, "ttft_s", c.ttft_s, SECONDS),
        None => f.dist_req(cx, "ttft_s", SECONDS),
    };
    let output_tokens_per_s = match (cat, f.dist_opt(cx, "output_tokens_per_s", SPEED)) {
        (_, Some(d)) => d,
        (Some(c), None) => Dist::constant(c.output_tokens_per_s),
        (None, None) => {
            if node.get("output_tokens_per_s").is_none() {
                f.missing(cx, "output_tokens_per_s", "a positive number or a distribution table");
            }
            Dist::constant(1.0)
        }
    };
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
    if stalls {
        if let Some(n) = node.get("output_tokens_per_s") {
            cx.bad(
                n,
                &f.p("output_tokens_per_s"),
                format!(
                    "expected a speed that cannot be zero (a number of at least {}, or a distribution with positive support)",
                    limits::MIN_TOKENS_PER_S
                ),
            );
        }
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
    if error_rate >= 1.0 {
        if let Some(n) = node.get("error_rate") {
            cx.bad(n, &f.p("error_rate"), "must be below 1 (every attempt would fail)");
        }
    }
    let timeout_s = f.num_opt(cx, "timeout_s", Check::PosAtMost(limits::MAX_SECONDS));
    f.finish(cx);
    Some(Model {
        name: name.to_string(),
        input_price,
        output_price,
        cached_input_price,
        usd_per_request,
        ttft_s,
        output_tokens_per_s,
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
}
