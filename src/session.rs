//! The per-connection task and the hub it talks to.
//!
//! - [`hub`]: the room state shared by every connection, under a short lock, and the bounded
//!   queues frames are routed into. It speaks Room's own types ([`hub::Frame`], and
//!   [`room_core::protocol::Close`]): no WebSocket library in it.
//! - [`connection`]: the one task of one WebSocket, which reads into the hub and is the
//!   socket's only writer.

pub(crate) mod connection;
pub(crate) mod hub;
