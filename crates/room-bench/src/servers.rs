//! The servers `compare` runs: how each is started (on a free port, pinned to core 0), how
//! the generator learns it is ready (its `listening on http://...` line), and stopping it.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crate::error::BenchError;

/// How long a server may take to start listening.
const START_LIMIT: Duration = Duration::from_secs(30);
/// How often a starting server is checked for being ready.
const READY_POLL: Duration = Duration::from_millis(20);
/// How long a server may take to exit after SIGTERM (Room waits up to 5 s for its clients).
const STOP_LIMIT: Duration = Duration::from_secs(10);
/// How often a stopping server is checked for having exited.
const STOP_POLL: Duration = Duration::from_millis(50);
/// Lines of a server's output kept for error messages.
const KEPT_LINES: usize = 20;

/// Room's flags for every comparison: limits raised so that only the server itself limits.
pub const ROOM_FLAGS: &[&str] = &[
    "--max-connections",
    "20000",
    "--max-connections-per-address",
    "20000",
    "--rate-limit",
    "1000",
    "--rate-burst",
    "10000",
    "--max-rooms",
    "10000",
    "--max-room-size",
    "500",
    "--http-rate-limit",
    "1000000",
    "--log-level",
    "warn",
];

/// A server that can be compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerKind {
    /// This project's server.
    Room,
    /// The Node.js + ws peer in `bench/peers/node-ws`.
    NodeWs,
    /// The Bun peer in `bench/peers/bun`.
    Bun,
    /// Janus's VideoRoom, with the configuration in `bench/peers/janus` (SFU only).
    Janus,
}

/// The port of Janus's WebSocket API, as its configuration in `bench/peers/janus` says.
pub const JANUS_PORT: u16 = 8188;

impl ServerKind {
    /// The kind named on the command line.
    pub fn parse(name: &str) -> Result<Self, BenchError> {
        match name {
            "room" => Ok(ServerKind::Room),
            "node-ws" => Ok(ServerKind::NodeWs),
            "bun" => Ok(ServerKind::Bun),
            "janus" => Ok(ServerKind::Janus),
            other => Err(BenchError::Setup(format!(
                "unknown server {other:?}: use room, node-ws, bun or janus"
            ))),
        }
    }

    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            ServerKind::Room => "room",
            ServerKind::NodeWs => "node-ws",
            ServerKind::Bun => "bun",
            ServerKind::Janus => "janus",
        }
    }

    /// The port it listens on when asked for `free`: its configuration's, for Janus.
    pub fn port(self, free: u16) -> u16 {
        match self {
            ServerKind::Janus => JANUS_PORT,
            _ => free,
        }
    }

    /// The command that starts it on `port` of 127.0.0.1, or why it cannot be started here
    /// (to skip it).
    pub fn command(
        self,
        room_bin: &Path,
        peers_dir: &Path,
        port: u16,
    ) -> Result<Vec<String>, String> {
        self.command_on(room_bin, peers_dir, "127.0.0.1", port)
    }

    /// The command that starts it on `port` of `host`.
    pub fn command_on(
        self,
        room_bin: &Path,
        peers_dir: &Path,
        host: &str,
        port: u16,
    ) -> Result<Vec<String>, String> {
        let port = port.to_string();
        let need = |path: &Path, hint: &str| {
            if path.exists() {
                Ok(path.display().to_string())
            } else {
                Err(format!("{} is missing ({hint})", path.display()))
            }
        };
        match self {
            ServerKind::Room => {
                let bin = need(room_bin, "build it with `cargo build --release`")?;
                let mut command = vec![bin, "--host".into(), host.into()];
                command.extend(["--port".into(), port]);
                // Media on the listener's address too, as the members connect from there.
                command.extend(["--rtc-address".into(), host.into()]);
                command.extend(ROOM_FLAGS.iter().map(|flag| flag.to_string()));
                Ok(command)
            }
            ServerKind::NodeWs => {
                let dir = peers_dir.join("node-ws");
                let script = need(&dir.join("server.mjs"), "the Node ws peer is not there")?;
                need(&dir.join("node_modules"), "run `npm ci` in that directory")?;
                if !runs("node", &["--version"]) {
                    return Err("node is not installed".into());
                }
                Ok(peer_command("node".into(), script, port))
            }
            ServerKind::Bun => {
                let dir = peers_dir.join("bun");
                let script = need(&dir.join("server.ts"), "the Bun peer is not there")?;
                let bun = need(
                    &dir.join("node_modules/.bin/bun"),
                    "run `npm ci` in that directory",
                )?;
                Ok(peer_command(bun, script, port))
            }
            ServerKind::Janus => {
                let conf = peers_dir.join("janus/conf");
                let core = need(&conf.join("janus.jcfg"), "the Janus peer is not there")?;
                if !runs("janus", &["--help"]) {
                    return Err("janus is not installed (apt-get install janus)".into());
                }
                Ok(vec![
                    "janus".into(),
                    "-F".into(),
                    conf.display().to_string(),
                    "-C".into(),
                    core,
                ])
            }
        }
    }
}

/// A peer server's command line.
fn peer_command(program: String, script: String, port: String) -> Vec<String> {
    let mut command = vec![program, script, "--port".into(), port];
    command.extend(["--max-room-size".into(), "500".into()]);
    command
}

/// Whether a program runs and exits 0.
fn runs(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// A port nobody listens on now (the kernel's pick for port 0, released at once).
pub fn free_port() -> Result<u16, BenchError> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .map_err(|err| BenchError::io("finding a free port", err))?;
    listener
        .local_addr()
        .map(|addr| addr.port())
        .map_err(|err| BenchError::io("finding a free port", err))
}

/// A server process started by `compare`.
#[derive(Debug)]
pub struct RunningServer {
    child: Child,
    /// Its URL, from its `listening on` line.
    pub url: String,
    /// Its last lines of output, for error messages.
    output: Arc<Mutex<VecDeque<String>>>,
}

impl RunningServer {
    /// Starts `command` (pinned to core 0 with `taskset` when `pin`) and waits until it is
    /// ready: its `listening on http://...` line (Room writes it to stderr at every log
    /// level), or a TCP connection accepted on `port`.
    pub fn start(command: &[String], port: u16, pin: bool) -> Result<Self, BenchError> {
        let (program, args) = command
            .split_first()
            .ok_or_else(|| BenchError::Setup("empty server command".into()))?;
        let mut process = if pin {
            let mut process = Command::new("taskset");
            process.args(["-c", "0", program]);
            process
        } else {
            Command::new(program)
        };
        // `taskset` execs the server, so the child's pid is the server's.
        let mut child = process
            .args(args)
            .env_remove("PORT")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|err| BenchError::io(format!("starting {}", command.join(" ")), err))?;
        let output = Arc::new(Mutex::new(VecDeque::new()));
        let (ready, listening) = mpsc::channel();
        if let Some(stdout) = child.stdout.take() {
            follow(stdout, output.clone(), Some(ready.clone()));
        }
        if let Some(stderr) = child.stderr.take() {
            follow(stderr, output.clone(), Some(ready));
        }
        let mut server = RunningServer {
            child,
            url: String::new(),
            output,
        };
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + START_LIMIT;
        let problem = loop {
            if let Ok(url) = listening.try_recv() {
                server.url = url;
                return Ok(server);
            }
            if TcpStream::connect_timeout(&address, READY_POLL).is_ok() {
                server.url = format!("http://{address}");
                return Ok(server);
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                break format!("exited ({status})");
            }
            if Instant::now() >= deadline {
                break format!("was not listening within {} s", START_LIMIT.as_secs());
            }
            // Neither a line nor a listener yet: std offers no way to wait for both at once.
            thread::sleep(READY_POLL);
        };
        let output = server.last_output();
        server.stop();
        Err(BenchError::Setup(format!(
            "{} {problem}; its output:\n{output}",
            command.join(" ")
        )))
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its last lines of output.
    pub fn last_output(&self) -> String {
        let lines = self.output.lock().unwrap_or_else(PoisonError::into_inner);
        lines.iter().cloned().collect::<Vec<_>>().join("\n")
    }

    /// Sends SIGTERM, waits for the exit, kills it if it takes too long.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        let deadline = Instant::now() + STOP_LIMIT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            // std has no wait with a timeout for a child.
            thread::sleep(STOP_POLL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads a server's output on a thread: keeps its last lines, and sends the URL of the first
/// `listening on http://` line to `ready`.
fn follow(
    stream: impl Read + Send + 'static,
    output: Arc<Mutex<VecDeque<String>>>,
    mut ready: Option<mpsc::Sender<String>>,
) {
    thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if let Some(url) = listening_url(&line) {
                if let Some(ready) = ready.take() {
                    let _ = ready.send(url);
                }
            }
            let mut lines = output.lock().unwrap_or_else(PoisonError::into_inner);
            if lines.len() == KEPT_LINES {
                lines.pop_front();
            }
            lines.push_back(line);
        }
    });
}

/// The URL in a `listening on http://HOST:PORT` line, plain or inside a JSON log line.
fn listening_url(line: &str) -> Option<String> {
    let start = line.find("listening on http://")? + "listening on ".len();
    let url: String = line[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && !matches!(c, '"' | '\'' | ','))
        .collect();
    Some(url.trim_end_matches('/').to_owned())
}

/// The path of the peers' README files, for messages.
pub(crate) fn peers_readme(peers_dir: &Path, kind: ServerKind) -> PathBuf {
    peers_dir.join(kind.name()).join("README.md")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listening_line_is_found_in_json_and_plain_text() {
        let json = r#"{"level":30,"msg":"listening on http://127.0.0.1:3000","url":"x"}"#;
        assert_eq!(
            listening_url(json).as_deref(),
            Some("http://127.0.0.1:3000")
        );
        let plain = "listening on http://127.0.0.1:4000/";
        assert_eq!(
            listening_url(plain).as_deref(),
            Some("http://127.0.0.1:4000")
        );
        assert_eq!(listening_url("starting"), None);
    }
}
