//! Claude Code's stream-json, read and written in one place. [`events`] turns a line into
//! typed [`Event`]s (session start, text, tool use, tool result, permission request,
//! result, a message we sent, a line that is not JSON); everything else in the code base
//! goes through them: the agent's record (`supervisor::progress`), the approvals
//! ([`control`], answered with [`control_response`]), the overlap radar
//! ([`file_tool_signal`]), the shim's turn count ([`turn_mark`]), and `logs` and the
//! dashboard, which render the events carried in `LogLine.events`. What goes to the CLI's
//! stdin is written here too ([`user_message`], [`control_response`]).

use serde_json::Value;

/// A user message as a stream-json input line, with a uuid of its own, which Claude Code
/// echoes back when it takes the message (`--replay-user-messages`, see [`TurnMark`]).
pub fn user_message(text: &str) -> String {
    serde_json::json!({"type": "user", "uuid": uuid::Uuid::new_v4().to_string(),
        "message": {"role": "user", "content": text}})
    .to_string()
}

/// The uuid of a user message input line, if it has one.
pub fn user_message_uuid(line: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Sent {
        #[serde(rename = "type")]
        kind: String,
        uuid: Option<String>,
    }
    serde_json::from_str::<Sent>(line)
        .ok()
        .filter(|sent| sent.kind == "user")
        .and_then(|sent| sent.uuid)
}

/// The text of a user message input line (what [`user_message`] wrote), if it is one.
pub fn user_message_text(line: &str) -> Option<String> {
    serde_json::from_str::<Value>(line)
        .ok()?
        .pointer("/message/content")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// How a user message sent to the agent starts in `output.jsonl`: a stream-json `user`
/// line with `"orchestra":"sent"`, which tells it from the lines Claude Code wrote.
pub const SENT_PREFIX: &str = "{\"type\":\"user\",\"orchestra\":\"sent\",";

/// The log line recording that the stream-json input `line` was sent.
pub fn sent_line(line: &str) -> String {
    let message = serde_json::from_str::<serde_json::Value>(line)
        .ok()
        .and_then(|mut value| value.get_mut("message").map(serde_json::Value::take))
        .unwrap_or(serde_json::Value::Null);
    format!("{SENT_PREFIX}\"message\":{message}}}\n")
}

/// Whether a reader needs `line` to follow the run, so a log must keep it even when
/// lines are being dropped for want of room: the session's start, control requests, and
/// the result.
pub fn must_keep(line: &[u8]) -> bool {
    is_result(line)
        || control(line).is_some()
        || line.starts_with(br#"{"type":"system","subtype":"init""#)
}

/// One thing in an agent's conversation, read from a stream-json line: what `logs` and
/// the dashboard render (through `LogLine.events`). This module is the one reader of the
/// format; the clients never parse a line themselves.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// `system/init`: a run began.
    SessionStarted {
        /// Claude Code's session id.
        session_id: String,
        /// The model.
        model: String,
        /// The working directory.
        cwd: String,
    },
    /// Text Claude wrote (an `assistant` text block).
    Text(String),
    /// A tool call (an `assistant` tool_use block).
    ToolUse {
        /// The call's id.
        id: String,
        /// The tool.
        name: String,
        /// Its input.
        input: Value,
    },
    /// A tool's answer (a `user` tool_result block).
    ToolResult {
        /// The call answered.
        tool_use_id: String,
        /// What it returned, as text.
        content: String,
        /// It failed or was refused.
        is_error: bool,
    },
    /// A permission request or its withdrawal.
    Control(Control),
    /// `result`: the end of a turn.
    Result {
        /// `success`, `error_during_execution`, ...
        subtype: String,
        /// The turn failed.
        is_error: bool,
        /// The answer, or the errors joined with "; ".
        text: String,
        /// The process's running total, when it reported one.
        total_cost_usd: Option<f64>,
        /// How long the turn took.
        duration_ms: u64,
        /// Model round trips.
        num_turns: u64,
        /// Tokens of the turn.
        usage: crate::sessions::meta::Tokens,
        /// Tool calls refused without asking: (tool, input).
        permission_denials: Vec<(String, Value)>,
    },
    /// A message orchestra sent to the agent (its task, `send`, a resume).
    UserMessage(String),
    /// A line that is not JSON, as written.
    Output(String),
}

/// Everything `line` says that is worth showing; none for kinds nobody shows (status
/// notices, unknown types), several for a message with text and tool calls.
pub fn events(line: &[u8]) -> Vec<Event> {
    if line.trim_ascii().is_empty() {
        return Vec::new();
    }
    let Ok(value) = serde_json::from_slice::<Value>(line) else {
        return vec![Event::Output(String::from_utf8_lossy(line).into_owned())];
    };
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_owned();
    let blocks = || {
        value
            .pointer("/message/content")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
    };
    match value
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
    {
        "system" if value.get("subtype").and_then(Value::as_str) == Some("init") => {
            vec![Event::SessionStarted {
                session_id: text(value.get("session_id")),
                model: text(value.get("model")),
                cwd: text(value.get("cwd")),
            }]
        }
        "assistant" => blocks()
            .iter()
            .filter_map(|b| match b.get("type").and_then(Value::as_str) {
                Some("text") => {
                    let t = text(b.get("text"));
                    (!t.trim().is_empty()).then_some(Event::Text(t))
                }
                Some("tool_use") => Some(Event::ToolUse {
                    id: text(b.get("id")),
                    name: b
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or("tool")
                        .to_owned(),
                    input: b.get("input").cloned().unwrap_or(Value::Null),
                }),
                _ => None,
            })
            .collect(),
        "user" if value.get("orchestra").and_then(Value::as_str) == Some("sent") => {
            let content = match value.pointer("/message/content") {
                Some(Value::String(t)) => t.clone(),
                Some(Value::Array(blocks)) => block_text(blocks),
                _ => return Vec::new(),
            };
            vec![Event::UserMessage(content)]
        }
        "user" => blocks()
            .iter()
            .filter(|b| b.get("type").and_then(Value::as_str) == Some("tool_result"))
            .map(|b| Event::ToolResult {
                tool_use_id: text(b.get("tool_use_id")),
                content: match b.get("content") {
                    Some(Value::String(t)) => t.clone(),
                    Some(Value::Array(blocks)) => block_text(blocks),
                    Some(other) => other.to_string(),
                    None => String::new(),
                },
                is_error: b.get("is_error").and_then(Value::as_bool).unwrap_or(false),
            })
            .collect(),
        "control_request" | "control_cancel_request" => {
            control_of(&value).map(Event::Control).into_iter().collect()
        }
        "result" => {
            let usage = value.get("usage");
            let n = |key: &str| {
                usage
                    .and_then(|u| u.get(key))
                    .and_then(Value::as_u64)
                    .unwrap_or(0)
            };
            vec![Event::Result {
                subtype: text(value.get("subtype")),
                is_error: value
                    .get("is_error")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                text: value
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
                    .unwrap_or_default(),
                total_cost_usd: value.get("total_cost_usd").and_then(Value::as_f64),
                duration_ms: value
                    .get("duration_ms")
                    .and_then(Value::as_u64)
                    .unwrap_or(0),
                num_turns: value.get("num_turns").and_then(Value::as_u64).unwrap_or(0),
                usage: crate::sessions::meta::Tokens {
                    input: n("input_tokens"),
                    output: n("output_tokens"),
                    cache_read: n("cache_read_input_tokens"),
                    cache_creation: n("cache_creation_input_tokens"),
                },
                permission_denials: value
                    .get("permission_denials")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|d| {
                        (
                            d.get("tool_name")
                                .and_then(Value::as_str)
                                .unwrap_or("tool")
                                .to_owned(),
                            d.get("tool_input").cloned().unwrap_or(Value::Null),
                        )
                    })
                    .collect(),
            }]
        }
        _ => Vec::new(),
    }
}

/// The text blocks of a content array, joined; the JSON when there are none.
fn block_text(blocks: &[Value]) -> String {
    let texts: Vec<&str> = blocks
        .iter()
        .filter_map(|b| b.get("text").and_then(Value::as_str))
        .collect();
    if texts.is_empty() && !blocks.is_empty() {
        Value::Array(blocks.to_vec()).to_string()
    } else {
        texts.join("\n")
    }
}

/// A control message from Claude Code that the approvals care about.
#[derive(Debug, Clone, PartialEq)]
pub enum Control {
    /// `control_request` / `can_use_tool`: the CLI waits for an answer on stdin.
    CanUseTool {
        /// The id to answer.
        request_id: String,
        /// The tool.
        tool_name: String,
        /// The tool's input.
        input: Value,
        /// The CLI's description of the call.
        description: String,
        /// `permission_suggestions`, for "always".
        suggestions: Value,
        /// The tool use asked about.
        tool_use_id: String,
    },
    /// `control_cancel_request`: the CLI no longer waits for that answer.
    Cancel {
        /// The request withdrawn.
        request_id: String,
    },
}

/// The control message in a stream-json line, if it is one we act on.
pub fn control(line: &[u8]) -> Option<Control> {
    // Cheap filter first: most lines are assistant and user lines.
    if !line.windows(8).any(|w| w == b"control_") {
        return None;
    }
    let value: Value = serde_json::from_slice(line).ok()?;
    control_of(&value)
}

/// The control message of a parsed line.
fn control_of(value: &Value) -> Option<Control> {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_owned();
    match value.get("type").and_then(Value::as_str)? {
        "control_request" => {
            let request = value.get("request")?;
            if request.get("subtype").and_then(Value::as_str) != Some("can_use_tool") {
                return None;
            }
            Some(Control::CanUseTool {
                request_id: text(value.get("request_id")),
                tool_name: text(request.get("tool_name")),
                input: request.get("input").cloned().unwrap_or(Value::Null),
                description: text(request.get("description")),
                suggestions: request
                    .get("permission_suggestions")
                    .cloned()
                    .unwrap_or(Value::Null),
                tool_use_id: text(request.get("tool_use_id")),
            })
        }
        "control_cancel_request" => Some(Control::Cancel {
            request_id: text(value.get("request_id")),
        }),
        _ => None,
    }
}

/// The `control_response` line that answers request `request_id` with `answer`
/// (`{"behavior":"allow",...}` or `{"behavior":"deny","message":...}`).
pub fn control_response(request_id: &str, answer: &Value) -> String {
    serde_json::json!({
        "type": "control_response",
        "response": {"subtype": "success", "request_id": request_id, "response": answer},
    })
    .to_string()
}

/// The host's `control_request` that interrupts the turn under way: the CLI answers it,
/// writes "[Request interrupted by user]" and ends the turn with
/// `result/error_during_execution` (transcript 60 of the shared notes).
pub fn interrupt_request(request_id: &str) -> String {
    serde_json::json!({
        "type": "control_request",
        "request_id": request_id,
        "request": {"subtype": "interrupt"},
    })
    .to_string()
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
    let mut signal = None;
    for event in events(line) {
        match event {
            Event::ToolUse { name, .. } if FILE_TOOLS.contains(&name.as_str()) => {
                signal = Some(FileToolSignal::Called);
            }
            Event::ToolResult { .. } => return Some(FileToolSignal::Returned),
            _ => {}
        }
    }
    signal
}

/// Whether a stream-json line is a `result` line.
pub fn is_result(line: &[u8]) -> bool {
    turn_mark(line) == Some(TurnMark::Result)
}

/// The lines that tell how far Claude Code got through the input sent to it: the shim
/// keeps stdin open until every sent message was taken and its turn has ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TurnMark {
    /// A `result` line: a turn ended.
    Result,
    /// A sent user message echoed back (`"isReplay":true`, printed under
    /// `--replay-user-messages`) when Claude Code takes it: at the start of its own turn,
    /// or in the middle of a running turn, which then absorbs it (one `result` for both).
    /// It carries the uuid the message was sent with ([`user_message`]).
    Replay(Option<String>),
}

/// What `line` says about the turns (a borrowed parse that allocates only for an echo).
pub fn turn_mark(line: &[u8]) -> Option<TurnMark> {
    #[derive(serde::Deserialize)]
    struct Kind<'a> {
        #[serde(rename = "type", borrow, default)]
        kind: Option<std::borrow::Cow<'a, str>>,
        #[serde(rename = "isReplay", default)]
        is_replay: bool,
        #[serde(borrow, default)]
        uuid: Option<std::borrow::Cow<'a, str>>,
    }
    let kind = serde_json::from_slice::<Kind>(line).ok()?;
    match kind.kind.as_deref() {
        Some("result") => Some(TurnMark::Result),
        Some("user") if kind.is_replay => Some(TurnMark::Replay(kind.uuid.map(|u| u.into_owned()))),
        _ => None,
    }
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

    /// Every event of a capture's stdout lines (`*.transcript.jsonl`: what the CLI wrote).
    fn events_of(path: &str) -> Vec<Event> {
        let text = std::fs::read_to_string(path).expect("capture");
        text.lines()
            .flat_map(|line| {
                let value: Value = serde_json::from_str(line).expect("json");
                match value.get("dir").and_then(Value::as_str) {
                    Some("from_claude") => events(value["msg"].to_string().as_bytes()),
                    Some(_) => Vec::new(),
                    None => events(line.as_bytes()),
                }
            })
            .collect()
    }

    #[test]
    fn captured_lines_become_typed_events() {
        let events = events_of(&format!(
            "{}/../tests/fixtures/claude-code/stream-json/13_bash_no_flags.jsonl",
            env!("CARGO_MANIFEST_DIR")
        ));
        assert!(
            matches!(&events[0], Event::SessionStarted { session_id, .. } if session_id == "1a6d9363-249d-4837-af7a-1202bf63d6e8"),
            "{events:?}"
        );
        assert!(events.iter().any(|e| matches!(e, Event::ToolUse { name, input, .. } if name == "Bash" && input["command"] == "echo hi > out.txt")));
        assert!(
            events
                .iter()
                .any(|e| matches!(e, Event::ToolResult { is_error: true, .. }))
        );
        let Some(Event::Result {
            total_cost_usd,
            is_error,
            text,
            ..
        }) = events.last()
        else {
            panic!("{events:?}");
        };
        assert!((total_cost_usd.expect("cost") - 0.19274).abs() < 1e-9);
        assert!(!is_error);
        assert!(text.starts_with("Tool finished"));
    }

    #[test]
    fn permission_requests_of_2_1_330_and_2_1_197_are_events() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/claude-code");
        for path in [
            format!("{dir}/2.1.330/stream-json/50_perm_prompt_allow.transcript.jsonl"),
            format!("{dir}/stream-json/50_perm_prompt_allow.transcript.jsonl"),
        ] {
            let events = events_of(&path);
            let asked = events
                .iter()
                .filter(|e| matches!(e, Event::Control(Control::CanUseTool { tool_name, .. }) if tool_name == "Write"))
                .count();
            assert_eq!(asked, 1, "{path}: {events:?}");
            assert!(
                matches!(
                    events.last(),
                    Some(Event::Result {
                        is_error: false,
                        ..
                    })
                ),
                "{path}"
            );
        }
    }

    #[test]
    fn hostile_lines_give_output_or_nothing() {
        assert_eq!(
            events(b"not json {"),
            vec![Event::Output("not json {".to_owned())]
        );
        assert_eq!(
            events(b"\xff\xfe"),
            vec![Event::Output("\u{fffd}\u{fffd}".to_owned())]
        );
        assert!(events(b"").is_empty());
        assert!(events(br#"{"type":"mystery","x":1}"#).is_empty());
        assert!(events(br#"[1,2]"#).is_empty());
        assert!(events(br#"{"type":"assistant","message":{"content":"not blocks"}}"#).is_empty());
        assert!(events(br#"{"type":"assistant","message":{"content":[{"type":"tool_use"}]}}"#)
            .iter()
            .all(|e| matches!(e, Event::ToolUse { name, input: Value::Null, .. } if name == "tool")));
        let huge = format!(
            r#"{{"type":"assistant","message":{{"content":[{{"type":"text","text":"{}"}}]}}}}"#,
            "x".repeat(5 * 1024 * 1024)
        );
        assert!(
            matches!(&events(huge.as_bytes())[..], [Event::Text(t)] if t.len() == 5 * 1024 * 1024)
        );
        let sent = format!(
            "{}\"message\":{{\"role\":\"user\",\"content\":\"do it\"}}}}",
            SENT_PREFIX
        );
        assert_eq!(
            events(sent.as_bytes()),
            vec![Event::UserMessage("do it".to_owned())]
        );
    }

    #[test]
    fn control_requests_of_the_captures_are_read() {
        let lines = fixture("56_perm_prompt_always_allow_bash.transcript.jsonl");
        let controls: Vec<Control> = lines
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["dir"] == "from_claude")
            .filter_map(|v| control(v["msg"].to_string().as_bytes()))
            .collect();
        assert_eq!(controls.len(), 1, "the repeat is allowed by the saved rule");
        let Control::CanUseTool {
            request_id,
            tool_name,
            input,
            suggestions,
            ..
        } = &controls[0]
        else {
            panic!("{controls:?}");
        };
        assert_eq!(request_id, "db344710-088e-4a4e-8636-40cab4a931e2");
        assert_eq!(tool_name, "Bash");
        assert_eq!(input["command"], "python3 -V");
        assert_eq!(suggestions[0]["type"], "addRules");
        let answer = control_response(request_id, &serde_json::json!({"behavior": "allow"}));
        let parsed: Value = serde_json::from_str(&answer).expect("json");
        assert_eq!(parsed["response"]["request_id"], request_id.as_str());
        assert_eq!(parsed["response"]["subtype"], "success");
        assert_eq!(
            control(br#"{"type":"control_cancel_request","request_id":"r9"}"#),
            Some(Control::Cancel {
                request_id: "r9".to_owned()
            })
        );
    }
}
