//! The checks every request passes before any route, and the 404 page after them.

use std::pin::Pin;
use std::sync::Arc;

use percent_encoding::percent_decode_str;
use tide::{Next, Request, StatusCode};

use crate::clock;
use crate::excerpt::excerpt;
use crate::http::app::{html, plain, AppState};
use crate::http::pages;
use crate::ws::upgrade::client_ip;

type State = Arc<AppState>;
type Answer<'a> = Pin<Box<dyn std::future::Future<Output = tide::Result> + Send + 'a>>;

/// The checks every request passes before any route: one `Host` and at most one
/// `Content-Length` (two could be read differently by a proxy in front, which is how requests
/// are smuggled past it), a `Host` that names Room, and the rate limit per address.
pub(crate) fn check_request<'a>(req: Request<State>, next: Next<'a, State>) -> Answer<'a> {
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
                excerpt(name)
            );
            return Ok(plain(StatusCode::MisdirectedRequest, body));
        }
        if !req.state().http_limit.admit(client_ip(&req), clock::tick()) {
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
pub(crate) fn not_found_page<'a>(req: Request<State>, next: Next<'a, State>) -> Answer<'a> {
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
