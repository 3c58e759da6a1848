//! What a synthetic member does and what it saw: its plan, and its report, counted only inside
//! the measured window.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;

use super::packets::{Stamp, Stream};

/// A gap this long in a stream's numbers is a change of slot or layer, not loss.
const SWITCH_GAP: u64 = 50;

/// What a synthetic member does.
#[derive(Debug, Clone)]
pub struct Plan {
    /// It sends its microphone at this level (−dBov: 0 is loud, 127 silence), or no
    /// microphone.
    pub audio_level: Option<u8>,
    /// Whether it sends a camera, in three simulcast layers.
    pub camera: bool,
    /// The size it reports for every video slot, in CSS pixels.
    pub view: (u32, u32),
    /// Bits a second of extra video it sends on top of its camera's smallest layer, as a
    /// flooding client would.
    pub flood_bits_per_second: u64,
    /// After this long connected it goes silent on its media connection: sends nothing and
    /// answers nothing, while its WebSocket stays open, like a browser whose network dropped.
    pub silent_after: Option<Duration>,
}

impl Default for Plan {
    /// A member that speaks quietly (not loud enough to count as speaking) and sends its
    /// camera to middle-sized tiles.
    fn default() -> Self {
        Plan {
            audio_level: Some(60),
            camera: true,
            view: (640, 360),
            flood_bits_per_second: 0,
            silent_after: None,
        }
    }
}

/// What one sender's stream looked like to one receiver.
#[derive(Debug, Clone, Default)]
pub struct StreamCounts {
    /// Packets received.
    pub packets: u64,
    /// Packets missing inside runs of the stream (not across a change of slot or layer).
    pub lost: u64,
    /// Packets received twice.
    pub duplicates: u64,
    highest: Option<u64>,
}

impl StreamCounts {
    fn count(&mut self, seq: u64) {
        self.packets += 1;
        match self.highest {
            Some(highest) if seq <= highest => {
                // Older than the newest: a duplicate or a late one; only an exact repeat of the
                // newest is known to be a duplicate without keeping every number.
                if seq == highest {
                    self.duplicates += 1;
                } else if self.lost > 0 {
                    self.lost -= 1;
                }
            }
            Some(highest) => {
                let gap = seq - highest - 1;
                if gap < SWITCH_GAP {
                    self.lost += gap;
                }
                self.highest = Some(seq);
            }
            None => self.highest = Some(seq),
        }
    }
}

/// What a synthetic member saw.
#[derive(Debug, Clone)]
pub struct Report {
    /// Its number in the run.
    pub index: u32,
    /// Its peer id, once joined.
    pub id: Option<String>,
    /// How long from joining until ICE and DTLS were up (of every connection it has), if they
    /// came up.
    pub connected_after: Option<Duration>,
    /// Why it could not take part, if it could not.
    pub failed: Option<String>,
    /// The messages of the `media_failed` errors the server sent it.
    pub media_failed: Vec<String>,
    /// What it received in the measured window, by sender (its number in the run) and stream.
    pub received: BTreeMap<(u32, Stream), StreamCounts>,
    /// Bytes of payload it received in the measured window.
    pub received_bytes: u64,
    /// How late what it received in the measured window was: send to receive, in
    /// microseconds.
    pub latency_us: Histogram<u64>,
    /// RTP packets it handed its connection to send.
    pub sent: u64,
    /// Datagrams its connection put on the network.
    pub datagrams_sent: u64,
    /// Their bytes.
    pub bytes_sent: u64,
    /// How long it was connected.
    pub connected_for: Duration,
    /// Who its video slots carried last, by slot: peer ids.
    pub video_slots: BTreeMap<String, Option<String>>,
    /// The `speaking` frames it was sent: who speaks, and who speaks most.
    pub speaking: Vec<(Vec<String>, Option<String>)>,
    /// The measured window, in the run clock's nanoseconds.
    window: (u64, u64),
}

impl Report {
    /// An empty report of member `index`, counting what arrives within `window`.
    pub(crate) fn new(index: u32, window: (u64, u64)) -> Self {
        Report {
            index,
            id: None,
            connected_after: None,
            failed: None,
            media_failed: Vec::new(),
            received: BTreeMap::new(),
            received_bytes: 0,
            latency_us: Histogram::new(3).expect("3 significant figures is a valid histogram"),
            sent: 0,
            datagrams_sent: 0,
            bytes_sent: 0,
            connected_for: Duration::ZERO,
            video_slots: BTreeMap::new(),
            speaking: Vec::new(),
            window,
        }
    }

    /// A packet with `stamp` and `bytes` of payload arrived at `now` (run clock).
    pub(crate) fn arrived(&mut self, now: u64, stamp: Stamp, bytes: usize) {
        if !(self.window.0..self.window.1).contains(&now) {
            return;
        }
        let late = now.saturating_sub(stamp.sent) / 1_000;
        let _ = self.latency_us.record(late.max(1));
        self.received_bytes += bytes as u64;
        self.received
            .entry((stamp.sender, stamp.stream))
            .or_default()
            .count(stamp.seq);
    }

    /// Packets received from sender `index`, all streams together.
    pub fn packets_from(&self, index: u32) -> u64 {
        self.received
            .iter()
            .filter(|((sender, _), _)| *sender == index)
            .map(|(_, counts)| counts.packets)
            .sum()
    }

    /// Audio packets received from sender `index`.
    pub fn audio_from(&self, index: u32) -> u64 {
        self.received
            .get(&(index, Stream::Audio))
            .map_or(0, |counts| counts.packets)
    }

    /// Packets received in all.
    pub fn packets(&self) -> u64 {
        self.received.values().map(|counts| counts.packets).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn losses_are_counted_inside_runs_and_a_switch_is_not_a_loss() {
        let mut counts = StreamCounts::default();
        for seq in [0, 1, 2, 5, 6, 6, 4, 500, 501] {
            counts.count(seq);
        }
        assert_eq!(counts.packets, 9);
        assert_eq!(counts.duplicates, 1);
        // 3 and 4 went missing; 4 came late; 7 to 499 is a switch.
        assert_eq!(counts.lost, 1);
    }

    #[test]
    fn only_the_measured_window_counts() {
        let mut report = Report::new(0, (100, 200));
        let stamp = |seq| Stamp {
            sender: 1,
            stream: Stream::Audio,
            seq,
            sent: 50,
        };
        report.arrived(99, stamp(0), 80);
        report.arrived(150, stamp(1), 80);
        report.arrived(200, stamp(2), 80);
        assert_eq!(report.audio_from(1), 1);
        assert_eq!(report.received_bytes, 80);
    }
}
