//! `orchsim sensitivity` on a case without randomness: hand-computed bills at each end.

use crate::breakeven::linear_scenario;
use crate::common::{orchsim, read_csv, tmp};

#[test]
fn each_end_of_each_range_costs_what_the_price_list_says() {
    let t = tmp("sensitivity");
    std::fs::write(t.path().join("s.toml"), linear_scenario("1000", 3)).unwrap();
    let out = orchsim(t.path())
        .args([
            "sensitivity",
            "s.toml",
            "--range",
            "models.ma.input_usd_per_mtok=1:3",
            "--range",
            "agents.cheap.output_tokens=400:800",
            "--range",
            "models.ma.price_multiplier=1:5",
            "--metric",
            "cost_per_task_usd",
            "--compare",
            "a,b",
            "--out",
            "o",
        ])
        .assert()
        .success();
    let (h, rows) = read_csv(&t.path().join("o/sensitivity.csv"));
    assert_eq!(h, ["input", "side", "value", "strategy", "metric", "mean", "ci95_low", "ci95_high"]);
    // Per task: a = in·p_in + out·p_out (× multiplier), b = 2200·$3 + 500·$12 = $0.0126.
    let b = 0.0126;
    let expected = [
        ("base", "base", "", 0.003),
        ("models.ma.input_usd_per_mtok", "low", "1", 0.003),
        ("models.ma.input_usd_per_mtok", "high", "3", (1000.0 * 3.0 + 500.0 * 4.0) / 1e6),
        ("agents.cheap.output_tokens", "low", "400", (1000.0 + 400.0 * 4.0) / 1e6),
        ("agents.cheap.output_tokens", "high", "800", (1000.0 + 800.0 * 4.0) / 1e6),
        ("models.ma.price_multiplier", "low", "1", 0.003),
        ("models.ma.price_multiplier", "high", "5", 5.0 * 0.003),
    ];
    assert_eq!(rows.len(), expected.len() * 3, "rows: a, b and a-b per case");
    for (k, (input, side, value, a)) in expected.iter().enumerate() {
        for (j, (strategy, want)) in [("a", *a), ("b", b), ("a-b", a - b)].iter().enumerate() {
            let r = &rows[3 * k + j];
            assert_eq!((&r[0][..], &r[1][..], &r[2][..], &r[3][..], &r[4][..]), (*input, *side, *value, *strategy, "cost_per_task_usd"));
            let f = |i: usize| r[i].parse::<f64>().unwrap();
            for i in [5, 6, 7] {
                assert!((f(i) - want).abs() < 1e-15, "{input} {side} {strategy}: column {} = {} vs {want}", h[i], r[i]);
            }
        }
    }
    // The tornado chart of the compared difference, and what it follows in the manifest.
    assert!(t.path().join("o/charts/tornado.svg").is_file());
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(t.path().join("o/manifest.json")).unwrap()).unwrap();
    assert_eq!((m["options"]["metric"].as_str(), m["options"]["compare"].as_str()), (Some("cost_per_task_usd"), Some("a,b")));
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(text.contains("Flipped by: models.ma.price_multiplier at its high end (5: b)."), "{text}");
    // Largest swing first: the multiplier (0.012), then the input price (0.002).
    let pos = |s: &str| text.find(s).unwrap_or_else(|| panic!("{s} missing in\n{text}"));
    assert!(pos("  models.ma.price_multiplier") < pos("  models.ma.input_usd_per_mtok"));
    assert!(pos("  models.ma.input_usd_per_mtok") < pos("  agents.cheap.output_tokens"));
}

#[test]
fn bad_ranges_are_reported_with_their_path_and_exit_2() {
    let t = tmp("sensitivity-bad");
    std::fs::write(t.path().join("s.toml"), linear_scenario("1000", 2)).unwrap();
    let out = orchsim(t.path())
        .args(["sensitivity", "s.toml", "--range", "models.ma.input_usd_per_mtok=3:1", "--range", "agents.cheap.error_rate=0:2"])
        .args(["--range", "agents.cheap.eror_rate=0:0.1"])
        .assert()
        .code(2);
    let err = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert_eq!(err.matches("agents.cheap.eror_rate = 0: unknown key; expected one of: error_correlation, error_rate,").count(), 1, "{err}");
    assert!(!err.contains("eror_rate = 0.1"), "a bad path is reported once: {err}");
    assert!(err.contains("models.ma.input_usd_per_mtok = 3:1: expected LOW:HIGH"), "{err}");
    assert!(err.contains("agents.cheap.error_rate = 2"), "{err}");
    orchsim(t.path()).args(["sensitivity", "s.toml"]).assert().code(2);
    orchsim(t.path()).args(["sensitivity", "s.toml", "--range", "seed=1:2", "--compare", "a,zz"]).assert().code(2);
    assert!(!t.path().join("output").exists(), "nothing is written for bad input");
}

#[test]
fn without_ranges_the_assumptions_table_gives_them() {
    let t = tmp("sensitivity-assumptions");
    let text = linear_scenario("1000", 2) + "\n[assumptions]\n\"models.ma.input_usd_per_mtok\" = \"1:3\"\n";
    std::fs::write(t.path().join("s.toml"), &text).unwrap();
    orchsim(t.path()).args(["validate", "s.toml"]).assert().success();
    orchsim(t.path()).args(["sensitivity", "s.toml", "--metric", "cost_per_task_usd", "--quiet", "--out", "o"]).assert().success();
    let (_, rows) = read_csv(&t.path().join("o/sensitivity.csv"));
    let high: Vec<&Vec<String>> = rows.iter().filter(|r| r[1] == "high").collect();
    assert_eq!(high.len(), 2);
    assert_eq!((&high[0][0][..], &high[0][2][..], &high[0][3][..]), ("models.ma.input_usd_per_mtok", "3", "a"));
    assert!((high[0][5].parse::<f64>().unwrap() - 0.005).abs() < 1e-15);
    // A bad entry is reported with its line by validate, run and sensitivity alike.
    std::fs::write(t.path().join("bad.toml"), text.replace("\"1:3\"", "\"3:1\"")).unwrap();
    let out = orchsim(t.path()).args(["validate", "bad.toml"]).assert().code(2);
    let err = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    let line = text.lines().count();
    assert!(err.contains(&format!("bad.toml:{line}: assumptions.\"models.ma.input_usd_per_mtok\" = \"3:1\": expected LOW:HIGH")), "{err}");
}
