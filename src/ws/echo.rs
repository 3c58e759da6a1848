//! An echo endpoint on Room's WebSocket layer, for conformance tests such as Autobahn|Testsuite.
//!
//! It exists only when the server starts with `--echo-route`: it sends every message back, so
//! the tests exercise exactly the upgrade, limits and close handling that `/ws` uses.

use async_tungstenite::tungstenite::Message;
use futures_util::StreamExt;

use crate::net::admission::Ticket;
use crate::ws::socket::{self as ws, ReadFailure, Socket};

/// Echoes text and binary messages until the connection ends.
pub(crate) async fn serve(ticket: Ticket, mut socket: Socket) {
    while let Some(item) = socket.next().await {
        match item {
            Ok(message @ (Message::Text(_) | Message::Binary(_))) => {
                if socket.send(message).await.is_err() {
                    break;
                }
            }
            Ok(_) => {}
            Err(err) => {
                if let ReadFailure::Close(close) = ws::read_failure(&err) {
                    ws::fail(&mut socket, close).await;
                }
                break;
            }
        }
    }
    drop(ticket);
}
