//! `orchestractl messages --watch --json`: a message follows as `sent`, then `delivered`
//! once a running agent's process took it; `messages AGENT` and `--batch` select the
//! thread, and a bad selector says what to do. The agent is the stand-in Claude held open
//! by a gate; the sender is a hand-started session's bridge.

use std::io::BufRead as _;
use std::process::Stdio;
use std::sync::mpsc;

use orchestra_tests::bridge::{Bridge, tool_call, tool_text};
use orchestra_tests::{DEADLINE, Gate, TestEnv, all_finished, bin, wait_for_agents};
use serde_json::{Value, json};

#[test]
fn watch_follows_a_message_from_sent_to_delivered() {
    let env = TestEnv::new();
    let repo = env.git_repo();
    let gate = Gate::new(&env, "hold");
    let spawned = env.ctl_json(&[
        "spawn",
        "--repo",
        repo.to_str().expect("p"),
        &gate.task("held"),
    ]);
    let agent = spawned[0]["id"].as_str().expect("id").to_owned();
    let batch = spawned[0]["batch_id"].as_str().expect("batch").to_owned();
    wait_for_agents(&env, "it runs", |a| a[0]["state"] == "running");
    let mut watch = env
        .command(bin("orchestractl"))
        .args(["--json", "messages", "--watch", "--batch", &batch])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("watch");
    let (lines_tx, lines) = mpsc::channel::<Value>();
    let out = watch.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            if let Ok(value) = serde_json::from_str(&line)
                && lines_tx.send(value).is_err()
            {
                return;
            }
        }
    });
    let mut bridge = Bridge::start(&env, "");
    // The watch may subscribe before or after this first message is sent (then it shows
    // in its snapshot), so the first message only proves the watch is listening; the
    // second is sent once it is, and must follow as `sent`, then `delivered`.
    let (text, is_error) = tool_text(&bridge.call(&tool_call(
        1,
        "send_message",
        json!({"to": agent, "text": "ping from a session"}),
    )));
    assert!(!is_error, "{text}");
    assert!(text.starts_with(&format!("sent to {agent}")), "{text}");
    let first = lines
        .recv_timeout(DEADLINE)
        .unwrap_or_else(|_| panic!("watch printed nothing for the first message"));
    assert_eq!(first["text"], "ping from a session", "{first:#}");
    let (text, is_error) = tool_text(&bridge.call(&tool_call(
        2,
        "send_message",
        json!({"to": agent, "text": "ping again"}),
    )));
    assert!(!is_error, "{text}");
    let mut events = Vec::new();
    while events.len() < 2 {
        let event = lines
            .recv_timeout(DEADLINE)
            .unwrap_or_else(|_| panic!("watch printed only {events:#?}"));
        if event["text"] == "ping again" {
            events.push(event);
        }
    }
    let _ = watch.kill();
    let _ = watch.wait();
    assert_eq!(events[0]["event"], "sent", "{events:#?}");
    assert_eq!(events[0]["from"], "session");
    assert_eq!(events[0]["to"], agent.as_str());
    assert!(events[0]["delivered_at"].is_null());
    assert_eq!(events[1]["event"], "delivered");
    assert_eq!(events[1]["id"], events[0]["id"]);
    assert!(events[1]["delivered_at"].as_i64().is_some());
    // The same message in the agent's thread; none in a thread that is not.
    let of_agent = env.ctl_json(&["messages", &agent]);
    assert_eq!(of_agent[0]["text"], "ping from a session");
    let wrong = env.ctl(&["messages", "--batch", "zzzz"]);
    assert!(!wrong.status.success());
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("no batch matches"),
        "{}",
        String::from_utf8_lossy(&wrong.stderr)
    );
    gate.open();
    wait_for_agents(&env, "done", all_finished);
    // The agent's log names who spoke: the session, not "you".
    let logs = env.ctl_ok(&["logs", &agent]);
    assert!(
        logs.contains("» session: [message from a Claude Code session"),
        "{logs}"
    );
}

#[test]
fn a_claimed_file_changed_by_another_agent_is_told_to_both() {
    let env = TestEnv::new();
    let repo = env.git_repo();
    let r = repo.to_str().expect("p");
    let gate = Gate::new(&env, "hold");
    let holder = env.ctl_json(&["spawn", "--repo", r, &gate.task("holds shared.txt")]);
    let holder = holder[0]["id"].as_str().expect("id").to_owned();
    wait_for_agents(&env, "the holder runs", |a| a[0]["state"] == "running");
    let token = std::fs::read_to_string(
        env.state_dir()
            .join("agents")
            .join(&holder)
            .join("mcp-token"),
    )
    .expect("the holder's secret");
    let mut bridge = Bridge::start(&env, token.trim());
    let (text, is_error) =
        tool_text(&bridge.call(&tool_call(1, "claim", json!({"paths": ["./shared.txt"]}))));
    assert!(!is_error, "{text}");
    assert_eq!(text, "claimed shared.txt");
    let changer = env.ctl_json(&[
        "spawn",
        "--repo",
        r,
        "--allowed-tools",
        "Write",
        &gate.task("PUT:shared.txt=beta writes it anyway"),
    ]);
    let changer = changer[0]["id"].as_str().expect("id").to_owned();
    let mut told = Vec::new();
    orchestra_tests::wait_until("both are told by orchestra", || {
        told = env
            .ctl_json(&["messages"])
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|m| m["from"] == "orchestra")
            .collect();
        told.len() == 2
    });
    let to = |id: &str| {
        told.iter()
            .find(|m| m["to"] == id)
            .and_then(|m| m["text"].as_str())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(
        to(&changer).starts_with(&format!("you changed shared.txt, which agent {holder} ")),
        "{told:#?}"
    );
    assert!(
        to(&holder).starts_with(&format!("agent {changer} "))
            && to(&holder).ends_with("which you claimed."),
        "{told:#?}"
    );
    gate.open();
    wait_for_agents(&env, "done", |a| a.len() == 2 && all_finished(a));
}

/// Claims are kept in the store: after a daemon restart (the agents run on), a claim on
/// a path the first agent holds is still refused, naming it.
#[test]
fn a_claim_outlives_a_daemon_restart() {
    let env = TestEnv::new();
    let repo = env.git_repo();
    let r = repo.to_str().expect("p");
    let gate = Gate::new(&env, "hold");
    let spawned = env.ctl_json(&[
        "spawn",
        "--repo",
        r,
        &gate.task("holds shared.txt"),
        &gate.task("wants shared.txt"),
    ]);
    let id = |i: usize| spawned[i]["id"].as_str().expect("id").to_owned();
    wait_for_agents(&env, "both run", |a| {
        a.len() == 2 && a.iter().all(|x| x["state"] == "running")
    });
    let token = |agent: &str| {
        std::fs::read_to_string(env.state_dir().join("agents").join(agent).join("mcp-token"))
            .expect("the agent's secret")
            .trim()
            .to_owned()
    };
    let claim = json!({"paths": ["shared.txt"]});
    let (text, is_error) =
        tool_text(&Bridge::start(&env, &token(&id(0))).call(&tool_call(1, "claim", claim.clone())));
    assert!(!is_error, "{text}");

    env.ctl_ok(&["daemon", "restart"]);
    let (text, _) =
        tool_text(&Bridge::start(&env, &token(&id(1))).call(&tool_call(1, "claim", claim)));
    assert!(
        text.contains(&id(0)) && !text.starts_with("claimed"),
        "the claim held through the restart: {text}"
    );
    gate.open();
    wait_for_agents(&env, "done", |a| a.len() == 2 && all_finished(a));
}

/// `send` to a queued agent: the message waits in its thread, undelivered, and goes with
/// the agent's first run; one sent to an agent stopped before it started stays undelivered.
#[test]
fn a_message_to_a_queued_agent_goes_with_its_first_run_and_is_delivered_only_then() {
    let env = TestEnv::new();
    let repo = env.git_repo();
    let gate = Gate::new(&env, "slot");
    let spawned = env.ctl_json(&[
        "spawn",
        "--repo",
        repo.to_str().expect("p"),
        "--parallel",
        "1",
        &gate.task("holds the slot"),
        "waits its turn",
        "never starts",
    ]);
    let id = |i: usize| spawned[i]["id"].as_str().expect("id").to_owned();
    let (waiting, never) = (id(1), id(2));
    wait_for_agents(&env, "the first holds the slot", |a| {
        a.iter().any(|x| x["state"] == "running")
    });
    let sent = env.ctl_json(&["send", &waiting, "and mind the tests"]);
    assert_eq!(sent["resumed"], false);
    assert_eq!(sent["agent"]["state"], "queued", "{sent:#}");
    env.ctl_json(&["send", &never, "you will not see this"]);
    let thread = env.ctl_json(&["messages", &waiting]);
    assert_eq!(thread[0]["text"], "and mind the tests");
    assert!(
        thread[0]["delivered_at"].is_null(),
        "not delivered while queued: {thread:#}"
    );
    env.ctl_ok(&["stop", &never]);

    gate.open();
    let agents = wait_for_agents(&env, "the queued agent ran", |a| {
        a.iter()
            .all(|x| x["state"] == "done" || x["state"] == "stopped")
            && a.iter()
                .any(|x| x["id"] == waiting.as_str() && x["state"] == "done")
    });
    let ran = agents
        .iter()
        .find(|a| a["id"] == waiting.as_str())
        .expect("it");
    assert!(
        ran["result"]
            .as_str()
            .is_some_and(|r| r.contains("and mind the tests")),
        "the first run took the message: {ran:#}"
    );
    let thread = env.ctl_json(&["messages", &waiting]);
    assert!(thread[0]["delivered_at"].as_i64().is_some(), "{thread:#}");
    let logs = env.ctl_ok(&["logs", &waiting]);
    assert!(logs.contains("» you: and mind the tests"), "{logs}");
    let thread = env.ctl_json(&["messages", &never]);
    assert_eq!(thread[0]["text"], "you will not see this");
    assert!(
        thread[0]["delivered_at"].is_null(),
        "it never ran: {thread:#}"
    );
}
