//! The machine's clock set back (an NTP step, a person at the settings) must not change how
//! fast clients may send: intervals are measured on the monotonic clock.
//!
//! The server runs under libfaketime (Debian's `faketime` package), which fakes the wall clock
//! of one process from a file the test rewrites, and leaves the monotonic clock alone.

use std::path::Path;
use std::time::Duration;

use async_std::task;
use serde_json::json;

use crate::common::{Launch, Server};
use crate::support::{bystander_still_served, connect, join, next_json, send};

const LIBFAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";

/// A client sending at a quarter of the rate limit is never refused, and may still join
/// rooms, after the wall clock is set back an hour; its chats' `ts` show the step. The burst
/// is small (10), so a bucket that stopped refilling would run dry within seconds.
#[async_std::test]
async fn setting_the_clock_back_changes_no_rate_limit() {
    if !Path::new(LIBFAKETIME).exists() {
        let message = "libfaketime is not installed (apt-get install faketime): clock test NOT run";
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{message}");
        eprintln!("\n*** {message} ***\n");
        return;
    }
    let clock = std::env::temp_dir().join(format!("room-faketime-{}", std::process::id()));
    std::fs::write(&clock, "+0\n").unwrap();
    let clock_path = clock.to_str().unwrap().to_owned();
    let server = Server::launch(Launch {
        env: &[
            ("LD_PRELOAD", LIBFAKETIME),
            ("FAKETIME_TIMESTAMP_FILE", &clock_path),
            ("FAKETIME_NO_CACHE", "1"),
            ("FAKETIME_DONT_FAKE_MONOTONIC", "1"),
        ],
        args: &["--rate-burst", "10"],
        ..Launch::default()
    });
    let (mut client, _) = connect(&server).await;
    join(&mut client, "before").await;
    // A quarter of the default 20 messages a second, for eight seconds, the clock set back
    // an hour after the first two.
    let mut stamps = Vec::new();
    for n in 0..40 {
        if n == 10 {
            std::fs::write(&clock, "-1h\n").unwrap();
        }
        send(
            &mut client,
            json!({"type": "chat", "text": format!("chat {n}")}),
        )
        .await;
        let echo = next_json(&mut client).await;
        assert_eq!(echo["type"], "chat", "chat {n} was refused: {echo}");
        stamps.push(echo["ts"].as_u64().unwrap());
        task::sleep(Duration::from_millis(200)).await;
    }
    let stepped = stamps.windows(2).any(|pair| pair[0] > pair[1] + 3_000_000);
    assert!(stepped, "the wall clock never went back: {stamps:?}");
    join(&mut client, "after").await;
    bystander_still_served(&mut client, "after the clock went back").await;
    let _ = std::fs::remove_file(&clock);
}
