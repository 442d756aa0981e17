//! Horizon economics: months of build cost, upkeep, price trends, volume growth,
//! learning and switching, on top of per-task economics that come from the
//! discrete-event simulation itself.
//!
//! ```text
//!  [horizon] + strategies.X.adoption
//!        |  plan: for each strategy, adoption timing and month, the configuration
//!        v        (prices after changes, error rates after learning, model after a switch)
//!  distinct configurations --(simulate each once, in parallel)--> per-replication
//!        |                                                      (tasks, cost, value)
//!        v
//!  month cash flows, exact to the pico-dollar --> cumulative, discounted, NPV, payback
//! ```
//!
//! The engine here is pure: it asks a caller-supplied `simulate` function for the
//! economics of each configuration, so that it can be tested with hand-made economics
//! and run, in the product, on the simulator ([`crate::horizon::run`]).

pub mod charts;
pub mod command;
pub mod output;
pub mod run;
pub mod spec;

use std::collections::BTreeMap;

use crate::economics::metrics::{Stat, stat};
use crate::economics::money::Usd;

/// A dated or smooth change of model prices.
#[derive(Clone, Debug, PartialEq)]
pub struct PriceChange {
    /// What the change applies to.
    pub target: PriceTarget,
    /// How prices move.
    pub kind: PriceTrend,
}

/// The models a [`PriceChange`] applies to.
#[derive(Clone, Debug, PartialEq)]
pub enum PriceTarget {
    /// One model of the catalog or the scenario.
    Model(String),
    /// Every model of a provider.
    Provider(String),
}

/// How prices move.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PriceTrend {
    /// From `month` on, prices are multiplied by `multiplier` (several compose).
    Step {
        /// First month at the new price (1-based).
        month: u32,
        /// Factor applied to every price of the model.
        multiplier: f64,
    },
    /// A smooth decline from month 1: month `m` costs `(1 − decline_annual)^((m − 1)/12)`.
    Decline {
        /// Fraction by which prices fall in a year, in [0, 1).
        decline_annual: f64,
    },
}

/// Learning: error rates halve with every `error_rate_halving_tasks` live tasks.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Learning {
    /// Cumulative live tasks after which error rates are half their starting value.
    pub error_rate_halving_tasks: f64,
}

/// The option of moving a strategy's agents to another model.
#[derive(Clone, Debug, PartialEq)]
pub struct Switching {
    /// The model the agents move to.
    pub to: String,
    /// One-off cost of the move, spread evenly over `months` (all in the first month if 0).
    pub usd: Usd,
    /// Months during which both configurations run and are paid for.
    pub months: u32,
    /// Extra hurdle for the move, as a fraction of `usd` (friction, retraining, risk).
    pub lock_in: f64,
}

/// How a strategy is adopted over the horizon.
#[derive(Clone, Debug, PartialEq)]
pub struct Adoption {
    /// The strategy (index) that does the work until go-live.
    pub fallback: usize,
    /// Build cost, spread evenly over `build_months` from the month adoption starts.
    pub build_usd: Usd,
    /// Months of building; the strategy is live from `adopt_at + build_months`.
    pub build_months: u32,
    /// Upkeep per month from go-live.
    pub maintenance_usd_per_month: Usd,
    /// Optional learning.
    pub learning: Option<Learning>,
    /// Optional switch option.
    pub switching: Option<Switching>,
}

/// The `[horizon]` table, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct HorizonSpec {
    /// Months simulated (≥ 1).
    pub months: u32,
    /// Tasks in month 1.
    pub tasks_per_month: f64,
    /// Monthly compounding growth of the volume.
    pub volume_growth_monthly: f64,
    /// Annual discount rate: cash flows at the end of month `m` are divided by `(1 + r)^(m/12)`.
    pub discount_rate_annual: f64,
    /// Price changes.
    pub price_changes: Vec<PriceChange>,
    /// Per strategy (by index): its adoption, if it has one.
    pub adoption: Vec<Option<Adoption>>,
}

/// The models, providers and agents that configurations are built from.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Catalog {
    /// Per strategy: the models its agents use (sorted, unique), each with its provider.
    pub strategy_models: Vec<Vec<(String, String)>>,
    /// Provider of each model that may be switched to.
    pub providers: BTreeMap<String, String>,
}

/// One configuration to simulate: a strategy with the month's prices, error rates and model.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Config {
    /// Strategy index.
    pub strategy: usize,
    /// Price multiplier per model (f64 bits, so that configurations can be compared exactly).
    pub price_multipliers: Vec<(String, u64)>,
    /// Factor applied to the strategy's error rates (f64 bits).
    pub error_factor: u64,
    /// The model all of the strategy's agents use after a switch.
    pub switched_to: Option<String>,
}

impl Config {
    /// The error-rate factor as a float.
    pub fn error_factor(&self) -> f64 {
        f64::from_bits(self.error_factor)
    }
}

/// One replication's economics of a configuration: exact totals over the simulated tasks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sample {
    /// Tasks simulated.
    pub tasks: u64,
    /// Everything charged.
    pub cost: Usd,
    /// Value of the results (values of correct results less penalties).
    pub value: Usd,
}

impl Sample {
    fn scaled(&self, tasks: u64) -> (Usd, Usd) {
        if self.tasks == 0 {
            return (Usd::ZERO, Usd::ZERO);
        }
        let (n, d) = (tasks as i128, self.tasks as i128);
        (self.cost.mul_div(n, d), self.value.mul_div(n, d))
    }
}

/// Per-replication economics of one configuration.
pub type Economics = Vec<Sample>;

/// What a month of a strategy is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Before adoption starts: the fallback does the work.
    Before,
    /// Building: the fallback does the work and the build is paid.
    Build,
    /// Live on its own configuration.
    Live,
    /// Moving to another model: both configurations run and are paid for.
    Switching,
    /// Live on the model it switched to.
    Switched,
}

impl Phase {
    /// The name used in `horizon.csv`.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Before => "before",
            Phase::Build => "build",
            Phase::Live => "live",
            Phase::Switching => "switching",
            Phase::Switched => "switched",
        }
    }
}

/// One month of one strategy (and adoption timing), per replication.
#[derive(Clone, Debug, PartialEq)]
pub struct Month {
    /// 1-based month.
    pub month: u32,
    /// Phase.
    pub phase: Phase,
    /// Tasks in the month.
    pub tasks: u64,
    /// Per replication: cost (per-task bills, build, upkeep and switching).
    pub cost: Vec<Usd>,
    /// Per replication: value.
    pub value: Vec<Usd>,
}

impl Month {
    /// Per replication: value − cost.
    pub fn net(&self) -> Vec<Usd> {
        self.value.iter().zip(&self.cost).map(|(v, c)| *v - *c).collect()
    }
}

/// The months of one strategy at one adoption timing, with its summary.
#[derive(Clone, Debug, PartialEq)]
pub struct Trajectory {
    /// Strategy index.
    pub strategy: usize,
    /// Month adoption starts (1 for strategies without an adoption table).
    pub adopt_at: u32,
    /// The months.
    pub months: Vec<Month>,
    /// Month the switch starts, if it happens.
    pub switch_month: Option<u32>,
    /// Per replication: NPV lost against the same strategy switching freely (0 without
    /// a switch option).
    pub lock_in_cost: Vec<f64>,
}

/// `total` in `n` equal parts that add up exactly: the first `total mod n` pico-dollars
/// of remainder go to the earliest months.
fn even_split(total: Usd, n: u32) -> Vec<Usd> {
    let n = n.max(1) as i128;
    let (q, r) = (total.0.div_euclid(n), total.0.rem_euclid(n));
    (0..n).map(|i| Usd(q + i128::from(i < r))).collect()
}

/// Discount factor of the cash flow at the end of month `m`.
pub fn discount(spec: &HorizonSpec, m: u32) -> f64 {
    (1.0 + spec.discount_rate_annual).powf(m as f64 / 12.0)
}

/// Tasks in month `m` (1-based): `tasks_per_month × (1 + g)^(m − 1)`, rounded to the
/// nearest whole task.
pub fn tasks_in_month(spec: &HorizonSpec, m: u32) -> u64 {
    (spec.tasks_per_month * (1.0 + spec.volume_growth_monthly).powi(m as i32 - 1)).round() as u64
}

/// The price multiplier of a model in month `m`.
pub fn price_multiplier(spec: &HorizonSpec, model: &str, provider: &str, m: u32) -> f64 {
    let mut x = 1.0;
    for c in &spec.price_changes {
        let applies = match &c.target {
            PriceTarget::Model(name) => name == model,
            PriceTarget::Provider(p) => p == provider,
        };
        if !applies {
            continue;
        }
        match c.kind {
            PriceTrend::Step { month, multiplier } if m >= month => x *= multiplier,
            PriceTrend::Step { .. } => {}
            PriceTrend::Decline { decline_annual } => x *= (1.0 - decline_annual).powf((m as f64 - 1.0) / 12.0),
        }
    }
    x
}

/// The error-rate factor after `live_tasks` cumulative live tasks: `0.5^(live / halving)`.
pub fn learning_factor(learning: Option<&Learning>, live_tasks: u64) -> f64 {
    match learning {
        Some(l) if l.error_rate_halving_tasks > 0.0 => 0.5f64.powf(live_tasks as f64 / l.error_rate_halving_tasks),
        _ => 1.0,
    }
}

/// The configuration of strategy `s` in month `m`.
fn config(spec: &HorizonSpec, cat: &Catalog, s: usize, m: u32, error_factor: f64, switched_to: Option<&str>) -> Config {
    let models: Vec<(String, String)> = match switched_to {
        Some(to) => vec![(to.to_string(), cat.providers.get(to).cloned().unwrap_or_default())],
        None => cat.strategy_models[s].clone(),
    };
    Config {
        strategy: s,
        price_multipliers: models.iter().map(|(name, p)| (name.clone(), price_multiplier(spec, name, p, m).to_bits())).collect(),
        error_factor: error_factor.to_bits(),
        switched_to: switched_to.map(str::to_string),
    }
}

/// Everything the horizon needs simulated, and the results once they are.
#[derive(Debug, Default)]
pub struct Simulated {
    results: BTreeMap<Config, Economics>,
}

impl Simulated {
    /// Simulates every configuration not seen before. `simulate` runs in parallel over
    /// configurations; results are keyed, so the order of evaluation never matters.
    pub fn ensure<E: Send>(
        &mut self,
        configs: impl IntoIterator<Item = Config>,
        simulate: &(dyn Fn(&Config) -> Result<Economics, E> + Sync),
    ) -> Result<(), E> {
        use rayon::prelude::*;
        let mut todo: Vec<Config> = configs.into_iter().filter(|c| !self.results.contains_key(c)).collect();
        todo.sort();
        todo.dedup();
        let done: Vec<Result<Economics, E>> = todo.par_iter().map(simulate).collect();
        for (c, r) in todo.into_iter().zip(done) {
            self.results.insert(c, r?);
        }
        Ok(())
    }

    /// Configurations simulated so far.
    pub fn len(&self) -> usize {
        self.results.len()
    }

    /// Whether nothing has been simulated.
    pub fn is_empty(&self) -> bool {
        self.results.is_empty()
    }

    fn get(&self, c: &Config) -> &Economics {
        // Every configuration a trajectory reads was planned and simulated first.
        &self.results[c]
    }
}

/// The month plan of a strategy at an adoption timing, before switching is decided.
struct Plan {
    /// Per month: phase and the configuration that does the work.
    months: Vec<(Phase, Config)>,
    /// Per month: the configuration on the switch target (live months only).
    alternative: Vec<Option<Config>>,
    go_live: u32,
}

fn plan(spec: &HorizonSpec, cat: &Catalog, s: usize, adopt_at: u32) -> Plan {
    let a = spec.adoption[s].as_ref();
    let go_live = a.map_or(1, |a| adopt_at + a.build_months);
    let mut live = 0u64;
    let mut months = Vec::with_capacity(spec.months as usize);
    let mut alternative = Vec::with_capacity(spec.months as usize);
    for m in 1..=spec.months {
        let tasks = tasks_in_month(spec, m);
        match a {
            Some(ad) if m < go_live => {
                let phase = if m < adopt_at { Phase::Before } else { Phase::Build };
                months.push((phase, config(spec, cat, ad.fallback, m, 1.0, None)));
                alternative.push(None);
            }
            _ => {
                let f = learning_factor(a.and_then(|a| a.learning.as_ref()), live);
                months.push((Phase::Live, config(spec, cat, s, m, f, None)));
                alternative.push(a.and_then(|a| a.switching.as_ref()).map(|sw| config(spec, cat, s, m, f, Some(&sw.to))));
                live += tasks;
            }
        }
    }
    Plan { months, alternative, go_live }
}

/// Every configuration that the trajectories of strategy `s` at `adopt_at` may read.
pub fn configs(spec: &HorizonSpec, cat: &Catalog, s: usize, adopt_at: u32) -> Vec<Config> {
    let p = plan(spec, cat, s, adopt_at);
    p.months.into_iter().map(|(_, c)| c).chain(p.alternative.into_iter().flatten()).collect()
}

fn mean(v: &[Usd]) -> f64 {
    if v.is_empty() { 0.0 } else { v.iter().map(|x| x.as_f64()).sum::<f64>() / v.len() as f64 }
}

/// The month of the switch: the first live month `k` where the saving of running on the
/// target from `k` on, discounted to month `k` and averaged over replications, exceeds
/// `usd × (1 + lock_in)`.
fn decide_switch(spec: &HorizonSpec, p: &Plan, sim: &Simulated, sw: &Switching) -> Option<u32> {
    let hurdle = sw.usd.as_f64() * (1.0 + sw.lock_in);
    let n = spec.months as usize;
    // Per month: mean (net on target − net as is), per task economics scaled to the month.
    let delta: Vec<f64> = (0..n)
        .map(|i| {
            let m = i as u32 + 1;
            match &p.alternative[i] {
                Some(alt) => {
                    let tasks = tasks_in_month(spec, m);
                    let net = |c: &Config| -> Vec<Usd> {
                        sim.get(c)
                            .iter()
                            .map(|s| {
                                let (c, v) = s.scaled(tasks);
                                v - c
                            })
                            .collect()
                    };
                    mean(&net(alt)) - mean(&net(&p.months[i].1))
                }
                None => 0.0,
            }
        })
        .collect();
    (p.go_live..=spec.months).find(|&k| {
        let saving: f64 =
            (k..=spec.months).map(|m| delta[m as usize - 1] / (1.0 + spec.discount_rate_annual).powf((m - k) as f64 / 12.0)).sum();
        saving > hurdle
    })
}

/// Cash flows of strategy `s` adopted at `adopt_at`, with the switch (if any) in `switch_at`.
fn cash_flows(spec: &HorizonSpec, s: usize, adopt_at: u32, p: &Plan, sim: &Simulated, switch_at: Option<u32>) -> Vec<Month> {
    let a = spec.adoption[s].as_ref();
    let reps = p.months.first().map_or(0, |(_, c)| sim.get(c).len());
    let build_parts = match a {
        Some(ad) if ad.build_months > 0 => even_split(ad.build_usd, ad.build_months),
        _ => Vec::new(),
    };
    let sw = a.and_then(|a| a.switching.as_ref());
    let sw_parts = match sw {
        Some(sw) => even_split(sw.usd, sw.months.max(1)),
        None => Vec::new(),
    };
    let mut out = Vec::with_capacity(spec.months as usize);
    for (i, (phase, cfg)) in p.months.iter().enumerate() {
        let m = i as u32 + 1;
        let tasks = tasks_in_month(spec, m);
        let mut phase = *phase;
        let mut cost = vec![Usd::ZERO; reps];
        let mut value = vec![Usd::ZERO; reps];
        let mut add = |e: &Economics, with_value: bool| {
            for (r, smp) in e.iter().enumerate() {
                let (c, v) = smp.scaled(tasks);
                cost[r] += c;
                if with_value {
                    value[r] += v;
                }
            }
        };
        let mut fixed = Usd::ZERO;
        match (phase, switch_at, &p.alternative[i]) {
            (Phase::Live, Some(k), Some(alt)) if m >= k => {
                let window = sw.map_or(0, |s| s.months);
                if m < k + window {
                    // Both run: the old configuration delivers, the new one is paid for.
                    phase = Phase::Switching;
                    add(sim.get(cfg), true);
                    add(sim.get(alt), false);
                } else {
                    phase = Phase::Switched;
                    add(sim.get(alt), true);
                }
                if let Some(part) = sw_parts.get((m - k) as usize) {
                    fixed += *part;
                }
            }
            _ => add(sim.get(cfg), true),
        }
        if let Some(ad) = a {
            if phase == Phase::Build {
                fixed += build_parts.get((m - adopt_at) as usize).copied().unwrap_or(Usd::ZERO);
            }
            if matches!(phase, Phase::Live | Phase::Switching | Phase::Switched) {
                fixed += ad.maintenance_usd_per_month;
            }
        }
        for c in cost.iter_mut() {
            *c += fixed;
        }
        out.push(Month { month: m, phase, tasks, cost, value });
    }
    out
}

/// Per replication: NPV of the months.
pub fn npv(spec: &HorizonSpec, months: &[Month]) -> Vec<f64> {
    let reps = months.first().map_or(0, |m| m.cost.len());
    (0..reps).map(|r| months.iter().map(|mo| (mo.value[r] - mo.cost[r]).as_f64() / discount(spec, mo.month)).sum()).collect()
}

/// The first month whose cumulative net value is at least 0, per replication.
pub fn payback(months: &[Month]) -> Vec<Option<u32>> {
    let reps = months.first().map_or(0, |m| m.cost.len());
    (0..reps)
        .map(|r| {
            let mut cum = Usd::ZERO;
            months.iter().find_map(|mo| {
                cum += mo.value[r] - mo.cost[r];
                (cum >= Usd::ZERO).then_some(mo.month)
            })
        })
        .collect()
}

/// The configurations a trajectory needs, so the caller can simulate them all at once.
pub fn needed(spec: &HorizonSpec, cat: &Catalog, adopt_at: &[u32]) -> Vec<Config> {
    let mut all = Vec::new();
    for s in 0..spec.adoption.len() {
        for &t in timings(spec, s, adopt_at) {
            all.extend(configs(spec, cat, s, t));
        }
    }
    all
}

fn timings<'a>(spec: &HorizonSpec, s: usize, adopt_at: &'a [u32]) -> &'a [u32] {
    if spec.adoption[s].is_some() && !adopt_at.is_empty() { adopt_at } else { &[1] }
}

/// Every strategy's trajectory at every adoption timing (strategies without an
/// adoption table run once, live from month 1). `sim` must hold [`needed`].
pub fn trajectories(spec: &HorizonSpec, cat: &Catalog, sim: &Simulated, adopt_at: &[u32]) -> Vec<Trajectory> {
    let mut out = Vec::new();
    for s in 0..spec.adoption.len() {
        for &t in timings(spec, s, adopt_at) {
            let p = plan(spec, cat, s, t);
            let sw = spec.adoption[s].as_ref().and_then(|a| a.switching.as_ref());
            let switch_at = sw.and_then(|sw| decide_switch(spec, &p, sim, sw));
            let months = cash_flows(spec, s, t, &p, sim, switch_at);
            let lock_in_cost = match sw {
                Some(sw) => {
                    let free = Switching { usd: Usd::ZERO, months: 0, lock_in: 0.0, to: sw.to.clone() };
                    let free_at = decide_switch(spec, &p, sim, &free);
                    let mut free_spec = spec.clone();
                    if let Some(Some(a)) = free_spec.adoption.get_mut(s) {
                        a.switching = Some(free);
                    }
                    let free_months = cash_flows(&free_spec, s, t, &p, sim, free_at);
                    npv(spec, &free_months).iter().zip(npv(spec, &months)).map(|(f, a)| f - a).collect()
                }
                None => vec![0.0; months.first().map_or(0, |m| m.cost.len())],
            };
            out.push(Trajectory { strategy: s, adopt_at: t, months, switch_month: switch_at, lock_in_cost });
        }
    }
    out
}

/// Summary statistics of a trajectory, in `horizon_summary.csv`'s metric order.
pub fn summary(spec: &HorizonSpec, t: &Trajectory) -> Vec<(&'static str, Stat)> {
    let reps = t.months.first().map_or(0, |m| m.cost.len());
    let total_cost: Vec<f64> = (0..reps).map(|r| t.months.iter().map(|m| m.cost[r]).sum::<Usd>().as_f64()).collect();
    let payback: Vec<f64> = payback(&t.months).iter().map(|p| p.map_or(f64::NAN, f64::from)).collect();
    let switch: Vec<f64> = vec![t.switch_month.map_or(f64::NAN, f64::from); reps];
    vec![
        ("npv_usd", stat(&npv(spec, &t.months))),
        ("payback_month", stat(&payback)),
        ("total_cost_usd", stat(&total_cost)),
        ("lock_in_cost_usd", stat(&t.lock_in_cost)),
        ("switch_month", stat(&switch)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd(x: f64) -> Usd {
        Usd::from_f64(x)
    }

    /// The issue's exact case: 1,000 tasks a month worth $1 each; an agent at $0.01 a task
    /// whose model price halves from month 7; build $1,200 over 2 months with people at $5
    /// a task meanwhile; upkeep $100 a month; 24 months at 12% a year.
    fn exact_case() -> (HorizonSpec, Catalog) {
        let spec = HorizonSpec {
            months: 24,
            tasks_per_month: 1000.0,
            volume_growth_monthly: 0.0,
            discount_rate_annual: 0.12,
            price_changes: vec![PriceChange {
                target: PriceTarget::Model("m".into()),
                kind: PriceTrend::Step { month: 7, multiplier: 0.5 },
            }],
            adoption: vec![
                None,
                Some(Adoption {
                    fallback: 0,
                    build_usd: usd(1200.0),
                    build_months: 2,
                    maintenance_usd_per_month: usd(100.0),
                    learning: None,
                    switching: None,
                }),
            ],
        };
        let cat = Catalog { strategy_models: vec![vec![], vec![("m".into(), "p".into())]], providers: BTreeMap::new() };
        (spec, cat)
    }

    /// Economics without randomness: people $5 a task; the agent $0.01 × the price multiplier.
    fn exact_sim(c: &Config) -> Result<Economics, ()> {
        let tasks = 100;
        let per_task = if c.strategy == 0 { 5.0 } else { 0.01 * f64::from_bits(c.price_multipliers[0].1) };
        Ok(vec![Sample { tasks, cost: usd(per_task * tasks as f64), value: usd(tasks as f64) }; 2])
    }

    #[test]
    fn exact_case_matches_hand_computation() {
        let (spec, cat) = exact_case();
        let mut sim = Simulated::default();
        sim.ensure(needed(&spec, &cat, &[]), &exact_sim).unwrap();
        // Months with identical parameters share one simulation: the people (1 config),
        // the agent before and after the price change (2).
        assert_eq!(sim.len(), 3);
        let ts = trajectories(&spec, &cat, &sim, &[]);
        let agent = &ts[1];
        let net: Vec<Usd> = agent.months.iter().map(|m| m.net()[0]).collect();
        for (i, n) in net.iter().enumerate() {
            let want = match i + 1 {
                1..=2 => -4600.0,
                3..=6 => 890.0,
                _ => 895.0,
            };
            assert_eq!(*n, usd(want), "month {}", i + 1);
        }
        assert_eq!(payback(&agent.months), vec![Some(13), Some(13)]);
        let hand: f64 = (1..=24u32)
            .map(|m| {
                let n = if m <= 2 {
                    -4600.0
                } else if m <= 6 {
                    890.0
                } else {
                    895.0
                };
                n / 1.12f64.powf(m as f64 / 12.0)
            })
            .sum();
        assert!((npv(&spec, &agent.months)[0] - hand).abs() < 1e-6);
        assert_eq!(agent.months[0].phase, Phase::Build);
        assert_eq!(agent.months[2].phase, Phase::Live);
    }

    #[test]
    fn adoption_timing_shifts_go_live() {
        let (spec, cat) = exact_case();
        let mut sim = Simulated::default();
        sim.ensure(needed(&spec, &cat, &[1, 7]), &exact_sim).unwrap();
        let ts = trajectories(&spec, &cat, &sim, &[1, 7]);
        let late = ts.iter().find(|t| t.strategy == 1 && t.adopt_at == 7).unwrap();
        let phases: Vec<Phase> = late.months.iter().map(|m| m.phase).collect();
        assert_eq!(
            &phases[..9],
            &[Phase::Before; 6].iter().chain(&[Phase::Build; 2]).chain(&[Phase::Live]).copied().collect::<Vec<_>>()[..]
        );
        // Months 1-6 are the people's: 1,000 × ($1 − $5).
        assert_eq!(late.months[0].net()[0], usd(-4000.0));
        assert_eq!(late.months[6].net()[0], usd(-4600.0));
        assert_eq!(late.months[8].net()[0], usd(895.0));
    }

    #[test]
    fn learning_halves_error_rate_after_halving_volume() {
        let l = Learning { error_rate_halving_tasks: 500_000.0 };
        assert_eq!(learning_factor(Some(&l), 0), 1.0);
        assert_eq!(learning_factor(Some(&l), 500_000), 0.5);
        assert_eq!(learning_factor(Some(&l), 1_000_000), 0.25);
        assert_eq!(learning_factor(None, 1_000_000), 1.0);
        // In a plan: with 1,000 tasks a month and halving at 3,000, the fourth live month
        // (after 3,000 live tasks) runs at half the error rate.
        let (mut spec, cat) = exact_case();
        if let Some(Some(a)) = spec.adoption.get_mut(1) {
            a.learning = Some(Learning { error_rate_halving_tasks: 3000.0 });
        }
        let cs = configs(&spec, &cat, 1, 1);
        let live: Vec<f64> = cs.iter().filter(|c| c.strategy == 1).map(Config::error_factor).collect();
        assert_eq!(live[0], 1.0);
        assert_eq!(live[3], 0.5);
        assert_eq!(live[6], 0.25);
    }

    fn switch_case(usd_cost: f64, months: u32, lock_in: f64) -> (HorizonSpec, Catalog) {
        let (mut spec, mut cat) = exact_case();
        spec.price_changes.clear();
        // The target model appears at half the price from month 10 (before that, it
        // costs the same, so there is nothing to gain).
        spec.price_changes
            .push(PriceChange { target: PriceTarget::Model("cheap".into()), kind: PriceTrend::Step { month: 10, multiplier: 0.5 } });
        if let Some(Some(a)) = spec.adoption.get_mut(1) {
            a.switching = Some(Switching { to: "cheap".into(), usd: usd(usd_cost), months, lock_in });
        }
        cat.providers.insert("cheap".into(), "q".into());
        (spec, cat)
    }

    fn switch_sim(c: &Config) -> Result<Economics, ()> {
        let tasks = 100;
        let per_task = match c.strategy {
            0 => 5.0,
            _ => 0.01 * f64::from_bits(c.price_multipliers[0].1),
        };
        Ok(vec![Sample { tasks, cost: usd(per_task * tasks as f64), value: usd(tasks as f64) }])
    }

    #[test]
    fn switch_happens_in_the_month_the_rule_says() {
        // From month 10 the target saves 1,000 × $0.005 = $5 a month. A $40 switch with
        // lock-in 0.5 needs more than $60 of saving discounted to the decision month: the
        // first month k with sum_{m=k..24} 5 / 1.12^((m-k)/12) > 60.
        let (spec, cat) = switch_case(40.0, 1, 0.5);
        let mut sim = Simulated::default();
        sim.ensure(needed(&spec, &cat, &[]), &switch_sim).unwrap();
        let ts = trajectories(&spec, &cat, &sim, &[]);
        let t = &ts[1];
        let hand = (3..=24u32)
            .find(|&k| {
                let s: f64 = (k.max(10)..=24).map(|m| 5.0 / 1.12f64.powf((m - k) as f64 / 12.0)).sum();
                s > 60.0
            })
            .unwrap();
        assert_eq!(t.switch_month, Some(hand));
        let k = hand as usize;
        assert_eq!(t.months[k - 1].phase, Phase::Switching);
        assert_eq!(t.months[k].phase, Phase::Switched);
        // The switching month pays both agents' bills and the $40: value 1,000, cost
        // 1,000 × $0.01 (as is) + 1,000 × $0.01 × multiplier (target) + $100 upkeep + $40.
        let target = 0.01 * price_multiplier(&spec, "cheap", "q", hand);
        assert_eq!(t.months[k - 1].net()[0], usd(1000.0 - 10.0 - 1000.0 * target - 100.0 - 40.0));
        assert!(t.lock_in_cost[0] > 0.0);
    }

    #[test]
    fn free_switch_has_no_lock_in_cost() {
        let (spec, cat) = switch_case(0.0, 0, 0.0);
        let mut sim = Simulated::default();
        sim.ensure(needed(&spec, &cat, &[]), &switch_sim).unwrap();
        let ts = trajectories(&spec, &cat, &sim, &[]);
        // Free, the move pays as soon as any saving lies ahead: from go-live (month 3),
        // since the target is never dearer and is cheaper from month 10.
        assert_eq!(ts[1].switch_month, Some(3));
        assert_eq!(ts[1].lock_in_cost, vec![0.0]);
    }

    #[test]
    fn volume_growth_and_price_trends() {
        let (mut spec, _) = exact_case();
        spec.volume_growth_monthly = 0.03;
        assert_eq!(tasks_in_month(&spec, 1), 1000);
        assert_eq!(tasks_in_month(&spec, 2), 1030);
        assert_eq!(tasks_in_month(&spec, 13), (1000.0 * 1.03f64.powi(12)).round() as u64);
        spec.price_changes =
            vec![PriceChange { target: PriceTarget::Provider("p".into()), kind: PriceTrend::Decline { decline_annual: 0.3 } }];
        assert_eq!(price_multiplier(&spec, "m", "p", 1), 1.0);
        assert!((price_multiplier(&spec, "m", "p", 13) - 0.7).abs() < 1e-15);
        assert_eq!(price_multiplier(&spec, "m", "other", 13), 1.0);
    }
}
