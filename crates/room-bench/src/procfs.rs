//! What the kernel says about a process: resident memory from `/proc/PID/status` and CPU time
//! from `/proc/PID/stat` (the server's, given by its pid, and the generator's own).

use std::fs;
use std::process::Command;
use std::sync::OnceLock;

use serde::Serialize;

use crate::error::BenchError;

/// Clock ticks per second when `getconf CLK_TCK` cannot say (the value on Linux nearly always).
const DEFAULT_CLOCK_TICKS: u64 = 100;

/// A process whose numbers are read.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Pid {
    /// The generator itself.
    Own,
    /// Another process on this machine.
    Other(u32),
}

impl Pid {
    fn path(self, file: &str) -> String {
        match self {
            Pid::Own => format!("/proc/self/{file}"),
            Pid::Other(pid) => format!("/proc/{pid}/{file}"),
        }
    }
}

/// A process's resident memory.
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct Memory {
    /// `VmRSS`: resident now, in KiB.
    pub(crate) rss_kib: u64,
    /// `VmHWM`: the most it was ever resident, in KiB.
    pub(crate) peak_kib: u64,
}

/// Reads `VmRSS` and `VmHWM`.
pub(crate) fn memory(pid: Pid) -> Result<Memory, BenchError> {
    let path = pid.path("status");
    let status = fs::read_to_string(&path).map_err(|err| BenchError::io(&path, err))?;
    let field = |name: &str| -> Result<u64, BenchError> {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| BenchError::Setup(format!("{path} has no {name} in kB")))
    };
    Ok(Memory {
        rss_kib: field("VmRSS:")?,
        peak_kib: field("VmHWM:")?,
    })
}

/// User plus system CPU time so far, in seconds, over all threads.
pub(crate) fn cpu_seconds(pid: Pid) -> Result<f64, BenchError> {
    let path = pid.path("stat");
    let stat = fs::read_to_string(&path).map_err(|err| BenchError::io(&path, err))?;
    // The command name (field 2) is in parentheses and may hold spaces, so count from the last
    // `)`: utime and stime are fields 14 and 15, the 12th and 13th after it.
    let ticks = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().skip(11).take(2))
        .map(|fields| {
            fields
                .map(|field| field.parse::<u64>().ok())
                .sum::<Option<u64>>()
        })
        .and_then(|ticks| ticks)
        .ok_or_else(|| BenchError::Setup(format!("cannot read utime and stime in {path}")))?;
    Ok(ticks as f64 / clock_ticks() as f64)
}

/// Clock ticks per second, from `getconf CLK_TCK` (asked once).
pub(crate) fn clock_ticks() -> u64 {
    static TICKS: OnceLock<u64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|out| String::from_utf8(out.stdout).ok())
            .and_then(|text| text.trim().parse().ok())
            .filter(|&ticks| ticks > 0)
            .unwrap_or(DEFAULT_CLOCK_TICKS)
    })
}

/// CPU seconds of the server (when its pid is known) and of the generator at one moment.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CpuMark {
    server: Option<f64>,
    own: f64,
}

impl CpuMark {
    /// Reads both now.
    pub(crate) fn now(server: Option<u32>) -> Result<Self, BenchError> {
        Ok(CpuMark {
            server: server.map(|pid| cpu_seconds(Pid::Other(pid))).transpose()?,
            own: cpu_seconds(Pid::Own)?,
        })
    }

    /// The CPU time used between `earlier` and this mark.
    pub(crate) fn since(&self, earlier: &CpuMark) -> CpuUsed {
        CpuUsed {
            server_s: self
                .server
                .zip(earlier.server)
                .map(|(now, then)| now - then),
            generator_s: self.own - earlier.own,
        }
    }
}

/// CPU time used over a window.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub(crate) struct CpuUsed {
    /// The server's, in seconds (absent without `--server-pid`).
    pub(crate) server_s: Option<f64>,
    /// The generator's own, in seconds.
    pub(crate) generator_s: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generator_can_read_its_own_numbers() {
        let memory = memory(Pid::Own).unwrap();
        assert!(memory.rss_kib > 0 && memory.peak_kib >= memory.rss_kib);
        assert!(cpu_seconds(Pid::Own).unwrap() >= 0.0);
    }
}
