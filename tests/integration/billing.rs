//! Bills of whole runs, computed by hand from the price map (litellm 1.110.2): every
//! attempt of a run is billed by the calculator, with the prompt cache on the event
//! clock, service tiers, long-context bands, reasoning tokens and search fees.
//! Constant tokens, no errors, one task every `interval_s` seconds.

use std::path::Path;

use crate::common::{orchsim, pico, read_csv, tmp};

/// Pico-dollars of a decimal dollar figure written by hand.
fn usd(s: &str) -> i128 {
    pico(s)
}

/// A one-step scenario: agent `a` (model `model`, extra keys `agent`) on `tasks` tasks
/// arriving every `interval_s` seconds; `extra` is appended (model tables and the like).
fn scenario(model: &str, agent: &str, tasks: u32, interval_s: f64, extra: &str) -> String {
    format!(
        "name = \"bill\"\nseed = 7\nreplications = 2\n\
         [workload]\ntasks = {tasks}\narrivals = {{ process = \"fixed\", interval_s = {interval_s} }}\n\
         [agents.a]\nmodel = \"{model}\"\n{agent}\n\
         [strategies.single]\n[[strategies.single.steps]]\nid = \"work\"\nagent = \"a\"\n{extra}"
    )
}

/// Runs `toml` with a task log; returns the replications and tasks tables.
fn run(dir: &Path, name: &str, toml: &str) -> (Table, Table) {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, toml).unwrap();
    orchsim(dir).args(["run"]).arg(&path).args(["--task-log", "--no-charts", "--quiet", "--out", name]).assert().success();
    (Table::read(&dir.join(name).join("replications.csv")), Table::read(&dir.join(name).join("tasks.csv")))
}

struct Table(Vec<String>, Vec<Vec<String>>);

impl Table {
    fn read(p: &Path) -> Table {
        let (h, rows) = read_csv(p);
        Table(h, rows)
    }
    fn col(&self, name: &str) -> Vec<&str> {
        let c = self.0.iter().position(|x| x == name).unwrap_or_else(|| panic!("no column {name}"));
        self.1.iter().map(|r| r[c].as_str()).collect()
    }
    fn money(&self, name: &str) -> Vec<i128> {
        self.col(name).into_iter().map(pico).collect()
    }
    fn float(&self, name: &str) -> Vec<f64> {
        self.col(name).into_iter().map(|s| s.parse().unwrap()).collect()
    }
}

/// The cost of each task of every replication, and the whole run's cost per task.
fn bills(dir: &Path, name: &str, toml: &str) -> (Vec<i128>, Vec<i128>) {
    let (reps, tasks) = run(dir, name, toml);
    let n = reps.col("tasks").iter().map(|s| s.parse::<i128>().unwrap()).collect::<Vec<_>>();
    let per_task = reps.money("cost_usd").iter().zip(&n).map(|(c, n)| c / n).collect();
    (tasks.money("cost_usd"), per_task)
}

const TOKENS: &str = "input_tokens = 2000\noutput_tokens = 500";

#[test]
fn gpt_4o_at_the_standard_batch_and_priority_tiers() {
    let t = tmp("bill_tiers");
    for (tier, each) in [("standard", "0.01"), ("batch", "0.005"), ("priority", "0.017")] {
        // 2,000 × $2.50/M + 500 × $10/M; batch $1.25/M and $5/M; priority $4.25/M and $17/M.
        let toml = scenario("gpt-4o", &format!("{TOKENS}\nservice_tier = \"{tier}\""), 20, 60.0, "");
        let (tasks, per_task) = bills(t.path(), tier, &toml);
        assert_eq!(tasks.len(), 40);
        assert!(tasks.iter().all(|&c| c == usd(each)), "{tier}: {tasks:?}");
        assert!(per_task.iter().all(|&c| c == usd(each)), "{tier}");
    }
}

#[test]
fn o3_at_the_flex_tier() {
    let t = tmp("bill_flex");
    // 2,000 × $1/M + 500 × $4/M.
    let (tasks, _) = bills(t.path(), "flex", &scenario("o3", &format!("{TOKENS}\nservice_tier = \"flex\""), 10, 60.0, ""));
    assert!(tasks.iter().all(|&c| c == usd("0.004")), "{tasks:?}");
}

#[test]
fn o4_mini_reasoning_tokens_are_billed_at_the_output_price_and_take_generation_time() {
    let t = tmp("bill_reasoning");
    let lat = "[models.o4-mini]\nttft_s = 2\noutput_tokens_per_s = 100\n";
    // 2,000 × $1.10/M + (500 + 1,500) × $4.40/M = $0.011.
    let (reps, tasks) = run(t.path(), "r", &scenario("o4-mini", &format!("{TOKENS}\nreasoning_tokens = 1500"), 10, 60.0, lat));
    assert!(tasks.money("cost_usd").iter().all(|&c| c == usd("0.011")));
    // Reasoning tokens count as output tokens.
    assert!(tasks.col("tokens_out").iter().all(|&n| n == "2000"));
    // 2 s to the first token, then 1,500 + 500 tokens at 100 tokens/s: 22 s.
    assert!(reps.float("latency_mean_s").iter().all(|l| (l - 22.0).abs() < 1e-6), "{:?}", reps.col("latency_mean_s"));
    let (reps, _) = run(t.path(), "plain", &scenario("o4-mini", TOKENS, 10, 60.0, lat));
    assert!(reps.float("latency_mean_s").iter().all(|l| (l - 7.0).abs() < 1e-6));
}

#[test]
fn gemini_2_5_pro_prices_the_whole_request_in_its_long_context_band() {
    let t = tmp("bill_long");
    for (input, each) in [(150_000, "0.1975"), (250_000, "0.64")] {
        // ≤ 200k: 150,000 × $1.25/M + 1,000 × $10/M; above: 250,000 × $2.50/M + 1,000 × $15/M.
        let toml = scenario("gemini/gemini-2.5-pro", &format!("input_tokens = {input}\noutput_tokens = 1000"), 10, 60.0, "");
        let (tasks, _) = bills(t.path(), &format!("g{input}"), &toml);
        assert!(tasks.iter().all(|&c| c == usd(each)), "{input}: {tasks:?}");
    }
}

/// claude-sonnet-4-5: a `prompt`-token system prompt, 1,000 fresh input tokens and 200
/// output tokens, 100 tasks every `every_s` seconds.
fn sonnet(dir: &Path, name: &str, prompt: u64, every_s: f64, cache: &str) -> (Vec<i128>, Vec<i128>) {
    let agent = format!("system_prompt_tokens = {prompt}\ninput_tokens = 1000\noutput_tokens = 200\nprompt_cache = \"{cache}\"");
    bills(dir, name, &scenario("claude-sonnet-4-5", &agent, 100, every_s, ""))
}

#[test]
fn claude_sonnet_prompt_cache_on_the_event_clock() {
    let t = tmp("bill_cache");
    // Every 60 s: the first call writes (5,000 × $3.75/M + 1,000 × $3/M + 200 × $15/M =
    // $0.02475), the other 99 hit (5,000 × $0.30/M + $0.003 + $0.003 = $0.0075).
    let (tasks, per_task) = sonnet(t.path(), "warm", 5000, 60.0, "auto");
    for rep in tasks.chunks(100) {
        assert_eq!(rep[0], usd("0.02475"));
        assert!(rep[1..].iter().all(|&c| c == usd("0.0075")), "{rep:?}");
    }
    assert_eq!(per_task, vec![usd("0.0076725"); 2]);
    // Every 600 s the 5-minute cache has expired: every call writes.
    let (_, per_task) = sonnet(t.path(), "cold", 5000, 600.0, "auto");
    assert_eq!(per_task, vec![usd("0.02475"); 2]);
    // An 800-token prompt is below the 1,024-token minimum: plain input, 800 × $3/M + $0.006.
    let (_, per_task) = sonnet(t.path(), "short", 800, 60.0, "auto");
    assert_eq!(per_task, vec![usd("0.0084"); 2]);
    // Caching off: the prefix is plain input every time, 5,000 × $3/M + $0.006.
    let (_, per_task) = sonnet(t.path(), "off", 5000, 60.0, "off");
    assert_eq!(per_task, vec![usd("0.021"); 2]);
    // The 1-hour cache: one write at $6/M (5,000 × $6/M + $0.006 = $0.036), then hits.
    let (_, per_task) = sonnet(t.path(), "hour", 5000, 600.0, "1h");
    assert_eq!(per_task, vec![(usd("0.036") + 99 * usd("0.0075")) / 100; 2]);
}

#[test]
fn concurrent_first_calls_each_pay_the_write() {
    let t = tmp("bill_concurrent");
    // Ten tasks at once: none can read a prefix that is not written yet, so all ten write.
    let agent = "system_prompt_tokens = 5000\ninput_tokens = 1000\noutput_tokens = 200";
    let toml = scenario("claude-sonnet-4-5", agent, 10, 60.0, "").replace("process = \"fixed\", interval_s = 60", "process = \"batch\"");
    let (tasks, _) = bills(t.path(), "c", &toml);
    assert!(tasks.iter().all(|&c| c == usd("0.02475")), "{tasks:?}");
}

#[test]
fn batch_calls_come_back_after_the_batch_delay() {
    let t = tmp("bill_batch_latency");
    let lat = "[models.gpt-4o]\nttft_s = 1\noutput_tokens_per_s = 100\nbatch_delay_s = 3600\n";
    // Standard: 1 s + 500 tokens at 100 tokens/s = 6 s; batch: an hour more.
    let (reps, _) = run(t.path(), "std", &scenario("gpt-4o", TOKENS, 10, 60.0, lat));
    assert!(reps.float("latency_mean_s").iter().all(|l| (l - 6.0).abs() < 1e-6), "{:?}", reps.col("latency_mean_s"));
    let (reps, _) = run(t.path(), "batch", &scenario("gpt-4o", &format!("{TOKENS}\nservice_tier = \"batch\""), 10, 60.0, lat));
    assert!(reps.float("latency_mean_s").iter().all(|l| (l - 3606.0).abs() < 1e-6), "{:?}", reps.col("latency_mean_s"));
    assert!(reps.float("latency_p95_s").iter().all(|l| *l > 3600.0));
}

#[test]
fn search_fees_handoffs_and_platform_fees_add_up_by_category() {
    let t = tmp("bill_categories");
    // Two steps of o4-mini with two web searches each ($0.01 a query at the map's medium
    // context price, plus the tool's own $0.001 a call), 300 hand-off tokens into each
    // step, a 2,000-token cached system prompt, and a 10% platform fee on model spend.
    let agent = "system_prompt_tokens = 2000\ninput_tokens = 1000\noutput_tokens = 100\n\
                 tool_calls = { count = 2, latency_s = 0.5, usd_per_call = 0.001, tokens_per_call = 0, kind = \"web_search\" }";
    let toml = scenario("o4-mini", agent, 30, 60.0, "[[strategies.single.steps]]\nid = \"again\"\nagent = \"a\"\n").replace(
        "[[strategies.single.steps]]\nid = \"work\"",
        "handoff_tokens = 300\nplatform = { pct_of_model_spend = 10 }\n[[strategies.single.steps]]\nid = \"work\"",
    );
    let (reps, _) = run(t.path(), "cat", &toml);
    let total = reps.money("cost_usd");
    let cats = ["model_cost_usd", "tool_cost_usd", "orchestration_cost_usd", "platform_fee_usd", "human_cost_usd"];
    for (r, &total) in total.iter().enumerate() {
        let sum: i128 = cats.iter().map(|c| reps.money(c)[r]).sum();
        assert_eq!(sum, total, "replication {r}");
        // Tools: 30 tasks × 2 steps × 2 calls × ($0.01 + $0.001).
        assert_eq!(reps.money("tool_cost_usd")[r], 120 * usd("0.011"));
        // Hand-offs: 30 × 2 × 300 tokens × $1.10/M.
        assert_eq!(reps.money("orchestration_cost_usd")[r], 60 * 300 * usd("0.0000011"));
        // Model: per call 1,000 × $1.10/M + 100 × $4.40/M, and the prefix: the first call
        // of the run writes it at the input price (no write premium), the other 59 read it
        // at $0.275/M.
        let calls = 60 * (usd("0.0011") + usd("0.00044"));
        let prefix = usd("0.0022") + 59 * usd("0.00055");
        assert_eq!(reps.money("model_cost_usd")[r], calls + prefix);
        // The platform takes 10% of model spend, hand-offs included.
        assert_eq!(reps.money("platform_fee_usd")[r], (calls + prefix + 60 * 300 * usd("0.0000011")) / 10);
    }
}

#[test]
fn a_timeout_bills_the_reasoning_generated_first_then_the_output() {
    let t = tmp("bill_timeout");
    let lat = "[models.o4-mini]\nttft_s = 2\noutput_tokens_per_s = 100\ntimeout_s = 10\n";
    let toml = scenario("o4-mini", &format!("{TOKENS}\nreasoning_tokens = 1500"), 10, 60.0, lat)
        .replace("[strategies.single]\n", "[strategies.single]\nretry = { max_attempts = 1 }\n");
    let (_, tasks) = run(t.path(), "cut", &toml);
    // Cut off at 10 s: 8 s × 100 tokens/s = 800 tokens, all of them reasoning:
    // 2,000 × $1.10/M + 800 × $4.40/M.
    assert!(tasks.money("cost_usd").iter().all(|&c| c == usd("0.00572")), "{:?}", tasks.col("cost_usd"));
    assert!(tasks.col("tokens_out").iter().all(|&n| n == "800"));
    assert!(tasks.col("outcome").iter().all(|&o| o == "failed"));
}
