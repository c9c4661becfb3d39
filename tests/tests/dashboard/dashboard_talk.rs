//! Agents talking, on the page: a question (an approval of kind "question") answered
//! through the dashboard's API becomes the asking tool's result, and a batch's thread is
//! served. The question comes from a hand-started session's bridge (`orchestractl mcp
//! serve` without a secret, as `mcp install` sets it up), so no Claude Code is needed.

use std::io::{BufRead as _, Write as _};
use std::process::Stdio;

use orchestra_tests::web::{Dashboard, http, login_cookie};
use orchestra_tests::{TestEnv, bin, wait_until};
use serde_json::{Value, json};

#[test]
fn a_question_answered_on_the_page_is_the_asking_tools_result() {
    let env = TestEnv::new();
    let dash = Dashboard::start(&env, &[]);
    let cookie = login_cookie(&env, dash.port);
    let origin = format!("http://127.0.0.1:{}", dash.port);
    let mut bridge = env
        .command(bin("orchestractl"))
        .args(["mcp", "serve"])
        .env_remove("ORCHESTRA_MCP_TOKEN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the bridge");
    let ask = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "ask_human",
        "arguments": {"question": "Which database?", "choices": ["postgres", "sqlite"]}}});
    let stdin = bridge.stdin.as_mut().expect("stdin");
    writeln!(stdin, "{ask}").expect("write");
    stdin.flush().expect("flush");
    let mut asked = Vec::new();
    wait_until("the question waits in the queue", || {
        asked = env
            .ctl_json(&["approvals"])
            .as_array()
            .cloned()
            .unwrap_or_default();
        asked.len() == 1
    });
    assert_eq!(asked[0]["kind"], "question");
    assert_eq!(
        asked[0]["agent_id"], "",
        "a hand-started session asks as no agent"
    );
    let id = asked[0]["id"].as_str().expect("id").to_owned();
    let headers = [
        ("Origin", origin.as_str()),
        ("Cookie", cookie.as_str()),
        ("Content-Type", "application/json"),
    ];
    let (status, _, body) = http(dash.port, "GET", "/api/messages?batch=", &headers, "");
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).expect("json"),
        json!([])
    );
    let (status, _, body) = http(dash.port, "GET", "/question.js", &headers, "");
    assert_eq!(status, 200);
    assert!(body.contains("export function questionBody"), "{body}");
    let (status, _, body) = http(
        dash.port,
        "POST",
        &format!("/api/approvals/{id}/answer"),
        &headers,
        r#"{"text":"postgres"}"#,
    );
    assert_eq!(status, 200, "{body}");
    let answered: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(answered["state"], "answered");
    assert_eq!(answered["answer"], "postgres");
    assert_ne!(
        answered["decided_by"], "cli",
        "the page answers under its device's name"
    );
    let mut line = String::new();
    std::io::BufReader::new(bridge.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read");
    let reply: Value = serde_json::from_str(&line).expect("json reply");
    assert_eq!(reply["id"], 7);
    assert_eq!(
        reply["result"]["content"][0]["text"], "postgres",
        "{reply:#}"
    );
    assert_eq!(reply["result"]["isError"], false);
    let _ = bridge.kill();
    let _ = bridge.wait();
}
