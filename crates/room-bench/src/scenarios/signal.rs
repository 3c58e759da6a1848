//! `signal`: P pairs, each alone in its room; both sides send their partner offers, answers and
//! candidates at a fixed rate (open loop), numbered and stamped in the SDP or candidate string.
//! Reports relay latency percentiles, the relay rate, CPU time and losses (number gaps).

use std::time::{Duration, Instant};

use async_executor::{LocalExecutor, Task};
use futures_util::future::join;
use serde::Serialize;

use crate::cli::SignalArgs;
use crate::client::{connect_and_join_lean, expect, Joined};
use crate::clock::{stamp_field, Clock};
use crate::error::BenchError;
use crate::openloop::{drain_and_close, probe_window, run_senders, Window};
use crate::procfs::CpuUsed;
use crate::reactor::block_on;
use crate::report::{generator_warning, maybe, Better, Headline};
use crate::scenarios::{open_all, positive, run_id, Target};
use crate::stats::{LatencySummary, Sequence};
use crate::tally::{read_frames, Counts, Tally};
use crate::wire::{Conn, Writer};

/// Seconds from the end of the setup to the first send.
const LEAD: f64 = 0.2;
/// A sender's frames repeat in cycles of this many: an offer, candidates, an answer,
/// candidates. Servers cap candidates between two descriptions (Room at 100), so descriptions
/// come often.
const CYCLE: u64 = 10;

/// The results of `signal`.
#[derive(Debug, Serialize)]
pub(crate) struct SignalReport {
    scenario: &'static str,
    params: SignalArgs,
    /// Seconds to connect and pair everyone.
    setup_s: f64,
    /// Seconds measured.
    measured_s: f64,
    /// Frames sent per second in the measured window, both sides of every pair.
    offered_per_s: f64,
    /// Frames relayed per second in the measured window.
    relayed_per_s: f64,
    /// Latency of frames sent in the measured window, from scheduled send to receipt.
    latency: LatencySummary,
    /// Frames sent in all (warm-up included).
    sent: u64,
    /// Relays that had not come when the drain ended.
    undelivered: u64,
    /// What the readers counted (`lost` is gaps in each sender's numbering).
    counts: Counts,
    /// Senders whose connection failed.
    send_failures: u64,
    /// The first of those failures.
    first_send_failure: Option<String>,
    /// CPU time over the measured window.
    cpu: CpuUsed,
    /// The server's CPU seconds per million relays in the measured window.
    server_cpu_s_per_million_relays: Option<f64>,
}

/// Runs `signal`, every connection on this thread's [`crate::reactor`].
pub(crate) async fn run(args: &SignalArgs) -> Result<SignalReport, BenchError> {
    let target = Target::new(&args.target)?;
    let rate = positive("--rate", args.rate)?;
    positive("--duration", args.schedule.duration)?;
    let tally = Tally::new(Clock::start());
    let executor = LocalExecutor::new();
    block_on(executor.run(measure(&executor, &tally, args, &target, rate)))
}

/// [`run`] with the executor that reads the connections.
async fn measure<'a>(
    executor: &LocalExecutor<'a>,
    tally: &'a Tally,
    args: &SignalArgs,
    target: &Target,
    rate: f64,
) -> Result<SignalReport, BenchError> {
    let run = run_id();
    let clock = tally.clock;
    let started = Instant::now();

    let rooms: Vec<String> = (0..args.pairs)
        .map(|pair| format!("signal-{run}-{pair}"))
        .collect();
    let (url, wait) = (&target.url, target.wait);
    let pairs = open_all(
        rooms,
        target.concurrency.div_ceil(2),
        |room| async move { open_pair(url, &room, wait).await },
        |_, pair| {
            let (first, second) = pair?;
            let (first_id, second_id) = (first.id.clone(), second.id.clone());
            let (first_writer, first_reader) = spawn_reader(executor, first, tally);
            let (second_writer, second_reader) = spawn_reader(executor, second, tally);
            Ok([
                (first_writer, second_id, first_reader),
                (second_writer, first_id, second_reader),
            ])
        },
    )
    .await?;
    let setup_s = started.elapsed().as_secs_f64();

    let window = Window::after(&clock, LEAD, args.schedule.warmup, args.schedule.duration);
    tally.set_window(window);
    let mut writers = Vec::new();
    let mut partners = Vec::new();
    let mut readers = Vec::new();
    for (writer, partner, reader) in pairs.into_iter().flatten() {
        writers.push(writer);
        partners.push(partner);
        readers.push(reader);
    }
    let sending = run_senders(
        writers,
        clock,
        window,
        rate,
        args.schedule.send_tick_us,
        |index| {
            // Ids are opaque strings: quoted as JSON, whatever they hold.
            let to = serde_json::Value::from(partners[index].as_str()).to_string();
            move |frame: &mut Vec<u8>, n, due| {
                frame.extend_from_slice(signal_frame(&to, n, due).as_bytes())
            }
        },
    );
    let (senders, probed) = join(sending, probe_window(clock, window, target.server_pid)).await;
    let (cpu, _) = probed?;

    let expected = senders.sent.total;
    let drain = Duration::from_secs_f64(args.schedule.drain.max(0.0));
    drain_and_close(tally, expected, drain, senders.writers, readers).await;

    let counts = tally.counts();
    let measured_s = window.measured_secs();
    let per_million = cpu
        .server_s
        .filter(|_| counts.delivered_measured > 0)
        .map(|server_s| server_s / (counts.delivered_measured as f64 / 1e6));
    Ok(SignalReport {
        scenario: "signal",
        params: args.clone(),
        setup_s,
        measured_s,
        offered_per_s: senders.sent.measured as f64 / measured_s,
        relayed_per_s: counts.delivered_measured as f64 / measured_s,
        latency: tally.latencies.summary(),
        sent: senders.sent.total,
        undelivered: expected.saturating_sub(counts.delivered),
        counts,
        send_failures: senders.failures,
        first_send_failure: senders.first_failure,
        cpu,
        server_cpu_s_per_million_relays: per_million,
    })
}

/// Two connections in `room`, each knowing the other's id.
async fn open_pair(
    url: &str,
    room: &str,
    wait: Duration,
) -> Result<(Joined<Conn>, Joined<Conn>), BenchError> {
    let mut first = connect_and_join_lean(url, room, wait).await?;
    let second = connect_and_join_lean(url, room, wait).await?;
    if second.peers != [first.id.clone()] {
        return Err(BenchError::Protocol(format!(
            "{room} should hold only {} when {} joins, not {:?}",
            first.id, second.id, second.peers
        )));
    }
    let arrived = expect(&mut first.ws, "peer_joined", wait).await?;
    if arrived["peer"]["id"] != second.id.as_str() {
        return Err(BenchError::Protocol(format!(
            "{} was told of {} joining {room}, expected {}",
            first.id, arrived["peer"]["id"], second.id
        )));
    }
    Ok((first, second))
}

/// Starts the reader of one side of a pair; returns its writer and the reader's task.
fn spawn_reader<'a>(
    executor: &LocalExecutor<'a>,
    side: Joined<Conn>,
    tally: &'a Tally,
) -> (Writer, Task<()>) {
    let Conn { reader, writer } = side.ws;
    let reading = executor.spawn(async move {
        let mut sequence = Sequence::expecting(0);
        read_frames(reader, tally, |text, now| {
            let Some(frame) = tally.decode(text) else {
                return;
            };
            let line = match frame.kind.as_ref() {
                "offer" | "answer" => frame.sdp.as_deref(),
                "candidate" => frame.candidate.as_ref().map(|line| line.candidate.as_ref()),
                _ => return,
            };
            if let Some(n) = line.and_then(|line| stamp_field(line, "n")) {
                sequence.observe(n);
            }
            tally.delivered(now, line.and_then(|line| stamp_field(line, "t")));
        })
        .await;
        tally.add_sequence(&sequence);
    });
    (writer, reading)
}

/// Frame `n` of a sender to `to` (a JSON string), stamped with `due`.
fn signal_frame(to: &str, n: u64, due: u64) -> String {
    match n % CYCLE {
        0 => format!(r#"{{"type":"offer","to":{to},"sdp":"n={n} t={due}"}}"#),
        5 => format!(r#"{{"type":"answer","to":{to},"sdp":"n={n} t={due}"}}"#),
        _ => format!(
            r#"{{"type":"candidate","to":{to},"candidate":{{"candidate":"n={n} t={due}","sdpMid":"0","sdpMLineIndex":0}}}}"#
        ),
    }
}

impl SignalReport {
    /// The summary for people.
    pub(crate) fn summary(&self) -> String {
        let mut out = format!(
            "signal: {} pairs, {}/s per side, {} s measured after {} s warm-up (setup {:.2} s)\n",
            self.params.pairs,
            self.params.rate,
            self.params.schedule.duration,
            self.params.schedule.warmup,
            self.setup_s
        );
        out += &format!(
            "  offered {:.0} frames/s, relayed {:.0}/s\n",
            self.offered_per_s, self.relayed_per_s
        );
        out += &format!("  latency {}\n", self.latency.line());
        out += &format!(
            "  server CPU {} s ({} s per million relays), generator CPU {:.2} s\n",
            maybe(self.cpu.server_s, 2),
            maybe(self.server_cpu_s_per_million_relays, 3),
            self.cpu.generator_s
        );
        out += &generator_warning(self.cpu.generator_s, self.measured_s);
        out += &format!(
            "  lost {}, out of order {}, undelivered {}, errors {}, server closes {}, send failures {}{}",
            self.counts.lost,
            self.counts.out_of_order,
            self.undelivered,
            self.counts.errors,
            self.counts.server_closes,
            self.send_failures,
            self.counts
                .first_problem
                .as_ref()
                .or(self.first_send_failure.as_ref())
                .map_or_else(String::new, |problem| format!(" (first: {problem})"))
        );
        out
    }

    /// The numbers `compare` tabulates.
    pub(crate) fn headlines(&self) -> Vec<Headline> {
        vec![
            Headline::new("offered frames/s", Some(self.offered_per_s), Better::Higher),
            Headline::new("relayed/s", Some(self.relayed_per_s), Better::Higher),
            Headline::new("p50 ms", Some(self.latency.p50_ms), Better::Lower),
            Headline::new("p99 ms", Some(self.latency.p99_ms), Better::Lower),
            Headline::new("p99.9 ms", Some(self.latency.p999_ms), Better::Lower),
            Headline::new("max ms", Some(self.latency.max_ms), Better::Lower),
            Headline::new(
                "server CPU s per million relays",
                self.server_cpu_s_per_million_relays,
                Better::Lower,
            ),
            Headline::new(
                "lost + undelivered",
                Some((self.counts.lost + self.undelivered) as f64),
                Better::Lower,
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_cycle_through_offer_candidates_and_answer() {
        let kinds: Vec<String> = (0..CYCLE)
            .map(|n| {
                let frame: serde_json::Value =
                    serde_json::from_str(&signal_frame(r#""p1""#, n, 7)).unwrap();
                frame["type"].as_str().unwrap().to_owned()
            })
            .collect();
        assert_eq!(kinds[0], "offer");
        assert_eq!(kinds[5], "answer");
        assert_eq!(kinds.iter().filter(|kind| *kind == "candidate").count(), 8);
    }
}
