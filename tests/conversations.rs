//! Runs every scripted conversation in `fixtures/conversations/` against a real `room` server.
//!
//! Each `.conv` file is one scenario; it gets its own server so room lists start empty. The
//! format is one step per line (`#` starts a comment):
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

mod common;

use std::collections::{HashMap, HashSet};
use std::path::Path;

use async_std::future::timeout;
use async_std::io::prelude::*;
use async_std::net::TcpStream;
use async_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use async_tungstenite::tungstenite::protocol::frame::{CloseFrame, Frame};
use async_tungstenite::tungstenite::Message;
use async_tungstenite::WebSocketStream;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;

use common::{Server, WAIT};

/// One step of a conversation.
#[derive(Debug)]
enum Step {
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
enum Header {
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
struct Script {
    server_args: Vec<String>,
    steps: Vec<(usize, String, Step)>,
}

fn parse(text: &str) -> Result<Script, String> {
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

type Client = WebSocketStream<TcpStream>;

/// What a running conversation holds.
struct Conversation {
    server: Server,
    clients: HashMap<String, Client>,
    vars: HashMap<String, Value>,
    used_log_lines: HashSet<usize>,
    last_response: String,
}

impl Conversation {
    fn client(&mut self, name: &str) -> Result<&mut Client, String> {
        self.clients
            .get_mut(name)
            .ok_or_else(|| format!("no client named {name} is connected"))
    }

    /// Replaces each `$name` in `text` with the captured value.
    fn substitute(&self, text: &str) -> Result<String, String> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find('$') {
            out.push_str(&rest[..start]);
            let after = &rest[start + 1..];
            let len = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            let name = &after[..len];
            match self.vars.get(name) {
                Some(Value::String(value)) => out.push_str(value),
                Some(value) => out.push_str(&value.to_string()),
                None => return Err(format!("${name} was never captured")),
            }
            rest = &after[len..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// The next data frame `name` gets, as JSON.
    async fn next_json(&mut self, name: &str) -> Result<Value, String> {
        let got = self.next_data(name).await?;
        let Message::Text(text) = &got else {
            return Err(format!("got {got:?}"));
        };
        serde_json::from_str(text.as_str())
            .map_err(|err| format!("got a frame that is not JSON ({err}): {text}"))
    }

    /// Checks that the next data frame `name` gets is JSON matching `pattern`.
    async fn recv(&mut self, name: &str, pattern: &Value) -> Result<(), String> {
        let actual = self.next_json(name).await?;
        let mut vars = self.vars.clone();
        matches(pattern, &actual, &mut vars, "").map_err(|why| format!("got {actual}\n  {why}"))?;
        self.vars = vars;
        Ok(())
    }

    async fn run(&mut self, step: &Step) -> Result<(), String> {
        match step {
            Step::Connect(name, path) => {
                let stream = TcpStream::connect(&self.server.addr)
                    .await
                    .map_err(|err| err.to_string())?;
                let url = self.server.ws_url(path);
                let (ws, response) = async_tungstenite::client_async(url, stream)
                    .await
                    .map_err(|err| format!("handshake failed: {err}"))?;
                if response.status() != 101 {
                    return Err(format!("handshake answered {}", response.status()));
                }
                self.clients.insert(name.clone(), ws);
            }
            Step::Send(name, text) => {
                let text = self.substitute(text)?;
                self.send(name, Message::text(text)).await?;
            }
            Step::SendSized(name, size) => {
                let frame = r#"{"type":"chat","text":""}"#;
                let padding = "a".repeat(size.saturating_sub(frame.len()));
                let text = format!(r#"{{"type":"chat","text":"{padding}"}}"#);
                self.send(name, Message::text(text)).await?;
            }
            Step::SendBinary(name, bytes) => {
                self.send(name, Message::binary(bytes.clone())).await?
            }
            Step::SendTextBytes(name, bytes) => {
                let frame = Frame::message(bytes.clone(), OpCode::Data(Data::Text), true);
                self.send(name, Message::Frame(frame)).await?;
            }
            Step::SendRaw(name, bytes) => {
                let stream = self.client(name)?.get_mut();
                stream
                    .write_all(bytes)
                    .await
                    .map_err(|err| format!("could not write: {err}"))?;
            }
            Step::SendRawRepeat(name, count, bytes) => {
                let stream = self.client(name)?.get_mut();
                stream
                    .write_all(&bytes.repeat(*count))
                    .await
                    .map_err(|err| format!("could not write: {err}"))?;
            }
            Step::SendMany(name, count, text) => {
                let text = self.substitute(text)?;
                let client = self.client(name)?;
                for _ in 0..*count {
                    client
                        .feed(Message::text(text.clone()))
                        .await
                        .map_err(|err| format!("could not send: {err}"))?;
                }
                SinkExt::flush(client)
                    .await
                    .map_err(|err| format!("could not send: {err}"))?;
            }
            Step::SendSdp(name, to, size) => {
                let to = self.substitute(to)?;
                let sdp = "v".repeat(*size);
                let text = serde_json::json!({"type": "offer", "to": to, "sdp": sdp});
                self.send(name, Message::text(text.to_string())).await?;
            }
            Step::SendCandidate(name, to, size) => {
                let to = self.substitute(to)?;
                let candidate = serde_json::json!({"candidate": "c".repeat(*size)});
                let text =
                    serde_json::json!({"type": "candidate", "to": to, "candidate": candidate});
                self.send(name, Message::text(text.to_string())).await?;
            }
            Step::RecvMany(name, count, pattern) => {
                for index in 0..*count {
                    self.recv(name, pattern)
                        .await
                        .map_err(|why| format!("frame {} of {count}: {why}", index + 1))?;
                }
            }
            Step::Recv(name, pattern) => self.recv(name, pattern).await?,
            Step::RecvUnordered(name, patterns) => {
                let mut left: Vec<&Value> = patterns.iter().collect();
                while !left.is_empty() {
                    let actual = self.next_json(name).await?;
                    let found = left.iter().position(|pattern| {
                        matches(pattern, &actual, &mut self.vars.clone(), "").is_ok()
                    });
                    let Some(index) = found else {
                        return Err(format!("got {actual}, none of {left:?}"));
                    };
                    matches(left.remove(index), &actual, &mut self.vars, "")?;
                }
            }
            Step::RecvClose(name, code, reason) => match self.next_data(name).await? {
                Message::Close(Some(frame)) => {
                    let got = u16::from(frame.code);
                    if got != *code
                        || reason
                            .as_deref()
                            .is_some_and(|r| r != frame.reason.as_str())
                    {
                        return Err(format!("got close {got} {:?}", frame.reason.as_str()));
                    }
                }
                other => return Err(format!("got {other:?}")),
            },
            Step::Close(name, code, reason) => {
                let frame = CloseFrame {
                    code: (*code).into(),
                    reason: reason.as_str().into(),
                };
                self.client(name)?
                    .close(Some(frame))
                    .await
                    .map_err(|err| format!("could not send close: {err}"))?;
            }
            Step::Ends(name) => {
                let client = self.client(name)?;
                loop {
                    match timeout(WAIT, client.next()).await {
                        Err(_) => return Err("the connection is still open".into()),
                        Ok(None | Some(Err(_))) => break,
                        Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => {}
                        Ok(Some(Ok(other))) => return Err(format!("got {other:?}")),
                    }
                }
                self.clients.remove(name);
            }
            Step::Drop(name) => {
                self.clients
                    .remove(name)
                    .ok_or_else(|| format!("no client named {name}"))?;
            }
            Step::Log(pattern) => self.expect_log(pattern)?,
            Step::Http(method, path, status, changes, text) => {
                let headers = vec![
                    ("Host".to_owned(), self.server.addr.clone()),
                    ("Connection".to_owned(), "close".to_owned()),
                ];
                let head = self.head(headers, changes)?;
                let request = format!("{method} {path} HTTP/1.1\r\n{head}\r\n");
                self.last_response = self.raw_http(&request).await?;
                check_status(&self.last_response, *status)?;
                if let Some(text) = text {
                    if !self.last_response.contains(text.as_str()) {
                        return Err(format!(
                            "the response lacks {text:?}:\n{}",
                            self.last_response
                        ));
                    }
                }
            }
            Step::Upgrade(status, changes) => {
                let headers = vec![
                    ("Host".to_owned(), self.server.addr.clone()),
                    ("Upgrade".to_owned(), "websocket".to_owned()),
                    ("Connection".to_owned(), "Upgrade".to_owned()),
                    (
                        "Sec-WebSocket-Key".to_owned(),
                        "dGhlIHNhbXBsZSBub25jZQ==".to_owned(),
                    ),
                    ("Sec-WebSocket-Version".to_owned(), "13".to_owned()),
                ];
                let head = self.head(headers, changes)?;
                let request = format!("GET /ws HTTP/1.1\r\n{head}\r\n");
                self.last_response = self.raw_http_head(&request).await?;
                check_status(&self.last_response, *status)?;
            }
            Step::Header(name, value) => {
                let found = self.last_response.lines().find_map(|line| {
                    let (key, got) = line.split_once(':')?;
                    key.eq_ignore_ascii_case(name).then(|| got.trim())
                });
                if found != Some(value.as_str()) {
                    return Err(format!(
                        "wanted {name}: {value} in:\n{}",
                        self.last_response
                    ));
                }
            }
        }
        Ok(())
    }

    /// A request head's header lines: `headers` with `changes` applied.
    fn head(
        &self,
        mut headers: Vec<(String, String)>,
        changes: &[Header],
    ) -> Result<String, String> {
        for change in changes {
            match change {
                Header::Set(name, value) => {
                    headers.retain(|(known, _)| !known.eq_ignore_ascii_case(name));
                    if !value.is_empty() {
                        headers.push((name.clone(), self.substitute(value)?));
                    }
                }
                Header::Add(name, value) => headers.push((name.clone(), self.substitute(value)?)),
            }
        }
        Ok(headers
            .iter()
            .map(|(name, value)| format!("{name}: {value}\r\n"))
            .collect())
    }

    async fn send(&mut self, name: &str, msg: Message) -> Result<(), String> {
        self.client(name)?
            .send(msg)
            .await
            .map_err(|err| format!("could not send: {err}"))
    }

    /// The next frame other than ping and pong, within [`WAIT`].
    async fn next_data(&mut self, name: &str) -> Result<Message, String> {
        let client = self.client(name)?;
        loop {
            match timeout(WAIT, client.next()).await {
                Err(_) => return Err(format!("nothing arrived within {WAIT:?}")),
                Ok(None) => return Err("the connection ended".into()),
                Ok(Some(Err(err))) => return Err(format!("the connection failed: {err}")),
                Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => {}
                Ok(Some(Ok(msg))) => return Ok(msg),
            }
        }
    }

    fn expect_log(&mut self, pattern: &Value) -> Result<(), String> {
        let mut from = 0;
        loop {
            let vars = &self.vars;
            let found = self.server.wait_line_at(from, |line| {
                serde_json::from_str::<Value>(line)
                    .is_ok_and(|actual| matches(pattern, &actual, &mut vars.clone(), "").is_ok())
            });
            match found {
                Some((index, _)) if self.used_log_lines.contains(&index) => from = index + 1,
                Some((index, line)) => {
                    self.used_log_lines.insert(index);
                    let actual: Value = serde_json::from_str(&line).map_err(|e| e.to_string())?;
                    return matches(pattern, &actual, &mut self.vars, "");
                }
                None => {
                    let log = self.server.lines().join("\n");
                    return Err(format!("no such log line; the log was:\n{log}"));
                }
            }
        }
    }

    async fn raw_http(&self, request: &str) -> Result<String, String> {
        let mut stream = TcpStream::connect(&self.server.addr)
            .await
            .map_err(|err| err.to_string())?;
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|err| err.to_string())?;
        let mut response = Vec::new();
        timeout(WAIT, stream.read_to_end(&mut response))
            .await
            .map_err(|_| "no complete response".to_string())?
            .map_err(|err| err.to_string())?;
        Ok(String::from_utf8_lossy(&response).into_owned())
    }

    /// Sends `request` and reads the response head only (the connection may stay open).
    async fn raw_http_head(&self, request: &str) -> Result<String, String> {
        let mut stream = TcpStream::connect(&self.server.addr)
            .await
            .map_err(|err| err.to_string())?;
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|err| err.to_string())?;
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            match timeout(WAIT, stream.read(&mut byte)).await {
                Ok(Ok(1)) => head.push(byte[0]),
                Ok(_) => break,
                Err(_) => return Err("no response head".into()),
            }
        }
        Ok(String::from_utf8_lossy(&head).into_owned())
    }
}

fn check_status(response: &str, status: u16) -> Result<(), String> {
    let got = response.split_whitespace().nth(1).unwrap_or("");
    if got != status.to_string() {
        return Err(format!("wanted status {status}, got:\n{response}"));
    }
    Ok(())
}

/// Whether `actual` matches `pattern` (see the module docs), capturing into `vars`.
fn matches(
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
struct Failure(String);

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

/// Runs one fixture file.
fn run_fixture(path: &Path, text: String) -> datatest_stable::Result<()> {
    check_fixture(path, &text).map_err(|err| Failure(err).into())
}

fn check_fixture(path: &Path, text: &str) -> Result<(), String> {
    let script = parse(text).map_err(|err| format!("{}: {err}", path.display()))?;
    let args: Vec<&str> = script.server_args.iter().map(String::as_str).collect();
    let server = Server::start(&args);
    let host = Value::String(server.addr.clone());
    let port = Value::String(server.port().to_string());
    let mut conversation = Conversation {
        server,
        clients: HashMap::new(),
        vars: HashMap::from([("HOST".to_owned(), host), ("PORT".to_owned(), port)]),
        used_log_lines: HashSet::new(),
        last_response: String::new(),
    };
    async_std::task::block_on(async {
        for (number, line, step) in &script.steps {
            conversation
                .run(step)
                .await
                .map_err(|err| format!("{}:{number}: {line}\n  {err}", path.display()))?;
        }
        // Whatever the conversation did, the server must still be up and answering.
        let request = format!(
            "GET /healthz HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            conversation.server.addr
        );
        let health = conversation.raw_http(&request).await?;
        check_status(&health, 200)
            .map_err(|err| format!("{}: after the script: {err}", path.display()))?;
        Ok::<(), String>(())
    })?;
    if !conversation.server.is_running() {
        let stderr = conversation.server.stderr();
        return Err(format!("{}: the server exited: {stderr}", path.display()));
    }
    Ok(())
}

datatest_stable::harness! {
    { test = run_fixture, root = "fixtures/conversations", pattern = r"\.conv$" },
}
