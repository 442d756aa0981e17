//! Simulator throughput on the bare M/M/5 queue of `scenarios/mmc.toml`, or on the
//! agents pipeline of `benches/pipeline.toml`.
//!
//! ```text
//! cargo run --release --example throughput -- [TASKS]              (default 1000000)
//! cargo run --release --example throughput -- --pipeline [TASKS]
//! scripts/bench.sh                                                 (both, release build)
//! ```
//!
//! Runs one replication of `TASKS` tasks on one thread through the library
//! (`experiment::run_unit`), prints tasks per second, events per second and the peak
//! resident memory, then checks the results. M/M/5: every task is served, and the mean
//! wait in queue agrees with Erlang C. Pipeline (three steps on two shared pools with
//! transient errors and retries): every task arrives and ends correct, wrong or failed,
//! and retries happened. CI runs it, so it cannot rot.

use std::path::Path;
use std::time::Instant;

use orchsim::economics::metrics::{METRIC, Metrics};
use orchsim::experiment::run_unit;
use orchsim::workflow::WorldOptions;

/// Erlang C: the probability that an arrival waits in M/M/c with offered load a < c.
fn erlang_c(c: u32, a: f64) -> f64 {
    let (mut term, mut sum) = (1.0, 0.0);
    for k in 0..c {
        sum += term;
        term *= a / (k + 1) as f64;
    }
    let top = term * c as f64 / (c as f64 - a);
    top / (sum + top)
}

/// Peak resident set size in kB (`VmHWM` in /proc/self/status), where available.
fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let pipeline = args.first().is_some_and(|a| a == "--pipeline");
    if pipeline {
        args.remove(0);
    }
    let tasks: u64 = match args.first() {
        Some(a) => a.replace('_', "").parse().map_err(|e| format!("TASKS must be a whole number, got {a:?}: {e}"))?,
        None => 1_000_000,
    };
    if tasks == 0 {
        return Err("TASKS must be at least 1".into());
    }
    let file = if pipeline { "benches/pipeline.toml" } else { "scenarios/mmc.toml" };
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let loaded = orchsim::scenario::load(Some(&path), &[("workload.tasks".into(), tasks.to_string())])?;
    let sc = loaded.scenario;

    let started = Instant::now();
    let unit = run_unit(&sc, 0, 0, WorldOptions::default());
    let secs = started.elapsed().as_secs_f64();

    let m = |metric: fn(&Metrics<usize>) -> usize| unit.metrics[metric(&METRIC)];
    let events = m(|x| x.events);
    let rss = peak_rss_kb();
    println!("scenario         {}", path.display());
    println!("tasks            {tasks}");
    println!("events           {events}");
    println!("wall time        {secs:.3} s");
    println!("tasks/s          {:.0}", tasks as f64 / secs);
    println!("events/s         {:.0}", events / secs);
    match rss {
        Some(kb) => println!("peak RSS         {:.1} MiB", kb as f64 / 1024.0),
        None => println!("peak RSS         unavailable (no /proc/self/status)"),
    }

    if pipeline {
        assert_eq!(m(|x| x.tasks), tasks as f64, "every task arrived");
        assert_eq!(m(|x| x.correct) + m(|x| x.wrong) + m(|x| x.failed), tasks as f64, "every task ended");
        // One arrival and, per step, one attempt end: more means retries happened.
        assert!(events > 4.0 * tasks as f64, "{events} events: no retries in {tasks} tasks?");
        assert!(unit.total > orchsim::economics::Usd::ZERO, "the models charge");
        return Ok(());
    }

    // The scenario is M/M/5 with lambda = 4/s and mu = 1/s (see its comments).
    let (c, lambda, mu) = (5u32, 4.0, 1.0);
    let wq = erlang_c(c, lambda / mu) / (c as f64 * mu - lambda);
    let wait = m(|x| x.queue_wait_mean_s);
    // The per-replication mean wait of this queue scatters with a relative standard
    // error of about 10.7/√tasks (measured from replication spread); allow 10% or
    // 5 standard errors, whichever is larger, so small smoke runs pass too.
    let rel_tol = (5.0 * 10.7 / (tasks as f64).sqrt()).max(0.10);
    println!("mean wait        {wait:.4} s (Erlang C {wq:.4} s, tolerance ±{:.1}%)", rel_tol * 100.0);

    assert_eq!(m(|x| x.tasks), tasks as f64, "every task arrived");
    assert_eq!(m(|x| x.correct), tasks as f64, "every task was served correctly");
    assert_eq!(events, 2.0 * tasks as f64, "one arrival and one attempt end per task");
    assert_eq!(unit.total, orchsim::economics::Usd::ZERO, "a free model costs nothing");
    assert!((wait - wq).abs() <= rel_tol * wq, "mean wait {wait} s is not within {:.1}% of Erlang C {wq} s", rel_tol * 100.0);
    // The task stream is generated lazily and task slots are reused, so memory must not
    // grow with the number of tasks.
    if let Some(kb) = rss {
        assert!(kb < 256 * 1024, "peak RSS {kb} kB: memory grows with the number of tasks?");
    }
    Ok(())
}
