//! Distributions of random quantities (latencies, token counts, hours).

use rand::{Rng, RngExt};
use rand_distr::{Distribution, Exp, Gamma, LogNormal, Normal, Poisson};

/// A random quantity as a scenario describes it. Built once, sampled per event without
/// allocating.
#[derive(Clone, Debug)]
pub enum Dist {
    /// Always `value`.
    Const(f64),
    /// Exponential with the given mean.
    Exp(Exp<f64>),
    /// Log-normal, built from the mean and sd of the variable itself.
    LogNormal(LogNormal<f64>),
    /// Normal, truncated at 0 by rejection (validation keeps the mean ≥ 0, so at least
    /// half of all draws are accepted).
    Normal(Normal<f64>),
    /// Gamma with shape and scale.
    Gamma(Gamma<f64>),
    /// Uniform on `[min, max)`.
    Uniform(f64, f64),
    /// Poisson counts.
    Poisson(Poisson<f64>),
    /// Resamples the given values uniformly.
    Empirical(Vec<f64>),
}

/// Why a distribution's parameters are not usable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DistError(pub String);

impl Dist {
    /// A constant.
    pub fn constant(value: f64) -> Dist {
        Dist::Const(value)
    }
    /// Exponential with mean `mean` (> 0).
    pub fn exp(mean: f64) -> Result<Dist, DistError> {
        if !(mean > 0.0 && mean.is_finite()) {
            return Err(DistError("mean must be a positive number".into()));
        }
        Exp::new(1.0 / mean).map(Dist::Exp).map_err(|e| DistError(e.to_string()))
    }
    /// Log-normal with the given mean (> 0) and sd (≥ 0) of the variable itself.
    pub fn lognormal(mean: f64, sd: f64) -> Result<Dist, DistError> {
        if !(mean > 0.0 && mean.is_finite()) {
            return Err(DistError("mean must be a positive number".into()));
        }
        if !(sd >= 0.0 && sd.is_finite()) {
            return Err(DistError("sd must be a non-negative number".into()));
        }
        let sigma2 = (1.0 + (sd / mean).powi(2)).ln();
        let mu = mean.ln() - sigma2 / 2.0;
        LogNormal::new(mu, sigma2.sqrt()).map(Dist::LogNormal).map_err(|e| DistError(e.to_string()))
    }
    /// Normal truncated at 0.
    pub fn normal(mean: f64, sd: f64) -> Result<Dist, DistError> {
        if !(mean >= 0.0 && mean.is_finite()) {
            return Err(DistError("mean must be a non-negative number".into()));
        }
        if !(sd >= 0.0 && sd.is_finite()) {
            return Err(DistError("sd must be a non-negative number".into()));
        }
        Normal::new(mean, sd).map(Dist::Normal).map_err(|e| DistError(e.to_string()))
    }
    /// Gamma with shape and scale, both > 0.
    pub fn gamma(shape: f64, scale: f64) -> Result<Dist, DistError> {
        if !(shape > 0.0 && shape.is_finite() && scale > 0.0 && scale.is_finite()) {
            return Err(DistError("shape and scale must be positive numbers".into()));
        }
        Gamma::new(shape, scale).map(Dist::Gamma).map_err(|e| DistError(e.to_string()))
    }
    /// Uniform on `[min, max]`, `0 ≤ min ≤ max`.
    pub fn uniform(min: f64, max: f64) -> Result<Dist, DistError> {
        if !(min >= 0.0 && min.is_finite() && max.is_finite() && max >= min) {
            return Err(DistError("need 0 <= min <= max".into()));
        }
        Ok(Dist::Uniform(min, max))
    }
    /// Poisson with mean > 0.
    pub fn poisson(mean: f64) -> Result<Dist, DistError> {
        if !(mean > 0.0 && mean.is_finite()) {
            return Err(DistError("mean must be a positive number".into()));
        }
        Poisson::new(mean).map(Dist::Poisson).map_err(|e| DistError(e.to_string()))
    }
    /// Uniform resampling of non-negative values.
    pub fn empirical(values: Vec<f64>) -> Result<Dist, DistError> {
        if values.is_empty() {
            return Err(DistError("values must not be empty".into()));
        }
        if values.iter().any(|v| !(v.is_finite() && *v >= 0.0)) {
            return Err(DistError("values must be non-negative numbers".into()));
        }
        Ok(Dist::Empirical(values))
    }

    /// Draws one value (never negative).
    #[inline]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match self {
            Dist::Const(v) => *v,
            Dist::Exp(d) => d.sample(rng),
            Dist::LogNormal(d) => d.sample(rng),
            Dist::Normal(d) => loop {
                let x = d.sample(rng);
                if x >= 0.0 {
                    break x;
                }
            },
            Dist::Gamma(d) => d.sample(rng),
            Dist::Uniform(a, b) => {
                if a == b {
                    *a
                } else {
                    rng.random_range(*a..*b)
                }
            }
            Dist::Poisson(d) => d.sample(rng),
            Dist::Empirical(v) => v[rng.random_range(0..v.len())],
        }
    }

    /// Draws a whole, non-negative count (token counts, tool calls): rounded to nearest.
    #[inline]
    pub fn sample_count<R: Rng + ?Sized>(&self, rng: &mut R) -> u64 {
        let x = self.sample(rng);
        if x.is_finite() && x > 0.0 { x.round() as u64 } else { 0 }
    }

    /// True when the distribution is a constant zero.
    pub fn is_zero(&self) -> bool {
        matches!(self, Dist::Const(v) if *v == 0.0)
    }
}
