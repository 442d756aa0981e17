//! Parameter sweeps: a grid of scenario overrides, run in parallel, persisted point by
//! point so that a sweep can be resumed, sharded across machines and merged.
//!
//! Data flow: scenario tree + `--set` -> grid of `--vary`/`[sweep.vary]` axes -> one
//! validated scenario per point (all checked before anything runs) -> `(point,
//! replication, strategy)` worlds on rayon -> `parts/point-NNNNNN.csv` written
//! atomically per point -> assembled into `sweep_replications.csv` and `sweep.csv`.
//! Assembly reads only the part files, so a one-process sweep, a resumed sweep and a
//! merge of shards produce the same bytes by construction.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde_json::{Value as J, json};

use crate::economics::metrics::{METRICS, stat};
use crate::error::{Diagnostic, Error, Result};
use crate::experiment::{pool, run_unit};
use crate::model::Scenario;
use crate::report::csv::{buffer, into_bytes, record, replication_fields, stat_fields};
use crate::report::{folder, sha256_hex, write_atomic};
use crate::scenario::{self, Node, Value, overrides, to_toml_string, tree::parse_value};
use crate::workflow::WorldOptions;

/// One axis of the grid.
#[derive(Clone, Debug, PartialEq)]
pub struct Axis {
    /// Dotted path into the scenario.
    pub path: String,
    /// The values, in order.
    pub values: Vec<Node>,
}

/// What `orchsim sweep` was asked to do.
#[derive(Clone, Debug, Default)]
pub struct SweepPlan {
    /// Scenario file.
    pub scenario: PathBuf,
    /// `--set` overrides (plus `--replications`, `--seed`, `--tasks`).
    pub sets: Vec<(String, String)>,
    /// `--vary PATH=SPEC` axes (added to, or replacing, `[sweep.vary]`).
    pub varies: Vec<(String, String)>,
    /// Output folder; default `output/<scenario name>-sweep/`.
    pub out: Option<PathBuf>,
    /// Worker threads (0 = one per core).
    pub jobs: usize,
    /// `(K, N)`: run only the points `p` with `p % N == K`.
    pub shard: Option<(u64, u64)>,
    /// Keep the points already in the output folder.
    pub resume: bool,
    /// Replace a folder holding other results (a run, or a different sweep).
    pub force: bool,
    /// Draw charts.
    pub charts: bool,
    /// Print nothing but errors.
    pub quiet: bool,
    /// The command line, for the manifest.
    pub command: Vec<String>,
    /// `--metric`: what the summary, `breakeven.csv` and the charts follow (default
    /// `cost_per_success_usd`).
    pub metric: Option<String>,
}

/// The metric index of `--metric` (default `cost_per_success_usd`), or a usage error.
pub fn metric_of(name: Option<&str>) -> Result<usize> {
    crate::analysis::parse_metric(name.unwrap_or("cost_per_success_usd")).map_err(Error::Usage)
}

/// Parses a `--vary` SPEC: `v1,v2,...` (TOML values) or `start:stop:count` (evenly
/// spaced, both ends included; integers stay integers when every point is whole).
pub fn parse_spec(spec: &str) -> std::result::Result<Vec<Node>, String> {
    let parts: Vec<&str> = spec.split(':').collect();
    if parts.len() == 3 {
        let num = |s: &str| s.trim().parse::<f64>().ok().filter(|x| x.is_finite());
        let (Some(a), Some(b)) = (num(parts[0]), num(parts[1])) else {
            return Err(format!("`{spec}`: start and stop must be numbers"));
        };
        let n: u64 = parts[2].trim().parse().map_err(|_| format!("`{spec}`: count must be a whole number"))?;
        if n == 0 || (n == 1 && a != b) {
            return Err(format!("`{spec}`: count must be >= 2 (or 1 with start = stop)"));
        }
        if n > 100_000 {
            return Err(format!("`{spec}`: at most 100000 values per axis"));
        }
        // Each point is computed from the ends, not by accumulating a step, so
        // 0:1:11 gives exactly the floats nearest to 0, 0.1, ..., 1.
        let d = (n.max(2) - 1) as f64;
        let vals: Vec<f64> = (0..n).map(|i| if n == 1 { a } else { (a * (d - i as f64) + b * i as f64) / d }).collect();
        let ints =
            parts[0].trim().parse::<i64>().is_ok() && parts[1].trim().parse::<i64>().is_ok() && vals.iter().all(|v| v.fract() == 0.0);
        return Ok(vals.into_iter().map(|v| Node::new(if ints { Value::Int(v as i64) } else { Value::Float(v) })).collect());
    }
    let vals: Vec<Node> = spec.split(',').map(|s| parse_value(s.trim())).collect();
    if vals.is_empty() || spec.trim().is_empty() {
        return Err(format!("`{spec}`: expected v1,v2,... or start:stop:count"));
    }
    Ok(vals)
}

/// The axes of `[sweep.vary]` in a scenario tree.
fn axes_from_tree(tree: &Node, file: &str, diags: &mut Vec<Diagnostic>) -> Vec<Axis> {
    let mut axes = Vec::new();
    let Some(sweep) = tree.get("sweep") else { return axes };
    let mut bad = |line, path: &str, value: String, expected: &str| {
        diags.push(Diagnostic { file: file.into(), line, path: path.into(), value, expected: expected.into() })
    };
    let Some(entries) = sweep.as_table() else {
        bad(sweep.line, "sweep", sweep.to_string(), "expected a table with a `vary` table");
        return axes;
    };
    for (k, v) in entries {
        if k != "vary" {
            bad(v.line, &format!("sweep.{k}"), v.to_string(), "unknown key; expected: vary");
            continue;
        }
        let Some(vary) = v.as_table() else {
            bad(v.line, "sweep.vary", v.to_string(), "expected a table of \"path\" = [values] or \"start:stop:count\"");
            continue;
        };
        for (path, spec) in vary {
            let p = format!("sweep.vary.\"{path}\"");
            match &spec.value {
                Value::Array(items) if !items.is_empty() => axes.push(Axis { path: path.clone(), values: items.clone() }),
                Value::Str(s) => match parse_spec(s) {
                    Ok(values) => axes.push(Axis { path: path.clone(), values }),
                    Err(e) => bad(spec.line, &p, spec.to_string(), &e),
                },
                _ => bad(spec.line, &p, spec.to_string(), "expected a non-empty array of values or \"start:stop:count\""),
            }
        }
    }
    axes
}

/// The largest grid a sweep runs.
pub const MAX_POINTS: usize = 1_000_000;

/// A validated sweep, ready to run.
#[derive(Debug)]
pub struct Prepared {
    /// The base scenario (after `--set`, before the axes).
    pub base: scenario::Loaded,
    /// The axes.
    pub axes: Vec<Axis>,
    /// One scenario per grid point, first axis slowest.
    pub points: Vec<(Vec<Node>, Scenario)>,
    /// The plan file's bytes (identical for every shard of the sweep).
    pub plan_json: Vec<u8>,
}

/// Builds and validates every point of the grid; reports every invalid point.
pub fn prepare(plan: &SweepPlan) -> Result<Prepared> {
    let base = scenario::load(Some(&plan.scenario), &plan.sets)?;
    let file = base.source.file.clone();
    let mut diags = Vec::new();
    // Axes given on the command line replace the file's [sweep.vary] table.
    let mut axes = axes_from_tree(&base.tree, &file, &mut diags);
    if !plan.varies.is_empty() {
        axes.clear();
        diags.clear();
    }
    for (path, spec) in &plan.varies {
        match parse_spec(spec) {
            Ok(values) => match axes.iter_mut().find(|a| &a.path == path) {
                Some(a) => a.values = values,
                None => axes.push(Axis { path: path.clone(), values }),
            },
            Err(e) => diags.push(Diagnostic { file: "--vary".into(), line: None, path: path.clone(), value: spec.clone(), expected: e }),
        }
    }
    if !diags.is_empty() {
        return Err(Error::Invalid(diags));
    }
    if axes.is_empty() {
        return Err(Error::Usage(format!("{file}: nothing to sweep: give --vary PATH=SPEC or a [sweep.vary] table")));
    }
    let n_points = axes.iter().try_fold(1usize, |n, a| n.checked_mul(a.values.len())).filter(|n| *n <= MAX_POINTS).ok_or_else(|| {
        let sizes: Vec<String> = axes.iter().map(|a| a.values.len().to_string()).collect();
        Error::Usage(format!("the grid has {} points; at most {MAX_POINTS}", sizes.join(" x ")))
    })?;
    let mut points = Vec::with_capacity(n_points);
    for p in 0..n_points {
        let values = grid_values(&axes, p);
        let mut tree = base.tree.clone();
        let mut label = Vec::new();
        for (a, v) in axes.iter().zip(&values) {
            label.push(format!("{}={}", a.path, v));
            if let Err(e) = overrides::set(&mut tree, &a.path, v.clone()) {
                diags.push(Diagnostic { file: "--vary".into(), line: None, path: a.path.clone(), value: v.to_string(), expected: e.0 });
            }
        }
        let origin = format!("{file} (sweep point {p}: {})", label.join(", "));
        match scenario::from_tree_labelled(&tree, &file, &base.source.base_dir, &origin) {
            Ok(sc) => points.push((values, sc)),
            Err(Error::Invalid(d)) => {
                // Report each distinct problem once, not once per point.
                for x in d {
                    if !diags.iter().any(|y| y.path == x.path && y.value == x.value) {
                        diags.push(x);
                    }
                }
            }
            Err(e) => return Err(e),
        }
    }
    if !diags.is_empty() {
        return Err(Error::Invalid(diags));
    }
    let resolved = to_toml_string(&base.tree);
    let plan_json = {
        let v = json!({
            "orchsim_version": env!("CARGO_PKG_VERSION"),
            "resolved_scenario_sha256": sha256_hex(resolved.as_bytes()),
            "axes": axes.iter().map(|a| json!({"path": a.path, "values": a.values.iter().map(Node::to_json).collect::<Vec<_>>()})).collect::<Vec<_>>(),
            "points": n_points,
            "replications": base.scenario.replications,
            "strategies": base.scenario.strategies.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
            "scenario_file": file,
            "scenario_toml": resolved,
            "price_map": crate::report::manifest::price_map(&base.scenario),
        });
        let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
        s.push('\n');
        s.into_bytes()
    };
    Ok(Prepared { base, axes, points, plan_json })
}

fn grid_values(axes: &[Axis], mut p: usize) -> Vec<Node> {
    let mut v = vec![Node::new(Value::Bool(false)); axes.len()];
    for (i, a) in axes.iter().enumerate().rev() {
        v[i] = a.values[p % a.values.len()].clone();
        p /= a.values.len();
    }
    v
}

/// An axis value as a CSV field: strings bare, numbers in shortest form.
fn cell(v: &Node) -> String {
    match &v.value {
        Value::Str(s) => s.clone(),
        Value::Float(f) => crate::report::fmt_f64(*f),
        _ => v.to_string(),
    }
}

fn part_name(p: usize) -> String {
    format!("point-{p:06}.csv")
}

fn header(axes: &[String]) -> Vec<String> {
    let mut h = vec!["point".to_string()];
    h.extend(axes.iter().cloned());
    h.extend(["replication", "seed", "strategy"].map(String::from));
    h.extend(METRICS.iter().map(|m| m.to_string()));
    h
}

/// Runs (this shard of) the sweep and assembles the results when every point is there.
pub fn run(plan: &SweepPlan) -> Result<PathBuf> {
    let metric = metric_of(plan.metric.as_deref())?;
    let prep = prepare(plan)?;
    let name = &prep.base.scenario.name;
    let out = folder::choose(plan.out.as_deref(), name, || PathBuf::from("output").join(format!("{name}-sweep")))?;
    let parts = out.join("parts");
    let plan_path = out.join("sweep_plan.json");
    // One writer at a time; a folder of other results is left alone unless --force.
    // The same plan's points are the same bytes, so a rerun or a resume of it only ever
    // rewrites a file with its own content: the folder is never a mix of two sweeps.
    let _lock = folder::lock(&out)?;
    let mine = folder::Holds::Sweep(prep.plan_json.clone());
    folder::claim(&out, &mine, plan.force)?;
    folder::clean_leftovers(&out)?;
    if out.exists() && folder::holds(&out) != mine {
        crate::report::remove_stale(&out, &[])?;
    }
    std::fs::create_dir_all(&parts).map_err(|e| Error::io(&parts, e))?;
    // Temporary files of a killed run are never read; tidy them away.
    for dir in [&out, &parts] {
        // Never through a link: its target is not orchsim's to tidy.
        if std::fs::symlink_metadata(dir).is_ok_and(|m| m.file_type().is_symlink()) {
            continue;
        }
        for e in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') && name.contains(".tmp-") {
                folder::remove_tree(&e.path())?;
            }
        }
    }
    write_atomic(&plan_path, &prep.plan_json)?;
    let axis_paths: Vec<String> = prep.axes.iter().map(|a| a.path.clone()).collect();
    let n = prep.points.len();
    let mine: Vec<usize> = (0..n).filter(|p| plan.shard.is_none_or(|(k, m)| *p as u64 % m == k)).collect();
    let todo: Vec<usize> =
        mine.iter().copied().filter(|&p| !(plan.resume && read_part(&parts.join(part_name(p)), &axis_paths, p).is_ok())).collect();
    let bar = crate::report::progress_bar(todo.len() as u64, plan.quiet, "points");
    let pool = pool(plan.jobs)?;
    let results: Vec<Result<()>> = pool.install(|| {
        todo.par_iter()
            .map(|&p| {
                let (values, sc) = &prep.points[p];
                let units: Vec<(u32, usize)> = (0..sc.replications).flat_map(|r| (0..sc.strategies.len()).map(move |s| (r, s))).collect();
                let results: Vec<_> = units.par_iter().map(|&(r, s)| run_unit(sc, r, s, WorldOptions::default())).collect();
                let bytes = (|| {
                    let mut w = buffer();
                    record(&mut w, &header(&axis_paths))?;
                    for u in &results {
                        let mut f = vec![p.to_string()];
                        f.extend(values.iter().map(cell));
                        f.extend(replication_fields(sc, u));
                        record(&mut w, &f)?;
                    }
                    into_bytes(w)
                })();
                let r = bytes.and_then(|b| write_atomic(&parts.join(part_name(p)), &b));
                bar.inc(1);
                r
            })
            .collect()
    });
    bar.finish_and_clear();
    results.into_iter().collect::<Result<Vec<()>>>()?;
    let present = (0..n).filter(|&p| parts.join(part_name(p)).is_file()).count();
    if present < n {
        if !plan.quiet {
            crate::sayln!(
                "shard {}: {} of {} points computed in {}; run the other shards, then `orchsim merge DIR... --out DIR`",
                plan.shard.map(|(k, m)| format!("{k}/{m}")).unwrap_or_default(),
                mine.len(),
                n,
                out.display()
            )?;
        }
        return Ok(out);
    }
    let summary = assemble(&out, &prep.plan_json, &plan.command, metric)?;
    if plan.charts {
        crate::report::plot(&out)?;
    }
    if !plan.quiet {
        crate::sayln!(
            "{}: {} points x {} replications x {} strategies",
            prep.base.scenario.name,
            n,
            prep.base.scenario.replications,
            prep.base.scenario.strategies.len()
        )?;
        crate::commands::say(&summary)?;
        crate::sayln!("wrote {}", out.display())?;
    }
    Ok(out)
}

/// Reads and checks a part file: right header, every row for point `p`.
fn read_part(path: &Path, axes: &[String], p: usize) -> Result<Vec<Vec<String>>> {
    let bad = |why: &str| Error::Other(format!("{}: {why}", path.display()));
    let mut r = ::csv::Reader::from_path(path).map_err(|e| bad(&e.to_string()))?;
    let h: Vec<String> = r.headers().map_err(|e| bad(&e.to_string()))?.iter().map(String::from).collect();
    if h != header(axes) {
        return Err(bad("unexpected header"));
    }
    let mut rows = Vec::new();
    for rec in r.records() {
        let rec = rec.map_err(|e| bad(&e.to_string()))?;
        if rec.len() != h.len() || rec.get(0) != Some(p.to_string().as_str()) {
            return Err(bad("row of another point or of the wrong length"));
        }
        rows.push(rec.iter().map(String::from).collect());
    }
    if rows.is_empty() {
        return Err(bad("no rows"));
    }
    Ok(rows)
}

/// Builds `sweep_replications.csv`, `sweep.csv`, `breakeven.csv` (on metric `metric`)
/// and `manifest.json` from the part files; returns the summary for the terminal.
pub fn assemble(out: &Path, plan_json: &[u8], command: &[String], metric: usize) -> Result<String> {
    let plan: J = serde_json::from_slice(plan_json).map_err(|e| Error::Other(format!("sweep_plan.json: {e}")))?;
    let axes: Vec<String> =
        plan["axes"].as_array().map(|a| a.iter().filter_map(|x| x["path"].as_str().map(String::from)).collect()).unwrap_or_default();
    let n = plan["points"].as_u64().unwrap_or(0) as usize;
    let parts = out.join("parts");
    let mut reps = buffer();
    record(&mut reps, &header(&axes))?;
    let mut sweep = buffer();
    let mut h = vec!["point".to_string()];
    h.extend(axes.iter().cloned());
    h.extend(["strategy", "metric", "mean", "std", "ci95_low", "ci95_high", "replications"].map(String::from));
    record(&mut sweep, &h)?;
    let first_metric = 1 + axes.len() + 3;
    let mut all_rows = Vec::new();
    for p in 0..n {
        let rows = read_part(&parts.join(part_name(p)), &axes, p)?;
        let mut by_strategy: Vec<(String, Vec<&Vec<String>>)> = Vec::new();
        for r in &rows {
            record(&mut reps, r)?;
            let s = &r[first_metric - 1];
            match by_strategy.iter_mut().find(|(n, _)| n == s) {
                Some((_, v)) => v.push(r),
                None => by_strategy.push((s.clone(), vec![r])),
            }
        }
        let key: Vec<String> = rows[0][..1 + axes.len()].to_vec();
        for (s, rs) in &by_strategy {
            for (m, name) in METRICS.iter().enumerate() {
                let vals = rs
                    .iter()
                    .map(|r| {
                        let v = &r[first_metric + m];
                        v.parse::<f64>().map_err(|_| {
                            Error::Usage(format!(
                                "{}: replication {}, column `{name}`: {v:?} is not a number",
                                parts.join(part_name(p)).display(),
                                r[first_metric - 3]
                            ))
                        })
                    })
                    .collect::<Result<Vec<f64>>>()?;
                let mut f = key.clone();
                f.push(s.clone());
                f.push(name.to_string());
                f.extend(stat_fields(&stat(&vals)));
                record(&mut sweep, &f)?;
            }
        }
        all_rows.extend(rows);
    }
    let found = crate::analysis::breakeven::Sweep::from_rows(&axes, &all_rows);
    let files = [
        ("sweep.csv", into_bytes(sweep)?),
        ("sweep_replications.csv", into_bytes(reps)?),
        ("breakeven.csv", crate::analysis::breakeven::csv(&found, metric)?),
    ];
    let mut digests = BTreeMap::new();
    for (name, bytes) in &files {
        write_atomic(&out.join(name), bytes)?;
        digests.insert(name.to_string(), J::String(sha256_hex(bytes)));
    }
    let mut m = json!({
        "orchsim_version": env!("CARGO_PKG_VERSION"),
        "command": command,
        "sweep": plan,
        "metric": METRICS[metric],
        "files": digests,
    });
    if let Some(o) = m.as_object_mut() {
        o.insert("seed".into(), seed_of(&plan));
    }
    let mut s = serde_json::to_string_pretty(&m).unwrap_or_default();
    s.push('\n');
    write_atomic(&out.join("manifest.json"), s.as_bytes())?;
    Ok(crate::analysis::breakeven::summary(&found, metric))
}

fn seed_of(plan: &J) -> J {
    plan["scenario_toml"]
        .as_str()
        .and_then(|t| t.parse::<toml::Table>().ok())
        .and_then(|t| t.get("seed").and_then(|s| s.as_integer()))
        .map(J::from)
        .unwrap_or(J::Null)
}

/// `orchsim merge`: combines the part files of shard folders into one sweep folder.
pub fn merge(dirs: &[PathBuf], out: &Path, command: &[String], charts: bool, metric: usize, force: bool) -> Result<()> {
    let mut plan: Option<Vec<u8>> = None;
    for d in dirs {
        let p = d.join("sweep_plan.json");
        let bytes = std::fs::read(&p).map_err(|e| Error::Usage(format!("{}: not a sweep folder ({e})", d.display())))?;
        match &plan {
            None => plan = Some(bytes),
            Some(b) if *b != bytes => {
                return Err(Error::Usage(format!("{}: belongs to a different sweep than {}", d.display(), dirs[0].display())));
            }
            _ => {}
        }
    }
    let Some(plan) = plan else { return Err(Error::Usage("merge: no folders given".into())) };
    if dirs.iter().any(|d| d.canonicalize().ok() == out.canonicalize().ok() && out.exists()) {
        return Err(Error::Usage(format!("merge: --out {} must not be one of the shard folders", out.display())));
    }
    let out = &folder::target(out)?;
    let _lock = folder::lock(out)?;
    let mine = folder::Holds::Sweep(plan.clone());
    folder::claim(out, &mine, force)?;
    folder::clean_leftovers(out)?;
    if out.exists() && folder::holds(out) != mine {
        crate::report::remove_stale(out, &[])?;
    }
    let v: J = serde_json::from_slice(&plan).map_err(|e| Error::Other(format!("sweep_plan.json: {e}")))?;
    let n = v["points"].as_u64().unwrap_or(0) as usize;
    let parts_out = out.join("parts");
    std::fs::create_dir_all(&parts_out).map_err(|e| Error::io(&parts_out, e))?;
    let mut missing = Vec::new();
    for p in 0..n {
        let mut found: Option<Vec<u8>> = None;
        for d in dirs {
            if let Ok(b) = std::fs::read(d.join("parts").join(part_name(p))) {
                match &found {
                    Some(f) if *f != b => {
                        return Err(Error::Mismatch(format!(
                            "point {p}: {} differs from another shard's copy",
                            d.join("parts").join(part_name(p)).display()
                        )));
                    }
                    _ => found = Some(b),
                }
            }
        }
        match found {
            Some(b) => write_atomic(&parts_out.join(part_name(p)), &b)?,
            None => missing.push(p),
        }
    }
    if !missing.is_empty() {
        let list: Vec<String> = missing.iter().take(20).map(|p| p.to_string()).collect();
        return Err(Error::Other(format!(
            "merge: {} of {n} points missing (e.g. {}); run the shards that hold them",
            missing.len(),
            list.join(", ")
        )));
    }
    write_atomic(&out.join("sweep_plan.json"), &plan)?;
    assemble(out, &plan, command, metric)?;
    if charts {
        crate::report::plot(out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nums(spec: &str) -> Vec<String> {
        parse_spec(spec).unwrap().iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn ranges_are_exact_and_include_both_ends() {
        assert_eq!(nums("0:1:11"), ["0", "0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9", "1"]);
        assert_eq!(nums("0:4000:5"), ["0", "1000", "2000", "3000", "4000"]);
        assert_eq!(nums("1,2.5,\"x\""), ["1", "2.5", "\"x\""]);
        assert!(parse_spec("1:2:0").is_err());
        assert!(parse_spec("a:2:3").is_err());
    }

    #[test]
    fn grid_is_row_major_first_axis_slowest() {
        let a = Axis { path: "a".into(), values: parse_spec("1,2").unwrap() };
        let b = Axis { path: "b".into(), values: parse_spec("10,20,30").unwrap() };
        let axes = [a, b];
        let g: Vec<String> = (0..6).map(|p| grid_values(&axes, p).iter().map(|n| n.to_string()).collect::<Vec<_>>().join("/")).collect();
        assert_eq!(g, ["1/10", "1/20", "1/30", "2/10", "2/20", "2/30"]);
    }
}
