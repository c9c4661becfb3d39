//! A loopback stub of the Anthropic Messages API, so the real Claude Code CLI can run
//! offline in tests (see `tests/fixtures/claude-code/` for what the CLI sends).
//!
//! It answers `HEAD /` and `POST /v1/messages` (the query string is ignored). Streaming
//! requests get Anthropic SSE with one text block, `hi from stub (turn with N messages)`;
//! others get the same message as JSON.
//!
//! A prompt can script one tool call (see [`scripted`]): `STUB_PUT:<path>=<word>` makes the
//! first answer a Bash call writing `<word>` to `<path>` in the CLI's working directory,
//! and `STUB_GATE:<file>` holds the answer after that call's result until `<file>` exists.
//! `TOOL_CALL:<tool> <json>` (the captures' mock's form) makes the answer a call of any
//! tool, an MCP one such as `mcp__orchestra__send_message` included, with that input.
//!
//! Every request body is kept ([`StubApi::requests`]), so a test can see what the CLI
//! sent the model, for example that a message reached an agent's next turn.

use std::net::SocketAddr;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

/// A running stub; dropping it stops the server.
#[derive(Debug)]
pub struct StubApi {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The server task.
    task: tokio::task::JoinHandle<()>,
    /// Every request body received, oldest first.
    seen: std::sync::Arc<std::sync::Mutex<Vec<Value>>>,
}

impl StubApi {
    /// Starts the stub on a free loopback port.
    pub async fn start() -> std::io::Result<StubApi> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let seen: std::sync::Arc<std::sync::Mutex<Vec<Value>>> = Default::default();
        let log = seen.clone();
        let app = Router::new()
            .route(
                "/",
                get(|| async { StatusCode::OK }).head(|| async { StatusCode::OK }),
            )
            .route(
                "/v1/messages",
                post(move |headers: HeaderMap, body: Bytes| {
                    let request = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    log.lock().unwrap_or_else(|e| e.into_inner()).push(request);
                    messages(headers, body)
                }),
            );
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(StubApi { addr, task, seen })
    }

    /// Every request body received so far, oldest first.
    pub fn requests(&self) -> Vec<Value> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The base URL for `ANTHROPIC_BASE_URL`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The environment that points the real CLI at this stub, offline and quiet.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("ANTHROPIC_BASE_URL", self.base_url()),
            ("ANTHROPIC_API_KEY", "sk-test".to_owned()),
            ("DISABLE_TELEMETRY", "1".to_owned()),
            ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1".to_owned()),
            ("DISABLE_AUTOUPDATER", "1".to_owned()),
            ("DISABLE_ERROR_REPORTING", "1".to_owned()),
            ("CLAUDE_CODE_MAX_RETRIES", "1".to_owned()),
        ]
    }

    /// Runs `orchestractl --json spawn --repo REPO ARGS...` with this stub's environment (the
    /// CLI passes its environment on to the agents it starts) and returns the spawned agents;
    /// a failed spawn fails the test with its error. Blocking: an async test calls it inside
    /// `tokio::task::block_in_place`.
    pub fn spawn(&self, env: &crate::TestEnv, repo: &std::path::Path, args: &[&str]) -> Value {
        let out = env
            .command(crate::bin("orchestractl"))
            .envs(self.env())
            .args(["--json", "spawn", "--repo"])
            .arg(repo)
            .args(args)
            .output()
            .expect("run orchestractl spawn");
        assert!(
            out.status.success(),
            "spawn {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("spawn's JSON")
    }
}

impl Drop for StubApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A prompt with `STUB_HOLD:<file>` makes the stub hold every answer of that conversation
/// until `<file>` exists (see [`crate::gate::Gate::stub_prompt`]), so a test sees the CLI
/// busy mid-turn for exactly as long as it wants.
pub const HOLD_MARKER: &str = "STUB_HOLD:";

/// Waits until the gate file `gate` exists, for at most a minute (a test that never opens
/// it, and kills the CLI instead, leaves no request hanging for ever).
async fn wait_for_gate(gate: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !std::path::Path::new(gate).exists() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn messages(_headers: HeaderMap, body: Bytes) -> Response {
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    // Only the conversation counts: the system prompt never holds the marker.
    if let Some(gate) = marker(&request["messages"].to_string(), HOLD_MARKER) {
        wait_for_gate(&gate).await;
    }
    let model = request["model"]
        .as_str()
        .unwrap_or("claude-opus-4-8")
        .to_owned();
    // Count the conversation's user and assistant messages, as the captures' mock did.
    let turns = request["messages"]
        .as_array()
        .map(|m| m.iter().filter(|m| m["role"] != "system").count())
        .unwrap_or(0);
    let text = format!("hi from stub (turn with {} messages)", turns + 1);
    let id = format!("msg_stub_{:x}", body.len());
    // The scripted `STUB_PUT:` call goes first: it holds a tool result's answer until its
    // gate opens, then lets the tool scenario below answer it.
    if let Some(reply) = scripted(&request, &model, &id).await {
        return reply;
    }
    if request["stream"] == Value::Bool(true)
        && let Some(reply) = tool_reply(&request)
    {
        return sse(&id, &model, reply);
    }
    let usage = json!({"input_tokens": 100, "output_tokens": 5, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0});
    if request["stream"] != Value::Bool(true) {
        let message = json!({"id": id, "type": "message", "role": "assistant", "model": model,
            "content": [{"type": "text", "text": text}], "stop_reason": "end_turn", "stop_sequence": null, "usage": usage});
        return (
            [(header::CONTENT_TYPE, "application/json")],
            message.to_string(),
        )
            .into_response();
    }
    let events = [
        (
            "message_start",
            json!({"type": "message_start", "message": {"id": id, "type": "message", "role": "assistant", "model": model, "content": [], "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 100, "output_tokens": 1, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}}),
        ),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}}),
        ),
        (
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ),
        (
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null}, "usage": {"output_tokens": 5}}),
        ),
        ("message_stop", json!({"type": "message_stop"})),
    ];
    let mut sse = String::new();
    for (name, data) in events {
        sse.push_str(&format!("event: {name}\ndata: {data}\n\n"));
    }
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        sse,
    )
        .into_response()
}

/// The word after `key` in `text` (letters, digits and `._/=-`), if `key` occurs.
fn marker(text: &str, key: &str) -> Option<String> {
    let start = text.find(key)? + key.len();
    let word: String = text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || "._/=-".contains(*c))
        .collect();
    (!word.is_empty()).then_some(word)
}

/// The scripted tool call of `STUB_PUT:` prompts: a Bash call first, then (once its result
/// came back, and `STUB_GATE:`'s file exists) the usual text answer. Requests that offer
/// no tools (titles, summaries) are answered as usual.
async fn scripted(request: &Value, model: &str, id: &str) -> Option<Response> {
    let offers_bash = request["tools"]
        .as_array()
        .is_some_and(|tools| tools.iter().any(|t| t["name"] == "Bash"));
    let conversation = request["messages"].to_string();
    let (path, word) = marker(&conversation, "STUB_PUT:")?
        .split_once('=')
        .map(|(p, w)| (p.to_owned(), w.to_owned()))?;
    if !offers_bash {
        return None;
    }
    if conversation.contains("tool_result") {
        if let Some(gate) = marker(&conversation, "STUB_GATE:") {
            wait_for_gate(&gate).await;
        }
        return None;
    }
    let input = json!({"command": format!("printf '%s\\n' {word} > {path}"), "description": format!("Write {path}")});
    let tool_id = format!("toolu_stub_{}", id.trim_start_matches("msg_stub_"));
    let usage = json!({"input_tokens": 100, "output_tokens": 5, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0});
    if request["stream"] != Value::Bool(true) {
        let message = json!({"id": id, "type": "message", "role": "assistant", "model": model,
            "content": [{"type": "tool_use", "id": tool_id, "name": "Bash", "input": input}],
            "stop_reason": "tool_use", "stop_sequence": null, "usage": usage});
        return Some(
            (
                [(header::CONTENT_TYPE, "application/json")],
                message.to_string(),
            )
                .into_response(),
        );
    }
    let events = [
        (
            "message_start",
            json!({"type": "message_start", "message": {"id": id, "type": "message", "role": "assistant", "model": model, "content": [], "stop_reason": null, "stop_sequence": null, "usage": usage}}),
        ),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": tool_id, "name": "Bash", "input": {}}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": input.to_string()}}),
        ),
        (
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ),
        (
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null}, "usage": {"output_tokens": 5}}),
        ),
        ("message_stop", json!({"type": "message_stop"})),
    ];
    let mut sse = String::new();
    for (name, data) in events {
        sse.push_str(&format!("event: {name}\ndata: {data}\n\n"));
    }
    Some(
        (
            [
                (header::CONTENT_TYPE, "text/event-stream"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            sse,
        )
            .into_response(),
    )
}

/// What the stub answers in a tool scenario, like the mock of the captures did: a prompt
/// with `TOOL_BASH:<command>` gets a Bash `tool_use`, and the tool result that follows
/// gets "Tool finished (is_error=...). Result was: ...".
enum ToolReply {
    /// Call Bash with this command.
    Bash(String),
    /// Call this tool with this input.
    Call(String, Value),
    /// Report the tool result.
    Text(String),
}

/// The tool scenario of this request, if the conversation is in one.
fn tool_reply(request: &Value) -> Option<ToolReply> {
    let last_user = request["messages"]
        .as_array()?
        .iter()
        .rev()
        .find(|m| m["role"] == "user")?;
    let blocks: Vec<Value> = match &last_user["content"] {
        Value::String(text) => vec![json!({"type": "text", "text": text})],
        Value::Array(blocks) => blocks.clone(),
        _ => return None,
    };
    if let Some(result) = blocks.iter().find(|b| b["type"] == "tool_result") {
        let content = match &result["content"] {
            Value::String(text) => text.clone(),
            Value::Array(parts) => parts
                .iter()
                .filter_map(|p| p["text"].as_str())
                .collect::<Vec<_>>()
                .join("\n"),
            _ => String::new(),
        };
        let is_error = match result["is_error"].as_bool() {
            Some(true) => "True",
            Some(false) => "False",
            None => "None",
        };
        return Some(ToolReply::Text(format!(
            "Tool finished (is_error={is_error}). Result was: {content}"
        )));
    }
    blocks.iter().find_map(|b| {
        let text = b["text"].as_str()?;
        if let Some((_, rest)) = text.split_once("TOOL_CALL:") {
            let line = rest.lines().next()?.trim();
            let (name, input) = line.split_once(' ').unwrap_or((line, "{}"));
            let input = serde_json::from_str(input.trim()).unwrap_or_else(|_| json!({}));
            return Some(ToolReply::Call(name.to_owned(), input));
        }
        let (_, rest) = text.split_once("TOOL_BASH:")?;
        Some(ToolReply::Bash(rest.lines().next()?.trim().to_owned()))
    })
}

/// A streamed answer for a tool scenario.
fn sse(id: &str, model: &str, reply: ToolReply) -> Response {
    let start = json!({"type": "message_start", "message": {"id": id, "type": "message", "role": "assistant", "model": model, "content": [], "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 100, "output_tokens": 1, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}});
    let (block, delta, stop_reason) = match reply {
        ToolReply::Bash(command) => {
            let input = json!({"command": command, "description": format!("Run: {command}")});
            (
                json!({"type": "tool_use", "id": format!("toolu_stub_{}", id.trim_start_matches("msg_stub_")), "name": "Bash", "input": {}}),
                json!({"type": "input_json_delta", "partial_json": input.to_string()}),
                "tool_use",
            )
        }
        ToolReply::Call(name, input) => (
            json!({"type": "tool_use", "id": format!("toolu_stub_{}", id.trim_start_matches("msg_stub_")), "name": name, "input": {}}),
            json!({"type": "input_json_delta", "partial_json": input.to_string()}),
            "tool_use",
        ),
        ToolReply::Text(text) => (
            json!({"type": "text", "text": ""}),
            json!({"type": "text_delta", "text": text}),
            "end_turn",
        ),
    };
    let events = [
        ("message_start", start),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": block}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": delta}),
        ),
        (
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ),
        (
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": null}, "usage": {"output_tokens": 5}}),
        ),
        ("message_stop", json!({"type": "message_stop"})),
    ];
    let mut body = String::new();
    for (name, data) in events {
        body.push_str(&format!("event: {name}\ndata: {data}\n\n"));
    }
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}
