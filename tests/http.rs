//! The pages, the browser client's files and the health check, fetched with surf from a real
//! server.

mod common;

use async_tungstenite::tungstenite::Message;
use futures_util::StreamExt;

use common::Server;

async fn get(server: &Server, path: &str) -> (u16, String, String) {
    let mut res = surf::get(server.url(path))
        .await
        .expect("the server answers");
    let content_type = res
        .content_type()
        .map(|mime| mime.essence().to_owned())
        .unwrap_or_default();
    let body = res.body_string().await.expect("a text body");
    (u16::from(res.status()), content_type, body)
}

/// The home page is HTML with the join form and a live room list.
#[async_std::test]
async fn home_page_is_html_with_a_join_form() {
    let server = Server::start(&[]);
    let res = surf::get(server.url("/")).await.unwrap();
    assert!(res.header("Content-Security-Policy").is_some());
    let (status, content_type, body) = get(&server, "/").await;
    assert_eq!((status, content_type.as_str()), (200, "text/html"));
    assert!(body.starts_with("<!DOCTYPE html>"), "{body}");
    assert!(body.contains("/static/home.js"), "{body}");
}

/// Rooms that have members are listed on the home page with their counts, escaped.
#[async_std::test]
async fn home_page_lists_rooms_with_member_counts() {
    let server = Server::start(&[]);
    let (mut ws, _) = async_tungstenite::async_std::connect_async(server.ws_url("/ws"))
        .await
        .unwrap();
    ws.next().await.unwrap().unwrap(); // welcome
    let join = r#"{"type":"join","room":"<i>팀</i> standup"}"#;
    ws.send(Message::text(join)).await.unwrap();
    let joined = ws.next().await.unwrap().unwrap().into_text().unwrap();
    assert!(joined.contains(r#""type":"joined""#), "{joined}");

    let (_, _, body) = get(&server, "/").await;
    assert!(body.contains("&lt;i&gt;팀&lt;/i&gt; standup"), "{body}");
    assert!(!body.contains("<i>팀"), "{body}");
    assert!(
        body.contains("/room/%3Ci%3E%ED%8C%80%3C%2Fi%3E%20standup"),
        "{body}"
    );
}

/// With --private-rooms the home page shows no room list, even while a room has members.
#[async_std::test]
async fn private_rooms_are_not_listed_on_the_home_page() {
    let server = Server::start(&["--private-rooms"]);
    let (mut ws, _) = async_tungstenite::async_std::connect_async(server.ws_url("/ws"))
        .await
        .unwrap();
    ws.next().await.unwrap().unwrap(); // welcome
    let join = r#"{"type":"join","room":"board-meeting"}"#;
    ws.send(Message::text(join)).await.unwrap();
    let joined = ws.next().await.unwrap().unwrap().into_text().unwrap();
    assert!(joined.contains(r#""type":"joined""#), "{joined}");

    let (status, _, body) = get(&server, "/").await;
    assert_eq!(status, 200);
    assert!(body.contains(r#"id="new-meeting""#), "{body}");
    assert!(!body.contains("board-meeting"), "{body}");
    assert!(!body.contains(r#"id="room-list""#), "{body}");
}

/// A room page works for any script and escapes the name.
#[async_std::test]
async fn room_page_shows_a_korean_room_name() {
    let server = Server::start(&[]);
    let (status, content_type, body) = get(&server, "/room/%ED%9A%8C%EC%9D%98%EC%8B%A4").await;
    assert_eq!((status, content_type.as_str()), (200, "text/html"));
    assert!(body.contains("회의실"), "{body}");
    assert!(body.contains("/static/room.js"), "{body}");

    let (status, _, body) = get(&server, "/room/%3Cscript%3Ealert(1)%3C%2Fscript%3E").await;
    assert_eq!(status, 200);
    assert!(
        body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{body}"
    );
    assert!(!body.contains("<script>alert"), "{body}");
}

/// A room name that breaks the rules gets a 400 page saying why.
#[async_std::test]
async fn room_page_refuses_a_name_that_is_too_long() {
    let server = Server::start(&[]);
    let (status, content_type, body) = get(&server, &format!("/room/{}", "a".repeat(65))).await;
    assert_eq!((status, content_type.as_str()), (400, "text/html"));
    assert!(body.contains("at most 64 characters"), "{body}");
}

/// The client's files are served with the right content types.
#[async_std::test]
async fn static_files_have_their_content_types() {
    let server = Server::start(&[]);
    for (path, wanted) in [
        ("/static/protocol.js", "text/javascript"),
        ("/static/home.js", "text/javascript"),
        ("/static/room.js", "text/javascript"),
        ("/static/app.css", "text/css"),
    ] {
        let (status, content_type, body) = get(&server, path).await;
        assert_eq!((status, content_type.as_str()), (200, wanted), "{path}");
        assert!(!body.is_empty(), "{path}");
    }
}

/// Unknown paths and missing files get the 404 page, which escapes the path.
#[async_std::test]
async fn unknown_paths_get_the_not_found_page() {
    let server = Server::start(&[]);
    let (status, content_type, body) = get(&server, "/nope/%3Cb%3Ex").await;
    assert_eq!((status, content_type.as_str()), (404, "text/html"));
    assert!(body.contains("/nope/&lt;b&gt;x"), "{body}");
    let (status, _, _) = get(&server, "/static/missing.js").await;
    assert_eq!(status, 404);
}

/// Methods a route does not take are refused.
#[async_std::test]
async fn posting_to_a_page_is_not_allowed() {
    let server = Server::start(&[]);
    let res = surf::post(server.url("/")).await.unwrap();
    assert_eq!(u16::from(res.status()), 405);
}

/// The health check reports the server's load: connections, rooms, what their chat history
/// costs, log lines lost to a slow log and, in SFU mode, the media ports and counters.
#[async_std::test]
async fn healthz_reports_connections_and_rooms() {
    let server = Server::start(&[]);
    let (status, content_type, body) = get(&server, "/healthz").await;
    assert_eq!((status, content_type.as_str()), (200, "application/json"));
    let mut health: serde_json::Value = serde_json::from_str(&body).unwrap();
    let media = health["media"].take();
    assert_eq!(
        health,
        serde_json::json!({
            "status": "ok",
            "connections": 0,
            "rooms": 0,
            "history_bytes": 0,
            "log_lines_dropped": 0,
            "media": null,
        })
    );
    // The media ports are on the server's own addresses, one UDP and one TCP port for all.
    let ports = |kind: &str| -> Vec<u16> {
        let addrs = media[kind].as_array().expect("a list of addresses");
        assert!(!addrs.is_empty(), "{media}");
        let mut ports: Vec<u16> = addrs
            .iter()
            .map(|addr| {
                addr.as_str()
                    .unwrap()
                    .parse::<std::net::SocketAddr>()
                    .unwrap()
                    .port()
            })
            .collect();
        ports.dedup();
        ports
    };
    assert_eq!(ports("udp").len(), 1, "{media}");
    assert_eq!(ports("tcp").len(), 1, "{media}");
    for counter in ["connected", "packets_in", "packets_out", "packets_dropped"] {
        assert_eq!(media[counter], 0, "{counter}: {media}");
    }
    assert_eq!(media["camera_layers_in"], serde_json::json!([0, 0, 0]));

    let mesh = Server::start(&["--media", "mesh"]);
    let (_, _, body) = get(&mesh, "/healthz").await;
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        health["media"],
        serde_json::Value::Null,
        "a mesh has no media server"
    );
}

/// The join form works without JavaScript: `/room?name=` redirects to the room's page.
#[async_std::test]
async fn join_form_redirects_to_the_room_page() {
    let server = Server::start(&[]);
    let client = surf::client().with(surf::middleware::Redirect::new(0));
    let res = client
        .get(server.url("/room?name=%20%ED%8C%80%20a%2Fb"))
        .await
        .unwrap();
    assert_eq!(u16::from(res.status()), 303);
    assert_eq!(
        res.header("Location").unwrap().as_str(),
        "/room/%ED%8C%80%20a%2Fb"
    );
    let (status, _, body) = get(&server, "/room?name=%20").await;
    assert_eq!(status, 400);
    assert!(body.contains("must not be empty"), "{body}");
}

/// Listening on every address, the server says where people can open it: this machine's
/// IPv4 addresses, not `0.0.0.0`; on one address it says nothing more.
#[async_std::test]
async fn on_every_address_the_server_says_where_to_open_it() {
    let server = Server::start(&["--host", "0.0.0.0"]);
    let port = server.port();
    let line = server
        .wait_stderr(|line| line.starts_with("room: open it at "))
        .expect("a line saying where to open it");
    assert!(line.contains(&format!("http://127.0.0.1:{port}")), "{line}");
    assert!(!line.contains("0.0.0.0") && !line.contains('['), "{line}");
    let (status, _, _) = get(&server, "/").await;
    assert_eq!(status, 200);

    let one = Server::start(&[]);
    assert!(one
        .wait_stderr(|line| line.contains("listening on"))
        .is_some());
    assert!(!one.stderr().contains("open it at"), "{}", one.stderr());
}

/// Plain HTTP on a TLS server's port is sent to the same page over https, not dropped by a
/// failed handshake.
#[test]
fn plain_http_on_the_tls_port_is_redirected_to_https() {
    use std::io::{Read, Write};
    let server = Server::start(&["--tls-self-signed"]);
    let port = server.port();
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let request = format!("GET /room/team HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 301 "), "{response}");
    let location = format!("\r\nLocation: https://127.0.0.1:{port}/room/team\r\n");
    assert!(response.contains(&location), "{response}");
}
