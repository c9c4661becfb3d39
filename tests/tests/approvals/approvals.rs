//! Approvals end to end: an agent (or a hand-started session, through the hook) asks to
//! run a tool, the user answers from the CLI, and the answer reaches Claude Code.

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use orchestra_tests::{TestEnv, all_finished, bin, wait_for_agents, wait_until};
use serde_json::Value;

fn spawn_one(env: &TestEnv, repo: &std::path::Path, task: &str) -> String {
    let agents = env.ctl_json(&["spawn", "--repo", repo.to_str().expect("p"), task]);
    agents[0]["id"].as_str().expect("id").to_owned()
}

fn pending(env: &TestEnv) -> Vec<Value> {
    env.ctl_json(&["approvals"])
        .as_array()
        .cloned()
        .expect("a list")
}

/// Waits until exactly one approval is pending and returns it.
fn wait_for_one_pending(env: &TestEnv) -> Value {
    let mut found = Vec::new();
    wait_until("an approval is pending", || {
        found = pending(env);
        found.len() == 1
    });
    found.remove(0)
}

/// Asserts that the one approval kept expired, ended by the daemon; returns it.
fn the_only_approval_expired(env: &TestEnv) -> Value {
    let all = env.ctl_json(&["approvals", "--all"]);
    assert_eq!(all.as_array().map(Vec::len), Some(1), "{all:#}");
    assert_eq!(all[0]["state"], "expired");
    assert_eq!(all[0]["decided_by"], "orchestrad");
    all[0].clone()
}

/// Kills the running daemon with SIGKILL and waits until it is gone.
fn kill_9_the_daemon(env: &TestEnv) {
    let pid = env.ctl_json(&["daemon", "status"])["pid"]
        .as_i64()
        .expect("pid") as i32;
    kill(Pid::from_raw(pid), Signal::SIGKILL).expect("kill -9 the daemon");
    wait_until("the daemon is dead", || {
        orchestra_proto::process::gone(pid as u32)
    });
}

/// Starts a session as a user would by hand (fake-claude `-p`, so the user's hooks
/// decide) in the folder `by-hand`, its model running `command` in Bash.
fn start_by_hand(env: &TestEnv, command: &str) -> (std::path::PathBuf, std::process::Child) {
    let project = env.root.path().join("by-hand");
    std::fs::create_dir_all(&project).expect("dir");
    let session = env
        .command(bin("fake-claude"))
        .args([
            "-p",
            &format!("TOOL_BASH:{command}"),
            "--output-format",
            "stream-json",
            "--verbose",
        ])
        .current_dir(&project)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("fake-claude");
    (project, session)
}

fn agent(env: &TestEnv, id: &str) -> Value {
    env.ctl_json(&["status"])
        .as_array()
        .expect("list")
        .iter()
        .find(|a| a["id"] == id)
        .cloned()
        .expect("the agent")
}

#[test]
fn ask_wait_approve_from_the_cli_then_the_tool_runs() {
    let env = TestEnv::new();
    let repo = env.git_repo();
    let id = spawn_one(
        &env,
        &repo,
        "TOOL_BASH:mkdir -p build && touch build/ran.txt",
    );
    let asked = wait_for_one_pending(&env);
    // The JSON fields are a contract.
    let mut keys: Vec<&str> = asked
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "agent_id",
            "created_at_ms",
            "decided_at_ms",
            "decided_by",
            "description",
            "id",
            "input",
            "kind",
            "project_path",
            "session_id",
            "state",
            "tool_name",
        ]
    );
    assert_eq!(asked["kind"], "tool");
    assert_eq!(asked["agent_id"], id.as_str());
    assert_eq!(asked["tool_name"], "Bash");
    assert_eq!(
        asked["input"]["command"],
        "mkdir -p build && touch build/ran.txt"
    );
    assert_eq!(asked["state"], "pending");
    wait_until("the agent waits", || agent(&env, &id)["state"] == "waiting");
    let waiting = agent(&env, &id);
    assert_eq!(
        waiting["activity"],
        "needs approval: Bash mkdir -p build && touch build/ran.txt"
    );
    let cwd = std::path::PathBuf::from(waiting["cwd"].as_str().expect("cwd"));
    assert!(
        !cwd.join("build/ran.txt").exists(),
        "nothing runs before the answer"
    );
    let table = env.ctl_ok(&["status"]);
    assert!(table.contains("waiting for you:"), "{table}");

    let approval_id = asked["id"].as_str().expect("id").to_owned();
    let answer = env.ctl_json(&["approve", &approval_id[..4]]);
    assert_eq!(answer["state"], "allowed");
    assert_eq!(answer["decided_by"], "cli");
    let agents = wait_for_agents(&env, "done", all_finished);
    assert_eq!(agents[0]["state"], "done", "{:#}", agents[0]);
    assert!(
        cwd.join("build/ran.txt").exists(),
        "the approved command ran"
    );
    assert!(pending(&env).is_empty());

    // A late answer is refused with who answered first.
    let late = env.ctl(&["deny", &approval_id]);
    assert!(!late.status.success());
    let stderr = String::from_utf8_lossy(&late.stderr);
    assert!(
        stderr.contains("already answered (allowed by cli at "),
        "{stderr}"
    );
    let all = env.ctl_json(&["approvals", "--all"]);
    assert_eq!(all[0]["state"], "allowed");
    assert!(all[0]["decided_at_ms"].as_i64().expect("ms") > 0);
}

#[test]
fn deny_with_a_message_reaches_the_model() {
    let env = TestEnv::new();
    let repo = env.git_repo();
    spawn_one(&env, &repo, "TOOL_BASH:rm -rf build");
    let asked = wait_for_one_pending(&env);
    let id = asked["id"].as_str().expect("id");
    let answer = env.ctl_json(&[
        "deny",
        id,
        "--message",
        "keep build/, run make clean instead",
    ]);
    assert_eq!(answer["state"], "denied");
    let agents = wait_for_agents(&env, "done", all_finished);
    let result = agents[0]["result"].as_str().expect("result");
    assert!(
        result.contains("keep build/, run make clean instead"),
        "the model saw the message: {result}"
    );
    assert_eq!(agents[0]["permission_denials"][0], "Bash: rm -rf build");
    // Refusals show in the tables, not only in --json.
    let table = env.ctl_ok(&["status"]);
    assert!(table.contains("refused: Bash: rm -rf build"), "{table}");
    let collected = env.ctl_ok(&["collect"]);
    assert!(
        collected.contains("refused: Bash: rm -rf build"),
        "{collected}"
    );
}

#[test]
fn two_racing_answers_exactly_one_wins() {
    let env = TestEnv::new();
    let repo = env.git_repo();
    spawn_one(&env, &repo, "TOOL_BASH:true");
    let asked = wait_for_one_pending(&env);
    let id = asked["id"].as_str().expect("id").to_owned();
    let racers: Vec<_> = [["approve", id.as_str()], ["deny", id.as_str()]]
        .into_iter()
        .map(|args| {
            env.command(bin("orchestractl"))
                .args(args)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("orchestractl")
        })
        .collect();
    let outcomes: Vec<std::process::Output> = racers
        .into_iter()
        .map(|c| c.wait_with_output().expect("wait"))
        .collect();
    let winners = outcomes.iter().filter(|o| o.status.success()).count();
    assert_eq!(winners, 1, "{outcomes:?}");
    let loser = outcomes
        .iter()
        .find(|o| !o.status.success())
        .expect("loser");
    assert!(
        String::from_utf8_lossy(&loser.stderr).contains("already answered"),
        "{loser:?}"
    );
    let agents = wait_for_agents(&env, "done", all_finished);
    assert_eq!(agents[0]["state"], "done");
}

#[test]
fn a_pending_approval_survives_kill_9_of_the_daemon() {
    let env = TestEnv::new();
    let repo = env.git_repo();
    let id = spawn_one(&env, &repo, "TOOL_BASH:touch survived.txt");
    let asked = wait_for_one_pending(&env);
    wait_until("the agent waits", || agent(&env, &id)["state"] == "waiting");
    kill_9_the_daemon(&env);
    // The next command starts a new daemon: the approval and the waiting agent are there.
    let again = wait_for_one_pending(&env);
    assert_eq!(again["id"], asked["id"]);
    assert_eq!(agent(&env, &id)["state"], "waiting");
    env.ctl_json(&["approve", asked["id"].as_str().expect("id")]);
    let agents = wait_for_agents(&env, "done", all_finished);
    assert_eq!(agents[0]["state"], "done", "{:#}", agents[0]);
    let cwd = std::path::PathBuf::from(agents[0]["cwd"].as_str().expect("cwd"));
    assert!(cwd.join("survived.txt").exists());
}

#[test]
fn an_unanswered_approval_expires_and_the_model_is_told() {
    let env = TestEnv::new();
    env.write_config(&serde_json::json!({
        "claude_command": bin("fake-claude"),
        "heartbeat_interval": 1,
        "approval_timeout_s": 1,
    }));
    let repo = env.git_repo();
    spawn_one(&env, &repo, "TOOL_BASH:touch late.txt");
    let agents = wait_for_agents(&env, "done", all_finished);
    assert!(
        agents[0]["result"]
            .as_str()
            .expect("result")
            .contains("approval_timeout_s"),
        "{:#}",
        agents[0]
    );
    the_only_approval_expired(&env);
}

#[test]
fn stopping_a_waiting_agent_cancels_its_approval() {
    let env = TestEnv::new();
    let repo = env.git_repo();
    let id = spawn_one(&env, &repo, "TOOL_BASH:true");
    wait_for_one_pending(&env);
    env.ctl_ok(&["stop", &id]);
    wait_for_agents(&env, "stopped", all_finished);
    let all = env.ctl_json(&["approvals", "--all"]);
    assert_eq!(all[0]["state"], "cancelled");
    assert!(pending(&env).is_empty());
}

#[test]
fn edits_need_no_approval_by_default() {
    let env = TestEnv::new();
    let repo = env.git_repo();
    // acceptEdits: the Write inside the worktree just happens.
    spawn_one(&env, &repo, "WRITE:edited.txt edit something");
    let agents = wait_for_agents(&env, "done", all_finished);
    assert_eq!(agents[0]["state"], "done");
    assert_eq!(agents[0]["permission_mode"], "acceptEdits");
    assert!(
        agents[0]["permission_denials"]
            .as_array()
            .expect("list")
            .is_empty()
    );
    let cwd = std::path::PathBuf::from(agents[0]["cwd"].as_str().expect("cwd"));
    assert!(cwd.join("edited.txt").exists());
}

/// The hook as a hand-started session runs it: fake-claude with `-p`, the user's
/// settings holding our hook, and an answer from the CLI.
#[test]
fn a_hand_started_session_with_the_hook_is_approved_through_the_daemon() {
    let env = TestEnv::new();
    let settings = env.claude_dir.join("settings.json");
    std::fs::write(
        &settings,
        r#"{"theme": "dark", "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "true"}]}]}}"#,
    )
    .expect("settings");
    // The hook never starts a daemon (nobody would be watching it): one must be running.
    env.ctl_ok(&["daemon", "start"]);
    let installed = env.ctl_json(&["hooks", "install"]);
    assert_eq!(installed["result"], "installed");
    let merged: Value =
        serde_json::from_str(&std::fs::read_to_string(&settings).expect("read")).expect("json");
    assert_eq!(merged["theme"], "dark", "the rest is kept");
    assert_eq!(merged["hooks"]["Stop"][0]["hooks"][0]["command"], "true");
    let hook = &merged["hooks"]["PermissionRequest"][0]["hooks"][0];
    assert!(
        hook["command"]
            .as_str()
            .expect("command")
            .ends_with("hook permission-request")
    );
    assert_eq!(hook["timeout"], 600);
    assert!(
        env.claude_dir
            .join("settings.json.orchestra-backup")
            .exists()
    );
    assert_eq!(env.ctl_json(&["hooks", "status"])["installed"], true);
    // Installing twice changes nothing.
    assert_eq!(
        env.ctl_json(&["hooks", "install"])["result"],
        "already_installed"
    );

    let (project, session) = start_by_hand(&env, "touch by-hand.txt");
    let asked = wait_for_one_pending(&env);
    assert_eq!(asked["agent_id"], "");
    assert_eq!(asked["tool_name"], "Bash");
    assert_eq!(
        asked["project_path"],
        project.canonicalize().expect("c").to_str().expect("p")
    );
    assert!(!asked["session_id"].as_str().expect("s").is_empty());
    env.ctl_json(&["approve", asked["id"].as_str().expect("id")]);
    let out = session.wait_with_output().expect("session ends");
    assert!(out.status.success());
    assert!(
        project.join("by-hand.txt").exists(),
        "the hook's allow ran it"
    );

    // Our own agents are never asked twice: the hook stays out of the way inside them.
    let repo = env.git_repo();
    spawn_one(&env, &repo, "TOOL_BASH:true");
    let one = wait_for_one_pending(&env);
    assert!(!one["agent_id"].as_str().expect("a").is_empty());
    env.ctl_json(&["approve", one["id"].as_str().expect("id")]);
    wait_for_agents(&env, "done", all_finished);

    // Uninstall leaves everything else as it is now.
    assert_eq!(
        env.ctl_json(&["hooks", "uninstall"])["result"],
        "uninstalled"
    );
    let after: Value =
        serde_json::from_str(&std::fs::read_to_string(&settings).expect("read")).expect("json");
    assert_eq!(
        after,
        serde_json::json!({"theme": "dark", "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "true"}]}]}})
    );
}

#[test]
fn the_hook_without_a_daemon_exits_without_a_decision() {
    let env = TestEnv::new();
    let mut hook = env
        .command(bin("orchestractl"))
        .args(["--no-autostart", "hook", "permission-request"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("hook");
    {
        use std::io::Write as _;
        let mut stdin = hook.stdin.take().expect("stdin");
        stdin
            .write_all(br#"{"session_id":"s","cwd":"/tmp","tool_name":"Bash","tool_input":{"command":"ls"}}"#)
            .expect("write");
    }
    let out = hook.wait_with_output().expect("hook ends");
    assert!(out.status.success(), "{out:?}");
    assert!(out.stdout.is_empty(), "no decision: {out:?}");
}

/// fake-claude speaks the stdio permission protocol as the real CLI did in transcript
/// `56_perm_prompt_always_allow_bash`: the same request shape, "always" writes the rule
/// to `.claude/settings.local.json`, and the same call is then not asked again.
#[test]
fn fake_claude_speaks_the_permission_protocol_of_the_transcripts() {
    use std::io::{BufRead, Write};
    let env = TestEnv::new();
    let transcript = std::fs::read_to_string(
        orchestra_tests::fixtures()
            .join("claude-code/stream-json/56_perm_prompt_always_allow_bash.transcript.jsonl"),
    )
    .expect("fixture");
    let real: Vec<Value> = transcript
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|l| l.get("msg").cloned())
        .collect();
    let real_request = real
        .iter()
        .find(|m| m["type"] == "control_request")
        .expect("a request");
    let real_answer = real
        .iter()
        .find(|m| m["type"] == "control_response")
        .expect("an answer");
    let keys = |v: &Value| {
        let mut k: Vec<String> = v
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        k.sort();
        k
    };

    let project = env.root.path().join("proto-check");
    std::fs::create_dir_all(&project).expect("dir");
    let mut child = env
        .command(bin("fake-claude"))
        .args([
            "-p",
            "--output-format",
            "stream-json",
            "--verbose",
            "--input-format",
            "stream-json",
            "--permission-prompt-tool",
            "stdio",
        ])
        .current_dir(&project)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("fake-claude");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut lines = std::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut next_of = |kind: &str| -> Value {
        for line in lines.by_ref() {
            let value: Value = serde_json::from_str(&line.expect("line")).expect("json");
            if value["type"] == kind {
                return value;
            }
        }
        panic!("no {kind} line");
    };
    let user = |text: &str| {
        serde_json::json!({"type": "user", "message": {"role": "user", "content": text}})
            .to_string()
    };
    writeln!(stdin, "{}", user("TOOL_BASH:python3 -V")).expect("write");
    let request = next_of("control_request");
    assert_eq!(keys(&request), keys(real_request));
    assert_eq!(keys(&request["request"]), keys(&real_request["request"]));
    assert_eq!(
        request["request"]["input"],
        real_request["request"]["input"]
    );
    assert_eq!(
        request["request"]["permission_suggestions"],
        real_request["request"]["permission_suggestions"]
    );
    // Answer "always" exactly as the transcript's host did.
    let mut answer = real_answer.clone();
    answer["response"]["request_id"] = request["request_id"].clone();
    writeln!(stdin, "{answer}").expect("write");
    let result = next_of("result");
    assert!(
        result["result"]
            .as_str()
            .expect("r")
            .starts_with("Tool finished (is_error=False)"),
        "{result}"
    );
    let written: Value = serde_json::from_str(
        &std::fs::read_to_string(project.join(".claude/settings.local.json")).expect("written"),
    )
    .expect("json");
    let expected: Value =
        serde_json::from_str(
            &std::fs::read_to_string(orchestra_tests::fixtures().join(
                "claude-code/stream-json/56_perm_prompt_always_allow_bash.settings.local.json",
            ))
            .expect("fixture"),
        )
        .expect("json");
    assert_eq!(written, expected);
    // The same call again is not asked.
    writeln!(stdin, "{}", user("again TOOL_BASH:python3 -V")).expect("write");
    let second = next_of("result");
    assert!(
        second["permission_denials"]
            .as_array()
            .expect("d")
            .is_empty()
    );
    drop(stdin);
    assert!(child.wait().expect("exit").success());
}

/// Only the socket's user or a paired device answers, and the answer records who.
#[tokio::test(flavor = "multi_thread")]
async fn a_device_answers_under_its_name_and_a_bad_token_is_refused() {
    use orchestra_proto::v1 as pb;
    let env = TestEnv::new();
    let repo = env.git_repo();
    tokio::task::block_in_place(|| {
        spawn_one(&env, &repo, "TOOL_BASH:true");
    });
    let asked = tokio::task::block_in_place(|| wait_for_one_pending(&env));
    let id = asked["id"].as_str().expect("id").to_owned();
    let channel = orchestra_proto::connect(&env.socket)
        .await
        .expect("connect");
    let mut approvals = pb::approvals_client::ApprovalsClient::new(channel.clone());
    let refused = approvals
        .decide(pb::DecideRequest {
            id: id.clone(),
            decision: "allow".to_owned(),
            device_token: "not-a-token".to_owned(),
            ..pb::DecideRequest::default()
        })
        .await
        .expect_err("a bad token is refused");
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    let mut devices = pb::devices_client::DevicesClient::new(channel);
    let code = devices
        .create_pairing_code(pb::CreatePairingCodeRequest {})
        .await
        .expect("code")
        .into_inner()
        .code;
    let token = devices
        .pair(pb::PairRequest {
            code,
            device_name: "Pixel 9".to_owned(),
            address: "192.0.2.9".to_owned(),
        })
        .await
        .expect("pair")
        .into_inner()
        .token;
    let answered = approvals
        .decide(pb::DecideRequest {
            id,
            decision: "always".to_owned(),
            device_token: token,
            ..pb::DecideRequest::default()
        })
        .await
        .expect("a paired device answers")
        .into_inner()
        .approval
        .expect("approval");
    assert_eq!(answered.decided_by, "Pixel 9");
    assert!(answered.always);
    tokio::task::block_in_place(|| wait_for_agents(&env, "done", all_finished));
}

/// `approvals --watch --json` prints each request and its answer as JSON lines.
#[test]
fn approvals_watch_prints_requests_and_answers_as_they_happen() {
    use std::io::BufRead;
    let env = TestEnv::new();
    let repo = env.git_repo();
    env.ctl_ok(&["daemon", "start"]);
    let mut watcher = env
        .command(bin("orchestractl"))
        .args(["--json", "approvals", "--watch"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("watch");
    let (tx, rx) = std::sync::mpsc::channel::<Value>();
    let stdout = watcher.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if let Ok(value) = serde_json::from_str(&line) {
                let _ = tx.send(value);
            }
        }
    });
    let agent = spawn_one(&env, &repo, "TOOL_BASH:true");
    let within = orchestra_tests::DEADLINE;
    let asked = rx.recv_timeout(within).expect("the request is printed");
    assert_eq!(asked["state"], "pending");
    assert_eq!(asked["agent_id"], agent.as_str());
    assert_eq!(asked["input"]["command"], "true");
    env.ctl_ok(&["deny", asked["id"].as_str().expect("id")]);
    let answered = rx.recv_timeout(within).expect("the answer is printed");
    assert_eq!(answered["id"], asked["id"]);
    assert_eq!(answered["state"], "denied");
    assert_eq!(answered["decided_by"], "cli");
    let _ = watcher.kill();
    let _ = watcher.wait();
}

/// Issue 22: the default allowlist runs nothing of the agent's making. `git -c
/// alias.x='!cmd' x` runs any program, so it asks; a read-only `git status` does not.
#[test]
fn the_default_allowlist_asks_before_git_runs_a_program() {
    let env = TestEnv::new();
    let repo = env.git_repo();
    let marker = env.home.join("x");
    let id = spawn_one(&env, &repo, "TOOL_BASH:git -c alias.x='!touch ~/x' x");
    let asked = wait_for_one_pending(&env);
    assert_eq!(asked["agent_id"], id.as_str());
    assert_eq!(asked["input"]["command"], "git -c alias.x='!touch ~/x' x");
    assert!(!marker.exists(), "nothing ran before the answer");
    env.ctl_json(&["deny", asked["id"].as_str().expect("id")]);
    wait_for_agents(&env, "done", all_finished);
    assert!(!marker.exists(), "a denied command does not run");

    // Reading stays allowed: no question, and it ran.
    let reader = spawn_one(&env, &repo, "TOOL_BASH:git status");
    let agents = wait_for_agents(&env, "both done", |list| {
        list.len() == 2 && all_finished(list)
    });
    let reader = agents
        .iter()
        .find(|a| a["id"] == reader.as_str())
        .expect("reader");
    assert!(
        reader["result"]
            .as_str()
            .expect("result")
            .contains("is_error=False"),
        "{reader:#}"
    );
    assert_eq!(
        env.ctl_json(&["approvals", "--all"])
            .as_array()
            .expect("list")
            .len(),
        1
    );
}

/// A rule that runs programs, put in the config by hand, is named with why by `config
/// show` and `daemon status`.
#[test]
fn rules_that_run_programs_are_named_by_config_show_and_daemon_status() {
    let env = TestEnv::new();
    env.write_config(&serde_json::json!({
        "claude_command": bin("fake-claude"),
        "heartbeat_interval": 1,
        "bypass_permissions": ["Read", "Bash(git status)", "Bash(npm *)", "Bash"],
    }));
    let shown = env.ctl_ok(&["config", "show"]);
    assert!(
        shown.contains("# warning: bypass_permissions holds \"Bash(npm *)\""),
        "{shown}"
    );
    assert!(shown.contains("npm run"), "says why: {shown}");
    assert!(shown.contains("\"Bash\", which"), "{shown}");
    assert!(!shown.contains("\"Bash(git status)\", which"), "{shown}");
    let status = env.ctl_json(&["daemon", "status"]);
    let warnings: Vec<&str> = status["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        warnings
            .iter()
            .filter(|w| w.contains("lets agents run programs"))
            .count(),
        2,
        "{warnings:?}"
    );
    let text = env.ctl_ok(&["daemon", "status"]);
    assert!(text.contains("Bash(npm *)"), "{text}");
}

/// Issue 22: a hand-started session's request honours `approval_timeout_s`: the daemon
/// ends it as `expired`, and the hook carries that deny (with why) to Claude Code.
#[test]
fn a_hand_started_sessions_unanswered_request_expires_in_seconds() {
    let env = TestEnv::new();
    env.write_config(&serde_json::json!({
        "claude_command": bin("fake-claude"),
        "heartbeat_interval": 1,
        "approval_timeout_s": 3,
    }));
    env.ctl_ok(&["daemon", "start"]);
    env.ctl_json(&["hooks", "install"]);
    let started = std::time::Instant::now();
    let (project, session) = start_by_hand(&env, "touch late.txt");
    // Any state: on a loaded machine the 3 s can be over before a look sees it pending.
    let mut asked = Value::Null;
    wait_until("the session's request is kept", || {
        asked = env.ctl_json(&["approvals", "--all"])[0].clone();
        !asked.is_null()
    });
    assert_eq!(asked["agent_id"], "");
    let out = session.wait_with_output().expect("session ends");
    let took = started.elapsed();
    assert!(
        took < std::time::Duration::from_secs(30),
        "refused in seconds, not at the hook's 600 s timeout: {took:?}"
    );
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("approval_timeout_s"),
        "the refusal says why: {stdout}"
    );
    assert!(!project.join("late.txt").exists(), "nothing ran");
    assert_eq!(the_only_approval_expired(&env)["id"], asked["id"]);
}

/// Issue 22: an answer made while the agent's shim could not take it (its socket gone
/// for a while) is kept, survives a restart of the daemon, and is delivered later.
#[test]
fn an_answer_the_agent_could_not_take_is_delivered_later_even_after_a_restart() {
    let env = TestEnv::new();
    let repo = env.git_repo();
    let id = spawn_one(&env, &repo, "TOOL_BASH:touch delivered.txt");
    let asked = wait_for_one_pending(&env);
    let socket = env.state_dir().join("agents").join(&id).join("shim.sock");
    let away = socket.with_extension("away");
    std::fs::rename(&socket, &away).expect("take the shim's socket away");
    let answer = env.ctl_json(&["approve", asked["id"].as_str().expect("id")]);
    assert_eq!(answer["state"], "allowed");
    wait_until("the agent says the answer is not taken yet", || {
        agent(&env, &id)["activity"]
            .as_str()
            .is_some_and(|a| a.contains("not taken yet"))
    });
    let cwd = std::path::PathBuf::from(agent(&env, &id)["cwd"].as_str().expect("cwd"));
    assert!(!cwd.join("delivered.txt").exists());

    // The daemon dies with the answer still owed; the next one sends it.
    kill_9_the_daemon(&env);
    std::fs::rename(&away, &socket).expect("give the socket back");
    let agents = wait_for_agents(&env, "done", all_finished);
    assert_eq!(agents[0]["state"], "done", "{:#}", agents[0]);
    assert!(
        cwd.join("delivered.txt").exists(),
        "the allow reached the agent"
    );
}

/// Issue 22: `hooks install` keeps the mode of `settings.json`, and makes a new one 0600.
#[test]
fn hooks_install_keeps_the_settings_files_mode() {
    use std::os::unix::fs::PermissionsExt as _;
    let env = TestEnv::new();
    let settings = env.claude_dir.join("settings.json");
    let mode = |path: &std::path::Path| {
        std::fs::metadata(path)
            .expect("settings")
            .permissions()
            .mode()
            & 0o777
    };
    env.ctl_json(&["hooks", "install"]);
    assert_eq!(mode(&settings), 0o600, "a new file is private");
    env.ctl_json(&["hooks", "uninstall"]);
    assert_eq!(mode(&settings), 0o600);
    std::fs::set_permissions(&settings, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    env.ctl_json(&["hooks", "install"]);
    assert_eq!(mode(&settings), 0o640, "install keeps the mode");
    env.ctl_json(&["hooks", "uninstall"]);
    assert_eq!(mode(&settings), 0o640, "uninstall keeps the mode");
}
