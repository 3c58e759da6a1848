//! Runs every conversation in `fixtures/core/` against the room core itself, in-process: no
//! server, no socket, a simulated clock. These are the fixtures of the core's rules (names,
//! rooms, chat, signalling, room lists); the ones of the wire run against a real server
//! (`tests/wire_conversations.rs` at the top of the workspace). The fixture language is
//! `room-fixtures`'s.
//!
//! Each client's frames wait in a queue of its own, as the server's would. The clock moves a
//! millisecond per step, as fast as a script against a real server; when a client waits for a
//! frame and has none, the clock jumps to the core's next deadline, as the server's timer
//! would, and what comes due is delivered.

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::time::Duration;

use room_core::entropy::Sequence;
use room_core::media::MediaMode;
use room_core::names::PeerId;
use room_core::protocol::decode;
use room_core::rooms::{Ending, Limits, Outgoing, Rebind, Rooms, To};
use room_core::time::{Now, Tick, UnixMillis};
use room_fixtures::{expect, expect_one_of, parse, Failure, Step};
use serde_json::Value;

/// What one step costs on the simulated clock.
const STEP: Duration = Duration::from_millis(1);
/// The wall clock when a conversation starts.
const WALL_START: u64 = 1_764_107_000_000;

/// A conversation with the core.
struct Conversation {
    rooms: Rooms,
    now: Tick,
    clients: HashMap<String, PeerId>,
    inboxes: HashMap<PeerId, VecDeque<Value>>,
    vars: HashMap<String, Value>,
}

impl Conversation {
    fn new(limits: Limits) -> Self {
        Conversation {
            rooms: Rooms::new(limits, Box::new(Sequence::default())),
            now: Tick::ZERO,
            clients: HashMap::new(),
            inboxes: HashMap::new(),
            vars: HashMap::new(),
        }
    }

    /// The next moment, a step after the last.
    fn tick(&mut self) -> Now {
        self.now = self.now + STEP;
        let wall = WALL_START + self.now.elapsed().as_millis() as u64;
        Now::new(self.now, UnixMillis(wall))
    }

    fn client(&self, name: &str) -> Result<PeerId, String> {
        self.clients
            .get(name)
            .copied()
            .ok_or_else(|| format!("no client named {name} is connected"))
    }

    /// Puts each frame in its recipients' queues, in order. What the core asks of the media
    /// server is dropped: there is none here, and the rooms' unit tests check those requests.
    fn deliver(&mut self, out: Vec<Outgoing>) {
        self.rooms.take_media_commands();
        // A connection that resumed a member gets the member's frames from now on; one that
        // spoke for the member before is stale: the server closes it.
        for Rebind { connection, member } in self.rooms.take_rebinds() {
            self.clients.retain(|_, id| *id != member);
            if let Some(inbox) = self.inboxes.remove(&connection) {
                self.inboxes.insert(member, inbox);
            }
            for id in self.clients.values_mut().filter(|id| **id == connection) {
                *id = member;
            }
        }
        for Outgoing { to, msg } in out {
            let frame: Value =
                serde_json::from_str(&msg.encode()).expect("an encoded frame is JSON");
            let ids = match to {
                To::One(id) => vec![id],
                To::Many(ids) => ids,
            };
            for id in ids {
                if let Some(inbox) = self.inboxes.get_mut(&id) {
                    inbox.push_back(frame.clone());
                }
            }
        }
    }

    /// The next frame `name` gets, moving the clock to the core's deadlines while none is
    /// there.
    fn next(&mut self, name: &str) -> Result<Value, String> {
        let id = self.client(name)?;
        loop {
            if let Some(frame) = self.inboxes.get_mut(&id).and_then(VecDeque::pop_front) {
                return Ok(frame);
            }
            let Some(deadline) = self.rooms.next_deadline() else {
                return Err("nothing arrived, and the core holds nothing back".into());
            };
            self.now = self.now.max(deadline);
            let out = self.rooms.poll(self.now);
            self.deliver(out);
        }
    }

    /// `name`'s connection ends: it was lost (`drop`) or closed (`close`).
    fn end(&mut self, name: &str, ending: Ending) -> Result<(), String> {
        let id = self.client(name)?;
        let now = self.tick();
        self.clients.remove(name);
        self.inboxes.remove(&id);
        let out = self.rooms.disconnect(now.tick, id, ending);
        self.deliver(out);
        Ok(())
    }

    fn run(&mut self, step: &Step) -> Result<(), String> {
        if let Some(sending) = step.sending(&self.vars) {
            let sending = sending?;
            let id = self.client(sending.client)?;
            for text in sending.frames {
                let now = self.tick();
                let out = match decode(&text) {
                    Ok(msg) => self.rooms.handle(now, id, msg),
                    Err(err) => vec![Outgoing {
                        to: To::One(id),
                        msg: err.reply(),
                    }],
                };
                self.deliver(out);
            }
            return Ok(());
        }
        match step {
            Step::Connect(name, _path) => {
                self.tick();
                let (id, out) = self.rooms.connect();
                self.clients.insert(name.clone(), id);
                self.inboxes.insert(id, VecDeque::new());
                self.deliver(out);
            }
            Step::Recv(name, pattern) => {
                let actual = self.next(name)?;
                expect(pattern, &actual, &mut self.vars)?;
            }
            Step::RecvMany(name, count, pattern) => {
                for index in 0..*count {
                    let actual = self.next(name)?;
                    expect(pattern, &actual, &mut self.vars)
                        .map_err(|why| format!("frame {} of {count}: {why}", index + 1))?;
                }
            }
            Step::RecvUnordered(name, patterns) => {
                let mut left: Vec<&Value> = patterns.iter().collect();
                while !left.is_empty() {
                    let actual = self.next(name)?;
                    expect_one_of(&mut left, &actual, &mut self.vars)?;
                }
            }
            Step::Drop(name) => self.end(name, Ending::Lost)?,
            Step::Close(name, _code, _reason) => self.end(name, Ending::Closed)?,
            _ => {
                return Err(
                    "this step needs the real server: the fixture belongs in fixtures/wire".into(),
                )
            }
        }
        Ok(())
    }
}

/// The core's limits from a fixture's `server` flags: those that set them, and no others.
fn limits(args: &[String]) -> Result<Limits, String> {
    let mut limits = Limits::default();
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let mut number = || {
            args.next()
                .and_then(|value| value.parse::<usize>().ok())
                .ok_or_else(|| format!("{flag} needs a number"))
        };
        match flag.as_str() {
            "--max-room-size" => limits.max_room_size = number()?,
            "--max-rooms" => limits.max_rooms = number()?,
            "--history-budget-mib" => limits.history_bytes = number()? * 1024 * 1024,
            "--private-rooms" => limits.private_rooms = true,
            "--resume-grace" => limits.resume_grace = Duration::from_secs(number()? as u64),
            "--media" => {
                limits.media = match args.next().map(String::as_str) {
                    Some("sfu") => MediaMode::Sfu,
                    Some("mesh") => MediaMode::Mesh,
                    _ => return Err("--media needs sfu or mesh".into()),
                }
            }
            other => {
                return Err(format!(
                    "{other} is not a limit of the core: the fixture belongs in fixtures/wire"
                ))
            }
        }
    }
    Ok(limits)
}

fn check_fixture(path: &Path, text: &str) -> Result<(), String> {
    let script = parse(text).map_err(|err| format!("{}: {err}", path.display()))?;
    let limits = limits(&script.server_args).map_err(|err| format!("{}: {err}", path.display()))?;
    let mut conversation = Conversation::new(limits);
    for (number, line, step) in &script.steps {
        conversation
            .run(step)
            .map_err(|err| format!("{}:{number}: {line}\n  {err}", path.display()))?;
    }
    // Whatever the script did, every client has read everything it was sent.
    for (name, id) in &conversation.clients {
        if let Some(frame) = conversation.inboxes[id].front() {
            return Err(format!(
                "{}: {name} was sent {frame} and more, unread",
                path.display()
            ));
        }
    }
    Ok(())
}

/// Runs one fixture file.
fn run_fixture(path: &Path, text: String) -> datatest_stable::Result<()> {
    check_fixture(path, &text).map_err(|err| Failure(err).into())
}

datatest_stable::harness! {
    { test = run_fixture, root = "../../fixtures/core", pattern = r"\.conv$" },
}
