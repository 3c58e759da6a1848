//! A client that stops reading is closed and removed from its room; the rest of the room keeps
//! being served.

mod common;

use async_tungstenite::tungstenite::Message;
use futures_util::StreamExt;
use serde_json::{json, Value};

use common::Server;

type Client = async_tungstenite::WebSocketStream<async_std::net::TcpStream>;

async fn connect(server: &Server) -> (Client, String) {
    let stream = async_std::net::TcpStream::connect(&server.addr)
        .await
        .unwrap();
    let (mut ws, _) = async_tungstenite::client_async(server.ws_url("/ws"), stream)
        .await
        .unwrap();
    let welcome = next_json(&mut ws).await;
    (ws, welcome["id"].as_str().unwrap().to_owned())
}

async fn next_json(ws: &mut Client) -> Value {
    loop {
        let msg = async_std::future::timeout(common::WAIT, ws.next())
            .await
            .expect("a frame arrives in time")
            .expect("the connection is open")
            .expect("the frame is readable");
        if let Message::Text(text) = msg {
            return serde_json::from_str(text.as_str()).unwrap();
        }
    }
}

/// One member stops reading while another chats on: the silent one is closed with 1008 and the
/// other is told it left, while chats keep arriving and /healthz keeps answering.
#[async_std::test]
async fn a_member_that_stops_reading_is_closed_and_the_room_goes_on() {
    // The talker sends as fast as it can: lift the rate limit, which is not what this tests.
    let server = Server::start(&["--rate-limit", "1000", "--rate-burst", "100000"]);
    let (mut talker, _) = connect(&server).await;
    let (mut silent, silent_id) = connect(&server).await;
    for ws in [&mut talker, &mut silent] {
        ws.send(Message::text(
            json!({"type": "join", "room": "r"}).to_string(),
        ))
        .await
        .unwrap();
    }
    // From here on `silent` is never read again: its socket buffers and then its queue fill.
    let text = "x".repeat(2000);
    let chat = json!({"type": "chat", "text": text}).to_string();
    let mut saw_peer_left = false;
    for sent in 1..=20_000 {
        talker.send(Message::text(chat.clone())).await.unwrap();
        loop {
            let frame = next_json(&mut talker).await;
            if frame["type"] == "peer_left" && frame["id"] == silent_id {
                saw_peer_left = true;
            }
            if frame["type"] == "chat" {
                assert_eq!(frame["seq"], sent, "chats arrive in order, none lost");
                break;
            }
        }
        if saw_peer_left {
            break;
        }
    }
    assert!(saw_peer_left, "the silent member was never removed");

    let closing = server
        .wait_line(0, |line| {
            line.contains(r#""msg":"closing""#) && line.contains(&silent_id)
        })
        .expect("the close is logged");
    assert!(closing.contains(r#""code":1008"#), "{closing}");
    let health = surf::get(server.url("/healthz"))
        .recv_string()
        .await
        .unwrap();
    assert!(health.contains(r#""connections":1"#), "{health}");
    drop(silent);
}
