//! Claude Code's MCP wiring, in one place: the `--mcp-config` an agent gets, and the
//! shapes of the stdio protocol (JSON-RPC 2.0, one message per line) that the
//! `orchestra` server speaks.
//!
//! Facts from the pinned CLI (`/work/shared/claude-code/README.md`, "MCP: one agent, one
//! server"): the handshake starts with `server/discover` (answered -32601, the CLI goes
//! on with `initialize`), then `notifications/initialized` and `tools/list`; a tool's
//! failure is a normal result with `isError`; `alwaysLoad` puts the tools in every
//! request instead of behind ToolSearch; tools need an allow rule (`mcp__orchestra__*`).
//!
//! Written here rather than through rmcp: the server needs five methods of a
//! line-delimited protocol, and rmcp would bring its own runtime plumbing, schema
//! generation and transport stack for that.

use serde_json::{Value, json};

/// The server's name in the config: tools read `mcp__orchestra__<tool>`.
pub const SERVER_NAME: &str = "orchestra";

/// The allow rule that lets an agent call the server's tools without asking.
pub const ALLOW_RULE: &str = "mcp__orchestra__*";

/// The environment variable of the bridge that holds the agent's secret.
pub const TOKEN_ENV: &str = "ORCHESTRA_MCP_TOKEN";

/// The MCP protocol version answered when the client names none.
const DEFAULT_PROTOCOL: &str = "2025-06-18";

/// An agent's `--mcp-config`: the user's own (user-scope) servers, read from Claude
/// Code's `.claude.json` under the agent's environment, and ours, which wins its name.
/// The secret goes in the bridge's `env`, never on a command line (`ps` shows those to
/// every local user).
pub fn agent_config(
    bridge: &std::path::Path,
    token: &str,
    socket: &std::path::Path,
    env: &std::collections::BTreeMap<String, String>,
) -> Value {
    let mut servers = user_servers(env);
    servers.insert(
        SERVER_NAME.to_owned(),
        json!({
            "type": "stdio",
            "command": bridge.display().to_string(),
            "args": ["mcp", "serve"],
            "env": {
                TOKEN_ENV: token,
                "ORCHESTRA_SOCKET": socket.display().to_string(),
            },
            "alwaysLoad": true,
        }),
    );
    json!({ "mcpServers": servers })
}

/// The user-scope MCP servers of `$CLAUDE_CONFIG_DIR/.claude.json` (else
/// `~/.claude.json`), as the agent's environment names them; none when unreadable.
fn user_servers(
    env: &std::collections::BTreeMap<String, String>,
) -> serde_json::Map<String, Value> {
    let file = match env.get("CLAUDE_CONFIG_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => std::path::PathBuf::from(dir).join(".claude.json"),
        None => match env.get("HOME").filter(|h| !h.is_empty()) {
            Some(home) => std::path::PathBuf::from(home).join(".claude.json"),
            None => return serde_json::Map::new(),
        },
    };
    std::fs::read(&file)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        .and_then(|config| config.get("mcpServers").and_then(Value::as_object).cloned())
        .unwrap_or_default()
}

/// One message from the client.
#[derive(Debug, Clone, PartialEq)]
pub struct Incoming {
    /// The request id; None for a notification (which gets no answer).
    pub id: Option<Value>,
    /// The method.
    pub method: String,
    /// Its params (an empty object when absent).
    pub params: Value,
}

/// Reads one JSON-RPC message; a malformed one gives the error reply to send.
pub fn parse(text: &str) -> Result<Incoming, Value> {
    let message: Value = serde_json::from_str(text)
        .map_err(|err| error(&Value::Null, -32700, &format!("parse error: {err}")))?;
    let Some(method) = message.get("method").and_then(Value::as_str) else {
        // A response to something we never asked, or junk: nothing to answer.
        let id = message.get("id").cloned().unwrap_or(Value::Null);
        return Err(error(&id, -32600, "invalid request: no method"));
    };
    Ok(Incoming {
        id: message.get("id").cloned(),
        method: method.to_owned(),
        params: message.get("params").cloned().unwrap_or_else(|| json!({})),
    })
}

/// A successful reply.
pub fn result(id: &Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

/// An error reply.
pub fn error(id: &Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

/// The answer to `initialize`: the client's protocol version, tools only.
pub fn initialize_result(params: &Value) -> Value {
    json!({
        "protocolVersion": params.get("protocolVersion").and_then(Value::as_str).unwrap_or(DEFAULT_PROTOCOL),
        "capabilities": {"tools": {}},
        "serverInfo": {"name": "orchestra", "version": env!("CARGO_PKG_VERSION")},
        "instructions": "claude-orchestra runs you as one of several agents. Use these tools to \
            see your sibling agents, message them, claim files before you edit them, and ask \
            the human a question when you need a decision.",
    })
}

/// A tool's result: text for the model, `isError` when the call failed.
pub fn tool_text(text: &str, is_error: bool) -> Value {
    json!({"content": [{"type": "text", "text": text}], "isError": is_error})
}

/// The tools, as `tools/list` answers.
pub fn tools() -> Value {
    let paths = json!({
        "type": "array",
        "items": {"type": "string"},
        "description": "Paths relative to your working directory (your worktree)."
    });
    json!({"tools": [
        {
            "name": "siblings",
            "description": "The other agents of your batch: id, branch, task, state and the files each has changed so far.",
            "inputSchema": {"type": "object", "properties": {}},
        },
        {
            "name": "send_message",
            "description": "Send a message to another agent: a running one gets it at its next turn, a finished one when it is resumed. Sizes and rates are bounded.",
            "inputSchema": {
                "type": "object",
                "properties": {
                    "to": {"type": "string", "description": "An agent id (or unique prefix), its branch, or \"all\" for every other agent of your batch."},
                    "text": {"type": "string", "description": "The message."},
                },
                "required": ["to", "text"],
            },
        },
        {
            "name": "ask_human",
            "description": "Ask the human a question and wait for the answer, which this call returns. Use it when you need a decision you cannot make yourself.",
            "inputSchema": {
                "type": "object",
                "properties": {
                    "question": {"type": "string", "description": "The question."},
                    "choices": {"type": "array", "items": {"type": "string"}, "description": "Suggested answers, shown as buttons (optional)."},
                },
                "required": ["question"],
            },
        },
        {
            "name": "claim",
            "description": "Claim files you are about to edit (a soft lock): a path another agent holds is reported with who holds it, and not claimed.",
            "inputSchema": {"type": "object", "properties": {"paths": paths}, "required": ["paths"]},
        },
        {
            "name": "release",
            "description": "Release files you claimed.",
            "inputSchema": {"type": "object", "properties": {"paths": paths}, "required": ["paths"]},
        },
    ]})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_a_notification_and_junk() {
        let request =
            parse(r#"{"jsonrpc":"2.0","id":"server-discover-probe-1","method":"server/discover"}"#)
                .expect("request");
        assert_eq!(request.id, Some(json!("server-discover-probe-1")));
        assert_eq!(request.method, "server/discover");
        let note =
            parse(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#).expect("note");
        assert_eq!(note.id, None);
        let junk = parse("{not json").expect_err("junk");
        assert_eq!(junk["error"]["code"], -32700);
    }

    #[test]
    fn the_agent_config_keeps_the_users_servers_and_ours_wins_its_name() {
        let home = tempfile::tempdir().expect("home");
        std::fs::write(
            home.path().join(".claude.json"),
            r#"{"mcpServers":{"mine":{"command":"my-server"},"orchestra":{"command":"evil"}}}"#,
        )
        .expect("write");
        let env = [("HOME".to_owned(), home.path().display().to_string())].into();
        let config = agent_config(
            std::path::Path::new("/bin/orchestractl"),
            "t0k",
            std::path::Path::new("/run/o.sock"),
            &env,
        );
        assert_eq!(config["mcpServers"]["mine"]["command"], "my-server");
        assert_eq!(
            config["mcpServers"]["orchestra"]["command"],
            "/bin/orchestractl"
        );
        assert_eq!(config["mcpServers"]["orchestra"]["env"][TOKEN_ENV], "t0k");
        assert_eq!(config["mcpServers"]["orchestra"]["alwaysLoad"], true);
    }
}
