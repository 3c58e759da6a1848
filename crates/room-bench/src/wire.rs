//! A lean WebSocket client (RFC 6455, client side, no extensions) for the open-loop scenarios,
//! where the generator's own cost per frame limits what it can measure.
//!
//! It runs on the generator's own [`crate::reactor`] (every connection of a run on one thread).
//! Compared with async-tungstenite it reads frames in place, out of one buffer per connection
//! that is zeroed once (tungstenite 0.26 zeroes its whole 128 KiB read buffer before every
//! read, the generator's largest cost), hands text frames out as `&str` without copying them,
//! skips the read that would only say "would block" when the last one emptied the socket, and
//! writes straight to the socket without a lock between a reading and a writing half (both
//! halves of a connection belong to one thread: `Rc`).
//!
//! Pings are answered, a close from the server is echoed, fragmented messages are joined; the
//! server's `Sec-WebSocket-Accept` is not checked (the generator talks to servers it knows).

use std::cell::{Cell, RefCell};
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::time::Duration;

use base64::Engine;
use rustix::net::{AddressFamily, SocketFlags, SocketType};

use crate::error::BenchError;
use crate::reactor::{timeout, Direction, Registration};

/// The read buffer a connection starts with; it doubles, up to [`MAX_READ_BUFFER`], whenever a
/// read fills it, so a quiet connection stays small and a busy one reads in large batches.
const FIRST_READ_BUFFER: usize = 4 * 1024;
/// The largest read buffer a connection grows to for ordinary frames.
const MAX_READ_BUFFER: usize = 64 * 1024;
/// The largest frame or message accepted (tungstenite's default message limit).
const MAX_MESSAGE: usize = 64 << 20;
/// The largest HTTP response to the upgrade request.
const MAX_RESPONSE_HEAD: usize = 16 * 1024;

const OP_CONTINUATION: u8 = 0x0;
const OP_TEXT: u8 = 0x1;
const OP_BINARY: u8 = 0x2;
const OP_CLOSE: u8 = 0x8;
const OP_PING: u8 = 0x9;
const OP_PONG: u8 = 0xA;

/// The code of a normal close.
const NORMAL_CLOSURE: u16 = 1000;

/// A client connection, both halves.
#[derive(Debug)]
pub(crate) struct Conn {
    /// Reads frames.
    pub(crate) reader: Reader,
    /// Writes frames.
    pub(crate) writer: Writer,
}

/// What a connection reads.
#[derive(Debug)]
pub(crate) enum Event<'a> {
    /// A text message, and the number of the socket read that completed it (frames of one
    /// read arrived together).
    Text(&'a str, u64),
    /// The server's close frame: its code and reason, if it gave them. It has been answered.
    Close(Option<(u16, String)>),
}

/// Where a complete message lies.
enum Found {
    /// In the read buffer, at this range.
    InBuffer(usize, usize),
    /// In the buffer of a fragmented message.
    Joined,
}

/// The reading half: frames out of one buffer, read in place.
#[derive(Debug)]
pub(crate) struct Reader {
    stream: Rc<Registration<TcpStream>>,
    outbox: Writer,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Reads that returned data.
    reads: u64,
    /// A fragmented message being joined, and its opcode.
    message: Vec<u8>,
    message_op: Option<u8>,
}

/// The writing half: frames are queued and written at once; what the socket does not take
/// waits for the next write or [`Writer::flush`]. Clones share the connection.
#[derive(Debug, Clone)]
pub(crate) struct Writer {
    inner: Rc<Outbox>,
}

#[derive(Debug)]
struct Outbox {
    stream: Rc<Registration<TcpStream>>,
    /// Bytes not yet written, from the first.
    pending: RefCell<Vec<u8>>,
    /// A close frame has been queued: nothing more goes out.
    closed: Cell<bool>,
    /// The state of the masking keys' generator (xorshift).
    mask_state: Cell<u64>,
}

/// Opens a WebSocket to `url` (`ws://host:port/path`, from [`crate::client::ws_url`]) with
/// Nagle's algorithm off.
pub(crate) async fn connect(url: &str, wait: Duration) -> Result<Conn, BenchError> {
    connect_speaking(url, wait, None).await
}

/// [`connect`], asking for the subprotocol `protocol` when there is one.
pub(crate) async fn connect_speaking(
    url: &str,
    wait: Duration,
    protocol: Option<&str>,
) -> Result<Conn, BenchError> {
    let failed = |reason: String| BenchError::Connect {
        url: url.to_owned(),
        reason,
    };
    let rest = url.strip_prefix("ws://").unwrap_or(url);
    let (authority, path) = match rest.find('/') {
        Some(slash) => (&rest[..slash], &rest[slash..]),
        None => (rest, "/"),
    };
    let opening = async {
        let addr = authority
            .to_socket_addrs()
            .map_err(|err| failed(err.to_string()))?
            .next()
            .ok_or_else(|| failed(format!("{authority} has no address")))?;
        let stream = connect_tcp(addr)
            .await
            .map_err(|err| failed(err.to_string()))?;
        stream
            .get_ref()
            .set_nodelay(true)
            .map_err(|err| failed(format!("TCP_NODELAY: {err}")))?;
        let stream = Rc::new(stream);
        let writer = Writer {
            inner: Rc::new(Outbox {
                stream: stream.clone(),
                pending: RefCell::new(Vec::new()),
                closed: Cell::new(false),
                mask_state: Cell::new(random_u64() | 1),
            }),
        };
        let mut reader = Reader {
            stream,
            outbox: writer.clone(),
            buf: vec![0; FIRST_READ_BUFFER],
            start: 0,
            end: 0,
            reads: 0,
            message: Vec::new(),
            message_op: None,
        };
        let key = base64::engine::general_purpose::STANDARD
            .encode([random_u64().to_le_bytes(), random_u64().to_le_bytes()].concat());
        let protocol = protocol
            .map(|protocol| format!("Sec-WebSocket-Protocol: {protocol}\r\n"))
            .unwrap_or_default();
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {authority}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\
             {protocol}\r\n"
        );
        writer
            .inner
            .pending
            .borrow_mut()
            .extend_from_slice(request.as_bytes());
        writer
            .flush()
            .await
            .map_err(|err| failed(format!("sending the upgrade request: {err}")))?;
        reader.read_upgrade().await.map_err(failed)?;
        Ok(Conn { reader, writer })
    };
    timeout(wait, opening)
        .await
        .ok_or_else(|| failed("connecting and the WebSocket handshake timed out".into()))?
}

/// Opens a TCP connection without blocking the thread, registered with the reactor.
async fn connect_tcp(addr: SocketAddr) -> io::Result<Registration<TcpStream>> {
    let family = match addr {
        SocketAddr::V4(_) => AddressFamily::INET,
        SocketAddr::V6(_) => AddressFamily::INET6,
    };
    let socket: OwnedFd = rustix::net::socket_with(
        family,
        SocketType::STREAM,
        SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
        None,
    )?;
    let pending = match rustix::net::connect(&socket, &addr) {
        Ok(()) => false,
        Err(rustix::io::Errno::INPROGRESS) => true,
        Err(err) => return Err(err.into()),
    };
    let stream = Registration::new(TcpStream::from(socket))?;
    if pending {
        stream.clear(Direction::Write);
        stream.ready(Direction::Write).await;
        rustix::net::sockopt::socket_error(stream.get_ref())??;
    }
    Ok(stream)
}

/// 64 random bits, from the standard library's per-process random hash keys.
fn random_u64() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(0x9e37_79b9_7f4a_7c15);
    hasher.finish()
}

impl Reader {
    /// Reads the server's answer to the upgrade request; what follows it stays in the buffer.
    async fn read_upgrade(&mut self) -> Result<(), String> {
        loop {
            let head = &self.buf[self.start..self.end];
            if let Some(at) = head.windows(4).position(|window| window == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&head[..at]);
                let status = head.lines().next().unwrap_or_default();
                let mut words = status.split(' ');
                let (version, code) = (words.next(), words.next());
                if !(version.is_some_and(|version| version.starts_with("HTTP/1."))
                    && code == Some("101"))
                {
                    return Err(format!("the server refused the upgrade: {status}"));
                }
                self.start += at + 4;
                return Ok(());
            }
            if self.end - self.start >= MAX_RESPONSE_HEAD {
                return Err("the upgrade response is too long".into());
            }
            match self.fill().await {
                Ok(0) => return Err("the connection ended during the handshake".into()),
                Ok(_) => {}
                Err(err) => return Err(format!("reading the upgrade response: {err}")),
            }
        }
    }

    /// The next text message or the server's close. Pings are answered and pongs and binary
    /// messages skipped on the way. An error when the connection breaks or ends without a
    /// close frame, or the server breaks the protocol.
    pub(crate) async fn next(&mut self) -> io::Result<Event<'_>> {
        let found = loop {
            match self.parse()? {
                Some(Parsed::Message(found)) => break found,
                Some(Parsed::Close(close)) => return Ok(Event::Close(close)),
                None => {
                    if self.fill().await? == 0 {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "the connection ended without a close frame",
                        ));
                    }
                }
            }
        };
        let bytes = match found {
            Found::InBuffer(from, to) => &self.buf[from..to],
            Found::Joined => &self.message,
        };
        let text = std::str::from_utf8(bytes)
            .map_err(|_| invalid("a text message that is not UTF-8".into()))?;
        Ok(Event::Text(text, self.reads))
    }

    /// Takes the frames in the buffer until a whole text message or a close is there.
    fn parse(&mut self) -> io::Result<Option<Parsed>> {
        loop {
            let Some(frame) = self.frame()? else {
                return Ok(None);
            };
            let (from, to) = frame.payload;
            match frame.opcode {
                OP_TEXT | OP_BINARY if self.message_op.is_some() => {
                    return Err(invalid("a new message inside a fragmented one".into()))
                }
                OP_TEXT if frame.fin => {
                    return Ok(Some(Parsed::Message(Found::InBuffer(from, to))));
                }
                OP_BINARY if frame.fin => {}
                OP_TEXT | OP_BINARY => {
                    self.message.clear();
                    self.message.extend_from_slice(&self.buf[from..to]);
                    self.message_op = Some(frame.opcode);
                }
                OP_CONTINUATION => {
                    let Some(op) = self.message_op else {
                        return Err(invalid("a continuation outside a message".into()));
                    };
                    if self.message.len() + (to - from) > MAX_MESSAGE {
                        return Err(invalid("a message over 64 MiB".into()));
                    }
                    self.message.extend_from_slice(&self.buf[from..to]);
                    if frame.fin {
                        self.message_op = None;
                        if op == OP_TEXT {
                            return Ok(Some(Parsed::Message(Found::Joined)));
                        }
                    }
                }
                OP_PING => {
                    let ping = self.buf[from..to].to_vec();
                    self.outbox.queue(OP_PONG, &ping);
                    self.outbox.try_flush()?;
                }
                OP_PONG => {}
                OP_CLOSE => {
                    let payload = &self.buf[from..to];
                    let close = (payload.len() >= 2).then(|| {
                        let code = u16::from_be_bytes([payload[0], payload[1]]);
                        (code, String::from_utf8_lossy(&payload[2..]).into_owned())
                    });
                    // Echo it (unless this is the answer to the generator's own close).
                    let code = close.as_ref().map_or(NORMAL_CLOSURE, |(code, _)| *code);
                    self.outbox.queue(OP_CLOSE, &code.to_be_bytes());
                    self.outbox.inner.closed.set(true);
                    let _ = self.outbox.try_flush();
                    return Ok(Some(Parsed::Close(close)));
                }
                other => return Err(invalid(format!("a frame with opcode {other}"))),
            }
        }
    }

    /// The next whole frame in the buffer, taken out of it; `None` when it is not all there.
    fn frame(&mut self) -> io::Result<Option<Frame>> {
        let available = &self.buf[self.start..self.end];
        if available.len() < 2 {
            return Ok(None);
        }
        let (first, second) = (available[0], available[1]);
        if first & 0x70 != 0 {
            return Err(invalid("a frame with reserved bits set".into()));
        }
        if second & 0x80 != 0 {
            return Err(invalid("a masked frame from the server".into()));
        }
        let (header, length) = match second & 0x7F {
            126 if available.len() < 4 => return Ok(None),
            126 => (
                4,
                u64::from(u16::from_be_bytes([available[2], available[3]])),
            ),
            127 if available.len() < 10 => return Ok(None),
            127 => {
                let mut length = [0; 8];
                length.copy_from_slice(&available[2..10]);
                (10, u64::from_be_bytes(length))
            }
            length => (2, u64::from(length)),
        };
        let opcode = first & 0x0F;
        let fin = first & 0x80 != 0;
        if opcode >= OP_CLOSE && (!fin || length > 125) {
            return Err(invalid("a fragmented or long control frame".into()));
        }
        if length > MAX_MESSAGE as u64 {
            return Err(invalid(format!("a frame of {length} bytes")));
        }
        let total = header + length as usize;
        if available.len() < total {
            // Make room for the whole frame after what is buffered.
            if self.start + total > self.buf.len() {
                self.buf.copy_within(self.start..self.end, 0);
                (self.start, self.end) = (0, self.end - self.start);
                if total > self.buf.len() {
                    self.buf.resize(total, 0);
                }
            }
            return Ok(None);
        }
        let from = self.start + header;
        self.start += total;
        Ok(Some(Frame {
            fin,
            opcode,
            payload: (from, self.start),
        }))
    }

    /// Reads what the socket has into the buffer (waiting for it if need be); the bytes read,
    /// 0 at the end of the stream.
    async fn fill(&mut self) -> io::Result<usize> {
        if self.start == self.end {
            (self.start, self.end) = (0, 0);
        } else if self.start > 0 && self.end == self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            (self.start, self.end) = (0, self.end - self.start);
        }
        if self.end == self.buf.len() {
            let larger = (self.buf.len() * 2).max(FIRST_READ_BUFFER);
            self.buf.resize(larger, 0);
        }
        loop {
            self.stream.ready(Direction::Read).await;
            let space = self.buf.len() - self.end;
            match self.stream.get_ref().read(&mut self.buf[self.end..]) {
                Ok(read) => {
                    self.end += read;
                    self.reads += 1;
                    // A short read emptied the socket: the next read waits for an event first
                    // instead of asking the kernel only to be told to wait.
                    if read < space {
                        self.stream.clear(Direction::Read);
                    }
                    if read == space
                        && space >= self.buf.len() / 2
                        && self.buf.len() < MAX_READ_BUFFER
                    {
                        let larger = self.buf.len() * 2;
                        self.buf.resize(larger, 0);
                    }
                    return Ok(read);
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    self.stream.clear(Direction::Read)
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        }
    }
}

/// What [`Reader::parse`] found.
enum Parsed {
    Message(Found),
    Close(Option<(u16, String)>),
}

/// A frame's header, its payload a range of the read buffer.
struct Frame {
    fin: bool,
    opcode: u8,
    payload: (usize, usize),
}

fn invalid(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what)
}

impl Writer {
    /// Queues a text frame; an error once the connection is closing.
    pub(crate) fn queue_text(&self, text: &[u8]) -> io::Result<()> {
        if self.inner.closed.get() {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "the connection is closing",
            ));
        }
        self.queue(OP_TEXT, text);
        Ok(())
    }

    /// Queues a frame (nothing once a close frame has been queued).
    fn queue(&self, opcode: u8, payload: &[u8]) {
        let outbox = &self.inner;
        if outbox.closed.get() {
            return;
        }
        let mut pending = outbox.pending.borrow_mut();
        pending.push(0x80 | opcode);
        match payload.len() {
            length @ 0..=125 => pending.push(0x80 | length as u8),
            length @ 126..=0xFFFF => {
                pending.push(0x80 | 126);
                pending.extend_from_slice(&(length as u16).to_be_bytes());
            }
            length => {
                pending.push(0x80 | 127);
                pending.extend_from_slice(&(length as u64).to_be_bytes());
            }
        }
        // xorshift64: masking keys only need to vary.
        let mut state = outbox.mask_state.get();
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        outbox.mask_state.set(state);
        let mask = (state as u32).to_ne_bytes();
        pending.extend_from_slice(&mask);
        pending.extend(
            payload
                .iter()
                .zip(mask.iter().cycle())
                .map(|(byte, key)| byte ^ key),
        );
    }

    /// Writes what the socket takes now without waiting; whether nothing is left.
    pub(crate) fn try_flush(&self) -> io::Result<bool> {
        let mut pending = self.inner.pending.borrow_mut();
        let mut written = 0;
        while written < pending.len() {
            match self.inner.stream.get_ref().write(&pending[written..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(count) => written += count,
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    self.inner.stream.clear(Direction::Write);
                    break;
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        }
        if written == pending.len() {
            pending.clear();
        } else {
            pending.drain(..written);
        }
        Ok(pending.is_empty())
    }

    /// Writes everything queued, waiting for the socket as long as it takes.
    pub(crate) async fn flush(&self) -> io::Result<()> {
        while !self.try_flush()? {
            self.inner.stream.ready(Direction::Write).await;
        }
        Ok(())
    }

    /// Sends one text frame and waits until it is written.
    pub(crate) async fn send_text(&self, text: &str) -> io::Result<()> {
        self.queue_text(text.as_bytes())?;
        self.flush().await
    }

    /// Sends a normal close frame (once) and writes it out; the server's answer comes to the
    /// reader.
    pub(crate) async fn close(&self) -> io::Result<()> {
        self.queue(OP_CLOSE, &NORMAL_CLOSURE.to_be_bytes());
        self.inner.closed.set(true);
        self.flush().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::net::TcpListener;

    /// A server frame: unmasked, with the header the length calls for.
    fn server_frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
        let mut frame = vec![if fin { 0x80 } else { 0 } | opcode];
        match payload.len() {
            length @ 0..=125 => frame.push(length as u8),
            length @ 126..=0xFFFF => {
                frame.push(126);
                frame.extend_from_slice(&(length as u16).to_be_bytes());
            }
            length => {
                frame.push(127);
                frame.extend_from_slice(&(length as u64).to_be_bytes());
            }
        }
        frame.extend_from_slice(payload);
        frame
    }

    /// Reads one masked client frame from `stream`: its opcode and unmasked payload.
    fn client_frame(stream: &mut TcpStream) -> (u8, Vec<u8>) {
        let mut head = [0; 2];
        stream.read_exact(&mut head).unwrap();
        assert_eq!(head[1] & 0x80, 0x80, "client frames are masked");
        let length = match head[1] & 0x7F {
            126 => {
                let mut length = [0; 2];
                stream.read_exact(&mut length).unwrap();
                usize::from(u16::from_be_bytes(length))
            }
            127 => {
                let mut length = [0; 8];
                stream.read_exact(&mut length).unwrap();
                u64::from_be_bytes(length) as usize
            }
            length => usize::from(length),
        };
        let mut mask = [0; 4];
        stream.read_exact(&mut mask).unwrap();
        let mut payload = vec![0; length];
        stream.read_exact(&mut payload).unwrap();
        for (index, byte) in payload.iter_mut().enumerate() {
            *byte ^= mask[index % 4];
        }
        (head[0] & 0x0F, payload)
    }

    /// Accepts one connection, answers the upgrade with the first frames in the same write,
    /// then plays `script` with the accepted stream.
    fn serve(
        first_frames: Vec<u8>,
        script: impl FnOnce(&mut TcpStream) + Send + 'static,
    ) -> (String, std::thread::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("ws://{}/ws", listener.local_addr().unwrap());
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = Vec::new();
            let mut byte = [0; 1];
            while !request.ends_with(b"\r\n\r\n") {
                stream.read_exact(&mut byte).unwrap();
                request.push(byte[0]);
            }
            let request = String::from_utf8(request).unwrap();
            assert!(request.starts_with("GET /ws HTTP/1.1\r\n"), "{request}");
            assert!(request.contains("Sec-WebSocket-Key: "), "{request}");
            let mut answer = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
                Connection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n"
                .to_vec();
            answer.extend_from_slice(&first_frames);
            stream.write_all(&answer).unwrap();
            script(&mut stream);
        });
        (url, server)
    }

    #[test]
    fn frames_are_read_in_place_joined_and_answered() {
        let long = "x".repeat(70_000);
        let mut frames = server_frame(true, OP_TEXT, br#"{"type":"welcome"}"#);
        frames.extend(server_frame(false, OP_TEXT, b"frag"));
        frames.extend(server_frame(true, OP_PING, b"hi"));
        frames.extend(server_frame(true, OP_CONTINUATION, b"mented"));
        frames.extend(server_frame(true, OP_BINARY, b"skipped"));
        frames.extend(server_frame(true, OP_TEXT, long.as_bytes()));
        frames.extend(server_frame(true, OP_TEXT, "é".repeat(200).as_bytes()));
        let (url, server) = serve(frames, |stream| {
            assert_eq!(client_frame(stream), (OP_PONG, b"hi".to_vec()));
            assert_eq!(client_frame(stream), (OP_TEXT, b"hello".to_vec()));
            let text = "y".repeat(300);
            assert_eq!(client_frame(stream), (OP_TEXT, text.into_bytes()));
            let (opcode, payload) = client_frame(stream);
            assert_eq!(
                (opcode, payload),
                (OP_CLOSE, 1000u16.to_be_bytes().to_vec())
            );
            let mut close = 1000u16.to_be_bytes().to_vec();
            close.extend_from_slice(b"bye");
            stream
                .write_all(&server_frame(true, OP_CLOSE, &close))
                .unwrap();
        });
        crate::reactor::block_on(async {
            let Conn { mut reader, writer } = connect(&url, Duration::from_secs(5)).await.unwrap();
            let mut texts = Vec::new();
            for _ in 0..4 {
                match reader.next().await.unwrap() {
                    Event::Text(text, _) => texts.push(text.to_owned()),
                    Event::Close(close) => panic!("closed early: {close:?}"),
                }
            }
            assert_eq!(texts[0], r#"{"type":"welcome"}"#);
            assert_eq!(texts[1], "fragmented");
            assert_eq!(texts[2], long);
            assert_eq!(texts[3], "é".repeat(200));
            writer.send_text("hello").await.unwrap();
            writer.send_text(&"y".repeat(300)).await.unwrap();
            writer.close().await.unwrap();
            match reader.next().await.unwrap() {
                Event::Close(close) => assert_eq!(close, Some((1000, "bye".to_owned()))),
                Event::Text(text, _) => panic!("text after close: {text}"),
            }
        });
        server.join().unwrap();
    }

    #[test]
    fn a_refused_upgrade_and_a_dropped_connection_are_errors() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("ws://{}/ws", listener.local_addr().unwrap());
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut buf = [0; 1024];
            let _ = stream.read(&mut buf).unwrap();
            stream
                .write_all(b"HTTP/1.1 503 Service Unavailable\r\n\r\n")
                .unwrap();
        });
        let refused = crate::reactor::block_on(connect(&url, Duration::from_secs(5)));
        assert!(
            refused.unwrap_err().to_string().contains("503"),
            "the status is reported"
        );
        server.join().unwrap();

        let (url, server) = serve(server_frame(true, OP_TEXT, b"last"), |_| {});
        crate::reactor::block_on(async {
            let Conn { mut reader, .. } = connect(&url, Duration::from_secs(5)).await.unwrap();
            assert!(matches!(
                reader.next().await.unwrap(),
                Event::Text("last", _)
            ));
            server.join().unwrap();
            let ended = reader.next().await.unwrap_err();
            assert_eq!(ended.kind(), io::ErrorKind::UnexpectedEof);
        });
    }
}
