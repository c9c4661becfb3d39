//! The `Agents` service: thin handlers over [`crate::supervisor`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use orchestra_proto::v1 as pb;
use orchestra_proto::v1::agents_server::Agents;
use tonic::{Request, Response, Status};

use super::streaming::{self as stream, async_stream};
use crate::context::Context;
use crate::sessions::reader::{self, Line};
use crate::supervisor::SpawnOptions;

/// Implements `orchestra.v1.Agents`.
#[derive(Debug)]
pub struct AgentsService {
    /// The shared daemon context.
    ctx: Arc<Context>,
}

impl AgentsService {
    /// A service over `ctx`.
    pub fn new(ctx: Arc<Context>) -> Self {
        AgentsService { ctx }
    }
}

/// The repository argument: a directory the client named (absolute, from its cwd).
fn repo_dir(repo: &str) -> Result<PathBuf, Status> {
    if repo.is_empty() {
        return Err(Status::invalid_argument(
            "no repository given: pass --repo or run the command inside the repository",
        ));
    }
    let path = PathBuf::from(repo);
    if !path.is_absolute() {
        return Err(Status::invalid_argument(format!(
            "the repository path {repo:?} must be absolute"
        )));
    }
    Ok(path)
}

/// The root of the repository containing `dir`, as text; empty for no directory.
fn repo_root_text(dir: Option<&std::path::Path>) -> Result<String, Status> {
    Ok(dir
        .map(crate::supervisor::repo_of)
        .transpose()?
        .map(|root| root.display().to_string())
        .unwrap_or_default())
}

/// A warning when the repository holds changes that agents branching from a commit
/// (HEAD, or the base given) will not see; none when it is clean or cannot be read (the
/// spawn itself then says what is wrong).
async fn uncommitted_warning(dir: &std::path::Path, base: &str, ctx: &Context) -> Vec<String> {
    if !base.is_empty() && base != "HEAD" {
        return Vec::new();
    }
    let dir = dir.to_path_buf();
    let worktree_dir = ctx.settings.config.worktree_dir.clone();
    let found = tokio::task::spawn_blocking(move || {
        let root = crate::worktree::repo_root(&dir).ok()?;
        crate::worktree::uncommitted(&root, &worktree_dir).ok()
    })
    .await
    .ok()
    .flatten()
    .unwrap_or_default();
    if found.is_empty() {
        return Vec::new();
    }
    let shown: Vec<&str> = found.iter().take(5).map(String::as_str).collect();
    let more = if found.len() > shown.len() {
        format!(" and {} more", found.len() - shown.len())
    } else {
        String::new()
    };
    vec![format!(
        "{} uncommitted change(s) ({}{more}) stay behind: agents start from the last commit and \
         do not see them; commit first if they need them",
        found.len(),
        shown.join(", ")
    )]
}

type Stream<T> = stream::BoxStream<T>;

#[tonic::async_trait]
impl Agents for AgentsService {
    async fn spawn(
        &self,
        request: Request<pb::SpawnRequest>,
    ) -> Result<Response<pb::SpawnResponse>, Status> {
        let req = request.into_inner();
        let warnings = if req.no_worktree {
            Vec::new()
        } else {
            uncommitted_warning(&repo_dir(&req.repo)?, &req.base, &self.ctx).await
        };
        let options = SpawnOptions {
            repo: repo_dir(&req.repo)?,
            parallel: req.parallel,
            no_worktree: req.no_worktree,
            base: req.base,
            model: req.model,
            permission_mode: req.permission_mode,
            allowed_tools: req.allowed_tools,
            max_budget_usd: req.max_budget_usd,
            batch_max_budget_usd: req.batch_max_budget_usd,
            // An empty map (a spawn from another machine, `--host`): the daemon's own
            // environment, which is this machine's.
            env: if req.env.is_empty() {
                std::env::vars().collect()
            } else {
                req.env.into_iter().collect()
            },
            after: req.after,
            no_siblings: req.no_siblings,
        };
        let agents = self
            .ctx
            .supervisor
            .spawn(req.tasks, options, req.sandbox)
            .await?;
        Ok(Response::new(pb::SpawnResponse {
            agents: agents.iter().map(Into::into).collect(),
            warnings,
        }))
    }

    async fn list(
        &self,
        request: Request<pb::ListAgentsRequest>,
    ) -> Result<Response<pb::ListAgentsResponse>, Status> {
        let req = request.into_inner();
        let dir = (!req.repo.is_empty()).then(|| PathBuf::from(&req.repo));
        let agents = self.ctx.supervisor.agents_of(dir.as_deref())?;
        Ok(Response::new(pb::ListAgentsResponse {
            agents: agents.iter().map(Into::into).collect(),
            repo: repo_root_text(dir.as_deref())?,
        }))
    }

    async fn get(
        &self,
        request: Request<pb::GetAgentRequest>,
    ) -> Result<Response<pb::Agent>, Status> {
        let agent = self.ctx.supervisor.resolve(&request.into_inner().id)?;
        Ok(Response::new((&agent).into()))
    }

    type WatchStream = Stream<pb::AgentEvent>;

    async fn watch(
        &self,
        request: Request<pb::WatchAgentsRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let req = request.into_inner();
        let watch = stream::Watch {
            bus: self.ctx.supervisor.bus(),
            snapshot: req.snapshot,
            current: Box::new(|| self.ctx.supervisor.list()),
        };
        Ok(Response::new(watch.stream(
            self.ctx.clone(),
            |agent| pb::AgentEvent {
                kind: "snapshot".to_owned(),
                agent: Some(agent.into()),
                seq: 0,
            },
            |change| pb::AgentEvent {
                kind: change.event.kind.to_owned(),
                agent: Some(change.event.agent.as_ref().into()),
                seq: change.seq,
            },
        )))
    }

    type LogsStream = Stream<pb::LogLine>;

    async fn logs(
        &self,
        request: Request<pb::LogsRequest>,
    ) -> Result<Response<Self::LogsStream>, Status> {
        let req = request.into_inner();
        let agent = self.ctx.supervisor.resolve(&req.id)?;
        let ctx = self.ctx.clone();
        Ok(Response::new(async_stream(move |tx| async move {
            let mut offset = 0u64;
            loop {
                // Finished before this read means this read sees every line there is.
                let finished = ctx
                    .supervisor
                    .resolve(&agent.id)
                    .map(|a| a.state.is_finished())
                    .unwrap_or(true);
                let path = agent.log_path.clone();
                let from = offset;
                let read = tokio::task::spawn_blocking(move || {
                    let mut lines = Vec::new();
                    let progress = reader::read_new_lines(&path, from, false, |line| {
                        if let Line::Complete(bytes) = line {
                            lines.push(bytes.to_vec());
                        }
                    });
                    progress.map(|p| (lines, p.offset))
                })
                .await;
                if let Ok(Ok((lines, new_offset))) = read {
                    let mut position = offset;
                    for bytes in lines {
                        let len = bytes.len() as u64 + 1;
                        let events = crate::claude::stream_json::events(&bytes)
                            .iter()
                            .filter_map(super::convert::transcript_event)
                            .collect();
                        let line = String::from_utf8_lossy(&bytes).into_owned();
                        if tx
                            .send(Ok(pb::LogLine {
                                events,
                                sent: line.starts_with(crate::claude::stream_json::SENT_PREFIX),
                                line,
                                offset: position,
                            }))
                            .await
                            .is_err()
                        {
                            return;
                        }
                        position += len;
                    }
                    offset = new_offset;
                }
                if !req.follow || finished {
                    return;
                }
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_millis(100)) => {}
                    () = ctx.shutdown_requested() => return,
                }
            }
        })))
    }

    async fn send(
        &self,
        request: Request<pb::SendRequest>,
    ) -> Result<Response<pb::SendResponse>, Status> {
        let req = request.into_inner();
        let (agent, resumed) = self
            .ctx
            .supervisor
            .send(&req.id, req.message, "human")
            .await?;
        Ok(Response::new(pb::SendResponse {
            agent: Some((&agent).into()),
            resumed,
        }))
    }

    async fn stop(
        &self,
        request: Request<pb::StopRequest>,
    ) -> Result<Response<pb::StopResponse>, Status> {
        let req = request.into_inner();
        let agents = if req.all {
            self.ctx.supervisor.stop_all().await?
        } else if req.id.trim().is_empty() {
            return Err(Status::invalid_argument("name an agent, or pass --all"));
        } else {
            vec![self.ctx.supervisor.stop(&req.id).await?]
        };
        Ok(Response::new(pb::StopResponse {
            agents: agents.iter().map(Into::into).collect(),
        }))
    }

    async fn collect(
        &self,
        request: Request<pb::CollectRequest>,
    ) -> Result<Response<pb::CollectResponse>, Status> {
        let req = request.into_inner();
        let dir = (!req.repo.is_empty()).then(|| PathBuf::from(&req.repo));
        let results = self
            .ctx
            .integration
            .collect(dir.as_deref(), req.wait)
            .await?;
        Ok(Response::new(pb::CollectResponse {
            results: results.iter().map(Into::into).collect(),
            repo: repo_root_text(dir.as_deref())?,
        }))
    }

    async fn worktrees(
        &self,
        request: Request<pb::WorktreesRequest>,
    ) -> Result<Response<pb::WorktreesResponse>, Status> {
        let dir = repo_dir(&request.into_inner().repo)?;
        let (repo, infos) = self.ctx.integration.worktrees(&dir).await?;
        Ok(Response::new(pb::WorktreesResponse {
            repo: repo.display().to_string(),
            worktrees: infos.iter().map(Into::into).collect(),
        }))
    }

    async fn cleanup(
        &self,
        request: Request<pb::CleanupRequest>,
    ) -> Result<Response<pb::CleanupResponse>, Status> {
        let req = request.into_inner();
        let dir = repo_dir(&req.repo)?;
        let actions = self
            .ctx
            .integration
            .cleanup(&dir, req.all, req.dry_run, req.force)
            .await?;
        Ok(Response::new(pb::CleanupResponse {
            actions: actions.iter().map(Into::into).collect(),
            dry_run: req.dry_run,
        }))
    }

    async fn init(
        &self,
        request: Request<pb::InitRequest>,
    ) -> Result<Response<pb::InitResponse>, Status> {
        let req = request.into_inner();
        let dir = repo_dir(&req.repo)?;
        let identity = crate::worktree::CommitIdentity {
            author: req.author.map(Into::into).unwrap_or_default(),
            committer: req.committer.map(Into::into).unwrap_or_default(),
        };
        let worktree_dir = self.ctx.settings.config.worktree_dir.clone();
        let report = tokio::task::spawn_blocking({
            let worktree_dir = worktree_dir.clone();
            move || crate::worktree::init(&dir, &worktree_dir, &identity)
        })
        .await
        .map_err(super::status::join_error)?
        .map_err(crate::supervisor::SupervisorError::from)?;
        Ok(Response::new(pb::InitResponse {
            repo: report.repo.display().to_string(),
            worktree_dir: report.repo.join(&worktree_dir).display().to_string(),
            created_repo: report.created_repo,
            created_commit: report.created_commit,
            added_exclude: report.added_exclude,
            committed_files: report.committed_files,
            author: report.author,
            default_identity: report.default_identity,
        }))
    }

    async fn forget(
        &self,
        request: Request<pb::ForgetRequest>,
    ) -> Result<Response<pb::ForgetResponse>, Status> {
        let agents = self
            .ctx
            .supervisor
            .forget(&request.into_inner().ids)
            .await?;
        Ok(Response::new(pb::ForgetResponse {
            agents: agents.iter().map(Into::into).collect(),
        }))
    }

    async fn pr(
        &self,
        request: Request<pb::PrRequest>,
    ) -> Result<Response<pb::PrResponse>, Status> {
        let req = request.into_inner();
        let outcome = self
            .ctx
            .integration
            .pr(&req.id, req.env.into_iter().collect())
            .await?;
        Ok(Response::new(outcome.into()))
    }
}
