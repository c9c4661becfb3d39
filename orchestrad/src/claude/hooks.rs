//! Claude Code's hooks, as the CLI writes their input on stdin and reads their output on
//! stdout: the `PermissionRequest` hook (`orchestractl hook permission-request` forwards its
//! input to the daemon's `Ask`, and prints the answer made here) and the `Notification` hook
//! (`orchestractl hook notification`).

use serde::Deserialize;
use serde_json::{Value, json};

/// A `PermissionRequest` hook's input: a tool call of a hand-started session that needs a
/// person's yes or no.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PermissionRequest {
    /// The session.
    pub session_id: String,
    /// Its working directory.
    pub cwd: String,
    /// The tool, like `Bash`.
    pub tool_name: String,
    /// Its input as the CLI sent it.
    pub tool_input: Value,
    /// The CLI's description of the call (Bash's `description`), if any.
    pub description: String,
    /// `permission_suggestions`, for "always".
    pub suggestions: Value,
}

impl PermissionRequest {
    /// Reads the hook's input; says what is wrong with one that is not such a request.
    pub fn parse(input_json: &str) -> Result<PermissionRequest, String> {
        let input: Value = serde_json::from_str(input_json)
            .map_err(|err| format!("the hook input is not JSON: {err}"))?;
        if !input.is_object() {
            return Err("the hook input is not a JSON object".to_owned());
        }
        let text = |key: &str| input[key].as_str().unwrap_or_default().to_owned();
        let request = PermissionRequest {
            session_id: text("session_id"),
            cwd: text("cwd"),
            tool_name: text("tool_name"),
            tool_input: input["tool_input"].clone(),
            description: input["tool_input"]["description"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            suggestions: input["permission_suggestions"].clone(),
        };
        if request.tool_name.is_empty() {
            return Err(
                "the hook input has no tool_name: is this a PermissionRequest hook?".to_owned(),
            );
        }
        Ok(request)
    }
}

/// What a person decided, as the hook tells the CLI.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Run it; with `updated_permissions` (the suggestions) for "always".
    Allow {
        /// Rules to keep, or `None`.
        updated_permissions: Option<Value>,
    },
    /// Refuse it; the model reads `message`.
    Deny {
        /// Why.
        message: String,
    },
}

/// The hook's output for `decision`: `{"hookSpecificOutput": {"hookEventName":
/// "PermissionRequest", "decision": {...}}}`.
pub fn permission_output(decision: &Decision) -> String {
    let decision = match decision {
        Decision::Allow {
            updated_permissions,
        } => {
            let mut decision = json!({"behavior": "allow"});
            if let Some(rules) = updated_permissions {
                decision["updatedPermissions"] = rules.clone();
            }
            decision
        }
        Decision::Deny { message } => json!({"behavior": "deny", "message": message}),
    };
    json!({"hookSpecificOutput": {"hookEventName": "PermissionRequest", "decision": decision}})
        .to_string()
}

/// A `Notification` hook's input.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct Notification {
    /// The session.
    pub session_id: String,
    /// Its working directory.
    pub cwd: String,
    /// What Claude Code says ("Claude needs your permission to use Bash").
    pub message: String,
    /// `Notification` for this hook.
    pub hook_event_name: String,
}

impl Notification {
    /// Reads the hook's input.
    pub fn parse(input_json: &str) -> Result<Notification, String> {
        serde_json::from_str(input_json)
            .map_err(|err| format!("the hook input is not Claude Code's hook JSON: {err}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_captured_permission_request_is_read_and_answered() {
        // The keys 2.1.330 and 2.1.337 send (shared Claude Code notes, "Permission
        // prompts, hooks, budget").
        let input = r#"{"cwd":"/w","effort":"high","hook_event_name":"PermissionRequest",
            "permission_mode":"default","permission_suggestions":[{"type":"addRules"}],
            "prompt_id":"p","session_id":"s1","tool_input":{"command":"rm -rf x","description":"remove x"},
            "tool_name":"Bash","transcript_path":"/t.jsonl"}"#;
        let request = PermissionRequest::parse(input).expect("read");
        assert_eq!(request.tool_name, "Bash");
        assert_eq!(request.tool_input["command"], "rm -rf x");
        assert_eq!(request.description, "remove x");
        assert_eq!(request.suggestions[0]["type"], "addRules");
        assert!(PermissionRequest::parse("{}").is_err());
        assert!(PermissionRequest::parse("[1]").is_err());
        let out: Value = serde_json::from_str(&permission_output(&Decision::Deny {
            message: "no".to_owned(),
        }))
        .expect("json");
        assert_eq!(out["hookSpecificOutput"]["decision"]["behavior"], "deny");
        assert_eq!(
            out["hookSpecificOutput"]["hookEventName"],
            "PermissionRequest"
        );
    }
}
