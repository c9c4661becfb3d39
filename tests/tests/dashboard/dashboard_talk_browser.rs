//! Agents talking, in a real phone-sized browser: an agent's question shows as a card
//! with its choices as buttons, and tapping one is the asking tool's result; a batch's
//! card folds out its thread of messages, hostile text shown as text. The question and
//! the message come from a hand-started session's bridge (`orchestractl mcp serve`, no
//! secret), the agent they concern is the stand-in Claude held open by a gate.
//!
//! Needs `chromium` and `chromedriver` (`.ci/run` installs them from Debian): with
//! `CI=true` their absence fails the test, otherwise it is skipped with the reason.

use std::io::{BufRead as _, Write as _};
use std::process::Stdio;

use fantoccini::Locator;
use orchestra_tests::browser::{self, Browser, click, shows};
use orchestra_tests::{Gate, TestEnv, bin};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread")]
async fn a_question_is_answered_by_a_choice_button_and_the_batch_thread_shows_messages() {
    let Some(tools) = browser::chromium_and_driver() else {
        return;
    };
    let env = TestEnv::new();
    let repo = env.git_repo();
    let gate = Gate::new(&env, "talk-seen");
    env.ctl_ok(&["daemon", "start"]);
    let (_dashboard, port) = browser::dashboard(&env, &repo);
    let task = gate.task("hold while the page looks");
    let spawned = env.ctl_json(&["spawn", "--repo", repo.to_str().expect("p"), &task]);
    let agent = spawned[0]["id"].as_str().expect("id").to_owned();

    let mut bridge = env
        .command(bin("orchestractl"))
        .args(["mcp", "serve"])
        .env_remove("ORCHESTRA_MCP_TOKEN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the bridge");
    let mut input = bridge.stdin.take().expect("stdin");
    let mut output = std::io::BufReader::new(bridge.stdout.take().expect("stdout"));
    let mut call = |request: Value| {
        writeln!(input, "{request}").expect("write");
        input.flush().expect("flush");
    };
    let hostile = "<b>bold</b> use verify_token";
    call(
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "send_message",
        "arguments": {"to": agent, "text": hostile}}}),
    );
    let mut line = String::new();
    output.read_line(&mut line).expect("read");
    let sent: Value = serde_json::from_str(&line).expect("json");
    assert_eq!(sent["result"]["isError"], false, "{sent:#}");
    call(
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "ask_human",
        "arguments": {"question": "Which database?", "choices": ["postgres", "sqlite"]}}}),
    );

    let browser = Browser::start(&env, &tools, &[]).await;
    let client = &browser.client;
    browser::open_logged_in(client, &env, port).await;
    shows(client, "#approval-list li.approval", "Which database?").await;
    browser::screenshot(client, "talk-question").await;
    click(
        client,
        "#approval-list li.approval button[data-choice=postgres]",
    )
    .await;
    let answer = tokio::task::block_in_place(|| {
        let mut line = String::new();
        output.read_line(&mut line).expect("read");
        serde_json::from_str::<Value>(&line).expect("json")
    });
    assert_eq!(answer["id"], 2);
    assert_eq!(
        answer["result"]["content"][0]["text"], "postgres",
        "{answer:#}"
    );

    click(client, "nav button[data-tab=batches]").await;
    click(client, "li.batch details.thread summary").await;
    let thread = shows(client, "li.batch .thread-text", "use verify_token").await;
    assert!(
        thread.contains(hostile),
        "the text shows as written: {thread}"
    );
    assert!(
        client
            .find_all(Locator::Css("li.batch .thread-text b"))
            .await
            .expect("query")
            .is_empty(),
        "no markup from a message reaches the page"
    );
    shows(client, "li.batch details.thread", "session →").await;
    browser::screenshot(client, "talk-thread").await;
    gate.open();
    let _ = bridge.kill();
    let _ = bridge.wait();
    let _ = browser.client.clone().close().await;
}
