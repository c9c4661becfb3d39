//! Daemons on other machines: the hosts file (`hosts.json` beside `config.json`) and a
//! gRPC channel whose byte stream is a child process's stdin and stdout (`ssh -T HOST
//! orchestractl proxy`, or any command given with `--command`: `kubectl exec -i`,
//! `docker exec -i`, a second daemon's `env HOME=... orchestractl proxy`).
//!
//! This module owns the hosts file and what a host is; [`pipe`] owns the connection. The
//! CLI's `--host`/`--hosts` and the dashboard both reach other hosts through
//! [`crate::Client::connect_host`], so the timeouts, the protocol check and the words of
//! an error live here once.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

mod pipe;

/// The name the machine the command runs on has in merged answers (`--hosts all`).
pub const LOCAL: &str = "local";

/// How long opening a host (starting the command, the HTTP/2 handshake, the first
/// `Status`) may take before it counts as unreachable. ssh to a machine that is off waits
/// for TCP far longer; nothing of ours may hang on it.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// One other machine, as `orchestractl hosts add` wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Host {
    /// The name used with `--host` and shown on every row from it.
    pub name: String,
    /// `[user@]host[:port]`, given to ssh (unused when `command` is set, but shown).
    pub target: String,
    /// A command run with `sh -c` whose stdin and stdout reach the host's
    /// `orchestractl proxy`; replaces ssh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
}

/// The hosts file: the hosts, and which of them commands ask by default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostsFile {
    /// Every host added, in the order added.
    #[serde(default)]
    pub hosts: Vec<Host>,
    /// What `status`, `approvals`, `sessions`, `search` and `report` ask without
    /// `--hosts`: empty for this machine only, `["all"]`, or names (`local` included).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub default_hosts: Vec<String>,
}

/// Why the hosts file or a host could not be used.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// The hosts file exists but cannot be read or parsed.
    #[error("cannot read the hosts file {}: {reason}; fix or remove it", path.display())]
    File {
        /// The hosts file.
        path: PathBuf,
        /// What went wrong, in words.
        reason: String,
    },
    /// No host has this name.
    #[error(
        "no host named {name:?}: see `orchestractl hosts list`, add one with `orchestractl hosts add NAME [user@]host`"
    )]
    Unknown {
        /// The name asked for.
        name: String,
    },
    /// The command could not be started at all.
    #[error("cannot run `{command}` to reach host {name}: {source}")]
    Spawn {
        /// The host.
        name: String,
        /// The command line, for people.
        command: String,
        /// Why it did not start.
        source: std::io::Error,
    },
    /// The command ran but no working daemon answered through it.
    #[error(
        "host {name} is unreachable through `{command}`: {reason}; check it with `orchestractl hosts check {name}`"
    )]
    Unreachable {
        /// The host.
        name: String,
        /// The command line, for people.
        command: String,
        /// What went wrong, with the command's last stderr lines.
        reason: String,
    },
    /// The host's daemon speaks another protocol.
    #[error(
        "host {name} runs orchestrad {version} speaking protocol {theirs}, but this orchestractl speaks protocol {ours}: install matching versions there"
    )]
    ProtocolMismatch {
        /// The host.
        name: String,
        /// The remote daemon's version.
        version: String,
        /// The remote daemon's protocol.
        theirs: u32,
        /// Ours.
        ours: u32,
    },
}

impl HostError {
    /// The `state` a host with this error has in `hosts list`.
    pub fn state(&self) -> &'static str {
        match self {
            HostError::ProtocolMismatch { .. } => "version_mismatch",
            _ => "unreachable",
        }
    }
}

/// `hosts.json` in [`crate::paths::config_dir`].
pub fn hosts_file() -> PathBuf {
    crate::paths::config_dir().join("hosts.json")
}

impl HostsFile {
    /// Reads the hosts file; a missing one is empty.
    pub fn load(path: &Path) -> Result<HostsFile, HostError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Ok(HostsFile::default());
            }
            Err(err) => {
                return Err(HostError::File {
                    path: path.to_path_buf(),
                    reason: err.to_string(),
                });
            }
        };
        let file: HostsFile = serde_json::from_str(&text).map_err(|err| HostError::File {
            path: path.to_path_buf(),
            reason: err.to_string(),
        })?;
        for host in &file.hosts {
            validate(host).map_err(|reason| HostError::File {
                path: path.to_path_buf(),
                reason,
            })?;
        }
        Ok(file)
    }

    /// Writes the hosts file whole, private to the user (a command line may hold a token).
    pub fn save(&self, path: &Path) -> Result<(), crate::fs::PathError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(crate::fs::at("create", dir))?;
        }
        let text = serde_json::to_string_pretty(self).expect("plain strings serialize");
        crate::fs::replace_with_mode(path, format!("{text}\n").as_bytes(), 0o600)
    }

    /// The host called `name`.
    pub fn get(&self, name: &str) -> Result<&Host, HostError> {
        self.hosts
            .iter()
            .find(|h| h.name == name)
            .ok_or_else(|| HostError::Unknown {
                name: name.to_owned(),
            })
    }

    /// The names a `--hosts` value stands for: `all` is this machine and every host; a
    /// comma-separated list is those names (`local` for this machine). Unknown names are
    /// an error, so a typo is not a silently smaller answer.
    pub fn select(&self, spec: &[String]) -> Result<Vec<String>, HostError> {
        let mut names = Vec::new();
        for part in spec.iter().flat_map(|s| s.split(',')).map(str::trim) {
            let more: Vec<String> = match part {
                "" => Vec::new(),
                "all" => std::iter::once(LOCAL.to_owned())
                    .chain(self.hosts.iter().map(|h| h.name.clone()))
                    .collect(),
                LOCAL => vec![LOCAL.to_owned()],
                name => vec![self.get(name)?.name.clone()],
            };
            for name in more {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        Ok(names)
    }
}

/// Checks a host's name alone: usable on a command line and in a file.
pub fn validate_name(name: &str) -> Result<(), String> {
    if name.is_empty()
        || name.len() > 64
        || name.starts_with('-')
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(format!(
            "host name {name:?} must be 1 to 64 letters, digits, '-', '_' or '.', not starting with '-'"
        ));
    }
    Ok(())
}

/// Checks a host's name and target: the name must be usable on a command line and in a
/// file, and the target must not be taken by ssh for an option (`-oProxyCommand=...`).
pub fn validate(host: &Host) -> Result<(), String> {
    let name = &host.name;
    validate_name(name)?;
    if name == LOCAL || name == "all" {
        return Err(format!(
            "{name:?} is reserved (`local` is this machine, `all` every host): choose another name"
        ));
    }
    let target = &host.target;
    if target.is_empty()
        || target.starts_with('-')
        || target.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(format!(
            "target {target:?} must look like [user@]host[:port] (no spaces, not starting with '-')"
        ));
    }
    if split_port(target).1 == Some(0) {
        return Err(format!("target {target:?} has port 0"));
    }
    if host.command.as_deref().is_some_and(|c| c.trim().is_empty()) {
        return Err("--command is empty".to_owned());
    }
    Ok(())
}

/// [`validate`], and for a host being added that ssh reaches (no `command`, which makes
/// the target only a label), a port that is one: `box:99999` or `box:abc` would go to ssh
/// as a host name. Not checked on load, so a file saved before stays readable.
pub fn validate_new(host: &Host) -> Result<(), String> {
    validate(host)?;
    let target = &host.target;
    if host.command.is_none()
        && let Some((host_part, port)) = target.rsplit_once(':')
        && !host_part.contains(':')
        && !port.parse::<u16>().is_ok_and(|p| p > 0)
    {
        return Err(format!(
            "target {target:?} has port {port:?}: give a port from 1 to 65535, as in \
             user@box:2222, or none for ssh's own"
        ));
    }
    Ok(())
}

/// `user@host:port` into `user@host` and the port, when one is given.
fn split_port(target: &str) -> (&str, Option<u16>) {
    match target.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => match port.parse::<u16>() {
            Ok(port) => (host, Some(port)),
            Err(_) => (target, None),
        },
        _ => (target, None),
    }
}

impl Host {
    /// The program and arguments that reach this host's `orchestractl proxy`.
    pub fn argv(&self) -> Vec<String> {
        if let Some(command) = &self.command {
            return vec!["sh".into(), "-c".into(), command.clone()];
        }
        let (target, port) = split_port(&self.target);
        let mut argv: Vec<String> = vec![
            "ssh".into(),
            "-T".into(),
            // Never stop to ask for a password or a host key: nobody reads the prompt.
            "-o".into(),
            "BatchMode=yes".into(),
            "-o".into(),
            "ConnectTimeout=10".into(),
        ];
        if let Some(port) = port {
            argv.extend(["-p".into(), port.to_string()]);
        }
        argv.extend([
            "--".into(),
            target.to_owned(),
            "orchestractl".into(),
            "proxy".into(),
        ]);
        argv
    }

    /// The command line, for people.
    pub fn command_line(&self) -> String {
        self.command
            .clone()
            .unwrap_or_else(|| self.argv().join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(name: &str, target: &str) -> Host {
        Host {
            name: name.into(),
            target: target.into(),
            command: None,
        }
    }

    #[test]
    fn ssh_gets_the_port_and_never_an_option_for_a_target() {
        assert_eq!(
            host("b", "me@box:2222").argv(),
            [
                "ssh",
                "-T",
                "-o",
                "BatchMode=yes",
                "-o",
                "ConnectTimeout=10",
                "-p",
                "2222",
                "--",
                "me@box",
                "orchestractl",
                "proxy"
            ]
        );
        assert!(validate(&host("b", "-oProxyCommand=touch x")).is_err());
        assert!(validate(&host("b", "box name")).is_err());
        assert!(validate(&host("local", "box")).is_err());
        assert!(validate(&host("all", "box")).is_err());
        assert!(validate(&host("-x", "box")).is_err());
        assert!(validate(&host("b", "box:0")).is_err());
        for bad in ["me@box:99999", "me@box:abc", "box:"] {
            let err = validate_new(&host("b", bad)).expect_err(bad);
            assert!(err.contains("1 to 65535"), "{bad}: {err}");
            // Read back from a file saved before, it still loads.
            assert!(validate(&host("b", bad)).is_ok(), "{bad}");
        }
        assert!(validate_new(&host("b", "me@box:2222")).is_ok());
        // With a command, the target is a label: any text without spaces will do.
        let labelled = Host {
            command: Some("kubectl exec -i pod -- orchestractl proxy".to_owned()),
            ..host("pod", "k8s:orchestra-0")
        };
        assert!(validate_new(&labelled).is_ok());
        assert!(validate(&host("b.lan_2", "me@box")).is_ok());
    }

    #[test]
    fn select_expands_all_and_refuses_unknown_names() {
        let file = HostsFile {
            hosts: vec![host("a", "x"), host("b", "y")],
            default_hosts: Vec::new(),
        };
        assert_eq!(
            file.select(&["all".into()]).expect("ok"),
            ["local", "a", "b"]
        );
        assert_eq!(
            file.select(&["b,local".into()]).expect("ok"),
            ["b", "local"]
        );
        assert!(matches!(
            file.select(&["c".into()]),
            Err(HostError::Unknown { .. })
        ));
    }
}
