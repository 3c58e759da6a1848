//! The fixture language of Room's scripted conversations, shared by their two runners: one
//! drives the room core in-process (`crates/room-core/tests/core_conversations.rs`, for
//! `fixtures/core/`), the other a real server over real sockets
//! (`tests/wire_conversations.rs`, for `fixtures/wire/`).
//!
//! Each `.conv` file is one scenario; it gets its own server (or core) so room lists start
//! empty. The format is one step per line (`#` starts a comment):
//!
//! ```text
//! server ARGS...               extra flags for this fixture's server (first line only)
//! connect NAME [PATH]          open a WebSocket on PATH (default /ws) as client NAME
//! send NAME TEXT               send TEXT as one text frame ($vars are replaced)
//! send-sized NAME BYTES        send a chat frame exactly BYTES long
//! send-binary NAME HEX...      send a binary frame
//! send-text-bytes NAME HEX...  send a text frame holding these raw bytes (maybe not UTF-8)
//! send-raw NAME HEX...         write these bytes to NAME's TCP connection, outside any frame
//! send-raw-repeat NAME COUNT HEX...  write these bytes COUNT times, at once
//! send-many NAME COUNT TEXT    send TEXT as COUNT text frames at once
//! send-sdp NAME TO BYTES       send an offer to TO whose SDP is BYTES long
//! send-candidate NAME TO BYTES send a candidate to TO whose `candidate` is BYTES long
//! recv NAME JSON               the next frame NAME gets matches JSON
//! recv-many NAME COUNT JSON    each of the next COUNT frames NAME gets matches JSON
//! recv-unordered NAME [JSON, ...]  the next frames NAME gets match these, in any order
//! recv-close NAME CODE [TEXT]  the next frame NAME gets is a close with CODE (and reason TEXT)
//! close NAME CODE [TEXT]       send a close frame
//! ends NAME                    the server ends the connection, with no frame before that
//! drop NAME                    drop the TCP connection without a close frame
//! log JSON                     a server log line not matched before matches JSON
//! http METHOD PATH STATUS [-H HEADER]... [TEXT]  a plain HTTP request gets STATUS (and a
//!                                     body with TEXT); each HEADER changes its headers
//! upgrade STATUS [HEADER...]          a raw upgrade request to /ws gets STATUS; the default
//!                                     request has RFC 6455's sample key, version 13, no Origin
//! header NAME VALUE                   the last `http` or `upgrade` response has this header
//! ```
//!
//! A HEADER is `Name=value`, which sets a header (`Name=` removes it), or `+Name=value`, which
//! adds one more of that name. Every request has `Host: $HOST` unless a HEADER changes it.
//!
//! JSON is matched as a subset: objects may hold more keys than the pattern, arrays must have
//! the pattern's length. A string `"$name"` in a pattern captures the value the first time and
//! must equal it afterwards; `"$_"` matches any value. `$HOST` is the server's `host:port` and
//! `$PORT` its port, from the start.
//!
//! The in-process runner knows `connect`, `send`, `send-many`, `send-sdp`, `send-candidate`,
//! `recv`, `recv-many`, `recv-unordered`, `drop` (a lost connection, whose member keeps its
//! place for the resume grace) and `close` (a closed one, whose member leaves at once), and
//! of the `server` flags those that set the core's limits; every other step needs the real
//! server.

#![forbid(unsafe_code)]
#![warn(missing_docs, rust_2018_idioms, unreachable_pub)]

use std::collections::HashMap;

use serde_json::Value;

/// One step of a conversation; see the crate docs for what each does.
#[derive(Debug)]
#[allow(missing_docs)] // the crate docs describe every step
pub enum Step {
    Connect(String, String),
    Send(String, String),
    SendSized(String, usize),
    SendBinary(String, Vec<u8>),
    SendTextBytes(String, Vec<u8>),
    SendRaw(String, Vec<u8>),
    SendRawRepeat(String, usize, Vec<u8>),
    SendMany(String, usize, String),
    SendSdp(String, String, usize),
    SendCandidate(String, String, usize),
    Recv(String, Value),
    RecvMany(String, usize, Value),
    RecvUnordered(String, Vec<Value>),
    RecvClose(String, u16, Option<String>),
    Close(String, u16, String),
    Ends(String),
    Drop(String),
    Log(Value),
    Http(String, String, u16, Vec<Header>, Option<String>),
    Upgrade(u16, Vec<Header>),
    Header(String, String),
}

/// A change to a request's headers.
#[derive(Debug)]
pub enum Header {
    /// Sets the header (removes it when the value is empty).
    Set(String, String),
    /// Adds another header of this name.
    Add(String, String),
}

/// The header change `word` stands for, if it is one (`Name=value` or `+Name=value`).
fn header_word(word: &str) -> Option<Header> {
    let (add, word) = match word.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, word),
    };
    let (name, value) = word.split_once('=')?;
    let is_name = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !is_name {
        return None;
    }
    let (name, value) = (name.to_owned(), value.to_owned());
    Some(if add {
        Header::Add(name, value)
    } else {
        Header::Set(name, value)
    })
}

/// A parsed fixture: the server's extra flags and the numbered steps.
#[derive(Debug)]
pub struct Script {
    /// The flags of the `server` line.
    pub server_args: Vec<String>,
    /// Each step with its line number and its text.
    pub steps: Vec<(usize, String, Step)>,
}

/// Reads a fixture; an error names the line that is wrong.
pub fn parse(text: &str) -> Result<Script, String> {
    let mut script = Script {
        server_args: Vec::new(),
        steps: Vec::new(),
    };
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fail = |why: &str| format!("line {number}: {why}: {line}");
        let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
        let mut words = rest.split_whitespace();
        let mut word = |what: &str| words.next().map(str::to_owned).ok_or_else(|| fail(what));
        let (client, tail) = rest.split_once(' ').unwrap_or((rest, ""));
        let (client, tail) = (client.to_owned(), tail.trim());
        let json = |text: &str| serde_json::from_str(text).map_err(|err| fail(&err.to_string()));
        let hex = |text: &str| {
            text.split_whitespace()
                .map(|byte| u8::from_str_radix(byte, 16).map_err(|_| fail("bad hex byte")))
                .collect::<Result<Vec<u8>, String>>()
        };
        let step = match verb {
            "server" if script.steps.is_empty() => {
                script.server_args = rest.split_whitespace().map(str::to_owned).collect();
                continue;
            }
            "connect" => {
                let name = word("client")?;
                let path = words.next().unwrap_or("/ws").to_owned();
                Step::Connect(name, path)
            }
            "send" => Step::Send(client, tail.to_owned()),
            "send-sized" => Step::SendSized(client, tail.parse().map_err(|_| fail("size"))?),
            "send-binary" => Step::SendBinary(client, hex(tail)?),
            "send-text-bytes" => Step::SendTextBytes(client, hex(tail)?),
            "send-raw" => Step::SendRaw(client, hex(tail)?),
            "send-raw-repeat" => {
                let (count, bytes) = tail.split_once(' ').ok_or_else(|| fail("COUNT HEX"))?;
                let count = count.parse().map_err(|_| fail("COUNT"))?;
                Step::SendRawRepeat(client, count, hex(bytes)?)
            }
            "send-sdp" | "send-candidate" => {
                let (to, size) = tail.split_once(' ').ok_or_else(|| fail("TO BYTES"))?;
                let size = size.trim().parse().map_err(|_| fail("BYTES"))?;
                if verb == "send-sdp" {
                    Step::SendSdp(client, to.to_owned(), size)
                } else {
                    Step::SendCandidate(client, to.to_owned(), size)
                }
            }
            "send-many" | "recv-many" => {
                let (count, tail) = tail.split_once(' ').ok_or_else(|| fail("COUNT"))?;
                let count = count.parse().map_err(|_| fail("COUNT"))?;
                if verb == "send-many" {
                    Step::SendMany(client, count, tail.to_owned())
                } else {
                    Step::RecvMany(client, count, json(tail)?)
                }
            }
            "recv" => Step::Recv(client, json(tail)?),
            "recv-unordered" => match json(tail)? {
                Value::Array(patterns) => Step::RecvUnordered(client, patterns),
                _ => return Err(fail("a JSON array of patterns")),
            },
            "recv-close" | "close" => {
                let (code, reason) = tail.split_once(' ').unwrap_or((tail, ""));
                let code = code.parse().map_err(|_| fail("close code"))?;
                if verb == "close" {
                    Step::Close(client, code, reason.to_owned())
                } else {
                    Step::RecvClose(
                        client,
                        code,
                        Some(reason).filter(|r| !r.is_empty()).map(str::to_owned),
                    )
                }
            }
            "ends" => Step::Ends(word("client")?),
            "drop" => Step::Drop(word("client")?),
            "log" => Step::Log(json(rest)?),
            "http" => {
                let method = word("method")?;
                let path = word("path")?;
                let status = word("status")?.parse().map_err(|_| fail("status"))?;
                let mut headers = Vec::new();
                let mut words = words.peekable();
                while words.next_if_eq(&"-H").is_some() {
                    let header = words.next().ok_or_else(|| fail("-H Name=value"))?;
                    headers.push(header_word(header).ok_or_else(|| fail("-H Name=value"))?);
                }
                let text: Vec<&str> = words.collect();
                Step::Http(
                    method,
                    path,
                    status,
                    headers,
                    Some(text.join(" ")).filter(|t| !t.is_empty()),
                )
            }
            "upgrade" => {
                let status = word("status")?.parse().map_err(|_| fail("status"))?;
                let headers = words
                    .map(|word| header_word(word).ok_or_else(|| fail("Name=value")))
                    .collect::<Result<_, String>>()?;
                Step::Upgrade(status, headers)
            }
            "header" => {
                let (name, value) = rest.split_once(' ').ok_or_else(|| fail("NAME VALUE"))?;
                Step::Header(name.to_owned(), value.trim().to_owned())
            }
            _ => return Err(fail("unknown step")),
        };
        script.steps.push((number, line.to_owned(), step));
    }
    Ok(script)
}

/// Replaces each `$name` in `text` with the value `vars` captured.
pub fn substitute(vars: &HashMap<String, Value>, text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('$') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        let name = &after[..len];
        match vars.get(name) {
            Some(Value::String(value)) => out.push_str(value),
            Some(value) => out.push_str(&value.to_string()),
            None => return Err(format!("${name} was never captured")),
        }
        rest = &after[len..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Whether `actual` matches `pattern` (see the module docs), capturing into `vars`.
pub fn matches(
    pattern: &Value,
    actual: &Value,
    vars: &mut HashMap<String, Value>,
    at: &str,
) -> Result<(), String> {
    match pattern {
        Value::String(text) if text.starts_with('$') => {
            let name = &text[1..];
            if name == "_" {
                return Ok(());
            }
            match vars.get(name) {
                Some(bound) if bound == actual => Ok(()),
                Some(bound) => Err(format!("at {at}: ${name} is {bound}, got {actual}")),
                None => {
                    vars.insert(name.to_owned(), actual.clone());
                    Ok(())
                }
            }
        }
        Value::Object(fields) => {
            let Value::Object(actual) = actual else {
                return Err(format!("at {at}: wanted an object, got {actual}"));
            };
            for (key, pattern) in fields {
                let at = format!("{at}.{key}");
                let value = actual.get(key).ok_or_else(|| format!("at {at}: missing"))?;
                matches(pattern, value, vars, &at)?;
            }
            Ok(())
        }
        Value::Array(items) => {
            let Value::Array(actual) = actual else {
                return Err(format!("at {at}: wanted an array, got {actual}"));
            };
            if items.len() != actual.len() {
                return Err(format!(
                    "at {at}: wanted {} items, got {}",
                    items.len(),
                    actual.len()
                ));
            }
            for (index, (pattern, value)) in items.iter().zip(actual).enumerate() {
                matches(pattern, value, vars, &format!("{at}[{index}]"))?;
            }
            Ok(())
        }
        _ if pattern == actual => Ok(()),
        _ => Err(format!("at {at}: wanted {pattern}, got {actual}")),
    }
}

/// A failed fixture, printed as plain lines rather than an escaped string.
pub struct Failure(pub String);

impl std::fmt::Debug for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Failure {}

/// What a sending step sends: the client and its text frames, with `$vars` replaced.
#[derive(Debug)]
pub struct Sending<'a> {
    /// The client that sends.
    pub client: &'a str,
    /// The frames, in order.
    pub frames: Vec<String>,
}

impl Step {
    /// The frames of a step that sends JSON text (`send`, `send-sized`, `send-many`,
    /// `send-sdp`, `send-candidate`); `None` for any other step.
    pub fn sending(&self, vars: &HashMap<String, Value>) -> Option<Result<Sending<'_>, String>> {
        let (client, frames) = match self {
            Step::Send(client, text) => (client, substitute(vars, text).map(|text| vec![text])),
            Step::SendMany(client, count, text) => (
                client,
                substitute(vars, text).map(|text| vec![text; *count]),
            ),
            Step::SendSized(client, size) => {
                let empty = r#"{"type":"chat","text":""}"#;
                let padding = "a".repeat(size.saturating_sub(empty.len()));
                (
                    client,
                    Ok(vec![format!(r#"{{"type":"chat","text":"{padding}"}}"#)]),
                )
            }
            Step::SendSdp(client, to, size) => {
                let frame = substitute(vars, to).map(|to| {
                    let sdp = "v".repeat(*size);
                    serde_json::json!({"type": "offer", "to": to, "sdp": sdp}).to_string()
                });
                (client, frame.map(|frame| vec![frame]))
            }
            Step::SendCandidate(client, to, size) => {
                let frame = substitute(vars, to).map(|to| {
                    let candidate = serde_json::json!({"candidate": "c".repeat(*size)});
                    serde_json::json!({"type": "candidate", "to": to, "candidate": candidate})
                        .to_string()
                });
                (client, frame.map(|frame| vec![frame]))
            }
            _ => return None,
        };
        Some(frames.map(|frames| Sending { client, frames }))
    }
}

/// Checks `actual` against `pattern`, keeping what it captures in `vars` only if it matches.
pub fn expect(
    pattern: &Value,
    actual: &Value,
    vars: &mut HashMap<String, Value>,
) -> Result<(), String> {
    let mut captured = vars.clone();
    matches(pattern, actual, &mut captured, "").map_err(|why| format!("got {actual}\n  {why}"))?;
    *vars = captured;
    Ok(())
}

/// Checks `actual` against the first of `left` it matches and takes that pattern out: one
/// frame of a `recv-unordered`.
pub fn expect_one_of(
    left: &mut Vec<&Value>,
    actual: &Value,
    vars: &mut HashMap<String, Value>,
) -> Result<(), String> {
    let found = left
        .iter()
        .position(|pattern| matches(pattern, actual, &mut vars.clone(), "").is_ok());
    let Some(index) = found else {
        return Err(format!("got {actual}, none of {left:?}"));
    };
    matches(left.remove(index), actual, vars, "")
}
