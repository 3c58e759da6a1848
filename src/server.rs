//! The tide app: pages, the browser client's files and the WebSocket route on one listener.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
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
use crate::clock;
use crate::config::Config;
use crate::flood::{RateLimit, WireBudget};
use crate::hosts::{NameError, Names};
use crate::http_limit::HttpLimiter;
use crate::hub::Hub;
use crate::ice::{Ice, IceError};
use crate::names::RoomName;
use crate::rooms::Limits;
use crate::tls::{self, TlsError};
use crate::{assets, connection, echo, listener, pages, websocket};

/// How long a shutdown waits for clients to answer their close frames.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// How often a shutdown looks whether every connection has ended.
const SHUTDOWN_POLL: Duration = Duration::from_millis(20);
/// Open files kept back from connections: the listener, the log's pipe, the runtime's own and
/// a margin, so the accept loop can always take a connection to refuse it.
const RESERVED_FILES: u64 = 64;
/// TCP connections one address may hold beyond its WebSockets: page loads and the like, which
/// close after a few idle seconds.
const HTTP_CONNECTIONS_PER_ADDRESS: usize = 32;

/// What every request handler can reach.
#[derive(Debug)]
pub struct Shared {
    /// The rooms and connections.
    pub hub: Hub,
    /// The ICE servers for the browsers, and their TURN logins.
    pub ice: Ice,
    /// Whether the browsers may call only through TURN.
    pub ice_relay_only: bool,
    /// The names Room answers to and the origins that may open its WebSocket.
    pub names: Names,
    /// The caps on WebSocket connections.
    pub gate: Arc<Gate>,
    /// The rate limit on HTTP requests.
    pub http_limit: HttpLimiter,
    /// How fast one connection may send messages.
    pub rate_limit: RateLimit,
    /// How much one connection may send on the wire.
    pub wire_budget: WireBudget,
    /// How long a connection may stay silent before it is dropped.
    pub idle_timeout: Duration,
    /// Log lines dropped because the log's output did not keep up.
    pub log_lines_dropped: Arc<AtomicU64>,
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
    /// A `--public-url` or `--allowed-origin` is not an origin.
    #[error(transparent)]
    Name(#[from] NameError),
}

/// A server bound to its address, ready to serve.
pub struct Server {
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    app: tide::Server<State>,
    shared: State,
    tcp_gate: Arc<Gate>,
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
    /// `log_lines_dropped` is the log sink's count, for `/healthz`.
    pub async fn bind(
        config: &Config,
        log_lines_dropped: Arc<AtomicU64>,
    ) -> Result<Server, StartError> {
        let ice = Ice::new(
            &config.ice_servers,
            config.ice_username.as_deref(),
            config.ice_credential.as_deref(),
            config.turn_secret.as_deref(),
            Duration::from_secs(config.turn_ttl),
        )?;
        let (tls, certificate, mut hosts) = match (&config.tls_cert, &config.tls_key) {
            (Some(cert), Some(key)) => {
                let (acceptor, leaf) = tls::from_files(cert, key)?;
                (Some(acceptor), Some(leaf), Vec::new())
            }
            _ if config.tls_self_signed => {
                let (acceptor, names) = tls::self_signed()?;
                log::info!(names:? = names; "made a self-signed certificate");
                (Some(acceptor), None, names)
            }
            _ => (None, None, Vec::new()),
        };
        hosts.extend(config.allowed_hosts.iter().cloned());
        let names = Names::new(
            &hosts,
            &config.public_urls,
            &config.allowed_origins,
            certificate,
        )?
        .with_machine_name(tls::host_name().as_deref());
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
        let open_files = raise_open_files_limit();
        let tcp_total = usize::try_from(open_files.saturating_sub(RESERVED_FILES))
            .unwrap_or(usize::MAX)
            .max(1);
        log::info!(open_files, tcp_connections = tcp_total; "open files limit");
        if tcp_total < config.max_connections as usize {
            log::warn!(
                open_files, max_connections = config.max_connections;
                "the open files limit holds fewer connections than --max-connections"
            );
        }
        let tcp_gate = Gate::new(Caps {
            total: tcp_total,
            per_address: config.max_connections_per_address as usize + HTTP_CONNECTIONS_PER_ADDRESS,
        });
        let scheme = if tls.is_some() { "https" } else { "http" };
        let rate_limit = RateLimit {
            per_second: config.rate_limit,
            burst: config.rate_burst,
        };
        let shared = Arc::new(Shared {
            hub: Hub::new(Limits {
                max_room_size: usize::from(config.max_room_size),
                max_rooms: config.max_rooms as usize,
                private_rooms: config.private_rooms,
                history_bytes: config.history_budget_mib as usize * 1024 * 1024,
                ..Limits::default()
            }),
            ice,
            ice_relay_only: config.ice_relay_only,
            names,
            gate: Gate::new(Caps {
                total: config.max_connections as usize,
                per_address: config.max_connections_per_address as usize,
            }),
            http_limit: HttpLimiter::new(config.http_rate_limit),
            rate_limit,
            wire_budget: WireBudget::for_rate_limit(rate_limit),
            idle_timeout: Duration::from_secs(config.idle_timeout),
            log_lines_dropped,
        });
        let mut app = app(shared.clone());
        if config.echo_route {
            app.at("/echo").get(|req: Request<State>| {
                websocket::upgrade(req, None, |_state, _remote, ticket, socket| {
                    echo::serve(ticket, socket)
                })
            });
        }
        Ok(Server {
            listener,
            tls,
            app,
            shared,
            tcp_gate,
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
        let shared = self.shared.clone();
        let timers = task::spawn(async move { shared.hub.run_timers().await });
        let accepting = listener::serve(self.app, self.listener, self.tls, self.tcp_gate);
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
        timers.cancel().await;
        log::info!(connections = self.shared.gate.count(); "stopped");
        Ok(())
    }
}

/// Raises the soft limit on open files to the hard limit, as far as the system allows, and
/// returns the limit in force.
fn raise_open_files_limit() -> u64 {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    /// What Linux allows one process at most by default (`fs.nr_open`), for an unlimited hard
    /// limit.
    const UNLIMITED: u64 = 1 << 20;
    let limit = getrlimit(Resource::Nofile);
    let soft = limit.current.unwrap_or(UNLIMITED);
    let hard = limit.maximum.unwrap_or(UNLIMITED);
    if soft >= hard {
        return soft;
    }
    let raised = Rlimit {
        current: Some(hard),
        maximum: limit.maximum,
    };
    match setrlimit(Resource::Nofile, raised) {
        Ok(()) => hard,
        Err(err) => {
            log::warn!(error:% = err, soft, hard; "cannot raise the open files limit");
            soft
        }
    }
}

/// The policy for Room's pages: everything comes from Room itself, media may be local blobs.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data: blob:; \
    media-src 'self' blob: mediastream:; connect-src 'self'; frame-ancestors 'none'; \
    base-uri 'none'; form-action 'self'";

/// Builds the app around the shared state.
pub fn app(shared: State) -> tide::Server<State> {
    let mut app = tide::with_state(shared);
    app.with(check_request);
    app.with(not_found_page);
    // The original tutorial's client opens its WebSocket on `/`: a plain GET gets the page.
    app.at("/").get(|req: Request<State>| async move {
        if websocket::is_upgrade(&req) {
            return websocket_route(req).await;
        }
        home(req).await
    });
    app.at("/room").get(room_from_form);
    app.at("/room/:name").get(room);
    app.at("/static/*path").get(asset);
    app.at("/healthz").get(healthz);
    app.at("/ws").get(websocket_route);
    app
}

async fn websocket_route(req: Request<State>) -> tide::Result {
    let budget = Some(req.state().wire_budget);
    websocket::upgrade(req, budget, |state, remote, ticket, socket| {
        connection::serve(state, remote, ticket, socket)
    })
    .await
}

fn html(status: StatusCode, page: Markup) -> Response {
    Response::builder(status)
        .content_type(mime::HTML)
        .header("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        .header("X-Content-Type-Options", "nosniff")
        .body(page.into_string())
        .build()
}

fn plain(status: StatusCode, body: String) -> Response {
    Response::builder(status)
        .content_type(mime::PLAIN)
        .body(body)
        .build()
}

async fn home(req: Request<State>) -> tide::Result {
    let rooms = req.state().hub.public_room_list();
    Ok(html(StatusCode::Ok, pages::home(rooms.as_ref())))
}

async fn room(req: Request<State>) -> tide::Result {
    let raw = percent_decode_str(req.param("name")?).decode_utf8_lossy();
    Ok(match RoomName::parse(&raw) {
        Ok(name) => {
            let state = req.state();
            let servers = state.ice.for_page(clock::wall());
            // A list of plain strings always serialises.
            let servers = serde_json::to_string(&servers).expect("ICE servers serialise");
            html(
                StatusCode::Ok,
                pages::room(&name, &servers, state.ice_relay_only),
            )
        }
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
    let state = req.state();
    let hub = &state.hub;
    let body = serde_json::json!({
        "status": "ok",
        "connections": hub.connection_count(),
        "rooms": hub.room_count(),
        "history_bytes": hub.history_bytes(),
        "log_lines_dropped": state.log_lines_dropped.load(Ordering::Relaxed),
    });
    Ok(Response::builder(StatusCode::Ok).body(body).build())
}

/// The checks every request passes before any route: one `Host` and at most one
/// `Content-Length` (two could be read differently by a proxy in front, which is how requests
/// are smuggled past it), a `Host` that names Room, and the rate limit per address.
fn check_request<'a>(
    req: Request<State>,
    next: Next<'a, State>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = tide::Result> + Send + 'a>> {
    Box::pin(async move {
        let count = |name: &str| req.header(name).map_or(0, |values| values.iter().count());
        if count("Host") > 1 || count("Content-Length") > 1 {
            let mut res = plain(
                StatusCode::BadRequest,
                "a request may have one Host and one Content-Length\n".into(),
            );
            res.insert_header("Connection", "close");
            return Ok(res);
        }
        let host = req.header("Host").map(|values| values.as_str().to_owned());
        if !host
            .as_deref()
            .is_some_and(|host| req.state().names.allows_host(host))
        {
            let name = host.as_deref().unwrap_or("");
            log::debug!(remote = req.peer_addr(), host = name; "unknown host");
            let body = format!(
                "Room does not answer to the name {:?}. If that is its name, start it with \
                 --allowed-host or --public-url.\n",
                crate::excerpt::excerpt(name)
            );
            return Ok(plain(StatusCode::MisdirectedRequest, body));
        }
        if !req
            .state()
            .http_limit
            .admit(websocket::client_ip(&req), clock::tick())
        {
            let mut res = plain(
                StatusCode::TooManyRequests,
                "too many requests; slow down\n".into(),
            );
            res.insert_header("Retry-After", "1");
            return Ok(res);
        }
        Ok(next.run(req).await)
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
