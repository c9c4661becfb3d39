//! The user's config file: keys, defaults, and strict parsing.
//!
//! No file means defaults. A file that is not valid JSON is an error naming the file, the
//! line and the column, and the daemon refuses to start rather than guess. Unknown keys are
//! kept as warnings, shown by `daemon status`, so a typo is noticed but never fatal.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The settings of claude-orchestra, with the original tool's keys and defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Where Claude Code keeps its session files.
    pub claude_projects_dir: PathBuf,
    /// Directory, relative to a repository's root, that holds agent worktrees.
    pub worktree_dir: String,
    /// How many agents run at once when `spawn` does not say.
    pub default_parallel: u32,
    /// Seconds between liveness checks of agents and live sessions.
    pub heartbeat_interval: u64,
    /// Tool patterns an agent may use without asking (passed as `--allowedTools`). The
    /// default reads and lists only; see [`crate::allowlist`] for why.
    pub bypass_permissions: Vec<String>,
    /// Port of the web dashboard.
    pub dashboard_port: u16,
    /// The Claude Code executable: a name looked up on `PATH`, or a path.
    pub claude_command: String,
    /// `--permission-mode` of agents whose spawn does not name one. `acceptEdits` by
    /// default: an agent edits files in its own worktree, so those edits need no approval;
    /// everything else off the allowlist asks (see `orchestractl approvals`).
    pub agent_permission_mode: String,
    /// Seconds a pending approval waits before it is denied (the model is told why);
    /// 0 waits forever.
    pub approval_timeout_s: u64,
    /// The user's own certificate (PEM) for `web --lan`, instead of the generated one.
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// Where to send notifications (webhook, ntfy, desktop); none by default.
    pub notifications: Vec<crate::notify::ChannelConfig>,
    /// Run every agent's shell commands in Claude Code's sandbox, as `spawn --sandbox`
    /// does (see [`crate::sandbox`]).
    pub sandbox: bool,
    /// Hosts a sandboxed agent's shell commands may reach; none by default (no network).
    pub sandbox_allowed_domains: Vec<String>,
    /// Let agents start the MCP servers of a repository's `.mcp.json` too. Off by
    /// default: Claude Code starts them in print mode without asking, so a repository
    /// could run code as soon as an agent starts in it. Agents always get the `orchestra`
    /// server and the user's own (user-scope) servers.
    pub repo_mcp_servers: bool,
    /// Spending cap in USD of each agent whose spawn gives no `--max-budget-usd`; 0 for
    /// none. At the cap the agent pauses and asks (a "budget" approval).
    pub default_max_budget_usd: f64,
    /// Spending cap in USD of all agents together in one day (local time); 0 for none.
    /// At the cap running agents pause and ask, and queued ones wait.
    pub daily_max_budget_usd: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            claude_projects_dir: default_claude_projects_dir(),
            worktree_dir: ".worktrees".to_owned(),
            default_parallel: 3,
            heartbeat_interval: 60,
            bypass_permissions: crate::allowlist::DEFAULT
                .iter()
                .map(|rule| (*rule).to_owned())
                .collect(),
            dashboard_port: 8888,
            claude_command: "claude".to_owned(),
            agent_permission_mode: "acceptEdits".to_owned(),
            approval_timeout_s: 0,
            tls_cert: None,
            tls_key: None,
            notifications: Vec::new(),
            sandbox: false,
            sandbox_allowed_domains: Vec::new(),
            repo_mcp_servers: false,
            default_max_budget_usd: 0.0,
            daily_max_budget_usd: 0.0,
        }
    }
}

/// `$CLAUDE_CONFIG_DIR/projects`, else `~/.claude/projects`, as the real CLI does.
pub fn default_claude_projects_dir() -> PathBuf {
    claude_config_dir().join("projects")
}

/// `$CLAUDE_CONFIG_DIR`, else `~/.claude`: where Claude Code keeps all of its state.
pub fn claude_config_dir() -> PathBuf {
    match std::env::var_os("CLAUDE_CONFIG_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => orchestra_proto::paths::home_dir().join(".claude"),
    }
}

/// Keys a config file may hold; any other key is reported as a warning.
const KNOWN_KEYS: &[&str] = &[
    "claude_projects_dir",
    "worktree_dir",
    "default_parallel",
    "heartbeat_interval",
    "bypass_permissions",
    "dashboard_port",
    "claude_command",
    "agent_permission_mode",
    "approval_timeout_s",
    "tls_cert",
    "tls_key",
    "notifications",
    "sandbox",
    "sandbox_allowed_domains",
    "repo_mcp_servers",
    "default_max_budget_usd",
    "daily_max_budget_usd",
];

/// Why a config file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file exists but could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The config file.
        path: PathBuf,
        /// What the read said.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid JSON, or a value has the wrong type.
    #[error(
        "invalid config file {path} at line {line}, column {column}: {message}\n\
         fix the file or move it away to use the defaults"
    )]
    Parse {
        /// The config file.
        path: PathBuf,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What is wrong there.
        message: String,
    },
    /// A value parses but makes no sense (zero parallelism, say).
    #[error("invalid config file {path}: {message}")]
    Invalid {
        /// The config file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// A loaded config and what was odd about it.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The settings in force.
    pub config: Config,
    /// Whether the file existed (else every value is a default).
    pub from_file: bool,
    /// Things the user should know, such as unknown keys.
    pub warnings: Vec<String>,
}

impl Config {
    /// Loads `path`; a missing file gives the defaults.
    pub fn load(path: &Path) -> Result<Loaded, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Loaded {
                    config: Config::default(),
                    from_file: false,
                    warnings: Vec::new(),
                });
            }
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        let mut loaded = Self::parse(path, &text)?;
        if loaded.config.sandbox
            && let Some(problem) = crate::sandbox::check(None).problem()
        {
            loaded.warnings.push(format!(
                "sandbox is true in {}, but agents cannot be sandboxed here, so spawns are \
                 refused: {problem}; or set sandbox to false",
                path.display()
            ));
        }
        Ok(loaded)
    }

    /// Parses the text of a config file; `path` is only used in messages.
    pub fn parse(path: &Path, text: &str) -> Result<Loaded, ConfigError> {
        let parse_error = |err: serde_json::Error| ConfigError::Parse {
            path: path.to_path_buf(),
            line: err.line(),
            column: err.column(),
            message: strip_position(&err.to_string()),
        };
        // Syntax first, so the position points at the broken character; then types, whose
        // errors carry positions too.
        let value: serde_json::Value = serde_json::from_str(text).map_err(parse_error)?;
        let Some(object) = value.as_object() else {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                message: "the top level must be a JSON object, like {\"default_parallel\": 3}"
                    .to_owned(),
            });
        };
        let mut warnings: Vec<String> = object
            .keys()
            .filter(|key| !KNOWN_KEYS.contains(&key.as_str()))
            .map(|key| {
                format!(
                    "unknown key {key:?} in {} (known keys: {})",
                    path.display(),
                    KNOWN_KEYS.join(", ")
                )
            })
            .collect();
        let mut config: Config = serde_json::from_str(text).map_err(|err| {
            // serde names the wrong type, not the key: find the key whose value alone
            // fails with the same words, and put it in front.
            let said = strip_position(&err.to_string());
            let culprit = object.iter().find(|(key, value)| {
                let alone = serde_json::Map::from_iter([((*key).clone(), (*value).clone())]);
                serde_json::from_value::<Config>(serde_json::Value::Object(alone))
                    .is_err_and(|e| strip_position(&e.to_string()) == said)
            });
            match (parse_error(err), culprit) {
                (
                    ConfigError::Parse {
                        path,
                        line,
                        column,
                        message,
                    },
                    Some((key, _)),
                ) => ConfigError::Parse {
                    path,
                    line,
                    column,
                    message: format!("{key}: {message}"),
                },
                (error, _) => error,
            }
        })?;
        config.expand_home();
        config.validate(path)?;
        warnings.extend(crate::allowlist::warnings(&config.bypass_permissions));
        if config.repo_mcp_servers {
            warnings.push(
                "repo_mcp_servers is on: agents also start the MCP servers of a repository's \
                 .mcp.json, which run the repository's commands as soon as an agent starts \
                 there; turn it off unless you trust every repository you spawn in"
                    .to_owned(),
            );
        }
        Ok(Loaded {
            config,
            from_file: true,
            warnings,
        })
    }

    fn expand_home(&mut self) {
        if let Ok(rest) = self.claude_projects_dir.strip_prefix("~") {
            self.claude_projects_dir = orchestra_proto::paths::home_dir().join(rest);
        }
        for path in [&mut self.tls_cert, &mut self.tls_key]
            .into_iter()
            .flatten()
        {
            if let Ok(rest) = path.strip_prefix("~") {
                *path = orchestra_proto::paths::home_dir().join(rest);
            }
        }
    }

    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let invalid = |message: &str| ConfigError::Invalid {
            path: path.to_path_buf(),
            message: message.to_owned(),
        };
        if self.default_parallel == 0 {
            return Err(invalid("default_parallel must be at least 1"));
        }
        for (key, value) in [
            ("default_max_budget_usd", self.default_max_budget_usd),
            ("daily_max_budget_usd", self.daily_max_budget_usd),
        ] {
            if !value.is_finite() || value < 0.0 {
                return Err(invalid(&format!(
                    "{key} must be a number of US dollars, 0 or more (0 for no cap), like 5"
                )));
            }
        }
        if self.heartbeat_interval == 0 {
            return Err(invalid("heartbeat_interval must be at least 1 (seconds)"));
        }
        let worktree_dir = Path::new(&self.worktree_dir);
        if self.worktree_dir.is_empty()
            || worktree_dir.is_absolute()
            || worktree_dir
                .components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            return Err(invalid(
                "worktree_dir must be a relative path inside the repository, like \".worktrees\"",
            ));
        }
        if self.claude_command.trim().is_empty() {
            return Err(invalid("claude_command must not be empty"));
        }
        if !self.agent_permission_mode.is_empty()
            && !PERMISSION_MODES.contains(&self.agent_permission_mode.as_str())
        {
            return Err(invalid(&format!(
                "agent_permission_mode {:?} is not a permission mode: use one of {}",
                self.agent_permission_mode,
                PERMISSION_MODES.join(", ")
            )));
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return Err(invalid(
                "tls_cert and tls_key go together: set both (your certificate and its key) or neither",
            ));
        }
        // Every bad channel at once, so fixing them takes one restart, not one each.
        let problems: Vec<String> = self
            .notifications
            .iter()
            .enumerate()
            .filter_map(|(index, channel)| {
                let message = channel.validate().err()?;
                Some(format!("notifications[{index}]: {message}"))
            })
            .collect();
        if !problems.is_empty() {
            return Err(invalid(&problems.join("; ")));
        }
        Ok(())
    }
}

/// serde_json appends " at line L column C"; we report the position in our own words.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(index) => message[..index].to_owned(),
        None => message.to_owned(),
    }
}

/// The permission modes Claude Code knows (`manual` is 2.1.330's name for `default`).
pub const PERMISSION_MODES: &[&str] = &[
    "acceptEdits",
    "manual",
    "auto",
    "bypassPermissions",
    "default",
    "dontAsk",
    "plan",
];

/// Where the daemon lives and what it was told at start.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The socket clients connect to.
    pub socket: PathBuf,
    /// The directory for the store, logs and agent files.
    pub state_dir: PathBuf,
    /// The config file that was loaded (or would have been).
    pub config_path: PathBuf,
    /// The settings in force.
    pub config: Config,
    /// Start-up warnings for `daemon status` (unknown config keys and the like).
    pub warnings: Vec<String>,
    /// Whether the config file existed (else every value is a default).
    pub config_from_file: bool,
    /// Claude Code's own directory (`$CLAUDE_CONFIG_DIR` or `~/.claude`), where live CLI
    /// processes register themselves under `sessions/`.
    pub claude_dir: PathBuf,
    /// The orchestrad binary, run as `orchestrad shim` for each agent (the daemon's own
    /// executable; tests running the daemon in-process point it at the built binary).
    pub orchestrad_exe: PathBuf,
}

impl Settings {
    /// Loads the config at `config_path` and fills in the rest.
    pub fn load(
        socket: PathBuf,
        state_dir: PathBuf,
        config_path: PathBuf,
    ) -> Result<Settings, ConfigError> {
        let loaded = Config::load(&config_path)?;
        Ok(Settings {
            socket,
            state_dir,
            config_path,
            config: loaded.config,
            warnings: loaded.warnings,
            config_from_file: loaded.from_file,
            claude_dir: claude_config_dir(),
            orchestrad_exe: std::env::current_exe().unwrap_or_else(|_| PathBuf::from("orchestrad")),
        })
    }

    /// The sled store's directory.
    pub fn store_dir(&self) -> PathBuf {
        self.state_dir.join("store")
    }

    /// The directory of per-agent files (logs, shim sockets, exit records).
    pub fn agents_dir(&self) -> PathBuf {
        self.state_dir.join("agents")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_notification_channel_is_named_at_once() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("config.json");
        std::fs::write(
            &path,
            r#"{"notifications": [
                {"kind": "webhook", "url": "not a url"},
                {"kind": "ntfy", "url": "https://ntfy.sh/ok"},
                {"kind": "ntfy", "url": "ftp://x/y"}
            ]}"#,
        )
        .expect("write");
        let err = Config::load(&path)
            .expect_err("two bad channels")
            .to_string();
        assert!(
            err.contains("notifications[0]: webhook needs a \"url\" like https://example.com/"),
            "{err}"
        );
        assert!(
            err.contains("notifications[2]: the url of a ntfy channel"),
            "{err}"
        );
        assert!(!err.contains("notifications[1]"), "{err}");
    }

    #[test]
    fn missing_file_gives_defaults() {
        let dir = tempfile::tempdir().expect("tempdir");
        let loaded = Config::load(&dir.path().join("config.json")).expect("defaults");
        assert!(!loaded.from_file);
        assert_eq!(loaded.config.default_parallel, 3);
        assert_eq!(loaded.config.worktree_dir, ".worktrees");
        assert_eq!(loaded.config.dashboard_port, 8888);
        assert!(
            loaded
                .config
                .bypass_permissions
                .contains(&"Bash(git status)".to_owned())
        );
    }

    #[test]
    fn broken_json_names_line_and_column() {
        let err = Config::parse(
            Path::new("/x/config.json"),
            "{\n  \"default_parallel\": 4,\n  oops\n}",
        )
        .expect_err("must fail");
        match err {
            ConfigError::Parse { line, column, .. } => assert_eq!((line, column), (3, 3)),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn wrong_type_names_position_and_unknown_key_warns() {
        let err = Config::parse(Path::new("c.json"), "{\"default_parallel\": \"many\"}")
            .expect_err("must fail");
        assert!(matches!(err, ConfigError::Parse { line: 1, .. }), "{err}");
        // The key is named, not only the type serde expected.
        for (text, key) in [
            (
                "{\"default_parallel\": 2,\n \"daily_max_budget_usd\": \"abc\"}",
                "daily_max_budget_usd",
            ),
            ("{\"dashboard_port\": 70000}", "dashboard_port"),
            ("{\"approval_timeout_s\": -5}", "approval_timeout_s"),
            // Two wrong: the one serde met first (in the file's order) is named.
            (
                "{\"default_parallel\": \"x\", \"approval_timeout_s\": \"y\"}",
                "default_parallel",
            ),
        ] {
            let err = Config::parse(Path::new("c.json"), text).expect_err(text);
            assert!(
                err.to_string().contains(&format!("{key}: invalid")),
                "{text}: {err}"
            );
        }
        let loaded = Config::parse(
            Path::new("c.json"),
            "{\"paralel\": 2, \"dashboard_port\": 9000}",
        )
        .expect("ok");
        assert_eq!(loaded.config.dashboard_port, 9000);
        assert_eq!(loaded.warnings.len(), 1);
        assert!(loaded.warnings[0].contains("paralel"));
    }

    #[test]
    fn nonsense_values_are_refused() {
        for text in [
            "{\"default_parallel\": 0}",
            "{\"worktree_dir\": \"../out\"}",
            "[1]",
        ] {
            assert!(Config::parse(Path::new("c.json"), text).is_err(), "{text}");
        }
    }
}
