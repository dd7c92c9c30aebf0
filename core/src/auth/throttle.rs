//! Slows down password guessing without letting an attacker lock the rightful owner out.
//!
//! Every attempt is counted *before* its password is checked, so guesses sent in parallel are
//! counted too. Three counters, each forgotten after an hour of quiet:
//! - per client address and login: after [`FREE_ATTEMPTS`] attempts the pair waits 2, 4, 8 …
//!   seconds (at most 5 minutes) between tries;
//! - per client address, whatever the login: after [`ADDRESS_FREE_ATTEMPTS`] attempts the address
//!   waits the same way (password spraying over many logins);
//! - per login, whatever the address: never a refusal (that would let anyone keep `admin` out),
//!   only a short delay before the check, at most [`MAX_LOGIN_DELAY`].
//!
//! A successful login takes its own attempt back and clears its address-and-login pair. The
//! tracker holds at most [`MAX_ENTRIES`] entries: past that, the oldest are forgotten.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Attempts a client address may make on one login before waiting.
pub const FREE_ATTEMPTS: u32 = 3;
/// Attempts a client address may make over all logins before waiting.
pub const ADDRESS_FREE_ATTEMPTS: u32 = 20;
/// Attempts on one login (from anywhere) before each further one is delayed.
pub const LOGIN_FREE_ATTEMPTS: u32 = 10;
/// The longest delay a login under attack imposes on each attempt.
pub const MAX_LOGIN_DELAY: Duration = Duration::from_secs(2);
/// Counters older than this are forgotten.
pub const FORGET_AFTER: Duration = Duration::from_secs(3600);
/// Entries kept at most (a few MB: logins are at most 64 characters).
pub const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Pair(IpAddr, String),
    Address(IpAddr),
    Login(String),
}

/// What an attempt may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Check the password, after sleeping `delay` (zero unless the login is under attack).
    Go {
        /// Wait this long before checking.
        delay: Duration,
    },
    /// Refused without checking: try again after this long.
    Wait(Duration),
}

/// Counts login attempts per address and login, per address, and per login.
#[derive(Debug)]
pub struct LoginThrottle {
    entries: HashMap<Key, (u32, Instant)>,
    max_entries: usize,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self::with_capacity(MAX_ENTRIES)
    }
}

/// IPv6 clients are counted per /64 network (one machine is usually given a whole /64).
fn network(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(_) => addr,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// Login names are compared without case and surrounding blanks.
fn login_key(login: &str) -> String {
    login.trim().to_lowercase()
}

impl LoginThrottle {
    /// A fresh tracker.
    pub fn new() -> Self {
        Self::default()
    }

    /// A tracker keeping at most `max_entries` entries.
    pub fn with_capacity(max_entries: usize) -> Self {
        LoginThrottle {
            entries: HashMap::new(),
            max_entries: max_entries.max(3),
        }
    }

    /// Number of entries held (bounded by the capacity).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing is tracked.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn count(&self, key: &Key, now: Instant) -> (u32, Instant) {
        match self.entries.get(key) {
            Some(&(n, last)) if now.saturating_duration_since(last) < FORGET_AFTER => (n, last),
            _ => (0, now),
        }
    }

    /// Counts an attempt of `login` from `addr` at `now`, before its password is checked.
    pub fn attempt(&mut self, addr: IpAddr, login: &str, now: Instant) -> Verdict {
        let addr = network(addr);
        let login = login_key(login);
        let pair = Key::Pair(addr, login.clone());
        let address = Key::Address(addr);
        let by_login = Key::Login(login);
        let wait = [(&pair, FREE_ATTEMPTS), (&address, ADDRESS_FREE_ATTEMPTS)]
            .into_iter()
            .filter_map(|(k, free)| {
                let (n, last) = self.count(k, now);
                let until = last + lock_for(n, free)?;
                (until > now).then(|| until - now)
            })
            .max();
        if let Some(w) = wait {
            return Verdict::Wait(w);
        }
        let (login_attempts, _) = self.count(&by_login, now);
        self.make_room(now);
        for k in [pair, address, by_login] {
            let n = self.count(&k, now).0;
            self.entries.insert(k, (n.saturating_add(1), now));
        }
        Verdict::Go {
            delay: login_delay(login_attempts),
        }
    }

    /// A successful login: its attempt is taken back and its pair is cleared.
    pub fn succeeded(&mut self, addr: IpAddr, login: &str) {
        let addr = network(addr);
        let login = login_key(login);
        self.entries.remove(&Key::Pair(addr, login.clone()));
        for k in [Key::Address(addr), Key::Login(login)] {
            if let Some(e) = self.entries.get_mut(&k) {
                e.0 = e.0.saturating_sub(1);
            }
        }
    }

    /// Keeps the map under its capacity: forgets stale entries, then the oldest ones.
    fn make_room(&mut self, now: Instant) {
        if self.entries.len() + 3 <= self.max_entries {
            return;
        }
        self.entries.retain(|_, (_, t)| now.saturating_duration_since(*t) < FORGET_AFTER);
        if self.entries.len() + 3 > self.max_entries {
            let mut times: Vec<Instant> = self.entries.values().map(|(_, t)| *t).collect();
            times.sort_unstable();
            let cut = times[times.len() / 2];
            self.entries.retain(|_, (_, t)| *t > cut);
        }
    }
}

/// No wait for the first `free` attempts, then 2, 4, 8 … seconds, at most 5 minutes.
fn lock_for(attempts: u32, free: u32) -> Option<Duration> {
    if attempts < free {
        return None;
    }
    let exp = (attempts - free).min(8);
    Some(Duration::from_secs((2u64 << exp).min(300)))
}

/// No delay for the first attempts on a login, then 250 ms, 500 ms … at most [`MAX_LOGIN_DELAY`].
fn login_delay(attempts: u32) -> Duration {
    if attempts < LOGIN_FREE_ATTEMPTS {
        return Duration::ZERO;
    }
    let exp = (attempts - LOGIN_FREE_ATTEMPTS).min(8);
    Duration::from_millis(250u64 << exp).min(MAX_LOGIN_DELAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 7));

    fn waits(v: Verdict) -> bool {
        matches!(v, Verdict::Wait(_))
    }

    #[test]
    fn an_address_waits_after_repeated_attempts_and_a_success_clears_it() {
        let mut t = LoginThrottle::new();
        let now = Instant::now();
        for _ in 0..FREE_ATTEMPTS {
            assert!(!waits(t.attempt(A, "marie", now)));
        }
        let Verdict::Wait(w) = t.attempt(A, "Marie ", now) else {
            panic!("the pair must wait")
        };
        assert!(w > Duration::from_secs(1) && w <= Duration::from_secs(2));
        // Refused attempts do not lengthen the wait; once it is over, one more try.
        assert!(!waits(t.attempt(A, "marie", now + Duration::from_secs(3))));
        assert!(waits(t.attempt(A, "marie", now + Duration::from_secs(3))));
        // Another login from the same address, and the same login from elsewhere, go on.
        assert!(!waits(t.attempt(A, "paul", now)));
        assert!(!waits(t.attempt(B, "marie", now)));
        t.succeeded(A, "marie");
        assert!(!waits(t.attempt(A, "marie", now + Duration::from_secs(3))));
        // An hour of quiet forgets everything.
        assert!(!waits(t.attempt(A, "marie", now + FORGET_AFTER + Duration::from_secs(5))));
    }

    #[test]
    fn a_flood_on_one_login_slows_the_owner_but_never_locks_them_out() {
        let mut t = LoginThrottle::new();
        let now = Instant::now();
        let mut go = 0;
        for i in 0..1000u32 {
            let attacker = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            for _ in 0..5 {
                if !waits(t.attempt(attacker, "admin", now)) {
                    go += 1;
                }
            }
        }
        assert_eq!(go, 1000 * FREE_ATTEMPTS, "each address is held to its free attempts");
        match t.attempt(B, "admin", now) {
            Verdict::Go { delay } => assert!(delay > Duration::ZERO && delay <= MAX_LOGIN_DELAY),
            Verdict::Wait(_) => panic!("the owner from another address is never refused"),
        }
    }

    #[test]
    fn one_address_spraying_many_logins_waits() {
        let mut t = LoginThrottle::new();
        let now = Instant::now();
        for i in 0..ADDRESS_FREE_ATTEMPTS {
            assert!(!waits(t.attempt(A, &format!("u{i}"), now)));
        }
        assert!(waits(t.attempt(A, "encore", now)));
        assert!(!waits(t.attempt(B, "encore", now)));
    }

    #[test]
    fn ipv6_clients_are_counted_per_network() {
        let mut t = LoginThrottle::new();
        let now = Instant::now();
        for i in 0..FREE_ATTEMPTS as u16 {
            let a = IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 1, 2, i, 0, 0, 1));
            t.attempt(a, "marie", now);
        }
        let other = IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 1, 2, 99, 9, 9, 9));
        assert!(waits(t.attempt(other, "marie", now)));
    }

    #[test]
    fn the_tracker_stays_within_its_capacity() {
        let mut t = LoginThrottle::with_capacity(300);
        let now = Instant::now();
        for i in 0..10_000u32 {
            let a = IpAddr::V4(std::net::Ipv4Addr::from(i));
            t.attempt(a, &format!("login{i}"), now + Duration::from_millis(i as u64));
            assert!(t.len() <= 300);
        }
        assert!(!t.is_empty());
    }
}
