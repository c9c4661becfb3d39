//! The "done when", on the real Claude Code CLI (offline, against the loopback stub
//! of the Messages API, which scripts one Bash call per agent): three agents, two of which
//! write the same file, show the overlap in `status` while they run; `merge` leaves one
//! integration branch with the compatible work and names the conflict; `report
//! --markdown` lists all three; and a two-step `--after` chain runs in order.
//!
//! Needs the real CLI of the pinned version (see `real_cli`): with `CI=true` its absence
//! fails the test; otherwise the test is skipped with the reason.

use std::path::PathBuf;

use orchestra_tests::real_cli::real_claude;
use orchestra_tests::stub_api::StubApi;
use orchestra_tests::{TestEnv, agent_by_task, all_finished, bin, wait_for_agents};
use serde_json::Value;

/// orchestractl with the stub's environment (the CLI passes its environment to agents).
fn ctl(env: &TestEnv, stub: &StubApi, args: &[&str]) -> std::process::Output {
    env.command(bin("orchestractl"))
        .envs(stub.env())
        .args(args)
        .output()
        .expect("orchestractl")
}

fn json_of(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|err| {
        panic!(
            "not JSON ({err}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn three_real_agents_overlap_merge_and_report_and_a_chain_runs_in_order() {
    let Some(real) = real_claude() else {
        return;
    };
    let stub = StubApi::start().await.expect("stub API");
    let env = TestEnv::new();
    env.write_config(&serde_json::json!({"claude_command": real, "heartbeat_interval": 1}));
    let repo = env.git_repo();
    let r = repo.to_str().expect("p").to_owned();
    let gate = env.root.path().join("gate");
    let g = gate.display().to_string();
    let tasks = [
        format!("STUB_PUT:shared.txt=alpha STUB_GATE:{g} build auth"),
        format!("STUB_PUT:shared.txt=beta STUB_GATE:{g} write tests"),
        format!("STUB_PUT:other.txt=gamma STUB_GATE:{g} speed up queries"),
    ];
    tokio::task::block_in_place(|| {
        let out = ctl(
            &env,
            &stub,
            &[
                "--json",
                "spawn",
                "--repo",
                &r,
                "--allowed-tools",
                "Bash",
                &tasks[0],
                &tasks[1],
                &tasks[2],
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let spawned = json_of(&out);
        let id = |i: usize| spawned[i]["id"].as_str().expect("id").to_owned();
        let agents = wait_for_agents(&env, "the radar flags the pair", |list| {
            tasks[..2].iter().all(|t| {
                list.iter()
                    .find(|a| a["task"] == t.as_str() && a["state"] == "running")
                    .is_some_and(|a| a["overlaps"].as_array().is_some_and(|o| !o.is_empty()))
            })
        });
        assert_eq!(agent_by_task(&agents, &tasks[0])["state"], "running");
        let status = env.ctl_ok(&["status"]);
        assert!(
            status.contains(&format!("{}  also changed by {}: shared.txt", id(0), id(1))),
            "{status}"
        );

        std::fs::write(&gate, "go").expect("gate");
        let agents = wait_for_agents(&env, "all done", all_finished);
        for task in &tasks {
            assert_eq!(agent_by_task(&agents, task)["state"], "done", "{agents:#?}");
        }
        let out = ctl(&env, &stub, &["--json", "merge", "--repo", &r]);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let merged = json_of(&out);
        assert_eq!(merged["merged"], serde_json::json!([id(0), id(2)]));
        assert_eq!(merged["skipped"][0]["agent_id"], id(1).as_str());
        assert_eq!(
            merged["skipped"][0]["paths"],
            serde_json::json!(["shared.txt"])
        );
        let branch = merged["branch"].as_str().expect("branch").to_owned();
        assert_eq!(
            env.git(&repo, &["show", &format!("{branch}:shared.txt")]),
            "alpha\n"
        );
        assert_eq!(
            env.git(&repo, &["show", &format!("{branch}:other.txt")]),
            "gamma\n"
        );
        let markdown = env.ctl_ok(&["report", "--markdown", "--repo", &r]);
        for task in &tasks {
            assert!(markdown.contains(task.as_str()), "{markdown}");
        }

        // A two-step chain runs in order, the second from the first's branch.
        let out = ctl(
            &env,
            &stub,
            &[
                "--json",
                "spawn",
                "--repo",
                &r,
                "--allowed-tools",
                "Bash",
                "STUB_PUT:step1.txt=one first step",
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let first = json_of(&out)[0]["id"].as_str().expect("id").to_owned();
        let out = ctl(
            &env,
            &stub,
            &[
                "--json",
                "spawn",
                "--repo",
                &r,
                "--allowed-tools",
                "Bash",
                "--after",
                &first,
                "second step",
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let agents = wait_for_agents(&env, "the chain ran", all_finished);
        let (one, two) = (
            agent_by_task(&agents, "STUB_PUT:step1.txt=one first step"),
            agent_by_task(&agents, "second step"),
        );
        assert_eq!(two["state"], "done", "{two:#}");
        assert_eq!(two["after"], first.as_str());
        assert!(two["started_at_ms"].as_i64() >= one["ended_at_ms"].as_i64());
        let second_cwd = PathBuf::from(two["cwd"].as_str().expect("cwd"));
        assert_eq!(
            std::fs::read_to_string(second_cwd.join("step1.txt")).expect("step1.txt"),
            "one\n"
        );
    });
}
