//! Random bits as an input, like time: the edge gives the core its system's random source,
//! tests a predictable one.

use std::fmt;

/// Where the core's random bits come from (host tokens).
pub trait Entropy: Send + fmt::Debug {
    /// Sixteen random bytes, or `None` if the source failed: the core then goes without
    /// what it wanted them for rather than use bits someone could guess.
    fn random16(&mut self) -> Option<[u8; 16]>;
}

/// Not random at all: 1, 2, 3, ... in the last byte, for tests and tools that must be
/// reproducible.
#[derive(Debug, Default)]
pub struct Sequence(u64);

impl Entropy for Sequence {
    fn random16(&mut self) -> Option<[u8; 16]> {
        self.0 += 1;
        let mut bytes = [0u8; 16];
        bytes[8..].copy_from_slice(&self.0.to_be_bytes());
        Some(bytes)
    }
}
