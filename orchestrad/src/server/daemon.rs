//! The `Daemon` service: status and shutdown.

use std::sync::Arc;

use orchestra_proto::v1::{
    CheckFinding, CheckRequest, CheckResponse, DiskStatus, GetConfigRequest, GetConfigResponse,
    ShutdownRequest, ShutdownResponse, StatusRequest, StatusResponse, StoreRepair, StoreStatus,
    daemon_server::Daemon,
};
use tonic::{Request, Response, Status};

use crate::context::Context;

/// Implements `orchestra.v1.Daemon`.
#[derive(Debug)]
pub struct DaemonService {
    /// The shared daemon context.
    ctx: Arc<Context>,
}

impl DaemonService {
    /// A service over `ctx`.
    pub fn new(ctx: Arc<Context>) -> Self {
        DaemonService { ctx }
    }
}

#[tonic::async_trait]
impl Daemon for DaemonService {
    async fn status(&self, _: Request<StatusRequest>) -> Result<Response<StatusResponse>, Status> {
        let ctx = &self.ctx;
        let settings = &ctx.settings;
        let (sessions_indexed, sessions_live) = ctx.sessions.counts();
        let (agents_running, agents_queued, agents_total) = ctx.supervisor.counts();
        Ok(Response::new(StatusResponse {
            agents_running,
            agents_queued,
            agents_total,
            sessions_indexed,
            sessions_live,
            watcher: ctx.sessions.watcher_mode(),
            first_scan: Some(match ctx.sessions.first_scan() {
                Some((stats, ms)) => orchestra_proto::v1::IndexScan {
                    files: stats.files,
                    files_read: stats.refreshed,
                    bytes_read: stats.bytes_read,
                    ms,
                    done: true,
                },
                None => orchestra_proto::v1::IndexScan::default(),
            }),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            protocol_version: orchestra_proto::PROTOCOL_VERSION,
            pid: std::process::id(),
            uptime_secs: ctx.started.elapsed().as_secs(),
            socket_path: settings.socket.display().to_string(),
            state_dir: settings.state_dir.display().to_string(),
            config_path: settings.config_path.display().to_string(),
            claude_projects_dir: settings.config.claude_projects_dir.display().to_string(),
            started_at_ms: ctx.started_at_ms,
            warnings: settings.warnings.clone(),
            notifications: Some((&ctx.notifier.summary()).into()),
            conditions: conditions(ctx),
            disk: Some(disk_status(ctx)),
            store: Some(store_status(ctx)),
        }))
    }

    async fn check(&self, _: Request<CheckRequest>) -> Result<Response<CheckResponse>, Status> {
        let ctx = self.ctx.clone();
        let checked = tokio::task::spawn_blocking(move || {
            crate::repair::check(&ctx.store, &ctx.settings.agents_dir())
        })
        .await
        .map_err(|err| Status::internal(format!("the check failed unexpectedly: {err}")))?
        .map_err(|err| Status::unavailable(err.to_string()))?;
        let (findings, agents_in_store, agent_dirs) = checked;
        Ok(Response::new(CheckResponse {
            findings: findings
                .into_iter()
                .map(|f| CheckFinding {
                    agent_id: f.agent_id,
                    kind: f.kind.to_owned(),
                    detail: f.detail,
                })
                .collect(),
            agents_in_store,
            agent_dirs,
            store: Some(store_status(&self.ctx)),
            disk: Some(disk_status(&self.ctx)),
        }))
    }

    async fn get_config(
        &self,
        _: Request<GetConfigRequest>,
    ) -> Result<Response<GetConfigResponse>, Status> {
        let settings = &self.ctx.settings;
        let config_json = serde_json::to_string_pretty(&settings.config)
            .map_err(|err| Status::internal(format!("cannot encode the config: {err}")))?;
        Ok(Response::new(GetConfigResponse {
            config_path: settings.config_path.display().to_string(),
            from_file: settings.config_from_file,
            config_json,
            warnings: settings.warnings.clone(),
        }))
    }

    async fn shutdown(
        &self,
        _: Request<ShutdownRequest>,
    ) -> Result<Response<ShutdownResponse>, Status> {
        tracing::info!("shutdown requested over gRPC");
        // Let this answer leave before the server stops accepting.
        let ctx = self.ctx.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            ctx.request_shutdown();
        });
        Ok(Response::new(ShutdownResponse {}))
    }
}

/// The state directory's disk, as `daemon status` shows it.
fn disk_status(ctx: &Context) -> DiskStatus {
    let disk = ctx.disk.current();
    DiskStatus {
        message: disk.describe(),
        state: disk.state.to_owned(),
        path: disk.path,
        free_bytes: disk.free_bytes,
    }
}

/// The store's health, and the repair made at start if any.
fn store_status(ctx: &Context) -> StoreStatus {
    let health = ctx.store.health();
    StoreStatus {
        state: if health.is_ok() { "ok" } else { "failing" }.to_owned(),
        error: health.error().unwrap_or_default().to_owned(),
        failing_since_ms: health.since_ms(),
        queued_writes: ctx.store.queued_writes() as u64,
        repair: ctx.repair.as_ref().map(|repair| StoreRepair {
            reason: repair.reason.clone(),
            damaged_copy: repair.damaged_copy.display().to_string(),
            agents_rebuilt: repair.agents_rebuilt,
            approvals_expired: repair.approvals_expired,
            at_ms: repair.at_ms,
            note: repair.note(),
        }),
    }
}

/// What is wrong with the disk or the store, one line each, in words.
pub fn conditions(ctx: &Context) -> Vec<String> {
    let mut lines = Vec::new();
    let disk = ctx.disk.current();
    if disk.is_full() {
        lines.push(format!(
            "disk full: {}; agents go on and their output waits, but nothing new can start",
            disk.describe()
        ));
    }
    let health = ctx.store.health();
    if let Some(error) = health.error().filter(|_| !disk.is_full()) {
        lines.push(format!(
            "the store cannot be written ({error}); orchestrad retries by itself"
        ));
    }
    if let Some(repair) = &ctx.repair {
        lines.push(format!("store rebuilt: {}", repair.note()));
    }
    lines
}
