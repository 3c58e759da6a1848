//! Room's media core: the decisions of the selective forwarding unit, as plain Rust.
//!
//! The server's media thread (`src/media/` of the `room` package) owns the sockets and the
//! WebRTC stack (str0m); this crate decides what it does with what arrives. Nothing here
//! touches a socket, a clock or a packet's bytes: time is an input ([`room_core::time::Tick`]),
//! and a packet is described by the few numbers the decisions need.
//!
//! - [`layers`]: the three simulcast layers of a camera, and which one fits a tile.
//! - [`budget`]: how a receiver's bandwidth estimate is shared among its video slots.
//! - [`rewrite`]: sequence numbers, timestamps and VP8 picture ids that run on without a gap
//!   when a slot's source or layer changes.
//! - [`keyframes`]: keyframe requests, at most one per source layer per 500 ms.
//! - [`speakers`]: who is speaking, from the audio levels in the packets.
//! - [`ingress`]: what one member may send, so no client can flood the others through it.
//! - [`router`]: one room: whose tracks go to whom, in which slot, at which layer.

#![forbid(unsafe_code)]
#![warn(missing_docs, rust_2018_idioms, unreachable_pub)]

pub mod budget;
pub mod ingress;
pub mod keyframes;
pub mod layers;
pub mod rewrite;
pub mod router;
pub mod speakers;
