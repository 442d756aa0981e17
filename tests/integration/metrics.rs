//! Metrics that mean what they say: a deadline is met by a correct result, and a task
//! that is not delivered costs its class's failure penalty in net value.

use crate::common::{orchsim, read_csv, tmp};

/// One agent on a constant-latency model; `agent` and `model` lines are spliced in.
fn scenario(model_extra: &str, agent_extra: &str, strategy_extra: &str) -> String {
    format!(
        r#"name = "meaning"
seed = 5
replications = 2

[workload]
tasks = 30
arrivals = {{ process = "fixed", interval_s = 60 }}
[[workload.classes]]
name = "job"
share = 1.0
value_usd = 10
wrong_penalty_usd = 4
failure_penalty_usd = 7
deadline_s = 100

[models.m]
input_usd_per_mtok = 1
output_usd_per_mtok = 1
ttft_s = 1
output_tokens_per_s = 100
{model_extra}

[agents.a]
model = "m"
output_tokens = 100
{agent_extra}

[strategies.s]
{strategy_extra}
[[strategies.s.steps]]
id = "work"
agent = "a"
"#
    )
}

fn metric(dir: &std::path::Path, name: &str) -> Vec<f64> {
    let (h, rows) = read_csv(&dir.join("replications.csv"));
    let i = h.iter().position(|c| c == name).unwrap();
    rows.iter().map(|r| r[i].parse().unwrap()).collect()
}

#[test]
fn a_wrong_answer_on_time_does_not_meet_the_deadline() {
    let t = tmp("sla-wrong");
    // Every answer is wrong, and every one is delivered in 2 s, well within 100 s.
    std::fs::write(t.path().join("s.toml"), scenario("", "error_rate = 1", "")).unwrap();
    orchsim(t.path()).args(["run", "s.toml", "--no-charts", "--quiet", "--out", "o"]).assert().success();
    let o = t.path().join("o");
    assert_eq!(metric(&o, "wrong"), [30.0, 30.0]);
    assert_eq!(metric(&o, "sla_met_rate"), [0.0, 0.0]);
    assert_eq!(metric(&o, "value_usd"), [-120.0, -120.0]);
    // Every answer right and on time: all met.
    std::fs::write(t.path().join("s.toml"), scenario("", "", "")).unwrap();
    orchsim(t.path()).args(["run", "s.toml", "--no-charts", "--quiet", "--out", "o"]).assert().success();
    assert_eq!(metric(&o, "sla_met_rate"), [1.0, 1.0]);
}

#[test]
fn a_task_not_delivered_costs_its_failure_penalty() {
    let t = tmp("failure-penalty");
    // Every answer is wrong, a reviewer catches every one, and no rework is allowed:
    // 30 failed tasks.
    let reviewed = scenario("", "error_rate = 1", "")
        + "\n[agents.r]\nmodel = \"m\"\noutput_tokens = 10\nreview = { recall = 1, false_positive_rate = 0 }\n\n\
           [[strategies.s.steps]]\nid = \"check\"\nagent = \"r\"\nmax_rework = 0\non_exhausted = \"fail\"\n";
    std::fs::write(t.path().join("s.toml"), reviewed).unwrap();
    orchsim(t.path()).args(["run", "s.toml", "--no-charts", "--quiet", "--out", "o"]).assert().success();
    let o = t.path().join("o");
    assert_eq!(metric(&o, "failed"), [30.0, 30.0]);
    assert_eq!(metric(&o, "value_usd"), [-210.0, -210.0]);
    let cost = metric(&o, "cost_usd");
    let net = metric(&o, "net_value_usd");
    assert_eq!(net[0], -210.0 - cost[0]);
    assert_eq!(metric(&o, "sla_met_rate"), [0.0, 0.0]);
}
