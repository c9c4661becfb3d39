//! The JSON API of the page: each route is one gRPC call to the daemon.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use orchestra_proto::v1 as pb;
use serde::Deserialize;
use serde_json::json;

use crate::{AppState, OnHost};

/// The API routes.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/info", get(info))
        .route("/api/health", get(health))
        .route("/api/agents", get(agents).post(spawn))
        .route("/api/agents/{id}/stop", post(stop))
        .route("/api/agents/{id}/send", post(send))
        .route("/api/sessions", get(sessions))
        .route("/api/sessions/{id}/transcript", get(transcript))
        .route("/api/sessions/{id}/resume", post(resume))
        .route("/api/worktrees", get(worktrees))
        .route("/api/cleanup", post(cleanup))
        .route("/api/approvals/{id}/decide", post(decide))
}

/// A gRPC error as an HTTP answer with the daemon's message.
pub(crate) struct ApiError(pub(crate) tonic::Status);

impl From<tonic::Status> for ApiError {
    fn from(status: tonic::Status) -> Self {
        ApiError(status)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        use tonic::Code;
        let status = match self.0.code() {
            Code::NotFound => StatusCode::NOT_FOUND,
            Code::InvalidArgument | Code::FailedPrecondition => StatusCode::BAD_REQUEST,
            Code::Unauthenticated => StatusCode::UNAUTHORIZED,
            Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
            Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        (status, Json(json!({"error": self.0.message()}))).into_response()
    }
}

pub(crate) type ApiResult = Result<Response, ApiError>;

async fn info(State(state): State<Arc<AppState>>) -> Json<serde_json::Value> {
    Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "repo": state.config.repo,
        "lan": state.config.lan,
        "tls": state.cert.is_some(),
        "fingerprint_sha256": state.cert.as_ref().map(|c| c.fingerprint_sha256.clone()),
        "ca_fingerprint_sha256": state.ca.as_ref().map(|c| c.fingerprint_sha256.clone()),
    }))
}

/// What is wrong with the daemon's disk or store, for the page's banner.
async fn health(State(state): State<Arc<AppState>>) -> ApiResult {
    let status = state
        .client
        .daemon()
        .status(pb::StatusRequest {})
        .await?
        .into_inner();
    Ok(Json(json!({
        "conditions": status.conditions,
        "disk": status.disk,
        "store": status.store,
    }))
    .into_response())
}

async fn agents(State(state): State<Arc<AppState>>) -> ApiResult {
    let list = state
        .client
        .agents()
        .list(pb::ListAgentsRequest::default())
        .await?;
    Ok(Json(list.into_inner().agents).into_response())
}

/// A spawn from the page.
#[derive(Debug, Deserialize)]
pub struct SpawnBody {
    /// One task per entry.
    tasks: Vec<String>,
    /// Repository path; empty for the dashboard's default.
    #[serde(default)]
    repo: String,
    /// At most this many at once; 0 for the default.
    #[serde(default)]
    parallel: u32,
    /// Model, if any.
    #[serde(default)]
    model: String,
}

async fn spawn(State(state): State<Arc<AppState>>, Json(body): Json<SpawnBody>) -> ApiResult {
    let repo = if body.repo.trim().is_empty() {
        state.config.repo.display().to_string()
    } else {
        body.repo.trim().to_owned()
    };
    let response = state
        .client
        .agents()
        .spawn(pb::SpawnRequest {
            repo,
            tasks: body.tasks,
            parallel: body.parallel,
            model: body.model,
            // Agents started from the page get the dashboard's environment, which is
            // the environment of the shell that ran `orchestractl web`.
            env: std::env::vars().collect(),
            ..pb::SpawnRequest::default()
        })
        .await?;
    Ok(Json(response.into_inner().agents).into_response())
}

async fn stop(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    Query(on): Query<OnHost>,
) -> ApiResult {
    let response = state
        .daemon(&on.host)?
        .agents()
        .stop(pb::StopRequest { id, all: false })
        .await?;
    Ok(Json(response.into_inner().agents).into_response())
}

/// A follow-up message.
#[derive(Debug, Deserialize)]
pub struct SendBody {
    /// What to say.
    message: String,
}

async fn send(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    Query(on): Query<OnHost>,
    Json(body): Json<SendBody>,
) -> ApiResult {
    let response = state
        .daemon(&on.host)?
        .agents()
        .send(pb::SendRequest {
            id,
            message: body.message,
        })
        .await?;
    Ok(Json(response.into_inner()).into_response())
}

/// Query of the session list.
#[derive(Debug, Deserialize)]
pub struct SessionsQuery {
    /// Search text; empty to list.
    #[serde(default)]
    q: String,
    /// Hours to look back; 0 for all.
    #[serde(default)]
    hours: f64,
}

async fn sessions(
    State(state): State<Arc<AppState>>,
    Query(query): Query<SessionsQuery>,
) -> ApiResult {
    let mut client = state.client.sessions();
    if query.q.trim().is_empty() {
        let list = client
            .list(pb::ListSessionsRequest {
                hours: query.hours,
                limit: 300,
                ..pb::ListSessionsRequest::default()
            })
            .await?;
        return Ok(Json(json!({"sessions": list.into_inner().sessions})).into_response());
    }
    let found = client
        .search(pb::SearchSessionsRequest {
            query: query.q,
            hours: query.hours,
            limit: 100,
        })
        .await?;
    Ok(Json(json!({"hits": found.into_inner().hits})).into_response())
}

/// Paging of a transcript.
#[derive(Debug, Deserialize)]
pub struct TranscriptQuery {
    /// First message.
    #[serde(default)]
    offset: u32,
    /// At most this many.
    #[serde(default)]
    limit: u32,
}

async fn transcript(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    Query(query): Query<TranscriptQuery>,
) -> ApiResult {
    let response = state
        .client
        .sessions()
        .transcript(pb::TranscriptRequest {
            id,
            offset: query.offset,
            limit: if query.limit == 0 { 500 } else { query.limit },
        })
        .await?;
    Ok(Json(response.into_inner()).into_response())
}

/// A resume from the page.
#[derive(Debug, Deserialize)]
pub struct ResumeBody {
    /// What to say; empty to just continue.
    #[serde(default)]
    prompt: String,
}

async fn resume(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    Json(body): Json<ResumeBody>,
) -> ApiResult {
    let response = state
        .client
        .sessions()
        .resume(pb::ResumeSessionRequest {
            id,
            prompt: body.prompt,
            force: false,
            env: std::env::vars().collect(),
        })
        .await?;
    Ok(Json(response.into_inner()).into_response())
}

/// Which repository.
#[derive(Debug, Deserialize)]
pub struct RepoQuery {
    /// Path; empty for the dashboard's default.
    #[serde(default)]
    repo: String,
}

fn repo_or_default(state: &AppState, repo: &str) -> String {
    if repo.trim().is_empty() {
        state.config.repo.display().to_string()
    } else {
        repo.trim().to_owned()
    }
}

async fn worktrees(
    State(state): State<Arc<AppState>>,
    Query(query): Query<RepoQuery>,
) -> ApiResult {
    let response = state
        .client
        .agents()
        .worktrees(pb::WorktreesRequest {
            repo: repo_or_default(&state, &query.repo),
        })
        .await?;
    Ok(Json(response.into_inner()).into_response())
}

/// A cleanup from the page.
#[derive(Debug, Deserialize)]
pub struct CleanupBody {
    /// Repository; empty for the default.
    #[serde(default)]
    repo: String,
    /// Also unmerged branches' worktrees.
    #[serde(default)]
    all: bool,
    /// Only say what would happen.
    #[serde(default)]
    dry_run: bool,
}

async fn cleanup(State(state): State<Arc<AppState>>, Json(body): Json<CleanupBody>) -> ApiResult {
    let response = state
        .client
        .agents()
        .cleanup(pb::CleanupRequest {
            repo: repo_or_default(&state, &body.repo),
            all: body.all,
            dry_run: body.dry_run,
            force: false,
        })
        .await?;
    Ok(Json(response.into_inner()).into_response())
}

/// An answer to an approval from the page.
#[derive(Debug, Deserialize)]
pub struct DecideBody {
    /// "allow", "always" or "deny".
    decision: String,
    /// For deny: what the model is told.
    #[serde(default)]
    message: String,
    /// The host that asked (`orchestractl hosts`), as its card names it; empty or
    /// `local` for this machine.
    #[serde(default)]
    host: String,
    /// For a budget approval's "allow": raise the cap by this many US dollars (0 or
    /// absent: by the cap's own amount again).
    #[serde(default)]
    raise_usd: f64,
}

async fn decide(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    Json(body): Json<DecideBody>,
) -> ApiResult {
    // Every page is a logged-in device (on loopback too) and answers under its own name;
    // the daemon checks the token again. Another host's approval is answered there.
    let by = state.answerer(&body.host, &headers)?;
    let response = by
        .daemon
        .approvals()
        .decide(pb::DecideRequest {
            id,
            decision: body.decision,
            message: body.message,
            device_token: by.device_token.clone(),
            client: by.client.to_owned(),
            raise_usd: body.raise_usd,
        })
        .await?;
    Ok(Json(by.tagged(response.into_inner().approval)).into_response())
}
