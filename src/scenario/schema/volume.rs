//! The worst case of each strategy: refuses a scenario whose sums could overflow (see
//! [`crate::model::limits`] for the argument).

use super::Cx;
use crate::model::limits::{self, MAX_WORLD_ATTEMPTS, MAX_WORLD_TOKENS, MAX_WORLD_USD, Volume, world_volume};
use crate::model::*;
use crate::scenario::tree::Node;

/// Months in the longest simulated time (`u64` nanoseconds: 584 years): a bound on what
/// a monthly fee can add.
const MAX_MONTHS: f64 = 7_100.0;

/// The worst case of one world of a strategy.
pub(super) fn volume(sc: &Scenario, st: &Strategy) -> Volume {
    let classes = &sc.workload.classes;
    let value = classes.iter().map(|c| c.value_usd.as_f64() + c.wrong_penalty_usd.as_f64()).fold(0.0, f64::max);
    match &st.kind {
        StrategyKind::Human(h) => Volume {
            attempts_per_task: 1.0,
            tokens_per_attempt: 0.0,
            usd_per_attempt: h.hours_per_task.max_value() * h.usd_per_hour * h.team_size as f64,
            usd_per_task: value,
        },
        StrategyKind::Agents(a) => agents_volume(sc, a, value),
    }
}

fn agents_volume(sc: &Scenario, a: &AgentsStrategy, value: f64) -> Volume {
    let replicas: f64 = a.steps.iter().map(|s| s.replicas as f64).sum();
    let reworks: f64 = a.steps.iter().filter(|s| s.reworks.is_some()).map(|s| s.max_rework as f64).sum();
    let orch = if a.orchestrator.is_some() { 2.0 } else { 1.0 };
    let agents = a.steps.iter().map(|s| s.agent).chain(a.orchestrator.as_ref().map(|o| o.agent));
    // An agent loop makes up to max_turns calls where a plain agent makes one.
    let turns = agents.clone().map(|i| sc.agents[i].agent_loop.as_ref().map_or(1.0, |l| l.max_turns as f64)).fold(1.0, f64::max);
    let attempts_per_task = (orch * replicas * (1.0 + reworks) + 1.0) * a.retry.max_attempts as f64 * turns;
    // The context is at most every upstream output.
    let context: f64 = a.steps.iter().map(|s| s.replicas as f64 * sc.agents[s.agent].output_tokens.max_value()).sum();
    let tools = |ag: &Agent| ag.tool_calls.as_ref().map_or(0.0, |t| t.count.max_value().round());
    let own = |ag: &Agent| {
        let t = ag.tool_calls.as_ref().map_or(0.0, |t| tools(ag) * t.tokens_per_call.max_value());
        let one = ag.system_prompt_tokens as f64 + ag.input_tokens.max_value() + ag.output_tokens.max_value() + t;
        // A loop's prompt grows by an output and a tool result a turn, up to the largest
        // context window (a turn beyond it stops the loop).
        let grown = ag.agent_loop.as_ref().map_or(0.0, |l| {
            let prompt = one + l.max_turns as f64 * (ag.output_tokens.max_value() + l.tool_result_tokens.max_value());
            prompt.min(limits::MAX_TOKENS) + ag.output_tokens.max_value()
        });
        one.max(grown) + ag.reasoning_tokens.max_value()
    };
    let tokens_per_attempt = agents.clone().map(|i| own(&sc.agents[i])).fold(0.0, f64::max) + a.handoff_tokens as f64 + context;
    let usd = |ag: &Agent| {
        let m = &sc.models[ag.model];
        let price = [Some(m.input_price), Some(m.output_price), m.cached_input_price]
            .into_iter()
            .flatten()
            .map(|p| p.usd_per_mtok() / 1e6)
            .fold(0.0, f64::max);
        let fees = m.usd_per_request.as_f64() + ag.tool_calls.as_ref().map_or(0.0, |t| tools(ag) * t.usd_per_call.as_f64());
        tokens_per_attempt * price + fees
    };
    let model_usd = agents.map(|i| usd(&sc.agents[i])).fold(0.0, f64::max);
    let p = &a.platform;
    let usd_per_attempt = model_usd * (1.0 + p.ppb_of_model_spend as f64 / 1e9) + p.usd_per_step.as_f64();
    let escalation = a.escalation.as_ref().map_or(0.0, |e| e.hours.max_value() * e.usd_per_hour);
    Volume { attempts_per_task, tokens_per_attempt, usd_per_attempt, usd_per_task: p.usd_per_task.as_f64() + escalation + value }
}

/// Refuses each strategy whose worst-case world could overflow a counter or a sum.
pub(super) fn check(cx: &mut Cx, root: &Node, sc: &Scenario) {
    let tasks = sc.workload.tasks;
    for st in &sc.strategies {
        let v = volume(sc, st);
        let (attempts, tokens, mut usd) = world_volume(&v, tasks);
        if let StrategyKind::Agents(a) = &st.kind {
            usd += a.platform.usd_per_month.as_f64() * MAX_MONTHS;
        }
        // Every factor is finite and non-negative (validated), so no NaN reaches here.
        let why = if attempts > MAX_WORLD_ATTEMPTS {
            format!("up to {attempts:.3e} attempts (at most {MAX_WORLD_ATTEMPTS:e})")
        } else if tokens > MAX_WORLD_TOKENS {
            format!("up to {tokens:.3e} tokens (at most {MAX_WORLD_TOKENS:e})")
        } else if usd > MAX_WORLD_USD {
            format!("up to {usd:.3e} USD (at most {MAX_WORLD_USD:e})")
        } else {
            continue;
        };
        let line = root.get("strategies").and_then(|s| s.get(&st.name)).and_then(|n| n.line);
        cx.err(
            line,
            &super::fields::join_path("strategies", &st.name),
            String::new(),
            format!(
                "its worst case cannot be counted exactly: with workload.tasks = {tasks}, {} attempts per task and {} tokens per \
                 attempt at most, one replication could reach {why}; lower workload.tasks, retries, reworks, replicas, token sizes \
                 or prices (limits: README, \"Limits\")",
                v.attempts_per_task, v.tokens_per_attempt,
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::schema::testing::{load, refused};

    #[test]
    fn the_worst_case_is_computed_from_every_factor() {
        // One step, reviewer-less, no retry: 1 attempt per task plus the orchestrator
        // allowance of one; tokens: input 100 + output 50 + the step's own output as context.
        let sc = load(&[("AGENTS", "input_tokens = 100\noutput_tokens = 50")]).unwrap();
        let v = volume(&sc, &sc.strategies[0]);
        assert_eq!(v.attempts_per_task, 2.0);
        assert_eq!(v.tokens_per_attempt, 200.0);
        // Price: $2 per million output tokens is the highest of the model's prices.
        assert!((v.usd_per_attempt - 200.0 * 2e-6).abs() < 1e-15);
        // Unbounded distributions count at their cap: an exponential output is at most
        // 10M tokens a draw.
        let sc = load(&[("AGENTS", "output_tokens = { dist = \"exp\", mean = 50 }"), ("STEP", "replicas = 3")]).unwrap();
        let v = volume(&sc, &sc.strategies[0]);
        assert_eq!(v.tokens_per_attempt, 1e7 + 3.0 * 1e7);
        assert_eq!(v.attempts_per_task, 3.0 + 1.0);
    }

    #[test]
    fn a_world_too_large_to_count_is_refused_with_its_factors() {
        // 1e9 tasks × 1001 attempts × 2e7 tokens = 2e19 tokens > 1e19.
        let parts = [
            ("tasks = 10", "tasks = 1000000000"),
            ("AGENTS", "input_tokens = 10000000\noutput_tokens = 10000000"),
            ("STRATEGIES", "retry = { max_attempts = 500 }"),
        ];
        let e = refused(&parts);
        assert!(
            e.starts_with(
                "t.toml:16: strategies.s: its worst case cannot be counted exactly: with workload.tasks = 1000000000, 1000 \
                 attempts per task and 30000000 tokens per attempt at most, one replication could reach up to 3.000e19 tokens"
            ),
            "{e}"
        );
        // A tenth of the tasks fits.
        assert!(load(&[("tasks = 10", "tasks = 100000000"), parts[1], parts[2]]).is_ok());
    }
}
