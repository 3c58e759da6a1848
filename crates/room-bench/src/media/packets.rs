//! The media a synthetic member sends: Opus-sized audio packets and VP8 simulcast frames cut
//! into packets, each payload ending in a stamp that says who sent it, on which stream, as
//! which packet, and when, so that a receiver can count losses, duplicates and latency.
//!
//! The VP8 packets carry a real payload descriptor (RFC 7741: a 15-bit picture id, TL0PICIDX
//! and a temporal layer index) and each frame's first packet a real frame header, a keyframe's
//! with the start code and the picture's size, so a server reads them as a browser's; the rest
//! is filler.

/// The length of the stamp at the end of every payload.
pub(crate) const STAMP_LEN: usize = 24;
/// The largest payload of a video packet, as browsers cut frames.
const MAX_VIDEO_PAYLOAD: usize = 1_100;
/// An Opus packet of 20 ms at about 32 kbit/s.
pub(crate) const AUDIO_PAYLOAD: usize = 80;

/// Which stream of its sender a packet belongs to: its microphone, or a camera layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stream {
    /// The microphone.
    Audio,
    /// A camera layer: 0 for the smallest.
    Camera(u8),
}

impl Stream {
    fn code(self) -> u8 {
        match self {
            Stream::Audio => 0,
            Stream::Camera(layer) => 1 + layer,
        }
    }

    fn from_code(code: u8) -> Option<Stream> {
        match code {
            0 => Some(Stream::Audio),
            1..=3 => Some(Stream::Camera(code - 1)),
            _ => None,
        }
    }
}

/// What a payload's stamp says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    /// The sender's number in the run.
    pub(crate) sender: u32,
    /// Its stream.
    pub(crate) stream: Stream,
    /// The packet's number in that stream, from 0.
    pub(crate) seq: u64,
    /// When it was sent, in the run clock's nanoseconds.
    pub(crate) sent: u64,
}

impl Stamp {
    fn write(&self, out: &mut [u8]) {
        out[..4].copy_from_slice(&self.sender.to_be_bytes());
        out[4] = self.stream.code();
        out[5..8].fill(0);
        out[8..16].copy_from_slice(&self.seq.to_be_bytes());
        out[16..24].copy_from_slice(&self.sent.to_be_bytes());
    }

    /// The stamp at the end of `payload`, if it has one.
    pub(crate) fn read(payload: &[u8]) -> Option<Stamp> {
        let start = payload.len().checked_sub(STAMP_LEN)?;
        let bytes = &payload[start..];
        let number = |range: std::ops::Range<usize>| {
            let mut eight = [0u8; 8];
            eight.copy_from_slice(&bytes[range]);
            u64::from_be_bytes(eight)
        };
        Some(Stamp {
            sender: u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]),
            stream: Stream::from_code(bytes[4])?,
            seq: number(8..16),
            sent: number(16..24),
        })
    }
}

/// An audio payload with its stamp.
pub(crate) fn audio_payload(stamp: Stamp) -> Vec<u8> {
    let mut payload = vec![0x78; AUDIO_PAYLOAD.max(STAMP_LEN)];
    let start = payload.len() - STAMP_LEN;
    stamp.write(&mut payload[start..]);
    payload
}

/// One VP8 frame to cut into packets.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Frame {
    /// Its bytes in all.
    pub(crate) bytes: usize,
    /// Whether it is a keyframe, and of which size.
    pub(crate) keyframe: Option<(u16, u16)>,
    /// The picture id (15 bits) and TL0PICIDX of the frame.
    pub(crate) picture: u16,
    pub(crate) tl0: u8,
}

/// The payloads of `frame`, each stamped by `stamp(n)` for its n-th packet; the caller sets the
/// marker on the last.
pub(crate) fn video_payloads(frame: Frame, mut stamp: impl FnMut(usize) -> Stamp) -> Vec<Vec<u8>> {
    let header = 6;
    let room = MAX_VIDEO_PAYLOAD - header - STAMP_LEN;
    let count = frame.bytes.div_ceil(room).max(1);
    let each = (frame.bytes / count).clamp(16, room);
    (0..count)
        .map(|index| {
            let mut payload = vec![0u8; header + each + STAMP_LEN];
            // X, and S on the frame's first packet; partition 0.
            payload[0] = 0x80 | if index == 0 { 0x10 } else { 0 };
            // I (picture id), L (TL0PICIDX), T (temporal layer index).
            payload[1] = 0xe0;
            payload[2] = 0x80 | ((frame.picture >> 8) as u8 & 0x7f);
            payload[3] = frame.picture as u8;
            payload[4] = frame.tl0;
            payload[5] = 0x20;
            if index == 0 {
                let body = &mut payload[header..];
                // The frame tag: P (0 for a keyframe), version 0, show_frame.
                body[0] = if frame.keyframe.is_some() { 0x10 } else { 0x11 };
                if let Some((width, height)) = frame.keyframe {
                    body[3..6].copy_from_slice(&[0x9d, 0x01, 0x2a]);
                    body[6..8].copy_from_slice(&width.to_le_bytes());
                    body[8..10].copy_from_slice(&height.to_le_bytes());
                }
            }
            let start = payload.len() - STAMP_LEN;
            stamp(index).write(&mut payload[start..]);
            payload
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_come_back_from_the_end_of_a_payload() {
        let stamp = Stamp {
            sender: 7,
            stream: Stream::Camera(2),
            seq: 123_456,
            sent: 987_654_321,
        };
        assert_eq!(Stamp::read(&audio_payload(stamp)), Some(stamp));
        assert_eq!(Stamp::read(&[1, 2, 3]), None);
    }

    #[test]
    fn a_keyframe_is_cut_into_packets_whose_first_says_what_it_is() {
        let frame = Frame {
            bytes: 5_000,
            keyframe: Some((1280, 720)),
            picture: 300,
            tl0: 9,
        };
        let packets = video_payloads(frame, |index| Stamp {
            sender: 1,
            stream: Stream::Camera(2),
            seq: index as u64,
            sent: 0,
        });
        assert!(packets.len() >= 5, "{} packets", packets.len());
        assert!(packets
            .iter()
            .all(|packet| packet.len() <= MAX_VIDEO_PAYLOAD));
        let first = &packets[0];
        assert_eq!(first[0] & 0x10, 0x10, "the first starts the frame");
        assert_eq!(&first[9..12], &[0x9d, 0x01, 0x2a]);
        assert_eq!(u16::from_le_bytes([first[12], first[13]]), 1280);
        assert!(packets[1..].iter().all(|packet| packet[0] & 0x10 == 0));
        let seqs: Vec<u64> = packets
            .iter()
            .map(|p| Stamp::read(p).unwrap().seq)
            .collect();
        assert_eq!(seqs, (0..packets.len() as u64).collect::<Vec<_>>());
    }
}
