//! Keyframe requests, rationed.
//!
//! A receiver that starts on a source, or moves to another of its layers, needs a keyframe to
//! begin decoding, and only the sender can make one. Many receivers may need one at once (a
//! room of fifty, and someone joins); each keyframe costs the sender a burst of bits. So
//! requests are coalesced per source layer: at most one goes out every [`MIN_INTERVAL`], and a
//! request while one is pending waits for the interval to end, unless the keyframe it waits
//! for arrives first and serves it. A request that no keyframe answers (lost on the way, or
//! ignored by a busy encoder) is sent again every interval, [`MAX_TRIES`] times in all: a
//! browser makes no keyframe of its own for minutes, and a receiver waiting for one sees
//! nothing.

use std::collections::BTreeMap;
use std::time::Duration;

use room_core::time::Tick;

/// The least time between two requests for the same source layer.
pub const MIN_INTERVAL: Duration = Duration::from_millis(500);
/// How many requests go out for one keyframe before giving up until someone asks again.
pub const MAX_TRIES: u8 = 20;

/// Where one source layer's requests stand.
#[derive(Debug, Clone, Copy)]
struct Gate {
    /// When the last request went out.
    sent_at: Tick,
    /// Whether another was asked for since, not yet served by a keyframe.
    waiting: bool,
    /// Requests sent since the last keyframe: none once one arrived.
    unanswered: u8,
}

impl Gate {
    /// Whether it has a request to send when the interval allows.
    fn due(&self) -> bool {
        self.waiting || (self.unanswered > 0 && self.unanswered < MAX_TRIES)
    }
}

/// The keyframe requests of many source layers, each rationed; `K` names a source layer.
#[derive(Debug, Clone)]
pub struct Keyframes<K> {
    gates: BTreeMap<K, Gate>,
}

impl<K> Default for Keyframes<K> {
    fn default() -> Self {
        Keyframes {
            gates: BTreeMap::new(),
        }
    }
}

impl<K: Ord + Clone> Keyframes<K> {
    /// Someone needs a keyframe of `key` at `now`: true when a request should go out now;
    /// otherwise it goes out from [`Keyframes::poll`] when the interval allows.
    pub fn request(&mut self, now: Tick, key: K) -> bool {
        match self.gates.get_mut(&key) {
            Some(gate) if now.since(gate.sent_at) < MIN_INTERVAL => {
                gate.waiting = true;
                false
            }
            _ => {
                self.gates.insert(
                    key,
                    Gate {
                        sent_at: now,
                        waiting: false,
                        unanswered: 1,
                    },
                );
                true
            }
        }
    }

    /// A keyframe of `key` arrived: whoever waits for one is served.
    pub fn arrived(&mut self, key: &K) {
        if let Some(gate) = self.gates.get_mut(key) {
            gate.waiting = false;
            gate.unanswered = 0;
        }
    }

    /// The requests due at `now`, each marked sent; quiet gates are forgotten.
    pub fn poll(&mut self, now: Tick) -> Vec<K> {
        let mut due = Vec::new();
        self.gates.retain(|key, gate| {
            let open = now.since(gate.sent_at) >= MIN_INTERVAL;
            if open && gate.due() {
                due.push(key.clone());
                gate.sent_at = now;
                gate.waiting = false;
                gate.unanswered = gate.unanswered.saturating_add(1);
                return true;
            }
            !open || gate.due()
        });
        due
    }

    /// When [`Keyframes::poll`] next has a request to send, if ever.
    pub fn next_deadline(&self) -> Option<Tick> {
        self.gates
            .values()
            .filter(|gate| gate.due())
            .map(|gate| gate.sent_at + MIN_INTERVAL)
            .min()
    }

    /// Forgets `key` (its source left).
    pub fn forget(&mut self, key: &K) {
        self.gates.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(millis: u64) -> Tick {
        Tick::from_millis(millis)
    }

    #[test]
    fn many_receivers_at_once_cost_one_request() {
        let mut keyframes = Keyframes::default();
        assert!(keyframes.request(ms(0), "a/f"));
        assert!(!(0..49).any(|n| keyframes.request(ms(n), "a/f")));
        // Another layer, another source: their own gates.
        assert!(keyframes.request(ms(10), "a/q"));
        assert!(keyframes.request(ms(10), "b/f"));
    }

    #[test]
    fn a_request_within_the_interval_waits_for_it_unless_a_keyframe_comes() {
        let mut keyframes = Keyframes::default();
        assert!(keyframes.request(ms(0), 1));
        assert!(!keyframes.request(ms(100), 1));
        assert_eq!(keyframes.next_deadline(), Some(ms(500)));
        assert!(keyframes.poll(ms(499)).is_empty());
        assert_eq!(keyframes.poll(ms(500)), [1]);
        keyframes.arrived(&1);
        assert_eq!(keyframes.next_deadline(), None);
        // Asked again, but the keyframe arrives in time: nothing more to send.
        assert!(!keyframes.request(ms(600), 1));
        keyframes.arrived(&1);
        assert!(keyframes.poll(ms(1000)).is_empty());
        assert_eq!(keyframes.next_deadline(), None);
        assert!(keyframes.request(ms(1001), 1));
    }

    #[test]
    fn a_request_nothing_answers_is_sent_again_each_interval_a_few_times() {
        let mut keyframes = Keyframes::default();
        assert!(keyframes.request(ms(0), 1));
        let mut sent = 1;
        for n in 1..100 {
            assert_eq!(
                keyframes.next_deadline().is_some(),
                sent < MAX_TRIES,
                "at {n}"
            );
            sent += keyframes.poll(ms(n * 500)).len() as u8;
        }
        assert_eq!(sent, MAX_TRIES);
        assert!(
            keyframes.gates.is_empty(),
            "given up on, the gate is forgotten"
        );
        // The keyframe that comes at last resets it: a new need starts again.
        assert!(keyframes.request(ms(60_000), 1));
        keyframes.arrived(&1);
        assert!(keyframes.poll(ms(60_500)).is_empty());
    }
}
