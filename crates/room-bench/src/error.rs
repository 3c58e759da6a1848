//! What can go wrong in a run, for one clear message on the way out.

use std::io;

/// A run that could not go on.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The server could not be reached, or refused the WebSocket upgrade.
    #[error("cannot open a WebSocket to {url}: {reason}")]
    Connect {
        /// Where the generator tried to connect.
        url: String,
        /// What failed.
        reason: String,
    },
    /// The server sent something other than what the protocol promises, or nothing in time.
    #[error("protocol: {0}")]
    Protocol(String),
    /// A file, a process or /proc could not be used.
    #[error("{what}: {source}")]
    Io {
        /// What the generator was doing.
        what: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The options cannot work together, or a server to compare cannot be started.
    #[error("{0}")]
    Setup(String),
}

impl BenchError {
    /// An I/O error with what the generator was doing when it happened.
    pub(crate) fn io(what: impl Into<String>, source: io::Error) -> Self {
        BenchError::Io {
            what: what.into(),
            source,
        }
    }
}
