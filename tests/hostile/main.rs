//! Hostile and broken clients that a conversation file cannot script, each against a real
//! server. Every test checks that a bystander in the room keeps getting chats promptly and that
//! `/healthz` answers.
//!
//! - [`basics`]: endless and stalled request heads, a reset mid-frame, a stalled reader among
//!   many senders, a graceful shutdown.
//! - [`logging`]: a log output that is closed or never read.
//! - [`writes`]: clients that stop reading in the middle of a write.
//! - [`caps`]: idle TCP connections before any request, and the open-files limit.
//! - [`frames`]: floods of frames the message rate limit does not see.
//! - [`clock`]: the wall clock set back while clients send.
//! - [`amplification`]: cheap requests that cost the server much.

#[path = "../common/mod.rs"]
mod common;

mod amplification;
mod basics;
mod caps;
mod clock;
mod frames;
mod logging;
mod support;
mod writes;
