//! Exact decimal reading of JSON number literals.
//!
//! The price map writes prices per token as JSON numbers (`2.5e-06`, `0.00000125`,
//! `3E-7`). Read through `f64`, `0.0000011 × 1e12` is not an integer; read as the decimal it
//! is written as, it is exactly 1,100,000 pico-dollars. This module does the latter.

/// A JSON number literal scaled by `10^scale` and rounded to the nearest integer (half
/// away from zero): `(value, exact)`, where `exact` says no rounding happened. `None` for
/// text that is not a JSON number or a value beyond `i128`.
pub fn scaled(lit: &str, scale: u32) -> Option<(i128, bool)> {
    let s = lit.trim();
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let (mant, exp) = match s.find(['e', 'E']) {
        Some(i) => {
            let e = &s[i + 1..];
            let e = e.strip_prefix('+').unwrap_or(e);
            if e.is_empty() || !e.trim_start_matches('-').bytes().all(|b| b.is_ascii_digit()) || e.len() > 6 {
                return None;
            }
            (&s[..i], e.parse::<i64>().ok()?)
        }
        None => (s, 0),
    };
    let (int, frac) = match mant.split_once('.') {
        Some((a, b)) => (a, b),
        None => (mant, ""),
    };
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if mant.contains('.') && frac.is_empty() {
        return None;
    }
    let digits: String = format!("{int}{frac}").trim_start_matches('0').to_string();
    // Trailing zeros carry no value: move them into the exponent to keep the integer small.
    let trimmed = digits.trim_end_matches('0');
    let shift = exp - frac.len() as i64 + scale as i64 + (digits.len() - trimmed.len()) as i64;
    if trimmed.is_empty() {
        return Some((0, true));
    }
    if trimmed.len() > 36 {
        return None;
    }
    let m: i128 = trimmed.parse().ok()?;
    let (v, exact) = if shift >= 0 {
        let p = 10i128.checked_pow(u32::try_from(shift).ok()?)?;
        (m.checked_mul(p)?, true)
    } else {
        let k = u32::try_from(-shift).ok()?;
        match 10i128.checked_pow(k) {
            Some(p) => {
                let (q, r) = (m / p, m % p);
                (if 2 * r >= p { q + 1 } else { q }, r == 0)
            }
            // Smaller than 10^-38 of a unit: rounds to zero.
            None => (0, false),
        }
    };
    Some((if neg { -v } else { v }, exact))
}

#[cfg(test)]
mod tests {
    use super::scaled;

    #[test]
    fn reads_the_literal_not_its_float() {
        // 1.1e-6 USD per token = 1,100,000 pico-dollars; via f64 it is 1099999.9999999998.
        assert_eq!(scaled("0.0000011", 12), Some((1_100_000, true)));
        assert_eq!(scaled("1.1e-06", 12), Some((1_100_000, true)));
        assert_eq!(scaled("2.75E-7", 12), Some((275_000, true)));
        assert_eq!(scaled("0.035", 12), Some((35_000_000_000, true)));
        assert_eq!(scaled("1e-05", 12), Some((10_000_000, true)));
        assert_eq!(scaled("0.0", 12), Some((0, true)));
        assert_eq!(scaled("0", 12), Some((0, true)));
        assert_eq!(scaled("4096.0", 0), Some((4096, true)));
        assert_eq!(scaled("200000", 0), Some((200_000, true)));
        assert_eq!(scaled("-2.5", 1), Some((-25, true)));
        assert_eq!(scaled("1E+3", 0), Some((1000, true)));
    }

    #[test]
    fn rounds_what_is_finer_than_the_scale() {
        // Half a pico-dollar rounds away from zero; float artefacts round away.
        assert_eq!(scaled("3.59375E-8", 12), Some((35_938, false)));
        assert_eq!(scaled("2.0000000000000002E-7", 12), Some((200_000, false)));
        assert_eq!(scaled("0.0000029999900000000002", 12), Some((2_999_990, false)));
        assert_eq!(scaled("1e-40", 12), Some((0, false)));
    }

    #[test]
    fn refuses_what_is_not_a_number() {
        for bad in ["", "abc", "1.", ".5", "1e", "--1", "1e-", "\"1\"", "1.2.3", "1e99999999"] {
            assert_eq!(scaled(bad, 12), None, "{bad}");
        }
        assert_eq!(scaled("1e40", 12), None, "overflow");
    }
}
