//! `fanout`: R rooms of K members; every member chats at a fixed rate (open loop) and every
//! member times every chat it receives, its own included. Reports the delivery rate against
//! the offered rate, latency percentiles, CPU time and losses (seq gaps per receiver);
//! `--sweep` repeats it once per rate with fresh connections.

use std::time::{Duration, Instant};

use async_executor::LocalExecutor;
use async_std::task;
use futures_util::future::join;
use serde::Serialize;

use crate::cli::FanoutArgs;
use crate::client::{connect_and_join_lean, scan_chat};
use crate::clock::{stamp_field, write_decimal, Clock};
use crate::error::BenchError;
use crate::openloop::{drain_and_close, probe_window, run_senders, Window};
use crate::procfs::CpuUsed;
use crate::reactor::block_on;
use crate::report::{generator_warning, maybe, Better, Headline};
use crate::scenarios::{open_all, positive, run_id, Target};
use crate::stats::{LatencySummary, Sequence};
use crate::tally::{read_frames, Counts, Tally};
use crate::wire::{Conn, Reader};

/// Seconds from the end of the setup to the first send, so every sender is waiting in time.
const LEAD: f64 = 0.2;
/// The pause between two points of a sweep, for the server to let go of the old connections.
const PAUSE: Duration = Duration::from_secs(1);
/// The p99 latency under which an offered load counts as served.
const P99_TARGET_MS: f64 = 100.0;

/// The results of `fanout`.
#[derive(Debug, Serialize)]
pub(crate) struct FanoutReport {
    scenario: &'static str,
    params: FanoutArgs,
    /// One point per offered rate.
    points: Vec<FanoutPoint>,
    /// The highest offered load, in chats per second, served with p99 under 100 ms and
    /// nothing lost, undelivered or closed.
    max_offered_chats_per_s_with_p99_under_100ms: Option<f64>,
}

/// One offered load and what came of it.
#[derive(Debug, Serialize)]
pub(crate) struct FanoutPoint {
    /// Chats per second each member sent.
    rate_per_member: f64,
    /// Chats per second offered in all, as planned (rate × rooms × members).
    nominal_chats_per_s: f64,
    /// Connections (rooms × members).
    connections: usize,
    /// Seconds to connect and join them all.
    setup_s: f64,
    /// Seconds measured.
    measured_s: f64,
    /// Chats sent per second in the measured window.
    offered_chats_per_s: f64,
    /// Deliveries those chats call for per second (× members).
    offered_deliveries_per_s: f64,
    /// Chats received per second in the measured window, over all members.
    delivered_per_s: f64,
    /// Latency of chats sent in the measured window, from scheduled send to receipt.
    latency: LatencySummary,
    /// Chats sent in all (warm-up included).
    chats_sent: u64,
    /// Deliveries those call for.
    deliveries_expected: u64,
    /// Deliveries that had not come when the drain ended.
    undelivered: u64,
    /// What the readers counted.
    counts: Counts,
    /// Senders whose connection failed.
    send_failures: u64,
    /// The first of those failures.
    first_send_failure: Option<String>,
    /// CPU time over the measured window.
    cpu: CpuUsed,
    /// The server's CPU seconds per million deliveries in the measured window.
    server_cpu_s_per_million_deliveries: Option<f64>,
    /// The server's resident memory at the end of the window, in KiB.
    server_rss_kib: Option<u64>,
    /// Nothing lost, reordered, undelivered, refused or closed.
    healthy: bool,
}

/// Reads one member's connection: times every chat and checks the room's `seq`s. Chats in the
/// usual shape are scanned, anything else decoded in full.
async fn read_chats(reader: Reader, tally: &Tally, next_seq: u64) {
    let mut sequence = Sequence::expecting(next_seq);
    read_frames(reader, tally, |text, now| {
        if let Some(chat) = scan_chat(text) {
            sequence.observe(chat.seq);
            tally.delivered(now, Some(chat.stamp));
        } else if let Some(frame) = tally.decode(text) {
            if frame.kind == "chat" {
                sequence.observe(frame.seq);
                let stamp = frame
                    .text
                    .as_deref()
                    .and_then(|text| stamp_field(text, "t"));
                tally.delivered(now, stamp);
            }
        }
    })
    .await;
    tally.add_sequence(&sequence);
}

/// Runs `fanout`.
pub(crate) async fn run(args: &FanoutArgs) -> Result<FanoutReport, BenchError> {
    let target = Target::new(&args.target)?;
    positive("--duration", args.schedule.duration)?;
    let rates = if args.sweep.is_empty() {
        vec![args.rate]
    } else {
        args.sweep.clone()
    };
    for &rate in &rates {
        positive("--rate", rate)?;
    }
    let run = run_id();
    let mut points = Vec::with_capacity(rates.len());
    for (step, &rate) in rates.iter().enumerate() {
        if step > 0 {
            task::sleep(PAUSE).await;
        }
        eprintln!(
            "fanout: {} rooms × {} members at {rate}/s each ...",
            args.rooms, args.members
        );
        points.push(block_on(run_point(
            args,
            &target,
            &format!("{run}-{step}"),
            rate,
        ))?);
    }
    let max_served = points
        .iter()
        .filter(|point| point.healthy && point.latency.p99_ms < P99_TARGET_MS)
        .map(|point| point.nominal_chats_per_s)
        .reduce(f64::max);
    Ok(FanoutReport {
        scenario: "fanout",
        params: args.clone(),
        points,
        max_offered_chats_per_s_with_p99_under_100ms: max_served,
    })
}

/// One offered load with fresh connections, all on this thread's [`crate::reactor`].
async fn run_point(
    args: &FanoutArgs,
    target: &Target,
    run: &str,
    rate: f64,
) -> Result<FanoutPoint, BenchError> {
    let clock = Clock::start();
    let tally = Tally::new(clock);
    let executor = LocalExecutor::new();
    executor
        .run(measure_point(&executor, &tally, args, target, run, rate))
        .await
}

/// [`run_point`] with the executor that reads the connections.
async fn measure_point<'a>(
    executor: &LocalExecutor<'a>,
    tally: &'a Tally,
    args: &FanoutArgs,
    target: &Target,
    run: &str,
    rate: f64,
) -> Result<FanoutPoint, BenchError> {
    let members = args.members as usize;
    let connections = args.rooms as usize * members;
    let clock = tally.clock;
    let started = Instant::now();

    // Rooms are filled one after another: a room list grows with the rooms, and every join
    // sends one to every connection, so this keeps the setup's room lists short.
    let rooms: Vec<String> = (0..connections)
        .map(|index| format!("fanout-{run}-{}", index / members))
        .collect();
    let (url, wait) = (&target.url, target.wait);
    let opened = open_all(
        rooms,
        target.concurrency,
        |room| async move { connect_and_join_lean(url, &room, wait).await },
        |_, joined| {
            let joined = joined?;
            let Conn { reader, writer } = joined.ws;
            let reading = executor.spawn(read_chats(reader, tally, joined.next_seq));
            Ok((writer, reading))
        },
    )
    .await?;
    let setup_s = started.elapsed().as_secs_f64();

    let window = Window::after(&clock, LEAD, args.schedule.warmup, args.schedule.duration);
    tally.set_window(window);
    let (writers, readers): (Vec<_>, Vec<_>) = opened.into_iter().unzip();
    let padding = match args.padding {
        0 => String::new(),
        size => format!(" {}", "x".repeat(size as usize - 1)),
    };
    let padding = padding.as_bytes();
    let sending = run_senders(
        writers,
        clock,
        window,
        rate,
        args.schedule.send_tick_us,
        |_| {
            move |frame: &mut Vec<u8>, _, due| {
                frame.extend_from_slice(br#"{"type":"chat","text":"t="#);
                write_decimal(frame, due);
                frame.extend_from_slice(padding);
                frame.extend_from_slice(br#""}"#);
            }
        },
    );
    let (senders, probed) = join(sending, probe_window(clock, window, target.server_pid)).await;
    let (cpu, memory) = probed?;

    let expected = senders.sent.total * members as u64;
    let drain = Duration::from_secs_f64(args.schedule.drain.max(0.0));
    drain_and_close(tally, expected, drain, senders.writers, readers).await;

    let counts = tally.counts();
    let measured_s = window.measured_secs();
    let undelivered = expected.saturating_sub(counts.delivered);
    let healthy = counts.lost == 0
        && counts.out_of_order == 0
        && counts.errors == 0
        && counts.server_closes == 0
        && undelivered == 0
        && senders.failures == 0;
    let per_million = cpu
        .server_s
        .filter(|_| counts.delivered_measured > 0)
        .map(|server_s| server_s / (counts.delivered_measured as f64 / 1e6));
    Ok(FanoutPoint {
        rate_per_member: rate,
        nominal_chats_per_s: rate * connections as f64,
        connections,
        setup_s,
        measured_s,
        offered_chats_per_s: senders.sent.measured as f64 / measured_s,
        offered_deliveries_per_s: (senders.sent.measured * members as u64) as f64 / measured_s,
        delivered_per_s: counts.delivered_measured as f64 / measured_s,
        latency: tally.latencies.summary(),
        chats_sent: senders.sent.total,
        deliveries_expected: expected,
        undelivered,
        counts,
        send_failures: senders.failures,
        first_send_failure: senders.first_failure,
        cpu,
        server_cpu_s_per_million_deliveries: per_million,
        server_rss_kib: memory.map(|memory| memory.rss_kib),
        healthy,
    })
}

impl FanoutReport {
    /// The summary for people.
    pub(crate) fn summary(&self) -> String {
        let mut out = format!(
            "fanout: {} rooms × {} members, {} s measured after {} s warm-up\n",
            self.params.rooms,
            self.params.members,
            self.params.schedule.duration,
            self.params.schedule.warmup
        );
        for point in &self.points {
            out += &format!(
                "  {}/s per member: offered {:.0} chats/s ({:.0} deliveries/s), delivered {:.0}/s\n",
                point.rate_per_member,
                point.offered_chats_per_s,
                point.offered_deliveries_per_s,
                point.delivered_per_s
            );
            out += &format!("    latency {}\n", point.latency.line());
            out += &format!(
                "    server CPU {} s ({} s per million deliveries), generator CPU {:.2} s, server RSS {} KiB\n",
                maybe(point.cpu.server_s, 2),
                maybe(point.server_cpu_s_per_million_deliveries, 3),
                point.cpu.generator_s,
                maybe(point.server_rss_kib.map(|kib| kib as f64), 0),
            );
            out += &format!(
                "    lost {}, out of order {}, undelivered {}, errors {}, server closes {}, send failures {}{}\n",
                point.counts.lost,
                point.counts.out_of_order,
                point.undelivered,
                point.counts.errors,
                point.counts.server_closes,
                point.send_failures,
                problem_note(point),
            );
            out += &generator_warning(point.cpu.generator_s, point.measured_s);
        }
        out += &format!(
            "highest offered load with p99 < {P99_TARGET_MS} ms: {}",
            self.max_offered_chats_per_s_with_p99_under_100ms
                .map_or_else(|| "none".to_owned(), |rate| format!("{rate:.0} chats/s"))
        );
        out
    }

    /// The numbers `compare` tabulates.
    pub(crate) fn headlines(&self) -> Vec<Headline> {
        let mut lines = Vec::new();
        let many = self.points.len() > 1;
        for point in &self.points {
            let at = if many {
                format!(" @ {:.0} chats/s", point.nominal_chats_per_s)
            } else {
                String::new()
            };
            if !many {
                lines.push(Headline::new(
                    "offered chats/s",
                    Some(point.offered_chats_per_s),
                    Better::Higher,
                ));
            }
            lines.extend([
                Headline::new(
                    format!("delivered/s{at}"),
                    Some(point.delivered_per_s),
                    Better::Higher,
                ),
                Headline::new(
                    format!("p50 ms{at}"),
                    Some(point.latency.p50_ms),
                    Better::Lower,
                ),
                Headline::new(
                    format!("p99 ms{at}"),
                    Some(point.latency.p99_ms),
                    Better::Lower,
                ),
                Headline::new(
                    format!("p99.9 ms{at}"),
                    Some(point.latency.p999_ms),
                    Better::Lower,
                ),
                Headline::new(
                    format!("max ms{at}"),
                    Some(point.latency.max_ms),
                    Better::Lower,
                ),
                Headline::new(
                    format!("server CPU s per million deliveries{at}"),
                    point.server_cpu_s_per_million_deliveries,
                    Better::Lower,
                ),
                Headline::new(
                    format!("lost + undelivered{at}"),
                    Some((point.counts.lost + point.undelivered) as f64),
                    Better::Lower,
                ),
            ]);
        }
        lines.push(Headline::new(
            "highest offered chats/s with p99 < 100 ms",
            self.max_offered_chats_per_s_with_p99_under_100ms,
            Better::Higher,
        ));
        lines
    }

    /// p99 latency against offered chats per second, one point per rate, for the chart.
    pub(crate) fn p99_curve(&self) -> Vec<(f64, f64)> {
        self.points
            .iter()
            .map(|point| (point.nominal_chats_per_s, point.latency.p99_ms))
            .collect()
    }
}

/// ` (first problem: ...)` when there was one.
fn problem_note(point: &FanoutPoint) -> String {
    point
        .counts
        .first_problem
        .as_ref()
        .or(point.first_send_failure.as_ref())
        .map_or_else(String::new, |problem| format!(" (first: {problem})"))
}
