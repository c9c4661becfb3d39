//! Proves the `fake-claude` stand-in honest: the same scenarios run against the real
//! Claude Code CLI (offline, against a loopback stub of the Messages API) and against
//! fake-claude must be observed the same way by everything orchestra relies on.
//!
//! Gated on the real CLI's presence: `ORCHESTRA_REAL_CLAUDE=/path/to/claude`, else
//! `claude` on `PATH`, of the version pinned in `.ci/claude-code-version`. `.ci/run`
//! installs it from npm, and under `CI=true` a missing CLI fails these tests.

use std::path::Path;
use std::time::Duration;

use orchestra_tests::stub_api::StubApi;
use orchestra_tests::{TestEnv, agent_by_task, all_finished, bin, wait_for_agents};
use serde_json::Value;

use orchestra_tests::real_cli::real_claude;

/// What one run of a CLI looked like from the outside.
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    lines: Vec<Value>,
    stderr: String,
}

impl Run {
    fn kinds(&self) -> Vec<String> {
        self.lines
            .iter()
            .map(|l| match l["subtype"].as_str() {
                Some(sub) if l["type"] != "result" => {
                    format!("{}/{sub}", l["type"].as_str().unwrap_or("?"))
                }
                _ => l["type"].as_str().unwrap_or("?").to_owned(),
            })
            // Status and retry notices are not part of the contract.
            .filter(|k| k != "system/status" && k != "system/api_retry")
            .collect()
    }

    fn result(&self) -> &Value {
        self.lines
            .iter()
            .rev()
            .find(|l| l["type"] == "result")
            .expect("a result line")
    }
}

async fn run(
    program: &Path,
    env: &TestEnv,
    stub: &StubApi,
    cwd: &Path,
    args: &[&str],
    stdin: Option<String>,
) -> Run {
    let mut cmd = tokio::process::Command::new(program);
    cmd.env_clear()
        .envs(env.envs())
        .envs(stub.env())
        .args(args)
        .current_dir(cwd)
        .stdin(if stdin.is_some() {
            std::process::Stdio::piped()
        } else {
            std::process::Stdio::null()
        })
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().expect("spawn the CLI");
    if let Some(text) = stdin {
        use tokio::io::AsyncWriteExt;
        let mut input = child.stdin.take().expect("stdin");
        input.write_all(text.as_bytes()).await.expect("write stdin");
        drop(input);
    }
    let out = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .expect("the CLI finishes within 2 minutes")
        .expect("output");
    Run {
        code: out.status.code(),
        lines: String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The uuid the two-turn run sends message `text` with (the echo must carry it back).
fn uuid_of(text: &str) -> String {
    format!("00000000-0000-4000-8000-00000000000{}", text.len())
}

/// A user message line with the uuid [`uuid_of`] gives it, as orchestra sends them.
fn user_line_with_uuid(text: &str) -> String {
    serde_json::json!({"type": "user", "uuid": uuid_of(text),
        "message": {"role": "user", "content": text}})
    .to_string()
        + "\n"
}

/// Everything orchestra relies on, observed for one CLI.
#[derive(Debug, PartialEq)]
struct Observed {
    say_hi_code: Option<i32>,
    say_hi_kinds: Vec<String>,
    result_keys_present: Vec<(&'static str, bool)>,
    session_id_matches_init: bool,
    session_file_where_expected: bool,
    registration_removed: bool,
    meta: (String, String, u64, u64, bool, String),
    two_turns_results: usize,
    /// Under `--replay-user-messages`: each message echoed, whether right after the
    /// `system/init` of its turn, and whether with the uuid it was sent with (the shim
    /// matches these to know every message was taken).
    two_turns_replays: Vec<(String, bool, bool)>,
    two_turns_code: Option<i32>,
    resume_keeps_id: bool,
    resumed_user_messages: u64,
    no_verbose_code: Option<i32>,
    no_verbose_mentions_verbose: bool,
    unknown_resume_code: Option<i32>,
    unknown_resume_error: bool,
}

fn project_dir_name(cwd: &Path) -> String {
    cwd.to_string_lossy()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

fn index(env: &TestEnv) -> Vec<orchestrad::sessions::SessionMeta> {
    let store_dir = env.root.path().join("bench-store");
    let store = orchestrad::store::Store::open(&store_dir).expect("store");
    let index = orchestrad::sessions::SessionIndex::load(
        env.projects_dir(),
        &store,
        orchestrad::events::Bus::new(),
    )
    .expect("index");
    index.scan();
    index.all()
}

async fn observe(program: &Path, stub: &StubApi) -> Observed {
    let env = TestEnv::new();
    let cwd = env.git_repo().canonicalize().expect("repo");
    let stream = ["-p", "--output-format", "stream-json", "--verbose"];

    let say_hi = run(
        program,
        &env,
        stub,
        &cwd,
        &[&stream[..], &["say hi"]].concat(),
        None,
    )
    .await;
    let result = say_hi.result().clone();
    let session_id = result["session_id"].as_str().unwrap_or_default().to_owned();
    let init_id = say_hi
        .lines
        .iter()
        .find(|l| l["subtype"] == "init")
        .map(|l| l["session_id"].clone());
    let file = env
        .projects_dir()
        .join(project_dir_name(&cwd))
        .join(format!("{session_id}.jsonl"));
    let registrations = std::fs::read_dir(env.claude_dir.join("sessions"))
        .map(|d| d.count())
        .unwrap_or(0);
    let metas = index(&env);
    let meta = metas
        .iter()
        .find(|m| m.session_id == session_id)
        .cloned()
        .unwrap_or_default();

    let two = run(
        program,
        &env,
        stub,
        &cwd,
        &[
            &stream[..],
            &["--input-format", "stream-json", "--replay-user-messages"],
        ]
        .concat(),
        Some(user_line_with_uuid("one") + &user_line_with_uuid("three")),
    )
    .await;

    let resumed = run(
        program,
        &env,
        stub,
        &cwd,
        &[&stream[..], &["--resume", &session_id, "again"]].concat(),
        None,
    )
    .await;
    let after = index(&env);
    let resumed_meta = after
        .iter()
        .find(|m| m.session_id == session_id)
        .cloned()
        .unwrap_or_default();

    let no_verbose = run(
        program,
        &env,
        stub,
        &cwd,
        &["-p", "--output-format", "stream-json", "hi"],
        None,
    )
    .await;
    let unknown = run(
        program,
        &env,
        stub,
        &cwd,
        &[
            &stream[..],
            &["--resume", "99999999-2222-4333-8444-555555555555", "hi"],
        ]
        .concat(),
        None,
    )
    .await;
    eprintln!(
        "{}: say hi stderr: {}",
        program.display(),
        say_hi.stderr.trim()
    );

    Observed {
        say_hi_code: say_hi.code,
        say_hi_kinds: say_hi.kinds(),
        result_keys_present: [
            "session_id",
            "total_cost_usd",
            "usage",
            "permission_denials",
            "is_error",
            "result",
            "num_turns",
            "subtype",
        ]
        .map(|k| (k, result.get(k).is_some()))
        .to_vec(),
        session_id_matches_init: init_id == Some(Value::String(session_id.clone())),
        session_file_where_expected: file.is_file(),
        registration_removed: registrations == 0,
        meta: (
            meta.first_prompt,
            meta.last_prompt,
            meta.user_messages,
            meta.assistant_messages,
            Path::new(&meta.project_path) == cwd,
            meta.git_branch,
        ),
        two_turns_results: two.lines.iter().filter(|l| l["type"] == "result").count(),
        two_turns_replays: two
            .lines
            .windows(2)
            .filter(|pair| pair[1]["isReplay"] == true)
            .map(|pair| {
                let text = pair[1]["message"]["content"].as_str().unwrap_or("?");
                (
                    text.to_owned(),
                    pair[0]["subtype"] == "init",
                    pair[1]["uuid"] == uuid_of(text).as_str(),
                )
            })
            .collect(),
        two_turns_code: two.code,
        resume_keeps_id: resumed.result()["session_id"] == session_id.as_str(),
        resumed_user_messages: resumed_meta.user_messages,
        no_verbose_code: no_verbose.code,
        no_verbose_mentions_verbose: no_verbose.stderr.contains("--verbose"),
        unknown_resume_code: unknown.code,
        unknown_resume_error: unknown.lines.iter().any(|l| {
            l["errors"][0]
                .as_str()
                .is_some_and(|e| e.starts_with("No conversation found with session ID"))
        }),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn fake_claude_behaves_like_the_real_cli() {
    let Some(real) = real_claude() else {
        return;
    };
    let stub = StubApi::start().await.expect("stub API");
    let real_observed = observe(&real, &stub).await;
    let fake_observed = observe(&bin("fake-claude"), &stub).await;
    // The basics hold for the real CLI on its own, so a matching fake is not vacuous.
    assert_eq!(real_observed.say_hi_code, Some(0), "{real_observed:#?}");
    assert_eq!(real_observed.meta.0, "say hi");
    assert_eq!(real_observed.two_turns_results, 2);
    assert_eq!(
        real_observed.two_turns_replays.len(),
        2,
        "{real_observed:#?}"
    );
    assert!(
        real_observed.two_turns_replays.iter().all(|r| r.2),
        "the real CLI echoes each message with the uuid it was sent with: {real_observed:#?}"
    );
    eprintln!("observed: {real_observed:#?}");
    assert_eq!(fake_observed, real_observed);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_agent_runs_on_the_real_cli() {
    let Some(real) = real_claude() else {
        return;
    };
    let stub = StubApi::start().await.expect("stub API");
    let env = TestEnv::new();
    env.write_config(&serde_json::json!({"claude_command": real, "heartbeat_interval": 1}));
    let repo = env.git_repo();
    let env_ref = &env;
    let stub_env = stub.env();
    // The CLI sends its own environment to the agents, so the stub's variables go there.
    let out = tokio::task::spawn_blocking({
        let mut cmd = env_ref.command(bin("orchestractl"));
        cmd.envs(stub_env).args([
            "--json",
            "spawn",
            "--repo",
            repo.to_str().expect("p"),
            "say hi",
            "and hello",
        ]);
        move || cmd.output()
    })
    .await
    .expect("join")
    .expect("spawn");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let agents = tokio::task::block_in_place(|| wait_for_agents(&env, "both done", all_finished));
    for task in ["say hi", "and hello"] {
        let agent = agent_by_task(&agents, task);
        assert_eq!(agent["state"], "done", "{agent:#}");
        assert!(
            agent["result"]
                .as_str()
                .expect("result")
                .starts_with("hi from stub"),
            "{agent:#}"
        );
        assert!(agent["total_cost_usd"].as_f64().expect("cost") > 0.0);
        let session = agent["session_id"].as_str().expect("session");
        assert!(!session.is_empty());
        // The agent's session is indexed and owned by it.
        let shown = tokio::task::block_in_place(|| env.ctl_json(&["show", session]));
        assert_eq!(shown["agent_id"], agent["id"]);
        assert_eq!(shown["first_prompt"], task);
    }
}
