//! Protocol v2: every frame a client may send and every frame the server sends.
//!
//! These enums are the first copy of the wire contract; `docs/PROTOCOL.md` is the second and
//! must say the same. Frames are JSON objects tagged by their `type` field.

use serde::de::{self, DeserializeOwned, Deserializer};
use serde::{Deserialize, Serialize};

use crate::media::{MediaMode, SlotAssign, SlotView, TrackInfo};
use crate::names::{Nickname, PeerId, RoomName};

/// The protocol version announced in `welcome`.
pub const VERSION: u32 = 2;

/// The most rooms a room list (`welcome`, `rooms`, the home page) carries: the busiest ones.
pub const ROOM_LIST_MAX: usize = 100;

/// How often the lobby may hear of one room's count.
pub const LOBBY_UPDATE_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// A frame sent by a client, as it arrived: names and texts are still unchecked.
///
/// Fields a variant does not name are ignored, so a client that adds `from` to a signalling
/// frame is not refused, and the server still sets `from` itself.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMsg {
    /// Pick a display name.
    Nickname {
        /// The wanted name.
        name: String,
    },
    /// Enter a room, leaving the current one first.
    Join {
        /// The room's name.
        room: String,
        /// The host token the server gave this member's browser when it hosted the room: it
        /// makes the member host again, and lets it into the room while it is locked.
        #[serde(default)]
        host_token: Option<String>,
        /// Whether a room this join makes is on the room lists: `false` for a new meeting,
        /// which only those given its name find. Listed when left out.
        #[serde(default)]
        listed: Option<bool>,
        /// The meeting's password, if its hosts set one.
        #[serde(default)]
        password: Option<String>,
    },
    /// Leave the current room.
    Leave,
    /// Say something to the current room.
    Chat {
        /// The message.
        text: String,
    },
    /// A WebRTC session description offering a call, for one member of the room.
    Offer {
        /// The member it is for.
        to: String,
        /// The SDP text.
        sdp: String,
    },
    /// A WebRTC session description answering an offer.
    Answer {
        /// The member it is for.
        to: String,
        /// The SDP text.
        sdp: String,
    },
    /// A trickled ICE candidate.
    Candidate {
        /// The member it is for.
        to: String,
        /// The candidate as the browser describes it.
        #[serde(deserialize_with = "from_object")]
        candidate: IceCandidate,
    },
    /// The sender's microphone, camera and screen state.
    Media {
        /// Whether the microphone is on.
        audio: bool,
        /// Whether the camera is on.
        video: bool,
        /// Whether it shares its screen; not sharing when left out.
        #[serde(default)]
        screen: bool,
    },
    /// In SFU mode: the SDP offer of the sender's one connection to the server, and what each
    /// track it sends carries.
    SfuOffer {
        /// The SDP text.
        sdp: String,
        /// The tracks it sends, by `mid`.
        #[serde(default)]
        tracks: Vec<TrackInfo>,
    },
    /// In SFU mode: how the sender draws its receive slots.
    View {
        /// Each slot's size.
        slots: Vec<SlotView>,
    },
    /// A host's: keep newcomers out of the room, or let them in again.
    Lock {
        /// Whether the room is to be locked.
        locked: bool,
    },
    /// A host's: send a member out of the room.
    Remove {
        /// The member.
        id: String,
    },
    /// The host's: name a member co-host, or unname it.
    Cohost {
        /// The member.
        id: String,
        /// Whether it is to be a co-host.
        cohost: bool,
    },
    /// The host's: end the meeting, sending everyone out of the room.
    End,
    /// A host's: set the meeting's password (`None` or empty: no password).
    Password {
        /// The password.
        #[serde(default)]
        password: Option<String>,
    },
    /// A host's: make newcomers wait until a host lets them in, or not.
    WaitingRoom {
        /// Whether they wait.
        on: bool,
    },
    /// A host's: let someone who waits in.
    Admit {
        /// The one who waits.
        id: String,
    },
    /// A host's: turn someone who waits away.
    Deny {
        /// The one who waits.
        id: String,
    },
    /// A host's: put a member on everyone's stage (`None`: nobody).
    Spotlight {
        /// The member.
        #[serde(default)]
        id: Option<String>,
    },
    /// A host's: put the room on the room lists, or take it off.
    List {
        /// Whether the lobby lists it.
        listed: bool,
    },
    /// A host's: mute a member's microphone for everyone.
    Mute {
        /// The member.
        id: String,
    },
    /// A host's: mute everyone but the hosts.
    MuteAll,
    /// A host's: ask a muted member to unmute (only the member can).
    AskUnmute {
        /// The member.
        id: String,
    },
    /// Raise the sender's hand, or lower it.
    Hand {
        /// Whether it is up.
        raised: bool,
    },
    /// A host's: lower a member's hand.
    LowerHand {
        /// The member.
        id: String,
    },
    /// A reaction, shown briefly on the sender's tile: one of [`REACTIONS`].
    React {
        /// The emoji.
        emoji: String,
    },
    /// Speak for a member again whose connection dropped: sent by a new connection, in no
    /// room, instead of joining.
    Resume {
        /// The member it was.
        id: String,
        /// The `resume_token` its `joined` gave it.
        token: String,
        /// The `seq` of the last chat message it has: the ones after it are sent again.
        #[serde(default)]
        last_seq: u64,
    },
}

/// The longest meeting password, in characters.
pub const PASSWORD_MAX_CHARS: usize = 64;

/// The reactions a member may send.
pub const REACTIONS: [&str; 6] = ["👍", "👏", "❤️", "😂", "😮", "🎉"];

/// How soon after its last reaction a member may send another.
pub const REACTION_EVERY: std::time::Duration = std::time::Duration::from_millis(300);

impl ClientMsg {
    /// The `type` tag, for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            ClientMsg::Nickname { .. } => "nickname",
            ClientMsg::Join { .. } => "join",
            ClientMsg::Leave => "leave",
            ClientMsg::Chat { .. } => "chat",
            ClientMsg::Offer { .. } => "offer",
            ClientMsg::Answer { .. } => "answer",
            ClientMsg::Candidate { .. } => "candidate",
            ClientMsg::Media { .. } => "media",
            ClientMsg::SfuOffer { .. } => "sfu_offer",
            ClientMsg::View { .. } => "view",
            ClientMsg::Lock { .. } => "lock",
            ClientMsg::Remove { .. } => "remove",
            ClientMsg::Cohost { .. } => "cohost",
            ClientMsg::End => "end",
            ClientMsg::List { .. } => "list",
            ClientMsg::Spotlight { .. } => "spotlight",
            ClientMsg::Password { .. } => "password",
            ClientMsg::WaitingRoom { .. } => "waiting_room",
            ClientMsg::Admit { .. } => "admit",
            ClientMsg::Deny { .. } => "deny",
            ClientMsg::Mute { .. } => "mute",
            ClientMsg::MuteAll => "mute_all",
            ClientMsg::AskUnmute { .. } => "ask_unmute",
            ClientMsg::Hand { .. } => "hand",
            ClientMsg::LowerHand { .. } => "lower_hand",
            ClientMsg::React { .. } => "react",
            ClientMsg::Resume { .. } => "resume",
        }
    }
}

/// An ICE candidate in the shape of the browser's `RTCIceCandidateInit`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IceCandidate {
    /// The `candidate:` line; empty marks the end of candidates.
    pub candidate: String,
    /// The media stream id the candidate belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdp_mid: Option<String>,
    /// The index of the media description the candidate belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdp_m_line_index: Option<u16>,
    /// The ICE username fragment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username_fragment: Option<String>,
}

/// A room and how many people are in it, as listed in `welcome` and `rooms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoomInfo {
    /// The room's name.
    pub name: RoomName,
    /// How many members it has now.
    pub count: usize,
}

/// A member of a room as the others see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeerInfo {
    /// The member's id.
    pub id: PeerId,
    /// The member's nickname.
    pub name: Nickname,
    /// Whether its microphone is on.
    pub audio: bool,
    /// Whether its camera is on.
    pub video: bool,
    /// Whether it shares its screen (left out when not).
    #[serde(skip_serializing_if = "is_false")]
    pub screen: bool,
}

/// For fields that are sent only when true.
fn is_false(flag: &bool) -> bool {
    !*flag
}

/// One chat message of a room's transcript.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChatEntry {
    /// Position in the room's transcript: 1, 2, 3, ... with no gaps.
    pub seq: u64,
    /// Who said it.
    pub from: PeerId,
    /// The sender's nickname when it was said.
    pub name: Nickname,
    /// What was said.
    pub text: String,
    /// When the server accepted it, in milliseconds since the Unix epoch.
    pub ts: u64,
}

/// A room as a member who enters it (or resumes its place in it) is told of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoomState {
    /// The room's name as the server keeps it (trimmed).
    pub room: RoomName,
    /// The members already there, in the order they joined.
    pub peers: Vec<PeerInfo>,
    /// The room's last chat messages, oldest first (in `resumed`: those after `last_seq`).
    pub history: Vec<ChatEntry>,
    /// Who runs the room: the host first, then the co-hosts.
    pub hosts: Vec<PeerId>,
    /// Whether the room keeps newcomers out.
    pub locked: bool,
    /// Whether the room lists show the room.
    pub listed: bool,
    /// Who a host put on everyone's stage.
    pub spotlight: Option<PeerId>,
    /// Whether joining needs the meeting's password.
    pub protected: bool,
    /// Whether newcomers wait until a host lets them in.
    pub waiting_room: bool,
    /// To hosts: who waits to be let in, in the order they came.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting: Option<Vec<PeerInfo>>,
    /// The raised hands, in the order they went up.
    pub hands: Vec<PeerId>,
    /// To the host alone: the secret that makes it host again if it comes back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_token: Option<String>,
    /// To the member alone: the secret that keeps its place if its connection drops (see
    /// [`ClientMsg::Resume`]); none if the server has no random source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resume_token: Option<String>,
}

/// A frame sent by the server.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    /// The greeting, always the first frame of a connection.
    Welcome {
        /// The connection's id.
        id: PeerId,
        /// The nickname it has until it picks one.
        name: Nickname,
        /// The protocol version, [`VERSION`].
        version: u32,
        /// How this server carries the calls' media.
        media: MediaMode,
        /// The busiest rooms that exist now (at most [`ROOM_LIST_MAX`]), by name.
        rooms: Vec<RoomInfo>,
        /// How many rooms exist, listed or not.
        rooms_total: usize,
    },
    /// The whole room list, for a member that has just left its room and so is in no room
    /// again: while in a room it was sent no [`ServerMsg::Room`] updates.
    Rooms {
        /// The busiest rooms that exist now (at most [`ROOM_LIST_MAX`]), by name.
        rooms: Vec<RoomInfo>,
        /// How many rooms exist, listed or not.
        rooms_total: usize,
    },
    /// One room's member count changed; sent to every connection in no room, at most once per
    /// [`LOBBY_UPDATE_EVERY`] for one room and always ending on its true count. A count of 0
    /// means the room no longer exists.
    Room {
        /// The room.
        name: RoomName,
        /// How many members it has now.
        count: usize,
        /// How many rooms exist now.
        rooms_total: usize,
    },
    /// The join succeeded; sent to the member who joined.
    Joined(RoomState),
    /// The resume succeeded: the connection speaks for the member `id` again, which never
    /// left its room; sent to it alone. `history` holds the messages it missed.
    Resumed {
        /// The member it is again.
        id: PeerId,
        /// Its nickname.
        name: Nickname,
        /// Its room as it is now.
        #[serde(flatten)]
        state: RoomState,
    },
    /// The leave succeeded; sent to the member who left.
    Left {
        /// The room it left.
        room: RoomName,
    },
    /// Someone entered the room; sent to the members already there.
    PeerJoined {
        /// The newcomer.
        peer: PeerInfo,
    },
    /// Someone left the room or lost its connection; sent to the members who stay.
    PeerLeft {
        /// The member who left.
        id: PeerId,
    },
    /// Someone changed its nickname; sent to it and to its room.
    Nickname {
        /// Who renamed itself.
        id: PeerId,
        /// The new name.
        name: Nickname,
    },
    /// A chat message; sent to every member of the room, the sender included.
    Chat(ChatEntry),
    /// A relayed offer.
    Offer {
        /// The member who sent it.
        from: PeerId,
        /// The SDP text.
        sdp: String,
    },
    /// A relayed answer.
    Answer {
        /// The member who sent it.
        from: PeerId,
        /// The SDP text.
        sdp: String,
    },
    /// A relayed ICE candidate.
    Candidate {
        /// The member who sent it.
        from: PeerId,
        /// The candidate.
        candidate: IceCandidate,
    },
    /// A member's microphone, camera and screen state; sent to it and to its room.
    Media {
        /// The member.
        id: PeerId,
        /// Whether its microphone is on.
        audio: bool,
        /// Whether its camera is on.
        video: bool,
        /// Whether it shares its screen (left out when not).
        #[serde(skip_serializing_if = "is_false")]
        screen: bool,
    },
    /// In SFU mode: the answer to the member's `sfu_offer`.
    SfuAnswer {
        /// The SDP text.
        sdp: String,
    },
    /// In SFU mode: how many receive slots of each kind the member's connection should have.
    Slots {
        /// Video slots (receive-only video transceivers).
        video: usize,
        /// Audio slots (receive-only audio transceivers).
        audio: usize,
    },
    /// In SFU mode: what each of the member's receive slots carries now.
    Assign {
        /// Its video slots.
        video: Vec<SlotAssign>,
        /// Its audio slots.
        audio: Vec<SlotAssign>,
    },
    /// In SFU mode: who speaks in the room, the most first, and who speaks most.
    Speaking {
        /// The members speaking now.
        speaking: Vec<PeerId>,
        /// The dominant speaker.
        dominant: Option<PeerId>,
    },
    /// Who runs the room changed (a co-host named or unnamed, the host gone and someone
    /// else host now); sent to every member.
    Hosts {
        /// The host first, then the co-hosts.
        hosts: Vec<PeerId>,
    },
    /// To a member who became the room's host: its host token.
    HostToken {
        /// The room.
        room: RoomName,
        /// The secret that makes it host again if it comes back.
        token: String,
    },
    /// Who is on everyone's stage changed: a host chose someone or nobody, or the one chosen
    /// left (`by` null); sent to every member.
    #[serde(rename = "spotlight")]
    SpotlightSet {
        /// The member on the stage.
        id: Option<PeerId>,
        /// The host who chose.
        by: Option<PeerId>,
    },
    /// A host set or cleared the meeting's password; sent to every member.
    Protected {
        /// Whether joining needs a password now.
        protected: bool,
        /// The host who did it.
        by: PeerId,
    },
    /// A host turned the waiting room on or off; sent to every member.
    #[serde(rename = "waiting_room")]
    WaitingRoomSet {
        /// Whether newcomers wait now.
        on: bool,
        /// The host who did it.
        by: PeerId,
    },
    /// To one who asked to join a room with a waiting room: it waits, in no room, until a
    /// host lets it in (`joined`) or turns it away (`denied`).
    Waiting {
        /// The room.
        room: RoomName,
    },
    /// To the hosts: who waits to be let in, whenever that changes.
    Knocking {
        /// The ones who wait, in the order they came.
        waiting: Vec<PeerInfo>,
    },
    /// To one who waited: a host turned it away, or the meeting ended first (`by` null).
    Denied {
        /// The room.
        room: RoomName,
        /// The host who did it.
        by: Option<PeerId>,
    },
    /// A host put the room on the room lists or took it off; sent to every member.
    Listed {
        /// Whether the lobby lists it now.
        listed: bool,
        /// The host who did it.
        by: PeerId,
    },
    /// A host locked or unlocked the room; sent to every member.
    Locked {
        /// Whether newcomers are kept out now.
        locked: bool,
        /// The host who did it.
        by: PeerId,
    },
    /// To a member a host removed from the room: it is in no room now.
    Removed {
        /// The room.
        room: RoomName,
        /// The host who removed it.
        by: PeerId,
    },
    /// The raised hands changed; sent to every member.
    Hands {
        /// The raised hands, in the order they went up.
        hands: Vec<PeerId>,
    },
    /// A member reacted; sent to every member, the sender included.
    Reaction {
        /// Who reacted.
        from: PeerId,
        /// One of [`REACTIONS`].
        emoji: String,
    },
    /// To a member a host muted: its microphone is off for everyone until it unmutes.
    Muted {
        /// The host who did it.
        by: PeerId,
    },
    /// To a muted member: a host asks it to unmute.
    UnmuteAsked {
        /// The host who asks.
        by: PeerId,
    },
    /// The host ended the meeting; sent to every member, who are in no room now.
    Ended {
        /// The room.
        room: RoomName,
        /// The host.
        by: PeerId,
    },
    /// A request was refused; the connection stays open.
    Error {
        /// What went wrong, for programs.
        code: ErrorCode,
        /// What went wrong, for people.
        message: String,
        /// The data behind it, for programs.
        #[serde(flatten)]
        details: ErrorDetails,
    },
}

/// What an `error` frame says beside its code, for programs, so that none has to read the
/// message: the limit that was reached, the rule that was broken, the peer that was named.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ErrorDetails {
    /// The limit reached: a room's size, the rooms a server holds, a length in characters or
    /// bytes, a count of candidates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    /// The rule a name or a text broke: `empty`, `blank`, `too_long`, `control_character`,
    /// `bidi` or `dots`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<&'static str>,
    /// The peer the request named, as it named it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
}

impl ErrorDetails {
    /// Details with the limit reached.
    pub fn limit(limit: usize) -> Self {
        ErrorDetails {
            limit: Some(limit),
            ..ErrorDetails::default()
        }
    }

    /// Details with the peer named.
    pub fn peer(peer: &str) -> Self {
        ErrorDetails {
            peer: Some(peer.to_owned()),
            ..ErrorDetails::default()
        }
    }
}

impl ServerMsg {
    /// Builds an `error` frame.
    pub fn error(code: ErrorCode, message: impl Into<String>) -> Self {
        ServerMsg::error_with(code, message, ErrorDetails::default())
    }

    /// Builds an `error` frame that carries `details`.
    pub fn error_with(code: ErrorCode, message: impl Into<String>, details: ErrorDetails) -> Self {
        ServerMsg::Error {
            code,
            message: message.into(),
            details,
        }
    }

    /// The frame as JSON text.
    pub fn encode(&self) -> String {
        // Every field is a string, number, bool, list or struct of those: serialising cannot fail.
        serde_json::to_string(self).expect("server frames always serialise")
    }
}

/// A WebSocket close frame the server sends, and why: the close codes of section 3.4 of
/// `docs/PROTOCOL.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Close {
    /// The WebSocket close code.
    pub code: u16,
    /// The close reason, for people.
    pub reason: &'static str,
}

impl Close {
    /// The client sent a binary frame; Room speaks text only.
    pub const UNSUPPORTED_DATA: Close = Close {
        code: 1003,
        reason: "binary frames are not supported",
    };
    /// A text frame was not valid UTF-8.
    pub const INVALID_PAYLOAD: Close = Close {
        code: 1007,
        reason: "text frame is not valid UTF-8",
    };
    /// The client fell so far behind that its queue overflowed.
    pub const TOO_SLOW: Close = Close {
        code: 1008,
        reason: "too slow: outgoing queue overflowed",
    };
    /// A message was over the size limit.
    pub const TOO_BIG: Close = Close {
        code: 1009,
        reason: "message too big",
    };
    /// The client broke the WebSocket protocol.
    pub const PROTOCOL_ERROR: Close = Close {
        code: 1002,
        reason: "protocol error",
    };
    /// The server is shutting down.
    pub const GOING_AWAY: Close = Close {
        code: 1001,
        reason: "server shutting down",
    };
    /// The client answered no ping for too long.
    pub const IDLE: Close = Close {
        code: 1001,
        reason: "no answer to pings",
    };
    /// A message came in more fragments than any client needs.
    pub const TOO_MANY_FRAGMENTS: Close = Close {
        code: 1009,
        reason: "message in too many fragments",
    };
    /// Another connection resumed this one's membership: this one is stale.
    pub const REPLACED: Close = Close {
        code: 4000,
        reason: "resumed on another connection",
    };
    /// The client went on sending faster than the rate limit after being told.
    pub const RATE_LIMITED: Close = Close {
        code: 1008,
        reason: "rate limit exceeded",
    };
}

/// The `code` of an `error` frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The frame was not JSON.
    BadJson,
    /// The frame was JSON but not a message of this protocol.
    BadMessage,
    /// The nickname breaks the naming rules.
    InvalidNickname,
    /// The room name breaks the naming rules.
    InvalidRoom,
    /// The chat text is blank, too long or has control characters.
    InvalidText,
    /// The request needs the sender to be in a room.
    NotInRoom,
    /// The addressed peer is not in the sender's room.
    UnknownPeer,
    /// The room has as many members as it may hold.
    RoomFull,
    /// The server holds as many rooms as it may; joining an existing room still works.
    TooManyRooms,
    /// An SDP or a candidate is larger than the server relays.
    SignalTooBig,
    /// More candidates to one peer than one negotiation needs; a new offer or answer resets
    /// the count.
    TooManyCandidates,
    /// The connection sends faster than the server accepts; the frame was dropped. Going on
    /// closes the connection with 1008.
    RateLimited,
    /// A call message of the other media mode: `offer`, `answer` or `candidate` to a server
    /// in SFU mode, `sfu_offer` or `view` to one in mesh mode.
    WrongMediaMode,
    /// The media server could not set up or keep the sender's connection.
    MediaFailed,
    /// Only a host (or, for some requests, only the host) may do that.
    NotHost,
    /// The room is locked: only its host, coming back with its host token, may join.
    RoomLocked,
    /// A reaction that is none of the few a member may send.
    InvalidReaction,
    /// The meeting has a password and the join brought none.
    PasswordRequired,
    /// The join's password is not the meeting's.
    WrongPassword,
    /// A password a host set breaks the rules (at most 64 characters, no control characters).
    InvalidPassword,
    /// An `admit` or `deny` of someone who is not waiting.
    NotWaiting,
    /// A reaction sooner than [`REACTION_EVERY`] after the last; it was dropped.
    TooManyReactions,
    /// A `resume` the server cannot honour: the member is gone (its grace ran out, or it
    /// never was), the token is not its own, or the connection is in a room already. Join
    /// again instead.
    ResumeFailed,
}

/// Why a text frame could not be read as a [`ClientMsg`].
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// Not JSON at all, such as the plain text the original tutorial client sends.
    #[error("not JSON: {0}")]
    BadJson(serde_json::Error),
    /// JSON, but not an object with a known `type` and the fields that type needs.
    #[error("not a protocol message: {0}")]
    BadMessage(serde_json::Error),
}

impl DecodeError {
    /// The `error` frame that answers this.
    pub fn reply(&self) -> ServerMsg {
        match self {
            DecodeError::BadJson(_) => ServerMsg::error(ErrorCode::BadJson, self.to_string()),
            DecodeError::BadMessage(_) => ServerMsg::error(ErrorCode::BadMessage, self.to_string()),
        }
    }
}

/// Reads one text frame.
pub fn decode(text: &str) -> Result<ClientMsg, DecodeError> {
    // The common case in one pass: an object that is a valid message.
    if text.trim_start().starts_with('{') {
        if let Ok(msg) = serde_json::from_str(text) {
            return Ok(msg);
        }
    }
    // Anything else is refused, and the refusal says why. Two steps, because serde stops at the
    // first problem: `{} trailing` fails on the missing `type` before it reaches the text that
    // makes it no JSON at all.
    let value: serde_json::Value = serde_json::from_str(text).map_err(DecodeError::BadJson)?;
    from_object(value).map_err(DecodeError::BadMessage)
}

/// Reads `T` from a JSON object and from nothing else.
///
/// serde also reads a struct or a tagged enum from the list of its fields in order, so
/// `["join","hall"]` would be a join; the protocol has objects only.
fn from_object<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let object = serde_json::Map::deserialize(deserializer)?;
    T::deserialize(serde_json::Value::Object(object)).map_err(de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn client_frames_decode_by_their_type_tag() {
        assert_eq!(
            decode(r#"{"type":"join","room":"회의"}"#).unwrap(),
            ClientMsg::Join {
                room: "회의".into(),
                host_token: None,
                listed: None,
                password: None,
            }
        );
        assert_eq!(
            decode(r#"{"type":"join","room":"a","host_token":"ff"}"#).unwrap(),
            ClientMsg::Join {
                room: "a".into(),
                host_token: Some("ff".into()),
                listed: None,
                password: None,
            }
        );
        assert_eq!(decode(r#"{"type":"end"}"#).unwrap(), ClientMsg::End);
        assert_eq!(
            decode(r#"{"type":"cohost","id":"p2","cohost":true}"#).unwrap(),
            ClientMsg::Cohost {
                id: "p2".into(),
                cohost: true,
            }
        );
        assert_eq!(decode(r#"{"type":"leave"}"#).unwrap(), ClientMsg::Leave);
        let candidate = decode(
            r#"{"type":"candidate","to":"p1","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 5000 typ host","sdpMid":"0","sdpMLineIndex":0}}"#,
        )
        .unwrap();
        let ClientMsg::Candidate { candidate, .. } = candidate else {
            panic!("decoded {candidate:?}");
        };
        assert_eq!(candidate.sdp_mid.as_deref(), Some("0"));
        assert_eq!(candidate.sdp_m_line_index, Some(0));
    }

    #[test]
    fn unknown_fields_such_as_a_spoofed_from_are_ignored() {
        assert_eq!(
            decode(r#"{"type":"offer","to":"p2","sdp":"v=0","from":"p9"}"#).unwrap(),
            ClientMsg::Offer {
                to: "p2".into(),
                sdp: "v=0".into()
            }
        );
    }

    #[test]
    fn text_that_is_not_json_is_bad_json() {
        for text in ["Hello!!!", "", "{", r#"{"type":"chat","#, "{} trailing"] {
            assert!(
                matches!(decode(text), Err(DecodeError::BadJson(_))),
                "{text:?}"
            );
        }
    }

    #[test]
    fn json_of_the_wrong_shape_is_bad_message() {
        for text in [
            "42",
            "[]",
            "null",
            r#"{"text":"no type"}"#,
            r#"{"type":"dance"}"#,
            r#"{"type":"chat"}"#,
            r#"{"type":"chat","text":7}"#,
            r#"{"type":"media","audio":"yes","video":true}"#,
            r#"["leave"]"#,
            r#"["join","hall"]"#,
            r#"{"type":"candidate","to":"p1","candidate":null}"#,
            r#"{"type":"candidate","to":"p1","candidate":["candidate:1",null,null,null]}"#,
        ] {
            assert!(
                matches!(decode(text), Err(DecodeError::BadMessage(_))),
                "{text:?}"
            );
        }
    }

    #[test]
    fn server_frames_carry_their_type_and_flatten_chat_entries() {
        let chat = ServerMsg::Chat(ChatEntry {
            seq: 3,
            from: PeerId::new(1),
            name: Nickname::parse("민수").unwrap(),
            text: "안녕 👋".into(),
            ts: 1_700_000_000_000,
        });
        let value: serde_json::Value = serde_json::from_str(&chat.encode()).unwrap();
        assert_eq!(
            value,
            json!({"type":"chat","seq":3,"from":"p1","name":"민수","text":"안녕 👋","ts":1_700_000_000_000u64})
        );
        let error: serde_json::Value =
            serde_json::from_str(&ServerMsg::error(ErrorCode::RoomFull, "full").encode()).unwrap();
        assert_eq!(
            error,
            json!({"type":"error","code":"room_full","message":"full"})
        );
    }
}
