//! fake-claude's side of Claude Code's permission machinery, as the 2.1.330 captures show
//! it (`tests/fixtures/claude-code/stream-json/50_*`, `56_*`, `57_*`):
//!
//! - the Bash tool (`TOOL_BASH:<command>`), which `acceptEdits` does not cover;
//! - `dontAsk` mode, which refuses without asking;
//! - a `PermissionRequest` hook in `settings.json`, run with the hook input on stdin; a
//!   decision on its stdout settles the request, no decision falls through;
//! - the stdio prompt (`--permission-prompt-tool stdio`): a `control_request` of subtype
//!   `can_use_tool`, answered by a `control_response` on stdin; an allow with
//!   `updatedPermissions` of type `addRules` writes the rules to
//!   `<cwd>/.claude/settings.local.json`, and a later call they match is not asked.
//!
//! Kept apart from the rest of fake-claude so that changes to its output shape and to
//! the permission protocol do not collide.

use std::path::PathBuf;

use serde_json::{Value, json};

use super::{Args, Session, emit, uuid};

/// Runs a turn whose model calls Bash with `command`; returns the exit code (0 goes on).
pub(super) fn bash_turn(
    session: &mut Session,
    args: &Args,
    command: &str,
    prompt_id: &str,
    started: std::time::Instant,
    input: &mut dyn Iterator<Item = std::io::Result<String>>,
) -> i32 {
    let tool_input = json!({"command": command, "description": format!("Run: {command}")});
    let tool_use_id = format!("toolu_{}", &uuid().replace('-', "")[..24]);
    session.assistant(
        json!([{"type": "tool_use", "id": tool_use_id, "name": "Bash", "input": tool_input}]),
    );
    let verdict = if bash_allowed(session, args, command) {
        Ok(())
    } else if let Some(verdict) = ask_elsewhere(session, args, "Bash", &tool_input, input) {
        verdict
    } else if args.permission_prompt_tool.as_deref() == Some("stdio") {
        ask_stdio(session, "Bash", &tool_input, &tool_use_id, input)
    } else {
        Err("This command requires approval".to_owned())
    };
    let mut denials = Vec::new();
    let (text, is_error) = match verdict {
        Ok(()) => run_shell(session, command),
        Err(reason) => {
            denials.push(
                json!({"tool_name": "Bash", "tool_use_id": tool_use_id, "tool_input": tool_input}),
            );
            (reason, true)
        }
    };
    session.tool_result(&tool_use_id, &text, is_error, prompt_id);
    let reply = format!(
        "Tool finished (is_error={}). Result was: {text}",
        if is_error { "True" } else { "False" }
    );
    session.assistant(json!([{"type": "text", "text": reply}]));
    session.finish(args, started, &reply, false, None, denials, 2);
    0
}

/// Whether flags, mode or saved rules let Bash run `command` without asking.
fn bash_allowed(session: &Session, args: &Args, command: &str) -> bool {
    let mut rules = allowed_rules(args);
    rules.extend(local_rules(session));
    rules_allow(args, &rules, command)
}

/// The rules of `--allowedTools`: comma or space separated, a space inside parentheses
/// belonging to the rule (`"Bash(git status) Read"` is two rules).
pub(super) fn allowed_rules(args: &Args) -> Vec<String> {
    let mut rules = Vec::new();
    for value in &args.allowed_tools {
        let mut rule = String::new();
        let mut depth = 0usize;
        for c in value.chars() {
            match c {
                '(' => depth += 1,
                ')' => depth = depth.saturating_sub(1),
                ',' | ' ' if depth == 0 => {
                    rules.extend((!rule.is_empty()).then(|| std::mem::take(&mut rule)));
                    continue;
                }
                _ => {}
            }
            rule.push(c);
        }
        rules.extend((!rule.is_empty()).then_some(rule));
    }
    rules
}

/// Whether a bypass or one of `rules` allows `command`, as the real CLI matches Bash
/// rules: a compound command (`&&`, `||`, `;`, `|`, a newline) is split and every part
/// must match a rule; `Bash(x)` matches exactly `x`; `Bash(x *)` (or the older
/// `Bash(x:*)`) matches `x` and `x` followed by a space and anything; `Bash` and
/// `Bash(*)` match everything. A command substitution is never matched by a rule.
pub(super) fn rules_allow(args: &Args, rules: &[String], command: &str) -> bool {
    let mode = args.permission_mode.as_deref().unwrap_or("default");
    if args.skip_permissions || mode == "bypassPermissions" {
        return true;
    }
    if rules.iter().any(|r| r == "Bash" || r == "Bash(*)") {
        return true;
    }
    if command.contains("$(") || command.contains('`') {
        return false;
    }
    let patterns: Vec<&str> = rules
        .iter()
        .filter_map(|rule| rule.strip_prefix("Bash(")?.strip_suffix(')'))
        .collect();
    command
        .split(['\n', ';', '|', '&'])
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .all(|part| {
            patterns.iter().any(|pattern| {
                let prefix = pattern
                    .strip_suffix(" *")
                    .or_else(|| pattern.strip_suffix(":*"));
                match prefix {
                    Some(prefix) => {
                        part == prefix
                            || part
                                .strip_prefix(prefix)
                                .is_some_and(|rest| rest.starts_with(' '))
                    }
                    None => part == *pattern,
                }
            })
        })
}

/// `permissions.allow` of `<cwd>/.claude/settings.local.json`.
fn local_rules(session: &Session) -> Vec<String> {
    std::fs::read(local_settings(session))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        .and_then(|v| v["permissions"]["allow"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|r| r.as_str().map(str::to_owned))
        .collect()
}

fn local_settings(session: &Session) -> PathBuf {
    session.cwd.join(".claude").join("settings.local.json")
}

/// Settles a request without the stdio prompt: `dontAsk` refuses, and a
/// `PermissionRequest` hook may decide. `None` when neither did.
pub(super) fn ask_elsewhere(
    session: &Session,
    args: &Args,
    tool: &str,
    tool_input: &Value,
    _input: &mut dyn Iterator<Item = std::io::Result<String>>,
) -> Option<Result<(), String>> {
    if args.permission_mode.as_deref() == Some("dontAsk") {
        return Some(Err(format!(
            "Permission to use {tool} has been denied because Claude Code is running in don't ask mode."
        )));
    }
    run_hooks(session, args, tool, tool_input)
}

/// Runs the `PermissionRequest` hooks of the user's settings, first decision wins.
fn run_hooks(
    session: &Session,
    args: &Args,
    tool: &str,
    tool_input: &Value,
) -> Option<Result<(), String>> {
    let settings: Value = serde_json::from_slice(
        &std::fs::read(super::claude_config_dir().join("settings.json")).ok()?,
    )
    .ok()?;
    let hook_input = json!({
        "session_id": session.id,
        "transcript_path": session.file,
        "cwd": session.cwd,
        "permission_mode": args.permission_mode.clone().unwrap_or_else(|| "default".to_owned()),
        "hook_event_name": "PermissionRequest",
        "tool_name": tool,
        "tool_input": tool_input,
        "permission_suggestions": suggestions(session, tool, tool_input),
    });
    for group in settings["hooks"]["PermissionRequest"].as_array()? {
        let matcher = group["matcher"].as_str().unwrap_or("*");
        if !(matcher.is_empty() || matcher == "*" || matcher.split('|').any(|m| m == tool)) {
            continue;
        }
        for hook in group["hooks"].as_array().into_iter().flatten() {
            let Some(command) = hook["command"].as_str() else {
                continue;
            };
            let Some(output) = run_hook(command, &hook_input) else {
                continue;
            };
            let decision = &output["hookSpecificOutput"]["decision"];
            match decision["behavior"].as_str() {
                Some("allow") => return Some(Ok(())),
                Some("deny") => {
                    return Some(Err(decision["message"]
                        .as_str()
                        .unwrap_or("denied by a hook")
                        .to_owned()));
                }
                _ => {}
            }
        }
    }
    None
}

/// Runs one hook command with `input` on stdin; its stdout as JSON, if any.
fn run_hook(command: &str, input: &Value) -> Option<Value> {
    use std::io::Write as _;
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input.to_string().as_bytes());
    }
    let output = child.wait_with_output().ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(text.trim()).ok()
}

/// The suggestions the real CLI offers: a rule for this command for Bash, the
/// `acceptEdits` mode for edits.
fn suggestions(session: &Session, tool: &str, tool_input: &Value) -> Value {
    if tool == "Bash" {
        let command = tool_input["command"].as_str().unwrap_or_default();
        match redirect_target(session, command) {
            // A write by redirection: a prefix rule and the directory (transcript 50 deny).
            Some(_) => {
                let prefix: Vec<&str> = command.split_whitespace().take(2).collect();
                json!([
                    {"type": "addRules", "rules": [{"toolName": "Bash", "ruleContent": format!("{} *", prefix.join(" "))}],
                     "behavior": "allow", "destination": "localSettings"},
                    {"type": "addDirectories", "directories": [session.cwd], "destination": "session"},
                ])
            }
            // Anything else: a rule for exactly this command (transcript 56).
            None => json!([
                {"type": "addRules", "rules": [{"toolName": "Bash", "ruleContent": command}],
                 "behavior": "allow", "destination": "localSettings"},
            ]),
        }
    } else {
        json!([{"type": "setMode", "mode": "acceptEdits", "destination": "session"}])
    }
}

/// Asks over stdio and waits for the answer; applies `updatedPermissions`.
fn ask_stdio(
    session: &Session,
    tool: &str,
    tool_input: &Value,
    tool_use_id: &str,
    input: &mut dyn Iterator<Item = std::io::Result<String>>,
) -> Result<(), String> {
    let request_id = uuid();
    let mut request = json!({
        "subtype": "can_use_tool", "tool_name": tool, "display_name": tool,
        "input": tool_input,
        "description": tool_input["description"],
        "permission_suggestions": suggestions(session, tool, tool_input),
        "tool_use_id": tool_use_id,
    });
    // The real CLI names the path a redirect writes, or else says why it asks.
    match redirect_target(session, tool_input["command"].as_str().unwrap_or_default()) {
        Some(path) => request["blocked_path"] = json!(path),
        None => {
            request["decision_reason"] = json!("This command requires approval");
            request["decision_reason_type"] = json!("other");
        }
    }
    emit(&json!({"type": "control_request", "request_id": request_id, "request": request}));
    for line in input {
        let Ok(line) = line else { break };
        let Ok(msg) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        let response = &msg["response"];
        if msg["type"] != "control_response" || response["request_id"] != request_id.as_str() {
            continue;
        }
        let answer = &response["response"];
        return match answer["behavior"].as_str() {
            Some("allow") => {
                save_rules(session, &answer["updatedPermissions"]);
                Ok(())
            }
            _ => Err(answer["message"].as_str().unwrap_or("denied").to_owned()),
        };
    }
    Err("stdin closed before a permission answer".to_owned())
}

/// The file a shell command writes by `>` redirection, if any.
fn redirect_target(session: &Session, command: &str) -> Option<PathBuf> {
    let (_, target) = command.split_once('>')?;
    let target = target.trim_start_matches('>').split_whitespace().next()?;
    Some(session.cwd.join(target))
}

/// Writes `addRules` updates bound for `localSettings`, as the real CLI does.
fn save_rules(session: &Session, updates: &Value) {
    let mut added: Vec<String> = Vec::new();
    for update in updates.as_array().into_iter().flatten() {
        if update["type"] != "addRules" || update["destination"] != "localSettings" {
            continue;
        }
        for rule in update["rules"].as_array().into_iter().flatten() {
            let tool = rule["toolName"].as_str().unwrap_or_default();
            added.push(match rule["ruleContent"].as_str() {
                Some(content) => format!("{tool}({content})"),
                None => tool.to_owned(),
            });
        }
    }
    if added.is_empty() {
        return;
    }
    let mut rules = local_rules(session);
    rules.extend(added);
    let path = local_settings(session);
    let _ = std::fs::create_dir_all(path.parent().expect("settings file has a parent"));
    let _ = std::fs::write(path, json!({"permissions": {"allow": rules}}).to_string());
}

/// Runs `command` with `sh -c` in the session's cwd; the tool result text and whether
/// it is an error.
fn run_shell(session: &Session, command: &str) -> (String, bool) {
    match std::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(&session.cwd)
        .output()
    {
        Ok(out) => {
            let mut text = String::from_utf8_lossy(&out.stdout).trim_end().to_owned();
            let stderr = String::from_utf8_lossy(&out.stderr);
            if !stderr.trim().is_empty() {
                text.push_str(stderr.trim_end());
            }
            if out.status.success() {
                (text, false)
            } else {
                (
                    format!("Exit code {}\n{text}", out.status.code().unwrap_or(-1)),
                    true,
                )
            }
        }
        Err(err) => (format!("cannot run sh: {err}"), true),
    }
}
