//! Notifications as a user gets them: a local HTTP receiver stands in for a webhook and
//! an ntfy server; agents run under fake-claude; approvals and overlaps are injected the
//! way the approvals and merge code will report them.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Request, State};
use axum::routing::post;
use orchestra_tests::{InProcessDaemon, TestEnv, all_finished, wait_for_agents};
use orchestrad::notify::{ChannelConfig, NotifyInput};
use serde_json::{Value, json};

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Post {
    /// Its path ("/hook", "/topic").
    path: String,
    /// Its headers, names lowercased.
    headers: HashMap<String, String>,
    /// Its body as text.
    body: String,
}

impl Post {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|err| panic!("{err}: {}", self.body))
    }

    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }

    /// The event a post is about: the webhook's `event`, or ntfy's second tag.
    fn event(&self) -> String {
        if self.path == "/topic" {
            self.header("tags")
                .split(',')
                .nth(1)
                .unwrap_or("")
                .to_owned()
        } else {
            self.json()["event"].as_str().unwrap_or("").to_owned()
        }
    }
}

/// A local HTTP server that records every POST; `/hang` never answers, `/flaky` answers
/// 503 while `down` is set.
struct Receiver {
    addr: SocketAddr,
    posts: Arc<Mutex<Vec<Post>>>,
    down: Arc<AtomicBool>,
}

impl Receiver {
    async fn start() -> Receiver {
        let posts: Arc<Mutex<Vec<Post>>> = Arc::default();
        let down = Arc::new(AtomicBool::new(false));
        let flaky = {
            let down = down.clone();
            move |state: State<Arc<Mutex<Vec<Post>>>>, request: Request| async move {
                if down.load(Ordering::SeqCst) {
                    axum::http::StatusCode::SERVICE_UNAVAILABLE
                } else {
                    record(state, request).await;
                    axum::http::StatusCode::OK
                }
            }
        };
        let app = Router::new()
            .route(
                "/hang",
                post(|| async {
                    std::future::pending::<()>().await;
                    ""
                }),
            )
            .route("/flaky", post(flaky))
            .fallback(record)
            .with_state(posts.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the receiver");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { addr, posts, down }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn posts(&self) -> Vec<Post> {
        self.posts.lock().expect("posts").clone()
    }

    /// Waits until a post to `path` about `event` matching `also` arrives; returns it.
    async fn wait_for(&self, path: &str, event: &str, also: impl Fn(&Post) -> bool) -> Post {
        let deadline = Instant::now() + orchestra_tests::DEADLINE;
        loop {
            if let Some(found) = self
                .posts()
                .into_iter()
                .find(|p| p.path == path && p.event() == event && also(p))
            {
                return found;
            }
            assert!(
                Instant::now() < deadline,
                "no {event} post to {path}; got: {:#?}",
                self.posts()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn record(State(posts): State<Arc<Mutex<Vec<Post>>>>, request: Request) -> &'static str {
    let path = request.uri().path().to_owned();
    let headers = request
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                v.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let body = axum::body::to_bytes(request.into_body(), 1 << 20)
        .await
        .expect("body");
    posts.lock().expect("posts").push(Post {
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    "ok"
}

/// A URL on which nothing listens: connections are refused.
fn refused_url() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a port")
        .port();
    format!("http://127.0.0.1:{port}/dead")
}

/// Runs a hook's `command` as Claude Code does, its `input` on stdin; checks it exited 0
/// (a hook always does) and returns its output.
fn run_hook_command(mut command: std::process::Command, input: &Value) -> std::process::Output {
    use std::io::Write as _;
    let mut child = command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the hook starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.to_string().as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("the hook ran");
    assert!(out.status.success(), "a hook always exits 0: {out:?}");
    out
}

fn channel(kind: &str, url: &str) -> ChannelConfig {
    serde_json::from_value(json!({"kind": kind, "url": url})).expect("a channel")
}

/// An in-process daemon with these channels, and a repository for agents.
async fn daemon_with(env: &TestEnv, channels: Vec<ChannelConfig>) -> InProcessDaemon {
    env.daemon_in_process_with(move |config| config.notifications = channels)
        .await
}

fn spawn(env: &TestEnv, repo: &std::path::Path, tasks: &[&str]) -> Vec<Value> {
    let mut args = vec!["spawn", "--repo", repo.to_str().expect("path")];
    args.extend_from_slice(tasks);
    tokio::task::block_in_place(|| env.ctl_json(&args))
        .as_array()
        .expect("a list")
        .clone()
}

const WEBHOOK_FIELDS: [&str; 8] = [
    "event",
    "title",
    "message",
    "agent_id",
    "session_id",
    "project_path",
    "url",
    "at_ms",
];

fn assert_webhook_shape(post: &Post) {
    let value = post.json();
    let mut keys: Vec<&str> = value
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    let mut want = WEBHOOK_FIELDS.to_vec();
    want.sort_unstable();
    assert_eq!(keys, want, "exactly the documented fields: {value:#}");
    assert_eq!(post.header("content-type"), "application/json");
}

#[tokio::test(flavor = "multi_thread")]
async fn webhook_and_ntfy_hear_of_an_approval_a_finish_and_a_failure() {
    let env = TestEnv::new();
    let repo = env.git_repo();
    let receiver = Receiver::start().await;
    let daemon = daemon_with(
        &env,
        vec![
            channel("webhook", &receiver.url("/hook")),
            channel("ntfy", &receiver.url("/topic")),
        ],
    )
    .await;

    // A dashboard watches (as orchestra-dashboard does): notifications link to it.
    let channel = orchestra_proto::connect(&env.socket)
        .await
        .expect("connect");
    let mut dashboard = orchestra_proto::v1::notify_client::NotifyClient::new(channel)
        .watch(orchestra_proto::v1::WatchNotificationsRequest {
            dashboard_url: "http://127.0.0.1:8888/".into(),
        })
        .await
        .expect("watch")
        .into_inner();

    // An approval, injected as the approvals queue reports it: both posts within a second
    // or so (a coalescing window, then one request each).
    let asked = Instant::now();
    let approval = NotifyInput::ApprovalNeeded {
        request_id: "req-1".into(),
        agent_id: "3f2a1b0c".into(),
        session_id: "sess-1".into(),
        project_path: repo.display().to_string(),
        tool: "Bash".into(),
        detail: format!("git push --force origin main {}", "x".repeat(400)),
    };
    daemon.ctx.notifier.notify(approval.clone());
    // The same request again (a re-sent prompt) is not told twice.
    daemon.ctx.notifier.notify(approval);
    let hook = receiver
        .wait_for("/hook", "approval_needed", |_| true)
        .await;
    let ntfy = receiver
        .wait_for("/topic", "approval_needed", |_| true)
        .await;
    let took = asked.elapsed();
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert_webhook_shape(&hook);
    let body = hook.json();
    assert_eq!(body["title"], "Approval needed");
    assert_eq!(body["agent_id"], "3f2a1b0c");
    assert_eq!(body["session_id"], "sess-1");
    assert_eq!(body["project_path"], repo.display().to_string());
    assert_eq!(body["url"], "http://127.0.0.1:8888/#agent=3f2a1b0c");
    let message = body["message"].as_str().expect("message");
    assert!(message.contains("Bash: git push --force"), "{message}");
    assert!(
        message.chars().count() < 200,
        "the command is cut: {message}"
    );
    assert!(body["at_ms"].as_i64().expect("at_ms") > 0);
    assert_eq!(ntfy.header("title"), "Approval needed");
    assert_eq!(ntfy.header("priority"), "high");
    assert_eq!(ntfy.header("tags"), "warning,approval_needed");
    assert!(ntfy.body.contains("wants to use Bash"), "{}", ntfy.body);
    assert_eq!(
        ntfy.header("click"),
        "http://127.0.0.1:8888/#agent=3f2a1b0c"
    );
    let shown = tokio::time::timeout(orchestra_tests::DEADLINE, dashboard.message())
        .await
        .expect("in time")
        .expect("a message")
        .expect("a notification");
    assert_eq!(shown.event, "approval_needed");
    assert_eq!(shown.title, "Approval needed");
    // The dashboard goes away: links stop.
    drop(dashboard);

    // A finished agent, then a failed one.
    let done = spawn(&env, &repo, &["say hello"]);
    let done_id = done[0]["id"].as_str().expect("id").to_owned();
    let hook = receiver
        .wait_for("/hook", "agent_done", |p| p.json()["agent_id"] == done_id)
        .await;
    assert_webhook_shape(&hook);
    let body = hook.json();
    assert_eq!(body["title"], "Agent finished");
    assert!(
        body["message"]
            .as_str()
            .expect("m")
            .starts_with("say hello: done in"),
        "{body}"
    );
    assert!(!body["session_id"].as_str().expect("s").is_empty());
    let ntfy = receiver.wait_for("/topic", "agent_done", |_| true).await;
    assert_eq!(ntfy.header("priority"), "default");
    assert_eq!(ntfy.header("title"), "Agent finished");

    let failed = spawn(&env, &repo, &["FAIL this one"]);
    let failed_id = failed[0]["id"].as_str().expect("id").to_owned();
    let hook = receiver
        .wait_for("/hook", "agent_failed", |p| {
            p.json()["agent_id"] == failed_id
        })
        .await;
    assert_webhook_shape(&hook);
    let body = hook.json();
    assert_eq!(body["title"], "Agent failed");
    assert!(
        body["message"]
            .as_str()
            .expect("m")
            .contains("API Error: 400"),
        "{body}"
    );
    let ntfy = receiver.wait_for("/topic", "agent_failed", |_| true).await;
    assert_eq!(ntfy.header("tags"), "x,agent_failed");

    // Each single-agent spawn is told by its agent's own event, not by a batch_done too.
    assert!(
        !receiver.posts().iter().any(|p| p.event() == "batch_done"),
        "{:#?}",
        receiver.posts()
    );
    assert_eq!(
        receiver
            .posts()
            .iter()
            .filter(|p| p.event() == "approval_needed")
            .count(),
        2,
        "one approval, once per channel"
    );
    daemon.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn dead_webhooks_delay_neither_agents_nor_other_channels() {
    let env = TestEnv::new();
    let repo = env.git_repo();
    let receiver = Receiver::start().await;
    let refused = refused_url();
    let daemon = daemon_with(
        &env,
        vec![
            channel("webhook", &receiver.url("/hang")),
            channel("webhook", &refused),
            channel("ntfy", &receiver.url("/topic")),
        ],
    )
    .await;

    spawn(&env, &repo, &["first", "second"]);
    let agents =
        tokio::task::block_in_place(|| wait_for_agents(&env, "both agents finished", all_finished));
    // Timed from the agents' end, not from the spawn (which a loaded machine makes slow).
    let finished = Instant::now();
    assert!(agents.iter().all(|a| a["state"] == "done"), "{agents:#?}");
    // The healthy channel hears of it while the hanging one still waits for an answer
    // (an attempt there takes 5 s to time out).
    receiver.wait_for("/topic", "batch_done", |_| true).await;
    let took = finished.elapsed();
    // Well under the 5 s a hanging attempt takes, less the lag of seeing the agents end.
    assert!(took < Duration::from_secs(3), "took {took:?}");

    // Agents go on: a third spawn runs as fast while two channels are still failing.
    spawn(&env, &repo, &["third"]);
    receiver
        .wait_for("/topic", "agent_done", |p| p.body.starts_with("third"))
        .await;

    // The refused one gives up after its retries; the failures are counted where a user
    // looks: notify list, daemon status, health.
    let list = tokio::task::block_in_place(|| {
        let deadline = Instant::now() + orchestra_tests::DEADLINE;
        loop {
            let list = env.ctl_json(&["notify", "list"]);
            if list["channels"][1]["failed"].as_u64().unwrap_or(0) >= 1 {
                return list;
            }
            assert!(Instant::now() < deadline, "never counted: {list:#}");
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    let dead = &list["channels"][1];
    assert_eq!(dead["kind"], "webhook");
    assert!(
        dead["last_error"]
            .as_str()
            .expect("error")
            .contains("cannot connect"),
        "{dead:#}"
    );
    assert!(dead["retries"].as_u64().expect("retries") >= 2, "{dead:#}");
    assert!(list["channels"][2]["sent"].as_u64().expect("sent") >= 2);
    assert!(
        list["recent"]
            .as_array()
            .expect("recent")
            .iter()
            .any(|d| d["outcome"] == "failed" && d["channel_index"] == 1),
        "{list:#}"
    );
    let status = tokio::task::block_in_place(|| env.ctl_json(&["daemon", "status"]));
    assert_eq!(status["notifications"]["channels"], 3);
    assert!(status["notifications"]["failed"].as_u64().expect("failed") >= 1);
    let health = tokio::task::block_in_place(|| env.ctl_json(&["health"]));
    assert!(health["notifications"]["failed"].as_u64().expect("failed") >= 1);
    let human = tokio::task::block_in_place(|| env.ctl_ok(&["daemon", "status"]));
    assert!(human.contains("3 channels:"), "{human}");

    // `notify test` prints each channel's answer and fails when one did not take it.
    let out =
        tokio::task::block_in_place(|| env.ctl(&["--json", "notify", "test", "--channel", "ntfy"]));
    assert!(out.status.success());
    let answer: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(answer["results"].as_array().expect("list").len(), 1);
    assert_eq!(answer["results"][0]["outcome"], "sent");
    assert_eq!(answer["results"][0]["answer"], "200 OK");
    receiver.wait_for("/topic", "test", |_| true).await;
    let out = tokio::task::block_in_place(|| env.ctl(&["notify", "test"]));
    assert_eq!(out.status.code(), Some(1), "a channel failed the test");
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("200 OK"), "{table}");
    assert!(table.contains("cannot connect"), "{table}");
    assert!(table.contains("no answer within 5 s"), "{table}");
    let progress = String::from_utf8_lossy(&out.stderr);
    assert!(
        progress.contains("#0 webhook: try 3 of 3 failed: no answer within 5 s; giving up"),
        "{progress}"
    );
    let out = tokio::task::block_in_place(|| env.ctl(&["notify", "test", "--channel", "desktop"]));
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no desktop channel is configured"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    daemon.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn notify_test_tells_each_try_and_a_later_success_clears_the_failure() {
    let env = TestEnv::new();
    let receiver = Receiver::start().await;
    receiver.down.store(true, Ordering::SeqCst);
    let daemon = daemon_with(&env, vec![channel("webhook", &receiver.url("/flaky"))]).await;
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();

    // Down: every try is told as it goes, with the wait before the next (issue #29).
    let out = tokio::task::block_in_place(|| env.ctl(&["notify", "test"]));
    assert_eq!(out.status.code(), Some(1), "the channel failed the test");
    let progress = text(&out.stderr);
    for line in [
        "#0 webhook: try 1 of 3…",
        "#0 webhook: try 1 of 3 failed: answered 503 Service Unavailable; next try in 0.5 s",
        "#0 webhook: try 2 of 3…",
        "#0 webhook: try 2 of 3 failed: answered 503 Service Unavailable; next try in 1.0 s",
        "#0 webhook: try 3 of 3 failed: answered 503 Service Unavailable; giving up",
    ] {
        assert!(progress.contains(line), "{line:?} in\n{progress}");
    }
    let list = tokio::task::block_in_place(|| env.ctl_json(&["notify", "list"]));
    assert!(
        list["channels"][0]["last_error"]
            .as_str()
            .unwrap_or("")
            .contains("503"),
        "{list:#}"
    );
    let health = tokio::task::block_in_place(|| env.ctl_json(&["health"]));
    assert!(
        health["notifications"]["last_error"]
            .as_str()
            .unwrap_or("")
            .contains("503"),
        "{health:#}"
    );

    // Back up: the next delivery gets through and the failure is no longer shown, in
    // notify list and health alike; the count of failures stays.
    receiver.down.store(false, Ordering::SeqCst);
    let out = tokio::task::block_in_place(|| env.ctl(&["notify", "test"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr).trim(), "#0 webhook: try 1 of 3…");
    let list = tokio::task::block_in_place(|| env.ctl_json(&["notify", "list"]));
    let webhook = &list["channels"][0];
    assert_eq!(webhook["last_error"].as_str().unwrap_or(""), "", "{list:#}");
    assert_eq!(webhook["failed"], 1, "{list:#}");
    assert_eq!(webhook["sent"], 1, "{list:#}");
    let human = tokio::task::block_in_place(|| env.ctl_ok(&["notify", "list"]));
    assert!(!human.contains("last failed"), "{human}");
    let health = tokio::task::block_in_place(|| env.ctl_json(&["health"]));
    assert_eq!(
        health["notifications"]["last_error"].as_str().unwrap_or(""),
        "",
        "{health:#}"
    );
    daemon.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn five_agents_finishing_together_make_one_batch_done() {
    let env = TestEnv::new();
    let repo = env.git_repo();
    let receiver = Receiver::start().await;
    let daemon = daemon_with(&env, vec![channel("webhook", &receiver.url("/hook"))]).await;

    // Injected: five finishes and their batch at once become exactly one notification.
    for i in 0..5 {
        daemon.ctx.notifier.notify(NotifyInput::AgentDone {
            agent_id: format!("a{i}"),
            session_id: String::new(),
            project_path: "/repo".into(),
            batch_id: "injected".into(),
            task: format!("task {i}"),
            cost_usd: 0.0,
            duration_ms: 0,
        });
    }
    daemon.ctx.notifier.notify(NotifyInput::BatchDone {
        batch_id: "injected".into(),
        project_path: "/repo".into(),
        done: 5,
        not_done: 0,
    });
    let batch = receiver.wait_for("/hook", "batch_done", |_| true).await;
    assert_eq!(batch.json()["title"], "All 5 agents finished");
    // A marker after them: once it is in, nothing of the batch is still on its way.
    daemon.ctx.notifier.notify(NotifyInput::Overlap {
        agent_ids: vec!["m1".into(), "m2".into()],
        project_path: "/repo".into(),
        paths: vec!["src/lib.rs".into()],
    });
    let overlap = receiver.wait_for("/hook", "overlap", |_| true).await;
    assert_eq!(
        overlap.json()["message"],
        "agents m1, m2 both change src/lib.rs"
    );
    assert_eq!(receiver.posts().len(), 2, "{:#?}", receiver.posts());

    // Five real agents of one spawn: one batch_done, and their finishes folded into it
    // or into a few "N agents finished".
    let tasks = ["one", "two", "three", "four", "five"];
    let mut args = vec!["--parallel", "5"];
    args.extend_from_slice(&tasks);
    spawn(&env, &repo, &args);
    tokio::task::block_in_place(|| wait_for_agents(&env, "all five finished", all_finished));
    let batch = receiver
        .wait_for("/hook", "batch_done", |p| {
            p.json()["project_path"] != "/repo"
        })
        .await;
    assert_eq!(batch.json()["title"], "All 5 agents finished");
    daemon.ctx.notifier.notify(NotifyInput::Overlap {
        agent_ids: vec!["m3".into(), "m4".into()],
        project_path: "/repo".into(),
        paths: vec!["marker".into()],
    });
    receiver
        .wait_for("/hook", "overlap", |p| {
            p.json()["message"]
                .as_str()
                .is_some_and(|m| m.contains("marker"))
        })
        .await;
    let posts = receiver.posts();
    let real: Vec<&Post> = posts[2..]
        .iter()
        .filter(|p| p.event() != "overlap")
        .collect();
    let batches = real.iter().filter(|p| p.event() == "batch_done").count();
    assert_eq!(batches, 1, "{real:#?}");
    assert!(
        real.len() < 6,
        "five finishes and a batch were coalesced: {real:#?}"
    );
    daemon.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_waiting_session_is_told_once_from_the_hook_or_the_registry() {
    let env = TestEnv::new();
    let receiver = Receiver::start().await;
    let daemon = daemon_with(&env, vec![channel("webhook", &receiver.url("/hook"))]).await;

    // The hook, as Claude Code runs it: its input on stdin.
    let hook_input = json!({
        "session_id": "5e55105e-0000-4000-8000-000000000001",
        "transcript_path": "/home/dev/.claude/projects/-work-x/5e55105e.jsonl",
        "cwd": "/work/x",
        "hook_event_name": "Notification",
        "message": "Claude needs your permission to use Bash",
    });
    let run_hook = |input: &Value| {
        let mut command = env.command(orchestra_tests::bin("orchestractl"));
        command.args(["--json", "hook", "notification"]);
        let out = run_hook_command(command, input);
        serde_json::from_slice::<Value>(&out.stdout).expect("json")
    };
    let first = tokio::task::block_in_place(|| run_hook(&hook_input));
    assert_eq!(first["notified"], true, "{first}");
    let post = receiver
        .wait_for("/hook", "session_waiting", |_| true)
        .await;
    let body = post.json();
    assert_eq!(body["session_id"], "5e55105e-0000-4000-8000-000000000001");
    assert_eq!(body["project_path"], "/work/x");
    assert_eq!(
        body["message"],
        "/work/x: Claude needs your permission to use Bash"
    );
    let again = tokio::task::block_in_place(|| run_hook(&hook_input));
    assert_eq!(again["notified"], false, "the same wait is told once");

    // The registry: a hand-started CLI whose status turns to "waiting".
    let session = "7a1fc0de-0000-4000-8000-000000000002";
    let dir = env.projects_dir().join("-work-y");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(
        dir.join(format!("{session}.jsonl")),
        format!(
            "{}\n",
            json!({"type": "user", "cwd": "/work/y", "sessionId": session,
                   "message": {"role": "user", "content": "hi"}, "timestamp": "2026-11-21T10:00:00Z"})
        ),
    )
    .expect("session file");
    let registry = env.claude_dir.join("sessions");
    std::fs::create_dir_all(&registry).expect("dir");
    let me = std::process::id();
    let proc_start = orchestra_proto::process::start_time(me).unwrap_or_default();
    let register = |status: &str| {
        let entry = json!({"pid": me, "sessionId": session, "cwd": "/work/y", "procStart": proc_start,
                           "kind": "interactive", "status": status, "waitingFor": "permission to use Write"});
        let tmp = registry.join(format!("{me}.json.tmp"));
        std::fs::write(&tmp, entry.to_string()).expect("write");
        std::fs::rename(&tmp, registry.join(format!("{me}.json"))).expect("rename");
    };
    register("busy");
    register("waiting");
    let post = receiver
        .wait_for("/hook", "session_waiting", |p| {
            p.json()["session_id"] == session
        })
        .await;
    assert_eq!(post.json()["message"], "/work/y: permission to use Write");
    daemon.shutdown().await;
}

/// `hooks install` adds Claude Code's `Notification` hook beside the permission hook; the
/// command it wrote, run the way Claude Code runs a command hook (`sh -c`, the hook's JSON
/// on stdin), reaches the webhook as `session_waiting`. The input has the fields Claude
/// Code documents for this hook (`session_id`, `transcript_path`, `cwd`,
/// `hook_event_name`, `message`, `notification_type`); our captures of 2.1.330 hold hook
/// inputs (transcript 61) but no `Notification` one.
#[tokio::test(flavor = "multi_thread")]
async fn hooks_install_adds_the_notification_hook_which_tells_a_waiting_session() {
    let env = TestEnv::new();
    let receiver = Receiver::start().await;
    let daemon = daemon_with(&env, vec![channel("webhook", &receiver.url("/hook"))]).await;
    let installed = tokio::task::block_in_place(|| env.ctl_json(&["hooks", "install"]));
    assert_eq!(installed["result"], "installed", "{installed}");
    let settings: Value = serde_json::from_str(
        &std::fs::read_to_string(env.claude_dir.join("settings.json")).expect("settings"),
    )
    .expect("json");
    let groups = settings["hooks"]["Notification"]
        .as_array()
        .expect("a list");
    assert_eq!(groups.len(), 1, "{settings:#}");
    let hook = &groups[0]["hooks"][0];
    assert_eq!(hook["type"], "command");
    let command = hook["command"].as_str().expect("command");
    assert!(command.ends_with(" hook notification"), "{command}");
    assert_eq!(installed["notification_command"], command);
    assert!(hook["timeout"].as_u64().is_some_and(|t| t >= 5));
    let status = tokio::task::block_in_place(|| env.ctl_json(&["hooks", "status"]));
    assert_eq!(status["notification_installed"], true, "{status}");

    let session = "0b5e55ed-0000-4000-8000-000000000003";
    let input = json!({
        "session_id": session,
        "transcript_path": format!("/home/dev/.claude/projects/-work-z/{session}.jsonl"),
        "cwd": "/work/z",
        "hook_event_name": "Notification",
        "message": "Claude is waiting for your input",
        "notification_type": "idle_prompt",
    });
    let out = tokio::task::block_in_place(|| {
        let mut sh = env.command("sh");
        sh.args(["-c", command]);
        run_hook_command(sh, &input)
    });
    assert!(
        out.stdout.is_empty(),
        "a Notification hook prints nothing Claude Code would read: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let post = receiver
        .wait_for("/hook", "session_waiting", |p| {
            p.json()["session_id"] == session
        })
        .await;
    assert_webhook_shape(&post);
    assert_eq!(
        post.json()["message"],
        "/work/z: Claude is waiting for your input"
    );

    let removed = tokio::task::block_in_place(|| env.ctl_json(&["hooks", "uninstall"]));
    assert_eq!(removed["result"], "uninstalled");
    let after: Value = serde_json::from_str(
        &std::fs::read_to_string(env.claude_dir.join("settings.json")).expect("settings"),
    )
    .expect("json");
    assert!(after.get("hooks").is_none(), "both hooks removed: {after}");
    daemon.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_overlap_radar_is_told_once_per_pair() {
    let env = TestEnv::new();
    let repo = env.git_repo();
    let receiver = Receiver::start().await;
    let daemon = daemon_with(&env, vec![channel("webhook", &receiver.url("/hook"))]).await;
    let gate = env.root.path().join("gate");
    let g = gate.display().to_string();
    let spawned = spawn(
        &env,
        &repo,
        &[
            "--allowed-tools",
            "Write",
            &format!("PUT:shared.txt=alpha GATE:{g} one"),
            &format!("PUT:shared.txt=beta GATE:{g} two"),
        ],
    );
    let mut ids: Vec<String> = spawned
        .iter()
        .map(|a| a["id"].as_str().expect("id").to_owned())
        .collect();
    ids.sort();
    let post = receiver.wait_for("/hook", "overlap", |_| true).await;
    assert_eq!(
        post.json()["message"],
        format!("agents {}, {} both change shared.txt", ids[0], ids[1]),
        "{:#?}",
        post.json()
    );
    std::fs::write(&gate, "go").expect("gate");
    tokio::task::block_in_place(|| wait_for_agents(&env, "both finished", all_finished));
    // A marker after them: once it is in, every overlap post of the pair has arrived.
    daemon.ctx.notifier.notify(NotifyInput::Overlap {
        agent_ids: vec!["m1".into(), "m2".into()],
        project_path: "/repo".into(),
        paths: vec!["marker".into()],
    });
    receiver
        .wait_for("/hook", "overlap", |p| {
            p.json()["message"]
                .as_str()
                .is_some_and(|m| m.contains("marker"))
        })
        .await;
    let told = receiver
        .posts()
        .iter()
        .filter(|p| p.event() == "overlap" && p.body.contains("shared.txt"))
        .count();
    assert_eq!(told, 1, "{:#?}", receiver.posts());
    daemon.shutdown().await;
}

/// A real approval (an agent asking over stdio, not an injected one) reaches the webhook
/// as `approval_needed`, with what it asks.
#[tokio::test(flavor = "multi_thread")]
async fn an_agents_permission_request_is_told_as_approval_needed() {
    let env = TestEnv::new();
    let repo = env.git_repo();
    let receiver = Receiver::start().await;
    let daemon = daemon_with(&env, vec![channel("webhook", &receiver.url("/hook"))]).await;
    let agent = spawn(&env, &repo, &["TOOL_BASH:rm -rf build"])[0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let post = receiver
        .wait_for("/hook", "approval_needed", |p| {
            p.json()["agent_id"] == agent.as_str()
        })
        .await;
    assert_webhook_shape(&post);
    let text = post.json().to_string();
    assert!(text.contains("rm -rf build"), "{text}");
    let pending = tokio::task::block_in_place(|| env.ctl_json(&["approvals"]));
    tokio::task::block_in_place(|| {
        env.ctl_ok(&["approve", pending[0]["id"].as_str().expect("id")]);
        wait_for_agents(&env, "done", all_finished);
    });
    daemon.shutdown().await;
}
