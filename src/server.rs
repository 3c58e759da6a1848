//! The tide app: pages, the browser client's files and the WebSocket route on one listener.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use async_std::net::TcpListener;
use futures_rustls::TlsAcceptor;
use maud::Markup;
use percent_encoding::percent_decode_str;
use tide::http::mime;
use tide::{Next, Request, Response, StatusCode};
use tide_websockets::WebSocket;

use crate::config::Config;
use crate::handshake::{self, Refusal, Upgrade};
use crate::hub::Hub;
use crate::ice::{self, IceError};
use crate::names::RoomName;
use crate::rooms::Limits;
use crate::tls::{self, TlsError};
use crate::{assets, connection, listener, pages};

/// What every request handler can reach.
#[derive(Debug)]
pub struct Shared {
    /// The rooms and connections.
    pub hub: Hub,
    /// The ICE servers for the browsers, as the JSON the room page carries.
    pub ice_servers_json: String,
    /// Origins besides the server's own whose pages may open a WebSocket.
    pub allowed_origins: Vec<String>,
    /// Whether the listener speaks TLS (so the server's own origin is `https://`).
    pub tls: bool,
}

/// The tide state: one [`Shared`] for the whole server.
pub type State = Arc<Shared>;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// What was asked for.
        addr: String,
        /// Why it failed.
        source: io::Error,
    },
    /// TLS could not be set up.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// An `--ice-server` is not one.
    #[error(transparent)]
    Ice(#[from] IceError),
}

/// A server bound to its address, ready to serve.
pub struct Server {
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    app: tide::Server<State>,
    url: String,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Binds the listener and prepares TLS and the app; serving starts with [`Server::serve`].
    pub async fn bind(config: &Config) -> Result<Server, StartError> {
        let ice_servers = ice::servers(
            &config.ice_servers,
            config.ice_username.as_deref(),
            config.ice_credential.as_deref(),
        )?;
        let tls = match (&config.tls_cert, &config.tls_key) {
            (Some(cert), Some(key)) => Some(tls::from_files(cert, key)?),
            _ if config.tls_self_signed => {
                let (acceptor, names) = tls::self_signed()?;
                log::info!(names:? = names; "made a self-signed certificate");
                Some(acceptor)
            }
            _ => None,
        };
        let addr = (config.host.as_str(), config.port);
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind {
                addr: format!("{}:{}", config.host, config.port),
                source,
            })?;
        let local = listener.local_addr().map_err(|source| StartError::Bind {
            addr: format!("{}:{}", config.host, config.port),
            source,
        })?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let shared = Shared {
            hub: Hub::new(Limits {
                max_room_size: usize::from(config.max_room_size),
            }),
            // A list of plain strings always serialises.
            ice_servers_json: serde_json::to_string(&ice_servers).expect("ICE servers serialise"),
            allowed_origins: config.allowed_origins.clone(),
            tls: tls.is_some(),
        };
        Ok(Server {
            listener,
            tls,
            app: app(Arc::new(shared)),
            url: format!("{scheme}://{local}"),
        })
    }

    /// Where the server listens, such as `http://127.0.0.1:3000`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until the process ends.
    pub async fn serve(self) -> io::Result<()> {
        listener::serve(self.app, self.listener, self.tls).await
    }
}

/// The policy for Room's pages: everything comes from Room itself, media may be local blobs.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data: blob:; \
    media-src 'self' blob: mediastream:; connect-src 'self'; frame-ancestors 'none'; \
    base-uri 'none'; form-action 'self'";

/// Builds the app around the shared state.
pub fn app(shared: State) -> tide::Server<State> {
    let mut app = tide::with_state(shared);
    app.with(not_found_page);
    app.at("/").get(home);
    app.at("/room").get(room_from_form);
    app.at("/room/:name").get(room);
    app.at("/static/*path").get(asset);
    app.at("/healthz").get(healthz);
    app.at("/ws")
        .with(check_upgrade)
        .with(WebSocket::new(|req: Request<State>, conn| async move {
            let remote = req.peer_addr().unwrap_or("unknown").to_owned();
            connection::serve(req.state().clone(), remote, conn).await;
            Ok(())
        }))
        .get(not_an_upgrade);
    app
}

fn html(status: StatusCode, page: Markup) -> Response {
    Response::builder(status)
        .content_type(mime::HTML)
        .header("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        .header("X-Content-Type-Options", "nosniff")
        .body(page.into_string())
        .build()
}

async fn home(req: Request<State>) -> tide::Result {
    Ok(html(
        StatusCode::Ok,
        pages::home(&req.state().hub.room_list()),
    ))
}

async fn room(req: Request<State>) -> tide::Result {
    let raw = percent_decode_str(req.param("name")?).decode_utf8_lossy();
    Ok(match RoomName::parse(&raw) {
        Ok(name) => html(
            StatusCode::Ok,
            pages::room(&name, &req.state().ice_servers_json),
        ),
        Err(err) => html(
            StatusCode::BadRequest,
            pages::bad_room_name(&raw, &format!("A room name {err}.")),
        ),
    })
}

/// The home page's join form without JavaScript: `/room?name=X` goes to `/room/X`.
async fn room_from_form(req: Request<State>) -> tide::Result {
    #[derive(serde::Deserialize)]
    struct Form {
        #[serde(default)]
        name: String,
    }
    let form: Form = req.query().unwrap_or(Form {
        name: String::new(),
    });
    Ok(match RoomName::parse(&form.name) {
        Ok(name) => tide::Redirect::see_other(pages::room_href(&name)).into(),
        Err(err) => html(
            StatusCode::BadRequest,
            pages::bad_room_name(&form.name, &format!("A room name {err}.")),
        ),
    })
}

async fn asset(req: Request<State>) -> tide::Result {
    Ok(match assets::get(req.param("path")?) {
        Some(asset) => Response::builder(StatusCode::Ok)
            .content_type(asset.content_type.as_str())
            .header("X-Content-Type-Options", "nosniff")
            .header("Cache-Control", "no-cache")
            .body(asset.bytes)
            .build(),
        None => Response::new(StatusCode::NotFound),
    })
}

async fn healthz(req: Request<State>) -> tide::Result {
    let hub = &req.state().hub;
    let body = serde_json::json!({
        "status": "ok",
        "connections": hub.connection_count(),
        "rooms": hub.room_list().len(),
    });
    Ok(Response::builder(StatusCode::Ok).body(body).build())
}

async fn not_an_upgrade(_req: Request<State>) -> tide::Result {
    Ok(Response::builder(StatusCode::UpgradeRequired)
        .header("Upgrade", "websocket")
        .header("Sec-WebSocket-Version", "13")
        .content_type(mime::PLAIN)
        .body("This is Room's WebSocket endpoint: connect with a WebSocket client (ws://).\n")
        .build())
}

/// Refuses WebSocket upgrades that are malformed or come from another site's page.
fn check_upgrade<'a>(
    req: Request<State>,
    next: Next<'a, State>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = tide::Result> + Send + 'a>> {
    Box::pin(async move {
        let header = |name: &str| req.header(name).map(|values| values.as_str());
        let has_token = |name: &str, token: &str| {
            header(name).is_some_and(|value| {
                value
                    .split(',')
                    .any(|part| part.trim().eq_ignore_ascii_case(token))
            })
        };
        if !(has_token("Connection", "upgrade") && has_token("Upgrade", "websocket")) {
            return Ok(next.run(req).await);
        }
        let upgrade = Upgrade {
            key: header("Sec-WebSocket-Key"),
            version: header("Sec-WebSocket-Version"),
            origin: header("Origin"),
            host: header("Host"),
            tls: req.state().tls,
        };
        match handshake::check(&upgrade, &req.state().allowed_origins) {
            Ok(()) => Ok(next.run(req).await),
            Err(refusal) => {
                log::info!(remote = req.peer_addr(), reason:% = refusal; "upgrade refused");
                let mut res = Response::builder(refusal.status())
                    .content_type(mime::PLAIN)
                    .body(format!("{refusal}\n"))
                    .build();
                if refusal == Refusal::BadVersion {
                    res.insert_header("Sec-WebSocket-Version", "13");
                }
                Ok(res)
            }
        }
    })
}

/// Gives every empty 404 (an unknown path, a missing asset) the 404 page.
fn not_found_page<'a>(
    req: Request<State>,
    next: Next<'a, State>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = tide::Result> + Send + 'a>> {
    Box::pin(async move {
        let path = req.url().path().to_owned();
        let res = next.run(req).await;
        if res.status() == StatusCode::NotFound && res.is_empty() != Some(false) {
            let path = percent_decode_str(&path).decode_utf8_lossy();
            return Ok(html(StatusCode::NotFound, pages::not_found(&path)));
        }
        Ok(res)
    })
}
