//! What the reader tasks of one open-loop run count together, and the reader loop they share.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use async_tungstenite::tungstenite::Message;
use futures_util::StreamExt;
use serde::Serialize;

use crate::client::{close_text, decode, Incoming, WsReader};
use crate::clock::Clock;
use crate::openloop::Window;
use crate::stats::{Latencies, Sequence};

/// Counts shared by every reader of a run (atomics: readers run on several threads).
#[derive(Debug)]
pub(crate) struct Tally {
    /// The run's phases, set once every connection is ready and before anything is sent.
    pub(crate) window: OnceLock<Window>,
    /// The clock the stamps are read against.
    pub(crate) clock: Clock,
    /// Latencies of frames stamped inside the measured window.
    pub(crate) latencies: Latencies,
    /// Frames received in all.
    pub(crate) delivered: AtomicU64,
    /// Frames received during the measured window.
    pub(crate) delivered_measured: AtomicU64,
    /// Numbered frames skipped over.
    pub(crate) lost: AtomicU64,
    /// Numbered frames repeated or late.
    pub(crate) out_of_order: AtomicU64,
    /// Frames without a readable stamp.
    pub(crate) unstamped: AtomicU64,
    /// `error` frames received.
    pub(crate) errors: AtomicU64,
    /// Connections the server closed or that broke before the generator closed them.
    pub(crate) server_closes: AtomicU64,
    /// The first error frame or unexpected close, for the report.
    pub(crate) first_problem: Mutex<Option<String>>,
    /// Set when the generator starts closing its connections: closes after it are expected.
    pub(crate) closing: AtomicBool,
}

impl Tally {
    /// Nothing counted yet.
    pub(crate) fn new(clock: Clock) -> Self {
        Tally {
            window: OnceLock::new(),
            clock,
            latencies: Latencies::new(),
            delivered: AtomicU64::new(0),
            delivered_measured: AtomicU64::new(0),
            lost: AtomicU64::new(0),
            out_of_order: AtomicU64::new(0),
            unstamped: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            server_closes: AtomicU64::new(0),
            first_problem: Mutex::new(None),
            closing: AtomicBool::new(false),
        }
    }

    /// Counts one stamped, numbered frame received at `now`.
    pub(crate) fn delivered(&self, now: u64, stamp: Option<u64>) {
        self.delivered.fetch_add(1, Ordering::Relaxed);
        // Nothing is sent before the window is set, so a frame always finds it.
        let Some(window) = self.window.get() else {
            return;
        };
        if window.measures(now) {
            self.delivered_measured.fetch_add(1, Ordering::Relaxed);
        }
        match stamp {
            Some(stamp) if window.measures(stamp) => {
                self.latencies.record_nanos(now.saturating_sub(stamp))
            }
            Some(_) => {}
            None => {
                self.unstamped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Adds one reader's sequence check.
    pub(crate) fn add_sequence(&self, sequence: &Sequence) {
        self.lost.fetch_add(sequence.lost, Ordering::Relaxed);
        self.out_of_order
            .fetch_add(sequence.out_of_order, Ordering::Relaxed);
    }

    fn problem(&self, counter: &AtomicU64, what: String) {
        counter.fetch_add(1, Ordering::Relaxed);
        self.first_problem
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_or_insert(what);
    }

    /// A summary of the counts.
    pub(crate) fn counts(&self) -> Counts {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        Counts {
            delivered: get(&self.delivered),
            delivered_measured: get(&self.delivered_measured),
            lost: get(&self.lost),
            out_of_order: get(&self.out_of_order),
            unstamped: get(&self.unstamped),
            errors: get(&self.errors),
            server_closes: get(&self.server_closes),
            first_problem: self
                .first_problem
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        }
    }
}

/// The counts of a [`Tally`] at the end of a run.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Counts {
    /// Frames received in all.
    pub(crate) delivered: u64,
    /// Frames received during the measured window.
    pub(crate) delivered_measured: u64,
    /// Numbered frames skipped over (seq gaps).
    pub(crate) lost: u64,
    /// Numbered frames repeated or late.
    pub(crate) out_of_order: u64,
    /// Frames without a readable stamp.
    pub(crate) unstamped: u64,
    /// `error` frames received.
    pub(crate) errors: u64,
    /// Connections the server closed or that broke before the generator closed them.
    pub(crate) server_closes: u64,
    /// The first error frame or unexpected close.
    pub(crate) first_problem: Option<String>,
}

/// Reads a connection until it ends, handing every frame but room lists and errors to
/// `on_frame` with the time it was read.
pub(crate) async fn read_frames(
    mut reader: WsReader,
    tally: Arc<Tally>,
    mut on_frame: impl FnMut(&Incoming<'_>, u64),
) {
    let mut ended = false;
    while let Some(item) = reader.next().await {
        match item {
            Ok(Message::Text(text)) => {
                let now = tally.clock.now();
                match decode(text.as_str()) {
                    Ok(frame) if frame.kind == "error" => {
                        tally.problem(&tally.errors, format!("error frame: {}", text.as_str()))
                    }
                    Ok(frame) if frame.kind == "rooms" => {}
                    Ok(frame) => on_frame(&frame, now),
                    Err(err) => tally.problem(&tally.errors, err.to_string()),
                }
            }
            Ok(Message::Close(frame)) => {
                ended = true;
                if !tally.closing.load(Ordering::Relaxed) {
                    let what = format!("server closed: {}", close_text(frame.as_ref()));
                    tally.problem(&tally.server_closes, what);
                }
            }
            Ok(_) => {}
            Err(err) => {
                if !ended && !tally.closing.load(Ordering::Relaxed) {
                    tally.problem(&tally.server_closes, format!("connection broke: {err}"));
                }
                return;
            }
        }
    }
    if !ended && !tally.closing.load(Ordering::Relaxed) {
        let what = "connection ended without a close frame".to_owned();
        tally.problem(&tally.server_closes, what);
    }
}
