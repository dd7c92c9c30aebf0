//! A small in-process cache of reference data (price categories, payment methods, seasons,
//! shows and their prices, performances, token → user), so a sale does not re-read them for
//! every request.
//!
//! Entries live at most [`TTL`] (other processes sharing a PostgreSQL database see a change at
//! most that late) and the whole cache is cleared whenever this process commits a change to
//! anything but sales data (see [`crate::store::WriteTx::commit`]).

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// Longest life of an entry.
pub const TTL: Duration = Duration::from_secs(2);

type Entry = (Instant, Arc<dyn Any + Send + Sync>);

/// The cache.
#[derive(Default)]
pub struct Memo {
    map: RwLock<HashMap<String, Entry>>,
}

impl std::fmt::Debug for Memo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Memo")
            .field("entries", &self.map.read().map(|m| m.len()).unwrap_or(0))
            .finish()
    }
}

impl Memo {
    /// A fresh value for `key`, if any.
    pub fn get<T: Clone + Send + Sync + 'static>(&self, key: &str) -> Option<T> {
        let map = self.map.read().ok()?;
        let (at, v) = map.get(key)?;
        if at.elapsed() > TTL {
            return None;
        }
        v.downcast_ref::<T>().cloned()
    }

    /// Stores a value.
    pub fn put<T: Send + Sync + 'static>(&self, key: &str, value: T) {
        if let Ok(mut map) = self.map.write() {
            if map.len() > 10_000 {
                map.retain(|_, (at, _)| at.elapsed() <= TTL);
            }
            map.insert(key.to_string(), (Instant::now(), Arc::new(value)));
        }
    }

    /// Forgets everything.
    pub fn clear(&self) {
        if let Ok(mut map) = self.map.write() {
            map.clear();
        }
    }
}

/// Runs a computation whose error type is the core's (fixes type inference for cached bodies).
pub async fn compute<T, F: std::future::Future<Output = crate::error::Result<T>>>(f: F) -> crate::error::Result<T> {
    f.await
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_then_forgets() {
        let m = super::Memo::default();
        m.put("a", vec![1, 2]);
        assert_eq!(m.get::<Vec<i32>>("a"), Some(vec![1, 2]));
        assert_eq!(m.get::<String>("a"), None, "another type is a miss");
        m.clear();
        assert_eq!(m.get::<Vec<i32>>("a"), None);
    }
}
