//! The command line, as the real CLI reads it.

use super::*;

/// The command line, as the real CLI reads it (only the flags we act on).
#[derive(Debug, Default)]
pub(crate) struct Args {
    pub(crate) print: bool,
    pub(crate) verbose: bool,
    pub(crate) output_format: String,
    pub(crate) input_format: String,
    /// `--replay-user-messages`: echo each user message from stdin when it is taken.
    pub(crate) replay_user_messages: bool,
    pub(crate) resume: Option<String>,
    pub(crate) session_id: Option<String>,
    pub(crate) model: Option<String>,
    pub(crate) permission_prompt_tool: Option<String>,
    pub(crate) permission_mode: Option<String>,
    pub(crate) allowed_tools: Vec<String>,
    pub(crate) skip_permissions: bool,
    pub(crate) max_budget_usd: Option<String>,
    pub(crate) prompt: Option<String>,
}

pub(crate) fn parse_args() -> Result<Args, String> {
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
            // Variadic, as the real CLI's (a prompt after it is read as a config); the stand-in
            // starts no MCP server, so the tests that need one use the real CLI.
            "--mcp-config" => {
                value(&arg)?;
                while it.peek().is_some_and(|next| !next.starts_with('-')) {
                    it.next();
                }
            }
            "--replay-user-messages" => args.replay_user_messages = true,
            "--fork-session" | "--include-partial-messages" | "--strict-mcp-config" => {}
            other if other.starts_with('-') => {
                return Err(format!("error: unknown option '{other}'"));
            }
            prompt => args.prompt = Some(prompt.to_owned()),
        }
    }
    Ok(args)
}
