//! The typed scenario: models (priced LLM endpoints), agents, the workload and strategies.
//!
//! These structs are produced by [`crate::scenario`] from a validated tree; every value
//! here has passed its range checks, so the simulator never re-checks them.

pub mod catalog;
pub mod dist;
pub mod latency;
pub(crate) mod limits;
pub mod pricing;
pub mod quality;

pub use dist::Dist;
pub use pricing::{Pricing, ServiceTier};

use crate::economics::billing::{CacheMode, CacheRule};
use crate::economics::money::{PricePerMtok, Usd};

/// A whole, validated scenario.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// Short name; also the default output folder.
    pub name: String,
    /// What the scenario represents.
    pub description: String,
    /// Master seed.
    pub seed: u64,
    /// How many independent replications to run.
    pub replications: u32,
    /// The models that agents use (scenario-defined, or taken from the catalog).
    pub models: Vec<Model>,
    /// The agents (roles bound to models).
    pub agents: Vec<Agent>,
    /// The task stream.
    pub workload: Workload,
    /// The orchestration designs compared on the workload.
    pub strategies: Vec<Strategy>,
    /// Business units, in first-appearance order among the task classes.
    pub business_units: Vec<String>,
    /// Input files the scenario read (trace arrivals): `(path, sha256)`, recorded in
    /// manifests so that a replay can tell when an input changed.
    pub inputs: Vec<(String, String)>,
    /// The price map the catalog models came from.
    pub prices: PriceSource,
}

/// Which price map a scenario used: recorded in manifests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PriceSource {
    /// The built-in version, or the file read.
    pub label: String,
    /// SHA-256 of the map's bytes.
    pub sha256: String,
}

/// A priced, rate-limited LLM endpoint.
#[derive(Clone, Debug)]
pub struct Model {
    /// Name (the price map's key, or the scenario's own).
    pub name: String,
    /// The price map's `litellm_provider` (empty for a scenario's own model).
    pub provider: String,
    /// Price of uncached input tokens (standard tier, base band: `pricing.base().input`).
    pub input_price: PricePerMtok,
    /// Price of output tokens (`pricing.base().output`).
    pub output_price: PricePerMtok,
    /// Price of cached input tokens (`pricing.base().cache_read`).
    pub cached_input_price: Option<PricePerMtok>,
    /// Fee per request (attempt that is billed): `pricing.per_request`.
    pub usd_per_request: Usd,
    /// Every price, per service tier and context band: what
    /// [`crate::economics::billing::bill`] charges. The four fields above are its
    /// standard-tier base, for display; runs bill from `pricing` alone.
    pub pricing: Pricing,
    /// Prompt-cache minimum and lifetime.
    pub cache: CacheRule,
    /// Time to first token, seconds.
    pub ttft_s: Dist,
    /// Output speed, tokens per second.
    pub output_tokens_per_s: Dist,
    /// Delay from submission to result of a batch-tier call, seconds.
    pub batch_delay_s: Dist,
    /// Requests in flight at once; further requests wait FIFO. `u32::MAX` = unlimited.
    pub max_concurrency: u32,
    /// Token-bucket limit on requests per minute.
    pub requests_per_min: Option<f64>,
    /// Token-bucket limit on tokens (input + output) per minute.
    pub tokens_per_min: Option<f64>,
    /// Probability that an attempt ends in a transient API error after its TTFT.
    pub error_rate: f64,
    /// An attempt still running after this long is cut off (billed for what ran).
    pub timeout_s: Option<f64>,
}

/// Which systematic fault an agent has.
#[derive(Clone, Debug, Default)]
pub struct Systematic {
    /// Task classes (indices into `workload.classes`) on which the agent is always wrong.
    pub classes: Vec<usize>,
    /// Share of all tasks, chosen per task, on which the agent is always wrong.
    pub share: f64,
}

/// Tool use during an agent's call.
#[derive(Clone, Debug)]
pub struct ToolCalls {
    /// Number of tool calls per attempt.
    pub count: Dist,
    /// Latency of each tool call, seconds.
    pub latency_s: Dist,
    /// Fee per tool call.
    pub usd_per_call: Usd,
    /// Tokens each tool result adds to the input.
    pub tokens_per_call: Dist,
    /// Whether the calls are the provider's web search, billed per query at the price
    /// map's `search_context_cost_per_query` (in addition to `usd_per_call`).
    pub web_search: bool,
}

/// How many turns an agent loop wants on a call.
#[derive(Clone, Debug)]
pub enum Turns {
    /// A distribution, rounded to the nearest whole turn, at least one.
    Dist(Dist),
    /// After each turn the agent stops with this probability: geometric on 1, 2, ...
    /// with mean `1 / p`.
    StopProbability(f64),
}

/// An agent that runs as a loop: each turn is one model call whose prompt is the
/// previous turn's prompt, plus its output, plus a tool result; the prefix the
/// previous turn sent is read from the prompt cache while it lives. A loop of one
/// turn is a plain call.
#[derive(Clone, Debug)]
pub struct AgentLoop {
    /// Turns the agent wants on a call (drawn once per call).
    pub turns: Turns,
    /// A call that wants more turns stops after this many and fails its task.
    pub max_turns: u32,
    /// A call whose turns have cost this much stops before its next turn and fails its
    /// task (`None`: no budget).
    pub max_cost_usd: Option<Usd>,
    /// Tokens of the tool result that each turn after the first adds to the prompt.
    pub tool_result_tokens: Dist,
    /// Seconds between a turn's end and the next turn's request (the tool running).
    pub tool_time_s: Dist,
}

/// A reviewer's detection characteristics.
#[derive(Clone, Copy, Debug)]
pub struct Review {
    /// Probability of flagging a task that carries a defect.
    pub recall: f64,
    /// Probability of flagging a task that carries none.
    pub false_positive_rate: f64,
}

/// A role bound to a model.
#[derive(Clone, Debug)]
pub struct Agent {
    /// Name.
    pub name: String,
    /// Index into `Scenario::models`.
    pub model: usize,
    /// Cacheable prefix tokens sent with every call.
    pub system_prompt_tokens: u64,
    /// Task-specific input tokens per call.
    pub input_tokens: Dist,
    /// Output tokens per call.
    pub output_tokens: Dist,
    /// Probability that an attempt's output is wrong (before `difficulty`).
    pub error_rate: f64,
    /// This agent's `error_correlation`, overriding its task class's: how much its
    /// errors (or, for a reviewer, its misses) depend on the task's latent difficulty.
    pub error_correlation: Option<f64>,
    /// Tool use, if any.
    pub tool_calls: Option<ToolCalls>,
    /// Systematic fault, if any.
    pub systematic: Option<Systematic>,
    /// Reviewer behaviour, if this agent reviews.
    pub review: Option<Review>,
    /// Whether its system prompt goes through the provider's prompt cache.
    pub prompt_cache: CacheMode,
    /// The service tier its calls are sent at.
    pub service_tier: ServiceTier,
    /// Reasoning tokens per call (billed as reasoning, generated at output speed).
    pub reasoning_tokens: Dist,
    /// The agent's loop, if it runs as one (`[agents.NAME.loop]`); `None`: one call
    /// per step.
    pub agent_loop: Option<AgentLoop>,
}

/// How tasks arrive.
#[derive(Clone, Debug)]
pub enum Arrivals {
    /// Poisson process with this rate.
    Poisson {
        /// Tasks per hour.
        rate_per_hour: f64,
    },
    /// One task every `interval_s`, the first at 0.
    Fixed {
        /// Seconds between arrivals.
        interval_s: f64,
    },
    /// All tasks at time 0.
    Batch,
    /// Arrival times (seconds, sorted) read from a CSV column.
    Trace {
        /// The arrival times (shared: a sweep's points hold one copy).
        times_s: std::sync::Arc<[f64]>,
    },
}

/// A class of tasks.
#[derive(Clone, Debug)]
pub struct Class {
    /// Name.
    pub name: String,
    /// Probability that a task is of this class (shares are normalised).
    pub share: f64,
    /// Index into `Scenario::business_units`.
    pub business_unit: usize,
    /// Multiplies every agent's `error_rate` (capped at 1).
    pub difficulty: f64,
    /// `rho` of the one-factor quality model, in `[0, 1)`: the correlation of any two
    /// attempts' latent error scores on one task (0: attempts err independently).
    pub error_correlation: f64,
    /// What a correct result is worth.
    pub value_usd: Usd,
    /// What a wrong delivered result costs.
    pub wrong_penalty_usd: Usd,
    /// What a task that is not delivered (failed) costs.
    pub failure_penalty_usd: Usd,
    /// Time from arrival by which the result is due.
    pub deadline_s: Option<f64>,
}

/// The task stream.
#[derive(Clone, Debug)]
pub struct Workload {
    /// Number of tasks.
    pub tasks: u64,
    /// Arrival process.
    pub arrivals: Arrivals,
    /// Task classes.
    pub classes: Vec<Class>,
}

/// A strategy: one orchestration design.
#[derive(Clone, Debug)]
pub struct Strategy {
    /// Name (key in `[strategies]`).
    pub name: String,
    /// What it is.
    pub kind: StrategyKind,
}

/// Agents or people.
#[derive(Clone, Debug)]
pub enum StrategyKind {
    /// LLM agents working through steps.
    Agents(AgentsStrategy),
    /// A human team.
    Human(HumanStrategy),
}

/// Which upstream outputs a step reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Context {
    /// None.
    None,
    /// Those of the steps it directly follows.
    Previous,
    /// Those of every step upstream of it.
    All,
}

/// How replicas of a step are combined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Merge {
    /// Every replica's output is used: the step is wrong if any replica is.
    All,
    /// Majority vote: the step is right when more than half of the replicas are.
    Vote,
}

/// What happens when a reviewer still flags a task after `max_rework` reworks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnExhausted {
    /// The task is not delivered.
    Fail,
    /// The task is delivered as it is.
    Deliver,
    /// People finish it at the escalation cost.
    Escalate,
}

/// One step of an agents strategy.
#[derive(Clone, Debug)]
pub struct Step {
    /// Identifier, unique within the strategy.
    pub id: String,
    /// Index into `Scenario::agents`.
    pub agent: usize,
    /// Indices of the steps it waits for (all earlier in the list).
    pub after: Vec<usize>,
    /// Parallel calls of the agent.
    pub replicas: u32,
    /// How replicas are combined.
    pub merge: Merge,
    /// For a reviewer: the step it sends flagged tasks back to.
    pub reworks: Option<usize>,
    /// For a reviewer: reworks allowed per task.
    pub max_rework: u32,
    /// For a reviewer: what happens when reworks are spent.
    pub on_exhausted: OnExhausted,
}

/// The supervising LLM call.
#[derive(Clone, Debug)]
pub struct Orchestrator {
    /// Index into `Scenario::agents`.
    pub agent: usize,
    /// Once per step (true) or once per task (false).
    pub per_step: bool,
}

/// The orchestration layer's fees.
#[derive(Clone, Debug, Default)]
pub struct Platform {
    /// Fee per task that arrives.
    pub usd_per_task: Usd,
    /// Fee per step execution (reworks included).
    pub usd_per_step: Usd,
    /// Percentage of model spend, in parts per billion of the model cost.
    pub ppb_of_model_spend: i128,
    /// Flat monthly fee, prorated over the run's makespan (30-day months).
    pub usd_per_month: Usd,
}

/// Backoff jitter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Jitter {
    /// Exact backoff.
    None,
    /// Uniform in `[0, backoff]`.
    Full,
}

/// Retry policy for transient errors and timeouts.
#[derive(Clone, Debug)]
pub struct Retry {
    /// Attempts in all, the first included (1 = no retry).
    pub max_attempts: u32,
    /// First backoff, seconds.
    pub backoff_base_s: f64,
    /// Growth factor per retry.
    pub backoff_factor: f64,
    /// Backoff cap, seconds.
    pub backoff_max_s: f64,
    /// Jitter.
    pub jitter: Jitter,
}

impl Default for Retry {
    fn default() -> Self {
        Retry { max_attempts: 1, backoff_base_s: 1.0, backoff_factor: 2.0, backoff_max_s: 60.0, jitter: Jitter::None }
    }
}

/// Hand-off to people.
#[derive(Clone, Debug)]
pub struct Escalation {
    /// Person-hours per escalated task.
    pub hours: Dist,
    /// Rate per person-hour.
    pub usd_per_hour: f64,
    /// Probability that the people get it wrong.
    pub error_rate: f64,
}

/// An agents strategy.
#[derive(Clone, Debug)]
pub struct AgentsStrategy {
    /// Steps in declaration (and topological) order.
    pub steps: Vec<Step>,
    /// Context passing.
    pub context: Context,
    /// Coordination tokens added to every step's input.
    pub handoff_tokens: u64,
    /// Supervising LLM, if any.
    pub orchestrator: Option<Orchestrator>,
    /// Platform fees.
    pub platform: Platform,
    /// Retry policy.
    pub retry: Retry,
    /// Escalation to people, if configured.
    pub escalation: Option<Escalation>,
}

/// A human team.
#[derive(Clone, Debug)]
pub struct HumanStrategy {
    /// People working on each task together.
    pub team_size: u32,
    /// Wall-clock hours per task (each team member works them).
    pub hours_per_task: Dist,
    /// Rate per person-hour.
    pub usd_per_hour: f64,
    /// Probability that the team's result is wrong (before `difficulty`).
    pub error_rate: f64,
    /// Tasks worked at once; more wait FIFO.
    pub teams: u32,
}
