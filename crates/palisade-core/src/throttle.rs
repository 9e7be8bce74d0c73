//! Failed-attempt throttling: counting over a window, then a lockout that grows exponentially.
//!
//! Shared by `palisade-password` (per account and per source address) and `palisade-totp`
//! (per user). A key is an opaque string that the calling crate builds; the throttle never learns
//! whether an account exists, so counting for unknown accounts works exactly like counting for
//! known ones and the answers cannot be told apart.
//!
//! The rule, for one key:
//! * failures are counted in a window that starts at the first failure;
//! * the `max_failures`-th failure inside the window locks the key for `lockout`, then
//!   `lockout * backoff_factor`, then `* backoff_factor²` … capped at `max_lockout`;
//! * when a lockout ends the failure count starts again (the lockout count is kept, so the next
//!   lockout is longer);
//! * a success clears the key; so does a quiet period of `max_lockout + window` with no failure.
//!
//! ```
//! use std::sync::Arc;
//! use palisade_core::ManualClock;
//! use palisade_core::throttle::{Decision, MemoryThrottleStore, Throttle, ThrottleKey, ThrottlePolicy};
//! use time::{Duration, macros::datetime};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let clock = ManualClock::new(datetime!(2026-01-01 00:00 UTC));
//! let policy = ThrottlePolicy { max_failures: 3, ..ThrottlePolicy::default() };
//! let throttle = Throttle::new(policy, Arc::new(MemoryThrottleStore::default()), Arc::new(clock.clone()));
//! let key = ThrottleKey::new("login-account", "alice");
//!
//! for _ in 0..2 { throttle.record_failure(&key).await?; }
//! assert!(matches!(throttle.record_failure(&key).await?, Decision::Locked { .. }));
//! assert!(matches!(throttle.check(&key).await?, Decision::Locked { .. }));
//! clock.advance(Duration::minutes(16));
//! assert!(matches!(throttle.check(&key).await?, Decision::Allowed { .. }));
//! # Ok::<(), palisade_core::throttle::ThrottleError>(())
//! # }).unwrap();
//! ```

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use serde::Deserialize;
use thiserror::Error;
use time::{Duration, OffsetDateTime};

use crate::clock::SharedClock;
use crate::error::ErrorClass;

/// The throttling rule. Loadable from configuration; all durations in seconds.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ThrottlePolicy {
    /// Failures within the window that trigger a lockout (at least 1).
    pub max_failures: u32,
    /// Length of the counting window, in seconds.
    pub window_seconds: u64,
    /// Length of the first lockout, in seconds.
    pub lockout_seconds: u64,
    /// Each further lockout is this many times longer than the previous one (1 = constant).
    pub backoff_factor: u32,
    /// The longest lockout, in seconds.
    pub max_lockout_seconds: u64,
}

impl Default for ThrottlePolicy {
    /// 5 failures in 15 minutes lock for 15 minutes, doubling up to 24 hours.
    fn default() -> Self {
        Self {
            max_failures: 5,
            window_seconds: 15 * 60,
            lockout_seconds: 15 * 60,
            backoff_factor: 2,
            max_lockout_seconds: 24 * 3600,
        }
    }
}

impl ThrottlePolicy {
    /// Every problem with the policy at once (empty when it is valid).
    pub fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.max_failures == 0 {
            problems.push("max_failures is 0: set it to 1 or more".to_owned());
        }
        if self.window_seconds == 0 {
            problems.push("window_seconds is 0: set a window of at least 1 second".to_owned());
        }
        if self.backoff_factor == 0 {
            problems.push("backoff_factor is 0: use 1 for constant lockouts, 2 to double".to_owned());
        }
        if self.max_lockout_seconds < self.lockout_seconds {
            problems.push(format!(
                "max_lockout_seconds ({}) is below lockout_seconds ({}): raise it",
                self.max_lockout_seconds, self.lockout_seconds
            ));
        }
        problems
    }

    fn window(&self) -> Duration {
        secs(self.window_seconds)
    }

    /// Length of the lockout number `n` (0-based), capped.
    fn lockout_length(&self, n: u32) -> Duration {
        let factor = u64::from(self.backoff_factor.max(1)).saturating_pow(n);
        secs(self.lockout_seconds.saturating_mul(factor).min(self.max_lockout_seconds))
    }
}

fn secs(s: u64) -> Duration {
    Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX))
}

/// What is being throttled: a scope chosen by the calling crate and a subject within it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ThrottleKey(String);

impl ThrottleKey {
    /// A key for `subject` (an account name, an address, a user id) in `scope`.
    pub fn new(scope: &str, subject: &str) -> Self {
        Self(format!("{scope}:{subject}"))
    }

    /// The key as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ThrottleKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ThrottleKey({:?})", self.0)
    }
}

/// What a store keeps for one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleState {
    /// Failures counted in the current window.
    pub failures: u32,
    /// When the current window started.
    pub window_start: OffsetDateTime,
    /// When the last failure happened.
    pub last_failure: OffsetDateTime,
    /// How many lockouts this key has had since it was last cleared.
    pub lockouts: u32,
    /// The end of the current lockout, if one is in force or was the last event.
    pub locked_until: Option<OffsetDateTime>,
}

impl ThrottleState {
    /// The state after one more failure at `now`. Stores call this inside their atomic update.
    pub fn after_failure(prev: Option<&ThrottleState>, now: OffsetDateTime, policy: &ThrottlePolicy) -> Self {
        let fresh = ThrottleState {
            failures: 0,
            window_start: now,
            last_failure: now,
            lockouts: 0,
            locked_until: None,
        };
        let quiet = policy.window() + secs(policy.max_lockout_seconds);
        let mut state = match prev {
            Some(p) if now - p.last_failure <= quiet => p.clone(),
            _ => fresh,
        };
        if let Some(until) = state.locked_until {
            if now < until {
                // Failures during a lockout do not extend it: the caller should not have tried.
                state.last_failure = now;
                return state;
            }
            // The lockout is over: count again from zero, remember how many there were.
            state.failures = 0;
            state.window_start = now;
            state.locked_until = None;
        }
        if now - state.window_start > policy.window() {
            state.failures = 0;
            state.window_start = now;
        }
        state.failures = state.failures.saturating_add(1);
        state.last_failure = now;
        if state.failures >= policy.max_failures.max(1) {
            state.locked_until = Some(now + policy.lockout_length(state.lockouts));
            state.lockouts = state.lockouts.saturating_add(1);
        }
        state
    }

    /// The decision this state gives at `now`.
    pub fn decision(&self, now: OffsetDateTime, policy: &ThrottlePolicy) -> Decision {
        match self.locked_until {
            Some(until) if now < until => Decision::Locked { until, retry_after: until - now },
            _ => {
                let counting = self.locked_until.is_none() && now - self.window_start <= policy.window();
                let used = if counting { self.failures } else { 0 };
                Decision::Allowed { remaining: policy.max_failures.max(1).saturating_sub(used) }
            }
        }
    }
}

/// Whether another attempt may be made now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead; `remaining` failures are left before a lockout.
    Allowed {
        /// Failures left in the current window.
        remaining: u32,
    },
    /// Locked: refuse the attempt without checking it, and tell the caller to wait.
    Locked {
        /// When the lockout ends.
        until: OffsetDateTime,
        /// How long to wait.
        retry_after: Duration,
    },
}

impl Decision {
    /// Whether an attempt may be made.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allowed { .. })
    }
}

/// Errors from throttling.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ThrottleError {
    /// The store failed; treat the attempt as refused (fail closed) and retry later.
    #[error("the throttle store failed: {0}; refuse the attempt and retry later")]
    Store(String),
    /// The in-memory store is at capacity with live entries.
    #[error(
        "the throttle store holds {0} live keys, its capacity: refuse the attempt, raise the capacity or use a shared store"
    )]
    Full(usize),
}

impl ThrottleError {
    /// Always [`ErrorClass::Unavailable`].
    pub fn class(&self) -> ErrorClass {
        ErrorClass::Unavailable
    }
}

/// Where throttle state lives. Implementations must make `record_failure` atomic per key.
#[async_trait]
pub trait ThrottleStore: Send + Sync + fmt::Debug {
    /// The state of `key`, if any.
    async fn get(&self, key: &ThrottleKey) -> Result<Option<ThrottleState>, ThrottleError>;
    /// Atomically replaces the state of `key` with [`ThrottleState::after_failure`] and returns it.
    async fn record_failure(
        &self,
        key: &ThrottleKey,
        now: OffsetDateTime,
        policy: &ThrottlePolicy,
    ) -> Result<ThrottleState, ThrottleError>;
    /// Forgets `key` (after a success, or an admin unlock).
    async fn clear(&self, key: &ThrottleKey) -> Result<(), ThrottleError>;
}

/// An in-memory [`ThrottleStore`] for one process, with a capacity.
///
/// When full it first drops keys whose state no longer matters (quiet for longer than the
/// policy's reset period); if every key is still live it refuses with [`ThrottleError::Full`]
/// rather than forget a lockout.
#[derive(Debug)]
pub struct MemoryThrottleStore {
    map: Mutex<HashMap<ThrottleKey, ThrottleState>>,
    capacity: usize,
}

impl Default for MemoryThrottleStore {
    /// Room for one million keys.
    fn default() -> Self {
        Self::with_capacity(1_000_000)
    }
}

impl MemoryThrottleStore {
    /// A store that holds at most `capacity` keys.
    pub fn with_capacity(capacity: usize) -> Self {
        Self { map: Mutex::new(HashMap::new()), capacity }
    }

    /// Number of keys held.
    pub fn len(&self) -> usize {
        self.map.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl ThrottleStore for MemoryThrottleStore {
    async fn get(&self, key: &ThrottleKey) -> Result<Option<ThrottleState>, ThrottleError> {
        Ok(self.map.lock().unwrap_or_else(PoisonError::into_inner).get(key).cloned())
    }

    async fn record_failure(
        &self,
        key: &ThrottleKey,
        now: OffsetDateTime,
        policy: &ThrottlePolicy,
    ) -> Result<ThrottleState, ThrottleError> {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        if !map.contains_key(key) && map.len() >= self.capacity {
            let quiet = policy.window() + secs(policy.max_lockout_seconds);
            map.retain(|_, s| now - s.last_failure <= quiet || s.locked_until.is_some_and(|u| u > now));
            if map.len() >= self.capacity {
                return Err(ThrottleError::Full(map.len()));
            }
        }
        let next = ThrottleState::after_failure(map.get(key), now, policy);
        map.insert(key.clone(), next.clone());
        Ok(next)
    }

    async fn clear(&self, key: &ThrottleKey) -> Result<(), ThrottleError> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner).remove(key);
        Ok(())
    }
}

/// A throttle: a policy, a store and a clock.
#[derive(Debug, Clone)]
pub struct Throttle {
    policy: ThrottlePolicy,
    store: Arc<dyn ThrottleStore>,
    clock: SharedClock,
}

impl Throttle {
    /// A throttle applying `policy` with state in `store`.
    pub fn new(policy: ThrottlePolicy, store: Arc<dyn ThrottleStore>, clock: SharedClock) -> Self {
        Self { policy, store, clock }
    }

    /// The policy in force.
    pub fn policy(&self) -> &ThrottlePolicy {
        &self.policy
    }

    /// Whether `key` may make an attempt now. Call before checking a credential.
    pub async fn check(&self, key: &ThrottleKey) -> Result<Decision, ThrottleError> {
        let now = self.clock.now();
        Ok(match self.store.get(key).await? {
            Some(state) => state.decision(now, &self.policy),
            None => Decision::Allowed { remaining: self.policy.max_failures.max(1) },
        })
    }

    /// Records a failed attempt and returns the decision for the next one.
    pub async fn record_failure(&self, key: &ThrottleKey) -> Result<Decision, ThrottleError> {
        let now = self.clock.now();
        let state = self.store.record_failure(key, now, &self.policy).await?;
        Ok(state.decision(now, &self.policy))
    }

    /// Records a success: the key starts clean.
    pub async fn record_success(&self, key: &ThrottleKey) -> Result<(), ThrottleError> {
        self.store.clear(key).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Clock, ManualClock};
    use time::macros::datetime;

    fn setup(policy: ThrottlePolicy) -> (Throttle, ManualClock) {
        let clock = ManualClock::new(datetime!(2026-01-01 00:00 UTC));
        let t = Throttle::new(policy, Arc::new(MemoryThrottleStore::default()), Arc::new(clock.clone()));
        (t, clock)
    }

    fn policy() -> ThrottlePolicy {
        ThrottlePolicy {
            max_failures: 3,
            window_seconds: 60,
            lockout_seconds: 100,
            backoff_factor: 2,
            max_lockout_seconds: 350,
        }
    }

    #[tokio::test]
    async fn locks_after_max_failures_and_backs_off() {
        let (t, clock) = setup(policy());
        let k = ThrottleKey::new("t", "alice");
        assert_eq!(t.record_failure(&k).await.unwrap(), Decision::Allowed { remaining: 2 });
        assert_eq!(t.record_failure(&k).await.unwrap(), Decision::Allowed { remaining: 1 });
        let d = t.record_failure(&k).await.unwrap();
        assert_eq!(
            d,
            Decision::Locked {
                until: clock.now() + Duration::seconds(100),
                retry_after: Duration::seconds(100)
            }
        );
        clock.advance(Duration::seconds(99));
        assert!(!t.check(&k).await.unwrap().is_allowed());
        clock.advance(Duration::seconds(1));
        assert_eq!(t.check(&k).await.unwrap(), Decision::Allowed { remaining: 3 });
        // Second lockout doubles, third is capped at 350.
        for _ in 0..3 {
            t.record_failure(&k).await.unwrap();
        }
        assert_eq!(
            t.check(&k).await.unwrap(),
            Decision::Locked {
                until: clock.now() + Duration::seconds(200),
                retry_after: Duration::seconds(200)
            }
        );
        clock.advance(Duration::seconds(200));
        for _ in 0..3 {
            t.record_failure(&k).await.unwrap();
        }
        assert!(
            matches!(t.check(&k).await.unwrap(), Decision::Locked { retry_after, .. } if retry_after == Duration::seconds(350))
        );
    }

    #[tokio::test]
    async fn failures_during_lockout_do_not_extend_it() {
        let (t, clock) = setup(policy());
        let k = ThrottleKey::new("t", "bob");
        for _ in 0..3 {
            t.record_failure(&k).await.unwrap();
        }
        let until = clock.now() + Duration::seconds(100);
        clock.advance(Duration::seconds(50));
        assert_eq!(
            t.record_failure(&k).await.unwrap(),
            Decision::Locked { until, retry_after: Duration::seconds(50) }
        );
    }

    #[tokio::test]
    async fn window_expiry_and_success_reset() {
        let (t, clock) = setup(policy());
        let k = ThrottleKey::new("t", "carol");
        t.record_failure(&k).await.unwrap();
        t.record_failure(&k).await.unwrap();
        clock.advance(Duration::seconds(61));
        assert_eq!(t.check(&k).await.unwrap(), Decision::Allowed { remaining: 3 });
        assert_eq!(t.record_failure(&k).await.unwrap(), Decision::Allowed { remaining: 2 });
        t.record_success(&k).await.unwrap();
        assert_eq!(t.check(&k).await.unwrap(), Decision::Allowed { remaining: 3 });
    }

    #[tokio::test]
    async fn keys_are_independent_and_unknown_keys_look_alike() {
        let (t, _clock) = setup(policy());
        let a = ThrottleKey::new("acct", "exists");
        let b = ThrottleKey::new("acct", "does-not-exist");
        for _ in 0..3 {
            t.record_failure(&a).await.unwrap();
            t.record_failure(&b).await.unwrap();
        }
        assert_eq!(t.check(&a).await.unwrap(), t.check(&b).await.unwrap());
        assert!(t.check(&ThrottleKey::new("acct", "other")).await.unwrap().is_allowed());
    }

    #[tokio::test]
    async fn full_store_refuses_instead_of_forgetting() {
        let clock = ManualClock::new(datetime!(2026-01-01 00:00 UTC));
        let store = Arc::new(MemoryThrottleStore::with_capacity(2));
        let t = Throttle::new(policy(), store.clone(), Arc::new(clock.clone()));
        t.record_failure(&ThrottleKey::new("t", "1")).await.unwrap();
        t.record_failure(&ThrottleKey::new("t", "2")).await.unwrap();
        assert!(matches!(t.record_failure(&ThrottleKey::new("t", "3")).await, Err(ThrottleError::Full(2))));
        // Once the old keys are stale they make room.
        clock.advance(Duration::seconds(60 + 350 + 1));
        assert!(t.record_failure(&ThrottleKey::new("t", "3")).await.is_ok());
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn policy_validation_lists_every_problem() {
        let bad = ThrottlePolicy {
            max_failures: 0,
            window_seconds: 0,
            lockout_seconds: 10,
            backoff_factor: 0,
            max_lockout_seconds: 5,
        };
        assert_eq!(bad.validate().len(), 4);
        assert!(ThrottlePolicy::default().validate().is_empty());
        let p: ThrottlePolicy = serde_json::from_str(r#"{"max_failures": 10}"#).unwrap();
        assert_eq!(p.max_failures, 10);
        assert!(serde_json::from_str::<ThrottlePolicy>(r#"{"max_failure": 10}"#).is_err());
    }
}
