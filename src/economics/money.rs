//! Exact money: an integer count of pico-dollars.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};

/// An amount of US dollars, held as an integer number of pico-dollars (10⁻¹² USD).
///
/// A price of `p` USD per million tokens with at most six decimals is an integer number
/// of micro-dollars per million tokens, so `tokens × price` is an exact integer number of
/// pico-dollars: every charge is exact and every sum of charges is exact, whatever the
/// order of addition. Quantities that are not token-priced (hourly human work, monthly
/// fees) are rounded once, to the nearest pico-dollar, when they are charged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Usd(pub i128);

/// Pico-dollars per dollar.
pub const PICO_PER_USD: i128 = 1_000_000_000_000;

impl Usd {
    /// Zero dollars.
    pub const ZERO: Usd = Usd(0);

    /// Rounds a dollar amount to the nearest pico-dollar.
    pub fn from_f64(usd: f64) -> Usd {
        if !usd.is_finite() {
            return Usd::ZERO;
        }
        Usd((usd * PICO_PER_USD as f64).round() as i128)
    }

    /// The amount in dollars as a float (for statistics only; never for sums).
    ///
    /// Correctly rounded: it is the float nearest to the exact decimal that `Display`
    /// prints, so parsing an output file gives back exactly this value (sweeps and
    /// merges recompute statistics from files and must get the same bytes as a run).
    pub fn as_f64(self) -> f64 {
        self.to_string().parse().unwrap_or(f64::NAN)
    }

    /// `self × num / den`, rounded half away from zero (den > 0).
    pub fn mul_div(self, num: i128, den: i128) -> Usd {
        let p = self.0 * num;
        let q = p / den;
        let r = p % den;
        if 2 * r.abs() >= den { Usd(q + p.signum()) } else { Usd(q) }
    }
}

impl Add for Usd {
    type Output = Usd;
    fn add(self, rhs: Usd) -> Usd {
        Usd(self.0 + rhs.0)
    }
}
impl AddAssign for Usd {
    fn add_assign(&mut self, rhs: Usd) {
        self.0 += rhs.0;
    }
}
impl Sub for Usd {
    type Output = Usd;
    fn sub(self, rhs: Usd) -> Usd {
        Usd(self.0 - rhs.0)
    }
}
impl SubAssign for Usd {
    fn sub_assign(&mut self, rhs: Usd) {
        self.0 -= rhs.0;
    }
}
impl Neg for Usd {
    type Output = Usd;
    fn neg(self) -> Usd {
        Usd(-self.0)
    }
}
impl Sum for Usd {
    fn sum<I: Iterator<Item = Usd>>(iter: I) -> Usd {
        iter.fold(Usd::ZERO, Add::add)
    }
}

impl fmt::Display for Usd {
    /// Exact decimal dollars, trailing zeros trimmed: `0.01`, `12.5`, `-3`, `0.000000000001`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let neg = self.0 < 0;
        let a = self.0.unsigned_abs();
        let p = PICO_PER_USD as u128;
        let whole = a / p;
        let frac = a % p;
        if neg {
            write!(f, "-")?;
        }
        write!(f, "{whole}")?;
        if frac != 0 {
            let s = format!("{frac:012}");
            write!(f, ".{}", s.trim_end_matches('0'))?;
        }
        Ok(())
    }
}

/// A token price: micro-dollars per million tokens, which is also pico-dollars per token.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct PricePerMtok(pub i64);

impl PricePerMtok {
    /// From USD per million tokens, rounded to six decimals (the exactness limit).
    pub fn from_usd_per_mtok(usd: f64) -> PricePerMtok {
        PricePerMtok((usd * 1e6).round() as i64)
    }
    /// USD per million tokens.
    pub fn usd_per_mtok(self) -> f64 {
        self.0 as f64 / 1e6
    }
    /// The exact cost of `tokens` tokens.
    #[inline]
    pub fn cost(self, tokens: u64) -> Usd {
        Usd(tokens as i128 * self.0 as i128)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_tokens_exactly() {
        // gpt-4o-mini input: $0.15 per million tokens -> 1,000 tokens cost $0.00015.
        let p = PricePerMtok::from_usd_per_mtok(0.15);
        assert_eq!(p.cost(1000).to_string(), "0.00015");
        // A third of a cent per ten thousand tokens sums to exactly 1 cent over three calls.
        let q = PricePerMtok::from_usd_per_mtok(1.0 / 3.0);
        assert_eq!(q.0, 333_333);
        assert_eq!((q.cost(10_000) + q.cost(10_000) + q.cost(10_000)).0, 9_999_990_000);
    }

    #[test]
    fn displays_exact_decimals() {
        assert_eq!(Usd::from_f64(0.01).to_string(), "0.01");
        assert_eq!(Usd(1).to_string(), "0.000000000001");
        assert_eq!(Usd(-1_500_000_000_000).to_string(), "-1.5");
        assert_eq!(Usd(3 * PICO_PER_USD).to_string(), "3");
    }

    #[test]
    fn as_f64_is_the_nearest_float_to_the_printed_decimal() {
        for v in [0i128, 1, 123_456_789_012_345, -7, 10_000_000_000_000_000_001, 999_999_999_999] {
            let u = Usd(v);
            assert_eq!(u.as_f64(), u.to_string().parse::<f64>().unwrap());
        }
        assert_eq!(Usd(1_500_000_000_000).as_f64(), 1.5);
    }

    #[test]
    fn mul_div_rounds_half_away_from_zero() {
        assert_eq!(Usd(10).mul_div(1, 4), Usd(3)); // 2.5 -> 3
        assert_eq!(Usd(-10).mul_div(1, 4), Usd(-3));
        assert_eq!(Usd(9).mul_div(1, 4), Usd(2)); // 2.25 -> 2
    }
}
