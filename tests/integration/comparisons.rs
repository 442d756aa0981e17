//! `comparisons.csv` and the verdict lines, recomputed from `replications.csv`.

use statrs::distribution::{ContinuousCDF, StudentsT};

use crate::common::{orchsim, read_csv, tmp};

/// Which way is better, written out independently of the crate's own table.
fn lower_is_better(metric: &str) -> Option<bool> {
    match metric {
        "tasks" | "events" => None,
        "correct" | "success_rate" | "sla_met_rate" | "throughput_per_hour" | "value_usd" | "net_value_usd" => Some(false),
        _ => Some(true),
    }
}

/// Column `name` of the rows of strategy `s`, in replication order.
fn column(h: &[String], rows: &[Vec<String>], s: &str, name: &str) -> Vec<f64> {
    let si = h.iter().position(|c| c == "strategy").unwrap();
    let mi = h.iter().position(|c| c == name).unwrap();
    let ri = h.iter().position(|c| c == "replication").unwrap();
    let mut v: Vec<(u32, f64)> =
        rows.iter().filter(|r| r[si] == s).map(|r| (r[ri].parse().unwrap(), r[mi].parse::<f64>().unwrap())).collect();
    v.sort_by_key(|x| x.0);
    v.into_iter().map(|x| x.1).collect()
}

/// Student-t 95% half-width of the mean of `xs`, and the mean.
fn mean_half(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let sd = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let t = StudentsT::new(0.0, 1.0, n - 1.0).unwrap().inverse_cdf(0.975);
    (mean, t * sd / n.sqrt())
}

fn close(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-12 * a.abs().max(b.abs())
}

#[test]
fn comparisons_are_the_paired_differences_of_the_replications() {
    let t = tmp("comparisons");
    orchsim(t.path()).args(["run", "--replications", "7", "--tasks", "120", "--no-charts", "--quiet", "--out", "o"]).assert().success();
    let (rh, rows) = read_csv(&t.path().join("o/replications.csv"));
    let (ch, comps) = read_csv(&t.path().join("o/comparisons.csv"));
    assert_eq!(ch, ["strategy", "baseline", "metric", "mean_diff", "ci95_low", "ci95_high", "ratio", "p_better", "replications"]);
    let metrics: Vec<String> = rh[3..].to_vec();
    let strategies = ["vote3", "pipeline", "analysts"];
    assert_eq!(comps.len(), strategies.len() * metrics.len(), "one row per other strategy and metric");
    let mut k = 0;
    for s in strategies {
        for m in &metrics {
            let row = &comps[k];
            k += 1;
            assert_eq!((row[0].as_str(), row[1].as_str(), &row[2]), (s, "single", m));
            let a = column(&rh, &rows, s, m);
            let b = column(&rh, &rows, "single", m);
            let pairs: Vec<(f64, f64)> = a.iter().zip(&b).map(|(x, y)| (*x, *y)).filter(|(x, y)| x.is_finite() && y.is_finite()).collect();
            let n = pairs.len();
            assert_eq!(row[8], n.to_string(), "{s} {m}: pairs");
            if n < 2 {
                continue;
            }
            let d: Vec<f64> = pairs.iter().map(|(x, y)| x - y).collect();
            let (mean, half) = mean_half(&d);
            let f = |i: usize| row[i].parse::<f64>().unwrap();
            assert_eq!(f(3), mean, "{s} {m}: mean difference");
            assert!(close(f(4), mean - half) && close(f(5), mean + half), "{s} {m}: interval {} {} vs {}±{half}", row[4], row[5], mean);
            let (sa, sb) = pairs.iter().fold((0.0, 0.0), |acc, (x, y)| (acc.0 + x, acc.1 + y));
            let ratio = if sb == 0.0 { f64::NAN } else { (sa / n as f64) / (sb / n as f64) };
            assert!(close(f(6), ratio), "{s} {m}: ratio {} vs {ratio}", row[6]);
            let p = match lower_is_better(m) {
                None => f64::NAN,
                Some(lower) => pairs.iter().filter(|(x, y)| if lower { x < y } else { x > y }).count() as f64 / n as f64,
            };
            assert!(close(f(7), p), "{s} {m}: p_better {} vs {p}", row[7]);
        }
    }
}

/// The unpaired (Welch) 95% half-width of mean(a) − mean(b).
fn welch_half(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let var = |x: &[f64]| {
        let m = x.iter().sum::<f64>() / n;
        x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1.0)
    };
    let (va, vb) = (var(a) / n, var(b) / n);
    let df = (va + vb).powi(2) / (va * va / (n - 1.0) + vb * vb / (n - 1.0));
    StudentsT::new(0.0, 1.0, df).unwrap().inverse_cdf(0.975) * (va + vb).sqrt()
}

/// Paired and unpaired 95% half-widths of `s` − single on `m`, from one default run.
fn paired_and_unpaired(dir: &std::path::Path, pairs: &[(&str, &str)]) -> Vec<(String, f64, f64)> {
    orchsim(dir).args(["run", "--no-charts", "--quiet", "--out", "o"]).assert().success();
    let (rh, rows) = read_csv(&dir.join("o/replications.csv"));
    let (_, comps) = read_csv(&dir.join("o/comparisons.csv"));
    pairs
        .iter()
        .map(|&(s, m)| {
            let row = comps.iter().find(|r| r[0] == s && r[1] == "single" && r[2] == m).unwrap();
            let paired = (row[5].parse::<f64>().unwrap() - row[4].parse::<f64>().unwrap()) / 2.0;
            let unpaired = welch_half(&column(&rh, &rows, s, m), &column(&rh, &rows, "single", m));
            eprintln!("{s} vs single, {m}: paired ±{paired:.6}, unpaired ±{unpaired:.6}");
            (format!("{s} vs single, {m}"), paired, unpaired)
        })
        .collect()
}

#[test]
fn pairing_on_the_shared_task_stream_narrows_the_intervals() {
    // Every strategy sees the same requests and the same latent difficulty of each one
    // (error_correlation = 0.902 in the default), so where a metric moves with the
    // number of hard requests in a replication, both sides move together and the
    // per-replication difference varies less than the two levels do. That is the case
    // for what is right (success rate) and what it is worth (net value), and, for voting,
    // which runs the single agent's model three times, for cost per correct result too.
    let t = tmp("paired-narrower");
    let pairs = [
        ("vote3", "success_rate"),
        ("vote3", "cost_per_success_usd"),
        ("pipeline", "success_rate"),
        ("pipeline", "net_value_usd"),
        ("analysts", "success_rate"),
    ];
    for (what, paired, unpaired) in paired_and_unpaired(t.path(), &pairs) {
        assert!(paired < unpaired, "{what}: paired ±{paired} not narrower than unpaired ±{unpaired}");
    }
}

/// Issue 10's claim: "for the default scenario, the paired interval of the pipeline's cost
/// per correct result against the single agent is narrower than the unpaired one". It does
/// not hold for the default as shipped (±0.017494 paired against ±0.017491 unpaired at 100
/// replications): the pipeline's cost per correct result moves with its escalations (0.12 a
/// replication, ~$112 each, 29% of its spend), a lottery that no other strategy shares, so
/// the per-replication correlation with the single agent is about −0.05. Run it with
/// `cargo test --test integration -- --ignored pipeline_cost` to see where it stands.
#[test]
#[ignore = "does not hold for the shipped default: the pipeline's escalation lottery is not shared with the single agent"]
fn pipeline_cost_per_success_pairs_narrower_than_unpaired() {
    let t = tmp("paired-pipeline-cost");
    for (what, paired, unpaired) in paired_and_unpaired(t.path(), &[("pipeline", "cost_per_success_usd")]) {
        assert!(paired < unpaired, "{what}: paired ±{paired} not narrower than unpaired ±{unpaired}");
    }
}

#[test]
fn a_run_ends_with_verdicts_in_significant_digits() {
    let t = tmp("verdicts");
    let out = orchsim(t.path()).args(["run", "--no-charts", "--out", "o"]).assert().success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let find = |p: &str| lines.iter().find(|l| l.starts_with(p)).unwrap_or_else(|| panic!("no line {p:?} in\n{text}")).to_string();
    // The same claims, recomputed from the files.
    let (rh, rows) = read_csv(&t.path().join("o/replications.csv"));
    let cheap = find("Cheapest per correct result: single at $");
    let (mean, half) = mean_half(
        &column(&rh, &rows, "vote3", "cost_per_success_usd")
            .iter()
            .zip(column(&rh, &rows, "single", "cost_per_success_usd"))
            .map(|(a, b)| a - b)
            .collect::<Vec<_>>(),
    );
    assert!(mean - half > 0.0, "the lead is distinguishable");
    assert!(cheap.contains("less than vote3 (95% CI $"), "{cheap}");
    let sig3 = |x: f64| {
        let d = (2 - x.log10().floor() as i32) as usize;
        format!("${x:.d$}")
    };
    assert!(
        cheap.contains(&format!(", {} less than vote3 (95% CI {} to {}).", sig3(mean), sig3(mean - half), sig3(mean + half))),
        "{cheap}"
    );
    assert!(find("Highest net value per task: pipeline at $").contains("more than"));
    assert!(find("Fastest at p95: ").contains("faster than") || find("Fastest at p95: ").contains("not distinguishable"));
    // No money is printed with fewer than three significant digits below $1.
    for w in text.split_whitespace() {
        let w = w.trim_matches(|c: char| "(),.".contains(c) && c != '.').trim_end_matches([')', ',', '.']);
        if let Some(num) = w.trim_start_matches(['(', '-']).strip_prefix("$0.") {
            let digits = num.trim_start_matches('0').split(['-', ')']).next().unwrap();
            assert!(digits.len() >= 3, "{w} has fewer than three significant digits in\n{text}");
        }
    }
}

#[test]
fn the_baseline_is_chosen_in_the_file_or_on_the_command_line() {
    let t = tmp("baseline");
    let args = ["run", "--replications", "3", "--tasks", "40", "--no-charts", "--quiet", "--out", "o"];
    orchsim(t.path()).args(args).args(["--baseline", "pipeline"]).assert().success();
    let (_, rows) = read_csv(&t.path().join("o/comparisons.csv"));
    assert!(rows.iter().all(|r| r[1] == "pipeline" && r[0] != "pipeline"));
    assert_eq!(rows.iter().filter(|r| r[0] == "single").count(), rows.len() / 3);
    // As a scenario key (what --baseline overrides); checked like any field.
    orchsim(t.path()).args(args).args(["--set", "baseline=vote3"]).assert().success();
    let (_, rows) = read_csv(&t.path().join("o/comparisons.csv"));
    assert!(rows.iter().all(|r| r[1] == "vote3"));
    let bad = orchsim(t.path()).args(args).args(["--baseline", "ghost"]).assert().code(2);
    let err = String::from_utf8(bad.get_output().stderr.clone()).unwrap();
    assert!(err.contains("baseline = \"ghost\": unknown strategy; expected one of: single, vote3, pipeline, analysts"), "{err}");
}

/// Two one-agent strategies (those of the break-even tests, which cost $0.003 and
/// $0.0126 a task) on a task stream whose class mix swings from replication to
/// replication (40 tasks, half hard): both do worse in a replication with more hard
/// tasks, which is what pairing on the shared task stream removes.
fn shared_mix() -> String {
    let classes = "[[workload.classes]]\nname = \"easy\"\nshare = 0.5\ndifficulty = 0.1\n\
                   [[workload.classes]]\nname = \"hard\"\nshare = 0.5\ndifficulty = 2.0\n\n[models.ma]";
    crate::breakeven::linear_scenario("1000", 30)
        .replace("[models.ma]", classes)
        .replace("output_tokens = 500\n", "output_tokens = 500\nerror_rate = 0.5\n")
}

#[test]
fn pairing_pays_where_the_task_mix_moves_both_strategies() {
    let t = tmp("paired-narrower");
    let text = shared_mix();
    assert_eq!(text.matches("error_rate = 0.5").count(), 2);
    std::fs::write(t.path().join("s.toml"), text).unwrap();
    orchsim(t.path()).args(["run", "s.toml", "--no-charts", "--quiet", "--out", "o"]).assert().success();
    let (rh, rows) = read_csv(&t.path().join("o/replications.csv"));
    let (_, comps) = read_csv(&t.path().join("o/comparisons.csv"));
    // Error rates 0.05 (easy) and 1 (hard): the share of hard tasks (sd 0.079 over 40
    // tasks) moves both strategies' success rates together, far more than their own
    // draws do (sd 0.024): correlation about 0.9, so the paired interval of a difference
    // between equal spreads is under half the unpaired one. Cost per correct result
    // scales with the cost of a task, 4.2x larger for b: with correlation 0.9 the paired
    // spread is sqrt(1 + 4.2² − 2·0.9·4.2) / sqrt(1 + 4.2²) = 0.77 of the unpaired one.
    for (m, most) in [("success_rate", 0.5), ("correct", 0.5), ("cost_per_success_usd", 0.85)] {
        let row = comps.iter().find(|r| r[0] == "b" && r[2] == m).unwrap();
        let paired = (row[5].parse::<f64>().unwrap() - row[4].parse::<f64>().unwrap()) / 2.0;
        let unpaired = welch_half(&column(&rh, &rows, "b", m), &column(&rh, &rows, "a", m));
        eprintln!("b vs a, {m}: paired ±{paired:.6}, unpaired ±{unpaired:.6}");
        assert!(paired < most * unpaired, "b vs a, {m}: paired ±{paired} not clearly narrower than unpaired ±{unpaired}");
    }
}
