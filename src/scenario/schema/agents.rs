//! `[agents.NAME]`: the model an agent calls, its tokens, tool calls, faults and review.

use super::Cx;
use super::fields::{Check, Fields, join_path, usd};
use crate::economics::billing::CacheMode;
use crate::model::*;
use crate::scenario::tree::{Node, Value};

#[allow(clippy::too_many_arguments)]
pub(super) fn agent(
    cx: &mut Cx,
    name: &str,
    node: &Node,
    path: &str,
    classes: &[String],
    models: &mut Vec<Model>,
    model_index: &mut impl FnMut(&mut Cx, &str, &mut Vec<Model>) -> Option<usize>,
) -> Option<Agent> {
    let mut f = Fields::of(cx, node, path)?;
    let model_name = f.string_req(cx, "model", "the name of a [models.NAME] table or a catalog model (`orchsim models`)");
    let model = model_name.and_then(|m| {
        let r = model_index(cx, m, models);
        if r.is_none() && !cx.diags.iter().any(|d| d.path.starts_with(&join_path("models", m))) {
            let n = node.get("model").unwrap_or(node);
            cx.bad(n, &f.p("model"), "unknown model: define [models.NAME] or use a catalog name (`orchsim models`)");
        }
        r
    });
    let system_prompt_tokens = f.count(cx, "system_prompt_tokens", 0, 0);
    let input_tokens = f.dist(cx, "input_tokens", 0.0);
    let output_tokens = f.dist(cx, "output_tokens", 0.0);
    let error_rate = f.num(cx, "error_rate", 0.0, Check::Prob);
    let error_correlation = correlation(cx, &mut f, node);
    let tool_calls = f.sub(cx, "tool_calls").map(|mut t| {
        let tc = ToolCalls {
            count: t.dist(cx, "count", 0.0),
            latency_s: t.dist(cx, "latency_s", 0.0),
            usd_per_call: usd(t.num(cx, "usd_per_call", 0.0, Check::NonNeg)),
            tokens_per_call: t.dist(cx, "tokens_per_call", 0.0),
            web_search: t.choice(cx, "kind", false, &[("tool", false), ("web_search", true)]),
        };
        t.finish(cx);
        tc
    });
    let systematic = f.sub(cx, "systematic").map(|mut s| {
        let mut idx = Vec::new();
        if let Some(n) = s.take("classes") {
            let cpath = s.p("classes");
            match &n.value {
                Value::Array(items) => {
                    for it in items {
                        match &it.value {
                            Value::Str(c) => match classes.iter().position(|x| x == c) {
                                Some(i) => idx.push(i),
                                None => cx.bad(it, &cpath, format!("unknown task class; expected one of: {}", classes.join(", "))),
                            },
                            _ => cx.bad(it, &cpath, "expected class names (strings)"),
                        }
                    }
                }
                _ => cx.bad(n, &cpath, "expected an array of class names"),
            }
        }
        let share = s.num(cx, "share", 0.0, Check::Prob);
        s.finish(cx);
        Systematic { classes: idx, share }
    });
    let review = f.sub(cx, "review").map(|mut r| {
        let rv = Review {
            recall: r.num_req(cx, "recall", Check::Prob),
            false_positive_rate: r.num(cx, "false_positive_rate", 0.0, Check::Prob),
        };
        r.finish(cx);
        rv
    });
    // A reviewer's own mistakes are its misses and false alarms; it puts no defects
    // into the work, so a worker's error rate or systematic fault would be ignored.
    if review.is_some() {
        for key in ["error_rate", "systematic"] {
            if let Some(n) = node.get(key).filter(|n| !matches!(n.value, Value::Int(0)) && !matches!(n.value, Value::Float(x) if x == 0.0))
            {
                cx.bad(
                    n,
                    &f.p(key),
                    "a reviewer introduces no defects: model its mistakes with review.recall and review.false_positive_rate",
                );
            }
        }
    }
    let (prompt_cache, service_tier, reasoning_tokens) = billing_keys(cx, &mut f, model.map(|m| &models[m]));
    f.finish(cx);
    Some(Agent {
        name: name.to_string(),
        model: model?,
        system_prompt_tokens,
        input_tokens,
        output_tokens,
        error_rate,
        error_correlation,
        tool_calls,
        systematic,
        review,
        prompt_cache,
        service_tier,
        reasoning_tokens,
    })
}

/// An agent's billing keys, checked against what its model offers.
fn billing_keys(cx: &mut Cx, f: &mut Fields, model: Option<&Model>) -> (CacheMode, ServiceTier, Dist) {
    let cache =
        f.choice(cx, "prompt_cache", CacheMode::Auto, &[("auto", CacheMode::Auto), ("1h", CacheMode::OneHour), ("off", CacheMode::Off)]);
    let tiers: Vec<(&str, ServiceTier)> = ServiceTier::ALL.iter().map(|t| (t.name(), *t)).collect();
    let tier = f.choice(cx, "service_tier", ServiceTier::Standard, &tiers);
    let reasoning = f.dist(cx, "reasoning_tokens", 0.0);
    let Some(m) = model.filter(|m| !m.pricing.tiers.is_empty()) else { return (cache, tier, reasoning) };
    let at = |key: &str| f.entries.iter().find(|(k, _)| k == key).map(|(_, n)| n);
    if let Some(n) = at("service_tier").filter(|_| !m.pricing.offers(tier)) {
        let offered: Vec<&str> = m.pricing.offered().iter().map(|t| t.name()).collect();
        cx.bad(
            n,
            &f.p("service_tier"),
            format!("{} is not offered at this tier; the price map offers it at: {}", m.name, offered.join(", ")),
        );
    }
    let one_hour = m.cache.ttl_1h_s.is_some() && m.pricing.base().cache_write_1h.is_some();
    if let Some(n) = at("prompt_cache").filter(|_| cache == CacheMode::OneHour && !one_hour) {
        let msg =
            format!("{} has no 1-hour cache write price (cache_creation_input_token_cost_above_1hr); expected \"auto\" or \"off\"", m.name);
        cx.bad(n, &f.p("prompt_cache"), msg);
    }
    (cache, tier, reasoning)
}

/// An optional `error_correlation`: a number in `[0, 1)` (1 would make every attempt
/// on a task share one fate, and the model's noise term vanish).
pub(super) fn correlation(cx: &mut Cx, f: &mut Fields, node: &Node) -> Option<f64> {
    let rho = f.num_opt(cx, "error_correlation", Check::Prob)?;
    if rho >= 1.0 {
        let n = node.get("error_correlation").unwrap_or(node);
        cx.bad(n, &f.p("error_correlation"), "expected a correlation in [0, 1): at least 0 and below 1");
        return None;
    }
    Some(rho)
}

#[cfg(test)]
mod tests {
    use crate::economics::money::Usd;
    use crate::model::Dist;
    use crate::scenario::schema::testing::{load, refused};

    #[test]
    fn tokens_are_non_negative_distributions() {
        let sc = load(&[("AGENTS", "input_tokens = 100\noutput_tokens = { dist = \"exp\", mean = 40 }")]).unwrap();
        assert!(matches!(sc.agents[0].input_tokens, Dist::Const(v) if v == 100.0));
        assert!(matches!(sc.agents[0].output_tokens, Dist::Exp(_)));
        assert_eq!(refused(&[("AGENTS", "input_tokens = -5")]), "t.toml:14: agents.a.input_tokens = -5: expected a non-negative number");
    }

    #[test]
    fn the_model_must_exist() {
        let sc = load(&[("AGENTS", "[agents.b]\nmodel = \"gpt-4.1\"")]).unwrap();
        assert_eq!(sc.models.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(), ["m", "gpt-4.1"]);
        assert_eq!(
            refused(&[("AGENTS", "[agents.b]\nmodel = \"nope\"")]),
            "t.toml:15: agents.b.model = \"nope\": unknown model: define [models.NAME] or use a catalog name (`orchsim models`)"
        );
    }

    #[test]
    fn error_correlation_is_in_0_to_1_and_overrides_the_class() {
        let sc = load(&[("AGENTS", "error_correlation = 0.6")]).unwrap();
        assert_eq!(sc.agents[0].error_correlation, Some(0.6));
        assert_eq!(sc.workload.classes[0].error_correlation, 0.0);
        assert_eq!(
            refused(&[("AGENTS", "error_correlation = 1")]),
            "t.toml:14: agents.a.error_correlation = 1: expected a correlation in [0, 1): at least 0 and below 1"
        );
        assert_eq!(
            refused(&[("AGENTS", "error_correlation = -0.1")]),
            "t.toml:14: agents.a.error_correlation = -0.1: must be between 0 and 1"
        );
    }

    #[test]
    fn tool_calls_and_review() {
        let sc = load(&[("AGENTS", "tool_calls = { count = 2, usd_per_call = 0.01 }")]).unwrap();
        let tc = sc.agents[0].tool_calls.as_ref().unwrap();
        assert_eq!(tc.usd_per_call, Usd::from_f64(0.01));
        assert!(matches!(tc.count, Dist::Const(v) if v == 2.0));
        assert_eq!(
            refused(&[("AGENTS", "tool_calls = { count = 2, usd = 1 }")]),
            "t.toml:14: agents.a.tool_calls.usd = 1: unknown key; expected one of: count, kind, latency_s, tokens_per_call, \
             usd_per_call"
        );
        let sc = load(&[("AGENTS", "review = { recall = 0.9 }")]);
        // A reviewer step needs a worker upstream: a reviewer alone is refused there.
        assert!(sc.is_err());
        assert_eq!(
            load(&[("AGENTS", "review = { recall = 0.9 }\nerror_rate = 0.1")]).unwrap_err()[0],
            "t.toml:15: agents.a.error_rate = 0.1: a reviewer introduces no defects: model its mistakes with review.recall and \
             review.false_positive_rate"
        );
    }

    #[test]
    fn billing_keys_default_and_are_checked_against_the_models_offers() {
        use crate::economics::billing::CacheMode;
        use crate::model::ServiceTier;
        let a = &load(&[]).unwrap().agents[0];
        assert_eq!((a.prompt_cache, a.service_tier), (CacheMode::Auto, ServiceTier::Standard));
        assert!(matches!(a.reasoning_tokens, Dist::Const(v) if v == 0.0));
        let sonnet = ("model = \"m\"", "model = \"claude-sonnet-4-5\"");
        let sc = load(&[sonnet, ("AGENTS", "prompt_cache = \"1h\"\nservice_tier = \"batch\"\nreasoning_tokens = 300")]).unwrap();
        let a = &sc.agents[0];
        assert!(a.tool_calls.is_none());
        let tc = load(&[("AGENTS", "tool_calls = { count = 3, kind = \"web_search\" }")]).unwrap().agents[0].tool_calls.clone().unwrap();
        assert!(tc.web_search);
        assert!(!load(&[("AGENTS", "tool_calls = { count = 3 }")]).unwrap().agents[0].tool_calls.clone().unwrap().web_search);
        assert_eq!((a.prompt_cache, a.service_tier), (CacheMode::OneHour, ServiceTier::Batch));
        assert!(matches!(a.reasoning_tokens, Dist::Const(v) if v == 300.0));
        let gpt = ("model = \"m\"", "model = \"gpt-4o\"");
        assert_eq!(
            refused(&[gpt, ("AGENTS", "service_tier = \"flex\"")]),
            "t.toml:14: agents.a.service_tier = \"flex\": gpt-4o is not offered at this tier; the price map offers it at: standard, batch, priority"
        );
        assert_eq!(
            refused(&[gpt, ("AGENTS", "prompt_cache = \"1h\"")]),
            "t.toml:14: agents.a.prompt_cache = \"1h\": gpt-4o has no 1-hour cache write price \
             (cache_creation_input_token_cost_above_1hr); expected \"auto\" or \"off\""
        );
        assert_eq!(
            refused(&[("AGENTS", "service_tier = \"cheap\"")]),
            "t.toml:14: agents.a.service_tier = \"cheap\": expected one of \"standard\", \"batch\", \"flex\", \"priority\""
        );
    }
}
