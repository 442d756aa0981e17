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
        if secs.is_nan() || secs <= 0.0 {
            return SimTime::ZERO;
        }
        let ns = (secs * Self::NS_PER_S).round();
        if ns >= u64::MAX as f64 { SimTime::NEVER } else { SimTime(ns as u64) }
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
    fn arithmetic_saturates_instead_of_wrapping() {
        assert_eq!(SimTime(3) - SimTime(5), SimTime::ZERO);
        assert_eq!(SimTime::NEVER + SimTime(1), SimTime::NEVER);
    }
}
