//! Random bits as an input, like time: the edge gives the core its system's random source,
//! tests a predictable one.

use std::fmt;

/// Where the core's random bits come from (host and resume tokens).
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

/// A secret made of 128 random bits (a host token, a resume token), given to its holder alone,
/// in hexadecimal.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The secret of these random bytes.
    pub fn from_random(bytes: [u8; 16]) -> Self {
        Secret(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
    }

    /// Whether `offered` is this secret (see [`same_secret`]).
    pub fn matches(&self, offered: &str) -> bool {
        same_secret(&self.0, offered)
    }

    /// The secret as sent to its holder.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    // Logs and panics never show the secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// Whether `offered` is `secret`. Every byte is compared, so how long the comparison takes
/// says nothing of how much of a guess was right.
pub fn same_secret(secret: &str, offered: &str) -> bool {
    let (ours, theirs) = (secret.as_bytes(), offered.as_bytes());
    ours.len() == theirs.len()
        && ours
            .iter()
            .zip(theirs)
            .fold(0u8, |differ, (a, b)| differ | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_match_only_themselves_and_never_show_in_debug_output() {
        let secret = Secret::from_random([0xab; 16]);
        assert_eq!(secret.as_str().len(), 32);
        assert!(secret.matches(&"ab".repeat(16)));
        assert!(!secret.matches(&"ab".repeat(15)));
        assert!(!secret.matches(&format!("{}ac", "ab".repeat(15))));
        assert!(!secret.matches(""));
        assert_eq!(format!("{secret:?}"), "Secret(..)");
    }
}
