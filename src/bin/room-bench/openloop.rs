//! Open-loop runs. Each sender puts frames out at scheduled times whatever the server answers,
//! and stamps each with its scheduled time, so a server that falls behind shows up as latency
//! instead of slowing the senders down (no coordinated omission). Around the senders: the CPU
//! probes at the edges of the measured window, the wait for deliveries still under way, and the
//! closing of every connection.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use async_io::Timer;
use async_std::future::timeout;
use async_std::task::{self, JoinHandle};
use async_tungstenite::tungstenite::{Error as WsError, Message};
use futures_util::future::join_all;
use futures_util::SinkExt;
use serde::Serialize;

use crate::client::WsWriter;
use crate::clock::{nanos, Clock, NANOS_PER_SEC};
use crate::error::BenchError;
use crate::procfs::{memory, CpuMark, CpuUsed, Memory, Pid};
use crate::tally::Tally;

/// How often the drain checks whether every delivery has arrived.
const DRAIN_POLL: Duration = Duration::from_millis(10);
/// How long closing all connections may take.
const CLOSE_WAIT: Duration = Duration::from_secs(10);

/// The phases of one run, in [`Clock`] nanoseconds: sending from `start`, measured from
/// `measure_from` (after the warm-up) until `end`, when sending stops.
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct Window {
    /// The first send.
    pub(crate) start: u64,
    /// The start of the measured window.
    pub(crate) measure_from: u64,
    /// The end of sending and of the measured window.
    pub(crate) end: u64,
}

impl Window {
    /// A window that starts `lead` seconds from now.
    pub(crate) fn after(clock: &Clock, lead: f64, warmup: f64, duration: f64) -> Self {
        let start = clock.now() + nanos(lead);
        let measure_from = start + nanos(warmup);
        Window {
            start,
            measure_from,
            end: measure_from + nanos(duration),
        }
    }

    /// Whether a time falls in the measured window.
    pub(crate) fn measures(&self, time: u64) -> bool {
        (self.measure_from..self.end).contains(&time)
    }

    /// The measured window's length in seconds.
    pub(crate) fn measured_secs(&self) -> f64 {
        (self.end - self.measure_from) as f64 / NANOS_PER_SEC
    }
}

/// When one sender sends: every `interval` nanoseconds from `first`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Schedule {
    first: u64,
    interval: f64,
}

impl Schedule {
    /// The schedule of sender `index` of `count` sending `rate` frames a second: the senders
    /// are spread evenly over one interval so that they do not all fire at once.
    pub(crate) fn spread(window: &Window, rate: f64, index: usize, count: usize) -> Self {
        let interval = NANOS_PER_SEC / rate;
        let offset = interval * index as f64 / count.max(1) as f64;
        Schedule {
            first: window.start + offset as u64,
            interval,
        }
    }

    /// When frame `n` is due.
    fn due(&self, n: u64) -> u64 {
        self.first + (self.interval * n as f64) as u64
    }
}

/// How many frames a sender sent.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Sent {
    /// In all.
    pub(crate) total: u64,
    /// Scheduled inside the measured window.
    pub(crate) measured: u64,
}

/// Sends `frame(n, due)` for frame `n` due at `due`, on `schedule`, until the window ends,
/// counting into `sent`. Frames that are due together (because a wake-up came late) go out in
/// one batch with one flush, still stamped with their own scheduled times.
pub(crate) async fn send_on_schedule(
    writer: &mut WsWriter,
    clock: Clock,
    window: Window,
    schedule: Schedule,
    sent: &mut Sent,
    mut frame: impl FnMut(u64, u64) -> String,
) -> Result<(), WsError> {
    let mut n = 0;
    loop {
        let due = schedule.due(n);
        if due >= window.end {
            return Ok(());
        }
        if due > clock.now() {
            Timer::at(clock.instant(due)).await;
        }
        let now = clock.now();
        loop {
            let due = schedule.due(n);
            if due > now || due >= window.end {
                break;
            }
            writer.feed(Message::text(frame(n, due))).await?;
            sent.total += 1;
            if window.measures(due) {
                sent.measured += 1;
            }
            n += 1;
        }
        writer.flush().await?;
    }
}

/// The senders of a run once they are done.
#[derive(Debug, Default)]
pub(crate) struct Senders {
    /// Their connections' writing halves, to close.
    pub(crate) writers: Vec<WsWriter>,
    /// What they sent, added up.
    pub(crate) sent: Sent,
    /// Senders whose connection failed before the end.
    pub(crate) failures: u64,
    /// The first of those failures.
    pub(crate) first_failure: Option<String>,
}

/// Runs one sender task per connection at `rate` frames a second each, frames made by the
/// maker that `frames` returns for each connection's index; returns when all are done.
pub(crate) async fn run_senders<F>(
    writers: Vec<WsWriter>,
    clock: Clock,
    window: Window,
    rate: f64,
    mut frames: impl FnMut(usize) -> F,
) -> Senders
where
    F: FnMut(u64, u64) -> String + Send + 'static,
{
    let count = writers.len();
    let tasks: Vec<_> = writers
        .into_iter()
        .enumerate()
        .map(|(index, mut writer)| {
            let schedule = Schedule::spread(&window, rate, index, count);
            let frame = frames(index);
            task::spawn(async move {
                let mut sent = Sent::default();
                let outcome =
                    send_on_schedule(&mut writer, clock, window, schedule, &mut sent, frame).await;
                (writer, sent, outcome)
            })
        })
        .collect();
    let mut senders = Senders::default();
    for (writer, sent, outcome) in join_all(tasks).await {
        senders.sent.total += sent.total;
        senders.sent.measured += sent.measured;
        if let Err(err) = outcome {
            senders.failures += 1;
            senders.first_failure.get_or_insert(err.to_string());
        }
        senders.writers.push(writer);
    }
    senders
}

/// Reads the CPU time of the server and the generator at the start and the end of the
/// measured window, and the server's memory at its end.
pub(crate) fn probe_window(
    clock: Clock,
    window: Window,
    server_pid: Option<u32>,
) -> JoinHandle<Result<(CpuUsed, Option<Memory>), BenchError>> {
    task::spawn(async move {
        Timer::at(clock.instant(window.measure_from)).await;
        let first = CpuMark::now(server_pid)?;
        Timer::at(clock.instant(window.end)).await;
        let last = CpuMark::now(server_pid)?;
        let memory = server_pid.map(|pid| memory(Pid::Other(pid))).transpose()?;
        Ok((last.since(&first), memory))
    })
}

/// Waits until `expected` frames have been delivered or `drain` has passed, then closes every
/// connection and waits for the readers to see their ends (so their counts are in the tally).
pub(crate) async fn drain_and_close(
    tally: &Tally,
    expected: u64,
    drain: Duration,
    writers: Vec<WsWriter>,
    readers: Vec<JoinHandle<()>>,
) {
    let deadline = Instant::now() + drain;
    while tally.delivered.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
        task::sleep(DRAIN_POLL).await;
    }
    tally.closing.store(true, Ordering::Relaxed);
    let closing = writers.into_iter().map(|mut writer| async move {
        let _ = writer.close().await;
    });
    let _ = timeout(CLOSE_WAIT, join_all(closing)).await;
    let _ = timeout(CLOSE_WAIT, join_all(readers)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn senders_are_spread_over_one_interval() {
        let window = Window {
            start: 1000,
            measure_from: 2000,
            end: 3000,
        };
        let first = Schedule::spread(&window, 1e9 / 100.0, 0, 4);
        let third = Schedule::spread(&window, 1e9 / 100.0, 2, 4);
        assert_eq!((first.due(0), first.due(1)), (1000, 1100));
        assert_eq!(third.due(0), 1050);
        assert!(window.measures(2000) && !window.measures(3000));
    }
}
