//! The `Integration` service: thin handlers over [`crate::integration`].

use std::path::PathBuf;
use std::sync::Arc;

use orchestra_proto::v1 as pb;
use orchestra_proto::v1::integration_server::Integration;
use tonic::{Request, Response, Status};

use crate::context::Context;
use crate::integration::merge::MergeRequest;
use crate::integration::run::VerifyOptions;

/// Implements `orchestra.v1.Integration`.
#[derive(Debug)]
pub struct IntegrationService {
    /// The shared daemon context.
    ctx: Arc<Context>,
}

impl IntegrationService {
    /// A service over `ctx`.
    pub fn new(ctx: Arc<Context>) -> Self {
        IntegrationService { ctx }
    }
}

/// The repository argument: an absolute directory the client named.
fn repo_dir(repo: &str) -> Result<PathBuf, Status> {
    let path = PathBuf::from(repo);
    if repo.is_empty() || !path.is_absolute() {
        return Err(Status::invalid_argument(format!(
            "the repository path {repo:?} must be absolute: pass --repo or run the command inside the repository"
        )));
    }
    Ok(path)
}

/// The repository argument when it may be empty (every repository).
fn optional_repo_dir(repo: &str) -> Result<Option<PathBuf>, Status> {
    (!repo.is_empty()).then(|| repo_dir(repo)).transpose()
}

#[tonic::async_trait]
impl Integration for IntegrationService {
    async fn merge(
        &self,
        request: Request<pb::MergeRequest>,
    ) -> Result<Response<pb::MergeResponse>, Status> {
        let req = request.into_inner();
        let merge = MergeRequest {
            dir: repo_dir(&req.repo)?,
            agents: req.agents,
            batch: req.batch_id,
            into: req.into,
            dry_run: req.dry_run,
            approved_only: req.approved_only,
        };
        let options = VerifyOptions {
            command: req.verify,
            no_verify: req.no_verify,
            repair_rounds: req.repair_rounds,
            timeout_s: req.verify_timeout_s,
            no_wait: req.no_wait,
            env: req.env.into_iter().collect(),
        };
        if let Some(run) = self.ctx.integration.verified_merge(&merge, options).await? {
            return Ok(Response::new((&run).into()));
        }
        let outcome = self.ctx.integration.merge(merge).await?;
        Ok(Response::new((&outcome).into()))
    }

    async fn diff(
        &self,
        request: Request<pb::DiffRequest>,
    ) -> Result<Response<pb::DiffResponse>, Status> {
        let req = request.into_inner();
        let (agent_id, change) = self.ctx.integration.diff(&req.id, req.stat).await?;
        Ok(Response::new(crate::server::convert::diff(
            agent_id, change,
        )))
    }

    async fn review(
        &self,
        request: Request<pb::ReviewRequest>,
    ) -> Result<Response<pb::Agent>, Status> {
        let req = request.into_inner();
        let agent = self
            .ctx
            .integration
            .review(crate::integration::review::ReviewRequest {
                id: req.id,
                comments: req
                    .comments
                    .into_iter()
                    .map(|c| (c.path, c.line, c.text))
                    .collect(),
                send: req.send,
                approve: req.approve,
            })
            .await?;
        Ok(Response::new((&agent).into()))
    }

    async fn merge_status(
        &self,
        request: Request<pb::MergeStatusRequest>,
    ) -> Result<Response<pb::MergeStatusResponse>, Status> {
        let req = request.into_inner();
        let dir = optional_repo_dir(&req.repo)?;
        let runs = self.ctx.integration.runs(dir.as_deref(), &req.batch_id)?;
        Ok(Response::new(pb::MergeStatusResponse {
            runs: runs.iter().map(Into::into).collect(),
        }))
    }

    async fn report(
        &self,
        request: Request<pb::ReportRequest>,
    ) -> Result<Response<pb::ReportResponse>, Status> {
        let req = request.into_inner();
        let dir = optional_repo_dir(&req.repo)?;
        let report = self
            .ctx
            .integration
            .report(dir.as_deref(), &req.batch_id)
            .await?;
        Ok(Response::new((&report).into()))
    }

    async fn open_integration_pr(
        &self,
        request: Request<pb::IntegrationPrRequest>,
    ) -> Result<Response<pb::PrResponse>, Status> {
        let req = request.into_inner();
        let outcome = self
            .ctx
            .integration
            .integration_pr(
                &repo_dir(&req.repo)?,
                &req.branch,
                req.env.into_iter().collect(),
                req.force,
            )
            .await?;
        Ok(Response::new(outcome.into()))
    }
}
