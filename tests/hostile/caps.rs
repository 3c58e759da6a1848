//! TCP connections that never send a request cost a file descriptor each. One address may not
//! hold more than its share, the total stays below the open-files limit, a connection over a
//! cap is answered at once, and silent ones are dropped after the first-byte deadline.

use std::net::TcpStream as StdTcpStream;
use std::time::Duration;

use serde_json::Value;

use crate::common::{Launch, Server, WAIT};
use crate::support::{
    bystander_still_served, closed_within, connect_from, get_on, healthz, join, tcp_from,
};

/// Connections one address may hold in all: 64 WebSockets and 32 more (src/server.rs).
const PER_ADDRESS: usize = 64 + 32;
/// How long a connection may wait before its first request (src/head_guard.rs).
const FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(5);

/// 300 idle connections from 127.0.0.1 against a server allowed 256 open files: the address
/// gets its share and no more, so a client from 127.0.0.2 is still served, pages and
/// WebSocket; the idle ones are dropped after the first-byte deadline.
#[async_std::test]
async fn one_address_cannot_take_every_file_descriptor() {
    let server = Server::launch(Launch {
        wrapper: &["prlimit", "--nofile=256:256"],
        ..Launch::default()
    });
    let mut held: Vec<StdTcpStream> = (0..300)
        .map(|_| tcp_from(&server, [127, 0, 0, 1]))
        .collect();

    let (mut other, _) = connect_from(&server, [127, 0, 0, 2]).await;
    join(&mut other, "r").await;
    bystander_still_served(&mut other, "while one address holds its share").await;
    let mut page = tcp_from(&server, [127, 0, 0, 3]);
    let response = get_on(&mut page, &server, "/");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");

    // The ones over the share (accepted in the order they connected) were refused at once,
    // the rest are dropped when their first byte is overdue.
    for stream in &mut held[PER_ADDRESS..] {
        let mut answer = String::new();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        let _ = std::io::Read::read_to_string(stream, &mut answer);
        assert!(answer.starts_with("HTTP/1.1 503"), "{answer:?}");
        assert!(
            answer.contains("too many connections from one address"),
            "{answer}"
        );
    }
    for stream in &mut held[..PER_ADDRESS] {
        assert!(
            closed_within(stream, FIRST_BYTE_TIMEOUT + WAIT),
            "a silent connection is still open"
        );
    }
    bystander_still_served(&mut other, "after the silent ones went").await;
    assert_eq!(healthz(&server).await["connections"], 1);
}

/// At start the soft limit on open files goes up to the hard limit, and the log says how many
/// connections that holds.
#[test]
fn the_open_files_limit_is_raised_to_the_hard_limit() {
    let server = Server::launch(Launch {
        wrapper: &["prlimit", "--nofile=256:4096"],
        ..Launch::default()
    });
    let line = server
        .wait_line(0, |line| line.contains(r#""msg":"open files limit""#))
        .expect("the limit is logged");
    let line: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(line["open_files"], 4096, "{line}");
    assert_eq!(line["tcp_connections"], 4096 - 64, "{line}");
}

/// A server whose every place is taken (by clients from many addresses) answers the next
/// connection `503` at once instead of leaving it hanging, and serves again once the silent
/// connections are dropped.
#[async_std::test]
async fn a_full_server_answers_503_and_keeps_accepting() {
    let server = Server::launch(Launch {
        wrapper: &["prlimit", "--nofile=200:200"],
        ..Launch::default()
    });
    // 200 files less the 64 held back: 136 places, taken from 127.0.0.10 to 127.0.0.14.
    let mut held = Vec::new();
    for last in 10..15 {
        for _ in 0..28 {
            held.push(tcp_from(&server, [127, 0, 0, last]));
        }
    }
    let mut late = tcp_from(&server, [127, 0, 0, 20]);
    let response = get_on(&mut late, &server, "/healthz");
    assert!(response.starts_with("HTTP/1.1 503"), "{response}");
    assert!(response.contains("the server is full"), "{response}");
    for stream in &mut held {
        assert!(closed_within(stream, FIRST_BYTE_TIMEOUT + WAIT));
    }
    let mut again = tcp_from(&server, [127, 0, 0, 20]);
    let response = get_on(&mut again, &server, "/healthz");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
}
