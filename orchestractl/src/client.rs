//! Reaching the daemon: the socket to use, starting orchestrad when it is not running,
//! and refusing to talk across a protocol mismatch.

use std::path::PathBuf;
use std::process::{ExitCode, Stdio};

use crate::cli::Cli;
use anyhow::{Context as _, bail};

/// What every command needs to know about how it was called.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The daemon's socket.
    pub socket: PathBuf,
    /// Print JSON instead of tables.
    pub json: bool,
    /// Start the daemon when it is not running.
    pub autostart: bool,
    /// `--host`: the other machine whose daemon every connection goes to.
    pub host: Option<String>,
}

/// Who we are, in a protocol mismatch.
const ME: &str = concat!("orchestractl ", env!("CARGO_PKG_VERSION"));

/// An open, protocol-checked connection to the daemon (the reference client's).
pub use orchestra_proto::Client;

/// The settings the running daemon has in force: its answer, and its settings as a JSON
/// object.
pub async fn running_config(
    client: &Client,
) -> anyhow::Result<(orchestra_proto::v1::GetConfigResponse, serde_json::Value)> {
    let config = client
        .daemon()
        .get_config(orchestra_proto::v1::GetConfigRequest {})
        .await?
        .into_inner();
    let settings = serde_json::from_str(&config.config_json)
        .context("the daemon sent a config that is not JSON")?;
    Ok((config, settings))
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
            host: cli
                .host
                .clone()
                .filter(|h| h != orchestra_proto::remote::LOCAL),
        }
    }

    /// How every command that prints data answers: `value` as one pretty JSON document
    /// under `--json`, else what `human` prints for people.
    pub fn answer<T: serde::Serialize + ?Sized>(
        &self,
        value: &T,
        human: impl FnOnce() -> anyhow::Result<()>,
    ) -> anyhow::Result<ExitCode> {
        self.answer_with(ExitCode::SUCCESS, value, human)
    }

    /// [`Ctx::answer`] for a command whose exit code says how it went (nothing pushed,
    /// a red merge), the same under `--json` and for people.
    pub fn answer_with<T: serde::Serialize + ?Sized>(
        &self,
        code: ExitCode,
        value: &T,
        human: impl FnOnce() -> anyhow::Result<()>,
    ) -> anyhow::Result<ExitCode> {
        if self.json {
            crate::output::json(value)?;
        } else {
            human()?;
        }
        Ok(code)
    }

    /// Connects to a running daemon, or returns `None` when nothing answers. With
    /// `--host`, the host's daemon (its proxy starts it there).
    pub async fn try_connect(&self) -> anyhow::Result<Option<Client>> {
        if let Some(name) = &self.host {
            return connect_host(name).await.map(Some);
        }
        match Client::connect(&self.socket, ME).await {
            Ok(client) => Ok(Some(client)),
            Err(orchestra_proto::ConnectError::Unreachable { .. }) => Ok(None),
            Err(err) => Err(err.into()),
        }
    }

    /// Connects to the daemon, starting it first when it is not running (unless
    /// `--no-autostart`).
    pub async fn connect(&self) -> anyhow::Result<Client> {
        if let Some(name) = &self.host {
            return connect_host(name).await;
        }
        if let Some(clients) = self.try_connect().await? {
            return Ok(clients);
        }
        if !self.autostart {
            // The reference client's own words: "cannot reach orchestrad at PATH: is it
            // running? ...".
            return Client::connect(&self.socket, ME).await.map_err(Into::into);
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

/// Connects to the host called `name` of `hosts.json` (for `--host`).
async fn connect_host(name: &str) -> anyhow::Result<Client> {
    use orchestra_proto::remote;
    let file = remote::HostsFile::load(&remote::hosts_file())?;
    let host = file.get(name)?;
    Ok(Client::connect_host(host, remote::CONNECT_TIMEOUT).await?)
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
