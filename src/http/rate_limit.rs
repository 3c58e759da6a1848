//! A rate limit on HTTP requests per client address.
//!
//! A page load is a handful of requests (the page, its scripts and styles, the WebSocket), so
//! people never come near the limit, while one client asking for pages in a loop is answered
//! `429` at once instead of having them rendered. The buckets live in a map bounded in size:
//! when it is full, the buckets of clients that have been quiet long enough to be full again
//! are forgotten (they lose nothing), and if it is still full, new addresses wait their turn.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};

use room_core::flood::TokenBucket;
use room_core::time::Tick;

use crate::net::admission::AddressKey;

/// Requests one address may make every second, by default...
pub(crate) const HTTP_PER_SECOND: u64 = 20;
/// ...and how many times that it may make at once.
const BURST_SECONDS: u64 = 3;
/// Addresses tracked at most.
const MAX_ADDRESSES: usize = 65_536;

/// The buckets of the addresses that made requests lately.
#[derive(Debug)]
pub(crate) struct HttpLimiter {
    per_second: u64,
    burst: u64,
    // A std mutex: nothing async happens while it is held.
    buckets: Mutex<HashMap<AddressKey, TokenBucket>>,
}

impl HttpLimiter {
    /// A limit of `per_second` requests per address, and three seconds' worth at once.
    pub(crate) fn new(per_second: u64) -> Self {
        HttpLimiter {
            per_second,
            burst: per_second * BURST_SECONDS,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Whether a request from `address` at `now` may be served.
    pub(crate) fn admit(&self, address: IpAddr, now: Tick) -> bool {
        let key = AddressKey::from(address);
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if !buckets.contains_key(&key) && buckets.len() >= MAX_ADDRESSES {
            buckets.retain(|_, bucket| bucket.available(now) < self.burst);
            if buckets.len() >= MAX_ADDRESSES {
                return false;
            }
        }
        buckets
            .entry(key)
            .or_insert_with(|| TokenBucket::new(self.per_second, self.burst, now))
            .take(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn an_address_gets_its_burst_then_its_rate_and_others_are_not_affected() {
        let limiter = HttpLimiter::new(HTTP_PER_SECOND);
        let busy = IpAddr::from([192, 0, 2, 1]);
        let now = Tick::ZERO;
        assert!((0..HTTP_PER_SECOND * BURST_SECONDS).all(|_| limiter.admit(busy, now)));
        assert!(!limiter.admit(busy, now));
        assert!(limiter.admit(IpAddr::from([192, 0, 2, 2]), now));
        let later = now + Duration::from_secs(1) / HTTP_PER_SECOND as u32;
        assert!(limiter.admit(busy, later));
        assert!(!limiter.admit(busy, later));
    }

    #[test]
    fn quiet_addresses_are_forgotten_when_the_map_is_full() {
        let limiter = HttpLimiter::new(HTTP_PER_SECOND);
        for n in 0..MAX_ADDRESSES as u32 {
            assert!(limiter.admit(IpAddr::from(n.to_be_bytes()), Tick::ZERO));
        }
        let newcomer = IpAddr::from([10, 255, 255, 255]);
        assert!(
            !limiter.admit(newcomer, Tick::ZERO),
            "every bucket is in use"
        );
        let later = Tick::ZERO + Duration::from_secs(1);
        assert!(limiter.admit(newcomer, later));
        assert!(limiter.buckets.lock().unwrap().len() < 10);
    }
}
