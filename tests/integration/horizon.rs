//! `orchsim horizon`: the exact case through the simulator, and input checks.

use crate::common::{orchsim, pico, read_csv, root, tmp};

fn fixture() -> std::path::PathBuf {
    root().join("tests/fixtures/horizon-exact.toml")
}

#[test]
fn exact_case_through_the_simulator() {
    let dir = tmp("horizon-exact");
    let out = dir.path().join("h");
    orchsim(dir.path()).args(["horizon", "--quiet", "--no-charts", "--out"]).arg(&out).arg(fixture()).assert().success();
    let (h, rows) = read_csv(&out.join("horizon.csv"));
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    let agent: Vec<&Vec<String>> = rows.iter().filter(|r| r[col("strategy")] == "agent").collect();
    assert_eq!(agent.len(), 24);
    for r in &agent {
        let m: u32 = r[col("month")].parse().unwrap();
        let want = match m {
            1..=2 => -4600,
            3..=6 => 890,
            _ => 895,
        };
        assert_eq!(pico(&r[col("net_value_usd")]), want * 1_000_000_000_000, "month {m}");
        let phase = if m <= 2 { "build" } else { "live" };
        assert_eq!(r[col("phase")], phase);
    }
    // Cumulative: -9,200 after month 2, -5,640 after month 6, then +895 a month: >= 0 at month 13.
    let cum = |m: usize| pico(&agent[m - 1][col("cumulative_net_value_usd")]);
    assert!(cum(12) < 0 && cum(13) >= 0);
    let (sh, srows) = read_csv(&out.join("horizon_summary.csv"));
    let scol = |n: &str| sh.iter().position(|x| x == n).unwrap();
    let get = |s: &str, m: &str| srows.iter().find(|r| r[scol("strategy")] == s && r[scol("metric")] == m).unwrap().clone();
    assert_eq!(get("agent", "payback_month")[scol("mean")], "13");
    let npv: f64 = get("agent", "npv_usd")[scol("mean")].parse().unwrap();
    let hand: f64 = (1..=24)
        .map(|m: u32| {
            let n = match m {
                1..=2 => -4600.0,
                3..=6 => 890.0,
                _ => 895.0,
            };
            n / 1.12f64.powf(m as f64 / 12.0)
        })
        .sum();
    assert!((npv - hand).abs() < 1e-6, "NPV {npv} vs hand {hand}");
    // The people alone: 1,000 × ($1 − $5) every month, never paying back.
    assert!(rows.iter().filter(|r| r[col("strategy")] == "people").all(|r| pico(&r[col("net_value_usd")]) == -4000 * 1_000_000_000_000));
    assert_eq!(get("people", "payback_month")[scol("mean")], "");
}

#[test]
fn adoption_timings_and_charts() {
    let dir = tmp("horizon-timing");
    let out = dir.path().join("h");
    let a = orchsim(dir.path()).args(["horizon", "--adopt-at", "1,7", "--out"]).arg(&out).arg(fixture()).assert().success();
    let text = String::from_utf8(a.get_output().stdout.clone()).unwrap();
    assert!(text.contains("agent adopted at month 1"), "{text}");
    assert!(out.join("charts/horizon_cumulative.png").exists());
    assert!(out.join("charts/horizon_npv_by_adoption.svg").exists());
    let (h, rows) = read_csv(&out.join("horizon.csv"));
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    let late: Vec<&Vec<String>> = rows.iter().filter(|r| r[col("strategy")] == "agent" && r[col("adopt_at")] == "7").collect();
    let phases: Vec<&str> = late.iter().map(|r| r[col("phase")].as_str()).collect();
    assert_eq!(&phases[..9], &["before", "before", "before", "before", "before", "before", "build", "build", "live"]);
}

#[test]
fn bad_horizon_input_is_refused_with_its_location() {
    let dir = tmp("horizon-bad");
    let text = std::fs::read_to_string(fixture())
        .unwrap()
        .replace("months = 24", "months = 0")
        .replace("fallback = \"people\"", "fallback = \"agent\"");
    let f = dir.path().join("bad.toml");
    std::fs::write(&f, text).unwrap();
    let a = orchsim(dir.path()).args(["horizon", "--quiet"]).arg(&f).assert().code(2);
    let err = String::from_utf8(a.get_output().stderr.clone()).unwrap();
    assert!(err.contains("horizon.months = 0"), "{err}");
    assert!(err.contains("strategies.agent.adoption.fallback = \"agent\""), "{err}");
    assert!(err.contains("bad.toml:"), "{err}");
    assert!(!dir.path().join("output").exists(), "nothing written for invalid input");
    // `validate` checks the horizon fields too, with the same messages.
    let v = orchsim(dir.path()).args(["validate"]).arg(&f).assert().code(2);
    let verr = String::from_utf8(v.get_output().stderr.clone()).unwrap();
    assert!(verr.contains("horizon.months = 0"), "{verr}");
    // A scenario without [horizon] is refused too.
    orchsim(dir.path()).args(["horizon", "--quiet"]).arg(root().join("scenarios/mmc.toml")).assert().code(2);
}
