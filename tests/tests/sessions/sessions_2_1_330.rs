//! Sessions of today's Claude Code (2.1.330): the CLI's own costs, the live state of
//! every session, its background sessions, and the new line kinds kept out of sight.
//! The 2.1.197 and older-format regressions stay in `sessions.rs`.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use orchestra_tests::{Gate, TestEnv, bin, wait_until};
use serde_json::Value;

const REPO_DIR: &str = "-home-dev-work-repo";
const RESUMED: &str = "fcebed16-4a1e-49d0-9371-512dd45ebe2b";
const BACKGROUND: &str = "ee9adb04-f53c-4aa1-b846-f37a91840473";
const DENIED: &str = "b02aa35e-b36a-430f-bc4b-9fc92a67291b";

fn fixture_home() -> TestEnv {
    let env = TestEnv::new();
    for (fixture, id) in [
        (
            "20_session_after_resume_here_and_from_other_dir.jsonl",
            RESUMED,
        ),
        ("background_session.jsonl", BACKGROUND),
        ("bash_tool_denied.jsonl", DENIED),
    ] {
        env.add_session_fixture(
            &format!("claude-code/2.1.330/sessions/{fixture}"),
            REPO_DIR,
            &format!("{id}.jsonl"),
        );
    }
    env
}

fn by_id(list: &Value, id: &str) -> Value {
    list.as_array()
        .expect("a list")
        .iter()
        .find(|s| s["session_id"] == id)
        .unwrap_or_else(|| panic!("{id} not listed"))
        .clone()
}

#[test]
fn costs_are_the_clis_own_and_new_lines_stay_out_of_sight() {
    let env = fixture_home();
    let list = env.ctl_json(&["sessions", "--all"]);
    // Three runs of one session (one resumed from another dir): the last cost-state.
    let resumed = by_id(&list, RESUMED);
    let cost = resumed["cost_usd"].as_f64().expect("cost");
    assert!((cost - 0.150872).abs() < 1e-9, "{cost}");
    assert_eq!(resumed["cost_is_estimate"], false);
    assert_eq!(resumed["cli_version"], "2.1.330");
    assert_eq!(resumed["models"], serde_json::json!(["claude-opus-5-5"]));
    assert_eq!(resumed["user_messages"], 3);
    assert_eq!(resumed["first_prompt"], "say hi");
    // The token estimate at Opus 5.5's $4/$20 agrees with the CLI here.
    let estimate = resumed["estimated_cost_usd"].as_f64().expect("estimate");
    assert!((estimate - 0.150872).abs() < 1e-9, "{estimate}");

    let denied = by_id(&list, DENIED);
    let cost = denied["cost_usd"].as_f64().expect("cost");
    assert!((cost - 0.109616).abs() < 1e-9, "{cost}");
    assert_eq!(denied["tool_calls"]["Bash"], 1);
    assert_eq!(denied["skipped_lines"], 0);

    // A background session's file has no cost-state: estimated, and titled by ai-title.
    let background = by_id(&list, BACKGROUND);
    assert_eq!(background["cost_is_estimate"], true);
    assert!(background["cost_usd"].as_f64().expect("cost") > 0.0);
    assert_eq!(background["title"], "mock title");
    assert_eq!(
        background["first_prompt"],
        "say hi in the background, second try"
    );

    // The system prompt is in the files (api-request-shape, prompt_snapshot) but never
    // in search results, transcripts or exports.
    let system_prompt = "built on Anthropic's Claude Agent SDK";
    let raw = std::fs::read_to_string(
        env.projects_dir()
            .join(REPO_DIR)
            .join(format!("{RESUMED}.jsonl")),
    )
    .expect("fixture");
    assert!(raw.contains(system_prompt), "the fixture holds it");
    let search = env.ctl_json(&["search", system_prompt, "--hours", "0"]);
    assert_eq!(search, serde_json::json!([]), "{search:#}");
    let hits = env.ctl_json(&["search", "hi from mock", "--hours", "0"]);
    assert!(
        !hits.as_array().expect("hits").is_empty(),
        "real text is still found: {hits:#}"
    );
    let export = env.ctl_ok(&["export", RESUMED]);
    assert!(!export.contains(system_prompt));
    assert!(!export.contains("api-request"));
    assert!(export.contains("say hi"));

    // analytics: the same figures.
    let analytics = env.ctl_json(&["analytics"]);
    let total = analytics["total"]["cost_usd"].as_f64().expect("total");
    let expected = 0.150872 + 0.10961599999999999 + background["cost_usd"].as_f64().expect("c");
    assert!((total - expected).abs() < 1e-9, "{total} vs {expected}");
    let estimated = analytics["total"]["estimated_cost_usd"]
        .as_f64()
        .expect("estimated part");
    assert!((estimated - background["cost_usd"].as_f64().expect("c")).abs() < 1e-9);
}

/// A `watch --json` child whose stdout lines can be awaited.
struct Watch {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<Value>,
}

impl Watch {
    fn start(env: &TestEnv) -> Watch {
        env.ctl_ok(&["daemon", "status"]);
        let mut child = env
            .command(bin("orchestractl"))
            .args(["watch", "--json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("watch");
        let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
        let mut said = String::new();
        stderr.read_line(&mut said).expect("watch says it watches");
        assert!(said.contains("watching sessions"), "{said}");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(value) = serde_json::from_str(&line) {
                    let _ = tx.send(value);
                }
            }
        });
        Watch { child, lines }
    }

    fn next_matching(&self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = std::time::Instant::now() + orchestra_tests::DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(event) if pred(&event) => return event,
                Ok(_) => {}
                Err(_) => panic!("no watch event for {what}"),
            }
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn live_sessions_show_busy_first_with_kind_and_name() {
    let env = TestEnv::new();
    let watch = Watch::start(&env);
    let project = env.root.path().join("proj");
    std::fs::create_dir_all(&project).expect("dir");
    // One process that answers and then idles (stream-json input kept open), one busy.
    let mut idle = env
        .command(bin("fake-claude"))
        .args([
            "-p",
            "--output-format",
            "stream-json",
            "--verbose",
            "--input-format",
            "stream-json",
        ])
        .current_dir(&project)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("fake-claude");
    {
        use std::io::Write;
        let stdin = idle.stdin.as_mut().expect("stdin");
        writeln!(
            stdin,
            r#"{{"type":"user","message":{{"role":"user","content":"first"}}}}"#
        )
        .expect("write");
    }
    watch.next_matching("idle", |e| {
        e["session"]["live_status"] == "idle" && e["session"]["first_prompt"] == "first"
    });
    // Never opened: busy until the test kills it.
    let second = Gate::new(&env, "never").task("second");
    let mut busy = env
        .command(bin("fake-claude"))
        .args(["-p", "--output-format", "stream-json", "--verbose", &second])
        .current_dir(&project)
        .stdout(Stdio::null())
        .spawn()
        .expect("fake-claude");
    let event = watch.next_matching("busy", |e| {
        e["session"]["live_status"] == "busy" && e["session"]["first_prompt"] == second.as_str()
    });
    assert_eq!(event["session"]["live_kind"], "interactive");
    assert_eq!(event["session"]["live_pid"], busy.id());
    assert!(
        event["session"]["name"]
            .as_str()
            .expect("name")
            .starts_with("proj-"),
        "{event:#}"
    );
    let live = env.ctl_json(&["sessions", "--live"]);
    let live = live.as_array().expect("list");
    assert_eq!(live.len(), 2);
    let table = env.ctl_ok(&["sessions", "--live"]);
    let rows: Vec<&str> = table.lines().skip(1).collect();
    assert!(rows[0].contains("busy"), "busy first:\n{table}");
    assert!(rows[1].contains("idle"), "then idle:\n{table}");

    // Ends (SIGTERM: exit 143, registration removed) and drops out of --live.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(busy.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("kill");
    assert_eq!(busy.wait().expect("wait").code(), Some(143));
    drop(idle.stdin.take());
    idle.wait().expect("wait");
    wait_until("no live sessions", || {
        env.ctl_json(&["sessions", "--live"])
            .as_array()
            .is_some_and(Vec::is_empty)
    });
}

#[test]
fn claude_background_sessions_show_with_job_state_and_worktree() {
    let env = fixture_home();
    let watch = Watch::start(&env);
    let job_dir = env.claude_dir.join("jobs").join("ee9adb04");
    std::fs::create_dir_all(&job_dir).expect("dir");
    let job = |file: &str| {
        let text = std::fs::read_to_string(
            orchestra_tests::fixtures().join(format!("claude-code/2.1.330/background/{file}")),
        )
        .expect("fixture");
        let mut state: Value = serde_json::from_str(&text).expect("json");
        // The captured job ran another session: make it this one's, in a worktree.
        state["sessionId"] = BACKGROUND.into();
        state["worktreePath"] = "/home/dev/work/repo/.claude/worktrees/feat2".into();
        state["worktreeBranch"] = "worktree-feat2".into();
        state.to_string()
    };
    std::fs::write(job_dir.join("state.json"), job("job_state_live.json")).expect("write");
    let event = watch.next_matching("job working", |e| {
        e["session"]["session_id"] == BACKGROUND && e["session"]["job_state"] == "working"
    });
    assert_eq!(event["session"]["job_id"], "ee9adb04");
    assert_eq!(event["session"]["name"], "mock title");

    let listed = by_id(&env.ctl_json(&["sessions", "--all"]), BACKGROUND);
    assert_eq!(listed["job_id"], "ee9adb04");
    let table = env.ctl_ok(&["sessions", "--all"]);
    assert!(table.contains("bg ee9adb04 working"), "{table}");
    let shown = env.ctl_ok(&["show", "ee9adb04"]);
    assert!(shown.contains("ee9adb04 (working)"), "{shown}");
    assert!(shown.contains("worktree-feat2"), "{shown}");
    assert!(shown.contains(".claude/worktrees/feat2"), "{shown}");

    // `claude stop` rewrites the state: a watch event says so.
    std::fs::write(job_dir.join("state.json"), job("job_state_stopped.json")).expect("write");
    let stopped = watch.next_matching("job stopped", |e| {
        e["session"]["session_id"] == BACKGROUND && e["session"]["job_state"] == "stopped"
    });
    assert_eq!(stopped["kind"], "updated");
    assert_eq!(stopped["session"]["worktree_branch"], "worktree-feat2");
}

#[test]
fn a_first_background_job_shows_at_once_though_no_jobs_dir_was_there_at_start() {
    // A daemon started before the user's first `claude --bg` had no jobs dir to watch, so
    // the job waited for the heartbeat (an hour here). The daemon now makes the dirs
    // (private) and watches them from the start.
    use std::os::unix::fs::PermissionsExt as _;
    let env = fixture_home();
    env.write_config(&serde_json::json!({
        "claude_command": bin("fake-claude"),
        "heartbeat_interval": 3600,
    }));
    assert!(!env.claude_dir.join("jobs").exists(), "no jobs dir yet");
    let watch = Watch::start(&env);
    for dir in ["jobs", "sessions"] {
        let meta = std::fs::metadata(env.claude_dir.join(dir)).expect("made by the daemon");
        assert_eq!(meta.permissions().mode() & 0o777, 0o700, "{dir} is private");
    }
    let job_dir = env.claude_dir.join("jobs").join("ee9adb04");
    std::fs::create_dir_all(&job_dir).expect("dir");
    let text = std::fs::read_to_string(
        orchestra_tests::fixtures().join("claude-code/2.1.330/background/job_state_live.json"),
    )
    .expect("fixture");
    let mut state: Value = serde_json::from_str(&text).expect("json");
    state["sessionId"] = BACKGROUND.into();
    std::fs::write(job_dir.join("state.json"), state.to_string()).expect("write");
    let event = watch.next_matching("job working", |e| {
        e["session"]["session_id"] == BACKGROUND && e["session"]["job_state"] == "working"
    });
    assert_eq!(event["session"]["job_id"], "ee9adb04");
}
