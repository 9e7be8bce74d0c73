//! A concurrency limiter for password hashing.
//!
//! Each Argon2id hash holds its whole memory cost (19 MiB at the OWASP default) for its whole
//! run. Without a bound, a flood of login requests would allocate `requests × m` and drive the
//! host out of memory. [`HashLimiter`] lets at most `max_concurrent` hashes run at once, queues
//! at most `max_waiting` more for at most `max_wait`, and sheds the rest with
//! [`Error::Overloaded`] (answer those requests with HTTP 503 and `Retry-After`).
//!
//! Peak hashing memory is therefore `max_concurrent × memory_kib` KiB.
//!
//! ```
//! use std::time::Duration;
//! use palisade_password::HashLimiter;
//!
//! let limiter = HashLimiter::new(2, 8, Duration::from_secs(2));
//! let a = limiter.acquire()?;
//! let b = limiter.acquire()?;
//! assert_eq!(limiter.in_flight(), 2);
//! drop((a, b));
//! assert_eq!(limiter.in_flight(), 0);
//! # Ok::<(), palisade_password::Error>(())
//! ```

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

#[derive(Debug, Default)]
struct State {
    running: usize,
    waiting: usize,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    freed: Condvar,
}

/// Bounds how many password hashes run (and wait) at once. Cheap to clone; clones share slots.
#[derive(Debug, Clone)]
pub struct HashLimiter {
    shared: Arc<Shared>,
    max_concurrent: usize,
    max_waiting: usize,
    max_wait: Duration,
}

impl Default for HashLimiter {
    /// One slot per CPU core, 32 waiting per slot, 5 seconds of queueing at most.
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map(usize::from).unwrap_or(2);
        Self::new(cores, cores.saturating_mul(32), Duration::from_secs(5))
    }
}

impl HashLimiter {
    /// At most `max_concurrent` (at least 1) hashes at once, `max_waiting` queued for at most
    /// `max_wait` each.
    pub fn new(max_concurrent: usize, max_waiting: usize, max_wait: Duration) -> Self {
        Self {
            shared: Arc::new(Shared { state: Mutex::new(State::default()), freed: Condvar::new() }),
            max_concurrent: max_concurrent.max(1),
            max_waiting,
            max_wait,
        }
    }

    /// The process-wide limiter (the [`Default`] configuration) that every `Hasher` uses unless
    /// given another one, so that several hashers in one process share one bound.
    pub fn global() -> HashLimiter {
        static GLOBAL: std::sync::OnceLock<HashLimiter> = std::sync::OnceLock::new();
        GLOBAL.get_or_init(HashLimiter::default).clone()
    }

    /// The concurrency bound.
    pub fn max_concurrent(&self) -> usize {
        self.max_concurrent
    }

    /// Hashes running now.
    pub fn in_flight(&self) -> usize {
        self.lock().running
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes a slot, blocking the current thread for at most `max_wait`. Call it from a blocking
    /// context (a plain thread or `tokio::task::spawn_blocking`), never on an async worker.
    pub fn acquire(&self) -> Result<HashPermit> {
        let mut state = self.lock();
        if state.running < self.max_concurrent {
            state.running += 1;
            return Ok(HashPermit { shared: self.shared.clone() });
        }
        if state.waiting >= self.max_waiting {
            return Err(Error::Overloaded { in_flight: state.running, waiting: state.waiting });
        }
        state.waiting += 1;
        let deadline = Instant::now() + self.max_wait;
        loop {
            let now = Instant::now();
            if now >= deadline {
                state.waiting -= 1;
                return Err(Error::Overloaded { in_flight: state.running, waiting: state.waiting });
            }
            let (guard, _) =
                self.shared.freed.wait_timeout(state, deadline - now).unwrap_or_else(PoisonError::into_inner);
            state = guard;
            if state.running < self.max_concurrent {
                state.waiting -= 1;
                state.running += 1;
                return Ok(HashPermit { shared: self.shared.clone() });
            }
        }
    }
}

/// A running slot; released on drop.
#[derive(Debug)]
pub struct HashPermit {
    shared: Arc<Shared>,
}

impl Drop for HashPermit {
    fn drop(&mut self) {
        let mut state = self.shared.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.running = state.running.saturating_sub(1);
        drop(state);
        self.shared.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sheds_when_queue_is_full_and_times_out() {
        let l = HashLimiter::new(1, 0, Duration::from_millis(10));
        let p = l.acquire().unwrap();
        assert!(matches!(l.acquire(), Err(Error::Overloaded { in_flight: 1, waiting: 0 })));
        let l2 = HashLimiter::new(1, 1, Duration::from_millis(20));
        let _p2 = l2.acquire().unwrap();
        assert!(matches!(l2.acquire(), Err(Error::Overloaded { .. })));
        drop(p);
        assert!(l.acquire().is_ok());
    }

    #[test]
    fn waiter_gets_the_freed_slot() {
        let l = HashLimiter::new(1, 4, Duration::from_secs(10));
        let p = l.acquire().unwrap();
        let l2 = l.clone();
        let t = std::thread::spawn(move || l2.acquire().map(|_| ()));
        std::thread::sleep(Duration::from_millis(20));
        drop(p);
        assert!(t.join().unwrap().is_ok());
        assert_eq!(l.in_flight(), 0);
    }

    #[test]
    fn never_more_than_max_concurrent() {
        let l = HashLimiter::new(2, 64, Duration::from_secs(10));
        let peak = Arc::new(Mutex::new((0usize, 0usize)));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let l = l.clone();
                let peak = peak.clone();
                std::thread::spawn(move || {
                    let _p = l.acquire().unwrap();
                    {
                        let mut g = peak.lock().unwrap();
                        g.0 += 1;
                        g.1 = g.1.max(g.0);
                    }
                    std::thread::sleep(Duration::from_millis(5));
                    peak.lock().unwrap().0 -= 1;
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert!(peak.lock().unwrap().1 <= 2);
    }
}
