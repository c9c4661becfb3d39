//! `orchestractl mcp install|uninstall|serve`: the `orchestra` MCP server.
//!
//! `serve` is the bridge Claude Code starts (stdio, one JSON-RPC message per line): each
//! line goes to the daemon's `Talk.Mcp` with the agent's secret from
//! `ORCHESTRA_MCP_TOKEN`, and each answer comes back as one line. Calls run side by
//! side, so a question waiting for the human does not hold up the others. Nothing but
//! protocol messages is written to stdout.
//!
//! `install` adds the server to Claude Code's user config (`~/.claude.json`, or
//! `$CLAUDE_CONFIG_DIR/.claude.json`, where `claude mcp add -s user` writes) for sessions
//! started by hand, and allows its tools in the user settings; `uninstall` removes both.

use std::io::{BufRead as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::bail;
use orchestra_proto::v1::McpRequest;
use serde_json::{Value, json};

use super::hooks_install::{read, settings_path, write};
use crate::cli::McpCommand;
use crate::client::Ctx;

/// The server's name in Claude Code's config.
const NAME: &str = "orchestra";
/// The allow rule for its tools.
const ALLOW_RULE: &str = "mcp__orchestra__*";
/// Where an agent's secret reaches the bridge.
const TOKEN_ENV: &str = "ORCHESTRA_MCP_TOKEN";

/// Runs an `mcp` subcommand.
pub async fn run(ctx: &Ctx, command: McpCommand) -> anyhow::Result<ExitCode> {
    match command {
        McpCommand::Serve => serve(ctx).await,
        McpCommand::Install => install(ctx),
        McpCommand::Uninstall => uninstall(ctx),
    }
}

/// Claude Code's user config, which holds user-scope MCP servers.
fn user_config_path() -> PathBuf {
    match std::env::var_os("CLAUDE_CONFIG_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir).join(".claude.json"),
        _ => orchestra_proto::paths::home_dir().join(".claude.json"),
    }
}

/// Our server entry: this orchestractl, with our socket when it is not the default one.
fn entry(ctx: &Ctx) -> Value {
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| p.canonicalize().ok())
        .unwrap_or_else(|| PathBuf::from("orchestractl"));
    let mut args = Vec::new();
    if ctx.socket != orchestra_proto::paths::default_socket() {
        args.push("--socket".to_owned());
        args.push(ctx.socket.display().to_string());
    }
    args.extend(["mcp".to_owned(), "serve".to_owned()]);
    json!({"type": "stdio", "command": exe.display().to_string(), "args": args, "alwaysLoad": true})
}

fn install(ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let config_path = user_config_path();
    let mut config = read(&config_path)?.unwrap_or_else(|| json!({}));
    let servers = config
        .as_object_mut()
        .expect("read checks for an object")
        .entry("mcpServers")
        .or_insert_with(|| json!({}));
    let Some(servers) = servers.as_object_mut() else {
        bail!(
            "mcpServers in {} is not an object; fix it first (nothing was changed)",
            config_path.display()
        );
    };
    servers.insert(NAME.to_owned(), entry(ctx));
    let settings_path = settings_path();
    let mut settings = read(&settings_path)?.unwrap_or_else(|| json!({}));
    let allow = settings
        .as_object_mut()
        .expect("read checks for an object")
        .entry("permissions")
        .or_insert_with(|| json!({}));
    let Some(allow) = allow.as_object_mut() else {
        bail!(
            "permissions in {} is not an object; fix it first (nothing was changed)",
            settings_path.display()
        );
    };
    let list = allow.entry("allow").or_insert_with(|| json!([]));
    let Some(list) = list.as_array_mut() else {
        bail!(
            "permissions.allow in {} is not a list; fix it first (nothing was changed)",
            settings_path.display()
        );
    };
    if !list.iter().any(|rule| rule == ALLOW_RULE) {
        list.push(json!(ALLOW_RULE));
    }
    write(&config_path, &config)?;
    write(&settings_path, &settings)?;
    let report = json!({"installed": true, "config": config_path, "settings": settings_path, "server": entry(ctx)});
    ctx.answer(&report, || {
        println!(
            "added the {NAME} MCP server to {} and allowed its tools ({ALLOW_RULE}) in {}\n\
             sessions you start from now on can see agents, message them and ask you questions; \
             remove it with `orchestractl mcp uninstall`",
            config_path.display(),
            settings_path.display()
        );
        Ok(())
    })
}

fn uninstall(ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let config_path = user_config_path();
    let mut removed = false;
    if let Some(mut config) = read(&config_path)? {
        if let Some(servers) = config.get_mut("mcpServers").and_then(Value::as_object_mut) {
            removed |= servers.remove(NAME).is_some();
        }
        if removed {
            write(&config_path, &config)?;
        }
    }
    let settings_path = settings_path();
    if let Some(mut settings) = read(&settings_path)?
        && let Some(list) = settings
            .pointer_mut("/permissions/allow")
            .and_then(Value::as_array_mut)
    {
        let before = list.len();
        list.retain(|rule| rule != ALLOW_RULE);
        if list.len() != before {
            write(&settings_path, &settings)?;
            removed = true;
        }
    }
    ctx.answer(&json!({"removed": removed}), || {
        println!(
            "{}",
            if removed {
                "removed the orchestra MCP server and its allow rule"
            } else {
                "the orchestra MCP server was not installed"
            }
        );
        Ok(())
    })
}

/// The bridge: stdin lines to the daemon, its answers to stdout.
async fn serve(ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let token = std::env::var(TOKEN_ENV).unwrap_or_default();
    let cwd = std::env::current_dir()
        .map(|d| d.display().to_string())
        .unwrap_or_default();
    let (lines_tx, mut lines) = tokio::sync::mpsc::channel::<String>(64);
    // stdin is read on a thread of its own: the runtime has no async stdin here.
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if lines_tx.blocking_send(line).is_err() {
                break;
            }
        }
    });
    let out = Arc::new(Mutex::new(std::io::stdout()));
    let client = ctx.connect().await.ok();
    let link = Arc::new(Link {
        ctx: ctx.clone(),
        reached: AtomicBool::new(client.is_some()),
        client: tokio::sync::Mutex::new(client),
    });
    let mut calls = tokio::task::JoinSet::new();
    while let Some(line) = lines.recv().await {
        if line.trim().is_empty() {
            continue;
        }
        let out = out.clone();
        let link = link.clone();
        let request = McpRequest {
            token: token.clone(),
            message_json: line.clone(),
            cwd: cwd.clone(),
        };
        calls.spawn(async move {
            let answer = match link.relay(request).await {
                Ok(reply) => Some(reply),
                Err(err) => error_reply(&line, &err),
            };
            if let Some(answer) = answer.filter(|a| !a.is_empty()) {
                let mut out = out.lock().unwrap_or_else(|e| e.into_inner());
                let _ = writeln!(out, "{answer}");
                let _ = out.flush();
            }
        });
        // Finished calls are reaped as we go, so a long session does not pile them up.
        while calls.try_join_next().is_some() {}
    }
    // stdin closed: Claude Code is done with us; calls still waiting are dropped, and
    // the daemon withdraws their questions.
    Ok(ExitCode::SUCCESS)
}

/// How long a call whose connection was lost (the daemon restarted) tries to reach the
/// daemon again before it fails, in seconds: `ORCHESTRA_MCP_RECONNECT_S`, default 60.
fn reconnect_for() -> std::time::Duration {
    let seconds = std::env::var("ORCHESTRA_MCP_RECONNECT_S")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(60);
    std::time::Duration::from_secs(seconds)
}

/// The bridge's connection to the daemon: made at start (starting the daemon as any
/// command does), and made again when it is lost. A daemon restart drops the calls in
/// flight, a question waiting for the human included (the old daemon's queue withdraws
/// it); each is sent again once the new daemon answers, so the agent sees no error and
/// the question is asked anew.
struct Link {
    ctx: Ctx,
    /// The open connection; None when there is none yet, or it was lost.
    client: tokio::sync::Mutex<Option<orchestra_proto::Client>>,
    /// Whether the daemon ever answered.
    reached: AtomicBool,
}

impl Link {
    /// Sends `request` to the daemon's `Talk.Mcp` and returns its answer line, sent again
    /// on a new connection while the daemon is away (for up to [`reconnect_for`] from
    /// the loss).
    async fn relay(&self, request: McpRequest) -> Result<String, String> {
        // The window opens when the connection is lost, not when the call began: a
        // question may have waited an hour for the human before the daemon restarted.
        let mut lost_at: Option<std::time::Instant> = None;
        let window = reconnect_for();
        let within =
            |lost_at: Option<std::time::Instant>| lost_at.is_none_or(|at| at.elapsed() < window);
        loop {
            let client = self.client.lock().await.clone();
            let client = match client {
                Some(client) => client,
                None => match self.ctx.try_connect().await {
                    Ok(Some(client)) => {
                        self.reached.store(true, Ordering::Relaxed);
                        *self.client.lock().await = Some(client.clone());
                        client
                    }
                    // Only a daemon that answered before is waited for (a restart).
                    Ok(None) if self.reached.load(Ordering::Relaxed) && within(lost_at) => {
                        lost_at.get_or_insert_with(std::time::Instant::now);
                        tokio::time::sleep(RETRY_PAUSE).await;
                        continue;
                    }
                    Ok(None) => {
                        return Err(format!(
                            "orchestrad is not reachable at {} (is it running? `orchestractl \
                             daemon start`)",
                            self.ctx.socket.display()
                        ));
                    }
                    Err(err) => return Err(format!("orchestrad is not reachable: {err}")),
                },
            };
            match client.talk().mcp(request.clone()).await {
                Ok(response) => return Ok(response.into_inner().reply_json),
                Err(status) if connection_lost(&status) && !sends_a_message(&request) => {
                    let at = *lost_at.get_or_insert_with(std::time::Instant::now);
                    if at.elapsed() >= window {
                        return Err(status.message().to_owned());
                    }
                    *self.client.lock().await = None;
                    tokio::time::sleep(RETRY_PAUSE).await;
                }
                Err(status) if connection_lost(&status) => {
                    // Sent again it could arrive twice: the agent decides.
                    return Err(format!(
                        "the connection to orchestrad was lost ({}); the message may or may \
                         not have been sent: see `mcp__orchestra__siblings` or ask before \
                         sending it again",
                        status.message()
                    ));
                }
                Err(status) => return Err(status.message().to_owned()),
            }
        }
    }
}

/// The pause between two tries of a lost daemon.
const RETRY_PAUSE: std::time::Duration = std::time::Duration::from_millis(250);

/// Whether `request` is a `send_message` call, which is not sent twice.
fn sends_a_message(request: &McpRequest) -> bool {
    serde_json::from_str::<Value>(&request.message_json)
        .is_ok_and(|m| m["method"] == "tools/call" && m["params"]["name"] == "send_message")
}

/// Whether `status` says the connection went, not that the daemon refused the call (the
/// daemon's own refusals of `Talk.Mcp` are `unauthenticated`; its answers, errors
/// included, are in the reply).
fn connection_lost(status: &tonic::Status) -> bool {
    matches!(
        status.code(),
        tonic::Code::Unavailable | tonic::Code::Unknown | tonic::Code::Cancelled
    )
}

/// A JSON-RPC error answer to `line` saying `message`; None for a notification.
fn error_reply(line: &str, message: &str) -> Option<String> {
    let request: Value = serde_json::from_str(line).ok()?;
    let id = request.get("id")?;
    Some(
        json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32000, "message": message}})
            .to_string(),
    )
}
