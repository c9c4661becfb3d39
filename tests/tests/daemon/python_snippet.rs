//! The README's Python snippet works as written: it is cut out of README.md and run with
//! the real grpcio against a fresh daemon (default channel options but the one the README
//! explains), and it lists the services, reads the sessions and spawns an agent.
//!
//! Needs python3 with grpcio, grpcio-reflection and protobuf
//! (`python3 -m pip install grpcio grpcio-reflection protobuf`); under `CI=true` their
//! absence fails the test, elsewhere it is skipped with a note.

use std::process::Command;

use orchestra_tests::{TestEnv, tools, wait_for_agents, workspace_root};

const MARKER: &str = "<!-- python-snippet";
const PIP: &str = "python3 -m pip install grpcio grpcio-reflection protobuf";

/// The first ```python block after the marker in README.md.
fn snippet() -> String {
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).expect("README.md");
    let after = &readme[readme
        .find(MARKER)
        .expect("the README marks its Python snippet")..];
    let start = after.find("```python\n").expect("a python block") + "```python\n".len();
    let code = &after[start..];
    code[..code.find("\n```").expect("the block ends")].to_owned() + "\n"
}

fn grpcio_installed() -> bool {
    let found = Command::new("python3")
        .args(["-c", "import grpc, grpc_reflection, google.protobuf"])
        .output()
        .is_ok_and(|out| out.status.success());
    if !found {
        tools::missing("python3 with grpcio", PIP);
    }
    found
}

#[test]
fn the_readme_python_snippet_lists_services_reads_sessions_and_spawns() {
    if !grpcio_installed() {
        return;
    }
    let env = TestEnv::new();
    let repo = env.git_repo();
    // The snippet lists the last week's sessions: the capture's dates are moved to now.
    env.add_recent_session_fixture(
        "claude-code/sessions/01_session_after_first_run.jsonl",
        "-tmp-python",
        "5f0e8f2a-python-snippet.jsonl",
    );
    env.ctl_ok(&["daemon", "start"]);
    let script = env.root.path().join("snippet.py");
    std::fs::write(&script, snippet()).expect("write the snippet");
    let out = env
        .command("python3")
        .arg(&script)
        .current_dir(&repo)
        .output()
        .expect("python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the snippet failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for service in [
        "orchestra.v1.Daemon",
        "orchestra.v1.Sessions",
        "orchestra.v1.Agents",
    ] {
        assert!(stdout.contains(service), "{service} listed:\n{stdout}");
    }
    assert!(
        stdout.contains("session 5f0e8f2a-python-snippet"),
        "the session is read:\n{stdout}"
    );
    let spawned = stdout
        .lines()
        .find_map(|l| l.strip_prefix("spawned agent "))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("an agent was spawned:\n{stdout}"))
        .to_owned();
    wait_for_agents(&env, "the spawned agent finishes", |agents| {
        agents.iter().any(|a| {
            a["id"] == spawned.as_str() && a["task"] == "Say hello" && a["state"] == "done"
        })
    });
}
