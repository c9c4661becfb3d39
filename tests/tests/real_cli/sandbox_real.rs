//! `spawn --sandbox` on the real Claude Code CLI, offline, with bubblewrap and socat: an
//! agent's shell command writes in its worktree and nowhere else, and cannot read
//! claude-orchestra's own folders: not another agent's MCP secret (which would let it
//! speak as that agent), not the config dir (the dashboard's keys), not the socket's.
//!
//! Needs the real CLI of the pinned version and `bwrap` and `socat` (`.ci/run` installs
//! them): under `CI=true` a missing one fails the test; elsewhere it is skipped.

use orchestra_tests::real_cli::real_claude;
use orchestra_tests::stub_api::StubApi;
use orchestra_tests::tools::require;
use orchestra_tests::{Gate, TestEnv, all_finished, wait_for_agents, wait_until};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn a_sandboxed_agents_shell_writes_only_its_worktree_and_cannot_read_orchestras_folders() {
    let Some(real) = real_claude() else { return };
    let install = "apt install bubblewrap socat";
    if require(&["bwrap"], install).is_none() || require(&["socat"], install).is_none() {
        return;
    }
    let stub = StubApi::start().await.expect("stub API");
    let env = TestEnv::new();
    env.write_config(&json!({"claude_command": real, "heartbeat_interval": 1}));
    let repo = env.git_repo();
    let outside = env.root.path().join("outside.txt");
    let hold = Gate::new(&env, "b-works");
    tokio::task::block_in_place(|| {
        // Another agent, at work: its secret (in its folder, and in its MCP bridge's
        // environment) is what a sandboxed command would steal.
        let other = stub.spawn(&env, &repo, &[&hold.stub_prompt("task B waits")]);
        let other = other[0]["id"].as_str().expect("id").to_owned();
        wait_until("B's first request is held (its MCP bridge runs)", || {
            stub.requests()
                .iter()
                .any(|r| r["messages"].to_string().contains("task B waits"))
        });
        let secret_file = env
            .state_dir()
            .join("agents")
            .join(&other)
            .join("mcp-token");
        let secret = std::fs::read_to_string(&secret_file).expect("B's secret");
        // Outside the sandbox, any program of the user's sees it in B's bridge's
        // environment: the check below is not vacuous.
        let in_sight = std::fs::read_dir("/proc")
            .expect("/proc")
            .flatten()
            .any(|entry| {
                std::fs::read(entry.path().join("environ"))
                    .is_ok_and(|env| String::from_utf8_lossy(&env).contains(secret.trim()))
            });
        assert!(in_sight, "B's bridge carries its secret in its environment");
        let config = env.config_file();
        assert!(config.is_file(), "{}", config.display());

        let command = format!(
            "echo in > inside.txt; echo out > {}; cat {} > stolen.txt; cat {} > config.txt; \
             ls {} > socket-dir.txt; cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n' | \
             grep ORCHESTRA_MCP_TOKEN > environ.txt; true",
            outside.display(),
            secret_file.display(),
            config.display(),
            env.socket.parent().expect("socket dir").display(),
        );
        let task = format!(
            "TOOL_CALL:Bash {}",
            json!({"command": command, "description": "try the walls"})
        );
        let spawned = stub.spawn(
            &env,
            &repo,
            &["--sandbox", "--allowed-tools", "Bash", &task],
        );
        let id = spawned[0]["id"].as_str().expect("id").to_owned();
        wait_for_agents(&env, "the sandboxed agent is done", |list| {
            list.iter()
                .any(|a| a["id"] == id.as_str() && a["state"] == "done")
        });
        hold.open();
        let agents = wait_for_agents(&env, "both are done", |list| {
            list.len() == 2 && all_finished(list)
        });
        let agent = agents
            .iter()
            .find(|a| a["id"] == id.as_str())
            .expect("agent");
        assert_eq!(agent["state"], "done", "{agent:#}");
        assert_eq!(agent["sandbox"], true);
        let cwd = std::path::PathBuf::from(agent["cwd"].as_str().expect("cwd"));
        let read = |name: &str| std::fs::read_to_string(cwd.join(name)).unwrap_or_default();
        assert_eq!(read("inside.txt"), "in\n", "the worktree is writable");
        assert!(!outside.exists(), "nothing is written outside the worktree");
        assert!(
            !read("stolen.txt").contains(secret.trim()),
            "another agent's secret stays hidden"
        );
        assert!(
            !read("config.txt").contains("claude_command"),
            "the config dir stays hidden: {}",
            read("config.txt")
        );
        assert!(
            !read("environ.txt").contains(secret.trim()),
            "another agent's secret is not in sight in its bridge's environment either"
        );
        assert!(
            !read("socket-dir.txt").contains("orchestrad.sock"),
            "the socket stays out of reach: {}",
            read("socket-dir.txt")
        );
    });
}
