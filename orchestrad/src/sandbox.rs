//! Claude Code's own sandbox for an agent's shell commands (`spawn --sandbox`, config
//! `sandbox`): whether it can run here, and the settings that turn it on.
//!
//! There is no `--sandbox` flag in Claude Code; its `sandbox` settings key, given with
//! `--settings`, runs each Bash command under bubblewrap (Linux, which also needs `socat`
//! for the network proxy) or Seatbelt (macOS). Inside, only the working directory (the
//! agent's worktree) and a few temp dirs are writable, and the network goes through a
//! proxy that lets only `allowedDomains` through. We always set `failIfUnavailable`, so a
//! CLI that cannot sandbox refuses to start instead of running unconfined, and
//! `allowUnsandboxedCommands: false`, so the model cannot ask to step outside
//! (`dangerouslyDisableSandbox` is ignored then). We never set `excludedCommands`: Claude
//! Code's own schema calls it "a convenience, not a security boundary". The sandbox
//! approves nothing by itself (`autoAllowBashIfSandboxed: false`): what is off the
//! allowlist still asks.

use std::ffi::OsStr;
use std::path::Path;

use serde::Serialize;

/// Whether the sandbox can run on this machine, and what to do when it cannot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Availability {
    /// Every program the sandbox needs is here.
    pub available: bool,
    /// The programs it needs that are missing (`bwrap`, `socat`).
    pub missing: Vec<String>,
    /// What to do about it; empty when available.
    pub how_to_fix: String,
}

impl Availability {
    /// One sentence for a user: why the sandbox cannot run and what to do.
    pub fn problem(&self) -> Option<String> {
        if self.available {
            return None;
        }
        Some(if self.missing.is_empty() {
            self.how_to_fix.clone()
        } else {
            format!(
                "Claude Code's sandbox needs {} on this machine, which {} not installed: {}",
                self.missing.join(" and "),
                if self.missing.len() == 1 { "is" } else { "are" },
                self.how_to_fix
            )
        })
    }
}

/// Whether the sandbox can run, looking for its programs on `path_var` (a `PATH` value;
/// the daemon's own when `None`), as the agent's Claude Code will.
pub fn check(path_var: Option<&OsStr>) -> Availability {
    if cfg!(target_os = "macos") {
        // Seatbelt is part of macOS.
        return Availability {
            available: true,
            missing: Vec::new(),
            how_to_fix: String::new(),
        };
    }
    if !cfg!(target_os = "linux") {
        return Availability {
            available: false,
            missing: Vec::new(),
            how_to_fix: "Claude Code's sandbox runs on Linux (bubblewrap) and macOS (Seatbelt) \
                         only"
                .to_owned(),
        };
    }
    let path_var = path_var
        .map(OsStr::to_owned)
        .or_else(|| std::env::var_os("PATH"))
        .unwrap_or_default();
    let missing: Vec<String> = ["bwrap", "socat"]
        .into_iter()
        .filter(|program| {
            !std::env::split_paths(&path_var).any(|dir| is_executable(&dir.join(program)))
        })
        .map(str::to_owned)
        .collect();
    Availability {
        available: missing.is_empty(),
        how_to_fix: if missing.is_empty() {
            String::new()
        } else {
            "install them (`apt install bubblewrap socat` on Debian and Ubuntu, \
             `dnf install bubblewrap socat` on Fedora)"
                .to_owned()
        },
        missing,
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The Claude Code settings (for `--settings`) that run an agent's shell commands in the
/// sandbox, with network only to `allowed_domains` (none: no network), and `hidden` (the
/// daemon's own folders: agents' secrets, the store, the socket, the dashboard's keys)
/// out of their sight (`filesystem.denyRead`; `//` starts an absolute path there).
pub fn settings(allowed_domains: &[String], hidden: &[std::path::PathBuf]) -> serde_json::Value {
    let deny_read: Vec<String> = hidden
        .iter()
        .map(|dir| format!("/{}", dir.display()))
        .collect();
    serde_json::json!({
        "sandbox": {
            "enabled": true,
            "failIfUnavailable": true,
            "allowUnsandboxedCommands": false,
            "autoAllowBashIfSandboxed": false,
            "network": {"allowedDomains": allowed_domains},
            "filesystem": {"denyRead": deny_read},
        }
    })
}

/// The folders of claude-orchestra itself that an agent's sandboxed commands must not
/// read: the state dir (whose `agents/*/mcp-token` would let one agent speak as another,
/// and whose store holds devices' tokens), the config dirs (the default one, with the
/// dashboard's CA and TLS keys, and the one of the config file in use) and the socket's
/// own folder (a command that reached the socket could answer its own approvals). Where
/// the agent works inside one of them (an unusual layout), that folder stays in sight
/// but for the state dir's `agents` and `store`, so the agent is not locked out of its
/// own work.
pub fn hidden_dirs(
    state_dir: &Path,
    config_file: &Path,
    socket: &Path,
    cwd: &Path,
) -> Vec<std::path::PathBuf> {
    let mut candidates = vec![
        state_dir.to_path_buf(),
        orchestra_proto::paths::config_dir(),
    ];
    candidates.extend(config_file.parent().map(Path::to_path_buf));
    if let Some(dir) = socket.parent()
        && dir.file_name() == Some(OsStr::new(orchestra_proto::paths::APP_DIR))
    {
        candidates.push(dir.to_path_buf());
    }
    let mut dirs = Vec::new();
    for dir in candidates {
        if !dir.is_absolute() || dir.parent().is_none() {
            continue;
        }
        if !cwd.starts_with(&dir) {
            dirs.push(dir);
        } else if dir == state_dir {
            dirs.extend(
                ["agents", "store"]
                    .map(|part| dir.join(part))
                    .into_iter()
                    .filter(|part| !cwd.starts_with(part)),
            );
        }
    }
    dirs.sort();
    dirs.dedup();
    dirs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_daemons_folders_are_hidden_but_never_the_agents_own_work() {
        let state = Path::new("/home/u/.local/state/claude-orchestra");
        let config = Path::new("/etc/orchestra/config.json");
        let socket = Path::new("/run/user/1/claude-orchestra/orchestrad.sock");
        let hidden = hidden_dirs(
            state,
            config,
            socket,
            Path::new("/home/u/repo/.worktrees/a"),
        );
        for dir in [
            "/home/u/.local/state/claude-orchestra",
            "/etc/orchestra",
            "/run/user/1/claude-orchestra",
        ] {
            assert!(
                hidden.contains(&Path::new(dir).to_path_buf()),
                "{dir}: {hidden:?}"
            );
        }
        // Working inside the state dir: its secrets and store stay hidden, not the rest.
        let inside = state.join("work/repo");
        let hidden = hidden_dirs(state, config, socket, &inside);
        assert!(
            !hidden.iter().any(|dir| inside.starts_with(dir)),
            "{hidden:?}"
        );
        assert!(hidden.contains(&state.join("agents")), "{hidden:?}");
        assert!(hidden.contains(&state.join("store")), "{hidden:?}");
        // A socket in a shared folder such as /tmp does not hide that folder.
        let hidden = hidden_dirs(state, config, Path::new("/tmp/o.sock"), Path::new("/w"));
        assert!(
            !hidden.contains(&Path::new("/tmp").to_path_buf()),
            "{hidden:?}"
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn missing_programs_are_named_with_how_to_install_them() {
        let dir = tempfile::tempdir().expect("dir");
        let none = check(Some(dir.path().as_os_str()));
        assert!(!none.available);
        assert_eq!(none.missing, ["bwrap", "socat"]);
        let problem = none.problem().expect("a problem");
        assert!(
            problem.contains("apt install bubblewrap socat"),
            "{problem}"
        );
        for program in ["bwrap", "socat"] {
            let path = dir.path().join(program);
            std::fs::write(&path, "#!/bin/sh\n").expect("write");
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        assert!(check(Some(dir.path().as_os_str())).available);
    }
}
