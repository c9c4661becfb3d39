//! fake-claude follows Claude Code 2.1.330: for each captured scenario its stdout has the
//! same line kinds in the same order, each line with the same keys (and the same keys in
//! `message`, `usage` and each `modelUsage` entry), and the same exit code; its
//! registration and `cost-state` lines carry the real keys too.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;

use orchestra_tests::{Gate, TestEnv, bin, fixtures, wait_until};
use serde_json::Value;

fn capture(name: &str) -> Vec<Value> {
    let text =
        std::fs::read_to_string(fixtures().join(format!("claude-code/2.1.330/stream-json/{name}")))
            .expect("capture");
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|v| match v.get("dir") {
            // A two-way transcript: what the CLI printed.
            Some(dir) if dir == "from_claude" => v["msg"].clone(),
            Some(_) => Value::Null,
            None => v,
        })
        .filter(|v| v.get("type").is_some())
        .collect()
}

fn kind(line: &Value) -> String {
    match line["subtype"].as_str() {
        Some(sub) if line["type"] != "result" => {
            format!("{}/{sub}", line["type"].as_str().unwrap_or("?"))
        }
        _ => line["type"].as_str().unwrap_or("?").to_owned(),
    }
}

fn keys(value: &Value) -> BTreeSet<String> {
    value
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// The shape of a line: its kind, its keys, and the keys of the nested objects that
/// orchestra reads.
fn shape(line: &Value) -> (String, Vec<(&'static str, BTreeSet<String>)>) {
    let mut parts = vec![("", keys(line))];
    for (name, pointer) in [
        ("message", "/message"),
        ("usage", "/usage"),
        ("request", "/request"),
    ] {
        if let Some(inner) = line.pointer(pointer).filter(|v| v.is_object()) {
            parts.push((name, keys(inner)));
        }
    }
    if let Some(models) = line["modelUsage"].as_object() {
        for entry in models.values() {
            parts.push(("modelUsage entry", keys(entry)));
        }
    }
    (kind(line), parts)
}

/// Not part of the contract: progress notices and retries.
fn relevant(line: &Value) -> bool {
    !matches!(kind(line).as_str(), "system/status" | "system/api_retry")
}

fn assert_same_shape(scenario: &str, fake: &[Value], real: &[Value]) {
    let fake: Vec<_> = fake.iter().filter(|l| relevant(l)).map(shape).collect();
    let real: Vec<_> = real.iter().filter(|l| relevant(l)).map(shape).collect();
    let fake_kinds: Vec<_> = fake.iter().map(|(k, _)| k.clone()).collect();
    let real_kinds: Vec<_> = real.iter().map(|(k, _)| k.clone()).collect();
    assert_eq!(fake_kinds, real_kinds, "{scenario}: line kinds");
    for ((kind, fake_parts), (_, real_parts)) in fake.iter().zip(&real) {
        assert_eq!(fake_parts, real_parts, "{scenario}: keys of {kind}");
    }
}

struct Run {
    code: Option<i32>,
    lines: Vec<Value>,
}

fn run(env: &TestEnv, repo: &std::path::Path, args: &[&str]) -> Run {
    let out = env
        .command(bin("fake-claude"))
        .args(["-p", "--output-format", "stream-json", "--verbose"])
        .args(args)
        .current_dir(repo)
        .stdin(Stdio::null())
        .output()
        .expect("fake-claude");
    Run {
        code: out.status.code(),
        lines: String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect(),
    }
}

#[test]
fn one_shot_scenarios_match_the_captures() {
    let env = TestEnv::new();
    let repo = env.git_repo();
    for (scenario, args, capture_name, code) in [
        ("say hi", vec!["say hi"], "01_say_hi.jsonl", 0),
        (
            "Write allowed",
            vec!["TOOL_WRITE", "--allowedTools", "Write"],
            "17_write_allowed_Write.jsonl",
            0,
        ),
        (
            "Bash denied",
            vec!["BASH:echo_hi_>_out.txt"],
            "13_bash_no_flags.jsonl",
            0,
        ),
        ("HTTP 400", vec!["FAIL"], "51_http_400.jsonl", 1),
        (
            "--max-budget-usd",
            vec!["--max-budget-usd", "0.01", "BASH:ls"],
            "55_max_budget_0.01.jsonl",
            1,
        ),
    ] {
        let fake = run(&env, &repo, &args);
        assert_eq!(fake.code, Some(code), "{scenario}: exit code");
        assert_same_shape(scenario, &fake.lines, &capture(capture_name));
    }
    // The budget run's result says so, as the real one does.
    let budget = run(&env, &repo, &["--max-budget-usd", "0.01", "BASH:ls"]);
    let result = budget.lines.last().expect("result");
    assert_eq!(result["subtype"], "error_max_budget_usd");
    assert_eq!(result["terminal_reason"], "budget_exhausted");
}

#[test]
fn the_stdio_permission_protocol_matches_the_capture() {
    let env = TestEnv::new();
    let repo = env.git_repo();
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
        .current_dir(&repo)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("fake-claude");
    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(
        stdin,
        r#"{{"type":"user","message":{{"role":"user","content":"TOOL_WRITE please"}}}}"#
    )
    .expect("write");
    let mut lines = Vec::new();
    for line in BufReader::new(child.stdout.take().expect("stdout")).lines() {
        let line: Value = serde_json::from_str(&line.expect("line")).expect("json");
        if line["type"] == "control_request" {
            let answer = serde_json::json!({"type": "control_response", "response": {
                "subtype": "success", "request_id": line["request_id"],
                "response": {"behavior": "allow", "updatedInput": line["request"]["input"]}}});
            writeln!(stdin, "{answer}").expect("answer");
        }
        let done = line["type"] == "result";
        lines.push(line);
        if done {
            break;
        }
    }
    drop(stdin);
    assert_eq!(child.wait().expect("wait").code(), Some(0));
    assert_same_shape(
        "stdio permission",
        &lines,
        &capture("50_perm_prompt_allow.transcript.jsonl"),
    );
}

#[test]
fn sigterm_mid_turn_exits_143_after_init_only() {
    let env = TestEnv::new();
    let repo = env.git_repo();
    // Never opened: SIGTERM arrives mid-turn.
    let prompt = Gate::new(&env, "never").task("hi");
    let mut child = env
        .command(bin("fake-claude"))
        .args(["-p", "--output-format", "stream-json", "--verbose", &prompt])
        .current_dir(&repo)
        .stdout(Stdio::piped())
        .spawn()
        .expect("fake-claude");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("init");
    // Busy in its registration while the turn runs, with the real keys.
    let registry = env.claude_dir.join("sessions");
    wait_until("registered", || {
        std::fs::read_dir(&registry).is_ok_and(|d| d.count() > 0)
    });
    let reg_file = registry.join(format!("{}.json", child.id()));
    let reg: Value =
        serde_json::from_str(&std::fs::read_to_string(&reg_file).expect("registration"))
            .expect("json");
    let real_reg: Value = serde_json::from_str(
        &std::fs::read_to_string(
            fixtures().join("claude-code/2.1.330/registry/print_run_busy.json"),
        )
        .expect("capture"),
    )
    .expect("json");
    assert_eq!(keys(&reg), keys(&real_reg), "registration keys");
    assert_eq!(reg["status"], "busy");
    assert_eq!(reg["kind"], "interactive");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("signal");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).expect("rest");
    assert_eq!(child.wait().expect("wait").code(), Some(143));
    let lines: Vec<Value> = std::iter::once(first.as_str())
        .chain(rest.lines())
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert_same_shape("SIGTERM", &lines, &capture("32_sigterm_mid_turn.jsonl"));
    assert!(!reg_file.exists(), "the registration is removed");
}

#[test]
fn session_file_cost_state_has_the_real_keys() {
    let env = TestEnv::new();
    let fake = run(&env, &env.git_repo(), &["say hi"]);
    let id = fake.lines[0]["session_id"].as_str().expect("id").to_owned();
    let file = std::fs::read_dir(env.projects_dir())
        .expect("projects")
        .flatten()
        .map(|d| d.path().join(format!("{id}.jsonl")))
        .find(|p| p.exists())
        .expect("session file");
    let text = std::fs::read_to_string(file).expect("read");
    let cost_state: Value = text
        .lines()
        .rev()
        .find(|l| l.starts_with(r#"{"type":"cost-state""#))
        .map(|l| serde_json::from_str(l).expect("json"))
        .expect("a cost-state line, type first");
    let real_text = std::fs::read_to_string(
        fixtures().join("claude-code/2.1.330/sessions/01_session_after_first_run.jsonl"),
    )
    .expect("capture");
    let real: Value = real_text
        .lines()
        .rev()
        .find(|l| l.starts_with(r#"{"type":"cost-state""#))
        .map(|l| serde_json::from_str(l).expect("json"))
        .expect("captured cost-state");
    assert_eq!(shape(&cost_state), shape(&real));
    assert_eq!(
        cost_state["totalCostUSD"],
        fake.lines.last().expect("result")["total_cost_usd"]
    );
}
