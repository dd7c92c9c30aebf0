//! Slows down password guessing: after repeated failures a login must wait before trying again.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Failures allowed before the first lock.
pub const FREE_ATTEMPTS: u32 = 3;

/// Tracks failed logins per login name (and per address, when the caller keys by it too).
#[derive(Debug, Default)]
pub struct LoginThrottle {
    entries: HashMap<String, (u32, Instant)>,
}

impl LoginThrottle {
    /// A fresh tracker.
    pub fn new() -> Self {
        Self::default()
    }

    /// How long `key` must still wait, if it is locked at `now`.
    pub fn wait(&self, key: &str, now: Instant) -> Option<Duration> {
        let (failures, last) = self.entries.get(key)?;
        let lock = Self::lock_for(*failures)?;
        let until = *last + lock;
        (until > now).then(|| until - now)
    }

    /// Records a failure.
    pub fn failed(&mut self, key: &str, now: Instant) {
        if self.entries.len() > 100_000 {
            self.entries.retain(|_, (_, t)| now.duration_since(*t) < Duration::from_secs(3600));
        }
        let e = self.entries.entry(key.to_string()).or_insert((0, now));
        e.0 += 1;
        e.1 = now;
    }

    /// Clears the record after a successful login.
    pub fn succeeded(&mut self, key: &str) {
        self.entries.remove(key);
    }

    /// 0 s for the first failures, then 2, 4, 8 … seconds, at most 5 minutes.
    fn lock_for(failures: u32) -> Option<Duration> {
        if failures < FREE_ATTEMPTS {
            return None;
        }
        let exp = (failures - FREE_ATTEMPTS).min(8);
        Some(Duration::from_secs((2u64 << exp).min(300)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_repeated_failures_and_unlocks_on_success() {
        let mut t = LoginThrottle::new();
        let now = Instant::now();
        for _ in 0..FREE_ATTEMPTS - 1 {
            t.failed("marie", now);
        }
        assert_eq!(t.wait("marie", now), None);
        t.failed("marie", now);
        let w = t.wait("marie", now).unwrap();
        assert!(w >= Duration::from_secs(1) && w <= Duration::from_secs(2));
        assert_eq!(t.wait("marie", now + Duration::from_secs(3)), None);
        t.failed("marie", now);
        assert!(t.wait("marie", now).unwrap() > Duration::from_secs(3));
        assert_eq!(t.wait("paul", now), None);
        t.succeeded("marie");
        assert_eq!(t.wait("marie", now), None);
    }
}
