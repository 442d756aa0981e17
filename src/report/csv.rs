//! The CSV exporters: `summary.csv`, `replications.csv`, `agents.csv`,
//! `business_units.csv` and `tasks.csv`. Column lists are part of the contract
//! (SPEC section 4); change them here and in README.md together.

use super::fmt_f64;
use crate::economics::metrics::{METRIC, METRICS, Stat, stat};
use crate::error::{Error, Result};
use crate::experiment::{RunResult, UnitResult};
use crate::model::Scenario;

fn writer() -> ::csv::Writer<Vec<u8>> {
    ::csv::WriterBuilder::new().terminator(::csv::Terminator::Any(b'\n')).from_writer(Vec::new())
}

fn finish(w: ::csv::Writer<Vec<u8>>) -> Result<Vec<u8>> {
    w.into_inner().map_err(|e| Error::Other(format!("CSV: {}", e.error())))
}

/// A record is refused (not dropped) when it has another number of fields than the
/// header: that would be a bug, reported as such.
fn rec(w: &mut ::csv::Writer<Vec<u8>>, fields: &[String]) -> Result<()> {
    w.write_record(fields).map_err(|e| Error::Other(format!("CSV: {e}")))
}

/// Header of `summary.csv`.
pub const SUMMARY_HEADER: [&str; 7] = ["strategy", "metric", "mean", "std", "ci95_low", "ci95_high", "replications"];

/// The per-strategy, per-metric statistics of a run, in strategy then metric order.
pub fn summary_stats(sc: &Scenario, run: &RunResult) -> Vec<(String, &'static str, Stat)> {
    let mut out = Vec::new();
    for (s, st) in sc.strategies.iter().enumerate() {
        let units: Vec<&UnitResult> = run.units.iter().filter(|u| u.strategy == s).collect();
        for (m, name) in METRICS.iter().enumerate() {
            let vals: Vec<f64> = units.iter().map(|u| u.metrics[m]).collect();
            out.push((st.name.clone(), *name, stat(&vals)));
        }
    }
    out
}

/// A row of statistics as CSV fields (without the leading key columns).
pub fn stat_fields(s: &Stat) -> [String; 5] {
    [fmt_f64(s.mean), fmt_f64(s.std), fmt_f64(s.ci95_low), fmt_f64(s.ci95_high), s.n.to_string()]
}

/// `summary.csv`.
pub fn summary(sc: &Scenario, run: &RunResult) -> Result<Vec<u8>> {
    let mut w = writer();
    rec(&mut w, &SUMMARY_HEADER.map(String::from))?;
    for (strategy, metric, s) in summary_stats(sc, run) {
        let mut f = vec![strategy, metric.to_string()];
        f.extend(stat_fields(&s));
        rec(&mut w, &f)?;
    }
    finish(w)
}

/// `replications.csv`.
pub fn replications(sc: &Scenario, run: &RunResult) -> Result<Vec<u8>> {
    let mut w = writer();
    let mut h = vec!["replication".to_string(), "seed".into(), "strategy".into()];
    h.extend(METRICS.iter().map(|m| m.to_string()));
    rec(&mut w, &h)?;
    for u in &run.units {
        rec(&mut w, &replication_fields(sc, u))?;
    }
    finish(w)
}

/// The fields of one `replications.csv` row (also the tail of a sweep's rows).
/// `cost_usd` is written from the exact ledger; its float parses back to exactly the
/// metric value, so statistics recomputed from files match those of a run.
pub fn replication_fields(sc: &Scenario, u: &UnitResult) -> Vec<String> {
    let mut f = vec![
        u.replication.to_string(),
        RunResult::replication_seed(sc.seed, u.replication).to_string(),
        sc.strategies[u.strategy].name.clone(),
    ];
    for (m, v) in u.metrics.iter().enumerate() {
        if m == METRIC.cost_usd {
            f.push(u.total.to_string());
        } else {
            f.push(fmt_f64(*v));
        }
    }
    f
}

/// A CSV writer to memory with `\n` line ends.
pub fn buffer() -> ::csv::Writer<Vec<u8>> {
    writer()
}

/// Writes one record.
pub fn record(w: &mut ::csv::Writer<Vec<u8>>, fields: &[String]) -> Result<()> {
    rec(w, fields)
}

/// Finishes a writer into bytes.
pub fn into_bytes(w: ::csv::Writer<Vec<u8>>) -> Result<Vec<u8>> {
    finish(w)
}

/// Header of `agents.csv`.
pub const AGENTS_HEADER: [&str; 13] = [
    "replication",
    "strategy",
    "step",
    "agent",
    "calls",
    "attempts",
    "failed_attempts",
    "tokens_in",
    "tokens_out",
    "cost_usd",
    "defects_introduced",
    "defects_caught",
    "root_causes",
];

/// `agents.csv`: one row per ledger row (steps, then orchestrator, platform, escalation).
pub fn agents(sc: &Scenario, run: &RunResult) -> Result<Vec<u8>> {
    let mut w = writer();
    rec(&mut w, &AGENTS_HEADER.map(String::from))?;
    for u in &run.units {
        for (step, agent, r) in &u.rows {
            rec(
                &mut w,
                &[
                    u.replication.to_string(),
                    sc.strategies[u.strategy].name.clone(),
                    step.clone(),
                    agent.clone(),
                    r.calls.to_string(),
                    r.attempts.to_string(),
                    r.failed_attempts.to_string(),
                    r.tokens_in.to_string(),
                    r.tokens_out.to_string(),
                    r.cost.to_string(),
                    r.defects_introduced.to_string(),
                    r.defects_caught.to_string(),
                    r.root_causes.to_string(),
                ],
            )?;
        }
    }
    finish(w)
}

/// `business_units.csv`.
pub fn business_units(sc: &Scenario, run: &RunResult) -> Result<Vec<u8>> {
    let mut w = writer();
    rec(&mut w, &["replication", "strategy", "business_unit", "tasks", "correct", "cost_usd"].map(String::from))?;
    for u in &run.units {
        for (b, s) in u.bus.iter().enumerate() {
            rec(
                &mut w,
                &[
                    u.replication.to_string(),
                    sc.strategies[u.strategy].name.clone(),
                    sc.business_units[b].clone(),
                    s.tasks.to_string(),
                    s.correct.to_string(),
                    s.cost.to_string(),
                ],
            )?;
        }
    }
    finish(w)
}

/// `tasks.csv` (with `--task-log`), rows in task order within each world.
pub fn tasks(sc: &Scenario, run: &RunResult) -> Result<Vec<u8>> {
    let mut w = writer();
    rec(
        &mut w,
        &[
            "replication",
            "strategy",
            "task",
            "class",
            "business_unit",
            "arrival_s",
            "finish_s",
            "latency_s",
            "outcome",
            "cost_usd",
            "tokens_in",
            "tokens_out",
            "attempts",
            "reworks",
            "root_cause",
        ]
        .map(String::from),
    )?;
    for u in &run.units {
        let mut rows: Vec<_> = u.task_rows.iter().collect();
        rows.sort_by_key(|r| r.task);
        for t in rows {
            let class = &sc.workload.classes[t.class];
            rec(
                &mut w,
                &[
                    u.replication.to_string(),
                    sc.strategies[u.strategy].name.clone(),
                    t.task.to_string(),
                    class.name.clone(),
                    sc.business_units[class.business_unit].clone(),
                    fmt_f64(t.arrival_s),
                    fmt_f64(t.finish_s),
                    fmt_f64(t.finish_s - t.arrival_s),
                    t.outcome.as_str().to_string(),
                    t.cost.to_string(),
                    t.tokens_in.to_string(),
                    t.tokens_out.to_string(),
                    t.attempts.to_string(),
                    t.reworks.to_string(),
                    t.root_cause.map(|r| u.rows[r].0.clone()).unwrap_or_default(),
                ],
            )?;
        }
    }
    finish(w)
}
