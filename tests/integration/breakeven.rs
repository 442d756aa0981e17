//! `breakeven.csv` and the sweep summary, against closed forms.

use crate::common::{orchsim, read_csv, tmp};

/// Two one-agent strategies whose cost is linear in a price multiplier and has no
/// randomness but, optionally, the cheap agent's input tokens: no errors, constant
/// latencies. Per task, `a` costs x·(in·$1 + 500·$4)/Mtok and `b` costs
/// (2200·$3 + 500·$12)/Mtok = $0.0126.
pub(crate) fn linear_scenario(cheap_input_tokens: &str, replications: u32) -> String {
    format!(
        r#"name = "linear"
seed = 11
replications = {replications}

[workload]
tasks = 40
arrivals = {{ process = "fixed", interval_s = 60 }}

[models.ma]
input_usd_per_mtok = 1
output_usd_per_mtok = 4
ttft_s = 0.5
output_tokens_per_s = 100

[models.mb]
input_usd_per_mtok = 3
output_usd_per_mtok = 12
ttft_s = 0.5
output_tokens_per_s = 100

[agents.cheap]
model = "ma"
input_tokens = {cheap_input_tokens}
output_tokens = 500

[agents.dear]
model = "mb"
input_tokens = 2200
output_tokens = 500

[strategies.a]
[[strategies.a.steps]]
id = "work"
agent = "cheap"

[strategies.b]
[[strategies.b.steps]]
id = "work"
agent = "dear"
"#
    )
}

#[test]
fn a_linear_break_even_is_found_where_the_algebra_puts_it() {
    let t = tmp("breakeven-exact");
    std::fs::write(t.path().join("s.toml"), linear_scenario("1000", 3)).unwrap();
    let out = orchsim(t.path())
        .args(["sweep", "s.toml", "--vary", "models.ma.price_multiplier=1:7:7", "--no-charts", "--out", "o"])
        .assert()
        .success();
    let (h, rows) = read_csv(&t.path().join("o/breakeven.csv"));
    assert_eq!(h, ["axis", "strategy_a", "strategy_b", "metric", "value", "ci95_low", "ci95_high", "other_axes"]);
    assert_eq!(rows.len(), 1, "{rows:?}");
    let r = &rows[0];
    assert_eq!(
        (r[0].as_str(), r[1].as_str(), r[2].as_str(), r[3].as_str()),
        ("models.ma.price_multiplier", "a", "b", "cost_per_success_usd")
    );
    // x · 0.003 = 0.0126  <=>  x = 4.2.
    let v: f64 = r[4].parse().unwrap();
    assert!((v - 4.2).abs() < 1e-9, "crossing {v}, expected 4.2");
    // Every replication crosses at the same place: a zero-width interval.
    let (lo, hi): (f64, f64) = (r[5].parse().unwrap(), r[6].parse().unwrap());
    assert!((lo - 4.2).abs() < 1e-9 && (hi - 4.2).abs() < 1e-9, "{lo} {hi}");
    assert_eq!(r[7], "");
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(text.contains("models.ma.price_multiplier: 1 to 4: a (clear at 4 of 4 points); 5 to 7: b (clear at 3 of 3 points)"), "{text}");
    assert!(text.contains("a and b at models.ma.price_multiplier = 4.2 (95% CI 4.2 to 4.2)"), "{text}");
}

#[test]
fn the_interval_from_replication_crossings_holds_the_long_run_crossing() {
    // Uniform input tokens on [500, 1500]: mean 1000 (rounding to whole tokens is
    // symmetric), so the long-run costs cross at x = 0.0126 / 0.003 = 4.2 exactly, while
    // each replication crosses somewhere else.
    let t = tmp("breakeven-interval");
    std::fs::write(t.path().join("s.toml"), linear_scenario(r#"{ dist = "uniform", min = 500, max = 1500 }"#, 12)).unwrap();
    orchsim(t.path())
        .args(["sweep", "s.toml", "--vary", "models.ma.price_multiplier=3:5.5:6", "--no-charts", "--quiet", "--out", "o"])
        .assert()
        .success();
    let (_, rows) = read_csv(&t.path().join("o/breakeven.csv"));
    assert_eq!(rows.len(), 1, "{rows:?}");
    let f = |i: usize| rows[0][i].parse::<f64>().unwrap();
    let (v, lo, hi) = (f(4), f(5), f(6));
    assert!(lo < 4.2 && 4.2 < hi, "interval {lo}..{hi} misses the long-run crossing 4.2");
    assert!(hi - lo > 1e-6 && hi - lo < 0.5, "interval {lo}..{hi} is degenerate or says nothing");
    // The value is the crossing of the mean paired difference, recomputed here from the
    // replications: the costs are linear, so any two points give the line.
    let (h, reps) = read_csv(&t.path().join("o/sweep_replications.csv"));
    let col = |n: &str| h.iter().position(|c| c == n).unwrap();
    let mean_diff = |x: &str| {
        let pick = |s: &str| -> Vec<f64> {
            reps.iter()
                .filter(|r| r[col("models.ma.price_multiplier")] == x && r[col("strategy")] == s)
                .map(|r| r[col("cost_per_success_usd")].parse().unwrap())
                .collect()
        };
        let (a, b) = (pick("a"), pick("b"));
        a.iter().zip(&b).map(|(p, q)| p - q).sum::<f64>() / a.len() as f64
    };
    let (d0, d1) = (mean_diff("4"), mean_diff("4.5"));
    assert!(d0 < 0.0 && d1 > 0.0, "the crossing lies between 4 and 4.5 ({d0}, {d1})");
    let x = 4.0 + 0.5 * d0 / (d0 - d1);
    assert!((v - x).abs() < 1e-9, "value {v} vs recomputed {x}");
}
