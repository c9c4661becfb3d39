//! What Claude Code's stream-json tells an agent's record: its session, the model, its
//! state (running, waiting for an approval), its activity line, the result, the cost and
//! the refused tools. The format itself is read in [`crate::claude::stream_json`]; this
//! module only applies its events.

use serde_json::Value;

use super::agent::{AgentRecord, AgentState};
use crate::claude::stream_json::{Control, Event, events};
use crate::text::truncate_chars;

/// Longest activity text kept.
const ACTIVITY_CHARS: usize = 120;

/// Applies one output line, through the events it holds; a line that is not JSON
/// changes nothing (the log keeps it).
pub fn apply(agent: &mut AgentRecord, line: &[u8]) {
    for event in events(line) {
        apply_event(agent, event);
    }
}

/// What one event tells the agent's record.
fn apply_event(agent: &mut AgentRecord, event: Event) {
    match event {
        Event::SessionStarted {
            session_id, model, ..
        } => {
            if !session_id.is_empty() {
                agent.session_id = session_id;
            }
            if !model.is_empty() {
                agent.model_used = model;
            }
            if agent.state == AgentState::Starting {
                agent.state = AgentState::Running;
            }
        }
        Event::Text(text) => {
            if agent.state.is_active() {
                agent.state = AgentState::Running;
            }
            let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
            agent.activity = truncate_chars(&one_line, ACTIVITY_CHARS);
        }
        Event::ToolUse { name, input, .. } => {
            if agent.state.is_active() {
                agent.state = AgentState::Running;
            }
            agent.activity = truncate_chars(
                &format!("{name} {}", tool_summary(Some(&input))),
                ACTIVITY_CHARS,
            );
        }
        Event::Control(Control::CanUseTool {
            tool_name, input, ..
        }) => {
            let tool = if tool_name.is_empty() {
                "tool"
            } else {
                &tool_name
            };
            let input = tool_summary(Some(&input));
            agent.activity =
                truncate_chars(&format!("needs approval: {tool} {input}"), ACTIVITY_CHARS);
            if agent.state.is_active() {
                agent.state = AgentState::Waiting;
            }
        }
        Event::Result {
            subtype,
            is_error,
            text,
            total_cost_usd,
            usage,
            permission_denials,
            ..
        } => {
            agent.result = text;
            agent.is_error = is_error;
            // The process reports its own running total, which on 2.1.330 starts from
            // the cost it restored from the session; earlier runs come before it.
            if let Some(cost) = total_cost_usd {
                let before = agent.total_cost_usd;
                agent.total_cost_usd =
                    agent.cost_before_run + (cost - agent.cost_restored_usd).max(0.0);
                // Counted on the day it was reported, for the daily cap.
                let spent = agent.total_cost_usd - before;
                if spent > 0.0 {
                    *agent
                        .spent_by_day
                        .entry(crate::time::local_day(crate::time::now_ms()))
                        .or_default() += spent;
                }
            }
            if subtype == "error_max_budget_usd" {
                agent.budget_hit = true;
            }
            agent.tokens.add(&usage);
            for (tool, input) in permission_denials {
                let entry = truncate_chars(&format!("{tool}: {}", tool_summary(Some(&input))), 200);
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
        Event::ToolResult { .. }
        | Event::Control(Control::Cancel { .. })
        | Event::UserMessage(_)
        | Event::Output(_) => {}
    }
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
