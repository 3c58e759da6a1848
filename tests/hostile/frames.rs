//! Frames that the message rate limit never sees (pongs, continuations) count on the wire, and
//! a connection closed for flooding is not read on at line rate.

use std::io::Write;
use std::net::TcpStream as StdTcpStream;
use std::thread;
use std::time::{Duration, Instant};

use async_std::net::TcpStream;

use crate::common::{Server, WAIT};
use crate::support::{bystander_still_served, connect, connect_on, healthz, join, until};

/// An empty, masked pong: what a flood of unsolicited pongs is made of.
const PONG: [u8; 6] = [0x8a, 0x80, 0, 0, 0, 0];

/// Writes `frame` over and over on `stream` until the server stops taking it (the connection
/// is closed or reset) or `limit` passes; the bytes written.
fn flood(mut stream: StdTcpStream, frame: &[u8], limit: Duration) -> (u64, bool) {
    let chunk = frame.repeat(64 * 1024 / frame.len());
    stream
        .set_write_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let started = Instant::now();
    let mut written = 0;
    while started.elapsed() < limit {
        match stream.write(&chunk) {
            Ok(bytes) => written += bytes as u64,
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(err) if err.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => return (written, true),
        }
    }
    (written, false)
}

/// A client that floods the server with unsolicited pongs is paused, then closed with 1008,
/// while a bystander chats and a newcomer is greeted.
#[async_std::test]
async fn a_flood_of_pongs_is_counted_and_closed() {
    let server = Server::start(&[]);
    let (mut bystander, _) = connect(&server).await;
    join(&mut bystander, "r").await;
    let raw = StdTcpStream::connect(&server.addr).unwrap();
    let (_flooder, flooder_id) = connect_on(&server, raw.try_clone().unwrap().into()).await;
    let flooding = thread::spawn(move || flood(raw, &PONG, 2 * WAIT));

    let (mut newcomer, _) = connect(&server).await;
    join(&mut newcomer, "r").await;
    bystander_still_served(&mut bystander, "during the pong flood").await;
    let (written, closed) = flooding.join().unwrap();
    assert!(closed, "still open after {written} bytes of pongs");
    let closing = server
        .wait_line(0, |line| {
            line.contains(r#""msg":"closing""#) && line.contains(&flooder_id)
        })
        .expect("the close is logged");
    assert!(closing.contains(r#""code":1008"#), "{closing}");
    bystander_still_served(&mut bystander, "after the pong flood").await;
    assert_eq!(healthz(&server).await["connections"], 2);
}

/// After the server closes a client for flooding with messages, it reads only a little more
/// while waiting for the client's close, then drops the connection: a client that keeps
/// writing finds the connection gone long before it has written its fill.
#[async_std::test]
async fn a_client_closed_for_flooding_is_not_read_on() {
    let server = Server::start(&[]);
    let (mut bystander, _) = connect(&server).await;
    join(&mut bystander, "r").await;
    let raw = StdTcpStream::connect(&server.addr).unwrap();
    let stream = TcpStream::from(raw.try_clone().unwrap());
    let (mut flooder, flooder_id) = connect_on(&server, stream).await;
    // A masked text frame of `{}`: a message the rate limit counts.
    let text: [u8; 8] = [0x81, 0x82, 0, 0, 0, 0, b'{', b'}'];
    let flooding = thread::spawn(move || flood(raw, &text, 4 * WAIT));
    // The flooder hears its `{}` is no message, then that it goes too fast, then the close.
    until(&mut flooder, |f| f["code"] == "rate_limited").await;
    let (written, closed) = flooding.join().unwrap();
    assert!(closed, "still open after {written} bytes");
    // Loopback's socket buffers hold a few MiB; reading on for 5 s would take gigabytes.
    assert!(
        written < 64 << 20,
        "{written} bytes taken from a closed flooder"
    );
    server
        .wait_line(0, |line| {
            line.contains(r#""msg":"closing""#)
                && line.contains(&flooder_id)
                && line.contains("rate limit exceeded")
        })
        .expect("the close is logged");
    bystander_still_served(&mut bystander, "after the flood").await;
}
