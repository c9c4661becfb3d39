//! What every part of the running daemon shares: settings, store, buses, and the way to
//! ask for a shutdown.

use std::path::PathBuf;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;

use crate::config::Config;
use crate::events::Bus;
use crate::sessions::SessionIndex;
use crate::store::Store;
use crate::supervisor::Supervisor;

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
    ) -> Result<Settings, crate::config::ConfigError> {
        let loaded = Config::load(&config_path)?;
        Ok(Settings {
            socket,
            state_dir,
            config_path,
            config: loaded.config,
            warnings: loaded.warnings,
            config_from_file: loaded.from_file,
            claude_dir: crate::config::claude_config_dir(),
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

/// Shared by every service and background task of one daemon run.
#[derive(Debug)]
pub struct Context {
    /// Settings the daemon was started with.
    pub settings: Settings,
    /// The one store of this daemon.
    pub store: Store,
    /// When the daemon started (monotonic, for uptime).
    pub started: Instant,
    /// When the daemon started, in ms since the epoch (for clients).
    pub started_at_ms: i64,
    /// Set to true to ask the server to shut down.
    pub shutdown: watch::Sender<bool>,
    /// The index of Claude Code sessions.
    pub sessions: std::sync::Arc<SessionIndex>,
    /// The agents.
    pub supervisor: std::sync::Arc<Supervisor>,
    /// Devices paired with the dashboard.
    pub devices: crate::devices::Devices,
    /// Tool calls waiting for a person's answer (also held by the supervisor).
    pub approvals: std::sync::Arc<crate::approvals::Approvals>,
    /// Tells the user about finishes, failures and waits (see [`crate::notify`]).
    pub notifier: std::sync::Arc<crate::notify::Notifier>,
}

impl Context {
    /// A context for a daemon that starts now.
    pub fn new(settings: Settings, store: Store) -> Result<Context, crate::store::StoreError> {
        let (shutdown, _) = watch::channel(false);
        let sessions = std::sync::Arc::new(SessionIndex::load(
            settings.config.claude_projects_dir.clone(),
            &store,
            Bus::new(),
        )?);
        let approvals = std::sync::Arc::new(crate::approvals::Approvals::load(&store)?);
        let supervisor = std::sync::Arc::new(Supervisor::load(
            settings.clone(),
            &store,
            sessions.clone(),
            approvals.clone(),
            shutdown.subscribe(),
        )?);
        let devices = crate::devices::Devices::load(&store)?;
        let notifier = std::sync::Arc::new(crate::notify::Notifier::load(
            &settings.config.notifications,
            &store,
            &devices.ids()?,
        )?);
        Ok(Context {
            settings,
            store,
            started: Instant::now(),
            started_at_ms: now_ms(),
            shutdown,
            sessions,
            supervisor,
            devices,
            approvals,
            notifier,
        })
    }

    /// Asks the daemon to shut down gracefully.
    pub fn request_shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    /// Resolves once a shutdown has been asked for.
    pub async fn shutdown_requested(&self) {
        let mut rx = self.shutdown.subscribe();
        let _ = rx.wait_for(|stop| *stop).await;
    }
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
