//! The upgrade endpoint: a WebSocket request on tide is checked, admitted and switched to
//! the WebSocket protocol, and its socket handed to a task of its own.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use async_std::task;
use async_tungstenite::tungstenite::handshake::derive_accept_key;
use async_tungstenite::tungstenite::protocol::Role;
use async_tungstenite::WebSocketStream;
use room_core::flood::WireBudget;
use tide::http::mime;
use tide::{Request, Response, StatusCode};

use crate::net::admission::{Gate, Ticket, TicketSlot};
use crate::net::head_guard::HeadWatch;
use crate::net::hosts::Names;
use crate::ws::handshake::{self, Refusal, Upgrade};
use crate::ws::inbound::Metered;
use crate::ws::socket::{config, Socket};

/// Who may open a WebSocket, and what they may send.
#[derive(Debug, Clone)]
pub(crate) struct Admission<'a> {
    /// Room's names, for the origin check.
    pub(crate) names: &'a Names,
    /// The caps on WebSocket connections.
    pub(crate) gate: &'a Arc<Gate>,
    /// What a client may send on the wire (`None` for no bound: the conformance tests' echo).
    pub(crate) budget: Option<WireBudget>,
}

/// Whether a request asks for a WebSocket (`Connection: upgrade` and `Upgrade: websocket`).
pub(crate) fn is_upgrade<S>(req: &Request<S>) -> bool {
    let has_token = |name: &str, token: &str| {
        req.header(name).is_some_and(|values| {
            values.iter().any(|value| {
                value
                    .as_str()
                    .split(',')
                    .any(|part| part.trim().eq_ignore_ascii_case(token))
            })
        })
    };
    has_token("Connection", "upgrade") && has_token("Upgrade", "websocket")
}

/// Answers a request on a WebSocket route: refuses a bad or unwelcome upgrade with the right
/// status, or switches protocols and runs `serve` on the socket in its own task, with the
/// client's address and its place under the caps.
pub(crate) async fn upgrade<S, F, Fut>(
    req: Request<S>,
    admission: Admission<'_>,
    serve: F,
) -> tide::Result
where
    S: Clone + Send + Sync + 'static,
    F: FnOnce(String, Ticket, Socket) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let header = |name: &str| req.header(name).map(|values| values.as_str());
    if !is_upgrade(&req) {
        return Ok(not_an_upgrade());
    }
    let upgrade = Upgrade {
        key: header("Sec-WebSocket-Key"),
        version: header("Sec-WebSocket-Version"),
        origin: header("Origin"),
        host: header("Host"),
    };
    if let Err(refusal) = handshake::check(&upgrade, admission.names) {
        log::info!(remote = req.peer_addr(), reason:% = refusal; "upgrade refused");
        let mut res = plain(refusal.status(), format!("{refusal}\n"));
        if refusal == Refusal::BadVersion {
            res.insert_header("Sec-WebSocket-Version", "13");
        }
        return Ok(res);
    }
    let ticket = match admission.gate.admit(client_ip(&req)) {
        Ok(ticket) => ticket,
        Err(full) => {
            log::info!(remote = req.peer_addr(), reason:% = full; "upgrade refused");
            let mut res = plain(503, format!("{full}; try again later\n"));
            res.insert_header("Retry-After", "10");
            return Ok(res);
        }
    };
    // `check` made sure the key is there.
    let key = upgrade.key.unwrap_or_default().trim();
    let mut res = Response::new(StatusCode::SwitchingProtocols);
    res.insert_header("Upgrade", "websocket");
    res.insert_header("Connection", "Upgrade");
    res.insert_header("Sec-WebSocket-Accept", derive_accept_key(key.as_bytes()));
    let upgraded = AsMut::<tide::http::Response>::as_mut(&mut res)
        .recv_upgrade()
        .await;
    let watch = req.ext::<HeadWatch>().cloned();
    let place = req.ext::<TicketSlot>().and_then(TicketSlot::take);
    // The connection keeps only what it needs of the request, not the request.
    let budget = admission.budget;
    let remote = req.peer_addr().unwrap_or("unknown").to_owned();
    drop(req);
    task::spawn(async move {
        // The upgrade arrives once the 101 is written, or never if writing it failed.
        if let Some(connection) = upgraded.await {
            if let Some(watch) = watch {
                watch.stop();
            }
            let connection = Metered::new(connection, budget);
            let socket =
                WebSocketStream::from_raw_socket(connection, Role::Server, Some(config())).await;
            serve(remote, ticket, socket).await;
        }
        drop(place);
    });
    Ok(res)
}

/// The client's address, as the listener recorded it.
pub(crate) fn client_ip<S>(req: &Request<S>) -> IpAddr {
    req.peer_addr()
        .and_then(|addr| addr.parse::<SocketAddr>().ok())
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |addr| addr.ip())
}

fn not_an_upgrade() -> Response {
    let mut res = plain(
        426,
        "This is Room's WebSocket endpoint: connect with a WebSocket client (ws://).\n".into(),
    );
    res.insert_header("Upgrade", "websocket");
    res.insert_header("Sec-WebSocket-Version", "13");
    res
}

fn plain(status: u16, body: String) -> Response {
    let status = StatusCode::try_from(status).unwrap_or(StatusCode::BadRequest);
    Response::builder(status)
        .content_type(mime::PLAIN)
        .body(body)
        .build()
}
