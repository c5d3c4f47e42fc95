//! Per-client-address token buckets for the attestation endpoints.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

pub struct RateLimiter {
    per_sec: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

/// Above this many tracked addresses, idle full buckets are dropped.
const MAX_TRACKED: usize = 100_000;

impl RateLimiter {
    pub fn new(per_sec: f64, burst: f64) -> Self {
        RateLimiter { per_sec, burst: burst.max(1.0), buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one token for `ip`; `Err(seconds)` says when the next one is due.
    pub fn check(&self, ip: IpAddr) -> Result<(), f64> {
        if self.per_sec <= 0.0 {
            return Ok(());
        }
        let now = Instant::now();
        let Ok(mut map) = self.buckets.lock() else { return Ok(()) };
        if map.len() > MAX_TRACKED {
            let (per_sec, burst) = (self.per_sec, self.burst);
            map.retain(|_, (tokens, t)| *tokens + now.duration_since(*t).as_secs_f64() * per_sec < burst);
        }
        let (tokens, last) = map.entry(ip).or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * self.per_sec).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err((1.0 - *tokens) / self.per_sec)
        }
    }
}
