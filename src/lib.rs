//! Room: a Zoom-style video meeting server.
//!
//! The heart of Room is plain Rust with no runtime and no framework in it:
//!
//! - [`names`]: validated ids and names ([`names::PeerId`], [`names::Nickname`], [`names::RoomName`]).
//! - [`protocol`]: protocol v1, every frame in both directions, and [`protocol::decode`].
//! - [`chat`]: chat text rules and a room's numbered, bounded transcript.
//! - [`rooms`]: the state machine; events in, frames to deliver out.
//! - [`flood`]: rate limits and the wire budget, as token buckets.
//! - [`time`]: the monotonic and the wall clock, kept apart by their types.
//!
//! The edges connect it to the world with tide and async-std:
//!
//! - [`hub`]: shares the state between connections and routes frames into their queues.
//! - [`clock`]: reads the clocks for the core.
//! - [`handshake`]: the checks on a WebSocket upgrade (origin, key, version).
//! - [`hosts`]: the names Room answers to.
//! - [`admission`]: the caps on connections, in total and per address.
//! - [`http_limit`]: the rate limit on HTTP requests per address.
//! - [`websocket`]: the upgrade endpoint and the limits of every socket.
//! - [`inbound`]: every frame and byte a client sends, counted against its wire budget.
//! - [`connection`]: the task of one connection (it reads, and is the socket's one writer).
//! - [`echo`]: an echo endpoint on the same WebSocket layer, for conformance tests.
//! - [`logging`]: the log's way out, which can neither block nor stop the server.
//! - [`pages`] and [`assets`]: the HTML pages and the embedded browser client.
//! - [`server`]: the tide app that serves all of it on one listener.
//! - [`listener`]: the accept loop, plain or TLS ([`tls`]), handing connections to tide.
//! - [`head_guard`]: bounds on HTTP request heads in bytes and time.
//! - [`ice`]: the STUN and TURN servers handed to the browsers, and their TURN logins.
//! - [`config`]: the command line.
//! - [`excerpt`]: safe, short copies of client text for the log and the error pages.

#![forbid(unsafe_code)]
#![warn(missing_docs, rust_2018_idioms, unreachable_pub)]

pub mod admission;
pub mod assets;
pub mod chat;
pub mod clock;
pub mod config;
pub mod connection;
pub mod echo;
pub mod excerpt;
pub mod flood;
pub mod handshake;
pub mod head_guard;
pub mod hosts;
pub mod http_limit;
pub mod hub;
pub mod ice;
pub mod inbound;
pub mod listener;
pub mod logging;
pub mod names;
pub mod pages;
pub mod protocol;
pub mod rooms;
pub mod server;
pub mod time;
pub mod tls;
pub mod websocket;
