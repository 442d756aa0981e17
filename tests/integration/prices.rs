//! The price map: `--prices`, the scenario's `prices` key, the manifest's record of the
//! map, `orchsim models`, and service tiers refused with exit 2.

use crate::common::{orchsim, pico, read_csv, root, tmp};

/// A price map holding one model: gpt-4o-2024-08-06 at $5 in / $10 out per million tokens.
const FIVE_DOLLAR_MAP: &str = r#"{"gpt-4o-2024-08-06": {"mode": "chat", "litellm_provider": "openai",
  "input_cost_per_token": 5e-06, "output_cost_per_token": 1e-05}, "text-embedding-3-small": {"mode": "embedding",
  "input_cost_per_token": 2e-08}}"#;

/// The built-in map with gpt-4o-2024-08-06's input price raised to $5 per million tokens.
fn newer_map() -> String {
    let text = std::fs::read_to_string(root().join("data/litellm/model_prices-1.110.2.json")).unwrap();
    let at = text.find("\n    \"gpt-4o-2024-08-06\": {").unwrap();
    let field = "\"input_cost_per_token\": 2.5e-06,";
    let i = at + text[at..].find(field).unwrap();
    format!("{}\"input_cost_per_token\": 5e-06,{}", &text[..i], &text[i + field.len()..])
}

fn sha256(bytes: &[u8]) -> String {
    orchsim::report::sha256_hex(bytes)
}

fn single_cost_per_task(dir: &std::path::Path) -> Vec<i128> {
    let (h, reps) = read_csv(&dir.join("replications.csv"));
    let c = h.iter().position(|x| x == "cost_usd").unwrap();
    reps.iter().filter(|r| r[2] == "single").map(|r| pico(&r[c]) / 30).collect()
}

fn manifest(dir: &std::path::Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap()
}

#[test]
fn prices_flag_bills_from_the_users_map_and_the_manifest_records_it() {
    let t = tmp("prices_flag");
    let map = newer_map();
    std::fs::write(t.path().join("p.json"), &map).unwrap();
    let fixed = [
        "--set",
        "agents.generalist.input_tokens=2000",
        "--set",
        "agents.generalist.output_tokens=500",
        "--set",
        "models.gpt-4o-2024-08-06.error_rate=0",
    ];
    let base = ["run", "--tasks", "30", "--replications", "2", "--no-charts", "--quiet", "--out"];
    // The built-in map: 2,000 × $2.50/M + 500 × $10/M = $0.01 a task.
    orchsim(t.path()).args(base).arg("a").args(fixed).assert().success();
    // The user's map: 2,000 × $5/M + 500 × $10/M = $0.015 a task.
    orchsim(t.path()).args(base).arg("b").args(fixed).args(["--prices", "p.json"]).assert().success();
    assert!(single_cost_per_task(&t.path().join("a")).iter().all(|&c| c == 10_000_000_000));
    assert!(single_cost_per_task(&t.path().join("b")).iter().all(|&c| c == 15_000_000_000));
    let (ma, mb) = (manifest(&t.path().join("a")), manifest(&t.path().join("b")));
    assert!(ma["price_map"]["source"].as_str().unwrap().contains("litellm 1.110.2"));
    assert!(ma["price_map"]["sha256"].as_str().unwrap().starts_with("8943af58bf9f979c"));
    assert_eq!(mb["price_map"]["sha256"].as_str().unwrap(), sha256(map.as_bytes()));
    assert!(mb["price_map"]["source"].as_str().unwrap().ends_with("p.json"));
}

#[test]
fn a_price_map_that_does_not_parse_is_refused_with_exit_2() {
    let t = tmp("prices_bad");
    std::fs::write(t.path().join("p.json"), "{\"m\": {\"mode\": \"chat\",\n \"input_cost_per_token\": \"free\"}}").unwrap();
    let out = orchsim(t.path()).args(["models", "--prices", "p.json"]).assert().code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("p.json:2: m.input_cost_per_token = \"free\": a non-negative number"), "{err}");
    orchsim(t.path()).args(["run", "--prices", "missing.json"]).assert().code(2);
}

#[test]
fn models_csv_lists_every_chat_model_and_filters() {
    let t = tmp("models_csv");
    let out = orchsim(t.path()).args(["models", "--csv"]).assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    let mut r = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(r.headers().unwrap().len(), 10);
    assert_eq!(r.records().count(), 3_676, "3,471 chat + 205 responses entries of the map");
    let out = orchsim(t.path()).args(["models", "--csv", "--provider", "openai", "--search", "o3-pro"]).assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(text.lines().skip(1).all(|l| l.contains("o3-pro") && l.contains(",openai,")), "{text}");
    std::fs::write(t.path().join("p.json"), FIVE_DOLLAR_MAP).unwrap();
    let out = orchsim(t.path()).args(["models", "--csv", "--prices", "p.json"]).assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert_eq!(text.lines().nth(1), Some("gpt-4o-2024-08-06,openai,5,10,,,,,,"));
    assert_eq!(text.lines().count(), 2, "embeddings are not listed");
}

#[test]
fn a_service_tier_the_model_does_not_offer_is_refused_with_exit_2() {
    let t = tmp("tier");
    let out = orchsim(t.path())
        .args(["run", "--tasks", "5", "--replications", "1", "--no-charts", "--quiet"])
        .args(["--set", "agents.generalist.service_tier=flex"])
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("agents.generalist.service_tier") && err.contains("gpt-4o-2024-08-06 is not offered at this tier"), "{err}");
}
