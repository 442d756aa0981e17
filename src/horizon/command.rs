//! `orchsim horizon`: load, run the horizon, write `horizon.csv`,
//! `horizon_summary.csv`, a manifest and charts, and print the verdict.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::output::{horizon_csv, summary_csv, verdict};
use super::run::{HorizonResult, run};
use super::spec;
use crate::error::{Error, Result};
use crate::report::{self, write_atomic};
use crate::scenario::{self, Loaded};

/// What `orchsim horizon` was asked to do.
#[derive(Clone, Debug, Default)]
pub struct HorizonPlan {
    /// Scenario file (it must hold a `[horizon]` table).
    pub scenario: PathBuf,
    /// `PATH=VALUE` overrides, in order.
    pub sets: Vec<(String, String)>,
    /// Output folder; default `output/<scenario name>-horizon/`.
    pub out: Option<PathBuf>,
    /// Worker threads (0 = one per core).
    pub jobs: usize,
    /// Adoption timings to compare (`--adopt-at 1,7,13`); empty: month 1.
    pub adopt_at: Vec<u32>,
    /// Draw the charts.
    pub charts: bool,
    /// Print nothing but errors.
    pub quiet: bool,
    /// The command line, for the manifest.
    pub command: Vec<String>,
}

/// Parses `--adopt-at 1,7,13`.
pub fn parse_adopt_at(s: &str) -> Result<Vec<u32>> {
    let err = || Error::Usage(format!("--adopt-at {s:?}: expected months from 1, separated by commas, e.g. --adopt-at 1,7,13"));
    let mut v: Vec<u32> = s.split(',').map(|x| x.trim().parse::<u32>().ok().filter(|&m| m >= 1).ok_or_else(err)).collect::<Result<_>>()?;
    v.sort_unstable();
    v.dedup();
    Ok(v)
}

/// Loads a scenario and its horizon; refuses a scenario without `[horizon]`.
pub fn load(plan: &HorizonPlan) -> Result<(Loaded, super::HorizonSpec)> {
    let loaded = scenario::load(Some(&plan.scenario), &plan.sets)?;
    let spec = spec::read(&loaded.tree, &loaded.scenario, &loaded.source.file)?.ok_or_else(|| {
        Error::invalid(
            &loaded.source.file,
            "horizon",
            "",
            "a [horizon] table (months, tasks_per_month, ...): see README, Horizon economics",
        )
    })?;
    if let Some(&last) = plan.adopt_at.last()
        && last > spec.months
    {
        return Err(Error::Usage(format!("--adopt-at {last}: after the horizon's last month ({})", spec.months)));
    }
    Ok((loaded, spec))
}

/// The data files of a horizon run, in memory.
pub fn files(spec: &super::HorizonSpec, r: &HorizonResult) -> Result<Vec<(String, Vec<u8>)>> {
    let io = |e: std::io::Error| Error::Other(format!("cannot format horizon results: {e}"));
    Ok(vec![
        ("horizon.csv".to_string(), horizon_csv(spec, &r.names, &r.trajectories).map_err(io)?),
        ("horizon_summary.csv".to_string(), summary_csv(spec, &r.names, &r.trajectories).map_err(io)?),
    ])
}

/// `orchsim horizon`.
pub fn command(plan: &HorizonPlan) -> Result<()> {
    let (loaded, spec) = load(plan)?;
    let out = plan.out.clone().unwrap_or_else(|| Path::new("output").join(format!("{}-horizon", loaded.scenario.name)));
    // One writer per folder, and never over another command's results.
    let out = report::folder::target(&out)?;
    let _lock = report::folder::lock(&out)?;
    report::folder::claim(&out, &report::folder::Holds::Run(format!("horizon:{}", loaded.scenario.name)), false)?;
    let started = std::time::Instant::now();
    let r = run(&loaded, &spec, &plan.adopt_at, plan.jobs)?;
    let elapsed = started.elapsed();
    let files = files(&spec, &r)?;
    std::fs::create_dir_all(&out).map_err(|e| Error::io(&out, e))?;
    let mut digests = Vec::new();
    for (name, bytes) in &files {
        write_atomic(&out.join(name), bytes)?;
        digests.push((name.clone(), report::sha256_hex(bytes)));
    }
    let options = json!({ "adopt_at": plan.adopt_at, "kind": "horizon" });
    let manifest = report::manifest::build(&loaded, &plan.command, options, &digests, json!({ "kind": "horizon" }));
    write_atomic(&out.join("manifest.json"), &manifest)?;
    if plan.charts {
        super::charts::draw(&out, &spec, &r)?;
    }
    if !plan.quiet {
        crate::sayln!(
            "{}: {} months, {} strategies x {} timings; {} simulations for {} month cells ({:.1}s)",
            loaded.scenario.name,
            spec.months,
            r.names.len(),
            plan.adopt_at.len().max(1),
            r.simulations,
            r.cells,
            elapsed.as_secs_f64()
        )?;
        crate::commands::say(&verdict(&spec, &r.names, &r.trajectories))?;
        crate::sayln!("wrote {}", out.display())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adopt_at_parses_and_refuses() {
        assert_eq!(parse_adopt_at("13, 1,7,7").unwrap(), vec![1, 7, 13]);
        assert!(parse_adopt_at("0").is_err());
        assert!(parse_adopt_at("1,x").is_err());
        assert!(parse_adopt_at("").is_err());
    }
}
