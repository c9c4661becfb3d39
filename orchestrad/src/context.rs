//! What every part of the running daemon shares: settings, store, buses, and the way to
//! ask for a shutdown.

use std::time::Instant;

use tokio::sync::watch;

use crate::config::Settings;
use crate::events::Bus;
use crate::sessions::SessionIndex;
use crate::store::Store;
use crate::supervisor::Supervisor;
use crate::time::now_ms;

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
    /// Their work brought together.
    pub integration: std::sync::Arc<crate::integration::Integration>,
    /// Devices paired with the dashboard.
    pub devices: crate::devices::Devices,
    /// Tool calls waiting for a person's answer (also held by the supervisor).
    pub approvals: std::sync::Arc<crate::approvals::Approvals>,
    /// Tells the user about finishes, failures and waits (see [`crate::notify`]).
    pub notifier: std::sync::Arc<crate::notify::Notifier>,
    /// The state directory's disk, watched.
    pub disk: std::sync::Arc<crate::disk::DiskWatch>,
    /// Set when the store was found damaged at start and rebuilt.
    pub repair: Option<crate::repair::Repair>,
    /// The `orchestra` MCP server agents talk through.
    pub talk: std::sync::Arc<crate::talk::Talk>,
}

impl Context {
    /// A context for a daemon that starts now.
    pub fn new(
        settings: Settings,
        store: Store,
        repair: Option<crate::repair::Repair>,
    ) -> Result<Context, crate::store::StoreError> {
        let (shutdown, _) = watch::channel(false);
        let sessions = std::sync::Arc::new(SessionIndex::load(
            settings.config.claude_projects_dir.clone(),
            &store,
            Bus::new(),
        )?);
        let approvals = std::sync::Arc::new(crate::approvals::Approvals::load(&store)?);
        let mailbox = std::sync::Arc::new(crate::messages::Mailbox::load(&store)?);
        let supervisor = std::sync::Arc::new(Supervisor::load(
            crate::supervisor::SupervisorSettings::from_settings(&settings),
            &store,
            sessions.clone(),
            approvals.clone(),
            mailbox,
            shutdown.subscribe(),
        )?);
        let devices = crate::devices::Devices::load(&store)?;
        let notifier = std::sync::Arc::new(crate::notify::Notifier::load(
            &settings.config.notifications,
            &store,
            &devices.ids()?,
        )?);
        let disk = crate::disk::DiskWatch::new(store.clone());
        let integration =
            crate::integration::Integration::new(supervisor.clone(), &store, &settings.state_dir)?;
        integration.set_notifier(notifier.clone());
        let talk = std::sync::Arc::new(crate::talk::Talk::new(
            supervisor.clone(),
            approvals.clone(),
        ));
        Ok(Context {
            talk,
            disk,
            repair,
            integration,
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
