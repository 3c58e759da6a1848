//! The client side of protocol v1: opening a WebSocket, the greeting and `join`, and a lean
//! decoder for the frames the generator reads while it measures.

use std::borrow::Cow;
use std::future::Future;
use std::time::Duration;

use async_std::future::timeout;
use async_std::net::TcpStream;
use async_tungstenite::tungstenite::Message;
use async_tungstenite::WebSocketStream;
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::Value;

use crate::error::BenchError;
use crate::reactor;
use crate::wire::{self, Conn, Event};

/// One client connection.
pub(crate) type Ws = WebSocketStream<TcpStream>;

/// The beginning of every `rooms` frame a server writes with `type` first (Room's serde enums
/// and `JSON.stringify` both do). Those frames are large and the generator has no use for
/// them, so they are skipped without parsing; a `rooms` frame in another shape is parsed.
const ROOM_LIST_PREFIX: &str = r#"{"type":"rooms""#;

/// Turns `http://host:port`, `ws://host:port` or a full `ws://host:port/path` into the URL of
/// the server's WebSocket (`/ws` when no path is given).
pub(crate) fn ws_url(url: &str) -> Result<String, BenchError> {
    let url = match url.strip_prefix("http://") {
        Some(rest) => format!("ws://{rest}"),
        None => url.to_owned(),
    };
    let Some(rest) = url.strip_prefix("ws://") else {
        return Err(BenchError::Setup(format!(
            "{url}: the generator speaks plain ws:// (or http://) only"
        )));
    };
    Ok(match rest.find('/') {
        None => format!("{url}/ws"),
        Some(slash) if &rest[slash..] == "/" => format!("{url}ws"),
        Some(_) => url,
    })
}

/// `host:port` of a `ws://` URL.
fn authority(url: &str) -> &str {
    let rest = url.strip_prefix("ws://").unwrap_or(url);
    rest.split('/').next().unwrap_or(rest)
}

/// Opens a WebSocket to `url` (a `ws://` URL from [`ws_url`]) with Nagle's algorithm off, as
/// a latency-minded client would.
pub(crate) async fn connect(url: &str, wait: Duration) -> Result<Ws, BenchError> {
    let failed = |reason: String| BenchError::Connect {
        url: url.to_owned(),
        reason,
    };
    let tcp = timeout(wait, TcpStream::connect(authority(url)))
        .await
        .map_err(|_| failed("TCP connect timed out".into()))?
        .map_err(|err| failed(err.to_string()))?;
    tcp.set_nodelay(true)
        .map_err(|err| failed(format!("TCP_NODELAY: {err}")))?;
    let (ws, _response) = timeout(wait, async_tungstenite::client_async(url, tcp))
        .await
        .map_err(|_| failed("the WebSocket handshake timed out".into()))?
        .map_err(|err| failed(err.to_string()))?;
    Ok(ws)
}

/// The fields of a server frame that the generator reads; everything else is skipped.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Incoming<'a> {
    /// The frame's `type`.
    #[serde(rename = "type", borrow)]
    pub(crate) kind: Cow<'a, str>,
    /// A chat's position in its room.
    #[serde(default)]
    pub(crate) seq: u64,
    /// A chat's text.
    #[serde(default, borrow)]
    pub(crate) text: Option<Cow<'a, str>>,
    /// An offer's or answer's SDP.
    #[serde(default, borrow)]
    pub(crate) sdp: Option<Cow<'a, str>>,
    /// A relayed candidate.
    #[serde(default, borrow)]
    pub(crate) candidate: Option<CandidateLine<'a>>,
    /// The sender of a chat or a relayed frame.
    #[serde(default, borrow)]
    pub(crate) from: Option<Cow<'a, str>>,
    /// Who left (`peer_left`).
    #[serde(default, borrow)]
    pub(crate) id: Option<Cow<'a, str>>,
    /// Who arrived (`peer_joined`).
    #[serde(default, borrow)]
    pub(crate) peer: Option<PeerRef<'a>>,
}

/// The `candidate` line inside a relayed candidate.
#[derive(Debug, Deserialize)]
pub(crate) struct CandidateLine<'a> {
    /// The `candidate:` string.
    #[serde(borrow)]
    pub(crate) candidate: Cow<'a, str>,
}

/// The id of a peer in `peer_joined`.
#[derive(Debug, Deserialize)]
pub(crate) struct PeerRef<'a> {
    /// Its id.
    #[serde(borrow)]
    pub(crate) id: Cow<'a, str>,
}

/// Decodes a server frame, skipping the body of room lists.
pub(crate) fn decode(text: &str) -> Result<Incoming<'_>, BenchError> {
    if text.starts_with(ROOM_LIST_PREFIX) {
        return Ok(Incoming {
            kind: Cow::Borrowed("rooms"),
            ..Incoming::default()
        });
    }
    serde_json::from_str(text)
        .map_err(|err| BenchError::Protocol(format!("cannot decode a server frame: {err}")))
}

/// What a chat frame in the shape Room and the peers write holds for the generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ChatStamp {
    /// Its position in its room.
    pub(crate) seq: u64,
    /// The `t=` stamp at the start of its text.
    pub(crate) stamp: u64,
}

/// The start of a chat frame as Room (serde, `type` first) and the peers (`JSON.stringify`)
/// write it: compact, `type` first and `seq` next.
const CHAT_PREFIX: &str = r#"{"type":"chat","seq":"#;
/// The text's key, as it follows another member of a compact object.
const TEXT_KEY: &str = r#","text":""#;

/// Reads `seq` and the text's `t=` stamp out of a chat frame without parsing it, when the
/// frame has the shape Room and the peers give it: compact JSON starting
/// `{"type":"chat","seq":N,` with a `text` member that starts `t=DIGITS` followed by a space or
/// the end of the string. `None` for any other frame (and for a chat in any other shape), which
/// the caller decodes in full: the answer is the same either way, only slower.
///
/// The scan cannot be fooled by the contents of a string (a `name`, say): inside a JSON string
/// a `"` is always escaped, so `,"text":"` only occurs in the object itself.
pub(crate) fn scan_chat(frame: &str) -> Option<ChatStamp> {
    let rest = frame.strip_prefix(CHAT_PREFIX)?;
    let (seq, rest) = leading_number(rest)?;
    if !rest.starts_with(',') {
        return None;
    }
    let text = &rest[find_text_value(rest)?..];
    let (stamp, after) = leading_number(text.strip_prefix("t=")?)?;
    matches!(after.as_bytes().first(), Some(b' ' | b'"')).then_some(ChatStamp { seq, stamp })
}

/// Where the value of the `text` member starts in `rest`, after [`TEXT_KEY`]. (A plain loop
/// over the commas: `str::find` prepares a searcher each time, which costs more than the
/// search in frames this short.)
fn find_text_value(rest: &str) -> Option<usize> {
    let bytes = rest.as_bytes();
    let key = TEXT_KEY.as_bytes();
    let mut from = 0;
    while let Some(comma) = bytes[from..].iter().position(|&byte| byte == b',') {
        let at = from + comma;
        if bytes[at..].starts_with(key) {
            return Some(at + key.len());
        }
        from = at + 1;
    }
    None
}

/// The decimal number at the start of `text` (1 to 19 digits) and what follows it.
fn leading_number(text: &str) -> Option<(u64, &str)> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    if !(1..=19).contains(&digits) {
        return None;
    }
    let number = text[..digits].bytes().fold(0, |number: u64, digit| {
        number * 10 + u64::from(digit - b'0')
    });
    Some((number, &text[digits..]))
}

/// A WebSocket as the setup uses it: text frames in and out.
pub(crate) trait TextSocket {
    /// The next text frame, whatever its type; a close or the end of the stream is an error.
    async fn next_text(&mut self) -> Result<String, BenchError>;
    /// Sends one text frame and flushes it.
    async fn send_text(&mut self, frame: String) -> Result<(), BenchError>;
    /// `future`'s output, or `None` once `wait` has passed, on the timers of the runtime this
    /// kind of socket runs on.
    async fn within<F: Future>(wait: Duration, future: F) -> Option<F::Output>;
}

impl TextSocket for Ws {
    async fn next_text(&mut self) -> Result<String, BenchError> {
        next_text(self).await
    }

    async fn send_text(&mut self, frame: String) -> Result<(), BenchError> {
        send(self, frame).await
    }

    async fn within<F: Future>(wait: Duration, future: F) -> Option<F::Output> {
        timeout(wait, future).await.ok()
    }
}

impl TextSocket for Conn {
    async fn next_text(&mut self) -> Result<String, BenchError> {
        match self.reader.next().await {
            Ok(Event::Text(text, _)) => Ok(text.to_owned()),
            Ok(Event::Close(close)) => Err(BenchError::Protocol(format!(
                "the server closed the connection: {}",
                close.map_or_else(
                    || "without a code".to_owned(),
                    |(code, reason)| format!("{code} {reason}")
                )
            ))),
            Err(err) => Err(BenchError::Protocol(err.to_string())),
        }
    }

    async fn send_text(&mut self, frame: String) -> Result<(), BenchError> {
        self.writer
            .send_text(&frame)
            .await
            .map_err(|err| BenchError::Protocol(format!("cannot send: {err}")))
    }

    async fn within<F: Future>(wait: Duration, future: F) -> Option<F::Output> {
        reactor::timeout(wait, future).await
    }
}

/// Sends one text frame and flushes it.
pub(crate) async fn send(ws: &mut Ws, frame: String) -> Result<(), BenchError> {
    ws.send(Message::text(frame))
        .await
        .map_err(|err| BenchError::Protocol(format!("cannot send: {err}")))
}

/// A `join` frame.
pub(crate) fn join_frame(room: &str) -> String {
    serde_json::json!({ "type": "join", "room": room }).to_string()
}

/// The next text frame, whatever its type; a close or the end of the stream is an error.
pub(crate) async fn next_text(ws: &mut Ws) -> Result<String, BenchError> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => return Ok(text.as_str().to_owned()),
            Some(Ok(Message::Close(frame))) => {
                return Err(BenchError::Protocol(format!(
                    "the server closed the connection: {}",
                    close_text(frame.as_ref())
                )))
            }
            Some(Ok(_)) => {}
            Some(Err(err)) => return Err(BenchError::Protocol(err.to_string())),
            None => return Err(BenchError::Protocol("the connection ended".into())),
        }
    }
}

/// Reads until a frame of type `kind` comes (skipping others) and returns it; an `error`
/// frame, a close or `wait` without it fails.
pub(crate) async fn expect<S: TextSocket>(
    ws: &mut S,
    kind: &str,
    wait: Duration,
) -> Result<Value, BenchError> {
    let wanted = async {
        loop {
            let text = ws.next_text().await?;
            let frame = decode(&text)?;
            if frame.kind == kind {
                return serde_json::from_str(&text)
                    .map_err(|err| BenchError::Protocol(format!("bad {kind} frame: {err}")));
            }
            if frame.kind == "error" {
                return Err(BenchError::Protocol(format!(
                    "waiting for {kind}, got an error: {text}"
                )));
            }
        }
    };
    S::within(wait, wanted).await.ok_or_else(|| {
        BenchError::Protocol(format!("no {kind} frame within {} s", wait.as_secs_f64()))
    })?
}

/// A connection that has joined a room.
#[derive(Debug)]
pub(crate) struct Joined<S = Ws> {
    /// The connection.
    pub(crate) ws: S,
    /// Its id, from `welcome`.
    pub(crate) id: String,
    /// The other members when it joined, from `joined.peers`.
    pub(crate) peers: Vec<String>,
    /// The `seq` its first live chat will have (after `joined.history`).
    pub(crate) next_seq: u64,
}

/// Connects (async-tungstenite), reads `welcome`, joins `room` and reads `joined`.
pub(crate) async fn connect_and_join(
    url: &str,
    room: &str,
    wait: Duration,
) -> Result<Joined, BenchError> {
    join(connect(url, wait).await?, room, wait).await
}

/// Connects with the lean client of [`crate::wire`], reads `welcome`, joins `room` and reads
/// `joined`.
pub(crate) async fn connect_and_join_lean(
    url: &str,
    room: &str,
    wait: Duration,
) -> Result<Joined<Conn>, BenchError> {
    join(wire::connect(url, wait).await?, room, wait).await
}

/// Reads `welcome` on a fresh connection, joins `room` and reads `joined`.
async fn join<S: TextSocket>(
    mut ws: S,
    room: &str,
    wait: Duration,
) -> Result<Joined<S>, BenchError> {
    let welcome = expect(&mut ws, "welcome", wait).await?;
    let id = welcome["id"]
        .as_str()
        .ok_or_else(|| BenchError::Protocol(format!("welcome without an id: {welcome}")))?
        .to_owned();
    ws.send_text(join_frame(room)).await?;
    let joined = expect(&mut ws, "joined", wait).await?;
    let peers = joined["peers"]
        .as_array()
        .map(|peers| {
            peers
                .iter()
                .filter_map(|peer| peer["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let last_seq = joined["history"]
        .as_array()
        .and_then(|history| history.last())
        .and_then(|entry| entry["seq"].as_u64())
        .unwrap_or(0);
    Ok(Joined {
        ws,
        id,
        peers,
        next_seq: last_seq + 1,
    })
}

/// `code reason` of a close frame, for messages.
pub(crate) fn close_text(
    frame: Option<&async_tungstenite::tungstenite::protocol::CloseFrame>,
) -> String {
    match frame {
        Some(frame) => format!("{} {}", u16::from(frame.code), frame.reason),
        None => "without a code".into(),
    }
}

/// Closes a connection: a close frame, then reading until the server's answer or `wait`.
pub(crate) async fn close(ws: &mut Ws, wait: Duration) {
    let _ = timeout(wait, async {
        let _ = ws.close(None).await;
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_point_at_the_websocket() {
        assert_eq!(
            ws_url("http://127.0.0.1:3000").unwrap(),
            "ws://127.0.0.1:3000/ws"
        );
        assert_eq!(ws_url("ws://h:1/").unwrap(), "ws://h:1/ws");
        assert_eq!(ws_url("ws://h:1/other").unwrap(), "ws://h:1/other");
        assert!(ws_url("wss://h:1").is_err());
        assert_eq!(authority("ws://h:1/ws"), "h:1");
    }

    #[test]
    fn room_lists_are_skipped_and_chats_read() {
        let rooms = decode(r#"{"type":"rooms","rooms":[{"name":"a","count":1}]}"#).unwrap();
        assert_eq!(rooms.kind, "rooms");
        let chat = decode(r#"{"seq":3,"type":"chat","from":"p1","text":"t=5","ts":1}"#).unwrap();
        assert_eq!((chat.kind.as_ref(), chat.seq), ("chat", 3));
        assert_eq!(chat.text.as_deref(), Some("t=5"));
    }

    #[test]
    fn chats_in_the_usual_shape_are_scanned_and_others_left_to_serde() {
        let room =
            r#"{"type":"chat","seq":12,"from":"p1","name":"Guest 1","text":"t=987 xx","ts":1}"#;
        let scanned = Some(ChatStamp {
            seq: 12,
            stamp: 987,
        });
        assert_eq!(scan_chat(room), scanned);
        let bun =
            r#"{"type":"chat","seq":12,"from":"p1","name":"a\",\"text\":\"t=1","text":"t=987"}"#;
        assert_eq!(scan_chat(bun), scanned, "a name cannot pass for the text");
        for other in [
            r#"{"seq":12,"type":"chat","text":"t=987"}"#,
            r#"{"type":"chat","seq":12.0,"text":"t=987"}"#,
            r#"{"type":"chat","seq":12,"text":"t=98x"}"#,
            r#"{"type":"chat","seq":12,"text":"n=1 t=987"}"#,
            r#"{"type":"chat","seq":12,"text":"t="}"#,
            r#"{"type":"chat","seq":99999999999999999999,"text":"t=1"}"#,
            r#"{"type":"chat", "seq":12,"text":"t=987"}"#,
            r#"{"type":"chats","seq":12,"text":"t=987"}"#,
            r#"{"type":"error","code":"x","message":"y"}"#,
        ] {
            assert_eq!(scan_chat(other), None, "{other}");
        }
    }
}
