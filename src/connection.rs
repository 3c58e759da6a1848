//! One WebSocket connection: a reader that turns frames into hub calls, and the one writer.
//!
//! The reader and the writer are two futures of the connection's one task. Only the writer ever
//! sends on the socket: it drains the connection's queues from the [`Hub`], so nothing else
//! ever waits on a slow client. Whatever way a connection ends (a close frame, a protocol
//! violation, a dropped TCP connection), it ends in the same `Hub::disconnect`.

use std::pin::pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_std::future::timeout;
use futures_util::future::{select, Either};
use futures_util::StreamExt;
use tide_websockets::tungstenite::error::ProtocolError;
use tide_websockets::tungstenite::protocol::frame::CloseFrame;
use tide_websockets::{Error as WsError, Message, WebSocketConnection};

use crate::excerpt::excerpt;
use crate::hub::{Close, Hub, Mailbox};
use crate::names::PeerId;
use crate::protocol::{decode, ClientMsg};
use crate::server::Shared;

/// The largest text message Room reads; a bigger one closes the connection with 1009.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// How long sending a close frame may take before the connection is simply dropped.
const CLOSE_SEND_TIMEOUT: Duration = Duration::from_secs(2);
/// How long the client has to answer a close frame with its own.
const CLOSE_REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// How a connection ended, for the log.
#[derive(Debug)]
enum End {
    /// The client sent a close frame.
    ClosedByClient { code: u16, reason: String },
    /// The server sent a close frame (and the client answered, or gave up).
    ClosedByServer(Close),
    /// The connection ended without a closing handshake.
    Dropped(String),
}

/// Serves one upgraded connection until it ends. `remote` is the client's address, for logs.
pub async fn serve(shared: Arc<Shared>, remote: String, conn: WebSocketConnection) {
    let hub = &shared.hub;
    let (id, mailbox) = hub.connect();
    log::info!(peer:% = id, remote = remote.as_str(); "connected");

    let reader = pin!(read_frames(hub, id, conn.clone()));
    let writer = pin!(write_frames(conn, mailbox));
    let end = match select(reader, writer).await {
        Either::Left((end, writer)) => {
            if let End::ClosedByServer(_) = end {
                // The reader stopped at an error it asked to close for: let the close go out.
                let _ = timeout(CLOSE_SEND_TIMEOUT, writer).await;
            }
            end
        }
        // The writer stops after it sent a close frame (or could not): wait for the reply.
        Either::Right((sent, reader)) => {
            let end = timeout(CLOSE_REPLY_TIMEOUT, reader).await;
            match (sent, end) {
                (Some(close), _) => End::ClosedByServer(close),
                (None, Ok(end)) => end,
                (None, Err(_)) => End::Dropped("the connection stopped".into()),
            }
        }
    };

    hub.disconnect(id);
    match end {
        End::ClosedByClient { code, reason } => {
            log::info!(peer:% = id, code, reason = excerpt(&reason).as_str(), by = "client"; "closed")
        }
        End::ClosedByServer(close) => {
            log::info!(peer:% = id, code = close.code, reason = close.reason, by = "server"; "closed")
        }
        End::Dropped(error) => log::info!(peer:% = id, error = error.as_str(); "dropped"),
    }
}

/// Reads until the connection ends and tells how it ended.
async fn read_frames(hub: &Hub, id: PeerId, mut stream: WebSocketConnection) -> End {
    // Once the server has asked to close, frames still arriving are not handled.
    let mut closing: Option<Close> = None;
    let mut close_from_client = None;
    let request_close = |close: Close, closing: &mut Option<Close>| {
        if closing.is_none() {
            hub.close(id, close);
            *closing = Some(close);
        }
    };

    while let Some(item) = stream.next().await {
        match item {
            Ok(Message::Text(text)) if closing.is_none() => {
                if text.len() > MAX_MESSAGE_BYTES {
                    log::info!(peer:% = id, bytes = text.len(); "frame too big");
                    request_close(Close::TOO_BIG, &mut closing);
                } else {
                    handle_text(hub, id, &text);
                }
            }
            Ok(Message::Binary(bytes)) if closing.is_none() => {
                log::info!(peer:% = id, bytes = bytes.len(); "binary frame");
                request_close(Close::UNSUPPORTED_DATA, &mut closing);
            }
            Ok(Message::Close(frame)) => {
                // The reply is queued by the WebSocket layer and goes out on the next read,
                // which then ends the stream.
                close_from_client = Some(match frame {
                    Some(frame) => (u16::from(frame.code), frame.reason.into_owned()),
                    None => (1005, String::new()),
                });
            }
            Ok(_) => {}
            Err(WsError::Utf8) => request_close(Close::INVALID_PAYLOAD, &mut closing),
            Err(WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake)) => break,
            Err(WsError::Capacity(_)) => {
                request_close(Close::TOO_BIG, &mut closing);
                return End::ClosedByServer(Close::TOO_BIG);
            }
            Err(WsError::Protocol(err)) => {
                log::info!(peer:% = id, error:% = err; "protocol error");
                request_close(Close::PROTOCOL_ERROR, &mut closing);
                return End::ClosedByServer(Close::PROTOCOL_ERROR);
            }
            Err(err) => return End::Dropped(err.to_string()),
        }
    }
    match (close_from_client, closing) {
        (_, Some(close)) => End::ClosedByServer(close),
        (Some((code, reason)), None) => End::ClosedByClient { code, reason },
        (None, None) => End::Dropped("connection ended without a close frame".into()),
    }
}

/// Logs one text frame and hands it to the hub.
fn handle_text(hub: &Hub, id: PeerId, text: &str) {
    let room = hub.room_of(id);
    let room = room.as_ref().map(|room| room.as_str());
    match decode(text) {
        Ok(msg) => {
            match &msg {
                ClientMsg::Chat { text } => {
                    log::info!(peer:% = id, room, kind = msg.kind(), text = excerpt(text).as_str(); "frame")
                }
                _ => log::info!(peer:% = id, room, kind = msg.kind(); "frame"),
            }
            hub.handle(now_millis(), id, msg);
        }
        Err(err) => {
            log::info!(peer:% = id, room, error:% = err, text = excerpt(text).as_str(); "frame");
            hub.reply(id, err.reply());
        }
    }
}

/// Sends what the hub queues for this connection, until a close is asked for or the hub lets
/// go of the connection. Returns the close it sent, if any.
async fn write_frames(conn: WebSocketConnection, mailbox: Mailbox) -> Option<Close> {
    loop {
        // `select` polls its first future first: a close request goes before queued frames.
        let text = match select(pin!(mailbox.closing.recv()), pin!(mailbox.frames.recv())).await {
            Either::Left((Ok(close), _)) => return Some(send_close(&conn, close).await),
            Either::Right((Ok(text), _)) => text,
            Either::Left((Err(_), _)) | Either::Right((Err(_), _)) => return None,
        };
        let send = conn.send(Message::Text(String::from(&*text)));
        match select(pin!(send), pin!(mailbox.closing.recv())).await {
            Either::Left((Ok(()), _)) => {}
            Either::Left((Err(_), _)) => return None,
            // A client too slow to take this frame is being closed: stop waiting for it.
            Either::Right((Ok(close), _)) => return Some(send_close(&conn, close).await),
            Either::Right((Err(_), _)) => return None,
        }
    }
}

async fn send_close(conn: &WebSocketConnection, close: Close) -> Close {
    let frame = CloseFrame {
        code: close.code.into(),
        reason: close.reason.into(),
    };
    let _ = timeout(CLOSE_SEND_TIMEOUT, conn.send(Message::Close(Some(frame)))).await;
    close
}

fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as u64)
}
