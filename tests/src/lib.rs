//! The test harness of claude-orchestra.
//!
//! [`TestEnv`] puts every path the system touches (HOME, the XDG dirs, the socket, the
//! Claude projects dir, a git repository) in one temp dir, so no test ever reads or writes
//! the real home. A daemon can be started in-process ([`TestEnv::daemon_in_process`]) or
//! as the real binary ([`TestEnv::spawn_daemon`]); waits poll a condition against one
//! deadline ([`wait_until`]), never a fixed sleep.

pub mod bridge;
pub mod browser;
pub mod gate;
pub mod generate;
pub mod hosts;
pub mod real_cli;
pub mod stub_api;
pub mod tools;
pub mod web;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use orchestrad::config::Config;
use orchestrad::config::Settings;
use orchestrad::context::Context;

pub use gate::Gate;

/// How long any single wait in a test may take before it fails.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// Directory holding the workspace's built binaries (`target/debug`).
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary knows its path");
    // target/debug/deps/<test binary> -> target/debug
    let dir = exe.parent().expect("deps dir");
    if dir.ends_with("deps") {
        dir.parent().expect("profile dir").to_path_buf()
    } else {
        dir.to_path_buf()
    }
}

/// Path of a workspace binary, building the binaries once per test process if needed
/// (`cargo test -p orchestra-tests` alone does not build other packages' binaries).
pub fn bin(name: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let mut args = vec!["build", "--bins"];
        for package in [
            "orchestrad",
            "orchestractl",
            "orchestra-dashboard",
            "orchestra-tests",
        ] {
            args.extend(["-p", package]);
        }
        // The benchmarks run from a release build and want release binaries beside them.
        if bin_dir().ends_with("release") {
            args.push("--release");
        }
        let status = Command::new(env!("CARGO"))
            .args(&args)
            // The test process has cargo's CARGO_MANIFEST_DIR; ring's build script watches
            // it, so passing it on rebuilt ring and rustls here and again on the next
            // `cargo test` (a minute each time on a small machine).
            .env_remove("CARGO_MANIFEST_DIR")
            .current_dir(workspace_root())
            .stdout(Stdio::null())
            .status()
            .expect("running cargo build for the test binaries");
        assert!(status.success(), "cargo build of the binaries failed");
    });
    let path = bin_dir().join(name);
    assert!(path.is_file(), "{} was not built", path.display());
    path
}

/// The workspace's root directory.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
        .to_path_buf()
}

/// Directory of the fixtures copied from real Claude Code output.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// A private world for one test.
#[derive(Debug)]
pub struct TestEnv {
    /// Owns the temp dir; everything below is inside it.
    pub root: tempfile::TempDir,
    /// `$HOME`.
    pub home: PathBuf,
    /// `$XDG_CONFIG_HOME`.
    pub config_home: PathBuf,
    /// `$XDG_STATE_HOME`.
    pub state_home: PathBuf,
    /// `$XDG_RUNTIME_DIR`.
    pub runtime_dir: PathBuf,
    /// The daemon's socket.
    pub socket: PathBuf,
    /// `~/.claude`.
    pub claude_dir: PathBuf,
}

impl Default for TestEnv {
    fn default() -> Self {
        Self::new()
    }
}

impl TestEnv {
    /// A fresh environment with empty directories and a config that points `claude` at
    /// the `fake-claude` stand-in.
    pub fn new() -> TestEnv {
        let root = tempfile::Builder::new()
            .prefix("orchestra-test-")
            .tempdir()
            .expect("creating a temp dir");
        let base = root.path().to_path_buf();
        let home = base.join("home");
        let claude_dir = home.join(".claude");
        let runtime_dir = base.join("run");
        for dir in [&home, &claude_dir.join("projects"), &runtime_dir] {
            std::fs::create_dir_all(dir).expect("creating test dirs");
        }
        let env = TestEnv {
            config_home: home.join(".config"),
            state_home: home.join(".local/state"),
            socket: runtime_dir.join("claude-orchestra/orchestrad.sock"),
            claude_dir,
            home,
            runtime_dir,
            root,
        };
        env.write_config(&serde_json::json!({
            "claude_command": bin("fake-claude"),
            "heartbeat_interval": 1,
        }));
        env
    }

    /// The Claude projects directory (`~/.claude/projects`).
    pub fn projects_dir(&self) -> PathBuf {
        self.claude_dir.join("projects")
    }

    /// The config file path.
    pub fn config_file(&self) -> PathBuf {
        self.config_home.join("claude-orchestra/config.json")
    }

    /// The daemon's state dir.
    pub fn state_dir(&self) -> PathBuf {
        self.state_home.join("claude-orchestra")
    }

    /// Writes `value` as the config file.
    pub fn write_config(&self, value: &serde_json::Value) {
        self.write_config_text(&serde_json::to_string_pretty(value).expect("json"));
    }

    /// Writes raw text as the config file (for broken-config tests).
    pub fn write_config_text(&self, text: &str) {
        let path = self.config_file();
        std::fs::create_dir_all(path.parent().expect("config dir")).expect("config dir");
        std::fs::write(path, text).expect("writing config");
    }

    /// The environment variables every process of this test gets.
    pub fn envs(&self) -> Vec<(&'static str, OsString)> {
        vec![
            ("HOME", self.home.clone().into()),
            ("XDG_CONFIG_HOME", self.config_home.clone().into()),
            ("XDG_STATE_HOME", self.state_home.clone().into()),
            ("XDG_RUNTIME_DIR", self.runtime_dir.clone().into()),
            ("ORCHESTRA_SOCKET", self.socket.clone().into()),
            ("ORCHESTRA_LOG", "info".into()),
            ("PATH", std::env::var_os("PATH").unwrap_or_default()),
            ("ORCHESTRAD_BIN", bin("orchestrad").into()),
            ("ORCHESTRA_DASHBOARD_BIN", bin("orchestra-dashboard").into()),
        ]
    }

    /// A command for `program` with only this environment's variables.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear().envs(self.envs()).current_dir(&self.home);
        cmd
    }

    /// Runs `orchestractl` with `args` and returns its output.
    pub fn ctl(&self, args: &[&str]) -> Output {
        self.command(bin("orchestractl"))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("running orchestractl")
    }

    /// The end of the daemon's log, for failure messages.
    pub fn daemon_log_tail(&self) -> String {
        let text =
            std::fs::read_to_string(self.state_dir().join("orchestrad.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// Runs `orchestractl` with `args`, asserts success, and returns stdout.
    pub fn ctl_ok(&self, args: &[&str]) -> String {
        let out = self.ctl(args);
        assert!(
            out.status.success(),
            "orchestractl {args:?} failed ({}):\nstdout: {}\nstderr: {}\ndaemon log:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.daemon_log_tail()
        );
        String::from_utf8(out.stdout).expect("utf-8 output")
    }

    /// Runs `orchestractl --json` with `args` and parses stdout.
    pub fn ctl_json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.ctl_ok(&all);
        serde_json::from_str(&out).unwrap_or_else(|err| panic!("not JSON ({err}): {out}"))
    }

    /// Settings for an in-process daemon, with every path explicit (tests in one process
    /// share environment variables, so nothing may be read from them).
    pub fn settings(&self) -> Settings {
        let mut settings =
            Settings::load(self.socket.clone(), self.state_dir(), self.config_file())
                .expect("test config loads");
        settings.config.claude_projects_dir = self.projects_dir();
        settings.claude_dir = self.claude_dir.clone();
        // In-process, the current executable is the test binary: shims must run the real one.
        settings.orchestrad_exe = bin("orchestrad");
        settings
    }

    /// Starts a daemon inside this test process.
    pub async fn daemon_in_process(&self) -> InProcessDaemon {
        self.daemon_in_process_with(|_| {}).await
    }

    /// Starts a daemon inside this test process after letting `tweak` change its config.
    pub async fn daemon_in_process_with(&self, tweak: impl FnOnce(&mut Config)) -> InProcessDaemon {
        let mut settings = self.settings();
        tweak(&mut settings.config);
        let daemon = orchestrad::Daemon::open(settings).expect("daemon opens");
        let ctx = daemon.context();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(daemon.serve(async move {
            let _ = stopped.await;
        }));
        let socket = self.socket.clone();
        wait_until_async("the in-process daemon answers", || {
            let socket = socket.clone();
            async move { orchestra_proto::connect(&socket).await.is_ok() }
        })
        .await;
        InProcessDaemon {
            ctx,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Starts the real `orchestrad run` binary and waits until it answers.
    pub fn spawn_daemon(&self) -> DaemonProcess {
        let log = std::fs::File::create(self.root.path().join("orchestrad-run.log")).expect("log");
        let child = self
            .command(bin("orchestrad"))
            .arg("run")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("spawning orchestrad");
        let process = DaemonProcess { child };
        wait_until("orchestrad answers on its socket", || {
            std::os::unix::net::UnixStream::connect(&self.socket).is_ok()
        });
        process
    }

    /// Creates a git repository with one commit at `<root>/repo` and returns its path.
    pub fn git_repo(&self) -> PathBuf {
        let repo = self.root.path().join("repo");
        std::fs::create_dir_all(&repo).expect("repo dir");
        for args in [
            &["init", "-q", "-b", "main"][..],
            &["config", "user.email", "test@example.com"],
            &["config", "user.name", "Test"],
        ] {
            self.git(&repo, args);
        }
        std::fs::write(repo.join("README.md"), "# test repo\n").expect("write");
        self.git(&repo, &["add", "."]);
        self.git(&repo, &["commit", "-q", "-m", "initial"]);
        repo
    }

    /// Runs git in `dir`, asserting success; returns stdout.
    pub fn git(&self, dir: &Path, args: &[&str]) -> String {
        let out = self
            .command("git")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("running git");
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Copies a fixture session file into the projects dir under `project_dir/<name>`.
    pub fn add_session_fixture(&self, fixture: &str, project_dir: &str, name: &str) -> PathBuf {
        let dir = self.projects_dir().join(project_dir);
        std::fs::create_dir_all(&dir).expect("project dir");
        let dest = dir.join(name);
        std::fs::copy(fixtures().join(fixture), &dest).expect("copying fixture");
        dest
    }

    /// [`TestEnv::add_session_fixture`] with every `"timestamp"` moved by the same amount
    /// so that the last one is now: for what filters by age (`hours`, `--since`), which a
    /// capture's own dates leave behind as the calendar moves on.
    pub fn add_recent_session_fixture(
        &self,
        fixture: &str,
        project_dir: &str,
        name: &str,
    ) -> PathBuf {
        let dest = self.add_session_fixture(fixture, project_dir, name);
        let text = std::fs::read_to_string(&dest).expect("reading fixture");
        std::fs::write(&dest, shift_timestamps_to_now(&text)).expect("writing fixture");
        dest
    }
}

/// Moves every `"timestamp":"<RFC 3339>"` in `text` by the one offset that makes the
/// latest of them now.
pub fn shift_timestamps_to_now(text: &str) -> String {
    const KEY: &str = "\"timestamp\":\"";
    let stamps = |text: &str| -> Vec<(usize, usize, chrono::DateTime<chrono::FixedOffset>)> {
        let mut found = Vec::new();
        let mut from = 0;
        while let Some(at) = text[from..].find(KEY) {
            let start = from + at + KEY.len();
            let Some(len) = text[start..].find('"') else {
                break;
            };
            if let Ok(time) = chrono::DateTime::parse_from_rfc3339(&text[start..start + len]) {
                found.push((start, start + len, time));
            }
            from = start + len;
        }
        found
    };
    let found = stamps(text);
    let Some(latest) = found.iter().map(|(_, _, time)| *time).max() else {
        return text.to_owned();
    };
    let shift = chrono::Utc::now().fixed_offset() - latest;
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for (start, end, time) in found {
        out.push_str(&text[copied..start]);
        out.push_str(
            &(time + shift)
                .with_timezone(&chrono::Utc)
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        );
        copied = end;
    }
    out.push_str(&text[copied..]);
    out
}

/// Polls `orchestractl status --json` until `done` holds for the agent list.
pub fn wait_for_agents(
    env: &TestEnv,
    what: &str,
    done: impl Fn(&[serde_json::Value]) -> bool,
) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let agents = env.ctl_json(&["status"]);
        let list = agents.as_array().cloned().unwrap_or_default();
        if done(&list) {
            return list;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting until {what}: {list:#?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether every agent in `agents` is in a final state.
pub fn all_finished(agents: &[serde_json::Value]) -> bool {
    !agents.is_empty()
        && agents.iter().all(|a| {
            matches!(
                a["state"].as_str(),
                Some("done" | "failed" | "stopped" | "interrupted")
            )
        })
}

/// The agent whose task is `task`.
pub fn agent_by_task<'a>(agents: &'a [serde_json::Value], task: &str) -> &'a serde_json::Value {
    agents
        .iter()
        .find(|a| a["task"] == task)
        .unwrap_or_else(|| panic!("no agent for {task:?}"))
}

impl Drop for TestEnv {
    /// Leaves nothing running: the daemon this test started (by autostart or by hand)
    /// and every agent process it ran.
    fn drop(&mut self) {
        use nix::sys::signal::{Signal, kill, killpg};
        use nix::unistd::Pid;
        if let Ok(agents) = std::fs::read_dir(self.state_dir().join("agents")) {
            for dir in agents.flatten() {
                let Ok(bytes) = std::fs::read(dir.path().join("shim.json")) else {
                    continue;
                };
                let Ok(info) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
                    continue;
                };
                if let Some(child) = info["child_pid"].as_i64() {
                    let _ = killpg(Pid::from_raw(child as i32), Signal::SIGKILL);
                }
                if let Some(shim) = info["shim_pid"].as_i64() {
                    let _ = kill(Pid::from_raw(shim as i32), Signal::SIGKILL);
                }
            }
        }
        let pid_file = orchestra_proto::paths::pid_file_for(&self.socket);
        let pid = std::fs::read_to_string(pid_file)
            .ok()
            .and_then(|p| p.trim().parse::<i32>().ok());
        // An in-process daemon's pid is our own: it stops with its task instead.
        if let Some(pid) = pid.filter(|pid| *pid != std::process::id() as i32) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
}

/// A daemon running inside the test process.
#[derive(Debug)]
pub struct InProcessDaemon {
    /// The daemon's context, for looking inside.
    pub ctx: Arc<Context>,
    /// Fires the shutdown future.
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    /// The serving task.
    task: Option<tokio::task::JoinHandle<anyhow::Result<orchestrad::lifecycle::Claim>>>,
}

impl InProcessDaemon {
    /// Stops the daemon and waits for it to finish cleaning up.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await
                .expect("daemon task")
                .expect("daemon ran cleanly");
        }
    }
}

/// A real `orchestrad run` process, killed when dropped.
#[derive(Debug)]
pub struct DaemonProcess {
    /// The child process.
    pub child: std::process::Child,
}

impl DaemonProcess {
    /// The daemon's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` and waits for the process to exit; returns its status.
    pub fn signal_and_wait(
        &mut self,
        signal: nix::sys::signal::Signal,
    ) -> std::process::ExitStatus {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, signal).expect("signalling orchestrad");
        self.child.wait().expect("waiting for orchestrad")
    }
}

impl Drop for DaemonProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `condition` until it holds, failing the test after [`DEADLINE`].
pub fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Async [`wait_until`].
pub async fn wait_until_async<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + DEADLINE;
    while !condition().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
