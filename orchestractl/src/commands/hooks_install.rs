//! `orchestractl hooks install|uninstall|status`: our hooks in Claude Code's user settings
//! (`$CLAUDE_CONFIG_DIR/settings.json`, else `~/.claude/settings.json`):
//! - `PermissionRequest` runs `orchestractl hook permission-request`, so a hand-started
//!   session's permission prompts are answered through orchestrad;
//! - `Notification` runs `orchestractl hook notification`, so such a session waiting for
//!   its user is told on the notification channels (`session_waiting`).
//!
//! Install merges one hook group per event into what is there and keeps a copy of the
//! file as it was (`settings.json.orchestra-backup`); uninstall removes only our groups,
//! so whatever the user changed since stays. Our groups are recognised by their command.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use serde_json::{Value, json};

use crate::cli::HooksCommand;
use crate::client::Ctx;
use crate::output;

/// One hook of ours: the Claude Code event, what its command runs after `orchestractl`
/// (also how our group is recognised), and the `timeout` Claude Code gives it.
struct Hook {
    /// The event in `hooks` of settings.json.
    event: &'static str,
    /// The subcommand it runs.
    marker: &'static str,
    /// Seconds Claude Code waits for it.
    timeout_s: u64,
}

/// The `timeout` `hooks install` gives the permission hook: generous, since a person has
/// to notice and answer (`approval_timeout_s` can end a request sooner).
pub const PERMISSION_TIMEOUT_S: u64 = 600;

/// The permission hook. It gives up a little before its timeout by itself (see
/// `hook/permission_request.rs`).
const PERMISSION: Hook = Hook {
    event: "PermissionRequest",
    marker: "hook permission-request",
    timeout_s: PERMISSION_TIMEOUT_S,
};

/// The notification hook: it only hands the input over and gives up after 3 s itself.
const NOTIFICATION: Hook = Hook {
    event: "Notification",
    marker: "hook notification",
    timeout_s: 10,
};

/// Every hook we install.
const HOOKS: [&Hook; 2] = [&PERMISSION, &NOTIFICATION];

/// Runs a `hooks` subcommand.
pub async fn run(ctx: &Ctx, command: HooksCommand) -> anyhow::Result<ExitCode> {
    let path = settings_path();
    match command {
        HooksCommand::Install => install(ctx, &path),
        HooksCommand::Uninstall => uninstall(ctx, &path),
        HooksCommand::Status => status(ctx, &path).await,
    }
}

/// Claude Code's user settings file.
pub fn settings_path() -> PathBuf {
    let dir = match std::env::var_os("CLAUDE_CONFIG_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => orchestra_proto::paths::home_dir().join(".claude"),
    };
    dir.join("settings.json")
}

fn backup_path(path: &Path) -> PathBuf {
    path.with_file_name("settings.json.orchestra-backup")
}

/// The command line a hook runs: this orchestractl, with our socket when it is not the
/// default one (Claude Code may run the hook with another environment).
fn hook_command(ctx: &Ctx, hook: &Hook) -> String {
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| p.canonicalize().ok())
        .unwrap_or_else(|| PathBuf::from("orchestractl"));
    let mut command = shell_quote(&exe.display().to_string());
    if ctx.socket != orchestra_proto::paths::default_socket() {
        command.push_str(" --socket ");
        command.push_str(&shell_quote(&ctx.socket.display().to_string()));
    }
    command.push(' ');
    command.push_str(hook.marker);
    command
}

fn shell_quote(text: &str) -> String {
    if text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@".contains(c))
    {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

pub(crate) fn read(path: &Path) -> anyhow::Result<Option<Value>> {
    match std::fs::read_to_string(path) {
        Ok(text) if text.trim().is_empty() => Ok(Some(json!({}))),
        Ok(text) => {
            let value: Value = serde_json::from_str(&text).with_context(|| {
                format!(
                    "{} is not valid JSON; fix it first (nothing was changed)",
                    path.display()
                )
            })?;
            if !value.is_object() {
                bail!(
                    "{} does not hold a JSON object; fix it first (nothing was changed)",
                    path.display()
                );
            }
            Ok(Some(value))
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Replaces the settings file in one step, keeping its mode (a new file is `0600`: it
/// may hold keys such as `apiKeyHelper` or `env`, and other users have no business there).
pub(crate) fn write(path: &Path, value: &Value) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    // A settings.json linked from a dotfiles repository stays a link: its target is replaced.
    let target = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mode = std::fs::metadata(&target).map_or(0o600, |m| m.permissions().mode() & 0o7777);
    let text = format!("{}\n", serde_json::to_string_pretty(value)?);
    orchestra_proto::fs::replace_with_mode(&target, text.as_bytes(), mode)?;
    Ok(())
}

/// Whether a hook group is our `hook`'s.
fn is_ours(group: &Value, hook: &Hook) -> bool {
    group["hooks"].as_array().is_some_and(|hooks| {
        hooks.iter().any(|h| {
            h["command"]
                .as_str()
                .is_some_and(|c| c.ends_with(hook.marker))
        })
    })
}

/// The `timeout` (seconds) of our permission hook in Claude Code's settings, if it is
/// installed with one.
pub fn permission_timeout_s() -> Option<u64> {
    our_entry(&read(&settings_path()).ok()??, &PERMISSION)?["timeout"].as_u64()
}

/// Our `hook`'s entry (`{"type": "command", "command": ..., "timeout": ...}`) in
/// `settings`, if installed.
fn our_entry(settings: &Value, hook: &Hook) -> Option<Value> {
    settings["hooks"][hook.event]
        .as_array()?
        .iter()
        .filter(|g| is_ours(g, hook))
        .flat_map(|g| g["hooks"].as_array().cloned().unwrap_or_default())
        .find(|h| {
            h["command"]
                .as_str()
                .is_some_and(|c| c.ends_with(hook.marker))
        })
}

/// Our `hook`'s command in `settings`, if installed.
fn installed(settings: &Value, hook: &Hook) -> Option<String> {
    our_entry(settings, hook)?["command"]
        .as_str()
        .map(str::to_owned)
}

fn install(ctx: &Ctx, path: &Path) -> anyhow::Result<ExitCode> {
    let existing = read(path)?;
    let mut settings = existing.clone().unwrap_or_else(|| json!({}));
    let command = hook_command(ctx, &PERMISSION);
    if HOOKS
        .iter()
        .all(|hook| installed(&settings, hook) == Some(hook_command(ctx, hook)))
    {
        report(ctx, "already installed", path, &command)?;
        return Ok(ExitCode::SUCCESS);
    }
    if existing.is_some() {
        std::fs::copy(path, backup_path(path))
            .with_context(|| format!("cannot back up {}", path.display()))?;
    }
    let root = settings.as_object_mut().expect("checked to be an object");
    let hooks = root.entry("hooks").or_insert_with(|| json!({}));
    if !hooks.is_object() {
        bail!(
            "\"hooks\" in {} is not an object; fix it first (nothing was changed)",
            path.display()
        );
    }
    let hooks = hooks.as_object_mut().expect("checked to be an object");
    for hook in HOOKS {
        let groups = hooks.entry(hook.event).or_insert_with(|| json!([]));
        let Some(groups) = groups.as_array_mut() else {
            bail!(
                "\"hooks.{}\" in {} is not a list; fix it first (nothing was changed)",
                hook.event,
                path.display()
            );
        };
        // An older install (another path to orchestractl) is replaced, not doubled.
        groups.retain(|g| !is_ours(g, hook));
        let entry = json!({"type": "command", "command": hook_command(ctx, hook), "timeout": hook.timeout_s});
        groups.push(if hook.event == PERMISSION.event {
            json!({"matcher": "*", "hooks": [entry]})
        } else {
            // Every kind of notification (a permission prompt, a long wait for input).
            json!({"hooks": [entry]})
        });
    }
    write(path, &settings)?;
    report(ctx, "installed", path, &command)?;
    if !ctx.json {
        println!(
            "Claude Code sessions you start by hand now ask through orchestrad: answer with \
             `orchestractl approvals` or on the dashboard.\nA request waits up to {} minutes \
             (approval_timeout_s in the orchestra config refuses it sooner); without orchestrad \
             running, or without an answer, Claude Code asks in its own way.\n\
             When such a session waits for you, your notification channels say so \
             (`orchestractl notify list`).",
            PERMISSION.timeout_s / 60
        );
        if existing.is_some() {
            println!(
                "backup of the previous file: {}",
                backup_path(path).display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn uninstall(ctx: &Ctx, path: &Path) -> anyhow::Result<ExitCode> {
    let Some(mut settings) = read(path)? else {
        report(ctx, "not installed", path, "")?;
        return Ok(ExitCode::SUCCESS);
    };
    if HOOKS
        .iter()
        .all(|hook| installed(&settings, hook).is_none())
    {
        report(ctx, "not installed", path, "")?;
        return Ok(ExitCode::SUCCESS);
    }
    let command = installed(&settings, &PERMISSION).unwrap_or_default();
    let root = settings.as_object_mut().expect("checked to be an object");
    if let Some(hooks) = root.get_mut("hooks").and_then(Value::as_object_mut) {
        for hook in HOOKS {
            if let Some(groups) = hooks.get_mut(hook.event).and_then(Value::as_array_mut) {
                groups.retain(|g| !is_ours(g, hook));
                if groups.is_empty() {
                    hooks.remove(hook.event);
                }
            }
        }
        if hooks.is_empty() {
            root.remove("hooks");
        }
    }
    write(path, &settings)?;
    report(ctx, "uninstalled", path, &command)?;
    Ok(ExitCode::SUCCESS)
}

async fn status(ctx: &Ctx, path: &Path) -> anyhow::Result<ExitCode> {
    let settings = read(path)?.unwrap_or_else(|| json!({}));
    let command = installed(&settings, &PERMISSION);
    let notification = installed(&settings, &NOTIFICATION);
    let daemon = ctx.try_connect().await.ok().flatten().is_some();
    ctx.answer(
        &json!({
            "installed": command.is_some(),
            "settings_path": path,
            "command": command.clone().unwrap_or_default(),
            "notification_installed": notification.is_some(),
            "notification_command": notification.clone().unwrap_or_default(),
            "daemon_running": daemon,
        }),
        || {
            match &command {
                Some(command) => output::fields(&[
                    ("hook", "installed".to_owned()),
                    ("settings", path.display().to_string()),
                    ("command", command.clone()),
                    (
                        "notification hook",
                        notification.unwrap_or_else(|| {
                            "not installed: run `orchestractl hooks install` again".to_owned()
                        }),
                    ),
                    (
                        "orchestrad",
                        if daemon {
                            "running: hand-started sessions ask here".to_owned()
                        } else {
                            "not running: Claude Code asks in its own way".to_owned()
                        },
                    ),
                ]),
                None => println!(
                    "not installed in {}; run `orchestractl hooks install` to answer hand-started \
                 sessions' permission prompts from `orchestractl approvals` or your phone",
                    path.display()
                ),
            }
            Ok(())
        },
    )
}

fn report(ctx: &Ctx, what: &str, path: &Path, command: &str) -> anyhow::Result<()> {
    if ctx.json {
        output::json(&json!({
            "result": what.replace(' ', "_"),
            "settings_path": path,
            "command": command,
            "notification_command": if command.is_empty() {
                String::new()
            } else {
                hook_command(ctx, &NOTIFICATION)
            },
        }))
    } else {
        println!("{what}: {}", path.display());
        Ok(())
    }
}
