//! Numbers that run on without a gap when a slot changes source.
//!
//! A receiver's slot is one outgoing stream, but what it carries changes: another member takes
//! the slot, or the same camera's larger layer replaces its smaller one. Each source numbers
//! its packets, stamps its frames and counts its VP8 pictures from its own starting points; the
//! receiver's decoder wants one stream with sequence numbers that go up by one, timestamps that
//! advance with time, and picture ids that follow on. A [`Rewriter`] maps each source's numbers
//! onto the slot's, choosing new offsets at every change of source so that the first packet of
//! the new source follows the last one sent.

use room_core::time::Tick;

/// VP8 picture ids have 15 bits.
const PICTURE_ID_MOD: u32 = 1 << 15;

/// What a packet carries that the slot rewrites.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Incoming {
    /// Which source (member, track and layer) it comes from: any number that tells them apart.
    pub source: u64,
    /// Its extended sequence number.
    pub seq: u64,
    /// Its extended RTP timestamp.
    pub ts: u64,
    /// Its VP8 picture id (15 bits) and TL0PICIDX, if it has them.
    pub picture: Option<u16>,
    /// Its VP8 TL0PICIDX, if it has one.
    pub tl0: Option<u8>,
    /// The RTP clock of its codec (90000 for video, 48000 for Opus).
    pub clock_rate: u32,
}

/// The packet's numbers in the slot's stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outgoing {
    /// The extended sequence number, which starts below 65536 so no rollover needs telling.
    pub seq: u64,
    /// The RTP timestamp.
    pub ts: u32,
    /// The VP8 picture id.
    pub picture: Option<u16>,
    /// The VP8 TL0PICIDX.
    pub tl0: Option<u8>,
}

/// How the current source's numbers map onto the slot's.
#[derive(Debug, Clone, Copy)]
struct Mapping {
    source: u64,
    /// The first sequence number of the source taken: anything older came before the change.
    first_seq: u64,
    seq_offset: u64,
    ts_offset: u64,
    picture_offset: u32,
    tl0_offset: u8,
}

/// The newest packet sent on the slot.
#[derive(Debug, Clone, Copy)]
struct Sent {
    seq: u64,
    ts: u64,
    picture: Option<u16>,
    tl0: Option<u8>,
    at: Tick,
}

/// The numbering of one slot's outgoing stream.
#[derive(Debug, Clone, Default)]
pub struct Rewriter {
    mapping: Option<Mapping>,
    sent: Option<Sent>,
}

impl Rewriter {
    /// The packet's numbers on this slot, at `now`; `None` for a packet of the current source
    /// older than the change to it, which the receiver would take for a duplicate.
    pub fn rewrite(&mut self, now: Tick, packet: &Incoming) -> Option<Outgoing> {
        let mapping = match self.mapping {
            Some(mapping) if mapping.source == packet.source => mapping,
            _ => {
                let mapping = self.follow_on(now, packet);
                self.mapping = Some(mapping);
                mapping
            }
        };
        if packet.seq < mapping.first_seq {
            return None;
        }
        let seq = packet.seq.wrapping_add(mapping.seq_offset);
        let ts = packet.ts.wrapping_add(mapping.ts_offset);
        let picture = packet
            .picture
            .map(|id| ((u32::from(id) + mapping.picture_offset) % PICTURE_ID_MOD) as u16);
        let tl0 = packet.tl0.map(|idx| idx.wrapping_add(mapping.tl0_offset));
        if self.sent.is_none_or(|sent| seq > sent.seq) {
            self.sent = Some(Sent {
                seq,
                ts,
                picture,
                tl0,
                at: now,
            });
        }
        Some(Outgoing {
            seq,
            ts: ts as u32,
            picture,
            tl0,
        })
    }

    /// The mapping that makes `packet`, a new source's first, follow what was sent last.
    fn follow_on(&self, now: Tick, packet: &Incoming) -> Mapping {
        let Some(sent) = self.sent else {
            // The slot's first packet: keep the source's numbers, but start the sequence low
            // enough that the receiver needs no rollover counter.
            return Mapping {
                source: packet.source,
                first_seq: packet.seq,
                seq_offset: (packet.seq & 0x3fff)
                    .wrapping_sub(packet.seq)
                    .wrapping_add(1),
                ts_offset: 0,
                picture_offset: 0,
                tl0_offset: 0,
            };
        };
        // The new source's first frame comes as much later as time has passed, and at least
        // one tick of its clock.
        let elapsed = now.since(sent.at).as_micros() as u64;
        let advance = (elapsed * u64::from(packet.clock_rate) / 1_000_000).max(1);
        let picture_offset = match (sent.picture, packet.picture) {
            (Some(last), Some(first)) => {
                (u32::from(last) + 1 + PICTURE_ID_MOD - u32::from(first)) % PICTURE_ID_MOD
            }
            _ => 0,
        };
        let tl0_offset = match (sent.tl0, packet.tl0) {
            (Some(last), Some(first)) => last.wrapping_add(1).wrapping_sub(first),
            _ => 0,
        };
        Mapping {
            source: packet.source,
            first_seq: packet.seq,
            seq_offset: sent.seq.wrapping_add(1).wrapping_sub(packet.seq),
            ts_offset: sent.ts.wrapping_add(advance).wrapping_sub(packet.ts),
            picture_offset,
            tl0_offset,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn packet(source: u64, seq: u64, ts: u64, picture: u16) -> Incoming {
        Incoming {
            source,
            seq,
            ts,
            picture: Some(picture),
            tl0: Some(picture as u8),
            clock_rate: 90_000,
        }
    }

    #[test]
    fn one_source_keeps_its_steps_from_a_low_start() {
        let mut slot = Rewriter::default();
        let first = slot
            .rewrite(Tick::ZERO, &packet(1, 200_000, 5000, 10))
            .unwrap();
        assert!(first.seq < 65_536);
        let next = slot
            .rewrite(Tick::ZERO, &packet(1, 200_001, 8000, 11))
            .unwrap();
        assert_eq!(next.seq, first.seq + 1);
        assert_eq!(next.ts, first.ts + 3000);
        assert_eq!(next.picture, Some(11));
    }

    #[test]
    fn a_new_source_follows_on_from_the_last_packet_sent() {
        let mut slot = Rewriter::default();
        let last = slot
            .rewrite(Tick::ZERO, &packet(1, 100, 90_000, 32_767))
            .unwrap();
        // 40 ms later the slot switches to another source with numbers of its own.
        let at = Tick::ZERO + Duration::from_millis(40);
        let first = slot.rewrite(at, &packet(2, 7_000, 1_234_567, 500)).unwrap();
        assert_eq!(first.seq, last.seq + 1);
        assert_eq!(first.ts, last.ts + 3600);
        assert_eq!(first.picture, Some(0), "picture ids wrap at 15 bits");
        assert_eq!(first.tl0, Some(last.tl0.unwrap().wrapping_add(1)));
        let second = slot.rewrite(at, &packet(2, 7_001, 1_237_567, 501)).unwrap();
        assert_eq!(second.seq, first.seq + 1);
        assert_eq!(second.ts, first.ts + 3000);
        assert_eq!(second.picture, Some(1));
    }

    #[test]
    fn packets_from_before_a_switch_are_dropped_and_reordering_is_kept() {
        let mut slot = Rewriter::default();
        slot.rewrite(Tick::ZERO, &packet(1, 10, 0, 0)).unwrap();
        let first = slot.rewrite(Tick::ZERO, &packet(2, 50, 0, 0)).unwrap();
        assert_eq!(slot.rewrite(Tick::ZERO, &packet(2, 49, 0, 0)), None);
        let later = slot.rewrite(Tick::ZERO, &packet(2, 52, 0, 0)).unwrap();
        let late = slot.rewrite(Tick::ZERO, &packet(2, 51, 0, 0)).unwrap();
        assert_eq!((late.seq, later.seq), (first.seq + 1, first.seq + 2));
        // Going back to the first source follows the newest packet sent, not the late one.
        let back = slot.rewrite(Tick::ZERO, &packet(1, 11, 0, 0)).unwrap();
        assert_eq!(back.seq, later.seq + 1);
    }

    #[test]
    fn audio_without_picture_ids_follows_on_too() {
        let mut slot = Rewriter::default();
        let audio = |source, seq, ts| Incoming {
            source,
            seq,
            ts,
            picture: None,
            tl0: None,
            clock_rate: 48_000,
        };
        let last = slot.rewrite(Tick::ZERO, &audio(1, 5, 960)).unwrap();
        let at = Tick::ZERO + Duration::from_millis(20);
        let next = slot.rewrite(at, &audio(2, 900, 77)).unwrap();
        assert_eq!((next.seq, next.ts), (last.seq + 1, last.ts + 960));
        assert_eq!(next.picture, None);
    }
}
