//! Approvals against the real Claude Code CLI, offline against the loopback stub of the
//! Messages API: an agent asks over stdio, and a hand-started `claude -p` asks through the
//! installed `PermissionRequest` hook; both are approved from `orchestractl`.
//!
//! Needs the real CLI of the pinned version (see `real_cli`): under `CI=true` a missing CLI
//! fails the test; elsewhere it is skipped with a note.

use std::path::PathBuf;

use orchestra_tests::real_cli::real_claude;
use orchestra_tests::stub_api::StubApi;
use orchestra_tests::{TestEnv, all_finished, wait_for_agents, wait_until};
use serde_json::Value;

/// A command that asks in every mode but bypass, and leaves a file behind.
const COMMAND: &str = "python3 -c \"open('ran.txt','w').write('ok')\"";

fn one_pending(env: &TestEnv) -> Value {
    let mut found = Vec::new();
    wait_until("an approval is pending", || {
        found = env
            .ctl_json(&["approvals"])
            .as_array()
            .cloned()
            .unwrap_or_default();
        found.len() == 1
    });
    found.remove(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_real_agent_asks_and_runs_the_tool_once_approved() {
    let Some(real) = real_claude() else { return };
    let stub = StubApi::start().await.expect("stub API");
    let env = TestEnv::new();
    env.write_config(&serde_json::json!({"claude_command": real, "heartbeat_interval": 1}));
    let repo = env.git_repo();
    tokio::task::block_in_place(|| stub.spawn(&env, &repo, &[&format!("TOOL_BASH:{COMMAND}")]));
    let asked = tokio::task::block_in_place(|| one_pending(&env));
    assert_eq!(asked["tool_name"], "Bash");
    assert_eq!(asked["input"]["command"], COMMAND);
    let id = asked["id"].as_str().expect("id").to_owned();
    let agents = tokio::task::block_in_place(|| {
        wait_until("the agent waits", || {
            env.ctl_json(&["status"])[0]["state"] == "waiting"
        });
        env.ctl_json(&["approve", &id]);
        wait_for_agents(&env, "done", all_finished)
    });
    assert_eq!(agents[0]["state"], "done", "{:#}", agents[0]);
    let cwd = PathBuf::from(agents[0]["cwd"].as_str().expect("cwd"));
    assert!(cwd.join("ran.txt").exists(), "the approved command ran");
    assert!(
        agents[0]["result"]
            .as_str()
            .expect("result")
            .starts_with("Tool finished (is_error=False)"),
        "{:#}",
        agents[0]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hand_started_real_session_is_approved_through_the_hook() {
    let Some(real) = real_claude() else { return };
    let stub = StubApi::start().await.expect("stub API");
    let env = TestEnv::new();
    tokio::task::block_in_place(|| {
        env.ctl_ok(&["daemon", "start"]);
        env.ctl_ok(&["hooks", "install"]);
    });
    let project = env.git_repo().canonicalize().expect("repo");
    let mut session = tokio::process::Command::new(&real)
        .env_clear()
        .envs(env.envs())
        .envs(stub.env())
        .args([
            "-p",
            &format!("TOOL_BASH:{COMMAND}"),
            "--output-format",
            "stream-json",
            "--verbose",
        ])
        .current_dir(&project)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the real CLI");
    let asked = tokio::task::block_in_place(|| one_pending(&env));
    assert_eq!(asked["agent_id"], "");
    assert_eq!(asked["tool_name"], "Bash");
    assert_eq!(asked["project_path"], project.to_str().expect("p"));
    tokio::task::block_in_place(|| env.ctl_json(&["approve", asked["id"].as_str().expect("id")]));
    let status = tokio::time::timeout(std::time::Duration::from_secs(120), session.wait())
        .await
        .expect("the session ends")
        .expect("status");
    assert!(status.success());
    assert!(project.join("ran.txt").exists(), "the hook's allow ran it");
}
