//! The HTML pages: home, room, 404 and bad room name, as maud templates sharing one layout.
//!
//! Pages are only the skeleton the browser client (`static/*.js`) brings to life; the ids and
//! `data-*` attributes used here are the contract with those scripts. Every string that came
//! from a person (room names, request paths) goes through maud's escaping, never `PreEscaped`.

use maud::{html, Markup, DOCTYPE};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use room_core::chat::TEXT_MAX_CHARS;
use room_core::names::{RoomName, NICKNAME_MAX_CHARS, ROOM_NAME_MAX_CHARS};
use room_core::protocol::{RoomInfo, PASSWORD_MAX_CHARS, REACTIONS, ROOM_LIST_MAX};
use room_core::rooms::RoomList;

use crate::excerpt::excerpt;

/// Everything but RFC 3986 unreserved characters (ALPHA / DIGIT / `-` `.` `_` `~`) is encoded,
/// so a room name is always exactly one path segment: `/` and `?` inside a name stay data.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The path of a room's page, with its name percent-encoded as one segment.
pub(crate) fn room_href(name: &RoomName) -> String {
    format!("/room/{}", utf8_percent_encode(name.as_str(), PATH_SEGMENT))
}

/// "1 person", "3 people".
fn people(count: usize) -> String {
    if count == 1 {
        "1 person".to_owned()
    } else {
        format!("{count} people")
    }
}

/// The frame around every page. `script` is a file under `/static/`, always one of ours.
fn layout(title: &str, script: Option<&str>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="dark";
                title { (title) }
                // An empty icon keeps browsers from asking for /favicon.ico and getting the 404.
                link rel="icon" href="data:,";
                link rel="stylesheet" href="/static/app.css";
                @if let Some(script) = script {
                    script type="module" src={ "/static/" (script) } {}
                }
            }
            body {
                header.topbar {
                    a.brand href="/" { "Room" }
                }
                (body)
            }
        }
    }
}

/// The `<li>` of one room in the home page's list; `static/home.js` builds the same shape.
fn room_item(room: &RoomInfo) -> Markup {
    html! {
        li.room-item {
            a.room-link href=(room_href(&room.name)) { (room.name.as_str()) }
            " "
            span.room-count { (people(room.count)) }
        }
    }
}

/// "Showing the 100 busiest of 250 rooms." when the list is cut, else nothing.
pub(crate) fn rooms_more(shown: usize, total: usize) -> String {
    if total > shown {
        format!("Showing the {shown} busiest of {total} rooms.")
    } else {
        String::new()
    }
}

/// The home page: pick a nickname, join or start a meeting, see the rooms that exist now.
///
/// `rooms` is the list at render time (the busiest rooms), or `None` when the list is private;
/// `static/home.js` keeps it live from `welcome`, `rooms` and `room` frames.
pub(crate) fn home(rooms: Option<&RoomList>) -> Markup {
    let body = html! {
        main #home.page.home {
            section.card.intro {
                h1 { "Meet in a Room" }
                p.muted { "Pick a name, then join a room by name or start a new meeting." }
                div.field {
                    label for="nickname" { "Your name" }
                    input #nickname type="text" name="nickname" autocomplete="nickname"
                        placeholder="e.g. Minsu" data-max-chars=(NICKNAME_MAX_CHARS);
                }
                // Without JavaScript this is a plain GET of /room?name=...; with it, home.js
                // goes straight to /room/<encoded name>.
                form #join-form.join-form action="/room" method="get" {
                    div.field {
                        label for="room-name" { "Room name" }
                        div.row {
                            input #room-name type="text" name="name" required
                                autocomplete="off" placeholder="e.g. team-sync"
                                data-max-chars=(ROOM_NAME_MAX_CHARS);
                            button #join.primary type="submit" { "Join" }
                        }
                    }
                }
                div.or { span { "or" } }
                button #new-meeting.secondary type="button" { "New meeting" }
                p #status.status role="status" aria-live="polite" { "Connecting…" }
            }
            @if let Some(list) = rooms {
                section.card.rooms aria-labelledby="rooms-heading" {
                    h2 #rooms-heading { "Rooms now" }
                    p #rooms-empty.muted hidden[!list.rooms.is_empty()] { "No meetings right now." }
                    ul #room-list.room-list data-max-rooms=(ROOM_LIST_MAX) {
                        @for room in &list.rooms {
                            (room_item(room))
                        }
                    }
                    p #rooms-more.muted hidden[list.total <= list.rooms.len()] {
                        (rooms_more(list.rooms.len(), list.total))
                    }
                }
            }
        }
    };
    layout("Room", Some("home.js"), body)
}

/// A 24×24 icon for the call controls, drawn in the text colour.
///
/// `slash` adds the diagonal stroke that app.css shows while the control is off.
fn icon(path: &str, slash: bool) -> Markup {
    html! {
        svg.icon viewBox="0 0 24 24" aria-hidden="true" focusable="false" {
            path d=(path) {}
            @if slash {
                line.slash x1="3" y1="3" x2="21" y2="21" {}
            }
        }
    }
}

const MIC_ICON: &str =
    "M12 14a3 3 0 0 0 3-3V5a3 3 0 0 0-6 0v6a3 3 0 0 0 3 3zm5.3-3c0 3-2.5 5.1-5.3 \
    5.1S6.7 14 6.7 11H5c0 3.4 2.7 6.2 6 6.7V21h2v-3.3c3.3-.5 6-3.3 6-6.7h-1.7z";
const CAMERA_ICON: &str = "M17 10.5V7a1 1 0 0 0-1-1H4a1 1 0 0 0-1 1v10a1 1 0 0 0 1 1h12a1 1 0 0 0 \
    1-1v-3.5l4 4v-11l-4 4z";
const SCREEN_ICON: &str = "M21 3H3a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h18a2 2 0 0 0 2-2V5a2 2 0 0 \
    0-2-2zm0 16H3V5h18v14zM10 12H8l4-4 4 4h-2v4h-4v-4z";
const LEAVE_ICON: &str =
    "M12 9c-1.6 0-3.2.3-4.6.7v3.1c0 .4-.2.7-.6.9-1 .5-1.9 1.1-2.7 1.9a1 1 0 0 \
    1-1.4 0L.3 13.1a1 1 0 0 1 0-1.4C3.3 8.8 7.5 7 12 7s8.7 1.8 11.7 4.7a1 1 0 0 1 0 1.4l-2.5 2.5a1 \
    1 0 0 1-1.4 0c-.8-.8-1.7-1.4-2.7-1.9a1 1 0 0 1-.6-.9V9.7C15.2 9.3 13.6 9 12 9z";
const SETTINGS_ICON: &str =
    "M3 17v2h6v-2H3zM3 5v2h10V5H3zm10 16v-2h8v-2h-8v-2h-2v6h2zM7 9v2H3v2h4v2h2V9H7zm14 \
    4v-2H11v2h10zm-6-4h2V7h4V5h-4V3h-2v6z";

/// The call's single-key shortcuts, as `static/ui/controls.js` reads them.
const SHORTCUTS: [(&str, &str); 7] = [
    ("M", "Mute or unmute the microphone"),
    ("V", "Stop or start the camera"),
    ("S", "Share the screen, or stop"),
    ("H", "Raise or lower your hand"),
    ("C", "Write in the chat"),
    ("L", "Leave the meeting"),
    ("?", "Show these shortcuts"),
];

/// The page of one room: first a preview to check camera and microphone, then the call.
///
/// The name travels to `static/room.js` in the `data-room` attribute of `#room-page`, so the
/// script never parses it out of the URL; `ice_servers_json` (a JSON array of `RTCIceServer`
/// objects, `[]` when there are none) travels in `data-ice-servers`, and `relay_only` (calls
/// only through the TURN servers) in `data-ice-relay-only`, and how many a room may hold in
/// `data-max-room-size`. They go through maud's attribute escaping.
///
/// The ids, classes and `data-*` attributes here, and the tiles room.js builds in
/// `#video-grid` (`div.tile[data-peer-id]`), are the contract with the scripts and the browser
/// tests.
pub(crate) fn room(
    name: &RoomName,
    ice_servers_json: &str,
    relay_only: bool,
    max_room_size: usize,
) -> Markup {
    let body = html! {
        main #room-page.page.room data-room=(name.as_str()) data-ice-servers=(ice_servers_json)
            data-ice-relay-only=(relay_only) data-max-room-size=(max_room_size) {
            header.room-header {
                div.room-title-block {
                    h1 #room-title.room-title { (name.as_str()) }
                    p #status.status role="status" aria-live="polite" { "Connecting…" }
                }
                div.room-actions {
                    button #copy-link.secondary type="button"
                        data-href=(room_href(name)) { "Copy link" }
                }
            }
            div #error.banner.error role="alert" hidden {}
            dialog #shortcuts-dialog.card aria-labelledby="shortcuts-heading" {
                h2 #shortcuts-heading { "Keyboard shortcuts" }
                p.muted { "In a call, when not typing; Settings can turn them off." }
                dl.shortcuts {
                    @for (key, what) in SHORTCUTS {
                        dt { kbd { (key) } }
                        dd { (what) }
                    }
                }
                form method="dialog" { button.primary { "Close" } }
            }
            // After Leave: the way back in, or home.
            section #left-panel.card.left-panel hidden aria-labelledby="left-heading" {
                h2 #left-heading { "You left the meeting" }
                div.row {
                    button #rejoin.primary type="button" { "Rejoin" }
                    a.button.secondary href="/" { "Home" }
                }
            }
            // Before joining: check how you look and sound, then join.
            section #prejoin.prejoin aria-labelledby="prejoin-heading" {
                div.preview-box {
                    video #preview.preview muted autoplay playsinline {}
                    p #preview-off.preview-off hidden { "Your camera is off" }
                }
                form #prejoin-form.card.prejoin-form {
                    h2 #prejoin-heading { "Ready to join?" }
                    p #occupancy.muted {}
                    div.field {
                        label for="nickname" { "Your name" }
                        input #nickname type="text" name="nickname" autocomplete="nickname"
                            placeholder="Your name" data-max-chars=(NICKNAME_MAX_CHARS);
                    }
                    // Shown when the meeting asks for its password.
                    div #password-field.field hidden {
                        label for="meeting-password" { "Meeting password" }
                        input #meeting-password type="password" name="password"
                            autocomplete="off" data-max-chars=(PASSWORD_MAX_CHARS);
                    }
                    // room.js moves this into the call's settings panel on joining, so the
                    // same pickers switch devices mid-call.
                    fieldset #devices.devices {
                        legend.visually-hidden { "Devices" }
                        div.field {
                            label for="mic-select" { "Microphone" }
                            select #mic-select name="mic" {}
                            meter #mic-level.mic-level min="0" max="1" value="0"
                                aria-label="Microphone level" {}
                        }
                        div.field {
                            label for="camera-select" { "Camera" }
                            select #camera-select name="camera" {}
                        }
                        div.field {
                            label for="speaker-select" { "Speaker" }
                            div.row.speaker-row {
                                select #speaker-select name="speaker" {}
                                button #speaker-test.secondary type="button" { "Test speaker" }
                            }
                        }
                    }
                    div.prejoin-toggles {
                        label.check {
                            input #prejoin-mic type="checkbox" name="mic-on" checked;
                            " Microphone on"
                        }
                        label.check {
                            input #prejoin-camera type="checkbox" name="camera-on" checked;
                            " Camera on"
                        }
                    }
                    p #media-error.media-error hidden {}
                    button #media-retry.secondary type="button" hidden { "Try again" }
                    button #join-button.primary.join-button type="submit" disabled { "Join now" }
                }
            }
            // The call: the video grid with its controls, then people, settings and chat.
            div #call.room-layout hidden {
                section #stage.stage aria-label="Video" tabindex="-1" {
                    div #video-grid.video-grid data-count="0" {}
                    div.controls role="toolbar" aria-label="Call controls" {
                        button #toggle-mic.control type="button" title="Mute (M)" {
                            (icon(MIC_ICON, true))
                            span.control-label { "Mute" }
                        }
                        button #toggle-camera.control type="button" title="Stop video (V)" {
                            (icon(CAMERA_ICON, true))
                            span.control-label { "Stop video" }
                        }
                        button #share-screen.control type="button" title="Share your screen" {
                            (icon(SCREEN_ICON, false))
                            span.control-label { "Share" }
                        }
                        button #raise-hand.control type="button" aria-pressed="false"
                            title="Raise hand (H)" {
                            span.control-emoji aria-hidden="true" { "✋" }
                            span.control-label { "Raise hand" }
                        }
                        div.reactions {
                            button #react.control type="button" aria-controls="reaction-picker"
                                aria-expanded="false" title="React" {
                                span.control-emoji aria-hidden="true" { "😀" }
                                span.control-label { "React" }
                            }
                            div #reaction-picker.reaction-picker role="group"
                                aria-label="Reactions" hidden {
                                @for emoji in REACTIONS {
                                    button.reaction type="button" data-emoji=(emoji)
                                        aria-label=(format!("React {emoji}")) { (emoji) }
                                }
                            }
                        }
                        button #view-mode.control type="button" aria-pressed="false"
                            title="Speaker view" {
                            span.control-emoji aria-hidden="true" { "▣" }
                            span.control-label { "Speaker view" }
                        }
                        // On a phone the people, chat and settings are a panel of their own.
                        button #toggle-chat.control.phone-only type="button"
                            aria-controls="sidebar" aria-expanded="false" title="Chat and people" {
                            span.control-emoji aria-hidden="true" { "💬" }
                            span.control-label { "Chat" }
                            span #chat-toggle-unread.badge.unread hidden { "0" }
                        }
                        button #toggle-settings.control type="button" aria-controls="settings"
                            aria-expanded="false" title="Microphone, camera and speaker" {
                            (icon(SETTINGS_ICON, false))
                            span.control-label { "Settings" }
                        }
                        button #leave.control.danger type="button" title="Leave the meeting" {
                            (icon(LEAVE_ICON, false))
                            span.control-label { "Leave" }
                        }
                    }
                }
                aside #sidebar.sidebar {
                    button #close-sidebar.secondary.phone-only type="button" { "Back to the call" }
                    section #settings.panel.settings-panel aria-labelledby="settings-heading" hidden {
                        h2 #settings-heading { "Settings" }
                        div.field.shortcuts-setting {
                            label.check {
                                input #shortcuts-on type="checkbox" name="shortcuts" checked;
                                " Single-key shortcuts"
                            }
                            button #shortcuts-help.secondary type="button" {
                                "Keyboard shortcuts (?)"
                            }
                        }
                    }
                    section.panel.members-panel aria-labelledby="members-heading" {
                        h2 #members-heading {
                            "People " span #member-count.badge { "0" }
                        }
                        form #nickname-form.row {
                            label.visually-hidden for="rename-input" { "Your name" }
                            input #rename-input type="text" name="nickname" autocomplete="nickname"
                                placeholder="Your name" data-max-chars=(NICKNAME_MAX_CHARS);
                            button #rename.secondary type="submit" { "Rename" }
                        }
                        // Shown to the room's hosts only.
                        div #host-tools.row.host-tools hidden {
                            button #lock-room.secondary type="button" aria-pressed="false" {
                                "Lock meeting"
                            }
                            button #mute-all.secondary type="button" { "Mute all" }
                            button #list-room.secondary type="button" aria-pressed="true" {
                                "Unlist"
                            }
                            button #waiting-room.secondary type="button" aria-pressed="false" {
                                "Waiting room: off"
                            }
                            form #password-form.row.password-form {
                                label.visually-hidden for="password-input" { "Meeting password" }
                                input #password-input type="text" name="password"
                                    autocomplete="off" placeholder="Password (none)"
                                    data-max-chars=(PASSWORD_MAX_CHARS);
                                button #set-password.secondary type="submit" { "Set" }
                            }
                            button #end-meeting.secondary.danger type="button" hidden {
                                "End for all"
                            }
                        }
                        div #waiting-panel.waiting-panel hidden {
                            h3 { "Waiting to come in" }
                            ul #waiting-list.members {}
                        }
                        ul #members.members {}
                    }
                    section.panel.chat-panel aria-labelledby="chat-heading" {
                        h2 #chat-heading {
                            "Chat " span #chat-unread.badge.unread hidden { "0" }
                        }
                        ol #chat-log.chat-log aria-live="polite" {}
                        form #chat-form.chat-form {
                            label.visually-hidden for="chat-input" { "Message" }
                            textarea #chat-input name="text" rows="2" disabled
                                data-max-chars=(TEXT_MAX_CHARS) placeholder="Message everyone"
                                title="Enter sends; Shift+Enter starts a new line" {}
                            button #chat-send.primary type="submit" disabled { "Send" }
                        }
                    }
                }
            }
        }
    };
    layout(&format!("{} · Room", name.as_str()), Some("room.js"), body)
}

/// The 404 page, repeating the path that was not found.
pub(crate) fn not_found(path: &str) -> Markup {
    let body = html! {
        main.page.message-page {
            section.card {
                h1 { "Page not found" }
                p { "There is nothing at " code.echo { (excerpt(path)) } "." }
                p { a.button.primary href="/" { "Go to the home page" } }
            }
        }
    };
    layout("Not found · Room", None, body)
}

/// The page for `/room/<name>` when the name breaks the naming rules.
///
/// `raw` is the decoded name as requested; `reason` is a sentence saying which rule it breaks.
pub(crate) fn bad_room_name(raw: &str, reason: &str) -> Markup {
    let body = html! {
        main.page.message-page {
            section.card {
                h1 { "That room name does not work" }
                p { "The room name " code.echo { (excerpt(raw)) } " cannot be used." }
                p { (reason) }
                p.muted {
                    "Room names have 1 to " (ROOM_NAME_MAX_CHARS)
                    " characters, in any script, and no control characters."
                }
                p { a.button.primary href="/" { "Pick another room" } }
            }
        }
    };
    layout("Bad room name · Room", None, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(name: &str, count: usize) -> RoomInfo {
        RoomInfo {
            name: RoomName::parse(name).unwrap(),
            count,
        }
    }

    fn list(rooms: &[RoomInfo]) -> RoomList {
        RoomList {
            rooms: rooms.to_vec(),
            total: rooms.len(),
        }
    }

    /// A cut list says how many rooms there are in all.
    #[test]
    fn a_cut_room_list_says_how_many_rooms_exist() {
        let cut = RoomList {
            rooms: vec![info("busy", 9)],
            total: 250,
        };
        let page = home(Some(&cut)).into_string();
        assert!(
            page.contains("Showing the 1 busiest of 250 rooms."),
            "{page}"
        );
        let whole = home(Some(&list(&[info("busy", 9)]))).into_string();
        assert!(
            whole.contains(r#"<p class="muted" id="rooms-more" hidden></p>"#),
            "{whole}"
        );
    }

    /// The home page lists each room with a link to it and its member count.
    #[test]
    fn home_lists_rooms_with_links_and_counts() {
        let page = home(Some(&list(&[info("team sync", 3), info("solo", 1)]))).into_string();
        assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
        assert!(page.contains(r#"<a class="room-link" href="/room/team%20sync">team sync</a>"#));
        assert!(page.contains("3 people"), "{page}");
        assert!(page.contains("1 person"), "{page}");
        assert!(page.contains(r#"<script type="module" src="/static/home.js"></script>"#));
        assert!(page.contains(r#"<link rel="stylesheet" href="/static/app.css">"#));
        assert!(page.contains(r#"<meta name="viewport""#));
        assert!(page.contains(r#"id="new-meeting""#));
        // With rooms to show, the "no meetings" line is hidden.
        assert!(
            page.contains(r#"<p class="muted" id="rooms-empty" hidden>"#),
            "{page}"
        );
    }

    /// With no rooms the home page says so.
    #[test]
    fn home_without_rooms_shows_the_empty_line() {
        let page = home(Some(&list(&[]))).into_string();
        assert!(
            page.contains(r#"<p class="muted" id="rooms-empty">"#),
            "{page}"
        );
        assert!(
            page.contains(r#"<ul class="room-list" id="room-list" data-max-rooms="100"></ul>"#),
            "{page}"
        );
    }

    /// A non-ASCII room name is percent-encoded as UTF-8 in its link and shown as typed.
    #[test]
    fn korean_room_links_are_percent_encoded() {
        let page = home(Some(&list(&[info("회의", 2)]))).into_string();
        assert!(
            page.contains(r#"href="/room/%ED%9A%8C%EC%9D%98""#),
            "{page}"
        );
        assert!(page.contains(">회의</a>"), "{page}");
    }

    /// Only unreserved characters survive encoding, so a name is always one path segment.
    #[test]
    fn room_links_encode_everything_but_unreserved_characters() {
        let name = RoomName::parse("a/b?c#d%e&f.g_h-i~j k+l'm").unwrap();
        assert_eq!(
            room_href(&name),
            "/room/a%2Fb%3Fc%23d%25e%26f.g_h-i~j%20k%2Bl%27m"
        );
    }

    /// Markup in a room name is escaped in the list, the link and the room page.
    #[test]
    fn script_in_a_room_name_is_escaped_everywhere() {
        let evil = "<script>alert(1)</script>";
        let home_page = home(Some(&list(&[info(evil, 1)]))).into_string();
        assert!(!home_page.contains(evil), "{home_page}");
        assert!(home_page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(home_page.contains("/room/%3Cscript%3Ealert%281%29%3C%2Fscript%3E"));

        let room_page = room(&RoomName::parse(evil).unwrap(), "[]", false, 8).into_string();
        assert!(!room_page.contains(evil), "{room_page}");
        assert!(room_page.contains(r#"data-room="&lt;script&gt;alert(1)&lt;/script&gt;""#));
        assert!(room_page.contains("<title>&lt;script&gt;alert(1)&lt;/script&gt; · Room</title>"));
    }

    /// A quote in a room name cannot end the attribute it sits in.
    #[test]
    fn quotes_in_a_room_name_stay_inside_data_room() {
        let page = room(
            &RoomName::parse(r#"x" onmouseover="alert(1)"#).unwrap(),
            "[]",
            false,
            8,
        )
        .into_string();
        assert!(
            page.contains(r#"data-room="x&quot; onmouseover=&quot;alert(1)""#),
            "{page}"
        );
    }

    /// The room page carries its name for room.js and has the panels the script fills.
    #[test]
    fn room_page_has_the_name_members_and_chat() {
        let page = room(&RoomName::parse("회의실 🎥").unwrap(), "[]", false, 8).into_string();
        assert!(page.contains(r#"data-room="회의실 🎥""#), "{page}");
        assert!(page.contains(r#"data-max-room-size="8""#), "{page}");
        assert!(page.contains(r#"data-href="/room/%ED%9A%8C%EC%9D%98%EC%8B%A4%20%F0%9F%8E%A5""#));
        for id in [
            "room-page",
            "room-title",
            "status",
            "error",
            "nickname-form",
            "rename-input",
            "members",
            "member-count",
            "video-grid",
            "chat-log",
            "chat-form",
            "chat-input",
        ] {
            assert!(
                page.contains(&format!(r#"id="{id}""#)),
                "no #{id} in {page}"
            );
        }
        assert!(page.contains(r#"src="/static/room.js""#));
    }

    /// Before joining there is a muted inline preview, the name, the device pickers, the
    /// choice to join without camera or microphone, a place for media errors and the button.
    #[test]
    fn room_page_has_the_prejoin_preview_and_device_pickers() {
        let page = room(&RoomName::parse("standup").unwrap(), "[]", false, 8).into_string();
        assert!(
            page.contains(
                r#"<video class="preview" id="preview" muted autoplay playsinline></video>"#
            ),
            "{page}"
        );
        for (tag, id) in [
            ("input", "nickname"),
            ("select", "mic-select"),
            ("select", "camera-select"),
            ("select", "speaker-select"),
            ("input", "prejoin-mic"),
            ("input", "prejoin-camera"),
            ("p", "media-error"),
            ("button", "join-button"),
        ] {
            assert!(
                page.contains(&format!(r#"<{tag} "#)) && page.contains(&format!(r#"id="{id}""#)),
                "no {tag}#{id} in {page}"
            );
        }
        assert_eq!(page.matches(r#"id="nickname""#).count(), 1, "{page}");
    }

    /// The call has its grid and one button per control, hidden until room.js joins.
    #[test]
    fn room_page_has_the_call_controls() {
        let page = room(&RoomName::parse("standup").unwrap(), "[]", false, 8).into_string();
        assert!(
            page.contains(r#"<div class="room-layout" id="call" hidden>"#),
            "{page}"
        );
        for id in [
            "toggle-mic",
            "toggle-camera",
            "share-screen",
            "toggle-settings",
            "leave",
            "copy-link",
        ] {
            assert!(
                page.contains(&format!(r#"id="{id}" type="button""#)),
                "no button#{id} in {page}"
            );
        }
        assert!(page.contains(r#"role="alert""#), "{page}");
        // No inline script or style: the page runs under a CSP without 'unsafe-inline'.
        assert!(
            !page.contains("<script>") && !page.contains("style="),
            "{page}"
        );
    }

    /// The ICE servers reach room.js as JSON in `data-ice-servers`, escaped like any attribute.
    #[test]
    fn ice_servers_travel_escaped_in_a_data_attribute() {
        let name = RoomName::parse("standup").unwrap();
        let page = room(&name, "[]", false, 8).into_string();
        assert!(page.contains(r#"data-ice-servers="[]""#), "{page}");

        let json = r#"[{"urls":["turn:x:3478"],"username":"u\"><script>","credential":"c&d"}]"#;
        let page = room(&name, json, true, 8).into_string();
        assert!(
            page.contains(
                r#"data-ice-servers="[{&quot;urls&quot;:[&quot;turn:x:3478&quot;],&quot;username&quot;:&quot;u\&quot;&gt;&lt;script&gt;&quot;,&quot;credential&quot;:&quot;c&amp;d&quot;}]""#
            ),
            "{page}"
        );
        assert!(!page.contains("<script>"), "{page}");
        assert!(page.contains(r#"data-ice-relay-only="true""#), "{page}");
    }

    /// The 404 page shows the escaped path and links home.
    #[test]
    fn not_found_escapes_the_path_and_links_home() {
        let page = not_found("/nope/<img src=x onerror=alert(1)>").into_string();
        assert!(!page.contains("<img"), "{page}");
        assert!(
            page.contains("/nope/&lt;img src=x onerror=alert(1)&gt;"),
            "{page}"
        );
        assert!(page.contains(r#"href="/""#));
        assert!(
            !page.contains("<script"),
            "error pages need no script: {page}"
        );
    }

    /// The bad-name page repeats the name escaped, with control characters made visible,
    /// and gives the reason.
    #[test]
    fn bad_room_name_shows_the_name_and_the_reason() {
        let page = bad_room_name(
            "<b>x\u{1b}[31m</b>",
            "A room name must not contain control characters.",
        )
        .into_string();
        assert!(page.contains(r"&lt;b&gt;x\u{1b}[31m&lt;/b&gt;"), "{page}");
        assert!(page.contains("<p>A room name must not contain control characters.</p>"));
        assert!(!page.contains('\u{1b}'));
        assert!(page.contains(r#"href="/""#));
    }

    /// A huge path is cut rather than repeated whole.
    #[test]
    fn echoed_strings_are_cut_to_a_readable_length() {
        let page = not_found(&format!("/{}", "a".repeat(10_000))).into_string();
        assert!(page.len() < 5_000, "{} bytes", page.len());
        assert!(page.contains('…'));
    }
}
