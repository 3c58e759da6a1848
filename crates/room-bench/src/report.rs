//! A scenario's results: the human summary, the JSON object, and the headline numbers that
//! `compare` puts side by side.

use std::fs;
use std::path::Path;

use serde::Serialize;

use crate::error::BenchError;
use crate::scenarios::churn::ChurnReport;
use crate::scenarios::fanout::FanoutReport;
use crate::scenarios::hold::HoldReport;
use crate::scenarios::sfu::SfuReport;
use crate::scenarios::signal::SignalReport;

/// The results of one scenario run against one server.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub(crate) enum Report {
    /// `hold`.
    Hold(HoldReport),
    /// `fanout`.
    Fanout(FanoutReport),
    /// `signal`.
    Signal(SignalReport),
    /// `churn`.
    Churn(ChurnReport),
    /// `sfu`.
    Sfu(SfuReport),
}

/// Which way a headline number is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Better {
    /// More is better (rates).
    Higher,
    /// Less is better (latency, memory, CPU, losses).
    Lower,
}

/// One number worth comparing between servers.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Headline {
    /// What it is, with its unit.
    pub(crate) label: String,
    /// The number, when it was measured.
    pub(crate) value: Option<f64>,
    /// Which way is better.
    pub(crate) better: Better,
}

impl Headline {
    /// A headline.
    pub(crate) fn new(label: impl Into<String>, value: Option<f64>, better: Better) -> Self {
        Headline {
            label: label.into(),
            value,
            better,
        }
    }
}

impl Report {
    /// The report for people, several lines.
    pub(crate) fn summary(&self) -> String {
        match self {
            Report::Hold(report) => report.summary(),
            Report::Fanout(report) => report.summary(),
            Report::Signal(report) => report.summary(),
            Report::Churn(report) => report.summary(),
            Report::Sfu(report) => report.summary(),
        }
    }

    /// The numbers `compare` tabulates.
    pub(crate) fn headlines(&self) -> Vec<Headline> {
        match self {
            Report::Hold(report) => report.headlines(),
            Report::Fanout(report) => report.headlines(),
            Report::Signal(report) => report.headlines(),
            Report::Churn(report) => report.headlines(),
            Report::Sfu(report) => report.headlines(),
        }
    }

    /// Writes the report as one JSON object.
    pub(crate) fn write_json(&self, path: &Path) -> Result<(), BenchError> {
        write_json(path, self)
    }
}

/// Writes any value as pretty JSON, creating the file's directory.
pub(crate) fn write_json(path: &Path, value: &impl Serialize) -> Result<(), BenchError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|err| BenchError::Setup(format!("cannot encode the report: {err}")))?;
    write_file(path, &(text + "\n"))
}

/// Writes a file, creating its directory.
pub(crate) fn write_file(path: &Path, text: &str) -> Result<(), BenchError> {
    let shown = path.display().to_string();
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(|err| BenchError::io(format!("creating {shown}"), err))?;
    }
    fs::write(path, text).map_err(|err| BenchError::io(format!("writing {shown}"), err))
}

/// A number for the summary, or `n/a` without `--server-pid`.
pub(crate) fn maybe(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| "n/a".to_owned(), |value| format!("{value:.decimals$}"))
}

/// Above this share of a core over the measured window, the generator may have been the
/// bottleneck rather than the server.
const GENERATOR_BUSY: f64 = 0.9;

/// A warning line when the generator used most of a core over `measured_s` seconds.
pub(crate) fn generator_warning(generator_s: f64, measured_s: f64) -> String {
    let share = generator_s / measured_s;
    if share > GENERATOR_BUSY {
        format!(
            "    warning: the generator used {:.0}% of a core; it may have been the bottleneck\n",
            share * 100.0
        )
    } else {
        String::new()
    }
}
