//! What every hostile test needs: clients, a bystander, `/healthz`, and connections from
//! another loopback address (127.0.0.2 and up are loopback too, and count as other clients).

use std::io::Read;
use std::net::{IpAddr, SocketAddr, TcpStream as StdTcpStream};
use std::time::Duration;

use async_std::future::timeout;
use async_std::net::TcpStream;
use async_tungstenite::tungstenite::Message;
use async_tungstenite::WebSocketStream;
use futures_util::StreamExt;
use serde_json::{json, Value};

use crate::common::{Server, WAIT};

pub(crate) type Client = WebSocketStream<TcpStream>;

/// A TCP connection to `server` from the loopback address `from` (such as `[127, 0, 0, 2]`).
pub(crate) fn tcp_from(server: &Server, from: [u8; 4]) -> StdTcpStream {
    let socket =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("a socket");
    socket
        .bind(&SocketAddr::new(IpAddr::from(from), 0).into())
        .expect("a loopback address to bind");
    let addr: SocketAddr = server.addr.parse().expect("the server's address");
    socket
        .connect_timeout(&addr.into(), WAIT)
        .expect("the server accepts in time");
    socket.into()
}

pub(crate) async fn connect(server: &Server) -> (Client, String) {
    let stream = TcpStream::connect(&server.addr).await.unwrap();
    connect_on(server, stream).await
}

/// Opens a WebSocket from the loopback address `from`.
pub(crate) async fn connect_from(server: &Server, from: [u8; 4]) -> (Client, String) {
    connect_on(server, tcp_from(server, from).into()).await
}

pub(crate) async fn connect_on(server: &Server, stream: TcpStream) -> (Client, String) {
    let (mut ws, _) = timeout(
        WAIT,
        async_tungstenite::client_async(server.ws_url("/ws"), stream),
    )
    .await
    .expect("the upgrade is answered in time")
    .expect("the upgrade succeeds");
    let welcome = next_json(&mut ws).await;
    (ws, welcome["id"].as_str().unwrap().to_owned())
}

pub(crate) async fn next_json(ws: &mut Client) -> Value {
    loop {
        let msg = timeout(WAIT, ws.next())
            .await
            .expect("a frame arrives in time")
            .expect("the connection is open")
            .expect("the frame is readable");
        if let Message::Text(text) = msg {
            return serde_json::from_str(text.as_str()).unwrap();
        }
    }
}

/// Reads frames until one satisfies `wanted`, which it returns.
pub(crate) async fn until(ws: &mut Client, wanted: impl Fn(&Value) -> bool) -> Value {
    loop {
        let frame = next_json(ws).await;
        if wanted(&frame) {
            return frame;
        }
    }
}

pub(crate) async fn send(ws: &mut Client, value: Value) {
    ws.send(Message::text(value.to_string())).await.unwrap();
}

pub(crate) async fn join(ws: &mut Client, room: &str) {
    send(ws, json!({"type": "join", "room": room})).await;
    until(ws, |f| f["type"] == "joined").await;
}

/// A bystander in the room: it chats, and its chat comes back to it within `WAIT`.
pub(crate) async fn bystander_still_served(bystander: &mut Client, text: &str) {
    send(bystander, json!({"type": "chat", "text": text})).await;
    until(bystander, |f| f["type"] == "chat" && f["text"] == text).await;
}

pub(crate) async fn healthz(server: &Server) -> Value {
    let body = timeout(WAIT, surf::get(server.url("/healthz")).recv_string())
        .await
        .expect("/healthz answers in time")
        .expect("/healthz answers");
    serde_json::from_str(&body).unwrap()
}

/// Whether the server closed `stream`: a read gives end of file or a reset within `limit`.
pub(crate) fn closed_within(stream: &mut StdTcpStream, limit: Duration) -> bool {
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut buf = [0; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(err) => {
                return !matches!(
                    err.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                )
            }
        }
    }
}

/// Sends a plain `GET path` on `stream` and reads the whole response.
pub(crate) fn get_on(stream: &mut StdTcpStream, server: &Server, path: &str) -> String {
    use std::io::Write;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        server.addr
    );
    stream.write_all(request.as_bytes()).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    String::from_utf8_lossy(&response).into_owned()
}
