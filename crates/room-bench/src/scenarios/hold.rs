//! `hold`: N connections, each joins one of N/10 rooms, then all stay idle. Reports the
//! connect+join rate and the server's resident memory per connection (VmRSS before the first
//! connection and after the last has joined and the server has gone quiet, over N). With
//! `--lobby L`, L connections open first and stay in no room, as home pages do, and the report
//! counts the room-list frames they get while the others join: what joining costs the lobby.

use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_std::future::timeout;
use async_std::task::{self, JoinHandle};
use async_tungstenite::tungstenite::Message;
use futures_util::future::{join_all, select, Either};
use futures_util::StreamExt;
use serde::Serialize;

use crate::cli::HoldArgs;
use crate::client::{close, close_text, connect, connect_and_join, expect, Ws};
use crate::error::BenchError;
use crate::procfs::{memory, CpuMark, CpuUsed, Memory, Pid};
use crate::report::{maybe, Better, Headline};
use crate::scenarios::{open_all, run_id, Target};

/// Members per room.
const ROOM_SIZE: usize = 10;
/// The server counts as quiet once no frame has reached any connection for this long.
const QUIET: Duration = Duration::from_millis(500);
/// How often the frame count is looked at while waiting for quiet.
const QUIET_POLL: Duration = Duration::from_millis(100);
/// The longest wait for quiet (room lists to every connection can take a while).
const QUIET_LIMIT: Duration = Duration::from_secs(120);
/// How long closing all connections may take.
const CLOSE_WAIT: Duration = Duration::from_secs(10);

/// The results of `hold`.
#[derive(Debug, Serialize)]
pub(crate) struct HoldReport {
    scenario: &'static str,
    params: HoldArgs,
    /// Rooms the connections joined.
    rooms: usize,
    /// Connections that joined.
    joined: usize,
    /// Connections that could not connect or join.
    failed: usize,
    /// The first of those failures.
    first_failure: Option<String>,
    /// Seconds from the first connect to the last `joined`.
    join_s: f64,
    /// Connections joined per second.
    connect_join_per_s: f64,
    /// Seconds from the last `joined` until no frame came for 0.5 s.
    quiet_after_s: f64,
    /// Frames the connections received in all once they had joined (`peer_joined` of the
    /// members after them).
    frames_received: u64,
    /// Bytes of those frames.
    bytes_received: u64,
    /// Connections that stayed in no room.
    lobby: usize,
    /// Frames those lobby connections received in all after their `welcome` (room lists).
    lobby_frames_received: u64,
    /// Of those, per lobby connection.
    lobby_frames_per_connection: Option<f64>,
    /// Connections the server closed (or that broke) while they were held.
    server_closes: u64,
    /// The first such close.
    first_close: Option<String>,
    /// The server's memory before the first connection.
    memory_before: Option<Memory>,
    /// The server's memory with every connection held, once quiet and idle.
    memory_held: Option<Memory>,
    /// (held − before) / joined, in bytes.
    rss_per_connection_bytes: Option<f64>,
    /// CPU time from the first connect to the last `joined`.
    join_cpu: CpuUsed,
}

/// What the holding tasks count together.
#[derive(Debug, Default)]
struct HoldTally {
    frames: AtomicU64,
    bytes: AtomicU64,
    server_closes: AtomicU64,
    first_close: Mutex<Option<String>>,
}

impl HoldTally {
    fn closed(&self, what: String) {
        self.server_closes.fetch_add(1, Ordering::Relaxed);
        self.first_close
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_or_insert(what);
    }
}

/// A held connection: its task reads (and so answers pings) until told to close.
struct Holder {
    stop: async_channel::Sender<()>,
    task: JoinHandle<()>,
}

/// Runs `hold`.
pub(crate) async fn run(args: &HoldArgs) -> Result<HoldReport, BenchError> {
    let target = Target::new(&args.target)?;
    let server = target.server_pid.map(Pid::Other);
    let read_memory = || server.map(memory).transpose();
    let count = args.connections as usize;
    let rooms = count.div_ceil(ROOM_SIZE);
    let run = run_id();
    let tally = Arc::new(HoldTally::default());
    let memory_before = read_memory()?;

    let lobby_tally = Arc::new(HoldTally::default());
    let mut watchers = Vec::new();
    for _ in 0..args.lobby {
        let mut ws = connect(&target.url, target.wait).await?;
        expect(&mut ws, "welcome", target.wait).await?;
        watchers.push(hold(ws, lobby_tally.clone()));
    }

    let cpu_before = CpuMark::now(target.server_pid)?;
    let started = Instant::now();
    let names: Vec<String> = (0..count)
        .map(|index| format!("hold-{run}-{}", index / ROOM_SIZE))
        .collect();
    let (url, wait) = (&target.url, target.wait);
    let mut failed = 0;
    let mut first_failure = None;
    let holders = open_all(
        names,
        target.concurrency,
        |room| async move { connect_and_join(url, &room, wait).await },
        |_, joined| match joined {
            Ok(joined) => Ok(Some(hold(joined.ws, tally.clone()))),
            Err(err) => {
                failed += 1;
                first_failure.get_or_insert(err.to_string());
                Ok(None)
            }
        },
    )
    .await?;
    let holders: Vec<Holder> = holders.into_iter().flatten().collect();
    let join_s = started.elapsed().as_secs_f64();
    let join_cpu = CpuMark::now(target.server_pid)?.since(&cpu_before);
    eprintln!(
        "hold: {} joined in {join_s:.2} s; waiting for the server to go quiet ...",
        holders.len()
    );

    let quiet_started = Instant::now();
    wait_for_quiet(&tally).await;
    wait_for_quiet(&lobby_tally).await;
    let quiet_after_s = quiet_started.elapsed().as_secs_f64();
    task::sleep(Duration::from_secs_f64(args.idle.max(0.0))).await;
    let memory_held = read_memory()?;

    let holders: Vec<Holder> = holders.into_iter().chain(watchers).collect();
    let stops = holders.iter().map(|holder| holder.stop.send(()));
    join_all(stops).await;
    let _ = timeout(
        CLOSE_WAIT,
        join_all(holders.into_iter().map(|holder| holder.task)),
    )
    .await;

    let joined = count - failed;
    let first_close = tally
        .first_close
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let rss_per_connection_bytes =
        memory_before
            .zip(memory_held)
            .filter(|_| joined > 0)
            .map(|(before, held)| {
                (held.rss_kib as f64 - before.rss_kib as f64) * 1024.0 / joined as f64
            });
    Ok(HoldReport {
        scenario: "hold",
        params: args.clone(),
        rooms,
        joined,
        failed,
        first_failure,
        join_s,
        connect_join_per_s: joined as f64 / join_s,
        quiet_after_s,
        frames_received: tally.frames.load(Ordering::Relaxed),
        bytes_received: tally.bytes.load(Ordering::Relaxed),
        lobby: args.lobby as usize,
        lobby_frames_received: lobby_tally.frames.load(Ordering::Relaxed),
        lobby_frames_per_connection: (args.lobby > 0)
            .then(|| lobby_tally.frames.load(Ordering::Relaxed) as f64 / f64::from(args.lobby)),
        server_closes: tally.server_closes.load(Ordering::Relaxed),
        first_close,
        memory_before,
        memory_held,
        rss_per_connection_bytes,
        join_cpu,
    })
}

/// Starts the task that holds one connection.
fn hold(mut ws: Ws, tally: Arc<HoldTally>) -> Holder {
    let (stop, stopped) = async_channel::bounded(1);
    let task = task::spawn(async move {
        loop {
            let item = match select(pin!(stopped.recv()), ws.next()).await {
                Either::Left(_) => None,
                Either::Right((item, _)) => Some(item),
            };
            match item {
                None => return close(&mut ws, CLOSE_WAIT).await,
                Some(Some(Ok(Message::Text(text)))) => {
                    tally.frames.fetch_add(1, Ordering::Relaxed);
                    tally.bytes.fetch_add(text.len() as u64, Ordering::Relaxed);
                }
                Some(Some(Ok(Message::Close(frame)))) => {
                    return tally.closed(format!("server closed: {}", close_text(frame.as_ref())));
                }
                Some(Some(Ok(_))) => {}
                Some(Some(Err(err))) => return tally.closed(format!("connection broke: {err}")),
                Some(None) => return tally.closed("connection ended without a close frame".into()),
            }
        }
    });
    Holder { stop, task }
}

/// Waits until no frame has come for [`QUIET`], or [`QUIET_LIMIT`].
async fn wait_for_quiet(tally: &HoldTally) {
    let limit = Instant::now() + QUIET_LIMIT;
    let mut last = tally.frames.load(Ordering::Relaxed);
    let mut quiet_since = Instant::now();
    while quiet_since.elapsed() < QUIET && Instant::now() < limit {
        task::sleep(QUIET_POLL).await;
        let now = tally.frames.load(Ordering::Relaxed);
        if now != last {
            last = now;
            quiet_since = Instant::now();
        }
    }
}

impl HoldReport {
    /// The summary for people.
    pub(crate) fn summary(&self) -> String {
        let kib = |memory: Option<Memory>| maybe(memory.map(|memory| memory.rss_kib as f64), 0);
        let mut out = format!(
            "hold: {} connections in {} rooms: {} joined, {} failed{}\n",
            self.params.connections,
            self.rooms,
            self.joined,
            self.failed,
            self.first_failure
                .as_ref()
                .map_or_else(String::new, |failure| format!(" (first: {failure})"))
        );
        out += &format!(
            "  connect+join {:.0}/s ({:.2} s); quiet {:.2} s later; {} frames ({:.1} MiB) received\n",
            self.connect_join_per_s,
            self.join_s,
            self.quiet_after_s,
            self.frames_received,
            self.bytes_received as f64 / (1024.0 * 1024.0)
        );
        if self.lobby > 0 {
            out += &format!(
                "  {} lobby connections got {} room-list frames ({} each)\n",
                self.lobby,
                self.lobby_frames_received,
                maybe(self.lobby_frames_per_connection, 1)
            );
        }
        out += &format!(
            "  server RSS {} KiB before, {} KiB held (peak {} KiB): {} bytes per connection\n",
            kib(self.memory_before),
            kib(self.memory_held),
            maybe(self.memory_held.map(|memory| memory.peak_kib as f64), 0),
            maybe(self.rss_per_connection_bytes, 0)
        );
        out += &format!(
            "  CPU while joining: server {} s, generator {:.2} s; server closes {}{}",
            maybe(self.join_cpu.server_s, 2),
            self.join_cpu.generator_s,
            self.server_closes,
            self.first_close
                .as_ref()
                .map_or_else(String::new, |close| format!(" (first: {close})"))
        );
        out
    }

    /// The numbers `compare` tabulates.
    pub(crate) fn headlines(&self) -> Vec<Headline> {
        vec![
            Headline::new(
                "connections held",
                Some((self.joined as u64 - self.server_closes.min(self.joined as u64)) as f64),
                Better::Higher,
            ),
            Headline::new(
                "connect+join per s",
                Some(self.connect_join_per_s),
                Better::Higher,
            ),
            Headline::new(
                "RSS per connection (bytes)",
                self.rss_per_connection_bytes,
                Better::Lower,
            ),
            Headline::new(
                "RSS held (MiB)",
                self.memory_held
                    .map(|memory| memory.rss_kib as f64 / 1024.0),
                Better::Lower,
            ),
            Headline::new(
                "peak RSS (MiB)",
                self.memory_held
                    .map(|memory| memory.peak_kib as f64 / 1024.0),
                Better::Lower,
            ),
            Headline::new(
                "server CPU s while joining",
                self.join_cpu.server_s,
                Better::Lower,
            ),
            Headline::new(
                "room-list frames per lobby connection",
                self.lobby_frames_per_connection,
                Better::Lower,
            ),
        ]
    }
}
