//! `fake-claude`: a stand-in for the Claude Code CLI, for fast and deterministic tests.
//!
//! It is modelled on the real CLI 2.1.330 as captured in `tests/fixtures/claude-code/2.1.330/`
//! (the line shapes come from there, see `fake_claude/shape.rs`):
//! the same stream-json lines on stdout, the same session file under
//! `$CLAUDE_CONFIG_DIR/projects/<dir>/<session>.jsonl` (or `~/.claude/...`), the same
//! registration in `~/.claude/sessions/<pid>.json`, `--resume`, `--session-id`,
//! `--input-format stream-json`, the stdio permission protocol, and exit 143 with no
//! `result` line on SIGTERM. `tests/tests/real_cli/real_claude.rs` checks it against the real CLI.
//!
//! The prompt steers it (words anywhere in the text):
//! - `GATE:<file>`: wait until `<file>` exists before answering (the user line is already on
//!   disk), so a test holds a turn open for exactly as long as it needs, with no race; if the
//!   gate's directory disappears (the test is over) it exits 143 instead of waiting forever;
//! - `SLOW:<secs>`: wait that long before answering (for benchmarks only: a test must not
//!   depend on a turn being slower than a command, it uses `GATE:`);
//! - `FAIL`: answer like an API error 400 (exit 1, `is_error: true`);
//! - `WRITE:<path>` or `TOOL_WRITE`: call the Write tool on that path (default
//!   `written.txt`), subject to permissions like the real CLI;
//! - `BASH:<command>`: call the Bash tool (`_` stands for a space); refused unless a
//!   rule of `--allowedTools` (matched as the real CLI matches them, see
//!   `fake_claude_permissions.rs`) or a bypass allows it, like the real CLI without a
//!   prompt tool;
//! - `CHATTY:<n>`: send n assistant text messages before the result;
//! - `PACE:<ms>`: wait that long between those messages;
//! - `UNTIL:<file>`: send such messages until `<file>` exists (a stream of output lines
//!   for as long as a test needs it), then go on (`WRITE:` included);
//! - `EXIT:<code>`: exit at once with that code, printing no result.
//! - `TOOL_BASH:<command>`: call the Bash tool with the rest of the prompt as its
//!   command (run with `sh -c` in the cwd), asking for permission like the real CLI
//!   (see `tests/src/fake_claude_permissions.rs`).
//! - `PUT:<path>=<text>` (repeatable): call the Write tool to write `<text>` to that path,
//!   then, with `GATE:<file>`, wait for the gate after writing (so a test can look at an
//!   agent that has written and is still running).

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

#[path = "../fake_claude_permissions.rs"]
mod permission_protocol;
#[path = "../fake_claude/shape.rs"]
mod shape;

use shape::{INPUT_TOKENS, MODEL, OUTPUT_TOKENS, VERSION};

/// The command line, as the real CLI reads it (only the flags we act on).
#[derive(Debug, Default)]
struct Args {
    print: bool,
    verbose: bool,
    output_format: String,
    input_format: String,
    resume: Option<String>,
    session_id: Option<String>,
    model: Option<String>,
    permission_prompt_tool: Option<String>,
    permission_mode: Option<String>,
    allowed_tools: Vec<String>,
    skip_permissions: bool,
    max_budget_usd: Option<String>,
    prompt: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        output_format: "text".into(),
        input_format: "text".into(),
        ..Args::default()
    };
    let mut it = std::env::args().skip(1).peekable();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .ok_or(format!("error: option '{name}' argument missing"))
        };
        match arg.as_str() {
            "--version" | "-v" => {
                println!("{VERSION} (Claude Code)");
                std::process::exit(0);
            }
            "-p" | "--print" => args.print = true,
            "--verbose" => args.verbose = true,
            "--output-format" => args.output_format = value(&arg)?,
            "--input-format" => args.input_format = value(&arg)?,
            "--resume" | "-r" => args.resume = Some(value(&arg)?),
            "--session-id" => args.session_id = Some(value(&arg)?),
            "--model" => args.model = Some(value(&arg)?),
            "--permission-prompt-tool" => args.permission_prompt_tool = Some(value(&arg)?),
            "--permission-mode" => args.permission_mode = Some(value(&arg)?),
            "--dangerously-skip-permissions" => args.skip_permissions = true,
            "--allowedTools" | "--allowed-tools" => {
                args.allowed_tools.push(value(&arg)?);
                while it.peek().is_some_and(|next| !next.starts_with('-')) {
                    args.allowed_tools.extend(it.next());
                }
            }
            "--max-budget-usd" => args.max_budget_usd = Some(value(&arg)?),
            // The real CLI reads the file at start and refuses to run without it.
            "--append-system-prompt-file" => {
                let path = value(&arg)?;
                std::fs::read(&path).map_err(|err| {
                    format!("Error: cannot read system prompt file {path}: {err}")
                })?;
            }
            "--max-turns"
            | "--append-system-prompt"
            | "--add-dir"
            | "--settings"
            | "--disallowedTools"
            | "--disallowed-tools" => {
                value(&arg)?;
            }
            "--fork-session" | "--include-partial-messages" => {}
            other if other.starts_with('-') => {
                return Err(format!("error: unknown option '{other}'"));
            }
            prompt => args.prompt = Some(prompt.to_owned()),
        }
    }
    Ok(args)
}

fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(1);
        }
    };
    if args.print && args.output_format == "stream-json" && !args.verbose {
        eprintln!("Error: When using --print, --output-format=stream-json requires --verbose");
        std::process::exit(1);
    }
    if args.skip_permissions
        && nix::unistd::geteuid().is_root()
        && std::env::var("IS_SANDBOX").as_deref() != Ok("1")
    {
        eprintln!(
            "--dangerously-skip-permissions cannot be used with root/sudo privileges for security reasons"
        );
        std::process::exit(1);
    }
    let cwd = std::env::current_dir()
        .and_then(|dir| dir.canonicalize())
        .expect("fake-claude needs a working directory");
    let claude_dir = claude_config_dir();
    let project_dir = claude_dir.join("projects").join(project_dir_name(&cwd));

    let (session_id, session_file) = match &args.resume {
        Some(id) => match find_session(&claude_dir, &cwd, id) {
            Some(file) => (id.clone(), file),
            None => {
                emit(&json!({
                    "type": "result", "subtype": "error_during_execution", "duration_ms": 0,
                    "duration_api_ms": 0, "is_error": true, "num_turns": 0, "stop_reason": null,
                    "session_id": id, "total_cost_usd": 0, "usage": usage(0, 0),
                    "modelUsage": {}, "permission_denials": [], "uuid": uuid(),
                    "errors": [format!("No conversation found with session ID: {id}")],
                }));
                std::process::exit(1);
            }
        },
        None => {
            let id = args.session_id.clone().unwrap_or_else(uuid);
            let file = project_dir.join(format!("{id}.jsonl"));
            if args.session_id.is_some() && file.exists() {
                eprintln!("Error: Session ID {id} is already in use.");
                std::process::exit(1);
            }
            (id, file)
        }
    };
    let registration = register(&claude_dir, &session_id, &cwd);
    let _ = std::fs::create_dir_all(session_file.parent().expect("session file has a parent"));
    let model = args
        .model
        .as_deref()
        .map(shape::model_id)
        .unwrap_or_else(|| MODEL.to_owned());
    // 2.1.330 restores the session's running cost from its last `cost-state` line.
    let usage = shape::restore(
        &std::fs::read_to_string(&session_file).unwrap_or_default(),
        &model,
    );
    let mut session = Session {
        file: session_file,
        id: session_id,
        cwd,
        branch: git_branch(),
        parent: None,
        since_last: shape::Usage {
            model: model.clone(),
            ..shape::Usage::default()
        },
        usage,
        results: 0,
        started_ms: chrono::Utc::now().timestamp_millis(),
        model,
        registration: registration.clone(),
    };
    watch_sigterm(registration);

    let code = if args.input_format == "stream-json" {
        let stdin = std::io::stdin();
        let mut lines = stdin.lock().lines();
        let mut code = 0;
        while let Some(Ok(line)) = lines.next() {
            let Ok(msg) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if msg["type"] != "user" {
                continue;
            }
            let prompt = content_text(&msg["message"]["content"]);
            code = session.turn(&args, &prompt, &mut lines);
            if code != 0 {
                break;
            }
        }
        code
    } else {
        let prompt = match &args.prompt {
            Some(prompt) => prompt.clone(),
            None => {
                let mut text = String::new();
                let _ = std::io::Read::read_to_string(&mut std::io::stdin(), &mut text);
                text
            }
        };
        let mut no_input = std::iter::empty::<std::io::Result<String>>();
        session.turn(&args, &prompt, &mut no_input)
    };
    let _ = std::fs::remove_file(&session.registration);
    std::process::exit(code);
}

/// One conversation: where it is written and what it has cost so far.
struct Session {
    file: PathBuf,
    id: String,
    cwd: PathBuf,
    branch: String,
    parent: Option<String>,
    /// What the session used, earlier runs included (restored on `--resume`).
    usage: shape::Usage,
    /// What this process used since its last `result`.
    since_last: shape::Usage,
    /// `result` lines printed by this process.
    results: u32,
    /// When this process started, ms since the epoch.
    started_ms: i64,
    model: String,
    registration: PathBuf,
}

impl Session {
    /// Appends one line to the session file, as the real CLI does (one write per line).
    fn append(&self, line: &Value) {
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
    fn common(&mut self, kind: &str) -> (String, Value) {
        let id = uuid();
        let line = json!({
            "parentUuid": self.parent, "isSidechain": false, "type": kind, "uuid": id,
            "timestamp": now(), "userType": "external", "entrypoint": "sdk-cli",
            "cwd": self.cwd, "sessionId": self.id, "version": VERSION, "gitBranch": self.branch,
        });
        self.parent = Some(id.clone());
        (id, line)
    }

    fn record_user(&mut self, content: Value, prompt_id: &str) {
        let (_, mut line) = self.common("user");
        line["promptId"] = json!(prompt_id);
        line["message"] = json!({"role": "user", "content": content});
        line["permissionMode"] = json!("default");
        line["promptSource"] = json!("sdk");
        self.append(&line);
    }

    /// Writes an assistant message to the session file and prints it on stdout.
    fn assistant(&mut self, content: Value) {
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

    fn tool_result(&mut self, tool_use_id: &str, text: &str, is_error: bool, prompt_id: &str) {
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

    /// Runs one turn; returns the exit code to stop with, or 0 to go on.
    fn turn(
        &mut self,
        args: &Args,
        prompt: &str,
        input: &mut dyn Iterator<Item = std::io::Result<String>>,
    ) -> i32 {
        let started = std::time::Instant::now();
        self.append(&json!({"type": "queue-operation", "operation": "enqueue", "timestamp": now(), "sessionId": self.id, "content": prompt}));
        self.append(&json!({"type": "queue-operation", "operation": "dequeue", "timestamp": now(), "sessionId": self.id}));
        let prompt_id = uuid();
        self.record_user(json!(prompt), &prompt_id);
        self.set_status("busy");
        self.record_request_shape();
        emit(&shape::init(
            &self.id,
            &self.cwd.to_string_lossy(),
            &self.model,
            args.permission_mode.as_deref().unwrap_or("default"),
        ));

        let word = |key: &str| {
            prompt
                .split_whitespace()
                .find_map(|w| w.strip_prefix(key).map(str::to_owned))
        };
        if let Some(code) = word("EXIT:").and_then(|c| c.parse::<i32>().ok()) {
            return code;
        }
        if let Some(secs) = word("SLOW:").and_then(|s| s.parse::<f64>().ok()) {
            std::thread::sleep(Duration::from_secs_f64(secs));
        }
        // With PUT: the gate holds after the writes instead (see `put_files`).
        if !prompt.split_whitespace().any(|w| w.starts_with("PUT:")) {
            wait_for_gate(prompt);
        }
        if prompt.split_whitespace().any(|w| w == "FAIL") {
            return self.api_error(started, 400);
        }
        if let Some(command) = word("BASH:") {
            return self.bash_turn(args, started, &command.replace('_', " "), &prompt_id);
        }
        if let Some(command) = prompt.split_once("TOOL_BASH:").map(|(_, c)| c.trim()) {
            return permission_protocol::bash_turn(self, args, command, &prompt_id, started, input);
        }
        if let Some(code) = self.put_files(args, prompt, &prompt_id, started, input) {
            return code;
        }
        let mut denials = Vec::new();
        let mut turns = 1;
        let write_target = word("WRITE:").or_else(|| {
            prompt
                .split_whitespace()
                .any(|w| w == "TOOL_WRITE")
                .then(|| "written.txt".to_owned())
        });
        let chatty = word("CHATTY:")
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(0);
        let pace = word("PACE:")
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0);
        let until = word("UNTIL:").map(PathBuf::from);
        let mut step = 0;
        while step < chatty || until.as_ref().is_some_and(|file| !file.exists()) {
            if until
                .as_ref()
                .is_some_and(|file| file.parent().is_some_and(|dir| !dir.exists()))
            {
                // The test is over.
                return 143;
            }
            if pace > 0 {
                std::thread::sleep(Duration::from_millis(pace));
            }
            self.assistant(
                json!([{"type": "text", "text": format!("working on it, step {step}")}]),
            );
            step += 1;
        }
        if let Some(target) = write_target {
            turns += 1;
            let path = self.cwd.join(&target);
            let input_json = json!({"file_path": path, "content": "written by fake-claude\n"});
            let tool_use_id = format!("toolu_{}", uuid().replace('-', "")[..24].to_owned());
            self.assistant(json!([{"type": "tool_use", "id": tool_use_id, "name": "Write", "input": input_json}]));
            if let Some(code) = self.over_budget(args, started) {
                return code;
            }
            let verdict = self.permission(args, &tool_use_id, &input_json, input);
            let (text, is_error) = match verdict {
                Ok(()) => match std::fs::write(&path, "written by fake-claude\n") {
                    Ok(()) => (
                        format!("File created successfully at: {}", path.display()),
                        false,
                    ),
                    Err(err) => (format!("Error writing file: {err}"), true),
                },
                Err(reason) => {
                    // 2.1.330 announces a refusal made without asking.
                    if args.permission_prompt_tool.as_deref() != Some("stdio") {
                        emit(&shape::permission_denied(
                            &self.id,
                            "Write",
                            &tool_use_id,
                            &reason,
                        ));
                    }
                    denials.push(json!({"tool_name": "Write", "tool_use_id": tool_use_id, "tool_input": input_json}));
                    (reason, true)
                }
            };
            self.tool_result(&tool_use_id, &text, is_error, &prompt_id);
            let reply = format!(
                "Tool finished (is_error={}). Result was: {text}",
                if is_error { "True" } else { "None" }
            );
            self.assistant(json!([{"type": "text", "text": reply}]));
            self.finish(args, started, &reply, false, None, denials, turns);
            return 0;
        }
        let reply = format!(
            "hi from fake-claude: {}",
            prompt.chars().take(80).collect::<String>()
        );
        self.assistant(json!([{"type": "text", "text": reply}]));
        self.finish(args, started, &reply, false, None, denials, turns);
        0
    }

    /// Decides whether the Write tool may run, the way the real CLI does: allowed by flags,
    /// asked over stdio when `--permission-prompt-tool stdio`, else refused.
    fn permission(
        &self,
        args: &Args,
        tool_use_id: &str,
        tool_input: &Value,
        input: &mut dyn Iterator<Item = std::io::Result<String>>,
    ) -> Result<(), String> {
        let mode = args.permission_mode.as_deref().unwrap_or("default");
        let allowed = args.skip_permissions
            || matches!(mode, "bypassPermissions" | "acceptEdits")
            || permission_protocol::allowed_rules(args)
                .iter()
                .any(|t| t == "Write" || t == "Write(*)");
        if allowed {
            return Ok(());
        }
        if let Some(verdict) =
            permission_protocol::ask_elsewhere(self, args, "Write", tool_input, input)
        {
            return verdict;
        }
        let path = tool_input["file_path"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if args.permission_prompt_tool.as_deref() == Some("stdio") {
            let request_id = uuid();
            emit(&json!({
                "type": "control_request", "request_id": request_id,
                "request": {
                    "subtype": "can_use_tool", "tool_name": "Write", "display_name": "Write",
                    "input": tool_input, "description": Path::new(&path).file_name().map(|n| n.to_string_lossy().into_owned()),
                    "permission_suggestions": [{"type": "setMode", "mode": "acceptEdits", "destination": "session"}],
                    "tool_use_id": tool_use_id,
                },
            }));
            for line in &mut *input {
                let Ok(line) = line else { break };
                let Ok(msg) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                let response = &msg["response"];
                if msg["type"] == "control_response"
                    && response["request_id"] == request_id.as_str()
                {
                    let answer = &response["response"];
                    return match answer["behavior"].as_str() {
                        Some("allow") => Ok(()),
                        _ => Err(answer["message"].as_str().unwrap_or("denied").to_owned()),
                    };
                }
            }
            return Err("stdin closed before a permission answer".to_owned());
        }
        Err(format!(
            "Claude requested permissions to write to {path}, but you haven't granted it yet."
        ))
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "mirrors the fields of the result line"
    )]
    fn finish(
        &mut self,
        args: &Args,
        started: std::time::Instant,
        result: &str,
        is_error: bool,
        api_error_status: Option<u16>,
        denials: Vec<Value>,
        turns: u32,
    ) {
        if !is_error {
            for _ in 0..turns {
                self.usage.add_call();
                self.since_last.add_call();
            }
        }
        self.append(&json!({"type": "last-prompt", "lastPrompt": result, "leafUuid": self.parent, "sessionId": self.id}));
        let line = {
            let outcome = self.outcome(result, turns, denials, started);
            match api_error_status {
                Some(status) => shape::result_api_error(&outcome, status),
                None => shape::result_success(&outcome),
            }
        };
        self.end_turn();
        if args.output_format == "stream-json" || args.output_format == "json" {
            emit(&line);
        } else {
            println!("{result}");
        }
    }
}

/// The 2.1.330 additions, kept apart from the turn logic above.
impl Session {
    /// Rewrites this process's registration with `status` (`busy` while a turn runs,
    /// `idle` between turns), as 2.1.330 does.
    fn set_status(&self, status: &str) {
        let Ok(text) = std::fs::read_to_string(&self.registration) else {
            return;
        };
        let Ok(mut reg) = serde_json::from_str::<Value>(&text) else {
            return;
        };
        let now = chrono::Utc::now().timestamp_millis();
        reg["status"] = json!(status);
        reg["statusUpdatedAt"] = json!(now);
        reg["updatedAt"] = json!(now);
        // Written whole and renamed into place, so a reader never sees half a file.
        let tmp = self.registration.with_extension("json.tmp");
        if std::fs::write(&tmp, reg.to_string()).is_ok() {
            let _ = std::fs::rename(&tmp, &self.registration);
        }
    }

    /// Records the system prompt's shape once per process, as 2.1.330 does per shape.
    fn record_request_shape(&self) {
        if self.results == 0 {
            self.append(&shape::atis_latch(&self.id));
            self.append(&shape::api_request_shape(&self.id));
        }
    }

    /// What the `result` line of this turn reports.
    fn outcome<'a>(
        &'a self,
        result: &'a str,
        turns: u32,
        denials: Vec<Value>,
        started: std::time::Instant,
    ) -> shape::Outcome<'a> {
        shape::Outcome {
            session_id: &self.id,
            result,
            num_turns: turns,
            session: &self.usage,
            since_last: &self.since_last,
            denials,
            result_index: self.results,
            duration_ms: started.elapsed().as_millis() as u64,
        }
    }

    /// After a result: the session's running cost on disk, the counters reset, idle.
    fn end_turn(&mut self) {
        let elapsed = (chrono::Utc::now().timestamp_millis() - self.started_ms).max(0) as u64;
        self.append(&shape::cost_state(
            &self.id,
            &self.usage,
            self.started_ms,
            elapsed,
        ));
        self.append(&shape::atis_latch(&self.id));
        self.results += 1;
        self.since_last = shape::Usage {
            model: self.model.clone(),
            ..shape::Usage::default()
        };
        self.set_status("idle");
    }

    /// An API error: the synthetic assistant line and an error result; exit 1.
    fn api_error(&mut self, started: std::time::Instant, status: u16) -> i32 {
        let text = format!("API Error: {status} fake error {status}");
        emit(&shape::api_error_assistant(&self.id, status, &text));
        let (_, mut line) = self.common("assistant");
        line["message"] = json!({"id": uuid(), "type": "message", "role": "assistant", "model": "<synthetic>",
            "content": [{"type": "text", "text": text}], "usage": usage(0, 0)});
        line["isApiErrorMessage"] = json!(true);
        line["apiErrorStatus"] = json!(status);
        self.append(&line);
        self.append(&json!({"type": "last-prompt", "lastPrompt": text, "leafUuid": self.parent, "sessionId": self.id}));
        let outcome = self.outcome(&text, 1, vec![], started);
        emit(&shape::result_api_error(&outcome, status));
        self.end_turn();
        1
    }

    /// `--max-budget-usd`, checked after each response as 2.1.330 does: once the
    /// session's cost with this response reaches the budget, the turn ends (exit 1)
    /// before any tool runs.
    fn over_budget(&mut self, args: &Args, started: std::time::Instant) -> Option<i32> {
        let budget = args.max_budget_usd.as_deref()?;
        let limit = budget.parse::<f64>().ok()?;
        let mut with_this = self.usage.clone();
        with_this.add_call();
        if with_this.cost < limit {
            return None;
        }
        self.usage.add_call();
        self.since_last.add_call();
        let outcome = self.outcome("", 1, vec![], started);
        emit(&shape::result_budget(&outcome, budget));
        self.end_turn();
        Some(1)
    }

    /// A Bash tool call; refused (with `system/permission_denied`) unless allowed.
    fn bash_turn(
        &mut self,
        args: &Args,
        started: std::time::Instant,
        command: &str,
        prompt_id: &str,
    ) -> i32 {
        let input_json = json!({"command": command, "description": format!("Run: {command}")});
        let tool_use_id = format!("toolu_{}", uuid().replace('-', "")[..24].to_owned());
        self.assistant(
            json!([{"type": "tool_use", "id": tool_use_id, "name": "Bash", "input": input_json}]),
        );
        if let Some(code) = self.over_budget(args, started) {
            return code;
        }
        let allowed = permission_protocol::rules_allow(
            args,
            &permission_protocol::allowed_rules(args),
            command,
        );
        let mut denials = Vec::new();
        let (text, is_error) = if allowed {
            let out = std::process::Command::new("sh")
                .args(["-c", command])
                .current_dir(&self.cwd)
                .output();
            match out {
                Ok(out) => (
                    String::from_utf8_lossy(&out.stdout).trim_end().to_owned(),
                    !out.status.success(),
                ),
                Err(err) => (err.to_string(), true),
            }
        } else {
            let message = format!(
                "Running `{command}` needs approval. Claude Code asks before a shell command runs in '{}'.",
                self.cwd.display()
            );
            emit(&shape::permission_denied(
                &self.id,
                "Bash",
                &tool_use_id,
                &message,
            ));
            denials.push(
                json!({"tool_name": "Bash", "tool_use_id": tool_use_id, "tool_input": input_json}),
            );
            (message, true)
        };
        let content = json!([{"type": "tool_result", "content": text, "is_error": is_error, "tool_use_id": tool_use_id}]);
        self.record_user(content.clone(), prompt_id);
        emit(&shape::tool_result(
            &self.id,
            content,
            json!(if is_error {
                format!("Error: {text}")
            } else {
                text.clone()
            }),
            &tool_use_id,
            allowed,
        ));
        let reply = format!(
            "Tool finished (is_error={}). Result was: {text}",
            if is_error { "True" } else { "None" }
        );
        self.assistant(json!([{"type": "text", "text": reply}]));
        self.finish(args, started, &reply, false, None, denials, 2);
        0
    }
}

fn emit(line: &Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn usage(input: u64, output: u64) -> Value {
    json!({"input_tokens": input, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": output, "service_tier": "standard"})
}

fn content_text(content: &Value) -> String {
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

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn now() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

fn claude_config_dir() -> PathBuf {
    match std::env::var_os("CLAUDE_CONFIG_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".claude"),
    }
}

/// The real CLI's project directory name: every char outside `[A-Za-z0-9]` becomes `-`;
/// past 200 chars, the first 200 plus `-` and a base-36 hash of the whole.
fn project_dir_name(cwd: &Path) -> String {
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
fn find_session(claude_dir: &Path, cwd: &Path, id: &str) -> Option<PathBuf> {
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

fn git_common_dir(dir: &Path) -> Option<PathBuf> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "--path-format=absolute", "--git-common-dir"])
        .current_dir(dir)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

fn git_branch() -> String {
    std::process::Command::new("git")
        .args(["rev-parse", "--abbrev-ref", "HEAD"])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .unwrap_or_else(|| "HEAD".to_owned())
}

/// Registers this process in `~/.claude/sessions/<pid>.json`, as the real CLI does.
fn register(claude_dir: &Path, session_id: &str, cwd: &Path) -> PathBuf {
    let dir = claude_dir.join("sessions");
    let _ = std::fs::create_dir_all(&dir);
    let pid = std::process::id();
    let proc_start = orchestra_proto::process::start_time(pid).unwrap_or_default();
    let path = dir.join(format!("{pid}.json"));
    let record = shape::registration(
        pid,
        session_id,
        &cwd.to_string_lossy(),
        &proc_start,
        chrono::Utc::now().timestamp_millis(),
        "busy",
    );
    let _ = std::fs::write(&path, record.to_string());
    path
}

/// On SIGTERM: remove the registration and exit 143 with no result line, like the real CLI.
fn watch_sigterm(registration: PathBuf) {
    use nix::sys::signal::{SigSet, Signal};
    let mut set = SigSet::empty();
    set.add(Signal::SIGTERM);
    set.add(Signal::SIGINT);
    set.thread_block().expect("blocking SIGTERM");
    std::thread::spawn(move || {
        if let Ok(signal) = set.wait() {
            let _ = std::fs::remove_file(&registration);
            std::process::exit(if signal == Signal::SIGINT { 130 } else { 143 });
        }
    });
}

impl Session {
    /// `PUT:<path>=<text>` ... and `GATE:<file>`: Write calls with chosen contents, then
    /// a wait for the gate file. Returns the exit code when the prompt asked for it.
    fn put_files(
        &mut self,
        args: &Args,
        prompt: &str,
        prompt_id: &str,
        started: std::time::Instant,
        input: &mut dyn Iterator<Item = std::io::Result<String>>,
    ) -> Option<i32> {
        let puts: Vec<(String, String)> = prompt
            .split_whitespace()
            .filter_map(|w| w.strip_prefix("PUT:"))
            .filter_map(|w| w.split_once('='))
            .map(|(path, text)| (path.to_owned(), text.to_owned()))
            .collect();
        if puts.is_empty() {
            return None;
        }
        let mut turns = 1;
        let mut denials = Vec::new();
        let mut results = Vec::new();
        for (target, text) in puts {
            turns += 1;
            let path = self.cwd.join(&target);
            let content = format!("{text}\n");
            let input_json = json!({"file_path": path, "content": content});
            let tool_use_id = format!("toolu_{}", uuid().replace('-', "")[..24].to_owned());
            self.assistant(json!([{"type": "tool_use", "id": tool_use_id, "name": "Write", "input": input_json}]));
            let verdict = self.permission(args, &tool_use_id, &input_json, input);
            let (text, is_error) = match verdict {
                Ok(()) => {
                    if let Some(dir) = path.parent() {
                        let _ = std::fs::create_dir_all(dir);
                    }
                    match std::fs::write(&path, &content) {
                        Ok(()) => (
                            format!("File created successfully at: {}", path.display()),
                            false,
                        ),
                        Err(err) => (format!("Error writing file: {err}"), true),
                    }
                }
                Err(reason) => {
                    denials.push(json!({"tool_name": "Write", "tool_use_id": tool_use_id, "tool_input": input_json}));
                    (reason, true)
                }
            };
            self.tool_result(&tool_use_id, &text, is_error, prompt_id);
            results.push(text);
        }
        wait_for_gate(prompt);
        let reply = format!("Wrote the files. {}", results.join(" "));
        self.assistant(json!([{"type": "text", "text": reply}]));
        self.finish(args, started, &reply, false, None, denials, turns);
        Some(0)
    }
}

/// `GATE:<file>`: waits until the test creates `<file>`. A gate whose directory is gone
/// belongs to a finished test (its temp dir was removed): exit as if stopped, rather than
/// wait forever.
fn wait_for_gate(prompt: &str) {
    let Some(gate) = prompt
        .split_whitespace()
        .find_map(|w| w.strip_prefix("GATE:"))
    else {
        return;
    };
    let gate = Path::new(gate);
    while !gate.exists() {
        if gate.parent().is_some_and(|dir| !dir.exists()) {
            std::process::exit(143);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
