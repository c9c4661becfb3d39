//! The daemon's lifecycle, socket hygiene, reflection and the CLI around them, tried the
//! way a user would: real binaries, a temp HOME.

use std::os::unix::fs::PermissionsExt;

use nix::sys::signal::Signal;
use orchestra_tests::{TestEnv, bin, wait_until};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn status_json_starts_the_daemon_and_reports_version_and_pid() {
    let env = TestEnv::new();
    let out = env.ctl(&["daemon", "status", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("started it"),
        "autostart is announced on stderr"
    );
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(status["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        status["protocol_version"],
        orchestra_proto::PROTOCOL_VERSION
    );
    let pid = status["pid"].as_i64().expect("pid");
    assert!(
        orchestra_proto::process::alive(pid as u32, None),
        "pid {pid} is alive"
    );

    // A second call reuses the running daemon.
    let again = env.ctl_json(&["daemon", "status"]);
    assert_eq!(again["pid"], status["pid"]);
    env.ctl_ok(&["daemon", "stop"]);
    wait_until("the socket is removed", || !env.socket.exists());
}

#[test]
fn a_second_daemon_on_the_same_socket_fails_clearly() {
    let env = TestEnv::new();
    let first = env.spawn_daemon();
    let out = env
        .command(bin("orchestrad"))
        .arg("run")
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(i32::from(orchestra_proto::EXIT_ALREADY_SERVING)),
        "the exit code tells clients that another daemon serves"
    );
    let message = stderr(&out);
    assert!(message.contains("already serving"), "{message}");
    assert!(
        message.contains(&first.pid().to_string()),
        "names the pid: {message}"
    );
    // `start` detaches, and its parent gives the same answer over the ready pipe.
    let out = env
        .command(bin("orchestrad"))
        .arg("start")
        .output()
        .expect("start");
    assert_eq!(
        out.status.code(),
        Some(i32::from(orchestra_proto::EXIT_ALREADY_SERVING)),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("already serving"), "{}", stderr(&out));
}

#[test]
fn commands_started_together_share_one_autostarted_daemon() {
    let env = TestEnv::new();
    let children: Vec<_> = (0..4)
        .map(|_| {
            env.command(bin("orchestractl"))
                .args(["--json", "daemon", "status"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn orchestractl")
        })
        .collect();
    let pids: std::collections::BTreeSet<i64> = children
        .into_iter()
        .map(|child| {
            let out = child.wait_with_output().expect("wait");
            assert!(out.status.success(), "{}", stderr(&out));
            let status: serde_json::Value =
                serde_json::from_slice(&out.stdout).expect("one JSON document");
            status["pid"].as_i64().expect("pid")
        })
        .collect();
    assert_eq!(pids.len(), 1, "one daemon for all of them: {pids:?}");
    env.ctl_ok(&["daemon", "stop"]);
}

#[test]
fn after_kill_9_the_next_command_recovers_the_stale_socket() {
    let env = TestEnv::new();
    let first = env.ctl_json(&["daemon", "status"]);
    let pid = first["pid"].as_i64().expect("pid") as i32;
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL).expect("kill");
    wait_until("the daemon is gone", || {
        orchestra_proto::process::gone(pid as u32)
    });
    assert!(env.socket.exists(), "kill -9 leaves the socket behind");
    let second = env.ctl_json(&["daemon", "status"]);
    assert_ne!(second["pid"], first["pid"], "a new daemon answers");
    env.ctl_ok(&["daemon", "stop"]);
}

#[test]
fn socket_is_0600_in_a_0700_directory() {
    let env = TestEnv::new();
    let _daemon = env.spawn_daemon();
    let socket_mode = std::fs::metadata(&env.socket)
        .expect("socket")
        .permissions()
        .mode();
    let dir_mode = std::fs::metadata(env.socket.parent().expect("dir"))
        .expect("dir")
        .permissions()
        .mode();
    assert_eq!(socket_mode & 0o777, 0o600);
    assert_eq!(dir_mode & 0o777, 0o700);
    let state_mode = std::fs::metadata(env.state_dir())
        .expect("state")
        .permissions()
        .mode();
    assert_eq!(state_mode & 0o077, 0, "state dir is private");
}

#[test]
fn sigterm_shuts_down_and_removes_socket_and_pid_file() {
    let env = TestEnv::new();
    let mut daemon = env.spawn_daemon();
    let pid_file = orchestra_proto::paths::pid_file_for(&env.socket);
    assert!(pid_file.exists());
    let status = daemon.signal_and_wait(Signal::SIGTERM);
    assert!(status.success(), "graceful exit: {status}");
    assert!(!env.socket.exists(), "socket removed");
    assert!(!pid_file.exists(), "pid file removed");
}

#[test]
fn peers_of_another_uid_are_refused() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: needs root to run a client as another uid");
        return;
    }
    let env = TestEnv::new();
    let _daemon = env.spawn_daemon();
    // Open the file permissions wide, so only the peer-credential check stands in the way.
    for path in [
        env.root.path(),
        &env.runtime_dir,
        env.socket.parent().expect("dir"),
        &env.socket,
    ] {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    }
    let mut nobody = env.command(bin("orchestractl"));
    std::os::unix::process::CommandExt::uid(&mut nobody, 65534);
    let out = nobody
        .args(["--no-autostart", "daemon", "status"])
        .current_dir("/")
        .output()
        .expect("run as nobody");
    assert!(
        !out.status.success(),
        "another uid must be refused: {}{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
    // The same call as our own uid works.
    env.ctl_ok(&["--no-autostart", "daemon", "status"]);
}

#[test]
fn broken_config_names_file_line_and_column() {
    let env = TestEnv::new();
    env.write_config_text("{\n  \"default_parallel\": 2,\n  \"worktree_dir\" \".wt\"\n}\n");
    let out = env.ctl(&["daemon", "status"]);
    assert!(!out.status.success());
    let message = stderr(&out);
    assert!(message.contains("config.json"), "{message}");
    assert!(message.contains("line 3, column 18"), "{message}");
    assert!(!env.socket.exists(), "the daemon refused to start");

    let out = env
        .command(bin("orchestrad"))
        .arg("run")
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("line 3, column 18"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn unknown_config_keys_are_warnings_and_config_show_reports_them() {
    let env = TestEnv::new();
    env.write_config(&serde_json::json!({"default_parallel": 5, "paralel": 1}));
    let shown = env.ctl_json(&["config", "show"]);
    assert_eq!(shown["config"]["default_parallel"], 5);
    assert_eq!(shown["from_file"], true);
    assert!(
        shown["warnings"][0]
            .as_str()
            .expect("warning")
            .contains("paralel")
    );
    let status = env.ctl_json(&["daemon", "status"]);
    assert!(
        status["warnings"][0]
            .as_str()
            .expect("warning")
            .contains("paralel")
    );
    let path = env.ctl_ok(&["config", "path"]);
    assert_eq!(path.trim(), env.config_file().display().to_string());
    env.ctl_ok(&["daemon", "stop"]);
}

#[test]
fn unknown_arguments_give_usage_and_exit_2() {
    let env = TestEnv::new();
    for args in [&["frobnicate"][..], &["daemon", "status", "--bogus"]] {
        let out = env.ctl(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains("Usage:"), "{}", stderr(&out));
    }
    let out = env
        .command(bin("orchestrad"))
        .arg("--nope")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn no_autostart_says_what_to_do() {
    let env = TestEnv::new();
    let out = env.ctl(&["--no-autostart", "daemon", "status"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("orchestractl daemon start"),
        "{}",
        stderr(&out)
    );
    assert!(!env.socket.exists(), "nothing was started");
}

#[test]
fn restart_gives_a_new_daemon_and_stop_when_stopped_is_fine() {
    let env = TestEnv::new();
    let first = env.ctl_json(&["daemon", "start"]);
    let out = env.ctl_ok(&["daemon", "restart"]);
    assert!(out.contains("started orchestrad"), "{out}");
    let second = env.ctl_json(&["daemon", "status"]);
    assert_ne!(first["pid"], second["pid"]);
    env.ctl_ok(&["daemon", "stop"]);
    let out = env.ctl_ok(&["daemon", "stop"]);
    assert!(out.contains("not running"), "{out}");
}

#[test]
fn completions_and_version_work_without_a_daemon() {
    let env = TestEnv::new();
    let script = env.ctl_ok(&["completions", "bash"]);
    assert!(script.contains("orchestractl"));
    let version = env.ctl_ok(&["--version"]);
    assert!(version.contains(env!("CARGO_PKG_VERSION")));
    assert!(!env.socket.exists());
}

#[test]
fn service_install_writes_the_unit_and_says_what_to_run_without_systemd() {
    let env = TestEnv::new();
    let mut cmd = env.command(bin("orchestractl"));
    // A PATH without systemctl: the command must fall back to printing instructions.
    cmd.env("PATH", "/nonexistent").args(["service", "install"]);
    let out = cmd.output().expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    let unit = env.config_home.join("systemd/user/orchestrad.service");
    let text = std::fs::read_to_string(&unit).expect("unit written");
    assert!(
        text.contains(&format!("ExecStart={} run", bin("orchestrad").display())),
        "{text}"
    );
    assert!(text.contains("KillMode=process"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("systemctl --user enable --now orchestrad.service"),
        "{stdout}"
    );

    let mut cmd = env.command(bin("orchestractl"));
    cmd.env("PATH", "/nonexistent")
        .args(["service", "uninstall"]);
    assert!(cmd.output().expect("run").status.success());
    assert!(!unit.exists());
}
