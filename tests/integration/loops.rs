//! Agent loops (`[agents.NAME.loop]`): each turn's prompt is the previous prompt, its
//! output and a tool result; the prefix is read from the prompt cache while it lives;
//! limits stop the loop and fail the task. Every expected value below is computed by
//! hand from the scenario's constants, or from the geometric law of the turns.

use orchsim::economics::Usd;
use orchsim::model::Scenario;
use orchsim::workflow::event::{Event, LoopLimit};
use orchsim::workflow::{Outcome, WorldOptions, WorldResult, run_observed, run_world};

use crate::common::load_scenario as load;

/// One micro-dollar (one token at $1 per million), in pico-dollars.
const MICRO: i128 = 1_000_000;

/// A Sonnet-like model: $3 in, $0.30 cache read, $3.75 cache write, $15 out per million
/// tokens; 1 s to first token, 100 tokens/s; its cache rule is the default one
/// (1,024-token minimum, 5-minute time to live). One agent `a` in one step; `agent`
/// and `lp` are appended to its table and its `loop` table.
fn scenario(tasks: u32, agent: &str, lp: &str) -> Scenario {
    load(&toml(tasks, agent, lp))
}

/// The text of [`scenario`].
fn toml(tasks: u32, agent: &str, lp: &str) -> String {
    format!(
        "name = \"loops\"\nseed = 11\nreplications = 1\n[workload]\ntasks = {tasks}\narrivals = {{ process = \"fixed\", interval_s = 3600 }}\n\
         [models.m]\ninput_usd_per_mtok = 3\ncached_input_usd_per_mtok = 0.3\ncache_write_usd_per_mtok = 3.75\noutput_usd_per_mtok = 15\n\
         ttft_s = 1\noutput_tokens_per_s = 100\n\
         [agents.a]\nmodel = \"m\"\nsystem_prompt_tokens = 2000\ninput_tokens = 1000\noutput_tokens = 100\n{agent}\n\
         [agents.a.loop]\n{lp}\n\
         [strategies.solo]\nsteps = [{{ id = \"work\", agent = \"a\" }}]\n"
    )
}

fn world(sc: &Scenario) -> WorldResult {
    run_world(sc, 0, 0, WorldOptions { task_log: true }, None)
}

fn events(sc: &Scenario) -> Vec<Event<'static>> {
    let (_, obs) = run_observed(sc, 0, 0, WorldOptions { task_log: true }, Vec::new());
    obs.into_iter().map(|(_, e)| e).collect()
}

#[test]
fn three_turns_read_the_previous_prompt_from_the_cache_and_write_the_new_tokens() {
    // Tasks an hour apart: each finds the system prompt's cache expired, so its first
    // turn writes all 3,000 prompt tokens; later turns read the previous prompt and
    // write the output and the 500-token tool result (600 tokens).
    let sc = scenario(3, "", "turns = 3\ntool_result_tokens = 500\ntool_time_s = 2");
    let w = world(&sc);
    // Turn 0: 3,000 written at $3.75 + 100 out at $15 = 11,250 + 1,500 µ$.
    // Turn 1: 3,000 read at $0.30 + 600 written + 100 out = 900 + 2,250 + 1,500 µ$.
    // Turn 2: 3,600 read + 600 written + 100 out = 1,080 + 2,250 + 1,500 µ$.
    let per_task = Usd((12_750 + 4_650 + 4_830) * MICRO);
    assert_eq!(w.task_rows.len(), 3);
    for t in &w.task_rows {
        assert_eq!(t.outcome, Outcome::Correct);
        assert_eq!(t.cost, per_task, "task {}", t.task);
        assert_eq!((t.tokens_in, t.tokens_out), (3_000 + 3_600 + 4_200, 300));
        assert_eq!(t.attempts, 3);
        // Three turns of 1 s + 1 s, and two tools of 2 s.
        assert!((t.finish_s - t.arrival_s - 10.0).abs() < 1e-6, "latency {}", t.finish_s - t.arrival_s);
    }
    assert_eq!(w.ledger.rows[0].calls, 9, "each turn is a model call");
    // The trail says which tokens were read and written.
    let ends: Vec<(u32, u64, u64, u64)> = events(&sc)
        .into_iter()
        .filter_map(|e| match e {
            Event::AttemptEnded { task: 0, turn, tokens_in, cache_read_in, cache_write_in, .. } => {
                Some((turn, tokens_in, cache_read_in, cache_write_in))
            }
            _ => None,
        })
        .collect();
    assert_eq!(ends, vec![(0, 3_000, 0, 3_000), (1, 3_600, 3_000, 600), (2, 4_200, 3_600, 600)]);
}

#[test]
fn a_tool_slower_than_the_cache_lifetime_makes_the_next_turn_write_it_again() {
    // 400 s of tool time > the 300 s lifetime: turn 1 writes its whole 3,600-token prompt.
    let sc = scenario(1, "", "turns = 2\ntool_result_tokens = 500\ntool_time_s = 400");
    let t = &world(&sc).task_rows[0];
    // Turn 0 as above (12,750 µ$); turn 1: 3,600 written + 100 out = 13,500 + 1,500 µ$.
    assert_eq!(t.cost, Usd((12_750 + 15_000) * MICRO));
    // At 299 s the prefix still lives: 3,000 read, 600 written.
    let sc = scenario(1, "", "turns = 2\ntool_result_tokens = 500\ntool_time_s = 297");
    assert_eq!(world(&sc).task_rows[0].cost, Usd((12_750 + 4_650) * MICRO));
}

#[test]
fn with_caching_off_every_turn_pays_its_whole_prompt_as_input() {
    let sc = scenario(1, "prompt_cache = \"off\"", "turns = 3\ntool_result_tokens = 500");
    // (3,000 + 3,600 + 4,200) at $3 + 300 out at $15.
    assert_eq!(world(&sc).task_rows[0].cost, Usd((10_800 * 3 + 300 * 15) * MICRO));
}

#[test]
fn a_loop_of_one_turn_on_a_model_without_write_premium_is_a_plain_call() {
    // Random tokens, latencies, errors, retries and timeouts: the draws of turn 0 are
    // keyed as a plain call's, and a model without a write price bills a write as
    // input, so every task is the same to the pico-dollar and the nanosecond.
    let base = |lp: &str| {
        load(&format!(
            "name = \"one\"\nseed = 5\nreplications = 1\n[workload]\ntasks = 300\narrivals = {{ process = \"poisson\", rate_per_hour = 3000 }}\n\
             [models.m]\ninput_usd_per_mtok = 2\ncached_input_usd_per_mtok = 0.5\noutput_usd_per_mtok = 8\n\
             ttft_s = {{ dist = \"lognormal\", mean = 1, sd = 0.5 }}\noutput_tokens_per_s = 80\nerror_rate = 0.1\ntimeout_s = 8\nmax_concurrency = 4\n\
             [agents.a]\nmodel = \"m\"\nsystem_prompt_tokens = 1500\ninput_tokens = {{ dist = \"lognormal\", mean = 800, sd = 400 }}\n\
             output_tokens = {{ dist = \"lognormal\", mean = 300, sd = 200 }}\nerror_rate = 0.2\n{lp}\n\
             [strategies.solo]\nretry = {{ max_attempts = 3, backoff_base_s = 1 }}\nsteps = [{{ id = \"work\", agent = \"a\" }}]\n"
        ))
    };
    let plain = world(&base(""));
    let looped = world(&base("loop = { turns = 1 }"));
    assert_eq!(plain.task_rows.len(), 300);
    assert!(plain.task_rows.iter().any(|t| t.outcome == Outcome::Wrong), "errors were drawn");
    assert!(plain.task_rows.iter().any(|t| t.attempts > 1), "retries happened");
    for (p, l) in plain.task_rows.iter().zip(&looped.task_rows) {
        assert_eq!((p.outcome, p.cost, p.tokens_in, p.tokens_out, p.attempts), (l.outcome, l.cost, l.tokens_in, l.tokens_out, l.attempts));
        assert_eq!(p.finish_s.to_bits(), l.finish_s.to_bits());
    }
}

#[test]
fn stop_probability_gives_geometric_turns_and_max_turns_fails_the_rest() {
    // N ~ Geometric(p = 0.25) on 1, 2, ...; a call that wants more than 8 turns stops
    // after 8 and fails: P(fail) = 0.75^8, and the turns made are min(N, 8), with mean
    // (1 - 0.75^8) / 0.25.
    let n = 20_000;
    let sc = scenario(n, "prompt_cache = \"off\"", "stop_probability = 0.25\nmax_turns = 8");
    let w = world(&sc);
    let failed = w.task_rows.iter().filter(|t| t.outcome == Outcome::Failed).count() as f64 / n as f64;
    let p_fail = 0.75f64.powi(8);
    let se = (p_fail * (1.0 - p_fail) / n as f64).sqrt();
    assert!((failed - p_fail).abs() < 4.0 * se, "failed {failed} vs {p_fail} ± {}", 4.0 * se);
    let turns = w.ledger.rows[0].calls as f64 / n as f64;
    let mean = (1.0 - p_fail) / 0.25;
    // Var(min(N, 8)) < Var(N) = (1 - p) / p² = 12.
    let se = (12.0 / n as f64).sqrt();
    assert!((turns - mean).abs() < 4.0 * se, "turns {turns} vs {mean} ± {}", 4.0 * se);
    // Every failure is at the limit, after exactly 8 turns.
    for e in events(&scenario(200, "prompt_cache = \"off\"", "stop_probability = 0.25\nmax_turns = 8")) {
        if let Event::LoopStopped { turns, limit, .. } = e {
            assert_eq!((turns, limit), (8, LoopLimit::MaxTurns));
        }
    }
}

#[test]
fn a_constant_count_above_max_turns_fails_every_task_after_max_turns() {
    let sc = scenario(5, "prompt_cache = \"off\"", "turns = 5\nmax_turns = 3\ntool_result_tokens = 500");
    let w = world(&sc);
    for t in &w.task_rows {
        assert_eq!(t.outcome, Outcome::Failed);
        assert_eq!(t.root_cause, Some(0), "the looping step is at fault");
        // Three turns billed: (3,000 + 3,600 + 4,200) in at $3 + 300 out at $15.
        assert_eq!(t.cost, Usd((10_800 * 3 + 300 * 15) * MICRO));
    }
}

#[test]
fn the_budget_stops_the_loop_before_the_turn_after_it_is_spent() {
    // Caching off: turn k costs (3,000 + 600 k) × $3 + 100 × $15 per million:
    // 10,500, 12,300, 14,100, 15,900 µ$; spent after each: 10,500, 22,800, 36,900.
    let run = |budget: &str| {
        let sc = scenario(1, "prompt_cache = \"off\"", &format!("turns = 10\ntool_result_tokens = 500\nmax_cost_usd = {budget}"));
        (world(&sc).task_rows[0].clone(), events(&sc))
    };
    // Exactly spent after three turns: stop there.
    let (t, ev) = run("0.0369");
    assert_eq!((t.outcome, t.cost), (Outcome::Failed, Usd(36_900 * MICRO)));
    let stopped: Vec<_> = ev.iter().filter(|e| matches!(e, Event::LoopStopped { .. })).collect();
    assert_eq!(
        stopped,
        vec![&Event::LoopStopped {
            task: 0,
            step: "work".into(),
            agent: "a".into(),
            turns: 3,
            limit: LoopLimit::MaxCostUsd,
            spent_usd: Usd(36_900 * MICRO)
        }]
    );
    // A micro-dollar more: the fourth turn runs, then the loop stops.
    let (t, _) = run("0.036901");
    assert_eq!(t.cost, Usd((36_900 + 15_900) * MICRO));
    // A budget the ten turns never reach: the task ends correct.
    let (t, _) = run("10");
    assert_eq!(t.outcome, Outcome::Correct);
}

#[test]
fn a_prompt_beyond_the_largest_context_window_stops_the_loop() {
    // 9,000,000 + 100 + 600,000 = 9,600,100 fits 10M; the next, 10,200,200, does not.
    let text = toml(1, "prompt_cache = \"off\"", "turns = 5\ntool_result_tokens = 600000");
    let sc = load(&text.replace("input_tokens = 1000", "input_tokens = 8998000"));
    let ev = events(&sc);
    assert!(ev.iter().any(|e| matches!(e, Event::LoopStopped { turns: 2, limit: LoopLimit::ContextWindow, .. })), "{ev:?}");
}
