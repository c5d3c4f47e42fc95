//! One cache for verified results, shared by every verifier: entries keyed by the SHA-256 of
//! their inputs' content, bounded in number (cleared when full, so a stream of unique inputs
//! cannot grow it without limit), and served only at evaluation times inside the window in which
//! every input was valid.

use crate::time::Timestamp;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Entries kept at most per cache.
pub(crate) const MAX_ENTRIES: usize = 4096;

/// The times at which a verified result holds (inclusive).
pub trait Window {
    /// The earliest evaluation time (Unix seconds) at which the result holds.
    fn valid_from(&self) -> i64;
    /// The latest evaluation time (Unix seconds) at which the result holds.
    fn valid_until(&self) -> i64;
}

/// Verified results keyed by the SHA-256 of their inputs, at most 4096 of them; safe to share between threads.
pub struct VerifiedCache<V> {
    map: Mutex<HashMap<[u8; 32], Arc<V>>>,
}

impl<V> Default for VerifiedCache<V> {
    fn default() -> Self {
        VerifiedCache { map: Mutex::new(HashMap::new()) }
    }
}

impl<V> VerifiedCache<V> {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The entry for `key`, whatever its window (for parsed, not time-dependent, results).
    pub(crate) fn get(&self, key: &[u8; 32]) -> Option<Arc<V>> {
        self.map.lock().ok().and_then(|m| m.get(key).cloned())
    }

    pub(crate) fn insert(&self, key: [u8; 32], value: Arc<V>) {
        if let Ok(mut m) = self.map.lock() {
            if m.len() >= MAX_ENTRIES && !m.contains_key(&key) {
                m.clear();
            }
            m.insert(key, value);
        }
    }

    /// The number of cached entries.
    pub fn len(&self) -> usize {
        self.map.lock().map(|m| m.len()).unwrap_or(0)
    }
    /// Nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<V: Window> VerifiedCache<V> {
    /// The entry for `key` if `at` lies inside its window.
    pub(crate) fn get_valid(&self, key: &[u8; 32], at: Timestamp) -> Option<Arc<V>> {
        self.get(key).filter(|v| v.valid_from() <= at.0 && at.0 <= v.valid_until())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct W(i64, i64);
    impl Window for W {
        fn valid_from(&self) -> i64 {
            self.0
        }
        fn valid_until(&self) -> i64 {
            self.1
        }
    }

    #[test]
    fn window_and_bound() {
        let c = VerifiedCache::new();
        c.insert([1; 32], Arc::new(W(10, 20)));
        assert!(c.get_valid(&[1; 32], Timestamp(10)).is_some());
        assert!(c.get_valid(&[1; 32], Timestamp(20)).is_some());
        assert!(c.get_valid(&[1; 32], Timestamp(21)).is_none());
        assert!(c.get_valid(&[1; 32], Timestamp(9)).is_none());
        for i in 0..MAX_ENTRIES + 5 {
            let mut k = [0u8; 32];
            k[..8].copy_from_slice(&(i as u64).to_le_bytes());
            c.insert(k, Arc::new(W(0, 1)));
        }
        assert!(c.len() <= MAX_ENTRIES);
    }
}
