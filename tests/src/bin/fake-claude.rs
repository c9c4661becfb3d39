//! `fake-claude`: a stand-in for the Claude Code CLI, for fast and deterministic tests.
//! Split by what it imitates: the command line (`fake_claude/args.rs`), the session file
//! (`session_file.rs`), the registration in `~/.claude/sessions` (`registry.rs`), a turn
//! and its stream-json (`turn.rs`), the stdio permission protocol
//! (`fake_claude_permissions.rs`) and the captured line shapes (`shape.rs`); this file
//! reads the arguments and runs the turns.
//!
//! It is modelled on the real CLI 2.1.330 as captured in `tests/fixtures/claude-code/2.1.330/`
//! (the line shapes come from there, see `fake_claude/shape.rs`):
//! the same stream-json lines on stdout, the same session file under
//! `$CLAUDE_CONFIG_DIR/projects/<dir>/<session>.jsonl` (or `~/.claude/...`), the same
//! registration in `~/.claude/sessions/<pid>.json`, `--resume`, `--session-id`,
//! `--input-format stream-json` (with `--replay-user-messages`' echoes; a message that
//! arrives while a turn waits on stdin is absorbed by that turn, as the real CLI absorbs
//! queued messages), the stdio permission protocol, and exit 143 with no
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
//! - `HOLD`: make one model request, then hold the turn open until the host's `interrupt`
//!   control request arrives on stdin, answered as 2.1.330 does (transcript 60: a
//!   `control_response` with `still_queued`, a user line "[Request interrupted by user]",
//!   `result/error_during_execution` with `terminal_reason: "aborted_streaming"`); EOF ends
//!   the turn normally;
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

#[path = "../fake_claude/args.rs"]
mod args;
#[path = "../fake_claude_permissions.rs"]
mod permission_protocol;
#[path = "../fake_claude/registry.rs"]
mod registry;
#[path = "../fake_claude/session_file.rs"]
mod session_file;
#[path = "../fake_claude/shape.rs"]
mod shape;
#[path = "../fake_claude/turn.rs"]
mod turn;

use args::*;
use registry::*;
use session_file::*;

use shape::{INPUT_TOKENS, MODEL, OUTPUT_TOKENS, VERSION};

/// Stdin while a turn runs: a user message that arrives now is absorbed by the running
/// turn, as the real CLI does with queued messages (no turn or `result` of its own),
/// and echoed under `--replay-user-messages`; the turn sees every other line.
struct TurnInput<'a, I> {
    lines: &'a mut I,
    /// The session id to echo messages with, under `--replay-user-messages`.
    replay: Option<String>,
}

impl<I: Iterator<Item = std::io::Result<String>>> Iterator for TurnInput<'_, I> {
    type Item = std::io::Result<String>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let line = self.lines.next()?;
            let user = line
                .as_ref()
                .ok()
                .and_then(|text| serde_json::from_str::<Value>(text).ok())
                .filter(|msg| msg["type"] == "user");
            match user {
                Some(msg) => {
                    if let Some(session_id) = &self.replay {
                        emit(&shape::replay(
                            session_id,
                            &msg["message"],
                            msg["uuid"].as_str(),
                        ));
                    }
                }
                None => return Some(line),
            }
        }
    }
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
        prompt_uuid: None,
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
            session.prompt_uuid = msg["uuid"].as_str().map(str::to_owned);
            let mut input = TurnInput {
                lines: &mut lines,
                replay: args.replay_user_messages.then(|| session.id.clone()),
            };
            code = session.turn(&args, &prompt, &mut input);
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
