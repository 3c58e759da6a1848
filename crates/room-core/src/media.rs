//! What the room core and the media server say to each other in SFU mode.
//!
//! The core decides who is in which room and checks every client frame; the media server (the
//! `room` package's media thread, with the decisions of `room-media`) carries the media. The
//! core hands it [`MediaCommand`]s ([`crate::rooms::Rooms::take_media_commands`]) and turns what
//! it reports ([`MediaEvent`], through [`crate::rooms::Rooms::handle_media`]) into frames for
//! the members.

use serde::{Deserialize, Serialize};

use crate::names::{PeerId, RoomName};

/// One member's stay in one room's call. Every join starts a new one, so what the media server
/// says of an earlier stay (an answer that crossed a leave and a join) is told apart from what
/// it says of the current one, and dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CallId(pub u64);

/// How a server carries the calls' media.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaMode {
    /// Through the server: every member has one peer connection, to the server.
    Sfu,
    /// Peer to peer: every member has a connection to every other member.
    Mesh,
}

/// What a track a member sends carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackSource {
    /// The microphone.
    Audio,
    /// The camera, sent in three simulcast layers.
    Camera,
    /// A shared screen, one layer.
    Screen,
}

/// One track of an offer: its `mid` and what it carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackInfo {
    /// The media description's `mid`, as in the SDP.
    pub mid: String,
    /// What it carries.
    pub source: TrackSource,
}

/// How a receive slot is drawn, as the member reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotSize {
    /// Width in CSS pixels.
    pub width: u32,
    /// Height in CSS pixels.
    pub height: u32,
    /// Whether it is on screen.
    pub visible: bool,
}

/// A receive slot's size, by the slot's `mid`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotView {
    /// The slot (its `mid`).
    pub slot: String,
    /// How it is drawn.
    #[serde(flatten)]
    pub size: SlotSize,
}

/// What one receive slot carries now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SlotAssign {
    /// The slot (its `mid`).
    pub slot: String,
    /// The member it carries, or `None` for nobody.
    pub member: Option<PeerId>,
    /// What of the member, for video slots.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<TrackSource>,
}

/// What the core asks of the media server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaCommand {
    /// `member` is in `room` now.
    Join {
        /// The member.
        member: PeerId,
        /// Its room.
        room: RoomName,
        /// Its stay there.
        call: CallId,
    },
    /// `member` left its room, or is gone.
    Leave {
        /// The member.
        member: PeerId,
    },
    /// `member` offers its connection: its SDP and what each track it sends carries.
    Offer {
        /// The member.
        member: PeerId,
        /// The SDP offer.
        sdp: String,
        /// Its tracks.
        tracks: Vec<TrackInfo>,
    },
    /// How `member` draws its receive slots.
    View {
        /// The member.
        member: PeerId,
        /// The slots' sizes.
        slots: Vec<SlotView>,
    },
    /// Whether `member`'s microphone is forwarded: a host muted it, or it unmuted itself.
    Silence {
        /// The member.
        member: PeerId,
        /// Whether nobody is to hear it.
        silenced: bool,
    },
    /// `member` has a new connection to the core (it resumed): what its slots are and carry
    /// is to be said again, as what was said meanwhile was lost.
    Resync {
        /// The member.
        member: PeerId,
    },
}

/// What the media server reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaEvent {
    /// The answer to `member`'s offer.
    Answer {
        /// The member.
        member: PeerId,
        /// Its stay in the call the answer is for.
        call: CallId,
        /// The SDP answer.
        sdp: String,
    },
    /// `member` should receive through this many slots of each kind.
    Slots {
        /// The member.
        member: PeerId,
        /// Its stay in the call.
        call: CallId,
        /// Video slots.
        video: usize,
        /// Audio slots.
        audio: usize,
    },
    /// What `member`'s slots carry now.
    Assign {
        /// The member.
        member: PeerId,
        /// Its stay in the call.
        call: CallId,
        /// Its video slots.
        video: Vec<SlotAssign>,
        /// Its audio slots.
        audio: Vec<SlotAssign>,
    },
    /// Who speaks in `room`, the most first, and who speaks most.
    Speaking {
        /// The room.
        room: RoomName,
        /// The members speaking now.
        speaking: Vec<PeerId>,
        /// The dominant speaker.
        dominant: Option<PeerId>,
    },
    /// `member`'s media could not be set up or broke.
    Failed {
        /// The member.
        member: PeerId,
        /// Its stay in the call.
        call: CallId,
        /// Why, for people.
        reason: String,
    },
}
