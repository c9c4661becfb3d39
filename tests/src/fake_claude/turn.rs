//! One turn: what the prompt asks (tools, gates, errors, budget), the stream-json lines on
//! stdout, the permission asked over stdio, and the result.

use super::*;

impl Session {
    /// Runs one turn; returns the exit code to stop with, or 0 to go on.
    pub(crate) fn turn(
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
        if args.replay_user_messages && args.input_format == "stream-json" {
            emit(&shape::replay(
                &self.id,
                &json!({"role": "user", "content": prompt}),
                self.prompt_uuid.as_deref(),
            ));
        }

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
        if prompt.split_whitespace().any(|w| w == "HOLD") {
            return self.hold_turn(args, started, &prompt_id, input);
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
    pub(crate) fn permission(
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
    pub(crate) fn finish(
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

impl Session {
    /// Records the system prompt's shape once per process, as 2.1.330 does per shape.
    pub(crate) fn record_request_shape(&self) {
        if self.results == 0 {
            self.append(&shape::atis_latch(&self.id));
            self.append(&shape::api_request_shape(&self.id));
        }
    }

    /// What the `result` line of this turn reports.
    pub(crate) fn outcome<'a>(
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
    pub(crate) fn end_turn(&mut self) {
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
    pub(crate) fn api_error(&mut self, started: std::time::Instant, status: u16) -> i32 {
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
    pub(crate) fn over_budget(&mut self, args: &Args, started: std::time::Instant) -> Option<i32> {
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

    /// `HOLD`: one model request, then the turn stays open until the host interrupts it
    /// (transcript 60 of 2.1.330) or closes stdin.
    pub(crate) fn hold_turn(
        &mut self,
        args: &Args,
        started: std::time::Instant,
        prompt_id: &str,
        input: &mut dyn Iterator<Item = std::io::Result<String>>,
    ) -> i32 {
        self.assistant(json!([{"type": "text", "text": "holding until interrupted"}]));
        if let Some(code) = self.over_budget(args, started) {
            return code;
        }
        for line in &mut *input {
            let Ok(line) = line else { break };
            let Ok(msg) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if msg["type"] != "control_request" || msg["request"]["subtype"] != "interrupt" {
                continue;
            }
            emit(
                &json!({"type": "control_response", "response": {"subtype": "success",
                "request_id": msg["request_id"], "response": {"still_queued": []}}}),
            );
            let text = json!([{"type": "text", "text": "[Request interrupted by user]"}]);
            self.record_user(text.clone(), prompt_id);
            emit(
                &json!({"type": "user", "message": {"role": "user", "content": text},
                "parent_tool_use_id": null, "session_id": self.id, "uuid": uuid(), "timestamp": now()}),
            );
            // The request made before the hold is paid for.
            self.usage.add_call();
            self.since_last.add_call();
            let result = shape::result_interrupted(&self.outcome("", 1, vec![], started));
            self.end_turn();
            emit(&result);
            return 0;
        }
        self.finish(args, started, "held to the end", false, None, Vec::new(), 1);
        0
    }

    /// A Bash tool call; refused (with `system/permission_denied`) unless allowed.
    pub(crate) fn bash_turn(
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

impl Session {
    /// `PUT:<path>=<text>` ... and `GATE:<file>`: Write calls with chosen contents, then
    /// a wait for the gate file. Returns the exit code when the prompt asked for it.
    pub(crate) fn put_files(
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
pub(crate) fn wait_for_gate(prompt: &str) {
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
