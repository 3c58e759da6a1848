//! The SFU against synthetic members (str0m clients of `room-bench`, no browser) over real
//! sockets on 127.0.0.1: what browsers cannot be made to do on purpose, such as flooding the
//! server or falling silent without leaving, and the plain call to compare them with.

mod common;

use std::time::Duration;

use common::Server;
use room_bench::media::{self, Plan, Run, Stream};
use room_media::ingress::{BURST_SECONDS, BYTES_PER_SECOND};

/// A server whose media stays on loopback.
fn server() -> Server {
    Server::start(&["--rtc-address", "127.0.0.1"])
}

fn call(server: &Server, room: &str, plans: &[Plan], length: Duration) -> Run {
    let run = media::run(
        &server.url(""),
        room,
        plans,
        Duration::from_millis(200),
        length,
    )
    .expect("the members run");
    for report in &run.reports {
        assert_eq!(
            report.failed,
            None,
            "member {}: {}",
            report.index,
            server.stderr()
        );
    }
    run
}

async fn healthz(server: &Server) -> serde_json::Value {
    let body = surf::get(server.url("/healthz"))
        .recv_string()
        .await
        .unwrap();
    serde_json::from_str(&body).unwrap()
}

/// Three members: each connects, and receives the other two's sound and camera.
#[async_std::test]
async fn members_receive_each_other_through_the_server() {
    let server = server();
    let run = call(
        &server,
        "call",
        &[Plan::default(), Plan::default(), Plan::default()],
        Duration::from_secs(4),
    );
    for report in &run.reports {
        assert!(
            report.connected_after.is_some(),
            "member {} never connected: {:?}\n{}",
            report.index,
            report,
            server.lines().join("\n")
        );
        assert_eq!(report.media_failed, Vec::<String>::new());
        for other in (0..3).filter(|other| *other != report.index) {
            assert!(
                report.audio_from(other) > 20,
                "member {} heard {other}: {:?}",
                report.index,
                report.received
            );
            let video = report.packets_from(other) - report.audio_from(other);
            assert!(
                video > 20,
                "member {} saw {other}: {:?}",
                report.index,
                report.received
            );
        }
    }
    let health = healthz(&server).await;
    let layers = health["media"]["camera_layers_in"].as_array().unwrap();
    assert!(layers.iter().all(|n| n.as_u64().unwrap() > 0), "{health}");
}

/// A member that sends 30 Mbit/s is held to its allowance, and the others' call goes on.
#[async_std::test]
async fn a_flooding_member_is_held_back_and_the_others_go_on() {
    let server = server();
    let flood = Plan {
        flood_bits_per_second: 30_000_000,
        ..Plan::default()
    };
    let run = call(
        &server,
        "flooded",
        &[flood, Plan::default(), Plan::default()],
        Duration::from_secs(5),
    );
    let health = healthz(&server).await;
    let count = |counter: &str| health["media"][counter].as_u64().unwrap();
    let flooder = &run.reports[0];
    // What reached the server from the flooder (loopback drops what the server's socket
    // buffer cannot hold): all it received, less what the two others sent.
    let others: u64 = run.reports[1..]
        .iter()
        .map(|report| report.datagrams_sent)
        .sum();
    let from_flooder = count("packets_in").saturating_sub(others);
    let size = flooder.bytes_sent as f64 / flooder.datagrams_sent as f64;
    let arrived = from_flooder as f64 * size;
    // What the server may take from one member over that time, at most.
    let seconds = flooder.connected_for.as_secs_f64() + 1.0 + BURST_SECONDS as f64;
    let allowed = BYTES_PER_SECOND as f64 * seconds;
    assert!(
        arrived > 1.5 * allowed,
        "only {arrived} bytes arrived against {allowed}: {health}"
    );
    // Every byte over the allowance was dropped.
    let must_drop = ((arrived - allowed) / size) as u64;
    let dropped = count("packets_dropped");
    assert!(
        dropped >= must_drop,
        "the server dropped {dropped} of the flooder's {from_flooder} datagrams, at least {must_drop} expected: {health}"
    );
    // The two others still hear each other with almost nothing lost.
    for (listener, speaker) in [(1, 2), (2, 1)] {
        let counts = &run.reports[listener].received[&(speaker, Stream::Audio)];
        assert!(counts.packets > 100, "{counts:?}");
        assert!(
            counts.lost * 100 <= counts.packets,
            "{counts:?} {}",
            serde_json::to_string(&health).unwrap()
        );
    }
}

/// A member whose media goes silent (its WebSocket stays) is told its media failed within
/// seconds, and the others' slots let go of it.
#[async_std::test]
async fn a_member_gone_silent_is_timed_out_and_let_go_of() {
    let server = server();
    let silent = Plan {
        silent_after: Some(Duration::from_secs(1)),
        ..Plan::default()
    };
    let run = call(
        &server,
        "quiet",
        &[silent, Plan::default()],
        Duration::from_secs(14),
    );
    let gone = &run.reports[0];
    assert!(
        gone.media_failed
            .iter()
            .any(|message| message.contains("nothing came")),
        "{:?}",
        gone.media_failed
    );
    let gone_id = gone.id.clone().unwrap();
    let other = &run.reports[1];
    assert!(
        other.audio_from(0) > 0,
        "the member was heard before it went silent"
    );
    assert!(
        other
            .video_slots
            .values()
            .all(|member| member.as_deref() != Some(gone_id.as_str())),
        "{:?}",
        other.video_slots
    );
    assert_eq!(other.media_failed, Vec::<String>::new());
}

/// The room hears who speaks, from the audio levels in the packets: the one loud member.
#[async_std::test]
async fn the_room_hears_who_speaks() {
    let server = server();
    let quiet = Plan {
        audio_level: Some(127),
        ..Plan::default()
    };
    let loud = Plan {
        audio_level: Some(10),
        ..Plan::default()
    };
    let run = call(
        &server,
        "talk",
        &[quiet.clone(), loud, quiet],
        Duration::from_secs(4),
    );
    let speaker = run.reports[1].id.clone().unwrap();
    for report in &run.reports {
        let told = report.speaking.last().cloned();
        assert_eq!(
            told,
            Some((vec![speaker.clone()], Some(speaker.clone()))),
            "member {}: {:?}",
            report.index,
            report.speaking
        );
    }
}
