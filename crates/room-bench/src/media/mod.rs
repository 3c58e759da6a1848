//! Synthetic WebRTC members for calls through a selective forwarding unit: each joins over
//! Room's protocol, offers one connection (str0m) that sends a microphone and a camera in three
//! simulcast layers, receives through the slots the server asks for, and counts what it
//! receives, with how late and how much was lost. The tests of Room's SFU drive them, and so
//! does the `sfu` scenario.
//!
//! - `packets`: the payloads: Opus-sized audio, VP8 frames with real descriptors and headers,
//!   and the stamp at the end of each.
//! - `member`: one member, its signalling, its connection and its counts.

mod member;
mod packets;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use async_executor::LocalExecutor;
use futures_util::future::join_all;

pub use self::member::{Plan, Report, StreamCounts};
pub use self::packets::Stream;
use crate::client::ws_url;
use crate::clock::{nanos, Clock};
use crate::error::BenchError;
use crate::reactor::{block_on, sleep};

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

/// Joins one member per plan to `room` on the server at `url` (its `http://` address), each
/// `stagger` after the one before, and lets the call go on until `length` after the last one
/// joined. Runs on the calling thread.
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
    let members = plans.iter().enumerate().map(|(index, plan)| {
        let (url, room, plan, ids) = (url.clone(), room.to_owned(), plan.clone(), ids.clone());
        executor.spawn(async move {
            sleep(stagger * index as u32).await;
            member::run(url, room, index as u32, plan, clock, until, ids).await
        })
    });
    let tasks: Vec<_> = members.collect();
    let reports = block_on(executor.run(join_all(tasks)));
    let ids = ids.borrow().clone();
    Ok(Run { reports, ids })
}
