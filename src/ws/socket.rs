//! The limits every WebSocket gets, and what its task writes on it.
//!
//! tide-websockets builds its sockets with tungstenite's defaults, which buffer messages up
//! to 64 MiB and cannot be changed through its API. Room upgrades the connection itself
//! ([`crate::ws::upgrade`]) and hands it to async-tungstenite with a [`config`] that refuses
//! anything over [`MAX_MESSAGE_BYTES`] as soon as a frame header announces it, reading through
//! [`Metered`]. The rest of the server sees Room's own [`Close`], never tungstenite's types.

use std::time::{Duration, Instant};

use async_std::future::timeout;
use async_std::io::ReadExt;
use async_tungstenite::tungstenite::error::ProtocolError;
use async_tungstenite::tungstenite::protocol::frame::CloseFrame;
use async_tungstenite::tungstenite::protocol::WebSocketConfig;
use async_tungstenite::tungstenite::Error as WsError;
use async_tungstenite::tungstenite::Message;
use async_tungstenite::WebSocketStream;
use room_core::protocol::Close;
use tide::http::upgrade::Connection;

use crate::ws::inbound::{Metered, Violation};

/// The largest message Room reads; a bigger one closes the connection with 1009.
pub(crate) const MAX_MESSAGE_BYTES: usize = 128 * 1024;

/// An accepted WebSocket, its reads counted and bounded on the wire.
pub(crate) type Socket = WebSocketStream<Metered<Connection>>;

/// The longest header of a frame the server sends (no mask, 64-bit length).
pub(crate) const MAX_FRAME_HEADER: usize = 10;

/// Appends one unfragmented text frame, as a server sends it (RFC 6455 section 5.2: FIN and
/// opcode 1, no mask, the shortest length encoding).
pub(crate) fn encode_text_frame(out: &mut Vec<u8>, payload: &[u8]) {
    const FIN_TEXT: u8 = 0x81;
    out.push(FIN_TEXT);
    match payload.len() {
        len @ 0..=125 => out.push(len as u8),
        len @ 126..=0xffff => {
            out.push(126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            out.push(127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
}

/// How long sending a close frame may take before the connection is simply dropped.
pub(crate) const CLOSE_SEND_TIMEOUT: Duration = Duration::from_secs(2);
/// How long the server keeps reading (and discarding) after it closed a connection that broke
/// the rules, so the client gets to read the close frame before the TCP connection goes.
const LINGER: Duration = Duration::from_secs(1);
/// The most bytes discarded while lingering.
const LINGER_BYTES: usize = 1024 * 1024;

/// The settings of every socket.
pub(crate) fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        // Allocated up front for every connection: small, since Room's frames are small.
        .read_buffer_size(1024)
        // The layer itself writes only pongs, pings and close frames (and the echo route's
        // replies): Room's frames go to the connection directly, in batches (see
        // `connection`). Past this it writes through.
        .write_buffer_size(64 * 1024)
        .max_write_buffer_size(MAX_MESSAGE_BYTES * 4)
        .max_message_size(Some(MAX_MESSAGE_BYTES))
        .max_frame_size(Some(MAX_MESSAGE_BYTES))
}

/// What a read error means for the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReadFailure {
    /// The client broke a rule: answer with this close, then end the connection.
    Close(Close),
    /// The connection is gone; nothing more can be sent.
    Gone,
}

/// Maps a read error to what the server does about it.
pub(crate) fn read_failure(err: &WsError) -> ReadFailure {
    match err {
        WsError::Io(io) => match Violation::of(io) {
            Some(Violation::TooManyFragments) => ReadFailure::Close(Close::TOO_MANY_FRAGMENTS),
            Some(Violation::Flood) => ReadFailure::Close(Close::RATE_LIMITED),
            None => ReadFailure::Gone,
        },
        WsError::Capacity(_) => ReadFailure::Close(Close::TOO_BIG),
        WsError::Utf8 => ReadFailure::Close(Close::INVALID_PAYLOAD),
        WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => ReadFailure::Gone,
        WsError::Protocol(_) => ReadFailure::Close(Close::PROTOCOL_ERROR),
        _ => ReadFailure::Gone,
    }
}

/// Sends a close frame, giving up after [`CLOSE_SEND_TIMEOUT`].
pub(crate) async fn send_close(socket: &mut Socket, close: Close) {
    let frame = CloseFrame {
        code: close.code.into(),
        reason: close.reason.into(),
    };
    let _ = timeout(CLOSE_SEND_TIMEOUT, socket.send(Message::Close(Some(frame)))).await;
}

/// Ends a connection whose reading failed: sends `close`, then reads and discards what the
/// client still sends for a moment. Closing a socket that has unread data resets the
/// connection, and a reset can destroy the close frame before the client reads it.
pub(crate) async fn fail(socket: &mut Socket, close: Close) {
    send_close(socket, close).await;
    socket.get_mut().closing();
    let started = Instant::now();
    let mut discarded = 0;
    // On the heap: an array here would make every connection's task this much larger.
    let mut buf = vec![0; 4096];
    while discarded < LINGER_BYTES {
        let left = LINGER.saturating_sub(started.elapsed());
        match timeout(left, socket.get_mut().read(&mut buf)).await {
            Ok(Ok(read)) if read > 0 => discarded += read,
            _ => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_tungstenite::tungstenite::error::CapacityError;
    use async_tungstenite::tungstenite::protocol::frame::FrameHeader;
    use std::io::Cursor;

    #[test]
    fn text_frames_are_encoded_with_the_shortest_length_the_rfc_allows() {
        for (len, header_len) in [(0, 2), (125, 2), (126, 4), (65_535, 4), (65_536, 10)] {
            let payload = "é".repeat(len / 2) + &"a".repeat(len % 2);
            let mut out = Vec::new();
            encode_text_frame(&mut out, payload.as_bytes());
            assert_eq!(out.len(), header_len + len, "{len}");
            // tungstenite, as a client would, reads back the same frame.
            let mut cursor = Cursor::new(&out[..]);
            let (header, length) = FrameHeader::parse(&mut cursor).unwrap().unwrap();
            assert!(header.is_final);
            assert_eq!(header.mask, None);
            assert_eq!(u8::from(header.opcode), 1);
            assert_eq!(length, len as u64);
            assert_eq!(&out[header_len..], payload.as_bytes());
        }
    }

    #[test]
    fn broken_rules_get_their_close_codes_and_lost_connections_none() {
        let too_big = WsError::Capacity(CapacityError::MessageTooLong {
            size: MAX_MESSAGE_BYTES + 1,
            max_size: MAX_MESSAGE_BYTES,
        });
        assert_eq!(read_failure(&too_big), ReadFailure::Close(Close::TOO_BIG));
        assert_eq!(
            read_failure(&WsError::Utf8),
            ReadFailure::Close(Close::INVALID_PAYLOAD)
        );
        let masked = WsError::Protocol(ProtocolError::UnmaskedFrameFromClient);
        assert_eq!(
            read_failure(&masked),
            ReadFailure::Close(Close::PROTOCOL_ERROR)
        );
        let reset = WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake);
        assert_eq!(read_failure(&reset), ReadFailure::Gone);
        let io = WsError::Io(std::io::ErrorKind::ConnectionReset.into());
        assert_eq!(read_failure(&io), ReadFailure::Gone);
    }
}
