//! Safe, short copies of client text for the log and the error pages.
//!
//! Whatever a client sends, its log line stays one line that says only what happened, and an
//! error page stays small: text is cut
//! to [`EXCERPT_MAX_CHARS`] characters and every control character is written as an escape.

/// How many characters of a client's text the log keeps.
pub(crate) const EXCERPT_MAX_CHARS: usize = 200;

/// `text` cut to [`EXCERPT_MAX_CHARS`] characters (with `…` where it was cut) and with every
/// control character escaped, so `"a\nb"` becomes the five characters `a\nb`.
pub(crate) fn excerpt(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(EXCERPT_MAX_CHARS * 4));
    for (n, c) in text.chars().enumerate() {
        if n == EXCERPT_MAX_CHARS {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_printable_text_is_kept_as_is() {
        assert_eq!(excerpt("안녕하세요 👋 \"hi\""), "안녕하세요 👋 \"hi\"");
    }

    #[test]
    fn control_characters_cannot_start_a_new_log_line() {
        assert_eq!(
            excerpt("a\r\nINFO forged\u{1b}[2J"),
            "a\\r\\nINFO forged\\u{1b}[2J"
        );
    }

    #[test]
    fn long_text_is_cut_at_200_characters() {
        let cut = excerpt(&"가".repeat(500));
        assert_eq!(cut.chars().count(), EXCERPT_MAX_CHARS + 1);
        assert!(cut.ends_with("가…"));
        assert_eq!(
            excerpt(&"b".repeat(EXCERPT_MAX_CHARS)),
            "b".repeat(EXCERPT_MAX_CHARS)
        );
    }
}
