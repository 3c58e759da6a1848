//! `sfu`: rooms of synthetic WebRTC members ([`crate::media`]) that all send a microphone and
//! a camera in three layers and receive what the server forwards them. Reports what arrived in
//! the measured window (packets and Mbit/s forwarded, latency from send to receipt, losses and
//! duplicates), the server's CPU per million forwarded packets, and how many members got their
//! connection up and how fast; a member that did not is reported with its reason. With a ramp,
//! one point per number of rooms, each with fresh members.

use std::time::Duration;

use async_executor::LocalExecutor;
use futures_util::future::{join, join_all};
use hdrhistogram::Histogram;
use serde::Serialize;

use crate::cli::SfuArgs;
use crate::clock::{nanos, Clock};
use crate::error::BenchError;
use crate::media::{self, Api, Plan, Report as MemberReport, RoomRef};
use crate::openloop::{probe_window, Window};
use crate::procfs::CpuUsed;
use crate::reactor::{block_on, sleep};
use crate::report::{generator_warning, maybe, Better, Headline};
use crate::scenarios::{positive, run_id, Target};
use crate::stats::LatencySummary;

/// Seconds after the window for packets still under way.
const DRAIN_S: f64 = 0.5;
/// Seconds between two points of a ramp, for the server to settle.
const PAUSE: Duration = Duration::from_secs(2);

/// The results of `sfu`.
#[derive(Debug, Serialize)]
pub(crate) struct SfuReport {
    scenario: &'static str,
    params: SfuArgs,
    /// One point per number of rooms.
    points: Vec<SfuPoint>,
}

/// One load: `rooms` rooms of `members`.
#[derive(Debug, Serialize)]
pub(crate) struct SfuPoint {
    rooms: u32,
    members: u32,
    /// Members whose connection came up.
    connected: u32,
    /// Members that could not take part, with why (the first ten).
    failures: Vec<String>,
    /// How many failed in all.
    failed: u32,
    /// Milliseconds from joining to a working connection: median and slowest.
    connect_p50_ms: f64,
    connect_max_ms: f64,
    /// Seconds measured.
    measured_s: f64,
    /// Packets the members received per second in the window: what the server forwarded.
    forwarded_per_s: f64,
    /// Their payload, in Mbit/s.
    forwarded_mbit_s: f64,
    /// From the sender's stamp to the receiver's reading it.
    latency: LatencySummary,
    /// Packets missing inside streams, of those received plus missing.
    loss: f64,
    /// The worst stream's loss, and which stream it was.
    worst_stream_loss: f64,
    worst_stream: String,
    /// Packets received twice.
    duplicates: u64,
    cpu: CpuUsed,
    /// The server's CPU seconds per million forwarded packets.
    server_cpu_s_per_million: Option<f64>,
    /// Forwarded packets per second per core the server used.
    forwarded_per_core_s: Option<f64>,
}

/// Runs `sfu`: one point, or one per `--ramp` entry.
pub(crate) async fn run(args: &SfuArgs) -> Result<SfuReport, BenchError> {
    let target = Target::new(&args.target)?;
    positive("--duration", args.duration)?;
    let api = Api::parse(&args.api)?;
    let steps = if args.ramp.is_empty() {
        vec![args.rooms]
    } else {
        args.ramp.clone()
    };
    let run = run_id();
    let mut points = Vec::new();
    for (step, &rooms) in steps.iter().enumerate() {
        if step > 0 {
            async_std::task::sleep(PAUSE).await;
        }
        eprintln!("sfu: {rooms} rooms × {} members ...", args.members);
        let point = block_on(run_point(
            args,
            &target,
            api,
            &format!("{run}-{step}"),
            rooms,
        ))?;
        eprintln!("{}", point.line());
        points.push(point);
    }
    Ok(SfuReport {
        scenario: "sfu",
        params: args.clone(),
        points,
    })
}

async fn run_point(
    args: &SfuArgs,
    target: &Target,
    api: Api,
    run: &str,
    rooms: u32,
) -> Result<SfuPoint, BenchError> {
    let clock = Clock::start();
    let members = rooms * args.members;
    let stagger = Duration::from_millis(args.stagger_ms);
    let joined_by = nanos((stagger * members).as_secs_f64());
    let measure_from = joined_by + nanos(args.warmup);
    let window = Window {
        start: 0,
        measure_from,
        end: measure_from + nanos(args.duration),
    };
    let until = window.end + nanos(DRAIN_S);
    let plan = Plan {
        view: (args.view_width, args.view_height),
        ..Plan::default()
    };
    let executor = LocalExecutor::new();
    // Janus names rooms by number: one that no other run uses.
    let numbers = run.bytes().fold(0u64, |hash, byte| {
        hash.wrapping_mul(31).wrapping_add(u64::from(byte))
    });
    let spawned: Vec<_> = (0..members)
        .map(|index| {
            let in_room = index / args.members;
            let room = RoomRef {
                name: format!("sfu-{run}-{in_room}"),
                number: (numbers % 1_000_000_000) * 1000 + u64::from(in_room),
                creator: index % args.members == 0,
            };
            let (url, plan) = (target.url.clone(), plan.clone());
            let video_slots = args.video_slots as usize;
            executor.spawn(async move {
                sleep(stagger * index).await;
                media::member(
                    api,
                    &url,
                    &room,
                    index,
                    &plan,
                    video_slots,
                    clock,
                    (window.measure_from, window.end),
                    until,
                )
                .await
            })
        })
        .collect();
    let probing = probe_window(clock, window, target.server_pid);
    let (reports, probed) = executor.run(join(join_all(spawned), probing)).await;
    let (cpu, _) = probed?;
    Ok(SfuPoint::from_reports(
        rooms,
        args.members,
        &reports,
        window.measured_secs(),
        cpu,
    ))
}

impl SfuPoint {
    fn from_reports(
        rooms: u32,
        members: u32,
        reports: &[MemberReport],
        measured_s: f64,
        cpu: CpuUsed,
    ) -> SfuPoint {
        let mut latency = Histogram::<u64>::new(3).expect("a valid histogram");
        let mut packets = 0;
        let mut bytes = 0;
        let mut lost = 0;
        let mut duplicates = 0;
        let mut worst = 0.0f64;
        let mut worst_stream = String::new();
        for report in reports {
            let _ = latency.add(&report.latency_us);
            packets += report.packets();
            bytes += report.received_bytes;
            for ((sender, stream), counts) in &report.received {
                lost += counts.lost;
                duplicates += counts.duplicates;
                let total = counts.packets + counts.lost;
                let share = counts.lost as f64 / total as f64;
                if total > 100 && share > worst {
                    worst = share;
                    worst_stream = format!(
                        "member {sender}'s {stream:?} to member {} ({} of {total} lost)",
                        report.index, counts.lost
                    );
                }
            }
        }
        let mut connect: Vec<f64> = reports
            .iter()
            .filter_map(|report| report.connected_after)
            .map(|after| after.as_secs_f64() * 1000.0)
            .collect();
        connect.sort_by(f64::total_cmp);
        let failures: Vec<String> = reports
            .iter()
            .filter_map(|report| {
                let why = report.failed.clone().or_else(|| {
                    report
                        .connected_after
                        .is_none()
                        .then(|| "its connection never came up".to_owned())
                })?;
                Some(format!("member {}: {why}", report.index))
            })
            .collect();
        let millis = |micros: u64| micros as f64 / 1000.0;
        let summary = if latency.is_empty() {
            LatencySummary::default()
        } else {
            LatencySummary {
                samples: latency.len(),
                p50_ms: millis(latency.value_at_quantile(0.5)),
                p90_ms: millis(latency.value_at_quantile(0.9)),
                p99_ms: millis(latency.value_at_quantile(0.99)),
                p999_ms: millis(latency.value_at_quantile(0.999)),
                max_ms: millis(latency.max()),
                mean_ms: latency.mean() / 1000.0,
            }
        };
        let forwarded_per_s = packets as f64 / measured_s;
        SfuPoint {
            rooms,
            members,
            connected: connect.len() as u32,
            failed: failures.len() as u32,
            failures: failures.into_iter().take(10).collect(),
            connect_p50_ms: connect.get(connect.len() / 2).copied().unwrap_or(0.0),
            connect_max_ms: connect.last().copied().unwrap_or(0.0),
            measured_s,
            forwarded_per_s,
            forwarded_mbit_s: bytes as f64 * 8.0 / measured_s / 1e6,
            latency: summary,
            loss: if packets + lost > 0 {
                lost as f64 / (packets + lost) as f64
            } else {
                0.0
            },
            worst_stream_loss: worst,
            worst_stream,
            duplicates,
            cpu,
            server_cpu_s_per_million: cpu
                .server_s
                .filter(|_| packets > 0)
                .map(|server| server / (packets as f64 / 1e6)),
            forwarded_per_core_s: cpu
                .server_s
                .filter(|server| *server > 0.0)
                .map(|server| packets as f64 / server),
        }
    }

    /// One line for people.
    fn line(&self) -> String {
        let mut line = format!(
            "  {} rooms × {}: {}/{} connected (p50 {:.0} ms, max {:.0} ms), forwarded {:.0} packets/s ({:.1} Mbit/s), latency {}, loss {:.4}% (worst stream {:.3}%: {}), {} duplicates, server CPU {} s ({} s per million, {} packets/s per core), generator CPU {:.2} s\n",
            self.rooms,
            self.members,
            self.connected,
            self.rooms * self.members,
            self.connect_p50_ms,
            self.connect_max_ms,
            self.forwarded_per_s,
            self.forwarded_mbit_s,
            self.latency.line(),
            self.loss * 100.0,
            self.worst_stream_loss * 100.0,
            self.worst_stream,
            self.duplicates,
            maybe(self.cpu.server_s, 2),
            maybe(self.server_cpu_s_per_million, 3),
            maybe(self.forwarded_per_core_s, 0),
            self.cpu.generator_s,
        );
        line += &generator_warning(self.cpu.generator_s, self.measured_s);
        for failure in &self.failures {
            line += &format!("    {failure}\n");
        }
        line
    }
}

impl SfuReport {
    /// The report for people.
    pub(crate) fn summary(&self) -> String {
        let mut out = format!(
            "sfu ({}): {} s measured after {} s warm-up\n",
            self.params.api, self.params.duration, self.params.warmup
        );
        for point in &self.points {
            out += &point.line();
        }
        out
    }

    /// The numbers `compare` tabulates: those of the largest point where every member
    /// connected.
    pub(crate) fn headlines(&self) -> Vec<Headline> {
        let Some(point) = self
            .points
            .iter()
            .rev()
            .find(|point| point.failed == 0)
            .or(self.points.last())
        else {
            return Vec::new();
        };
        vec![
            Headline::new("rooms", Some(f64::from(point.rooms)), Better::Higher),
            Headline::new(
                "members connected",
                Some(f64::from(point.connected)),
                Better::Higher,
            ),
            Headline::new(
                "forwarded packets/s",
                Some(point.forwarded_per_s),
                Better::Higher,
            ),
            Headline::new(
                "forwarded Mbit/s",
                Some(point.forwarded_mbit_s),
                Better::Higher,
            ),
            Headline::new("p50 ms", Some(point.latency.p50_ms), Better::Lower),
            Headline::new("p99 ms", Some(point.latency.p99_ms), Better::Lower),
            Headline::new("p99.9 ms", Some(point.latency.p999_ms), Better::Lower),
            Headline::new("loss %", Some(point.loss * 100.0), Better::Lower),
            Headline::new(
                "server CPU s per million forwarded",
                point.server_cpu_s_per_million,
                Better::Lower,
            ),
            Headline::new(
                "forwarded packets/s per core",
                point.forwarded_per_core_s,
                Better::Higher,
            ),
            Headline::new("connect p50 ms", Some(point.connect_p50_ms), Better::Lower),
        ]
    }

    /// (forwarded packets/s, p99 ms) and (forwarded packets/s, server CPU s per million) of
    /// every point, for the charts.
    pub(crate) fn curves(&self) -> Curves {
        let latency = self
            .points
            .iter()
            .map(|point| (point.forwarded_per_s, point.latency.p99_ms))
            .collect();
        let cpu = self
            .points
            .iter()
            .filter_map(|point| Some((point.forwarded_per_s, point.server_cpu_s_per_million?)))
            .collect();
        Curves { latency, cpu }
    }
}

/// What the sfu charts draw of one server's report: (forwarded packets/s, p99 ms) and
/// (forwarded packets/s, server CPU s per million) of every point.
#[derive(Debug, Clone)]
pub(crate) struct Curves {
    pub(crate) latency: Vec<(f64, f64)>,
    pub(crate) cpu: Vec<(f64, f64)>,
}
