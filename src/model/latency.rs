//! Latency profiles of catalog models, from the documented table `data/latency.toml`
//! (embedded): time to first token and output speed as log-normal distributions, each with
//! its source and date, or marked as an assumption.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Deserialize;

use super::Dist;

const TABLE: &str = include_str!("../../data/latency.toml");

/// A log-normal quantity given by its median and the spread of its logarithm.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread {
    /// Median.
    pub median: f64,
    /// Standard deviation of the logarithm.
    pub sigma: f64,
}

impl Spread {
    /// The distribution.
    pub fn dist(self) -> Dist {
        if self.sigma > 0.0 {
            Dist::lognormal_median(self.median, self.sigma).unwrap_or_else(|_| Dist::constant(self.median))
        } else {
            Dist::constant(self.median)
        }
    }
}

/// One model's latency.
#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    /// Time to first token, seconds.
    pub ttft: Spread,
    /// Output speed, tokens per second.
    pub tokens_per_s: Spread,
    /// Whether `ttft` includes the model's thinking (time to first answer token).
    pub includes_reasoning: bool,
    /// Where the medians come from ("assumption ..." when chosen, not measured).
    pub source: String,
    /// When the figures were read.
    pub date: String,
}

impl Profile {
    /// Whether the medians are an assumption rather than a measurement.
    pub fn is_assumption(&self) -> bool {
        self.source.starts_with("assumption")
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    #[serde(default)]
    models: Vec<String>,
    ttft_median_s: f64,
    ttft_sigma: f64,
    tokens_per_s_median: f64,
    tokens_per_s_sigma: f64,
    #[serde(default)]
    includes_reasoning: bool,
    source: String,
    date: String,
}

impl RawProfile {
    fn profile(&self) -> Profile {
        Profile {
            ttft: Spread { median: self.ttft_median_s, sigma: self.ttft_sigma },
            tokens_per_s: Spread { median: self.tokens_per_s_median, sigma: self.tokens_per_s_sigma },
            includes_reasoning: self.includes_reasoning,
            source: self.source.clone(),
            date: self.date.clone(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBatch {
    median_s: f64,
    sigma: f64,
    #[allow(dead_code)]
    source: String,
    #[allow(dead_code)]
    date: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    defaults: RawProfile,
    defaults_reasoning: RawProfile,
    batch: RawBatch,
    profile: Vec<RawProfile>,
}

/// The parsed table.
#[derive(Debug)]
pub struct Table {
    defaults: Profile,
    defaults_reasoning: Profile,
    /// Delay of a batch-tier call from submission to result.
    pub batch_delay: Spread,
    by_model: HashMap<String, Profile>,
}

impl Table {
    /// The profile of `model`: its own, else the default for reasoning or other models.
    pub fn profile(&self, model: &str, reasoning: bool) -> &Profile {
        self.by_model.get(model).unwrap_or(if reasoning { &self.defaults_reasoning } else { &self.defaults })
    }

    /// The models with a profile of their own, sorted.
    pub fn models(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.by_model.keys().map(String::as_str).collect();
        v.sort_unstable();
        v
    }
}

fn parse(text: &str) -> Result<Table, String> {
    let raw: RawTable = toml::from_str(text).map_err(|e| e.to_string())?;
    let mut by_model = HashMap::new();
    for p in &raw.profile {
        for m in &p.models {
            if by_model.insert(m.clone(), p.profile()).is_some() {
                return Err(format!("{m} has two profiles"));
            }
        }
    }
    let all = raw.profile.iter().chain([&raw.defaults, &raw.defaults_reasoning]);
    for p in all {
        let ok = |x: f64| x.is_finite() && x > 0.0;
        if !(ok(p.ttft_median_s) && ok(p.tokens_per_s_median) && p.ttft_sigma >= 0.0 && p.tokens_per_s_sigma >= 0.0) {
            return Err(format!("{:?}: medians must be positive and spreads non-negative", p.models));
        }
    }
    Ok(Table {
        defaults: raw.defaults.profile(),
        defaults_reasoning: raw.defaults_reasoning.profile(),
        batch_delay: Spread { median: raw.batch.median_s, sigma: raw.batch.sigma },
        by_model,
    })
}

/// The embedded table, parsed on first use.
pub fn table() -> &'static Table {
    static T: OnceLock<Table> = OnceLock::new();
    // The embedded file is checked by the tests below; a failure here is a build bug.
    T.get_or_init(|| parse(TABLE).unwrap_or_else(|e| panic!("data/latency.toml: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_profile_names_models_of_the_price_map_with_a_source_and_date() {
        let t = parse(TABLE).unwrap();
        let map = super::super::catalog::builtin();
        for m in t.models() {
            assert!(map.find(m).is_some(), "{m} is not a key of the price map");
            let p = t.profile(m, false);
            assert!(!p.source.is_empty());
            assert_eq!(p.date.len(), 10, "{m}: date YYYY-MM-DD");
        }
        assert!(t.profile("gpt-4o", false).source.contains("Artificial Analysis"));
        assert!(t.profile("no-such-model", false).is_assumption());
    }

    #[test]
    fn reasoning_models_start_answering_late() {
        let t = table();
        assert!(t.profile("o3", true).ttft.median >= 10.0);
        assert!(t.profile("o3", true).includes_reasoning);
        assert!(t.profile("some-new-reasoner", true).ttft.median >= 5.0);
        assert!(t.profile("some-new-chat", false).ttft.median < 2.0);
    }

    #[test]
    fn the_spread_is_the_sd_of_the_logarithm() {
        use rand::SeedableRng;
        let d = Spread { median: 2.0, sigma: 0.5 }.dist();
        let mut rng = crate::engine::SimRng::seed_from_u64(7);
        let mut xs: Vec<f64> = (0..20_000).map(|_| d.sample(&mut rng)).collect();
        xs.sort_by(f64::total_cmp);
        let median = xs[xs.len() / 2];
        let logs: Vec<f64> = xs.iter().map(|x| x.ln()).collect();
        let mean = logs.iter().sum::<f64>() / logs.len() as f64;
        let sd = (logs.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / logs.len() as f64).sqrt();
        assert!((median / 2.0 - 1.0).abs() < 0.03, "median {median}");
        assert!((sd - 0.5).abs() < 0.02, "sd {sd}");
        assert_eq!(Spread { median: 3.0, sigma: 0.0 }.dist().as_constant(), Some(3.0));
    }

    #[test]
    fn refuses_a_bad_table() {
        let bad = TABLE.replace("ttft_median_s = 0.45", "ttft_median_s = -1");
        assert!(parse(&bad).is_err());
        assert!(parse("[defaults]\n").is_err());
    }
}
