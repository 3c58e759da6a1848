//! Validated identifiers: peer ids, nicknames and room names.
//!
//! A value of these types has passed its rules, so the rest of Room never checks them again.

use std::fmt;

use serde::Serialize;

/// Longest nickname, in characters, after trimming.
pub const NICKNAME_MAX_CHARS: usize = 32;
/// Longest room name, in characters, after trimming.
pub const ROOM_NAME_MAX_CHARS: usize = 64;

/// A connection's identity, chosen by the server and never by a client.
///
/// On the wire it is an opaque string such as `"p7"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId(u64);

impl PeerId {
    /// Wraps a number handed out by the room state.
    pub(crate) fn new(n: u64) -> Self {
        PeerId(n)
    }

    /// Reads the wire form back; anything that is not one of ours is `None`.
    pub fn parse(text: &str) -> Option<Self> {
        let digits = text.strip_prefix('p')?;
        // Only the canonical form names a peer: "p07" or "p+7" would alias "p7".
        if digits.is_empty() || digits.starts_with('0') && digits.len() > 1 {
            return None;
        }
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok().map(PeerId)
    }
}

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "p{}", self.0)
    }
}

impl Serialize for PeerId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Why a name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Nothing but whitespace.
    #[error("must not be empty")]
    Empty,
    /// More characters than allowed after trimming.
    #[error("must be at most {0} characters")]
    TooLong(usize),
    /// A control character (newline, escape, ...) somewhere inside.
    #[error("must not contain control characters")]
    ControlCharacter,
    /// A character that reorders the text around it (U+202E and friends), which would let a
    /// name look like another or turn the words next to it around.
    #[error("must not contain bidirectional formatting characters")]
    Bidi,
    /// `.` or `..`, which a browser reads as a path step, so the room's link could not work.
    #[error("must not be . or ..")]
    Dots,
}

impl NameError {
    /// The rule broken, as an `error` frame names it.
    pub fn rule(self) -> &'static str {
        match self {
            NameError::Empty => "empty",
            NameError::TooLong(_) => "too_long",
            NameError::ControlCharacter => "control_character",
            NameError::Bidi => "bidi",
            NameError::Dots => "dots",
        }
    }

    /// The limit reached, if a limit was.
    pub fn limit(self) -> Option<usize> {
        match self {
            NameError::TooLong(max) => Some(max),
            _ => None,
        }
    }
}

/// Trims `raw` and checks the rules shared by nicknames and room names.
fn parse_name(raw: &str, max_chars: usize) -> Result<String, NameError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(NameError::Empty);
    }
    if trimmed.chars().count() > max_chars {
        return Err(NameError::TooLong(max_chars));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(NameError::ControlCharacter);
    }
    if trimmed.chars().any(is_bidi_control) {
        return Err(NameError::Bidi);
    }
    Ok(trimmed.to_owned())
}

/// The characters of Unicode's bidirectional algorithm that change the order of the text
/// around them: the Arabic letter mark, the left-to-right and right-to-left marks, the
/// embeddings and overrides (U+202A to U+202E) and the isolates (U+2066 to U+2069).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A person's display name: 1 to 32 characters after trimming, no control characters and no
/// bidirectional formatting characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Nickname(String);

impl Nickname {
    /// Validates a nickname a client asked for.
    pub fn parse(raw: &str) -> Result<Self, NameError> {
        parse_name(raw, NICKNAME_MAX_CHARS).map(Nickname)
    }

    /// The name given to a connection before it picks one: `Guest 1`, `Guest 2`, ...
    pub(crate) fn guest(n: u64) -> Self {
        Nickname(format!("Guest {n}"))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Nickname {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A room's name: 1 to 64 characters after trimming, any script, no control characters and no
/// bidirectional formatting characters.
///
/// Names are compared exactly as typed (after trimming): `Team` and `team` are two rooms.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct RoomName(String);

impl RoomName {
    /// Validates a room name a client asked for.
    pub fn parse(raw: &str) -> Result<Self, NameError> {
        let name = parse_name(raw, ROOM_NAME_MAX_CHARS)?;
        if name == "." || name == ".." {
            return Err(NameError::Dots);
        }
        Ok(RoomName(name))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RoomName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_ids_round_trip_through_their_wire_form() {
        let id = PeerId::new(42);
        assert_eq!(id.to_string(), "p42");
        assert_eq!(PeerId::parse("p42"), Some(id));
    }

    #[test]
    fn only_canonical_peer_ids_parse() {
        for bad in [
            "",
            "p",
            "42",
            "p042",
            "p+4",
            "p-4",
            "P4",
            "p4 ",
            "p99999999999999999999",
        ] {
            assert_eq!(PeerId::parse(bad), None, "{bad:?}");
        }
        assert_eq!(PeerId::parse("p0"), Some(PeerId::new(0)));
    }

    #[test]
    fn nicknames_are_trimmed_and_bounded_in_characters_not_bytes() {
        assert_eq!(Nickname::parse("  민수  ").unwrap().as_str(), "민수");
        let korean = "가".repeat(NICKNAME_MAX_CHARS);
        assert!(Nickname::parse(&korean).is_ok());
        let too_long = "a".repeat(NICKNAME_MAX_CHARS + 1);
        assert_eq!(Nickname::parse(&too_long), Err(NameError::TooLong(32)));
    }

    #[test]
    fn blank_and_control_character_names_are_refused() {
        assert_eq!(Nickname::parse(" \t "), Err(NameError::Empty));
        assert_eq!(Nickname::parse("a\nb"), Err(NameError::ControlCharacter));
        assert_eq!(
            RoomName::parse("x\u{1b}[31m"),
            Err(NameError::ControlCharacter)
        );
    }

    #[test]
    fn characters_that_reorder_text_are_refused_in_names() {
        for c in [
            '\u{202E}', '\u{202A}', '\u{2066}', '\u{2069}', '\u{200F}', '\u{061C}',
        ] {
            let name = format!("ann{c}gpj.exe");
            assert_eq!(Nickname::parse(&name), Err(NameError::Bidi), "{c:?}");
            assert_eq!(RoomName::parse(&name), Err(NameError::Bidi), "{c:?}");
        }
        // Right-to-left scripts themselves are names like any other.
        assert!(RoomName::parse("اجتماع").is_ok());
        assert!(Nickname::parse("שרה").is_ok());
    }

    #[test]
    fn room_names_accept_any_script_up_to_64_characters() {
        assert_eq!(RoomName::parse("회의실 🎥").unwrap().as_str(), "회의실 🎥");
        assert!(RoomName::parse(&"😀".repeat(ROOM_NAME_MAX_CHARS)).is_ok());
        assert!(RoomName::parse(&"😀".repeat(ROOM_NAME_MAX_CHARS + 1)).is_err());
    }

    #[test]
    fn room_names_that_a_url_cannot_hold_are_refused() {
        assert_eq!(RoomName::parse(" .. "), Err(NameError::Dots));
        assert_eq!(RoomName::parse("."), Err(NameError::Dots));
        assert!(RoomName::parse("...").is_ok());
        assert!(Nickname::parse("..").is_ok());
    }
}
