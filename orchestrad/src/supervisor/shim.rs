//! The per-agent shim: `orchestrad shim <agent-dir>`, the same binary in a session of its
//! own. It owns the Claude process's stdio so that the agent does not depend on the
//! daemon staying alive:
//!
//! - every stdout line is appended to `output.jsonl` (the daemon tails it, and picks up
//!   where it left off after a restart, so no line is lost); a full disk never stops the
//!   draining of stdout ([`super::shim_log`]: lines wait for room, or a marker says how
//!   many were lost), and the exit record is retried until it is written;
//! - stdin messages arrive on `shim.sock` (one JSON request per connection);
//! - stdin is closed once Claude Code has taken every message sent (it echoes each one,
//!   `--replay-user-messages`) and a turn has ended, so the process ends; a message sent
//!   while a turn runs may be absorbed by that turn, so results alone cannot be counted;
//! - the exit status goes to `exit.json`;
//! - every user message written to stdin is also appended to `output.jsonl` when it is
//!   sent, marked [`stream_json::SENT_PREFIX`], so the log reads as the conversation it
//!   was (Claude Code's echoes of them are left out).
//!
//! Files of an agent dir: `spec.json` (what to run, written by the daemon), `output.jsonl`,
//! `stderr.log`, `shim.json` (pids), `shim.sock`, `exit.json`, and `record.json` (the
//! daemon's copy of the agent's record, see [`super::Supervisor::update`]).

use parking_lot::Mutex;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::shim_log::LogWriter;
use crate::claude::stream_json::{self, TurnMark};

/// Appends the record of a sent message to the log (kept while the disk is full).
fn log_sent(output: &Mutex<LogWriter>, line: &str) {
    output
        .lock()
        .write_line(stream_json::sent_line(line).as_bytes(), true);
}

/// Does `attempt` until it works, waiting a second between tries: for the writes the
/// daemon needs (the exit record) while the disk is full.
fn until_written(what: &str, dir: &AgentDir, mut attempt: impl FnMut() -> std::io::Result<()>) {
    let mut said = false;
    while let Err(err) = attempt() {
        if !said {
            let _ = writeln!(
                std::io::stderr(),
                "orchestrad shim {}: cannot write {what} ({}); retrying until there is room",
                dir.0.display(),
                crate::store::health::io_words(&err)
            );
            said = true;
        }
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}

/// What the shim runs, written by the daemon before starting it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Spec {
    /// The program (Claude Code).
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Its working directory.
    pub cwd: PathBuf,
    /// Its whole environment.
    pub env: Vec<(String, String)>,
    /// stream-json lines to write to its stdin at once.
    pub input: Vec<String>,
}

/// Who is running, written by the shim once the child has started.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShimInfo {
    /// The shim's pid.
    pub shim_pid: u32,
    /// The shim's start time (field 22 of /proc stat), against pid reuse.
    pub shim_start: Option<String>,
    /// The child's pid, which is also its process group id.
    pub child_pid: u32,
}

/// How the child ended, written by the shim.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExitRecord {
    /// Exit code, if it exited.
    pub code: Option<i32>,
    /// Signal, if it was killed by one.
    pub signal: Option<i32>,
    /// When, ms since the epoch.
    pub ended_at_ms: i64,
}

impl ExitRecord {
    /// The exit code as a shell reports it (128 + the signal for a killed process).
    pub fn shell_code(&self) -> Option<i32> {
        self.code.or(self.signal.map(|s| 128 + s))
    }

    /// How a run that ended so went, unless it was stopped: done when Claude Code exited 0
    /// and reported no error, else failed.
    pub fn outcome(&self, reported_error: bool) -> super::agent::AgentState {
        if self.code == Some(0) && !reported_error {
            super::agent::AgentState::Done
        } else {
            super::agent::AgentState::Failed
        }
    }
}

/// A request on `shim.sock`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Write one stream-json line to the child's stdin.
    Send {
        /// The line, without newline.
        line: String,
    },
    /// Write one line that answers a control request (a permission answer). Unlike a
    /// message it expects no `result` of its own, so it does not hold stdin open.
    Respond {
        /// The line, without newline.
        line: String,
    },
}

/// The answer on `shim.sock`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Reply {
    /// Whether it was done.
    pub ok: bool,
    /// Why not.
    #[serde(default)]
    pub error: String,
}

/// Paths of an agent directory.
#[derive(Debug, Clone)]
pub struct AgentDir(pub PathBuf);

impl AgentDir {
    /// `spec.json`.
    pub fn spec(&self) -> PathBuf {
        self.0.join("spec.json")
    }
    /// `output.jsonl`.
    pub fn output(&self) -> PathBuf {
        self.0.join("output.jsonl")
    }
    /// `stderr.log`.
    pub fn stderr(&self) -> PathBuf {
        self.0.join("stderr.log")
    }
    /// `shim.json`.
    pub fn info(&self) -> PathBuf {
        self.0.join("shim.json")
    }
    /// `shim.sock`.
    pub fn socket(&self) -> PathBuf {
        self.0.join("shim.sock")
    }
    /// `exit.json`.
    pub fn exit(&self) -> PathBuf {
        self.0.join("exit.json")
    }
    /// `record.json`: the daemon's copy of the agent's record, for rebuilding a damaged
    /// store.
    pub fn record(&self) -> PathBuf {
        self.0.join("record.json")
    }

    /// The shim's pids, once it has written them.
    pub fn read_info(&self) -> Option<ShimInfo> {
        serde_json::from_slice(&std::fs::read(self.info()).ok()?).ok()
    }

    /// The exit record, once the child has ended.
    pub fn read_exit(&self) -> Option<ExitRecord> {
        serde_json::from_slice(&std::fs::read(self.exit()).ok()?).ok()
    }

    /// Whether the shim process is alive.
    pub fn shim_alive(&self) -> bool {
        self.read_info().is_some_and(|info| {
            orchestra_proto::process::alive(info.shim_pid, info.shim_start.as_deref())
        })
    }

    /// Sends one user message to the child's stdin through the shim.
    pub fn send(&self, line: &str) -> Result<(), String> {
        self.request(&Request::Send {
            line: line.to_owned(),
        })
    }

    /// Sends the answer to a control request to the child's stdin through the shim.
    pub fn respond(&self, line: &str) -> Result<(), String> {
        self.request(&Request::Respond {
            line: line.to_owned(),
        })
    }

    fn request(&self, request: &Request) -> Result<(), String> {
        let mut stream = UnixStream::connect(self.socket())
            .map_err(|err| format!("the agent's process is not taking input ({err})"))?;
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .map_err(|err| err.to_string())?;
        let request = serde_json::to_string(request).map_err(|err| err.to_string())?;
        writeln!(stream, "{request}").map_err(|err| err.to_string())?;
        let mut answer = String::new();
        BufReader::new(stream)
            .read_line(&mut answer)
            .map_err(|err| err.to_string())?;
        let reply: Reply = serde_json::from_str(&answer).map_err(|err| err.to_string())?;
        if reply.ok { Ok(()) } else { Err(reply.error) }
    }
}

/// Writes `value` as JSON to `path` atomically (a reader never sees half a file).
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec(value)?)?;
    std::fs::rename(tmp, path)
}

/// Stdin of the child, shared by the socket server and the output reader.
struct Input {
    /// None once closed.
    stdin: Option<std::process::ChildStdin>,
    /// User messages written to stdin.
    sent: usize,
    /// The uuids of those Claude Code has not echoed back as taken yet.
    waiting: std::collections::HashSet<String>,
    /// Messages sent without a uuid and not matched by an echo yet.
    anonymous: usize,
    /// Whether any echo came (a CLI that echoes none is counted by results only).
    echoed: bool,
    /// `result` lines seen.
    results: usize,
}

impl Input {
    /// Counts the user message `line`, just written.
    fn sent(&mut self, line: &str) {
        self.sent += 1;
        match stream_json::user_message_uuid(line) {
            Some(uuid) => {
                self.waiting.insert(uuid);
            }
            None => self.anonymous += 1,
        }
    }

    /// Counts an echo of a message sent with `uuid`; an echo of anything else (no line
    /// of ours) changes nothing.
    fn taken(&mut self, uuid: Option<&str>) {
        self.echoed = true;
        if !uuid.is_some_and(|uuid| self.waiting.remove(uuid)) && self.anonymous > 0 {
            self.anonymous -= 1;
        }
    }

    /// Whether every message sent has been answered, so that EOF lets the process end
    /// once a turn is over: each was echoed back as taken (a message sent while a turn
    /// runs may be absorbed by that turn: one `result` for two messages), or there was a
    /// result for each (a message the CLI takes without an echo must not keep the
    /// process waiting for good).
    fn answered(&self) -> bool {
        (self.echoed && self.waiting.is_empty() && self.anonymous == 0) || self.results >= self.sent
    }
}

/// Runs the shim for the agent in `dir` until its child exits. Returns the exit code
/// for the shim process itself.
pub fn run(dir: &Path) -> i32 {
    // A session of our own: no controlling terminal, and no signal sent to the daemon's
    // process group reaches us.
    let _ = nix::unistd::setsid();
    let dir = AgentDir(dir.to_path_buf());
    match run_inner(&dir) {
        Ok(code) => code,
        Err(err) => {
            let _ = std::fs::write(dir.stderr(), format!("orchestrad shim: {err}\n"));
            let _ = write_json(
                &dir.exit(),
                &ExitRecord {
                    code: Some(127),
                    signal: None,
                    ended_at_ms: crate::time::now_ms(),
                },
            );
            1
        }
    }
}

fn run_inner(dir: &AgentDir) -> std::io::Result<i32> {
    let spec: Spec = serde_json::from_slice(&std::fs::read(dir.spec())?)?;
    let stderr = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.stderr())?;
    // Shared by the output reader and whoever writes to stdin (sent messages are logged).
    let output = Arc::new(Mutex::new(LogWriter::new(
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.output())?,
    )));
    let _ = std::fs::remove_file(dir.socket());
    let listener = UnixListener::bind(dir.socket())?;

    let mut child = Command::new(&spec.program)
        .args(&spec.args)
        .current_dir(&spec.cwd)
        .env_clear()
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(stderr))
        // Its own process group, so a stop reaches every process it started.
        .process_group(0)
        .spawn()?;
    let child_pid = child.id();
    write_json(
        &dir.info(),
        &ShimInfo {
            shim_pid: std::process::id(),
            shim_start: orchestra_proto::process::start_time(std::process::id()),
            child_pid,
        },
    )?;

    let input = Arc::new(Mutex::new(Input {
        stdin: child.stdin.take(),
        sent: 0,
        waiting: Default::default(),
        anonymous: 0,
        echoed: false,
        results: 0,
    }));
    {
        let mut guard = input.lock();
        for line in &spec.input {
            if let Some(stdin) = guard.stdin.as_mut() {
                writeln!(stdin, "{line}")?;
                stdin.flush()?;
                guard.sent(line);
                log_sent(&output, line);
            }
        }
        if guard.sent == 0 {
            guard.stdin = None;
        }
    }

    // Input: one request per connection on the socket.
    {
        let input = input.clone();
        let output = output.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                serve_request(stream, &input, &output);
            }
        });
    }

    // Lines held for want of room are written as soon as there is some, also while the
    // agent is quiet.
    {
        let output = Arc::downgrade(&output);
        std::thread::spawn(move || {
            while let Some(output) = output.upgrade() {
                {
                    let mut output = output.lock();
                    if output.has_pending() {
                        output.drain();
                    }
                }
                drop(output);
                std::thread::sleep(std::time::Duration::from_millis(500));
            }
        });
    }

    // Output: every line to the log, flushed at once; count results to close stdin.
    let stdout = child.stdout.take().expect("stdout is piped");
    let reader = std::thread::spawn({
        let input = input.clone();
        let output = output.clone();
        move || -> std::io::Result<()> {
            let mut reader = BufReader::new(stdout);
            let mut line = Vec::new();
            loop {
                line.clear();
                if reader.read_until(b'\n', &mut line)? == 0 {
                    return Ok(());
                }
                if !line.ends_with(b"\n") {
                    line.push(b'\n');
                }
                let mark = stream_json::turn_mark(&line);
                if let Some(TurnMark::Replay(uuid)) = &mark {
                    // The log has the message already, from when it was sent.
                    input.lock().taken(uuid.as_deref());
                    continue;
                }
                output
                    .lock()
                    .write_line(&line, stream_json::must_keep(&line));
                if mark == Some(TurnMark::Result) {
                    let mut guard = input.lock();
                    guard.results += 1;
                    if guard.answered() {
                        // Every message has its answer: EOF lets the process end.
                        guard.stdin = None;
                    }
                }
            }
        }
    });
    let status = child.wait()?;
    let _ = reader.join();
    let _ = std::fs::remove_file(dir.socket());
    // The log first, whole, then the exit record: the daemon reads the record as "the
    // log is complete".
    until_written("the agent's log", dir, || {
        if output.lock().drain() {
            Ok(())
        } else {
            Err(std::io::Error::from_raw_os_error(28))
        }
    });
    use std::os::unix::process::ExitStatusExt;
    let record = ExitRecord {
        code: status.code(),
        signal: status.signal(),
        ended_at_ms: crate::time::now_ms(),
    };
    until_written("the exit record", dir, || write_json(&dir.exit(), &record));
    Ok(0)
}

/// Writes one line to the agent's stdin; `gone` says why not when stdin is closed.
fn write_line(stdin: &mut Option<std::process::ChildStdin>, line: &str, gone: &str) -> Reply {
    let written = stdin
        .as_mut()
        .map(|stdin| writeln!(stdin, "{line}").and_then(|()| stdin.flush()));
    match written {
        Some(Ok(())) => Reply {
            ok: true,
            error: String::new(),
        },
        Some(Err(err)) => Reply {
            ok: false,
            error: format!("cannot write to the agent: {err}"),
        },
        None => Reply {
            ok: false,
            error: gone.to_owned(),
        },
    }
}

fn serve_request(stream: UnixStream, input: &Mutex<Input>, output: &Mutex<LogWriter>) {
    let mut reader = BufReader::new(&stream);
    let mut text = String::new();
    if reader.read_line(&mut text).is_err() {
        return;
    }
    let reply = match serde_json::from_str::<Request>(&text) {
        Ok(Request::Respond { line }) => {
            let mut guard = input.lock();
            write_line(&mut guard.stdin, &line, "the agent no longer takes input")
        }
        Ok(Request::Send { line }) => {
            let mut guard = input.lock();
            let reply = write_line(
                &mut guard.stdin,
                &line,
                "the agent has finished its turn and is exiting",
            );
            if reply.ok {
                guard.sent(&line);
                drop(guard);
                log_sent(output, &line);
            }
            reply
        }
        Err(err) => Reply {
            ok: false,
            error: format!("bad request: {err}"),
        },
    };
    let mut stream = &stream;
    let _ = writeln!(
        stream,
        "{}",
        serde_json::to_string(&reply).unwrap_or_default()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> Input {
        Input {
            stdin: None,
            sent: 0,
            waiting: Default::default(),
            anonymous: 0,
            echoed: false,
            results: 0,
        }
    }

    #[test]
    fn stdin_closes_once_every_message_was_taken_or_answered() {
        let one = stream_json::user_message("one");
        let two = stream_json::user_message("two");
        let uuid = |line: &str| stream_json::user_message_uuid(line).expect("uuid");
        // Two messages, one absorbed by the first turn: one result, both echoed.
        let mut absorbed = input();
        absorbed.sent(&one);
        absorbed.taken(Some(&uuid(&one)));
        absorbed.sent(&two);
        absorbed.taken(Some("not-ours"));
        absorbed.results += 1;
        assert!(
            !absorbed.answered(),
            "an echo of no message of ours counts for nothing"
        );
        absorbed.taken(Some(&uuid(&two)));
        assert!(absorbed.answered());
        // A message queued for a turn of its own: not answered until it is taken.
        let mut queued = input();
        queued.sent(&one);
        queued.taken(Some(&uuid(&one)));
        queued.sent(&two);
        queued.results += 1;
        assert!(!queued.answered());
        // A CLI that echoes nothing: one result per message.
        let mut silent = input();
        silent.sent(&one);
        silent.sent(&two);
        silent.results += 1;
        assert!(!silent.answered());
        silent.results += 1;
        assert!(silent.answered());
    }
}
