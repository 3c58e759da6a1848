//! Synthetic WebRTC members for calls through a selective forwarding unit: each joins, offers
//! its connection (str0m) that sends a microphone and a camera in three simulcast layers,
//! receives what the server forwards, and counts it, with how late and how much was lost.
//! The tests of Room's SFU drive them, and so does the `sfu` scenario.
//!
//! - `packets`: the payloads: Opus-sized audio, VP8 frames with real descriptors and headers,
//!   and the stamp at the end of each.
//! - `tally`: a member's plan and its report.
//! - `connection`: one WebRTC connection on a socket of the reactor: what it sends, what it
//!   counts.
//! - `room_member`: a member of a call through Room: its protocol, one connection.
//! - `janus_member`: a member of a Janus VideoRoom: Janus's API, a publishing and a
//!   subscribing connection.

mod connection;
mod janus_member;
mod packets;
mod room_member;
mod tally;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::{IpAddr, ToSocketAddrs};
use std::rc::Rc;
use std::time::Duration;

use async_executor::LocalExecutor;
use futures_util::future::join_all;

pub use self::packets::Stream;
pub use self::tally::{Plan, Report, StreamCounts};
use crate::client::ws_url;
use crate::clock::{nanos, Clock};
use crate::error::BenchError;
use crate::reactor::{block_on, sleep};

/// The largest datagram a member reads.
const MAX_DATAGRAM: usize = 2048;

/// What ended a member's wait.
enum Woke {
    Frame(String),
    Closed,
    Readable,
    Timer,
}

/// What a run of synthetic members saw.
#[derive(Debug)]
pub struct Run {
    /// Every member's report, in the order of the plans.
    pub reports: Vec<Report>,
    /// Which member (its number in the run) each peer id is.
    pub ids: BTreeMap<String, u32>,
}

impl Run {
    /// The member number of peer `id`.
    pub fn index_of(&self, id: &str) -> Option<u32> {
        self.ids.get(id).copied()
    }
}

/// Which protocol members speak to their server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Api {
    /// Room's: the server chooses the slots.
    Room,
    /// Janus's VideoRoom, over its WebSocket: each member subscribes.
    Janus,
}

impl Api {
    /// The API named on the command line.
    pub(crate) fn parse(name: &str) -> Result<Api, BenchError> {
        match name {
            "room" => Ok(Api::Room),
            "janus" => Ok(Api::Janus),
            other => Err(BenchError::Setup(format!(
                "unknown --api {other:?}: use room or janus"
            ))),
        }
    }
}

/// Which room a member joins.
#[derive(Debug, Clone)]
pub(crate) struct RoomRef {
    /// Its name (Room's) or number (Janus's).
    pub(crate) name: String,
    pub(crate) number: u64,
    /// Whether this member makes it (Janus rooms are made by a request).
    pub(crate) creator: bool,
}

/// One member: joins `room` on the server at `url` (a `ws://` URL) as member `index` with
/// `plan`, receives up to `video_slots` pictures (the member subscribes to them on Janus; Room
/// chooses them), counts what arrives within `window` (run clock), and leaves when the clock
/// reads `until`.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn member(
    api: Api,
    url: &str,
    room: &RoomRef,
    index: u32,
    plan: &Plan,
    video_slots: usize,
    clock: Clock,
    window: (u64, u64),
    until: u64,
) -> Report {
    let mut report = Report::new(index, window);
    let ids = Rc::new(RefCell::new(BTreeMap::new()));
    let outcome = match api {
        Api::Room => {
            room_member::take_part(url, &room.name, plan, clock, until, &ids, &mut report).await
        }
        Api::Janus => {
            let (number, creator) = (room.number, room.creator);
            janus_member::take_part(
                url,
                number,
                creator,
                plan,
                video_slots,
                clock,
                until,
                &mut report,
            )
            .await
        }
    };
    if let Err(reason) = outcome {
        report.failed = Some(reason);
    }
    report
}

/// Joins one member per plan to `room` on Room at `url` (its `http://` address), each
/// `stagger` after the one before, and lets the call go on until `length` after the last one
/// joined; everything that arrives counts. Runs on the calling thread.
pub fn run(
    url: &str,
    room: &str,
    plans: &[Plan],
    stagger: Duration,
    length: Duration,
) -> Result<Run, BenchError> {
    let url = ws_url(url)?;
    let clock = Clock::start();
    let until = nanos((stagger * plans.len() as u32 + length).as_secs_f64());
    let ids = Rc::new(RefCell::new(BTreeMap::new()));
    let executor = LocalExecutor::new();
    let tasks: Vec<_> = plans
        .iter()
        .enumerate()
        .map(|(index, plan)| {
            let (url, room, plan, ids) = (url.clone(), room.to_owned(), plan.clone(), ids.clone());
            executor.spawn(async move {
                sleep(stagger * index as u32).await;
                let mut report = Report::new(index as u32, (0, until));
                let outcome =
                    room_member::take_part(&url, &room, &plan, clock, until, &ids, &mut report)
                        .await;
                if let Err(reason) = outcome {
                    report.failed = Some(reason);
                }
                report
            })
        })
        .collect();
    let reports = block_on(executor.run(join_all(tasks)));
    let ids = ids.borrow().clone();
    Ok(Run { reports, ids })
}

/// The address of the server in a `ws://host:port/...` URL.
fn server_ip(url: &str) -> Result<IpAddr, String> {
    let rest = url.strip_prefix("ws://").unwrap_or(url);
    let authority = rest.split('/').next().unwrap_or(rest);
    authority
        .to_socket_addrs()
        .map_err(|err| format!("{authority}: {err}"))?
        .next()
        .map(|addr| addr.ip())
        .ok_or_else(|| format!("{authority} has no address"))
}
