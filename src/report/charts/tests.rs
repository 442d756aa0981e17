use super::summary::PARTS;
use super::sweep::*;
use super::*;
use std::fmt::Write as _;

const LONG: &str = "fanout_with_critic_v2";

/// Three strategies, the last a human team (no model cost) at ~100x the agents' cost.
fn summary_csv(replications: u32) -> String {
    let mut s = String::from("strategy,metric,mean,std,ci95_low,ci95_high,replications\n");
    let rows = [
        ("pipeline", [0.12, 0.02, 0.03, 0.01, 0.0], 0.04, 0.8, 90.0),
        (LONG, [0.3, 0.05, 0.1, 0.02, 0.0], 0.15, 0.9, 60.0),
        ("human team", [0.0, 0.0, 0.0, 0.0, 45.0], 2.0, 0.95, 7200.0),
    ];
    for (name, parts, wasted, ok, p50) in rows {
        let (n, per_task) = (100.0, parts.iter().sum::<f64>());
        let mut metrics = vec![
            ("tasks", n),
            ("correct", ok * n),
            ("wrong", (1.0 - ok) * n * 0.6),
            ("failed", (1.0 - ok) * n * 0.3),
            ("escalated", (1.0 - ok) * n * 0.1),
            ("cost_usd", per_task * n),
            ("wasted_cost_usd", wasted * n),
            ("cost_per_task_usd", per_task),
            ("cost_per_success_usd", per_task / ok),
            ("latency_p50_s", p50),
            ("latency_p95_s", p50 * 3.0),
            ("latency_p99_s", p50 * 5.0),
            ("latency_mean_s", p50 * 1.3),
        ];
        for (m, v) in PARTS.iter().zip(parts) {
            metrics.push((m.0, v * n));
        }
        for (m, v) in metrics {
            let (sd, lo, hi) = if replications > 1 { (v * 0.05, v * 0.9, v * 1.1) } else { (f64::NAN, f64::NAN, f64::NAN) };
            writeln!(s, "{name},{m},{v},{sd},{lo},{hi},{replications}").unwrap();
        }
    }
    s
}

/// One axis: pipeline's cost rises through fanout's flat line at exactly 5000.
fn sweep1_csv() -> String {
    let mut s = String::from("point,strategies.pipeline.handoff_tokens,strategy,metric,mean,std,ci95_low,ci95_high,replications\n");
    for (p, x) in [0.0, 2000.0, 4000.0, 8000.0].iter().enumerate() {
        for (name, v) in [("pipeline", 0.2 + 0.00005 * x), ("fanout", 0.45), ("solo", f64::INFINITY)] {
            writeln!(s, "{p},{x},{name},cost_per_success_usd,{v},0.01,{},{},3", v * 0.95, v * 1.05).unwrap();
            writeln!(s, "{p},{x},{name},tasks,10,0,10,10,3").unwrap();
        }
    }
    s
}

fn sweep2_csv() -> String {
    let mut s =
        String::from("point,agents.writer.error_rate,models.m1.price_in,strategy,metric,mean,std,ci95_low,ci95_high,replications\n");
    let mut p = 0;
    for e in [0.05, 0.1, 0.2] {
        for price in [1.0, 5.0] {
            for (name, v) in [("pipeline", e * 10.0 + price * 0.1), ("fanout", 0.5 + price * 0.05)] {
                writeln!(s, "{p},{e},{price},{name},cost_per_success_usd,{v},0,{v},{v},3").unwrap();
            }
            p += 1;
        }
    }
    s
}

fn fixture(files: &[(&str, String)]) -> tempfile::TempDir {
    let dir = tempfile::TempDir::new().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

fn assert_png(path: &Path) {
    let b = std::fs::read(path).unwrap();
    assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n", "{path:?}");
    assert_eq!(&b[12..16], b"IHDR");
    let be = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    assert_eq!((be(16), be(20)), (W * PNG_DENSITY, H * PNG_DENSITY), "{path:?}");
}

fn svg(dir: &Path, name: &str, must: &[&str]) -> String {
    let text = std::fs::read_to_string(dir.join("charts").join(format!("{name}.svg"))).unwrap();
    assert!(text.starts_with("<svg") || text.starts_with("<?xml"), "{name}");
    assert!(text.trim_end().ends_with("</svg>"), "{name}");
    for m in must {
        assert!(text.contains(m), "{name}.svg lacks {m:?}");
    }
    text
}

fn names(written: &[PathBuf]) -> Vec<String> {
    written.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect()
}

#[test]
fn run_dir_gets_four_charts_with_titles_labels_and_names() {
    let dir = fixture(&[("summary.csv", summary_csv(5))]);
    let written = render_dir(dir.path()).unwrap();
    let mut expected: Vec<String> = ["cost_breakdown", "cost_per_result", "latency", "outcomes"]
        .iter()
        .flat_map(|n| [format!("{n}.png"), format!("{n}.svg")])
        .collect();
    expected.sort();
    assert_eq!(names(&written), expected);
    for p in written.iter().filter(|p| p.extension().is_some_and(|e| e == "png")) {
        assert_png(p);
    }
    let strategies = ["pipeline", LONG, "human team"];
    let d = dir.path();
    let cost = svg(d, "cost_per_result", &["Cost per task and per correct result", "log scale", "95% CI"]);
    assert!(cost.contains("human team: $47.37 per correct result"), "human reference line label");
    svg(d, "cost_breakdown", &["Mean cost per task by component", "USD per task", "wasted: 22%", "bar cut"]);
    svg(d, "latency", &["Latency percentiles by strategy", "latency (log scale)", "1 min"]);
    svg(d, "outcomes", &["Task outcomes by strategy", "share of tasks (%)", "escalated to people", "80%"]);
    for chart in ["cost_per_result", "cost_breakdown", "latency", "outcomes"] {
        svg(d, chart, &strategies);
    }
    // No temp files are left behind.
    assert_eq!(std::fs::read_dir(d.join("charts")).unwrap().count(), 8);
}

#[test]
fn rendering_twice_gives_identical_bytes() {
    let dir = fixture(&[("summary.csv", summary_csv(5)), ("sweep.csv", sweep1_csv())]);
    let read_all = |w: &[PathBuf]| w.iter().map(|p| std::fs::read(p).unwrap()).collect::<Vec<_>>();
    let first = render_dir(dir.path()).unwrap();
    let bytes = read_all(&first);
    let second = render_dir(dir.path()).unwrap();
    assert_eq!(first, second);
    assert_eq!(bytes, read_all(&second));
    assert_eq!(first.len(), 10);
}

#[test]
fn one_replication_and_no_correct_result_are_drawn_without_whiskers() {
    let csv: String = summary_csv(1)
        .lines()
        .map(|l| {
            if l.starts_with("pipeline,cost_per_success_usd,") {
                "pipeline,cost_per_success_usd,inf,NaN,NaN,NaN,1\n".into()
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    let dir = fixture(&[("summary.csv", csv)]);
    render_dir(dir.path()).unwrap();
    let text = svg(dir.path(), "cost_per_result", &["no correct result"]);
    assert!(!text.contains("95% CI"));
}

#[test]
fn task_log_gives_an_ecdf_with_manifest_deadlines() {
    let mut tasks = String::from(
        "replication,strategy,task,class,business_unit,arrival_s,finish_s,latency_s,outcome,cost_usd,tokens_in,tokens_out,attempts,reworks,root_cause\n",
    );
    for (k, name) in ["pipeline", LONG, "human team"].iter().enumerate() {
        for t in 0..50 {
            let lat = (t as f64 + 1.0) * 10f64.powi(k as i32 + 1);
            writeln!(tasks, "0,{name},{t},report,bu,0,{lat},{lat},correct,0.1,1,1,1,0,").unwrap();
        }
    }
    let manifest = r#"{"scenario":{"workload":{"classes":[{"id":"report","deadline_s":3600},{"id":"x"}]}}}"#;
    let dir = fixture(&[("summary.csv", summary_csv(5)), ("tasks.csv", tasks), ("manifest.json", manifest.into())]);
    render_dir(dir.path()).unwrap();
    svg(dir.path(), "latency", &["Latency distribution", "deadline 1 h (report)", "tasks finished (cumulative %)", LONG]);
}

#[test]
fn one_axis_sweep_marks_the_break_even_point() {
    let dir = fixture(&[("sweep.csv", sweep1_csv())]);
    let written = render_dir(dir.path()).unwrap();
    assert_eq!(names(&written), ["sweep_cost_per_success.png", "sweep_cost_per_success.svg"]);
    assert_png(&written[0]);
    let must = [
        "Cost per correct result across the sweep",
        "strategies.pipeline.handoff_tokens",
        "USD per correct result",
        "≈ 5000",
        "pipeline",
        "fanout",
        "solo",
    ];
    svg(dir.path(), "sweep_cost_per_success", &must);
}

#[test]
fn two_axis_sweep_gives_a_cheapest_strategy_map() {
    let dir = fixture(&[("sweep.csv", sweep2_csv())]);
    let written = render_dir(dir.path()).unwrap();
    assert_eq!(names(&written), ["sweep_cheapest.png", "sweep_cheapest.svg"]);
    assert_png(&written[0]);
    // At error 0.05 and price 1, fanout ($0.55) beats pipeline ($0.60) by 0.05/0.60.
    let must = ["Cheapest strategy", "agents.writer.error_rate", "models.m1.price_in", "2 fanout", "by 8.3%", "lead over the runner-up"];
    let text = svg(dir.path(), "sweep_cheapest", &must);
    // Pipeline never wins, so the legend does not offer it.
    assert!(!text.contains("1 pipeline"));
}

#[test]
fn missing_or_broken_inputs_are_errors_not_panics() {
    let dir = fixture(&[]);
    assert!(matches!(render_dir(dir.path()), Err(ChartError::NoData { .. })));
    let dir = fixture(&[("summary.csv", "strategy,metric,mean\n".into())]);
    let err = render_dir(dir.path()).unwrap_err();
    assert!(err.to_string().contains("summary.csv: missing column `ci95_low`"), "{err}");
    let bad = summary_csv(5).replacen(",100,", ",lots,", 1);
    let dir = fixture(&[("summary.csv", bad)]);
    let err = render_dir(dir.path()).unwrap_err();
    assert!(err.to_string().contains("summary.csv:2: column `mean` = \"lots\""), "{err}");
    let dir = fixture(&[("summary.csv", summary_csv(5)), ("manifest.json", "{".into())]);
    assert!(matches!(render_dir(dir.path()), Err(ChartError::Json { .. })));
}

#[test]
fn lead_is_relative_to_the_runner_up_in_the_better_direction() {
    assert!((lead(0.6, 0.8, false) - 0.25).abs() < 1e-12);
    assert!((lead(10.0, 8.0, true) - 0.25).abs() < 1e-12);
    assert!((lead(-1.0, -2.0, true) - 0.5).abs() < 1e-12);
    assert_eq!(lead(0.0, 0.0, false), 0.0);
}

#[test]
fn crossings_interpolate_between_adjacent_points() {
    let xs = [0.0, 1.0, 2.0, 3.0];
    let got = crossings(&xs, &[0.0, 1.0, 2.0, 3.0], &[1.5, 1.5, 1.5, 1.5]);
    assert_eq!(got, vec![(1.5, 1.5)]);
    assert_eq!(crossings(&xs, &[1.0, 2.0, 1.0, 0.0], &[1.0, 1.0, 1.0, 1.0]).len(), 2);
    assert!(crossings(&xs, &[1.0, f64::INFINITY, 3.0, 4.0], &[2.0, 2.0, 2.0, 2.0]).is_empty());
}

#[test]
fn numbers_format_for_budget_readers() {
    assert_eq!([usd(0.01), usd(0.2), usd(5.0), usd(1200.0), usd(2.5e6)], ["$0.01", "$0.20", "$5", "$1.2k", "$2.5M"]);
    assert_eq!([money(0.1), money(0.0023), money(47.4), money(450.0)], ["$0.10", "$0.0023", "$47.40", "$450"]);
    assert_eq!([dur(30.0), dur(600.0), dur(7200.0)], ["30 s", "10 min", "2 h"]);
}
