//! One WebSocket connection: a single task reads frames into the hub and is the socket's only
//! writer.
//!
//! The task waits for whichever comes first: a close request from the hub, frames the hub
//! queued, a frame from the client, or the ping timer; when several are ready it takes them in
//! turn, so neither a busy room nor a busy client starves the other side. Frames go out in
//! batches with one flush each. Every write has a deadline: a socket that accepts nothing for
//! [`WRITE_STALL`] (or for the idle timeout, if that is shorter), or a client silent past the
//! idle timeout while a write waits, ends the connection, so a client that stopped reading
//! cannot hold the task. While a batch is being written a close request still gets through.
//! Whatever way a connection ends (a close frame, a broken rule, a dropped TCP connection,
//! silence, a stalled write, a panic), its [`crate::session::hub::Membership`] ends it in the
//! hub: at once out of its room if the client or the server closed it, after the resume grace
//! if it was lost.

use std::pin::pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_io::Timer;
use async_std::future::timeout;
use async_std::io::WriteExt;
use async_tungstenite::tungstenite::{Error as WsError, Message};
use futures_util::{select, FutureExt, SinkExt, StreamExt};
use room_core::flood::{Flood, RateLimit, Verdict};
use room_core::names::PeerId;
use room_core::protocol::{decode, ClientMsg, Close, ErrorCode, ServerMsg};
use room_core::time::Now;

use crate::clock;
use crate::excerpt::{excerpt, without_secrets};
use crate::net::admission::Ticket;
use crate::session::hub::{Frame, Hub, Mailbox};
use crate::ws::socket::{self as ws, ReadFailure, Socket};

/// How long the client has to answer a close frame with its own.
const CLOSE_REPLY_TIMEOUT: Duration = Duration::from_secs(5);
/// The most frames written at once...
const BATCH_FRAMES: usize = 64;
/// ...and the bytes after which no more frames join the batch.
const BATCH_BYTES: usize = 64 * 1024;
/// Pings go out this many times per idle timeout, so a live client answers several in time.
const PINGS_PER_IDLE_TIMEOUT: u32 = 3;
/// The longest a socket may accept nothing of a write before the connection is dropped.
pub(crate) const WRITE_STALL: Duration = Duration::from_secs(10);
/// A batch is written in pieces of this size, each of which must go within the stall limit.
const WRITE_PIECE: usize = 16 * 1024;

/// How a connection ended, for the log.
#[derive(Debug)]
enum End {
    /// The client sent a close frame.
    ClosedByClient { code: u16, reason: String },
    /// The server sent a close frame (and the client answered, or gave up).
    ClosedByServer(Close),
    /// The client answered nothing for longer than the idle timeout.
    TimedOut,
    /// The client stopped taking what the server writes.
    WriteTimedOut,
    /// The connection ended without a closing handshake.
    Dropped(String),
}

/// What the task woke up for.
enum Event {
    Closing(Close),
    Frame(Frame),
    Incoming(Option<Result<Message, WsError>>),
    Tick,
    /// The hub let go of the connection without a close request.
    Released,
}

/// One connection as its task sees it.
struct Session<'a> {
    hub: &'a Hub,
    /// The connection, as the hub knows it.
    connection: PeerId,
    /// The member it speaks for, for the log: itself, or the member it resumed.
    id: PeerId,
    flood: Flood,
    last_heard: Instant,
    idle_timeout: Duration,
    /// The close frame the client sent, if it did.
    close_from_client: Option<(u16, String)>,
}

/// The rules every connection's task keeps.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Policy {
    /// How fast the client may send messages.
    pub(crate) rate_limit: RateLimit,
    /// How long it may stay silent before it is dropped.
    pub(crate) idle_timeout: Duration,
}

/// Serves one upgraded connection until it ends. `remote` is the client's address, for logs;
/// `ticket` holds the connection's place under the caps until then.
pub(crate) async fn serve(
    hub: Arc<Hub>,
    policy: Policy,
    remote: String,
    ticket: Ticket,
    mut socket: Socket,
) {
    let hub = &*hub;
    let (mut membership, mailbox) = hub.join();
    let connection = membership.connection();
    log::info!(peer:% = connection, remote = remote.as_str(); "connected");
    let mut session = Session {
        hub,
        connection,
        id: connection,
        flood: Flood::new(policy.rate_limit, clock::tick()),
        last_heard: Instant::now(),
        idle_timeout: policy.idle_timeout,
        close_from_client: None,
    };
    let end = session.run(&mut socket, &mailbox).await;
    let id = session.id;
    if matches!(end, End::ClosedByClient { .. }) {
        membership.closed_by_client();
    }
    drop(membership);
    drop(ticket);
    match end {
        End::ClosedByClient { code, reason } => {
            log::info!(peer:% = id, code, reason = excerpt(&reason).as_str(), by = "client"; "closed")
        }
        End::ClosedByServer(close) => {
            log::info!(peer:% = id, code = close.code, reason = close.reason, by = "server"; "closed")
        }
        End::TimedOut => log::info!(peer:% = id; "timed out"),
        End::WriteTimedOut => log::info!(peer:% = id; "write timed out"),
        End::Dropped(error) => log::info!(peer:% = id, error = error.as_str(); "dropped"),
    }
}

impl Session<'_> {
    async fn run(&mut self, socket: &mut Socket, mailbox: &Mailbox) -> End {
        let mut ticks = Timer::interval(self.idle_timeout / PINGS_PER_IDLE_TIMEOUT);
        loop {
            // A close request goes before anything else that is ready; among the rest, `select!`
            // takes whichever is ready in a random order, so none of them can starve the others.
            if let Ok(close) = mailbox.closing.try_recv() {
                return self.close(socket, close).await;
            }
            let event = select! {
                close = mailbox.closing.recv().fuse() => close.map_or(Event::Released, Event::Closing),
                frame = mailbox.next_frame().fuse() => frame.map_or(Event::Released, Event::Frame),
                item = socket.next().fuse() => Event::Incoming(item),
                _ = ticks.next().fuse() => Event::Tick,
            };
            match event {
                Event::Closing(close) => return self.close(socket, close).await,
                Event::Frame(first) => {
                    // Let the tasks that are ready run first: under load they queue more frames
                    // for this connection, and one write then carries them all. With nothing
                    // else to run this returns at once, so an idle server adds no delay.
                    async_std::task::yield_now().await;
                    if let Some(end) = self.write(socket, mailbox, Some(first)).await {
                        return end;
                    }
                }
                Event::Incoming(Some(Ok(message))) => {
                    self.last_heard = Instant::now();
                    self.handle_message(message);
                    if let Some((code, reason)) = self.close_from_client.take() {
                        // The WebSocket layer queued the answering close; nothing may be sent
                        // after it. The next read sends it, then ends the stream.
                        socket.get_mut().closing();
                        let _ = timeout(CLOSE_REPLY_TIMEOUT, socket.next()).await;
                        return End::ClosedByClient { code, reason };
                    }
                }
                Event::Incoming(Some(Err(err))) => {
                    return match ws::read_failure(&err) {
                        ReadFailure::Close(close) => {
                            log::info!(peer:% = self.id, error:% = err; "broken frame");
                            self.hub.close(self.connection, close);
                            ws::fail(socket, close).await;
                            End::ClosedByServer(close)
                        }
                        ReadFailure::Gone => End::Dropped(err.to_string()),
                    };
                }
                Event::Incoming(None) => {
                    return End::Dropped("connection ended without a close frame".into());
                }
                Event::Tick if self.last_heard.elapsed() > self.idle_timeout => {
                    self.hub.close(self.connection, Close::IDLE);
                    // A client that answers nothing will not answer a close either.
                    ws::send_close(socket, Close::IDLE).await;
                    return End::TimedOut;
                }
                Event::Tick => {
                    if let Some(end) = self.write(socket, mailbox, None).await {
                        return end;
                    }
                }
                Event::Released => {
                    // The hub asks for the close before it lets go of the queue, so one that
                    // was asked for is waiting now.
                    if let Ok(close) = mailbox.closing.try_recv() {
                        return self.close(socket, close).await;
                    }
                    return End::Dropped("released by the hub".into());
                }
            }
        }
    }

    /// Handles one message from the client.
    fn handle_message(&mut self, message: Message) {
        let now = clock::now();
        let counted = matches!(
            message,
            Message::Text(_) | Message::Binary(_) | Message::Ping(_)
        );
        let verdict = if counted {
            self.flood.check_frame(now.tick)
        } else {
            Verdict::Allow
        };
        if !self.admit(
            verdict,
            "too many frames: slow down; this frame was dropped",
        ) {
            return;
        }
        match message {
            Message::Text(text) => self.handle_text(now, &text),
            Message::Binary(bytes) => {
                log::info!(peer:% = self.id, bytes = bytes.len(); "binary frame");
                self.hub.close(self.connection, Close::UNSUPPORTED_DATA);
            }
            Message::Close(frame) => {
                self.close_from_client = Some(match frame {
                    Some(frame) => (u16::from(frame.code), frame.reason.to_string()),
                    None => (1005, String::new()),
                });
            }
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
        }
    }

    /// Logs one text frame, which arrived at `now`, and hands it to the hub.
    fn handle_text(&mut self, now: Now, text: &str) {
        let (hub, id, connection) = (self.hub, self.id, self.connection);
        // Looking the room up takes the hub's lock: only when the line is printed.
        let room = log::log_enabled!(log::Level::Info)
            .then(|| hub.room_of(connection))
            .flatten();
        let room = room.as_ref().map(|room| room.as_str());
        match decode(text) {
            Ok(msg) => {
                match &msg {
                    ClientMsg::Chat { text } => {
                        log::info!(peer:% = id, room, kind = msg.kind(), text = excerpt(text).as_str(); "frame")
                    }
                    _ => log::info!(peer:% = id, room, kind = msg.kind(); "frame"),
                }
                if matches!(msg, ClientMsg::Join { .. }) {
                    let verdict = self.flood.check_join(now.tick);
                    if !self.admit(verdict, "too many joins: wait a few seconds") {
                        return;
                    }
                }
                if let Some(member) = hub.handle(now, connection, msg) {
                    if member != id {
                        log::info!(peer:% = member, connection:% = connection; "resumed");
                        self.id = member;
                    }
                }
            }
            Err(err) => {
                let shown = excerpt(&without_secrets(text));
                log::info!(peer:% = id, room, error:% = err, text = shown.as_str(); "frame");
                hub.reply(connection, err.reply());
            }
        }
    }

    /// Carries out a flood verdict; true when the frame may be handled.
    fn admit(&self, verdict: Verdict, message: &str) -> bool {
        match verdict {
            Verdict::Allow => return true,
            Verdict::Refuse => {
                log::info!(peer:% = self.id; "rate limited");
                let reply = ServerMsg::error(ErrorCode::RateLimited, message);
                self.hub.reply(self.connection, reply);
            }
            Verdict::Drop => {}
            Verdict::Close => self.hub.close(self.connection, Close::RATE_LIMITED),
        }
        false
    }

    /// How long one piece of a write may wait for the socket.
    fn stall_limit(&self) -> Duration {
        WRITE_STALL.min(self.idle_timeout)
    }

    /// When a client silent since `last_heard` has broken the idle promise: three pings per
    /// idle timeout, so a live client is heard of within a third of it past the timeout.
    fn idle_deadline(&self) -> Instant {
        self.last_heard + self.idle_timeout + self.idle_timeout / PINGS_PER_IDLE_TIMEOUT
    }

    /// Writes a batch of queued frames (or, with no first frame, a ping) and flushes once.
    /// A close request cuts a slow write short; a write that stalls, or a client that stays
    /// silent past its idle deadline while the write waits, ends the connection.
    async fn write(
        &mut self,
        socket: &mut Socket,
        mailbox: &Mailbox,
        first: Option<Frame>,
    ) -> Option<End> {
        let close = {
            let stall = self.stall_limit();
            let idle = Timer::at(self.idle_deadline());
            let batch = async {
                // Anything the WebSocket layer has queued itself (a pong) goes out first, so the
                // frames written below never cut into it.
                within(stall, socket.flush()).await?;
                let Some(first) = first else {
                    return within(stall, socket.send(Message::Ping(Default::default()))).await;
                };
                // Written straight to the connection, not through the WebSocket layer's buffer,
                // which keeps the capacity of its largest write for the life of the connection.
                let mut out = Vec::with_capacity(first.len() + ws::MAX_FRAME_HEADER);
                ws::encode_text_frame(&mut out, first.as_bytes());
                for _ in 1..BATCH_FRAMES {
                    if out.len() >= BATCH_BYTES {
                        break;
                    }
                    let Some(frame) = mailbox.try_next_frame() else {
                        break;
                    };
                    ws::encode_text_frame(&mut out, frame.as_bytes());
                }
                let connection = socket.get_mut();
                for piece in out.chunks(WRITE_PIECE) {
                    within(stall, async {
                        connection.write_all(piece).await.map_err(WsError::Io)
                    })
                    .await?;
                }
                within(stall, async {
                    connection.flush().await.map_err(WsError::Io)
                })
                .await
            };
            let mut batch = pin!(batch.fuse());
            let mut idle = pin!(FutureExt::fuse(idle));
            select! {
                written = batch => return match written {
                    Ok(()) => None,
                    Err(Stalled::Timeout) => Some(End::WriteTimedOut),
                    Err(Stalled::Failed(err)) => Some(End::Dropped(err.to_string())),
                },
                _ = idle => return Some(End::WriteTimedOut),
                close = mailbox.closing.recv().fuse() => match close {
                    Ok(close) => close,
                    Err(_) => return Some(End::Dropped("released by the hub".into())),
                },
            }
        };
        Some(self.close(socket, close).await)
    }

    /// Sends a close frame and waits a while for the client's reply.
    async fn close(&mut self, socket: &mut Socket, close: Close) -> End {
        ws::send_close(socket, close).await;
        socket.get_mut().closing();
        let reply = async {
            while let Some(item) = socket.next().await {
                if item.is_err() {
                    break;
                }
            }
        };
        let _ = timeout(CLOSE_REPLY_TIMEOUT, reply).await;
        End::ClosedByServer(close)
    }
}

/// Why a write did not finish.
enum Stalled {
    /// The socket took nothing within the limit.
    Timeout,
    /// The socket failed.
    Failed(WsError),
}

/// Runs one step of a write within `limit`.
async fn within(
    limit: Duration,
    step: impl std::future::Future<Output = Result<(), WsError>>,
) -> Result<(), Stalled> {
    match timeout(limit, step).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => Err(Stalled::Failed(err)),
        Err(_) => Err(Stalled::Timeout),
    }
}
