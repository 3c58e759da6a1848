//! What the reader tasks of one open-loop run count together, and the reader loop they share.
//! Every connection of an open-loop run is read on one thread, so the counts are plain cells.

use std::cell::{Cell, RefCell};

use serde::Serialize;

use crate::client::{decode, Incoming};
use crate::clock::Clock;
use crate::openloop::Window;
use crate::stats::{Latencies, Sequence};
use crate::wire::{Event, Reader};

/// Counts shared by every reader of a run (all on one thread).
#[derive(Debug)]
pub(crate) struct Tally {
    /// The run's phases, set once every connection is ready and before anything is sent.
    window: Cell<Option<Window>>,
    /// The clock the stamps are read against.
    pub(crate) clock: Clock,
    /// Latencies of frames stamped inside the measured window.
    pub(crate) latencies: Latencies,
    /// Frames received in all.
    delivered: Cell<u64>,
    /// Frames received during the measured window.
    delivered_measured: Cell<u64>,
    /// Numbered frames skipped over.
    lost: Cell<u64>,
    /// Numbered frames repeated or late.
    out_of_order: Cell<u64>,
    /// Frames without a readable stamp.
    unstamped: Cell<u64>,
    /// `error` frames received.
    errors: Cell<u64>,
    /// Connections the server closed or that broke before the generator closed them.
    server_closes: Cell<u64>,
    /// The first error frame or unexpected close, for the report.
    first_problem: RefCell<Option<String>>,
    /// Set when the generator starts closing its connections: closes after it are expected.
    closing: Cell<bool>,
}

impl Tally {
    /// Nothing counted yet.
    pub(crate) fn new(clock: Clock) -> Self {
        Tally {
            window: Cell::new(None),
            clock,
            latencies: Latencies::new(),
            delivered: Cell::new(0),
            delivered_measured: Cell::new(0),
            lost: Cell::new(0),
            out_of_order: Cell::new(0),
            unstamped: Cell::new(0),
            errors: Cell::new(0),
            server_closes: Cell::new(0),
            first_problem: RefCell::new(None),
            closing: Cell::new(false),
        }
    }

    /// Sets the run's phases, before anything is sent.
    pub(crate) fn set_window(&self, window: Window) {
        self.window.set(Some(window));
    }

    /// Counts one stamped, numbered frame received at `now`.
    pub(crate) fn delivered(&self, now: u64, stamp: Option<u64>) {
        add(&self.delivered, 1);
        // Nothing is sent before the window is set, so a frame always finds it.
        let Some(window) = self.window.get() else {
            return;
        };
        if window.measures(now) {
            add(&self.delivered_measured, 1);
        }
        match stamp {
            Some(stamp) if window.measures(stamp) => {
                self.latencies.record_nanos(now.saturating_sub(stamp))
            }
            Some(_) => {}
            None => add(&self.unstamped, 1),
        }
    }

    /// Frames received so far.
    pub(crate) fn delivered_so_far(&self) -> u64 {
        self.delivered.get()
    }

    /// From now on closes are the generator's own doing.
    pub(crate) fn start_closing(&self) {
        self.closing.set(true);
    }

    /// Adds one reader's sequence check.
    pub(crate) fn add_sequence(&self, sequence: &Sequence) {
        add(&self.lost, sequence.lost);
        add(&self.out_of_order, sequence.out_of_order);
    }

    fn problem(&self, counter: &Cell<u64>, what: String) {
        add(counter, 1);
        self.first_problem.borrow_mut().get_or_insert(what);
    }

    /// Decodes a frame in full: `None` for room lists, error frames and frames that cannot be
    /// decoded (the last two counted as errors), the frame otherwise.
    pub(crate) fn decode<'t>(&self, text: &'t str) -> Option<Incoming<'t>> {
        match decode(text) {
            Ok(frame) if frame.kind == "error" => {
                self.problem(&self.errors, format!("error frame: {text}"));
                None
            }
            Ok(frame) if frame.kind == "rooms" => None,
            Ok(frame) => Some(frame),
            Err(err) => {
                self.problem(&self.errors, err.to_string());
                None
            }
        }
    }

    /// A summary of the counts.
    pub(crate) fn counts(&self) -> Counts {
        Counts {
            delivered: self.delivered.get(),
            delivered_measured: self.delivered_measured.get(),
            lost: self.lost.get(),
            out_of_order: self.out_of_order.get(),
            unstamped: self.unstamped.get(),
            errors: self.errors.get(),
            server_closes: self.server_closes.get(),
            first_problem: self.first_problem.borrow().clone(),
        }
    }
}

fn add(counter: &Cell<u64>, count: u64) {
    counter.set(counter.get() + count);
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

/// Reads a connection until it ends, handing every text frame to `on_text` with the time it
/// was read (taken once per socket read: the frames of one read arrived together). `on_text`
/// calls [`Tally::delivered`] for the frames it times and [`Tally::decode`] for the frames it
/// does not recognise itself.
pub(crate) async fn read_frames(
    mut reader: Reader,
    tally: &Tally,
    mut on_text: impl FnMut(&str, u64),
) {
    let (mut batch, mut now) = (u64::MAX, 0);
    loop {
        match reader.next().await {
            Ok(Event::Text(text, read)) => {
                if read != batch {
                    (batch, now) = (read, tally.clock.now());
                }
                on_text(text, now);
            }
            Ok(Event::Close(close)) => {
                if !tally.closing.get() {
                    let close = close.map_or_else(
                        || "without a code".to_owned(),
                        |(code, reason)| format!("{code} {reason}"),
                    );
                    tally.problem(&tally.server_closes, format!("server closed: {close}"));
                }
                return;
            }
            Err(err) => {
                if !tally.closing.get() {
                    tally.problem(&tally.server_closes, format!("connection broke: {err}"));
                }
                return;
            }
        }
    }
}
