//! Reaching the daemon: the socket to use, starting orchestrad when it is not running,
//! and refusing to talk across a protocol mismatch.

use std::path::PathBuf;
use std::process::Stdio;

use anyhow::{Context as _, bail};
use orchestra_proto::v1::{
    StatusRequest, StatusResponse, agents_client::AgentsClient, daemon_client::DaemonClient,
    sessions_client::SessionsClient,
};
use tonic::transport::Channel;

use crate::cli::Cli;

/// What every command needs to know about how it was called.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The daemon's socket.
    pub socket: PathBuf,
    /// Print JSON instead of tables.
    pub json: bool,
    /// Start the daemon when it is not running.
    pub autostart: bool,
}

/// An open, protocol-checked connection to the daemon.
#[derive(Debug, Clone)]
pub struct Clients {
    /// The channel every stub shares.
    pub channel: Channel,
    /// The daemon's answer to `Status` at connect time.
    pub status: StatusResponse,
}

impl Clients {
    /// The `Daemon` service.
    pub fn daemon(&self) -> DaemonClient<Channel> {
        DaemonClient::new(self.channel.clone())
    }

    /// The `Agents` service.
    pub fn agents(&self) -> AgentsClient<Channel> {
        AgentsClient::new(self.channel.clone())
    }

    /// The `Sessions` service.
    pub fn sessions(&self) -> SessionsClient<Channel> {
        SessionsClient::new(self.channel.clone())
    }
}

impl Ctx {
    /// The context for a parsed command line.
    pub fn from_cli(cli: &Cli) -> Ctx {
        let socket = cli
            .socket
            .clone()
            .unwrap_or_else(orchestra_proto::paths::default_socket);
        Ctx {
            socket: std::path::absolute(&socket).unwrap_or(socket),
            json: cli.json,
            autostart: !cli.no_autostart,
        }
    }

    /// Connects to a running daemon, or returns `None` when nothing answers.
    pub async fn try_connect(&self) -> anyhow::Result<Option<Clients>> {
        let Ok(channel) = orchestra_proto::connect(&self.socket).await else {
            return Ok(None);
        };
        let status = DaemonClient::new(channel.clone())
            .status(StatusRequest {})
            .await
            .with_context(|| {
                format!(
                    "something answers on {} but it is not a working orchestrad",
                    self.socket.display()
                )
            })?
            .into_inner();
        if status.protocol_version != orchestra_proto::PROTOCOL_VERSION {
            bail!(
                "orchestractl {} speaks protocol {} but orchestrad {} (pid {}) at {} speaks \
                 protocol {}: install matching versions, then run `orchestractl daemon restart`",
                env!("CARGO_PKG_VERSION"),
                orchestra_proto::PROTOCOL_VERSION,
                status.version,
                status.pid,
                self.socket.display(),
                status.protocol_version
            );
        }
        Ok(Some(Clients { channel, status }))
    }

    /// Connects to the daemon, starting it first when it is not running (unless
    /// `--no-autostart`).
    pub async fn connect(&self) -> anyhow::Result<Clients> {
        if let Some(clients) = self.try_connect().await? {
            return Ok(clients);
        }
        if !self.autostart {
            bail!(
                "cannot reach orchestrad at {}: is it running? try `orchestractl daemon start`",
                self.socket.display()
            );
        }
        let pid = self.start_daemon().await?;
        eprintln!("orchestractl: orchestrad was not running; started it (pid {pid})");
        match self.try_connect().await? {
            Some(clients) => Ok(clients),
            None => bail!(
                "started orchestrad but cannot reach it at {}",
                self.socket.display()
            ),
        }
    }

    /// Runs `orchestrad start`, which returns once the socket answers. Returns the pid.
    pub async fn start_daemon(&self) -> anyhow::Result<String> {
        let binary = orchestrad_binary();
        let output = tokio::process::Command::new(&binary)
            .arg("--socket")
            .arg(&self.socket)
            .arg("start")
            .stdin(Stdio::null())
            .output()
            .await
            .with_context(|| {
                format!(
                    "cannot run {}: is orchestrad installed next to orchestractl or on PATH?",
                    binary.display()
                )
            })?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            bail!(
                "could not start orchestrad: {}",
                stderr.trim().trim_start_matches("orchestrad: ")
            );
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        let pid = stdout
            .split("(pid ")
            .nth(1)
            .and_then(|rest| rest.split(')').next())
            .unwrap_or("?")
            .to_owned();
        Ok(pid)
    }
}

/// The orchestrad binary: `$ORCHESTRAD_BIN`, else the one next to this executable, else
/// `orchestrad` on `PATH`.
pub fn orchestrad_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("ORCHESTRAD_BIN").filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    std::env::current_exe()
        .ok()
        .map(|exe| exe.with_file_name("orchestrad"))
        .filter(|sibling| sibling.is_file())
        .unwrap_or_else(|| PathBuf::from("orchestrad"))
}

/// The repository a command is about: `--repo`, else the current directory, absolute.
pub fn repo_arg(repo: Option<&std::path::Path>) -> anyhow::Result<String> {
    let dir = match repo {
        Some(path) => std::path::absolute(path)?,
        None => std::env::current_dir().context("cannot read the current directory")?,
    };
    Ok(dir.display().to_string())
}
