//! The first round: request heads with no end, a TCP reset in the middle of a frame, many
//! senders against one reader that stopped, and a graceful shutdown.

use std::io::Write;
use std::net::TcpStream as StdTcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_std::future::timeout;
use async_tungstenite::tungstenite::Message;
use futures_util::StreamExt;
use serde_json::json;

use crate::common::{Server, WAIT};
use crate::support::{
    bystander_still_served, closed_within, connect, connect_on, healthz, join, send, until,
};

/// The most bytes of a request head the server reads (src/head_guard.rs).
const MAX_HEAD_BYTES: usize = 16 * 1024;
/// How long the server waits for a request head (src/head_guard.rs).
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// A request head that never ends (no newline at all) is cut off after 16 KiB instead of
/// being buffered, and the room goes on.
#[async_std::test]
async fn a_head_without_newline_is_cut_off_at_its_limit() {
    let server = Server::start(&[]);
    let (mut bystander, _) = connect(&server).await;
    join(&mut bystander, "r").await;

    let mut stream = StdTcpStream::connect(&server.addr).unwrap();
    stream.write_all(b"GET /").unwrap();
    let chunk = vec![b'a'; 1024];
    let mut sent = 0;
    // Writing fails once the server has dropped the connection and the kernel says so.
    while sent < 64 * MAX_HEAD_BYTES {
        if stream.write_all(&chunk).is_err() {
            break;
        }
        sent += chunk.len();
    }
    assert!(
        closed_within(&mut stream, WAIT),
        "the connection is still open"
    );
    server
        .wait_line(0, |line| line.contains("request head over 16384 bytes"))
        .expect("the cut is logged");

    bystander_still_served(&mut bystander, "after the endless head").await;
    assert_eq!(healthz(&server).await["connections"], 1);
}

/// A request head that stops coming is dropped after the head timeout, and the room goes on.
#[async_std::test]
async fn a_head_that_stalls_is_dropped_after_the_head_timeout() {
    let server = Server::start(&[]);
    let (mut bystander, _) = connect(&server).await;
    join(&mut bystander, "r").await;

    let mut stream = StdTcpStream::connect(&server.addr).unwrap();
    let started = Instant::now();
    stream.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
    bystander_still_served(&mut bystander, "while a head stalls").await;
    assert!(closed_within(&mut stream, HEAD_TIMEOUT + WAIT));
    let waited = started.elapsed();
    assert!(waited >= HEAD_TIMEOUT, "dropped after only {waited:?}");
    server
        .wait_line(0, |line| line.contains("request head timed out"))
        .expect("the timeout is logged");
    bystander_still_served(&mut bystander, "after the stalled head").await;
    assert_eq!(healthz(&server).await["connections"], 1);
}

/// A member whose TCP connection is reset in the middle of a frame leaves its room at once.
#[async_std::test]
async fn a_reset_in_the_middle_of_a_frame_removes_the_member() {
    let server = Server::start(&[]);
    let (mut bystander, _) = connect(&server).await;
    join(&mut bystander, "r").await;
    let socket = StdTcpStream::connect(&server.addr).unwrap();
    let (mut member, member_id) = connect_on(&server, socket.try_clone().unwrap().into()).await;
    join(&mut member, "r").await;
    until(&mut bystander, |f| f["type"] == "peer_joined").await;

    // A masked text frame header announcing 1000 bytes, then 10 of them, then a reset: with
    // a zero linger time, closing the socket sends RST instead of FIN.
    let mut raw = &socket;
    raw.write_all(&[0x81, 0xfe, 0x03, 0xe8, 1, 2, 3, 4])
        .unwrap();
    raw.write_all(&[b'x'; 10]).unwrap();
    socket2::SockRef::from(&socket)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(member);
    drop(socket);

    let left = until(&mut bystander, |f| f["type"] == "peer_left").await;
    assert_eq!(left["id"], member_id.as_str());
    server
        .wait_line(0, |line| {
            line.contains(r#""msg":"dropped""#) && line.contains(&member_id)
        })
        .expect("the drop is logged");
    bystander_still_served(&mut bystander, "after the reset").await;
    assert_eq!(healthz(&server).await["connections"], 1);
}

/// One member stops reading while three others flood the room with chats: the silent one is
/// closed with 1008, the senders and a bystander never wait for it, and /healthz answers
/// throughout (a send that waited on the silent socket could park every worker thread).
#[async_std::test]
async fn many_senders_and_one_stalled_reader_cannot_stall_the_server() {
    let server = Server::start(&["--rate-limit", "1000", "--rate-burst", "100000"]);
    let (mut bystander, _) = connect(&server).await;
    join(&mut bystander, "r").await;
    let (mut silent, silent_id) = connect(&server).await;
    join(&mut silent, "r").await;

    // The senders go on until the silent member is gone: the kernel's socket buffers take
    // megabytes before its queue on the server even starts to fill.
    let silent_gone = Arc::new(AtomicBool::new(false));
    let mut senders = Vec::new();
    for n in 0..3 {
        let silent_gone = silent_gone.clone();
        let (mut sender, _) = connect(&server).await;
        join(&mut sender, "r").await;
        senders.push(async_std::task::spawn(async move {
            let text = format!("{n}{}", "x".repeat(1900));
            // Each chat comes back to its sender: the server keeps serving it.
            for _ in 0..20_000 {
                if silent_gone.load(Ordering::Relaxed) {
                    break;
                }
                send(&mut sender, json!({"type": "chat", "text": text})).await;
                until(&mut sender, |f| {
                    f["type"] == "chat" && f["text"] == text.as_str()
                })
                .await;
            }
        }));
    }
    // `silent` is never read again. Meanwhile the bystander and /healthz are served.
    let left = until(&mut bystander, |f| {
        f["type"] == "peer_left" && f["id"] == silent_id.as_str()
    })
    .await;
    assert_eq!(left["id"], silent_id.as_str());
    silent_gone.store(true, Ordering::Relaxed);
    assert_eq!(healthz(&server).await["status"], "ok");
    for sender in senders {
        timeout(WAIT, sender).await.expect("every sender is served");
    }
    bystander_still_served(&mut bystander, "after the flood").await;
    let closing = server
        .wait_line(0, |line| {
            line.contains(r#""msg":"closing""#) && line.contains(&silent_id)
        })
        .expect("the close is logged");
    assert!(closing.contains(r#""code":1008"#), "{closing}");
    drop(silent);
}

/// On SIGTERM the server stops accepting, sends close 1001 to every client, and exits 0.
#[async_std::test]
async fn sigterm_closes_every_client_with_1001_and_exits_cleanly() {
    let mut server = Server::start(&[]);
    let (mut alice, _) = connect(&server).await;
    join(&mut alice, "r").await;
    let (mut bob, _) = connect(&server).await;
    join(&mut bob, "r").await;
    until(&mut alice, |f| f["type"] == "peer_joined").await;

    server.signal("TERM");
    for client in [&mut alice, &mut bob] {
        let close = loop {
            match timeout(WAIT, client.next())
                .await
                .expect("a close arrives in time")
            {
                Some(Ok(Message::Close(frame))) => break frame,
                Some(Ok(_)) => {}
                other => panic!("the connection ended without a close frame: {other:?}"),
            }
        };
        let close = close.expect("the close frame has a code");
        assert_eq!(u16::from(close.code), 1001);
        assert_eq!(close.reason.as_str(), "server shutting down");
    }
    let status = server.wait_exit(WAIT).expect("the server exits in time");
    assert!(status.success(), "exit status {status}");
    server
        .wait_line(0, |line| line.contains(r#""msg":"stopped""#))
        .expect("the stop is logged");
    assert!(
        StdTcpStream::connect(&server.addr).is_err(),
        "the port still accepts"
    );
}
