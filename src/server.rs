//! The tide app: pages, the browser client's files and the WebSocket route on one listener.

use std::io;
use std::net::TcpListener;
use std::sync::Arc;

use maud::Markup;
use percent_encoding::percent_decode_str;
use tide::http::mime;
use tide::{Next, Request, Response, StatusCode};
use tide_websockets::WebSocket;

use crate::config::Config;
use crate::hub::Hub;
use crate::names::RoomName;
use crate::rooms::Limits;
use crate::{assets, connection, pages};

/// What every request handler can reach.
pub type State = Arc<Hub>;

/// The policy for Room's pages: everything comes from Room itself, media may be local blobs.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data: blob:; \
    media-src 'self' blob: mediastream:; connect-src 'self'; frame-ancestors 'none'; \
    base-uri 'none'; form-action 'self'";

/// Builds the app around a hub.
pub fn app(hub: Arc<Hub>) -> tide::Server<State> {
    let mut app = tide::with_state(hub);
    app.with(not_found_page);
    app.at("/").get(home);
    app.at("/room").get(room_from_form);
    app.at("/room/:name").get(room);
    app.at("/static/*path").get(asset);
    app.at("/healthz").get(healthz);
    app.at("/ws")
        .with(WebSocket::new(|req: Request<State>, conn| async move {
            let remote = req.peer_addr().unwrap_or("unknown").to_owned();
            connection::serve(req.state().clone(), remote, conn).await;
            Ok(())
        }))
        .get(not_an_upgrade);
    app
}

/// Binds `config.host:config.port`, logs the real address and serves until the process ends.
pub async fn run(config: &Config) -> io::Result<()> {
    let listener = TcpListener::bind((config.host.as_str(), config.port))?;
    let addr = listener.local_addr()?;
    // Tests and people read this line to find a server started on port 0.
    log::info!(addr:% = addr; "listening on http://{addr}");
    let hub = Arc::new(Hub::new(Limits {
        max_room_size: usize::from(config.max_room_size),
    }));
    app(hub).listen(listener).await
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
    Ok(html(StatusCode::Ok, pages::home(&req.state().room_list())))
}

async fn room(req: Request<State>) -> tide::Result {
    let raw = percent_decode_str(req.param("name")?).decode_utf8_lossy();
    Ok(match RoomName::parse(&raw) {
        Ok(name) => html(StatusCode::Ok, pages::room(&name)),
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
    let hub = req.state();
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
