//! Reconnection timing: the first retry at once (with a little jitter), then exponential
//! backoff with jitter (1 s doubling to 30 s, ±20 %), all inside the reconnection window.
//! Randomness comes from [`Rng`], seeded by the driver, so tests replay exact sequences.

/// A source of randomness for jitter and `op_id`s (SplitMix64: small, fast, good enough for
/// spreading retries; never used for anything secret).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (the driver seeds it from the OS).
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Backoff settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// The delay before the second attempt, in ms (1 s).
    pub initial_ms: u64,
    /// The longest delay, in ms (30 s).
    pub max_ms: u64,
    /// The jitter, as a fraction of the delay (0.2: ±20 %).
    pub jitter: f64,
    /// The most jitter on the first, immediate retry, in ms.
    pub first_jitter_ms: u64,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial_ms: 1_000,
            max_ms: 30_000,
            jitter: 0.2,
            first_jitter_ms: 100,
        }
    }
}

impl Backoff {
    /// The delay before retry number `retry` (0: the first retry after a loss), with jitter.
    pub fn delay_ms(&self, retry: u32, rng: &mut Rng) -> u64 {
        if retry == 0 {
            return (rng.unit() * self.first_jitter_ms as f64) as u64;
        }
        let base = self
            .initial_ms
            .saturating_mul(1u64 << (retry - 1).min(32))
            .min(self.max_ms) as f64;
        let spread = base * self.jitter * (2.0 * rng.unit() - 1.0);
        (base + spread).max(0.0) as u64
    }

    /// The delay before the first retry after a `slow_consumer` close: as if one retry had
    /// already failed, so the server gets room before the client returns.
    pub fn after_slow_consumer_ms(&self, rng: &mut Rng) -> u64 {
        self.delay_ms(1, rng)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_from_one_second_to_thirty_within_twenty_percent() {
        let b = Backoff::default();
        let mut rng = Rng::new(7);
        assert!(
            b.delay_ms(0, &mut rng) <= 100,
            "the first retry is immediate"
        );
        for (retry, base) in [
            (1, 1_000),
            (2, 2_000),
            (3, 4_000),
            (4, 8_000),
            (5, 16_000),
            (6, 30_000),
            (40, 30_000),
        ] {
            for _ in 0..100 {
                let d = b.delay_ms(retry, &mut rng) as f64;
                assert!(
                    d >= base as f64 * 0.8 && d <= base as f64 * 1.2,
                    "retry {retry}: {d}"
                );
            }
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_sequence() {
        let (mut a, mut b) = (Rng::new(42), Rng::new(42));
        for _ in 0..10 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        let u = Rng::new(1).unit();
        assert!((0.0..1.0).contains(&u));
    }
}
