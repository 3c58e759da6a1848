//! A real `room` server process for tests: started on port 0, found through the line it writes
//! to stderr, its log collected line by line, killed when dropped.
//!
//! `ROOM_BIN` runs another build of the server instead of this one's (to see a new test fail
//! against an older server, say).

#![allow(dead_code, unreachable_pub)] // each test binary uses a different part of this module

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How long a test waits for anything the server should do.
pub const WAIT: Duration = Duration::from_secs(10);

/// What happens to the server's stdout, where its log goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stdout {
    /// Read line by line, as a log shipper would.
    Read,
    /// Closed as soon as the server has started: a log shipper that died, `room | head`.
    Closed,
    /// Never read: a full pipe, a stalled disk.
    Stalled,
}

/// How to start a server.
#[derive(Debug, Clone)]
pub struct Launch<'a> {
    /// Extra flags.
    pub args: &'a [&'a str],
    /// What happens to stdout.
    pub stdout: Stdout,
    /// A program and its arguments to start the server through (`prlimit ...`, say).
    pub wrapper: &'a [&'a str],
    /// Extra environment.
    pub env: &'a [(&'a str, &'a str)],
}

impl Default for Launch<'_> {
    fn default() -> Self {
        Launch {
            args: &[],
            stdout: Stdout::Read,
            wrapper: &[],
            env: &[],
        }
    }
}

/// The server's output so far.
#[derive(Default)]
struct Output {
    lines: Vec<String>,
    stderr: Vec<String>,
    closed: bool,
    stderr_closed: bool,
}

/// A running server.
pub struct Server {
    child: Child,
    /// `host:port` it listens on.
    pub addr: String,
    output: Arc<(Mutex<Output>, Condvar)>,
    /// Kept open and unread for [`Stdout::Stalled`].
    _stalled: Option<ChildStdout>,
}

/// The server binary under test.
pub fn room_bin() -> String {
    std::env::var("ROOM_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_room").to_owned())
}

impl Server {
    /// Starts `room --port 0` with `args` added.
    pub fn start(args: &[&str]) -> Server {
        Server::launch(Launch {
            args,
            ..Launch::default()
        })
    }

    /// Starts a server as `launch` says.
    pub fn launch(launch: Launch<'_>) -> Server {
        let bin = room_bin();
        let (program, wrapper_args) = match launch.wrapper.split_first() {
            Some((program, rest)) => (program.to_string(), rest.to_vec()),
            None => (bin.clone(), Vec::new()),
        };
        let mut command = Command::new(&program);
        command.args(&wrapper_args);
        if !launch.wrapper.is_empty() {
            command.arg(&bin);
        }
        if !launch.args.contains(&"--host") {
            command.args(["--host", "127.0.0.1"]);
        }
        command.args(["--port", "0"]);
        if !launch.args.contains(&"--log-level") {
            command.args(["--log-level", "debug"]);
        }
        let mut child = command
            .args(launch.args)
            .env_remove("PORT")
            .envs(launch.env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the room binary starts");
        let output = Arc::new((Mutex::new(Output::default()), Condvar::new()));

        let stdout = child.stdout.take().expect("stdout is piped");
        let mut stalled = None;
        let mut closed = None;
        match launch.stdout {
            Stdout::Read => {
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
            }
            Stdout::Closed => closed = Some(stdout),
            Stdout::Stalled => stalled = Some(stdout),
        }
        let stderr = child.stderr.take().expect("stderr is piped");
        let sink = output.clone();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let (lock, changed) = &*sink;
                lock.lock().unwrap().stderr.push(line);
                changed.notify_all();
            }
            let (lock, changed) = &*sink;
            lock.lock().unwrap().stderr_closed = true;
            changed.notify_all();
        });

        let mut server = Server {
            child,
            addr: String::new(),
            output,
            _stalled: stalled,
        };
        let listening = server
            .wait_stderr(|line| line.starts_with("room: listening on "))
            .unwrap_or_else(|| panic!("no 'listening on' line; stderr: {}", server.stderr()));
        let url = listening.trim_start_matches("room: listening on ");
        server.addr = url
            .split_once("://")
            .expect("a url has a scheme")
            .1
            .to_owned();
        drop(closed);
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

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        let (_, port) = self.addr.rsplit_once(':').expect("host:port");
        port.parse().expect("a port number")
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
        self.wait_in(from, |output| &output.lines, |output| output.closed, wanted)
    }

    /// Waits until a line of stderr satisfies `wanted`; returns it.
    pub fn wait_stderr(&self, wanted: impl Fn(&str) -> bool) -> Option<String> {
        self.wait_in(
            0,
            |output| &output.stderr,
            |output| output.stderr_closed,
            wanted,
        )
        .map(|(_, line)| line)
    }

    fn wait_in(
        &self,
        from: usize,
        lines: impl Fn(&Output) -> &Vec<String>,
        closed: impl Fn(&Output) -> bool,
        wanted: impl Fn(&str) -> bool,
    ) -> Option<(usize, String)> {
        let deadline = Instant::now() + WAIT;
        let (lock, changed) = &*self.output;
        let mut output = lock.lock().unwrap();
        let mut seen = from;
        loop {
            let list = lines(&output);
            if let Some(offset) = list[seen.min(list.len())..]
                .iter()
                .position(|line| wanted(line))
            {
                let index = seen + offset;
                return Some((index, list[index].clone()));
            }
            seen = seen.max(list.len());
            let left = deadline.checked_duration_since(Instant::now())?;
            if closed(&output) {
                return None;
            }
            output = changed.wait_timeout(output, left).unwrap().0;
        }
    }

    /// Every log line so far.
    pub fn lines(&self) -> Vec<String> {
        self.output.0.lock().unwrap().lines.clone()
    }

    /// What the server wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.output.0.lock().unwrap().stderr.join("\n")
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
