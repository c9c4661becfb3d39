//! The `Daemon` service: status and shutdown.

use std::sync::Arc;

use orchestra_proto::v1::{
    GetConfigRequest, GetConfigResponse, ShutdownRequest, ShutdownResponse, StatusRequest,
    StatusResponse, daemon_server::Daemon,
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
