//! Every argument of orchestractl, declared with clap derive.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

const EXAMPLES: &str = "\
Examples:
  orchestractl daemon status         # starts the daemon if needed, then reports on it
  orchestractl daemon status --json  # the same as JSON, for scripts
  orchestractl config show           # the settings in force
  orchestractl service install       # run orchestrad as a systemd/launchd user service
  orchestractl completions bash > ~/.local/share/bash-completion/completions/orchestractl";

/// Run Claude Code agents in parallel and find every Claude Code session, from a terminal.
#[derive(Debug, Parser)]
#[command(name = "orchestractl", version, after_help = EXAMPLES, propagate_version = true)]
pub struct Cli {
    /// Socket of orchestrad [default: $XDG_RUNTIME_DIR/claude-orchestra/orchestrad.sock]
    #[arg(long, global = true, env = "ORCHESTRA_SOCKET", value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// Print machine-readable JSON instead of tables
    #[arg(long, global = true)]
    pub json: bool,
    /// Fail instead of starting orchestrad when it is not running
    #[arg(long, global = true)]
    pub no_autostart: bool,
    /// The command to run
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start, stop or inspect the daemon
    #[command(subcommand)]
    Daemon(DaemonCommand),
    /// Show the configuration and where it lives
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Print a shell completion script
    Completions(CompletionsArgs),
    /// Install orchestrad as a user service (systemd on Linux, launchd on macOS)
    #[command(subcommand)]
    Service(ServiceCommand),
}

/// `orchestractl daemon ...`
#[derive(Debug, Subcommand)]
pub enum DaemonCommand {
    /// Start orchestrad in the background (does nothing if it is running)
    Start,
    /// Stop orchestrad; running agents keep running and are re-adopted on the next start
    Stop,
    /// Show version, pid, uptime and counts (starts orchestrad if needed)
    Status,
    /// Stop orchestrad, then start it again
    Restart,
}

/// `orchestractl config ...`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the settings in force (as loaded by the running daemon)
    Show,
    /// Print the path of the config file
    Path,
}

/// `orchestractl completions <shell>`
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write completions for
    pub shell: clap_complete::Shell,
}

/// `orchestractl service ...`
#[derive(Debug, Subcommand)]
pub enum ServiceCommand {
    /// Write the unit (or plist) for this user and enable it
    Install,
    /// Disable the service and remove its unit (or plist)
    Uninstall,
    /// Show whether the service is installed and running
    Status,
}
