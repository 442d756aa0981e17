//! Running a horizon on the simulator: every distinct configuration becomes the
//! scenario's tree with overrides (prices, error rates, the model after a switch),
//! restricted to one strategy, and runs all of the scenario's replications.
//!
//! Running one strategy alone gives exactly the numbers it has in a full run: a
//! strategy's random streams are keyed by its name, never by its position.

use super::{Catalog, Config, Economics, HorizonSpec, Sample, Simulated, Trajectory, needed, trajectories};
use crate::error::{Error, Result};
use crate::experiment::{pool, run_unit};
use crate::model::{Scenario, StrategyKind};
use crate::scenario::{self, Loaded, Node, Value, overrides};
use crate::workflow::WorldOptions;

/// What a horizon run produced.
#[derive(Debug)]
pub struct HorizonResult {
    /// Strategy names, by index.
    pub names: Vec<String>,
    /// One per strategy and adoption timing.
    pub trajectories: Vec<Trajectory>,
    /// Distinct configurations simulated.
    pub simulations: usize,
    /// (month, strategy, timing) cells whose economics were needed: what one
    /// simulation per month would have cost.
    pub cells: usize,
}

/// The provider of a model (LiteLLM's `litellm_provider`, or the scenario's own).
pub fn provider_of(sc: &Scenario, model: usize) -> String {
    sc.models[model].provider.clone()
}

/// The agents a strategy uses (steps and orchestrator), by index, sorted and unique.
pub fn strategy_agents(sc: &Scenario, s: usize) -> Vec<usize> {
    let mut v = match &sc.strategies[s].kind {
        StrategyKind::Agents(a) => a.steps.iter().map(|st| st.agent).chain(a.orchestrator.as_ref().map(|o| o.agent)).collect(),
        StrategyKind::Human(_) => Vec::new(),
    };
    v.sort_unstable();
    v.dedup();
    v
}

/// The models of each strategy, and the providers of switch targets.
pub fn catalog(sc: &Scenario, spec: &HorizonSpec) -> Catalog {
    let mut cat = Catalog::default();
    for s in 0..sc.strategies.len() {
        let mut models: Vec<(String, String)> = strategy_agents(sc, s)
            .into_iter()
            .map(|a| {
                let m = sc.agents[a].model;
                (sc.models[m].name.clone(), provider_of(sc, m))
            })
            .collect();
        models.sort();
        models.dedup();
        cat.strategy_models.push(models);
    }
    for a in spec.adoption.iter().flatten() {
        if let Some(sw) = &a.switching {
            let p = match sc.models.iter().position(|m| m.name == sw.to) {
                Some(m) => provider_of(sc, m),
                None => crate::model::catalog::builtin().find(&sw.to).map(|c| c.provider.clone()).unwrap_or_default(),
            };
            cat.providers.insert(sw.to.clone(), p);
        }
    }
    cat
}

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', ""))
}

fn float(x: f64) -> Node {
    Node::new(Value::Float(x))
}

/// The scenario of one configuration: the loaded tree, restricted to the configuration's
/// strategy, with its overrides.
pub fn config_scenario(loaded: &Loaded, c: &Config) -> Result<Scenario> {
    let sc = &loaded.scenario;
    let mut tree = loaded.tree.clone();
    let name = &sc.strategies[c.strategy].name;
    if let Value::Table(entries) = &mut tree.value {
        // The comparison baseline and the sensitivity ranges may name strategies this
        // one-strategy scenario no longer has; neither plays a part in a horizon.
        entries.retain(|(k, _)| k != "baseline" && k != "assumptions");
        for (k, v) in entries.iter_mut() {
            if k == "strategies"
                && let Value::Table(st) = &mut v.value
            {
                st.retain(|(n, _)| n == name);
            }
        }
    }
    let set = |tree: &mut Node, path: String, v: Node| {
        overrides::set(tree, &path, v).map_err(|e| Error::Other(format!("horizon: cannot set {path}: {}", e.0)))
    };
    for (model, bits) in &c.price_multipliers {
        let x = f64::from_bits(*bits);
        if x == 1.0 {
            continue;
        }
        let path = format!("models.{}.price_multiplier", quoted(model));
        let base = match overrides::get(&tree, &path).map(|n| &n.value) {
            Some(Value::Float(f)) => *f,
            Some(Value::Int(i)) => *i as f64,
            _ => 1.0,
        };
        set(&mut tree, path, float(base * x))?;
    }
    let f = c.error_factor();
    for a in strategy_agents(sc, c.strategy) {
        let agent = &sc.agents[a];
        if f != 1.0 {
            set(&mut tree, format!("agents.{}.error_rate", quoted(&agent.name)), float(agent.error_rate * f))?;
        }
        if let Some(to) = &c.switched_to {
            set(&mut tree, format!("agents.{}.model", quoted(&agent.name)), Node::new(Value::Str(to.clone())))?;
        }
    }
    scenario::from_tree_labelled(&tree, &loaded.source.file, &loaded.source.base_dir, &format!("{} (horizon)", loaded.source.file))
}

/// Simulates one configuration: all replications of its one strategy, in order.
pub fn simulate_config(loaded: &Loaded, c: &Config) -> Result<Economics> {
    let sc = config_scenario(loaded, c)?;
    let opts = WorldOptions { task_log: false };
    let tasks_metric = crate::economics::metrics::metric_index("tasks").unwrap_or(0);
    Ok((0..sc.replications)
        .map(|r| {
            let u = run_unit(&sc, r, 0, opts);
            Sample { tasks: u.metrics[tasks_metric] as u64, cost: u.total, value: u.value }
        })
        .collect())
}

/// Runs the horizon of a loaded scenario at the given adoption timings (empty: each
/// adoption table's own start, month 1).
pub fn run(loaded: &Loaded, spec: &HorizonSpec, adopt_at: &[u32], jobs: usize) -> Result<HorizonResult> {
    let sc = &loaded.scenario;
    let cat = catalog(sc, spec);
    let configs = needed(spec, &cat, adopt_at);
    let cells = configs.len();
    let mut sim = Simulated::default();
    pool(jobs)?.install(|| sim.ensure(configs, &|c| simulate_config(loaded, c)))?;
    let trajectories = trajectories(spec, &cat, &sim, adopt_at);
    Ok(HorizonResult { names: sc.strategies.iter().map(|s| s.name.clone()).collect(), trajectories, simulations: sim.len(), cells })
}
