//! The tide app: pages, the browser client's files and the WebSocket route on one listener.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_std::net::TcpListener;
use async_std::task;
use futures_rustls::TlsAcceptor;
use futures_util::future::{select, Either};
use maud::Markup;
use percent_encoding::percent_decode_str;
use tide::http::mime;
use tide::{Next, Request, Response, StatusCode};

use crate::admission::{Caps, Gate};
use crate::config::Config;
use crate::flood::RateLimit;
use crate::hub::Hub;
use crate::ice::{self, IceError};
use crate::names::RoomName;
use crate::rooms::Limits;
use crate::tls::{self, TlsError};
use crate::{assets, connection, echo, listener, pages, websocket};

/// How long a shutdown waits for clients to answer their close frames.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// How often a shutdown looks whether every connection has ended.
const SHUTDOWN_POLL: Duration = Duration::from_millis(20);

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
    /// The caps on connections.
    pub gate: Arc<Gate>,
    /// How fast one connection may send.
    pub rate_limit: RateLimit,
    /// How long a connection may stay silent before it is dropped.
    pub idle_timeout: Duration,
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
    shared: State,
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
        let shared = Arc::new(Shared {
            hub: Hub::new(Limits {
                max_room_size: usize::from(config.max_room_size),
                max_rooms: config.max_rooms as usize,
                private_rooms: config.private_rooms,
                ..Limits::default()
            }),
            // A list of plain strings always serialises.
            ice_servers_json: serde_json::to_string(&ice_servers).expect("ICE servers serialise"),
            allowed_origins: config.allowed_origins.clone(),
            tls: tls.is_some(),
            gate: Gate::new(Caps {
                total: config.max_connections as usize,
                per_address: config.max_connections_per_address as usize,
            }),
            rate_limit: RateLimit {
                per_second: config.rate_limit,
                burst: config.rate_burst,
            },
            idle_timeout: Duration::from_secs(config.idle_timeout),
        });
        let mut app = app(shared.clone());
        if config.echo_route {
            app.at("/echo").get(|req: Request<State>| {
                websocket::upgrade(req, |_state, _remote, ticket, socket| {
                    echo::serve(ticket, socket)
                })
            });
        }
        Ok(Server {
            listener,
            tls,
            app,
            shared,
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

    /// Serves until `shutdown` completes, then stops accepting, sends close 1001 to every
    /// WebSocket client and waits a bounded time for them to go.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) -> io::Result<()> {
        let accepting = listener::serve(self.app, self.listener, self.tls);
        if let Either::Left((result, _)) =
            select(std::pin::pin!(accepting), std::pin::pin!(shutdown)).await
        {
            return result;
        }
        let open = self.shared.gate.count();
        log::info!(connections = open; "shutting down");
        self.shared.hub.close_all();
        let started = Instant::now();
        while self.shared.gate.count() > 0 && started.elapsed() < SHUTDOWN_GRACE {
            task::sleep(SHUTDOWN_POLL).await;
        }
        log::info!(connections = self.shared.gate.count(); "stopped");
        Ok(())
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
    app.at("/ws").get(|req: Request<State>| {
        websocket::upgrade(req, |state, remote, ticket, socket| {
            connection::serve(state, remote, ticket, socket)
        })
    });
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
    let rooms = req.state().hub.public_room_list();
    Ok(html(StatusCode::Ok, pages::home(rooms.as_deref())))
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
        "rooms": hub.room_count(),
    });
    Ok(Response::builder(StatusCode::Ok).body(body).build())
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
