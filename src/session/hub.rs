//! The shared room state and the routing of frames into each connection's queue.
//!
//! Every connection task calls into one [`Hub`]. The hub runs the pure [`Rooms`] core under a
//! lock and puts the frames it returns into bounded per-connection queues with `try_send`, so
//! delivering never waits for a client: a connection whose queue is full is closed instead.
//! Frames the core holds back for a later time go out from [`Hub::run_timers`].
//!
//! A connection is known by the id the core gave it in its `welcome`; it speaks for that
//! member until a `resume` makes it speak for another (the core's [`Rebind`]): from then on
//! the member's frames go to it, and a connection that spoke for the member before is closed.
//! While a member is away (its connection lost, its place kept) the frames for it are held,
//! as many as one queue may hold, and go to the connection that resumes it right after the
//! `resumed` frame: what the others said and did meanwhile (an offer from a newcomer, say)
//! reaches it.
//!
//! Nothing is logged while the lock is held: what happened is gathered under it and logged
//! after, so a slow log can never hold up the rooms.

use std::collections::{HashMap, VecDeque};
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_channel::{Receiver, Sender};
use async_io::Timer;
use futures_util::future::{select, Either};
use room_core::media::{MediaCommand, MediaEvent};
use room_core::names::{PeerId, RoomName};
use room_core::protocol::{ClientMsg, Close, ServerMsg};
use room_core::rooms::{Ending, Limits, Outgoing, Rebind, RoomList, Rooms, To};
use room_core::time::{Now, Tick};

use crate::clock;
use crate::entropy::SystemEntropy;

/// How many frames may wait for one connection before it counts as too slow.
pub(crate) const QUEUE_FRAMES: usize = 512;
/// How many bytes of frames may wait for one connection before it counts as too slow.
pub(crate) const QUEUE_BYTES: usize = 1024 * 1024;

/// An encoded frame: JSON text. Cloning it shares the text: a frame for a whole room is
/// encoded once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Frame(Arc<str>);

impl Frame {
    /// The frame's text, as bytes.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// Its length in bytes.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }
}

impl From<String> for Frame {
    fn from(text: String) -> Self {
        Frame(text.into())
    }
}

/// The receiving ends of one connection's queues, read only by its writer.
#[derive(Debug)]
pub(crate) struct Mailbox {
    /// Encoded frames to send, in order.
    frames: Receiver<Frame>,
    /// The bytes of the frames in `frames`.
    queued_bytes: Arc<AtomicUsize>,
    /// A request to close, which goes before any frame still queued.
    pub(crate) closing: Receiver<Close>,
}

impl Mailbox {
    /// Waits for the next frame to send; `None` once the hub has let go of the connection.
    pub(crate) async fn next_frame(&self) -> Option<Frame> {
        let frame = self.frames.recv().await.ok()?;
        self.taken(&frame);
        Some(frame)
    }

    /// The next frame to send if one is waiting.
    pub(crate) fn try_next_frame(&self) -> Option<Frame> {
        let frame = self.frames.try_recv().ok()?;
        self.taken(&frame);
        Some(frame)
    }

    fn taken(&self, frame: &Frame) {
        self.queued_bytes.fetch_sub(frame.len(), Ordering::Relaxed);
    }
}

/// The sending ends of one connection's queues.
#[derive(Debug)]
struct Link {
    /// The connection, by the id of its `welcome`.
    connection: PeerId,
    frames: Sender<Frame>,
    queued_bytes: Arc<AtomicUsize>,
    closing: Sender<Close>,
}

impl Link {
    /// Queues a frame; false when the connection is too far behind to take it.
    fn push(&self, frame: &Frame) -> bool {
        // Only the hub, under its lock, adds to the count; the writer only takes away, so the
        // count read here can only be too high, never too low.
        let queued = self.queued_bytes.load(Ordering::Relaxed);
        if self.frames.len() >= QUEUE_FRAMES || queued + frame.len() > QUEUE_BYTES {
            return false;
        }
        self.queued_bytes.fetch_add(frame.len(), Ordering::Relaxed);
        // The channel is unbounded, so sending fails only once the writer has stopped, and then
        // its connection is on its way out anyway.
        let _ = self.frames.try_send(frame.clone());
        true
    }
}

/// What all the members who are away may have held for them together, in bytes.
const HELD_BYTES_MAX: usize = 64 * 1024 * 1024;

/// The frames for the members whose connection was lost, kept for the connections that resume
/// them: for each as many as a connection's queue may hold, and [`HELD_BYTES_MAX`] for all.
/// Past that they are dropped (the `resumed` frame brings the room as it is, whatever was
/// missed).
#[derive(Debug, Default)]
struct Held {
    by_member: HashMap<PeerId, HeldFor>,
    /// The bytes of every member's frames together.
    bytes: usize,
}

/// What is held for one member.
#[derive(Debug, Default)]
struct HeldFor {
    frames: VecDeque<Frame>,
    bytes: usize,
}

impl Held {
    /// Starts holding frames for `member`.
    fn keep(&mut self, member: PeerId) {
        self.by_member.insert(member, HeldFor::default());
    }

    /// Holds `frame` for `member`, if frames are held for it and there is room.
    fn push(&mut self, member: PeerId, frame: &Frame) {
        let Some(held) = self.by_member.get_mut(&member) else {
            return;
        };
        if held.frames.len() < QUEUE_FRAMES
            && held.bytes + frame.len() <= QUEUE_BYTES
            && self.bytes + frame.len() <= HELD_BYTES_MAX
        {
            held.bytes += frame.len();
            self.bytes += frame.len();
            held.frames.push_back(frame.clone());
        }
    }

    /// What was held for `member`, which is held no more.
    fn take(&mut self, member: PeerId) -> VecDeque<Frame> {
        let held = self.by_member.remove(&member).unwrap_or_default();
        self.bytes -= held.bytes;
        held.frames
    }

    /// Stops holding for the members `away` no longer says are away.
    fn keep_only(&mut self, away: impl Fn(PeerId) -> bool) {
        let gone: Vec<PeerId> = self
            .by_member
            .keys()
            .copied()
            .filter(|member| !away(*member))
            .collect();
        for member in gone {
            self.take(member);
        }
    }
}

/// Where the hub sends what the core asks of the media server, in SFU mode.
pub(crate) trait MediaSink: Send + Sync + std::fmt::Debug {
    /// Hands over `commands`, in order, without waiting; returns how many could not be taken.
    fn send(&self, commands: Vec<MediaCommand>) -> usize;
}

/// What the lock protects.
#[derive(Debug)]
struct Locked {
    rooms: Rooms,
    /// Each member's connection, by member.
    links: HashMap<PeerId, Link>,
    /// The member each connection that resumed another speaks for.
    speaks_for: HashMap<PeerId, PeerId>,
    /// What waits for the members who are away.
    held: Held,
    /// The deadline the timer task waits for, if any: a change that makes an earlier one wakes
    /// it.
    timer_armed: Option<Tick>,
}

/// The room state shared by every connection of one server.
#[derive(Debug)]
pub(crate) struct Hub {
    // A std mutex, not an async one: nothing async happens while it is held (the core is plain
    // Rust and queueing uses `try_send`), so the lock is short and never held across `.await`.
    state: Mutex<Locked>,
    /// Wakes [`Hub::run_timers`] when the core has a deadline sooner than the one it waits for.
    wake_timers: Sender<()>,
    timers_woken: Receiver<()>,
    /// The media server, in SFU mode.
    media: Option<Box<dyn MediaSink>>,
}

/// What happened under the lock that the log should hear of, once the lock is released.
#[derive(Debug, Default)]
#[must_use = "the log must hear of what happened"]
struct Report {
    closing: Vec<(PeerId, Close)>,
    /// Commands the media server could not take.
    media_refused: usize,
}

impl Report {
    fn log(self) {
        for (id, close) in self.closing {
            log::info!(peer:% = id, code = close.code, reason = close.reason; "closing");
        }
        if self.media_refused > 0 {
            log::error!(commands = self.media_refused; "the media server is not keeping up; commands were dropped");
        }
    }
}

/// A connection's place in the hub, for as long as its task runs: dropping it, whatever way
/// the task ends (an error, a panic), ends the connection in the hub. Unless the client closed
/// it, its member keeps its place for a while, for a new connection to resume.
#[derive(Debug)]
pub(crate) struct Membership<'a> {
    hub: &'a Hub,
    connection: PeerId,
    ending: Ending,
}

impl Membership<'_> {
    /// The connection's id, as its `welcome` gave it.
    pub(crate) fn connection(&self) -> PeerId {
        self.connection
    }

    /// The client closed the connection: its member leaves at once.
    pub(crate) fn closed_by_client(&mut self) {
        self.ending = Ending::Closed;
    }
}

impl Drop for Membership<'_> {
    fn drop(&mut self) {
        // A task that panicked is no connection to come back to.
        let ending = if std::thread::panicking() {
            Ending::Closed
        } else {
            self.ending
        };
        self.hub.disconnect(self.connection, ending);
    }
}

impl Hub {
    /// An empty hub; in SFU mode, `media` takes what the core asks of the media server.
    pub(crate) fn new(limits: Limits, media: Option<Box<dyn MediaSink>>) -> Self {
        let (wake_timers, timers_woken) = async_channel::bounded(1);
        Hub {
            state: Mutex::new(Locked {
                rooms: Rooms::new(limits, Box::new(SystemEntropy::new())),
                links: HashMap::new(),
                speaks_for: HashMap::new(),
                held: Held::default(),
                timer_armed: None,
            }),
            wake_timers,
            timers_woken,
            media,
        }
    }

    /// Sends the frames the core held back, each when its time comes; runs for ever.
    pub(crate) async fn run_timers(&self) {
        loop {
            let deadline = {
                let mut state = self.lock();
                let deadline = state.rooms.next_deadline();
                state.timer_armed = deadline;
                deadline
            };
            match deadline {
                None => {
                    // Woken by the first change that sets a deadline.
                    let _ = self.timers_woken.recv().await;
                }
                Some(deadline) => {
                    // A member's grace may be the next deadline when the lobby's news, due
                    // sooner, comes up: then the wait ends early, and the loop looks again.
                    let timer = Timer::at(clock::instant(deadline));
                    let woken = self.timers_woken.recv();
                    if let Either::Right(_) = select(timer, pin!(woken)).await {
                        continue;
                    }
                    let report = {
                        let mut state = self.lock();
                        let out = state.rooms.poll(clock::tick());
                        let report = state.deliver(out);
                        // Members whose grace ran out are gone: nothing waits for them.
                        let Locked { held, rooms, .. } = &mut *state;
                        held.keep_only(|member| rooms.is_away(member));
                        report
                    };
                    report.log();
                }
            }
        }
    }

    /// Registers a new connection and queues its `welcome`. The connection stays registered
    /// until its [`Membership`] is dropped.
    pub(crate) fn join(&self) -> (Membership<'_>, Mailbox) {
        let (connection, mailbox) = self.connect();
        let membership = Membership {
            hub: self,
            connection,
            ending: Ending::Lost,
        };
        (membership, mailbox)
    }

    /// Registers a new connection and queues its `welcome`.
    fn connect(&self) -> (PeerId, Mailbox) {
        // Unbounded as a channel, bounded by `Link::push`: a bounded channel allocates all of its
        // slots up front, 20 KiB for every connection, idle or not.
        let (frames_tx, frames) = async_channel::unbounded();
        let (closing_tx, closing) = async_channel::bounded(1);
        let queued_bytes = Arc::new(AtomicUsize::new(0));
        let mut state = self.lock();
        let (id, out) = state.rooms.connect();
        let link = Link {
            connection: id,
            frames: frames_tx,
            queued_bytes: queued_bytes.clone(),
            closing: closing_tx,
        };
        state.links.insert(id, link);
        let report = state.deliver(out);
        drop(state);
        report.log();
        let mailbox = Mailbox {
            frames,
            queued_bytes,
            closing,
        };
        (id, mailbox)
    }

    /// Runs one frame from `connection` through the room state and queues what it causes.
    /// Returns the member the connection speaks for now (another after a `resume`), or `None`
    /// if it is gone from the hub.
    pub(crate) fn handle(&self, now: Now, connection: PeerId, msg: ClientMsg) -> Option<PeerId> {
        let mut member = None;
        self.with_state(|state| {
            let Some(from) = state.member_of(connection) else {
                return Report::default();
            };
            let out = state.rooms.handle(now, from, msg);
            let rebinds = state.rooms.take_rebinds();
            let mut report = state.rebind(&rebinds);
            report.closing.extend(state.deliver(out).closing);
            report.closing.extend(state.release_held(&rebinds).closing);
            member = state.member_of(connection);
            report
        });
        member
    }

    /// Runs what the media server reports through the room state and queues the frames it
    /// means.
    pub(crate) fn handle_media(&self, event: MediaEvent) {
        self.with_state(|state| {
            let out = state.rooms.handle_media(event);
            state.deliver(out)
        });
    }

    /// Queues a frame for one connection, such as the `error` for a frame that was not JSON.
    pub(crate) fn reply(&self, connection: PeerId, msg: ServerMsg) {
        self.with_state(|state| {
            let Some(to) = state.member_of(connection) else {
                return Report::default();
            };
            state.deliver(vec![Outgoing {
                to: To::One(to),
                msg,
            }])
        });
    }

    /// Asks the connection's writer to send a close frame, and takes its member out of its
    /// room at once: the others need not wait for the closing handshake.
    pub(crate) fn close(&self, connection: PeerId, close: Close) {
        let now = clock::tick();
        self.with_state(|state| match state.member_of(connection) {
            Some(member) => state.remove(now, member, Some(close), Ending::Closed),
            None => Report::default(),
        });
    }

    /// Forgets a connection that ended; a no-op if it is already gone, or if another
    /// connection speaks for its member now.
    fn disconnect(&self, connection: PeerId, ending: Ending) {
        let now = clock::tick();
        self.with_state(|state| match state.member_of(connection) {
            Some(member) => state.remove(now, member, None, ending),
            None => Report::default(),
        });
    }

    /// Asks every connection to close with 1001, for a shutdown.
    pub(crate) fn close_all(&self) {
        let now = clock::tick();
        self.with_state(|state| {
            let ids: Vec<PeerId> = state.links.keys().copied().collect();
            let mut report = Report::default();
            for id in ids {
                let report_one = state.remove(now, id, Some(Close::GOING_AWAY), Ending::Closed);
                report.closing.extend(report_one.closing);
            }
            report
        });
    }

    /// How many members one room may hold.
    pub(crate) fn max_room_size(&self) -> usize {
        self.lock().rooms.limits().max_room_size
    }

    /// How many rooms exist now.
    pub(crate) fn room_count(&self) -> usize {
        self.lock().rooms.room_count()
    }

    /// What the chat history of all rooms costs now, in bytes.
    pub(crate) fn history_bytes(&self) -> usize {
        self.lock().rooms.history_bytes()
    }

    /// The room list as visitors may see it: `None` when it is private.
    pub(crate) fn public_room_list(&self) -> Option<RoomList> {
        self.lock().rooms.public_room_list()
    }

    /// The room a connection's member is in, if any.
    pub(crate) fn room_of(&self, connection: PeerId) -> Option<RoomName> {
        let state = self.lock();
        let member = state.member_of(connection)?;
        state.rooms.room_of(member).cloned()
    }

    /// How many connections there are.
    pub(crate) fn connection_count(&self) -> usize {
        self.lock().links.len()
    }

    /// Runs `change` under the lock, wakes the timer task if the core has a deadline it does
    /// not know of, and logs what happened once the lock is released.
    fn with_state(&self, change: impl FnOnce(&mut Locked) -> Report) {
        let report = {
            let mut state = self.lock();
            let mut report = change(&mut state);
            // Handed over under the lock, so the media server hears of changes in the order
            // the core made them.
            let commands = state.rooms.take_media_commands();
            if let Some(media) = self.media.as_ref().filter(|_| !commands.is_empty()) {
                report.media_refused += media.send(commands);
            }
            if let Some(next) = state.rooms.next_deadline() {
                if state.timer_armed.is_none_or(|armed| next < armed) {
                    state.timer_armed = Some(next);
                    // A full channel means the timer task is being woken already.
                    let _ = self.wake_timers.try_send(());
                }
            }
            report
        };
        report.log();
    }

    fn lock(&self) -> MutexGuard<'_, Locked> {
        // The state is changed only by the core, which does not panic on any input; were a
        // thread to panic while holding the lock anyway, the others keep serving.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Locked {
    /// The member `connection` speaks for, if it is still connected.
    fn member_of(&self, connection: PeerId) -> Option<PeerId> {
        let member = self
            .speaks_for
            .get(&connection)
            .copied()
            .unwrap_or(connection);
        self.links
            .get(&member)
            .is_some_and(|link| link.connection == connection)
            .then_some(member)
    }

    /// Routes each member the core rebound to its new connection, closing the connection that
    /// spoke for it before, if the server still had one.
    fn rebind(&mut self, rebinds: &[Rebind]) -> Report {
        let mut report = Report::default();
        for &Rebind { connection, member } in rebinds {
            let Some(link) = self.links.remove(&connection) else {
                continue;
            };
            if let Some(stale) = self.links.insert(member, link) {
                self.speaks_for.remove(&stale.connection);
                report.closing.push((member, Close::REPLACED));
                // As in `remove`: a failure means its writer has stopped already.
                let _ = stale.closing.try_send(Close::REPLACED);
            }
            self.speaks_for.insert(connection, member);
        }
        report
    }

    /// Queues what waited for each rebound member on its new connection.
    fn release_held(&mut self, rebinds: &[Rebind]) -> Report {
        let mut overflowed = Vec::new();
        for Rebind { member, .. } in rebinds {
            for frame in self.held.take(*member) {
                self.queue(*member, &frame, &mut overflowed);
            }
        }
        self.drop_overflowed(overflowed)
    }

    /// Queues `out`, in order. Queueing happens under the lock on purpose: two chats to the same
    /// room must reach every member in `seq` order, so frames enter queues in the order the core
    /// made them.
    fn deliver(&mut self, out: Vec<Outgoing>) -> Report {
        let mut overflowed = Vec::new();
        for Outgoing { to, msg } in out {
            let frame = Frame::from(msg.encode());
            match to {
                To::One(id) => self.queue(id, &frame, &mut overflowed),
                To::Many(ids) => {
                    for id in ids {
                        self.queue(id, &frame, &mut overflowed);
                    }
                }
            }
        }
        self.drop_overflowed(overflowed)
    }

    /// Queues `frame` for member `id`, or holds it while the member is away; notes the
    /// member if its queue is full.
    fn queue(&mut self, id: PeerId, frame: &Frame, overflowed: &mut Vec<PeerId>) {
        if let Some(link) = self.links.get(&id) {
            if !link.push(frame) {
                overflowed.push(id);
            }
        } else {
            self.held.push(id, frame);
        }
    }

    /// Closes the connections whose queues overflowed, as too slow.
    fn drop_overflowed(&mut self, overflowed: Vec<PeerId>) -> Report {
        let mut report = Report::default();
        let now = clock::tick();
        for id in overflowed {
            let removed = self.remove(now, id, Some(Close::TOO_SLOW), Ending::Closed);
            report.closing.extend(removed.closing);
        }
        report
    }

    /// Takes member `id`'s connection out of the state at `now`, optionally asking its writer
    /// to close it first; the core hears how it ended.
    fn remove(&mut self, now: Tick, id: PeerId, close: Option<Close>, ending: Ending) -> Report {
        let Some(link) = self.links.remove(&id) else {
            return Report::default();
        };
        self.speaks_for.remove(&link.connection);
        let mut report = Report::default();
        if let Some(close) = close {
            report.closing.push((id, close));
            // The closing queue holds one request and this is the only one ever sent, since
            // the link is gone after it; a failure means the writer has already stopped.
            let _ = link.closing.try_send(close);
        }
        let out = self.rooms.disconnect(now, id, ending);
        if self.rooms.is_away(id) {
            self.held.keep(id);
        }
        report.closing.extend(self.deliver(out).closing);
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use room_core::protocol::decode;

    fn hub() -> Hub {
        Hub::new(Limits::default(), None)
    }

    fn drain(mailbox: &Mailbox) -> Vec<serde_json::Value> {
        std::iter::from_fn(|| mailbox.try_next_frame())
            .map(|frame| serde_json::from_slice(frame.as_bytes()).unwrap())
            .collect()
    }

    fn join(hub: &Hub, id: PeerId, room: &str) {
        let msg = decode(&format!(r#"{{"type":"join","room":"{room}"}}"#)).unwrap();
        hub.handle(clock::now(), id, msg);
    }

    /// A media server that only writes down what it is told.
    #[derive(Debug, Default)]
    struct Recorder {
        commands: Mutex<Vec<MediaCommand>>,
        refuse: bool,
    }

    impl MediaSink for Arc<Recorder> {
        fn send(&self, commands: Vec<MediaCommand>) -> usize {
            if self.refuse {
                return commands.len();
            }
            self.commands.lock().unwrap().extend(commands);
            0
        }
    }

    #[test]
    fn the_media_server_hears_of_every_change_in_order_and_its_answers_reach_the_member() {
        let recorder = Arc::new(Recorder::default());
        let hub = Hub::new(Limits::default(), Some(Box::new(recorder.clone())));
        let (a, a_box) = hub.connect();
        join(&hub, a, "r");
        join(&hub, a, "s");
        let offer = decode(r#"{"type":"sfu_offer","sdp":"v=0","tracks":[]}"#).unwrap();
        hub.handle(clock::now(), a, offer);
        let commands = recorder.commands.lock().unwrap().clone();
        let kinds: Vec<&str> = commands
            .iter()
            .map(|command| match command {
                MediaCommand::Join { .. } => "join",
                MediaCommand::Leave { .. } => "leave",
                MediaCommand::Offer { .. } => "offer",
                MediaCommand::View { .. } => "view",
                MediaCommand::Silence { .. } => "silence",
                MediaCommand::Resync { .. } => "resync",
            })
            .collect();
        assert_eq!(kinds, ["join", "leave", "join", "offer"]);
        let MediaCommand::Join { call, .. } = commands[2] else {
            unreachable!("the third command is a join")
        };
        drain(&a_box);
        hub.handle_media(MediaEvent::Answer {
            member: a,
            call,
            sdp: "v=0 answer".into(),
        });
        let frames = drain(&a_box);
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0]["type"], "sfu_answer");
        assert_eq!(frames[0]["sdp"], "v=0 answer");
    }

    #[test]
    fn a_media_server_that_takes_nothing_costs_the_rooms_nothing() {
        let recorder = Arc::new(Recorder {
            refuse: true,
            ..Recorder::default()
        });
        let hub = Hub::new(Limits::default(), Some(Box::new(recorder)));
        let (a, a_box) = hub.connect();
        join(&hub, a, "r");
        let frames = drain(&a_box);
        assert_eq!(frames.last().unwrap()["type"], "joined", "{frames:?}");
        assert_eq!(
            hub.room_of(a).map(|room| room.to_string()),
            Some("r".into())
        );
    }

    fn send(hub: &Hub, connection: PeerId, frame: &str) -> Option<PeerId> {
        hub.handle(clock::now(), connection, decode(frame).unwrap())
    }

    #[test]
    fn a_resumed_member_gets_the_room_then_what_was_said_while_it_was_away() {
        let hub = hub();
        let (ann, ann_box) = hub.connect();
        join(&hub, ann, "r");
        let (bob, bob_box) = hub.connect();
        join(&hub, bob, "r");
        let joined = drain(&bob_box).pop().unwrap();
        let token = joined["resume_token"].as_str().unwrap().to_owned();
        hub.disconnect(bob, Ending::Lost);
        send(&hub, ann, r#"{"type":"chat","text":"still there?"}"#);
        assert!(
            drain(&ann_box).iter().all(|f| f["type"] != "peer_left"),
            "nobody is told"
        );

        let (new, new_box) = hub.connect();
        drain(&new_box);
        let resume = format!(r#"{{"type":"resume","id":"{bob}","token":"{token}","last_seq":0}}"#);
        assert_eq!(send(&hub, new, &resume), Some(bob), "it speaks for Bob now");
        let frames = drain(&new_box);
        let kinds: Vec<&str> = frames.iter().map(|f| f["type"].as_str().unwrap()).collect();
        // The missed chat is in `resumed` and, held, after it: the page keeps one by `seq`.
        assert_eq!(kinds, ["resumed", "chat"], "{frames:?}");
        assert_eq!(frames[0]["history"][0]["seq"], 1);
        assert_eq!(frames[1]["seq"], 1);
        assert_eq!(
            send(&hub, new, r#"{"type":"chat","text":"yes"}"#),
            Some(bob)
        );
        let heard = drain(&ann_box);
        assert_eq!(heard[0]["from"], bob.to_string(), "{heard:?}");
        assert_eq!(hub.connection_count(), 2);
    }

    fn id(n: usize) -> PeerId {
        PeerId::parse(&format!("p{n}")).unwrap()
    }

    #[test]
    fn what_is_held_for_the_away_is_bounded_for_each_and_for_all() {
        let mut held = Held::default();
        let small = Frame::from("x".repeat(1000));
        held.push(id(1), &small);
        assert_eq!(held.bytes, 0, "nothing is held for one who is not away");
        held.keep(id(1));
        for _ in 0..QUEUE_FRAMES + 10 {
            held.push(id(1), &small);
        }
        assert_eq!(held.bytes, QUEUE_FRAMES * 1000);
        assert_eq!(held.take(id(1)).len(), QUEUE_FRAMES);
        assert_eq!(held.bytes, 0);

        // Shared frames cost their bytes once each member holds them, as a queue would.
        let big = Frame::from("y".repeat(64 * 1024));
        let members = HELD_BYTES_MAX / QUEUE_BYTES + 1;
        for n in 1..=members {
            held.keep(id(n));
            for _ in 0..QUEUE_BYTES / big.len() + 1 {
                held.push(id(n), &big);
            }
        }
        assert_eq!(held.bytes, HELD_BYTES_MAX);
        assert!(held.take(id(members)).is_empty(), "the last gets nothing");
        held.keep_only(|member| member == id(1));
        assert_eq!(held.bytes, QUEUE_BYTES);
    }

    #[test]
    fn resuming_a_member_whose_connection_seems_alive_closes_that_connection() {
        let hub = hub();
        let (bob, bob_box) = hub.connect();
        join(&hub, bob, "r");
        let joined = drain(&bob_box).pop().unwrap();
        let token = joined["resume_token"].as_str().unwrap().to_owned();
        let (new, new_box) = hub.connect();
        let resume = format!(r#"{{"type":"resume","id":"{bob}","token":"{token}"}}"#);
        assert_eq!(send(&hub, new, &resume), Some(bob));
        assert_eq!(bob_box.closing.try_recv(), Ok(Close::REPLACED));
        // The stale connection's task ends: Bob stays, on the new connection.
        hub.disconnect(bob, Ending::Closed);
        assert_eq!(
            hub.room_of(new).map(|room| room.to_string()),
            Some("r".into())
        );
        assert_eq!(hub.connection_count(), 1);
        assert!(drain(&new_box).iter().any(|f| f["type"] == "resumed"));
    }

    #[test]
    fn a_connection_is_greeted_through_its_queue() {
        let hub = hub();
        let (id, mailbox) = hub.connect();
        let frames = drain(&mailbox);
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0]["type"], "welcome");
        assert_eq!(frames[0]["id"], id.to_string());
    }

    #[test]
    fn a_reader_that_never_drains_its_queue_is_closed_and_leaves_its_room() {
        let hub = hub();
        let (slow, slow_box) = hub.connect();
        let (fast, fast_box) = hub.connect();
        join(&hub, slow, "r");
        join(&hub, fast, "r");
        drain(&fast_box);
        let mut seen_by_fast = Vec::new();
        let mut sent = 0;
        while hub.room_of(slow).is_some() {
            let chat = decode(r#"{"type":"chat","text":"hi"}"#).unwrap();
            hub.handle(clock::now(), fast, chat);
            seen_by_fast.extend(drain(&fast_box));
            sent += 1;
            assert!(sent <= QUEUE_FRAMES, "the slow reader was never dropped");
        }
        assert_eq!(slow_box.closing.try_recv(), Ok(Close::TOO_SLOW));
        assert_eq!(hub.connection_count(), 1);
        let frames = seen_by_fast;
        assert_eq!(frames.iter().filter(|f| f["type"] == "chat").count(), sent);
        assert!(frames
            .iter()
            .any(|f| f["type"] == "peer_left" && f["id"] == slow.to_string()));
    }

    #[test]
    fn disconnect_is_idempotent_after_close() {
        let hub = hub();
        let (id, mailbox) = hub.connect();
        hub.close(id, Close::UNSUPPORTED_DATA);
        hub.disconnect(id, Ending::Closed);
        assert_eq!(mailbox.closing.try_recv(), Ok(Close::UNSUPPORTED_DATA));
        assert_eq!(hub.connection_count(), 0);
    }

    #[test]
    fn a_task_that_panics_still_leaves_its_room() {
        let hub = hub();
        let (stays, stays_box) = hub.connect();
        join(&hub, stays, "r");
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let (member, _mailbox) = hub.join();
            join(&hub, member.connection(), "r");
            panic!("a bug in the connection task");
        }));
        assert!(panicked.is_err());
        assert_eq!(hub.connection_count(), 1);
        let frames = drain(&stays_box);
        assert!(
            frames.iter().any(|f| f["type"] == "peer_left"),
            "{frames:?}"
        );
    }
}
