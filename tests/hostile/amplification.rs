//! Cheap requests that could cost the server much: lobby news for every join, room lists of
//! every room, pages in a loop, and chat history that grows with the rooms.

use std::time::Duration;

use async_std::future::timeout;
use serde_json::{json, Value};

use crate::common::Server;
use crate::support::{
    bystander_still_served, connect, connect_from, get_on, healthz, join, next_json, send,
    tcp_from, until, Client,
};

/// A hundred people joining one meeting at once cost a client on the home page a few frames,
/// not a hundred, and the last one it gets has the true count.
#[async_std::test]
async fn the_lobby_hears_a_busy_room_a_few_times_a_second() {
    let server = Server::start(&[
        "--max-room-size",
        "200",
        "--max-connections-per-address",
        "200",
        "--http-rate-limit",
        "1000",
    ]);
    let (mut lobby, _) = connect(&server).await;
    let mut people = Vec::new();
    for _ in 0..100 {
        let (mut person, _) = connect(&server).await;
        send(&mut person, json!({"type": "join", "room": "all-hands"})).await;
        people.push(person);
    }
    for person in &mut people {
        until(person, |f| f["type"] == "joined").await;
    }
    let mut news = Vec::new();
    loop {
        let frame = next_json(&mut lobby).await;
        assert_eq!(frame["type"], "room", "{frame}");
        news.push(frame["count"].as_u64().unwrap());
        if frame["count"] == 100 {
            break;
        }
    }
    assert!(
        news.len() < 20,
        "{} frames for 100 joins: {news:?}",
        news.len()
    );
    // Nothing more is on its way.
    let more = timeout(Duration::from_millis(600), next_json(&mut lobby)).await;
    assert!(more.is_err(), "more news after the true count: {more:?}");
}

/// With 150 rooms, a newcomer's welcome and the home page carry the busiest 100, and say
/// there are 150.
#[async_std::test]
async fn room_lists_carry_the_busiest_rooms_and_how_many_there_are() {
    let server = Server::start(&[
        "--max-connections-per-address",
        "200",
        "--http-rate-limit",
        "1000",
    ]);
    let mut members: Vec<Client> = Vec::new();
    for n in 0..150 {
        let (mut member, _) = connect(&server).await;
        join(&mut member, &format!("room {n:03}")).await;
        members.push(member);
    }
    let (mut busy, _) = connect(&server).await;
    join(&mut busy, "room 149").await;
    let stream = async_std::net::TcpStream::connect(&server.addr)
        .await
        .unwrap();
    let (mut ws, _) = async_tungstenite::client_async(server.ws_url("/ws"), stream)
        .await
        .unwrap();
    let welcome = next_json(&mut ws).await;
    let rooms = welcome["rooms"].as_array().unwrap();
    assert_eq!(rooms.len(), 100, "{welcome}");
    assert_eq!(welcome["rooms_total"], 150);
    assert!(
        rooms.contains(&json!({"name": "room 149", "count": 2})),
        "{welcome}"
    );
    let mut page = tcp_from(&server, [127, 0, 0, 1]);
    let home = get_on(&mut page, &server, "/");
    assert_eq!(home.matches(r#"class="room-item""#).count(), 100);
    assert!(
        home.contains("Showing the 100 busiest of 150 rooms."),
        "{home}"
    );
}

/// One address asking for pages in a loop is answered 429 once past its budget, and a client
/// from another address is served meanwhile.
#[async_std::test]
async fn http_requests_are_rate_limited_per_address() {
    let server = Server::start(&[]);
    let mut limited = 0;
    for _ in 0..200 {
        let mut stream = tcp_from(&server, [127, 0, 0, 1]);
        let response = get_on(&mut stream, &server, "/");
        if response.starts_with("HTTP/1.1 429") {
            assert!(response.contains("retry-after: 1") || response.contains("Retry-After: 1"));
            limited += 1;
        } else {
            assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        }
    }
    assert!(limited >= 100, "only {limited} of 200 were limited");
    let mut other = tcp_from(&server, [127, 0, 0, 2]);
    assert!(get_on(&mut other, &server, "/").starts_with("HTTP/1.1 200"));
    let (mut bystander, _) = connect_from(&server, [127, 0, 0, 3]).await;
    join(&mut bystander, "r").await;
    bystander_still_served(&mut bystander, "while one address is limited").await;
}

/// The chat history of all rooms together stays within its budget (1 MiB here): rooms of
/// large chats trim the oldest room's history first, and `/healthz` shows what it costs.
#[async_std::test]
async fn chat_history_stays_within_its_budget() {
    let server = Server::start(&[
        "--history-budget-mib",
        "1",
        "--rate-limit",
        "1000",
        "--max-connections-per-address",
        "100",
        "--http-rate-limit",
        "1000",
    ]);
    // Forty rooms of fifty chats of 2000 four-byte characters: 16 MB of chats.
    let text = "😀".repeat(2000);
    let mut members = Vec::new();
    for n in 0..40 {
        let (mut member, _) = connect(&server).await;
        join(&mut member, &format!("room {n}")).await;
        for _ in 0..50 {
            send(&mut member, json!({"type": "chat", "text": text})).await;
        }
        for _ in 0..50 {
            until(&mut member, |f| f["type"] == "chat").await;
        }
        members.push(member);
    }
    let health = healthz(&server).await;
    let bytes = health["history_bytes"].as_u64().unwrap();
    assert!(bytes <= 1 << 20, "{health}");
    assert!(bytes > 900 << 10, "the budget is used: {health}");
    let history = |frame: &Value| frame["history"].as_array().unwrap().len();
    let (mut late, _) = connect(&server).await;
    send(&mut late, json!({"type": "join", "room": "room 0"})).await;
    let oldest = until(&mut late, |f| f["type"] == "joined").await;
    assert_eq!(history(&oldest), 0, "the oldest room was trimmed first");
    send(&mut late, json!({"type": "join", "room": "room 39"})).await;
    let newest = until(&mut late, |f| f["type"] == "joined").await;
    assert_eq!(history(&newest), 50, "the newest room keeps its history");
}
