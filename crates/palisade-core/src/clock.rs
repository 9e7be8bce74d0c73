//! Time, behind a trait, so that every expiry rule can be tested without sleeping.
//!
//! Every time-dependent palisade API takes a [`Clock`] (usually as a [`SharedClock`]). Production
//! code uses [`SystemClock`]; tests use [`ManualClock`] and move it forward by hand.
//!
//! ```
//! use std::sync::Arc;
//! use palisade_core::{Clock, ManualClock, SharedClock};
//! use time::{Duration, macros::datetime};
//!
//! let manual = ManualClock::new(datetime!(2026-03-01 12:00 UTC));
//! let shared: SharedClock = Arc::new(manual.clone());
//! manual.advance(Duration::hours(1));
//! assert_eq!(shared.now(), datetime!(2026-03-01 13:00 UTC));
//! ```

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use time::{Duration, OffsetDateTime};

/// A source of the current time (UTC).
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current instant.
    fn now(&self) -> OffsetDateTime;
}

/// A clock that can be shared between components.
pub type SharedClock = Arc<dyn Clock>;

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that only moves when told to. Clones share the same time.
#[derive(Clone)]
pub struct ManualClock {
    now: Arc<Mutex<OffsetDateTime>>,
}

impl ManualClock {
    /// A clock stopped at `start`.
    pub fn new(start: OffsetDateTime) -> Self {
        Self { now: Arc::new(Mutex::new(start)) }
    }

    /// Moves the clock by `by` (which may be negative, to test clocks that step back).
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        *now += by;
    }

    /// Sets the clock to `to`.
    pub fn set(&self, to: OffsetDateTime) {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner) = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ManualClock").field(&self.now()).finish()
    }
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> OffsetDateTime {
        (**self).now()
    }
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> OffsetDateTime {
        (**self).now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new(datetime!(2026-01-01 00:00 UTC));
        assert_eq!(c.now(), c.now());
        c.advance(Duration::seconds(30));
        assert_eq!(c.now(), datetime!(2026-01-01 00:00:30 UTC));
        c.advance(Duration::seconds(-60));
        assert_eq!(c.now(), datetime!(2025-12-31 23:59:30 UTC));
        c.set(datetime!(2030-06-01 08:00 UTC));
        assert_eq!(c.now(), datetime!(2030-06-01 08:00 UTC));
    }

    #[test]
    fn clones_share_time() {
        let a = ManualClock::new(datetime!(2026-01-01 00:00 UTC));
        let b = a.clone();
        let shared: SharedClock = Arc::new(a.clone());
        a.advance(Duration::days(1));
        assert_eq!(b.now(), datetime!(2026-01-02 00:00 UTC));
        assert_eq!(shared.now(), b.now());
    }

    #[test]
    fn system_clock_is_utc_and_recent() {
        let now = SystemClock.now();
        assert_eq!(now.offset(), time::UtcOffset::UTC);
        assert!(now.year() >= 2024);
    }
}
