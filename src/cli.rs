//! The command line: clap's structs ("low args") turned into plans for [`crate::commands`].

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

use crate::commands::{self, RunPlan};
use crate::error::{Error, Result};
use crate::report::folder;
use crate::scenario::parse_assignment;
use crate::sweep::SweepPlan;

/// orchsim: when does a team of AI agents beat one agent, or people, on cost per
/// correct result? A deterministic discrete-event simulator of agent orchestration.
#[derive(Debug, Parser)]
#[command(name = "orchsim", version, about, long_about = None, after_help = "With no command, orchsim runs the built-in default scenario, like `orchsim run`.")]
pub struct Cli {
    /// What to do (default: `run` the built-in scenario).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario (default: the built-in research-report scenario) and write CSV,
    /// a manifest and charts.
    Run(RunArgs),
    /// Sweep scenario parameters over a grid, in parallel; resumable and shardable.
    Sweep(SweepArgs),
    /// Merge the folders of a sharded sweep into one.
    Merge {
        /// Shard output folders.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// The merged folder.
        #[arg(long)]
        out: PathBuf,
        /// Do not draw charts.
        #[arg(long)]
        no_charts: bool,
        /// What `breakeven.csv` follows, as in `sweep --metric`.
        #[arg(long)]
        metric: Option<String>,
        /// Replace a folder holding other results.
        #[arg(long)]
        force: bool,
    },
    /// One input at a time at each end of its range: which inputs move the metric, and
    /// which flip the winner; writes sensitivity.csv.
    Sensitivity(SensitivityArgs),
    /// Re-run a run folder from its manifest and check that every data file and the
    /// event trail come out identical (exit 1 and the first difference otherwise).
    Replay {
        /// The run folder.
        dir: PathBuf,
        /// Only check the manifest's digests and the trail's hash chain; do not re-run.
        #[arg(long)]
        verify_only: bool,
    },
    /// Cost by business unit, agent and step, and the root causes of wrong and failed
    /// tasks (systematic or stochastic, with evidence); writes DIR/audit.csv.
    Audit {
        /// The run folder (richest with `run --audit --task-log`).
        dir: PathBuf,
    },
    /// Check scenario files without running them; reports every problem.
    Validate {
        /// Scenario files.
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
    },
    /// Derive scenario parameters from published figures (`pass-at-k`: error_correlation).
    Calibrate {
        /// Where the figures come from.
        #[command(subcommand)]
        source: crate::calibrate::Source,
    },
    /// List the model catalog (LiteLLM's price map) with prices, tiers and latency sources.
    Models(ModelsArgs),
    /// Months of build cost, upkeep, price trends, learning and switching: NPV, payback and adoption timing from a scenario's `[horizon]` table
    Horizon(HorizonArgs),
    /// Draw (or redraw) the charts of a run or sweep folder from its CSV files.
    // Under the folder's lock, as run and sweep write (see `dispatch`).
    Plot {
        /// The folder.
        dir: PathBuf,
    },
    /// Read recorded agent traces (OTLP JSON, OpenTelemetry Python SDK spans, Langfuse
    /// exports): summarise their LLM calls or reprice them.
    #[command(subcommand)]
    Traces(TracesCommand),
}

/// The `traces` subcommands.
#[derive(Debug, Subcommand)]
pub enum TracesCommand {
    /// Write OUT/calls.csv (one row per LLM call) and print totals by agent and model.
    Summary {
        /// Trace files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Output folder.
        #[arg(long, default_value = "output/traces")]
        out: PathBuf,
    },
    /// Price every call again, at its recorded model or at --model; write OUT/reprice.csv.
    Reprice {
        /// Trace files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Price every call at this model instead of the recorded one.
        #[arg(long)]
        model: Option<String>,
        /// standard, batch, flex or priority.
        #[arg(long, default_value = "standard")]
        service_tier: String,
        /// A LiteLLM price map (model_prices_and_context_window.json) [default: the built-in one].
        #[arg(long)]
        prices: Option<PathBuf>,
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
    },
}

/// Arguments of `orchsim models`.
#[derive(Debug, Default, clap::Args)]
pub struct ModelsArgs {
    /// Only this provider (LiteLLM's `litellm_provider`, e.g. openai, anthropic, gemini).
    #[arg(long)]
    pub provider: Option<String>,
    /// Only models whose name contains TEXT.
    #[arg(long, value_name = "TEXT")]
    pub search: Option<String>,
    /// CSV instead of a table.
    #[arg(long)]
    pub csv: bool,
    /// Use this LiteLLM price map (model_prices_and_context_window.json) instead of the built-in one.
    #[arg(long, value_name = "FILE")]
    pub prices: Option<PathBuf>,
}

/// The flags of every command that simulates a scenario (`run`, `sweep`, `sensitivity`,
/// `horizon`): what is simulated. Declared once so that every command parses and checks
/// them alike (the seed's range above all).
#[derive(Debug, Default, clap::Args)]
pub struct ScenarioFlags {
    /// Master seed (overrides `seed`), 0 to 9223372036854775807.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(..=i64::MAX as u64))]
    pub seed: Option<u64>,
    /// Replications (overrides `replications`).
    #[arg(long, value_name = "N")]
    pub replications: Option<u64>,
    /// Tasks per replication (overrides `workload.tasks`).
    #[arg(long, value_name = "N")]
    pub tasks: Option<u64>,
    /// Override any scenario field: `--set agents.researcher.error_rate=0.1`. Repeatable.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub sets: Vec<String>,
    /// Price catalog models from this LiteLLM price map instead of the built-in one.
    #[arg(long, value_name = "FILE")]
    pub prices: Option<PathBuf>,
}

impl ScenarioFlags {
    /// The flags as scenario overrides, in the order a later one wins: seed,
    /// replications, tasks, the `--set`s, then `--prices`.
    fn sets(&self) -> Result<Vec<(String, String)>> {
        let mut sets = Vec::new();
        if let Some(s) = self.seed {
            sets.push(("seed".to_string(), s.to_string()));
        }
        if let Some(r) = self.replications {
            sets.push(("replications".to_string(), r.to_string()));
        }
        if let Some(t) = self.tasks {
            sets.push(("workload.tasks".to_string(), t.to_string()));
        }
        for s in &self.sets {
            sets.push(parse_assignment(s, "--set")?);
        }
        // `--prices FILE` overrides the scenario's `prices` key, as an absolute path (the
        // key's relative paths are read from the scenario's folder).
        if let Some(p) = &self.prices {
            let abs = std::path::absolute(p).map_err(|e| Error::io(p, e))?;
            sets.push(("prices".to_string(), toml::Value::String(abs.display().to_string()).to_string()));
        }
        Ok(sets)
    }
}

/// The flags of every command that simulates a scenario: where the results go and how
/// they are computed and shown. `--out`'s default depends on the command, so each one
/// words its help with `mut_arg("out", ..)`.
#[derive(Debug, Default, clap::Args)]
pub struct OutputFlags {
    /// Output folder.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Worker threads [default: one per core], at most 1024. Never changes the results.
    #[arg(long, value_name = "N", default_value_t = 0, hide_default_value = true, value_parser = jobs_in_range)]
    pub jobs: usize,
    /// Do not draw charts.
    #[arg(long)]
    pub no_charts: bool,
    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,
}

/// `--force`, for the commands that may replace a folder holding other results.
const FORCE_HELP: &str = "Replace the output folder even if it holds other results (another scenario's run, or a sweep). \
                          Without it such a folder is left alone (exit 2)";

/// Arguments of `orchsim run`.
#[derive(Debug, Default, clap::Args)]
#[command(mut_arg("out", |a| a.help("Output folder [default: output/NAME/, NAME being the scenario's name]")))]
pub struct RunArgs {
    /// Scenario file (TOML). Without it, the built-in default runs.
    pub scenario: Option<PathBuf>,
    /// Seed, replications, tasks, overrides and prices.
    #[command(flatten)]
    pub scenario_flags: ScenarioFlags,
    /// The strategy comparisons.csv compares the others with (overrides `baseline`)
    /// [default: the first strategy].
    #[arg(long, value_name = "NAME")]
    pub baseline: Option<String>,
    /// Output folder, threads, charts and verbosity.
    #[command(flatten)]
    pub output: OutputFlags,
    /// Replace the output folder even if it holds other results (the help text is `FORCE_HELP`).
    #[arg(long, help = FORCE_HELP)]
    pub force: bool,
    /// Also write the event trail `events.jsonl`.
    #[arg(long)]
    pub audit: bool,
    /// Also write one row per task to `tasks.csv`.
    #[arg(long)]
    pub task_log: bool,
    /// Also write the simulated LLM calls to FILE as OpenTelemetry GenAI spans (OTLP
    /// JSON, one line per replication and strategy).
    #[arg(long, value_name = "FILE")]
    pub otel: Option<PathBuf>,
}

/// Arguments of `orchsim sweep`.
#[derive(Debug, clap::Args)]
#[command(
    mut_arg("out", |a| a.help("Output folder [default: output/NAME-sweep/, NAME being the scenario's name]")),
    mut_arg("replications", |a| a.help("Replications per point (overrides `replications`)")),
    mut_arg("sets", |a| a.help("Override any scenario field for every point. Repeatable")),
)]
pub struct SweepArgs {
    /// Scenario file (TOML); may hold its grid in `[sweep.vary]`.
    pub scenario: PathBuf,
    /// An axis: `--vary strategies.pipeline.handoff_tokens=0:4000:9` (start:stop:count,
    /// both ends included) or `--vary agents.verifier.review.recall=0.5,0.7,0.9`. Repeatable;
    /// several axes form a grid. Given here, axes replace the file's `[sweep.vary]`.
    #[arg(long = "vary", value_name = "PATH=SPEC")]
    pub varies: Vec<String>,
    /// Seed, replications, tasks, overrides and prices.
    #[command(flatten)]
    pub scenario_flags: ScenarioFlags,
    /// What the summary, breakeven.csv and the charts follow [default: cost_per_success_usd].
    #[arg(long, value_name = "METRIC")]
    pub metric: Option<String>,
    /// Output folder, threads, charts and verbosity.
    #[command(flatten)]
    pub output: OutputFlags,
    /// Replace the output folder even if it holds other results (the help text is `FORCE_HELP`).
    #[arg(long, help = FORCE_HELP)]
    pub force: bool,
    /// Run only part K of N (K from 0, as Slurm array and Kubernetes completion indices).
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    /// Keep the points already computed in the output folder; compute the rest.
    #[arg(long)]
    pub resume: bool,
}

/// Arguments of `orchsim horizon`.
#[derive(Debug, clap::Args)]
#[command(
    mut_arg("out", |a| a.help("Output folder [default: output/NAME-horizon/, NAME being the scenario's name]")),
    mut_arg("tasks", |a| a.help("Tasks per replication of each month's simulation (overrides `workload.tasks`)")),
)]
pub struct HorizonArgs {
    /// Scenario file (TOML) with a `[horizon]` table.
    pub scenario: PathBuf,
    /// Compare adoption timings: months adoption starts, e.g. `--adopt-at 1,7,13`.
    #[arg(long, value_name = "MONTHS")]
    pub adopt_at: Option<String>,
    /// Seed, replications, tasks, overrides and prices.
    #[command(flatten)]
    pub scenario_flags: ScenarioFlags,
    /// Output folder, threads, charts and verbosity.
    #[command(flatten)]
    pub output: OutputFlags,
}

impl HorizonArgs {
    /// The plan of `orchsim horizon`.
    pub fn plan(&self, command: Vec<String>) -> Result<crate::horizon::command::HorizonPlan> {
        Ok(crate::horizon::command::HorizonPlan {
            scenario: self.scenario.clone(),
            sets: self.scenario_flags.sets()?,
            out: self.output.out.clone(),
            jobs: self.output.jobs,
            adopt_at: self.adopt_at.as_deref().map(crate::horizon::command::parse_adopt_at).transpose()?.unwrap_or_default(),
            charts: !self.output.no_charts,
            quiet: self.output.quiet,
            command,
        })
    }
}

use crate::experiment::MAX_JOBS;

fn jobs_in_range(s: &str) -> std::result::Result<usize, String> {
    let n: usize = s.parse().map_err(|_| format!("`{s}` is not a whole number"))?;
    if n > MAX_JOBS {
        return Err(format!("at most {MAX_JOBS} (0 = one per core)"));
    }
    Ok(n)
}

/// Parses `K/N` with `0 <= K < N`.
pub fn parse_shard(s: &str) -> Result<(u64, u64)> {
    let err = || Error::Usage(format!("--shard {s:?}: expected K/N with 0 <= K < N, e.g. --shard 0/4"));
    let (k, n) = s.split_once('/').ok_or_else(err)?;
    let (k, n): (u64, u64) = (k.trim().parse().map_err(|_| err())?, n.trim().parse().map_err(|_| err())?);
    if n == 0 || k >= n {
        return Err(err());
    }
    Ok((k, n))
}

impl SweepArgs {
    /// Turns arguments into a plan.
    pub fn plan(&self, command: Vec<String>) -> Result<SweepPlan> {
        Ok(SweepPlan {
            scenario: self.scenario.clone(),
            sets: self.scenario_flags.sets()?,
            varies: self.varies.iter().map(|v| parse_assignment(v, "--vary")).collect::<Result<_>>()?,
            out: self.output.out.clone(),
            jobs: self.output.jobs,
            shard: self.shard.as_deref().map(parse_shard).transpose()?,
            resume: self.resume,
            force: self.force,
            charts: !self.output.no_charts,
            quiet: self.output.quiet,
            command,
            metric: self.metric.clone(),
        })
    }
}

/// Arguments of `orchsim sensitivity`.
#[derive(Debug, clap::Args)]
#[command(
    mut_arg("out", |a| a.help("Output folder [default: output/NAME-sensitivity/, NAME being the scenario's name]")),
    mut_arg("no_charts", |a| a.help("Do not draw the tornado chart")),
)]
pub struct SensitivityArgs {
    /// Scenario file (TOML); its `[assumptions]` table gives the ranges unless `--range` is given.
    pub scenario: PathBuf,
    /// An input and its range: `--range agents.researcher.error_rate=0.02:0.10`. Repeatable.
    #[arg(long = "range", value_name = "PATH=LOW:HIGH")]
    pub ranges: Vec<String>,
    /// The metric followed [default: cost_per_success_usd].
    #[arg(long)]
    pub metric: Option<String>,
    /// Follow the paired difference A − B of two strategies.
    #[arg(long, value_name = "A,B")]
    pub compare: Option<String>,
    /// Seed, replications, tasks, overrides and prices.
    #[command(flatten)]
    pub scenario_flags: ScenarioFlags,
    /// Output folder, threads, charts and verbosity.
    #[command(flatten)]
    pub output: OutputFlags,
}

impl SensitivityArgs {
    /// Turns arguments into a plan.
    pub fn plan(&self) -> Result<crate::analysis::sensitivity::SensitivityPlan> {
        Ok(crate::analysis::sensitivity::SensitivityPlan {
            scenario: self.scenario.clone(),
            sets: self.scenario_flags.sets()?,
            ranges: self.ranges.iter().map(|r| parse_assignment(r, "--range")).collect::<Result<_>>()?,
            metric: self.metric.clone(),
            compare: self.compare.clone(),
            out: self.output.out.clone(),
            jobs: self.output.jobs,
            quiet: self.output.quiet,
            charts: !self.output.no_charts,
        })
    }
}

impl RunArgs {
    /// Turns arguments into a plan.
    pub fn plan(&self, command: Vec<String>) -> Result<RunPlan> {
        let mut sets = self.scenario_flags.sets()?;
        if let Some(b) = &self.baseline {
            sets.push(("baseline".to_string(), toml::Value::String(b.clone()).to_string()));
        }
        Ok(RunPlan {
            scenario: self.scenario.clone(),
            sets,
            out: self.output.out.clone(),
            jobs: self.output.jobs,
            audit: self.audit,
            task_log: self.task_log,
            otel: self.otel.clone(),
            charts: !self.output.no_charts,
            quiet: self.output.quiet,
            force: self.force,
            command,
        })
    }
}

/// Runs the parsed command line.
pub fn dispatch(cli: Cli, argv: Vec<String>) -> Result<()> {
    match cli.command.unwrap_or(Command::Run(RunArgs::default())) {
        Command::Run(a) => commands::run(&a.plan(argv)?),
        Command::Sweep(a) => crate::sweep::run(&a.plan(argv)?).map(|_| ()),
        Command::Merge { dirs, out, no_charts, metric, force } => {
            crate::sweep::merge(&dirs, &out, &argv, !no_charts, crate::sweep::metric_of(metric.as_deref())?, force)?;
            crate::sayln!("merged {} folders into {}", dirs.len(), out.display())
        }
        Command::Replay { dir, verify_only } => {
            let msg = if verify_only { crate::audit::verify_only(&dir)? } else { crate::audit::replay(&dir)? };
            crate::sayln!("{msg}")
        }
        Command::Audit { dir } => {
            // audit writes DIR/audit.csv: under the folder's lock, that file cannot land in
            // a run swapped in meanwhile. Where no lock can be taken (the parent folder is
            // read-only, so no orchsim process can write there either), it reads without
            // one, which is safe: everything analysed is read once and checked against the
            // one manifest read first (the trail is hashed again when read again), and a
            // run replaces a folder in one atomic exchange. A concurrent replacement thus
            // fails the check (exit 1, naming the file) and never mixes two runs.
            let _lock = match lock_existing(&dir) {
                Err(Error::Io { .. }) => None,
                lock => lock?,
            };
            let (text, _) = crate::audit::audit(&dir)?;
            commands::say(&text)
        }
        Command::Sensitivity(a) => crate::analysis::sensitivity::run(&a.plan()?).map(|_| ()),
        Command::Validate { scenarios } => commands::validate(&scenarios, false),
        Command::Plot { dir } => {
            // plot writes DIR/charts: one writer at a time, as for run and sweep (a folder
            // in use by another orchsim process is refused with exit 1).
            let _lock = lock_existing(&dir)?;
            let files = commands::plot(&dir)?;
            crate::sayln!("wrote {} chart files to {}", files.len(), dir.join("charts").display())
        }
        Command::Calibrate { source } => commands::say(&crate::calibrate::run(&source)?),
        Command::Models(a) => commands::say(&commands::models(&a)?),
        Command::Horizon(a) => crate::horizon::command::command(&a.plan(argv)?),
        Command::Traces(TracesCommand::Summary { files, out }) => crate::traces::summary(&files, &out),
        Command::Traces(TracesCommand::Reprice { files, model, service_tier, prices, out }) => {
            let opts = crate::traces::RepriceOptions { model, tier: crate::traces::prices::parse_tier(&service_tier)? };
            crate::traces::reprice_command(&files, &opts, prices.as_deref(), &out)
        }
    }
}

/// The lock of an existing output folder that a command writes into ([`folder::lock`],
/// the lock run and sweep take), or `None` when `dir` is not an existing folder (the
/// command then reports that itself). The path is resolved first, so `.` and symbolic
/// links lock the folder they name.
fn lock_existing(dir: &Path) -> Result<Option<folder::Lock>> {
    match dir.canonicalize() {
        Ok(d) if d.is_dir() && d.file_name().is_some() => folder::lock(&d).map(Some),
        _ => Ok(None),
    }
}

/// Maps a clap error to ours (exit 2), leaving help and version output alone.
pub fn usage_error(e: clap::Error) -> Error {
    Error::Usage(e.to_string().trim_end().to_string())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        // clap's own checks of every command: unique flags, valid defaults, and the
        // `mut_arg`s naming flags that exist.
        super::Cli::command().debug_assert();
    }
}
