//! The command line: one subcommand per scenario, and `compare`, which runs a scenario against
//! each server in turn.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use serde::Serialize;

/// The default `--send-tick-us` of the open-loop scenarios.
pub(crate) const DEFAULT_SEND_TICK_US: u64 = 250;

/// `room-bench`: load generator for servers that speak Room's protocol v1.
#[derive(Debug, Parser)]
#[command(version, about)]
pub(crate) struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// One scenario against a server that is already running (`--url`).
    #[command(flatten)]
    Scenario(Scenario),
    /// Start Room and each peer server in turn (pinned to core 0), run one scenario against each
    /// from core 1, and write `<results-dir>/<date>-<scenario>.{json,md}` (and `.svg` for fanout).
    Compare(CompareArgs),
}

/// A measurement against one server.
#[derive(Debug, Clone, Subcommand, Serialize)]
#[serde(tag = "scenario", rename_all = "snake_case")]
pub(crate) enum Scenario {
    /// Open many idle connections in rooms of ten: memory per connection and connect+join rate.
    Hold(HoldArgs),
    /// Rooms whose members all chat at a fixed rate: delivery rate, latency, CPU, losses.
    Fanout(FanoutArgs),
    /// Pairs relaying offers, answers and candidates at a fixed rate: relay latency.
    Signal(SignalArgs),
    /// Clients join, chat and leave (or drop) continuously: nothing lost, memory returns.
    Churn(ChurnArgs),
    /// Rooms of synthetic WebRTC members through an SFU: forwarding rate, latency, loss, CPU.
    Sfu(SfuArgs),
}

impl Scenario {
    /// The scenario's name, as on the command line.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Scenario::Hold(_) => "hold",
            Scenario::Fanout(_) => "fanout",
            Scenario::Signal(_) => "signal",
            Scenario::Churn(_) => "churn",
            Scenario::Sfu(_) => "sfu",
        }
    }

    /// The server every scenario talks to.
    pub(crate) fn target_mut(&mut self) -> &mut TargetArgs {
        match self {
            Scenario::Hold(args) => &mut args.target,
            Scenario::Fanout(args) => &mut args.target,
            Scenario::Signal(args) => &mut args.target,
            Scenario::Churn(args) => &mut args.target,
            Scenario::Sfu(args) => &mut args.target,
        }
    }
}

/// The server under test and where the report goes; shared by every scenario.
#[derive(Debug, Clone, Args, Serialize)]
pub(crate) struct TargetArgs {
    /// The server's WebSocket URL (`ws://host:port/ws`); `http://host:port` means its `/ws`.
    #[arg(long, default_value = "ws://127.0.0.1:3000/ws")]
    pub(crate) url: String,
    /// The server's process id, to read its memory and CPU time from /proc (same machine only).
    #[arg(long)]
    pub(crate) server_pid: Option<u32>,
    /// Also write the report as one JSON object to this file.
    #[arg(long)]
    pub(crate) json: Option<PathBuf>,
    /// Connections opened at once while setting up.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub(crate) connect_concurrency: u32,
    /// Seconds to wait for any one expected frame (welcome, joined, ...) before giving up.
    #[arg(long, default_value_t = 20.0)]
    pub(crate) wait: f64,
}

/// `hold`: idle connections.
#[derive(Debug, Clone, Args, Serialize)]
pub(crate) struct HoldArgs {
    /// How many connections to open (each joins one of connections/10 rooms).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub(crate) connections: u32,
    /// Connections that open first and stay in no room (home pages), watching the room list
    /// change while the others join.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=10_000))]
    pub(crate) lobby: u32,
    /// Seconds to stay connected once every connection has joined and the server went quiet,
    /// before the memory is read.
    #[arg(long, default_value_t = 2.0)]
    pub(crate) idle: f64,
    /// Where the server is and where the report goes.
    #[command(flatten)]
    pub(crate) target: TargetArgs,
}

/// The open-loop schedule shared by `fanout` and `signal`.
#[derive(Debug, Clone, Args, Serialize)]
pub(crate) struct ScheduleArgs {
    /// Seconds measured.
    #[arg(long, default_value_t = 10.0)]
    pub(crate) duration: f64,
    /// Seconds of sending before the measured window, not counted.
    #[arg(long, default_value_t = 2.0)]
    pub(crate) warmup: f64,
    /// Seconds to wait, after the last send, for the frames still under way.
    #[arg(long, default_value_t = 10.0)]
    pub(crate) drain: f64,
    /// Ticks of the send schedule, in microseconds: every frame is planned for the end of the
    /// tick it falls in (and stamped with that time), so the frames of one tick go out together
    /// with one wake-up of the generator. Fewer wake-ups cost the generator (and the server)
    /// less CPU; 0 plans every frame at its own time.
    #[arg(long, default_value_t = DEFAULT_SEND_TICK_US)]
    pub(crate) send_tick_us: u64,
}

/// `fanout`: chat in rooms at a fixed rate per member.
#[derive(Debug, Clone, Args, Serialize)]
pub(crate) struct FanoutArgs {
    /// Rooms.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub(crate) rooms: u32,
    /// Members per room; each receives every chat of its room, its own included.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub(crate) members: u32,
    /// Chats each member sends per second (on a fixed schedule, whatever the replies do).
    #[arg(long, default_value_t = 10.0)]
    pub(crate) rate: f64,
    /// Run once per rate in this comma-separated list instead of `--rate`, each with fresh
    /// connections: p99 latency against offered load.
    #[arg(long, value_delimiter = ',')]
    pub(crate) sweep: Vec<f64>,
    /// When to send and how long to measure.
    #[command(flatten)]
    #[serde(flatten)]
    pub(crate) schedule: ScheduleArgs,
    /// Characters of padding added to each chat text after its stamp.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=1900))]
    pub(crate) padding: u32,
    /// Where the server is and where the report goes.
    #[command(flatten)]
    pub(crate) target: TargetArgs,
}

/// `signal`: offer/answer/candidate relay between pairs.
#[derive(Debug, Clone, Args, Serialize)]
pub(crate) struct SignalArgs {
    /// Pairs, each alone in its own room.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=5000))]
    pub(crate) pairs: u32,
    /// Frames each side sends its partner per second.
    #[arg(long, default_value_t = 10.0)]
    pub(crate) rate: f64,
    /// When to send and how long to measure.
    #[command(flatten)]
    #[serde(flatten)]
    pub(crate) schedule: ScheduleArgs,
    /// Where the server is and where the report goes.
    #[command(flatten)]
    pub(crate) target: TargetArgs,
}

/// `churn`: clients come and go while chatting.
#[derive(Debug, Clone, Args, Serialize)]
pub(crate) struct ChurnArgs {
    /// Churning clients connected at once at most (besides one anchor per room).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub(crate) clients: u32,
    /// Seconds during which new clients keep starting.
    #[arg(long, default_value_t = 10.0)]
    pub(crate) duration: f64,
    /// Share of clients that end by dropping the TCP connection without a close frame.
    #[arg(long, default_value_t = 0.3)]
    pub(crate) drop_fraction: f64,
    /// Rooms the clients spread over; each has an anchor member that stays throughout.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub(crate) rooms: u32,
    /// Chats each client sends before it goes.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(0..=1000))]
    pub(crate) chats: u32,
    /// Milliseconds between a client's chats (and before it goes).
    #[arg(long, default_value_t = 20)]
    pub(crate) chat_interval_ms: u64,
    /// Where the server is and where the report goes.
    #[command(flatten)]
    pub(crate) target: TargetArgs,
}

/// `sfu`: rooms of synthetic WebRTC members through an SFU.
#[derive(Debug, Clone, Args, Serialize)]
pub(crate) struct SfuArgs {
    /// Rooms.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub(crate) rooms: u32,
    /// Members per room; every one sends a microphone and a camera in three layers.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(2..=500))]
    pub(crate) members: u32,
    /// Run once per number of rooms in this comma-separated list instead of `--rooms`, each
    /// with fresh members: a ramp until the server saturates.
    #[arg(long, value_delimiter = ',')]
    pub(crate) ramp: Vec<u32>,
    /// Seconds measured.
    #[arg(long, default_value_t = 10.0)]
    pub(crate) duration: f64,
    /// Seconds after the last member joined before the measured window: connections come up,
    /// layers settle.
    #[arg(long, default_value_t = 5.0)]
    pub(crate) warmup: f64,
    /// Milliseconds between two members' joins.
    #[arg(long, default_value_t = 20)]
    pub(crate) stagger_ms: u64,
    /// The width every member reports for its video tiles (CSS pixels).
    #[arg(long, default_value_t = 480)]
    pub(crate) view_width: u32,
    /// Their height.
    #[arg(long, default_value_t = 270)]
    pub(crate) view_height: u32,
    /// Pictures a member receives, with `--api janus` (Room's server decides with its
    /// `--video-slots`).
    #[arg(long, default_value_t = 16)]
    pub(crate) video_slots: u32,
    /// The protocol the members speak: `room` or `janus` (`compare` sets it per server).
    #[arg(long, default_value = "room")]
    pub(crate) api: String,
    /// Where the server is and where the report goes.
    #[command(flatten)]
    pub(crate) target: TargetArgs,
}

/// `compare`: one scenario against every server.
#[derive(Debug, Args)]
pub(crate) struct CompareArgs {
    /// Servers to run, in this order: `room`, `node-ws`, `bun` (chat scenarios) or `janus`
    /// (`sfu`).
    #[arg(long, value_delimiter = ',', default_value = "room,node-ws,bun")]
    pub(crate) servers: Vec<String>,
    /// The address the servers listen on and the generator connects to. Janus's
    /// configuration takes ICE on 10.200.0.1 only: `bench/run sfu` runs in a network namespace
    /// with that address.
    #[arg(long, default_value = "127.0.0.1")]
    pub(crate) host: String,
    /// Room's release binary.
    #[arg(long, default_value = "target/release/room")]
    pub(crate) room_bin: PathBuf,
    /// The directory holding the peer servers (`node-ws/`, `bun/`).
    #[arg(long, default_value = "bench/peers")]
    pub(crate) peers_dir: PathBuf,
    /// Where the results go.
    #[arg(long, default_value = "bench/results")]
    pub(crate) results_dir: PathBuf,
    /// More flags for Room, comma-separated (`--room-args=--bandwidth-estimation,off`).
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    pub(crate) room_args: Vec<String>,
    /// A word for the results' file names, after the date and the scenario, so that several
    /// comparisons of one scenario on one day keep their own files.
    #[arg(long)]
    pub(crate) label: Option<String>,
    /// A name for Room's run in the results, when `--room-args` makes it a variant.
    #[arg(long, default_value = "room")]
    pub(crate) room_name: String,
    /// Do not pin the servers to core 0 and this generator to core 1.
    #[arg(long)]
    pub(crate) no_pin: bool,
    /// The scenario, with its own options (its `--url` and `--server-pid` are set per server).
    #[command(subcommand)]
    pub(crate) scenario: Scenario,
}
