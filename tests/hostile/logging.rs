//! A log output that dies or stalls must neither stop nor freeze the server: its members still
//! leave their rooms, new clients are served, and a shutdown is still graceful.

use serde_json::json;

use crate::common::{Launch, Server, Stdout, WAIT};
use crate::support::{bystander_still_served, connect, healthz, join, next_json, send, until};

/// With its stdout closed (a log shipper that died, `room | head`), the server says so once on
/// stderr and goes on: a member that leaves is seen to leave, new WebSockets work, and SIGTERM
/// still ends it cleanly.
#[async_std::test]
async fn a_closed_log_output_stops_neither_connections_nor_the_server() {
    let mut server = Server::launch(Launch {
        stdout: Stdout::Closed,
        ..Launch::default()
    });
    let (mut bystander, _) = connect(&server).await;
    join(&mut bystander, "r").await;
    let (mut member, member_id) = connect(&server).await;
    join(&mut member, "r").await;
    until(&mut bystander, |f| f["type"] == "peer_joined").await;
    server
        .wait_stderr(|line| line.contains("cannot write the log"))
        .expect("the failed log is reported on stderr");

    drop(member);
    let left = until(&mut bystander, |f| f["type"] == "peer_left").await;
    assert_eq!(left["id"], member_id.as_str(), "no ghost stays in the room");
    let (mut newcomer, _) = connect(&server).await;
    join(&mut newcomer, "r").await;
    bystander_still_served(&mut newcomer, "a newcomer after the log died").await;
    bystander_still_served(&mut bystander, "the bystander after the log died").await;
    assert_eq!(healthz(&server).await["connections"], 2);

    server.signal("TERM");
    let status = server.wait_exit(WAIT).expect("the server exits in time");
    assert!(status.success(), "exit status {status}");
    let reports = server.stderr().matches("cannot write the log").count();
    assert_eq!(reports, 1, "{}", server.stderr());
}

/// With its stdout never read (a full pipe, a stalled disk), nothing waits for the log: chats
/// that each write a log line go on being delivered long after the pipe is full, `/healthz`
/// answers, and it counts the lines it had to drop.
#[async_std::test]
async fn a_log_output_that_stalls_freezes_nothing() {
    let server = Server::launch(Launch {
        // Peer to peer, so what the chatter reads is its chats and nothing of the media.
        args: &[
            "--rate-limit",
            "1000",
            "--rate-burst",
            "10000",
            "--media",
            "mesh",
        ],
        stdout: Stdout::Stalled,
        ..Launch::default()
    });
    let (mut bystander, _) = connect(&server).await;
    join(&mut bystander, "r").await;
    let (mut chatter, _) = connect(&server).await;
    join(&mut chatter, "r").await;
    // A pipe holds 64 KiB and the sink's queue 4096 lines; every chat logs a line of about
    // 300 bytes: this is the log of 6000 lines, far past what both take.
    let text = "x".repeat(180);
    for n in 0..6_000 {
        send(
            &mut chatter,
            json!({"type": "chat", "text": format!("{n} {text}")}),
        )
        .await;
        let echo = next_json(&mut chatter).await;
        assert_eq!(echo["type"], "chat", "{echo}");
    }
    bystander_still_served(&mut bystander, "with the log stalled").await;
    let health = healthz(&server).await;
    assert_eq!(health["status"], "ok");
    assert!(
        health["log_lines_dropped"].as_u64().unwrap() > 1_000,
        "{health}"
    );
}

/// Where Room listens is said on stderr whatever the log level, as the README shows it.
#[async_std::test]
async fn the_listening_line_is_on_stderr_even_with_the_log_off() {
    let server = Server::start(&["--log-level", "off"]);
    let line = server
        .wait_stderr(|line| line.starts_with("room: listening on "))
        .expect("a listening line");
    assert_eq!(line, format!("room: listening on http://{}", server.addr));
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("the README");
    assert!(
        readme.contains("room: listening on http://127.0.0.1:3000"),
        "the README's sample line is not what Room prints"
    );
    let (mut client, _) = connect(&server).await;
    join(&mut client, "r").await;
    assert!(server.lines().is_empty(), "{:?}", server.lines());
}
