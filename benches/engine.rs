//! Engine benchmarks (criterion): `cargo bench --bench engine`.
//!
//! 1. `engine/mmc_hot_loop`: the bare event loop on an M/M/c queue built directly on
//!    `orchsim::engine` (`EventQueue`, `SimTime`, `stream`), with no domain types: no
//!    tokens, no dollars, no agents. This is the engine's ceiling.
//! 2. `library/mmc_replication`: one replication of `scenarios/mmc.toml` through the
//!    library (`run_unit`): the same queue, with the whole agents world around it.
//! 3. `library/default_replication`: one replication of every strategy of the default
//!    scenario (`scenarios/research-report.toml`).
//! 4. `library/pipeline_replication`: one replication of `benches/pipeline.toml`, a
//!    three-step pipeline on two shared model pools with transient errors and retries
//!    with backoff: the agents world's hot paths (the speed goal of issue 13).
//!
//! Throughput is reported in elements = tasks. Sample sizes and measurement times are
//! kept small so that the whole bench takes well under a minute.

use std::collections::VecDeque;
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use orchsim::engine::{EventQueue, Purpose, SimRng, SimTime, stream};
use orchsim::experiment::run_unit;
use orchsim::workflow::WorldOptions;
use rand::RngExt;

/// Events of the bare queue. Small and `Copy`, as the engine asks.
#[derive(Clone, Copy, Debug)]
enum Ev {
    /// A customer arrived.
    Arrived,
    /// A server finished a customer.
    Departed,
}

/// An exponential draw with the given mean, by inversion (keeps the bench free of
/// distribution types).
#[inline]
fn exp(rng: &mut SimRng, mean: f64) -> SimTime {
    let u: f64 = rng.random();
    SimTime::from_secs(-mean * (1.0 - u).ln())
}

/// Runs `tasks` customers through an M/M/c queue (λ, μ per second); returns the mean
/// wait in queue (s) and the number of events processed.
fn bare_mmc(tasks: u64, c: u32, lambda: f64, mu: f64, seed: u64) -> (f64, u64) {
    let mut rng = stream(seed, 0, Purpose::Test, "bench-mmc");
    let mut q: EventQueue<Ev> = EventQueue::with_capacity(c as usize + 2);
    let mut waiting: VecDeque<SimTime> = VecDeque::with_capacity(1024);
    let (mut busy, mut arrived, mut wait_ns) = (0u32, 0u64, 0u128);
    q.schedule(exp(&mut rng, 1.0 / lambda), Ev::Arrived);
    while let Some((now, ev)) = q.step() {
        match ev {
            Ev::Arrived => {
                arrived += 1;
                if arrived < tasks {
                    q.schedule_in(exp(&mut rng, 1.0 / lambda), Ev::Arrived);
                }
                if busy < c {
                    busy += 1;
                    q.schedule_in(exp(&mut rng, 1.0 / mu), Ev::Departed);
                } else {
                    waiting.push_back(now);
                }
            }
            Ev::Departed => match waiting.pop_front() {
                Some(since) => {
                    wait_ns += (now - since).0 as u128;
                    q.schedule_in(exp(&mut rng, 1.0 / mu), Ev::Departed);
                }
                None => busy -= 1,
            },
        }
    }
    (wait_ns as f64 / 1e9 / tasks as f64, q.events_processed())
}

fn engine(cr: &mut Criterion) {
    let tasks = 100_000u64;
    // Sanity: the bare queue is an M/M/5 at rho = 0.8, Wq = C(5, 4)/(5 − 4) = 0.5541 s.
    let (wq, events) = bare_mmc(tasks, 5, 4.0, 1.0, 1);
    assert_eq!(events, 2 * tasks);
    assert!((wq - 0.5541).abs() < 0.1, "bare M/M/5 mean wait {wq}");

    let mut g = cr.benchmark_group("engine");
    g.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    g.throughput(Throughput::Elements(tasks));
    g.bench_function("mmc_hot_loop", |b| b.iter(|| black_box(bare_mmc(black_box(tasks), 5, 4.0, 1.0, 1))));
    g.finish();
}

fn library(cr: &mut Criterion) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mmc = orchsim::scenario::load(Some(&dir.join("scenarios/mmc.toml")), &[]).expect("scenarios/mmc.toml loads").scenario;
    let default = orchsim::scenario::load(None, &[]).expect("default scenario loads").scenario;
    let sets = [("workload.tasks".to_string(), "50000".to_string())];
    let pipeline = orchsim::scenario::load(Some(&dir.join("benches/pipeline.toml")), &sets).expect("benches/pipeline.toml loads").scenario;

    let mut g = cr.benchmark_group("library");
    g.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));

    g.throughput(Throughput::Elements(mmc.workload.tasks));
    g.bench_function("mmc_replication", |b| b.iter(|| black_box(run_unit(&mmc, 0, 0, WorldOptions::default()))));

    g.throughput(Throughput::Elements(default.workload.tasks * default.strategies.len() as u64));
    g.bench_function("default_replication", |b| {
        b.iter(|| {
            for s in 0..default.strategies.len() {
                black_box(run_unit(&default, 0, s, WorldOptions::default()));
            }
        })
    });

    g.throughput(Throughput::Elements(pipeline.workload.tasks));
    g.bench_function("pipeline_replication", |b| b.iter(|| black_box(run_unit(&pipeline, 0, 0, WorldOptions::default()))));
    g.finish();
}

criterion_group!(benches, engine, library);
criterion_main!(benches);
