//! Agents' questions (`ask_human` of the `orchestra` MCP server) in the approval queue:
//! they expire under `approval_timeout_s` with the answer `expired`, a question whose asker
//! went away is withdrawn, `deny` declines one, and `approve` is refused for one. Asked
//! through the bridge of a hand-started session, so no Claude Code is needed.

use orchestra_tests::bridge::{Bridge, tool_call, tool_text};
use orchestra_tests::{TestEnv, bin, wait_until};
use serde_json::{Value, json};

fn one_question(env: &TestEnv, all: bool) -> Value {
    let mut found = Vec::new();
    let args: &[&str] = if all {
        &["approvals", "--all"]
    } else {
        &["approvals"]
    };
    wait_until("one question in the queue", || {
        found = env.ctl_json(args).as_array().cloned().unwrap_or_default();
        found.len() == 1
    });
    found.remove(0)
}

#[test]
fn an_unanswered_question_expires_with_the_answer_expired() {
    let env = TestEnv::new();
    env.write_config(&json!({"claude_command": bin("fake-claude"), "approval_timeout_s": 1}));
    env.ctl_ok(&["daemon", "start"]);
    let mut bridge = Bridge::start(&env, "");
    let reply = bridge.call(&tool_call(1, "ask_human", json!({"question": "Ship it?"})));
    let (text, is_error) = tool_text(&reply);
    assert!(text.starts_with("expired"), "{reply:#}");
    assert!(!is_error);
    let question = one_question(&env, true);
    assert_eq!(question["state"], "expired");
    assert_eq!(question["answer"], "expired");
    assert_eq!(question["kind"], "question");
}

#[test]
fn a_question_is_withdrawn_when_its_asker_goes_and_deny_declines_one() {
    let env = TestEnv::new();
    env.ctl_ok(&["daemon", "start"]);
    let mut gone = Bridge::start(&env, "");
    gone.send(&tool_call(
        1,
        "ask_human",
        json!({"question": "Left behind?"}),
    ));
    let asked = one_question(&env, false);
    let approve = env.ctl(&["approve", asked["id"].as_str().expect("id")]);
    assert!(!approve.status.success(), "a question is not approved");
    assert!(
        String::from_utf8_lossy(&approve.stderr).contains("orchestractl answer"),
        "{}",
        String::from_utf8_lossy(&approve.stderr)
    );
    gone.kill();
    wait_until("the question is withdrawn", || {
        env.ctl_json(&["approvals"])
            .as_array()
            .is_some_and(Vec::is_empty)
    });
    assert_eq!(one_question(&env, true)["state"], "cancelled");

    let mut bridge = Bridge::start(&env, "");
    bridge.send(&tool_call(
        2,
        "ask_human",
        json!({"question": "Tabs or spaces?", "choices": ["tabs", "spaces"]}),
    ));
    let mut pending = Vec::new();
    wait_until("the second question waits", || {
        pending = env
            .ctl_json(&["approvals"])
            .as_array()
            .cloned()
            .unwrap_or_default();
        pending.len() == 1
    });
    let id = pending[0]["id"].as_str().expect("id").to_owned();
    let empty = env.ctl(&["answer", &id, " "]);
    assert!(
        !empty.status.success(),
        "an empty answer is refused, and the question stays"
    );
    env.ctl_ok(&["deny", &id, "--message", "decide yourself"]);
    let (text, is_error) = tool_text(&bridge.read());
    assert!(is_error);
    assert_eq!(text, "The human declined to answer: decide yourself");
}

/// A daemon restart while an agent's question waits: the bridge sends the call again to
/// the new daemon, the question is asked anew (the old one is closed, saying why), and
/// the answer given then is the tool's result; the agent sees no error. The bridge's
/// window to reconnect (5 s here) counts from the loss, not from the question: this one
/// has waited longer than that.
#[test]
fn a_question_waiting_through_a_daemon_restart_is_asked_again_and_answered() {
    let env = TestEnv::new();
    env.ctl_ok(&["daemon", "start"]);
    let mut bridge = Bridge::start_with(&env, "", &[("ORCHESTRA_MCP_RECONNECT_S", "5")]);
    bridge.send(&tool_call(
        5,
        "ask_human",
        json!({"question": "Which port?", "choices": ["8080", "9090"]}),
    ));
    let before = one_question(&env, false);
    let asked_at = before["created_at_ms"].as_i64().expect("created_at_ms");
    wait_until(
        "the question has waited longer than the bridge's window",
        || chrono::Utc::now().timestamp_millis() - asked_at > 6_000,
    );
    env.ctl_ok(&["daemon", "restart"]);
    let mut again = Vec::new();
    wait_until("the question is asked again of the new daemon", || {
        again = env
            .ctl_json(&["approvals"])
            .as_array()
            .cloned()
            .unwrap_or_default();
        again.len() == 1 && again[0]["id"] != before["id"]
    });
    assert_eq!(again[0]["question"], "Which port?");
    assert_eq!(again[0]["choices"], json!(["8080", "9090"]));
    let old = env
        .ctl_json(&["approvals", "--all"])
        .as_array()
        .expect("list")
        .iter()
        .find(|a| a["id"] == before["id"])
        .cloned()
        .expect("the old question is kept, closed");
    assert_ne!(old["state"], "pending", "{old:#}");
    env.ctl_ok(&["answer", again[0]["id"].as_str().expect("id"), "9090"]);
    let reply = bridge.read();
    assert_eq!(reply["id"], 5, "{reply:#}");
    assert_eq!(tool_text(&reply), ("9090".to_owned(), false), "{reply:#}");
}
