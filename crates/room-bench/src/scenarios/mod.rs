//! The scenarios, and what they share: the target server, unique room names, and opening many
//! connections at once with each one read from the moment it is ready.

pub(crate) mod churn;
pub(crate) mod fanout;
pub(crate) mod hold;
pub(crate) mod sfu;
pub(crate) mod signal;

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::{stream, StreamExt};

use crate::cli::{Scenario, TargetArgs};
use crate::client::ws_url;
use crate::error::BenchError;
use crate::report::Report;

/// Runs one scenario against the server its arguments name.
pub(crate) async fn run(scenario: &Scenario) -> Result<Report, BenchError> {
    Ok(match scenario {
        Scenario::Hold(args) => Report::Hold(hold::run(args).await?),
        Scenario::Fanout(args) => Report::Fanout(fanout::run(args).await?),
        Scenario::Signal(args) => Report::Signal(signal::run(args).await?),
        Scenario::Churn(args) => Report::Churn(churn::run(args).await?),
        Scenario::Sfu(args) => Report::Sfu(sfu::run(args).await?),
    })
}

/// The server under test, as the scenarios use it.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// Its WebSocket URL.
    pub(crate) url: String,
    /// Its process id, for /proc.
    pub(crate) server_pid: Option<u32>,
    /// How long to wait for any one expected frame.
    pub(crate) wait: Duration,
    /// Connections opened at once while setting up.
    pub(crate) concurrency: usize,
}

impl Target {
    /// Checks the command line's target.
    pub(crate) fn new(args: &TargetArgs) -> Result<Self, BenchError> {
        if !(args.wait > 0.0 && args.wait.is_finite()) {
            return Err(BenchError::Setup("--wait must be a positive number".into()));
        }
        Ok(Target {
            url: ws_url(&args.url)?,
            server_pid: args.server_pid,
            wait: Duration::from_secs_f64(args.wait),
            concurrency: args.connect_concurrency as usize,
        })
    }
}

/// A prefix for room names that no other run (of this process or another) uses, so a run
/// never lands in rooms left over from an earlier one.
pub(crate) fn run_id() -> String {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis());
    format!("{}-{}", std::process::id(), millis % 100_000_000)
}

/// Runs `open` on every item, `concurrency` at a time, and hands each outcome to `opened` as
/// soon as it is there (so a connection's reader starts at once: servers send room lists to
/// every connection on every join, and an unread connection would overflow). Returns what
/// `opened` made, in the order of `items`.
pub(crate) async fn open_all<I, T, R, Fut>(
    items: Vec<I>,
    concurrency: usize,
    open: impl Fn(I) -> Fut,
    mut opened: impl FnMut(usize, T) -> Result<R, BenchError>,
) -> Result<Vec<R>, BenchError>
where
    Fut: Future<Output = T>,
{
    let count = items.len();
    let mut pending = stream::iter(items.into_iter().enumerate())
        .map(|(index, item)| {
            let opening = open(item);
            async move { (index, opening.await) }
        })
        .buffer_unordered(concurrency);
    let mut made: Vec<Option<R>> = (0..count).map(|_| None).collect();
    while let Some((index, outcome)) = pending.next().await {
        made[index] = Some(opened(index, outcome)?);
    }
    Ok(made.into_iter().flatten().collect())
}

/// Rejects a rate or duration that is not a positive number.
pub(crate) fn positive(name: &str, value: f64) -> Result<f64, BenchError> {
    if value > 0.0 && value.is_finite() {
        Ok(value)
    } else {
        Err(BenchError::Setup(format!(
            "{name} must be a positive number, not {value}"
        )))
    }
}
