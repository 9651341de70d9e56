//! Exponential back-off after failed sign-ins, per account name and per client address.
//!
//! Hand-written because what it needs is small and specific: count failures per key, make the
//! next attempt wait 1 s, 2 s, 4 s, ... once a key has used its free failures, forget a key when
//! it succeeds or after the longest wait has passed. A rate limiter (`governor`) counts every
//! attempt, not failures, and would lock out a user who signs in often.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failure counts by key (an account name or a client address).
#[derive(Debug)]
pub struct Backoff {
    free: u32,
    max: Duration,
    entries: Mutex<HashMap<String, (u32, Instant)>>,
}

/// Keys held before idle ones are pruned on the next failure.
const PRUNE_ABOVE: usize = 4096;

impl Backoff {
    pub fn new(free_failures: u32, max: Duration) -> Self {
        Self {
            free: free_failures,
            max,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, (u32, Instant)>> {
        // A panic while holding the lock leaves counts that are still counts.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn delay(&self, failures: u32) -> Duration {
        let over = failures.saturating_sub(self.free);
        if over == 0 {
            return Duration::ZERO;
        }
        Duration::from_secs(1u64 << (over - 1).min(30)).min(self.max)
    }

    /// How long `key` must still wait before its next attempt, if at all.
    pub fn retry_after(&self, key: &str) -> Option<Duration> {
        let entries = self.entries();
        let &(failures, last) = entries.get(key)?;
        let ready = last + self.delay(failures);
        ready
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
    }

    pub fn failed(&self, key: &str) {
        let now = Instant::now();
        let mut entries = self.entries();
        if entries.len() >= PRUNE_ABOVE {
            entries.retain(|_, (_, last)| now.duration_since(*last) < self.max);
        }
        let entry = entries.entry(key.to_owned()).or_insert((0, now));
        if now.duration_since(entry.1) >= self.max {
            entry.0 = 0;
        }
        entry.0 = entry.0.saturating_add(1);
        entry.1 = now;
    }

    pub fn succeeded(&self, key: &str) {
        self.entries().remove(key);
    }

    pub fn len(&self) -> usize {
        self.entries().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The two back-offs of sign-in.
#[derive(Debug)]
pub struct SignInBackoff {
    pub accounts: Backoff,
    pub addresses: Backoff,
}

impl SignInBackoff {
    pub fn new(free_failures: u32, max: Duration) -> Self {
        Self {
            accounts: Backoff::new(free_failures, max),
            addresses: Backoff::new(free_failures, max),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_failures_then_doubling_waits_and_success_clears() {
        let b = Backoff::new(2, Duration::from_secs(60));
        b.failed("alice");
        b.failed("alice");
        assert_eq!(b.retry_after("alice"), None, "two free failures");
        b.failed("alice");
        let first = b.retry_after("alice").expect("third failure waits");
        assert!(first <= Duration::from_secs(1) && first > Duration::from_millis(900));
        b.failed("alice");
        let second = b.retry_after("alice").expect("fourth waits longer");
        assert!(second > Duration::from_millis(1900), "{second:?}");
        assert_eq!(b.retry_after("bob"), None, "per key");
        b.succeeded("alice");
        assert_eq!(b.retry_after("alice"), None);
        assert!(b.is_empty());
    }

    #[test]
    fn waits_are_capped() {
        let b = Backoff::new(0, Duration::from_secs(5));
        for _ in 0..40 {
            b.failed("k");
        }
        assert!(b.retry_after("k").expect("waits") <= Duration::from_secs(5));
    }
}
