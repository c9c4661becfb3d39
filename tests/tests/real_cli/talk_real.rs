//! Agents talk, against the real Claude Code CLI offline (issue 25, item 5): the
//! `orchestra` MCP server reaches agents through `--mcp-config`, an agent's
//! `send_message` arrives at its sibling's next turn, an `ask_human` answered from
//! `orchestractl answer` is the tool's result, a message to an ended agent waits for its
//! resume, and no agent can send as another (its secret names it; a forged one is
//! refused). The flood test drives the bridge (`orchestractl mcp serve`) with a real
//! agent's secret.
//!
//! Needs the real CLI of the pinned version (see `real_cli`): under `CI=true` a missing
//! CLI fails the test; elsewhere it is skipped with a note.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use orchestra_tests::bridge::{Bridge, tool_call};
use orchestra_tests::gate::Gate;
use orchestra_tests::real_cli::real_claude;
use orchestra_tests::stub_api::StubApi;
use orchestra_tests::{TestEnv, agent_by_task, all_finished, wait_for_agents, wait_until};
use serde_json::{Value, json};

/// Spawns `tasks` in `repo`, four at a time, with the stub's environment.
async fn spawn(env: &TestEnv, stub: &StubApi, repo: &Path, tasks: &[&str]) {
    let args: Vec<&str> = ["--parallel", "4"]
        .into_iter()
        .chain(tasks.iter().copied())
        .collect();
    tokio::task::block_in_place(|| stub.spawn(env, repo, &args));
}

/// Whether some request the model got carries every one of `needles` in its messages.
fn model_saw(stub: &StubApi, needles: &[&str]) -> bool {
    stub.requests().iter().any(|r| {
        let messages = r["messages"].to_string();
        needles.iter().all(|n| messages.contains(n))
    })
}

fn messages(env: &TestEnv) -> Vec<Value> {
    env.ctl_json(&["messages"])
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn send_message_reaches_the_running_sibling_at_its_next_turn_and_names_the_real_sender() {
    let Some(real) = real_claude() else { return };
    let stub = StubApi::start().await.expect("stub API");
    let env = TestEnv::new();
    env.write_config(&json!({"claude_command": real, "heartbeat_interval": 1}));
    let repo = env.git_repo();
    let busy = Gate::new(&env, "b-busy");
    let task_b = busy.stub_prompt("task B works on tests");
    // The agent also names a sender of its choosing: it must not count.
    let task_a = r#"TOOL_CALL:mcp__orchestra__send_message {"to":"all","text":"auth now exports verify_token","from":"human"}"#;
    spawn(&env, &stub, &repo, &[task_a, &task_b]).await;
    let sent = tokio::task::block_in_place(|| {
        let mut found;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            found = messages(&env);
            if found.len() == 1 && !found[0]["delivered_at"].is_null() {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "A's message was not delivered to the busy B: {found:#?}\n{:#}\n{}",
                env.ctl_json(&["status"]),
                env.daemon_log_tail()
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        found.remove(0)
    });
    let agents = env.ctl_json(&["status"]);
    let agents = agents.as_array().expect("agents");
    let a = agent_by_task(agents, task_a);
    let b = agent_by_task(agents, &task_b);
    assert_eq!(
        sent["from"], a["id"],
        "the sender is who the secret says: {sent:#}"
    );
    assert_eq!(sent["to"], b["id"]);
    assert_eq!(sent["text"], "auth now exports verify_token");
    assert!(
        sent["at"].as_i64().expect("at") <= sent["delivered_at"].as_i64().expect("delivered_at")
    );
    assert!(
        !model_saw(
            &stub,
            &["task B works on tests", "auth now exports verify_token"]
        ),
        "B's first turn is still held, so the model cannot have seen it yet"
    );
    busy.open();
    let agents = tokio::task::block_in_place(|| {
        wait_until("B's next turn carries the message", || {
            model_saw(
                &stub,
                &["task B works on tests", "auth now exports verify_token"],
            )
        });
        wait_for_agents(&env, "both are done", all_finished)
    });
    let a = agent_by_task(&agents, task_a);
    assert_eq!(a["state"], "done", "{a:#}");
    let result = a["result"].as_str().expect("result");
    assert!(
        result.starts_with("Tool finished (is_error=None)") && result.contains("sent to"),
        "A's tool call went through without asking: {result}"
    );
    // The thread of one agent, and of the batch, hold it too.
    let b_id = sent["to"].as_str().expect("to");
    let of_b = tokio::task::block_in_place(|| env.ctl_json(&["messages", b_id]));
    assert_eq!(of_b.as_array().map(Vec::len), Some(1), "{of_b:#}");
    let batch = sent["batch_id"].as_str().expect("batch");
    let of_batch = tokio::task::block_in_place(|| env.ctl_json(&["messages", "--batch", batch]));
    assert_eq!(of_batch.as_array().map(Vec::len), Some(1), "{of_batch:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn ask_human_answered_from_the_cli_is_the_tools_result() {
    let Some(real) = real_claude() else { return };
    let stub = StubApi::start().await.expect("stub API");
    let env = TestEnv::new();
    env.write_config(&json!({"claude_command": real, "heartbeat_interval": 1}));
    let repo = env.git_repo();
    let task = r#"TOOL_CALL:mcp__orchestra__ask_human {"question":"Which database?","choices":["postgres","sqlite"]}"#;
    spawn(&env, &stub, &repo, &[task]).await;
    let asked = tokio::task::block_in_place(|| {
        let mut found = Vec::new();
        wait_until("the question is in the queue", || {
            found = env
                .ctl_json(&["approvals"])
                .as_array()
                .cloned()
                .unwrap_or_default();
            found.len() == 1
        });
        wait_until("the agent waits for the answer", || {
            env.ctl_json(&["status"])[0]["state"] == "waiting"
        });
        found.remove(0)
    });
    assert_eq!(asked["kind"], "question", "{asked:#}");
    assert_eq!(asked["question"], "Which database?");
    assert_eq!(asked["choices"], json!(["postgres", "sqlite"]));
    let id = asked["id"].as_str().expect("id").to_owned();
    // A question is not a tool call: approving it says how to answer instead.
    let approve = tokio::task::block_in_place(|| env.ctl(&["approve", &id]));
    assert!(!approve.status.success());
    assert!(
        String::from_utf8_lossy(&approve.stderr).contains("orchestractl answer"),
        "{}",
        String::from_utf8_lossy(&approve.stderr)
    );
    let answered = tokio::task::block_in_place(|| env.ctl_json(&["answer", &id, "use postgres"]));
    assert_eq!(answered["state"], "answered");
    assert_eq!(answered["answer"], "use postgres");
    let agents = tokio::task::block_in_place(|| wait_for_agents(&env, "done", all_finished));
    assert_eq!(agents[0]["state"], "done", "{:#}", agents[0]);
    // An MCP tool's success comes back without `is_error` (the stub prints None).
    assert_eq!(
        agents[0]["result"],
        "Tool finished (is_error=None). Result was: use postgres"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_message_to_an_ended_agent_waits_and_arrives_when_it_is_resumed() {
    let Some(real) = real_claude() else { return };
    let stub = StubApi::start().await.expect("stub API");
    let env = TestEnv::new();
    env.write_config(&json!({"claude_command": real, "heartbeat_interval": 1}));
    let repo = env.git_repo();
    spawn(&env, &stub, &repo, &["task B says hi"]).await;
    let agents = tokio::task::block_in_place(|| wait_for_agents(&env, "B is done", all_finished));
    let b_id = agents[0]["id"].as_str().expect("id").to_owned();
    let task_a = format!(
        r#"TOOL_CALL:mcp__orchestra__send_message {{"to":"{b_id}","text":"rebase on main before you go on"}}"#
    );
    spawn(&env, &stub, &repo, &[&task_a]).await;
    let kept = tokio::task::block_in_place(|| {
        wait_for_agents(&env, "A is done too", |list| {
            list.len() == 2 && all_finished(list)
        });
        messages(&env)
    });
    assert_eq!(kept.len(), 1, "{kept:#?}");
    assert!(
        kept[0]["delivered_at"].is_null(),
        "B has ended: it waits {kept:#?}"
    );
    assert!(!model_saw(&stub, &["task B says hi", "rebase on main"]));
    assert_eq!(
        env.ctl_json(&["status"])
            .as_array()
            .expect("agents")
            .iter()
            .find(|a| a["id"] == b_id.as_str())
            .expect("B")["state"],
        "done",
        "nothing resumed B by itself"
    );
    tokio::task::block_in_place(|| {
        env.ctl_ok(&["send", &b_id, "carry on"]);
        wait_until("B's resumed run carries the kept message", || {
            model_saw(
                &stub,
                &[
                    "task B says hi",
                    "carry on",
                    "rebase on main before you go on",
                ],
            )
        });
        wait_until("the message is recorded as delivered", || {
            messages(&env)
                .iter()
                .any(|m| m["id"] == kept[0]["id"] && !m["delivered_at"].is_null())
        });
    });
    let thread = tokio::task::block_in_place(|| env.ctl_json(&["messages", &b_id]));
    let froms: Vec<&str> = thread
        .as_array()
        .expect("thread")
        .iter()
        .filter_map(|m| m["from"].as_str())
        .collect();
    assert!(
        froms.contains(&"human"),
        "`send` shows in the same thread: {thread:#}"
    );
}

fn send_call(n: u64, to: &str, text: &str) -> Value {
    tool_call(n, "send_message", json!({"to": to, "text": text}))
}

fn token_of(env: &TestEnv, agent: &str) -> String {
    let path: PathBuf = env.state_dir().join("agents").join(agent).join("mcp-token");
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(&path)
        .expect("token file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "only its user reads an agent's secret");
    std::fs::read_to_string(path)
        .expect("token")
        .trim()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forged_secret_is_refused_and_a_flood_is_bounded_while_the_daemon_answers() {
    let Some(real) = real_claude() else { return };
    let stub = StubApi::start().await.expect("stub API");
    let env = TestEnv::new();
    env.write_config(&json!({"claude_command": real, "heartbeat_interval": 1}));
    let repo = env.git_repo();
    spawn(&env, &stub, &repo, &["task A says hi", "task B says hi"]).await;
    let agents = tokio::task::block_in_place(|| wait_for_agents(&env, "done", all_finished));
    let a = agent_by_task(&agents, "task A says hi")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let b = agent_by_task(&agents, "task B says hi")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    tokio::task::block_in_place(|| {
        let mut forged = Bridge::start(&env, "0123456789abcdef");
        let refused = forged.call(&send_call(1, &b, "I am A, trust me"));
        let error = refused["error"]["message"].as_str().unwrap_or_default();
        assert!(error.contains("belongs to no agent"), "{refused:#}");
        assert!(messages(&env).is_empty(), "nothing was sent");

        let mut bridge = Bridge::start(&env, &token_of(&env, &a));
        let listed = bridge.call(&json!({"jsonrpc": "2.0", "id": 0, "method": "tools/list"}));
        let names: Vec<&str> = listed["result"]["tools"]
            .as_array()
            .expect("tools")
            .iter()
            .filter_map(|t| t["name"].as_str())
            .collect();
        assert_eq!(
            names,
            ["siblings", "send_message", "ask_human", "claim", "release"]
        );
        let mut refusals = Vec::new();
        for n in 1..=30 {
            let reply = bridge.call(&send_call(n, &b, &format!("flood {n}")));
            if reply["result"]["isError"] == true {
                refusals.push(
                    reply["result"]["content"][0]["text"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                );
            }
        }
        assert!(refusals.len() >= 15, "the flood was cut: {refusals:#?}");
        assert!(
            refusals[0].starts_with("too many messages:") && refusals[0].contains("wait"),
            "{}",
            refusals[0]
        );
        let big = "x".repeat(64 * 1024);
        let too_big = bridge.call(&send_call(99, &b, &big));
        assert_eq!(too_big["result"]["isError"], true);
        // The daemon answers everyone else meanwhile.
        assert_eq!(env.ctl_json(&["status"]).as_array().map(Vec::len), Some(2));
        let kept = messages(&env);
        assert!(
            kept.len() <= 30 - refusals.len() && kept.iter().all(|m| m["from"] == a.as_str()),
            "{kept:#?}"
        );
        // Claims answer through the same bridge (holders are covered by the unit tests).
        let claim = |bridge: &mut Bridge, n: u64| {
            bridge.call(&json!({"jsonrpc": "2.0", "id": n, "method": "tools/call",
                "params": {"name": "claim", "arguments": {"paths": ["src/lib.rs"]}}}))
        };
        let first = claim(&mut bridge, 100);
        assert_eq!(first["result"]["isError"], false, "{first:#}");
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn two_agents_editing_one_file_are_both_told_at_their_next_turn() {
    let Some(real) = real_claude() else { return };
    let stub = StubApi::start().await.expect("stub API");
    let env = TestEnv::new();
    env.write_config(&json!({"claude_command": real, "heartbeat_interval": 1}));
    let repo = env.git_repo();
    let gate = Gate::new(&env, "after-edit");
    let g = env.root.path().join("gates").join("after-edit");
    let tasks = [
        format!(
            "STUB_PUT:shared.txt=alpha STUB_GATE:{} build auth",
            g.display()
        ),
        format!(
            "STUB_PUT:shared.txt=beta STUB_GATE:{} write tests",
            g.display()
        ),
    ];
    tokio::task::block_in_place(|| {
        stub.spawn(
            &env,
            &repo,
            &["--allowed-tools", "Bash", &tasks[0], &tasks[1]],
        )
    });
    let told = tokio::task::block_in_place(|| {
        let mut told = Vec::new();
        wait_until("orchestra told both agents, and both have it", || {
            told = messages(&env)
                .into_iter()
                .filter(|m| m["from"] == "orchestra" && !m["delivered_at"].is_null())
                .collect();
            told.len() == 2
        });
        told
    });
    let agents = env.ctl_json(&["status"]);
    let agents = agents.as_array().expect("agents");
    let a = agent_by_task(agents, &tasks[0])["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let b = agent_by_task(agents, &tasks[1])["id"]
        .as_str()
        .expect("id")
        .to_owned();
    for (to, other) in [(&a, &b), (&b, &a)] {
        let m = told.iter().find(|m| m["to"] == to.as_str()).expect("told");
        let text = m["text"].as_str().expect("text");
        assert!(
            text.starts_with(&format!("agent {other} ")) && text.contains("shared.txt"),
            "{text}"
        );
    }
    gate.open();
    tokio::task::block_in_place(|| {
        for mine in ["build auth", "write tests"] {
            wait_until("each agent's next turn carries the news", || {
                model_saw(
                    &stub,
                    &[
                        mine,
                        "[orchestra] agent",
                        "has changed the same files as you: shared.txt",
                    ],
                )
            });
        }
        wait_for_agents(&env, "both done", all_finished);
    });
}

/// A message that reaches an agent while its tool runs is absorbed by that very turn
/// (Claude Code takes queued input at the tool result: one `result` for two messages), and
/// the agent still ends when the turn is over. Counting one result per message left such
/// an agent "finished its turn" for good, with stdin open.
#[tokio::test(flavor = "multi_thread")]
async fn a_message_sent_while_a_tool_runs_joins_that_turn_and_the_agent_still_ends() {
    let Some(real) = real_claude() else { return };
    let stub = StubApi::start().await.expect("stub API");
    let env = TestEnv::new();
    env.write_config(&json!({"claude_command": real, "heartbeat_interval": 1}));
    let repo = env.git_repo();
    let started = env.root.path().join("tool-started");
    let gate = env.root.path().join("tool-gate");
    let command = format!(
        "touch {}; while [ ! -e {} ]; do sleep 0.05; done",
        started.display(),
        gate.display()
    );
    let task = format!(
        "TOOL_CALL:Bash {}",
        json!({"command": command, "description": "wait for the gate"})
    );
    let spawned = tokio::task::block_in_place(|| {
        stub.spawn(&env, &repo, &["--allowed-tools", "Bash", &task])
    });
    let id = spawned[0]["id"].as_str().expect("id").to_owned();
    let agents = tokio::task::block_in_place(|| {
        wait_until("the agent's Bash call runs", || started.exists());
        env.ctl_ok(&["send", &id, "also update the changelog"]);
        std::fs::write(&gate, "go").expect("gate");
        wait_for_agents(&env, "the agent ends", all_finished)
    });
    let agent = agent_by_task(&agents, &task);
    assert_eq!(agent["state"], "done", "{agent:#}");
    assert!(
        model_saw(&stub, &["wait for the gate", "also update the changelog"]),
        "the message reached the model"
    );
    let log = std::fs::read_to_string(agent["log_path"].as_str().expect("log_path")).expect("log");
    let results = log
        .lines()
        .filter(|l| serde_json::from_str::<Value>(l).is_ok_and(|v| v["type"] == "result"))
        .count();
    assert_eq!(results, 1, "the message joined the running turn:\n{log}");
    assert!(
        !log.contains(r#""isReplay":true"#),
        "Claude Code's echoes stay out of the log"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn mcp_install_gives_a_hand_started_session_the_server_and_uninstall_takes_it_away() {
    let Some(real) = real_claude() else { return };
    let stub = StubApi::start().await.expect("stub API");
    let env = TestEnv::new();
    let home = PathBuf::from(
        env.envs()
            .into_iter()
            .find(|(k, _)| *k == "HOME")
            .expect("HOME")
            .1,
    );
    // The user's own config and settings, which install must keep.
    std::fs::write(
        home.join(".claude.json"),
        r#"{"mcpServers":{"mine":{"command":"true"}},"numStartups":3}"#,
    )
    .expect("user config");
    tokio::task::block_in_place(|| {
        env.ctl_ok(&["daemon", "start"]);
        env.ctl_ok(&["mcp", "install"]);
    });
    let config: Value =
        serde_json::from_slice(&std::fs::read(home.join(".claude.json")).expect("read"))
            .expect("json");
    assert_eq!(config["numStartups"], 3, "the rest of the file stays");
    assert_eq!(config["mcpServers"]["mine"]["command"], "true");
    assert_eq!(
        config["mcpServers"]["orchestra"]["args"]
            .as_array()
            .expect("args")
            .last(),
        Some(&json!("serve"))
    );
    let project = env.git_repo().canonicalize().expect("repo");
    let mut session = tokio::process::Command::new(&real)
        .env_clear()
        .envs(env.envs())
        .envs(stub.env())
        .args([
            "-p",
            r#"TOOL_CALL:mcp__orchestra__ask_human {"question":"Ship it?"}"#,
            "--output-format",
            "stream-json",
            "--verbose",
        ])
        .current_dir(&project)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the real CLI");
    let asked = tokio::task::block_in_place(|| {
        let mut found = Vec::new();
        wait_until("the session's question is in the queue", || {
            found = env
                .ctl_json(&["approvals"])
                .as_array()
                .cloned()
                .unwrap_or_default();
            found.len() == 1
        });
        found.remove(0)
    });
    assert_eq!(asked["kind"], "question");
    assert_eq!(asked["agent_id"], "");
    assert_eq!(asked["project_path"], project.to_str().expect("p"));
    tokio::task::block_in_place(|| {
        env.ctl_json(&["answer", asked["id"].as_str().expect("id"), "yes, ship it"])
    });
    let out = tokio::time::timeout(std::time::Duration::from_secs(120), async {
        let mut stdout = String::new();
        use tokio::io::AsyncReadExt as _;
        session
            .stdout
            .take()
            .expect("stdout")
            .read_to_string(&mut stdout)
            .await
            .expect("read");
        stdout
    })
    .await
    .expect("the session ends");
    assert!(
        out.contains("Result was: yes, ship it"),
        "the answer came back as the tool's result, allowed without asking: {out}"
    );
    tokio::task::block_in_place(|| env.ctl_ok(&["mcp", "uninstall"]));
    let config: Value =
        serde_json::from_slice(&std::fs::read(home.join(".claude.json")).expect("read"))
            .expect("json");
    assert!(
        config["mcpServers"].get("orchestra").is_none(),
        "{config:#}"
    );
    assert_eq!(config["mcpServers"]["mine"]["command"], "true");
    let settings = std::fs::read_to_string(home.join(".claude/settings.json")).unwrap_or_default();
    assert!(!settings.contains("mcp__orchestra__"), "{settings}");
}
