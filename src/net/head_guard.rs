//! Bounds on HTTP request heads, in bytes and in time.
//!
//! async-h1 checks its header limits only when a line ends, so a client that sends no newline
//! could make it buffer without end. [`Guarded`] sits between the socket and async-h1 and
//! counts the bytes of each request head as they are read: past [`MAX_HEAD_BYTES`] without
//! the blank line that ends a head, reading fails and the connection is dropped. It also
//! notes when a head started and when the connection last went quiet, so the listener can drop
//! a client that takes longer than [`HEAD_TIMEOUT`] to send a head, sends nothing within
//! [`FIRST_BYTE_TIMEOUT`] of connecting, or keeps an idle connection open past
//! [`KEEP_ALIVE_TIMEOUT`]: a connection that sends nothing costs a file descriptor like any
//! other. Once the connection becomes a WebSocket, the guard steps aside ([`HeadWatch::stop`]).
//!
//! Room takes no request bodies, so whatever follows a head is the next head.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use async_std::io::{Read as AsyncRead, Write as AsyncWrite};

/// The most bytes a request head may have.
pub(crate) const MAX_HEAD_BYTES: usize = 16 * 1024;
/// The longest a client may take to send a request head, from its first byte.
pub(crate) const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest a new connection may wait before the first byte of its first request.
pub(crate) const FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest a connection may stay open between a request and the next one. Generous beside
/// the first byte's deadline: the response to the last request may still be on its way.
pub(crate) const KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(15);

/// The end of a request head.
const BLANK_LINE: &[u8] = b"\r\n\r\n";

/// Where the reading of heads stands.
#[derive(Debug)]
struct Scan {
    /// Bytes of the head being read.
    bytes: usize,
    /// How many bytes of [`BLANK_LINE`] the last bytes read matched.
    matched: usize,
    /// When the head being read started.
    started: Option<Instant>,
    /// When the connection opened, or the last head ended.
    quiet_since: Instant,
    /// Whether a head has ended on this connection.
    served: bool,
    /// The connection is a WebSocket now: nothing more to check.
    stopped: bool,
}

impl Default for Scan {
    fn default() -> Self {
        Scan {
            bytes: 0,
            matched: 0,
            started: None,
            quiet_since: Instant::now(),
            served: false,
            stopped: false,
        }
    }
}

/// Why a connection was dropped for its timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Overdue {
    /// A head took longer than [`HEAD_TIMEOUT`].
    Head,
    /// Nothing came within [`FIRST_BYTE_TIMEOUT`] of connecting.
    FirstByte,
    /// The connection stayed idle past [`KEEP_ALIVE_TIMEOUT`].
    KeepAlive,
}

impl Overdue {
    /// For the log.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Overdue::Head => "request head timed out",
            Overdue::FirstByte => "no request after connecting",
            Overdue::KeepAlive => "idle between requests",
        }
    }
}

/// A handle on a guarded connection's scan, shared by all clones of its stream.
#[derive(Debug, Clone, Default)]
pub(crate) struct HeadWatch(Arc<Mutex<Scan>>);

impl HeadWatch {
    /// Stops checking: the connection carries WebSocket frames from now on.
    pub(crate) fn stop(&self) {
        self.lock().stopped = true;
    }

    /// Whether the connection has broken one of the time limits, and which.
    pub(crate) fn overdue(&self) -> Option<Overdue> {
        let scan = self.lock();
        if scan.stopped {
            return None;
        }
        match scan.started {
            Some(started) if started.elapsed() > HEAD_TIMEOUT => Some(Overdue::Head),
            Some(_) => None,
            None if !scan.served && scan.quiet_since.elapsed() > FIRST_BYTE_TIMEOUT => {
                Some(Overdue::FirstByte)
            }
            None if scan.quiet_since.elapsed() > KEEP_ALIVE_TIMEOUT => Some(Overdue::KeepAlive),
            None => None,
        }
    }

    /// Counts bytes just read; an error when a head grows past [`MAX_HEAD_BYTES`].
    fn count(&self, read: &[u8]) -> io::Result<()> {
        let mut scan = self.lock();
        if scan.stopped {
            return Ok(());
        }
        for &byte in read {
            if scan.bytes == 0 {
                scan.started = Some(Instant::now());
            }
            scan.bytes += 1;
            scan.matched = if byte == BLANK_LINE[scan.matched] {
                scan.matched + 1
            } else if byte == BLANK_LINE[0] {
                1
            } else {
                0
            };
            if scan.matched == BLANK_LINE.len() {
                scan.bytes = 0;
                scan.matched = 0;
                scan.started = None;
                scan.served = true;
                scan.quiet_since = Instant::now();
            } else if scan.bytes > MAX_HEAD_BYTES {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("request head over {MAX_HEAD_BYTES} bytes"),
                ));
            }
        }
        Ok(())
    }

    fn lock(&self) -> MutexGuard<'_, Scan> {
        // `count` cannot panic while holding the lock; a poisoned scan is still a scan.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A stream whose request heads are counted by a [`HeadWatch`].
#[derive(Debug, Clone)]
pub(crate) struct Guarded<S> {
    inner: S,
    watch: HeadWatch,
}

impl<S> Guarded<S> {
    /// Guards `inner`; the watch is shared with every clone.
    pub(crate) fn new(inner: S) -> Self {
        Guarded {
            inner,
            watch: HeadWatch::default(),
        }
    }

    /// The watch on this stream's heads.
    pub(crate) fn watch(&self) -> &HeadWatch {
        &self.watch
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Guarded<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let read = futures_util::ready!(Pin::new(&mut self.inner).poll_read(cx, buf))?;
        self.watch.count(&buf[..read])?;
        Poll::Ready(Ok(read))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Guarded<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_of_any_number_reset_the_count_at_their_blank_line() {
        let watch = HeadWatch::default();
        let head = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        for _ in 0..2 * MAX_HEAD_BYTES / head.len() {
            watch.count(head).unwrap();
        }
        // A blank line split across reads still ends the head.
        watch.count(b"GET / HTTP/1.1\r\n\r").unwrap();
        watch.count(b"\n").unwrap();
        assert_eq!(watch.lock().bytes, 0);
        assert_eq!(watch.overdue(), None);
    }

    #[test]
    fn a_silent_connection_is_overdue_after_the_first_byte_deadline() {
        let watch = HeadWatch::default();
        watch.lock().quiet_since = Instant::now() - FIRST_BYTE_TIMEOUT - Duration::from_millis(1);
        assert_eq!(watch.overdue(), Some(Overdue::FirstByte));
        // Once a request was served, the longer keep-alive deadline applies.
        watch.count(b"GET / HTTP/1.1\r\n\r\n").unwrap();
        watch.lock().quiet_since = Instant::now() - FIRST_BYTE_TIMEOUT - Duration::from_millis(1);
        assert_eq!(watch.overdue(), None);
        watch.lock().quiet_since = Instant::now() - KEEP_ALIVE_TIMEOUT - Duration::from_millis(1);
        assert_eq!(watch.overdue(), Some(Overdue::KeepAlive));
        watch.stop();
        assert_eq!(watch.overdue(), None);
    }

    #[test]
    fn a_head_with_no_end_fails_past_the_limit() {
        let watch = HeadWatch::default();
        let line = vec![b'a'; MAX_HEAD_BYTES];
        watch.count(&line).unwrap();
        assert!(watch.count(b"a").is_err());
    }

    #[test]
    fn newlines_alone_do_not_end_a_head() {
        let watch = HeadWatch::default();
        let lines = b"X: y\r\n".repeat(MAX_HEAD_BYTES / 6 + 1);
        assert!(watch.count(&lines).is_err());
    }

    #[test]
    fn a_stopped_watch_counts_nothing() {
        let watch = HeadWatch::default();
        watch.count(b"GET /ws HTTP/1.1\r\n\r\n").unwrap();
        watch.stop();
        watch.count(&vec![0; 4 * MAX_HEAD_BYTES]).unwrap();
        assert_eq!(watch.overdue(), None);
    }
}
