//! The room state machine: who is connected, who is in which room, and what each event sends.
//!
//! Nothing here touches a socket, a clock or a lock. The edges feed it events
//! ([`Rooms::connect`], [`Rooms::handle`], [`Rooms::disconnect`]) with the current time, and
//! deliver the [`Outgoing`] frames it returns, in order.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::chat::{self, Transcript};
use crate::names::{Nickname, PeerId, RoomName};
use crate::protocol::{ClientMsg, ErrorCode, IceCandidate, PeerInfo, RoomInfo, ServerMsg, VERSION};

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
        }
    }
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
    room: Option<RoomName>,
    /// Candidates sent to each member of the room since the last offer or answer to it.
    candidates_to: HashMap<PeerId, u32>,
}

/// A room with at least one member.
#[derive(Debug, Default)]
struct Room {
    /// In the order they joined.
    members: Vec<PeerId>,
    transcript: Transcript,
}

/// Every connection and every room of one server.
#[derive(Debug)]
pub struct Rooms {
    limits: Limits,
    peers: HashMap<PeerId, Peer>,
    // A BTreeMap keeps the room list sorted by name without sorting on every change.
    rooms: BTreeMap<RoomName, Room>,
    /// The connections in no room: the ones the room list is for.
    lobby: BTreeSet<PeerId>,
    last_id: u64,
}

impl Rooms {
    /// An empty server.
    pub fn new(limits: Limits) -> Self {
        Rooms {
            limits,
            peers: HashMap::new(),
            rooms: BTreeMap::new(),
            lobby: BTreeSet::new(),
            last_id: 0,
        }
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
                room: None,
                candidates_to: HashMap::new(),
            },
        );
        self.lobby.insert(id);
        let welcome = ServerMsg::Welcome {
            id,
            name,
            version: VERSION,
            rooms: self.public_room_list().unwrap_or_default(),
        };
        (id, vec![Outgoing::one(id, welcome)])
    }

    /// A connection ended, cleanly or not: it leaves its room and is forgotten.
    pub fn disconnect(&mut self, id: PeerId) -> Vec<Outgoing> {
        let mut out = Vec::new();
        self.lobby.remove(&id);
        if let Some(old) = self.leave_room(id, &mut out) {
            self.room_changed(&old, &mut out);
        }
        self.peers.remove(&id);
        out
    }

    /// A connection sent a frame. `now` is the time in milliseconds since the Unix epoch.
    pub fn handle(&mut self, now: u64, from: PeerId, msg: ClientMsg) -> Vec<Outgoing> {
        if !self.peers.contains_key(&from) {
            return Vec::new();
        }
        match msg {
            ClientMsg::Nickname { name } => self.handle_nickname(from, &name),
            ClientMsg::Join { room } => self.handle_join(from, &room),
            ClientMsg::Leave => self.handle_leave(from),
            ClientMsg::Chat { text } => self.handle_chat(now, from, text),
            ClientMsg::Offer { to, sdp } => {
                self.handle_description(from, &to, sdp, |from, sdp| ServerMsg::Offer { from, sdp })
            }
            ClientMsg::Answer { to, sdp } => {
                self.handle_description(from, &to, sdp, |from, sdp| ServerMsg::Answer { from, sdp })
            }
            ClientMsg::Candidate { to, candidate } => self.handle_candidate(from, &to, candidate),
            ClientMsg::Media { audio, video } => self.handle_media(from, audio, video),
        }
    }

    /// The rooms that exist now, sorted by name.
    pub fn room_list(&self) -> Vec<RoomInfo> {
        self.rooms
            .iter()
            .map(|(name, room)| RoomInfo {
                name: name.clone(),
                count: room.members.len(),
            })
            .collect()
    }

    /// How many rooms exist now.
    pub fn room_count(&self) -> usize {
        self.rooms.len()
    }

    /// The room list as clients may see it: `None` when it is private.
    pub fn public_room_list(&self) -> Option<Vec<RoomInfo>> {
        (!self.limits.private_rooms).then(|| self.room_list())
    }

    /// The room a connection is in, if any.
    pub fn room_of(&self, id: PeerId) -> Option<&RoomName> {
        self.peers.get(&id)?.room.as_ref()
    }

    /// How many connections there are.
    pub fn peer_count(&self) -> usize {
        self.peers.len()
    }

    fn handle_nickname(&mut self, id: PeerId, raw: &str) -> Vec<Outgoing> {
        let name = match Nickname::parse(raw) {
            Ok(name) => name,
            Err(err) => return error(id, ErrorCode::InvalidNickname, format!("nickname {err}")),
        };
        let peer = self.peer_mut(id);
        peer.name = name.clone();
        let to = self.audience(id);
        vec![Outgoing::many(to, ServerMsg::Nickname { id, name })]
    }

    fn handle_join(&mut self, id: PeerId, raw: &str) -> Vec<Outgoing> {
        let name = match RoomName::parse(raw) {
            Ok(name) => name,
            Err(err) => return error(id, ErrorCode::InvalidRoom, format!("room name {err}")),
        };
        if self.room_of(id) == Some(&name) {
            // Joining the room one is in changes nothing; the reply lets a client resync.
            return vec![Outgoing::one(id, self.joined_msg(id, &name))];
        }
        let size = self.rooms.get(&name).map_or(0, |room| room.members.len());
        if size == 0 && self.rooms.len() >= self.limits.max_rooms {
            let message = format!("the server holds {} rooms already", self.rooms.len());
            return error(id, ErrorCode::TooManyRooms, message);
        }
        if size >= self.limits.max_room_size {
            let max = self.limits.max_room_size;
            let message = format!(
                "room is full ({max} {})",
                if max == 1 { "member" } else { "members" }
            );
            return error(id, ErrorCode::RoomFull, message);
        }

        let mut out = Vec::new();
        let old = self.leave_room(id, &mut out);
        if let Some(old) = &old {
            out.push(Outgoing::one(id, ServerMsg::Left { room: old.clone() }));
        }
        let joined = self.joined_msg(id, &name);
        let room = self.rooms.entry(name.clone()).or_default();
        let others = room.members.clone();
        room.members.push(id);
        let peer = self.peer_mut(id);
        peer.room = Some(name.clone());
        let info = peer_info(id, peer);
        self.lobby.remove(&id);
        out.push(Outgoing::one(id, joined));
        if !others.is_empty() {
            out.push(Outgoing::many(others, ServerMsg::PeerJoined { peer: info }));
        }
        if let Some(old) = &old {
            self.room_changed(old, &mut out);
        }
        self.room_changed(&name, &mut out);
        out
    }

    fn handle_leave(&mut self, id: PeerId) -> Vec<Outgoing> {
        let mut out = Vec::new();
        let Some(old) = self.leave_room(id, &mut out) else {
            return error(id, ErrorCode::NotInRoom, "not in a room");
        };
        self.room_changed(&old, &mut out);
        out.push(Outgoing::one(id, ServerMsg::Left { room: old }));
        // Back in the lobby, the leaver needs the whole list: it was sent no updates meanwhile.
        self.lobby.insert(id);
        if let Some(rooms) = self.public_room_list() {
            out.push(Outgoing::one(id, ServerMsg::Rooms { rooms }));
        }
        out
    }

    fn handle_chat(&mut self, now: u64, id: PeerId, text: String) -> Vec<Outgoing> {
        let Some(room_name) = self.room_of(id).cloned() else {
            return error(id, ErrorCode::NotInRoom, "join a room to chat");
        };
        if let Err(err) = chat::check_text(&text) {
            return error(id, ErrorCode::InvalidText, err.to_string());
        }
        let name = self.peer_mut(id).name.clone();
        let room = self.room_mut(&room_name);
        let entry = room.transcript.record(id, name, text, now);
        vec![Outgoing::many(room.members.clone(), ServerMsg::Chat(entry))]
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
            return error(id, ErrorCode::SignalTooBig, format!("SDP over {max} bytes"));
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
            return error(
                id,
                ErrorCode::SignalTooBig,
                format!("candidate over {max} bytes"),
            );
        }
        let max = self.limits.max_candidates;
        let sent = self.peer_mut(id).candidates_to.entry(target).or_default();
        if *sent >= max {
            let message =
                format!("more than {max} candidates to {target} without a new offer or answer");
            return error(id, ErrorCode::TooManyCandidates, message);
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
                error(
                    id,
                    ErrorCode::UnknownPeer,
                    format!("no other member {to:?} in this room"),
                )
            })
    }

    fn handle_media(&mut self, id: PeerId, audio: bool, video: bool) -> Vec<Outgoing> {
        let peer = self.peer_mut(id);
        peer.audio = audio;
        peer.video = video;
        let to = self.audience(id);
        vec![Outgoing::many(to, ServerMsg::Media { id, audio, video })]
    }

    /// Takes `id` out of its room, telling the members who stay.
    /// Returns the room it was in (and so the room list changed), if any.
    fn leave_room(&mut self, id: PeerId, out: &mut Vec<Outgoing>) -> Option<RoomName> {
        let peer = self.peers.get_mut(&id)?;
        let name = peer.room.take()?;
        peer.candidates_to.clear();
        // As in `room_mut`: a member's room exists.
        let room = self.rooms.get_mut(&name).expect("a member's room exists");
        room.members.retain(|member| *member != id);
        for member in &room.members {
            if let Some(peer) = self.peers.get_mut(member) {
                peer.candidates_to.remove(&id);
            }
        }
        if room.members.is_empty() {
            self.rooms.remove(&name);
        } else {
            out.push(Outgoing::many(
                room.members.clone(),
                ServerMsg::PeerLeft { id },
            ));
        }
        Some(name)
    }

    fn joined_msg(&self, id: PeerId, name: &RoomName) -> ServerMsg {
        let (peers, history) = match self.rooms.get(name) {
            Some(room) => (
                room.members
                    .iter()
                    .filter(|member| **member != id)
                    .map(|member| peer_info(*member, &self.peers[member]))
                    .collect(),
                room.transcript.history(),
            ),
            None => (Vec::new(), Vec::new()),
        };
        ServerMsg::Joined {
            room: name.clone(),
            peers,
            history,
        }
    }

    /// Tells the connections in no room the new member count of `name`, unless the list is
    /// private. Only the change is sent, and members of a room are not told: the whole list
    /// sent to everyone on every change would cost the square of the connections.
    fn room_changed(&self, name: &RoomName, out: &mut Vec<Outgoing>) {
        if !self.limits.private_rooms && !self.lobby.is_empty() {
            let count = self.rooms.get(name).map_or(0, |room| room.members.len());
            let lobby = self.lobby.iter().copied().collect();
            let update = ServerMsg::Room {
                name: name.clone(),
                count,
            };
            out.push(Outgoing::many(lobby, update));
        }
    }

    /// `id` itself and the members of its room.
    fn audience(&self, id: PeerId) -> Vec<PeerId> {
        match self.room_of(id).and_then(|name| self.rooms.get(name)) {
            Some(room) => room.members.clone(),
            None => vec![id],
        }
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
    }
}

fn error(to: PeerId, code: ErrorCode, message: impl Into<String>) -> Vec<Outgoing> {
    vec![Outgoing::one(to, ServerMsg::error(code, message))]
}

#[cfg(test)]
mod tests;
