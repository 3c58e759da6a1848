//! `churn`: clients keep connecting, joining a room, chatting and going (leaving cleanly, or
//! dropping the TCP connection without a close frame) for a while, up to N at once. One anchor
//! member per room stays throughout and is the ground truth: every chat a client was present
//! for (between the anchor's `peer_joined` and `peer_left` for it) must have reached it exactly
//! once and in `seq` order. Also reports the server's memory before, during and after.

use std::collections::{HashMap, HashSet};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_std::future::timeout;
use async_std::task::{self, JoinHandle};
use async_tungstenite::tungstenite::Message;
use futures_util::future::{join_all, select, Either};
use futures_util::stream::FuturesUnordered;
use futures_util::StreamExt;
use serde::Serialize;

use crate::cli::ChurnArgs;
use crate::client::{close, close_text, connect, connect_and_join, decode, expect, send, Ws};
use crate::clock::Clock;
use crate::error::BenchError;
use crate::procfs::{memory, CpuMark, CpuUsed, Memory, Pid};
use crate::report::{maybe, Better, Headline};
use crate::scenarios::{open_all, positive, run_id, Target};
use crate::stats::Sequence;

/// How often the server's memory is sampled during the churn.
const SAMPLE_EVERY: Duration = Duration::from_millis(100);
/// How often the server is asked whether the run's rooms are gone.
const SETTLE_POLL: Duration = Duration::from_millis(50);
/// The longest wait for the run's rooms to be gone.
const SETTLE_LIMIT: Duration = Duration::from_secs(10);
/// How many violations the report spells out.
const LISTED_VIOLATIONS: usize = 20;
/// Spreads the clients that drop evenly among those that leave (the golden ratio's
/// fractional part: multiples of it mod 1 are evenly spread).
const SPREAD: f64 = 0.618_033_988_749_895;

/// The results of `churn`.
#[derive(Debug, Serialize)]
pub(crate) struct ChurnReport {
    scenario: &'static str,
    params: ChurnArgs,
    /// Seconds from the first anchor's connect to the last client's end.
    churn_s: f64,
    /// Clients started.
    clients: usize,
    /// Clients per second.
    clients_per_s: f64,
    /// Clients that joined their room.
    joined: usize,
    /// Clients that left with `leave` and a close frame.
    left_cleanly: usize,
    /// Clients that dropped their TCP connection without a close frame.
    dropped: usize,
    /// Clients that failed (to connect, join, or because the server ended them).
    failed: usize,
    /// The first of those failures.
    first_failure: Option<String>,
    /// Chats the clients sent.
    chats_sent: usize,
    /// Chats the anchors saw (every accepted chat of every room).
    chats_accepted: usize,
    /// Chat deliveries to clients checked against the anchors.
    deliveries_checked: usize,
    /// Departures of which the anchors saw no `peer_left` in time.
    departures_unseen: usize,
    /// Breaches of exactly-once, in-order delivery (zero when the server is right).
    violations: usize,
    /// The first violations, spelled out.
    violation_examples: Vec<String>,
    /// The server's memory before the anchors connected.
    memory_before: Option<Memory>,
    /// The most resident memory sampled during the churn, in KiB.
    rss_peak_kib: Option<u64>,
    /// The server's memory once every connection is gone and the rooms are forgotten.
    memory_after: Option<Memory>,
    /// RSS after over RSS before.
    rss_after_over_before: Option<f64>,
    /// Seconds until the server had forgotten the run's rooms.
    settle_s: f64,
    /// CPU time over the churn.
    cpu: CpuUsed,
}

/// A chat as a member received it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Chat {
    seq: u64,
    from: String,
    text: String,
}

/// What an anchor saw happen in its room, in the order it came.
#[derive(Debug)]
enum Event {
    Chat(Chat),
    Joined(String),
    Left(String),
}

/// Everything one anchor saw.
#[derive(Debug)]
struct AnchorLog {
    room: String,
    /// The `seq` of its first live chat.
    first_seq: u64,
    events: Vec<Event>,
    /// What went wrong with the anchor itself, if anything.
    problem: Option<String>,
}

/// How a client's stay ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ending {
    /// `leave`, `left`, then a close frame.
    Left,
    /// The TCP connection was dropped without a close frame.
    Dropped,
    /// It could not connect or join, or the server ended it.
    Failed(String),
}

/// One client's stay in a room.
#[derive(Debug)]
struct Stay {
    /// The index of its room (and of that room's anchor).
    room: usize,
    /// Its id, once it has one.
    id: Option<String>,
    /// The `seq` of its first live chat.
    first_seq: u64,
    /// The chats it received, in order.
    chats: Vec<Chat>,
    /// The texts of the chats it sent.
    sent: Vec<String>,
    ending: Ending,
}

/// What one client does.
#[derive(Debug, Clone, Copy)]
struct Plan {
    client: usize,
    room: usize,
    chats: u32,
    interval: Duration,
    drop: bool,
    wait: Duration,
}

/// Runs `churn`.
pub(crate) async fn run(args: &ChurnArgs) -> Result<ChurnReport, BenchError> {
    let target = Target::new(&args.target)?;
    positive("--duration", args.duration)?;
    if !(0.0..=1.0).contains(&args.drop_fraction) {
        return Err(BenchError::Setup(
            "--drop-fraction must be from 0 to 1".into(),
        ));
    }
    let run = run_id();
    let clock = Clock::start();
    let server = target.server_pid.map(Pid::Other);
    let memory_before = server.map(memory).transpose()?;
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = sample_peak_rss(server, sampling.clone());
    let cpu_before = CpuMark::now(target.server_pid)?;
    let started = Instant::now();

    let rooms: Vec<String> = (0..args.rooms)
        .map(|room| format!("churn-{run}-{room}"))
        .collect();
    let (url, wait) = (&target.url, target.wait);
    // Closing this channel tells every anchor that the churn is over.
    let (over, over_seen) = async_channel::bounded::<()>(1);
    let anchors = open_all(
        rooms.clone(),
        target.concurrency,
        |room| async move { connect_and_join(url, &room, wait).await },
        |index, joined| {
            let joined = joined?;
            let log = AnchorLog {
                room: rooms[index].clone(),
                first_seq: joined.next_seq,
                events: Vec::new(),
                problem: None,
            };
            Ok(task::spawn(anchor(joined.ws, log, over_seen.clone(), wait)))
        },
    )
    .await?;

    let deadline = started + Duration::from_secs_f64(args.duration);
    let mut running = FuturesUnordered::new();
    let mut stays = Vec::new();
    let mut clients = 0;
    loop {
        while running.len() < args.clients as usize && Instant::now() < deadline {
            let plan = Plan {
                client: clients,
                room: clients % rooms.len(),
                chats: args.chats,
                interval: Duration::from_millis(args.chat_interval_ms),
                drop: (clients as f64 * SPREAD).fract() < args.drop_fraction,
                wait,
            };
            let url = url.clone();
            let room = rooms[plan.room].clone();
            running.push(task::spawn(client(url, room, plan, clock)));
            clients += 1;
        }
        match running.next().await {
            Some(stay) => stays.push(stay),
            None => break,
        }
    }
    over.close();
    let anchors: Vec<AnchorLog> = join_all(anchors).await;
    let churn_s = started.elapsed().as_secs_f64();
    let cpu = CpuMark::now(target.server_pid)?.since(&cpu_before);

    let settle_started = Instant::now();
    wait_until_rooms_gone(&target, &format!("churn-{run}-")).await?;
    let settle_s = settle_started.elapsed().as_secs_f64();
    let memory_after = server.map(memory).transpose()?;
    sampling.store(false, Ordering::Relaxed);
    let rss_peak_kib = sampler.await;

    let verdict = check(&anchors, &stays);
    let count = |ending: &Ending| stays.iter().filter(|stay| &stay.ending == ending).count();
    let failures: Vec<&String> = stays
        .iter()
        .filter_map(|stay| match &stay.ending {
            Ending::Failed(why) => Some(why),
            _ => None,
        })
        .collect();
    Ok(ChurnReport {
        scenario: "churn",
        params: args.clone(),
        churn_s,
        clients,
        clients_per_s: clients as f64 / churn_s,
        joined: stays.iter().filter(|stay| stay.id.is_some()).count(),
        left_cleanly: count(&Ending::Left),
        dropped: count(&Ending::Dropped),
        failed: failures.len(),
        first_failure: failures.first().map(|why| why.to_string()),
        chats_sent: stays.iter().map(|stay| stay.sent.len()).sum(),
        chats_accepted: verdict.chats_accepted,
        deliveries_checked: verdict.deliveries_checked,
        departures_unseen: verdict.departures_unseen,
        violations: verdict.violations.len(),
        violation_examples: verdict
            .violations
            .into_iter()
            .take(LISTED_VIOLATIONS)
            .collect(),
        memory_before,
        rss_peak_kib,
        memory_after,
        rss_after_over_before: memory_before
            .zip(memory_after)
            .map(|(before, after)| after.rss_kib as f64 / before.rss_kib as f64),
        settle_s,
        cpu,
    })
}

/// Samples the server's RSS until `sampling` is cleared; the largest sample.
fn sample_peak_rss(server: Option<Pid>, sampling: Arc<AtomicBool>) -> JoinHandle<Option<u64>> {
    task::spawn(async move {
        let server = server?;
        let mut peak = None;
        while sampling.load(Ordering::Relaxed) {
            if let Ok(now) = memory(server) {
                peak = peak.max(Some(now.rss_kib));
            }
            task::sleep(SAMPLE_EVERY).await;
        }
        peak
    })
}

/// The anchor of one room: records every chat, arrival and departure until the churn is over
/// and every client it saw arrive has gone (or `wait` after the end).
async fn anchor(
    mut ws: Ws,
    mut log: AnchorLog,
    over: async_channel::Receiver<()>,
    wait: Duration,
) -> AnchorLog {
    let mut present = HashSet::new();
    let mut over_at: Option<Instant> = None;
    loop {
        let item = match over_at {
            Some(_) if present.is_empty() => break,
            Some(at) => {
                let left = (at + wait).saturating_duration_since(Instant::now());
                match timeout(left, ws.next()).await {
                    Ok(item) => item,
                    Err(_) => break,
                }
            }
            None => match select(pin!(over.recv()), ws.next()).await {
                Either::Left(_) => {
                    over_at = Some(Instant::now());
                    continue;
                }
                Either::Right((item, _)) => item,
            },
        };
        let problem = match item {
            Some(Ok(Message::Text(text))) => match decode(text.as_str()) {
                Ok(frame) => {
                    match frame.kind.as_ref() {
                        "chat" => log.events.push(Event::Chat(Chat {
                            seq: frame.seq,
                            from: frame.from.as_deref().unwrap_or_default().to_owned(),
                            text: frame.text.as_deref().unwrap_or_default().to_owned(),
                        })),
                        "peer_joined" => {
                            let id = frame.peer.map(|peer| peer.id.into_owned());
                            let id = id.unwrap_or_default();
                            present.insert(id.clone());
                            log.events.push(Event::Joined(id));
                        }
                        "peer_left" => {
                            let id = frame.id.as_deref().unwrap_or_default().to_owned();
                            present.remove(&id);
                            log.events.push(Event::Left(id));
                        }
                        "error" => {
                            log.problem
                                .get_or_insert(format!("anchor got {}", text.as_str()));
                        }
                        _ => {}
                    }
                    continue;
                }
                Err(err) => err.to_string(),
            },
            Some(Ok(Message::Close(frame))) => {
                format!("server closed the anchor: {}", close_text(frame.as_ref()))
            }
            Some(Ok(_)) => continue,
            Some(Err(err)) => format!("the anchor's connection broke: {err}"),
            None => "the anchor's connection ended".into(),
        };
        log.problem.get_or_insert(problem);
        return log;
    }
    close(&mut ws, wait).await;
    log
}

/// One client: connect, join, chat, then leave or drop.
async fn client(url: String, room: String, plan: Plan, clock: Clock) -> Stay {
    let mut stay = Stay {
        room: plan.room,
        id: None,
        first_seq: 0,
        chats: Vec::new(),
        sent: Vec::new(),
        ending: Ending::Dropped,
    };
    stay.ending = match visit(&url, &room, plan, clock, &mut stay).await {
        Ok(ending) => ending,
        Err(err) => Ending::Failed(err.to_string()),
    };
    stay
}

/// The body of [`client`], recording into `stay` as it goes.
async fn visit(
    url: &str,
    room: &str,
    plan: Plan,
    clock: Clock,
    stay: &mut Stay,
) -> Result<Ending, BenchError> {
    let joined = connect_and_join(url, room, plan.wait).await?;
    stay.id = Some(joined.id);
    stay.first_seq = joined.next_seq;
    let mut ws = joined.ws;
    for chat in 0..plan.chats {
        read_for(&mut ws, plan.interval, stay).await?;
        let text = format!("c={} j={chat} t={}", plan.client, clock.now());
        send(
            &mut ws,
            serde_json::json!({ "type": "chat", "text": text }).to_string(),
        )
        .await?;
        stay.sent.push(text);
    }
    read_for(&mut ws, plan.interval, stay).await?;
    if plan.drop {
        // Dropping the stream closes the TCP connection without a close frame.
        return Ok(Ending::Dropped);
    }
    send(&mut ws, r#"{"type":"leave"}"#.to_owned()).await?;
    let left = async {
        loop {
            let item = ws.next().await;
            if take(item, stay)? {
                return Ok::<_, BenchError>(());
            }
        }
    };
    timeout(plan.wait, left)
        .await
        .map_err(|_| BenchError::Protocol("no left frame after leave".into()))??;
    close(&mut ws, plan.wait).await;
    Ok(Ending::Left)
}

/// Reads for `period`, recording chats into `stay`.
async fn read_for(ws: &mut Ws, period: Duration, stay: &mut Stay) -> Result<(), BenchError> {
    let until = Instant::now() + period;
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(());
        }
        match timeout(left, ws.next()).await {
            Err(_) => return Ok(()),
            Ok(item) => {
                if take(item, stay)? {
                    return Err(BenchError::Protocol("left a room it did not leave".into()));
                }
            }
        }
    }
}

/// Records one item a client read; true when it is `left`. A close or error ends the stay.
fn take(
    item: Option<Result<Message, async_tungstenite::tungstenite::Error>>,
    stay: &mut Stay,
) -> Result<bool, BenchError> {
    let text = match item {
        Some(Ok(Message::Text(text))) => text,
        Some(Ok(Message::Close(frame))) => {
            return Err(BenchError::Protocol(format!(
                "the server closed the connection: {}",
                close_text(frame.as_ref())
            )))
        }
        Some(Ok(_)) => return Ok(false),
        Some(Err(err)) => return Err(BenchError::Protocol(err.to_string())),
        None => return Err(BenchError::Protocol("the connection ended".into())),
    };
    let frame = decode(text.as_str())?;
    match frame.kind.as_ref() {
        "chat" => stay.chats.push(Chat {
            seq: frame.seq,
            from: frame.from.as_deref().unwrap_or_default().to_owned(),
            text: frame.text.as_deref().unwrap_or_default().to_owned(),
        }),
        "left" => return Ok(true),
        "error" => {
            return Err(BenchError::Protocol(format!(
                "error frame: {}",
                text.as_str()
            )))
        }
        _ => {}
    }
    Ok(false)
}

/// Waits until a new connection's `welcome` lists none of the rooms whose names start with
/// `prefix`: the server has taken every member out of them.
async fn wait_until_rooms_gone(target: &Target, prefix: &str) -> Result<(), BenchError> {
    let limit = Instant::now() + SETTLE_LIMIT;
    loop {
        let mut ws = connect(&target.url, target.wait).await?;
        let welcome = expect(&mut ws, "welcome", target.wait).await?;
        close(&mut ws, target.wait).await;
        let ours = welcome["rooms"].as_array().is_some_and(|rooms| {
            rooms.iter().any(|room| {
                room["name"]
                    .as_str()
                    .is_some_and(|name| name.starts_with(prefix))
            })
        });
        if !ours || Instant::now() >= limit {
            return Ok(());
        }
        task::sleep(SETTLE_POLL).await;
    }
}

/// What the check of every stay against the anchors found.
#[derive(Debug, Default)]
struct Verdict {
    chats_accepted: usize,
    deliveries_checked: usize,
    departures_unseen: usize,
    violations: Vec<String>,
}

/// Checks every stay against its room's anchor: the chats between the anchor's `peer_joined`
/// and `peer_left` for a client are exactly what it should have received (all of them after a
/// clean leave, a prefix of them after a drop), and each chat it sent was accepted once.
fn check(anchors: &[AnchorLog], stays: &[Stay]) -> Verdict {
    let mut verdict = Verdict::default();
    for anchor in anchors {
        if let Some(problem) = &anchor.problem {
            verdict
                .violations
                .push(format!("{}: {problem}", anchor.room));
        }
        let mut sequence = Sequence::expecting(anchor.first_seq);
        for event in &anchor.events {
            if let Event::Chat(chat) = event {
                sequence.observe(chat.seq);
                verdict.chats_accepted += 1;
            }
        }
        if sequence.lost + sequence.out_of_order > 0 {
            verdict.violations.push(format!(
                "{}: the anchor's chats skipped {} seqs and had {} out of order",
                anchor.room, sequence.lost, sequence.out_of_order
            ));
        }
    }
    let accepted: Vec<HashMap<(&str, &str), usize>> = anchors
        .iter()
        .map(|anchor| {
            let mut counts = HashMap::new();
            for event in &anchor.events {
                if let Event::Chat(chat) = event {
                    *counts
                        .entry((chat.from.as_str(), chat.text.as_str()))
                        .or_insert(0) += 1;
                }
            }
            counts
        })
        .collect();
    for stay in stays {
        let Some(id) = &stay.id else { continue };
        let (Some(anchor), Some(accepted)) = (anchors.get(stay.room), accepted.get(stay.room))
        else {
            continue;
        };
        let complete = stay.ending == Ending::Left;
        let mut fail = |what: String| {
            verdict
                .violations
                .push(format!("{id} in {}: {what}", anchor.room));
        };
        match presence(anchor, id) {
            Presence::NeverJoined => fail("the anchor never saw it join".into()),
            Presence::Stayed {
                before,
                chats,
                left,
            } => {
                if !left {
                    verdict.departures_unseen += 1;
                    fail("the anchor never saw it leave".into());
                }
                if stay.first_seq != before + 1 {
                    fail(format!(
                        "its history ended at seq {}, the anchor's at {before}",
                        stay.first_seq - 1
                    ));
                }
                let matching = stay
                    .chats
                    .iter()
                    .zip(&chats)
                    .take_while(|(got, wanted)| got == *wanted)
                    .count();
                if matching < stay.chats.len() {
                    let got = &stay.chats[matching];
                    fail(format!(
                        "got seq {} from {} where the anchor has {}",
                        got.seq,
                        got.from,
                        chats
                            .get(matching)
                            .map_or("nothing more".to_owned(), |chat| format!(
                                "seq {} from {}",
                                chat.seq, chat.from
                            ))
                    ));
                } else if complete && matching < chats.len() {
                    fail(format!(
                        "left cleanly after seq {} but missed {} chats up to seq {}",
                        stay.chats.last().map_or(before, |chat| chat.seq),
                        chats.len() - matching,
                        chats.last().map_or(0, |chat| chat.seq)
                    ));
                }
                verdict.deliveries_checked += stay.chats.len();
            }
        }
        for text in &stay.sent {
            let times = accepted
                .get(&(id.as_str(), text.as_str()))
                .copied()
                .unwrap_or(0);
            if times > 1 || (complete && times == 0) {
                fail(format!("its chat {text:?} was accepted {times} times"));
            }
        }
    }
    verdict
}

/// What an anchor saw of one client.
enum Presence<'a> {
    NeverJoined,
    Stayed {
        /// The last seq before it arrived.
        before: u64,
        /// The chats while it was there.
        chats: Vec<&'a Chat>,
        /// Whether its departure was seen.
        left: bool,
    },
}

fn presence<'a>(anchor: &'a AnchorLog, id: &str) -> Presence<'a> {
    let mut before = anchor.first_seq - 1;
    let mut chats = Vec::new();
    let mut arrived = false;
    for event in &anchor.events {
        match event {
            Event::Joined(who) if who == id => arrived = true,
            Event::Left(who) if who == id && arrived => {
                return Presence::Stayed {
                    before,
                    chats,
                    left: true,
                }
            }
            Event::Chat(chat) if arrived => chats.push(chat),
            Event::Chat(chat) => before = chat.seq,
            _ => {}
        }
    }
    if arrived {
        Presence::Stayed {
            before,
            chats,
            left: false,
        }
    } else {
        Presence::NeverJoined
    }
}

impl ChurnReport {
    /// The summary for people.
    pub(crate) fn summary(&self) -> String {
        let kib = |memory: Option<Memory>| maybe(memory.map(|memory| memory.rss_kib as f64), 0);
        let mut out = format!(
            "churn: {} clients in {:.1} s ({:.0}/s, up to {} at once, {} rooms): {} left, {} dropped, {} failed{}\n",
            self.clients,
            self.churn_s,
            self.clients_per_s,
            self.params.clients,
            self.params.rooms,
            self.left_cleanly,
            self.dropped,
            self.failed,
            self.first_failure
                .as_ref()
                .map_or_else(String::new, |why| format!(" (first: {why})"))
        );
        out += &format!(
            "  chats sent {}, accepted {}, deliveries checked {}: {} violations\n",
            self.chats_sent, self.chats_accepted, self.deliveries_checked, self.violations
        );
        for example in &self.violation_examples {
            out += &format!("    {example}\n");
        }
        out += &format!(
            "  server RSS {} KiB before, peak {} KiB, {} KiB after ({}×, settled in {:.2} s)\n",
            kib(self.memory_before),
            maybe(self.rss_peak_kib.map(|kib| kib as f64), 0),
            kib(self.memory_after),
            maybe(self.rss_after_over_before, 2),
            self.settle_s
        );
        out += &format!(
            "  CPU: server {} s, generator {:.2} s",
            maybe(self.cpu.server_s, 2),
            self.cpu.generator_s
        );
        out
    }

    /// The numbers `compare` tabulates.
    pub(crate) fn headlines(&self) -> Vec<Headline> {
        vec![
            Headline::new("clients per s", Some(self.clients_per_s), Better::Higher),
            Headline::new(
                "deliveries checked",
                Some(self.deliveries_checked as f64),
                Better::Higher,
            ),
            Headline::new("violations", Some(self.violations as f64), Better::Lower),
            Headline::new("failed clients", Some(self.failed as f64), Better::Lower),
            Headline::new(
                "peak RSS (MiB)",
                self.rss_peak_kib.map(|kib| kib as f64 / 1024.0),
                Better::Lower,
            ),
            Headline::new(
                "RSS after / before",
                self.rss_after_over_before,
                Better::Lower,
            ),
            Headline::new("server CPU s", self.cpu.server_s, Better::Lower),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat(seq: u64, from: &str) -> Chat {
        Chat {
            seq,
            from: from.into(),
            text: format!("{from}-{seq}"),
        }
    }

    fn anchor(events: Vec<Event>) -> AnchorLog {
        AnchorLog {
            room: "r".into(),
            first_seq: 1,
            events,
            problem: None,
        }
    }

    fn stay(chats: Vec<Chat>, ending: Ending) -> Stay {
        Stay {
            room: 0,
            id: Some("p2".into()),
            first_seq: 2,
            chats,
            sent: vec!["p2-3".into()],
            ending,
        }
    }

    fn log() -> AnchorLog {
        anchor(vec![
            Event::Chat(chat(1, "p1")),
            Event::Joined("p2".into()),
            Event::Chat(chat(2, "p1")),
            Event::Chat(chat(3, "p2")),
            Event::Left("p2".into()),
            Event::Chat(chat(4, "p1")),
        ])
    }

    #[test]
    fn a_clean_leaver_with_every_chat_passes() {
        let stays = [stay(vec![chat(2, "p1"), chat(3, "p2")], Ending::Left)];
        let verdict = check(&[log()], &stays);
        assert_eq!(verdict.violations, Vec::<String>::new());
        assert_eq!((verdict.chats_accepted, verdict.deliveries_checked), (4, 2));
    }

    #[test]
    fn a_clean_leaver_missing_a_chat_fails_but_a_dropper_may_stop_early() {
        let missing = [stay(vec![chat(2, "p1")], Ending::Left)];
        assert_eq!(check(&[log()], &missing).violations.len(), 1);
        let dropped = [stay(vec![chat(2, "p1")], Ending::Dropped)];
        assert!(check(&[log()], &dropped).violations.is_empty());
    }

    #[test]
    fn a_duplicate_or_a_gap_fails() {
        let duplicate = [stay(vec![chat(2, "p1"), chat(2, "p1")], Ending::Dropped)];
        assert_eq!(check(&[log()], &duplicate).violations.len(), 1);
        let gap = [stay(vec![chat(3, "p2")], Ending::Dropped)];
        assert_eq!(check(&[log()], &gap).violations.len(), 1);
    }
}
