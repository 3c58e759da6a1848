//! Runs every conversation in `fixtures/wire/` against a real `room` server, over real
//! sockets: the fixtures of the handshake, frames, closes, limits and the log. Each fixture
//! gets its own server so room lists start empty. The fixture language is `room-fixtures`'s;
//! the fixtures of the core's rules alone run in-process (`crates/room-core/tests/`).

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
use room_fixtures::{expect, expect_one_of, matches, parse, substitute, Failure, Header, Step};

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
        expect(pattern, &actual, &mut self.vars)
    }

    async fn run(&mut self, step: &Step) -> Result<(), String> {
        match step {
            Step::Send(..)
            | Step::SendSized(..)
            | Step::SendMany(..)
            | Step::SendSdp(..)
            | Step::SendCandidate(..) => {
                // Every one of these is a sending step.
                let sending = step.sending(&self.vars).expect("a sending step")?;
                let client = self.client(sending.client)?;
                for frame in sending.frames {
                    client
                        .feed(Message::text(frame))
                        .await
                        .map_err(|err| format!("could not send: {err}"))?;
                }
                SinkExt::flush(client)
                    .await
                    .map_err(|err| format!("could not send: {err}"))?;
            }
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
                    expect_one_of(&mut left, &actual, &mut self.vars)?;
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
                        headers.push((name.clone(), substitute(&self.vars, value)?));
                    }
                }
                Header::Add(name, value) => {
                    headers.push((name.clone(), substitute(&self.vars, value)?))
                }
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
    { test = run_fixture, root = "fixtures/wire", pattern = r"\.conv$" },
}
