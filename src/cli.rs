//! The command line: clap's structs ("low args") turned into plans for [`crate::commands`].

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::commands::{self, RunPlan};
use crate::error::{Error, Result};
use crate::scenario::parse_assignment;

/// orchsim: when does a team of AI agents beat one agent, or people, on cost per
/// correct result? A deterministic discrete-event simulator of agent orchestration.
#[derive(Debug, Parser)]
#[command(name = "orchsim", version, about, long_about = None)]
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
    /// Check scenario files without running them; reports every problem.
    Validate {
        /// Scenario files.
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
    },
    /// List the built-in model catalog with prices, dates and sources.
    Models,
    /// Draw (or redraw) the charts of a run or sweep folder from its CSV files.
    Plot {
        /// The folder.
        dir: PathBuf,
    },
}

/// Arguments of `orchsim run`.
#[derive(Debug, Default, clap::Args)]
pub struct RunArgs {
    /// Scenario file (TOML). Without it, the built-in default runs.
    pub scenario: Option<PathBuf>,
    /// Master seed (overrides `seed`).
    #[arg(long)]
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
    /// Output folder [default: output/<scenario name>/].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Worker threads [default: one per core]. Never changes the results.
    #[arg(long, default_value_t = 0)]
    pub jobs: usize,
    /// Also write the event trail `events.jsonl`.
    #[arg(long)]
    pub audit: bool,
    /// Also write one row per task to `tasks.csv`.
    #[arg(long)]
    pub task_log: bool,
    /// Do not draw charts.
    #[arg(long)]
    pub no_charts: bool,
    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,
}

impl RunArgs {
    /// Turns arguments into a plan.
    pub fn plan(&self, command: Vec<String>) -> Result<RunPlan> {
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
        Ok(RunPlan {
            scenario: self.scenario.clone(),
            sets,
            out: self.out.clone(),
            jobs: self.jobs,
            audit: self.audit,
            task_log: self.task_log,
            charts: !self.no_charts,
            quiet: self.quiet,
            command,
        })
    }
}

/// Runs the parsed command line.
pub fn dispatch(cli: Cli, argv: Vec<String>) -> Result<()> {
    match cli.command.unwrap_or(Command::Run(RunArgs::default())) {
        Command::Run(a) => commands::run(&a.plan(argv)?),
        Command::Validate { scenarios } => commands::validate(&scenarios, false),
        Command::Plot { dir } => {
            let files = commands::plot(&dir)?;
            println!("wrote {} chart files to {}", files.len(), dir.join("charts").display());
            Ok(())
        }
        Command::Models => {
            print!("{}", commands::models());
            Ok(())
        }
    }
}

/// Maps a clap error to ours (exit 2), leaving help and version output alone.
pub fn usage_error(e: clap::Error) -> Error {
    Error::Usage(e.to_string().trim_end().to_string())
}
