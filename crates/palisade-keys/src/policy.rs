//! [`KeyPolicy`]: cache limits, wrap limits, the destruction window, the segment size.

use serde::Deserialize;

use crate::format::{DEFAULT_SEGMENT_SIZE, MAX_SEGMENT_SIZE, MIN_SEGMENT_SIZE};

/// Tunables of a [`KeyManager`](crate::KeyManager). The defaults are the secure choice.
///
/// ```
/// let policy: palisade_keys::KeyPolicy = serde_json::from_str(r#"{ "cache_max_age_secs": 60 }"#)?;
/// assert!(policy.validate().is_ok());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeyPolicy {
    /// How long an unwrapped key-encryption key stays cached (seconds, 1..=86400; default 300).
    pub cache_max_age_secs: u64,
    /// How many operations may use one cache entry before it is reloaded (default 1,000,000).
    pub cache_max_uses: u64,
    /// How many keyrings the cache holds at most (default 10,000).
    pub cache_capacity: usize,
    /// Data-key wraps allowed under one key version before rotation is forced (default 2^30,
    /// well below the 2^32 random-nonce limit of NIST SP 800-38D).
    pub max_wraps_per_version: u64,
    /// Wraps reserved in the keyring store at a time by one process (default 65,536).
    pub wrap_reservation: u64,
    /// Days between scheduling destruction and the keys being destroyed (1..=365; default 30).
    pub destruction_window_days: u32,
    /// Plaintext bytes per ciphertext segment (16..=16 MiB; default 64 KiB).
    pub segment_size: u32,
    /// Length of the periods of period keys, seconds (60..=31,622,400, i.e. a minute to 366
    /// days; default 3600: one key per tenant, data class and hour). Periods are aligned on
    /// the Unix epoch.
    pub period_secs: u32,
}

impl Default for KeyPolicy {
    fn default() -> Self {
        Self {
            cache_max_age_secs: 300,
            cache_max_uses: 1_000_000,
            cache_capacity: 10_000,
            max_wraps_per_version: 1 << 30,
            wrap_reservation: 1 << 16,
            destruction_window_days: 30,
            segment_size: DEFAULT_SEGMENT_SIZE,
            period_secs: 3600,
        }
    }
}

impl KeyPolicy {
    /// Every problem with the policy, or `Ok`.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        if !(1..=86_400).contains(&self.cache_max_age_secs) {
            problems.push(format!("cache_max_age_secs is {}; use 1..=86400", self.cache_max_age_secs));
        }
        if self.cache_max_uses == 0 {
            problems.push("cache_max_uses is 0; use at least 1".to_owned());
        }
        if self.cache_capacity == 0 {
            problems.push("cache_capacity is 0; use at least 1".to_owned());
        }
        if self.max_wraps_per_version == 0 || self.max_wraps_per_version > 1 << 32 {
            problems.push(format!(
                "max_wraps_per_version is {}; use 1..=2^32 (2^30 recommended)",
                self.max_wraps_per_version
            ));
        }
        if self.wrap_reservation == 0 || self.wrap_reservation > self.max_wraps_per_version {
            problems.push(format!(
                "wrap_reservation is {}; use 1..=max_wraps_per_version ({})",
                self.wrap_reservation, self.max_wraps_per_version
            ));
        }
        if !(1..=365).contains(&self.destruction_window_days) {
            problems
                .push(format!("destruction_window_days is {}; use 1..=365", self.destruction_window_days));
        }
        if !(MIN_SEGMENT_SIZE..=MAX_SEGMENT_SIZE).contains(&self.segment_size) {
            problems.push(format!(
                "segment_size is {}; use {MIN_SEGMENT_SIZE}..={MAX_SEGMENT_SIZE}",
                self.segment_size
            ));
        }
        if !(60..=31_622_400).contains(&self.period_secs) {
            problems.push(format!("period_secs is {}; use 60..=31622400", self.period_secs));
        }
        if problems.is_empty() { Ok(()) } else { Err(problems) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_every_problem() {
        let p =
            KeyPolicy { cache_max_age_secs: 0, cache_capacity: 0, segment_size: 1, ..KeyPolicy::default() };
        assert_eq!(p.validate().unwrap_err().len(), 3);
        assert!(KeyPolicy::default().validate().is_ok());
        assert!(serde_json::from_str::<KeyPolicy>(r#"{"nope":1}"#).is_err());
    }
}
