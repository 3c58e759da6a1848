//! Room's WebSocket layer: the only part of the server that knows the WebSocket library.
//!
//! - [`upgrade`]: the upgrade endpoint on tide, with its checks and caps.
//! - [`handshake`]: the checks on an upgrade request (origin, key, version).
//! - [`socket`]: the limits every socket gets, the frames the server writes, and how read
//!   errors map to Room's own close requests.
//! - [`inbound`]: every frame and byte a client sends, counted against its wire budget.
//! - [`echo`]: an echo endpoint on the same layer, for conformance tests.

pub(crate) mod echo;
pub(crate) mod handshake;
pub(crate) mod inbound;
pub(crate) mod socket;
pub(crate) mod upgrade;
