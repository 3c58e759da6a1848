//! The accept loop: plain TCP or TLS connections handed to the tide app over HTTP/1.1.
//!
//! tide's own listeners speak plain TCP only; this loop serves both, so pages, the browser
//! client and the WebSocket share one port with or without TLS. Every connection's request
//! heads are bounded in bytes and time by [`crate::head_guard`].

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use async_std::future::timeout;
use async_std::io::{Read, Write};
use async_std::net::TcpListener;
use async_std::task;
use futures_rustls::TlsAcceptor;
use futures_util::future::{select, Either};

use crate::head_guard::{Guarded, HeadWatch};

/// How long a client may take to finish the TLS handshake.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to wait before accepting again after `accept` failed (say, out of file handles).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// How often a connection's request head is checked against [`crate::head_guard::HEAD_TIMEOUT`].
const HEAD_CHECK_EVERY: Duration = Duration::from_millis(500);

/// Accepts connections forever, each served on its own task.
pub async fn serve<State>(
    app: tide::Server<State>,
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
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
        // Frames are small and written once per batch: send each write at once instead of
        // waiting to fill a packet (Nagle's algorithm added up to 40 ms to a chat's delivery).
        if let Err(err) = stream.set_nodelay(true) {
            log::debug!(remote:% = peer, error:% = err; "cannot set TCP_NODELAY");
        }
        let app = app.clone();
        let tls = tls.clone();
        task::spawn(async move {
            let local = stream.local_addr().ok();
            match tls {
                None => serve_http(app, stream, peer, local).await,
                Some(tls) => match timeout(TLS_HANDSHAKE_TIMEOUT, tls.accept(stream)).await {
                    Ok(Ok(stream)) => {
                        // HTTP/1.1 wants a stream it can clone for reading and writing.
                        let stream = async_dup::Arc::new(async_dup::Mutex::new(stream));
                        serve_http(app, stream, peer, local).await
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

async fn serve_http<State, S>(
    app: tide::Server<State>,
    stream: S,
    peer: SocketAddr,
    local: Option<SocketAddr>,
) where
    State: Clone + Send + Sync + 'static,
    S: Read + Write + Clone + Send + Sync + Unpin + 'static,
{
    let stream = Guarded::new(stream);
    let watch = stream.watch().clone();
    let overdue = head_overdue(watch.clone());
    let on_request = move |mut req: tide::http::Request| {
        req.set_peer_addr(Some(peer));
        req.set_local_addr(local);
        // The WebSocket route stops the watch once the connection carries frames.
        req.ext_mut().insert(watch.clone());
        let app = app.clone();
        async move { app.respond(req).await }
    };
    let served = async_h1::accept(stream, on_request);
    match select(std::pin::pin!(served), std::pin::pin!(overdue)).await {
        Either::Left((Err(err), _)) => {
            log::debug!(remote:% = peer, error:% = err; "HTTP connection failed")
        }
        Either::Left((Ok(()), _)) => {}
        Either::Right(((), _)) => log::debug!(remote:% = peer; "request head timed out"),
    }
}

/// Completes when a request head has taken longer than [`crate::head_guard::HEAD_TIMEOUT`].
async fn head_overdue(watch: HeadWatch) {
    while !watch.overdue() {
        task::sleep(HEAD_CHECK_EVERY).await;
    }
}
