//! The quality model: `orchsim calibrate pass-at-k`, and the closed forms of correlated
//! errors against the simulation.
//!
//! The closed forms are 1-D integrals over the latent difficulty `z`, computed here
//! (Simpson's rule, independent of `orchsim::model::quality`):
//! `P(all k wrong) = int phi(z) Phi((Phi^-1(e) - sqrt(rho) z) / sqrt(1 - rho))^k dz`.
//! Simulated shares are compared with them to within `Z` binomial standard errors.

use std::io::Write;

use orchsim::economics::metrics::Counters;
use orchsim::workflow::{WorldOptions, run_world};
use statrs::distribution::{ContinuousCDF, Normal};

use crate::common::*;

fn calibrate(args: &[&str]) -> assert_cmd::assert::Assert {
    let t = tmp("calibrate");
    orchsim(t.path()).args(["calibrate", "pass-at-k"]).args(args).assert()
}

#[test]
fn codex_on_humaneval_calibrates_to_0_902() {
    // Chen et al. 2021, Codex-12B on HumanEval: pass@1 28.81%, pass@10 46.81%.
    let out = calibrate(&["--pass1", "0.2881", "--pass-at", "10=0.4681"]).success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    let first = text.lines().next().unwrap_or_default();
    let rho: f64 = first.strip_prefix("error_correlation = ").and_then(|v| v.parse().ok()).unwrap_or(f64::NAN);
    assert!((rho - 0.902).abs() <= 0.001, "{text}");
    // Everything else is a TOML comment, so the whole output pastes into a scenario.
    assert!(text.lines().skip(1).all(|l| l.starts_with('#')), "{text}");
    for k in [1, 2, 5, 10, 100] {
        assert!(text.lines().any(|l| l.split_whitespace().nth(1) == Some(&k.to_string())), "no pass@{k} row: {text}");
    }
    // pass@1 is the model's marginal, exactly; the comment cites the inputs.
    assert!(text.contains("#     1   0.2881   0.2881"), "{text}");
    assert!(text.contains("pass@1 = 0.2881, pass@10 = 0.4681"), "{text}");
}

#[test]
fn impossible_figures_exit_2_with_the_reason() {
    for (args, says) in [
        (&["--pass1", "0.3", "--pass-at", "10=0.2"][..], "below pass@1"),
        (&["--pass1", "0.3", "--pass-at", "1=0.5"][..], "at least 2"),
        (&["--pass1", "0.3", "--pass-at", "10=1.5"][..], "strictly between 0 and 1"),
        (&["--pass1", "0", "--pass-at", "10=0.5"][..], "strictly between 0 and 1"),
        (&["--pass1", "0.3", "--pass-at", "ten=0.5"][..], "whole number"),
        (&["--pass1", "0.3", "--pass-at", "10"][..], "expected K=P"),
        (&["--pass1", "0.3", "--pass-at", "5=0.6", "--pass-at", "10=0.5"][..], "cannot fall"),
    ] {
        let out = calibrate(args).code(2);
        let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(out.get_output().stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn the_readme_shows_what_calibrate_prints() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let start = readme.find("$ orchsim calibrate pass-at-k").expect("the README shows a calibration");
    let block = &readme[start..];
    let block = &block[block.find('\n').map_or(0, |i| i + 1)..block.find("```").unwrap_or(block.len())];
    let out = calibrate(&["--pass1", "0.2881", "--pass-at", "10=0.4681"]).success();
    assert_eq!(String::from_utf8_lossy(&out.get_output().stdout), block);
}

// ---- closed forms of the one-factor model, against the simulation ---------------------

/// Standard errors a statistical check allows: a correct simulator lands outside
/// ±4.5 SE with probability 7e-6 (normal approximation of the binomial).
const Z: f64 = 4.5;

/// Tasks per check: at e = 0.2 one binomial SE is 0.0028, so ±4.5 SE is ±0.013.
const TASKS: u64 = 20_000;

fn std_normal() -> Normal {
    Normal::new(0.0, 1.0).expect("standard normal")
}

/// `P(wrong | z)` of an attempt with marginal error `e` and correlation `rho`.
fn given_z(e: f64, rho: f64, z: f64) -> f64 {
    let n = std_normal();
    n.cdf((n.inverse_cdf(e) - rho.sqrt() * z) / (1.0 - rho).sqrt())
}

/// `E[f(z)]`, `z ~ N(0, 1)`: composite Simpson on [-8, 8] with 4,000 intervals of 0.004
/// (for rho <= 0.95 the integrands change on a scale of sqrt((1 - rho)/rho) >= 0.23;
/// the mass beyond ±8 is 1e-15).
fn over_z(f: impl Fn(f64) -> f64) -> f64 {
    let (n, lo, hi) = (4000, -8.0, 8.0);
    let h = (hi - lo) / n as f64;
    let g = |z: f64| (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt() * f(z);
    let inner: f64 = (1..n).map(|i| g(lo + i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 }).sum();
    (g(lo) + g(hi) + inner) * h / 3.0
}

/// `P(at least m of n attempts wrong)`.
fn at_least(m: u32, n: u32, e: f64, rho: f64) -> f64 {
    over_z(|z| {
        let p = given_z(e, rho, z);
        (m..=n).map(|j| binomial(n, j) * p.powi(j as i32) * (1.0 - p).powi((n - j) as i32)).sum()
    })
}

fn binomial(n: u32, k: u32) -> f64 {
    (0..k).fold(1.0, |c, i| c * f64::from(n - i) / f64::from(i + 1))
}

/// Asserts that `k` of `n` fits probability `p` to within `Z` binomial SEs.
fn assert_share(what: &str, k: u64, n: u64, p: f64) {
    let got = k as f64 / n as f64;
    let tol = Z * (p * (1.0 - p) / n as f64).sqrt();
    assert!((got - p).abs() <= tol, "{what}: observed {got:.5} ({k}/{n}), theory {p:.5}, tolerance ±{tol:.5} ({Z} SE)");
}

/// A scenario of `TASKS` tasks that never overlap, one class with `error_correlation`
/// `rho` (the key is left out at 0, the default), a worker `w` (error rate `e`) and a
/// reviewer `r`, and one strategy of `steps`. `extra` is added to the agents' tables.
fn scenario(rho: f64, e: f64, review: &str, w_extra: &str, r_extra: &str, steps: &str) -> Counters {
    let class = if rho > 0.0 { format!("error_correlation = {rho}\n") } else { String::new() };
    let toml = format!(
        "name = \"quality\"\nseed = 11\nreplications = 1\n[workload]\ntasks = {TASKS}\narrivals = {{ process = \"fixed\", interval_s = 60 }}\n\
         [[workload.classes]]\nname = \"c\"\nshare = 1\n{class}\
         [models.m]\ninput_usd_per_mtok = 1\noutput_usd_per_mtok = 1\nttft_s = 1\noutput_tokens_per_s = 100\n\
         [agents.w]\nmodel = \"m\"\noutput_tokens = 10\nerror_rate = {e}\n{w_extra}\
         [agents.r]\nmodel = \"m\"\noutput_tokens = 10\nreview = {review}\n{r_extra}\
         [strategies.s]\nsteps = {steps}\n"
    );
    let mut f = tempfile::Builder::new().suffix(".toml").tempfile().expect("temp file");
    f.write_all(toml.as_bytes()).expect("write scenario");
    let sc = match orchsim::scenario::load(Some(f.path()), &[]) {
        Ok(l) => l.scenario,
        Err(e) => panic!("scenario does not load: {e}\n---\n{toml}"),
    };
    let w = run_world(&sc, 0, 0, WorldOptions::default(), None);
    assert_eq!(w.counters.tasks, TASKS);
    w.counters
}

const ORACLE: &str = "{ recall = 1, false_positive_rate = 0 }";

/// A worker behind an oracle reviewer with `k - 1` reworks: the task fails iff all `k`
/// attempts are wrong.
fn all_k_wrong(e: f64, rho: f64, k: u32) {
    let steps =
        format!("[{{ id = \"w\", agent = \"w\" }}, {{ id = \"r\", agent = \"r\", max_rework = {}, on_exhausted = \"fail\" }}]", k - 1);
    let c = scenario(rho, e, ORACLE, "", "", &steps);
    assert_eq!(c.wrong, 0, "an oracle lets nothing wrong through");
    assert_share(&format!("all {k} wrong, e = {e}, rho = {rho}"), c.failed, c.tasks, at_least(k, k, e, rho));
}

/// A vote of `n` replicas: wrong iff at least `n - n / 2` replicas are (a tie is wrong).
fn vote_fails(e: f64, rho: f64, n: u32) {
    let steps = format!("[{{ id = \"v\", agent = \"w\", replicas = {n}, merge = \"vote\" }}]");
    let c = scenario(rho, e, ORACLE, "", "", &steps);
    assert_share(&format!("vote of {n}, e = {e}, rho = {rho}"), c.wrong, c.tasks, at_least(n - n / 2, n, e, rho));
}

/// One worker and one reviewer (no false positives, no rework, `fail`), each with its
/// own `error_correlation`: a task is delivered wrong iff the worker errs and the
/// reviewer misses, which it does with probability `1 - recall` by the same rule on `z`.
fn wrong_and_missed(e: f64, rho_w: f64, recall: f64, rho_r: f64) {
    let own = |rho: f64| if rho > 0.0 { format!("error_correlation = {rho}\n") } else { String::new() };
    let review = format!("{{ recall = {recall}, false_positive_rate = 0 }}");
    let steps = "[{ id = \"w\", agent = \"w\" }, { id = \"r\", agent = \"r\", max_rework = 0, on_exhausted = \"fail\" }]";
    let c = scenario(0.0, e, &review, &own(rho_w), &own(rho_r), steps);
    let p = over_z(|z| given_z(e, rho_w, z) * given_z(1.0 - recall, rho_r, z));
    assert_share(&format!("wrong and missed, e = {e}, rho_w = {rho_w}, recall = {recall}, rho_r = {rho_r}"), c.wrong, c.tasks, p);
    assert_share("wrong and caught", c.failed, c.tasks, e - p);
}

#[test]
fn the_closed_forms_are_right_and_the_harness_holds_at_rho_0() {
    // The integrals against values known exactly: orthants at the median
    // (1/4 + asin(rho)/(2 pi) for two attempts) and the binomial law at rho = 0.
    for rho in [0.3_f64, 0.8] {
        let two = 0.25 + rho.asin() / (2.0 * std::f64::consts::PI);
        assert!((at_least(2, 2, 0.5, rho) - two).abs() < 1e-9, "rho = {rho}");
        assert!((over_z(|z| given_z(0.2, rho, z)) - 0.2).abs() < 1e-9, "marginal at rho = {rho}");
    }
    assert!((at_least(2, 3, 0.2, 0.0) - 0.104).abs() < 1e-9);
    // Today's simulator (independent attempts) meets the same harness at rho = 0.
    all_k_wrong(0.3, 0.0, 3);
    vote_fails(0.2, 0.0, 3);
    wrong_and_missed(0.3, 0.0, 0.7, 0.0);
}

#[test]
fn the_marginal_error_rate_is_e_at_every_rho() {
    for rho in [0.3, 0.7, 0.95] {
        let c = scenario(rho, 0.2, ORACLE, "", "", "[{ id = \"w\", agent = \"w\" }]");
        assert_share(&format!("marginal at rho = {rho}"), c.wrong, c.tasks, 0.2);
    }
}

#[test]
fn reworks_behind_an_oracle_fail_as_all_k_attempts_wrong() {
    // At e = 0.3, rho = 0.6: P(all 3 wrong) = 0.121, against 0.027 for independent
    // attempts; the tolerance (±0.011) separates them.
    assert!(at_least(3, 3, 0.3, 0.6) - 0.027 > 0.05);
    all_k_wrong(0.3, 0.6, 3);
    all_k_wrong(0.2, 0.9, 2);
}

#[test]
fn majorities_of_3_and_5_replicas_fail_by_the_integral() {
    // At e = 0.2, rho = 0.5: 0.161 (3) and 0.147 (5), against 0.104 and 0.058.
    assert!(at_least(2, 3, 0.2, 0.5) - 0.104 > 0.05);
    vote_fails(0.2, 0.5, 3);
    vote_fails(0.2, 0.5, 5);
    vote_fails(0.3, 0.9, 5);
}

#[test]
fn a_reviewer_misses_more_on_what_the_worker_gets_wrong() {
    // At e = 0.3, recall 0.7, both rho = 0.6: 0.173, against 0.09 independent.
    wrong_and_missed(0.3, 0.6, 0.7, 0.6);
    // The agents' own values override the class's (0 here), and may differ.
    wrong_and_missed(0.2, 0.8, 0.9, 0.3);
}
