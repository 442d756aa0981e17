//! The command line: clap's structs ("low args") turned into plans for [`crate::commands`].

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::commands::{self, RunPlan};
use crate::error::{Error, Result};
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

/// `--prices FILE` as an override of the scenario's `prices` key (an absolute path, as
/// the key's relative paths are read from the scenario's folder).
fn prices_set(prices: &Option<PathBuf>, sets: &mut Vec<(String, String)>) -> Result<()> {
    if let Some(p) = prices {
        let abs = std::path::absolute(p).map_err(|e| Error::io(p, e))?;
        sets.push(("prices".to_string(), toml::Value::String(abs.display().to_string()).to_string()));
    }
    Ok(())
}

/// Arguments of `orchsim run`.
#[derive(Debug, Default, clap::Args)]
pub struct RunArgs {
    /// Scenario file (TOML). Without it, the built-in default runs.
    pub scenario: Option<PathBuf>,
    /// Master seed (overrides `seed`), 0 to 9223372036854775807.
    #[arg(long, value_parser = clap::value_parser!(u64).range(..=i64::MAX as u64))]
    pub seed: Option<u64>,
    /// Replications (overrides `replications`).
    #[arg(long)]
    pub replications: Option<u64>,
    /// Tasks per replication (overrides `workload.tasks`).
    #[arg(long)]
    pub tasks: Option<u64>,
    /// Override any scenario field: `--set agents.researcher.error_rate=0.1`. Repeatable.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub sets: Vec<String>,
    /// Price catalog models from this LiteLLM price map instead of the built-in one.
    #[arg(long, value_name = "FILE")]
    pub prices: Option<PathBuf>,
    /// The strategy comparisons.csv compares the others with (overrides `baseline`)
    /// [default: the first strategy].
    #[arg(long, value_name = "NAME")]
    pub baseline: Option<String>,
    /// Output folder [default: output/NAME/, NAME being the scenario's name].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Worker threads [default: one per core], at most 1024. Never changes the results.
    #[arg(long, default_value_t = 0, hide_default_value = true, value_parser = jobs_in_range)]
    pub jobs: usize,
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
    /// Do not draw charts.
    #[arg(long)]
    pub no_charts: bool,
    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,
    /// Replace the output folder even if it holds other results (another scenario's
    /// run, or a sweep). Without it such a folder is left alone (exit 2).
    #[arg(long)]
    pub force: bool,
}

/// Arguments of `orchsim sweep`.
#[derive(Debug, clap::Args)]
pub struct SweepArgs {
    /// Scenario file (TOML); may hold its grid in `[sweep.vary]`.
    pub scenario: PathBuf,
    /// An axis: `--vary strategies.pipeline.handoff_tokens=0:4000:9` (start:stop:count,
    /// both ends included) or `--vary agents.verifier.review.recall=0.5,0.7,0.9`. Repeatable;
    /// several axes form a grid. Given here, axes replace the file's `[sweep.vary]`.
    #[arg(long = "vary", value_name = "PATH=SPEC")]
    pub varies: Vec<String>,
    /// Override any scenario field for every point. Repeatable.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub sets: Vec<String>,
    /// Price catalog models from this LiteLLM price map instead of the built-in one.
    #[arg(long, value_name = "FILE")]
    pub prices: Option<PathBuf>,
    /// Replications per point (overrides `replications`).
    #[arg(long)]
    pub replications: Option<u64>,
    /// Tasks per replication (overrides `workload.tasks`).
    #[arg(long)]
    pub tasks: Option<u64>,
    /// Master seed (overrides `seed`), 0 to 9223372036854775807.
    #[arg(long, value_parser = clap::value_parser!(u64).range(..=i64::MAX as u64))]
    pub seed: Option<u64>,
    /// Output folder [default: output/NAME-sweep/, NAME being the scenario's name].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Worker threads [default: one per core], at most 1024. Never changes the results.
    #[arg(long, default_value_t = 0, hide_default_value = true, value_parser = jobs_in_range)]
    pub jobs: usize,
    /// What the summary, breakeven.csv and the charts follow [default: cost_per_success_usd].
    #[arg(long, value_name = "METRIC")]
    pub metric: Option<String>,
    /// Run only part K of N (K from 0, as Slurm array and Kubernetes completion indices).
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    /// Keep the points already computed in the output folder; compute the rest.
    #[arg(long)]
    pub resume: bool,
    /// Do not draw charts.
    #[arg(long)]
    pub no_charts: bool,
    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,
    /// Replace the output folder even if it holds other results (another scenario's
    /// run, or a sweep). Without it such a folder is left alone (exit 2).
    #[arg(long)]
    pub force: bool,
}

/// Arguments of `orchsim horizon`.
#[derive(Debug, clap::Args)]
pub struct HorizonArgs {
    /// Scenario file (TOML) with a `[horizon]` table
    pub scenario: PathBuf,
    /// Master seed (overrides `seed`)
    #[arg(long)]
    pub seed: Option<u64>,
    /// Replications (overrides `replications`)
    #[arg(long)]
    pub replications: Option<u64>,
    /// Tasks per replication of each month's simulation (overrides `workload.tasks`)
    #[arg(long)]
    pub tasks: Option<u64>,
    /// Override any scenario field. Repeatable
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub sets: Vec<String>,
    /// Compare adoption timings: months adoption starts, e.g. `--adopt-at 1,7,13`
    #[arg(long, value_name = "MONTHS")]
    pub adopt_at: Option<String>,
    /// Price catalog models from this LiteLLM price map instead of the built-in one
    #[arg(long, value_name = "FILE")]
    pub prices: Option<PathBuf>,
    /// Output folder [default: output/NAME-horizon/]
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Worker threads [default: one per core]. Never changes the results
    #[arg(long, default_value_t = 0, hide_default_value = true)]
    pub jobs: usize,
    /// Do not draw charts
    #[arg(long)]
    pub no_charts: bool,
    /// Print nothing but errors
    #[arg(long)]
    pub quiet: bool,
}

impl HorizonArgs {
    /// The plan of `orchsim horizon`.
    pub fn plan(&self, command: Vec<String>) -> Result<crate::horizon::command::HorizonPlan> {
        let mut sets = common_sets(self.seed, self.replications, self.tasks, &self.sets)?;
        prices_set(&self.prices, &mut sets)?;
        Ok(crate::horizon::command::HorizonPlan {
            scenario: self.scenario.clone(),
            sets,
            out: self.out.clone(),
            jobs: self.jobs,
            adopt_at: self.adopt_at.as_deref().map(crate::horizon::command::parse_adopt_at).transpose()?.unwrap_or_default(),
            charts: !self.no_charts,
            quiet: self.quiet,
            command,
        })
    }
}

fn common_sets(seed: Option<u64>, replications: Option<u64>, tasks: Option<u64>, raw: &[String]) -> Result<Vec<(String, String)>> {
    let mut sets = Vec::new();
    if let Some(s) = seed {
        sets.push(("seed".to_string(), s.to_string()));
    }
    if let Some(r) = replications {
        sets.push(("replications".to_string(), r.to_string()));
    }
    if let Some(t) = tasks {
        sets.push(("workload.tasks".to_string(), t.to_string()));
    }
    for s in raw {
        sets.push(parse_assignment(s, "--set")?);
    }
    Ok(sets)
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
        let mut sets = common_sets(self.seed, self.replications, self.tasks, &self.sets)?;
        prices_set(&self.prices, &mut sets)?;
        Ok(SweepPlan {
            scenario: self.scenario.clone(),
            sets,
            varies: self.varies.iter().map(|v| parse_assignment(v, "--vary")).collect::<Result<_>>()?,
            out: self.out.clone(),
            jobs: self.jobs,
            shard: self.shard.as_deref().map(parse_shard).transpose()?,
            resume: self.resume,
            force: self.force,
            charts: !self.no_charts,
            quiet: self.quiet,
            command,
            metric: self.metric.clone(),
        })
    }
}

/// Arguments of `orchsim sensitivity`.
#[derive(Debug, clap::Args)]
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
    /// Override any scenario field. Repeatable.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub sets: Vec<String>,
    /// Replications (overrides `replications`).
    #[arg(long)]
    pub replications: Option<u64>,
    /// Tasks per replication (overrides `workload.tasks`).
    #[arg(long)]
    pub tasks: Option<u64>,
    /// Master seed (overrides `seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Price catalog models from this LiteLLM price map instead of the built-in one.
    #[arg(long, value_name = "FILE")]
    pub prices: Option<PathBuf>,
    /// Output folder [default: output/NAME-sensitivity/].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Worker threads [default: one per core]. Never changes the results.
    #[arg(long, default_value_t = 0, hide_default_value = true)]
    pub jobs: usize,
    /// Do not draw the tornado chart.
    #[arg(long)]
    pub no_charts: bool,
    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,
}

impl SensitivityArgs {
    /// Turns arguments into a plan.
    pub fn plan(&self) -> Result<crate::analysis::sensitivity::SensitivityPlan> {
        let mut sets = common_sets(self.seed, self.replications, self.tasks, &self.sets)?;
        prices_set(&self.prices, &mut sets)?;
        Ok(crate::analysis::sensitivity::SensitivityPlan {
            scenario: self.scenario.clone(),
            sets,
            ranges: self.ranges.iter().map(|r| parse_assignment(r, "--range")).collect::<Result<_>>()?,
            metric: self.metric.clone(),
            compare: self.compare.clone(),
            out: self.out.clone(),
            jobs: self.jobs,
            quiet: self.quiet,
            charts: !self.no_charts,
        })
    }
}

impl RunArgs {
    /// Turns arguments into a plan.
    pub fn plan(&self, command: Vec<String>) -> Result<RunPlan> {
        let mut sets = common_sets(self.seed, self.replications, self.tasks, &self.sets)?;
        prices_set(&self.prices, &mut sets)?;
        if let Some(b) = &self.baseline {
            sets.push(("baseline".to_string(), toml::Value::String(b.clone()).to_string()));
        }
        Ok(RunPlan {
            scenario: self.scenario.clone(),
            sets,
            out: self.out.clone(),
            jobs: self.jobs,
            audit: self.audit,
            task_log: self.task_log,
            otel: self.otel.clone(),
            charts: !self.no_charts,
            quiet: self.quiet,
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
            let (text, _) = crate::audit::audit(&dir)?;
            commands::say(&text)
        }
        Command::Sensitivity(a) => crate::analysis::sensitivity::run(&a.plan()?).map(|_| ()),
        Command::Validate { scenarios } => commands::validate(&scenarios, false),
        Command::Plot { dir } => {
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

/// Maps a clap error to ours (exit 2), leaving help and version output alone.
pub fn usage_error(e: clap::Error) -> Error {
    Error::Usage(e.to_string().trim_end().to_string())
}
