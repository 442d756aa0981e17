//! `[agents.NAME]`: the model an agent calls, its tokens, tool calls, faults and review.

use super::Cx;
use super::fields::{Check, Fields, SECONDS, TOKENS, TOOL_CALLS, TURNS, join_path, usd};
use crate::economics::billing::CacheMode;
use crate::model::limits;
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
    let system_prompt_tokens = f.count_max(cx, "system_prompt_tokens", 0, 0, limits::MAX_TOKENS as u64);
    let input_tokens = f.dist(cx, "input_tokens", 0.0, TOKENS);
    let output_tokens = f.dist(cx, "output_tokens", 0.0, TOKENS);
    let error_rate = f.num(cx, "error_rate", 0.0, Check::Prob);
    let error_correlation = correlation(cx, &mut f, node);
    let tool_calls = f.sub(cx, "tool_calls").map(|mut t| {
        let tc = ToolCalls {
            count: t.dist(cx, "count", 0.0, TOOL_CALLS),
            latency_s: t.dist(cx, "latency_s", 0.0, SECONDS),
            usd_per_call: usd(t.num(cx, "usd_per_call", 0.0, Check::AtMost(limits::MAX_FEE_USD))),
            tokens_per_call: t.dist(cx, "tokens_per_call", 0.0, TOKENS),
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
    let agent_loop = f.sub(cx, "loop").and_then(|mut l| {
        let r = agent_loop(cx, &mut l);
        l.finish(cx);
        r
    });
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
        agent_loop,
    })
}

/// `[agents.NAME.loop]`: `turns` (a distribution) or `stop_probability` (exactly one),
/// `max_turns`, `max_cost_usd`, `tool_result_tokens`, `tool_time_s`.
fn agent_loop(cx: &mut Cx, l: &mut Fields) -> Option<AgentLoop> {
    let given = |key: &str| l.entries.iter().any(|(k, _)| k == key);
    let (has_turns, has_stop) = (given("turns"), given("stop_probability"));
    let dist = l.dist_opt(cx, "turns", TURNS);
    let stop = l.num_opt(cx, "stop_probability", Check::Prob);
    let max_turns = l.count_max(cx, "max_turns", limits::DEFAULT_MAX_TURNS, 1, limits::MAX_TURNS) as u32;
    let max_cost_usd = l.num_opt(cx, "max_cost_usd", Check::PosAtMost(limits::MAX_VALUE_USD)).map(usd);
    let tool_result_tokens = l.dist(cx, "tool_result_tokens", 0.0, TOKENS);
    let tool_time_s = l.dist(cx, "tool_time_s", 0.0, SECONDS);
    let turns = match (dist, stop) {
        (Some(d), None) => Turns::Dist(d),
        (None, Some(p)) if p > 0.0 => Turns::StopProbability(p),
        (None, Some(_)) => {
            cx.err(l.line, &l.p("stop_probability"), "0".into(), "expected a probability above 0 (at 0 the loop would never stop)");
            return None;
        }
        _ if has_turns && has_stop => {
            cx.err(l.line, &l.path, String::new(), "expected either turns or stop_probability, not both");
            return None;
        }
        // Given but invalid: already reported.
        _ if has_turns || has_stop => return None,
        _ => {
            cx.err(l.line, &l.path, String::new(), "expected turns (a distribution) or stop_probability (per turn)");
            return None;
        }
    };
    Some(AgentLoop { turns, max_turns, max_cost_usd, tool_result_tokens, tool_time_s })
}

/// An agent's billing keys, checked against what its model offers.
fn billing_keys(cx: &mut Cx, f: &mut Fields, model: Option<&Model>) -> (CacheMode, ServiceTier, Dist) {
    let cache =
        f.choice(cx, "prompt_cache", CacheMode::Auto, &[("auto", CacheMode::Auto), ("1h", CacheMode::OneHour), ("off", CacheMode::Off)]);
    let tiers: Vec<(&str, ServiceTier)> = ServiceTier::ALL.iter().map(|t| (t.name(), *t)).collect();
    let tier = f.choice(cx, "service_tier", ServiceTier::Standard, &tiers);
    let reasoning = f.dist(cx, "reasoning_tokens", 0.0, TOKENS);
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
    use crate::model::dist::Shape;
    use crate::scenario::schema::testing::{load, refused};

    #[test]
    fn tokens_are_non_negative_distributions() {
        let sc = load(&[("AGENTS", "input_tokens = 100\noutput_tokens = { dist = \"exp\", mean = 40 }")]).unwrap();
        assert!(matches!(sc.agents[0].input_tokens.shape(), Shape::Const(v) if *v == 100.0));
        assert!(matches!(sc.agents[0].output_tokens.shape(), Shape::Exp(_)));
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
        assert!(matches!(tc.count.shape(), Shape::Const(v) if *v == 2.0));
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
    fn a_loop_takes_turns_or_a_stop_probability_and_bounded_limits() {
        let a =
            &load(&[("AGENTS", "loop = { turns = 4, max_cost_usd = 2, tool_result_tokens = 300, tool_time_s = 1.5 }")]).unwrap().agents[0];
        let l = a.agent_loop.as_ref().unwrap();
        assert!(matches!(&l.turns, crate::model::Turns::Dist(d) if d.as_constant() == Some(4.0)));
        assert_eq!((l.max_turns, l.max_cost_usd), (100, Some(Usd::from_f64(2.0))));
        let l = load(&[("AGENTS", "loop = { stop_probability = 0.2, max_turns = 30 }")]).unwrap().agents[0].agent_loop.clone().unwrap();
        assert!(matches!(l.turns, crate::model::Turns::StopProbability(p) if p == 0.2));
        assert_eq!((l.max_turns, l.max_cost_usd), (30, None));
        assert!(load(&[]).unwrap().agents[0].agent_loop.is_none());
        assert_eq!(
            refused(&[("AGENTS", "loop = { turns = 4, stop_probability = 0.2 }")]),
            "t.toml:14: agents.a.loop: expected either turns or stop_probability, not both"
        );
        assert_eq!(
            refused(&[("AGENTS", "loop = { max_turns = 4 }")]),
            "t.toml:14: agents.a.loop: expected turns (a distribution) or stop_probability (per turn)"
        );
        assert_eq!(
            refused(&[("AGENTS", "loop = { stop_probability = 0 }")]),
            "t.toml:14: agents.a.loop.stop_probability = 0: expected a probability above 0 (at 0 the loop would never stop)"
        );
        assert!(refused(&[("AGENTS", "loop = { turns = 2, max_turns = 0 }")]).starts_with("t.toml:14: agents.a.loop.max_turns = 0:"));
        assert!(
            refused(&[("AGENTS", "loop = { turns = 2, max_turns = 10001 }")]).starts_with("t.toml:14: agents.a.loop.max_turns = 10001:")
        );
        assert!(refused(&[("AGENTS", "loop = { turns = 20000 }")]).starts_with("t.toml:14: agents.a.loop.turns = 20000:"));
        assert!(
            refused(&[("AGENTS", "loop = { turns = 2, max_cost_usd = -1 }")]).starts_with("t.toml:14: agents.a.loop.max_cost_usd = -1:")
        );
        assert_eq!(
            refused(&[("AGENTS", "loop = { turns = 2, turn = 3 }")]),
            "t.toml:14: agents.a.loop.turn = 3: unknown key; expected one of: max_cost_usd, max_turns, stop_probability, \
             tool_result_tokens, tool_time_s, turns"
        );
    }

    #[test]
    fn billing_keys_default_and_are_checked_against_the_models_offers() {
        use crate::economics::billing::CacheMode;
        use crate::model::ServiceTier;
        let a = &load(&[]).unwrap().agents[0];
        assert_eq!((a.prompt_cache, a.service_tier), (CacheMode::Auto, ServiceTier::Standard));
        assert!(matches!(a.reasoning_tokens.shape(), crate::model::dist::Shape::Const(v) if *v == 0.0));
        let sonnet = ("model = \"m\"", "model = \"claude-sonnet-4-5\"");
        let sc = load(&[sonnet, ("AGENTS", "prompt_cache = \"1h\"\nservice_tier = \"batch\"\nreasoning_tokens = 300")]).unwrap();
        let a = &sc.agents[0];
        assert!(a.tool_calls.is_none());
        let tc = load(&[("AGENTS", "tool_calls = { count = 3, kind = \"web_search\" }")]).unwrap().agents[0].tool_calls.clone().unwrap();
        assert!(tc.web_search);
        assert!(!load(&[("AGENTS", "tool_calls = { count = 3 }")]).unwrap().agents[0].tool_calls.clone().unwrap().web_search);
        assert_eq!((a.prompt_cache, a.service_tier), (CacheMode::OneHour, ServiceTier::Batch));
        assert!(matches!(a.reasoning_tokens.shape(), crate::model::dist::Shape::Const(v) if *v == 300.0));
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
