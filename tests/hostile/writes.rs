//! Clients that stop reading while the server writes to them: the write must not outlive the
//! idle timeout, so their connections end like any silent client's, and they leave their room
//! once the resume grace has passed with no new connection resuming them.
//!
//! On loopback the kernel takes about 1.3 MB for a connection whose reader stopped (twice ten
//! segments of 64 KiB) before a write waits, so the test sends that and a few hundred KB
//! more: enough to leave a write pending, too little to overflow the server's 1 MiB queue
//! (which would close the connection for a reason of its own).

use std::time::{Duration, Instant};

use async_std::future::timeout;
use async_std::net::TcpStream;
use serde_json::json;

use crate::common::Server;
use crate::support::{bystander_still_served, connect, connect_on, healthz, join, send, until};

/// How many clients stop reading.
const STALLED: usize = 7;

/// Seven clients with a tiny receive buffer join a room whose history is large, so the server's
/// write of their `joined` blocks, and never read again. With `--idle-timeout 3` each
/// connection is gone within the promised 4/3 of it (plus the time to notice), the member a
/// second later (`--resume-grace 1`), and the room goes on.
#[async_std::test]
async fn clients_that_stop_reading_mid_write_are_gone_within_the_idle_promise() {
    let idle = Duration::from_secs(3);
    let grace = Duration::from_secs(1);
    let server = Server::start(&[
        "--idle-timeout",
        "3",
        "--resume-grace",
        "1",
        "--rate-limit",
        "1000",
    ]);
    let (mut bystander, _) = connect(&server).await;
    join(&mut bystander, "big").await;
    // Fifty chats of 2000 four-byte characters: a `joined` of 400 KB.
    let text = "😀".repeat(2000);
    for _ in 0..50 {
        send(&mut bystander, json!({"type": "chat", "text": text})).await;
        until(&mut bystander, |f| f["type"] == "chat").await;
    }

    let mut stalled = Vec::new();
    let started = Instant::now();
    for _ in 0..STALLED {
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
            .expect("a socket");
        socket.set_recv_buffer_size(1024).expect("a small buffer");
        let addr: std::net::SocketAddr = server.addr.parse().unwrap();
        socket.connect(&addr.into()).expect("the server accepts");
        let stream = TcpStream::from(std::net::TcpStream::from(socket));
        let (mut client, id) = connect_on(&server, stream).await;
        send(&mut client, json!({"type": "join", "room": "big"})).await;
        // Never read again, never answer a ping.
        stalled.push((client, id));
    }
    // More chats: the joined (400 KB) and these (1.8 MB) are past what the kernel holds for
    // each stalled client, and well within the queue.
    for _ in 0..225 {
        send(&mut bystander, json!({"type": "chat", "text": text})).await;
        until(&mut bystander, |f| f["type"] == "chat").await;
    }
    let mut gone = Vec::new();
    let deadline = idle + idle / 3 + grace + Duration::from_secs(10);
    while gone.len() < STALLED {
        let frame = timeout(
            deadline,
            until(&mut bystander, |f| f["type"] == "peer_left"),
        )
        .await
        .unwrap_or_else(|_| panic!("only {} of {STALLED} left in time", gone.len()));
        gone.push(frame["id"].as_str().unwrap().to_owned());
    }
    let waited = started.elapsed();
    for (_, id) in &stalled {
        assert!(gone.contains(id), "{id} is still a member");
    }
    eprintln!("all {STALLED} stalled clients gone after {waited:?}");
    bystander_still_served(&mut bystander, "after the stalled writes").await;
    assert_eq!(healthz(&server).await["connections"], 1);
    server
        .wait_line(0, |line| line.contains(r#""msg":"write timed out""#))
        .expect("a stalled write is logged");
}
