//! Room: a Zoom-style video meeting server.
//!
//! The heart of Room is the `room-core` crate: the protocol, its rules and the room state
//! machine, with no runtime in it. This crate is the server around it, its edges:
//!
//! - [`server`]: binds the address and runs the parts together until told to stop.
//! - `net`: the accept loop, plain or TLS, and what guards it before any request is read
//!   (caps per address and in all, request heads, silent connections, the names Room answers
//!   to, the open-files limit).
//! - `http`: the tide app: pages (maud), the embedded browser client, the routes, the checks
//!   every request passes, the ICE servers and TURN logins for the room page.
//! - `ws`: the WebSocket layer, the only part that knows the WebSocket library: the upgrade,
//!   the limits of every socket, the wire budget, and an echo route for conformance tests.
//! - `session`: the hub the connections share (the core under a short lock, and bounded
//!   queues) and the one task of each connection.
//! - `media`: in SFU mode, the media thread: its sockets and every member's WebRTC connection
//!   (str0m), carrying out what `room-media` decides.
//! - [`config`]: the command line; [`logging`]: the log's way out, which can neither block
//!   nor stop the server; `clock`: the clocks, read for the core; `excerpt`: safe, short
//!   copies of client text.
//!
//! Modules depend on each other in one direction only: `server` → `http` → `media` →
//! `session` → `ws` → `net`, and everything on `room-core`.

#![forbid(unsafe_code)]
#![warn(missing_docs, rust_2018_idioms, unreachable_pub)]

pub mod config;
pub mod logging;
pub mod server;

mod clock;
mod entropy;
mod excerpt;
mod http;
mod media;
mod net;
mod session;
mod ws;
