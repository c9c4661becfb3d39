//! orchestrad: the claude-orchestra daemon.
//!
//! It owns every agent process and all state, indexes Claude Code sessions, and serves one
//! gRPC API on a Unix socket. The binary in `main.rs` only parses arguments and calls
//! [`Daemon::open`] and [`Daemon::serve`]; tests do the same in-process.
//!
//! Where things live. Each layer uses only the ones below it (no module cycle):
//!
//! - Plumbing: [`time`] (now, in ms), [`text`] (cutting text, durations), [`memory`]
//!   (giving memory back), [`events`] (the bus every change is published on), [`store`]
//!   (the sled database, its health), [`disk`] (the state dir's disk, watched; the store
//!   recovered), [`lifecycle`] (claiming the socket, the pid file).
//! - Domains: [`sessions`] (the live index of Claude Code's session files), [`worktree`]
//!   (git worktrees and merges), [`approvals`] (tool calls and agents' questions waiting
//!   for a person), [`messages`] (what agents send each other, kept until delivered),
//!   [`devices`] (phones paired with the dashboard), [`notify`] (channels and delivery).
//! - [`config`]: the user's settings (naming notify's channel entries) and the daemon's
//!   start-up [`config::Settings`]; [`allowlist`] (the default tool rules, and which rules
//!   run programs) and [`sandbox`] (Claude Code's sandbox: can it run here, its settings)
//!   below it.
//! - [`supervisor`]: agents' lives (launch, monitor, chains, the overlap radar).
//! - [`integration`]: their work brought together (merge, report, PRs, results, cleanup).
//! - [`talk`]: the `orchestra` MCP server agents reach through their bridge (siblings,
//!   messages, questions, claims), over the supervisor.
//! - Wiring: [`notify_sources`] (the buses that feed notifications), [`repair`] (a damaged
//!   store noticed and rebuilt from the agents' directories), [`context`] (what every
//!   service shares), [`server`] (one file per gRPC service).
//!
//! How processes are told apart (pids, start times) lives in `orchestra_proto::process`,
//! shared with the CLI and the tests.

pub mod allowlist;
pub mod approvals;
pub mod claude;
pub mod config;
pub mod context;
pub mod devices;
pub mod disk;
pub mod events;
pub mod integration;
pub mod lifecycle;
pub mod memory;
pub mod messages;
pub mod notify;
pub mod notify_sources;
pub mod repair;
pub mod sandbox;
pub mod server;
pub mod sessions;
pub mod spend;
pub mod store;
pub mod supervisor;
pub mod talk;
pub mod text;
pub mod time;
pub mod worktree;

use std::sync::Arc;

use config::Settings;
use context::Context;

/// A daemon that has claimed its socket and opened its store, ready to serve.
///
/// Opening does every fallible start-up step, so `orchestrad start` can report success
/// to its parent as soon as `open` returns, before any runtime exists.
#[derive(Debug)]
pub struct Daemon {
    /// The shared context handed to every service.
    ctx: Arc<Context>,
    /// The claimed socket; dropping it removes the socket and pid files.
    claim: lifecycle::Claim,
}

impl Daemon {
    /// Claims the socket and opens the store. Needs no async runtime.
    pub fn open(settings: Settings) -> anyhow::Result<Daemon> {
        use anyhow::Context as _;
        lifecycle::create_private_dir(&settings.state_dir)?;
        let claim = lifecycle::claim(&settings.socket)?;
        let (store, repair) =
            repair::open_or_rebuild(&settings.store_dir(), &settings.agents_dir(), open_store)
                .context("cannot open the daemon's store")?;
        for warning in &settings.warnings {
            tracing::warn!("{warning}");
        }
        let ctx = Arc::new(Context::new(settings, store, repair)?);
        Ok(Daemon { ctx, claim })
    }

    /// The shared context (tests use it to look inside).
    pub fn context(&self) -> Arc<Context> {
        self.ctx.clone()
    }

    /// Serves until `shutdown` resolves or a client calls `Shutdown`, then flushes the
    /// store. Returns the claim on the socket: drop it only after the runtime has shut
    /// down, since background tasks hold the store until then, and a new daemon that
    /// claims the socket expects the store to be free.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send,
    ) -> anyhow::Result<lifecycle::Claim> {
        let Daemon { ctx, claim } = self;
        let listener = tokio::net::UnixListener::from_std(claim.listener.try_clone()?)?;
        tracing::info!(
            socket = %claim.socket().display(),
            pid = std::process::id(),
            version = env!("CARGO_PKG_VERSION"),
            "orchestrad serving"
        );
        let stop = {
            let ctx = ctx.clone();
            async move {
                tokio::select! {
                    () = shutdown => {},
                    () = ctx.shutdown_requested() => {},
                }
                // Long-lived streams end when they see the shutdown flag.
                ctx.request_shutdown();
            }
        };
        let watcher = {
            let ctx2 = ctx.clone();
            sessions::watcher::spawn(
                ctx.sessions.clone(),
                ctx.settings.claude_dir.clone(),
                std::time::Duration::from_secs(ctx.settings.config.heartbeat_interval),
                async move { ctx2.shutdown_requested().await },
            )
        };
        tokio::spawn(watch_socket_file(ctx.clone(), claim.socket().to_path_buf()));
        tokio::spawn(ctx.disk.clone().run(ctx.shutdown.subscribe()));
        // Notifications follow the buses from before the agents are re-adopted, so a run
        // that ended while the daemon was away is still told.
        ctx.notifier.start();
        notify_sources::spawn(notify_sources::Sources {
            notifier: ctx.notifier.clone(),
            supervisor: ctx.supervisor.clone(),
            sessions: ctx.sessions.clone(),
            approvals: ctx.approvals.clone(),
            disk: ctx.disk.clone(),
            shutdown: ctx.shutdown.subscribe(),
        });
        // Re-adopt agents that outlived the previous daemon, then go on with the queue.
        tokio::spawn({
            let supervisor = ctx.supervisor.clone();
            let integration = ctx.integration.clone();
            async move {
                supervisor.reconcile().await;
                // Verified merges go on once the agents they wait for are known again.
                integration.resume_runs();
            }
        });
        server::serve(ctx.clone(), listener, stop).await?;
        let _ = watcher.await;
        if let Err(err) = ctx.store.flush().await {
            tracing::error!(%err, "final flush of the store failed");
        }
        tracing::info!("orchestrad stopped");
        Ok(claim)
    }
}

/// Shuts the daemon down when its socket file is deleted or replaced: no client can reach
/// it any more, so staying alive would only leave an orphan behind.
async fn watch_socket_file(ctx: Arc<Context>, socket: std::path::PathBuf) {
    use std::os::unix::fs::MetadataExt;
    let Ok(original) = std::fs::metadata(&socket).map(|m| m.ino()) else {
        return;
    };
    loop {
        tokio::select! {
            () = tokio::time::sleep(std::time::Duration::from_secs(5)) => {}
            () = ctx.shutdown_requested() => return,
        }
        if std::fs::metadata(&socket).map(|m| m.ino()).ok() != Some(original) {
            tracing::warn!(socket = %socket.display(), "the socket file is gone; shutting down");
            ctx.request_shutdown();
            return;
        }
    }
}

/// Opens the store. We hold the socket's lock, so if the store is locked it is by a
/// previous daemon whose files are still being closed (the kernel drops a killed process's
/// locks one file at a time): wait a moment for it rather than fail.
fn open_store(dir: &std::path::Path) -> Result<store::Store, store::StoreError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while store::Store::locked_by_another(dir) && std::time::Instant::now() < deadline {
        tracing::info!("waiting for the previous orchestrad to release the store");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    store::Store::open(dir)
}
