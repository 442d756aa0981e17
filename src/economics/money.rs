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

/// Why a number cannot be held as exact money.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MoneyError(pub String);

impl std::fmt::Display for MoneyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An overflow of exact money: unreachable for a validated scenario (see
/// [`crate::model::limits`], which bounds every sum), so reaching it is a bug. It stops
/// the program with a message rather than let a wrapped number reach a bill.
#[cold]
#[inline(never)]
fn overflow(op: &str) -> ! {
    panic!("money overflow in {op}: a sum went past ±1.7e26 USD, which validation should have refused; please report this scenario")
}

impl Usd {
    /// Zero dollars.
    pub const ZERO: Usd = Usd(0);

    /// Rounds a dollar amount to the nearest pico-dollar. For amounts computed from
    /// validated values (which keep them far inside the range); a value from input goes
    /// through [`Usd::try_from_f64`]. Non-finite amounts give zero, amounts past the
    /// range saturate.
    pub fn from_f64(usd: f64) -> Usd {
        if !usd.is_finite() {
            return Usd::ZERO;
        }
        Usd((usd * PICO_PER_USD as f64).round() as i128)
    }

    /// Rounds a dollar amount to the nearest pico-dollar, refusing a non-finite amount
    /// or one too large to hold (beyond ±1e26 USD).
    pub fn try_from_f64(usd: f64) -> Result<Usd, MoneyError> {
        if !usd.is_finite() {
            return Err(MoneyError(format!("{usd} is not a finite amount of dollars")));
        }
        let pico = (usd * PICO_PER_USD as f64).round();
        if pico.abs() > 1e38 {
            return Err(MoneyError(format!("{usd:e} USD is too large to hold exactly (at most 1e26)")));
        }
        Ok(Usd(pico as i128))
    }

    /// `self + rhs`, or `None` on overflow.
    pub fn checked_add(self, rhs: Usd) -> Option<Usd> {
        self.0.checked_add(rhs.0).map(Usd)
    }

    /// `self - rhs`, or `None` on overflow.
    pub fn checked_sub(self, rhs: Usd) -> Option<Usd> {
        self.0.checked_sub(rhs.0).map(Usd)
    }

    /// `self × k`, or `None` on overflow.
    pub fn checked_mul(self, k: i128) -> Option<Usd> {
        self.0.checked_mul(k).map(Usd)
    }

    /// The amount in dollars as a float (for statistics only; never for sums).
    ///
    /// Correctly rounded: it is the float nearest to the exact decimal that `Display`
    /// prints, so parsing an output file gives back exactly this value (sweeps and
    /// merges recompute statistics from files and must get the same bytes as a run).
    pub fn as_f64(self) -> f64 {
        self.to_string().parse().unwrap_or(f64::NAN)
    }

    /// `self × num / den`, rounded half away from zero (den > 0). Exact without
    /// forming `self × num`: `self = q·den + r`, so `self × num / den = q·num + r·num /
    /// den`, and `r·num` stays small (`|r| < den`).
    pub fn mul_div(self, num: i128, den: i128) -> Usd {
        let (q0, r0) = (self.0 / den, self.0 % den);
        let rn = r0.checked_mul(num).unwrap_or_else(|| overflow("a product"));
        let whole = q0.checked_mul(num).and_then(|x| x.checked_add(rn / den)).unwrap_or_else(|| overflow("a product"));
        let r = rn % den;
        // q0·num and r0·num have the sign of self × num, so truncations add up.
        let sign = self.0.signum() * num.signum();
        if 2 * r.abs() >= den { Usd(whole + sign) } else { Usd(whole) }
    }
}

impl Add for Usd {
    type Output = Usd;
    #[inline]
    fn add(self, rhs: Usd) -> Usd {
        self.checked_add(rhs).unwrap_or_else(|| overflow("a sum"))
    }
}
impl AddAssign for Usd {
    #[inline]
    fn add_assign(&mut self, rhs: Usd) {
        *self = *self + rhs;
    }
}
impl Sub for Usd {
    type Output = Usd;
    #[inline]
    fn sub(self, rhs: Usd) -> Usd {
        self.checked_sub(rhs).unwrap_or_else(|| overflow("a difference"))
    }
}
impl SubAssign for Usd {
    #[inline]
    fn sub_assign(&mut self, rhs: Usd) {
        *self = *self - rhs;
    }
}
impl Neg for Usd {
    type Output = Usd;
    fn neg(self) -> Usd {
        Usd(self.0.checked_neg().unwrap_or_else(|| overflow("a negation")))
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
    /// From USD per million tokens, rounded to six decimals (the exactness limit). For
    /// catalog prices; a price from input goes through
    /// [`PricePerMtok::try_from_usd_per_mtok`].
    pub fn from_usd_per_mtok(usd: f64) -> PricePerMtok {
        PricePerMtok((usd * 1e6).round() as i64)
    }

    /// From USD per million tokens, refusing a non-finite or negative price or one too
    /// large to hold (beyond $9.2e12 per million tokens).
    pub fn try_from_usd_per_mtok(usd: f64) -> Result<PricePerMtok, MoneyError> {
        let micro = (usd * 1e6).round();
        if !(micro >= 0.0 && micro < i64::MAX as f64) {
            return Err(MoneyError(format!("{usd:e} USD per million tokens is not a price that can be held exactly")));
        }
        Ok(PricePerMtok(micro as i64))
    }
    /// USD per million tokens.
    pub fn usd_per_mtok(self) -> f64 {
        self.0 as f64 / 1e6
    }
    /// The exact cost of `tokens` tokens. Cannot overflow: `(2⁶⁴−1)(2⁶³−1) < 2¹²⁷`.
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
    fn conversions_from_input_are_checked() {
        assert_eq!(Usd::try_from_f64(0.005), Ok(Usd(5_000_000_000)));
        assert_eq!(Usd::try_from_f64(-2.5), Ok(Usd(-2_500_000_000_000)));
        assert_eq!(Usd::try_from_f64(1e9), Ok(Usd(1_000_000_000_000_000_000_000)));
        assert_eq!(Usd::try_from_f64(1e308).unwrap_err().0, "1e308 USD is too large to hold exactly (at most 1e26)");
        assert!(Usd::try_from_f64(f64::NAN).is_err());
        assert!(Usd::try_from_f64(f64::INFINITY).is_err());
        assert_eq!(PricePerMtok::try_from_usd_per_mtok(2.5), Ok(PricePerMtok(2_500_000)));
        // $9.2e12 per million tokens used to clamp silently to i64::MAX.
        assert!(PricePerMtok::try_from_usd_per_mtok(1e13).is_err());
        assert!(PricePerMtok::try_from_usd_per_mtok(-1.0).is_err());
        assert!(PricePerMtok::try_from_usd_per_mtok(f64::NAN).is_err());
    }

    #[test]
    fn checked_arithmetic_reports_overflow() {
        let big = Usd(i128::MAX - 1);
        assert_eq!(big.checked_add(Usd(1)), Some(Usd(i128::MAX)));
        assert_eq!(big.checked_add(Usd(2)), None);
        assert_eq!(Usd(i128::MIN).checked_sub(Usd(1)), None);
        assert_eq!(Usd(i128::MAX / 2 + 1).checked_mul(2), None);
        assert_eq!(Usd(3).checked_mul(-4), Some(Usd(-12)));
        // The largest token bill cannot overflow.
        let c = PricePerMtok(i64::MAX).cost(u64::MAX);
        assert_eq!(c.0, (u64::MAX as i128) * (i64::MAX as i128));
    }

    #[test]
    #[should_panic(expected = "money overflow in a sum")]
    fn an_unchecked_overflow_stops_rather_than_wraps() {
        let _ = Usd(i128::MAX) + Usd(1);
    }

    #[test]
    fn mul_div_rounds_half_away_from_zero() {
        assert_eq!(Usd(10).mul_div(1, 4), Usd(3)); // 2.5 -> 3
        assert_eq!(Usd(-10).mul_div(1, 4), Usd(-3));
        assert_eq!(Usd(9).mul_div(1, 4), Usd(2)); // 2.25 -> 2
        // Against the direct formula on small values, every sign and remainder.
        for v in -40i128..=40 {
            for (n, d) in [(1, 4), (3, 7), (-5, 3), (2_500_000_000, 1_000_000_000), (7, 2)] {
                let p = v * n;
                let (q, r) = (p / d, p % d);
                let want = if 2 * r.abs() >= d { q + p.signum() } else { q };
                assert_eq!(Usd(v).mul_div(n, d), Usd(want), "{v} × {n} / {d}");
            }
        }
        // A platform share of a large bill: the product would overflow i128, the result does not.
        let big = Usd(10i128.pow(36) + 123_456_789);
        assert_eq!(big.mul_div(10_000_000_000, 1_000_000_000), Usd(10i128.pow(37) + 1_234_567_890));
    }
}
