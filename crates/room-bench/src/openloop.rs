//! Open-loop runs. Each sender puts frames out at scheduled times whatever the server answers,
//! and stamps each with its scheduled time, so a server that falls behind shows up as latency
//! instead of slowing the senders down (no coordinated omission). Around the senders: the CPU
//! probes at the edges of the measured window, the wait for deliveries still under way, and the
//! closing of every connection.
//!
//! Every connection of a run lives on one thread, on the generator's own [`crate::reactor`]: one
//! scheduler sends for all of them, with one timer, and each connection's reader is a task of
//! the same local executor.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use async_executor::Task;
use futures_util::future::join_all;
use serde::Serialize;

use crate::clock::{nanos, Clock, NANOS_PER_SEC};
use crate::error::BenchError;
use crate::procfs::{memory, CpuMark, CpuUsed, Memory, Pid};
use crate::reactor::{sleep, sleep_until, timeout};
use crate::tally::Tally;
use crate::wire::Writer;

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

/// When one sender sends: every `interval` nanoseconds from `first`, each time put off to the
/// end of the tick it falls in (ticks of `tick` nanoseconds from the clock's epoch; 0 for
/// none). The frames of all senders that fall due in one tick go out together, which costs
/// the generator (and the server) one wake-up instead of many; a frame is stamped with that
/// planned time, so the tick adds no latency of its own, while a sender late for its plan
/// still shows as latency.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Schedule {
    first: u64,
    interval: f64,
    tick: u64,
}

impl Schedule {
    /// The schedule of sender `index` of `count` sending `rate` frames a second: the senders
    /// are spread evenly over one interval so that they do not all fire at once.
    pub(crate) fn spread(
        window: &Window,
        rate: f64,
        tick: u64,
        index: usize,
        count: usize,
    ) -> Self {
        let interval = NANOS_PER_SEC / rate;
        let offset = interval * index as f64 / count.max(1) as f64;
        Schedule {
            first: window.start + offset as u64,
            interval,
            tick,
        }
    }

    /// When frame `n` is due.
    fn due(&self, n: u64) -> u64 {
        let exact = self.first + (self.interval * n as f64) as u64;
        match self.tick {
            0 => exact,
            tick => exact.div_ceil(tick) * tick,
        }
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

/// The senders of a run once they are done.
#[derive(Debug, Default)]
pub(crate) struct Senders {
    /// Their connections' writing halves, to close.
    pub(crate) writers: Vec<Writer>,
    /// What they sent, added up.
    pub(crate) sent: Sent,
    /// Senders whose connection failed before the end.
    pub(crate) failures: u64,
    /// The first of those failures.
    pub(crate) first_failure: Option<String>,
}

/// One connection's sender: its schedule, the next frame's number and its frame maker.
struct Sender<F> {
    writer: Writer,
    schedule: Schedule,
    next: u64,
    frame: F,
    failed: bool,
}

/// Sends on every writer at `rate` frames a second each, on schedules spread evenly over one
/// interval, until the window ends. Frame `n` of writer `index`, due at `due`, is what the maker
/// that `frames(index)` returns writes into the buffer it is given (`frame(buffer, n, due)`).
/// The schedules are put off to the ends of ticks of `tick_us` microseconds (0 for none; see
/// [`Schedule`]). One timer wakes the scheduler when the next frame is due; every frame due by
/// then goes out, stamped with its own scheduled time, a connection's frames of one wake-up in
/// one write.
pub(crate) async fn run_senders<F>(
    writers: Vec<Writer>,
    clock: Clock,
    window: Window,
    rate: f64,
    tick_us: u64,
    mut frames: impl FnMut(usize) -> F,
) -> Senders
where
    F: FnMut(&mut Vec<u8>, u64, u64),
{
    let count = writers.len();
    let tick = tick_us.saturating_mul(1000);
    let mut senders: Vec<Sender<F>> = writers
        .into_iter()
        .enumerate()
        .map(|(index, writer)| Sender {
            writer,
            schedule: Schedule::spread(&window, rate, tick, index, count),
            next: 0,
            frame: frames(index),
            failed: false,
        })
        .collect();
    // Min-heap of (due, sender).
    let mut queue: BinaryHeap<Reverse<(u64, usize)>> = senders
        .iter()
        .enumerate()
        .map(|(index, sender)| Reverse((sender.schedule.due(0), index)))
        .filter(|Reverse((due, _))| *due < window.end)
        .collect();
    let mut done = Senders::default();
    let mut buffer = Vec::new();
    let mut touched = Vec::new();
    while let Some(&Reverse((due, _))) = queue.peek() {
        if due > clock.now() {
            sleep_until(clock.instant(due)).await;
        }
        let now = clock.now();
        while let Some(&Reverse((due, index))) = queue.peek() {
            if due > now {
                break;
            }
            queue.pop();
            let sender = &mut senders[index];
            buffer.clear();
            (sender.frame)(&mut buffer, sender.next, due);
            if let Err(err) = sender.writer.queue_text(&buffer) {
                // The server closed the connection: this sender is done.
                sender.failed = true;
                done.failures += 1;
                done.first_failure.get_or_insert(err.to_string());
                continue;
            }
            done.sent.total += 1;
            if window.measures(due) {
                done.sent.measured += 1;
            }
            sender.next += 1;
            let next_due = sender.schedule.due(sender.next);
            if next_due < window.end {
                queue.push(Reverse((next_due, index)));
            }
            touched.push(index);
        }
        for index in touched.drain(..) {
            let sender = &mut senders[index];
            if sender.failed {
                continue;
            }
            // What the socket does not take now goes with the connection's next frame, or at
            // the end.
            if let Err(err) = sender.writer.try_flush() {
                sender.failed = true;
                done.failures += 1;
                done.first_failure.get_or_insert(err.to_string());
                queue.retain(|Reverse((_, other))| *other != index);
            }
        }
    }
    let flushing = senders
        .iter()
        .filter(|sender| !sender.failed)
        .map(|sender| sender.writer.flush());
    let flushed = timeout(CLOSE_WAIT, join_all(flushing)).await;
    for outcome in flushed.into_iter().flatten() {
        if let Err(err) = outcome {
            done.failures += 1;
            done.first_failure.get_or_insert(err.to_string());
        }
    }
    done.writers = senders.into_iter().map(|sender| sender.writer).collect();
    done
}

/// Reads the CPU time of the server and the generator at the start and the end of the
/// measured window, and the server's memory at its end.
pub(crate) async fn probe_window(
    clock: Clock,
    window: Window,
    server_pid: Option<u32>,
) -> Result<(CpuUsed, Option<Memory>), BenchError> {
    sleep_until(clock.instant(window.measure_from)).await;
    let first = CpuMark::now(server_pid)?;
    sleep_until(clock.instant(window.end)).await;
    let last = CpuMark::now(server_pid)?;
    let memory = server_pid.map(|pid| memory(Pid::Other(pid))).transpose()?;
    Ok((last.since(&first), memory))
}

/// Waits until `expected` frames have been delivered or `drain` has passed, then closes every
/// connection and waits for the readers to see their ends (so their counts are in the tally).
pub(crate) async fn drain_and_close(
    tally: &Tally,
    expected: u64,
    drain: Duration,
    writers: Vec<Writer>,
    readers: Vec<Task<()>>,
) {
    let deadline = Instant::now() + drain;
    while tally.delivered_so_far() < expected && Instant::now() < deadline {
        sleep(DRAIN_POLL).await;
    }
    tally.start_closing();
    let closing = writers.iter().map(|writer| async move {
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
        let first = Schedule::spread(&window, 1e9 / 100.0, 0, 0, 4);
        let third = Schedule::spread(&window, 1e9 / 100.0, 0, 2, 4);
        assert_eq!((first.due(0), first.due(1)), (1000, 1100));
        assert_eq!(third.due(0), 1050);
        assert!(window.measures(2000) && !window.measures(3000));
    }

    #[test]
    fn ticks_put_frames_off_to_their_end() {
        let window = Window {
            start: 1000,
            measure_from: 2000,
            end: 3000,
        };
        let second = Schedule::spread(&window, 1e9 / 100.0, 40, 1, 4);
        // Exactly 1025, 1125, 1225, 1325: each at the end of its tick of 40.
        let dues: Vec<u64> = (0..4).map(|n| second.due(n)).collect();
        assert_eq!(dues, [1040, 1160, 1240, 1360]);
    }
}
