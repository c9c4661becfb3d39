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

/// Largest answer a client accepts. tonic's default (4 MB) is less than a listing of
/// 10,000 sessions; a big transcript page can be larger still.
const MAX_MESSAGE: usize = 256 * 1024 * 1024;

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
        DaemonClient::new(self.channel.clone()).max_decoding_message_size(MAX_MESSAGE)
    }

    /// The settings in force: the daemon's answer, and its settings as a JSON object.
    pub async fn config(
        &self,
    ) -> anyhow::Result<(orchestra_proto::v1::GetConfigResponse, serde_json::Value)> {
        let config = self
            .daemon()
            .get_config(orchestra_proto::v1::GetConfigRequest {})
            .await?
            .into_inner();
        let settings = serde_json::from_str(&config.config_json)
            .context("the daemon sent a config that is not JSON")?;
        Ok((config, settings))
    }

    /// The `Agents` service.
    pub fn agents(&self) -> AgentsClient<Channel> {
        AgentsClient::new(self.channel.clone()).max_decoding_message_size(MAX_MESSAGE)
    }

    /// The `Approvals` service.
    pub fn approvals(&self) -> orchestra_proto::v1::approvals_client::ApprovalsClient<Channel> {
        orchestra_proto::v1::approvals_client::ApprovalsClient::new(self.channel.clone())
            .max_decoding_message_size(MAX_MESSAGE)
    }

    /// The `Integration` service (merge, report, integration pull requests).
    pub fn integration(
        &self,
    ) -> orchestra_proto::v1::integration_client::IntegrationClient<Channel> {
        orchestra_proto::v1::integration_client::IntegrationClient::new(self.channel.clone())
            .max_decoding_message_size(MAX_MESSAGE)
    }

    /// The `Devices` service.
    pub fn devices(&self) -> orchestra_proto::v1::devices_client::DevicesClient<Channel> {
        orchestra_proto::v1::devices_client::DevicesClient::new(self.channel.clone())
    }

    /// The `Notify` service.
    pub fn notify(&self) -> orchestra_proto::v1::notify_client::NotifyClient<Channel> {
        orchestra_proto::v1::notify_client::NotifyClient::new(self.channel.clone())
    }

    /// The `Sessions` service.
    pub fn sessions(&self) -> SessionsClient<Channel> {
        SessionsClient::new(self.channel.clone()).max_decoding_message_size(MAX_MESSAGE)
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
        // A daemon that was just killed can still accept a connection that then dies in
        // the first call: such a socket counts as "not running" after a few tries.
        for attempt in 0..5 {
            if attempt > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            let Ok(channel) = orchestra_proto::connect(&self.socket).await else {
                return Ok(None);
            };
            match DaemonClient::new(channel.clone())
                .status(StatusRequest {})
                .await
            {
                Ok(status) => return self.checked(channel, status.into_inner()).map(Some),
                Err(status)
                    if matches!(
                        status.code(),
                        tonic::Code::Unavailable | tonic::Code::Unknown
                    ) =>
                {
                    continue;
                }
                Err(status) => {
                    return Err(anyhow::Error::new(status).context(format!(
                        "something answers on {} but it is not a working orchestrad",
                        self.socket.display()
                    )));
                }
            }
        }
        Ok(None)
    }

    fn checked(&self, channel: Channel, status: StatusResponse) -> anyhow::Result<Clients> {
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
        Ok(Clients { channel, status })
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
        // `AlreadyServing`: another command started it at the same moment; use that one.
        let started = self.start_daemon().await? == Started::Now;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            if let Some(clients) = self.try_connect().await? {
                if started {
                    eprintln!(
                        "orchestractl: orchestrad was not running; started it (pid {})",
                        clients.status.pid
                    );
                }
                return Ok(clients);
            }
            if std::time::Instant::now() > deadline {
                bail!(
                    "started orchestrad but cannot reach it at {}; see its log in the state dir",
                    self.socket.display()
                );
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Runs `orchestrad start`, which returns once the socket answers.
    pub async fn start_daemon(&self) -> anyhow::Result<Started> {
        let output = run_orchestrad(&[
            "--socket".as_ref(),
            self.socket.as_os_str(),
            "start".as_ref(),
        ])
        .await?;
        if output.status.code() == Some(i32::from(orchestra_proto::EXIT_ALREADY_SERVING)) {
            return Ok(Started::AlreadyServing);
        }
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            bail!(
                "could not start orchestrad: {}",
                stderr.trim().trim_start_matches("orchestrad: ")
            );
        }
        Ok(Started::Now)
    }
}

/// What `orchestrad start` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Started {
    /// It started a daemon, which answers now.
    Now,
    /// Another daemon already serves the socket (started at the same moment, say).
    AlreadyServing,
}

/// Runs orchestrad with `args` (stdin closed) and returns what it printed; the error
/// says how to make it found when it cannot be run.
pub async fn run_orchestrad(args: &[&std::ffi::OsStr]) -> anyhow::Result<std::process::Output> {
    let binary = orchestrad_binary();
    tokio::process::Command::new(&binary)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await
        .with_context(|| {
            format!(
                "cannot run {}: is orchestrad installed next to orchestractl or on PATH?",
                binary.display()
            )
        })
}

/// The orchestrad binary: `$ORCHESTRAD_BIN`, else the one next to this executable, else
/// `orchestrad` on `PATH`.
pub fn orchestrad_binary() -> PathBuf {
    sibling_binary("orchestrad", "ORCHESTRAD_BIN")
}

/// A binary of ours: `$env_var`, else the one next to this executable, else `name` on
/// `PATH`.
pub fn sibling_binary(name: &str, env_var: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(env_var).filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    std::env::current_exe()
        .ok()
        .map(|exe| exe.with_file_name(name))
        .filter(|sibling| sibling.is_file())
        .unwrap_or_else(|| PathBuf::from(name))
}

/// The repository a command is about: `--repo`, else the current directory, absolute.
pub fn repo_arg(repo: Option<&std::path::Path>) -> anyhow::Result<String> {
    let dir = match repo {
        Some(path) => std::path::absolute(path)?,
        None => std::env::current_dir().context("cannot read the current directory")?,
    };
    Ok(dir.display().to_string())
}
