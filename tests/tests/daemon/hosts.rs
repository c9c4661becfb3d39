//! Many machines, one view: two daemons (two HOMEs) on one machine, the second reached
//! from the first through `hosts add b local --command "env HOME=... orchestractl proxy"`,
//! the same pipe `ssh -T b orchestractl proxy` gives.

use std::time::{Duration, Instant};

use orchestra_tests::hosts::proxy_command;
use orchestra_tests::{TestEnv, all_finished, wait_until};
use serde_json::Value;

fn rows(value: &Value) -> Vec<Value> {
    value.as_array().cloned().expect("a JSON list")
}

fn hosts_of(rows: &[Value]) -> Vec<String> {
    let mut hosts: Vec<String> = rows
        .iter()
        .map(|r| r["host"].as_str().expect("every row has a host").to_owned())
        .collect();
    hosts.sort();
    hosts.dedup();
    hosts
}

#[test]
fn status_spawn_and_approve_across_two_daemons() {
    let a = TestEnv::new();
    let b = TestEnv::new();
    let _b_daemon = b.spawn_daemon();
    let added = a.ctl_json(&[
        "hosts",
        "add",
        "b",
        "local",
        "--command",
        &proxy_command(&b, true),
    ]);
    assert_eq!(added["name"], "b");
    let listed = rows(&a.ctl_json(&["hosts", "list"]));
    assert_eq!(listed.len(), 1, "{listed:#?}");
    let mut keys: Vec<&str> = listed[0]
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "agents",
            "command",
            "error",
            "latency_ms",
            "name",
            "state",
            "target",
            "version"
        ]
    );
    assert_eq!(listed[0]["state"], "up", "{listed:#?}");
    assert_eq!(listed[0]["version"], env!("CARGO_PKG_VERSION"));

    // One agent on a, finished; one on b, placed there with --host and asking to run a tool.
    let a_repo = a.git_repo();
    a.ctl_json(&[
        "spawn",
        "--repo",
        a_repo.to_str().expect("utf-8"),
        "a's task",
    ]);
    let b_repo = b.git_repo();
    let spawned = a.ctl_json(&[
        "--host",
        "b",
        "spawn",
        "--repo",
        b_repo.to_str().expect("utf-8"),
        "TOOL_BASH:touch ran-on-b.txt",
    ]);
    let b_agent = spawned[0]["id"].as_str().expect("id").to_owned();
    let on_b = rows(&b.ctl_json(&["status", "--all"]));
    assert_eq!(on_b.len(), 1, "the agent runs on b: {on_b:#?}");
    assert_eq!(on_b[0]["id"], b_agent.as_str());
    assert!(
        rows(&a.ctl_json(&["status", "--all"]))
            .iter()
            .all(|agent| agent["id"] != b_agent.as_str()),
        "and not on a"
    );

    // The approval on b shows in a's merged queue, with its host.
    let mut pending = Vec::new();
    wait_until("b's approval shows in a's merged queue", || {
        pending = rows(&a.ctl_json(&["approvals", "--hosts", "all"]));
        pending.iter().any(|p| p["host"] == "b")
    });
    let asked = pending.iter().find(|p| p["host"] == "b").expect("b's");
    assert_eq!(asked["agent_id"], b_agent.as_str());
    assert_eq!(asked["input"]["command"], "touch ran-on-b.txt");

    let merged = rows(&a.ctl_json(&["status", "--hosts", "all"]));
    assert_eq!(hosts_of(&merged), ["b", "local"], "{merged:#?}");
    assert!(
        merged
            .iter()
            .any(|r| r["host"] == "b" && r["id"] == b_agent.as_str() && r["state"] == "waiting"),
        "{merged:#?}"
    );

    // Answered from a, the agent on b goes on and the tool runs there. Without --host, a's
    // own daemon does not know the id, and the error says where to look and how.
    let id = asked["id"].as_str().expect("id");
    let out = a.ctl(&["approve", id]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("approvals --hosts all") && stderr.contains("--host b approve ID"),
        "{stderr}"
    );
    let answered = a.ctl_json(&["--host", "b", "approve", id]);
    assert_eq!(answered["state"], "allowed", "{answered:#}");
    let mut agents = Vec::new();
    wait_until("b's agent finishes", || {
        agents = rows(&b.ctl_json(&["status", "--all"]));
        all_finished(&agents)
    });
    assert_eq!(agents[0]["state"], "done", "{agents:#?}");
    let cwd = std::path::PathBuf::from(agents[0]["cwd"].as_str().expect("cwd"));
    assert!(cwd.join("ran-on-b.txt").exists(), "the tool ran on b");

    // The other merging commands: every row (or report) with its host.
    let sessions = rows(&a.ctl_json(&["sessions", "--all", "--hosts", "all"]));
    assert!(
        sessions.iter().all(|s| s["host"].is_string()),
        "{sessions:#?}"
    );
    assert!(
        sessions.iter().any(|s| s["host"] == "b"),
        "b's agent's session: {sessions:#?}"
    );
    let hits = rows(&a.ctl_json(&["search", "ran-on-b", "--hosts", "b,local"]));
    assert!(hits.iter().any(|h| h["host"] == "b"), "{hits:#?}");
    let reports = rows(&a.ctl_json(&["report", "--hosts", "all"]));
    assert_eq!(hosts_of(&reports), ["b", "local"], "{reports:#?}");

    // default_hosts in hosts.json: merged without --hosts.
    let file = a.config_home.join("claude-orchestra/hosts.json");
    let mut hosts: Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("hosts.json")).expect("JSON");
    hosts["default_hosts"] = serde_json::json!(["all"]);
    std::fs::write(&file, hosts.to_string()).expect("write hosts.json");
    let merged = rows(&a.ctl_json(&["status"]));
    assert_eq!(hosts_of(&merged), ["b", "local"], "{merged:#?}");
}

#[test]
fn a_dead_host_is_unreachable_at_once_and_the_others_still_answer() {
    let a = TestEnv::new();
    let b = TestEnv::new();
    let mut b_daemon = b.spawn_daemon();
    // As a machine that went away: its proxy may not start the daemon again.
    a.ctl_ok(&[
        "hosts",
        "add",
        "b",
        "local",
        "--command",
        &proxy_command(&b, false),
    ]);
    // And one whose command never answers (ssh to a machine that is off).
    a.ctl_ok(&[
        "hosts",
        "add",
        "silent",
        "nowhere",
        "--command",
        "sleep 60",
        "--no-check",
    ]);
    let a_repo = a.git_repo();
    a.ctl_json(&[
        "spawn",
        "--repo",
        a_repo.to_str().expect("utf-8"),
        "a's task",
    ]);
    b_daemon.signal_and_wait(nix::sys::signal::Signal::SIGKILL);

    let started = Instant::now();
    let listed = rows(&a.ctl_json(&["hosts", "list"]));
    let state = |name: &str| {
        listed
            .iter()
            .find(|h| h["name"] == name)
            .map(|h| h["state"].clone())
            .expect("listed")
    };
    assert_eq!(state("b"), "unreachable", "{listed:#?}");
    assert_eq!(state("silent"), "unreachable", "{listed:#?}");
    let b_error = listed.iter().find(|h| h["name"] == "b").expect("b")["error"].clone();
    assert!(
        b_error
            .as_str()
            .is_some_and(|e| e.contains("hosts check b")),
        "the error says what to try: {b_error}"
    );
    // Bounded by the probe's 5 s timeout (the silent host), not by the dead one or by ssh's
    // (minutes); the margin is for a loaded machine.
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );

    let started = Instant::now();
    let out = a.ctl(&["--json", "status", "--hosts", "all"]);
    assert!(out.status.success(), "{out:?}");
    let merged: Vec<Value> = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(hosts_of(&merged), ["local"], "{merged:#?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("host b is unreachable"), "{stderr}");
    // With the proxy's own words, read to their end: what to do there.
    assert!(
        stderr.contains("it said: orchestractl: cannot reach orchestrad"),
        "{stderr}"
    );
    assert!(stderr.contains("host silent is unreachable"), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );

    // Asking only the dead host is an error that names it, not an empty answer.
    let out = a.ctl(&["--host", "b", "status"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("host b is unreachable"), "{stderr}");

    // What --host cannot do (this machine's daemon) is shown as it runs there: the host's
    // own way in, running that command instead of the proxy.
    let out = a.ctl(&["--host", "b", "daemon", "restart"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let way_in = proxy_command(&b, false);
    let there = format!(
        "{}daemon restart`",
        way_in.strip_suffix("proxy").expect("proxy")
    );
    assert!(stderr.contains(&there), "{stderr}");

    // An empty merged queue speaks only for the hosts that answered.
    let said = a.ctl_ok(&["approvals", "--hosts", "all"]);
    assert!(
        said.contains("nothing waits for you on local;")
            && said.contains("not reached:")
            && said.contains(" b")
            && said.contains("silent"),
        "{said}"
    );

    // A broken hosts file stops what asks for hosts, not a look at this machine.
    let file = a.config_home.join("claude-orchestra/hosts.json");
    std::fs::write(&file, "{\"hosts\": [},").expect("break hosts.json");
    let out = a.ctl(&["status", "--all"]);
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("showing this machine only"), "{stderr}");
    let out = a.ctl(&["status", "--hosts", "all"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot read the hosts file"), "{stderr}");
}

#[test]
fn hosts_add_refuses_what_it_cannot_use_and_saves_nothing() {
    let a = TestEnv::new();
    let file = a.config_home.join("claude-orchestra/hosts.json");
    for (args, says) in [
        (
            // Past clap (after `--`), the target would be an ssh option.
            &["hosts", "add", "--", "x", "-oProxyCommand=touch /tmp/pwned"][..],
            "must look like",
        ),
        (&["hosts", "add", "local", "box"][..], "reserved"),
        (&["hosts", "add", "a b", "box"][..], "host name"),
        (
            &["hosts", "add", "gone", "box", "--command", "exit 3"][..],
            "--no-check",
        ),
        (&["hosts", "remove", "nobody"][..], "no host named"),
        (&["--host", "nobody", "status"][..], "no host named"),
        (
            &["--host", "nobody", "daemon", "stop"][..],
            "does not apply",
        ),
    ] {
        let out = a.ctl(args);
        assert!(!out.status.success(), "{args:?} succeeded");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(!file.exists(), "{args:?} wrote the hosts file");
    }
    // A command that reaches this machine's own daemon (a second HOME, but a socket still
    // named by XDG_RUNTIME_DIR) is not another host: refused, with what to clear.
    a.ctl_ok(&["daemon", "start"]);
    let out = a.ctl(&[
        "hosts",
        "add",
        "me",
        "local",
        "--command",
        &proxy_command(&a, true),
    ]);
    assert!(!out.status.success(), "this daemon was added as a host");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("this machine's own daemon") && stderr.contains("-u XDG_RUNTIME_DIR"),
        "{stderr}"
    );
    assert!(!file.exists(), "the refused host was saved");
    a.ctl_ok(&[
        "hosts",
        "add",
        "gone",
        "box",
        "--command",
        "exit 3",
        "--no-check",
    ]);
    let out = a.ctl(&["hosts", "add", "gone", "box", "--no-check"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists already"));
    let out = a.ctl(&["hosts", "check", "gone"]);
    assert!(
        !out.status.success(),
        "check fails for a host that is not up"
    );
    a.ctl_ok(&["hosts", "remove", "gone"]);
    assert_eq!(a.ctl_json(&["hosts", "list"]), serde_json::json!([]));
}

/// The readiness probe of `deploy/kubernetes/orchestrad.yaml`, run as written: it fails
/// while no daemon runs (and starts none: a second daemon beside the container's would
/// fight over the state dir), and passes once one does.
#[test]
fn the_kubernetes_probe_answers_only_while_the_daemon_runs() {
    let manifest = std::fs::read_to_string(
        orchestra_tests::workspace_root().join("deploy/kubernetes/orchestrad.yaml"),
    )
    .expect("the manifest");
    let probe = manifest
        .split("readinessProbe:")
        .nth(1)
        .and_then(|rest| {
            rest.lines()
                .find_map(|l| l.trim().strip_prefix("command: "))
        })
        .expect("a readiness probe with a command");
    // A flow sequence of quoted strings reads as JSON.
    let argv: Vec<String> = serde_json::from_str(probe).expect("[\"orchestractl\", ...]");
    assert_eq!(argv[0], "orchestractl");
    let args: Vec<&str> = argv[1..].iter().map(String::as_str).collect();
    let env = TestEnv::new();
    let out = env.ctl(&args);
    assert!(!out.status.success(), "ready with no daemon: {out:?}");
    assert!(!env.socket.exists(), "the probe started a daemon");
    let _daemon = env.spawn_daemon();
    env.ctl_ok(&args);
}

/// Without `--command`, a host is reached by `ssh -T -o BatchMode=yes -o ConnectTimeout=10
/// [-p PORT] -- TARGET orchestractl proxy`: a stand-in `ssh` first on PATH records its
/// arguments and runs b's proxy, as sshd would run `orchestractl proxy` on b.
#[test]
fn without_a_command_a_host_is_reached_by_ssh_with_its_port_and_no_prompt() {
    use std::os::unix::fs::PermissionsExt as _;
    let a = TestEnv::new();
    let b = TestEnv::new();
    let _b_daemon = b.spawn_daemon();
    let fake_bin = a.root.path().join("fake-bin");
    std::fs::create_dir_all(&fake_bin).expect("mkdir");
    let recorded = a.root.path().join("ssh-args");
    let ssh = fake_bin.join("ssh");
    std::fs::write(
        &ssh,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\nexec {}\n",
            recorded.display(),
            proxy_command(&b, false)
        ),
    )
    .expect("write the stand-in ssh");
    std::fs::set_permissions(&ssh, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let path = format!(
        "{}:{}",
        fake_bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let ctl = |args: &[&str]| {
        a.command(orchestra_tests::bin("orchestractl"))
            .env("PATH", &path)
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("orchestractl")
    };
    let out = ctl(&["hosts", "add", "box", "me@box.example:2222"]);
    assert!(out.status.success(), "{out:?}");
    let args = std::fs::read_to_string(&recorded).expect("ssh ran");
    assert_eq!(
        args.lines().collect::<Vec<_>>(),
        [
            "-T",
            "-o",
            "BatchMode=yes",
            "-o",
            "ConnectTimeout=10",
            "-p",
            "2222",
            "--",
            "me@box.example",
            "orchestractl",
            "proxy"
        ]
    );
    let out = ctl(&["--json", "--host", "box", "daemon", "status"]);
    assert!(out.status.success(), "{out:?}");
    let status: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        status["socket_path"],
        b.socket.display().to_string(),
        "b's daemon answered through ssh"
    );
}
