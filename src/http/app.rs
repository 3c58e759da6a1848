//! The tide app: its routes and handlers, and what every handler can reach.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use maud::Markup;
use percent_encoding::percent_decode_str;
use room_core::flood::WireBudget;
use room_core::names::RoomName;
use tide::http::mime;
use tide::{Request, Response, StatusCode};

use crate::clock;
use crate::http::checks::{check_request, not_found_page};
use crate::http::ice::Ice;
use crate::http::rate_limit::HttpLimiter;
use crate::http::{assets, pages};
use crate::media::MediaStats;
use crate::net::admission::Gate;
use crate::net::hosts::Names;
use crate::session::connection::{self, Policy};
use crate::session::hub::Hub;
use crate::ws::echo;
use crate::ws::upgrade::{self, Admission};

/// The media server's ports and counters, in SFU mode.
#[derive(Debug)]
pub(crate) struct MediaInfo {
    /// What the media thread counts.
    pub(crate) stats: Arc<MediaStats>,
    /// Its UDP sockets' addresses.
    pub(crate) udp: Vec<SocketAddr>,
    /// Its ICE-TCP listeners' addresses.
    pub(crate) tcp: Vec<SocketAddr>,
}

/// What every request handler can reach.
#[derive(Debug)]
pub(crate) struct AppState {
    /// The rooms and connections.
    pub(crate) hub: Arc<Hub>,
    /// The media server, in SFU mode.
    pub(crate) media: Option<MediaInfo>,
    /// The ICE servers for the browsers, and their TURN logins.
    pub(crate) ice: Ice,
    /// Whether the browsers may call only through TURN.
    pub(crate) ice_relay_only: bool,
    /// The names Room answers to and the origins that may open its WebSocket.
    pub(crate) names: Names,
    /// The caps on WebSocket connections.
    pub(crate) gate: Arc<Gate>,
    /// The rate limit on HTTP requests.
    pub(crate) http_limit: HttpLimiter,
    /// The rules of every connection's task.
    pub(crate) policy: Policy,
    /// How much one connection may send on the wire.
    pub(crate) wire_budget: WireBudget,
    /// Log lines dropped because the log's output did not keep up.
    pub(crate) log_lines_dropped: Arc<AtomicU64>,
}

type State = Arc<AppState>;

/// The policy for Room's pages: everything comes from Room itself, media may be local blobs.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data: blob:; \
    media-src 'self' blob: mediastream:; connect-src 'self'; frame-ancestors 'none'; \
    base-uri 'none'; form-action 'self'";

/// Builds the app around the shared state; `echo_route` adds the conformance tests' `/echo`.
pub(crate) fn app(state: State, echo_route: bool) -> tide::Server<State> {
    let mut app = tide::with_state(state);
    app.with(check_request);
    app.with(not_found_page);
    // The original tutorial's client opens its WebSocket on `/`: a plain GET gets the page.
    app.at("/").get(|req: Request<State>| async move {
        if upgrade::is_upgrade(&req) {
            return websocket_route(req).await;
        }
        home(req).await
    });
    app.at("/room").get(room_from_form);
    app.at("/room/:name").get(room);
    app.at("/static/*path").get(asset);
    app.at("/healthz").get(healthz);
    app.at("/ws").get(websocket_route);
    if echo_route {
        app.at("/echo").get(echo_route_handler);
    }
    app
}

async fn websocket_route(req: Request<State>) -> tide::Result {
    let state = req.state().clone();
    let admission = Admission {
        names: &state.names,
        gate: &state.gate,
        budget: Some(state.wire_budget),
    };
    let (hub, policy) = (state.hub.clone(), state.policy);
    upgrade::upgrade(req, admission, move |remote, ticket, socket| {
        connection::serve(hub, policy, remote, ticket, socket)
    })
    .await
}

/// The echo route: the same WebSocket layer without a wire budget, for Autobahn|Testsuite.
async fn echo_route_handler(req: Request<State>) -> tide::Result {
    let state = req.state().clone();
    let admission = Admission {
        names: &state.names,
        gate: &state.gate,
        budget: None,
    };
    upgrade::upgrade(req, admission, |_remote, ticket, socket| {
        echo::serve(ticket, socket)
    })
    .await
}

pub(crate) fn html(status: StatusCode, page: Markup) -> Response {
    Response::builder(status)
        .content_type(mime::HTML)
        .header("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        .header("X-Content-Type-Options", "nosniff")
        .body(page.into_string())
        .build()
}

pub(crate) fn plain(status: StatusCode, body: String) -> Response {
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
                pages::room(
                    &name,
                    &servers,
                    state.ice_relay_only,
                    state.hub.max_room_size(),
                ),
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
    let media = state.media.as_ref().map(|media| {
        let count = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        serde_json::json!({
            "udp": media.udp,
            "tcp": media.tcp,
            "connected": count(&media.stats.connected),
            "packets_in": count(&media.stats.packets_in),
            "packets_out": count(&media.stats.packets_out),
            "packets_dropped": count(&media.stats.packets_dropped),
            "camera_layers_in": media.stats.camera_layers_in.each_ref().map(count),
        })
    });
    let body = serde_json::json!({
        "status": "ok",
        "connections": hub.connection_count(),
        "rooms": hub.room_count(),
        "history_bytes": hub.history_bytes(),
        "log_lines_dropped": state.log_lines_dropped.load(Ordering::Relaxed),
        "media": media,
    });
    Ok(Response::builder(StatusCode::Ok).body(body).build())
}
