//! The simulator against theory: closed forms from queueing theory and probability,
//! never the simulator against itself.
//!
//! Every check writes its formula in code and derives its tolerance from the sample
//! size: `Z` standard errors, where the standard error comes from the binomial (or
//! truncated-geometric, or exponential) variance of the quantity, or from the spread
//! of independent replications when no closed-form variance is at hand (queue waits).
//! The seeds are fixed, so the suite is deterministic; the tolerances say how far a
//! *correct* simulator may plausibly land from theory, so that a wrong one fails.
//! Exact quantities (money, billed tokens, Little's law on a sample path) are compared
//! exactly or to floating-point rounding.
//!
//! Sizes are chosen to keep every test under about 2 s in a debug build on 2 cores.

use std::collections::BinaryHeap;

use orchsim::economics::metrics::metric_index;
use orchsim::economics::{Category, Usd};
use orchsim::experiment::{UnitResult, run_unit};
use orchsim::model::Scenario;

use crate::common::load_scenario as load;
use orchsim::workflow::{Outcome, WorldOptions, WorldResult, run_world};

/// Standard errors a statistical check allows. Under the normal approximation a correct
/// simulator lands outside ±5 SE with probability 6e-7; with the replication-spread
/// standard errors used below (9 to 15 degrees of freedom), ±5 SE is a two-sided
/// Student-t p-value of 7e-4 to 2e-4.
const Z: f64 = 5.0;

// ---- helpers ------------------------------------------------------------------------

/// Runs one world for its raw ledger and counters (no event trail).
fn world(sc: &Scenario, strategy: usize, replication: u64, opts: WorldOptions) -> WorldResult {
    run_world(sc, strategy, replication, opts, None)
}

/// A metric of one world by its contract name.
fn metric(u: &UnitResult, name: &str) -> f64 {
    u.metrics[metric_index(name).unwrap_or_else(|| panic!("no metric {name}"))]
}

/// Mean and standard error of the mean (sample sd / √n).
fn mean_se(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

/// Asserts that `k` successes in `n` trials fit probability `p`: |k/n − p| ≤ Z·√(p(1−p)/n).
/// Probabilities 0 and 1 must be met exactly.
fn assert_binomial(what: &str, k: u64, n: u64, p: f64) {
    let observed = k as f64 / n as f64;
    let se = (p * (1.0 - p) / n as f64).sqrt();
    let tol = Z * se + 1e-12;
    assert!((observed - p).abs() <= tol, "{what}: observed {observed:.5} ({k}/{n}), theory {p:.5}, tolerance ±{tol:.5} ({Z} binomial SE)");
}

/// Asserts `|observed − theory| ≤ Z·se`, and that the tolerance is tight enough to mean
/// something (at most `max_rel` of the theoretical value).
fn assert_within(what: &str, observed: f64, theory: f64, se: f64, max_rel: f64) {
    let tol = Z * se;
    eprintln!("{what}: observed {observed:.5}, theory {theory:.5}, tolerance ±{tol:.5} ({:.1}%)", 100.0 * tol / theory.abs());
    assert!(
        tol <= max_rel * theory.abs(),
        "{what}: tolerance ±{tol:.5} exceeds {:.0}% of theory {theory:.5}: too few samples to test anything",
        max_rel * 100.0
    );
    assert!((observed - theory).abs() <= tol, "{what}: observed {observed:.5}, theory {theory:.5}, tolerance ±{tol:.5} ({Z} SE)");
}

/// Erlang C: the probability that an arrival waits in an M/M/c queue with offered load
/// `a = λ/μ < c`:
///
/// ```text
///            a^c/c! · c/(c−a)
/// C(c,a) = ------------------------------------
///          Σ_{k<c} a^k/k!  +  a^c/c! · c/(c−a)
/// ```
fn erlang_c(c: u32, a: f64) -> f64 {
    assert!(a < c as f64, "unstable queue");
    // a^k/k! built iteratively: no factorial overflow.
    let (mut term, mut sum) = (1.0, 0.0);
    for k in 0..c {
        sum += term;
        term *= a / (k + 1) as f64;
    }
    let top = term * c as f64 / (c as f64 - a);
    top / (sum + top)
}

/// Mean wait in queue of M/M/c: Wq = C(c, λ/μ) / (c·μ − λ).
fn mmc_wq(c: u32, lambda: f64, mu: f64) -> f64 {
    erlang_c(c, lambda / mu) / (c as f64 * mu - lambda)
}

/// Mean and variance of A = min(G, m), G geometric on {1, 2, ..} with "repeat"
/// probability p: P(A ≥ k) = p^(k−1) for k = 1..m. A is the attempts of a call that
/// retries up to m times, or the passes of a task reviewed up to m times.
fn truncated_geometric(p: f64, m: u32) -> (f64, f64) {
    let (mut e1, mut e2) = (0.0, 0.0);
    for k in 1..=m {
        let tail = p.powi(k as i32 - 1);
        e1 += tail; // E[A] = Σ P(A ≥ k)
        e2 += (2 * k - 1) as f64 * tail; // E[A²] = Σ (2k−1)·P(A ≥ k)
    }
    (e1, e2 - e1 * e1)
}

#[test]
fn the_oracles_match_textbook_values() {
    // C(1, a) = a (M/M/1); C(2, 1) = 1/3 (standard tables).
    assert!((erlang_c(1, 0.7) - 0.7).abs() < 1e-12);
    assert!((erlang_c(2, 1.0) - 1.0 / 3.0).abs() < 1e-12);
    // M/M/1: Wq = ρ/(μ − λ).
    assert!((mmc_wq(1, 0.5, 1.0) - 1.0).abs() < 1e-12);
    // Erlang C tables: C(5, 4) = 0.5541.
    assert!((erlang_c(5, 4.0) - 0.5541).abs() < 1e-4);
    // Retries: E[attempts] = (1 − p^m)/(1 − p).
    let (e, _) = truncated_geometric(0.3, 3);
    assert!((e - (1.0 - 0.3f64.powi(3)) / 0.7).abs() < 1e-12);
    assert_eq!(truncated_geometric(0.5, 1), (1.0, 0.0));
}

// ---- queues ---------------------------------------------------------------------------

/// A bare M/M/c queue: one agent on a model with `c` slots, exponential service through
/// the time to first token (mean 1/μ s), no output tokens (service = TTFT), no errors,
/// Poisson arrivals at λ per second.
fn mmc_scenario(c: u32, lambda: f64, mu: f64, tasks: u64, seed: u64) -> Scenario {
    load(&format!(
        r#"
name = "mmc-theory"
seed = {seed}
replications = 1

[workload]
tasks = {tasks}
arrivals = {{ process = "poisson", rate_per_hour = {rate} }}

[models.server]
input_usd_per_mtok = 0
output_usd_per_mtok = 0
ttft_s = {{ dist = "exp", mean = {service} }}
output_tokens_per_s = 100
max_concurrency = {c}

[agents.worker]
model = "server"
output_tokens = 0

[strategies.queue]
steps = [{{ id = "serve", agent = "worker" }}]
"#,
        rate = lambda * 3600.0,
        service = 1.0 / mu,
    ))
}

/// Checks `queue_wait_mean_s` against Erlang C over `reps` replications of `tasks` tasks.
///
/// The standard error is the spread of per-replication means, which carries the strong
/// autocorrelation of waits at high load honestly. Each replication starts empty, which
/// biases its mean wait downwards by about (relaxation time / run length) in relative
/// terms; the relaxation time of M/M/c is about 1/(cμ(1−√ρ)²), so `tasks` is chosen to
/// make the run at least 10 relaxation times long, which keeps the bias well under the
/// tolerance (`max_rel` bounds the tolerance so the check cannot go vacuous).
fn check_mmc(c: u32, rho: f64, tasks: u64, reps: u32, max_rel: f64) {
    let mu = 1.0;
    let lambda = rho * c as f64 * mu;
    let sc = mmc_scenario(c, lambda, mu, tasks, 1000 + c as u64 * 100 + (rho * 100.0) as u64);
    let relaxation = 1.0 / (c as f64 * mu * (1.0 - rho.sqrt()).powi(2));
    assert!(tasks as f64 / lambda >= 10.0 * relaxation, "run too short for c={c}, rho={rho}");
    let waits: Vec<f64> = (0..reps)
        .map(|r| {
            let u = run_unit(&sc, r, 0, WorldOptions::default());
            assert_eq!(metric(&u, "tasks"), tasks as f64);
            assert_eq!(metric(&u, "correct"), tasks as f64);
            metric(&u, "queue_wait_mean_s")
        })
        .collect();
    let (mean, se) = mean_se(&waits);
    let theory = mmc_wq(c, lambda, mu);
    assert_within(&format!("M/M/{c} at rho={rho}: mean wait in queue (s)"), mean, theory, se, max_rel);
}

#[test]
fn mm1_wait_matches_erlang_c() {
    check_mmc(1, 0.5, 30_000, 12, 0.08);
}

#[test]
fn mm2_wait_matches_erlang_c() {
    check_mmc(2, 0.8, 50_000, 16, 0.12);
}

#[test]
fn mm5_wait_matches_erlang_c() {
    check_mmc(5, 0.8, 50_000, 16, 0.12);
}

/// ρ = 0.95: waits are long and strongly correlated (relaxation ≈ 300 service times at
/// c = 5, ≈ 1,600 at c = 1), so per-replication means scatter widely. Larger runs, and a
/// looser bound on how wide the 5-SE tolerance may get (the SE estimate itself scatters:
/// over five seeds, the tolerance at c = 5 came to 18–34% of theory).
#[test]
fn mm5_wait_matches_erlang_c_at_rho_095() {
    check_mmc(5, 0.95, 60_000, 12, 0.4);
}

#[test]
fn mm1_wait_matches_erlang_c_at_rho_095() {
    check_mmc(1, 0.95, 60_000, 12, 0.45);
}

/// Little's law, L = λW, checked two ways.
///
/// 1. On the sample path it is an identity: integrating the number of tasks in the
///    system over [0, T] (from the per-task log, independently of the simulator's own
///    latency counters) gives exactly the sum of the time each task spent in it, so
///    the time average equals λ̂·W̄ with λ̂ = N/T and W̄ the `latency_mean_s` metric, to
///    floating-point rounding.
/// 2. Against theory: L = Lq + a = λ·Wq + λ/μ for M/M/c, within Z replication SEs.
#[test]
fn littles_law_holds_and_matches_mmc_theory() {
    let (c, mu, rho, tasks, reps) = (2u32, 1.0, 0.8, 40_000u64, 16u32);
    let lambda = rho * c as f64 * mu;
    let sc = mmc_scenario(c, lambda, mu, tasks, 77);
    let mut ls = Vec::new();
    for r in 0..reps {
        let u = run_unit(&sc, r, 0, WorldOptions { task_log: true });
        assert_eq!(u.task_rows.len() as u64, tasks);
        // Number in system as a step function: +1 at each arrival, −1 at each finish.
        let mut steps: Vec<(f64, i64)> = u.task_rows.iter().flat_map(|t| [(t.arrival_s, 1), (t.finish_s, -1)]).collect();
        steps.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (mut area, mut n, mut last) = (0.0, 0i64, 0.0);
        for (t, d) in steps {
            area += n as f64 * (t - last);
            n += d;
            last = t;
            assert!(n >= 0, "more finishes than arrivals at t={t}");
        }
        assert_eq!(n, 0);
        let horizon = last;
        assert!((horizon - metric(&u, "makespan_s")).abs() < 1e-6);
        let l_time_avg = area / horizon;
        let little = (tasks as f64 / horizon) * metric(&u, "latency_mean_s");
        assert!((l_time_avg - little).abs() <= 1e-9 * little, "replication {r}: time-average L {l_time_avg} != lambda*W {little}");
        ls.push(l_time_avg);
    }
    let (mean, se) = mean_se(&ls);
    let theory = lambda * mmc_wq(c, lambda, mu) + lambda / mu;
    assert_within("M/M/2 at rho=0.8: time-average number in system", mean, theory, se, 0.1);
}

/// A human team is an M/M/c queue too: `teams` servers, exponential hours per task.
/// Mean wait vs Erlang C (replication SE), and cost per task vs
/// E[team_size × hours × usd_per_hour] = team_size·h·rate, whose SE is exact: the
/// exponential's sd equals its mean, so SE = team_size·h·rate/√N.
#[test]
fn human_team_waits_like_mmc_and_costs_hours_times_rate() {
    let (teams, h, rho, team_size, rate_usd) = (3u32, 2.0, 0.8, 2u32, 50.0);
    let mu = 1.0 / h; // per hour
    let lambda = rho * teams as f64 * mu; // per hour
    let (tasks, reps) = (40_000u64, 16u32);
    let sc = load(&format!(
        r#"
name = "human-theory"
seed = 4242
replications = 1

[workload]
tasks = {tasks}
arrivals = {{ process = "poisson", rate_per_hour = {lambda} }}

[agents.unused]
model = "gpt-4o"

[strategies.people]
kind = "human"
team_size = {team_size}
hours_per_task = {{ dist = "exp", mean = {h} }}
usd_per_hour = {rate_usd}
error_rate = 0
teams = {teams}
"#
    ));
    let mut waits = Vec::new();
    let mut all_costs = 0.0;
    for r in 0..reps {
        let u = run_unit(&sc, r, 0, WorldOptions::default());
        assert_eq!(metric(&u, "correct"), tasks as f64);
        waits.push(metric(&u, "queue_wait_mean_s"));
        all_costs += metric(&u, "cost_per_task_usd");
        assert_eq!(metric(&u, "human_cost_usd"), metric(&u, "cost_usd"));
    }
    let (wait, se) = mean_se(&waits);
    let wq_s = mmc_wq(teams, lambda, mu) * 3600.0;
    assert_within("human team (M/M/3, rho=0.8): mean wait (s)", wait, wq_s, se, 0.15);

    let cost = all_costs / reps as f64;
    let expected = team_size as f64 * h * rate_usd;
    let n = (tasks * reps as u64) as f64;
    assert_within("human team: cost per task (USD)", cost, expected, expected / n.sqrt(), 0.05);
}

// ---- retries and timeouts ---------------------------------------------------------------

/// Transient errors with probability p per attempt, up to m attempts, no backoff:
/// a task fails with probability p^m, and a call makes (1 − p^m)/(1 − p) attempts on
/// average (the truncated geometric mean; its variance gives the SE).
#[test]
fn retries_fail_with_p_to_the_m_and_attempt_truncated_geometric() {
    let tasks = 20_000u64;
    for (p, m) in [(0.3f64, 1u32), (0.3, 3), (0.5, 4), (0.1, 2)] {
        let sc = load(&format!(
            r#"
name = "retry-theory"
seed = 99
replications = 1

[workload]
tasks = {tasks}
arrivals = {{ process = "batch" }}

[models.flaky]
input_usd_per_mtok = 1
output_usd_per_mtok = 1
ttft_s = 1
output_tokens_per_s = 100
error_rate = {p}

[agents.worker]
model = "flaky"
input_tokens = 10
output_tokens = 10

[strategies.s]
steps = [{{ id = "work", agent = "worker" }}]
retry = {{ max_attempts = {m}, backoff_base_s = 0 }}
"#
        ));
        let u = run_unit(&sc, 0, 0, WorldOptions::default());
        let failed = metric(&u, "failed") as u64;
        assert_eq!(failed + metric(&u, "correct") as u64, tasks);
        assert_binomial(&format!("p={p} m={m}: failed share"), failed, tasks, p.powi(m as i32));

        let (_, _, row) = &u.rows[0];
        assert_eq!(row.calls, tasks);
        let (mean, var) = truncated_geometric(p, m);
        assert!(((1.0 - p.powi(m as i32)) / (1.0 - p) - mean).abs() < 1e-12);
        let per_call = row.attempts as f64 / row.calls as f64;
        let se = (var / tasks as f64).sqrt();
        assert!(
            (per_call - mean).abs() <= Z * se + 1e-12,
            "p={p} m={m}: attempts per call {per_call:.5}, theory {mean:.5} ± {:.5}",
            Z * se
        );
        // Every attempt but the last successful one failed; failures are not billed.
        assert_eq!(row.failed_attempts, row.attempts - (tasks - failed));
        assert_eq!(row.tokens_out, 10 * (tasks - failed));
    }
}

/// Constant TTFT t₀ and output speed v, an attempt that would run past the timeout T is
/// cut off and billed floor((T − t₀)·v) output tokens, exactly, plus its input.
#[test]
fn timeouts_bill_exactly_the_tokens_produced_before_the_cutoff() {
    let (ttft, tps, timeout, out, input, attempts_max, tasks) = (0.5, 37.0, 2.0, 1_000u64, 300u64, 3u32, 200u64);
    assert!(ttft + out as f64 / tps > timeout, "every attempt must time out");
    let produced = ((timeout - ttft) * tps).floor() as u64; // 1.5 × 37 = 55.5 -> 55
    assert_eq!(produced, 55);
    let sc = load(&format!(
        r#"
name = "timeout-theory"
seed = 5
replications = 1

[workload]
tasks = {tasks}
arrivals = {{ process = "fixed", interval_s = 1 }}

[models.slow]
input_usd_per_mtok = 3
output_usd_per_mtok = 15
ttft_s = {ttft}
output_tokens_per_s = {tps}
timeout_s = {timeout}

[agents.writer]
model = "slow"
input_tokens = {input}
output_tokens = {out}

[strategies.s]
steps = [{{ id = "write", agent = "writer" }}]
retry = {{ max_attempts = {attempts_max}, backoff_base_s = 0 }}
"#
    ));
    let w = world(&sc, 0, 0, WorldOptions { task_log: true });
    let row = &w.ledger.rows[0];
    let attempts = tasks * attempts_max as u64;
    assert_eq!(row.attempts, attempts);
    assert_eq!(row.failed_attempts, attempts);
    assert_eq!(row.tokens_out, produced * attempts, "billed output tokens");
    assert_eq!(row.tokens_in, input * attempts, "billed input tokens");
    // $3 per million tokens is 3·10⁶ pico-dollars a token; $15 is 15·10⁶.
    let per_attempt = Usd(3_000_000 * input as i128 + 15_000_000 * produced as i128);
    assert_eq!(w.ledger.total, Usd(per_attempt.0 * attempts as i128));
    assert_eq!(w.counters.failed, tasks);
    assert_eq!(w.counters.wasted, w.ledger.total, "a failed task wastes all it cost");
    for t in &w.task_rows {
        assert_eq!(t.outcome, Outcome::Failed);
        assert_eq!(t.tokens_out, produced * attempts_max as u64);
        // Three back-to-back attempts of exactly `timeout` seconds each.
        assert!((t.finish_s - t.arrival_s - attempts_max as f64 * timeout).abs() < 1e-6);
    }
}

// ---- quality ----------------------------------------------------------------------------

/// One worker (error e) reviewed by one reviewer (recall r, false-positive rate f), up
/// to k reworks. Per pass: accepted correct a = (1−e)(1−f), accepted wrong b = e(1−r),
/// flagged q = e·r + (1−e)·f. Over up to k+1 passes:
///   P(correct) = a·Σ_{i=0..k} q^i,  P(wrong) = b·Σ_{i=0..k} q^i,  P(exhausted) = q^(k+1).
/// `fail`: exhausted tasks fail. `deliver`: the last pass's output is delivered, wrong
/// with probability e·r/q and correct with probability (1−e)·f/q.
/// Worker passes per task are min(Geometric, k+1) with repeat probability q.
#[test]
fn reviewer_loop_matches_the_closed_form() {
    let (e, r, f, k): (f64, f64, f64, u32) = (0.3, 0.8, 0.1, 2);
    let tasks = 20_000u64;
    let a = (1.0 - e) * (1.0 - f);
    let b = e * (1.0 - r);
    let q = e * r + (1.0 - e) * f;
    let geom: f64 = (0..=k).map(|i| q.powi(i as i32)).sum();
    let exhausted = q.powi(k as i32 + 1);
    assert!((a * geom + b * geom + exhausted - 1.0).abs() < 1e-12);
    for on_exhausted in ["fail", "deliver"] {
        let sc = load(&format!(
            r#"
name = "review-theory"
seed = 31
replications = 1

[workload]
tasks = {tasks}
arrivals = {{ process = "batch" }}

[models.m]
input_usd_per_mtok = 1
output_usd_per_mtok = 1
ttft_s = 1
output_tokens_per_s = 100

[agents.author]
model = "m"
error_rate = {e}

[agents.checker]
model = "m"
review = {{ recall = {r}, false_positive_rate = {f} }}

[strategies.s]
steps = [
  {{ id = "write", agent = "author" }},
  {{ id = "check", agent = "checker", max_rework = {k}, on_exhausted = "{on_exhausted}" }},
]
"#
        ));
        let u = run_unit(&sc, 0, 0, WorldOptions::default());
        let count = |m: &str| metric(&u, m) as u64;
        assert_eq!(count("correct") + count("wrong") + count("failed"), tasks);
        assert_eq!(count("escalated"), 0);
        let (p_correct, p_wrong, p_failed) = match on_exhausted {
            "fail" => (a * geom, b * geom, exhausted),
            _ => (a * geom + exhausted * (1.0 - e) * f / q, b * geom + exhausted * e * r / q, 0.0),
        };
        assert_binomial(&format!("{on_exhausted}: correct"), count("correct"), tasks, p_correct);
        assert_binomial(&format!("{on_exhausted}: wrong"), count("wrong"), tasks, p_wrong);
        assert_binomial(&format!("{on_exhausted}: failed"), count("failed"), tasks, p_failed);

        let (mean, var) = truncated_geometric(q, k + 1);
        assert!((mean - geom).abs() < 1e-12);
        let passes = u.rows[0].2.calls as f64 / tasks as f64;
        assert!(
            (passes - mean).abs() <= Z * (var / tasks as f64).sqrt(),
            "{on_exhausted}: worker passes per task {passes:.5}, theory {mean:.5}"
        );
        assert_eq!(u.rows[0].2.calls, u.rows[1].2.calls, "every pass is reviewed");
    }
}

/// A reviewer-free pipeline is correct only if every step is: success = Π_i (1 − min(1,
/// e_i·difficulty)), per class. Each class has its own business unit, so the per-unit
/// counts give per-class success rates; the third class drives a step past certainty
/// (0.2 × 6 = 1.2, capped at 1), so none of its tasks may succeed.
#[test]
fn pipeline_success_is_the_product_of_step_accuracies_per_class() {
    let (e1, e2): (f64, f64) = (0.1, 0.2);
    let classes = [("easy", 0.45, 0.5), ("hard", 0.45, 2.0), ("brutal", 0.1, 6.0)];
    let tasks = 20_000u64;
    let class_toml: String = classes
        .iter()
        .map(|(name, share, d)| {
            format!("[[workload.classes]]\nname = \"{name}\"\nshare = {share}\nbusiness_unit = \"{name}\"\ndifficulty = {d}\n\n")
        })
        .collect();
    let sc = load(&format!(
        r#"
name = "pipeline-theory"
seed = 8
replications = 1

[workload]
tasks = {tasks}
arrivals = {{ process = "batch" }}

{class_toml}
[models.m]
input_usd_per_mtok = 1
output_usd_per_mtok = 1
ttft_s = 1
output_tokens_per_s = 100

[agents.first]
model = "m"
error_rate = {e1}

[agents.second]
model = "m"
error_rate = {e2}

[strategies.s]
steps = [{{ id = "a", agent = "first" }}, {{ id = "b", agent = "second" }}]
"#
    ));
    let u = run_unit(&sc, 0, 0, WorldOptions::default());
    assert_eq!(metric(&u, "correct") + metric(&u, "wrong"), tasks as f64);
    assert_eq!(u.bus.len(), classes.len());
    for ((name, share, d), bu) in classes.iter().zip(&u.bus) {
        let p = (1.0 - (e1 * d).min(1.0)) * (1.0 - (e2 * d).min(1.0));
        assert_binomial(&format!("class {name}: success"), bu.correct, bu.tasks, p);
        assert_binomial(&format!("class {name}: share of tasks"), bu.tasks, tasks, *share);
    }
    assert_eq!(u.bus[2].correct, 0);
}

/// Majority voting over n replicas, each wrong independently with probability e:
/// correct when more than half are right, P = Σ_{j>n/2} C(n,j)(1−e)^j e^(n−j); for n = 3,
/// 3(1−e)²e + (1−e)³.
#[test]
fn majority_vote_is_correct_when_most_replicas_are() {
    let e: f64 = 0.3;
    let tasks = 20_000u64;
    for n in [3u32, 5] {
        let binom = |n: u32, j: u32| (0..j).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64);
        let p: f64 = (n / 2 + 1..=n).map(|j| binom(n, j) * (1.0 - e).powi(j as i32) * e.powi((n - j) as i32)).sum();
        if n == 3 {
            assert!((p - (3.0 * (1.0 - e).powi(2) * e + (1.0 - e).powi(3))).abs() < 1e-12);
        }
        let sc = load(&format!(
            r#"
name = "vote-theory"
seed = 12
replications = 1

[workload]
tasks = {tasks}
arrivals = {{ process = "batch" }}

[models.m]
input_usd_per_mtok = 1
output_usd_per_mtok = 1
ttft_s = 1
output_tokens_per_s = 100

[agents.voter]
model = "m"
error_rate = {e}

[strategies.s]
steps = [{{ id = "answer", agent = "voter", replicas = {n}, merge = "vote" }}]
"#
        ));
        let u = run_unit(&sc, 0, 0, WorldOptions::default());
        assert_eq!(u.rows[0].2.calls, n as u64 * tasks);
        assert_binomial(&format!("vote of {n}: success"), metric(&u, "correct") as u64, tasks, p);
    }
}

// ---- money ------------------------------------------------------------------------------

/// gpt-4o at its catalog list price ($2.50 in, $10 out per million tokens) with 2,000
/// input and 500 output tokens: 2000 × 2.5e-6 + 500 × 1e-5 = $0.005 + $0.005 = $0.01 a
/// task, exactly 10^10 pico-dollars, whatever the number of tasks.
#[test]
fn a_gpt4o_call_costs_exactly_one_cent() {
    let tasks = 1_000u64;
    let sc = load(&format!(
        r#"
name = "money-theory"
seed = 1
replications = 1

[workload]
tasks = {tasks}
arrivals = {{ process = "poisson", rate_per_hour = 600 }}

[agents.generalist]
model = "gpt-4o"
input_tokens = 2000
output_tokens = 500

[strategies.single]
steps = [{{ id = "answer", agent = "generalist" }}]
"#
    ));
    let w = world(&sc, 0, 0, WorldOptions::default());
    assert_eq!(Usd::from_f64(0.01), Usd(10_000_000_000));
    assert_eq!(w.ledger.total, Usd(10_000_000_000 * tasks as i128));
    assert_eq!(w.ledger.rows[0].tokens_in, 2000 * tasks);
    assert_eq!(w.ledger.rows[0].tokens_out, 500 * tasks);
    let u = run_unit(&sc, 0, 0, WorldOptions::default());
    assert!((metric(&u, "cost_per_task_usd") - 0.01).abs() < 1e-15);
    assert_eq!(u.total.to_string(), format!("{}", tasks as f64 * 0.01));
}

/// The default scenario, every strategy: the per-row, per-business-unit, per-category
/// and per-task breakdowns add up to the ledger total to the pico-dollar.
#[test]
fn default_scenario_breakdowns_add_up_exactly() {
    let loaded = orchsim::scenario::load(None, &[("workload.tasks".into(), "150".into())]).expect("default scenario");
    let sc = loaded.scenario;
    assert!(sc.strategies.len() >= 4);
    for s in 0..sc.strategies.len() {
        for r in 0..2u64 {
            let name = &sc.strategies[s].name;
            let w = world(&sc, s, r, WorldOptions { task_log: true });
            let total = w.ledger.total;
            assert!(total > Usd::ZERO, "{name}: nothing charged");
            assert_eq!(w.ledger.rows.iter().map(|x| x.cost).sum::<Usd>(), total, "{name} rep {r}: rows");
            assert_eq!(w.ledger.bus.iter().map(|x| x.cost).sum::<Usd>(), total, "{name} rep {r}: business units");
            assert_eq!(w.ledger.by_category.iter().copied().sum::<Usd>(), total, "{name} rep {r}: categories");
            // No monthly platform fee in the default scenario, so every charge belongs
            // to a task.
            assert_eq!(w.task_rows.iter().map(|t| t.cost).sum::<Usd>(), total, "{name} rep {r}: tasks");
            assert_eq!(w.ledger.rows.len(), w.row_names.len());
            let c = &w.counters;
            assert_eq!(c.correct + c.wrong + c.failed, c.tasks, "{name} rep {r}: outcomes");
            assert!(c.escalated <= c.correct + c.wrong, "{name} rep {r}: escalated tasks are delivered");
            assert_eq!(c.tasks, 150);
        }
    }
}

/// The model pool is a FIFO, work-conserving c-server queue. Mean waits cannot show it
/// (M/M/c's mean wait is the same under any work-conserving order), so this replays the
/// task log through an exact FIFO c-server recursion (Kiefer–Wolfowitz: each task takes
/// the slot that frees first, no earlier than its arrival) and requires the waits it
/// implies to average to the simulator's `queue_wait_mean_s`, and no task to finish
/// before it could have started.
#[test]
fn model_slots_serve_fifo_and_never_idle_with_work_waiting() {
    let (c, tasks) = (3u32, 5_000u64);
    let sc = mmc_scenario(c, 2.7, 1.0, tasks, 3);
    let u = run_unit(&sc, 0, 0, WorldOptions { task_log: true });
    let mut rows = u.task_rows.clone();
    rows.sort_by_key(|t| t.task);
    // Free times of the c slots (min-heap via Reverse): task i starts when it has
    // arrived and the earliest slot frees, and holds that slot until it finishes.
    let mut free: BinaryHeap<std::cmp::Reverse<u64>> = (0..c).map(|_| std::cmp::Reverse(0)).collect();
    let ns = |s: f64| (s * 1e9).round() as u64;
    let mut wait_sum = 0u64;
    for t in &rows {
        let std::cmp::Reverse(slot) = free.pop().expect("c slots");
        let start = slot.max(ns(t.arrival_s));
        wait_sum += start - ns(t.arrival_s);
        assert!(ns(t.finish_s) >= start, "task {} finishes before it can start", t.task);
        free.push(std::cmp::Reverse(ns(t.finish_s)));
    }
    let reconstructed = wait_sum as f64 / 1e9 / tasks as f64;
    let reported = metric(&u, "queue_wait_mean_s");
    // Seconds round-trip through f64 at the microsecond scale: allow 1 µs per task.
    assert!((reconstructed - reported).abs() < 1e-6, "FIFO reconstruction {reconstructed} vs reported {reported}");
}

// ---- rate limits and tokens ---------------------------------------------------------------

/// A saturated token bucket is a deterministic clock. With a batch of N tasks, unlimited
/// slots and a bucket of R requests per minute (starting full), tasks 0..R start at 0
/// and task k ≥ R starts at (k − R + 1)·60/R s; with a constant 1 s service the makespan
/// is (N − R)·60/R + 1 s and the mean wait is (60/R)·Σ_{j=1..N−R} j / N. The same holds
/// for a tokens-per-minute bucket with every request needing T tokens: R = TPM/T.
/// Bucket arithmetic rounds up to the nanosecond, so allow a microsecond per task.
#[test]
fn rate_limits_pace_a_backlog_exactly() {
    let n = 1_000u64;
    for (limits, per_min) in [("requests_per_min = 120", 120u64), ("tokens_per_min = 6000", 60)] {
        let sc = load(&format!(
            r#"
name = "bucket-theory"
seed = 2
replications = 1

[workload]
tasks = {n}
arrivals = {{ process = "batch" }}

[models.limited]
input_usd_per_mtok = 0
output_usd_per_mtok = 0
ttft_s = 1
output_tokens_per_s = 100
{limits}

[agents.worker]
model = "limited"
input_tokens = 100
output_tokens = 0

[strategies.s]
steps = [{{ id = "work", agent = "worker" }}]
"#
        ));
        let u = run_unit(&sc, 0, 0, WorldOptions::default());
        let gap = 60.0 / per_min as f64;
        let backlog = (n - per_min) as f64;
        let makespan = backlog * gap + 1.0;
        let wait = gap * backlog * (backlog + 1.0) / 2.0 / n as f64;
        let slack = 1e-6 * n as f64;
        assert!((metric(&u, "makespan_s") - makespan).abs() < slack, "{limits}: makespan {} vs {makespan}", metric(&u, "makespan_s"));
        assert!(
            (metric(&u, "queue_wait_mean_s") - wait).abs() < slack,
            "{limits}: mean wait {} vs {wait}",
            metric(&u, "queue_wait_mean_s")
        );
    }
}

/// Constant tokens make the bill a closed form. Steps a → b → c with `context = "all"`:
/// each step's input is its own tokens, every upstream step's output and the handoff
/// tokens; the system prompt is billed at the cached price but for each agent's first
/// call, which writes the cache at the input price (the model has no write price; a task
/// every 10 s keeps the 5-minute cache warm); handoff tokens count as orchestration.
/// Prices $1 (input), $0.10 (cached), $2 (output) per million tokens are 10⁶, 10⁵ and
/// 2·10⁶ pico-dollars a token.
#[test]
fn context_handoff_and_cached_prompt_are_billed_exactly() {
    let (tasks, handoff, prompt) = (300u64, 50u64, 2_000u64);
    let (ins, outs) = ([100u64, 200, 300], [10u64, 20, 30]);
    let sc = load(&format!(
        r#"
name = "tokens-theory"
seed = 3
replications = 1

[workload]
tasks = {tasks}
arrivals = {{ process = "fixed", interval_s = 10 }}

[models.m]
input_usd_per_mtok = 1
cached_input_usd_per_mtok = 0.1
output_usd_per_mtok = 2
ttft_s = 0.5
output_tokens_per_s = 100

[agents.a]
model = "m"
system_prompt_tokens = {prompt}
input_tokens = {}
output_tokens = {}

[agents.b]
model = "m"
system_prompt_tokens = {prompt}
input_tokens = {}
output_tokens = {}

[agents.c]
model = "m"
system_prompt_tokens = {prompt}
input_tokens = {}
output_tokens = {}

[strategies.s]
context = "all"
handoff_tokens = {handoff}
steps = [{{ id = "a", agent = "a" }}, {{ id = "b", agent = "b" }}, {{ id = "c", agent = "c" }}]
"#,
        ins[0], outs[0], ins[1], outs[1], ins[2], outs[2]
    ));
    let w = world(&sc, 0, 0, WorldOptions::default());
    let mut total = 0i128;
    for s in 0..3 {
        let upstream: u64 = outs[..s].iter().sum();
        let fresh = ins[s] + upstream;
        let row = &w.ledger.rows[s];
        assert_eq!(row.tokens_in, tasks * (prompt + fresh + handoff), "step {s}: input tokens");
        assert_eq!(row.tokens_out, tasks * outs[s], "step {s}: output tokens");
        let per_call = 100_000 * prompt as i128 + 1_000_000 * (fresh + handoff) as i128 + 2_000_000 * outs[s] as i128;
        let write = (1_000_000 - 100_000) * prompt as i128;
        assert_eq!(row.cost, Usd(per_call * tasks as i128 + write), "step {s}: cost");
        total += per_call * tasks as i128 + write;
    }
    assert_eq!(w.ledger.total, Usd(total));
    let orchestration = w.ledger.category(Category::Orchestration);
    assert_eq!(orchestration, Usd(3 * 1_000_000 * handoff as i128 * tasks as i128), "handoff tokens are orchestration cost");
}
