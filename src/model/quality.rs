//! The quality model: latent task difficulty as a one-factor Gaussian model with exact
//! marginals.
//!
//! Every task has a latent difficulty `z ~ N(0, 1)`. An attempt whose marginal error
//! probability is `e` is wrong iff
//!
//! ```text
//! sqrt(rho) z + sqrt(1 - rho) eps < Phi^-1(e)
//! ```
//!
//! with `eps ~ N(0, 1)` fresh for each attempt and `rho` the attempt's `error_correlation`
//! in `[0, 1)`. The left side is standard normal whatever `rho` is, so `P(wrong) = e`
//! exactly; given the task, `P(wrong | z) = Phi((Phi^-1(e) - sqrt(rho) z) / sqrt(1 - rho))`
//! ([`Threshold::given`]). Attempts on one task share `z` and so err together: at
//! `rho = 0` they are independent, and as `rho` nears 1 a hard task defeats every attempt.
//! A reviewer misses a defect by the same rule with `1 - recall` in place of `e`.
//!
//! The hot path ([`is_wrong`]) is one multiply-add and a comparison: [`Threshold`] and
//! [`Loading`] hold `Phi^-1(e)`, `sqrt(rho)` and `sqrt(1 - rho)`, computed once per agent.
//!
//! The closed forms ([`p_all_wrong`], [`p_vote_fails`], [`p_wrong_and_missed`]) are 1-D
//! integrals over `z`, computed by [`expect_over_z`]: adaptive Simpson on `[-10, 10]`,
//! with a quadrature error below 1e-12 for integrands in `[0, 1]` (the mass of `phi`
//! outside `[-10, 10]` is 1.5e-23). `Phi` itself, from statrs 0.19.1, is good to about
//! 1e-10 relative, which bounds the closed forms' accuracy; the quantile that the
//! simulation uses is good to 1e-15, so simulated marginals are exact.

use statrs::function::erf::{erfc, erfc_inv};

/// The standard normal distribution function `Phi(x)`, to about 1e-10 relative error
/// (statrs 0.19.1's `erfc` carries 10-digit constants; fixed upstream in statrs#412).
pub fn normal_cdf(x: f64) -> f64 {
    if x == f64::NEG_INFINITY {
        return 0.0;
    }
    if x == f64::INFINITY {
        return 1.0;
    }
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// The standard normal quantile `Phi^-1(p)`, to about 1e-15 relative error: `-inf` at 0,
/// `+inf` at 1.
pub fn normal_quantile(p: f64) -> f64 {
    if p <= 0.0 {
        f64::NEG_INFINITY
    } else if p >= 1.0 {
        f64::INFINITY
    } else {
        -std::f64::consts::SQRT_2 * erfc_inv(2.0 * p)
    }
}

/// The standard normal density `phi(x)`.
pub fn normal_pdf(x: f64) -> f64 {
    const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;
    INV_SQRT_2PI * (-0.5 * x * x).exp()
}

/// `Phi^-1(e)` for a marginal error probability `e`, computed once per agent and class.
///
/// `e <= 0` gives `-inf` (never wrong), `e >= 1` gives `+inf` (always wrong).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Threshold(f64);

impl Threshold {
    /// The threshold of marginal error probability `e` (clamped to `[0, 1]`).
    pub fn new(e: f64) -> Threshold {
        Threshold(normal_quantile(e))
    }

    /// `Phi^-1(e)`.
    pub fn value(self) -> f64 {
        self.0
    }

    /// `P(wrong | z) = Phi((Phi^-1(e) - sqrt(rho) z) / sqrt(1 - rho))`.
    pub fn given(self, loading: Loading, z: f64) -> f64 {
        if self.0.is_infinite() {
            return if self.0 > 0.0 { 1.0 } else { 0.0 };
        }
        normal_cdf((self.0 - loading.common * z) / loading.own)
    }
}

/// How much an attempt's error depends on the task: `sqrt(rho)` on the task's latent
/// difficulty and `sqrt(1 - rho)` on the attempt's own draw.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Loading {
    /// `sqrt(rho)`.
    pub common: f64,
    /// `sqrt(1 - rho)`.
    pub own: f64,
}

impl Loading {
    /// Independent attempts (`rho = 0`).
    pub const INDEPENDENT: Loading = Loading { common: 0.0, own: 1.0 };

    /// The loading of `error_correlation = rho`, `rho` in `[0, 1)` (validated upstream;
    /// values outside are clamped so that `own` stays positive).
    pub fn new(rho: f64) -> Loading {
        let rho = rho.clamp(0.0, 1.0 - 1e-15);
        Loading { common: rho.sqrt(), own: (1.0 - rho).sqrt() }
    }
}

/// Whether an attempt is wrong: `sqrt(rho) z + sqrt(1 - rho) eps < Phi^-1(e)`, for the
/// task's latent difficulty `z` and the attempt's own standard normal draw `eps`.
#[inline]
pub fn is_wrong(threshold: Threshold, loading: Loading, z: f64, eps: f64) -> bool {
    loading.common * z + loading.own * eps < threshold.0
}

/// `E[f(z)]` for `z ~ N(0, 1)`, for `f` with values in `[0, 1]`: adaptive Simpson on
/// `[-10, 10]` split in 40 panels, quadrature error below 1e-12.
pub fn expect_over_z(f: impl Fn(f64) -> f64) -> f64 {
    const PANELS: usize = 40;
    const TOL: f64 = 1e-12;
    let g = |z: f64| normal_pdf(z) * f(z);
    let (lo, hi) = (-10.0, 10.0);
    let w = (hi - lo) / PANELS as f64;
    (0..PANELS)
        .map(|i| {
            let (a, b) = (lo + w * i as f64, lo + w * (i + 1) as f64);
            let m = 0.5 * (a + b);
            let (fa, fm, fb) = (g(a), g(m), g(b));
            simpson(&g, a, b, fa, fm, fb, w / 6.0 * (fa + 4.0 * fm + fb), TOL, 40)
        })
        .sum()
}

#[allow(clippy::too_many_arguments)]
fn simpson(g: &impl Fn(f64) -> f64, a: f64, b: f64, fa: f64, fm: f64, fb: f64, whole: f64, tol: f64, depth: u32) -> f64 {
    let m = 0.5 * (a + b);
    let (lm, rm) = (0.5 * (a + m), 0.5 * (m + b));
    let (flm, frm) = (g(lm), g(rm));
    let h = (b - a) / 12.0;
    let left = h * (fa + 4.0 * flm + fm);
    let right = h * (fm + 4.0 * frm + fb);
    let delta = left + right - whole;
    if depth == 0 || delta.abs() <= 15.0 * tol {
        return left + right + delta / 15.0;
    }
    simpson(g, a, m, fa, flm, fm, left, tol / 2.0, depth - 1) + simpson(g, m, b, fm, frm, fb, right, tol / 2.0, depth - 1)
}

/// `P(all k attempts wrong) = E[P(wrong | z)^k]` for marginal error `e` and correlation
/// `rho`: a worker retried `k - 1` times behind an oracle reviewer, or `k` samples of a
/// benchmark (pass@k = 1 - this, with `e = 1 - pass@1`).
pub fn p_all_wrong(e: f64, rho: f64, k: u32) -> f64 {
    let (t, l) = (Threshold::new(e), Loading::new(rho));
    if t.0.is_infinite() || k == 0 {
        return if k == 0 || t.0 > 0.0 { 1.0 } else { 0.0 };
    }
    expect_over_z(|z| t.given(l, z).powi(k as i32))
}

/// `P(a vote of n replicas fails)`: the vote is right only when more than half of the
/// replicas are right, so it fails when at least `n - n / 2` are wrong (a tie fails).
pub fn p_vote_fails(e: f64, rho: f64, n: u32) -> f64 {
    let (t, l) = (Threshold::new(e), Loading::new(rho));
    let need = n - n / 2;
    expect_over_z(|z| binomial_tail(n, need, t.given(l, z)))
}

/// `P(X >= m)` for `X ~ Binomial(n, p)`.
pub fn binomial_tail(n: u32, m: u32, p: f64) -> f64 {
    let mut coef = 1.0; // C(n, j)
    let mut sum = 0.0;
    for j in 0..=n {
        if j >= m {
            sum += coef * p.powi(j as i32) * (1.0 - p).powi((n - j) as i32);
        }
        coef = coef * f64::from(n - j) / f64::from(j + 1);
    }
    sum.min(1.0)
}

/// `P(the worker is wrong and the reviewer misses it)` for a worker of marginal error
/// `e` and correlation `rho_w` and a reviewer of miss probability `miss = 1 - recall` and
/// correlation `rho_r`, both reading the same task.
pub fn p_wrong_and_missed(e: f64, rho_w: f64, miss: f64, rho_r: f64) -> f64 {
    let (tw, lw) = (Threshold::new(e), Loading::new(rho_w));
    let (tr, lr) = (Threshold::new(miss), Loading::new(rho_r));
    expect_over_z(|z| tw.given(lw, z) * tr.given(lr, z))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    /// `Phi2(a, a; rho)` by Plackett's identity, an integral over the correlation
    /// (not over `z`): `Phi(a)^2 + int_0^asin(rho) exp(-a^2 / (1 + sin t)) / (2 pi) dt`.
    fn bivariate_orthant(a: f64, rho: f64) -> f64 {
        let n = 20_000;
        let top = rho.asin();
        let h = top / n as f64;
        let f = |t: f64| (-a * a / (1.0 + t.sin())).exp() / (2.0 * PI);
        let mut s = f(0.0) + f(top);
        for i in 1..n {
            s += f(i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 };
        }
        normal_cdf(a).powi(2) + s * h / 3.0
    }

    #[test]
    fn quantile_and_cdf_match_reference_values() {
        // References: Python's statistics.NormalDist (Wichura's AS241 and libm's erfc).
        for (p, x) in [
            (1e-12, -7.034_483_825_301_132),
            (1e-6, -4.753_424_308_822_899),
            (0.2, -0.841_621_233_572_914_3),
            (0.2881, -0.558_943_911_042_04),
            (0.975, 1.959_963_984_540_054),
        ] {
            assert!((normal_quantile(p) - x).abs() <= 4e-15 * x.abs(), "Phi^-1({p}) = {} vs {x}", normal_quantile(p));
            // statrs 0.19.1's erfc is good to about 1e-10 relative only.
            assert!((normal_cdf(x) - p).abs() <= 2e-10 * p, "Phi({x}) = {} vs {p}", normal_cdf(x));
        }
        assert_eq!(normal_quantile(0.5), 0.0);
        assert_eq!(normal_quantile(0.0), f64::NEG_INFINITY);
        assert_eq!(normal_quantile(1.0), f64::INFINITY);
    }

    #[test]
    fn the_marginal_is_e_at_every_rho() {
        for e in [0.01, 0.1, 0.2881, 0.5, 0.9] {
            for rho in [0.0, 0.3, 0.7, 0.902, 0.99] {
                let m = p_all_wrong(e, rho, 1);
                assert!((m - e).abs() < 1e-10, "e = {e}, rho = {rho}: {m}");
            }
        }
    }

    #[test]
    fn independent_attempts_multiply() {
        for e in [0.05, 0.3, 0.7119] {
            for k in [2, 3, 10] {
                let p = p_all_wrong(e, 0.0, k);
                assert!((p - e.powi(k as i32)).abs() < 1e-10, "e = {e}, k = {k}: {p}");
            }
        }
    }

    #[test]
    fn two_attempts_match_the_bivariate_orthant() {
        for e in [0.05, 0.2, 0.5, 0.7119] {
            for rho in [0.1, 0.5, 0.9, 0.99] {
                let want = bivariate_orthant(normal_quantile(e), rho);
                let got = p_all_wrong(e, rho, 2);
                assert!((got - want).abs() < 1e-9, "e = {e}, rho = {rho}: {got} vs {want}");
            }
        }
    }

    #[test]
    fn orthants_at_the_median_have_exact_values() {
        // Equicorrelated standard normals below 0: 1/4 + asin(rho)/(2 pi) for two,
        // 1/8 + 3 asin(rho)/(4 pi) for three.
        for rho in [0.2_f64, 0.6, 0.95] {
            let two = 0.25 + rho.asin() / (2.0 * PI);
            let three = 0.125 + 3.0 * rho.asin() / (4.0 * PI);
            assert!((p_all_wrong(0.5, rho, 2) - two).abs() < 1e-10);
            assert!((p_all_wrong(0.5, rho, 3) - three).abs() < 1e-10);
        }
    }

    #[test]
    fn edge_cases_of_the_attempt_rule() {
        let (never, always) = (Threshold::new(0.0), Threshold::new(1.0));
        let hard = Loading::new(0.9);
        for (z, eps) in [(-1e300, -1e300), (-40.0, -40.0), (0.0, 0.0), (40.0, 40.0)] {
            assert!(!is_wrong(never, hard, z, eps));
            assert!(is_wrong(always, hard, z, eps));
            assert!(!is_wrong(never, Loading::INDEPENDENT, z, eps));
        }
        // At rho = 0 the latent difficulty plays no part.
        let t = Threshold::new(0.3);
        for z in [-5.0, 0.0, 5.0] {
            assert!(is_wrong(t, Loading::new(0.0), z, normal_quantile(0.3) - 1e-9));
            assert!(!is_wrong(t, Loading::new(0.0), z, normal_quantile(0.3) + 1e-9));
        }
        assert_eq!(p_all_wrong(0.0, 0.5, 3), 0.0);
        assert_eq!(p_all_wrong(1.0, 0.5, 3), 1.0);
        assert_eq!(Loading::new(0.0), Loading::INDEPENDENT);
    }

    #[test]
    fn the_attempt_rule_has_the_closed_form_frequencies() {
        // Monte Carlo of is_wrong itself against p_all_wrong and p_wrong_and_missed.
        use rand::SeedableRng;
        use rand_distr::{Distribution, StandardNormal};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let (e, rho, miss, rho_r) = (0.3, 0.8, 0.4, 0.5);
        let (t, l, tr, lr) = (Threshold::new(e), Loading::new(rho), Threshold::new(miss), Loading::new(rho_r));
        let n = 200_000;
        let (mut one, mut three, mut missed) = (0u32, 0u32, 0u32);
        for _ in 0..n {
            let z: f64 = StandardNormal.sample(&mut rng);
            let w: Vec<bool> = (0..3).map(|_| is_wrong(t, l, z, StandardNormal.sample(&mut rng))).collect();
            one += u32::from(w[0]);
            three += u32::from(w.iter().all(|&x| x));
            missed += u32::from(w[0] && is_wrong(tr, lr, z, StandardNormal.sample(&mut rng)));
        }
        for (count, p) in [(one, e), (three, p_all_wrong(e, rho, 3)), (missed, p_wrong_and_missed(e, rho, miss, rho_r))] {
            let se = (p * (1.0 - p) / f64::from(n)).sqrt();
            let got = f64::from(count) / f64::from(n);
            assert!((got - p).abs() < 4.5 * se, "{got} vs {p} (se {se})");
        }
    }

    #[test]
    fn votes_and_reviews_reduce_to_the_binomial_law_when_independent() {
        let e: f64 = 0.2;
        let three = 3.0 * e * e * (1.0 - e) + e.powi(3);
        assert!((p_vote_fails(e, 0.0, 3) - three).abs() < 1e-10);
        // A tie of four fails: two or more wrong.
        let four = 1.0 - (1.0 - e).powi(4) - 4.0 * e * (1.0 - e).powi(3);
        assert!((p_vote_fails(e, 0.0, 4) - four).abs() < 1e-10);
        assert!((p_vote_fails(e, 0.7, 1) - e).abs() < 1e-10);
        assert!((p_wrong_and_missed(0.2, 0.0, 0.1, 0.6) - 0.02).abs() < 1e-10);
        // Correlation helps the vote less: majority failure rises with rho towards e.
        let (a, b, c) = (p_vote_fails(e, 0.0, 5), p_vote_fails(e, 0.5, 5), p_vote_fails(e, 0.95, 5));
        assert!(a < b && b < c && c < e, "{a} {b} {c}");
        // Shared difficulty: the reviewer misses more often on what the worker got wrong.
        assert!(p_wrong_and_missed(0.2, 0.5, 0.1, 0.5) > 0.02 + 0.01);
    }
}
