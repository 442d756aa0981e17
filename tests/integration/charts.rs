//! Charts: produced for every run and sweep shape, valid, labelled, and reproducible
//! from the CSV files alone.

use std::path::Path;

use crate::common::*;

fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&bytes[12..16], b"IHDR");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&bytes[16..20]), be(&bytes[20..24]))
}

fn charts(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir.join("charts"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect();
    v.sort();
    v
}

fn check(files: &[(String, Vec<u8>)], expect: &[&str], texts: &[&str]) {
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    for e in expect {
        assert!(names.contains(&format!("{e}.svg").as_str()) && names.contains(&format!("{e}.png").as_str()), "{e} in {names:?}");
    }
    let mut all_svg = String::new();
    for (n, b) in files {
        if n.ends_with(".png") {
            let (w, h) = png_size(b);
            assert!((600..=4000).contains(&w) && (300..=4000).contains(&h), "{n}: {w}x{h}");
            assert!(b.len() > 5_000, "{n} is suspiciously small");
        } else {
            let s = String::from_utf8(b.clone()).unwrap();
            assert!(s.trim_start().starts_with("<svg") || s.trim_start().starts_with("<?xml"), "{n}");
            assert!(s.trim_end().ends_with("</svg>"), "{n}");
            all_svg.push_str(&s);
        }
    }
    for t in texts {
        assert!(all_svg.contains(t), "no {t:?} in the SVGs");
    }
}

#[test]
fn a_run_draws_every_chart_and_plot_redraws_them_from_the_csv_alone() {
    let t = tmp("charts_run");
    orchsim(t.path()).args(["run", "--tasks", "60", "--replications", "3", "--task-log", "--quiet", "--out", "o"]).assert().success();
    let o = t.path().join("o");
    let first = charts(&o);
    check(
        &first,
        &["cost_per_result", "cost_breakdown", "latency", "outcomes"],
        &["Cost per task and per correct result", "USD", "single", "vote3", "pipeline", "analysts", "deadline", "latency"],
    );
    std::fs::remove_dir_all(o.join("charts")).unwrap();
    orchsim(t.path()).args(["plot", "o"]).assert().success();
    assert_eq!(first, charts(&o), "plot DIR gives the same charts as the run");
}

#[test]
fn sweeps_draw_a_line_chart_for_one_axis_and_a_heat_map_for_two() {
    let t = tmp("charts_sweep");
    let sc = scenario("research-report.toml");
    orchsim(t.path())
        .args(["sweep", sc.to_str().unwrap(), "--tasks", "30", "--replications", "2", "--quiet", "--out", "one"])
        .args(["--vary", "models.gpt-4o-2024-08-06.price_multiplier=1,10,30"])
        .assert()
        .success();
    check(
        &charts(&t.path().join("one")),
        &["sweep_cost_per_success"],
        &["models.gpt-4o-2024-08-06.price_multiplier", "single", "pipeline", "break-even"],
    );
    orchsim(t.path())
        .args(["sweep", sc.to_str().unwrap(), "--tasks", "30", "--replications", "2", "--quiet", "--out", "two"])
        .args(["--vary", "models.gpt-4o-2024-08-06.price_multiplier=1,30", "--vary", "strategies.pipeline.handoff_tokens=0,5000"])
        .assert()
        .success();
    let two = charts(&t.path().join("two"));
    check(&two, &["sweep_cheapest"], &["Cheapest strategy", "strategies.pipeline.handoff_tokens"]);
    std::fs::remove_dir_all(t.path().join("two/charts")).unwrap();
    orchsim(t.path()).args(["plot", "two"]).assert().success();
    assert_eq!(two, charts(&t.path().join("two")));
}

#[test]
fn no_charts_means_no_charts() {
    let t = tmp("charts_none");
    orchsim(t.path()).args(["run", "--tasks", "10", "--replications", "2", "--no-charts", "--quiet", "--out", "o"]).assert().success();
    assert!(!t.path().join("o/charts").exists());
}
