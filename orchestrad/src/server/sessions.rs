//! The `Sessions` service: thin handlers over [`crate::sessions`].

use std::sync::Arc;
use std::sync::atomic::Ordering;

use orchestra_proto::v1 as pb;
use orchestra_proto::v1::sessions_server::Sessions;
use tonic::{Request, Response, Status};

use super::convert;
use super::status::{io_error, join_error};
use super::streaming as stream;
use crate::context::Context;
use crate::sessions::query::{self, ListFilter};
use crate::sessions::search;
use crate::sessions::transcript;
use crate::time::now_ms;

/// Implements `orchestra.v1.Sessions`.
#[derive(Debug)]
pub struct SessionsService {
    /// The shared daemon context.
    ctx: Arc<Context>,
}

impl SessionsService {
    /// `analytics --by ...`: rows of one grouping, and their total (see [`crate::spend`]).
    async fn analytics_by(
        &self,
        request: pb::AnalyticsRequest,
    ) -> Result<Response<pb::AnalyticsResponse>, Status> {
        let by = crate::spend::By::parse(&request.by).map_err(Status::invalid_argument)?;
        if request.hours != 0.0 {
            return Err(Status::invalid_argument(
                "hours does not go with by: use --since 24h instead",
            ));
        }
        let since =
            crate::spend::since_day(&request.since, now_ms()).map_err(Status::invalid_argument)?;
        let sessions = self.ctx.sessions.all();
        let agents = self.ctx.supervisor.list();
        let day_cap_usd = self.ctx.supervisor.day_cap();
        let day_spent_usd = self
            .ctx
            .supervisor
            .spent_on(&crate::time::local_day(now_ms()));
        let worktree_dir = self.ctx.settings.config.worktree_dir.clone();
        let (rows, total) = tokio::task::spawn_blocking(move || {
            crate::spend::report(by, since.as_deref(), &sessions, &agents, &worktree_dir)
        })
        .await
        .map_err(|err| Status::internal(format!("analytics failed: {err}")))?;
        Ok(Response::new(pb::AnalyticsResponse {
            rows: rows.into_iter().map(Into::into).collect(),
            total: Some(total.into()),
            day_cap_usd,
            day_spent_usd,
            ..pb::AnalyticsResponse::default()
        }))
    }

    /// A service over `ctx`.
    pub fn new(ctx: Arc<Context>) -> Self {
        SessionsService { ctx }
    }
}

impl SessionsService {
    /// The session `id` names: a session id or unique prefix, or else an agent id (or
    /// unique prefix), which stands for that agent's session. `show`, `export` and
    /// `resume` take either, since `status` shows agent ids.
    fn resolve(&self, id: &str) -> Result<crate::sessions::SessionMeta, Status> {
        use crate::sessions::index::ResolveError;
        // An exact agent id wins over a session id that happens to start with it.
        let exact_agent = self
            .ctx
            .supervisor
            .peek(id.trim(), |a| a.session_id.clone());
        if let Some(session) = exact_agent.filter(|s| !s.is_empty()) {
            return Ok(self.ctx.sessions.resolve(&session)?);
        }
        match self.ctx.sessions.resolve(id) {
            Err(ResolveError::NotFound(_)) => {}
            other => return Ok(other?),
        }
        let Ok(agent) = self.ctx.supervisor.resolve(id) else {
            return Err(ResolveError::NotFound(id.trim().to_owned()).into());
        };
        if agent.session_id.is_empty() {
            return Err(Status::failed_precondition(format!(
                "agent {} has no Claude session yet ({}): try again once it runs",
                agent.id,
                agent.state.as_str()
            )));
        }
        self.ctx.sessions.resolve(&agent.session_id).map_err(|_| {
            Status::not_found(format!(
                "agent {}'s session {} is not indexed (its file is gone?): see `orchestractl logs {}`",
                agent.id, agent.session_id, agent.id
            ))
        })
    }
}

type EventStream = stream::BoxStream<pb::SessionEvent>;

fn check_hours(hours: f64) -> Result<f64, Status> {
    if hours.is_finite() && hours >= 0.0 {
        Ok(hours)
    } else {
        Err(Status::invalid_argument(
            "hours must be a number of hours, 0 or more",
        ))
    }
}

impl SessionsService {
    /// What a search reads: the sessions its filter keeps (newest first), the query and
    /// the hit limit.
    async fn search_plan(
        &self,
        req: pb::SearchSessionsRequest,
    ) -> Result<(Vec<crate::sessions::SessionMeta>, String, usize), Status> {
        self.ctx.sessions.wait_ready().await;
        let query_text = req.query.trim().to_owned();
        if query_text.is_empty() {
            return Err(Status::invalid_argument("give some text to search for"));
        }
        let filter = ListFilter {
            hours: check_hours(req.hours)?,
            ..ListFilter::default()
        };
        let sessions = query::list(self.ctx.sessions.all(), &filter, now_ms())
            .map_err(Status::invalid_argument)?;
        let limit = if req.limit == 0 {
            100
        } else {
            req.limit as usize
        };
        Ok((sessions, query_text, limit))
    }
}

fn search_response((hits, searched): (Vec<search::Hit>, u64)) -> pb::SearchSessionsResponse {
    pb::SearchSessionsResponse {
        hits: hits.into_iter().map(Into::into).collect(),
        sessions_searched: searched,
    }
}

#[tonic::async_trait]
impl Sessions for SessionsService {
    async fn list(
        &self,
        request: Request<pb::ListSessionsRequest>,
    ) -> Result<Response<pb::ListSessionsResponse>, Status> {
        self.ctx.sessions.wait_ready().await;
        let req = request.into_inner();
        let filter = ListFilter {
            hours: check_hours(req.hours)?,
            project: req.project,
            live_only: req.live_only,
            sort: req.sort,
            limit: req.limit as usize,
        };
        let all = self.ctx.sessions.all();
        let total_indexed = all.len() as u64;
        let sessions = query::list(all, &filter, now_ms()).map_err(Status::invalid_argument)?;
        // A listing of thousands leaves megabytes of garbage behind once it is sent.
        if sessions.len() > 1000 {
            crate::memory::trim_soon();
        }
        Ok(Response::new(pb::ListSessionsResponse {
            sessions: sessions.iter().map(Into::into).collect(),
            total_indexed,
        }))
    }

    async fn get(
        &self,
        request: Request<pb::GetSessionRequest>,
    ) -> Result<Response<pb::Session>, Status> {
        self.ctx.sessions.wait_ready().await;
        let meta = self.resolve(&request.into_inner().id)?;
        Ok(Response::new((&meta).into()))
    }

    type WatchStream = EventStream;

    async fn watch(
        &self,
        request: Request<pb::WatchSessionsRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let req = request.into_inner();
        self.ctx.sessions.wait_ready().await;
        let watch = stream::Watch {
            bus: self.ctx.sessions.bus(),
            snapshot: req.snapshot,
            current: Box::new(|| self.ctx.sessions.all()),
        };
        Ok(Response::new(watch.stream(
            self.ctx.clone(),
            |meta| pb::SessionEvent {
                kind: "snapshot".to_owned(),
                session: Some(meta.into()),
                seq: 0,
            },
            |change| pb::SessionEvent {
                kind: change.event.kind.as_str().to_owned(),
                session: Some(change.event.session.as_ref().into()),
                seq: change.seq,
            },
        )))
    }

    async fn search(
        &self,
        request: Request<pb::SearchSessionsRequest>,
    ) -> Result<Response<pb::SearchSessionsResponse>, Status> {
        let (sessions, query_text, limit) = self.search_plan(request.into_inner()).await?;
        let progress = Arc::new(search::Progress::default());
        let result = tokio::task::spawn_blocking(move || {
            search::search(&sessions, &query_text, limit, &progress)
        })
        .await
        .map_err(join_error)?;
        Ok(Response::new(search_response(result)))
    }

    type SearchStreamStream = stream::BoxStream<pb::SearchUpdate>;

    async fn search_stream(
        &self,
        request: Request<pb::SearchSessionsRequest>,
    ) -> Result<Response<Self::SearchStreamStream>, Status> {
        use pb::search_update::Update;
        let (sessions, query_text, limit) = self.search_plan(request.into_inner()).await?;
        let sessions_total = sessions.len() as u64;
        let bytes_total = sessions.iter().map(|s| s.file_size).sum();
        let progress = Arc::new(search::Progress::default());
        let mut running = tokio::task::spawn_blocking({
            let progress = progress.clone();
            move || search::search(&sessions, &query_text, limit, &progress)
        });
        Ok(Response::new(stream::async_stream(move |tx| async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_millis(250));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let update = loop {
                tokio::select! {
                    done = &mut running => break done.map_err(join_error).map(|result| {
                        pb::SearchUpdate { update: Some(Update::Result(search_response(result))) }
                    }),
                    _ = tick.tick() => {
                        let update = pb::SearchUpdate {
                            update: Some(Update::Progress(pb::SearchProgress {
                                sessions_searched: progress.sessions.load(Ordering::Relaxed),
                                sessions_total,
                                bytes_searched: progress.bytes.load(Ordering::Relaxed),
                                bytes_total,
                            })),
                        };
                        // A client that went away stops caring; the search ends on its own.
                        if tx.send(Ok(update)).await.is_err() {
                            return;
                        }
                    }
                }
            };
            let _ = tx.send(update).await;
        })))
    }

    async fn transcript(
        &self,
        request: Request<pb::TranscriptRequest>,
    ) -> Result<Response<pb::TranscriptResponse>, Status> {
        self.ctx.sessions.wait_ready().await;
        let req = request.into_inner();
        let meta = self.resolve(&req.id)?;
        let path = meta.file_path.clone();
        let messages = tokio::task::spawn_blocking(move || transcript::read(&path))
            .await
            .map_err(join_error)?
            .map_err(|err| io_error("cannot read the session file", err))?;
        let total = messages.len() as u32;
        let limit = if req.limit == 0 {
            usize::MAX
        } else {
            req.limit as usize
        };
        let page = messages
            .iter()
            .skip(req.offset as usize)
            .take(limit)
            .map(Into::into)
            .collect();
        Ok(Response::new(pb::TranscriptResponse {
            session: Some((&meta).into()),
            messages: page,
            total,
        }))
    }

    async fn export(
        &self,
        request: Request<pb::ExportRequest>,
    ) -> Result<Response<pb::ExportResponse>, Status> {
        self.ctx.sessions.wait_ready().await;
        let req = request.into_inner();
        let meta = if req.last {
            self.ctx
                .sessions
                .all()
                .into_iter()
                .max_by_key(|s| s.modified_at_ms)
                .ok_or_else(|| Status::not_found("no sessions are indexed yet"))?
        } else {
            self.resolve(&req.id)?
        };
        let path = meta.file_path.clone();
        let messages = tokio::task::spawn_blocking(move || transcript::read(&path))
            .await
            .map_err(join_error)?
            .map_err(|err| io_error("cannot read the session file", err))?;
        Ok(Response::new(pb::ExportResponse {
            session_id: meta.session_id.clone(),
            markdown: transcript::to_markdown(&meta, &messages),
        }))
    }

    async fn analytics(
        &self,
        request: Request<pb::AnalyticsRequest>,
    ) -> Result<Response<pb::AnalyticsResponse>, Status> {
        self.ctx.sessions.wait_ready().await;
        let request = request.into_inner();
        if !request.by.is_empty() {
            return self.analytics_by(request).await;
        }
        if !request.since.is_empty() {
            return Err(Status::invalid_argument(
                "since goes with by: add --by project, day, agent, batch or model",
            ));
        }
        let hours = check_hours(request.hours)?;
        let now = now_ms();
        let sessions: Vec<_> = self
            .ctx
            .sessions
            .all()
            .into_iter()
            .filter(|s| query::within_hours(s, hours, now))
            .map(|mut s| {
                // An agent's worktree counts towards its repository.
                let worktree_dir = &self.ctx.settings.config.worktree_dir;
                s.project_path = query::repository_of(&s.project_path, worktree_dir);
                s
            })
            .collect();
        let (projects, days, total) = query::analytics(&sessions);
        Ok(Response::new(pb::AnalyticsResponse {
            projects: projects.into_iter().map(Into::into).collect(),
            days: days.into_iter().map(Into::into).collect(),
            total: Some(total.into()),
            ..pb::AnalyticsResponse::default()
        }))
    }

    async fn health(
        &self,
        _: Request<pb::HealthRequest>,
    ) -> Result<Response<pb::HealthResponse>, Status> {
        self.ctx.sessions.wait_ready().await;
        let sessions = self.ctx.sessions.all();
        let report = tokio::task::spawn_blocking(move || query::health(&sessions, now_ms()))
            .await
            .map_err(join_error)?;
        let mut health = convert::health(
            &report,
            self.ctx.store.size_on_disk(),
            self.ctx.sessions.watcher_mode(),
        );
        health.notifications = Some((&self.ctx.notifier.summary()).into());
        Ok(Response::new(health))
    }

    async fn resume(
        &self,
        request: Request<pb::ResumeSessionRequest>,
    ) -> Result<Response<pb::ResumeSessionResponse>, Status> {
        self.ctx.sessions.wait_ready().await;
        let req = request.into_inner();
        let meta = self.resolve(&req.id)?;
        let agent = self
            .ctx
            .supervisor
            .resume(&meta, req.prompt, req.force, req.env.into_iter().collect())
            .await?;
        Ok(Response::new(pb::ResumeSessionResponse {
            session_id: meta.session_id,
            agent_id: agent.id.clone(),
            cwd: agent.cwd.display().to_string(),
            log_path: agent.log_path.display().to_string(),
        }))
    }
}
