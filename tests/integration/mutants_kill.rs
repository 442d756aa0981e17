//! Tests written to kill mutants that survived `scripts/mutants.sh` (see docs/mutants.md):
//! each asserts an exact, hand-computed value that a plausible slip in the code (an
//! operator flipped, a comparison loosened, a function body replaced) would change.

use orchsim::economics::billing::{BillError, BillParts, CacheUse, CallUsage, bill_priced};
use orchsim::economics::money::{MoneyError, PricePerMtok, Usd};
use orchsim::model::pricing::{Band, Pricing, Rates, ServiceTier};

/// Distinct prices (pico-dollars per token) so that every part of a bill is told apart.
fn rates(base: i64) -> Rates {
    Rates {
        input: PricePerMtok(base),
        output: PricePerMtok(base * 5),
        cache_read: Some(PricePerMtok(base / 10)),
        cache_write: Some(PricePerMtok(base * 5 / 4)),
        cache_write_1h: Some(PricePerMtok(base * 2)),
        reasoning: Some(PricePerMtok(base * 7)),
    }
}

/// A scenario of `tasks` tasks arriving as `arrivals` on one model `m` at `price` dollars
/// per million tokens in and out, `ttft_s` seconds to the first token and 100 tokens/s,
/// with the keys `model` added to the model's table; `rest` holds the agents and
/// strategies.
fn one_model(tasks: u32, arrivals: &str, price: u32, ttft_s: f64, model: &str, rest: &str) -> orchsim::model::Scenario {
    crate::common::load_scenario(&format!(
        "name = \"mutants\"\nseed = 3\nreplications = 1\n[workload]\ntasks = {tasks}\narrivals = {arrivals}\n\
         [models.m]\ninput_usd_per_mtok = {price}\noutput_usd_per_mtok = {price}\nttft_s = {ttft_s}\noutput_tokens_per_s = 100\n{model}{rest}"
    ))
}

#[test]
fn zero_and_negative_amounts_print_with_one_sign() {
    assert_eq!(Usd::ZERO.to_string(), "0");
    assert_eq!(Usd(-1).to_string(), "-0.000000000001");
    assert_eq!(Usd(-3_000_000_000_000).to_string(), "-3");
    assert_eq!(Usd(1_000_000_000_000_001).to_string(), "1000.000000000001");
}

#[test]
fn money_errors_display_their_message() {
    assert_eq!(MoneyError("no".into()).to_string(), "no");
    let e = PricePerMtok::try_from_usd_per_mtok(-1.0).unwrap_err();
    assert_eq!(e.to_string(), "-1e0 USD per million tokens is not a price that can be held exactly");
}

#[test]
fn price_bounds_are_exact() {
    // A free price is a price; the first one past i64 is not.
    assert_eq!(PricePerMtok::try_from_usd_per_mtok(0.0), Ok(PricePerMtok(0)));
    let top = 2f64.powi(63) / 1e6;
    assert_eq!((top * 1e6).round(), 2f64.powi(63), "precondition: the float lands on 2^63");
    assert!(PricePerMtok::try_from_usd_per_mtok(top).is_err());
    assert_eq!(PricePerMtok(2_500_000).usd_per_mtok(), 2.5);
    assert_eq!(PricePerMtok(1).usd_per_mtok(), 1e-6);
    assert_eq!(PricePerMtok::from_usd_per_mtok(3.25), PricePerMtok(3_250_000));
}

#[test]
fn money_from_floats() {
    assert_eq!(Usd::from_f64(f64::NAN), Usd::ZERO);
    assert_eq!(Usd::from_f64(f64::NEG_INFINITY), Usd::ZERO);
    assert_eq!(Usd::from_f64(-0.25), Usd(-250_000_000_000));
    // 1e26 USD lands exactly on the float nearest 1e38 pico-dollars, the limit: still held.
    assert_eq!(1e26 * 1e12, 1e38);
    assert_eq!(Usd::try_from_f64(1e26), Ok(Usd(99_999_999_999_999_997_748_809_823_456_034_029_568)));
    assert_eq!(Usd::try_from_f64(-1e26), Ok(Usd(-99_999_999_999_999_997_748_809_823_456_034_029_568)));
    assert!(Usd::try_from_f64(-1e27).is_err());
    assert_eq!(Usd::try_from_f64(f64::NAN).unwrap_err().to_string(), "NaN is not a finite amount of dollars");
}

#[test]
fn money_operators() {
    let mut a = Usd(10);
    a -= Usd(3);
    assert_eq!(a, Usd(7));
    a += Usd(5);
    assert_eq!(a, Usd(12));
    assert_eq!(-a, Usd(-12));
    assert_eq!(Usd(4) - Usd(9), Usd(-5));
    assert_eq!([Usd(1), Usd(20), Usd(300)].into_iter().sum::<Usd>(), Usd(321));
    assert_eq!(Usd(3).checked_sub(Usd(5)), Some(Usd(-2)));
    assert_eq!(Usd(7).mul_div(0, 3), Usd::ZERO);
    assert_eq!(Usd(0).mul_div(5, 3), Usd::ZERO);
    assert_eq!(Usd(-7).mul_div(-1, 2), Usd(4)); // 3.5 -> 4
    assert_eq!(Usd(7).mul_div(-1, 2), Usd(-4));
}

#[test]
#[should_panic(expected = "money overflow in a difference")]
fn an_unchecked_difference_stops_rather_than_wraps() {
    let _ = Usd(i128::MIN) - Usd(1);
}

#[test]
#[should_panic(expected = "money overflow in a negation")]
fn an_unchecked_negation_stops_rather_than_wraps() {
    let _ = -Usd(i128::MIN);
}

#[test]
fn every_part_of_a_bill_by_hand() {
    let mut p = Pricing::flat(rates(1000));
    p.per_request = Usd(123);
    p.search_per_query = Some(Usd(1_000_000));
    let u = CallUsage {
        fresh_input: 100,
        prefix: 40,
        prefix_cache: CacheUse::Hit,
        fresh_cache: CacheUse::Uncached,
        output: 30,
        reasoning: 20,
        search_queries: 3,
    };
    let b = bill_priced("m", &p, ServiceTier::Standard, &u).unwrap();
    let want = BillParts {
        input: Usd(100 * 1000),
        cache_read: Usd(40 * 100),
        cache_write: Usd::ZERO,
        output: Usd(30 * 5000),
        reasoning: Usd(20 * 7000),
        search: Usd(3_000_000),
        request: Usd(123),
    };
    assert_eq!(b, want);
    assert_eq!(b.total(), Usd(100_000 + 4_000 + 150_000 + 140_000 + 3_000_000 + 123));
    let names: Vec<(&str, i128)> = b.parts().iter().map(|(n, v)| (*n, v.0)).collect();
    assert_eq!(
        names,
        [
            ("input", 100_000),
            ("cache_read", 4_000),
            ("cache_write", 0),
            ("output", 150_000),
            ("reasoning", 140_000),
            ("search", 3_000_000),
            ("request", 123)
        ]
    );
    let mut sum = b;
    sum += b;
    assert_eq!(sum.total(), Usd(2 * b.total().0));
    assert_eq!(sum.input, Usd(200_000));
    assert_eq!(sum.cache_read, Usd(8_000));
    assert_eq!(sum.output, Usd(300_000));
    assert_eq!(sum.reasoning, Usd(280_000));
    assert_eq!(sum.search, Usd(6_000_000));
    assert_eq!(sum.request, Usd(246));

    // Writes: the 5-minute and the 1-hour price; an uncached prefix at the input price.
    let w = bill_priced("m", &p, ServiceTier::Standard, &CallUsage { prefix_cache: CacheUse::Write, ..u }).unwrap();
    assert_eq!((w.input, w.cache_write, w.cache_read), (Usd(100_000), Usd(40 * 1250), Usd::ZERO));
    let w1 = bill_priced("m", &p, ServiceTier::Standard, &CallUsage { prefix_cache: CacheUse::Write1h, ..u }).unwrap();
    assert_eq!((w1.input, w1.cache_write), (Usd(100_000), Usd(40 * 2000)));
    let n = bill_priced("m", &p, ServiceTier::Standard, &CallUsage { prefix_cache: CacheUse::Uncached, ..u }).unwrap();
    assert_eq!((n.input, n.cache_write, n.cache_read), (Usd(140_000), Usd::ZERO, Usd::ZERO));
}

#[test]
fn the_long_context_band_counts_cached_tokens() {
    let mut p = Pricing::flat(rates(1000));
    p.tiers.get_mut(&ServiceTier::Standard).unwrap().push(Band { above_tokens: 100, rates: rates(3000) });
    // 60 fresh + 40 cached = 100: not above the threshold.
    let at = CallUsage {
        fresh_input: 60,
        prefix: 40,
        prefix_cache: CacheUse::Hit,
        fresh_cache: CacheUse::Uncached,
        output: 1,
        reasoning: 0,
        search_queries: 0,
    };
    assert_eq!(at.prompt_tokens(), 100);
    assert_eq!(bill_priced("m", &p, ServiceTier::Standard, &at).unwrap().total(), Usd(60 * 1000 + 40 * 100 + 5000));
    // 61 + 40 = 101: the whole request at the band's prices.
    let above = CallUsage { fresh_input: 61, ..at };
    assert_eq!(bill_priced("m", &p, ServiceTier::Standard, &above).unwrap().total(), Usd(61 * 3000 + 40 * 300 + 15000));
    // 2 fresh + 99 cached: above only when both count.
    let cached = CallUsage { fresh_input: 2, prefix: 99, ..at };
    assert_eq!(bill_priced("m", &p, ServiceTier::Standard, &cached).unwrap().total(), Usd(2 * 3000 + 99 * 300 + 15000));
}

#[test]
fn openai_usage_counts_each_token_once() {
    let u = CallUsage::from_openai_usage(1000, 300, 500, 200);
    assert_eq!((u.fresh_input, u.prefix, u.prefix_cache, u.output, u.reasoning), (700, 300, CacheUse::Hit, 300, 200));
    let u = CallUsage::from_openai_usage(1000, 0, 500, 0);
    assert_eq!((u.fresh_input, u.prefix, u.prefix_cache, u.output), (1000, 0, CacheUse::Uncached, 500));
    let u = CallUsage::from_openai_usage(1, 1, 0, 0);
    assert_eq!((u.fresh_input, u.prefix_cache), (0, CacheUse::Hit));
}

#[test]
fn bill_errors_name_the_model_and_the_tiers() {
    let mut p = Pricing::flat(Rates { cache_write_1h: None, ..rates(1000) });
    p.tiers.insert(ServiceTier::Batch, vec![Band { above_tokens: 0, rates: rates(500) }]);
    let e = bill_priced("m1", &p, ServiceTier::Flex, &CallUsage::plain(1, 1)).unwrap_err();
    assert_eq!(
        e,
        BillError::TierNotOffered { model: "m1".into(), tier: ServiceTier::Flex, offered: vec![ServiceTier::Standard, ServiceTier::Batch] }
    );
    assert_eq!(e.to_string(), "m1 is not offered at service tier flex; the price map offers it at: standard, batch");
    let u = CallUsage { prefix: 5, prefix_cache: CacheUse::Write1h, ..CallUsage::plain(1, 1) };
    let e = bill_priced("m2", &p, ServiceTier::Standard, &u).unwrap_err();
    assert_eq!(e.to_string(), "m2 has no 1-hour cache-write price (cache_creation_input_token_cost_above_1hr)");
}

/// `tasks.csv` writes an outcome by this name; it must be the serde name too (the same
/// file is read back by `audit` and `sweep --merge`).
#[test]
fn outcome_names_are_the_file_names() {
    use orchsim::workflow::Outcome;
    let all = [Outcome::Correct, Outcome::Wrong, Outcome::Failed, Outcome::Escalated];
    assert_eq!(all.map(Outcome::as_str), ["correct", "wrong", "failed", "escalated"]);
    for o in all {
        assert_eq!(serde_json::to_string(&o).unwrap(), format!("\"{}\"", o.as_str()));
    }
}

/// The message a user gets when a scenario makes the clock run away (exit 2): what
/// passed the limit, the limit in years (100 years of 365 days), and what to change.
#[test]
fn the_time_limit_message_names_the_limit_in_years() {
    let t = orchsim::workflow::TimeLimitExceeded {
        field: "models.server.requests_per_min".into(),
        value: "1e-7".into(),
        what: "a call would start".into(),
    };
    assert_eq!(
        t.expected(),
        "a call would start more than 100 years into the simulation (the simulated-time limit); \
         this value makes the clock run away: use a rate or duration that keeps the run within the limit"
    );
}

/// Attempts are counted per task (`tasks.csv`) and per row (`agents.csv`): a two-step
/// pipeline that never errs makes one attempt a step; a step whose every attempt times
/// out (TTFT 1 s, limit 0.5 s) makes `max_attempts` of them and fails the task.
#[test]
fn attempts_are_counted_per_task_and_per_row() {
    use orchsim::workflow::{Outcome, WorldOptions, run_world};
    let toml = |timeout: &str| {
        format!(
            r#"
name = "attempts"
seed = 3
replications = 1

[workload]
tasks = 7
arrivals = {{ process = "fixed", interval_s = 10 }}

[models.m]
input_usd_per_mtok = 1
output_usd_per_mtok = 1
ttft_s = 1
output_tokens_per_s = 100
{timeout}

[agents.a]
model = "m"
input_tokens = 10
output_tokens = 10

[strategies.s]
steps = [{{ id = "one", agent = "a" }}, {{ id = "two", agent = "a" }}]
retry = {{ max_attempts = 3, backoff_base_s = 0 }}
"#
        )
    };
    let w = run_world(&crate::common::load_scenario(&toml("")), 0, 0, WorldOptions { task_log: true }, None);
    assert_eq!(w.task_rows.len(), 7);
    for t in &w.task_rows {
        assert_eq!((t.outcome, t.attempts, t.reworks), (Outcome::Correct, 2, 0));
    }
    for r in &w.ledger.rows[..2] {
        assert_eq!((r.calls, r.attempts, r.failed_attempts), (7, 7, 0));
    }
    let w = run_world(&crate::common::load_scenario(&toml("timeout_s = 0.5")), 0, 0, WorldOptions { task_log: true }, None);
    for t in &w.task_rows {
        assert_eq!((t.outcome, t.attempts), (Outcome::Failed, 3));
    }
    assert_eq!((w.ledger.rows[0].attempts, w.ledger.rows[0].failed_attempts), (21, 21));
    assert_eq!(w.ledger.rows[1].attempts, 0, "the second step never starts");
}

/// A human strategy makes one call and one attempt per task on its single row, and
/// charges hours × rate × team size once per task: 3 tasks of exactly 2 h, a team of 2
/// at $40/h, $160 each.
#[test]
fn a_human_team_counts_one_attempt_per_task() {
    use orchsim::workflow::{Outcome, WorldOptions, run_world};
    let sc = crate::common::load_scenario(
        r#"
name = "people"
seed = 3
replications = 1

[workload]
tasks = 3
arrivals = { process = "fixed", interval_s = 3600 }

[agents.unused]
model = "gpt-4o"

[strategies.people]
kind = "human"
team_size = 2
hours_per_task = 2
usd_per_hour = 40
error_rate = 0
teams = 1
"#,
    );
    let w = run_world(&sc, 0, 0, WorldOptions { task_log: true }, None);
    let row = &w.ledger.rows[0];
    assert_eq!((row.calls, row.attempts), (3, 3));
    assert_eq!(row.cost, Usd(3 * 160 * 1_000_000_000_000));
    assert_eq!(w.ledger.total, row.cost);
    assert!(w.task_rows.iter().all(|t| t.outcome == Outcome::Correct));
    // One team, arrivals an hour apart, 2 h each: the k-th task (0-based) waits k hours.
    assert_eq!(w.counters.queue_waits, 3);
    assert_eq!(w.counters.queue_wait_sum_ns, (1 + 2) * 3_600 * 1_000_000_000);
}

/// `pct_of_model_spend` is charged on the model work and the hand-off tokens together
/// (README, "Platform"): 10 input + 10 output tokens at $1/Mtok (10⁶ pico-dollars a
/// token) is 20·10⁶ of work, 100 hand-off tokens 100·10⁶ of orchestration, and 10% of
/// their sum, 12·10⁶, goes to the platform; per task, 4 tasks.
#[test]
fn the_platform_share_counts_the_handoff_tokens() {
    use orchsim::economics::Category;
    use orchsim::workflow::{WorldOptions, run_world};
    let sc = one_model(
        4,
        "{ process = \"fixed\", interval_s = 10 }",
        1,
        1.0,
        "",
        r#"
[agents.a]
model = "m"
input_tokens = 10
output_tokens = 10

[strategies.s]
steps = [{ id = "one", agent = "a" }]
handoff_tokens = 100
platform = { pct_of_model_spend = 10 }
"#,
    );
    let w = run_world(&sc, 0, 0, WorldOptions::default(), None);
    let l = &w.ledger;
    let m = 1_000_000i128;
    assert_eq!(l.category(Category::Model), Usd(4 * 20 * m));
    assert_eq!(l.category(Category::Orchestration), Usd(4 * 100 * m));
    assert_eq!(l.category(Category::Platform), Usd(4 * 12 * m));
    assert_eq!(l.total, Usd(4 * 132 * m));
    assert_eq!((w.counters.tokens_in, w.counters.tokens_out), (4 * 110, 4 * 10));
}

/// A timeout cuts the tokens produced so far, reasoning first (README, "Reasoning
/// tokens"): TTFT 0.5 s, 100 tokens/s, limit 2 s gives floor(1.5 × 100) = 150 tokens,
/// the 100 reasoning tokens and then 50 of the output. Two attempts a task, every one
/// cut off; reasoning is billed at the output price ($1/Mtok, 10⁶ pico-dollars a token).
#[test]
fn a_timeout_bills_reasoning_first_then_output() {
    use orchsim::workflow::{Outcome, WorldOptions, run_world};
    let sc = one_model(
        5,
        "{ process = \"fixed\", interval_s = 10 }",
        1,
        0.5,
        "timeout_s = 2\n",
        r#"
[agents.a]
model = "m"
input_tokens = 10
output_tokens = 1000
reasoning_tokens = 100

[strategies.s]
steps = [{ id = "one", agent = "a" }]
retry = { max_attempts = 2, backoff_base_s = 0 }
"#,
    );
    let w = run_world(&sc, 0, 0, WorldOptions { task_log: true }, None);
    for t in &w.task_rows {
        assert_eq!((t.outcome, t.attempts, t.tokens_in, t.tokens_out), (Outcome::Failed, 2, 2 * 10, 2 * 150));
    }
    let row = &w.ledger.rows[0];
    assert_eq!((row.attempts, row.failed_attempts, row.tokens_out), (10, 10, 10 * 150));
    assert_eq!(w.ledger.total, Usd(10 * (10 + 150) * 1_000_000));
}

/// A tokens-per-minute budget asks for every token of a request: 50 input, 10 hand-off,
/// 20 output and 20 reasoning tokens, 100 in all, so 6,000 tokens a minute pace a backlog
/// at 60 requests a minute. 200 tasks at once: 60 start at 0 and task k ≥ 60 at (k − 59) s;
/// each takes 1 s + 40 tokens / 100 tokens/s = 1.4 s, so the last ends at 141.4 s.
#[test]
fn a_token_budget_counts_every_token_of_a_request() {
    use orchsim::workflow::{WorldOptions, run_world};
    let sc = one_model(
        200,
        "{ process = \"batch\" }",
        0,
        1.0,
        "tokens_per_min = 6000\n",
        r#"
[agents.a]
model = "m"
input_tokens = 50
output_tokens = 20
reasoning_tokens = 20

[strategies.s]
steps = [{ id = "one", agent = "a" }]
handoff_tokens = 10
"#,
    );
    let w = run_world(&sc, 0, 0, WorldOptions::default(), None);
    assert_eq!(w.counters.correct, 200);
    // Bucket arithmetic rounds waits up to the nanosecond: allow a microsecond a task.
    let makespan = w.counters.makespan.as_secs();
    assert!((makespan - 141.4).abs() < 200e-6, "makespan {makespan}");
}

/// A rework reruns the steps from its target to the reviewer and no others: a → b →
/// check(reworks b), a checker that flags every pass (false-positive rate 1) and two
/// reworks allowed, so b and the check run 3 times a task, a once, and every task fails
/// when the reworks run out.
#[test]
fn a_rework_reruns_only_its_target_and_what_follows() {
    use orchsim::workflow::{Outcome, WorldOptions, run_world};
    let sc = one_model(
        6,
        "{ process = \"fixed\", interval_s = 100 }",
        1,
        1.0,
        "",
        r#"
[agents.worker]
model = "m"
input_tokens = 10
output_tokens = 10

[agents.checker]
model = "m"
review = { recall = 1, false_positive_rate = 1 }

[strategies.s]
steps = [
  { id = "a", agent = "worker" },
  { id = "b", agent = "worker" },
  { id = "check", agent = "checker", reworks = "b", max_rework = 2, on_exhausted = "fail" },
]
"#,
    );
    let w = run_world(&sc, 0, 0, WorldOptions { task_log: true }, None);
    let calls: Vec<u64> = w.ledger.rows[..3].iter().map(|r| r.calls).collect();
    assert_eq!(calls, [6, 18, 18]);
    for t in &w.task_rows {
        assert_eq!((t.outcome, t.reworks, t.attempts), (Outcome::Failed, 2, 7));
    }
}

/// An attempt whose limit falls before its first token is cut off there, transient
/// error or not (`timeout_s` < TTFT): 3 attempts of exactly 1 s, although half the
/// attempts draw a transient error (which would end at the TTFT, 2 s).
#[test]
fn a_limit_before_the_first_token_cuts_every_attempt() {
    use orchsim::workflow::{Outcome, WorldOptions, run_world};
    let sc = one_model(
        10,
        "{ process = \"fixed\", interval_s = 100 }",
        1,
        2.0,
        "timeout_s = 1\nerror_rate = 0.5\n",
        r#"
[agents.a]
model = "m"
input_tokens = 10
output_tokens = 10

[strategies.s]
steps = [{ id = "one", agent = "a" }]
retry = { max_attempts = 3, backoff_base_s = 0 }
"#,
    );
    let w = run_world(&sc, 0, 0, WorldOptions { task_log: true }, None);
    for t in &w.task_rows {
        assert_eq!((t.outcome, t.attempts), (Outcome::Failed, 3));
        assert!((t.finish_s - t.arrival_s - 3.0).abs() < 1e-9, "{t:?}");
    }
}

/// The keyed draws are SplitMix64's finaliser and names are hashed with 64-bit FNV-1a:
/// the published test vectors pin both (a changed shift or operator changes every
/// simulated number). SplitMix64 seeded with 0 first outputs 0xe220a8397b1dcdaf, the
/// mix of 0x9e3779b97f4a7c15, which is what a key of 0 salted with 1 mixes; a uniform
/// keeps its top 53 bits.
#[test]
fn keyed_draws_and_name_hashes_match_published_vectors() {
    use orchsim::workflow::stream::{keyed_uniform, name_hash};
    assert_eq!(keyed_uniform(0, 1), (0xe220_a839_7b1d_cdafu64 >> 11) as f64 / (1u64 << 53) as f64);
    assert_eq!(keyed_uniform(0x9e37_79b9_7f4a_7c15, 0), keyed_uniform(0, 1));
    assert_eq!(name_hash(""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(name_hash("a"), 0xaf63_dc4c_8601_ec8c);
    assert_eq!(name_hash("foobar"), 0x8594_4171_f739_67e8);
}

/// The task stream says how many tasks it holds and yields exactly those, numbered in
/// arrival order, every `interval_s` for fixed arrivals (task k at k × 2.5 s).
#[test]
fn the_task_stream_knows_its_length() {
    use orchsim::engine::SimTime;
    use orchsim::workflow::TaskStream;
    let sc = one_model(
        7,
        "{ process = \"fixed\", interval_s = 2.5 }",
        1,
        1.0,
        "",
        r#"
[agents.a]
model = "m"

[strategies.s]
steps = [{ id = "one", agent = "a" }]
"#,
    );
    let s = TaskStream::new(&sc, 0);
    assert_eq!((s.len(), s.is_empty()), (7, false));
    let specs: Vec<(u64, SimTime)> = s.map(|t| (t.id, t.arrival)).collect();
    assert_eq!(specs, (0..7).map(|k| (k, SimTime(k * 2_500_000_000))).collect::<Vec<_>>());
}

/// Full jitter draws each backoff uniformly in [0, backoff): every attempt is cut off at
/// 1 s (limit before the first token) and retried once after a backoff of 10 s
/// jittered, so a task takes 2 s + U(0, 10) s, strictly under 12 s, with mean 7 s; over
/// 400 tasks the mean's standard error is 10/√12/√400 = 0.144 s (5 SE allowed).
#[test]
fn full_jitter_draws_the_backoff_below_its_bound() {
    use orchsim::workflow::{WorldOptions, run_world};
    let sc = one_model(
        400,
        "{ process = \"fixed\", interval_s = 100 }",
        1,
        2.0,
        "timeout_s = 1\n",
        r#"
[agents.a]
model = "m"
input_tokens = 10
output_tokens = 10

[strategies.s]
steps = [{ id = "one", agent = "a" }]
retry = { max_attempts = 2, backoff_base_s = 10, backoff_factor = 1, backoff_max_s = 30, jitter = "full" }
"#,
    );
    let w = run_world(&sc, 0, 0, WorldOptions { task_log: true }, None);
    let lat: Vec<f64> = w.task_rows.iter().map(|t| t.finish_s - t.arrival_s).collect();
    assert_eq!(lat.len(), 400);
    assert!(lat.iter().all(|&l| (2.0..12.0).contains(&l)), "{lat:?}");
    let mean = lat.iter().sum::<f64>() / 400.0;
    assert!((mean - 7.0).abs() < 5.0 * 0.144, "mean latency {mean}");
}

/// Tool fees are the fee per call times the calls of an attempt: 3 calls at $0.01 are
/// $0.03 an attempt, charged as tools; 5 tasks of one attempt each.
#[test]
fn tool_fees_are_per_call_times_calls() {
    use orchsim::economics::Category;
    use orchsim::workflow::{WorldOptions, run_world};
    let sc = one_model(
        5,
        "{ process = \"fixed\", interval_s = 100 }",
        0,
        1.0,
        "",
        r#"
[agents.a]
model = "m"
input_tokens = 10
output_tokens = 10
tool_calls = { count = 3, latency_s = 1, usd_per_call = 0.01, tokens_per_call = 0 }

[strategies.s]
steps = [{ id = "one", agent = "a" }]
"#,
    );
    let w = run_world(&sc, 0, 0, WorldOptions::default(), None);
    assert_eq!(w.ledger.category(Category::Tool), Usd(5 * 30_000_000_000));
    assert_eq!(w.ledger.total, w.ledger.category(Category::Tool));
}

/// People who always err (`error_rate = 1`) get every escalated task wrong, with the
/// escalation row as root cause; people who never err get all of them right. A checker
/// that flags every pass, with no rework allowed, escalates every task; each costs 2 h
/// at $50/h.
#[test]
fn escalated_tasks_follow_the_peoples_error_rate() {
    use orchsim::economics::Category;
    use orchsim::workflow::{Outcome, WorldOptions, run_world};
    for (error_rate, wrong) in [(1.0, 4u64), (0.0, 0)] {
        let sc = crate::common::load_scenario(&format!(
            r#"
name = "escalation"
seed = 3
replications = 1

[workload]
tasks = 4
arrivals = {{ process = "fixed", interval_s = 100000 }}

[models.m]
input_usd_per_mtok = 0
output_usd_per_mtok = 0
ttft_s = 1
output_tokens_per_s = 100

[agents.a]
model = "m"

[agents.checker]
model = "m"
review = {{ recall = 1, false_positive_rate = 1 }}

[strategies.s]
steps = [
  {{ id = "one", agent = "a" }},
  {{ id = "check", agent = "checker", max_rework = 0, on_exhausted = "escalate" }},
]
escalation = {{ hours = 2, usd_per_hour = 50, error_rate = {error_rate} }}
"#
        ));
        let w = run_world(&sc, 0, 0, WorldOptions { task_log: true }, None);
        let c = &w.counters;
        assert_eq!((c.escalated, c.wrong, c.correct, c.failed), (4, wrong, 4 - wrong, 0), "error_rate {error_rate}");
        assert_eq!(w.ledger.category(Category::Human), Usd(4 * 100 * 1_000_000_000_000));
        assert!(w.task_rows.iter().all(|t| t.outcome == Outcome::Escalated));
        assert_eq!(w.task_rows.iter().filter(|t| t.root_cause.is_some()).count() as u64, wrong);
    }
}

/// The monthly platform fee is prorated over the makespan in 30-day months: $30 a month
/// over a makespan of exactly one day (the second task arrives at 86,399 s and takes
/// 1 s) is $1.
#[test]
fn the_monthly_fee_is_prorated_over_30_day_months() {
    use orchsim::economics::Category;
    use orchsim::workflow::{WorldOptions, run_world};
    let sc = one_model(
        2,
        "{ process = \"fixed\", interval_s = 86399 }",
        0,
        1.0,
        "",
        r#"
[agents.a]
model = "m"

[strategies.s]
steps = [{ id = "one", agent = "a" }]
platform = { usd_per_month = 30 }
"#,
    );
    let w = run_world(&sc, 0, 0, WorldOptions::default(), None);
    assert_eq!(w.counters.makespan.as_secs(), 86_400.0);
    assert_eq!(w.ledger.category(Category::Platform), Usd(1_000_000_000_000));
    assert_eq!(w.ledger.total, Usd(1_000_000_000_000));
}

/// Every prompt-cache mode a scenario may name parses to its own mode.
#[test]
fn every_cache_mode_name_parses() {
    use orchsim::economics::billing::CacheMode;
    assert_eq!(CacheMode::NAMES, ["auto", "1h", "off"]);
    assert_eq!(CacheMode::NAMES.map(CacheMode::parse), [Some(CacheMode::Auto), Some(CacheMode::OneHour), Some(CacheMode::Off)]);
    assert_eq!(CacheMode::parse("5m"), None);
}
