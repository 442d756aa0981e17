//! Simulated time as an integer count of nanoseconds.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// A point in simulated time (or a duration), in whole nanoseconds since the start of a run.
///
/// Integer time makes sums exact and independent of evaluation order; `u64` nanoseconds
/// cover 584 years. Additions saturate instead of wrapping, and the event queue refuses
/// any event past [`SimTime::LIMIT`] (100 years), so a scenario whose clock would run
/// away (a rate limit of one request a century) stops with an error instead of looping
/// at the end of time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime(pub u64);

impl SimTime {
    /// Time zero: the start of every run.
    pub const ZERO: SimTime = SimTime(0);
    /// The largest representable time, used as "never".
    pub const NEVER: SimTime = SimTime(u64::MAX);
    /// The latest time an event may be scheduled at: 100 years of 365 days. Far below
    /// [`SimTime::NEVER`], so that a saturated sum is always past it.
    pub const LIMIT: SimTime = SimTime(100 * 365 * 86_400 * 1_000_000_000);
    const NS_PER_S: f64 = 1e9;

    /// Converts seconds to simulated time, rounding to the nearest nanosecond.
    /// Negative and NaN inputs become zero; values past the range saturate.
    #[inline]
    pub fn from_secs(secs: f64) -> SimTime {
        // NaN and negative products round to 0, and past the range the cast saturates
        // at `NEVER` (`u64::MAX`).
        SimTime(round_to_u64(secs * Self::NS_PER_S))
    }

    /// This time in seconds.
    #[inline]
    pub fn as_secs(self) -> f64 {
        self.0 as f64 / Self::NS_PER_S
    }

    /// `self - earlier`, or zero if `earlier` is later.
    #[inline]
    pub fn saturating_sub(self, earlier: SimTime) -> SimTime {
        SimTime(self.0.saturating_sub(earlier.0))
    }
}

/// `x.round() as u64` (to nearest, halves away from zero; NaN and negatives give 0,
/// values past `u64::MAX` saturate), without the call to the C library's `round` that
/// `f64::round` compiles to on x86-64 without SSE4.1: the simulator rounds every
/// duration and token count it draws.
///
/// Exact: below 2^52, `x - trunc(x)` is computed without error (Sterbenz), so comparing
/// it with one half decides the rounding as `round` does; from 2^52 on every `f64` is
/// a whole number and the saturating cast is exact.
#[inline(always)]
pub fn round_to_u64(x: f64) -> u64 {
    const TWO_52: f64 = 4_503_599_627_370_496.0;
    if (0.5..TWO_52).contains(&x) {
        // SAFETY: 0.5 <= x < 2^52, so the integer part of x fits an i64 (this is one
        // truncating conversion instead of the checked, saturating `as`).
        let whole = unsafe { x.to_int_unchecked::<i64>() };
        (whole + i64::from(x - whole as f64 >= 0.5)) as u64
    } else if x >= TWO_52 {
        x as u64
    } else {
        // NaN, negative, or below one half.
        0
    }
}

impl Add for SimTime {
    type Output = SimTime;
    #[inline]
    fn add(self, rhs: SimTime) -> SimTime {
        SimTime(self.0.saturating_add(rhs.0))
    }
}

impl AddAssign for SimTime {
    #[inline]
    fn add_assign(&mut self, rhs: SimTime) {
        *self = *self + rhs;
    }
}

impl Sub for SimTime {
    type Output = SimTime;
    #[inline]
    fn sub(self, rhs: SimTime) -> SimTime {
        self.saturating_sub(rhs)
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}s", self.as_secs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_seconds_to_the_nanosecond() {
        assert_eq!(SimTime::from_secs(1.5).0, 1_500_000_000);
        assert_eq!(SimTime::from_secs(1e-9).0, 1);
        assert_eq!(SimTime::from_secs(-3.0), SimTime::ZERO);
        assert_eq!(SimTime::from_secs(f64::NAN), SimTime::ZERO);
        assert_eq!(SimTime::from_secs(1e300), SimTime::NEVER);
        assert_eq!(SimTime::from_secs(2.25).as_secs(), 2.25);
    }

    #[test]
    fn round_to_u64_is_round_then_cast() {
        let two52 = 4_503_599_627_370_496.0f64;
        let mut xs = vec![
            0.0,
            -0.0,
            0.49999999999999994,
            0.5,
            1.5,
            2.5,
            -0.5,
            -2.5,
            1e-300,
            two52 - 0.5,
            two52 - 1.5,
            two52,
            two52 + 1.0,
            2.0 * two52 + 2.0,
            9.223372036854775e18,
            1.8446744073709552e19,
            1e300,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            f64::MIN_POSITIVE,
        ];
        // Every binade, with halves and their neighbours.
        for e in -60..70 {
            let b = 2f64.powi(e);
            for m in [1.0, 1.25, 1.5, 1.75, 1.9999999] {
                let x = b * m;
                xs.extend([x, x + 0.5, (x + 0.5).next_up(), (x + 0.5).next_down(), x.next_up(), x.next_down()]);
            }
        }
        let mut g = crate::engine::keyed::Keyed::new(3).at(&[1]);
        for _ in 0..100_000 {
            let u = g.uniform();
            xs.push(u * 1e4);
            xs.push((u * 64.0).exp2());
        }
        for x in xs {
            assert_eq!(round_to_u64(x), x.round() as u64, "{x:e}");
        }
    }

    #[test]
    fn arithmetic_saturates_instead_of_wrapping() {
        assert_eq!(SimTime(3) - SimTime(5), SimTime::ZERO);
        assert_eq!(SimTime::NEVER + SimTime(1), SimTime::NEVER);
    }
}
