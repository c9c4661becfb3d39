//! Agents outlive the terminal that spawned them and the daemon that runs them.

use std::os::unix::process::CommandExt;

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use orchestra_tests::{
    Gate, TestEnv, agent_by_task, all_finished, bin, wait_for_agents, wait_until,
};
use serde_json::Value;

fn daemon_pid(env: &TestEnv) -> i32 {
    env.ctl_json(&["daemon", "status"])["pid"]
        .as_i64()
        .expect("pid") as i32
}

fn gone(pid: i32) -> bool {
    orchestra_proto::process::gone(pid as u32)
}

#[test]
fn agents_finish_with_complete_logs_after_the_daemon_is_killed() {
    let env = TestEnv::new();
    let repo = env.git_repo();
    let repo_arg = repo.to_str().expect("p");
    // The first two answer only once the daemon that started them is dead.
    let gate = Gate::new(&env, "daemon-killed");
    let (one, two) = (gate.task("CHATTY:5 one"), gate.task("two"));
    env.ctl_json(&[
        "spawn",
        "--repo",
        repo_arg,
        "--parallel",
        "2",
        &one,
        &two,
        "three",
    ]);
    wait_for_agents(&env, "two running", |a| {
        a.iter().filter(|x| x["state"] == "running").count() == 2
    });
    let pid = daemon_pid(&env);
    kill(Pid::from_raw(pid), Signal::SIGKILL).expect("kill -9 the daemon");
    wait_until("the daemon is dead", || gone(pid));
    gate.open();

    // The next command starts a new daemon, which re-adopts the running agents.
    let agents = wait_for_agents(&env, "all done after the restart", all_finished);
    assert_ne!(daemon_pid(&env), pid);
    for task in [one.as_str(), two.as_str(), "three"] {
        let agent = agent_by_task(&agents, task);
        assert_eq!(agent["state"], "done", "{agent:#}");
        assert!((agent["total_cost_usd"].as_f64().expect("cost") - 0.0501).abs() < 1e-9);
    }
    // Every line the agent printed is in its log, in order, once.
    let one = agent_by_task(&agents, &one)["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let raw = env.ctl_ok(&["logs", &one, "--raw"]);
    let lines: Vec<Value> = raw
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let kinds: Vec<&str> = lines
        .iter()
        .map(|l| l["type"].as_str().expect("type"))
        .collect();
    assert_eq!(
        kinds,
        [
            "system",
            "assistant",
            "assistant",
            "assistant",
            "assistant",
            "assistant",
            "assistant",
            "result"
        ]
    );
    for (i, line) in lines[1..6].iter().enumerate() {
        assert_eq!(
            line["message"]["content"][0]["text"],
            format!("working on it, step {i}")
        );
    }
}

#[test]
fn closing_the_terminal_that_spawned_them_does_not_stop_them() {
    let env = TestEnv::new();
    let repo = env.git_repo();
    // A "terminal": a shell in its own process group that spawns agents and stays.
    let gate = Gate::new(&env, "terminal-closed");
    let script = format!(
        "{} spawn --repo {} '{}' && sleep 60",
        bin("orchestractl").display(),
        repo.display(),
        gate.task("survive the hangup")
    );
    let mut terminal = env.command("sh");
    terminal.args(["-c", &script]).process_group(0);
    let mut terminal = terminal.spawn().expect("terminal");
    wait_for_agents(&env, "running", |a| {
        a.first().is_some_and(|x| x["state"] == "running")
    });
    let group = Pid::from_raw(terminal.id() as i32);
    let _ = killpg(group, Signal::SIGHUP);
    let _ = killpg(group, Signal::SIGKILL);
    terminal.wait().expect("terminal closed");
    gate.open();
    let agents = wait_for_agents(&env, "finished", all_finished);
    assert_eq!(agents[0]["state"], "done", "{:#}", agents[0]);
}

#[test]
fn an_agent_whose_process_vanished_while_the_daemon_was_down_is_interrupted() {
    let env = TestEnv::new();
    let repo = env.git_repo();
    // Neither answers before the daemon is down: one dies, the other then finishes.
    let gate = Gate::new(&env, "daemon-down");
    let (doomed_task, later_task) = (gate.task("doomed"), gate.task("later"));
    env.ctl_json(&[
        "spawn",
        "--repo",
        repo.to_str().expect("p"),
        &doomed_task,
        &later_task,
    ]);
    let agents = wait_for_agents(&env, "running", |a| {
        a.iter().all(|x| x["state"] == "running")
    });
    env.ctl_ok(&["daemon", "stop"]);
    // While the daemon is away the machine "reboots" one agent: shim and child die at once.
    let doomed = agent_by_task(&agents, &doomed_task);
    let dir = env
        .state_dir()
        .join("agents")
        .join(doomed["id"].as_str().expect("id"));
    let info: Value =
        serde_json::from_slice(&std::fs::read(dir.join("shim.json")).expect("shim.json"))
            .expect("json");
    for key in ["shim_pid", "child_pid"] {
        let pid = info[key].as_i64().expect("pid") as i32;
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        wait_until("killed", || gone(pid));
    }
    gate.open();
    let later = agent_by_task(&agents, &later_task);
    let later_log = env
        .state_dir()
        .join("agents")
        .join(later["id"].as_str().expect("id"));
    wait_until("the survivor's turn ends while the daemon is down", || {
        std::fs::read_to_string(later_log.join("output.jsonl"))
            .is_ok_and(|log| log.contains("\"type\":\"result\""))
    });
    let agents = wait_for_agents(&env, "all settled", all_finished);
    assert_eq!(agent_by_task(&agents, &doomed_task)["state"], "interrupted");
    assert_eq!(
        agent_by_task(&agents, &later_task)["state"],
        "done",
        "the survivor finished while we were away"
    );
}

#[test]
fn resume_continues_a_session_in_its_own_directory() {
    let env = TestEnv::new();
    let project = env.root.path().join("project");
    std::fs::create_dir_all(&project).expect("dir");
    // A session started by hand, as a user would in a terminal.
    let out = env
        .command(bin("fake-claude"))
        .args([
            "-p",
            "--output-format",
            "stream-json",
            "--verbose",
            "first by hand",
        ])
        .current_dir(&project)
        .output()
        .expect("fake-claude");
    assert!(out.status.success());
    let session_id = String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| {
            serde_json::from_str::<Value>(l)
                .ok()?
                .get("session_id")?
                .as_str()
                .map(str::to_owned)
        })
        .expect("session id");

    let resumed = env.ctl_json(&["resume", &session_id[..8], "continue by orchestra"]);
    assert_eq!(resumed["session_id"], session_id.as_str());
    assert_eq!(
        std::path::PathBuf::from(resumed["cwd"].as_str().expect("cwd")),
        project.canonicalize().expect("p")
    );
    let agents = wait_for_agents(&env, "resumed agent done", all_finished);
    assert_eq!(agents[0]["state"], "done", "{:#}", agents[0]);
    assert_eq!(agents[0]["session_id"], session_id.as_str());
    // The session file grew with the new turn, and the index says who owns it.
    wait_until("the index sees the new prompt", || {
        env.ctl_json(&["show", &session_id])["last_prompt"] == "continue by orchestra"
    });
    let shown = env.ctl_json(&["show", &session_id]);
    assert_eq!(shown["user_messages"], 2);
    assert_eq!(shown["agent_id"], agents[0]["id"]);
    // Costs: the session's is the CLI's own total of both runs; the agent made by
    // `resume` counts only what it added (2.1.330's resumed run reports both), so
    // `collect` does not count the hand-made run twice.
    wait_until("the session's cost covers both runs", || {
        let shown = env.ctl_json(&["show", &session_id]);
        shown["cost_is_estimate"] == false
            && (shown["cost_usd"].as_f64().unwrap_or(0.0) - 2.0 * 0.0501).abs() < 1e-9
    });
    let agent_cost = agents[0]["total_cost_usd"].as_f64().expect("cost");
    assert!((agent_cost - 0.0501).abs() < 1e-9, "{agent_cost}");
    let collected = env.ctl_json(&["collect"]);
    let collected_cost: f64 = collected
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["agent"]["total_cost_usd"].as_f64().unwrap_or(0.0))
        .sum();
    assert!((collected_cost - 0.0501).abs() < 1e-9, "{collected:#}");

    // A session whose directory is gone cannot be resumed.
    std::fs::remove_dir_all(&project).expect("rm");
    let out = env.ctl(&["resume", &session_id]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no longer exists"));
}

#[test]
fn resume_refuses_a_live_session_without_force() {
    let env = TestEnv::new();
    let project = env.root.path().join("project");
    std::fs::create_dir_all(&project).expect("dir");
    let mut live = env
        .command(bin("fake-claude"))
        .args([
            "-p",
            "--output-format",
            "stream-json",
            "--verbose",
            &Gate::new(&env, "never").task("busy"),
        ])
        .current_dir(&project)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("fake-claude");
    wait_until("the session is live", || {
        env.ctl_json(&["sessions", "--live"])
            .as_array()
            .is_some_and(|l| l.len() == 1)
    });
    let session = env.ctl_json(&["sessions", "--live"])[0]["session_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let out = env.ctl(&["resume", &session, "hi"]);
    assert!(!out.status.success());
    let message = String::from_utf8_lossy(&out.stderr);
    assert!(
        message.contains("live Claude process") && message.contains("--force"),
        "{message}"
    );
    live.kill().expect("kill");
    live.wait().expect("wait");
}
