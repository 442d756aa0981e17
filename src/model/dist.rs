//! Distributions of random quantities (latencies, token counts, hours).

use rand::{Rng, RngExt};
use rand_distr::{Distribution, Exp, Gamma, LogNormal, Normal, Poisson};

use crate::engine::time::round_to_u64;

/// A random quantity as a scenario describes it, with the largest value a draw may take
/// (the limit of its quantity, see `model/limits.rs`). Built once, sampled per
/// event without allocating.
#[derive(Clone, Debug)]
pub struct Dist {
    shape: Shape,
    /// Draws are clamped to this.
    max: f64,
    /// The constant, mean, or (uniform, empirical) maximum, as given.
    location: f64,
}

/// The family and parameters of a [`Dist`].
#[derive(Clone, Debug)]
pub(crate) enum Shape {
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
        Dist::new(Shape::Const(value), value)
    }
    fn new(shape: Shape, location: f64) -> Dist {
        Dist { shape, max: f64::INFINITY, location }
    }
    /// Exponential with mean `mean` (> 0).
    pub fn exp(mean: f64) -> Result<Dist, DistError> {
        if !(mean > 0.0 && mean.is_finite()) {
            return Err(DistError("mean must be a positive number".into()));
        }
        Exp::new(1.0 / mean).map(|d| Dist::new(Shape::Exp(d), mean)).map_err(|e| DistError(e.to_string()))
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
        LogNormal::new(mu, sigma2.sqrt()).map(|d| Dist::new(Shape::LogNormal(d), mean)).map_err(|e| DistError(e.to_string()))
    }
    /// Log-normal given by its median (> 0) and the standard deviation of its logarithm
    /// (≥ 0), as latency tables publish it.
    pub fn lognormal_median(median: f64, sigma: f64) -> Result<Dist, DistError> {
        if !(median > 0.0 && median.is_finite() && sigma >= 0.0 && sigma.is_finite()) {
            return Err(DistError("median must be positive and sigma non-negative".into()));
        }
        let mean = median * (sigma * sigma / 2.0).exp();
        LogNormal::new(median.ln(), sigma).map(|d| Dist::new(Shape::LogNormal(d), mean)).map_err(|e| DistError(e.to_string()))
    }
    /// Normal truncated at 0.
    pub fn normal(mean: f64, sd: f64) -> Result<Dist, DistError> {
        if !(mean >= 0.0 && mean.is_finite()) {
            return Err(DistError("mean must be a non-negative number".into()));
        }
        if !(sd >= 0.0 && sd.is_finite()) {
            return Err(DistError("sd must be a non-negative number".into()));
        }
        Normal::new(mean, sd).map(|d| Dist::new(Shape::Normal(d), mean)).map_err(|e| DistError(e.to_string()))
    }
    /// Gamma with shape and scale, both > 0.
    pub fn gamma(shape: f64, scale: f64) -> Result<Dist, DistError> {
        if !(shape > 0.0 && shape.is_finite() && scale > 0.0 && scale.is_finite()) {
            return Err(DistError("shape and scale must be positive numbers".into()));
        }
        Gamma::new(shape, scale).map(|d| Dist::new(Shape::Gamma(d), shape * scale)).map_err(|e| DistError(e.to_string()))
    }
    /// Uniform on `[min, max]`, `0 ≤ min ≤ max`.
    pub fn uniform(min: f64, max: f64) -> Result<Dist, DistError> {
        if !(min >= 0.0 && min.is_finite() && max.is_finite() && max >= min) {
            return Err(DistError("need 0 <= min <= max".into()));
        }
        Ok(Dist::new(Shape::Uniform(min, max), max))
    }
    /// Poisson with mean > 0.
    pub fn poisson(mean: f64) -> Result<Dist, DistError> {
        if !(mean > 0.0 && mean.is_finite()) {
            return Err(DistError("mean must be a positive number".into()));
        }
        Poisson::new(mean).map(|d| Dist::new(Shape::Poisson(d), mean)).map_err(|e| DistError(e.to_string()))
    }
    /// Uniform resampling of non-negative values.
    pub fn empirical(values: Vec<f64>) -> Result<Dist, DistError> {
        if values.is_empty() {
            return Err(DistError("values must not be empty".into()));
        }
        if values.iter().any(|v| !(v.is_finite() && *v >= 0.0)) {
            return Err(DistError("values must be non-negative numbers".into()));
        }
        let top = values.iter().copied().fold(0.0, f64::max);
        Ok(Dist::new(Shape::Empirical(values), top))
    }

    /// The same distribution with draws clamped to `max`.
    pub(crate) fn capped(self, max: f64) -> Dist {
        Dist { max, ..self }
    }

    /// The value of a constant distribution, `None` for a random one.
    pub fn as_constant(&self) -> Option<f64> {
        match self.shape {
            Shape::Const(v) => Some(v),
            _ => None,
        }
    }

    /// The family and parameters (crate-internal).
    pub(crate) fn shape(&self) -> &Shape {
        &self.shape
    }

    /// The largest value a draw can take: the top of the support, or the cap.
    pub(crate) fn max_value(&self) -> f64 {
        let top = match &self.shape {
            Shape::Const(_) | Shape::Uniform(..) | Shape::Empirical(_) => self.location,
            _ => f64::INFINITY,
        };
        top.min(self.max)
    }

    /// Where the distribution sits: its constant, mean, or (uniform, empirical) its
    /// maximum. Validation compares it with the limit of the quantity.
    pub(crate) fn location(&self) -> f64 {
        self.location
    }

    /// Draws one value (never negative, at most the cap).
    #[inline]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        self.shape.sample(rng).min(self.max)
    }

    /// Draws a whole, non-negative count (token counts, tool calls): rounded to nearest.
    #[inline]
    pub fn sample_count<R: Rng + ?Sized>(&self, rng: &mut R) -> u64 {
        let x = self.sample(rng);
        if x.is_finite() { round_to_u64(x) } else { 0 }
    }

    /// True when the distribution is a constant zero.
    pub fn is_zero(&self) -> bool {
        matches!(self.shape, Shape::Const(v) if v == 0.0)
    }
}

impl Shape {
    #[inline]
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match self {
            Shape::Const(v) => *v,
            Shape::Exp(d) => d.sample(rng),
            Shape::LogNormal(d) => d.sample(rng),
            Shape::Normal(d) => loop {
                let x = d.sample(rng);
                if x >= 0.0 {
                    break x;
                }
            },
            Shape::Gamma(d) => d.sample(rng),
            Shape::Uniform(a, b) => {
                if a == b {
                    *a
                } else {
                    rng.random_range(*a..*b)
                }
            }
            Shape::Poisson(d) => d.sample(rng),
            Shape::Empirical(v) => v[rng.random_range(0..v.len())],
        }
    }
}
