//! The load generator cannot rot: `room-bench` runs hold, fanout, churn and sfu briefly against
//! a real Room server with the limits benchmarks raise, exits 0, and its JSON report shows
//! deliveries with nothing lost.
//!
//! The server is the workspace's own `room` binary, built beside this test's
//! (`cargo test --workspace` builds both); `ROOM_BIN` names another.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use room_bench::servers::{free_port, RunningServer, ServerKind};
use serde_json::Value;

/// A Room server started the way `compare` starts it, stopped when dropped.
struct Room(Option<RunningServer>);

impl Room {
    fn start() -> Room {
        let bin = std::env::var_os("ROOM_BIN").map_or_else(room_bin, PathBuf::from);
        let port = free_port().expect("a free port");
        let peers = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/peers");
        let mut command = ServerKind::Room
            .command(&bin, &peers, port)
            .unwrap_or_else(|why| panic!("cannot start Room: {why}"));
        // The tests run at once, each with a server: media on any free ports, not on the HTTP
        // port's number and the next, which another server's HTTP port may be.
        command.extend(["--rtc-udp-port", "0", "--rtc-tcp-port", "0"].map(String::from));
        let server = RunningServer::start(&command, port, false).expect("Room starts");
        Room(Some(server))
    }

    fn url(&self) -> &str {
        &self.running().url
    }

    fn pid(&self) -> u32 {
        self.running().pid()
    }

    fn running(&self) -> &RunningServer {
        self.0.as_ref().expect("running until dropped")
    }
}

impl Drop for Room {
    fn drop(&mut self) {
        if let Some(server) = self.0.take() {
            server.stop();
        }
    }
}

/// The `room` binary beside this test's: `target/<profile>/room`.
fn room_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows where it is");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("tests run from target/<profile>/deps");
    let bin = profile_dir.join("room");
    assert!(
        bin.exists(),
        "no {} (run `cargo test --workspace`, which builds it)",
        bin.display()
    );
    bin
}

/// Runs `room-bench` with `args` against `server`; its JSON report.
fn bench(server: &Room, args: &[&str]) -> Value {
    let json: PathBuf = std::env::temp_dir().join(format!(
        "room-bench-smoke-{}-{}.json",
        std::process::id(),
        args[0]
    ));
    let output = Command::new(env!("CARGO_BIN_EXE_room-bench"))
        .args(args)
        .args(["--url", server.url()])
        .args(["--server-pid", &server.pid().to_string()])
        .arg("--json")
        .arg(&json)
        .output()
        .expect("room-bench starts");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "room-bench {args:?} failed\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = fs::read_to_string(&json).expect("room-bench wrote its JSON report");
    let _ = fs::remove_file(&json);
    let report: Value = serde_json::from_str(&text).expect("the report is JSON");
    assert_eq!(report["scenario"], args[0], "{stdout}");
    report
}

/// Rooms of three chatting members: every chat reaches every member, timed, none lost.
#[test]
fn fanout_delivers_every_chat_to_every_member() {
    let server = Room::start();
    let report = bench(
        &server,
        &[
            "fanout",
            "--rooms",
            "2",
            "--members",
            "3",
            "--rate",
            "20",
            "--duration",
            "1",
            "--warmup",
            "0.3",
        ],
    );
    let point = &report["points"][0];
    assert!(point["counts"]["delivered"].as_u64() > Some(0), "{point}");
    assert!(point["latency"]["samples"].as_u64() > Some(0), "{point}");
    assert_eq!(point["counts"]["lost"], 0, "{point}");
    assert_eq!(point["undelivered"], 0, "{point}");
    assert_eq!(point["healthy"], true, "{point}");
    assert!(point["cpu"]["server_s"].is_number(), "{point}");
}

/// Clients join, chat, leave or drop: every chat a member was there for arrived exactly once.
#[test]
fn churn_loses_and_repeats_nothing() {
    let server = Room::start();
    let report = bench(
        &server,
        &[
            "churn",
            "--clients",
            "10",
            "--rooms",
            "2",
            "--duration",
            "1",
            "--drop-fraction",
            "0.3",
        ],
    );
    assert!(report["deliveries_checked"].as_u64() > Some(0), "{report}");
    assert!(report["dropped"].as_u64() > Some(0), "{report}");
    assert_eq!(report["violations"], 0, "{report}");
    assert_eq!(report["failed"], 0, "{report}");
    assert!(report["memory_after"]["rss_kib"].is_number(), "{report}");
}

/// Fifty idle connections in five rooms: all held, memory per connection measured.
#[test]
fn hold_keeps_every_connection_and_measures_memory() {
    let server = Room::start();
    let report = bench(&server, &["hold", "--connections", "50", "--idle", "0"]);
    assert_eq!(report["joined"], 50, "{report}");
    assert_eq!(report["rooms"], 5, "{report}");
    assert_eq!(report["server_closes"], 0, "{report}");
    assert!(report["rss_per_connection_bytes"].is_number(), "{report}");
}

/// Two rooms of three synthetic WebRTC members: everyone connects, media is forwarded and
/// timed, the server's CPU per forwarded packet is measured.
#[test]
fn sfu_forwards_every_members_media_and_measures_it() {
    let server = Room::start();
    let report = bench(
        &server,
        &[
            "sfu",
            "--rooms",
            "2",
            "--members",
            "3",
            "--duration",
            "1",
            "--warmup",
            "1",
        ],
    );
    let point = &report["points"][0];
    assert_eq!(point["connected"], 6, "{point}");
    assert_eq!(point["failed"], 0, "{point}");
    assert!(point["forwarded_per_s"].as_f64() > Some(100.0), "{point}");
    assert!(point["latency"]["samples"].as_u64() > Some(0), "{point}");
    assert!(point["server_cpu_s_per_million"].is_number(), "{point}");
}
