//! The listener and what guards it, before any request is read.
//!
//! - [`listener`]: the one accept loop, plain or TLS, handing connections to the HTTP app.
//! - [`tls`]: certificates from files or made at start.
//! - [`admission`]: the caps on connections, in total and per address.
//! - [`head_guard`]: bounds on request heads in bytes and time, and on silent connections.
//! - [`hosts`]: the names Room answers to, and the origins that may open its WebSocket.
//! - [`open_files`]: the open-files limit, raised at start.
//! - [`plain_on_tls`]: the answer to plain HTTP on the TLS port.

pub(crate) mod admission;
pub(crate) mod head_guard;
pub(crate) mod hosts;
pub(crate) mod listener;
pub(crate) mod open_files;
pub(crate) mod plain_on_tls;
pub(crate) mod tls;
