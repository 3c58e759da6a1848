//! The log's way out: femme formats every line, and a sink of Room's own writes them, so the
//! log can neither block the server nor stop it.
//!
//! femme writes each line to the process's stdout and panics if the write fails; a write to a
//! pipe nobody reads blocks. So stdout (file descriptor 1) is not the real output: it is a pipe
//! that a reader thread empties at once, line by line, into a bounded queue, and a writer
//! thread copies the queue to the real output. When the output stalls the queue fills and new
//! lines are dropped and counted; when a write fails the sink says so once on stderr and stops
//! writing. Either way the pipe keeps being read, so femme's writes neither block nor fail.

use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use async_channel::{Receiver, Sender, TrySendError};
use log::LevelFilter;

/// Lines that may wait for the output.
const QUEUE_LINES: usize = 4096;
/// The longest line kept; a longer one (which Room never writes) is dropped and counted.
const MAX_LINE_BYTES: usize = 64 * 1024;

/// The running sink.
#[derive(Debug)]
pub struct Sink {
    dropped: Arc<AtomicU64>,
    /// Closed when the writer has written (or dropped) everything.
    finished: Receiver<()>,
}

/// Starts logging at `level`. Where stdout cannot be taken over, femme writes to it directly.
pub fn start(level: LevelFilter) -> Option<Sink> {
    femme::with_level(level);
    match take_stdout() {
        Ok(sink) => Some(sink),
        Err(err) => {
            eprintln!("room: the log writes to stdout directly ({err})");
            None
        }
    }
}

impl Sink {
    /// The count of lines dropped so far because the output did not keep up.
    pub fn dropped(&self) -> Arc<AtomicU64> {
        self.dropped.clone()
    }

    /// Writes out what is still queued, waiting at most `limit`; the log is off afterwards.
    pub fn finish(self, limit: Duration) {
        let _ = io::stdout().flush();
        // Pointing stdout somewhere else closes the pipe's only writing end, so the reader
        // sees its end once the pipe is empty, and the writer then empties the queue.
        let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") else {
            return;
        };
        if rustix::stdio::dup2_stdout(&null).is_err() {
            return;
        }
        async_io::block_on(async {
            let done = self.finished.recv();
            let late = async_io::Timer::after(limit);
            futures_util::future::select(std::pin::pin!(done), std::pin::pin!(late)).await;
        });
    }
}

fn take_stdout() -> io::Result<Sink> {
    let output = std::fs::File::from(io::stdout().as_fd().try_clone_to_owned()?);
    let (reader, writer) = io::pipe()?;
    rustix::stdio::dup2_stdout(&writer)?;
    // Descriptor 1 now holds the pipe's writing end; this copy must go, or the reader would
    // never see the end of it.
    drop(writer);
    let dropped = Arc::new(AtomicU64::new(0));
    let (lines, queue) = async_channel::bounded(QUEUE_LINES);
    let (finish, finished) = async_channel::bounded(1);
    let counter = dropped.clone();
    thread::Builder::new()
        .name("log-reader".into())
        .spawn(move || read_lines(reader, lines, &counter))?;
    let counter = dropped.clone();
    thread::Builder::new()
        .name("log-writer".into())
        .spawn(move || {
            write_lines(output, queue, &counter);
            drop(finish);
        })?;
    Ok(Sink { dropped, finished })
}

/// Splits what femme writes into lines and queues them, never waiting for the queue.
fn read_lines(mut pipe: io::PipeReader, lines: Sender<Vec<u8>>, dropped: &AtomicU64) {
    let mut buf = vec![0; 16 * 1024];
    let mut line = Vec::new();
    let mut too_long = false;
    loop {
        let read = match pipe.read(&mut buf) {
            Ok(0) => return,
            Ok(read) => read,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return,
        };
        for piece in buf[..read].split_inclusive(|byte| *byte == b'\n') {
            if !too_long {
                line.extend_from_slice(piece);
                too_long = line.len() > MAX_LINE_BYTES;
            }
            if piece.last() != Some(&b'\n') {
                continue;
            }
            let whole = std::mem::take(&mut line);
            if std::mem::replace(&mut too_long, false) {
                dropped.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            match lines.try_send(whole) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => {
                    dropped.fetch_add(1, Ordering::Relaxed);
                }
                // The writer stopped: what is written now goes nowhere, but is still read.
                Err(TrySendError::Closed(_)) => {}
            }
        }
    }
}

/// Writes queued lines to the real output until the queue closes; stops writing (but keeps
/// emptying the queue) at the first failed write.
fn write_lines(mut output: std::fs::File, queue: Receiver<Vec<u8>>, dropped: &AtomicU64) {
    let mut reported = 0;
    let mut failed = false;
    while let Ok(line) = queue.recv_blocking() {
        if failed {
            continue;
        }
        if let Err(err) = output.write_all(&line) {
            failed = true;
            log::set_max_level(LevelFilter::Off);
            eprintln!("room: cannot write the log ({err}); logging is off from now on");
            continue;
        }
        let lost = dropped.load(Ordering::Relaxed);
        if lost > reported && queue.is_empty() {
            // Said through the log itself, once the output has caught up.
            log::warn!(dropped = lost - reported; "log lines dropped: the output did not keep up");
            reported = lost;
        }
    }
}
