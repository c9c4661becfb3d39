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
use orchestra_tests::{TestEnv, all_finished, bin, wait_for_agents};
use serde_json::{Value, json};

/// `orchestractl --json spawn --repo REPO ARGS...` with the stub's environment.
fn spawn(env: &TestEnv, stub: &StubApi, repo: &str, args: &[&str]) -> Value {
    let out = env
        .command(bin("orchestractl"))
        .envs(stub.env())
        .args(["--json", "spawn", "--repo", repo])
        .args(args)
        .output()
        .expect("orchestractl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

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
    let r = repo.to_str().expect("utf-8").to_owned();
    let outside = env.root.path().join("outside.txt");
    tokio::task::block_in_place(|| {
        // Another agent first: its secret is what a sandboxed command would steal.
        let other = spawn(&env, &stub, &r, &["task B says hi"]);
        let other = other[0]["id"].as_str().expect("id").to_owned();
        wait_for_agents(&env, "B is done", all_finished);
        let secret_file = env
            .state_dir()
            .join("agents")
            .join(&other)
            .join("mcp-token");
        let secret = std::fs::read_to_string(&secret_file).expect("B's secret");
        let config = env.config_file();
        assert!(config.is_file(), "{}", config.display());

        let command = format!(
            "echo in > inside.txt; echo out > {}; cat {} > stolen.txt; cat {} > config.txt; \
             ls {} > socket-dir.txt; true",
            outside.display(),
            secret_file.display(),
            config.display(),
            env.socket.parent().expect("socket dir").display(),
        );
        let task = format!(
            "TOOL_CALL:Bash {}",
            json!({"command": command, "description": "try the walls"})
        );
        let spawned = spawn(
            &env,
            &stub,
            &r,
            &["--sandbox", "--allowed-tools", "Bash", &task],
        );
        let id = spawned[0]["id"].as_str().expect("id").to_owned();
        let agents = wait_for_agents(&env, "the sandboxed agent is done", |list| {
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
            !read("socket-dir.txt").contains("orchestrad.sock"),
            "the socket stays out of reach: {}",
            read("socket-dir.txt")
        );
    });
}
