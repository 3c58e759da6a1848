//! Safe, short copies of client text for the log and the error pages.
//!
//! Whatever a client sends, its log line stays one line that says only what happened, and an
//! error page stays small: text is cut
//! to [`EXCERPT_MAX_CHARS`] characters and every control character is written as an escape.
//! A frame that could not be read keeps its secrets out of the log ([`without_secrets`]).

use std::borrow::Cow;

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

/// The fields of client frames whose values are secrets: a meeting's password, a host or
/// resume token.
const SECRET_FIELDS: [&str; 3] = ["\"password\"", "\"token\"", "\"host_token\""];

/// `text` with the string value of every secret field replaced by `…`, whether or not the
/// frame is valid JSON (a broken `join` still carries its password).
pub(crate) fn without_secrets(text: &str) -> Cow<'_, str> {
    let mut out = String::new();
    let mut copied = 0;
    let mut at = 0;
    while let Some((start, field)) = SECRET_FIELDS
        .iter()
        .filter_map(|field| Some((at + text[at..].find(field)?, *field)))
        .min()
    {
        at = start + field.len();
        let Some(value) = text[at..].trim_start().strip_prefix(':') else {
            continue;
        };
        let Some(body) = value.trim_start().strip_prefix('"') else {
            continue;
        };
        let body_start = text.len() - body.len();
        let body_end = body_start + string_length(body);
        out.push_str(&text[copied..body_start]);
        out.push('…');
        copied = body_end;
        at = body_end;
    }
    if copied == 0 {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

/// The bytes of a JSON string's body up to its closing quote (or to the end, if it has none).
fn string_length(body: &str) -> usize {
    let bytes = body.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i,
            _ => i += 1,
        }
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_taken_out_of_frames_whole_or_broken() {
        assert_eq!(
            without_secrets(r#"{"type":"join","room":"r","password":"hunter2","listed":7}"#),
            r#"{"type":"join","room":"r","password":"…","listed":7}"#
        );
        assert_eq!(
            without_secrets(r#"{"type":"resume","id":"p2","token" : "9b1f\"0c","last_seq":"x"}"#),
            r#"{"type":"resume","id":"p2","token" : "…","last_seq":"x"}"#
        );
        assert_eq!(
            without_secrets(r#"{"type":"join","host_token":"3f0c9a5"#),
            r#"{"type":"join","host_token":"…"#
        );
        assert_eq!(
            without_secrets(r#"{"password":5,"text":"my password is"}"#),
            r#"{"password":5,"text":"my password is"}"#
        );
        assert!(matches!(without_secrets("hello"), Cow::Borrowed("hello")));
    }

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
