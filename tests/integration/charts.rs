//! Charts: produced for every run and sweep shape, valid, labelled, and reproducible
//! from the CSV files alone.

use std::path::Path;

use orchsim::report::charts;

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
            // 1000 x 600 logical pixels at twice the density.
            assert_eq!(png_size(b), (2000, 1200), "{n}");
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

/// The text of every `<text>` element of an SVG, in drawing order.
fn svg_texts(svg: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = svg;
    while let Some(i) = rest.find("<text") {
        rest = &rest[i..];
        let Some(open_end) = rest.find('>') else { break };
        let Some(close) = rest.find("</text>") else { break };
        out.push(rest[open_end + 1..close].trim().to_string());
        rest = &rest[close..];
    }
    out
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap()
}

/// `x` (a fraction) as a percentage with two significant digits, trailing zeros dropped.
fn pct2(x: f64) -> String {
    let v = x * 100.0;
    let decimals = (1 - v.abs().log10().floor() as i32).max(0) as usize;
    let s = format!("{v:.decimals$}");
    let s = if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s };
    format!("{s}%")
}

#[test]
fn the_mmc_queue_has_no_money_so_it_gets_no_cost_charts() {
    let t = tmp("charts_mmc");
    let sc = scenario("mmc.toml");
    orchsim(t.path())
        .args(["run", sc.to_str().unwrap(), "--tasks", "50", "--replications", "2", "--quiet", "--out", "o"])
        .assert()
        .success();
    let names: Vec<String> = charts(&t.path().join("o")).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["latency.png", "latency.svg", "outcomes.png", "outcomes.svg"]);
    // A stale cost chart from an earlier drawing goes too.
    std::fs::write(t.path().join("o/charts/cost_per_result.svg"), "<svg></svg>").unwrap();
    orchsim(t.path()).args(["plot", "o"]).assert().success();
    assert!(!t.path().join("o/charts/cost_per_result.svg").exists());
}

/// A 2 x 3 grid with three strategies. Per cell, the winner and its lead are recomputed
/// below from this text, not taken from the code under test.
const GRID: &str = "point,a.x,b.y,strategy,metric,mean,std,ci95_low,ci95_high,replications
0,1,10,single,cost_per_success_usd,0.10,0,0.09,0.11,3
0,1,10,pipeline,cost_per_success_usd,0.30,0,0.28,0.32,3
0,1,10,people,cost_per_success_usd,90,0,80,100,3
1,2,10,single,cost_per_success_usd,0.20,0,0.18,0.22,3
1,2,10,pipeline,cost_per_success_usd,0.21,0,0.19,0.23,3
1,2,10,people,cost_per_success_usd,90,0,80,100,3
2,4,10,single,cost_per_success_usd,0.40,0,0.38,0.42,3
2,4,10,pipeline,cost_per_success_usd,0.25,0,0.24,0.26,3
2,4,10,people,cost_per_success_usd,90,0,80,100,3
3,1,20,single,cost_per_success_usd,inf,NaN,NaN,NaN,3
3,1,20,pipeline,cost_per_success_usd,0.33,0,0.30,0.36,3
3,1,20,people,cost_per_success_usd,90,0,80,100,3
4,2,20,single,cost_per_success_usd,0.19,0,0.18,0.20,3
4,2,20,pipeline,cost_per_success_usd,0.38,0,0.36,0.40,3
4,2,20,people,cost_per_success_usd,90,0,80,100,3
5,4,20,single,cost_per_success_usd,0.50,0,0.45,0.55,3
5,4,20,pipeline,cost_per_success_usd,0.45,0,0.40,0.50,3
5,4,20,people,cost_per_success_usd,90,0,80,100,3
";

#[test]
fn heat_map_cells_name_the_winner_and_print_its_lead_over_the_runner_up() {
    let t = tmp("charts_margin");
    let o = t.path().join("o");
    std::fs::create_dir_all(&o).unwrap();
    std::fs::write(o.join("sweep.csv"), GRID).unwrap();
    orchsim(t.path()).args(["plot", "o"]).assert().success();
    let files = charts(&o);
    check(&files, &["sweep_cheapest"], &["Cheapest strategy", "lead over the runner-up", "a.x", "b.y"]);
    // Independently: per point, finite means sorted ascending; lead = (2nd - 1st) / 2nd;
    // a star when the two intervals overlap. Cells are drawn row by row from the first b.y
    // value, a.x ascending, which is file order here.
    let mut by_point: Vec<Vec<(String, f64, f64, f64)>> = vec![Vec::new(); 6];
    for line in GRID.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let (mean, lo, hi): (f64, f64, f64) = (f[5].parse().unwrap(), f[7].parse().unwrap(), f[8].parse().unwrap());
        if mean.is_finite() {
            by_point[f[0].parse::<usize>().unwrap()].push((f[3].to_string(), mean, lo, hi));
        }
    }
    let mut expected = Vec::new();
    for cell in &mut by_point {
        cell.sort_by(|a, b| a.1.total_cmp(&b.1));
        let (w, r) = (&cell[0], &cell[1]);
        let star = if w.2 <= r.3 && r.2 <= w.3 { "*" } else { "" };
        expected.push((w.0.clone(), format!("by {}{star}", pct2((r.1 - w.1) / r.1))));
    }
    // Hand check of two cells: 0.10 vs 0.30 is a lead of 2/3; 0.20 vs 0.21 overlaps.
    assert_eq!(expected[0], ("single".to_string(), "by 67%".to_string()));
    assert_eq!(expected[1], ("single".to_string(), "by 4.8%*".to_string()));
    let svg = String::from_utf8(files.iter().find(|(n, _)| n == "sweep_cheapest.svg").unwrap().1.clone()).unwrap();
    let texts = svg_texts(&svg);
    let got: Vec<(String, String)> =
        texts.iter().enumerate().filter(|(_, s)| s.starts_with("by ")).map(|(i, s)| (texts[i - 2].clone(), s.clone())).collect();
    assert_eq!(got, expected);
}

#[test]
fn sweep_charts_follow_the_chosen_metric_and_its_direction() {
    let t = tmp("charts_metric");
    // Net value: higher is better. pipeline wins the first cell by (5 - 4) / 4.
    let csv = GRID
        .replace("cost_per_success_usd", "net_value_usd")
        .replace(",0.30,0,0.28,0.32,", ",5,0,4.9,5.1,")
        .replace(",0.10,0,0.09,0.11,", ",4,0,3.9,4.1,");
    std::fs::write(t.path().join("sweep.csv"), csv).unwrap();
    let written = charts::render_dir_for(t.path(), "net_value_usd").unwrap();
    let names: Vec<String> = written.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(names, ["sweep_best_net_value.png", "sweep_best_net_value.svg"]);
    let svg = read(t.path(), "charts/sweep_best_net_value.svg");
    assert!(svg.contains("Best strategy by net_value_usd (highest mean)"));
    let texts = svg_texts(&svg);
    // The people's 90 is the highest net value everywhere; in the first cell pipeline's 5
    // is the runner-up: lead (90 - 5) / 5.
    let first = texts.iter().position(|s| s.starts_with("by ")).unwrap();
    assert_eq!((texts[first - 2].as_str(), texts[first].as_str()), ("people", "by 1700%"));
    assert_eq!(charts::sweep_chart_names("cost_per_success_usd"), ("sweep_cost_per_success".to_string(), "sweep_cheapest".to_string()));
}

/// Pipeline − single per input; the gpt-4o price flips the sign, handoff tokens swing
/// 0.22, the error rate 0.022.
const SENSITIVITY: &str = "input,side,value,strategy,metric,mean,ci95_low,ci95_high
,base,,single,cost_per_success_usd,0.0130,0.0125,0.0135
,base,,pipeline,cost_per_success_usd,0.2600,0.2100,0.3100
agents.researcher.error_rate,low,0.02,single,cost_per_success_usd,0.0110,0.0105,0.0115
agents.researcher.error_rate,low,0.02,pipeline,cost_per_success_usd,0.2500,0.2000,0.3000
agents.researcher.error_rate,high,0.10,single,cost_per_success_usd,0.0190,0.0180,0.0200
agents.researcher.error_rate,high,0.10,pipeline,cost_per_success_usd,0.2800,0.2300,0.3300
models.gpt-4o.price_multiplier,low,0.5,single,cost_per_success_usd,0.0065,0.0062,0.0068
models.gpt-4o.price_multiplier,low,0.5,pipeline,cost_per_success_usd,0.2400,0.1900,0.2900
models.gpt-4o.price_multiplier,high,40,single,cost_per_success_usd,0.5200,0.5000,0.5400
models.gpt-4o.price_multiplier,high,40,pipeline,cost_per_success_usd,0.2700,0.2200,0.3200
strategies.pipeline.handoff_tokens,low,0,single,cost_per_success_usd,0.0130,0.0125,0.0135
strategies.pipeline.handoff_tokens,low,0,pipeline,cost_per_success_usd,0.2000,0.1600,0.2400
strategies.pipeline.handoff_tokens,high,20000,single,cost_per_success_usd,0.0130,0.0125,0.0135
strategies.pipeline.handoff_tokens,high,20000,pipeline,cost_per_success_usd,0.4200,0.3700,0.4700
";

#[test]
fn tornado_chart_sorts_inputs_by_swing_and_marks_the_base_and_a_flip() {
    let t = tmp("charts_tornado");
    std::fs::write(t.path().join("sensitivity.csv"), SENSITIVITY).unwrap();
    let written = charts::draw_sensitivity(t.path(), Some(("pipeline", "single")), "cost_per_success_usd").unwrap();
    let names: Vec<String> = written.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(names, ["tornado.svg", "tornado.png"]);
    assert_eq!(png_size(&std::fs::read(&written[1]).unwrap()), (2000, 1200));
    let texts = svg_texts(&read(t.path(), "charts/tornado.svg"));
    let pos = |s: &str| texts.iter().position(|x| x == s).unwrap_or_else(|| panic!("no {s:?} in {texts:?}"));
    // Swings of pipeline − single: price 0.2335 − (−0.25) = 0.4835; tokens 0.22; errors 0.022.
    assert!(pos("models.gpt-4o.price_multiplier") < pos("strategies.pipeline.handoff_tokens"));
    assert!(pos("strategies.pipeline.handoff_tokens") < pos("agents.researcher.error_rate"));
    assert_eq!(texts.iter().filter(|s| s.contains("flips the winner")).count(), 1);
    assert!(texts.contains(&"0.5 → 40 · flips the winner".to_string()));
    // Base 0.26 − 0.013 = 0.247; the high price end 0.27 − 0.52 = −0.25.
    assert!(texts.contains(&"base $0.25".to_string()), "{texts:?}");
    assert!(texts.contains(&"-$0.25".to_string()));
    assert!(texts.contains(&"pipeline − single: cost_per_success_usd".to_string()));

    // `plot` redraws it from the folder, with the pair the manifest records.
    std::fs::write(t.path().join("manifest.json"), r#"{"options":{"compare":["pipeline","single"]}}"#).unwrap();
    let before = std::fs::read(&written[0]).unwrap();
    orchsim(t.path()).args(["plot", "."]).assert().success();
    assert_eq!(std::fs::read(&written[0]).unwrap(), before);
}

#[test]
fn a_bad_sensitivity_file_is_refused_with_file_line_column_and_value() {
    let t = tmp("charts_tornado_bad");
    let bad = SENSITIVITY.replacen(",low,0.02,single,", ",middle,0.02,single,", 1);
    std::fs::write(t.path().join("sensitivity.csv"), bad).unwrap();
    let out = orchsim(t.path()).args(["plot", "."]).assert().code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("sensitivity.csv:4: column `side` = \"middle\": expected `low`, `high` or `base`"), "{err}");
    assert!(!t.path().join("charts/tornado.svg").exists());

    std::fs::write(t.path().join("sensitivity.csv"), SENSITIVITY.replace(",0.2500,", ",lots,")).unwrap();
    let err = charts::draw_sensitivity(t.path(), None, "cost_per_success_usd").unwrap_err().to_string();
    assert!(err.contains("sensitivity.csv:5: column `mean` = \"lots\": expected a number"), "{err}");

    std::fs::write(t.path().join("sensitivity.csv"), SENSITIVITY).unwrap();
    let err = charts::draw_sensitivity(t.path(), Some(("pipeline", "vote3")), "cost_per_success_usd").unwrap_err().to_string();
    assert!(err.contains("no strategy `vote3` to compare (the file has: single, pipeline)"), "{err}");
    let err = charts::draw_sensitivity(t.path(), None, "latency_p95_s").unwrap_err().to_string();
    assert!(err.contains("no rows for metric `latency_p95_s` (the file has: cost_per_success_usd)"), "{err}");
    std::fs::write(t.path().join("sensitivity.csv"), "input,side,value,strategy,metric,mean\n").unwrap();
    let err = charts::draw_sensitivity(t.path(), None, "cost_per_success_usd").unwrap_err().to_string();
    assert!(err.contains("missing column `ci95_low`"), "{err}");
}
