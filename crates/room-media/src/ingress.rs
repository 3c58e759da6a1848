//! What one member may send the server.
//!
//! Everything a member sends is forwarded to up to everyone else in the room, so a client that
//! sends far more than a camera, a screen and a microphone make would cost the server and every
//! receiver. Each member's packets go through two token buckets, one of bytes and one of
//! packets; what is over either is dropped before it is looked at.

use room_core::flood::TokenBucket;
use room_core::time::Tick;

/// Bytes a second a member may send: 10 Mbit/s, several times a 720p camera (1.5 Mbit/s in
/// three layers), a screen (up to 2.5 Mbit/s) and a microphone together.
pub const BYTES_PER_SECOND: u64 = 1_250_000;
/// Packets a second a member may send.
pub const PACKETS_PER_SECOND: u64 = 2_000;
/// How many seconds of either may come at once: a keyframe burst, or a network that held
/// packets back and lets them go together.
pub const BURST_SECONDS: u64 = 2;

/// One member's allowance.
#[derive(Debug, Clone)]
pub struct Ingress {
    bytes: TokenBucket,
    packets: TokenBucket,
}

impl Ingress {
    /// A full allowance at `now`.
    pub fn new(now: Tick) -> Self {
        Ingress {
            bytes: TokenBucket::new(BYTES_PER_SECOND, BYTES_PER_SECOND * BURST_SECONDS, now),
            packets: TokenBucket::new(PACKETS_PER_SECOND, PACKETS_PER_SECOND * BURST_SECONDS, now),
        }
    }

    /// Whether a packet of `bytes` at `now` is within the allowance; it is counted if it is.
    pub fn admit(&mut self, now: Tick, bytes: usize) -> bool {
        let bytes = bytes as u64;
        if self.bytes.available(now) < bytes || self.packets.available(now) < 1 {
            return false;
        }
        self.bytes.charge(now, bytes);
        self.packets.charge(now, 1);
        true
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_camera_and_a_screen_get_through_and_a_flood_does_not() {
        let mut ingress = Ingress::new(Tick::ZERO);
        // Ten seconds of a camera's three layers, a screen and a microphone: about 4.5 Mbit/s
        // in 1,100-byte packets, 500 a second.
        let mut now = Tick::ZERO;
        for _ in 0..5_000 {
            now = now + Duration::from_millis(2);
            assert!(ingress.admit(now, 1_100));
        }
        // Then a flood of 50 Mbit/s: the burst goes through, then a fifth at most.
        let mut admitted = 0u64;
        let packets = 50_000;
        for _ in 0..packets {
            now = now + Duration::from_micros(200);
            if ingress.admit(now, 1_250) {
                admitted += 1;
            }
        }
        let seconds = 10;
        let allowed = (BYTES_PER_SECOND * (seconds + BURST_SECONDS)) / 1_250 + 1;
        assert!(admitted <= allowed, "{admitted} of {packets} admitted");
        assert!(admitted > allowed / 2, "{admitted} of {packets} admitted");
    }

    #[test]
    fn tiny_packets_are_held_to_the_packet_rate() {
        let mut ingress = Ingress::new(Tick::ZERO);
        let now = Tick::from_millis(10);
        let admitted = (0..10_000).filter(|_| ingress.admit(now, 1)).count() as u64;
        assert_eq!(admitted, PACKETS_PER_SECOND * BURST_SECONDS);
    }
}
