//! A real `room` server process for tests: started on port 0, found through its first log line,
//! its log collected line by line, killed when dropped.

#![allow(dead_code, unreachable_pub)] // each test binary uses a different part of this module

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How long a test waits for anything the server should do.
pub const WAIT: Duration = Duration::from_secs(10);

/// The server's output so far.
#[derive(Default)]
struct Output {
    lines: Vec<String>,
    stderr: String,
    closed: bool,
}

/// A running server.
pub struct Server {
    child: Child,
    /// `host:port` it listens on.
    pub addr: String,
    output: Arc<(Mutex<Output>, Condvar)>,
}

impl Server {
    /// Starts `room --port 0` with `args` added.
    pub fn start(args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_room"))
            .args(["--host", "127.0.0.1", "--port", "0", "--log-level", "debug"])
            .args(args)
            .env_remove("PORT")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the room binary starts");
        let output = Arc::new((Mutex::new(Output::default()), Condvar::new()));

        let stdout = child.stdout.take().expect("stdout is piped");
        let sink = output.clone();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let (lock, changed) = &*sink;
                lock.lock().unwrap().lines.push(line);
                changed.notify_all();
            }
            let (lock, changed) = &*sink;
            lock.lock().unwrap().closed = true;
            changed.notify_all();
        });
        let mut stderr = child.stderr.take().expect("stderr is piped");
        let sink = output.clone();
        thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            sink.0.lock().unwrap().stderr = text;
        });

        let mut server = Server {
            child,
            addr: String::new(),
            output,
        };
        let first = server
            .wait_line(0, |line| line.contains("listening on http"))
            .unwrap_or_else(|| panic!("no 'listening on' line; stderr: {}", server.stderr()));
        let line: serde_json::Value = serde_json::from_str(&first).expect("log lines are JSON");
        let url = line["url"]
            .as_str()
            .expect("the listening line has the url");
        server.addr = url
            .split_once("://")
            .expect("a url has a scheme")
            .1
            .to_owned();
        server
    }

    /// `http://host:port` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `ws://host:port` followed by `path`.
    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    /// Waits until a log line at index `from` or later satisfies `wanted`; returns it.
    pub fn wait_line(&self, from: usize, wanted: impl Fn(&str) -> bool) -> Option<String> {
        self.wait_line_at(from, wanted).map(|(_, line)| line)
    }

    /// Like `wait_line`, also returning the line's index.
    pub fn wait_line_at(
        &self,
        from: usize,
        wanted: impl Fn(&str) -> bool,
    ) -> Option<(usize, String)> {
        let deadline = Instant::now() + WAIT;
        let (lock, changed) = &*self.output;
        let mut output = lock.lock().unwrap();
        let mut seen = from;
        loop {
            if let Some(offset) = output.lines[seen.min(output.lines.len())..]
                .iter()
                .position(|line| wanted(line))
            {
                let index = seen + offset;
                return Some((index, output.lines[index].clone()));
            }
            seen = seen.max(output.lines.len());
            let left = deadline.checked_duration_since(Instant::now())?;
            if output.closed {
                return None;
            }
            output = changed.wait_timeout(output, left).unwrap().0;
        }
    }

    /// Every log line so far.
    pub fn lines(&self) -> Vec<String> {
        self.output.0.lock().unwrap().lines.clone()
    }

    /// What the server wrote to stderr (complete only once it has exited).
    pub fn stderr(&self) -> String {
        self.output.0.lock().unwrap().stderr.clone()
    }

    /// The server's process id (to signal it, or read its memory use from `/proc`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends the process a signal such as `TERM` or `INT`.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([format!("-{name}"), self.pid().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits up to `limit` for the process to exit; its exit status, if it did.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            // Polling a child's exit: std offers no wait with a timeout.
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
