//! One page for many machines: the dashboard of a shows the agents and approvals of a
//! second daemon b (another HOME, reached through `hosts add b local --command "env ...
//! orchestractl proxy"`) with their host, answers b's approval on b, shows b
//! unreachable soon after b's daemon dies, and up again once it is back.

use std::io::Write as _;
use std::time::{Duration, Instant};

use orchestra_tests::bridge::{Bridge, tool_call, tool_text};
use orchestra_tests::hosts::proxy_command;
use orchestra_tests::web::{Dashboard, http, login_cookie, read_text_frame, upgrade};
use orchestra_tests::{Gate, TestEnv, all_finished, wait_until};
use serde_json::Value;

/// What a page opening now gets first: the snapshot.
fn snapshot(port: u16, cookie: &str) -> Value {
    let origin = format!("http://127.0.0.1:{port}");
    let mut ws = upgrade(port, "/ws", &[("Cookie", cookie), ("Origin", &origin)])
        .expect("the WebSocket opens");
    let event: Value =
        serde_json::from_str(&read_text_frame(&mut ws).expect("a frame")).expect("JSON");
    let _ = ws.write_all(&[0x88, 0x80, 0, 0, 0, 0]);
    assert_eq!(event["type"], "snapshot", "{event:#}");
    event
}

#[test]
fn the_page_shows_and_answers_another_hosts_approval_and_its_state() {
    let a = TestEnv::new();
    let b = TestEnv::new();
    let mut b_daemon = b.spawn_daemon();
    a.ctl_ok(&[
        "hosts",
        "add",
        "b",
        "local",
        "--command",
        &proxy_command(&b, false),
    ]);
    let b_repo = b.git_repo();
    let spawned = b.ctl_json(&[
        "spawn",
        "--repo",
        b_repo.to_str().expect("utf-8"),
        "TOOL_BASH:touch from-the-page.txt",
    ]);
    let b_agent = spawned[0]["id"].as_str().expect("id").to_owned();
    let dash = Dashboard::start(&a, &[]);
    let cookie = login_cookie(&a, dash.port);

    let mut shown = Value::Null;
    wait_until("the page shows b's approval", || {
        shown = snapshot(dash.port, &cookie);
        shown["approvals"]
            .as_array()
            .is_some_and(|list| list.iter().any(|x| x["host"] == "b"))
    });
    assert_eq!(shown["hosts"][0]["name"], "b", "{shown:#}");
    assert_eq!(shown["hosts"][0]["state"], "up", "{shown:#}");
    assert!(
        shown["agents"]
            .as_array()
            .expect("agents")
            .iter()
            .any(|x| x["host"] == "b" && x["id"] == b_agent.as_str()),
        "b's agent is on the page with its host: {shown:#}"
    );
    let approval = shown["approvals"]
        .as_array()
        .expect("list")
        .iter()
        .find(|x| x["host"] == "b")
        .expect("b's")
        .clone();

    // Answered on the page of a, decided on b (the card names its host). A host that is
    // not there is refused in words, and nothing is decided.
    let origin = format!("http://127.0.0.1:{}", dash.port);
    let (status, _, body) = http(
        dash.port,
        "POST",
        &format!(
            "/api/approvals/{}/decide",
            approval["id"].as_str().expect("id")
        ),
        &[
            ("Cookie", &cookie),
            ("Origin", &origin),
            ("Content-Type", "application/json"),
        ],
        r#"{"decision":"allow","host":"nope"}"#,
    );
    assert_ne!(status, 200, "{body}");
    assert!(body.contains("no host named"), "{body}");
    let (status, head, body) = http(
        dash.port,
        "POST",
        &format!(
            "/api/approvals/{}/decide",
            approval["id"].as_str().expect("id")
        ),
        &[
            ("Cookie", &cookie),
            ("Origin", &origin),
            ("Content-Type", "application/json"),
        ],
        r#"{"decision":"allow","host":"b"}"#,
    );
    assert_eq!(status, 200, "{head}\n{body}");
    let answered: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(answered["host"], "b");
    assert_eq!(answered["state"], "allowed");
    let mut agents = Vec::new();
    wait_until("b's agent goes on and finishes", || {
        agents = b
            .ctl_json(&["status", "--all"])
            .as_array()
            .cloned()
            .unwrap_or_default();
        all_finished(&agents)
    });
    let cwd = std::path::PathBuf::from(agents[0]["cwd"].as_str().expect("cwd"));
    assert!(cwd.join("from-the-page.txt").exists(), "the tool ran on b");

    // b goes away: the page says so, and still answers for a.
    b_daemon.signal_and_wait(nix::sys::signal::Signal::SIGKILL);
    let gone = Instant::now();
    wait_until("the page shows b unreachable", || {
        shown = snapshot(dash.port, &cookie);
        shown["hosts"][0]["state"] == "unreachable"
    });
    assert!(
        gone.elapsed() < Duration::from_secs(10),
        "b showed unreachable only after {:?}",
        gone.elapsed()
    );
    assert!(
        shown["hosts"][0]["since_ms"]
            .as_i64()
            .is_some_and(|ms| ms > 0)
    );
    assert!(
        shown["agents"]
            .as_array()
            .expect("agents")
            .iter()
            .all(|x| x["host"] != "b"),
        "{shown:#}"
    );

    // b comes back: the connection is made again (with backoff), and b's agents return.
    let _b_again = b.spawn_daemon();
    wait_until("the page shows b up again", || {
        shown = snapshot(dash.port, &cookie);
        shown["hosts"][0]["state"] == "up"
    });
    assert!(
        shown["agents"]
            .as_array()
            .expect("agents")
            .iter()
            .any(|x| x["host"] == "b" && x["id"] == b_agent.as_str()),
        "{shown:#}"
    );
}

/// The page follows `hosts.json`: a host added with `hosts add` while it runs shows up
/// (and connects) within seconds, without a restart, and one removed goes away.
#[test]
fn a_host_added_or_removed_while_the_page_runs_comes_and_goes() {
    let a = TestEnv::new();
    let b = TestEnv::new();
    let _b_daemon = b.spawn_daemon();
    let dash = Dashboard::start(&a, &[]);
    let cookie = login_cookie(&a, dash.port);
    let shown = snapshot(dash.port, &cookie);
    assert_eq!(shown["hosts"], serde_json::json!([]), "{shown:#}");

    a.ctl_ok(&[
        "hosts",
        "add",
        "b",
        "local",
        "--command",
        &proxy_command(&b, false),
    ]);
    let mut shown = Value::Null;
    wait_until("the running page shows b, up", || {
        shown = snapshot(dash.port, &cookie);
        shown["hosts"][0]["name"] == "b" && shown["hosts"][0]["state"] == "up"
    });

    a.ctl_ok(&["hosts", "remove", "b"]);
    wait_until("the running page no longer shows b", || {
        shown = snapshot(dash.port, &cookie);
        shown["hosts"] == serde_json::json!([])
    });
}

/// Another host's question, batch thread and report on this page: the answer given here
/// is the asking tool's result on b, and b's batch thread and report come from b (the
/// same ids asked of this machine's daemon find nothing).
#[test]
fn another_hosts_question_thread_and_report_go_to_that_host() {
    let a = TestEnv::new();
    let b = TestEnv::new();
    let _b_daemon = b.spawn_daemon();
    a.ctl_ok(&[
        "hosts",
        "add",
        "b",
        "local",
        "--command",
        &proxy_command(&b, false),
    ]);
    let b_repo = b.git_repo();
    let repo = b_repo.to_str().expect("utf-8").to_owned();
    let spawned = b.ctl_json(&["spawn", "--repo", &repo, "say hello from b"]);
    let b_agent = spawned[0]["id"].as_str().expect("id").to_owned();
    let batch = spawned[0]["batch_id"].as_str().expect("batch").to_owned();
    let finished = || all_finished(b.ctl_json(&["status", "--all"]).as_array().expect("list"));
    wait_until("b's agent is done", finished);
    b.ctl_ok(&["send", &b_agent, "one more thing"]);
    wait_until("b's agent is done again", finished);

    let dash = Dashboard::start(&a, &[]);
    let cookie = login_cookie(&a, dash.port);
    let origin = format!("http://127.0.0.1:{}", dash.port);
    let headers = [
        ("Origin", origin.as_str()),
        ("Cookie", cookie.as_str()),
        ("Content-Type", "application/json"),
    ];
    // A hand-started session on b asks (its bridge has no agent secret).
    let mut bridge = Bridge::start(&b, "");
    bridge.send(&tool_call(
        7,
        "ask_human",
        serde_json::json!({"question": "Which database?", "choices": ["postgres", "sqlite"]}),
    ));
    let mut question = Value::Null;
    wait_until("the page shows b's question", || {
        let shown = snapshot(dash.port, &cookie);
        question = shown["approvals"]
            .as_array()
            .and_then(|list| {
                list.iter()
                    .find(|x| x["host"] == "b" && x["kind"] == "question")
            })
            .cloned()
            .unwrap_or(Value::Null);
        !question.is_null()
    });
    let path = format!(
        "/api/approvals/{}/answer",
        question["id"].as_str().expect("id")
    );
    let (status, _, body) = http(dash.port, "POST", &path, &headers, r#"{"text":"sqlite"}"#);
    assert_ne!(status, 200, "this machine has no such question: {body}");
    let (status, _, body) = http(
        dash.port,
        "POST",
        &path,
        &headers,
        r#"{"text":"postgres","host":"b"}"#,
    );
    assert_eq!(status, 200, "{body}");
    let answered: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(answered["host"], "b", "{answered:#}");
    assert_eq!(answered["state"], "answered", "{answered:#}");
    let reply = bridge.read();
    assert_eq!(
        tool_text(&reply),
        ("postgres".to_owned(), false),
        "{reply:#}"
    );

    let get = |path: &str| -> Value {
        let (status, _, body) = http(dash.port, "GET", path, &headers, "");
        assert_eq!(status, 200, "{path}: {body}");
        serde_json::from_str(&body).expect("JSON")
    };
    let thread = get(&format!("/api/messages?batch={batch}&host=b"));
    assert!(
        thread
            .as_array()
            .expect("list")
            .iter()
            .any(|m| m["text"] == "one more thing" && m["from"] == "human"),
        "{thread:#}"
    );
    let (status, _, body) = http(
        dash.port,
        "GET",
        &format!("/api/messages?batch={batch}"),
        &headers,
        "",
    );
    assert_eq!(status, 404, "this machine has no such batch: {body}");
    assert!(body.contains("no batch matches"), "{body}");
    let report = get(&format!("/api/report?batch={batch}&host=b&repo={repo}"));
    assert!(
        report["markdown"]
            .as_str()
            .is_some_and(|m| m.contains("say hello from b")),
        "{report:#}"
    );
}

/// In a real phone-sized browser: the hosts strip, b's approval card with b's name, Allow
/// on it running the tool on b, Logs on b's agent card showing b's transcript, and b
/// shown unreachable once its daemon dies.
#[tokio::test(flavor = "multi_thread")]
async fn in_the_browser_another_hosts_card_names_it_and_allow_reaches_it() {
    use orchestra_tests::browser::{self, Browser, click, shows, text_of};
    let Some(tools) = browser::chromium_and_driver() else {
        return;
    };
    let a = TestEnv::new();
    let b = TestEnv::new();
    let mut b_daemon = b.spawn_daemon();
    a.ctl_ok(&[
        "hosts",
        "add",
        "b",
        "local",
        "--command",
        &proxy_command(&b, false),
    ]);
    a.ctl_ok(&["daemon", "start"]);
    let repo = a.git_repo();
    let (_dashboard, port) = browser::dashboard(&a, &repo);
    let b_repo = b.git_repo();
    let spawned = b.ctl_json(&[
        "spawn",
        "--repo",
        b_repo.to_str().expect("utf-8"),
        "TOOL_BASH:touch allowed-on-a-phone.txt",
    ]);
    let b_agent = spawned[0]["id"].as_str().expect("id").to_owned();

    let browser = Browser::start(&a, &tools, &[]).await;
    let client = &browser.client;
    browser::open_logged_in(client, &a, port).await;
    shows(client, "#hosts-strip", "b: up").await;
    let card = shows(client, "#approval-list li.approval", "allowed-on-a-phone").await;
    assert!(card.contains(&b_agent), "{card}");
    let badge = shows(client, "#approval-list li.approval .host-badge", "b").await;
    assert_eq!(badge.trim(), "b");
    shows(client, "#agent-list .host-badge", "b").await;
    browser::screenshot(client, "hosts-card").await;
    click(
        client,
        "#approval-list li.approval button[data-decision=allow]",
    )
    .await;
    tokio::task::block_in_place(|| {
        let mut agents = Vec::new();
        wait_until("b's agent goes on and finishes", || {
            agents = b
                .ctl_json(&["status", "--all"])
                .as_array()
                .cloned()
                .unwrap_or_default();
            all_finished(&agents)
        });
        let cwd = std::path::PathBuf::from(agents[0]["cwd"].as_str().expect("cwd"));
        assert!(
            cwd.join("allowed-on-a-phone.txt").exists(),
            "the tool ran on b"
        );
    });
    // Logs on b's card: b's transcript, read through b's connection.
    click(
        client,
        &format!("#agent-list li[data-agent-id=\"{b_agent}\"] button[data-action=logs]"),
    )
    .await;
    shows(client, "#panel-body", "allowed-on-a-phone").await;
    assert_eq!(text_of(client, "#panel-error").await.trim(), "");
    tokio::task::block_in_place(|| {
        b_daemon.signal_and_wait(nix::sys::signal::Signal::SIGKILL);
    });
    shows(client, "#hosts-strip", "b: unreachable since").await;
    browser::screenshot(client, "hosts-unreachable").await;
}

/// An agent button's route on the page of a, naming host b: `(status, body)`.
fn on_b(port: u16, cookie: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    let origin = format!("http://127.0.0.1:{port}");
    let (status, _, body) = http(
        port,
        method,
        path,
        &[
            ("Cookie", cookie),
            ("Origin", &origin),
            ("Content-Type", "application/json"),
        ],
        body,
    );
    (status, body)
}

/// The agent buttons of b's card (Logs, Send, Changes and its Approve, Stop) reach b's daemon;
/// a host that is not configured is refused in words, and nothing runs on a.
#[test]
fn another_hosts_agent_buttons_reach_that_host() {
    let a = TestEnv::new();
    let b = TestEnv::new();
    let _b_daemon = b.spawn_daemon();
    a.ctl_ok(&[
        "hosts",
        "add",
        "b",
        "local",
        "--command",
        &proxy_command(&b, false),
    ]);
    let b_repo = b.git_repo();
    let b_repo = b_repo.to_str().expect("utf-8");
    let talked = b.ctl_json(&["spawn", "--repo", b_repo, "CHATTY:2 said-on-b"]);
    let talked = talked[0]["id"].as_str().expect("id").to_owned();
    let held = Gate::new(&b, "held");
    let running = b.ctl_json(&["spawn", "--repo", b_repo, &held.task("runs-on-b")]);
    let running = running[0]["id"].as_str().expect("id").to_owned();
    let dash = Dashboard::start(&a, &[]);
    let cookie = login_cookie(&a, dash.port);
    let origin = format!("http://127.0.0.1:{}", dash.port);
    wait_until("the page shows b up", || {
        snapshot(dash.port, &cookie)["hosts"][0]["state"] == "up"
    });
    wait_until("b's chatty agent finishes", || {
        b.ctl_json(&["status", "--all"])
            .as_array()
            .is_some_and(|list| {
                list.iter()
                    .any(|x| x["id"] == talked.as_str() && x["state"] == "done")
            })
    });

    // Logs: b's transcript, through the page of a.
    let headers = [("Cookie", cookie.as_str()), ("Origin", origin.as_str())];
    let mut ws = upgrade(
        dash.port,
        &format!("/ws/logs/{talked}?events=1&host=b"),
        &headers,
    )
    .expect("the log socket of b's agent opens");
    let mut seen = String::new();
    loop {
        let frame = read_text_frame(&mut ws).expect("a frame before the end");
        let frame: Value = serde_json::from_str(&frame).expect("JSON");
        assert_ne!(frame["type"], "error", "{frame:#}");
        if frame["type"] == "end" {
            break;
        }
        seen.push_str(&frame.to_string());
    }
    assert!(
        seen.contains("working on it, step 1"),
        "b's transcript: {seen}"
    );
    // A host that is not configured: refused before the upgrade, in words.
    let (status, _, _) = http(
        dash.port,
        "GET",
        &format!("/ws/logs/{talked}?events=1&host=nope"),
        &[
            ("Cookie", cookie.as_str()),
            ("Origin", origin.as_str()),
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Version", "13"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ],
        "",
    );
    assert_eq!(
        status, 404,
        "an unknown host's log is refused before the upgrade"
    );

    // Send: a follow-up to b's agent, which answers it on b.
    let (status, body) = on_b(
        dash.port,
        &cookie,
        "POST",
        &format!("/api/agents/{talked}/send?host=b"),
        r#"{"message":"CHATTY:1 sent-from-a"}"#,
    );
    assert_eq!(status, 200, "{body}");
    wait_until("b's agent heard the follow-up", || {
        String::from_utf8_lossy(&b.ctl(&["logs", &talked]).stdout).contains("sent-from-a")
    });

    // Changes: b's diff (its worktree is b's).
    let (status, body) = on_b(
        dash.port,
        &cookie,
        "GET",
        &format!("/api/agents/{talked}/diff?stat=1&host=b"),
        "",
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = on_b(
        dash.port,
        &cookie,
        "GET",
        &format!("/api/agents/{talked}/diff?stat=1"),
        "",
    );
    assert_eq!(status, 404, "a's daemon does not know b's agent: {body}");
    // Approve (the review of the Changes view): recorded on b.
    let (status, body) = on_b(
        dash.port,
        &cookie,
        "POST",
        &format!("/api/agents/{talked}/review?host=b"),
        r#"{"approve":true}"#,
    );
    assert_eq!(status, 200, "{body}");
    let on_b_now = b.ctl_json(&["status", "--all"]);
    let reviewed = on_b_now
        .as_array()
        .and_then(|list| list.iter().find(|x| x["id"] == talked.as_str()))
        .expect("b's agent");
    assert_eq!(
        reviewed["review"]["state"], "approved",
        "b records the approval: {reviewed:#}"
    );

    // Stop: refused for an unknown host (the agent runs on), then stopped on b.
    for path in [
        format!("/api/agents/{running}/stop?host=nope"),
        format!("/api/agents/{running}/send?host=nope"),
        format!("/api/agents/{running}/review?host=nope"),
        format!("/api/agents/{running}/diff?host=nope"),
    ] {
        let method = if path.contains("/diff") {
            "GET"
        } else {
            "POST"
        };
        let body = if method == "GET" {
            ""
        } else {
            r#"{"message":"x"}"#
        };
        let (status, body) = on_b(dash.port, &cookie, method, &path, body);
        assert_eq!(status, 404, "{path}: {body}");
        assert!(
            body.contains("no host named \\\"nope\\\""),
            "{path}: {body}"
        );
    }
    let (status, body) = on_b(
        dash.port,
        &cookie,
        "POST",
        &format!("/api/agents/{running}/stop?host=b"),
        "",
    );
    assert_eq!(status, 200, "{body}");
    wait_until("b's running agent is stopped on b", || {
        b.ctl_json(&["status", "--all"])
            .as_array()
            .is_some_and(|list| {
                list.iter()
                    .any(|x| x["id"] == running.as_str() && x["state"] == "stopped")
            })
    });
}

/// A webhook stand-in on this machine: every request body it gets, in order.
fn webhook_receiver() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{BufRead as _, BufReader, Read as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the receiver");
    let url = format!(
        "http://{}/hook",
        listener.local_addr().expect("the receiver's address")
    );
    let bodies = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = bodies.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_ok() {
                kept.lock()
                    .expect("bodies")
                    .push(String::from_utf8_lossy(&body).into_owned());
            }
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    (url, bodies)
}

/// An approval on b reaches a's own notification channels (here a webhook; Web Push
/// subscriptions are channels of the same daemon), named as b's: the dashboard relays
/// what b's daemon tells it to a's daemon.
#[test]
fn another_hosts_approval_reaches_this_machines_notification_channels() {
    let a = TestEnv::new();
    let b = TestEnv::new();
    let (hook, bodies) = webhook_receiver();
    a.write_config(&serde_json::json!({
        "claude_command": orchestra_tests::bin("fake-claude"),
        "heartbeat_interval": 1,
        "notifications": [{"kind": "webhook", "url": hook}],
    }));
    let _b_daemon = b.spawn_daemon();
    a.ctl_ok(&[
        "hosts",
        "add",
        "b",
        "local",
        "--command",
        &proxy_command(&b, false),
    ]);
    let dash = Dashboard::start(&a, &[]);
    let cookie = login_cookie(&a, dash.port);
    // b's notifications are followed from the moment b is up.
    wait_until("the page shows b up", || {
        snapshot(dash.port, &cookie)["hosts"][0]["state"] == "up"
    });
    let b_repo = b.git_repo();
    let spawned = b.ctl_json(&[
        "spawn",
        "--repo",
        b_repo.to_str().expect("utf-8"),
        "TOOL_BASH:touch asked-on-b.txt",
    ]);
    let b_agent = spawned[0]["id"].as_str().expect("id").to_owned();

    let mut told = Value::Null;
    wait_until("a's webhook hears of b's approval", || {
        let found = bodies
            .lock()
            .expect("bodies")
            .iter()
            .filter_map(|body| serde_json::from_str::<Value>(body).ok())
            .find(|post| post["event"] == "approval_needed");
        found.map(|post| told = post).is_some()
    });
    assert_eq!(told["title"], "[b] Approval needed", "{told:#}");
    let message = told["message"].as_str().expect("message");
    assert!(
        message.starts_with("[b] ") && message.contains(&b_agent) && message.contains("Bash"),
        "{told:#}"
    );
    assert_eq!(told["agent_id"], b_agent.as_str(), "{told:#}");
}
