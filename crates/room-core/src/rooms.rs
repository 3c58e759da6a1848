//! The room state machine: who is connected, who is in which room, and what each event sends.
//!
//! Nothing here touches a socket, a clock or a lock. The edges feed it events
//! ([`Rooms::connect`], [`Rooms::handle`], [`Rooms::disconnect`]) with the current time, and
//! deliver the [`Outgoing`] frames it returns, in order. Some frames wait for a later time
//! (the lobby hears of one room at most every [`LOBBY_UPDATE_EVERY`]): the edge calls
//! [`Rooms::poll`] at [`Rooms::next_deadline`].

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::Duration;

use crate::chat::{self, Transcript};
use crate::entropy::{same_secret, Entropy, Secret};
use crate::hosting::{Hosting, Role};
use crate::media::{CallId, MediaCommand, MediaEvent, MediaMode, SlotView, TrackInfo, TrackSource};
use crate::names::{NameError, Nickname, PeerId, RoomName};
use crate::protocol::{
    ClientMsg, ErrorCode, ErrorDetails, IceCandidate, PeerInfo, RoomInfo, RoomState, ServerMsg,
    LOBBY_UPDATE_EVERY, ROOM_LIST_MAX, VERSION,
};
use crate::time::{Now, Tick};

/// Rules the operator sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// How many members one room may hold.
    pub max_room_size: usize,
    /// How many rooms may exist at once.
    pub max_rooms: usize,
    /// The largest SDP relayed in an offer or answer, in bytes.
    pub max_sdp_bytes: usize,
    /// The largest candidate relayed (its strings together), in bytes.
    pub max_candidate_bytes: usize,
    /// How many candidates one member may send another between two offers or answers.
    pub max_candidates: u32,
    /// Whether the room list is kept secret: `welcome` lists no rooms and no `rooms` frame is sent.
    pub private_rooms: bool,
    /// What the chat history of all rooms together may cost, in bytes (see
    /// [`chat::ENTRY_OVERHEAD_BYTES`]); past it, the oldest rooms' history is trimmed first.
    pub history_bytes: usize,
    /// How calls carry their media; through the server unless told otherwise.
    pub media: MediaMode,
    /// The largest SDP of an `sfu_offer`, in bytes: one connection receives everyone, so its
    /// offer is larger than a mesh's.
    pub max_sfu_sdp_bytes: usize,
    /// The most slots a `view` may report.
    pub max_view_slots: usize,
    /// How long a member whose connection was lost keeps its place for a new connection to
    /// resume; zero: it leaves at once, as when it closes its connection.
    pub resume_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_room_size: 8,
            max_rooms: 1000,
            max_sdp_bytes: 32 * 1024,
            max_candidate_bytes: 1024,
            max_candidates: 100,
            private_rooms: false,
            history_bytes: 32 * 1024 * 1024,
            media: MediaMode::Sfu,
            max_sfu_sdp_bytes: 120 * 1024,
            max_view_slots: 64,
            resume_grace: Duration::from_secs(20),
        }
    }
}

/// What a `join` brings besides the room's name.
#[derive(Debug, Clone, Copy, Default)]
struct JoinAsk<'a> {
    host_token: Option<&'a str>,
    listed: Option<bool>,
    password: Option<&'a str>,
}

/// How a connection ended, as far as its member goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The client closed it, or the server did: its member leaves at once.
    Closed,
    /// It was lost (dropped without a close, or silent): a member keeps its place for
    /// [`Limits::resume_grace`], for a new connection to resume it.
    Lost,
}

/// A connection that speaks for another member from now on, after a `resume`: the edge sends
/// the member's frames to it, and what it sends comes from the member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rebind {
    /// The new connection, which had an id of its own until now.
    pub connection: PeerId,
    /// The member it is.
    pub member: PeerId,
}

/// Who a frame goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum To {
    /// One connection.
    One(PeerId),
    /// Several connections, in this order.
    Many(Vec<PeerId>),
}

/// One frame to deliver.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    /// Its recipients.
    pub to: To,
    /// The frame.
    pub msg: ServerMsg,
}

impl Outgoing {
    fn one(to: PeerId, msg: ServerMsg) -> Self {
        Outgoing {
            to: To::One(to),
            msg,
        }
    }

    fn many(to: Vec<PeerId>, msg: ServerMsg) -> Self {
        Outgoing {
            to: To::Many(to),
            msg,
        }
    }
}

/// A connection as the room state knows it.
#[derive(Debug)]
struct Peer {
    name: Nickname,
    audio: bool,
    video: bool,
    screen: bool,
    room: Option<RoomName>,
    /// Its stay in its room's call, in SFU mode.
    call: Option<CallId>,
    /// Candidates sent to each member of the room since the last offer or answer to it.
    candidates_to: HashMap<PeerId, u32>,
    /// Whether a host muted it, and it has not unmuted since (in SFU mode nobody hears it).
    muted_by_host: bool,
    /// When it last reacted.
    reacted_at: Option<Tick>,
    /// The room whose waiting room it waits in.
    waiting_for: Option<RoomName>,
    /// The secret that lets a new connection speak for it, from its first join on.
    resume_token: Option<Secret>,
    /// Until when it keeps its place with no connection, if it lost its connection.
    away_until: Option<Tick>,
}

/// A room with at least one member.
#[derive(Debug)]
struct Room {
    /// In the order they joined.
    members: Vec<PeerId>,
    transcript: Transcript,
    /// When it was made, as a count of rooms made before it: the oldest is trimmed first when
    /// the history budget runs out.
    born: u64,
    /// Who speaks, and who speaks most, as the media server last said (SFU mode), for members
    /// who join later.
    speaking: (Vec<PeerId>, Option<PeerId>),
    /// Who runs it.
    hosting: Hosting,
    /// The raised hands, in the order they went up.
    hands: Vec<PeerId>,
    /// What joining needs: the password, if one was set.
    password: Option<String>,
    /// Whether newcomers wait until a host lets them in.
    waiting_room: bool,
    /// Who waits, in the order they came.
    waiting: Vec<PeerId>,
    /// Who a host put on everyone's stage.
    spotlight: Option<PeerId>,
}

impl Room {
    /// What a member who joins is told of who speaks: nothing while nobody does or did.
    fn speaking_msg(&self) -> Option<ServerMsg> {
        let (speaking, dominant) = &self.speaking;
        let here = |id: &PeerId| self.members.contains(id);
        let speaking: Vec<PeerId> = speaking.iter().copied().filter(here).collect();
        let dominant = dominant.filter(here);
        (!speaking.is_empty() || dominant.is_some())
            .then_some(ServerMsg::Speaking { speaking, dominant })
    }
}

/// The room list as visitors may see it: the busiest rooms, and how many there are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoomList {
    /// At most [`ROOM_LIST_MAX`] rooms, the busiest, sorted by name.
    pub rooms: Vec<RoomInfo>,
    /// How many rooms exist.
    pub total: usize,
}

/// What the lobby was last told of one room.
#[derive(Debug, Clone, Copy)]
struct LobbyNews {
    /// When the last `room` frame for it went out.
    sent_at: Tick,
    /// Whether its count changed since.
    pending: bool,
    /// The lobby's clock at its last change: connections that came to the lobby later got a
    /// whole list that has the change in it already.
    changed: u64,
}

/// Every connection and every room of one server.
#[derive(Debug)]
pub struct Rooms {
    limits: Limits,
    peers: HashMap<PeerId, Peer>,
    // A BTreeMap keeps the room list sorted by name without sorting on every change.
    rooms: BTreeMap<RoomName, Room>,
    /// The connections in no room, the ones the room list is for, with the lobby's clock when
    /// each came in.
    lobby: BTreeMap<PeerId, u64>,
    /// Counts arrivals in the lobby and changes of rooms, to order them.
    lobby_clock: u64,
    /// The rooms whose news the lobby heard lately, or is waiting for.
    lobby_news: BTreeMap<RoomName, LobbyNews>,
    /// The rooms by age, oldest first.
    by_age: BTreeMap<u64, RoomName>,
    /// The rooms the lobby must not hear of: unlisted ones, and unlisted ones just gone.
    unlisted: HashSet<RoomName>,
    /// Rooms made so far.
    rooms_born: u64,
    /// What every room's history costs together.
    history_bytes: usize,
    /// What the media server is to do, in order, until the edge takes it.
    media_commands: Vec<MediaCommand>,
    /// Calls joined so far: the last [`CallId`].
    calls: u64,
    last_id: u64,
    /// For host and resume tokens.
    entropy: Box<dyn Entropy>,
    /// The members with no connection, by when their place is given up.
    away: BTreeSet<(Tick, PeerId)>,
    /// Connections that speak for another member now, until the edge takes them.
    rebinds: Vec<Rebind>,
}

impl Rooms {
    /// An empty server, whose host tokens come from `entropy`.
    pub fn new(limits: Limits, entropy: Box<dyn Entropy>) -> Self {
        Rooms {
            limits,
            peers: HashMap::new(),
            rooms: BTreeMap::new(),
            lobby: BTreeMap::new(),
            lobby_clock: 0,
            lobby_news: BTreeMap::new(),
            by_age: BTreeMap::new(),
            unlisted: HashSet::new(),
            rooms_born: 0,
            history_bytes: 0,
            media_commands: Vec::new(),
            calls: 0,
            last_id: 0,
            entropy,
            away: BTreeSet::new(),
            rebinds: Vec::new(),
        }
    }

    /// The rules it keeps.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// A new connection arrived: gives it an id and greets it.
    pub fn connect(&mut self) -> (PeerId, Vec<Outgoing>) {
        self.last_id += 1;
        let id = PeerId::new(self.last_id);
        let name = Nickname::guest(self.last_id);
        self.peers.insert(
            id,
            Peer {
                name: name.clone(),
                audio: false,
                video: false,
                screen: false,
                room: None,
                call: None,
                candidates_to: HashMap::new(),
                muted_by_host: false,
                reacted_at: None,
                waiting_for: None,
                resume_token: None,
                away_until: None,
            },
        );
        self.enter_lobby(id);
        let list = self.public_room_list().unwrap_or_default();
        let welcome = ServerMsg::Welcome {
            id,
            name,
            version: VERSION,
            media: self.limits.media,
            rooms: list.rooms,
            rooms_total: list.total,
        };
        (id, vec![Outgoing::one(id, welcome)])
    }

    /// A connection ended at `now`. A member whose connection was lost keeps its place for
    /// [`Limits::resume_grace`]: nobody is told, and a new connection may resume it. Anyone
    /// else leaves its room and is forgotten.
    pub fn disconnect(&mut self, now: Tick, id: PeerId, ending: Ending) -> Vec<Outgoing> {
        let grace = self.limits.resume_grace;
        if let Some(peer) = self.peers.get_mut(&id).filter(|peer| {
            ending == Ending::Lost
                && !grace.is_zero()
                && peer.room.is_some()
                && peer.resume_token.is_some()
                && peer.away_until.is_none()
        }) {
            let until = now + grace;
            peer.away_until = Some(until);
            self.away.insert((until, id));
            return Vec::new();
        }
        self.forget(now, id)
    }

    /// `id` leaves its room (or its waiting room, or the lobby) and is forgotten.
    fn forget(&mut self, now: Tick, id: PeerId) -> Vec<Outgoing> {
        let mut out = Vec::new();
        self.lobby.remove(&id);
        self.stop_waiting(id, &mut out);
        if let Some(old) = self.leave_room(id, &mut out) {
            self.room_changed(now, &old, &mut out);
        }
        self.peers.remove(&id);
        out
    }

    /// A connection sent a frame at `now`.
    pub fn handle(&mut self, now: Now, from: PeerId, msg: ClientMsg) -> Vec<Outgoing> {
        if !self.peers.contains_key(&from) {
            return Vec::new();
        }
        match msg {
            ClientMsg::Nickname { name } => self.handle_nickname(from, &name),
            ClientMsg::Join {
                room,
                host_token,
                listed,
                password,
            } => {
                let asked = JoinAsk {
                    host_token: host_token.as_deref(),
                    listed,
                    password: password.as_deref(),
                };
                self.handle_join(now.tick, from, &room, asked)
            }
            ClientMsg::Leave => self.handle_leave(now.tick, from),
            ClientMsg::Chat { text } => self.handle_chat(now, from, text),
            ClientMsg::Offer { .. } | ClientMsg::Answer { .. } | ClientMsg::Candidate { .. }
                if self.limits.media == MediaMode::Sfu =>
            {
                let message = "this server carries calls itself: send sfu_offer to it";
                error(from, ErrorCode::WrongMediaMode, message)
            }
            ClientMsg::Offer { to, sdp } => {
                self.handle_description(from, &to, sdp, |from, sdp| ServerMsg::Offer { from, sdp })
            }
            ClientMsg::Answer { to, sdp } => {
                self.handle_description(from, &to, sdp, |from, sdp| ServerMsg::Answer { from, sdp })
            }
            ClientMsg::Candidate { to, candidate } => self.handle_candidate(from, &to, candidate),
            ClientMsg::Media {
                audio,
                video,
                screen,
            } => self.handle_media_state(from, audio, video, screen),
            ClientMsg::SfuOffer { .. } | ClientMsg::View { .. }
                if self.limits.media == MediaMode::Mesh =>
            {
                let message = "this server's calls are peer to peer: send offers to the members";
                error(from, ErrorCode::WrongMediaMode, message)
            }
            ClientMsg::SfuOffer { sdp, tracks } => self.handle_sfu_offer(from, sdp, tracks),
            ClientMsg::View { slots } => self.handle_view(from, slots),
            ClientMsg::Lock { locked } => self.handle_lock(from, locked),
            ClientMsg::Remove { id } => self.handle_remove(now.tick, from, &id),
            ClientMsg::Cohost { id, cohost } => self.handle_cohost(from, &id, cohost),
            ClientMsg::End => self.handle_end(now.tick, from),
            ClientMsg::List { listed } => self.handle_list(now.tick, from, listed),
            ClientMsg::Spotlight { id } => self.handle_spotlight(from, id.as_deref()),
            ClientMsg::Password { password } => self.handle_password(from, password),
            ClientMsg::WaitingRoom { on } => self.handle_waiting_room(now.tick, from, on),
            ClientMsg::Admit { id } => self.handle_admit(now.tick, from, &id),
            ClientMsg::Deny { id } => self.handle_deny(from, &id),
            ClientMsg::Mute { id } => self.handle_mute(from, &id),
            ClientMsg::MuteAll => self.handle_mute_all(from),
            ClientMsg::AskUnmute { id } => self.handle_ask_unmute(from, &id),
            ClientMsg::Hand { raised } => self.handle_hand(from, raised),
            ClientMsg::LowerHand { id } => self.handle_lower_hand(from, &id),
            ClientMsg::React { emoji } => self.handle_react(now.tick, from, emoji),
            ClientMsg::Resume {
                id,
                token,
                last_seq,
            } => self.handle_resume(from, &id, &token, last_seq),
        }
    }

    /// The connections that speak for another member since the last call, after a `resume`:
    /// the edge routes the member's frames to them before it delivers the frames that came
    /// with the change.
    pub fn take_rebinds(&mut self) -> Vec<Rebind> {
        std::mem::take(&mut self.rebinds)
    }

    /// What the media server is to do, since the last call: the edge hands it over.
    pub fn take_media_commands(&mut self) -> Vec<MediaCommand> {
        std::mem::take(&mut self.media_commands)
    }

    /// The media server reported `event`: the frames it means for the members.
    pub fn handle_media(&mut self, event: MediaEvent) -> Vec<Outgoing> {
        // What is said of a stay that has ended is for no one.
        let to_member = |member: PeerId, call: CallId, msg: ServerMsg| -> Vec<Outgoing> {
            if self
                .peers
                .get(&member)
                .is_some_and(|peer| peer.call == Some(call))
            {
                vec![Outgoing::one(member, msg)]
            } else {
                Vec::new()
            }
        };
        match event {
            MediaEvent::Answer { member, call, sdp } => {
                to_member(member, call, ServerMsg::SfuAnswer { sdp })
            }
            MediaEvent::Slots {
                member,
                call,
                video,
                audio,
            } => to_member(member, call, ServerMsg::Slots { video, audio }),
            MediaEvent::Assign {
                member,
                call,
                video,
                audio,
            } => to_member(member, call, ServerMsg::Assign { video, audio }),
            MediaEvent::Failed {
                member,
                call,
                reason,
            } => to_member(
                member,
                call,
                ServerMsg::error(ErrorCode::MediaFailed, reason),
            ),
            MediaEvent::Speaking {
                room,
                speaking,
                dominant,
            } => match self.rooms.get_mut(&room) {
                Some(room) => {
                    room.speaking = (speaking.clone(), dominant);
                    vec![Outgoing::many(
                        room.members.clone(),
                        ServerMsg::Speaking { speaking, dominant },
                    )]
                }
                None => Vec::new(),
            },
        }
    }

    /// Frames whose time has come at `now`: members away past their grace leave their rooms,
    /// and the lobby hears of rooms that changed again soon after it last heard of them.
    pub fn poll(&mut self, now: Tick) -> Vec<Outgoing> {
        let mut out = self.give_up_away(now);
        let mut due = Vec::new();
        self.lobby_news.retain(|name, news| {
            let quiet = now.since(news.sent_at) >= LOBBY_UPDATE_EVERY;
            if quiet && news.pending {
                due.push((name.clone(), news.changed));
            }
            // A room the lobby heard of long enough ago needs no record: its next change
            // goes out at once.
            !quiet
        });
        for (name, changed) in due {
            self.tell_lobby(now, &name, changed, &mut out);
        }
        out
    }

    /// When [`Rooms::poll`] has something to send, if ever.
    pub fn next_deadline(&self) -> Option<Tick> {
        let lobby = self
            .lobby_news
            .values()
            .filter(|news| news.pending)
            .map(|news| news.sent_at + LOBBY_UPDATE_EVERY)
            .min();
        let away = self.away.first().map(|(until, _)| *until);
        lobby.into_iter().chain(away).min()
    }

    /// The busiest rooms (at most [`ROOM_LIST_MAX`]), sorted by name, and how many exist.
    pub fn room_list(&self) -> RoomList {
        let mut rooms: Vec<RoomInfo> = self
            .rooms
            .iter()
            .filter(|(name, _)| !self.unlisted.contains(*name))
            .map(|(name, room)| RoomInfo {
                name: name.clone(),
                count: room.members.len(),
            })
            .collect();
        if rooms.len() > ROOM_LIST_MAX {
            // The busiest first, then by name, so the cut is the same for everyone.
            rooms.select_nth_unstable_by(ROOM_LIST_MAX - 1, |a, b| {
                b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name))
            });
            rooms.truncate(ROOM_LIST_MAX);
            rooms.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        }
        RoomList {
            rooms,
            total: self.listed_count(),
        }
    }

    /// How many rooms exist now.
    pub fn room_count(&self) -> usize {
        self.rooms.len()
    }

    /// The room list as clients may see it: `None` when it is private.
    pub fn public_room_list(&self) -> Option<RoomList> {
        (!self.limits.private_rooms).then(|| self.room_list())
    }

    /// What the chat history of all rooms costs now (see [`Limits::history_bytes`]).
    pub fn history_bytes(&self) -> usize {
        self.history_bytes
    }

    /// The room a connection is in, if any.
    pub fn room_of(&self, id: PeerId) -> Option<&RoomName> {
        self.peers.get(&id)?.room.as_ref()
    }

    /// Whether `id` lost its connection and keeps its place for now.
    pub fn is_away(&self, id: PeerId) -> bool {
        self.peers
            .get(&id)
            .is_some_and(|peer| peer.away_until.is_some())
    }

    /// How many connections there are, and members keeping their place without one.
    pub fn peer_count(&self) -> usize {
        self.peers.len()
    }

    fn handle_nickname(&mut self, id: PeerId, raw: &str) -> Vec<Outgoing> {
        let name = match Nickname::parse(raw) {
            Ok(name) => name,
            Err(err) => {
                let message = format!("nickname {err}");
                return refuse(id, ErrorCode::InvalidNickname, message, name_details(err));
            }
        };
        let peer = self.peer_mut(id);
        peer.name = name.clone();
        let to = self.audience(id);
        vec![Outgoing::many(to, ServerMsg::Nickname { id, name })]
    }

    fn handle_join(
        &mut self,
        now: Tick,
        id: PeerId,
        raw: &str,
        asked: JoinAsk<'_>,
    ) -> Vec<Outgoing> {
        let name = match RoomName::parse(raw) {
            Ok(name) => name,
            Err(err) => {
                let message = format!("room name {err}");
                return refuse(id, ErrorCode::InvalidRoom, message, name_details(err));
            }
        };
        if self.room_of(id) == Some(&name) {
            // Joining the room one is in changes nothing; the reply lets a client resync.
            return vec![Outgoing::one(id, self.joined_msg(id, &name))];
        }
        let existing = self.rooms.get(&name);
        let size = existing.map_or(0, |room| room.members.len());
        let host_back = existing
            .zip(asked.host_token)
            .is_some_and(|(room, token)| room.hosting.is_token(token));
        if existing.is_some_and(|room| room.hosting.locked()) && !host_back {
            let message = "this meeting is locked: only its host can let people in".to_owned();
            return refuse(id, ErrorCode::RoomLocked, message, ErrorDetails::default());
        }
        if let Some(password) = existing.and_then(|room| room.password.as_deref()) {
            match asked.password {
                _ if host_back => {}
                None | Some("") => {
                    return error(
                        id,
                        ErrorCode::PasswordRequired,
                        "this meeting needs its password",
                    );
                }
                Some(offered) if !same_secret(password, offered) => {
                    return error(
                        id,
                        ErrorCode::WrongPassword,
                        "that is not this meeting's password",
                    );
                }
                Some(_) => {}
            }
        }
        if size == 0 && self.rooms.len() >= self.limits.max_rooms {
            let message = format!("the server holds {} rooms already", self.rooms.len());
            let details = ErrorDetails::limit(self.limits.max_rooms);
            return refuse(id, ErrorCode::TooManyRooms, message, details);
        }
        if size >= self.limits.max_room_size {
            let max = self.limits.max_room_size;
            let message = format!(
                "room is full ({max} {})",
                if max == 1 { "member" } else { "members" }
            );
            return refuse(id, ErrorCode::RoomFull, message, ErrorDetails::limit(max));
        }
        if existing.is_some_and(|room| room.waiting_room) && !host_back {
            return self.knock(now, id, name);
        }
        self.enter(now, id, name, asked.listed, host_back)
    }

    /// `id` comes into `name` (made if it does not exist, `listed` unless told otherwise),
    /// as the host again if `host_back`: every check was made.
    fn enter(
        &mut self,
        now: Tick,
        id: PeerId,
        name: RoomName,
        listed: Option<bool>,
        host_back: bool,
    ) -> Vec<Outgoing> {
        let mut out = Vec::new();
        self.stop_waiting(id, &mut out);
        let old = self.leave_room(id, &mut out);
        if let Some(old) = &old {
            out.push(Outgoing::one(id, ServerMsg::Left { room: old.clone() }));
        }
        if !self.rooms.contains_key(&name) {
            let born = self.rooms_born;
            self.rooms_born += 1;
            self.by_age.insert(born, name.clone());
            let token = self.entropy.random16().map(Secret::from_random);
            if listed == Some(false) {
                self.unlisted.insert(name.clone());
            }
            let room = Room {
                members: Vec::new(),
                transcript: Transcript::default(),
                born,
                speaking: (Vec::new(), None),
                hosting: Hosting::new(id, token),
                hands: Vec::new(),
                password: None,
                waiting_room: false,
                waiting: Vec::new(),
                spotlight: None,
            };
            self.rooms.insert(name.clone(), room);
        }
        let room = self.room_mut(&name);
        let others = room.members.clone();
        room.members.push(id);
        let reclaimed = host_back && room.hosting.reclaim(id);
        if self.peer_mut(id).resume_token.is_none() {
            let token = self.entropy.random16().map(Secret::from_random);
            self.peer_mut(id).resume_token = token;
        }
        let joined = self.joined_msg(id, &name);
        let call = (self.limits.media == MediaMode::Sfu).then(|| {
            self.calls += 1;
            CallId(self.calls)
        });
        if let Some(call) = call {
            self.media_commands.push(MediaCommand::Join {
                member: id,
                room: name.clone(),
                call,
            });
        }
        let peer = self.peer_mut(id);
        peer.room = Some(name.clone());
        peer.call = call;
        let info = peer_info(id, peer);
        self.lobby.remove(&id);
        out.push(Outgoing::one(id, joined));
        if let Some(speaking) = self.rooms.get(&name).and_then(Room::speaking_msg) {
            out.push(Outgoing::one(id, speaking));
        }
        if !others.is_empty() {
            out.push(Outgoing::many(
                others.clone(),
                ServerMsg::PeerJoined { peer: info },
            ));
            if reclaimed {
                let hosts = self.room_mut(&name).hosting.hosts();
                out.push(Outgoing::many(others, ServerMsg::Hosts { hosts }));
                self.tell_new_hosts_who_waits(&name, &mut out);
            }
        }
        if let Some(old) = &old {
            self.room_changed(now, old, &mut out);
        }
        self.room_changed(now, &name, &mut out);
        out
    }

    fn handle_leave(&mut self, now: Tick, id: PeerId) -> Vec<Outgoing> {
        let mut out = Vec::new();
        // Leaving while waiting to be let in stops the waiting.
        if let Some(room) = self.stop_waiting(id, &mut out) {
            out.push(Outgoing::one(id, ServerMsg::Left { room }));
            return out;
        }
        let Some(old) = self.leave_room(id, &mut out) else {
            return error(id, ErrorCode::NotInRoom, "not in a room");
        };
        self.room_changed(now, &old, &mut out);
        out.push(Outgoing::one(id, ServerMsg::Left { room: old }));
        self.back_to_lobby(id, &mut out);
        out
    }

    /// `id` left its room: back in the lobby, it needs the whole list, as it was sent no
    /// updates meanwhile.
    fn back_to_lobby(&mut self, id: PeerId, out: &mut Vec<Outgoing>) {
        self.enter_lobby(id);
        if let Some(list) = self.public_room_list() {
            let rooms = ServerMsg::Rooms {
                rooms: list.rooms,
                rooms_total: list.total,
            };
            out.push(Outgoing::one(id, rooms));
        }
    }

    fn handle_chat(&mut self, now: Now, id: PeerId, text: String) -> Vec<Outgoing> {
        let Some(room_name) = self.room_of(id).cloned() else {
            return error(id, ErrorCode::NotInRoom, "join a room to chat");
        };
        if let Err(err) = chat::check_text(&text) {
            let details = ErrorDetails {
                limit: (err == chat::TextError::TooLong).then_some(chat::TEXT_MAX_CHARS),
                rule: Some(err.rule()),
                ..ErrorDetails::default()
            };
            return refuse(id, ErrorCode::InvalidText, err.to_string(), details);
        }
        let name = self.peer_mut(id).name.clone();
        let room = self.room_mut(&room_name);
        let before = room.transcript.bytes();
        let entry = room.transcript.record(id, name, text, now.wall.0);
        let after = room.transcript.bytes();
        let members = room.members.clone();
        self.history_bytes = self.history_bytes + after - before;
        self.trim_history();
        vec![Outgoing::many(members, ServerMsg::Chat(entry))]
    }

    /// Forgets the oldest rooms' oldest messages until the history fits its budget.
    fn trim_history(&mut self) {
        let mut ages = self.by_age.values();
        while self.history_bytes > self.limits.history_bytes {
            // Every room's history is counted in `history_bytes`, so while it is over the
            // budget some room still has a message to give.
            let Some(name) = ages.next() else { break };
            let room = self.rooms.get_mut(name).expect("every aged room exists");
            while self.history_bytes > self.limits.history_bytes {
                let Some(freed) = room.transcript.drop_oldest() else {
                    break;
                };
                self.history_bytes -= freed;
            }
        }
    }

    fn handle_description(
        &mut self,
        id: PeerId,
        to: &str,
        sdp: String,
        relayed: impl FnOnce(PeerId, String) -> ServerMsg,
    ) -> Vec<Outgoing> {
        let target = match self.signal_target(id, to) {
            Ok(target) => target,
            Err(out) => return out,
        };
        if sdp.len() > self.limits.max_sdp_bytes {
            let max = self.limits.max_sdp_bytes;
            let message = format!("SDP over {max} bytes");
            return refuse(
                id,
                ErrorCode::SignalTooBig,
                message,
                ErrorDetails::limit(max),
            );
        }
        // A new description starts a new round of candidates between the two.
        self.peer_mut(id).candidates_to.remove(&target);
        vec![Outgoing::one(target, relayed(id, sdp))]
    }

    fn handle_candidate(&mut self, id: PeerId, to: &str, candidate: IceCandidate) -> Vec<Outgoing> {
        let target = match self.signal_target(id, to) {
            Ok(target) => target,
            Err(out) => return out,
        };
        let size = candidate.candidate.len()
            + candidate.sdp_mid.as_ref().map_or(0, String::len)
            + candidate.username_fragment.as_ref().map_or(0, String::len);
        if size > self.limits.max_candidate_bytes {
            let max = self.limits.max_candidate_bytes;
            let message = format!("candidate over {max} bytes");
            return refuse(
                id,
                ErrorCode::SignalTooBig,
                message,
                ErrorDetails::limit(max),
            );
        }
        let max = self.limits.max_candidates;
        let sent = self.peer_mut(id).candidates_to.entry(target).or_default();
        if *sent >= max {
            let message =
                format!("more than {max} candidates to {target} without a new offer or answer");
            let details = ErrorDetails {
                limit: Some(max as usize),
                peer: Some(target.to_string()),
                ..ErrorDetails::default()
            };
            return refuse(id, ErrorCode::TooManyCandidates, message, details);
        }
        *sent += 1;
        vec![Outgoing::one(
            target,
            ServerMsg::Candidate {
                from: id,
                candidate,
            },
        )]
    }

    /// The member of the sender's room that `to` names, or the error that answers the frame.
    fn signal_target(&self, id: PeerId, to: &str) -> Result<PeerId, Vec<Outgoing>> {
        let Some(room) = self.room_of(id) else {
            return Err(error(
                id,
                ErrorCode::NotInRoom,
                "join a room to call its members",
            ));
        };
        PeerId::parse(to)
            .filter(|target| *target != id && self.room_of(*target) == Some(room))
            .ok_or_else(|| {
                let message = format!("no other member {to:?} in this room");
                refuse(id, ErrorCode::UnknownPeer, message, ErrorDetails::peer(to))
            })
    }

    fn handle_sfu_offer(
        &mut self,
        id: PeerId,
        sdp: String,
        tracks: Vec<TrackInfo>,
    ) -> Vec<Outgoing> {
        if self.room_of(id).is_none() {
            return error(id, ErrorCode::NotInRoom, "join a room to call it");
        }
        let max = self.limits.max_sfu_sdp_bytes;
        if sdp.len() > max {
            let message = format!("SDP over {max} bytes");
            return refuse(
                id,
                ErrorCode::SignalTooBig,
                message,
                ErrorDetails::limit(max),
            );
        }
        let mut sources: Vec<TrackSource> = tracks.iter().map(|track| track.source).collect();
        sources.sort_unstable();
        let mut mids: Vec<&str> = tracks.iter().map(|track| track.mid.as_str()).collect();
        mids.sort_unstable();
        if sources.windows(2).any(|pair| pair[0] == pair[1])
            || mids.windows(2).any(|pair| pair[0] == pair[1])
        {
            let message = "tracks name each source and each mid at most once";
            return error(id, ErrorCode::BadMessage, message);
        }
        self.media_commands.push(MediaCommand::Offer {
            member: id,
            sdp,
            tracks,
        });
        Vec::new()
    }

    fn handle_view(&mut self, id: PeerId, slots: Vec<SlotView>) -> Vec<Outgoing> {
        if self.room_of(id).is_none() {
            return error(id, ErrorCode::NotInRoom, "join a room to view it");
        }
        let max = self.limits.max_view_slots;
        if slots.len() > max {
            let message = format!("a view of more than {max} slots");
            return refuse(
                id,
                ErrorCode::SignalTooBig,
                message,
                ErrorDetails::limit(max),
            );
        }
        self.media_commands
            .push(MediaCommand::View { member: id, slots });
        Vec::new()
    }

    fn handle_media_state(
        &mut self,
        id: PeerId,
        audio: bool,
        video: bool,
        screen: bool,
    ) -> Vec<Outgoing> {
        let peer = self.peer_mut(id);
        peer.audio = audio;
        peer.video = video;
        peer.screen = screen;
        // Unmuting oneself lifts a host's mute: a host may mute, never unmute.
        if audio && std::mem::take(&mut peer.muted_by_host) && peer.call.is_some() {
            self.media_commands.push(MediaCommand::Silence {
                member: id,
                silenced: false,
            });
        }
        let to = self.audience(id);
        let media = ServerMsg::Media {
            id,
            audio,
            video,
            screen,
        };
        vec![Outgoing::many(to, media)]
    }

    /// Takes `id` out of its room, telling the members who stay.
    /// Returns the room it was in (and so the room list changed), if any.
    fn leave_room(&mut self, id: PeerId, out: &mut Vec<Outgoing>) -> Option<RoomName> {
        let peer = self.peers.get_mut(&id)?;
        let name = peer.room.take()?;
        if peer.call.take().is_some() {
            self.media_commands.push(MediaCommand::Leave { member: id });
        }
        peer.candidates_to.clear();
        peer.muted_by_host = false;
        // As in `room_mut`: a member's room exists.
        let room = self.rooms.get_mut(&name).expect("a member's room exists");
        room.members.retain(|member| *member != id);
        for member in &room.members {
            if let Some(peer) = self.peers.get_mut(member) {
                peer.candidates_to.remove(&id);
            }
        }
        if room.members.is_empty() {
            self.history_bytes -= room.transcript.bytes();
            self.by_age.remove(&room.born);
            // Nobody is left to let them in.
            for waiting in std::mem::take(&mut room.waiting) {
                if let Some(peer) = self.peers.get_mut(&waiting) {
                    peer.waiting_for = None;
                }
                let denied = ServerMsg::Denied {
                    room: name.clone(),
                    by: None,
                };
                out.push(Outgoing::one(waiting, denied));
            }
            self.rooms.remove(&name);
        } else {
            out.push(Outgoing::many(
                room.members.clone(),
                ServerMsg::PeerLeft { id },
            ));
            if room.spotlight == Some(id) {
                room.spotlight = None;
                let cleared = ServerMsg::SpotlightSet { id: None, by: None };
                out.push(Outgoing::many(room.members.clone(), cleared));
            }
            if room.hands.contains(&id) {
                room.hands.retain(|hand| *hand != id);
                let hands = room.hands.clone();
                out.push(Outgoing::many(
                    room.members.clone(),
                    ServerMsg::Hands { hands },
                ));
            }
            let host = room.hosting.host();
            if room.hosting.left(id, &room.members) {
                let hosts = room.hosting.hosts();
                out.push(Outgoing::many(
                    room.members.clone(),
                    ServerMsg::Hosts { hosts },
                ));
                let new_host = room.hosting.host();
                if let Some(token) = room.hosting.token().filter(|_| new_host != host) {
                    let msg = ServerMsg::HostToken {
                        room: name.clone(),
                        token: token.as_str().to_owned(),
                    };
                    out.push(Outgoing::one(new_host, msg));
                }
                self.tell_new_hosts_who_waits(&name, out);
            }
        }
        Some(name)
    }

    /// What `id`, a member of `name`, is told of the room it enters.
    fn joined_msg(&self, id: PeerId, name: &RoomName) -> ServerMsg {
        ServerMsg::Joined(self.room_state(id, name, 0))
    }

    /// The room `name` as its member `id` is to see it, with the chat messages after
    /// `after_seq`.
    fn room_state(&self, id: PeerId, name: &RoomName, after_seq: u64) -> RoomState {
        let room = &self.rooms[name];
        let hosting = &room.hosting;
        RoomState {
            room: name.clone(),
            peers: room
                .members
                .iter()
                .filter(|member| **member != id)
                .map(|member| peer_info(*member, &self.peers[member]))
                .collect(),
            history: room.transcript.history_after(after_seq),
            hosts: hosting.hosts(),
            locked: hosting.locked(),
            listed: !self.unlisted.contains(name),
            spotlight: room.spotlight,
            protected: room.password.is_some(),
            waiting_room: room.waiting_room,
            waiting: (hosting.role(id) != Role::Member).then(|| self.waiting_infos(room)),
            hands: room.hands.clone(),
            host_token: hosting
                .token()
                .filter(|_| hosting.host() == id)
                .map(|token| token.as_str().to_owned()),
            resume_token: self.peers[&id]
                .resume_token
                .as_ref()
                .map(|token| token.as_str().to_owned()),
        }
    }

    /// Tells the connections in no room the new member count of `name`, unless the list is
    /// private. Only the change is sent, and members of a room are not told: the whole list
    /// sent to everyone on every change would cost the square of the connections. A room that
    /// changes again within [`LOBBY_UPDATE_EVERY`] of its last news waits for [`Rooms::poll`],
    /// which then sends its count as it is by then: people joining a busy meeting cost the
    /// lobby a few frames a second, not one each.
    fn room_changed(&mut self, now: Tick, name: &RoomName, out: &mut Vec<Outgoing>) {
        if self.unlisted.contains(name) {
            // An unlisted room is never news; once gone, its name need not be kept.
            if !self.rooms.contains_key(name) {
                self.unlisted.remove(name);
            }
            return;
        }
        self.announce(now, name, out);
    }

    /// Tells the lobby of `name` as it is now (count 0 if it is unlisted or gone), at once or
    /// when [`LOBBY_UPDATE_EVERY`] allows.
    fn announce(&mut self, now: Tick, name: &RoomName, out: &mut Vec<Outgoing>) {
        if self.limits.private_rooms || self.lobby.is_empty() {
            return;
        }
        self.lobby_clock += 1;
        let changed = self.lobby_clock;
        match self.lobby_news.get_mut(name) {
            Some(news) if now.since(news.sent_at) < LOBBY_UPDATE_EVERY => {
                news.pending = true;
                news.changed = changed;
            }
            _ => self.tell_lobby(now, name, changed, out),
        }
    }

    /// Sends the count of `name` now to the connections in the lobby that came before its
    /// change `changed`.
    fn tell_lobby(&mut self, now: Tick, name: &RoomName, changed: u64, out: &mut Vec<Outgoing>) {
        let news = LobbyNews {
            sent_at: now,
            pending: false,
            changed,
        };
        self.lobby_news.insert(name.clone(), news);
        let lobby: Vec<PeerId> = self
            .lobby
            .iter()
            .filter(|(_, came)| **came < changed)
            .map(|(id, _)| *id)
            .collect();
        if lobby.is_empty() {
            return;
        }
        let count = match self.rooms.get(name) {
            Some(room) if !self.unlisted.contains(name) => room.members.len(),
            _ => 0,
        };
        let update = ServerMsg::Room {
            name: name.clone(),
            count,
            rooms_total: self.listed_count(),
        };
        out.push(Outgoing::many(lobby, update));
    }

    /// How many rooms the lobby may know of.
    fn listed_count(&self) -> usize {
        let unlisted_here = self
            .unlisted
            .iter()
            .filter(|name| self.rooms.contains_key(*name))
            .count();
        self.rooms.len() - unlisted_here
    }

    /// `id` itself and the members of its room.
    fn audience(&self, id: PeerId) -> Vec<PeerId> {
        match self.room_of(id).and_then(|name| self.rooms.get(name)) {
            Some(room) => room.members.clone(),
            None => vec![id],
        }
    }

    /// Puts `id` in the lobby, after every change so far.
    fn enter_lobby(&mut self, id: PeerId) {
        self.lobby_clock += 1;
        self.lobby.insert(id, self.lobby_clock);
    }

    fn peer_mut(&mut self, id: PeerId) -> &mut Peer {
        // Every caller has checked that `id` is connected (see `handle`).
        self.peers.get_mut(&id).expect("peer is connected")
    }

    fn room_mut(&mut self, name: &RoomName) -> &mut Room {
        // A peer's `room` always names an existing room: rooms are removed only when their
        // last member leaves, and leaving clears the member's `room` first.
        self.rooms.get_mut(name).expect("a member's room exists")
    }
}

fn peer_info(id: PeerId, peer: &Peer) -> PeerInfo {
    PeerInfo {
        id,
        name: peer.name.clone(),
        audio: peer.audio,
        video: peer.video,
        screen: peer.screen,
    }
}

/// The details of a refused name.
fn name_details(err: NameError) -> ErrorDetails {
    ErrorDetails {
        limit: err.limit(),
        rule: Some(err.rule()),
        ..ErrorDetails::default()
    }
}

/// An `error` frame with its details, for `to` alone.
fn refuse(to: PeerId, code: ErrorCode, message: String, details: ErrorDetails) -> Vec<Outgoing> {
    vec![Outgoing::one(
        to,
        ServerMsg::error_with(code, message, details),
    )]
}

fn error(to: PeerId, code: ErrorCode, message: impl Into<String>) -> Vec<Outgoing> {
    vec![Outgoing::one(to, ServerMsg::error(code, message))]
}

mod admission;
mod meeting;
mod resume;

#[cfg(test)]
mod tests;
