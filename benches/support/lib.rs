//! Fixtures shared by palisade's benches and examples.
//!
//! Benches live in `benches/<capability>.rs`, one file per capability; data that more than one
//! of them (or the tour) needs is generated here, deterministically, so every run measures the
//! same inputs.

pub mod rbac_world;

/// A tiny deterministic pseudo-random generator (SplitMix64) for building bench worlds.
///
/// Not for secrets: palisade's secrets come only from the OS CSPRNG. This exists so that a bench
/// builds the same world on every run.
#[derive(Debug, Clone)]
pub struct BenchRng(u64);

impl BenchRng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 pseudo-random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `0..bound` (`bound` > 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::BenchRng;

    #[test]
    fn same_seed_same_sequence() {
        let mut a = BenchRng::new(7);
        let mut b = BenchRng::new(7);
        let xs: Vec<u64> = (0..8).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..8).map(|_| b.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(BenchRng::new(8).next_u64(), xs[0]);
    }
}
