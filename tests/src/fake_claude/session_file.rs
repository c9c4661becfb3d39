//! The session file the real CLI writes under `$CLAUDE_CONFIG_DIR/projects/<dir>/`, line
//! by line, and where it lives.

use super::*;

/// One conversation: where it is written and what it has cost so far.
pub(crate) struct Session {
    pub(crate) file: PathBuf,
    pub(crate) id: String,
    pub(crate) cwd: PathBuf,
    pub(crate) branch: String,
    pub(crate) parent: Option<String>,
    /// What the session used, earlier runs included (restored on `--resume`).
    pub(crate) usage: shape::Usage,
    /// What this process used since its last `result`.
    pub(crate) since_last: shape::Usage,
    /// `result` lines printed by this process.
    pub(crate) results: u32,
    /// When this process started, ms since the epoch.
    pub(crate) started_ms: i64,
    pub(crate) model: String,
    pub(crate) registration: PathBuf,
    /// The uuid the host sent the current prompt with (echoed back under
    /// `--replay-user-messages`, as the real CLI does).
    pub(crate) prompt_uuid: Option<String>,
}

impl Session {
    /// Appends one line to the session file, as the real CLI does (one write per line).
    pub(crate) fn append(&self, line: &Value) {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.file)
            .expect("fake-claude cannot write its session file");
        let mut text = shape::type_first(line);
        text.push('\n');
        let _ = file.write_all(text.as_bytes());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&self.file, std::fs::Permissions::from_mode(0o600));
        }
    }

    /// The fields every conversation line carries.
    pub(crate) fn common(&mut self, kind: &str) -> (String, Value) {
        let id = uuid();
        let line = json!({
            "parentUuid": self.parent, "isSidechain": false, "type": kind, "uuid": id,
            "timestamp": now(), "userType": "external", "entrypoint": "sdk-cli",
            "cwd": self.cwd, "sessionId": self.id, "version": VERSION, "gitBranch": self.branch,
        });
        self.parent = Some(id.clone());
        (id, line)
    }

    pub(crate) fn record_user(&mut self, content: Value, prompt_id: &str) {
        let (_, mut line) = self.common("user");
        line["promptId"] = json!(prompt_id);
        line["message"] = json!({"role": "user", "content": content});
        line["permissionMode"] = json!("default");
        line["promptSource"] = json!("sdk");
        self.append(&line);
    }

    /// Writes an assistant message to the session file and prints it on stdout.
    pub(crate) fn assistant(&mut self, content: Value) {
        let msg_id = format!("msg_fake_{}", &uuid()[..8]);
        let (id, mut line) = self.common("assistant");
        let message = json!({
            "id": msg_id, "type": "message", "role": "assistant", "model": self.model,
            "content": content, "stop_reason": "end_turn", "stop_sequence": null,
            "usage": usage(INPUT_TOKENS, OUTPUT_TOKENS),
        });
        line["message"] = message.clone();
        line["requestId"] = json!(format!("req_fake_{}", &uuid()[..8]));
        self.append(&line);
        let mut out = message;
        out["stop_reason"] = Value::Null;
        emit(&shape::assistant(&self.id, &id, out));
    }

    pub(crate) fn tool_result(
        &mut self,
        tool_use_id: &str,
        text: &str,
        is_error: bool,
        prompt_id: &str,
    ) {
        let content = json!([{"type": "tool_result", "tool_use_id": tool_use_id, "content": text, "is_error": is_error}]);
        self.record_user(content.clone(), prompt_id);
        let result = if is_error {
            json!(format!("Error: {text}"))
        } else {
            json!({"type": "create", "content": "written by fake-claude\n"})
        };
        emit(&shape::tool_result(
            &self.id,
            content,
            result,
            tool_use_id,
            !is_error,
        ));
    }
}

pub(crate) fn emit(line: &Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

pub(crate) fn usage(input: u64, output: u64) -> Value {
    json!({"input_tokens": input, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": output, "service_tier": "standard"})
}

pub(crate) fn content_text(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| b["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

pub(crate) fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

pub(crate) fn now() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

pub(crate) fn claude_config_dir() -> PathBuf {
    match std::env::var_os("CLAUDE_CONFIG_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".claude"),
    }
}

/// The real CLI's project directory name: every char outside `[A-Za-z0-9]` becomes `-`;
/// past 200 chars, the first 200 plus `-` and a base-36 hash of the whole.
pub(crate) fn project_dir_name(cwd: &Path) -> String {
    let text = cwd.to_string_lossy();
    let name: String = text
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    if name.chars().count() <= 200 {
        return name;
    }
    let mut hash: i32 = 0;
    for unit in text.encode_utf16() {
        hash = hash.wrapping_mul(31).wrapping_add(i32::from(unit as i16));
    }
    let mut n = hash.unsigned_abs();
    let mut digits = Vec::new();
    while n > 0 {
        digits.push(std::char::from_digit(n % 36, 36).expect("digit below 36"));
        n /= 36;
    }
    if digits.is_empty() {
        digits.push('0');
    }
    let head: String = name.chars().take(200).collect();
    format!("{head}-{}", digits.iter().rev().collect::<String>())
}

/// `--resume` finds sessions of the current project only: the cwd's own directory, or a
/// session whose cwd is in the same git repository (a worktree of it, say).
pub(crate) fn find_session(claude_dir: &Path, cwd: &Path, id: &str) -> Option<PathBuf> {
    let projects = claude_dir.join("projects");
    let own = projects
        .join(project_dir_name(cwd))
        .join(format!("{id}.jsonl"));
    if own.exists() {
        return Some(own);
    }
    let our_repo = git_common_dir(cwd)?;
    for dir in std::fs::read_dir(&projects).ok()?.flatten() {
        let file = dir.path().join(format!("{id}.jsonl"));
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let their_cwd = text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find_map(|v| v["cwd"].as_str().map(PathBuf::from));
        if their_cwd.and_then(|c| git_common_dir(&c)).as_ref() == Some(&our_repo) {
            return Some(file);
        }
    }
    None
}

pub(crate) fn git_common_dir(dir: &Path) -> Option<PathBuf> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "--path-format=absolute", "--git-common-dir"])
        .current_dir(dir)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

pub(crate) fn git_branch() -> String {
    std::process::Command::new("git")
        .args(["rev-parse", "--abbrev-ref", "HEAD"])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .unwrap_or_else(|| "HEAD".to_owned())
}
