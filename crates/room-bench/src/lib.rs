//! `room-bench`: a load generator that speaks Room's protocol over real sockets to any
//! server by URL, and `compare`, which runs one scenario against Room and its peer servers.
//!
//! It measures Linux servers (CPU and memory from /proc, pinning with `taskset`) and its
//! lean client runs on epoll and timerfd, so it is built for Linux only: elsewhere the binary
//! says so and stops. [`main`] is the whole program; [`servers`] starts and stops the servers
//! it measures, for the smoke test too.
//!
//! - `cli`: the command line.
//! - `scenarios`: `hold`, `fanout`, `signal` and `churn`, and what they share.
//! - `client`: connecting, joining, and decoding server frames.
//! - `wire`: the lean WebSocket client of the open-loop scenarios; `reactor`: the
//!   single-threaded event loop they run on.
//! - `openloop`: senders on a fixed schedule, and the measured window around them.
//! - `tally`: what the reader tasks of a run count; `stats`: histograms and seq checks.
//! - `clock`: the common clock and the stamps in frames.
//! - `procfs`: memory and CPU time from /proc.
//! - `report`: summaries and JSON; `results`, `chart`: what `compare` writes.
//! - `compare`: the comparison runs; [`servers`]: starting and stopping the servers.
//! - [`media`]: synthetic WebRTC members of calls through an SFU.
//! - `error`: what can go wrong.

#![forbid(unsafe_code)]
#![warn(missing_docs, rust_2018_idioms, unreachable_pub)]
#![cfg(target_os = "linux")]

mod chart;
mod cli;
mod client;
mod clock;
mod compare;
mod error;
pub mod media;
mod openloop;
mod procfs;
mod reactor;
mod report;
mod results;
mod scenarios;
pub mod servers;
mod stats;
mod tally;
mod wire;

use std::process::ExitCode;

use async_std::task;
use clap::Parser;

use crate::cli::{Cli, Command, Scenario};
pub use crate::error::BenchError;

/// Runs the command line: a scenario against a running server, or `compare`.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    raise_open_files_limit();
    let outcome = match cli.command {
        Command::Scenario(scenario) => task::block_on(run_scenario(&scenario)),
        Command::Compare(args) => compare::run(args),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("room-bench: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Runs one scenario against a running server; prints the summary and writes the JSON.
async fn run_scenario(scenario: &Scenario) -> Result<(), BenchError> {
    let report = scenarios::run(scenario).await?;
    println!("{}", report.summary());
    let mut scenario = scenario.clone();
    if let Some(path) = &scenario.target_mut().json {
        report.write_json(path)?;
    }
    Ok(())
}

/// Raises the soft limit on open files to the hard one: every connection is a file, and the
/// soft limit is often 1024. Servers that `compare` starts inherit it.
fn raise_open_files_limit() {
    if let Err(err) = rlimit::increase_nofile_limit(u64::MAX) {
        eprintln!("room-bench: cannot raise the open-files limit: {err}");
    }
}
