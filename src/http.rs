//! The HTTP app: the pages, the browser client's files and the routes, on tide.
//!
//! - [`app`]: the routes, their handlers and [`AppState`], what every handler can reach.
//! - [`checks`]: what every request passes first (one `Host` that names Room, the rate
//!   limit), and the 404 page.
//! - [`pages`] and [`assets`]: the HTML, from maud templates, and the embedded client.
//! - [`ice`]: the STUN and TURN servers the room page hands the browsers, and their logins.
//! - [`rate_limit`]: requests per address.

pub(crate) mod app;
pub(crate) mod assets;
pub(crate) mod checks;
pub(crate) mod ice;
pub(crate) mod pages;
pub(crate) mod rate_limit;

pub(crate) use app::{app, AppState, MediaInfo};
