//! Orchestra on the real Claude Code CLI of the pinned version (`.ci/claude-code-version`:
//! 2.1.337 now; these checks began with 2.1.330, whose behaviour 2.1.337 keeps), offline against
//! the loopback stub: costs equal the CLI's own to the micro-dollar (also after a resume,
//! and for agents), a running `-p` run shows busy, and a `claude --bg` session shows
//! with its job state. Skipped without the CLI, failed under `CI=true` (see `real_cli`).

use std::path::Path;
use std::process::{Command, Stdio};

use orchestra_tests::gate::Gate;
use orchestra_tests::real_cli::real_claude;
use orchestra_tests::stub_api::StubApi;
use orchestra_tests::{TestEnv, bin, wait_for_agents, wait_until};
use serde_json::Value;

/// Half a micro-dollar: "equal to the micro-dollar".
const MICRO: f64 = 0.5e-6;

/// The stub, served by a runtime of its own so the tests stay plain and blocking.
fn stub() -> (tokio::runtime::Runtime, StubApi) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let stub = runtime.block_on(StubApi::start()).expect("stub API");
    (runtime, stub)
}

fn cli(real: &Path, env: &TestEnv, stub: &StubApi, cwd: &Path) -> Command {
    let mut cmd = env.command(real);
    cmd.envs(stub.env()).current_dir(cwd).stdin(Stdio::null());
    cmd
}

/// Runs `claude -p ... --output-format stream-json --verbose PROMPT-ARGS`; its result line.
fn print_run(real: &Path, env: &TestEnv, stub: &StubApi, cwd: &Path, args: &[&str]) -> Value {
    let out = cli(real, env, stub, cwd)
        .args(["-p", "--output-format", "stream-json", "--verbose"])
        .args(args)
        .output()
        .expect("the real CLI");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .rfind(|l| l["type"] == "result")
        .expect("a result line")
}

fn cost(value: &Value) -> f64 {
    value
        .as_f64()
        .unwrap_or_else(|| panic!("not a cost: {value}"))
}

/// Waits until the daemon's `show ID` reports `expected` as the CLI's own cost.
fn wait_for_session_cost(env: &TestEnv, id: &str, expected: f64) {
    wait_until(&format!("session {id} costs {expected}"), || {
        let shown = env.ctl_json(&["show", id]);
        shown["cost_is_estimate"] == false && (cost(&shown["cost_usd"]) - expected).abs() < MICRO
    });
}

#[test]
fn costs_equal_the_clis_own_also_after_a_resume() {
    let Some(real) = real_claude() else {
        return;
    };
    let (_runtime, stub) = stub();
    let env = TestEnv::new();
    env.write_config(&serde_json::json!({"claude_command": real, "heartbeat_interval": 1}));
    let repo = env.git_repo().canonicalize().expect("repo");

    // By hand: one run, then a resume (whose total includes the first run).
    let first = print_run(&real, &env, &stub, &repo, &["say hi"]);
    let id = first["session_id"].as_str().expect("id").to_owned();
    let first_cost = cost(&first["total_cost_usd"]);
    assert!(first_cost > 0.0);
    wait_for_session_cost(&env, &id, first_cost);
    let second = print_run(&real, &env, &stub, &repo, &["--resume", &id, "again"]);
    let second_cost = cost(&second["total_cost_usd"]);
    assert!(second_cost > first_cost, "2.1.330 carries the cost over");
    wait_for_session_cost(&env, &id, second_cost);

    // An agent, and a follow-up sent after it exited: its cost is the session's, once.
    let out = env
        .command(bin("orchestractl"))
        .envs(stub.env())
        .args([
            "--json",
            "spawn",
            "--repo",
            repo.to_str().expect("p"),
            "say hi",
        ])
        .output()
        .expect("spawn");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let agents = wait_for_agents(&env, "agent done", |a| {
        a.len() == 1 && a[0]["state"] == "done"
    });
    let agent_id = agents[0]["id"].as_str().expect("id").to_owned();
    let session = agents[0]["session_id"]
        .as_str()
        .expect("session")
        .to_owned();
    let one_run = cost(&agents[0]["total_cost_usd"]);
    wait_for_session_cost(&env, &session, one_run);
    let sent = env.ctl_json(&["send", &agent_id, "and the tests"]);
    assert_eq!(sent["resumed"], true);
    let agents = wait_for_agents(&env, "follow-up done", |a| {
        a[0]["runs"] == 2 && a[0]["state"] == "done"
    });
    let agent_cost = cost(&agents[0]["total_cost_usd"]);
    wait_for_session_cost(&env, &session, agent_cost);
    assert!(
        agent_cost > one_run && agent_cost < 2.5 * one_run,
        "{agent_cost}"
    );

    // `resume` of the hand-made session: the new agent counts only what it added.
    let out = env
        .command(bin("orchestractl"))
        .envs(stub.env())
        .args(["--json", "resume", &id, "more"])
        .output()
        .expect("resume");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let agents = wait_for_agents(&env, "resumed agent done", |a| {
        a.len() == 2 && a.iter().all(|x| x["state"] == "done")
    });
    let resumed = agents
        .iter()
        .find(|a| a["session_id"] == id.as_str())
        .expect("the resume agent");
    wait_until("the index has the resumed run's cost", || {
        let shown = env.ctl_json(&["show", &id]);
        shown["last_prompt"] == "more" && cost(&shown["cost_usd"]) > second_cost
    });
    let session_now = cost(&env.ctl_json(&["show", &id])["cost_usd"]);
    let added = cost(&resumed["total_cost_usd"]);
    assert!(
        (added - (session_now - second_cost)).abs() < MICRO,
        "the resume agent adds {added}, the session went from {second_cost} to {session_now}"
    );
}

#[test]
fn a_running_print_run_shows_busy_then_drops_out_of_live() {
    let Some(real) = real_claude() else {
        return;
    };
    let (_runtime, stub) = stub();
    let env = TestEnv::new();
    let repo = env.git_repo().canonicalize().expect("repo");
    // The stub holds the turn until the test is done looking; then SIGTERM ends the run.
    let hold = Gate::new(&env, "hold-the-turn");
    let mut child = cli(&real, &env, &stub, &repo)
        .args([
            "-p",
            "--output-format",
            "stream-json",
            "--verbose",
            &hold.stub_prompt("say hi"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the real CLI");
    let pid = child.id();
    let mut busy = Value::Null;
    wait_until("the run shows busy", || {
        let live = env.ctl_json(&["sessions", "--live"]);
        match live.as_array().and_then(|l| l.first()) {
            Some(s) if s["live_status"] == "busy" => {
                busy = s.clone();
                true
            }
            _ => false,
        }
    });
    assert_eq!(busy["live_pid"], pid, "{busy:#}");
    assert_eq!(busy["live_kind"], "interactive");
    assert!(
        !busy["name"].as_str().unwrap_or_default().is_empty(),
        "{busy:#}"
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("signal");
    assert_eq!(child.wait().expect("wait").code(), Some(143));
    wait_until("no live sessions", || {
        env.ctl_json(&["sessions", "--live"])
            .as_array()
            .is_some_and(Vec::is_empty)
    });
}

/// What a fresh HOME needs for `claude --bg` to run headless: the cwd trusted and the
/// environment's API key approved (else "Workspace not trusted", or a `blocked` job).
fn trust_for_background(env: &TestEnv, cwd: &Path, api_key: &str) {
    let config = serde_json::json!({
        "projects": {cwd.to_string_lossy(): {"hasTrustDialogAccepted": true}},
        "customApiKeyResponses": {"approved": [api_key], "rejected": []},
    });
    std::fs::write(env.home.join(".claude.json"), config.to_string()).expect("write");
}

#[test]
fn a_claude_bg_session_shows_with_its_job_state() {
    let Some(real) = real_claude() else {
        return;
    };
    let (_runtime, stub) = stub();
    let env = TestEnv::new();
    let repo = env.git_repo().canonicalize().expect("repo");
    let key = stub
        .env()
        .into_iter()
        .find(|(k, _)| *k == "ANTHROPIC_API_KEY")
        .map(|(_, v)| v)
        .expect("key");
    trust_for_background(&env, &repo, &key);
    let out = cli(&real, &env, &stub, &repo)
        .args(["--bg", "say hi in the background"])
        .output()
        .expect("claude --bg");
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let job = said
        .split_whitespace()
        .skip_while(|w| *w != "backgrounded")
        .nth(2)
        .expect("backgrounded · <id>")
        .to_owned();
    // Whatever happens next, the job is stopped (as a user would, with `claude stop`).
    struct Stop<'a>(Command, &'a str);
    impl Drop for Stop<'_> {
        fn drop(&mut self) {
            let _ = self.0.arg("stop").arg(self.1).output();
        }
    }
    let _stop = Stop(cli(&real, &env, &stub, &repo), &job);

    let mut shown = Value::Null;
    wait_until("the background session is listed working", || {
        let list = env.ctl_json(&["sessions", "--all"]);
        match list
            .as_array()
            .and_then(|l| l.iter().find(|s| s["job_id"] == job.as_str()))
        {
            Some(s) if s["job_state"] == "working" && s["live_kind"] == "bg" => {
                shown = s.clone();
                true
            }
            _ => false,
        }
    });
    assert!(shown["session_id"].as_str().expect("id").starts_with(&job));
    assert_eq!(shown["live"], true);
    assert!(
        !shown["name"].as_str().unwrap_or_default().is_empty(),
        "{shown:#}"
    );

    let stopped = cli(&real, &env, &stub, &repo)
        .args(["stop", &job])
        .output()
        .expect("claude stop");
    assert!(stopped.status.success());
    wait_until("the job shows stopped", || {
        let list = env.ctl_json(&["sessions", "--all"]);
        list.as_array().is_some_and(|l| {
            l.iter()
                .any(|s| s["job_id"] == job.as_str() && s["job_state"] == "stopped")
        })
    });
}
