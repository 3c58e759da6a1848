//! A room's chat transcript: text rules, the `seq` counter and the bounded history.

use std::collections::VecDeque;

use crate::names::{Nickname, PeerId};
use crate::protocol::ChatEntry;

/// Longest chat message, in characters.
pub const TEXT_MAX_CHARS: usize = 2000;
/// How many messages a room keeps for people who join later.
pub const HISTORY_LEN: usize = 50;
/// What one kept message costs beyond its text and its sender's name, for the server-wide
/// history budget: the entry itself and the queue's slot.
pub const ENTRY_OVERHEAD_BYTES: usize = 96;

/// Why a chat text was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// Nothing but whitespace.
    #[error("chat text must not be blank")]
    Blank,
    /// Over [`TEXT_MAX_CHARS`] characters.
    #[error("chat text must be at most {TEXT_MAX_CHARS} characters")]
    TooLong,
    /// A control character other than newline or tab.
    #[error("chat text must not contain control characters other than newline and tab")]
    ControlCharacter,
}

impl TextError {
    /// The rule broken, as an `error` frame names it.
    pub fn rule(self) -> &'static str {
        match self {
            TextError::Blank => "blank",
            TextError::TooLong => "too_long",
            TextError::ControlCharacter => "control_character",
        }
    }
}

/// Checks a chat text; it is kept exactly as sent (multi-line messages keep their lines).
pub fn check_text(text: &str) -> Result<(), TextError> {
    if text.trim().is_empty() {
        return Err(TextError::Blank);
    }
    if text.chars().count() > TEXT_MAX_CHARS {
        return Err(TextError::TooLong);
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(TextError::ControlCharacter);
    }
    Ok(())
}

/// The messages of one room, numbered in the one order every member sees.
#[derive(Debug, Default)]
pub struct Transcript {
    last_seq: u64,
    history: VecDeque<ChatEntry>,
    /// What the kept messages cost, by [`entry_bytes`].
    bytes: usize,
}

/// What keeping `entry` costs.
fn entry_bytes(entry: &ChatEntry) -> usize {
    ENTRY_OVERHEAD_BYTES + entry.text.len() + entry.name.as_str().len()
}

impl Transcript {
    /// Numbers a checked message, keeps it in the history and returns it.
    pub fn record(&mut self, from: PeerId, name: Nickname, text: String, ts: u64) -> ChatEntry {
        self.last_seq += 1;
        let entry = ChatEntry {
            seq: self.last_seq,
            from,
            name,
            text,
            ts,
        };
        if self.history.len() == HISTORY_LEN {
            self.drop_oldest();
        }
        self.bytes += entry_bytes(&entry);
        self.history.push_back(entry.clone());
        entry
    }

    /// Forgets the oldest kept message; returns what it cost, or `None` if none is kept.
    pub fn drop_oldest(&mut self) -> Option<usize> {
        let entry = self.history.pop_front()?;
        let bytes = entry_bytes(&entry);
        self.bytes -= bytes;
        Some(bytes)
    }

    /// What the kept messages cost.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The kept messages after `seq` (all of them for 0), oldest first.
    pub fn history_after(&self, seq: u64) -> Vec<ChatEntry> {
        let kept = self.history.len();
        let newer = self.history.partition_point(|entry| entry.seq <= seq);
        self.history.range(newer..kept).cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_must_have_content_and_fit() {
        assert_eq!(check_text(" \n\t "), Err(TextError::Blank));
        assert_eq!(check_text(""), Err(TextError::Blank));
        assert!(check_text(&"한".repeat(TEXT_MAX_CHARS)).is_ok());
        assert_eq!(
            check_text(&"a".repeat(TEXT_MAX_CHARS + 1)),
            Err(TextError::TooLong)
        );
        assert!(check_text("line one\nline two\tend").is_ok());
        assert_eq!(
            check_text("fake\r\nlog line"),
            Err(TextError::ControlCharacter)
        );
        assert_eq!(check_text("bell\u{7}"), Err(TextError::ControlCharacter));
    }

    #[test]
    fn seq_counts_up_and_history_keeps_the_last_fifty() {
        let mut transcript = Transcript::default();
        let name = Nickname::parse("a").unwrap();
        for n in 1..=60 {
            let entry = transcript.record(PeerId::new(1), name.clone(), n.to_string(), n);
            assert_eq!(entry.seq, n);
        }
        let history = transcript.history_after(0);
        assert_eq!(history.len(), HISTORY_LEN);
        assert_eq!(history.first().unwrap().seq, 11);
        assert_eq!(history.last().unwrap().seq, 60);
        let after: Vec<u64> = transcript.history_after(57).iter().map(|e| e.seq).collect();
        assert_eq!(after, [58, 59, 60]);
        assert_eq!(
            transcript.history_after(5).len(),
            HISTORY_LEN,
            "older than kept"
        );
        assert!(transcript.history_after(60).is_empty());
        assert!(transcript.history_after(99).is_empty());
        // Fifty two-digit texts from "a".
        assert_eq!(
            transcript.bytes(),
            HISTORY_LEN * (ENTRY_OVERHEAD_BYTES + 1 + 2)
        );
    }

    #[test]
    fn dropping_messages_gives_their_bytes_back() {
        let mut transcript = Transcript::default();
        let name = Nickname::parse("민수").unwrap();
        transcript.record(PeerId::new(1), name.clone(), "안녕".into(), 0);
        transcript.record(PeerId::new(1), name, "hi".into(), 0);
        let first = ENTRY_OVERHEAD_BYTES + "안녕".len() + "민수".len();
        assert_eq!(transcript.drop_oldest(), Some(first));
        assert_eq!(transcript.drop_oldest(), Some(ENTRY_OVERHEAD_BYTES + 2 + 6));
        assert_eq!(transcript.drop_oldest(), None);
        assert_eq!(transcript.bytes(), 0);
        // Numbering goes on where it was.
        let next = transcript.record(PeerId::new(1), Nickname::parse("a").unwrap(), "x".into(), 0);
        assert_eq!(next.seq, 3);
    }
}
