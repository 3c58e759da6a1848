//! The browser tests: real Chromium pages in real calls against the real server (see `e2e/`).
//!
//! Each scenario runs `node e2e/run.mjs NAME` inside a private network namespace of its own, so
//! no media leaves the machine. Calls go through the server (`--media sfu`, the default) in the
//! `sfu_*` tests and peer to peer (`--media mesh`) in the others that make calls. Where Chromium, Node's packages or
//! namespaces are missing, the tests say so on stderr and pass as skipped, except under
//! `CI=true`, where a missing browser is a failure.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, PoisonError};

/// Chromium is heavy for a 2-core machine: one scenario at a time.
static ONE_BROWSER_AT_A_TIME: Mutex<()> = Mutex::new(());

/// A scenario may take this long in all before it is stopped.
const SCENARIO_TIMEOUT_SECS: u32 = 240;

/// What a real machine has, inside the test's own network namespace: loopback, and an
/// interface with a private address (10.200.0.1) and a default route, so Chromium gathers
/// candidates as it does on a network (with only loopback and no route it gathers none for a
/// page without camera permission). The interface is one end of a veth pair whose other end is
/// in the same namespace; nothing leaves it. IPv6 is off on the pair: its addresses would come
/// up a moment later, and Chromium takes that for a network change and fails its page loads.
const NAMESPACE_SETUP: &str = "ip link set lo up \
    && ip link add room0 type veth peer name room1 \
    && echo 1 > /proc/sys/net/ipv6/conf/room0/disable_ipv6 \
    && echo 1 > /proc/sys/net/ipv6/conf/room1/disable_ipv6 \
    && ip addr add 10.200.0.1/24 dev room0 && ip addr add 10.200.0.2/24 dev room1 \
    && ip link set room0 up && ip link set room1 up \
    && ip route add default via 10.200.0.2 dev room0";

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn chromium() -> PathBuf {
    std::env::var_os("ROOM_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

fn works(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|out| out.status.success())
}

/// How to enter a new network namespace here: as root, or as a user with user namespaces.
fn namespace_flags() -> Option<&'static [&'static str]> {
    [&["-n"][..], &["-r", "-n"][..]].into_iter().find(|flags| {
        works(
            "unshare",
            &[flags, &["ip", "link", "set", "lo", "up"][..]].concat(),
        )
    })
}

/// What is missing for the browser tests, if anything.
fn missing() -> Option<String> {
    if !chromium().exists() {
        return Some(format!(
            "no Chromium at {} (apt-get install chromium)",
            chromium().display()
        ));
    }
    if !works("node", &["--version"]) {
        return Some("no node".into());
    }
    if !manifest_dir()
        .join("e2e/node_modules/playwright-core")
        .exists()
    {
        return Some("no e2e/node_modules (cd e2e && npm ci)".into());
    }
    if namespace_flags().is_none() {
        return Some("cannot make a network namespace (unshare -n)".into());
    }
    None
}

fn run(scenario: &str) {
    run_needing(scenario, &[]);
}

/// Runs `scenario`, which also needs the `programs` (such as `turnserver`) on the path.
fn run_needing(scenario: &str, programs: &[&str]) {
    let _one = ONE_BROWSER_AT_A_TIME
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let absent = programs
        .iter()
        .find(|program| !works("sh", &["-c", &format!("command -v {program}")]))
        .map(|program| format!("no {program} on the path"));
    if let Some(reason) = missing().or(absent) {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("browser test {scenario} cannot run under CI: {reason}");
        }
        // Written past the test harness's capture, so a skipped test is seen.
        let _ = writeln!(
            std::io::stderr(),
            "\n*** SKIPPED browser test {scenario}: {reason}; see README ***\n"
        );
        return;
    }
    let flags = namespace_flags().expect("checked in missing()");
    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target dir holds tmp/")
        .join("e2e");
    let script = format!(
        "{NAMESPACE_SETUP} && exec timeout {SCENARIO_TIMEOUT_SECS} node e2e/run.mjs \"$0\""
    );
    let out = Command::new("unshare")
        .args(flags)
        .args(["sh", "-c", &script, scenario])
        .current_dir(manifest_dir())
        .env("ROOM_BIN", env!("CARGO_BIN_EXE_room"))
        .env("ROOM_CHROMIUM", chromium())
        .env("ROOM_E2E_OUT", &artifacts)
        .output()
        .expect("unshare runs");
    assert!(
        out.status.success(),
        "browser scenario {scenario} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Peer to peer: two people in one room receive each other's video and audio.
#[test]
fn two_people_see_and_hear_each_other() {
    run("two-people");
}

/// Peer to peer: three people see each other; a leaver's tile goes; a fourth joiner gets
/// everyone.
#[test]
fn three_people_then_one_leaves_and_another_joins() {
    run("three-people");
}

/// Chat reaches every page in the same order; HTML in a nickname is shown as text.
#[test]
fn chat_is_in_one_order_on_every_page_and_names_are_text() {
    run("chat");
}

/// Peer to peer: mute and camera off show on the other page; a shared screen takes the stage
/// beside the sharer's camera, for a newcomer too.
#[test]
fn mute_camera_off_and_screen_share_reach_the_others() {
    run("media-controls");
}

/// The host locks the meeting against a newcomer, names a co-host, reloads and is host again,
/// removes someone and ends the meeting for all; a member has none of the host's buttons.
#[test]
fn a_host_runs_the_meeting() {
    run("hosting");
}

/// Through the server: a host mutes a member, who is no longer forwarded until it unmutes
/// itself when asked; "Mute all" spares the hosts.
#[test]
fn a_host_mutes_a_member_for_everyone() {
    run("host-mute");
}

/// Peer to peer: a host mutes a member, whose page stops sending its sound until it unmutes
/// itself when asked; "Mute all" spares the hosts.
#[test]
fn a_host_mutes_a_member_for_everyone_in_a_mesh() {
    run("host-mute-mesh");
}

/// With the camera and microphone refused the page says they are blocked, and starts them
/// without a reload once they are allowed.
#[test]
fn blocked_devices_are_said_and_tried_again() {
    run("blocked-devices");
}

/// Settings opened in a call on a 1280×800 screen leave the chat's input on screen.
#[test]
fn settings_leave_the_chat_input_on_screen() {
    run("settings-layout");
}

/// "New meeting" makes an unlisted room with a name of seven words; its host can list it.
#[test]
fn a_new_meeting_is_unlisted_until_its_host_lists_it() {
    run("new-meeting");
}

/// A meeting with a password and a waiting room: the password is asked for, a wrong one
/// refused, and a newcomer waits until a host admits or denies them.
#[test]
fn a_password_and_a_waiting_room_keep_the_door() {
    run("waiting-room");
}

/// The stage: speaker view, a pinned tile, a shared screen "presenting" and a host's
/// spotlight each put one tile large, and the grid comes back without them.
#[test]
fn the_stage_shows_the_speaker_a_pin_a_screen_or_the_spotlight() {
    run("stage");
}

/// The keyboard: focus after joining, toggles that keep their name, the shortcuts' list, and a
/// setting that turns single-key shortcuts off.
#[test]
fn the_keyboard_works_and_its_shortcuts_can_be_turned_off() {
    run("keyboard");
}

/// Each remote tile is marked with its connection's quality, through the server and in a mesh.
#[test]
fn tiles_are_marked_with_their_connection_quality() {
    run("quality");
    run("quality-mesh");
}

/// The microphone's meter moves and the speaker test plays, before joining and in settings.
#[test]
fn the_microphone_meter_moves_and_the_speaker_test_plays() {
    run("device-check");
}

/// On a phone, upright and on its side, Join is on screen, the call fits without scrolling
/// with one bar of controls and tiles big enough to see, and the chat opens as a panel.
#[test]
fn a_phone_works_upright_and_on_its_side() {
    run("phone");
}

/// Through the server, the page whose fake microphone plays a tone is ringed as the speaker on
/// the others' pages, and a silent one never is.
#[test]
fn the_one_who_speaks_is_ringed_and_the_silent_are_not() {
    run("active-speaker");
}

/// Chats that come while the log is scrolled back are counted on the chat and in the title.
#[test]
fn unread_chats_are_counted_until_seen() {
    run("chat-unread");
}

/// Raised hands show on the members' tiles for the others, numbered in the order they went up,
/// and a reaction shows; a host lowers a hand and the next one moves up.
#[test]
fn hands_and_reactions_show_on_the_tiles() {
    run("hands");
}

/// One page's WebSocket is cut and comes back within the resume grace: it is the same member,
/// its remote videos decode all along, nobody sees it leave, and the chat it missed shows once.
#[test]
fn a_call_survives_a_dropped_connection() {
    run("resume");
}

/// The same blip in a peer-to-peer call.
#[test]
fn a_mesh_call_survives_a_dropped_connection() {
    run("resume-mesh");
}

/// A full room says so before Join is pressed, which waits; when a place frees up the page says
/// so and the person joins.
#[test]
fn a_full_room_says_so() {
    run("room-full");
}

/// Peer to peer, the call works over https and wss with a self-signed certificate.
#[test]
fn a_call_works_over_self_signed_tls() {
    run("tls");
}

/// The home page's room list shows rooms, their counts and their end as people come and go,
/// and comes back by itself after the server restarts.
#[test]
fn the_home_page_lists_rooms_live() {
    run("lobby");
}

/// With `--turn-secret` each page gets its own TURN login, and a call forced through coturn
/// selects a relay on both ends.
#[test]
fn a_call_goes_through_a_real_turn_server_with_per_page_logins() {
    run_needing("turn-relay", &["turnserver"]);
}

/// Through the server: four pages, one connection each, decode every other page's camera and
/// sound, and the server gets all three simulcast layers (a screenshot is saved).
#[test]
fn sfu_four_people_see_and_hear_each_other_through_the_server() {
    run("sfu-four");
}

/// Through the server: a small tile gets a smaller layer than a large one.
#[test]
fn sfu_a_small_tile_gets_a_smaller_layer_than_a_large_one() {
    run("sfu-layers");
}

/// Through the server: a late joiner decodes everyone within 2 s, a leaver's tile goes
/// within 1 s.
#[test]
fn sfu_a_late_joiner_sees_everyone_at_once_and_a_leaver_goes_at_once() {
    run("sfu-join-leave");
}

/// Through the server: a shared screen reaches everyone in its own tile while the camera
/// goes on.
#[test]
fn sfu_a_shared_screen_reaches_everyone_beside_the_camera() {
    run("sfu-screen-share");
}

/// Through the server: a page refused camera and microphone sees and hears everyone.
#[test]
fn sfu_a_watch_only_page_sees_and_hears_everyone() {
    run("sfu-watch-only");
}

/// Through the server: with UDP to the media port dropped, pages connect over TCP.
#[test]
fn sfu_pages_whose_udp_is_blocked_connect_over_tcp() {
    run_needing("sfu-tcp", &["iptables"]);
}

/// Through the server, over https and wss with a self-signed certificate.
#[test]
fn sfu_a_call_works_over_self_signed_tls() {
    run("sfu-tls");
}
