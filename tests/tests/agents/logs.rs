//! `orchestractl logs`: the transcript is rendered from the typed events the daemon read
//! (the one reader of stream-json); `--events` prints those events, `--raw` the lines as
//! Claude Code wrote them.

use orchestra_tests::{TestEnv, all_finished, wait_for_agents, wait_until};
use serde_json::Value;

/// The variant name and body of an event printed by `logs --events`.
fn kind(event: &Value) -> (String, Value) {
    let (kind, body) = event["event"]
        .as_object()
        .and_then(|o| o.iter().next())
        .expect("one variant");
    (kind.clone(), body.clone())
}

#[test]
fn logs_render_typed_events_of_a_run_with_a_permission_request() {
    let env = TestEnv::new();
    let repo = env.git_repo();
    let spawned = env.ctl_json(&[
        "spawn",
        "--repo",
        repo.to_str().expect("p"),
        "TOOL_BASH:echo typed",
    ]);
    let id = spawned[0]["id"].as_str().expect("id").to_owned();
    let mut pending = Vec::new();
    wait_until("an approval is pending", || {
        pending = env
            .ctl_json(&["approvals"])
            .as_array()
            .cloned()
            .unwrap_or_default();
        pending.len() == 1
    });
    env.ctl_ok(&["approve", pending[0]["id"].as_str().expect("id")]);
    wait_for_agents(&env, "done", all_finished);

    let events: Vec<(String, Value)> = env
        .ctl_ok(&["logs", &id, "--events"])
        .lines()
        .map(|l| kind(&serde_json::from_str(l).expect("an event per line")))
        .collect();
    let kinds: Vec<&str> = events.iter().map(|(k, _)| k.as_str()).collect();
    for expected in [
        "user_message",
        "session_started",
        "tool_use",
        "permission_request",
        "tool_result",
        "result",
    ] {
        assert!(kinds.contains(&expected), "{expected} in {kinds:?}");
    }
    let position = |k: &str| kinds.iter().position(|x| *x == k).expect("kind");
    assert!(position("user_message") < position("session_started"));
    assert!(position("tool_use") < position("tool_result"));
    assert_eq!(kinds.last(), Some(&"result"), "{kinds:?}");
    let (_, tool) = &events[position("tool_use")];
    assert_eq!(tool["name"], "Bash");
    let input: Value = serde_json::from_str(tool["input_json"].as_str().expect("json"))
        .expect("the input is JSON");
    assert_eq!(input["command"], "echo typed");
    let (_, asked) = &events[position("permission_request")];
    assert_eq!(asked["tool_name"], "Bash");

    // The readable form is those events, one or more lines each.
    let readable = env.ctl_ok(&["logs", &id]);
    assert!(
        readable.contains("» you: TOOL_BASH:echo typed"),
        "{readable}"
    );
    assert!(readable.contains("● session "), "{readable}");
    assert!(readable.contains("→ Bash {"), "{readable}");
    assert!(
        readable.contains("? waiting for approval: Bash"),
        "{readable}"
    );
    assert!(readable.contains("← "), "{readable}");
    assert!(readable.contains("✓ turn finished"), "{readable}");

    // Raw: exactly what Claude Code wrote, every line JSON, none of ours.
    let raw = env.ctl_ok(&["logs", &id, "--raw"]);
    assert!(!raw.contains("\"orchestra\""), "{raw}");
    for line in raw.lines() {
        serde_json::from_str::<Value>(line).expect("a stream-json line");
    }
    assert!(raw.contains("\"control_request\""), "{raw}");
}
