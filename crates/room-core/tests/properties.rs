//! Property tests: the protocol parser and the room core take arbitrary input without panicking,
//! and the core keeps its invariants (one room per member, counts that match, `seq` that grows).
//!
//! The room core is driven with random sequences of connections, disconnections and requests.
//! A model of what every client has been told, built only from the frames the core returns, is
//! compared with the core's own view ([`Rooms::room_of`], [`Rooms::room_list`]) after every step.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use proptest::sample::{select, Index};
use serde_json::{json, Map, Value};

use room_core::chat::{check_text, HISTORY_LEN, TEXT_MAX_CHARS};
use room_core::entropy::Sequence;
use room_core::media::{MediaCommand, MediaMode, SlotSize, SlotView, TrackInfo, TrackSource};
use room_core::names::{Nickname, PeerId, RoomName, NICKNAME_MAX_CHARS, ROOM_NAME_MAX_CHARS};
use room_core::protocol::{
    decode, ClientMsg, DecodeError, ErrorCode, IceCandidate, RoomInfo, RoomState, ServerMsg,
    VERSION,
};
use room_core::rooms::{Ending, Limits, Outgoing, Rooms, To};
use room_core::time::{Now, Tick, UnixMillis};

// --- the parser ---

/// The `type` tags of the client frames.
const TAGS: [&str; 10] = [
    "nickname",
    "join",
    "leave",
    "chat",
    "offer",
    "answer",
    "candidate",
    "media",
    "sfu_offer",
    "view",
];

/// Field names of client frames and of IceCandidate, so random objects often hit them.
const FIELDS: [&str; 20] = [
    "type",
    "name",
    "room",
    "text",
    "to",
    "sdp",
    "candidate",
    "audio",
    "video",
    "from",
    "sdpMid",
    "sdpMLineIndex",
    "usernameFragment",
    "tracks",
    "mid",
    "source",
    "slots",
    "slot",
    "width",
    "height",
];

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![select(&FIELDS[..]).prop_map(String::from), ".{0,6}"]
}

/// Any JSON value, nested a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        // Not-finite floats become null, as serde_json has no other JSON for them.
        any::<f64>().prop_map(Value::from),
        (0u64..=70_000).prop_map(Value::from),
        select(&TAGS[..]).prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(field_name(), inner, 0..6)
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

fn ice_candidate() -> impl Strategy<Value = IceCandidate> {
    (
        any::<String>(),
        any::<Option<String>>(),
        any::<Option<u16>>(),
        any::<Option<String>>(),
    )
        .prop_map(
            |(candidate, sdp_mid, sdp_m_line_index, username_fragment)| IceCandidate {
                candidate,
                sdp_mid,
                sdp_m_line_index,
                username_fragment,
            },
        )
}

/// Any client frame with fields of the right types.
fn client_msg() -> impl Strategy<Value = ClientMsg> {
    prop_oneof![
        any::<String>().prop_map(|name| ClientMsg::Nickname { name }),
        (
            any::<String>(),
            proptest::option::of(any::<String>()),
            proptest::option::of(any::<bool>()),
            proptest::option::of(any::<String>())
        )
            .prop_map(|(room, host_token, listed, password)| ClientMsg::Join {
                room,
                host_token,
                listed,
                password
            }),
        Just(ClientMsg::Leave),
        any::<String>().prop_map(|text| ClientMsg::Chat { text }),
        (any::<String>(), any::<String>()).prop_map(|(to, sdp)| ClientMsg::Offer { to, sdp }),
        (any::<String>(), any::<String>()).prop_map(|(to, sdp)| ClientMsg::Answer { to, sdp }),
        (any::<String>(), ice_candidate())
            .prop_map(|(to, candidate)| ClientMsg::Candidate { to, candidate }),
        (any::<bool>(), any::<bool>()).prop_map(|(audio, video)| ClientMsg::Media {
            audio,
            video,
            screen: false,
        }),
        (any::<String>(), prop::collection::vec(track_info(), 0..4))
            .prop_map(|(sdp, tracks)| ClientMsg::SfuOffer { sdp, tracks }),
        prop::collection::vec(slot_view(), 0..4).prop_map(|slots| ClientMsg::View { slots }),
        any::<bool>().prop_map(|locked| ClientMsg::Lock { locked }),
        any::<String>().prop_map(|id| ClientMsg::Remove { id }),
        (any::<String>(), any::<bool>()).prop_map(|(id, cohost)| ClientMsg::Cohost { id, cohost }),
        Just(ClientMsg::End),
        any::<String>().prop_map(|id| ClientMsg::Mute { id }),
        Just(ClientMsg::MuteAll),
        any::<String>().prop_map(|id| ClientMsg::AskUnmute { id }),
        any::<bool>().prop_map(|raised| ClientMsg::Hand { raised }),
        any::<String>().prop_map(|id| ClientMsg::LowerHand { id }),
        any::<String>().prop_map(|emoji| ClientMsg::React { emoji }),
        any::<bool>().prop_map(|listed| ClientMsg::List { listed }),
        proptest::option::of(any::<String>()).prop_map(|password| ClientMsg::Password { password }),
        any::<bool>().prop_map(|on| ClientMsg::WaitingRoom { on }),
        any::<String>().prop_map(|id| ClientMsg::Admit { id }),
        any::<String>().prop_map(|id| ClientMsg::Deny { id }),
        proptest::option::of(any::<String>()).prop_map(|id| ClientMsg::Spotlight { id }),
    ]
}

fn track_info() -> impl Strategy<Value = TrackInfo> {
    let source = select(vec![
        TrackSource::Audio,
        TrackSource::Camera,
        TrackSource::Screen,
    ]);
    (any::<String>(), source).prop_map(|(mid, source)| TrackInfo { mid, source })
}

fn slot_view() -> impl Strategy<Value = SlotView> {
    (any::<String>(), any::<u32>(), any::<u32>(), any::<bool>()).prop_map(
        |(slot, width, height, visible)| SlotView {
            slot,
            size: SlotSize {
                width,
                height,
                visible,
            },
        },
    )
}

/// The JSON object a client sends for `msg`.
fn wire_form(msg: &ClientMsg) -> Value {
    match msg {
        ClientMsg::Nickname { name } => json!({"type": "nickname", "name": name}),
        ClientMsg::Join {
            room,
            host_token,
            listed,
            password,
        } => {
            let mut frame = json!({"type": "join", "room": room});
            if let Some(password) = password {
                frame["password"] = json!(password);
            }
            if let Some(token) = host_token {
                frame["host_token"] = json!(token);
            }
            if let Some(listed) = listed {
                frame["listed"] = json!(listed);
            }
            frame
        }
        ClientMsg::Leave => json!({"type": "leave"}),
        ClientMsg::Chat { text } => json!({"type": "chat", "text": text}),
        ClientMsg::Offer { to, sdp } => json!({"type": "offer", "to": to, "sdp": sdp}),
        ClientMsg::Answer { to, sdp } => json!({"type": "answer", "to": to, "sdp": sdp}),
        ClientMsg::Candidate { to, candidate } => {
            json!({"type": "candidate", "to": to, "candidate": candidate})
        }
        ClientMsg::Media {
            audio,
            video,
            screen,
        } => json!({"type": "media", "audio": audio, "video": video, "screen": screen}),
        // `tracks` may be left out when there are none.
        ClientMsg::SfuOffer { sdp, tracks } if tracks.is_empty() => {
            json!({"type": "sfu_offer", "sdp": sdp})
        }
        ClientMsg::SfuOffer { sdp, tracks } => {
            json!({"type": "sfu_offer", "sdp": sdp, "tracks": tracks})
        }
        ClientMsg::View { slots } => json!({"type": "view", "slots": slots}),
        ClientMsg::Lock { locked } => json!({"type": "lock", "locked": locked}),
        ClientMsg::Remove { id } => json!({"type": "remove", "id": id}),
        ClientMsg::Cohost { id, cohost } => json!({"type": "cohost", "id": id, "cohost": cohost}),
        ClientMsg::End => json!({"type": "end"}),
        ClientMsg::Mute { id } => json!({"type": "mute", "id": id}),
        ClientMsg::MuteAll => json!({"type": "mute_all"}),
        ClientMsg::AskUnmute { id } => json!({"type": "ask_unmute", "id": id}),
        ClientMsg::Hand { raised } => json!({"type": "hand", "raised": raised}),
        ClientMsg::LowerHand { id } => json!({"type": "lower_hand", "id": id}),
        ClientMsg::React { emoji } => json!({"type": "react", "emoji": emoji}),
        ClientMsg::List { listed } => json!({"type": "list", "listed": listed}),
        ClientMsg::Password { password } => json!({"type": "password", "password": password}),
        ClientMsg::WaitingRoom { on } => json!({"type": "waiting_room", "on": on}),
        ClientMsg::Admit { id } => json!({"type": "admit", "id": id}),
        ClientMsg::Deny { id } => json!({"type": "deny", "id": id}),
        ClientMsg::Spotlight { id } => json!({"type": "spotlight", "id": id}),
        ClientMsg::Resume {
            id,
            token,
            last_seq,
        } => json!({"type": "resume", "id": id, "token": token, "last_seq": last_seq}),
    }
}

/// An IceCandidate as the list of its fields in order, which serde would read as the struct.
fn candidate_as_list(candidate: &IceCandidate) -> Value {
    json!([
        candidate.candidate,
        candidate.sdp_mid,
        candidate.sdp_m_line_index,
        candidate.username_fragment
    ])
}

/// A client frame as a list: the tag, then its fields in order, which serde would read as the
/// frame.
fn frame_as_list(msg: &ClientMsg) -> Value {
    let tag = msg.kind();
    match msg {
        ClientMsg::Nickname { name: text }
        | ClientMsg::Join { room: text, .. }
        | ClientMsg::Chat { text } => json!([tag, text]),
        ClientMsg::Leave | ClientMsg::End | ClientMsg::MuteAll => json!([tag]),
        ClientMsg::Lock { locked } => json!([tag, locked]),
        ClientMsg::Remove { id }
        | ClientMsg::Mute { id }
        | ClientMsg::AskUnmute { id }
        | ClientMsg::LowerHand { id }
        | ClientMsg::Admit { id }
        | ClientMsg::Deny { id } => json!([tag, id]),
        ClientMsg::Password { password } => json!([tag, password]),
        ClientMsg::Spotlight { id } => json!([tag, id]),
        ClientMsg::WaitingRoom { on } => json!([tag, on]),
        ClientMsg::Hand { raised } | ClientMsg::List { listed: raised } => json!([tag, raised]),
        ClientMsg::React { emoji } => json!([tag, emoji]),
        ClientMsg::Cohost { id, cohost } => json!([tag, id, cohost]),
        ClientMsg::Offer { to, sdp } | ClientMsg::Answer { to, sdp } => json!([tag, to, sdp]),
        ClientMsg::Candidate { to, candidate } => {
            json!([tag, to, candidate_as_list(candidate)])
        }
        ClientMsg::Media {
            audio,
            video,
            screen,
        } => json!([tag, audio, video, screen]),
        ClientMsg::SfuOffer { sdp, tracks } => json!([tag, sdp, tracks]),
        ClientMsg::View { slots } => json!([tag, slots]),
        ClientMsg::Resume {
            id,
            token,
            last_seq,
        } => json!([tag, id, token, last_seq]),
    }
}

/// What a required field of a client frame must hold.
#[derive(Debug, Clone, Copy)]
enum Shape {
    String,
    Bool,
    Object,
    Array,
}

impl Shape {
    fn fits(self, value: &Value) -> bool {
        match self {
            Shape::String => value.is_string(),
            Shape::Bool => value.is_boolean(),
            Shape::Object => value.is_object(),
            Shape::Array => value.is_array(),
        }
    }
}

/// The required fields of the frame with tag `tag`.
fn required_fields(tag: &str) -> &'static [(&'static str, Shape)] {
    match tag {
        "nickname" => &[("name", Shape::String)],
        "join" => &[("room", Shape::String)],
        "chat" => &[("text", Shape::String)],
        "offer" | "answer" => &[("to", Shape::String), ("sdp", Shape::String)],
        "candidate" => &[("to", Shape::String), ("candidate", Shape::Object)],
        "media" => &[("audio", Shape::Bool), ("video", Shape::Bool)],
        "sfu_offer" => &[("sdp", Shape::String)],
        "view" => &[("slots", Shape::Array)],
        _ => &[],
    }
}

/// A well-formed frame with 1 to 3 fields set to arbitrary values or removed.
fn near_miss() -> impl Strategy<Value = Value> {
    let edit = (field_name(), prop::option::of(json_value()));
    (client_msg(), prop::collection::vec(edit, 1..4)).prop_map(|(msg, edits)| {
        let mut frame = wire_form(&msg);
        let object = frame.as_object_mut().expect("a wire form is an object");
        for (field, value) in edits {
            // The tag stays valid: what is being tested is the fields behind it.
            if field == "type" {
                continue;
            }
            match value {
                Some(value) => object.insert(field, value),
                None => object.remove(&field),
            };
        }
        frame
    })
}

/// A well-formed frame with one required field removed or of the wrong type.
fn ill_typed() -> impl Strategy<Value = Value> {
    let wrong = prop::option::of(prop_oneof![
        json_value(),
        ice_candidate().prop_map(|candidate| candidate_as_list(&candidate)),
    ]);
    (client_msg(), any::<Index>(), wrong).prop_filter_map(
        "leave has no required field",
        |(msg, which, wrong)| {
            let required = required_fields(msg.kind());
            if required.is_empty() {
                return None;
            }
            let (field, shape) = required[which.index(required.len())];
            let mut frame = wire_form(&msg);
            let object = frame.as_object_mut().expect("a wire form is an object");
            match wrong {
                Some(value) if shape.fits(&value) => return None,
                Some(value) => object.insert(field.to_owned(), value),
                None => object.remove(field),
            };
            Some(frame)
        },
    )
}

/// JSON text, whole or damaged: cut short, or with one character put in.
fn json_like_text() -> impl Strategy<Value = String> {
    (
        json_value(),
        any::<Index>(),
        prop::option::of(any::<char>()),
    )
        .prop_map(|(value, at, insert)| {
            let text = value.to_string();
            let boundaries: Vec<usize> = text
                .char_indices()
                .map(|(i, _)| i)
                .chain([text.len()])
                .collect();
            let at = boundaries[at.index(boundaries.len())];
            match insert {
                Some(c) => format!("{}{c}{}", &text[..at], &text[at..]),
                None => text[..at].to_owned(),
            }
        })
}

/// `a` is `b` or, for objects, has a subset of `b`'s fields with the same values.
fn is_subset(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => a
            .iter()
            .all(|(key, value)| b.get(key).is_some_and(|other| is_subset(value, other))),
        _ => a == b,
    }
}

/// Decodes `text` and checks what came out; returns the frame if it was one.
///
/// A refusal must be `bad_json` exactly when the text is not JSON, and its reply must be an
/// `error` frame with that code. A decoded frame must be a JSON object whose fields it copies,
/// and its own wire form must decode to it again.
fn decode_checked(text: &str) -> Option<ClientMsg> {
    let json = serde_json::from_str::<Value>(text).ok();
    match decode(text) {
        Ok(msg) => {
            let value = json.expect("only JSON decodes");
            assert!(
                is_subset(&wire_form(&msg), &value),
                "{text:?} decoded as {msg:?}, which is not what it says"
            );
            let again = decode(&wire_form(&msg).to_string()).ok();
            assert_eq!(
                again.as_ref(),
                Some(&msg),
                "its wire form decodes to something else"
            );
            Some(msg)
        }
        Err(err) => {
            assert_eq!(
                matches!(err, DecodeError::BadJson(_)),
                json.is_none(),
                "{text:?} refused as {err:?}"
            );
            let code = if json.is_none() {
                "bad_json"
            } else {
                "bad_message"
            };
            let reply: Value =
                serde_json::from_str(&err.reply().encode()).expect("replies are JSON");
            assert_eq!(
                reply,
                json!({"type": "error", "code": code, "message": err.to_string()})
            );
            assert!(!err.to_string().is_empty());
            None
        }
    }
}

proptest! {
    /// decode: arbitrary text never panics, and only JSON can be bad_message.
    #[test]
    fn decoding_arbitrary_text_never_panics(text in any::<String>()) {
        decode_checked(&text);
    }

    /// decode: JSON cut short or with a stray character never panics.
    #[test]
    fn decoding_damaged_json_never_panics(text in json_like_text()) {
        decode_checked(&text);
    }

    /// decode: any JSON value is at worst bad_message, and a decoded one has its tag as `type`.
    #[test]
    fn decoding_arbitrary_json_never_panics(value in json_value()) {
        if let Some(msg) = decode_checked(&value.to_string()) {
            prop_assert_eq!(&value["type"], msg.kind());
        }
    }

    /// decode: a well-formed frame of every type decodes to exactly the message it encodes.
    #[test]
    fn well_formed_frames_decode_to_their_message(msg in client_msg()) {
        let text = wire_form(&msg).to_string();
        prop_assert_eq!(decode_checked(&text), Some(msg));
    }

    /// decode: a valid tag with fields changed or removed never panics; what decodes keeps its tag.
    #[test]
    fn frames_with_arbitrary_fields_never_panic(frame in near_miss()) {
        if let Some(msg) = decode_checked(&frame.to_string()) {
            prop_assert_eq!(&frame["type"], msg.kind());
        }
    }

    /// decode: a required field that is missing or of the wrong type is bad_message.
    #[test]
    fn a_missing_or_ill_typed_required_field_is_bad_message(frame in ill_typed()) {
        let text = frame.to_string();
        prop_assert!(
            matches!(decode(&text), Err(DecodeError::BadMessage(_))),
            "{} decoded as {:?}", text, decode(&text)
        );
    }

    /// decode: JSON that is not an object is bad_message, even a frame's fields as a list.
    #[test]
    fn json_that_is_not_an_object_is_bad_message(
        value in prop_oneof![
            json_value().prop_filter("an object", |value| !value.is_object()),
            client_msg().prop_map(|msg| frame_as_list(&msg)),
        ],
    ) {
        let text = value.to_string();
        prop_assert!(
            matches!(decode(&text), Err(DecodeError::BadMessage(_))),
            "{} decoded as {:?}", text, decode(&text)
        );
    }

    /// decode: a frame whose `type` is not a client tag (or not a string) is bad_message.
    #[test]
    fn an_unknown_type_is_bad_message(
        tag in json_value().prop_filter("a client tag", |tag| {
            !tag.as_str().is_some_and(|tag| TAGS.contains(&tag))
        }),
        fields in prop::collection::btree_map(field_name(), json_value(), 0..4),
    ) {
        let mut object: Map<String, Value> = fields.into_iter().collect();
        object.insert("type".into(), tag);
        let text = Value::Object(object).to_string();
        prop_assert!(matches!(decode(&text), Err(DecodeError::BadMessage(_))), "{}", text);
    }

    /// decode: deeply nested JSON, in a frame or alone, is refused without a stack overflow.
    #[test]
    fn deeply_nested_json_never_panics(depth in 0usize..5_000, in_frame in any::<bool>()) {
        let nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let text = if in_frame {
            format!(r#"{{"type":"join","room":{nested}}}"#)
        } else {
            nested
        };
        prop_assert_eq!(decode_checked(&text), None);
    }
}

// --- the room core ---

/// A connection chosen when the step runs.
#[derive(Debug, Clone)]
enum Peer {
    /// One of the connections open at that moment.
    Connected(Index),
    /// `p<n>`: open, closed or never handed out.
    Numbered(u64),
}

/// Who a signalling frame is addressed to.
#[derive(Debug, Clone)]
enum Addressee {
    /// One of the connections open at that moment, perhaps the sender itself.
    Connected(Index),
    /// One of the other members of the sender's room, or the sender when it has none.
    RoomMate(Index),
    /// The sender.
    Sender,
    /// Any text, well-formed id or not.
    Raw(String),
}

/// A request, with its addressee still to resolve.
#[derive(Debug, Clone)]
enum Request {
    Nickname(String),
    Join(String),
    Leave,
    Chat(String),
    Offer(Addressee, String),
    Answer(Addressee, String),
    Candidate(Addressee, IceCandidate),
    Media(bool, bool),
    SfuOffer(String),
    View(Vec<SlotView>),
}

/// One step of a run.
#[derive(Debug, Clone)]
enum Op {
    Connect,
    Disconnect(Peer),
    /// `from` sends `request` after `wait` milliseconds.
    Send {
        from: Peer,
        request: Request,
        wait: u64,
    },
}

fn room_name() -> impl Strategy<Value = String> {
    // Few valid names, so rooms fill up and members meet; " a " is "a" once trimmed.
    let valid = ["a", "b", " a ", "회의 🎥"].map(String::from).to_vec();
    let mut odd: Vec<String> = ["", " \t ", ".", "..", "x\u{1b}[31m"]
        .map(String::from)
        .to_vec();
    odd.push("방".repeat(ROOM_NAME_MAX_CHARS));
    odd.push("r".repeat(ROOM_NAME_MAX_CHARS + 1));
    prop_oneof![4 => select(valid), 1 => select(odd)]
}

fn nickname() -> impl Strategy<Value = String> {
    let mut names: Vec<String> = ["Ann", " Bob ", "민수", "", "  ", "a\nb"]
        .map(String::from)
        .to_vec();
    names.push("가".repeat(NICKNAME_MAX_CHARS));
    names.push("n".repeat(NICKNAME_MAX_CHARS + 1));
    prop_oneof![select(names), ".{0,4}"]
}

fn chat_text() -> impl Strategy<Value = String> {
    let mut texts: Vec<String> = [
        "hi",
        "line one\nline two\tend",
        " \n\t ",
        "",
        "bell\u{7}",
        "fake\r\nlog",
    ]
    .map(String::from)
    .to_vec();
    texts.push("한".repeat(TEXT_MAX_CHARS));
    texts.push("a".repeat(TEXT_MAX_CHARS + 1));
    prop_oneof![1 => select(texts), 3 => ".{0,8}"]
}

fn addressee() -> impl Strategy<Value = Addressee> {
    let raw = [
        "p0",
        "p01",
        "p+1",
        "P1",
        "p1 ",
        "p99",
        "",
        "bob",
        "p18446744073709551616",
    ]
    .map(String::from)
    .to_vec();
    prop_oneof![
        4 => any::<Index>().prop_map(Addressee::RoomMate),
        2 => any::<Index>().prop_map(Addressee::Connected),
        1 => Just(Addressee::Sender),
        1 => (0u64..12).prop_map(|n| Addressee::Raw(format!("p{n}"))),
        1 => select(raw).prop_map(Addressee::Raw),
    ]
}

fn request() -> impl Strategy<Value = Request> {
    prop_oneof![
        1 => nickname().prop_map(Request::Nickname),
        4 => room_name().prop_map(Request::Join),
        1 => Just(Request::Leave),
        4 => chat_text().prop_map(Request::Chat),
        1 => (addressee(), ".{0,4}").prop_map(|(to, sdp)| Request::Offer(to, sdp)),
        1 => (addressee(), ".{0,4}").prop_map(|(to, sdp)| Request::Answer(to, sdp)),
        1 => (addressee(), ice_candidate()).prop_map(|(to, candidate)| Request::Candidate(to, candidate)),
        1 => (any::<bool>(), any::<bool>()).prop_map(|(audio, video)| Request::Media(audio, video)),
        1 => ".{0,4}".prop_map(Request::SfuOffer),
        1 => prop::collection::vec(slot_view(), 0..3).prop_map(Request::View),
    ]
}

fn peer() -> impl Strategy<Value = Peer> {
    prop_oneof![
        6 => any::<Index>().prop_map(Peer::Connected),
        1 => (0u64..12).prop_map(Peer::Numbered),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => Just(Op::Connect),
        1 => peer().prop_map(Op::Disconnect),
        8 => (peer(), request(), 0u64..1_000)
            .prop_map(|(from, request, wait)| Op::Send { from, request, wait }),
    ]
}

/// The peer with wire form `p<n>`.
fn numbered(n: u64) -> PeerId {
    PeerId::parse(&format!("p{n}")).expect("p<n> is a well-formed id")
}

/// What one client has been told.
#[derive(Debug, Default)]
struct View {
    /// The room list as it knows it: from `welcome` or `rooms`, kept up to date by `room`.
    rooms: Vec<RoomInfo>,
    /// Its room, from `joined` and `left`.
    room: Option<RoomName>,
    /// The other members of its room, from `joined`, `peer_joined` and `peer_left`.
    others: BTreeSet<PeerId>,
    /// The last chat `seq` it saw in its room, in `joined.history` or `chat`.
    seq: u64,
}

/// Every client's view, built from the frames alone, and checked against the core.
#[derive(Debug)]
struct Model {
    max_room_size: usize,
    max_rooms: usize,
    private_rooms: bool,
    media: MediaMode,
    /// Who the media server was told is in which room, from its commands alone.
    media_rooms: BTreeMap<PeerId, RoomName>,
    /// The open connections.
    views: BTreeMap<PeerId, View>,
    /// Every id handed out so far.
    issued: BTreeSet<PeerId>,
    /// The last `seq` of each existing room that has had a chat message.
    transcripts: BTreeMap<RoomName, u64>,
}

impl Model {
    fn new(limits: Limits) -> Self {
        Model {
            max_room_size: limits.max_room_size,
            max_rooms: limits.max_rooms,
            private_rooms: limits.private_rooms,
            media: limits.media,
            media_rooms: BTreeMap::new(),
            views: BTreeMap::new(),
            issued: BTreeSet::new(),
            transcripts: BTreeMap::new(),
        }
    }

    fn resolve(&self, peer: &Peer) -> PeerId {
        match peer {
            // p0 is never handed out: ids start at p1.
            Peer::Connected(_) if self.views.is_empty() => numbered(0),
            Peer::Connected(index) => {
                let open: Vec<PeerId> = self.views.keys().copied().collect();
                *index.get(&open)
            }
            Peer::Numbered(n) => numbered(*n),
        }
    }

    fn address(&self, sender: PeerId, to: &Addressee) -> String {
        let id = match to {
            Addressee::Connected(index) => self.resolve(&Peer::Connected(*index)),
            Addressee::RoomMate(index) => {
                let others: Vec<PeerId> = match self.views.get(&sender) {
                    Some(view) => view.others.iter().copied().collect(),
                    None => Vec::new(),
                };
                if others.is_empty() {
                    sender
                } else {
                    *index.get(&others)
                }
            }
            Addressee::Sender => sender,
            Addressee::Raw(raw) => return raw.clone(),
        };
        id.to_string()
    }

    fn client_msg(&self, sender: PeerId, request: Request) -> ClientMsg {
        match request {
            Request::Nickname(name) => ClientMsg::Nickname { name },
            Request::Join(room) => ClientMsg::Join {
                room,
                host_token: None,
                listed: None,
                password: None,
            },
            Request::Leave => ClientMsg::Leave,
            Request::Chat(text) => ClientMsg::Chat { text },
            Request::Offer(to, sdp) => ClientMsg::Offer {
                to: self.address(sender, &to),
                sdp,
            },
            Request::Answer(to, sdp) => ClientMsg::Answer {
                to: self.address(sender, &to),
                sdp,
            },
            Request::Candidate(to, candidate) => ClientMsg::Candidate {
                to: self.address(sender, &to),
                candidate,
            },
            Request::Media(audio, video) => ClientMsg::Media {
                audio,
                video,
                screen: false,
            },
            Request::SfuOffer(sdp) => ClientMsg::SfuOffer {
                sdp,
                tracks: Vec::new(),
            },
            Request::View(slots) => ClientMsg::View { slots },
        }
    }

    /// The members of `room`.
    fn members(&self, room: &RoomName) -> BTreeSet<PeerId> {
        self.views
            .iter()
            .filter(|(_, view)| view.room.as_ref() == Some(room))
            .map(|(id, _)| *id)
            .collect()
    }

    /// Who hears about `id`'s name and media: itself and its room.
    fn audience(&self, id: PeerId) -> BTreeSet<PeerId> {
        match &self.views[&id].room {
            Some(room) => self.members(room),
            None => BTreeSet::from([id]),
        }
    }

    /// How many rooms have members.
    fn room_count(&self) -> usize {
        let rooms: BTreeSet<&RoomName> = self
            .views
            .values()
            .filter_map(|v| v.room.as_ref())
            .collect();
        rooms.len()
    }

    /// The error the rules of `docs/PROTOCOL.md` give `msg` from connected `id`, if any.
    fn refusal(&self, id: PeerId, msg: &ClientMsg) -> Option<ErrorCode> {
        let view = &self.views[&id];
        match msg {
            ClientMsg::Nickname { name } => Nickname::parse(name)
                .err()
                .map(|_| ErrorCode::InvalidNickname),
            ClientMsg::Join { room, .. } => match RoomName::parse(room) {
                Err(_) => Some(ErrorCode::InvalidRoom),
                Ok(room)
                    if view.room.as_ref() != Some(&room)
                        && self.members(&room).is_empty()
                        && self.room_count() >= self.max_rooms =>
                {
                    Some(ErrorCode::TooManyRooms)
                }
                Ok(room)
                    if view.room.as_ref() != Some(&room)
                        && self.members(&room).len() >= self.max_room_size =>
                {
                    Some(ErrorCode::RoomFull)
                }
                Ok(_) => None,
            },
            ClientMsg::Leave => view.room.is_none().then_some(ErrorCode::NotInRoom),
            ClientMsg::Chat { text } => match (&view.room, check_text(text)) {
                (None, _) => Some(ErrorCode::NotInRoom),
                (Some(_), Err(_)) => Some(ErrorCode::InvalidText),
                (Some(_), Ok(())) => None,
            },
            ClientMsg::Offer { .. } | ClientMsg::Answer { .. } | ClientMsg::Candidate { .. }
                if self.media == MediaMode::Sfu =>
            {
                Some(ErrorCode::WrongMediaMode)
            }
            ClientMsg::Offer { to, .. }
            | ClientMsg::Answer { to, .. }
            | ClientMsg::Candidate { to, .. } => match (&view.room, PeerId::parse(to)) {
                (None, _) => Some(ErrorCode::NotInRoom),
                (Some(_), Some(to)) if view.others.contains(&to) => None,
                (Some(_), _) => Some(ErrorCode::UnknownPeer),
            },
            ClientMsg::Media { .. } => None,
            ClientMsg::SfuOffer { .. } | ClientMsg::View { .. }
                if self.media == MediaMode::Mesh =>
            {
                Some(ErrorCode::WrongMediaMode)
            }
            // The requests' SDPs, tracks and views are all within the limits.
            ClientMsg::SfuOffer { .. } | ClientMsg::View { .. } => {
                view.room.is_none().then_some(ErrorCode::NotInRoom)
            }
            ClientMsg::Lock { .. }
            | ClientMsg::Remove { .. }
            | ClientMsg::Cohost { .. }
            | ClientMsg::End
            | ClientMsg::Mute { .. }
            | ClientMsg::MuteAll
            | ClientMsg::AskUnmute { .. }
            | ClientMsg::Hand { .. }
            | ClientMsg::LowerHand { .. }
            | ClientMsg::React { .. }
            | ClientMsg::List { .. }
            | ClientMsg::Password { .. }
            | ClientMsg::WaitingRoom { .. }
            | ClientMsg::Admit { .. }
            | ClientMsg::Deny { .. }
            | ClientMsg::Spotlight { .. }
            | ClientMsg::Resume { .. } => {
                panic!("the model sends no hosting, hands, reactions or resumes: {msg:?}")
            }
        }
    }

    /// Delivers the lobby news the core held back (sent by no one in particular).
    fn deliver_news(&mut self, out: &[Outgoing]) {
        for outgoing in out {
            let To::Many(ids) = &outgoing.to else {
                panic!("news goes to the lobby: {outgoing:?}");
            };
            let recipients: BTreeSet<PeerId> = ids.iter().copied().collect();
            // The sender is not looked at for `room` frames.
            let anyone = *ids.first().expect("news goes to someone");
            self.receive(anyone, 0, &outgoing.to, &recipients, &outgoing.msg);
        }
    }

    /// Delivers the frames of one step, caused by `sender` at `now`, checking each routing rule.
    fn deliver(&mut self, sender: PeerId, now: u64, out: &[Outgoing]) {
        for outgoing in out {
            let recipients: Vec<PeerId> = match &outgoing.to {
                To::One(id) => vec![*id],
                To::Many(ids) => ids.clone(),
            };
            let distinct: BTreeSet<PeerId> = recipients.iter().copied().collect();
            assert_eq!(
                distinct.len(),
                recipients.len(),
                "{outgoing:?} twice to one"
            );
            for id in &distinct {
                assert!(self.views.contains_key(id), "{outgoing:?} to closed {id}");
            }
            self.receive(sender, now, &outgoing.to, &distinct, &outgoing.msg);
        }
    }

    fn receive(
        &mut self,
        sender: PeerId,
        now: u64,
        to: &To,
        recipients: &BTreeSet<PeerId>,
        msg: &ServerMsg,
    ) {
        match msg {
            ServerMsg::Welcome {
                id, version, rooms, ..
            } => {
                assert_eq!((to, *version), (&To::One(sender), VERSION));
                assert_eq!(*id, sender);
                self.view(sender).rooms = rooms.clone();
            }
            ServerMsg::Rooms { rooms, .. } => {
                assert!(!self.private_rooms, "a private server sent {msg:?}");
                assert_eq!(to, &To::One(sender), "the whole list goes to a leaver only");
                let view = self.view(sender);
                assert_eq!(
                    view.room, None,
                    "{sender} got the room list while in a room"
                );
                view.rooms = rooms.clone();
            }
            ServerMsg::Room { name, count, .. } => {
                assert!(!self.private_rooms, "a private server sent {msg:?}");
                for id in recipients {
                    let view = self.view(*id);
                    assert_eq!(view.room, None, "{id} got a room update while in a room");
                    view.rooms.retain(|info| &info.name != name);
                    if *count > 0 {
                        let info = RoomInfo {
                            name: name.clone(),
                            count: *count,
                        };
                        let at = view.rooms.partition_point(|other| other.name < *name);
                        view.rooms.insert(at, info);
                    }
                }
            }
            ServerMsg::Joined(RoomState {
                room,
                peers,
                history,
                ..
            }) => {
                assert_eq!(to, &To::One(sender));
                let last = self.transcripts.get(room).copied().unwrap_or(0);
                let seqs: Vec<u64> = history.iter().map(|entry| entry.seq).collect();
                let kept = last.min(HISTORY_LEN as u64);
                assert_eq!(seqs, (last - kept + 1..=last).collect::<Vec<_>>());
                let others: BTreeSet<PeerId> = peers.iter().map(|peer| peer.id).collect();
                assert_eq!(others.len(), peers.len(), "a member listed twice");
                assert!(!others.contains(&sender), "the newcomer among the others");
                let view = self.view(sender);
                view.room = Some(room.clone());
                view.others = others;
                view.seq = last;
            }
            ServerMsg::Left { room } => {
                assert_eq!(to, &To::One(sender));
                let view = self.view(sender);
                assert_eq!(view.room.as_ref(), Some(room), "left a room it was not in");
                *view = View {
                    rooms: std::mem::take(&mut view.rooms),
                    ..View::default()
                };
            }
            ServerMsg::PeerJoined { peer } => {
                assert_eq!(peer.id, sender);
                for id in recipients {
                    let view = self.view(*id);
                    assert!(view.room.is_some(), "{id} told of a joiner outside a room");
                    assert!(
                        view.others.insert(peer.id),
                        "{id} told twice of {}",
                        peer.id
                    );
                }
            }
            ServerMsg::PeerLeft { id: gone } => {
                assert_eq!(*gone, sender);
                for id in recipients {
                    assert!(
                        self.view(*id).others.remove(gone),
                        "{id} not told of {gone}"
                    );
                }
            }
            ServerMsg::Nickname { id, .. } | ServerMsg::Media { id, .. } => {
                assert_eq!(*id, sender);
                assert_eq!(*recipients, self.audience(sender), "{msg:?}");
            }
            ServerMsg::Chat(entry) => {
                assert_eq!((entry.from, entry.ts), (sender, now));
                let room = self.views[&sender]
                    .room
                    .clone()
                    .expect("chat from a member");
                assert_eq!(*recipients, self.members(&room), "chat not to its room");
                let last = self.transcripts.entry(room).or_insert(0);
                assert_eq!(entry.seq, *last + 1, "the room's seq skipped or went back");
                *last = entry.seq;
                for id in recipients {
                    let view = self.view(*id);
                    assert_eq!(entry.seq, view.seq + 1, "{id} missed or repeated a seq");
                    view.seq = entry.seq;
                }
            }
            ServerMsg::Offer { from, .. }
            | ServerMsg::Answer { from, .. }
            | ServerMsg::Candidate { from, .. } => {
                assert_eq!(*from, sender);
                let To::One(target) = to else {
                    panic!("{msg:?} to {to:?}");
                };
                assert_ne!(*target, sender, "{msg:?} back to its sender");
                let room = &self.views[&sender].room;
                assert!(room.is_some(), "{msg:?} from outside a room");
                assert_eq!(&self.views[target].room, room, "{msg:?} to another room");
            }
            ServerMsg::Error { .. } => assert_eq!(to, &To::One(sender)),
            // A host left: the members who stay hear who hosts now, the new host its token.
            ServerMsg::Hosts { hosts } => {
                let room = self.views[&hosts[0]].room.clone();
                assert!(room.is_some(), "{msg:?} names no member");
                for id in recipients.iter().chain(hosts) {
                    assert_eq!(self.views[id].room, room, "{msg:?} to {to:?}");
                }
            }
            ServerMsg::HostToken { room, .. } => {
                let To::One(host) = to else {
                    panic!("{msg:?} to {to:?}");
                };
                assert_eq!(self.views[host].room.as_ref(), Some(room));
            }
            ServerMsg::Locked { .. }
            | ServerMsg::Removed { .. }
            | ServerMsg::Ended { .. }
            | ServerMsg::Muted { .. }
            | ServerMsg::UnmuteAsked { .. }
            | ServerMsg::Hands { .. }
            | ServerMsg::Reaction { .. }
            | ServerMsg::Listed { .. }
            | ServerMsg::Protected { .. }
            | ServerMsg::WaitingRoomSet { .. }
            | ServerMsg::Waiting { .. }
            | ServerMsg::Knocking { .. }
            | ServerMsg::Denied { .. }
            | ServerMsg::SpotlightSet { .. } => {
                panic!("{msg:?} without a host's request")
            }
            ServerMsg::Resumed { .. } => panic!("{msg:?} without a resume"),
            ServerMsg::SfuAnswer { .. }
            | ServerMsg::Slots { .. }
            | ServerMsg::Assign { .. }
            | ServerMsg::Speaking { .. } => panic!("{msg:?} from a peer-to-peer server"),
        }
    }

    fn view(&mut self, id: PeerId) -> &mut View {
        self.views
            .get_mut(&id)
            .expect("frames go to open connections")
    }

    /// The model and the core agree, and the core's invariants hold. The lobby's lists are
    /// compared only when `settled`: the core holds no news back for later.
    /// Follows what the core asked of the media server since the last step: in SFU mode it
    /// knows every member's room, in mesh mode it is never asked anything.
    fn check_media_commands(&mut self, commands: Vec<MediaCommand>) {
        if self.media == MediaMode::Mesh {
            assert_eq!(commands, [], "a mesh has no media server");
            return;
        }
        for command in commands {
            match command {
                MediaCommand::Join { member, room, .. } => {
                    let before = self.media_rooms.insert(member, room);
                    assert_eq!(before, None, "{member} joined without leaving");
                }
                MediaCommand::Leave { member } => {
                    let before = self.media_rooms.remove(&member);
                    assert!(before.is_some(), "{member} left no room");
                }
                MediaCommand::Offer { member, .. }
                | MediaCommand::View { member, .. }
                | MediaCommand::Silence { member, .. }
                | MediaCommand::Resync { member } => {
                    assert!(
                        self.media_rooms.contains_key(&member),
                        "{member} is in no call"
                    );
                }
            }
        }
        let rooms: BTreeMap<PeerId, RoomName> = self
            .views
            .iter()
            .filter_map(|(id, view)| Some((*id, view.room.clone()?)))
            .collect();
        assert_eq!(
            self.media_rooms, rooms,
            "the media server has the wrong rooms"
        );
    }

    fn check(&mut self, rooms: &Rooms, settled: bool) {
        assert_eq!(rooms.peer_count(), self.views.len());
        let list = rooms.room_list();
        assert_eq!(list.total, rooms.room_count());
        let list = list.rooms;
        for pair in list.windows(2) {
            assert!(
                pair[0].name < pair[1].name,
                "room list not sorted: {list:?}"
            );
        }
        let listed: BTreeMap<RoomName, usize> = list
            .iter()
            .map(|info| (info.name.clone(), info.count))
            .collect();
        let mut counted: BTreeMap<RoomName, usize> = BTreeMap::new();
        for (id, view) in &self.views {
            assert_eq!(rooms.room_of(*id), view.room.as_ref(), "{id} misinformed");
            if self.private_rooms {
                assert!(
                    view.rooms.is_empty(),
                    "{id} learned of rooms: {:?}",
                    view.rooms
                );
            } else if view.room.is_none() && settled {
                // The room list is for the connections in no room; members are not sent it.
                assert_eq!(view.rooms, list, "{id} has a stale room list");
            }
            let others = match &view.room {
                Some(room) => {
                    *counted.entry(room.clone()).or_default() += 1;
                    let mut members = self.members(room);
                    members.remove(id);
                    members
                }
                None => BTreeSet::new(),
            };
            assert_eq!(view.others, others, "{id} has the wrong room mates");
        }
        // Each connection counts in at most one room, so the counts add up to the members.
        assert_eq!(listed, counted, "room counts are not the members");
        let members = self.views.values().filter(|view| view.room.is_some());
        assert_eq!(
            list.iter().map(|info| info.count).sum::<usize>(),
            members.count()
        );
        for info in &list {
            assert!((1..=self.max_room_size).contains(&info.count), "{info:?}");
        }
        assert!(
            list.len() <= self.max_rooms,
            "{} rooms: {list:?}",
            list.len()
        );
        for id in &self.issued {
            if !self.views.contains_key(id) {
                assert_eq!(rooms.room_of(*id), None, "closed {id} still in a room");
            }
        }
        // A room that is gone takes its transcript with it; one of the same name starts over.
        self.transcripts.retain(|room, _| listed.contains_key(room));
    }
}

/// Runs `ops` against a fresh core, checking every step. `now` is the wall clock (the chats'
/// `ts`); the monotonic clock moves with it, from `ticks_at`.
fn run(limits: Limits, ops: Vec<Op>) {
    let mut rooms = Rooms::new(limits, Box::new(Sequence::default()));
    let mut model = Model::new(limits);
    let start = 1_700_000_000_000;
    let mut now = start;
    let tick = |now: u64| Tick::from_millis(now - start);
    for op in ops {
        match op {
            Op::Connect => {
                let (id, out) = rooms.connect();
                assert!(model.issued.insert(id), "{id} handed out twice");
                model.views.insert(id, View::default());
                assert_eq!(out.len(), 1, "{out:?}");
                model.deliver(id, now, &out);
            }
            Op::Disconnect(peer) => {
                let id = model.resolve(&peer);
                let was_open = model.views.remove(&id).is_some();
                let out = rooms.disconnect(tick(now), id, Ending::Closed);
                assert!(was_open || out.is_empty(), "closing {id} twice: {out:?}");
                model.deliver(id, now, &out);
            }
            Op::Send {
                from,
                request,
                wait,
            } => {
                now += wait;
                let id = model.resolve(&from);
                let msg = model.client_msg(id, request);
                let at = Now::new(tick(now), UnixMillis(now));
                if !model.views.contains_key(&id) {
                    let out = rooms.handle(at, id, msg);
                    assert!(out.is_empty(), "{id} is closed: {out:?}");
                } else {
                    let refusal = model.refusal(id, &msg);
                    let out = rooms.handle(at, id, msg.clone());
                    check_outcome(&rooms, id, &msg, refusal, &out);
                    model.deliver(id, now, &out);
                }
            }
        }
        poll_due(&mut rooms, &mut model, tick(now));
        model.check_media_commands(rooms.take_media_commands());
        model.check(&rooms, rooms.next_deadline().is_none());
    }
    // However the news was held back, the lobby ends on the true counts.
    while let Some(deadline) = rooms.next_deadline() {
        poll_due(&mut rooms, &mut model, deadline);
    }
    model.check(&rooms, true);
}

/// Delivers what the core holds back for `now` or earlier, as the server's timer would.
fn poll_due(rooms: &mut Rooms, model: &mut Model, now: Tick) {
    if rooms
        .next_deadline()
        .is_some_and(|deadline| deadline <= now)
    {
        let out = rooms.poll(now);
        for outgoing in &out {
            assert!(
                matches!(outgoing.msg, ServerMsg::Room { .. }),
                "only lobby news waits: {outgoing:?}"
            );
        }
        model.deliver_news(&out);
    }
}

/// `out` is the answer the rules give `msg` from `id`: `refusal` or the request's effect.
fn check_outcome(
    rooms: &Rooms,
    id: PeerId,
    msg: &ClientMsg,
    refusal: Option<ErrorCode>,
    out: &[Outgoing],
) {
    if let Some(code) = refusal {
        assert_eq!(out.len(), 1, "{msg:?} refused with more: {out:?}");
        assert_eq!(out[0].to, To::One(id));
        assert!(
            matches!(out[0].msg, ServerMsg::Error { code: got, .. } if got == code),
            "{msg:?} should be refused with {code:?}: {out:?}"
        );
        return;
    }
    assert!(
        !out.iter()
            .any(|outgoing| matches!(outgoing.msg, ServerMsg::Error { .. })),
        "{msg:?} refused: {out:?}"
    );
    let relayed = |expected: ServerMsg, to: &str| {
        let to = PeerId::parse(to).expect("a relayed frame names a peer");
        assert_eq!(
            out,
            [Outgoing {
                to: To::One(to),
                msg: expected
            }]
        );
    };
    match msg.clone() {
        ClientMsg::Join { room, .. } => {
            let room = RoomName::parse(&room).expect("only valid names are joined");
            assert_eq!(rooms.room_of(id), Some(&room));
        }
        ClientMsg::Leave => assert_eq!(rooms.room_of(id), None),
        ClientMsg::Nickname { name } => {
            let name = Nickname::parse(&name).expect("only valid names are taken");
            assert!(
                matches!(&out, [Outgoing { msg: ServerMsg::Nickname { name: got, .. }, .. }] if *got == name)
            );
        }
        ClientMsg::Chat { text } => {
            assert!(
                matches!(&out, [Outgoing { msg: ServerMsg::Chat(entry), .. }] if entry.text == text)
            );
        }
        ClientMsg::Offer { to, sdp } => relayed(ServerMsg::Offer { from: id, sdp }, &to),
        ClientMsg::Answer { to, sdp } => relayed(ServerMsg::Answer { from: id, sdp }, &to),
        ClientMsg::Candidate { to, candidate } => relayed(
            ServerMsg::Candidate {
                from: id,
                candidate,
            },
            &to,
        ),
        ClientMsg::Media { audio, video, .. } => {
            assert!(
                matches!(&out, [Outgoing { msg: ServerMsg::Media { audio: a, video: v, .. }, .. }] if (*a, *v) == (audio, video))
            );
        }
        // What the media server answers comes later, from it.
        ClientMsg::SfuOffer { .. } | ClientMsg::View { .. } => assert_eq!(out, []),
        ClientMsg::Lock { .. }
        | ClientMsg::Remove { .. }
        | ClientMsg::Cohost { .. }
        | ClientMsg::End
        | ClientMsg::Mute { .. }
        | ClientMsg::MuteAll
        | ClientMsg::AskUnmute { .. }
        | ClientMsg::Hand { .. }
        | ClientMsg::LowerHand { .. }
        | ClientMsg::React { .. }
        | ClientMsg::List { .. }
        | ClientMsg::Password { .. }
        | ClientMsg::WaitingRoom { .. }
        | ClientMsg::Admit { .. }
        | ClientMsg::Deny { .. }
        | ClientMsg::Spotlight { .. }
        | ClientMsg::Resume { .. } => {
            panic!("the model sends no hosting, hands, reactions or resumes: {msg:?}")
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// rooms: random connects, disconnects and requests keep every invariant after every step,
    /// with small room and room-count caps, and with the room list public or private.
    #[test]
    fn the_room_core_keeps_its_invariants(
        max_room_size in 1usize..=3,
        max_rooms in 1usize..=4,
        private_rooms in any::<bool>(),
        media in select(vec![MediaMode::Sfu, MediaMode::Mesh]),
        first_connections in 0usize..=4,
        ops in prop::collection::vec(op(), 0..=60),
    ) {
        // Connections at the start give the requests someone to meet.
        let connects = std::iter::repeat_n(Op::Connect, first_connections);
        let limits = Limits { max_room_size, max_rooms, private_rooms, media, ..Limits::default() };
        run(limits, connects.chain(ops).collect());
    }
}
