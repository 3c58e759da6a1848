//! Unit tests of the room core: events in, frames out, no sockets and no clock.
//!
//! Frames are compared as the JSON a client would read, so each expectation looks like the
//! protocol. Where one event sends frames to several connections, tests look at what each
//! connection receives ([`inbox`]): the order between two recipients means nothing, the order
//! within one recipient's stream does.

use std::collections::HashSet;

use std::cell::Cell;
use std::time::Duration;

use serde_json::{json, Value};

use super::*;
use crate::chat::{HISTORY_LEN, TEXT_MAX_CHARS};
use crate::entropy::Sequence;
use crate::media::{SlotAssign, SlotSize};
use crate::names::{NICKNAME_MAX_CHARS, ROOM_NAME_MAX_CHARS};
use crate::time::UnixMillis;

/// The wall clock the tests feed in when the time does not matter.
const WALL: u64 = 1_700_000_000_000;

thread_local! {
    /// The monotonic clock of the test running on this thread.
    static TICKS: Cell<Tick> = const { Cell::new(Tick::ZERO) };
}

/// A moment for one event, a second after the one before: far enough apart that the lobby
/// hears of every change at once (the `lobby_news_*` tests look at changes closer together).
fn now() -> Now {
    let tick = TICKS.with(|ticks| {
        let next = ticks.get() + Duration::from_secs(1);
        ticks.set(next);
        next
    });
    Now::new(tick, UnixMillis(WALL))
}

/// The same moment with another wall clock.
fn at_wall(wall: u64) -> Now {
    Now::new(now().tick, UnixMillis(wall))
}

fn server() -> Rooms {
    server_with_room_size(8)
}

/// A server whose calls are peer to peer, for the signalling tests.
fn mesh_server() -> Rooms {
    Rooms::new(
        Limits {
            media: MediaMode::Mesh,
            ..Limits::default()
        },
        Box::new(Sequence::default()),
    )
}

fn server_with_room_size(max_room_size: usize) -> Rooms {
    Rooms::new(
        Limits {
            max_room_size,
            ..Limits::default()
        },
        Box::new(Sequence::default()),
    )
}

fn connect(rooms: &mut Rooms) -> PeerId {
    rooms.connect().0
}

fn connect_named(rooms: &mut Rooms, name: &str) -> PeerId {
    let id = connect(rooms);
    rename(rooms, id, name);
    id
}

/// Connects a peer called `name` and puts it in `room`.
fn member(rooms: &mut Rooms, name: &str, room: &str) -> PeerId {
    let id = connect_named(rooms, name);
    join(rooms, id, room);
    id
}

fn rename(rooms: &mut Rooms, id: PeerId, name: &str) -> Vec<Outgoing> {
    rooms.handle(now(), id, ClientMsg::Nickname { name: name.into() })
}

fn join(rooms: &mut Rooms, id: PeerId, room: &str) -> Vec<Outgoing> {
    join_at(rooms, now(), id, room)
}

fn leave(rooms: &mut Rooms, id: PeerId) -> Vec<Outgoing> {
    rooms.handle(now(), id, ClientMsg::Leave)
}

fn say(rooms: &mut Rooms, id: PeerId, text: &str) -> Vec<Outgoing> {
    rooms.handle(now(), id, ClientMsg::Chat { text: text.into() })
}

fn set_media(rooms: &mut Rooms, id: PeerId, audio: bool, video: bool) -> Vec<Outgoing> {
    let msg = ClientMsg::Media {
        audio,
        video,
        screen: false,
    };
    rooms.handle(now(), id, msg)
}

fn offer(to: &str) -> ClientMsg {
    ClientMsg::Offer {
        to: to.into(),
        sdp: "v=0 offer".into(),
    }
}

fn answer(to: &str) -> ClientMsg {
    ClientMsg::Answer {
        to: to.into(),
        sdp: "v=0 answer".into(),
    }
}

fn candidate(to: &str) -> ClientMsg {
    ClientMsg::Candidate {
        to: to.into(),
        candidate: IceCandidate {
            candidate: "candidate:1 1 udp 2122260223 192.0.2.1 54400 typ host".into(),
            sdp_mid: Some("0".into()),
            sdp_m_line_index: Some(0),
            username_fragment: None,
        },
    }
}

/// The three signalling frames, addressed to `to`.
fn signals(to: &str) -> [ClientMsg; 3] {
    [offer(to), answer(to), candidate(to)]
}

/// A frame as the JSON a client reads.
fn wire(msg: &ServerMsg) -> Value {
    serde_json::from_str(&msg.encode()).expect("an encoded frame is JSON")
}

/// A frame as the JSON a client reads, without what a `joined` says of who hosts the room
/// and of resuming: the tests of hosting look at that ([`hosting_inbox`]), the tests of
/// resuming at the token, the others at the rest.
fn plain(msg: &ServerMsg) -> Value {
    let mut frame = wire(msg);
    if let Some(fields) = frame.as_object_mut().filter(|f| f["type"] == "joined") {
        for key in [
            "hosts",
            "locked",
            "host_token",
            "hands",
            "listed",
            "protected",
            "waiting_room",
            "waiting",
            "spotlight",
            "resume_token",
        ] {
            fields.remove(key);
        }
    }
    frame
}

/// Every frame with its recipients, in the order the core returned them.
fn sent(out: &[Outgoing]) -> Vec<(To, Value)> {
    out.iter()
        .map(|outgoing| (outgoing.to.clone(), plain(&outgoing.msg)))
        .collect()
}

/// The frames connection `id` receives, in order.
fn inbox(out: &[Outgoing], id: PeerId) -> Vec<Value> {
    frames_for(out, id, plain)
}

/// The frames connection `id` receives, in order, whole.
fn hosting_inbox(out: &[Outgoing], id: PeerId) -> Vec<Value> {
    frames_for(out, id, wire)
}

fn frames_for(out: &[Outgoing], id: PeerId, show: fn(&ServerMsg) -> Value) -> Vec<Value> {
    let mut frames = Vec::new();
    for outgoing in out {
        let copies = match &outgoing.to {
            To::One(to) => usize::from(*to == id),
            To::Many(to) => to.iter().filter(|to| **to == id).count(),
        };
        frames.extend(std::iter::repeat_n(show(&outgoing.msg), copies));
    }
    frames
}

/// The room lists and room updates sent, whoever they went to.
fn room_lists(out: &[Outgoing]) -> Vec<Value> {
    out.iter()
        .filter(|outgoing| {
            matches!(
                outgoing.msg,
                ServerMsg::Rooms { .. } | ServerMsg::Room { .. }
            )
        })
        .map(|outgoing| wire(&outgoing.msg))
        .collect()
}

/// `out` is one `error` frame with `code`, for `id` alone.
fn assert_refused(out: &[Outgoing], id: PeerId, code: &str) {
    assert_eq!(out.len(), 1, "expected a single error frame, got {out:?}");
    assert_eq!(out[0].to, To::One(id), "the error goes to the sender only");
    let frame = wire(&out[0].msg);
    assert_eq!(frame["type"], "error", "{frame}");
    assert_eq!(frame["code"], code, "{frame}");
    let message = frame["message"].as_str().expect("an error has a message");
    assert!(!message.is_empty(), "{frame}");
}

fn peer(id: PeerId, name: &str, audio: bool, video: bool) -> Value {
    json!({"id": id.to_string(), "name": name, "audio": audio, "video": video})
}

fn room_list(rooms: &[(&str, usize)]) -> Value {
    let rooms: Vec<Value> = rooms
        .iter()
        .map(|(name, count)| json!({"name": name, "count": count}))
        .collect();
    json!({"type": "rooms", "rooms": rooms, "rooms_total": rooms.len()})
}

/// One room's new member count, as the lobby is told it, with how many rooms exist.
fn room_update(name: &str, count: usize, total: usize) -> Value {
    json!({"type": "room", "name": name, "count": count, "rooms_total": total})
}

fn joined(room: &str, peers: Vec<Value>, history: Vec<Value>) -> Value {
    json!({"type": "joined", "room": room, "peers": peers, "history": history})
}

/// A transcript entry as `joined.history` lists it.
fn entry(seq: u64, from: PeerId, name: &str, text: &str, ts: u64) -> Value {
    json!({"seq": seq, "from": from.to_string(), "name": name, "text": text, "ts": ts})
}

/// A `chat` frame: a transcript entry with its type tag.
fn chat(seq: u64, from: PeerId, name: &str, text: &str, ts: u64) -> Value {
    let mut frame = entry(seq, from, name, text, ts);
    frame["type"] = json!("chat");
    frame
}

fn peer_joined(peer: Value) -> Value {
    json!({"type": "peer_joined", "peer": peer})
}

fn peer_left(id: PeerId) -> Value {
    json!({"type": "peer_left", "id": id.to_string()})
}

fn left(room: &str) -> Value {
    json!({"type": "left", "room": room})
}

/// The `history` of the `joined` frame `id` gets when it joins `room`.
fn history_seen_by(rooms: &mut Rooms, id: PeerId, room: &str) -> Vec<Value> {
    let out = join(rooms, id, room);
    let frame = inbox(&out, id).remove(0);
    assert_eq!(frame["type"], "joined", "{frame}");
    frame["history"]
        .as_array()
        .expect("history is a list")
        .clone()
}

// --- connect ---

/// connect: the first frame is a welcome with the id, a guest name, the version and no rooms.
#[test]
fn connect_greets_with_id_guest_name_version_and_room_list() {
    let mut rooms = server();
    let (id, out) = rooms.connect();
    assert_eq!(id.to_string(), "p1");
    assert_eq!(
        sent(&out),
        [(
            To::One(id),
            json!({"type": "welcome", "id": "p1", "name": "Guest 1", "version": 2, "media": "sfu", "rooms": [], "rooms_total": 0})
        )]
    );

    let (second, out) = rooms.connect();
    assert_eq!(inbox(&out, second)[0]["name"], "Guest 2");
    assert_eq!(rooms.peer_count(), 2);
}

/// connect: the welcome lists the rooms that exist now, sorted by name, with their counts.
#[test]
fn welcome_lists_the_current_rooms_with_counts() {
    let mut rooms = server();
    member(&mut rooms, "a", "standup");
    member(&mut rooms, "b", "standup");
    member(&mut rooms, "c", "design");

    let (id, out) = rooms.connect();
    assert_eq!(
        sent(&out),
        [(
            To::One(id),
            json!({
                "type": "welcome",
                "id": id.to_string(),
                "name": "Guest 4",
                "version": 2,
                "media": "sfu",
                "rooms": [{"name": "design", "count": 1}, {"name": "standup", "count": 2}],
                "rooms_total": 2,
            })
        )]
    );
}

/// connect: every connection gets its own id, and ids are not reused after a disconnect.
#[test]
fn every_connection_gets_a_distinct_id() {
    let mut rooms = server();
    let mut seen = HashSet::new();
    for _ in 0..100 {
        let id = connect(&mut rooms);
        assert!(seen.insert(id), "{id} handed out twice");
        rooms.disconnect(now().tick, id, Ending::Closed);
    }
    for _ in 0..100 {
        assert!(seen.insert(connect(&mut rooms)));
    }
}

// --- nickname ---

/// nickname: a rename outside a room is confirmed to the sender alone.
#[test]
fn renaming_outside_a_room_answers_only_the_sender() {
    let mut rooms = server();
    let a = connect(&mut rooms);
    let bystander = member(&mut rooms, "b", "lobby");

    let out = rename(&mut rooms, a, "민수");
    assert_eq!(
        sent(&out),
        [(
            To::Many(vec![a]),
            json!({"type": "nickname", "id": a.to_string(), "name": "민수"})
        )]
    );
    assert!(inbox(&out, bystander).is_empty());
}

/// nickname: a rename inside a room reaches the sender and its room, not other rooms.
#[test]
fn renaming_in_a_room_tells_the_sender_and_its_room() {
    let mut rooms = server();
    let a = member(&mut rooms, "a", "one");
    let b = member(&mut rooms, "b", "one");
    let elsewhere = member(&mut rooms, "c", "two");

    let out = rename(&mut rooms, b, "Bea");
    let frame = json!({"type": "nickname", "id": b.to_string(), "name": "Bea"});
    assert_eq!(sent(&out), [(To::Many(vec![a, b]), frame)]);
    assert!(inbox(&out, elsewhere).is_empty());
}

/// nickname: surrounding whitespace is trimmed and the new name is what others see.
#[test]
fn nicknames_are_trimmed_and_shown_to_later_joiners() {
    let mut rooms = server();
    let a = connect(&mut rooms);
    let out = rename(&mut rooms, a, "  Ada Lovelace \t");
    assert_eq!(inbox(&out, a)[0]["name"], "Ada Lovelace");

    join(&mut rooms, a, "math");
    let b = connect(&mut rooms);
    let out = join(&mut rooms, b, "math");
    assert_eq!(
        inbox(&out, b)[0],
        joined("math", vec![peer(a, "Ada Lovelace", false, false)], vec![])
    );
}

/// nickname: 32 characters are allowed, counted as characters and not bytes.
#[test]
fn nicknames_of_the_maximum_length_are_accepted() {
    let mut rooms = server();
    let a = connect(&mut rooms);
    let longest = "가".repeat(NICKNAME_MAX_CHARS);
    let out = rename(&mut rooms, a, &longest);
    assert_eq!(inbox(&out, a)[0]["name"], longest.as_str());
}

/// nickname: blank, too long and control-character names are refused to the sender only.
#[test]
fn invalid_nicknames_are_refused_to_the_sender_only() {
    let mut rooms = server();
    let a = member(&mut rooms, "Ann", "room");
    let b = member(&mut rooms, "Ben", "room");
    let too_long = "a".repeat(NICKNAME_MAX_CHARS + 1);
    for bad in [
        "",
        "   ",
        "\t\n",
        too_long.as_str(),
        "a\nb",
        "bell\u{7}",
        "\u{1b}[31mred",
    ] {
        let out = rename(&mut rooms, a, bad);
        assert_refused(&out, a, "invalid_nickname");
    }

    // The old name is kept: it is the one Ben's chat shows next to Ann's.
    let out = say(&mut rooms, a, "still me");
    assert_eq!(inbox(&out, b), [chat(1, a, "Ann", "still me", WALL)]);
}

// --- join ---

/// join: entering a new room answers joined, creates the room and sends the room list to the
/// connections in no room (the joiner is in a room now, and is not sent it).
#[test]
fn joining_an_empty_room_creates_it_and_tells_the_lobby() {
    let mut rooms = server();
    let a = connect(&mut rooms);
    let lobby = connect(&mut rooms);

    let out = join(&mut rooms, a, "standup");
    assert_eq!(
        sent(&out),
        [
            (To::One(a), joined("standup", vec![], vec![])),
            (To::Many(vec![lobby]), room_update("standup", 1, 1)),
        ]
    );
    assert_eq!(rooms.room_of(a).map(RoomName::as_str), Some("standup"));
}

/// join: the newcomer sees the others in join order with name and media state; they see it.
#[test]
fn joining_lists_the_members_in_join_order_and_announces_the_newcomer() {
    let mut rooms = server();
    let a = member(&mut rooms, "Ann", "team");
    let b = member(&mut rooms, "Ben", "team");
    set_media(&mut rooms, b, true, false);
    let c = member(&mut rooms, "Cy", "team");
    let d = connect_named(&mut rooms, "Di");
    let lobby = connect(&mut rooms);

    let out = join(&mut rooms, d, "team");
    let peers = vec![
        peer(a, "Ann", false, false),
        peer(b, "Ben", true, false),
        peer(c, "Cy", false, false),
    ];
    assert_eq!(
        sent(&out),
        [
            (To::One(d), joined("team", peers, vec![])),
            (
                To::Many(vec![a, b, c]),
                peer_joined(peer(d, "Di", false, false))
            ),
            (To::Many(vec![lobby]), room_update("team", 4, 1)),
        ]
    );
}

/// The room list in `welcome` (and in `rooms` after a leave) is sorted by name and counts members.
#[test]
fn the_room_list_is_sorted_by_name_with_member_counts() {
    let mut rooms = server();
    member(&mut rooms, "a", "b-room");
    member(&mut rooms, "b", "a-room");
    member(&mut rooms, "c", "회의");
    let d = member(&mut rooms, "d", "a-room");
    member(&mut rooms, "e", "Zoo");
    let expected = [("Zoo", 1), ("a-room", 2), ("b-room", 1), ("회의", 1)];

    let (newcomer, out) = rooms.connect();
    assert_eq!(
        inbox(&out, newcomer)[0]["rooms"],
        room_list(&expected)["rooms"]
    );

    let out = leave(&mut rooms, d);
    let after = [("Zoo", 1), ("a-room", 1), ("b-room", 1), ("회의", 1)];
    assert_eq!(inbox(&out, d), [left("a-room"), room_list(&after)]);
    assert_eq!(inbox(&out, newcomer), [room_update("a-room", 1, 4)]);
}

/// join: blank, too long and control-character room names are refused; the sender stays put.
#[test]
fn invalid_room_names_are_refused_and_the_sender_stays_put() {
    let mut rooms = server();
    let a = member(&mut rooms, "a", "home");
    let lobby = connect(&mut rooms);
    let too_long = "x".repeat(ROOM_NAME_MAX_CHARS + 1);
    for bad in [
        "",
        "  ",
        too_long.as_str(),
        "a\nb",
        "tab\there",
        "\u{1b}[2J",
    ] {
        assert_refused(&join(&mut rooms, a, bad), a, "invalid_room");
        assert_refused(&join(&mut rooms, lobby, bad), lobby, "invalid_room");
    }
    assert_eq!(rooms.room_of(a).map(RoomName::as_str), Some("home"));
    assert_eq!(rooms.room_of(lobby), None);
    assert_eq!(rooms.room_list().rooms.len(), 1);
}

/// join: Korean and emoji room names work, are trimmed, and name one room however spaced.
#[test]
fn korean_and_emoji_room_names_are_trimmed_and_shared() {
    let mut rooms = server();
    let a = connect(&mut rooms);
    let b = connect(&mut rooms);
    connect(&mut rooms);

    let out = join(&mut rooms, a, "  회의실 🎥  ");
    assert_eq!(inbox(&out, a)[0], joined("회의실 🎥", vec![], vec![]));

    let out = join(&mut rooms, b, "회의실 🎥");
    assert_eq!(
        inbox(&out, b)[0],
        joined("회의실 🎥", vec![peer(a, "Guest 1", false, false)], vec![])
    );
    assert_eq!(room_lists(&out), [room_update("회의실 🎥", 2, 1)]);

    let longest = "😀".repeat(ROOM_NAME_MAX_CHARS);
    let out = join(&mut rooms, a, &longest);
    assert_eq!(inbox(&out, a)[1], joined(&longest, vec![], vec![]));
}

/// join: names are compared exactly, so `Team` and `team` are two rooms.
#[test]
fn room_names_are_case_sensitive() {
    let mut rooms = server();
    member(&mut rooms, "a", "Team");
    member(&mut rooms, "b", "team");
    assert_eq!(
        wire(&ServerMsg::Rooms {
            rooms: rooms.room_list().rooms,
            rooms_total: rooms.room_count(),
        }),
        room_list(&[("Team", 1), ("team", 1)])
    );
}

/// join: joining the room one is in resends joined to the sender and broadcasts nothing.
#[test]
fn rejoining_the_current_room_only_resends_joined() {
    let mut rooms = server();
    let a = member(&mut rooms, "Ann", "room");
    let b = member(&mut rooms, "Ben", "room");
    say(&mut rooms, a, "hello");

    for same in ["room", "  room "] {
        let out = join(&mut rooms, b, same);
        assert_eq!(
            sent(&out),
            [(
                To::One(b),
                joined(
                    "room",
                    vec![peer(a, "Ann", false, false)],
                    vec![entry(1, a, "Ann", "hello", WALL)]
                )
            )]
        );
    }
    assert_eq!(rooms.room_list().rooms[0].count, 2);
}

/// join: switching rooms leaves the old one first, then joins; the lobby hears of both rooms,
/// the old one first.
#[test]
fn switching_rooms_leaves_then_joins_then_updates_both_rooms() {
    let mut rooms = server();
    let a = member(&mut rooms, "Ann", "one");
    let b = member(&mut rooms, "Ben", "one");
    let c = member(&mut rooms, "Cy", "two");
    let outsider = connect(&mut rooms);

    let out = join(&mut rooms, a, "two");
    assert_eq!(
        inbox(&out, a),
        [
            left("one"),
            joined("two", vec![peer(c, "Cy", false, false)], vec![]),
        ]
    );
    // Ann hosted "one": Ben, left alone there, hosts it now.
    assert_eq!(
        inbox(&out, b),
        [
            peer_left(a),
            json!({"type": "hosts", "hosts": [b.to_string()]}),
            json!({"type": "host_token", "room": "one", "token": "00000000000000000000000000000001"}),
        ]
    );
    assert_eq!(inbox(&out, c), [peer_joined(peer(a, "Ann", false, false))]);
    assert_eq!(
        inbox(&out, outsider),
        [room_update("one", 1, 2), room_update("two", 2, 2)]
    );
    assert_eq!(inbox(&out, outsider), room_lists(&out));
    assert_eq!(rooms.room_of(a).map(RoomName::as_str), Some("two"));
}

/// join: a room whose last member moves elsewhere disappears: its count goes to 0.
#[test]
fn empty_rooms_disappear_from_the_list() {
    let mut rooms = server();
    let a = member(&mut rooms, "a", "old");
    member(&mut rooms, "b", "keep");
    let lobby = connect(&mut rooms);

    let out = join(&mut rooms, a, "new");
    assert_eq!(inbox(&out, a), [left("old"), joined("new", vec![], vec![])]);
    assert_eq!(
        inbox(&out, lobby),
        [room_update("old", 0, 2), room_update("new", 1, 2)]
    );
    assert_eq!(
        wire(&ServerMsg::Rooms {
            rooms: rooms.room_list().rooms,
            rooms_total: rooms.room_count(),
        }),
        room_list(&[("keep", 1), ("new", 1)])
    );
}

/// join: a room at max_room_size refuses a newcomer, who stays in its current room.
#[test]
fn a_full_room_refuses_newcomers_who_stay_where_they_were() {
    let mut rooms = server_with_room_size(2);
    let a = member(&mut rooms, "a", "full");
    let b = member(&mut rooms, "b", "full");
    let c = member(&mut rooms, "c", "other");
    let lobby = connect(&mut rooms);
    let list_before = rooms.room_list();

    assert_refused(&join(&mut rooms, c, "full"), c, "room_full");
    assert_refused(&join(&mut rooms, lobby, " full "), lobby, "room_full");
    assert_eq!(rooms.room_of(c).map(RoomName::as_str), Some("other"));
    assert_eq!(rooms.room_of(lobby), None);
    assert_eq!(rooms.room_list(), list_before);

    // The refused peer is still a member of its room: its chat reaches it there.
    assert_eq!(inbox(&say(&mut rooms, c, "hi"), c).len(), 1);

    // A seat frees up when someone leaves.
    leave(&mut rooms, a);
    let out = join(&mut rooms, c, "full");
    assert_eq!(
        inbox(&out, c)[1],
        joined("full", vec![peer(b, "b", false, false)], vec![])
    );
}

/// join: re-joining a full room one is already in is not refused.
#[test]
fn rejoining_a_full_room_one_is_in_is_not_refused() {
    let mut rooms = server_with_room_size(2);
    let a = member(&mut rooms, "a", "full");
    let b = member(&mut rooms, "b", "full");
    let out = join(&mut rooms, b, "full");
    assert_eq!(
        sent(&out),
        [(
            To::One(b),
            joined("full", vec![peer(a, "a", false, false)], vec![])
        )]
    );
}

// --- leave ---

/// leave: the leaver gets left and, being in no room now, the whole list; the members who stay
/// get peer_left; the other connections in no room get the room's new count.
#[test]
fn leaving_tells_the_leaver_the_room_and_the_lobby() {
    let mut rooms = server();
    let a = member(&mut rooms, "a", "room");
    let b = member(&mut rooms, "b", "room");
    let c = member(&mut rooms, "c", "room");
    let outsider = connect(&mut rooms);

    let out = leave(&mut rooms, b);
    assert_eq!(inbox(&out, b), [left("room"), room_list(&[("room", 2)])]);
    assert_eq!(inbox(&out, a), [peer_left(b)]);
    assert_eq!(inbox(&out, c), [peer_left(b)]);
    assert_eq!(inbox(&out, outsider), [room_update("room", 2, 1)]);
    assert_eq!(rooms.room_of(b), None);
}

/// leave: the last member leaving removes the room, and nobody is sent peer_left.
#[test]
fn the_last_member_leaving_removes_the_room() {
    let mut rooms = server();
    let a = member(&mut rooms, "a", "solo");
    let out = leave(&mut rooms, a);
    assert_eq!(
        sent(&out),
        [(To::One(a), left("solo")), (To::One(a), room_list(&[]))]
    );
    assert!(rooms.room_list().rooms.is_empty());
}

/// leave: leaving while in no room is refused with not_in_room.
#[test]
fn leaving_outside_a_room_is_not_in_room() {
    let mut rooms = server();
    let a = connect(&mut rooms);
    assert_refused(&leave(&mut rooms, a), a, "not_in_room");

    join(&mut rooms, a, "room");
    leave(&mut rooms, a);
    assert_refused(&leave(&mut rooms, a), a, "not_in_room");
}

// --- chat ---

/// chat: a message from outside any room is refused with not_in_room.
#[test]
fn chat_outside_a_room_is_not_in_room() {
    let mut rooms = server();
    let a = connect(&mut rooms);
    member(&mut rooms, "b", "room");
    assert_refused(&say(&mut rooms, a, "anyone?"), a, "not_in_room");
}

/// chat: blank, over-long and control-character texts are refused and not recorded.
#[test]
fn invalid_chat_texts_are_refused_and_not_recorded() {
    let mut rooms = server();
    let a = member(&mut rooms, "a", "room");
    member(&mut rooms, "b", "room");
    let too_long = "x".repeat(TEXT_MAX_CHARS + 1);
    for bad in [
        "",
        "   ",
        " \n\t ",
        too_long.as_str(),
        "fake\r\nlog",
        "bell\u{7}",
        "\u{1b}[31m",
    ] {
        assert_refused(&say(&mut rooms, a, bad), a, "invalid_text");
    }

    let out = say(&mut rooms, a, "first real one");
    assert_eq!(inbox(&out, a)[0]["seq"], 1, "refused texts take no seq");
}

/// chat: a message reaches every member, the sender included, exactly as sent.
#[test]
fn chat_reaches_every_member_including_the_sender() {
    let mut rooms = server();
    let a = member(&mut rooms, "Ann", "room");
    let b = member(&mut rooms, "Ben", "room");
    let elsewhere = member(&mut rooms, "Cy", "other");

    let text = "  안녕 👋\nsecond line\tend  ";
    let out = rooms.handle(at_wall(1_234), b, ClientMsg::Chat { text: text.into() });
    assert_eq!(
        sent(&out),
        [(To::Many(vec![a, b]), chat(1, b, "Ben", text, 1_234))]
    );
    assert!(inbox(&out, elsewhere).is_empty());

    let longest = "한".repeat(TEXT_MAX_CHARS);
    assert_eq!(
        inbox(&say(&mut rooms, a, &longest), b)[0]["text"],
        longest.as_str()
    );
}

/// chat: seq counts 1, 2, 3 per room and ts is the `now` handed in.
#[test]
fn chat_seq_counts_up_per_room_and_ts_is_the_given_time() {
    let mut rooms = server();
    let a = member(&mut rooms, "a", "one");
    let b = member(&mut rooms, "b", "one");
    let c = member(&mut rooms, "c", "two");

    let mut said = Vec::new();
    for (now, from) in [(10, a), (20, c), (30, b), (40, a), (50, c)] {
        let out = rooms.handle(at_wall(now), from, ClientMsg::Chat { text: "x".into() });
        let frame = &inbox(&out, from)[0];
        said.push((frame["seq"].clone(), frame["ts"].clone()));
    }
    assert_eq!(
        said,
        [
            (json!(1), json!(10)),
            (json!(1), json!(20)),
            (json!(2), json!(30)),
            (json!(3), json!(40)),
            (json!(2), json!(50)),
        ]
    );
}

/// chat: each message carries the sender's nickname at the time it was said.
#[test]
fn chat_keeps_the_nickname_used_when_it_was_said() {
    let mut rooms = server();
    let a = member(&mut rooms, "Ann", "room");
    let out = say(&mut rooms, a, "before");
    assert_eq!(inbox(&out, a), [chat(1, a, "Ann", "before", WALL)]);

    rename(&mut rooms, a, "Annie");
    let out = say(&mut rooms, a, "after");
    assert_eq!(inbox(&out, a), [chat(2, a, "Annie", "after", WALL)]);

    let late = connect(&mut rooms);
    assert_eq!(
        history_seen_by(&mut rooms, late, "room"),
        [
            entry(1, a, "Ann", "before", WALL),
            entry(2, a, "Annie", "after", WALL)
        ]
    );
}

/// chat: someone who joins later gets the last 50 messages, oldest first.
#[test]
fn late_joiners_get_the_last_fifty_messages_oldest_first() {
    let mut rooms = server();
    let a = member(&mut rooms, "a", "room");
    let total = HISTORY_LEN as u64 + 5;
    for n in 1..=total {
        rooms.handle(
            at_wall(n),
            a,
            ClientMsg::Chat {
                text: format!("m{n}"),
            },
        );
    }

    let late = connect(&mut rooms);
    let history = history_seen_by(&mut rooms, late, "room");
    let expected: Vec<Value> = (6..=total)
        .map(|n| entry(n, a, "a", &format!("m{n}"), n))
        .collect();
    assert_eq!(history.len(), HISTORY_LEN);
    assert_eq!(history, expected);
}

/// chat: each room has its own history, and a room that empties forgets its transcript.
#[test]
fn history_belongs_to_its_room_and_ends_with_it() {
    let mut rooms = server();
    let a = member(&mut rooms, "a", "one");
    let b = member(&mut rooms, "b", "two");
    say(&mut rooms, a, "in one");
    say(&mut rooms, b, "in two");

    let c = connect(&mut rooms);
    assert_eq!(
        history_seen_by(&mut rooms, c, "two"),
        [entry(1, b, "b", "in two", WALL)]
    );

    leave(&mut rooms, a);
    let d = connect(&mut rooms);
    assert!(history_seen_by(&mut rooms, d, "one").is_empty());
    assert_eq!(inbox(&say(&mut rooms, d, "fresh"), d)[0]["seq"], 1);
}

// --- signalling ---

/// signalling: offer, answer and candidate reach only their target, with `from` set to the sender.
#[test]
fn signalling_is_relayed_to_the_target_only_from_the_sender() {
    let mut rooms = mesh_server();
    let a = member(&mut rooms, "a", "call");
    let b = member(&mut rooms, "b", "call");
    member(&mut rooms, "c", "call");
    let to = b.to_string();

    let out = rooms.handle(now(), a, offer(&to));
    assert_eq!(
        sent(&out),
        [(
            To::One(b),
            json!({"type": "offer", "from": a.to_string(), "sdp": "v=0 offer"})
        )]
    );

    let out = rooms.handle(now(), a, answer(&to));
    assert_eq!(
        sent(&out),
        [(
            To::One(b),
            json!({"type": "answer", "from": a.to_string(), "sdp": "v=0 answer"})
        )]
    );

    let out = rooms.handle(now(), a, candidate(&to));
    assert_eq!(
        sent(&out),
        [(
            To::One(b),
            json!({
                "type": "candidate",
                "from": a.to_string(),
                "candidate": {
                    "candidate": "candidate:1 1 udp 2122260223 192.0.2.1 54400 typ host",
                    "sdpMid": "0",
                    "sdpMLineIndex": 0,
                },
            })
        )]
    );
}

/// signalling: a target in another room or in no room is unknown_peer.
#[test]
fn signalling_a_peer_outside_the_senders_room_is_unknown_peer() {
    let mut rooms = mesh_server();
    let a = member(&mut rooms, "a", "one");
    let other_room = member(&mut rooms, "b", "two");
    let lobby = connect(&mut rooms);
    for target in [other_room, lobby] {
        for msg in signals(&target.to_string()) {
            assert_refused(&rooms.handle(now(), a, msg), a, "unknown_peer");
        }
    }
}

/// signalling: a nonexistent, disconnected or malformed id is unknown_peer.
#[test]
fn signalling_a_nonexistent_or_malformed_id_is_unknown_peer() {
    let mut rooms = mesh_server();
    let a = member(&mut rooms, "a", "room");
    let b = member(&mut rooms, "b", "room");
    let gone = member(&mut rooms, "c", "room");
    rooms.disconnect(now().tick, gone, Ending::Closed);

    let b_text = b.to_string();
    let gone_text = gone.to_string();
    let padded = format!(" {b_text}");
    let zero_padded = b_text.replacen('p', "p0", 1);
    let upper = b_text.to_uppercase();
    for target in [
        "p999",
        gone_text.as_str(),
        "",
        "p",
        "b",
        "Guest 2",
        padded.as_str(),
        zero_padded.as_str(),
        upper.as_str(),
        "p99999999999999999999999",
    ] {
        for msg in signals(target) {
            assert_refused(&rooms.handle(now(), a, msg), a, "unknown_peer");
        }
    }
}

/// signalling: addressing oneself is unknown_peer.
#[test]
fn signalling_oneself_is_unknown_peer() {
    let mut rooms = mesh_server();
    let a = member(&mut rooms, "a", "room");
    member(&mut rooms, "b", "room");
    for msg in signals(&a.to_string()) {
        assert_refused(&rooms.handle(now(), a, msg), a, "unknown_peer");
    }
}

/// signalling: a sender in no room is not_in_room, whoever it addresses.
#[test]
fn signalling_from_outside_a_room_is_not_in_room() {
    let mut rooms = mesh_server();
    let lobby = connect(&mut rooms);
    let b = member(&mut rooms, "b", "room");
    let other_lobby = connect(&mut rooms);
    for target in [b.to_string(), other_lobby.to_string(), "nonsense".into()] {
        for msg in signals(&target) {
            assert_refused(&rooms.handle(now(), lobby, msg), lobby, "not_in_room");
        }
    }
}

// --- media ---

/// media: outside a room the new state is confirmed to the sender alone.
#[test]
fn media_outside_a_room_goes_to_the_sender_alone() {
    let mut rooms = server();
    let a = connect(&mut rooms);
    let out = set_media(&mut rooms, a, true, false);
    assert_eq!(
        sent(&out),
        [(
            To::Many(vec![a]),
            json!({"type": "media", "id": a.to_string(), "audio": true, "video": false})
        )]
    );
}

/// media: inside a room the new state reaches the sender and its room, not other rooms.
#[test]
fn media_in_a_room_goes_to_the_sender_and_its_room() {
    let mut rooms = server();
    let a = member(&mut rooms, "a", "room");
    let b = member(&mut rooms, "b", "room");
    let elsewhere = member(&mut rooms, "c", "other");

    let out = set_media(&mut rooms, a, false, true);
    assert_eq!(
        sent(&out),
        [(
            To::Many(vec![a, b]),
            json!({"type": "media", "id": a.to_string(), "audio": false, "video": true})
        )]
    );
    assert!(inbox(&out, elsewhere).is_empty());
}

/// media: the stored state shows in later peer_joined and joined peer lists.
#[test]
fn media_state_shows_in_later_peer_info() {
    let mut rooms = server();
    let a = member(&mut rooms, "a", "room");
    let b = connect_named(&mut rooms, "b");
    set_media(&mut rooms, b, true, true);

    let out = join(&mut rooms, b, "room");
    assert_eq!(inbox(&out, a)[0], peer_joined(peer(b, "b", true, true)));

    set_media(&mut rooms, a, true, false);
    set_media(&mut rooms, b, false, true);
    let c = connect(&mut rooms);
    let out = join(&mut rooms, c, "room");
    assert_eq!(
        inbox(&out, c)[0],
        joined(
            "room",
            vec![peer(a, "a", true, false), peer(b, "b", false, true)],
            vec![]
        )
    );
}

// --- disconnect ---

/// disconnect: the members who stay get peer_left and the lobby gets the room's new count.
#[test]
fn disconnecting_tells_the_room_and_updates_the_list() {
    let mut rooms = server();
    let a = member(&mut rooms, "a", "room");
    let b = member(&mut rooms, "b", "room");
    let c = member(&mut rooms, "c", "room");
    let outsider = connect(&mut rooms);

    let out = rooms.disconnect(now().tick, b, Ending::Closed);
    assert_eq!(inbox(&out, a), [peer_left(b)]);
    assert_eq!(inbox(&out, c), [peer_left(b)]);
    assert_eq!(inbox(&out, outsider), [room_update("room", 2, 1)]);
    assert_eq!(rooms.peer_count(), 3);

    // The room no longer lists b to newcomers.
    let d = connect(&mut rooms);
    let out = join(&mut rooms, d, "room");
    assert_eq!(
        inbox(&out, d)[0],
        joined(
            "room",
            vec![peer(a, "a", false, false), peer(c, "c", false, false)],
            vec![]
        )
    );
}

/// disconnect: the last member going away removes the room from the list.
#[test]
fn disconnecting_the_last_member_removes_the_room() {
    let mut rooms = server();
    let a = member(&mut rooms, "a", "solo");
    let outsider = connect(&mut rooms);
    let out = rooms.disconnect(now().tick, a, Ending::Closed);
    assert_eq!(inbox(&out, outsider), [room_update("solo", 0, 0)]);
    assert!(rooms.room_list().rooms.is_empty());
}

/// disconnect: a peer in no room goes away silently.
#[test]
fn disconnecting_from_outside_a_room_sends_nothing() {
    let mut rooms = server();
    member(&mut rooms, "a", "room");
    let lobby = connect(&mut rooms);
    assert!(rooms
        .disconnect(now().tick, lobby, Ending::Closed)
        .is_empty());
    assert_eq!(rooms.peer_count(), 1);
    assert!(
        rooms
            .disconnect(now().tick, lobby, Ending::Closed)
            .is_empty(),
        "a second disconnect is a no-op"
    );
}

/// disconnect: frames from an unknown or disconnected peer are ignored.
#[test]
fn frames_from_unknown_peers_are_ignored() {
    let mut rooms = server();
    let a = member(&mut rooms, "a", "room");
    let gone = member(&mut rooms, "b", "room");
    rooms.disconnect(now().tick, gone, Ending::Closed);
    let a_text = a.to_string();

    for from in [gone, PeerId::new(999)] {
        let messages = [
            ClientMsg::Nickname { name: "x".into() },
            ClientMsg::Join {
                room: "room".into(),
                host_token: None,
                listed: None,
                password: None,
            },
            ClientMsg::Join {
                room: "new".into(),
                host_token: None,
                listed: None,
                password: None,
            },
            ClientMsg::Leave,
            ClientMsg::Chat { text: "hi".into() },
            offer(&a_text),
            answer(&a_text),
            candidate(&a_text),
            ClientMsg::Media {
                audio: true,
                video: true,
                screen: true,
            },
        ];
        for msg in messages {
            let kind = msg.kind();
            assert!(
                rooms.handle(now(), from, msg).is_empty(),
                "{kind} from {from}"
            );
        }
        assert!(rooms
            .disconnect(now().tick, from, Ending::Closed)
            .is_empty());
    }
    assert_eq!(
        wire(&ServerMsg::Rooms {
            rooms: rooms.room_list().rooms,
            rooms_total: rooms.room_count(),
        }),
        room_list(&[("room", 1)])
    );
}

/// disconnect: a connection that is gone is sent nothing; only the members who stay hear of it.
#[test]
fn disconnecting_sends_nothing_to_the_connection_that_is_gone() {
    let mut rooms = server();
    let a = member(&mut rooms, "a", "room");
    let b = member(&mut rooms, "b", "room");

    let out = rooms.disconnect(now().tick, b, Ending::Closed);
    assert_eq!(sent(&out), [(To::Many(vec![a]), peer_left(b))]);
}

/// A moment on the monotonic clock, for the tests that look at timing.
fn at(millis: u64) -> Now {
    Now::new(Tick::from_millis(millis), UnixMillis(WALL))
}

fn join_at(rooms: &mut Rooms, now: Now, id: PeerId, room: &str) -> Vec<Outgoing> {
    rooms.handle(
        now,
        id,
        ClientMsg::Join {
            room: room.into(),
            host_token: None,
            listed: None,
            password: None,
        },
    )
}

/// The lobby hears of a room at once, then at most once per LOBBY_UPDATE_EVERY: changes in
/// between wait, and the news that follows carries the count as it is by then.
#[test]
fn lobby_news_of_a_busy_room_is_held_back_and_ends_on_the_true_count() {
    let mut rooms = server_with_room_size(50);
    let lobby = connect(&mut rooms);
    let people: Vec<PeerId> = (0..10).map(|_| connect(&mut rooms)).collect();
    let every = LOBBY_UPDATE_EVERY.as_millis() as u64;

    let out = join_at(&mut rooms, at(1_000), people[0], "busy");
    assert_eq!(inbox(&out, lobby), [room_update("busy", 1, 1)]);
    assert_eq!(rooms.next_deadline(), None);
    // Nine more within the window: none of them reaches the lobby now.
    for (n, id) in people[1..].iter().enumerate() {
        let out = join_at(&mut rooms, at(1_000 + n as u64 * 10), *id, "busy");
        assert!(inbox(&out, lobby).is_empty(), "{out:?}");
    }
    let due = Tick::from_millis(1_000 + every);
    assert_eq!(rooms.next_deadline(), Some(due));
    assert!(rooms.poll(Tick::from_millis(1_000 + every - 1)).is_empty());
    let out = rooms.poll(due);
    assert_eq!(inbox(&out, lobby), [room_update("busy", 10, 1)]);
    assert_eq!(rooms.next_deadline(), None);
    // Quiet for a while, the next change goes out at once again.
    rooms.poll(Tick::from_millis(1_000 + 2 * every));
    let out = rooms.handle(at(1_000 + 2 * every), people[0], ClientMsg::Leave);
    assert_eq!(inbox(&out, lobby), [room_update("busy", 9, 1)]);
}

/// Held-back news of one room does not hold back another's, and a room that is gone by the
/// time its news goes out is announced with count 0.
#[test]
fn lobby_news_is_held_back_per_room() {
    let mut rooms = server();
    let lobby = connect(&mut rooms);
    let (a, b, c) = (
        connect(&mut rooms),
        connect(&mut rooms),
        connect(&mut rooms),
    );
    join_at(&mut rooms, at(0), a, "one");
    join_at(&mut rooms, at(10), b, "one");
    let out = join_at(&mut rooms, at(20), c, "two");
    assert_eq!(inbox(&out, lobby), [room_update("two", 1, 2)]);
    rooms.disconnect(Tick::from_millis(30), a, Ending::Closed);
    rooms.disconnect(Tick::from_millis(40), b, Ending::Closed);
    let out = rooms.poll(rooms.next_deadline().unwrap());
    assert_eq!(inbox(&out, lobby), [room_update("one", 0, 1)]);
}

/// A list carries the busiest rooms, at most ROOM_LIST_MAX of them sorted by name, and says
/// how many exist.
#[test]
fn room_lists_carry_the_busiest_rooms_and_the_total() {
    let mut rooms = Rooms::new(
        Limits {
            max_rooms: 500,
            ..Limits::default()
        },
        Box::new(Sequence::default()),
    );
    for n in 0..ROOM_LIST_MAX + 50 {
        member(&mut rooms, "a", &format!("room {n:03}"));
    }
    // Two busier rooms among the ones that would be cut by name.
    member(&mut rooms, "b", "room 149");
    member(&mut rooms, "b", "room 148");
    member(&mut rooms, "c", "room 148");
    let list = rooms.room_list();
    assert_eq!(list.total, ROOM_LIST_MAX + 50);
    assert_eq!(list.rooms.len(), ROOM_LIST_MAX);
    let names: Vec<&str> = list.rooms.iter().map(|room| room.name.as_str()).collect();
    assert!(names.windows(2).all(|pair| pair[0] < pair[1]), "{names:?}");
    assert!(names.contains(&"room 148") && names.contains(&"room 149"));
    let (_, out) = rooms.connect();
    let welcome = &sent(&out)[0].1;
    assert_eq!(welcome["rooms"].as_array().unwrap().len(), ROOM_LIST_MAX);
    assert_eq!(welcome["rooms_total"], ROOM_LIST_MAX + 50);
}

/// Past the server-wide history budget the oldest rooms lose their oldest messages first, and a
/// room that ends gives its history's bytes back.
#[test]
fn the_history_budget_trims_the_oldest_rooms_first() {
    let text = "x".repeat(900);
    let cost = chat::ENTRY_OVERHEAD_BYTES + text.len() + 1;
    let mut rooms = Rooms::new(
        Limits {
            history_bytes: 10 * cost,
            ..Limits::default()
        },
        Box::new(Sequence::default()),
    );
    let old = member(&mut rooms, "a", "old");
    let new = member(&mut rooms, "b", "new");
    for _ in 0..6 {
        say(&mut rooms, old, &text);
    }
    for _ in 0..6 {
        say(&mut rooms, new, &text);
    }
    assert_eq!(rooms.history_bytes(), 10 * cost);
    // A newcomer looks, and goes again.
    let seen = |rooms: &mut Rooms, room: &str| -> Vec<u64> {
        let late = connect(rooms);
        let history = history_seen_by(rooms, late, room);
        rooms.disconnect(now().tick, late, Ending::Closed);
        history
            .iter()
            .map(|entry| entry["seq"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(seen(&mut rooms, "old"), [3, 4, 5, 6]);
    assert_eq!(seen(&mut rooms, "new"), [1, 2, 3, 4, 5, 6]);
    // Once the old room has nothing left to give, the next oldest gives.
    for _ in 0..5 {
        say(&mut rooms, new, &text);
    }
    assert_eq!(seen(&mut rooms, "old"), Vec::<u64>::new());
    assert_eq!(seen(&mut rooms, "new"), (2..=11).collect::<Vec<_>>());
    // The new room ends with its last member, and its history's bytes are free again.
    rooms.disconnect(now().tick, new, Ending::Closed);
    assert_eq!(rooms.history_bytes(), 0);
    assert_eq!(rooms.room_count(), 1);
}

/// A connection that comes to the lobby after a change got a whole list with the change in
/// it, so the held-back news of that change is not sent to it again.
#[test]
fn lobby_news_goes_only_to_those_who_came_before_the_change() {
    let mut rooms = server();
    let early = connect(&mut rooms);
    let (a, b) = (connect(&mut rooms), connect(&mut rooms));
    join_at(&mut rooms, at(0), a, "r");
    join_at(&mut rooms, at(10), b, "r");
    // `a` leaves within the window: the lobby's news of "r" waits, and `a` is in the lobby now.
    let out = rooms.handle(at(20), a, ClientMsg::Leave);
    assert_eq!(
        inbox(&out, a),
        [left("r"), room_list(&[("r", 1)])],
        "the leaver's whole list is up to date"
    );
    let late = connect(&mut rooms);
    let out = rooms.poll(rooms.next_deadline().unwrap());
    assert_eq!(inbox(&out, early), [room_update("r", 1, 1)]);
    assert!(inbox(&out, a).is_empty(), "{out:?}");
    assert!(inbox(&out, late).is_empty(), "{out:?}");
}

/// An error frame carries its data as fields too, so no client reads the message: the limit
/// reached, the rule broken, the peer named.
#[test]
fn errors_carry_their_limit_rule_and_peer_as_fields() {
    let mut rooms = Rooms::new(
        Limits {
            max_room_size: 1,
            media: MediaMode::Mesh,
            ..Limits::default()
        },
        Box::new(Sequence::default()),
    );
    let a = member(&mut rooms, "a", "solo");
    let b = connect(&mut rooms);
    let refused = |out: &[Outgoing]| wire(&out[0].msg);
    let full = refused(&join(&mut rooms, b, "solo"));
    assert_eq!(full["code"], "room_full");
    assert_eq!(full["limit"], 1);
    let long = refused(&rename(&mut rooms, b, &"n".repeat(NICKNAME_MAX_CHARS + 1)));
    assert_eq!(
        (&long["rule"], &long["limit"]),
        (&json!("too_long"), &json!(NICKNAME_MAX_CHARS))
    );
    let bidi = refused(&join(&mut rooms, b, "a\u{202e}b"));
    assert_eq!((&bidi["rule"], bidi.get("limit")), (&json!("bidi"), None));
    let unknown = refused(&rooms.handle(now(), a, offer("p99")));
    assert_eq!(unknown["peer"], "p99");
    let blank = refused(&say(&mut rooms, a, "  "));
    assert_eq!(blank["rule"], "blank");
}

// --- SFU ---

fn sfu_offer(sdp: &str) -> ClientMsg {
    ClientMsg::SfuOffer {
        sdp: sdp.into(),
        tracks: vec![
            TrackInfo {
                mid: "0".into(),
                source: TrackSource::Audio,
            },
            TrackInfo {
                mid: "1".into(),
                source: TrackSource::Camera,
            },
        ],
    }
}

/// SFU: joining, switching, leaving and disconnecting tell the media server who is where, in
/// order, and the lobby's comings and goings tell it nothing.
#[test]
fn the_media_server_hears_of_every_room_change_in_order() {
    let mut rooms = server();
    let a = member(&mut rooms, "a", "one");
    let lobby = connect(&mut rooms);
    join(&mut rooms, a, "two");
    leave(&mut rooms, a);
    join(&mut rooms, a, "one");
    rooms.disconnect(now().tick, a, Ending::Closed);
    rooms.disconnect(now().tick, lobby, Ending::Closed);
    let one = RoomName::parse("one").unwrap();
    let two = RoomName::parse("two").unwrap();
    // Each join is a new stay in a call.
    assert_eq!(
        rooms.take_media_commands(),
        [
            MediaCommand::Join {
                member: a,
                room: one.clone(),
                call: CallId(1),
            },
            MediaCommand::Leave { member: a },
            MediaCommand::Join {
                member: a,
                room: two,
                call: CallId(2),
            },
            MediaCommand::Leave { member: a },
            MediaCommand::Join {
                member: a,
                room: one,
                call: CallId(3),
            },
            MediaCommand::Leave { member: a },
        ]
    );
    assert!(rooms.take_media_commands().is_empty(), "taken once");
}

/// SFU: an offer and a view go to the media server as sent, with no frame back.
#[test]
fn offers_and_views_go_to_the_media_server() {
    let mut rooms = server();
    let a = member(&mut rooms, "a", "call");
    rooms.take_media_commands();
    assert!(rooms.handle(now(), a, sfu_offer("v=0 sfu")).is_empty());
    let slots = vec![SlotView {
        slot: "4".into(),
        size: SlotSize {
            width: 320,
            height: 180,
            visible: true,
        },
    }];
    let view = ClientMsg::View {
        slots: slots.clone(),
    };
    assert!(rooms.handle(now(), a, view).is_empty());
    let ClientMsg::SfuOffer { tracks, .. } = sfu_offer("") else {
        unreachable!()
    };
    assert_eq!(
        rooms.take_media_commands(),
        [
            MediaCommand::Offer {
                member: a,
                sdp: "v=0 sfu".into(),
                tracks
            },
            MediaCommand::View { member: a, slots },
        ]
    );
}

/// SFU: the mesh's signalling is wrong_media_mode, and so are the SFU's frames to a mesh.
#[test]
fn each_media_mode_refuses_the_others_frames() {
    let mut rooms = server();
    let a = member(&mut rooms, "a", "call");
    let b = member(&mut rooms, "b", "call");
    for msg in signals(&b.to_string()) {
        assert_refused(&rooms.handle(now(), a, msg), a, "wrong_media_mode");
    }

    let mut mesh = mesh_server();
    let a = member(&mut mesh, "a", "call");
    let view = ClientMsg::View { slots: Vec::new() };
    for msg in [sfu_offer("v=0"), view] {
        assert_refused(&mesh.handle(now(), a, msg), a, "wrong_media_mode");
    }
    assert!(
        mesh.take_media_commands().is_empty(),
        "a mesh has no media server"
    );
}

/// The stay in a call the media server was told of last for `member`.
fn call_of(rooms: &mut Rooms, member: PeerId) -> CallId {
    rooms
        .take_media_commands()
        .into_iter()
        .rev()
        .find_map(|command| match command {
            MediaCommand::Join {
                member: m, call, ..
            } if m == member => Some(call),
            _ => None,
        })
        .expect("the member joined a call")
}

/// SFU: what the media server reports reaches the member it is for, as its frame; who speaks
/// reaches the whole room; a member gone since, or in another stay since, hears nothing.
#[test]
fn media_events_become_frames_for_their_members() {
    let mut rooms = server();
    let a = member(&mut rooms, "a", "call");
    let a_call = call_of(&mut rooms, a);
    let b = member(&mut rooms, "b", "call");
    let b_call = call_of(&mut rooms, b);
    let elsewhere = member(&mut rooms, "c", "other");

    let answer = MediaEvent::Answer {
        member: a,
        call: a_call,
        sdp: "v=0 answer".into(),
    };
    assert_eq!(
        sent(&rooms.handle_media(answer)),
        [(
            To::One(a),
            json!({"type": "sfu_answer", "sdp": "v=0 answer"})
        )]
    );
    let slots = MediaEvent::Slots {
        member: b,
        call: b_call,
        video: 4,
        audio: 8,
    };
    assert_eq!(
        sent(&rooms.handle_media(slots)),
        [(To::One(b), json!({"type": "slots", "video": 4, "audio": 8}))]
    );
    let assign = MediaEvent::Assign {
        member: b,
        call: b_call,
        video: vec![SlotAssign {
            slot: "3".into(),
            member: Some(a),
            source: Some(TrackSource::Camera),
        }],
        audio: vec![SlotAssign {
            slot: "4".into(),
            member: None,
            source: None,
        }],
    };
    assert_eq!(
        sent(&rooms.handle_media(assign)),
        [(
            To::One(b),
            json!({
                "type": "assign",
                "video": [{"slot": "3", "member": a.to_string(), "source": "camera"}],
                "audio": [{"slot": "4", "member": null}],
            })
        )]
    );
    let speaking = MediaEvent::Speaking {
        room: RoomName::parse("call").unwrap(),
        speaking: vec![b, a],
        dominant: Some(b),
    };
    let out = rooms.handle_media(speaking);
    let frame = json!({"type": "speaking", "speaking": [b.to_string(), a.to_string()], "dominant": b.to_string()});
    assert_eq!(inbox(&out, a), std::slice::from_ref(&frame));
    assert_eq!(inbox(&out, b), [frame]);
    assert!(inbox(&out, elsewhere).is_empty());
    let failed = MediaEvent::Failed {
        member: a,
        call: a_call,
        reason: "no ICE".into(),
    };
    assert_refused(&rooms.handle_media(failed), a, "media_failed");

    // An answer to b's offer in its first stay, which arrives once b has left and come back.
    leave(&mut rooms, b);
    join(&mut rooms, b, "call");
    let stale = MediaEvent::Answer {
        member: b,
        call: b_call,
        sdp: "v=0 old".into(),
    };
    assert!(rooms.handle_media(stale).is_empty());
    let current = MediaEvent::Answer {
        member: b,
        call: call_of(&mut rooms, b),
        sdp: "v=0 new".into(),
    };
    assert_eq!(inbox(&rooms.handle_media(current), b)[0]["sdp"], "v=0 new");

    rooms.disconnect(now().tick, a, Ending::Closed);
    let late = MediaEvent::Answer {
        member: a,
        call: a_call,
        sdp: "v=0".into(),
    };
    assert!(rooms.handle_media(late).is_empty());
    let gone_room = MediaEvent::Speaking {
        room: RoomName::parse("nowhere").unwrap(),
        speaking: Vec::new(),
        dominant: None,
    };
    assert!(rooms.handle_media(gone_room).is_empty());
}

/// SFU: a member who joins later hears at once who speaks; while nobody does, nothing.
#[test]
fn a_late_joiner_is_told_who_speaks() {
    let mut rooms = server();
    let a = member(&mut rooms, "a", "call");
    let b = member(&mut rooms, "b", "call");
    let quiet = connect(&mut rooms);
    let out = join(&mut rooms, quiet, "call");
    assert!(
        !inbox(&out, quiet)
            .iter()
            .any(|frame| frame["type"] == "speaking"),
        "{out:?}"
    );
    rooms.handle_media(MediaEvent::Speaking {
        room: RoomName::parse("call").unwrap(),
        speaking: vec![b],
        dominant: Some(a),
    });
    let late = connect(&mut rooms);
    let frames = inbox(&join(&mut rooms, late, "call"), late);
    assert_eq!(frames[0]["type"], "joined");
    assert_eq!(
        frames[1],
        json!({"type": "speaking", "speaking": [b.to_string()], "dominant": a.to_string()})
    );
    // Whoever has left since is left out.
    rooms.disconnect(now().tick, b, Ending::Closed);
    let later = connect(&mut rooms);
    let frames = inbox(&join(&mut rooms, later, "call"), later);
    assert_eq!(
        frames[1],
        json!({"type": "speaking", "speaking": [], "dominant": a.to_string()})
    );
}

fn host_request(rooms: &mut Rooms, id: PeerId, msg: ClientMsg) -> Vec<Outgoing> {
    rooms.handle(now(), id, msg)
}

#[test]
fn only_the_host_is_given_the_host_token() {
    let mut rooms = server();
    let ann = connect(&mut rooms);
    let bob = connect(&mut rooms);
    let joined = hosting_inbox(&join(&mut rooms, ann, "board"), ann);
    assert_eq!(joined[0]["hosts"], json!([ann.to_string()]));
    assert_eq!(
        joined[0]["host_token"],
        json!("00000000000000000000000000000001")
    );
    let joined = hosting_inbox(&join(&mut rooms, bob, "board"), bob);
    assert_eq!(joined[0]["hosts"], json!([ann.to_string()]));
    assert_eq!(joined[0]["locked"], json!(false));
    assert!(joined[0].get("host_token").is_none(), "{}", joined[0]);
}

#[test]
fn hosting_passes_to_the_longest_member_when_there_is_no_cohost() {
    let mut rooms = server();
    let ann = member(&mut rooms, "ann", "board");
    let bob = member(&mut rooms, "bob", "board");
    let cat = member(&mut rooms, "cat", "board");
    let out = leave(&mut rooms, ann);
    for id in [bob, cat] {
        let frames = hosting_inbox(&out, id);
        assert_eq!(
            frames[1],
            json!({"type": "hosts", "hosts": [bob.to_string()]})
        );
    }
    let token =
        json!({"type": "host_token", "room": "board", "token": "00000000000000000000000000000001"});
    assert_eq!(hosting_inbox(&out, bob).get(2), Some(&token));
    assert_eq!(
        hosting_inbox(&out, cat).len(),
        2,
        "the token goes to the new host alone"
    );
    // A member other than the host leaving changes no hosts.
    let out = leave(&mut rooms, cat);
    assert_eq!(
        hosting_inbox(&out, bob),
        [json!({"type": "peer_left", "id": cat.to_string()})]
    );
}

#[test]
fn a_locked_room_lets_its_host_back_in_with_the_token_and_no_one_else() {
    let mut rooms = server();
    let ann = connect(&mut rooms);
    let token = hosting_inbox(&join(&mut rooms, ann, "board"), ann)[0]["host_token"].clone();
    let bob = member(&mut rooms, "bob", "board");
    host_request(&mut rooms, ann, ClientMsg::Lock { locked: true });
    rooms.disconnect(now().tick, ann, Ending::Closed);
    let stranger = connect(&mut rooms);
    assert_refused(
        &join(&mut rooms, stranger, "board"),
        stranger,
        "room_locked",
    );
    let back = connect(&mut rooms);
    let host_token = token.as_str().map(str::to_owned);
    let out = rooms.handle(
        now(),
        back,
        ClientMsg::Join {
            room: "board".into(),
            host_token,
            listed: None,
            password: None,
        },
    );
    let joined = &hosting_inbox(&out, back)[0];
    assert_eq!(joined["hosts"], json!([back.to_string(), bob.to_string()]));
    assert_eq!(joined["locked"], json!(true));
    assert_eq!(joined["host_token"], token);
    assert_eq!(
        hosting_inbox(&out, bob)[1],
        json!({"type": "hosts", "hosts": [back.to_string(), bob.to_string()]})
    );
}

#[test]
fn ending_the_meeting_lets_the_media_server_go_of_everyone_and_tells_the_lobby() {
    let mut rooms = server();
    let ann = member(&mut rooms, "ann", "board");
    let bob = member(&mut rooms, "bob", "board");
    let lobby = connect(&mut rooms);
    rooms.take_media_commands();
    let out = host_request(&mut rooms, ann, ClientMsg::End);
    assert_eq!(
        rooms.take_media_commands(),
        [
            MediaCommand::Leave { member: ann },
            MediaCommand::Leave { member: bob }
        ]
    );
    assert_eq!(rooms.room_count(), 0);
    assert_eq!(
        hosting_inbox(&out, lobby),
        [json!({"type": "room", "name": "board", "count": 0, "rooms_total": 0})]
    );
    for id in [ann, bob] {
        let frames = hosting_inbox(&out, id);
        assert_eq!(
            frames[0],
            json!({"type": "ended", "room": "board", "by": ann.to_string()})
        );
        assert_eq!(frames[1]["type"], "rooms");
        assert_eq!(rooms.room_of(id), None);
    }
}

/// A random source that has failed.
#[derive(Debug)]
struct Broken;

impl Entropy for Broken {
    fn random16(&mut self) -> Option<[u8; 16]> {
        None
    }
}

#[test]
fn without_random_bits_a_room_has_no_token_and_no_token_opens_it() {
    let mut rooms = Rooms::new(Limits::default(), Box::new(Broken));
    let ann = connect(&mut rooms);
    let joined = hosting_inbox(&join(&mut rooms, ann, "board"), ann);
    assert!(joined[0].get("host_token").is_none(), "{}", joined[0]);
    host_request(&mut rooms, ann, ClientMsg::Lock { locked: true });
    let bob = connect(&mut rooms);
    for guess in ["", "null", "00000000000000000000000000000000"] {
        let host_token = Some(guess.to_owned());
        let out = rooms.handle(
            now(),
            bob,
            ClientMsg::Join {
                room: "board".into(),
                host_token,
                listed: None,
                password: None,
            },
        );
        assert_refused(&out, bob, "room_locked");
    }
}

#[test]
fn the_media_server_stops_forwarding_a_muted_member_until_it_unmutes_itself() {
    let mut rooms = server();
    let ann = member(&mut rooms, "ann", "quiet");
    let bob = member(&mut rooms, "bob", "quiet");
    set_media(&mut rooms, bob, true, true);
    rooms.take_media_commands();
    let silence = |silenced| MediaCommand::Silence {
        member: bob,
        silenced,
    };
    host_request(
        &mut rooms,
        ann,
        ClientMsg::Mute {
            id: bob.to_string(),
        },
    );
    assert_eq!(rooms.take_media_commands(), [silence(true)]);
    // Muted again, or turning the camera off, changes nothing for the media server.
    host_request(&mut rooms, ann, ClientMsg::MuteAll);
    set_media(&mut rooms, bob, false, false);
    assert_eq!(rooms.take_media_commands(), []);
    set_media(&mut rooms, bob, true, false);
    assert_eq!(rooms.take_media_commands(), [silence(false)]);
    set_media(&mut rooms, bob, true, true);
    assert_eq!(rooms.take_media_commands(), []);
    // A mute lasts one stay: after leaving and coming back Bob is heard when he unmutes.
    host_request(
        &mut rooms,
        ann,
        ClientMsg::Mute {
            id: bob.to_string(),
        },
    );
    leave(&mut rooms, bob);
    join(&mut rooms, bob, "quiet");
    rooms.take_media_commands();
    set_media(&mut rooms, bob, true, false);
    assert_eq!(rooms.take_media_commands(), []);
}

#[test]
fn a_member_may_react_again_once_the_interval_is_over() {
    let mut rooms = server();
    let ann = member(&mut rooms, "ann", "talk");
    let react = |rooms: &mut Rooms, millis| {
        let emoji = "👏".to_owned();
        rooms.handle(at(millis), ann, ClientMsg::React { emoji })
    };
    assert_eq!(
        hosting_inbox(&react(&mut rooms, 10_000), ann)[0]["type"],
        "reaction"
    );
    assert_refused(&react(&mut rooms, 10_299), ann, "too_many_reactions");
    assert_eq!(
        hosting_inbox(&react(&mut rooms, 10_300), ann)[0]["type"],
        "reaction"
    );
    // The lobby has no tiles to react on.
    leave(&mut rooms, ann);
    assert_refused(&react(&mut rooms, 20_000), ann, "not_in_room");
}

#[test]
fn an_unlisted_room_is_never_news_and_its_name_is_forgotten_when_it_empties() {
    let mut rooms = server();
    let lobby = connect(&mut rooms);
    let ann = connect(&mut rooms);
    let unlisted = |room: &str| ClientMsg::Join {
        room: room.into(),
        host_token: None,
        listed: Some(false),
        password: None,
    };
    let out = rooms.handle(now(), ann, unlisted("quiet"));
    assert_eq!(room_lists(&out), Vec::<Value>::new());
    assert_eq!(rooms.room_list(), RoomList::default());
    assert_eq!(rooms.room_count(), 1, "it exists all the same");
    let out = leave(&mut rooms, ann);
    assert_eq!(inbox(&out, lobby), Vec::<Value>::new());
    assert!(
        rooms.unlisted.is_empty(),
        "the name of a room gone is not kept"
    );
    // Made again without `listed: false`, the same name is an ordinary, listed room.
    let out = join(&mut rooms, ann, "quiet");
    assert_eq!(inbox(&out, lobby), [room_update("quiet", 1, 1)]);
}

/// Joins `room` and returns the resume token the `joined` carries.
fn join_for_token(rooms: &mut Rooms, id: PeerId, room: &str) -> String {
    let out = join(rooms, id, room);
    let joined = out
        .iter()
        .map(|outgoing| wire(&outgoing.msg))
        .find(|frame| frame["type"] == "joined")
        .expect("the join succeeds");
    joined["resume_token"]
        .as_str()
        .expect("a joined carries a resume token")
        .to_owned()
}

fn resume(rooms: &mut Rooms, from: PeerId, id: PeerId, token: &str) -> Vec<Outgoing> {
    let msg = ClientMsg::Resume {
        id: id.to_string(),
        token: token.into(),
        last_seq: 0,
    };
    rooms.handle(now(), from, msg)
}

#[test]
fn a_lost_member_keeps_its_call_until_the_grace_runs_out() {
    let mut rooms = server();
    let stays = member(&mut rooms, "a", "r");
    let lost = connect_named(&mut rooms, "b");
    join_for_token(&mut rooms, lost, "r");
    rooms.take_media_commands();
    let lost_at = now().tick;
    assert!(rooms.disconnect(lost_at, lost, Ending::Lost).is_empty());
    assert!(rooms.take_media_commands().is_empty(), "its call is kept");
    assert_eq!(rooms.room_of(lost).map(RoomName::as_str), Some("r"));
    let grace = Limits::default().resume_grace;
    assert_eq!(rooms.next_deadline(), Some(lost_at + grace));
    assert!(rooms
        .poll(lost_at + (grace - Duration::from_millis(1)))
        .is_empty());
    let out = rooms.poll(lost_at + grace);
    assert_eq!(
        inbox(&out, stays),
        [json!({"type": "peer_left", "id": "p2"})]
    );
    assert_eq!(
        rooms.take_media_commands(),
        [MediaCommand::Leave { member: lost }]
    );
    assert_eq!(rooms.room_of(lost), None);
    assert_eq!(rooms.peer_count(), 1);
    assert_eq!(rooms.next_deadline(), None);
}

#[test]
fn resuming_keeps_the_call_and_asks_the_media_server_to_say_the_slots_again() {
    let mut rooms = server();
    member(&mut rooms, "a", "r");
    let lost = connect_named(&mut rooms, "b");
    let token = join_for_token(&mut rooms, lost, "r");
    rooms.disconnect(now().tick, lost, Ending::Lost);
    rooms.take_media_commands();
    let new = connect(&mut rooms);
    let out = resume(&mut rooms, new, lost, &token);
    assert_eq!(
        rooms.take_rebinds(),
        [Rebind {
            connection: new,
            member: lost
        }]
    );
    assert_eq!(
        rooms.take_media_commands(),
        [MediaCommand::Resync { member: lost }]
    );
    let frames = inbox(&out, lost);
    assert_eq!(frames.len(), 1, "{frames:?}");
    assert_eq!(frames[0]["type"], "resumed");
    assert_eq!(frames[0]["id"], "p2");
    assert_eq!(frames[0]["name"], "b");
    assert!(inbox(&out, new).is_empty(), "the new id is gone");
    assert_eq!(rooms.peer_count(), 2);
    assert_eq!(rooms.next_deadline(), None, "nobody is away");
    // The new connection's id is forgotten: frames sent as it are ignored.
    assert!(say(&mut rooms, new, "ghost").is_empty());
}

#[test]
fn members_who_close_or_wait_or_sit_in_the_lobby_are_not_kept() {
    let mut rooms = Rooms::new(
        Limits {
            resume_grace: Duration::ZERO,
            ..Limits::default()
        },
        Box::new(Sequence::default()),
    );
    let stays = member(&mut rooms, "a", "r");
    let lost = member(&mut rooms, "b", "r");
    let out = rooms.disconnect(now().tick, lost, Ending::Lost);
    assert_eq!(
        inbox(&out, stays),
        [json!({"type": "peer_left", "id": "p2"})]
    );

    let mut rooms = server();
    let stays = member(&mut rooms, "a", "r");
    let closed = member(&mut rooms, "b", "r");
    let out = rooms.disconnect(now().tick, closed, Ending::Closed);
    assert_eq!(
        inbox(&out, stays),
        [json!({"type": "peer_left", "id": "p2"})]
    );
    let lobby = connect(&mut rooms);
    assert!(rooms.disconnect(now().tick, lobby, Ending::Lost).is_empty());
    assert_eq!(rooms.peer_count(), 1);
    assert_eq!(rooms.next_deadline(), None);
}

#[test]
fn a_lost_host_is_still_host_when_it_resumes() {
    let mut rooms = server();
    let host = connect_named(&mut rooms, "a");
    let token = join_for_token(&mut rooms, host, "r");
    let other = member(&mut rooms, "b", "r");
    rooms.disconnect(now().tick, host, Ending::Lost);
    let new = connect(&mut rooms);
    let out = resume(&mut rooms, new, host, &token);
    assert!(
        inbox(&out, other).is_empty(),
        "nothing changed for the others"
    );
    let resumed = hosting_inbox(&out, host);
    assert_eq!(resumed[0]["hosts"], json!(["p1"]));
    assert!(resumed[0]["host_token"].is_string());
}
