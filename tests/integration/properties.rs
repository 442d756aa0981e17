//! Property tests: invariants that must hold for any scenario, not just the shipped ones.

use std::io::Write;

use orchsim::economics::ledger::Category;
use orchsim::workflow::{Outcome, WorldOptions, run_world};
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Knobs {
    worker_error: f64,
    model_error: f64,
    recall: f64,
    fpr: f64,
    max_rework: u32,
    on_exhausted: &'static str,
    attempts: u32,
    replicas: u32,
    vote: bool,
    timeout: Option<f64>,
    concurrency: u32,
    handoff: u32,
    pct_fee: f64,
    monthly_fee: f64,
    systematic_share: f64,
    parallel: bool,
    /// Worker `w` as an agent loop: stop probability, max_turns, budget, tool time (s).
    agent_loop: Option<(f64, u32, Option<f64>, f64)>,
}

fn knobs() -> impl Strategy<Value = Knobs> {
    (
        (0.0..0.6f64, 0.0..0.5f64, 0.0..=1.0f64, 0.0..0.3f64, 0u32..4, prop::sample::select(vec!["fail", "deliver", "escalate"])),
        (1u32..4, 1u32..4, any::<bool>(), prop::option::of(1.0..20.0f64), 1u32..6, 0u32..2000),
        (
            0.0..10.0f64,
            0.0..500.0f64,
            0.0..0.3f64,
            any::<bool>(),
            prop::option::of((0.05..=1.0f64, 1u32..8, prop::option::of(0.0005..0.05f64), 0.0..600.0f64)),
        ),
    )
        .prop_map(|((we, me, r, f, mr, oe), (at, rep, vote, to, c, h), (pct, month, sys, par, lp))| Knobs {
            worker_error: we,
            model_error: me,
            recall: r,
            fpr: f,
            max_rework: mr,
            on_exhausted: oe,
            attempts: at,
            replicas: rep,
            vote,
            timeout: to,
            concurrency: c,
            handoff: h,
            pct_fee: pct,
            monthly_fee: month,
            systematic_share: sys,
            parallel: par,
            agent_loop: lp,
        })
}

fn scenario_text(k: &Knobs) -> String {
    let timeout = k.timeout.map(|t| format!("timeout_s = {t}\n")).unwrap_or_default();
    let after = if k.parallel { "after = []" } else { "" };
    // The loop's tool time spans the 5-minute cache lifetime: some turns read the
    // conversation, some write it again.
    let agent_loop = k
        .agent_loop
        .map(|(p, m, budget, tool)| {
            let budget = budget.map(|b| format!("max_cost_usd = {b}\n")).unwrap_or_default();
            format!(
                "[agents.w.loop]\nstop_probability = {p}\nmax_turns = {m}\n{budget}tool_result_tokens = {{ dist = \"poisson\", mean = 400 }}\n\
                 tool_time_s = {{ dist = \"exp\", mean = {tool} }}\n"
            )
        })
        .unwrap_or_default();
    format!(
        r#"
name = "prop"
seed = 11
replications = 1
[workload]
tasks = 60
arrivals = {{ process = "poisson", rate_per_hour = 600 }}
[[workload.classes]]
name = "a"
share = 0.5
business_unit = "x"
difficulty = 1.5
value_usd = 3
wrong_penalty_usd = 7
deadline_s = 60
[[workload.classes]]
name = "b"
share = 0.5
business_unit = "y"
[models.m]
input_usd_per_mtok = 1.25
output_usd_per_mtok = 10
cached_input_usd_per_mtok = 0.125
usd_per_request = 0.0001
ttft_s = {{ dist = "exp", mean = 1 }}
output_tokens_per_s = {{ dist = "uniform", min = 20, max = 80 }}
max_concurrency = {c}
error_rate = {me}
{timeout}
[agents.w]
model = "m"
system_prompt_tokens = 300
input_tokens = {{ dist = "poisson", mean = 500 }}
output_tokens = {{ dist = "lognormal", mean = 200, sd = 80 }}
error_rate = {we}
systematic = {{ share = {sys} }}
tool_calls = {{ count = {{ dist = "poisson", mean = 1 }}, latency_s = 0.5, usd_per_call = 0.001, tokens_per_call = 50 }}
{agent_loop}[agents.w2]
model = "m"
output_tokens = 100
error_rate = {we}
[agents.r]
model = "m"
output_tokens = 20
review = {{ recall = {r}, false_positive_rate = {f} }}
[agents.boss]
model = "m"
output_tokens = 30
error_rate = 0.05
[strategies.s]
context = "all"
handoff_tokens = {h}
orchestrator = {{ agent = "boss", calls = "per_step" }}
platform = {{ usd_per_task = 0.001, usd_per_step = 0.0005, pct_of_model_spend = {pct}, usd_per_month = {month} }}
retry = {{ max_attempts = {at}, backoff_base_s = 0.5, jitter = "full" }}
escalation = {{ hours = 0.25, usd_per_hour = 60, error_rate = 0.1 }}
steps = [
  {{ id = "one", agent = "w", replicas = {rep}, merge = "{merge}" }},
  {{ id = "two", agent = "w2", {after} }},
  {{ id = "check", agent = "r", after = ["one", "two"], reworks = "one", max_rework = {mr}, on_exhausted = "{oe}" }},
]
[strategies.people]
kind = "human"
hours_per_task = {{ dist = "gamma", shape = 2, scale = 0.5 }}
usd_per_hour = 40
teams = 3
error_rate = {we}
"#,
        c = k.concurrency,
        me = k.model_error,
        we = k.worker_error,
        sys = k.systematic_share,
        r = k.recall,
        f = k.fpr,
        h = k.handoff,
        pct = k.pct_fee,
        month = k.monthly_fee,
        at = k.attempts,
        rep = k.replicas,
        merge = if k.vote { "vote" } else { "all" },
        mr = k.max_rework,
        oe = k.on_exhausted,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    #[test]
    fn invariants_hold_for_any_scenario(k in knobs()) {
        let mut f = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
        f.write_all(scenario_text(&k).as_bytes()).unwrap();
        let sc = orchsim::scenario::load(Some(f.path()), &[]).map_err(|e| TestCaseError::fail(e.to_string()))?.scenario;
        for s in 0..sc.strategies.len() {
            let opts = WorldOptions { task_log: true };
            let w = run_world(&sc, s, 0, opts, None);
            let c = &w.counters;
            let l = &w.ledger;
            // Every task ends in exactly one outcome.
            prop_assert_eq!(c.tasks, 60);
            prop_assert_eq!(c.correct + c.wrong + c.failed, c.tasks);
            prop_assert!(c.escalated <= c.correct + c.wrong);
            prop_assert_eq!(w.task_rows.len() as u64, c.tasks);
            // Money: rows, business units and categories each add up to the total, exactly.
            prop_assert_eq!(l.rows.iter().map(|r| r.cost.0).sum::<i128>(), l.total.0);
            prop_assert_eq!(l.bus.iter().map(|b| b.cost.0).sum::<i128>(), l.total.0);
            prop_assert_eq!(l.by_category.iter().map(|x| x.0).sum::<i128>(), l.total.0);
            prop_assert!(c.wasted.0 >= 0 && c.wasted <= l.total);
            // Per-task costs add up to the total but for the monthly fee (not per task).
            let tasks_sum: i128 = w.task_rows.iter().map(|t| t.cost.0).sum();
            let monthly = if k.monthly_fee > 0.0 && s == 0 { 1 } else { 0 };
            if monthly == 0 { prop_assert_eq!(tasks_sum, l.total.0); } else { prop_assert!(tasks_sum <= l.total.0); }
            let ok = |t: &&orchsim::workflow::TaskRow| t.outcome == Outcome::Correct || (t.outcome == Outcome::Escalated && t.root_cause.is_none());
            prop_assert_eq!(w.task_rows.iter().filter(ok).count() as u64, c.correct);
            prop_assert_eq!(w.task_rows.iter().filter(|t| t.outcome == Outcome::Escalated).count() as u64, c.escalated);
            // The clock never goes back: every task finishes after it arrives, within the makespan.
            for t in &w.task_rows {
                prop_assert!(t.finish_s >= t.arrival_s);
                prop_assert!(t.finish_s <= c.makespan.as_secs() + 1e-9);
            }
            // Token counts: rows add up to the totals.
            prop_assert_eq!(l.rows.iter().map(|r| r.tokens_in).sum::<u64>(), c.tokens_in);
            // A retry policy of m attempts never makes more than m attempts per call.
            for r in l.rows.iter().take(if s == 0 { 3 } else { 0 }) {
                prop_assert!(r.attempts <= r.calls * k.attempts as u64);
                prop_assert!(r.failed_attempts <= r.attempts);
            }
            if s == 1 {
                prop_assert_eq!(l.category(Category::Human), l.total);
            }
            // Same inputs, same world.
            let again = run_world(&sc, s, 0, opts, None);
            prop_assert_eq!(again.ledger.total, l.total);
            prop_assert_eq!(again.counters.events, c.events);
        }
    }
}

/// A random step graph: each step follows a random subset of earlier steps; some steps
/// are reviewers that send work back to a random upstream worker.
fn graph() -> impl Strategy<Value = Vec<(Vec<usize>, bool, usize, u32, u32)>> {
    prop::collection::vec((any::<u8>(), any::<bool>(), any::<u8>(), 0u32..3, 1u32..3), 2..6).prop_map(|raw| {
        let mut steps: Vec<(Vec<usize>, bool, usize, u32, u32)> = Vec::new();
        for (i, (mask, reviewer, target, max_rework, replicas)) in raw.into_iter().enumerate() {
            let after: Vec<usize> = (0..i).filter(|p| mask & (1 << p) != 0).collect();
            steps.push((after, reviewer && i > 0, target as usize, max_rework, replicas));
        }
        steps
    })
}

fn upstream(steps: &[(Vec<usize>, bool, usize, u32, u32)], i: usize) -> Vec<usize> {
    let mut up: Vec<usize> = Vec::new();
    let mut stack = steps[i].0.clone();
    while let Some(p) = stack.pop() {
        if !up.contains(&p) {
            up.push(p);
            stack.extend(steps[p].0.iter().copied());
        }
    }
    up.sort_unstable();
    up
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    /// Any graph of steps and reviewers: no panic (debug builds check arithmetic), no
    /// task lost, money exact.
    #[test]
    fn any_step_graph_finishes_every_task_with_exact_money(g in graph(), orchestrated in any::<bool>()) {
        let mut steps = String::new();
        let mut ids: Vec<String> = Vec::new();
        for (i, (after, reviewer, target, max_rework, replicas)) in g.iter().enumerate() {
            let workers: Vec<usize> = upstream(&g, i).into_iter().filter(|&p| ids[p].starts_with('w')).collect();
            let is_reviewer = *reviewer && !workers.is_empty();
            let id = if is_reviewer { format!("r{i}") } else { format!("w{i}") };
            let after_ids: Vec<String> = after.iter().map(|p| format!("\"{}\"", ids[*p])).collect();
            if is_reviewer {
                let tgt = workers[target % workers.len()];
                steps.push_str(&format!(
                    "{{ id = \"{id}\", agent = \"rev\", after = [{}], reworks = \"{}\", max_rework = {max_rework}, on_exhausted = \"deliver\" }},\n",
                    after_ids.join(", "), ids[tgt]
                ));
            } else {
                steps.push_str(&format!("{{ id = \"{id}\", agent = \"w\", after = [{}], replicas = {replicas}, merge = \"vote\" }},\n", after_ids.join(", ")));
            }
            ids.push(id);
        }
        let orch = if orchestrated { "orchestrator = { agent = \"boss\", calls = \"per_step\" }\n" } else { "" };
        let text = format!(r#"
name = "graph"
replications = 1
[workload]
tasks = 40
arrivals = {{ process = "batch" }}
[models.m]
input_usd_per_mtok = 1
output_usd_per_mtok = 3
ttft_s = {{ dist = "exp", mean = 1 }}
output_tokens_per_s = 40
max_concurrency = 3
error_rate = 0.1
[agents.w]
model = "m"
output_tokens = 40
error_rate = 0.3
[agents.rev]
model = "m"
output_tokens = 5
review = {{ recall = 0.9, false_positive_rate = 0.2 }}
[agents.boss]
model = "m"
output_tokens = 5
error_rate = 0.1
[strategies.s]
{orch}retry = {{ max_attempts = 2, backoff_base_s = 0.1 }}
platform = {{ usd_per_step = 0.001 }}
steps = [
{steps}]
"#);
        let mut f = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        let sc = orchsim::scenario::load(Some(f.path()), &[]).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?.scenario;
        let w = run_world(&sc, 0, 0, WorldOptions { task_log: true }, None);
        if std::env::var_os("ORCHSIM_SHOW_GRAPHS").is_some() {
            eprintln!("{steps}reworks: {}", w.task_rows.iter().map(|t| t.reworks).sum::<u64>());
        }
        let c = &w.counters;
        prop_assert_eq!(c.correct + c.wrong + c.failed, c.tasks);
        prop_assert_eq!(w.task_rows.len() as u64, 40);
        prop_assert_eq!(w.task_rows.iter().map(|t| t.cost.0).sum::<i128>(), w.ledger.total.0);
        prop_assert_eq!(w.ledger.rows.iter().map(|r| r.cost.0).sum::<i128>(), w.ledger.total.0);
        prop_assert!(c.wasted <= w.ledger.total);
    }
}
