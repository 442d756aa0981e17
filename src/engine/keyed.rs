//! Keyed random streams: common random numbers by construction.
//!
//! A [`Keyed`] holds one 64-bit key per replication (taken from the seeded ChaCha
//! stream machinery in [`super::rng`]). [`Keyed::at`] hashes a path of words, such as
//! (task, strategy, step, run, replica, attempt, purpose), into the start of a small
//! counter-based generator, [`KeyedRng`]. A draw therefore depends only on what it is
//! about, never on how many draws were made before it: changing one agent's parameter,
//! adding a step or a strategy, or drawing conditionally on a rate leaves every other
//! draw unchanged.
//!
//! Both the path hash and the generator are SplitMix64 (Steele, Lea and Flood, "Fast
//! splittable pseudorandom number generators", OOPSLA 2014), with Stafford's "Mix13"
//! finaliser: the generator is a Weyl sequence (`state += 0x9E37_79B9_7F4A_7C15`)
//! passed through the finaliser, which passes BigCrush; the path hash folds each word
//! in through the finaliser, so keys that differ in one word (adjacent tasks) give
//! unrelated streams. The code is ours, so the streams never change under a crate
//! upgrade. A path costs one multiply-xorshift round per word; a draw, one more.

use std::convert::Infallible;

use rand::TryRng;

/// The Weyl increment of SplitMix64 (2^64 / golden ratio, odd).
const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// Stafford's Mix13, the SplitMix64 finaliser: a bijection of `u64` with full avalanche.
#[inline(always)]
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The key of one replication: the root of all its keyed streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Keyed {
    key: u64,
}

impl Keyed {
    /// The streams under `key`.
    pub fn new(key: u64) -> Keyed {
        Keyed { key }
    }

    /// The stream at `path`. Paths of different lengths are kept apart by folding the
    /// length in last.
    #[inline]
    pub fn at(&self, path: &[u64]) -> KeyedRng {
        let mut h = self.key;
        for &w in path {
            h = mix64(h.wrapping_add(GAMMA) ^ w);
        }
        KeyedRng { state: mix64(h ^ (path.len() as u64).wrapping_mul(GAMMA)) }
    }

    /// The streams under `path`: `self.child(p).at(q)` is a stream of its own, hashed
    /// once for `p` however many `q` are drawn under it.
    #[inline]
    pub fn child(&self, path: &[u64]) -> Keyed {
        Keyed { key: self.at(path).state }
    }
}

/// A counter-based generator (SplitMix64) started at a keyed state. Implements rand's
/// [`TryRng`] (and so [`rand::Rng`]), so `rand_distr` distributions sample from it.
#[derive(Clone, Debug)]
pub struct KeyedRng {
    state: u64,
}

impl KeyedRng {
    /// The next 64 random bits.
    #[inline(always)]
    pub fn next_bits(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GAMMA);
        mix64(self.state)
    }

    /// A uniform number in `[0, 1)` with 53 random bits.
    #[inline(always)]
    pub fn uniform(&mut self) -> f64 {
        (self.next_bits() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

impl TryRng for KeyedRng {
    type Error = Infallible;

    #[inline(always)]
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok((self.next_bits() >> 32) as u32)
    }

    #[inline(always)]
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(self.next_bits())
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for chunk in dst.chunks_mut(8) {
            let b = self.next_bits().to_le_bytes();
            chunk.copy_from_slice(&b[..chunk.len()]);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use rand::RngExt;
    use rand_distr::{Distribution, StandardNormal};

    use super::*;

    /// Mean and variance of `n` uniforms from `f`: 1/2 and 1/12, to within 5 SE.
    fn check_uniform(what: &str, n: usize, mut f: impl FnMut(usize) -> f64) {
        let xs: Vec<f64> = (0..n).map(&mut f).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        // SE of the mean: sqrt(1/12 / n); of the variance: sqrt(1/180 / n).
        let nf = n as f64;
        assert!((mean - 0.5).abs() < 5.0 * (1.0 / 12.0 / nf).sqrt(), "{what}: mean {mean}");
        assert!((var - 1.0 / 12.0).abs() < 5.0 * (1.0 / 180.0 / nf).sqrt(), "{what}: variance {var}");
        assert!(xs.iter().all(|x| (0.0..1.0).contains(x)), "{what}: out of [0, 1)");
        // Lag-1 correlation: SE 1/sqrt(n).
        let c = xs.windows(2).map(|w| (w[0] - mean) * (w[1] - mean)).sum::<f64>() / ((n - 1) as f64 * var);
        assert!(c.abs() < 5.0 / nf.sqrt(), "{what}: lag-1 correlation {c}");
    }

    #[test]
    fn streams_are_uniform_and_adjacent_keys_are_uncorrelated() {
        let k = Keyed::new(42);
        let n = 200_000;
        // Along one stream.
        let mut g = k.at(&[7, 1, 2]);
        check_uniform("one stream", n, |_| g.uniform());
        // The first draw of adjacent keys, in each position of the path.
        check_uniform("adjacent tasks", n, |i| k.at(&[i as u64, 3, 0]).uniform());
        check_uniform("adjacent attempts", n, |i| k.at(&[5, 3, i as u64]).uniform());
        check_uniform("adjacent replication keys", n, |i| Keyed::new(i as u64).at(&[0, 0, 0]).uniform());
        // Standard normals through rand_distr: mean 0, variance 1.
        let zs: Vec<f64> = (0..n).map(|i| StandardNormal.sample(&mut k.at(&[i as u64, 9]))).collect();
        let mean = zs.iter().sum::<f64>() / n as f64;
        let var = zs.iter().map(|z| (z - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        assert!(mean.abs() < 5.0 / (n as f64).sqrt() && (var - 1.0).abs() < 5.0 * (2.0 / n as f64).sqrt(), "{mean} {var}");
    }

    #[test]
    fn a_stream_depends_on_its_whole_path_and_nothing_else() {
        let k = Keyed::new(1);
        let first = |p: &[u64]| k.at(p).next_bits();
        assert_eq!(first(&[1, 2, 3]), first(&[1, 2, 3]));
        assert_ne!(first(&[1, 2, 3]), first(&[1, 2, 4]));
        assert_ne!(first(&[1, 2, 3]), first(&[2, 1, 3]));
        assert_ne!(first(&[1, 2]), first(&[1, 2, 0]), "a trailing zero is not the same path");
        assert_ne!(Keyed::new(2).at(&[1, 2, 3]).next_bits(), first(&[1, 2, 3]));
        // rand's traits see the same bits.
        let mut a = k.at(&[4]);
        let mut b = k.at(&[4]);
        assert_eq!(a.random::<u64>(), b.next_bits());
    }

    #[test]
    fn the_streams_are_frozen() {
        // Pinned values: a change here changes every simulation's output.
        // The empty path under key 0 starts at state 0: SplitMix64 seeded with 0, whose
        // first output is the published reference value.
        let mut g = Keyed::new(0).at(&[]);
        assert_eq!(g.next_bits(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(Keyed::new(42).at(&[1, 2]).next_bits(), 0xE557_2CE4_E37B_B9F3);
    }
}
