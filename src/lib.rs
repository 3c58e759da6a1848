//! Room: a Zoom-style video meeting server.
//!
//! The heart of Room is plain Rust with no runtime and no framework in it:
//!
//! - [`names`]: validated ids and names ([`names::PeerId`], [`names::Nickname`], [`names::RoomName`]).
//! - [`protocol`]: protocol v1, every frame in both directions, and [`protocol::decode`].
//! - [`chat`]: chat text rules and a room's numbered, bounded transcript.
//! - [`rooms`]: the state machine; events in, frames to deliver out.
//!
//! The edges connect it to the world with tide and async-std:
//!
//! - [`hub`]: shares the state between connections and routes frames into their queues.
//! - [`handshake`]: the checks on a WebSocket upgrade (origin, key, version).
//! - [`connection`]: the WebSocket task of one connection (a reader, and the one writer).
//! - [`pages`] and [`assets`]: the HTML pages and the embedded browser client.
//! - [`server`]: the tide app that serves all of it on one listener.
//! - [`listener`]: the accept loop, plain or TLS ([`tls`]), handing connections to tide.
//! - [`ice`]: the STUN and TURN servers handed to the browsers.
//! - [`config`]: the command line.
//! - [`excerpt`]: safe, short copies of client text for the log and the error pages.

#![forbid(unsafe_code)]
#![warn(missing_docs, rust_2018_idioms, unreachable_pub)]

pub mod assets;
pub mod chat;
pub mod config;
pub mod connection;
pub mod excerpt;
pub mod handshake;
pub mod hub;
pub mod ice;
pub mod listener;
pub mod names;
pub mod pages;
pub mod protocol;
pub mod rooms;
pub mod server;
pub mod tls;
