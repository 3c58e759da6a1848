//! The core's random bits at the edge: the system's random source, through ring.

use ring::rand::{SecureRandom, SystemRandom};
use room_core::entropy::Entropy;

/// The operating system's random source.
#[derive(Debug)]
pub(crate) struct SystemEntropy(SystemRandom);

impl SystemEntropy {
    pub(crate) fn new() -> Self {
        SystemEntropy(SystemRandom::new())
    }
}

impl Entropy for SystemEntropy {
    fn random16(&mut self) -> Option<[u8; 16]> {
        let mut bytes = [0u8; 16];
        self.0.fill(&mut bytes).ok()?;
        Some(bytes)
    }
}
