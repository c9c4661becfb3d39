//! The shape of Claude Code 2.1.330's output, for `fake-claude`: every stream-json line,
//! registration and `cost-state` line is built from a line the real CLI printed (the
//! captures in `tests/fixtures/claude-code/2.1.330/`), with only the values that vary
//! replaced. So fake-claude's lines carry exactly the real keys, and a new CLI version is
//! followed by copying its captures in. `tests/tests/real_cli/fake_claude_shape.rs` checks it.

use serde_json::{Value, json};

/// The version fake-claude claims to be.
pub const VERSION: &str = "2.1.330";
/// The default model of 2.1.330.
pub const MODEL: &str = "claude-opus-5-5";
/// Input tokens of one API call (`01_say_hi`: 12,465 in + 12 out = $0.0501).
pub const INPUT_TOKENS: u64 = 12465;
/// Output tokens of one API call.
pub const OUTPUT_TOKENS: u64 = 12;

const SAY_HI: &str = include_str!("../../fixtures/claude-code/2.1.330/stream-json/01_say_hi.jsonl");
const BASH_DENIED: &str =
    include_str!("../../fixtures/claude-code/2.1.330/stream-json/13_bash_no_flags.jsonl");
const WRITE_ALLOWED: &str =
    include_str!("../../fixtures/claude-code/2.1.330/stream-json/17_write_allowed_Write.jsonl");
const HTTP_400: &str =
    include_str!("../../fixtures/claude-code/2.1.330/stream-json/51_http_400.jsonl");
const BUDGET: &str =
    include_str!("../../fixtures/claude-code/2.1.330/stream-json/55_max_budget_0.01.jsonl");
const SESSION: &str =
    include_str!("../../fixtures/claude-code/2.1.330/sessions/01_session_after_first_run.jsonl");
const REGISTRATION: &str =
    include_str!("../../fixtures/claude-code/2.1.330/registry/print_run_busy.json");

/// The `n`th line (from 0) of `capture` whose `type` (and `subtype`, when given as
/// `type/subtype`) is `kind`.
fn template(capture: &str, kind: &str, n: usize) -> Value {
    let (kind, subtype) = kind.split_once('/').unwrap_or((kind, ""));
    capture
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|v| v["type"] == kind && (subtype.is_empty() || v["subtype"] == subtype))
        .nth(n)
        .unwrap_or_else(|| panic!("the capture has no {kind}/{subtype} line #{n}"))
}

/// `$` per million (input, output) tokens, as 2.1.330 bills them.
pub fn price(model: &str) -> (f64, f64) {
    if model.contains("sonnet") {
        (2.0, 10.0)
    } else if model.contains("haiku") {
        (0.10, 0.50)
    } else if model.contains("fable") {
        (8.0, 40.0)
    } else {
        (4.0, 20.0)
    }
}

/// The full model id a `--model` alias names.
pub fn model_id(alias: &str) -> String {
    match alias {
        "opus" => MODEL.to_owned(),
        "sonnet" => "claude-sonnet-5-5".to_owned(),
        "haiku" => "claude-haiku-5-5".to_owned(),
        other => other.to_owned(),
    }
}

/// Token counts and cost of what one process (or session) used, per model.
#[derive(Debug, Clone, Default)]
pub struct Usage {
    /// Model id.
    pub model: String,
    /// Input tokens.
    pub input: u64,
    /// Output tokens.
    pub output: u64,
    /// USD.
    pub cost: f64,
}

impl Usage {
    /// Adds one API call of the standard size.
    pub fn add_call(&mut self) {
        let (input, output) = price(&self.model);
        self.input += INPUT_TOKENS;
        self.output += OUTPUT_TOKENS;
        self.cost +=
            INPUT_TOKENS as f64 * input / 1_000_000.0 + OUTPUT_TOKENS as f64 * output / 1_000_000.0;
    }

    /// `modelUsage` of a `result` line (empty when nothing was used).
    fn model_usage(&self) -> Value {
        if self.input == 0 && self.output == 0 {
            return json!({});
        }
        let mut entry = template(SAY_HI, "result", 0)["modelUsage"][MODEL].clone();
        entry["inputTokens"] = json!(self.input);
        entry["outputTokens"] = json!(self.output);
        entry["costUSD"] = json!(self.cost);
        entry["canonicalModel"] = json!(self.model);
        json!({ self.model.clone(): entry })
    }
}

/// `system/init` at the start of each turn.
pub fn init(session_id: &str, cwd: &str, model: &str, permission_mode: &str) -> Value {
    let mut line = template(SAY_HI, "system/init", 0);
    line["session_id"] = json!(session_id);
    line["cwd"] = json!(cwd);
    line["original_cwd"] = json!(cwd);
    line["model"] = json!(model);
    line["permissionMode"] = json!(permission_mode);
    line["uuid"] = json!(super::uuid());
    line["messaging_socket_path"] = json!(format!("/tmp/cc-socks/{}.sock", std::process::id()));
    line["memory_paths"] = json!({});
    line
}

/// A user message from stdin echoed back when it is taken (`--replay-user-messages`;
/// the keys 2.1.337 prints: at the start of its turn, after `system/init`, or in the
/// middle of a running turn that absorbs it).
/// It carries the uuid the message was sent with, if any (else a new one).
pub fn replay(session_id: &str, message: &Value, uuid: Option<&str>) -> Value {
    let uuid = uuid.map_or_else(super::uuid, str::to_owned);
    json!({"type": "user", "message": message, "session_id": session_id,
        "parent_tool_use_id": null, "uuid": uuid, "timestamp": super::now(),
        "isReplay": true})
}

/// An `assistant` line on stdout carrying `message`.
pub fn assistant(session_id: &str, uuid: &str, message: Value) -> Value {
    let mut line = template(SAY_HI, "assistant", 0);
    // The real message's keys, with fake-claude's id, model and content.
    for key in ["id", "model", "content"] {
        line["message"][key] = message[key].clone();
    }
    line["session_id"] = json!(session_id);
    line["uuid"] = json!(uuid);
    line["timestamp"] = json!(super::now());
    line["request_id"] = json!(format!("req_fake_{}", &super::uuid()[..8]));
    line
}

/// The synthetic `assistant` line of an API error (HTTP `status`).
pub fn api_error_assistant(session_id: &str, status: u16, text: &str) -> Value {
    let mut line = template(HTTP_400, "assistant", 0);
    line["message"]["content"] = json!([{"type": "text", "text": text}]);
    line["message"]["id"] = json!(super::uuid());
    line["session_id"] = json!(session_id);
    line["uuid"] = json!(super::uuid());
    line["timestamp"] = json!(super::now());
    line["api_error_status"] = json!(status);
    line
}

/// `system/permission_denied`, printed when a tool is refused without asking.
pub fn permission_denied(session_id: &str, tool: &str, tool_use_id: &str, message: &str) -> Value {
    let mut line = template(BASH_DENIED, "system/permission_denied", 0);
    line["tool_name"] = json!(tool);
    line["tool_use_id"] = json!(tool_use_id);
    line["message"] = json!(message);
    line["session_id"] = json!(session_id);
    line["uuid"] = json!(super::uuid());
    line
}

/// The `user` line carrying a tool's result; `accepted` says how the permission went.
pub fn tool_result(
    session_id: &str,
    content: Value,
    tool_use_result: Value,
    tool_use_id: &str,
    accepted: bool,
) -> Value {
    let mut line = if accepted {
        template(WRITE_ALLOWED, "user", 0)
    } else {
        template(BASH_DENIED, "user", 0)
    };
    line["message"]["content"] = content;
    line["tool_use_result"] = tool_use_result;
    line["tool_result_meta"][0]["id"] = json!(tool_use_id);
    line["session_id"] = json!(session_id);
    line["uuid"] = json!(super::uuid());
    line["timestamp"] = json!(super::now());
    line
}

/// What a `result` line reports.
#[derive(Debug)]
pub struct Outcome<'a> {
    /// The session.
    pub session_id: &'a str,
    /// The final text.
    pub result: &'a str,
    /// API calls made by this turn.
    pub num_turns: u32,
    /// Everything the session used so far (2.1.330 carries it over a `--resume`).
    pub session: &'a Usage,
    /// What this process used since its last result.
    pub since_last: &'a Usage,
    /// Refused tools.
    pub denials: Vec<Value>,
    /// This process's result count before this one.
    pub result_index: u32,
    /// Milliseconds the turn took.
    pub duration_ms: u64,
}

fn fill_result(line: &mut Value, o: &Outcome) {
    line["session_id"] = json!(o.session_id);
    line["num_turns"] = json!(o.num_turns);
    line["total_cost_usd"] = json!(o.session.cost);
    line["modelUsage"] = o.session.model_usage();
    line["model_usage_since_last_result"] = o.since_last.model_usage();
    line["usage"]["input_tokens"] = json!(o.since_last.input);
    line["usage"]["output_tokens"] = json!(o.since_last.output);
    line["permission_denials"] = json!(o.denials);
    line["result_index"] = json!(o.result_index);
    line["duration_ms"] = json!(o.duration_ms);
    line["uuid"] = json!(super::uuid());
}

/// A turn that ended normally.
pub fn result_success(o: &Outcome) -> Value {
    let mut line = template(SAY_HI, "result", 0);
    fill_result(&mut line, o);
    line["result"] = json!(o.result);
    line
}

/// A turn that ended with an API error (exit 1, subtype still `success`).
pub fn result_api_error(o: &Outcome, status: u16) -> Value {
    let mut line = template(HTTP_400, "result", 0);
    fill_result(&mut line, o);
    line["result"] = json!(o.result);
    line["api_error_status"] = json!(status);
    line
}

/// A turn the host interrupted (`control_request` `interrupt`), as 2.1.330 ends it
/// (transcript `60_control_interrupt`): the process goes on to the next turn.
pub fn result_interrupted(o: &Outcome) -> Value {
    let mut line = template(SAY_HI, "result", 0);
    fill_result(&mut line, o);
    if let Some(fields) = line.as_object_mut() {
        fields.remove("result");
    }
    line["subtype"] = json!("error_during_execution");
    line["is_error"] = json!(true);
    line["stop_reason"] = Value::Null;
    line["terminal_reason"] = json!("aborted_streaming");
    line["errors"] =
        json!(["[ede_diagnostic] result_type=user last_content_type=n/a stop_reason=null"]);
    line
}

/// A turn stopped by `--max-budget-usd` (exit 1).
pub fn result_budget(o: &Outcome, budget: &str) -> Value {
    let mut line = template(BUDGET, "result", 0);
    fill_result(&mut line, o);
    line["errors"] = json!([format!("Reached maximum budget (${budget})")]);
    line
}

/// The session file's `cost-state` line: the CLI's own running total, which a
/// `--resume` restores.
pub fn cost_state(session_id: &str, usage: &Usage, start_ms: i64, duration_ms: u64) -> Value {
    let mut line = template(SESSION, "cost-state", 0);
    line["sessionId"] = json!(session_id);
    line["totalCostUSD"] = json!(usage.cost);
    line["totalDuration"] = json!(duration_ms);
    line["startTime"] = json!(start_ms);
    let mut entry = line["modelUsage"][MODEL].clone();
    entry["inputTokens"] = json!(usage.input);
    entry["outputTokens"] = json!(usage.output);
    entry["costUSD"] = json!(usage.cost);
    line["modelUsage"] = if usage.input == 0 {
        json!({})
    } else {
        json!({ usage.model.clone(): entry })
    };
    line
}

/// The session file's `atis-latch` line, written around each turn.
pub fn atis_latch(session_id: &str) -> Value {
    json!({"type": "atis-latch", "atis": "", "sessionId": session_id})
}

/// An `api-request-shape` line: the system prompt and tools the CLI records once per
/// shape. Its text must never reach search results or transcripts.
pub fn api_request_shape(session_id: &str) -> Value {
    let mut line = template(SESSION, "api-request-shape", 0);
    line["sessionId"] = json!(session_id);
    line["timestamp"] = json!(super::now());
    line
}

/// `line` as JSON text with `type` as its first key, as the real CLI writes session
/// lines (readers may tell a line's kind from its first bytes); the other keys follow in
/// serde_json's order.
pub fn type_first(line: &Value) -> String {
    let Some(map) = line.as_object() else {
        return line.to_string();
    };
    let Some(kind) = map.get("type") else {
        return line.to_string();
    };
    let mut rest = map.clone();
    rest.remove("type");
    let rest = Value::Object(rest).to_string();
    if rest == "{}" {
        return format!("{{\"type\":{kind}}}");
    }
    format!("{{\"type\":{kind},{}", &rest[1..])
}

/// The last `totalCostUSD` and per-model tokens of a session file, as `--resume` restores
/// them.
pub fn restore(session_file: &str, model: &str) -> Usage {
    let mut usage = Usage {
        model: model.to_owned(),
        ..Usage::default()
    };
    for line in session_file.lines().rev() {
        if !line.contains(r#""cost-state""#) {
            continue;
        }
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if v["type"] != "cost-state" {
            continue;
        }
        usage.cost = v["totalCostUSD"].as_f64().unwrap_or(0.0);
        if let Some((name, entry)) = v["modelUsage"].as_object().and_then(|m| m.iter().next()) {
            usage.model = name.clone();
            usage.input = entry["inputTokens"].as_u64().unwrap_or(0);
            usage.output = entry["outputTokens"].as_u64().unwrap_or(0);
        }
        break;
    }
    usage
}

/// The registration `~/.claude/sessions/<pid>.json` of a `-p` process, `status` busy or
/// idle.
pub fn registration(
    pid: u32,
    session_id: &str,
    cwd: &str,
    proc_start: &str,
    started_at: i64,
    status: &str,
) -> Value {
    let mut reg: Value = serde_json::from_str(REGISTRATION).expect("the registry capture is JSON");
    let base = std::path::Path::new(cwd)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let now = chrono::Utc::now().timestamp_millis();
    reg["pid"] = json!(pid);
    reg["sessionId"] = json!(session_id);
    reg["cwd"] = json!(cwd);
    reg["startedAt"] = json!(started_at);
    reg["procStart"] = json!(proc_start);
    reg["messagingSocketPath"] = json!(format!("/tmp/cc-socks/{pid}.sock"));
    reg["name"] = json!(format!("{base}-{:02x}", pid % 256));
    reg["nameSince"] = json!(started_at);
    reg["status"] = json!(status);
    reg["updatedAt"] = json!(now);
    reg["statusUpdatedAt"] = json!(now);
    reg
}
