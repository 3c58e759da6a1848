//! What a client sends, counted on the wire before the WebSocket layer reads it.
//!
//! tungstenite answers pings, takes pongs and joins continuation frames without Room ever
//! seeing them, so a client could send millions of them and cost the server its time. Every
//! WebSocket's connection is wrapped in [`Metered`], which scans the frame headers going by
//! ([`FrameScanner`]), charges every frame and every byte to the connection's [`Wire`] budget
//! and stops reading while the budget is spent: the kernel's flow control then pushes back on
//! the sender. A connection that keeps running out, or sends a message in more than
//! [`MAX_FRAGMENTS`] frames, gets a read error that closes it ([`Violation`]). Once the server
//! has sent its close frame, the wrapper reads at most [`CLOSING_READ_BYTES`] more.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use async_io::Timer;
use async_std::io::{Read as AsyncRead, Write as AsyncWrite};
use futures_util::Future;
use room_core::flood::{Allowance, Wire, WireBudget};

use crate::clock;

/// The most frames one message may come in. Browsers and libraries send messages of Room's
/// size whole; the WebSocket conformance suite uses a few dozen fragments at most.
pub(crate) const MAX_FRAGMENTS: u32 = 128;
/// The most bytes read after the server's close frame while waiting for the client's.
pub(crate) const CLOSING_READ_BYTES: usize = 256 * 1024;

/// Why reading was stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Violation {
    /// A message came in more fragments than [`MAX_FRAGMENTS`].
    #[error("a message in more than {MAX_FRAGMENTS} fragments")]
    TooManyFragments,
    /// The connection ran out of wire budget too often.
    #[error("over its budget of frames and bytes too often")]
    Flood,
}

impl Violation {
    /// The violation behind a read error, if the error is one.
    pub(crate) fn of(err: &io::Error) -> Option<Violation> {
        err.get_ref()?.downcast_ref::<Violation>().copied()
    }
}

/// Where the scan of a client's frames stands between reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scan {
    /// Reading a frame header: the bytes so far, and how many of them there are.
    Header { bytes: [u8; 14], have: usize },
    /// Skipping a payload: how many bytes of it are left.
    Payload { left: u64 },
}

/// Counts the frames in a stream of client-to-server WebSocket bytes (RFC 6455 section 5.2)
/// and the fragments of the message being received. It checks nothing else: the WebSocket
/// layer reads the same bytes and refuses whatever breaks the protocol.
#[derive(Debug, Clone)]
pub(crate) struct FrameScanner {
    scan: Scan,
    /// Frames of the data message being received, or 0 between messages.
    fragments: u32,
}

impl Default for FrameScanner {
    fn default() -> Self {
        FrameScanner {
            scan: Scan::Header {
                bytes: [0; 14],
                have: 0,
            },
            fragments: 0,
        }
    }
}

impl FrameScanner {
    /// Scans the next bytes of the stream; returns how many frame headers ended in them.
    pub(crate) fn scan(&mut self, mut input: &[u8]) -> Result<u64, Violation> {
        let mut frames = 0;
        while !input.is_empty() {
            match &mut self.scan {
                Scan::Payload { left } => {
                    let skip = usize::try_from(*left)
                        .unwrap_or(usize::MAX)
                        .min(input.len());
                    *left -= skip as u64;
                    input = &input[skip..];
                    if *left == 0 {
                        self.scan = Scan::Header {
                            bytes: [0; 14],
                            have: 0,
                        };
                    }
                }
                Scan::Header { bytes, have } => {
                    bytes[*have] = input[0];
                    *have += 1;
                    input = &input[1..];
                    let Some(length) = header_length(&bytes[..*have]) else {
                        continue;
                    };
                    if *have < length {
                        continue;
                    }
                    let header = *bytes;
                    frames += 1;
                    self.count_fragment(header[0])?;
                    let payload = payload_length(&header);
                    self.scan = if payload == 0 {
                        Scan::Header {
                            bytes: [0; 14],
                            have: 0,
                        }
                    } else {
                        Scan::Payload { left: payload }
                    };
                }
            }
        }
        Ok(frames)
    }

    fn count_fragment(&mut self, first: u8) -> Result<(), Violation> {
        let fin = first & 0x80 != 0;
        let opcode = first & 0x0f;
        let control = opcode & 0x08 != 0;
        if control {
            // Pings, pongs and closes may come between fragments and belong to no message.
            return Ok(());
        }
        self.fragments = if opcode == 0 { self.fragments + 1 } else { 1 };
        if self.fragments > MAX_FRAGMENTS {
            return Err(Violation::TooManyFragments);
        }
        if fin {
            self.fragments = 0;
        }
        Ok(())
    }
}

/// The length of the header that starts with `bytes`, once enough of it is there to say.
fn header_length(bytes: &[u8]) -> Option<usize> {
    let second = *bytes.get(1)?;
    let extended = match second & 0x7f {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    let mask = if second & 0x80 != 0 { 4 } else { 0 };
    Some(2 + extended + mask)
}

/// The payload length a complete header announces.
fn payload_length(header: &[u8; 14]) -> u64 {
    match header[1] & 0x7f {
        126 => u64::from(u16::from_be_bytes([header[2], header[3]])),
        127 => u64::from_be_bytes([
            header[2], header[3], header[4], header[5], header[6], header[7], header[8], header[9],
        ]),
        short => u64::from(short),
    }
}

/// A client connection whose reads are counted and bounded (see the module docs).
#[derive(Debug)]
pub(crate) struct Metered<S> {
    inner: S,
    scanner: FrameScanner,
    /// `None` reads without a budget (the conformance tests' echo route).
    wire: Option<Wire>,
    pause: Option<Timer>,
    /// Once the server's close frame is out: the bytes that may still be read.
    closing_left: Option<usize>,
}

impl<S> Metered<S> {
    /// Wraps `inner`, with `budget` if there is one.
    pub(crate) fn new(inner: S, budget: Option<WireBudget>) -> Self {
        Metered {
            inner,
            scanner: FrameScanner::default(),
            wire: budget.map(|budget| Wire::new(budget, clock::tick())),
            pause: None,
            closing_left: None,
        }
    }

    /// The server's close frame is out: from now on read only enough to see the client's close
    /// (at most [`CLOSING_READ_BYTES`]), and end the stream rather than fail it.
    pub(crate) fn closing(&mut self) {
        self.closing_left.get_or_insert(CLOSING_READ_BYTES);
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Metered<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let mut most = buf.len();
        if let Some(left) = this.closing_left {
            if left == 0 {
                return Poll::Ready(Ok(0));
            }
            most = most.min(left);
        }
        if let Some(wire) = &mut this.wire {
            loop {
                if let Some(pause) = &mut this.pause {
                    ready!(Pin::new(pause).poll(cx));
                    this.pause = None;
                }
                match wire.allowance(clock::tick()) {
                    Allowance::Read(bytes) => {
                        most = most.min(bytes);
                        break;
                    }
                    Allowance::Pause(wait) => this.pause = Some(Timer::after(wait)),
                    Allowance::Close if this.closing_left.is_some() => {
                        return Poll::Ready(Ok(0));
                    }
                    Allowance::Close => {
                        return Poll::Ready(Err(io::Error::other(Violation::Flood)));
                    }
                }
            }
        }
        let read = ready!(Pin::new(&mut this.inner).poll_read(cx, &mut buf[..most]))?;
        let frames = match &mut this.closing_left {
            Some(left) => {
                // Only the search for the client's close reads on now, and the cap on bytes
                // bounds it: the bytes (maybe the rest of a broken frame) are not scanned.
                *left -= read;
                0
            }
            None => this.scanner.scan(&buf[..read]).map_err(io::Error::other)?,
        };
        if let Some(wire) = &mut this.wire {
            wire.charge(clock::tick(), read, frames);
        }
        Poll::Ready(Ok(read))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Metered<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A masked client frame with `payload` bytes of payload (zeros).
    fn frame(first: u8, payload: usize) -> Vec<u8> {
        let mut out = vec![first];
        match payload {
            0..=125 => out.push(0x80 | payload as u8),
            126..=0xffff => {
                out.push(0x80 | 126);
                out.extend_from_slice(&(payload as u16).to_be_bytes());
            }
            _ => {
                out.push(0x80 | 127);
                out.extend_from_slice(&(payload as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(&[1, 2, 3, 4]);
        out.resize(out.len() + payload, 0);
        out
    }

    const TEXT: u8 = 0x81;
    const TEXT_START: u8 = 0x01;
    const CONTINUATION: u8 = 0x00;
    const LAST_CONTINUATION: u8 = 0x80;
    const PONG: u8 = 0x8a;

    #[test]
    fn frames_of_every_length_encoding_are_counted() {
        let mut stream = Vec::new();
        for payload in [0, 5, 125, 126, 300, 65_535, 65_536, 140_000] {
            stream.extend(frame(TEXT, payload));
        }
        stream.extend(frame(PONG, 0));
        let mut scanner = FrameScanner::default();
        assert_eq!(scanner.scan(&stream), Ok(9));
    }

    #[test]
    fn frames_split_across_reads_at_any_byte_are_counted_once() {
        let stream: Vec<u8> = [frame(TEXT, 130), frame(PONG, 3), frame(TEXT, 0)].concat();
        for size in 1..=stream.len() {
            let mut scanner = FrameScanner::default();
            let frames: u64 = stream
                .chunks(size)
                .map(|chunk| scanner.scan(chunk).unwrap())
                .sum();
            assert_eq!(frames, 3, "reads of {size} bytes");
        }
    }

    #[test]
    fn a_message_in_too_many_fragments_is_a_violation() {
        let mut scanner = FrameScanner::default();
        scanner.scan(&frame(TEXT_START, 1)).unwrap();
        for _ in 1..MAX_FRAGMENTS - 1 {
            scanner.scan(&frame(CONTINUATION, 0)).unwrap();
            // Control frames between fragments are no fragments.
            scanner.scan(&frame(PONG, 0)).unwrap();
        }
        scanner.scan(&frame(LAST_CONTINUATION, 0)).unwrap();
        // The count starts again with the next message.
        scanner.scan(&frame(TEXT_START, 1)).unwrap();
        for _ in 1..MAX_FRAGMENTS {
            scanner.scan(&frame(CONTINUATION, 0)).unwrap();
        }
        assert_eq!(
            scanner.scan(&frame(CONTINUATION, 0)),
            Err(Violation::TooManyFragments)
        );
    }

    #[test]
    fn violations_survive_the_trip_through_an_io_error() {
        let err = io::Error::other(Violation::Flood);
        assert_eq!(Violation::of(&err), Some(Violation::Flood));
        assert_eq!(Violation::of(&io::ErrorKind::BrokenPipe.into()), None);
    }
}
