//! Room's core: the protocol, its rules and the room state machine, as plain Rust.
//!
//! Nothing here touches a socket, a clock, a lock or a runtime, and the crate's dependencies
//! (serde, serde_json, thiserror) leave no way to: the server's edges feed it events with the
//! time as an input and deliver what it returns. Everything is unit-tested without sockets.
//!
//! - [`names`]: validated ids and names ([`names::PeerId`], [`names::Nickname`], [`names::RoomName`]).
//! - [`protocol`]: protocol v2, every frame in both directions, and [`protocol::decode`].
//! - [`media`]: what the core and the media server say to each other in SFU mode.
//! - [`chat`]: chat text rules and a room's numbered, bounded transcript.
//! - [`hosting`]: who runs a room (host, co-hosts, lock, host token).
//! - [`entropy`]: random bits as an input, like time.
//! - [`rooms`]: the state machine; events in, frames to deliver out.
//! - [`flood`]: rate limits and the wire budget, as token buckets.
//! - [`time`]: the monotonic and the wall clock, kept apart by their types.

#![forbid(unsafe_code)]
#![warn(missing_docs, rust_2018_idioms, unreachable_pub)]

pub mod chat;
pub mod entropy;
pub mod flood;
pub mod hosting;
pub mod media;
pub mod names;
pub mod protocol;
pub mod rooms;
pub mod time;
