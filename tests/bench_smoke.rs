//! The load generator cannot rot: `room-bench` runs hold, fanout and churn briefly against a
//! real server with the raised limits, exits 0, and its JSON report shows deliveries with
//! nothing lost.

mod common;

use std::fs;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use common::Server;

/// The limits a benchmarked Room runs with, so that only the server itself limits. (Benchmarks
/// also pass `--log-level warn`; the test server logs at `debug`, which `common` sets.)
const RAISED_LIMITS: &[&str] = &[
    "--max-connections",
    "20000",
    "--max-connections-per-address",
    "20000",
    "--rate-limit",
    "1000",
    "--rate-burst",
    "10000",
    "--max-rooms",
    "10000",
    "--max-room-size",
    "500",
    "--http-rate-limit",
    "1000000",
];

/// Runs `room-bench` with `args` against `server`; its JSON report.
fn bench(server: &Server, args: &[&str]) -> Value {
    let json: PathBuf = std::env::temp_dir().join(format!(
        "room-bench-smoke-{}-{}.json",
        std::process::id(),
        args[0]
    ));
    let output = Command::new(env!("CARGO_BIN_EXE_room-bench"))
        .args(args)
        .args(["--url", &server.url("")])
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
    let server = Server::start(RAISED_LIMITS);
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
    let server = Server::start(RAISED_LIMITS);
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
    let server = Server::start(RAISED_LIMITS);
    let report = bench(&server, &["hold", "--connections", "50", "--idle", "0"]);
    assert_eq!(report["joined"], 50, "{report}");
    assert_eq!(report["rooms"], 5, "{report}");
    assert_eq!(report["server_closes"], 0, "{report}");
    assert!(report["rss_per_connection_bytes"].is_number(), "{report}");
}
