//! Reading Claude Code's stream-json output into an agent's record: the session id from
//! `system/init`, activity from `assistant` lines, cost and result from `result` lines,
//! and `waiting` while a permission request is open.

use serde_json::Value;

use super::agent::{AgentRecord, AgentState};
use crate::sessions::parse::truncate_chars;

/// Longest activity text kept.
const ACTIVITY_CHARS: usize = 120;

/// Applies one output line; malformed lines are ignored (the log keeps them).
pub fn apply(agent: &mut AgentRecord, line: &[u8]) {
    let Ok(value) = serde_json::from_slice::<Value>(line) else {
        return;
    };
    let kind = value
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match kind {
        "system" if value.get("subtype").and_then(Value::as_str) == Some("init") => {
            if let Some(id) = value.get("session_id").and_then(Value::as_str) {
                agent.session_id = id.to_owned();
            }
            if agent.state == AgentState::Starting {
                agent.state = AgentState::Running;
            }
        }
        "assistant" => {
            if agent.state.is_active() {
                agent.state = AgentState::Running;
            }
            let blocks = value
                .pointer("/message/content")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for block in &blocks {
                match block.get("type").and_then(Value::as_str) {
                    Some("tool_use") => {
                        let name = block.get("name").and_then(Value::as_str).unwrap_or("tool");
                        agent.activity = truncate_chars(
                            &format!("{name} {}", tool_summary(block.get("input"))),
                            ACTIVITY_CHARS,
                        );
                    }
                    Some("text") => {
                        let text = block
                            .get("text")
                            .and_then(Value::as_str)
                            .unwrap_or_default();
                        let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
                        if !one_line.is_empty() {
                            agent.activity = truncate_chars(&one_line, ACTIVITY_CHARS);
                        }
                    }
                    _ => {}
                }
            }
        }
        "control_request" => {
            let request = value.get("request");
            if request
                .and_then(|r| r.get("subtype"))
                .and_then(Value::as_str)
                == Some("can_use_tool")
            {
                let tool = request
                    .and_then(|r| r.get("tool_name"))
                    .and_then(Value::as_str)
                    .unwrap_or("tool");
                let input = tool_summary(request.and_then(|r| r.get("input")));
                agent.activity = truncate_chars(
                    &format!("waiting for approval: {tool} {input}"),
                    ACTIVITY_CHARS,
                );
                if agent.state.is_active() {
                    agent.state = AgentState::Waiting;
                }
            }
        }
        "result" => {
            agent.result = value
                .get("result")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or_else(|| {
                    value.get("errors").and_then(Value::as_array).map(|errors| {
                        errors
                            .iter()
                            .filter_map(Value::as_str)
                            .collect::<Vec<_>>()
                            .join("; ")
                    })
                })
                .unwrap_or_default();
            agent.is_error = value
                .get("is_error")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            if let Some(cost) = value.get("total_cost_usd").and_then(Value::as_f64) {
                // The process reports its own running total, which on 2.1.330 starts from
                // the cost it restored from the session; earlier runs come before it.
                agent.total_cost_usd =
                    agent.cost_before_run + (cost - agent.cost_restored_usd).max(0.0);
            }
            if let Some(usage) = value.get("usage") {
                let n = |key: &str| usage.get(key).and_then(Value::as_u64).unwrap_or(0);
                agent.tokens.input += n("input_tokens");
                agent.tokens.output += n("output_tokens");
                agent.tokens.cache_read += n("cache_read_input_tokens");
                agent.tokens.cache_creation += n("cache_creation_input_tokens");
            }
            for denial in value
                .get("permission_denials")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let tool = denial
                    .get("tool_name")
                    .and_then(Value::as_str)
                    .unwrap_or("tool");
                let entry = truncate_chars(
                    &format!("{tool}: {}", tool_summary(denial.get("tool_input"))),
                    200,
                );
                if !agent.permission_denials.contains(&entry) {
                    agent.permission_denials.push(entry);
                }
            }
            if agent.state == AgentState::Waiting {
                agent.state = AgentState::Running;
            }
            agent.activity = if agent.is_error {
                format!("error: {}", truncate_chars(&agent.result, ACTIVITY_CHARS))
            } else {
                "finished its turn".to_owned()
            };
        }
        _ => {}
    }
}

/// What a line says about tools that may change files (for the overlap radar).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileToolSignal {
    /// A Write, Edit, MultiEdit, NotebookEdit or Bash call was made.
    Called,
    /// Some tool returned its result.
    Returned,
}

/// Tools whose results may have changed files in the worktree.
const FILE_TOOLS: &[&str] = &["Write", "Edit", "MultiEdit", "NotebookEdit", "Bash"];

/// Whether `line` calls a tool that may change files, or carries a tool's result. Lines
/// that cannot be either are rejected without being parsed.
pub fn file_tool_signal(line: &[u8]) -> Option<FileToolSignal> {
    let has = |needle: &[u8]| line.windows(needle.len()).any(|w| w == needle);
    let calls = has(b"\"tool_use\"");
    let returns = has(b"\"tool_result\"");
    if !calls && !returns {
        return None;
    }
    let value = serde_json::from_slice::<Value>(line).ok()?;
    let blocks = value
        .pointer("/message/content")
        .and_then(Value::as_array)?;
    let mut signal = None;
    for block in blocks {
        match block.get("type").and_then(Value::as_str) {
            Some("tool_use")
                if block
                    .get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| FILE_TOOLS.contains(&n)) =>
            {
                signal = Some(FileToolSignal::Called);
            }
            Some("tool_result") => return Some(FileToolSignal::Returned),
            _ => {}
        }
    }
    signal
}

/// A short description of a tool's input: the path or command when there is one.
fn tool_summary(input: Option<&Value>) -> String {
    let Some(input) = input else {
        return String::new();
    };
    for key in [
        "command",
        "file_path",
        "path",
        "pattern",
        "url",
        "description",
    ] {
        if let Some(text) = input.get(key).and_then(Value::as_str) {
            return text.split_whitespace().collect::<Vec<_>>().join(" ");
        }
    }
    truncate_chars(&input.to_string(), 80)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/claude-code/stream-json")
            .join(name);
        std::fs::read_to_string(path).expect("fixture")
    }

    #[test]
    fn real_capture_gives_session_result_cost_and_denials() {
        let mut agent = AgentRecord {
            state: AgentState::Starting,
            ..AgentRecord::default()
        };
        for line in fixture("13_bash_no_flags.jsonl").lines() {
            apply(&mut agent, line.as_bytes());
        }
        assert_eq!(agent.session_id, "1a6d9363-249d-4837-af7a-1202bf63d6e8");
        assert_eq!(agent.state, AgentState::Running);
        assert!((agent.total_cost_usd - 0.19274).abs() < 1e-9);
        assert_eq!(agent.tokens.input, 38428);
        assert_eq!(
            agent.permission_denials,
            vec!["Bash: echo hi > out.txt".to_owned()]
        );
        assert!(agent.result.starts_with("Tool finished"));
    }

    #[test]
    fn a_resumed_2_1_330_run_counts_what_it_restored_once() {
        let result = |total: f64| {
            format!(
                r#"{{"type":"result","subtype":"success","is_error":false,"total_cost_usd":{total}}}"#
            )
        };
        // `send` after exit: the first run cost 0.11; the resumed run reports 0.22 in all,
        // having restored 0.11 from the session's cost-state.
        let mut agent = AgentRecord {
            cost_before_run: 0.11,
            cost_restored_usd: 0.11,
            ..AgentRecord::default()
        };
        apply(&mut agent, result(0.22).as_bytes());
        assert!(
            (agent.total_cost_usd - 0.22).abs() < 1e-12,
            "{}",
            agent.total_cost_usd
        );
        // An agent made by `resume` of a session that had cost 0.15: only what it added.
        let mut agent = AgentRecord {
            cost_restored_usd: 0.15,
            ..AgentRecord::default()
        };
        apply(&mut agent, result(0.2).as_bytes());
        assert!((agent.total_cost_usd - 0.05).abs() < 1e-12);
        // 2.1.197 restored nothing: each run's own figure adds up.
        let mut agent = AgentRecord {
            cost_before_run: 0.09605,
            ..AgentRecord::default()
        };
        apply(&mut agent, result(0.09605).as_bytes());
        assert!((agent.total_cost_usd - 0.1921).abs() < 1e-12);
    }

    #[test]
    fn permission_request_means_waiting() {
        let mut agent = AgentRecord {
            state: AgentState::Running,
            ..AgentRecord::default()
        };
        for line in fixture("50_perm_prompt_allow.transcript.jsonl").lines() {
            let value: Value = serde_json::from_str(line).expect("json");
            if value.get("dir").and_then(Value::as_str) == Some("from_claude") {
                apply(&mut agent, value["msg"].to_string().as_bytes());
                if value["msg"]["type"] == "control_request" {
                    assert_eq!(agent.state, AgentState::Waiting);
                    assert!(agent.activity.contains("Write"), "{}", agent.activity);
                }
            }
        }
        assert_eq!(agent.state, AgentState::Running, "the answer resumes it");
        assert!(!agent.is_error);
    }
}
