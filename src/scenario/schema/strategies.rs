//! `[strategies.NAME]`: agent pipelines (steps, rework, orchestrator, platform fees,
//! retry, escalation) and human teams.

use super::Cx;
use super::fields::{Check, Fields, HOURS, usd};
use crate::model::limits;
use crate::model::*;
use crate::scenario::tree::{Node, Value};

/// Bit `i` of a step set (none past 63: more steps are rejected anyway).
fn bit(i: usize) -> u64 {
    1u64.checked_shl(i as u32).unwrap_or(0)
}

pub(super) fn strategy(cx: &mut Cx, name: &str, node: &Node, path: &str, agents: &[Agent], agent_names: &[String]) -> Option<Strategy> {
    let mut f = Fields::of(cx, node, path)?;
    // Read by `orchsim horizon` (crate::horizon::spec).
    f.take("adoption");
    let kind = f.choice(cx, "kind", 0, &[("agents", 0), ("human", 1)]);
    if kind == 1 {
        let team_size = f.count_max(cx, "team_size", 1, 1, limits::MAX_TEAM_SIZE) as u32;
        let hours_per_task = f.dist_req(cx, "hours_per_task", HOURS);
        let usd_per_hour = f.num_req(cx, "usd_per_hour", Check::AtMost(limits::MAX_USD_PER_HOUR));
        let error_rate = f.num(cx, "error_rate", 0.0, Check::Prob);
        let teams = f.count(cx, "teams", 1, 1);
        if teams > limits::MAX_TEAM_SIZE {
            let max = limits::MAX_TEAM_SIZE;
            cx.err(node.get("teams").and_then(|n| n.line), &f.p("teams"), teams.to_string(), format!("expected at most {max} teams"));
        }
        let teams = teams.min(limits::MAX_TEAM_SIZE) as u32;
        f.finish(cx);
        return Some(Strategy {
            name: name.to_string(),
            kind: StrategyKind::Human(HumanStrategy { team_size, hours_per_task, usd_per_hour, error_rate, teams }),
        });
    }
    let agent_ix = |cx: &mut Cx, n: &Node, p: &str| -> Option<usize> {
        match &n.value {
            Value::Str(s) => {
                let r = agents.iter().position(|a| &a.name == s);
                // An agent defined in the file but invalid has been reported already.
                if r.is_none() && !agent_names.iter().any(|a| a == s) {
                    cx.bad(n, p, format!("unknown agent; expected one of: {}", agent_names.join(", ")));
                }
                r
            }
            _ => {
                cx.bad(n, p, "expected an agent name");
                None
            }
        }
    };

    let mut steps: Vec<Step> = Vec::new();
    let mut ancestors: Vec<u64> = Vec::new();
    match f.take("steps") {
        Some(Node { value: Value::Array(items), line }) => {
            if items.is_empty() {
                cx.err(*line, &f.p("steps"), "[]".into(), "expected at least one step");
            }
            for (i, it) in items.iter().enumerate() {
                let sid = it.get("id").and_then(|n| if let Value::Str(s) = &n.value { Some(s.clone()) } else { None });
                let spath = format!("{}.{}", f.p("steps"), sid.clone().unwrap_or_else(|| i.to_string()));
                let Some(mut s) = Fields::of(cx, it, &spath) else { continue };
                let id = s.string_req(cx, "id", "a step id").unwrap_or("").to_string();
                if !id.is_empty() && steps.iter().any(|x| x.id == id) {
                    cx.bad(it.get("id").unwrap_or(it), &s.p("id"), "duplicate step id");
                }
                let agent = match s.take("agent") {
                    Some(n) => agent_ix(cx, n, &s.p("agent")),
                    None => {
                        s.missing(cx, "agent", "an agent name");
                        None
                    }
                };
                let step_ix = |cx: &mut Cx, n: &Node, p: &str| -> Option<usize> {
                    match &n.value {
                        Value::Str(x) => {
                            let r = steps.iter().position(|st| &st.id == x);
                            if r.is_none() {
                                cx.bad(n, p, "expected the id of an earlier step");
                            }
                            r
                        }
                        _ => {
                            cx.bad(n, p, "expected a step id");
                            None
                        }
                    }
                };
                let after = match s.take("after") {
                    None => {
                        if i > 0 {
                            vec![i - 1]
                        } else {
                            vec![]
                        }
                    }
                    Some(Node { value: Value::Array(a), .. }) => {
                        let p = s.p("after");
                        a.iter().filter_map(|x| step_ix(cx, x, &p)).collect()
                    }
                    Some(other) => {
                        cx.bad(other, &s.p("after"), "expected an array of earlier step ids");
                        vec![]
                    }
                };
                // Upstream steps (reachable through `after`), as a bit set.
                let upstream = after.iter().fold(0u64, |m, &p| m | bit(p) | ancestors.get(p).copied().unwrap_or(0));
                ancestors.push(upstream);
                let replicas = s.count(cx, "replicas", 1, 1);
                if replicas > limits::MAX_REPLICAS {
                    let max = limits::MAX_REPLICAS;
                    cx.bad(it.get("replicas").unwrap_or(it), &s.p("replicas"), format!("expected at most {max} replicas"));
                }
                let replicas = replicas.min(limits::MAX_REPLICAS) as u32;
                let merge = s.choice(cx, "merge", Merge::All, &[("all", Merge::All), ("vote", Merge::Vote)]);
                let is_reviewer = agent.map(|a| agents[a].review.is_some()).unwrap_or(false);
                let reworks_node = s.take("reworks");
                let reworks = match reworks_node {
                    Some(n) => {
                        let p = s.p("reworks");
                        if !is_reviewer && agent.is_some() {
                            cx.bad(n, &p, "only a reviewer step (an agent with `review`) sends work back");
                        }
                        let r = step_ix(cx, n, &p);
                        // Rework reruns the steps between the target and the reviewer, so
                        // the target must feed the reviewer.
                        if let Some(r) = r.filter(|&r| upstream & bit(r) == 0) {
                            cx.bad(
                                n,
                                &p,
                                format!("step `{}` is not upstream of this reviewer (not reachable through `after`)", steps[r].id),
                            );
                        }
                        r
                    }
                    None if is_reviewer => {
                        let r = (0..steps.len()).rev().find(|&k| upstream & bit(k) != 0 && agents[steps[k].agent].review.is_none());
                        if r.is_none() {
                            cx.err(
                                it.line,
                                &spath,
                                String::new(),
                                "a reviewer step needs a worker step upstream of it to send work back to",
                            );
                        }
                        r
                    }
                    None => None,
                };
                let max_rework = s.count_max(cx, "max_rework", 2, 0, limits::MAX_REWORK) as u32;
                let on_exhausted = s.choice(
                    cx,
                    "on_exhausted",
                    OnExhausted::Fail,
                    &[("fail", OnExhausted::Fail), ("deliver", OnExhausted::Deliver), ("escalate", OnExhausted::Escalate)],
                );
                s.finish(cx);
                steps.push(Step { id, agent: agent.unwrap_or(0), after, replicas, merge, reworks, max_rework, on_exhausted });
            }
            // Steps are bits of a u64 defect set; bit 63 is the orchestrator's.
            if items.len() > limits::MAX_STEPS {
                cx.err(*line, &f.p("steps"), items.len().to_string(), format!("at most {} steps per strategy", limits::MAX_STEPS));
            }
        }
        Some(other) => cx.bad(other, &f.p("steps"), "expected an array of tables ([[strategies.NAME.steps]])"),
        None => f.missing(cx, "steps", "at least one [[strategies.NAME.steps]]"),
    }
    let context =
        f.choice(cx, "context", Context::None, &[("none", Context::None), ("previous", Context::Previous), ("all", Context::All)]);
    let handoff_tokens = f.count_max(cx, "handoff_tokens", 0, 0, limits::MAX_TOKENS as u64);
    let orchestrator = f.sub(cx, "orchestrator").and_then(|mut o| {
        let agent = match o.take("agent") {
            Some(n) => agent_ix(cx, n, &o.p("agent")),
            None => {
                o.missing(cx, "agent", "an agent name");
                None
            }
        };
        let per_step = o.choice(cx, "calls", true, &[("per_step", true), ("per_task", false)]);
        o.finish(cx);
        Some(Orchestrator { agent: agent?, per_step })
    });
    let platform = f
        .sub(cx, "platform")
        .map(|mut p| {
            let pl = Platform {
                usd_per_task: usd(p.num(cx, "usd_per_task", 0.0, Check::AtMost(limits::MAX_FEE_USD))),
                usd_per_step: usd(p.num(cx, "usd_per_step", 0.0, Check::AtMost(limits::MAX_FEE_USD))),
                ppb_of_model_spend: (p.num(cx, "pct_of_model_spend", 0.0, Check::AtMost(limits::MAX_PCT_OF_MODEL_SPEND)) * 1e7).round()
                    as i128,
                usd_per_month: usd(p.num(cx, "usd_per_month", 0.0, Check::AtMost(limits::MAX_USD_PER_MONTH))),
            };
            p.finish(cx);
            pl
        })
        .unwrap_or_default();
    let retry = f
        .sub(cx, "retry")
        .map(|mut r| {
            let d = Retry::default();
            let rt = Retry {
                max_attempts: {
                    let m = r.count(cx, "max_attempts", 1, 1);
                    if m > limits::MAX_ATTEMPTS {
                        let n = node.get("retry").and_then(|x| x.get("max_attempts"));
                        cx.err(
                            n.and_then(|n| n.line),
                            &r.p("max_attempts"),
                            m.to_string(),
                            format!("expected at most {} attempts", limits::MAX_ATTEMPTS),
                        );
                    }
                    m.min(limits::MAX_ATTEMPTS) as u32
                },
                backoff_base_s: r.num(cx, "backoff_base_s", d.backoff_base_s, Check::AtMost(limits::MAX_SECONDS)),
                backoff_factor: r.num(cx, "backoff_factor", d.backoff_factor, Check::PosAtMost(limits::MAX_BACKOFF_FACTOR)),
                backoff_max_s: r.num(cx, "backoff_max_s", d.backoff_max_s, Check::AtMost(limits::MAX_SECONDS)),
                jitter: r.choice(cx, "jitter", Jitter::None, &[("none", Jitter::None), ("full", Jitter::Full)]),
            };
            r.finish(cx);
            rt
        })
        .unwrap_or_default();
    let escalation = f.sub(cx, "escalation").map(|mut e| {
        let es = Escalation {
            hours: e.dist_req(cx, "hours", HOURS),
            usd_per_hour: e.num_req(cx, "usd_per_hour", Check::AtMost(limits::MAX_USD_PER_HOUR)),
            error_rate: e.num(cx, "error_rate", 0.0, Check::Prob),
        };
        e.finish(cx);
        es
    });
    if escalation.is_none() {
        for s in &steps {
            if s.on_exhausted == OnExhausted::Escalate {
                cx.err(
                    node.line,
                    &f.p("escalation"),
                    String::new(),
                    format!("missing; step `{}` escalates, so the strategy needs escalation = {{ hours, usd_per_hour }}", s.id),
                );
            }
        }
    }
    f.finish(cx);
    Some(Strategy {
        name: name.to_string(),
        kind: StrategyKind::Agents(AgentsStrategy { steps, context, handoff_tokens, orchestrator, platform, retry, escalation }),
    })
}

#[cfg(test)]
mod tests {
    use crate::model::{Context, StrategyKind};
    use crate::scenario::schema::testing::{load, refused};

    #[test]
    fn steps_take_replicas_up_to_a_thousand() {
        let sc = load(&[("STEP", "replicas = 3\nmax_rework = 4")]).unwrap();
        let StrategyKind::Agents(a) = &sc.strategies[0].kind else { panic!("not agents") };
        assert_eq!((a.steps[0].replicas, a.steps[0].max_rework), (3, 4));
        assert_eq!(
            refused(&[("STEP", "replicas = 1001")]),
            "t.toml:20: strategies.s.steps.x.replicas = 1001: expected at most 1000 replicas"
        );
    }

    #[test]
    fn context_and_unknown_agents() {
        let sc = load(&[("STRATEGIES", "context = \"all\"")]).unwrap();
        let StrategyKind::Agents(a) = &sc.strategies[0].kind else { panic!("not agents") };
        assert_eq!(a.context, Context::All);
        assert_eq!(
            refused(&[("STRATEGIES", "context = \"bogus\"")]),
            "t.toml:16: strategies.s.context = \"bogus\": expected one of \"none\", \"previous\", \"all\""
        );
        assert_eq!(
            refused(&[("agent = \"a\"", "agent = \"zz\"")]),
            "t.toml:19: strategies.s.steps.x.agent = \"zz\": unknown agent; expected one of: a"
        );
    }

    #[test]
    fn human_teams() {
        let h = "[strategies.h]\nkind = \"human\"\nhours_per_task = 2\nusd_per_hour = 50";
        let sc = load(&[("STEP", h)]).unwrap();
        let StrategyKind::Human(hs) = &sc.strategies[1].kind else { panic!("not human") };
        assert_eq!((hs.usd_per_hour, hs.teams, hs.team_size), (50.0, 1, 1));
        assert_eq!(
            refused(&[("STEP", &format!("{h}\nteams = 2000000"))]),
            "t.toml:24: strategies.h.teams = 2000000: expected at most 1000000 teams"
        );
    }
}
