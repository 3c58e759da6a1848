//! The accept loop: plain TCP or TLS connections handed to the tide app over HTTP/1.1.
//!
//! tide's own listeners speak plain TCP only; this loop serves both, so pages, the browser
//! client and the WebSocket share one port with or without TLS. Every TCP connection takes a
//! place under the listener's caps as soon as it is accepted, before it has sent a byte: one
//! address may hold only so many, and the total stays below the open-files limit with room to
//! spare, so the loop can always accept and a connection over a cap is answered `503` at once
//! (on plain HTTP) or closed, instead of the loop stalling. Every connection's request heads
//! are bounded in bytes and time by [`crate::net::head_guard`].

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_std::future::timeout;
use async_std::io::{Read, ReadExt, Write, WriteExt};
use async_std::net::{TcpListener, TcpStream};
use async_std::task;
use futures_rustls::TlsAcceptor;
use futures_util::future::{select, Either};

use crate::net::admission::{Full, Gate, TicketSlot};
use crate::net::head_guard::{Guarded, HeadWatch, Overdue};
use crate::net::plain_on_tls::{self, TLS_HANDSHAKE};

/// How long a client may take to finish the TLS handshake.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to wait before accepting again after `accept` failed (say, out of file handles).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// How often a connection's timing is checked against the limits of [`crate::net::head_guard`].
const HEAD_CHECK_EVERY: Duration = Duration::from_millis(500);
/// How long writing the `503` to a connection over a cap may take.
const REFUSAL_WRITE_TIMEOUT: Duration = Duration::from_secs(1);
/// The most of a plain HTTP request's head read on the TLS port, to redirect it.
const PLAIN_HEAD_BYTES: usize = 8 * 1024;

/// Accepts connections forever, each served on its own task once `gate` admits it.
pub(crate) async fn serve<State>(
    app: tide::Server<State>,
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    gate: Arc<Gate>,
) -> io::Result<()>
where
    State: Clone + Send + Sync + 'static,
{
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(err) => {
                log::warn!(error:% = err; "accept failed");
                task::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let ticket = match gate.admit(peer.ip()) {
            Ok(ticket) => ticket,
            Err(full) => {
                let plain = tls.is_none();
                task::spawn(refuse(stream, peer, full, plain));
                continue;
            }
        };
        // Frames are small and written once per batch: send each write at once instead of
        // waiting to fill a packet (Nagle's algorithm added up to 40 ms to a chat's delivery).
        if let Err(err) = stream.set_nodelay(true) {
            log::debug!(remote:% = peer, error:% = err; "cannot set TCP_NODELAY");
        }
        let app = app.clone();
        let tls = tls.clone();
        // The connection's place is held until it closes: past its requests, and past the
        // upgrade if it becomes a WebSocket, whose task then holds it.
        let place = TicketSlot::new(ticket);
        task::spawn(async move {
            let local = stream.local_addr().ok();
            match tls {
                None => serve_http(app, stream, peer, local, place).await,
                Some(_) if !starts_tls(&stream).await => answer_plain(stream, peer).await,
                Some(tls) => match timeout(TLS_HANDSHAKE_TIMEOUT, tls.accept(stream)).await {
                    Ok(Ok(stream)) => {
                        // HTTP/1.1 wants a stream it can clone for reading and writing.
                        let stream = async_dup::Arc::new(async_dup::Mutex::new(stream));
                        serve_http(app, stream, peer, local, place).await
                    }
                    Ok(Err(err)) => {
                        log::debug!(remote:% = peer, error:% = err; "TLS handshake failed")
                    }
                    Err(_) => log::debug!(remote:% = peer; "TLS handshake timed out"),
                },
            }
        });
    }
}

/// Whether the connection's first byte, once it comes, begins a TLS handshake; a connection
/// that sends nothing in time counts as TLS, whose handshake then times out.
async fn starts_tls(stream: &TcpStream) -> bool {
    let mut first = [0u8; 1];
    match timeout(TLS_HANDSHAKE_TIMEOUT, stream.peek(&mut first)).await {
        Ok(Ok(1)) => first[0] == TLS_HANDSHAKE,
        _ => true,
    }
}

/// Plain HTTP on the TLS port: reads its head (bounded in bytes and time) and answers with a
/// redirect to https, then closes.
async fn answer_plain(mut stream: TcpStream, peer: SocketAddr) {
    log::debug!(remote:% = peer; "plain HTTP on the TLS port");
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    let read_head = async {
        while head.len() < PLAIN_HEAD_BYTES && !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
    };
    let _ = timeout(TLS_HANDSHAKE_TIMEOUT, read_head).await;
    let end = head
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(head.len());
    let response = plain_on_tls::answer(&head[..end]);
    let _ = timeout(REFUSAL_WRITE_TIMEOUT, stream.write_all(&response)).await;
}

/// Answers a connection over a cap: a `503` on plain HTTP (TLS would need a handshake first,
/// which is what the cap saves), then closes it.
async fn refuse(mut stream: TcpStream, peer: SocketAddr, full: Full, plain: bool) {
    log::debug!(remote:% = peer, reason:% = full; "connection refused");
    if plain {
        let body = format!("{full}; try again later\n");
        let response = format!(
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nRetry-After: 10\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = timeout(REFUSAL_WRITE_TIMEOUT, stream.write_all(response.as_bytes())).await;
    }
}

async fn serve_http<State, S>(
    app: tide::Server<State>,
    stream: S,
    peer: SocketAddr,
    local: Option<SocketAddr>,
    place: TicketSlot,
) where
    State: Clone + Send + Sync + 'static,
    S: Read + Write + Clone + Send + Sync + Unpin + 'static,
{
    let stream = Guarded::new(stream);
    let watch = stream.watch().clone();
    let overdue = overdue(watch.clone());
    let on_request = move |mut req: tide::http::Request| {
        req.set_peer_addr(Some(peer));
        req.set_local_addr(local);
        // The WebSocket route stops the watch once the connection carries frames, and keeps
        // the connection's place.
        req.ext_mut().insert(watch.clone());
        req.ext_mut().insert(place.clone());
        let app = app.clone();
        async move { app.respond(req).await }
    };
    let served = async_h1::accept(stream, on_request);
    match select(std::pin::pin!(served), std::pin::pin!(overdue)).await {
        Either::Left((Err(err), _)) => {
            log::debug!(remote:% = peer, error:% = err; "HTTP connection failed")
        }
        Either::Left((Ok(()), _)) => {}
        Either::Right((overdue, _)) => log::debug!(remote:% = peer; "{}", overdue.describe()),
    }
}

/// Completes when the connection breaks one of [`crate::net::head_guard`]'s time limits.
async fn overdue(watch: HeadWatch) -> Overdue {
    loop {
        if let Some(overdue) = watch.overdue() {
            return overdue;
        }
        task::sleep(HEAD_CHECK_EVERY).await;
    }
}
