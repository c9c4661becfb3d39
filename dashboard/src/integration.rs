//! The page's batch view API: preview a merge (the dry run), merge (verified when asked or
//! when the repository's `.orchestra.json` names a check, then followed with
//! `/api/merge-status`), repair a red batch, and the batch report. Each route is one call
//! to the daemon's `Integration` service.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use orchestra_proto::v1 as pb;
use serde::Deserialize;

use crate::api::ApiResult;
use crate::{AppState, OnHost};

/// The batch view's routes.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/merge", post(merge))
        .route("/api/merge-status", get(merge_status))
        .route("/api/agents/{id}/diff", get(diff))
        .route("/api/agents/{id}/review", post(review))
        .route("/api/report", get(report))
}

/// The repository: the page's choice, else the one the dashboard was started in (for
/// this machine only: another host's daemon is sent no path of ours).
fn repo_of(state: &AppState, repo: &str, host: &str) -> String {
    if repo.trim().is_empty() && crate::is_local(host) {
        state.config.repo.display().to_string()
    } else {
        repo.trim().to_owned()
    }
}

/// A merge or its preview, from the page.
#[derive(Debug, Deserialize)]
pub struct MergeBody {
    /// Repository; empty for the default.
    #[serde(default)]
    repo: String,
    /// The batch; empty for the latest.
    #[serde(default)]
    batch_id: String,
    /// Only the pairwise conflicts.
    #[serde(default)]
    dry_run: bool,
    /// The check to run on the merged result; empty for `.orchestra.json`'s, if any.
    #[serde(default)]
    verify: String,
    /// Rounds of repair (the page's Repair button sends 1).
    #[serde(default)]
    repair: Option<u32>,
    /// The host whose batch it is (the card's `host`); empty for this machine.
    #[serde(default)]
    host: String,
}

async fn merge(State(state): State<Arc<AppState>>, Json(body): Json<MergeBody>) -> ApiResult {
    let daemon = state.daemon(&body.host)?;
    let request = pb::MergeRequest {
        repo: repo_of(&state, &body.repo, &body.host),
        batch_id: body.batch_id,
        dry_run: body.dry_run,
        verify: body.verify,
        repair_rounds: body.repair,
        // A verified merge may take minutes: the page follows it with /api/merge-status.
        no_wait: true,
        ..pb::MergeRequest::default()
    };
    Ok(Json(daemon.integration().merge(request).await?.into_inner()).into_response())
}

async fn merge_status(
    State(state): State<Arc<AppState>>,
    Query(query): Query<ReportQuery>,
) -> ApiResult {
    let daemon = state.daemon(&query.host)?;
    let request = pb::MergeStatusRequest {
        repo: repo_of(&state, &query.repo, &query.host),
        batch_id: query.batch,
    };
    match daemon.integration().merge_status(request).await {
        Ok(response) => Ok(Json(response.into_inner()).into_response()),
        // No verified merge of this batch (yet): nothing to show, not an error for the
        // page, which asks for every batch card.
        Err(status)
            if matches!(
                status.code(),
                tonic::Code::NotFound | tonic::Code::FailedPrecondition
            ) =>
        {
            Ok(Json(pb::MergeStatusResponse::default()).into_response())
        }
        Err(status) => Err(status.into()),
    }
}

/// An agent's change, the same JSON as `orchestractl diff --json` (`?stat=1` for the
/// counts).
async fn diff(
    State(state): State<Arc<AppState>>,
    axum::extract::Path(id): axum::extract::Path<String>,
    Query(query): Query<DiffQuery>,
) -> ApiResult {
    let daemon = state.daemon(&query.host)?;
    let request = pb::DiffRequest {
        id,
        stat: query.stat.as_deref() == Some("1"),
    };
    Ok(Json(daemon.integration().diff(request).await?.into_inner()).into_response())
}

/// Line comments, sending them, or an approval, from the page.
#[derive(Debug, Deserialize)]
pub struct ReviewBody {
    /// Comments to add.
    #[serde(default)]
    comments: Vec<CommentBody>,
    /// Send the open comments to the agent.
    #[serde(default)]
    send: bool,
    /// Approve the change.
    #[serde(default)]
    approve: bool,
}

/// One line comment from the page.
#[derive(Debug, Deserialize)]
pub struct CommentBody {
    path: String,
    line: u32,
    text: String,
}

async fn review(
    State(state): State<Arc<AppState>>,
    axum::extract::Path(id): axum::extract::Path<String>,
    Query(on): Query<OnHost>,
    Json(body): Json<ReviewBody>,
) -> ApiResult {
    let daemon = state.daemon(&on.host)?;
    let request = pb::ReviewRequest {
        id,
        comments: body
            .comments
            .into_iter()
            .map(|c| pb::ReviewComment {
                path: c.path,
                line: c.line,
                text: c.text,
                ..pb::ReviewComment::default()
            })
            .collect(),
        send: body.send,
        approve: body.approve,
    };
    Ok(Json(daemon.integration().review(request).await?.into_inner()).into_response())
}

/// `?stat=1`: the files and their counts only.
#[derive(Debug, Deserialize)]
pub struct DiffQuery {
    /// "1" for the counts only.
    #[serde(default)]
    stat: Option<String>,
    /// The host whose agent it is (the card's `host`); empty for this machine.
    #[serde(default)]
    host: String,
}

/// Which report, or which batch's verified merge.
#[derive(Debug, Deserialize)]
pub struct ReportQuery {
    /// Repository; empty for the default.
    #[serde(default)]
    repo: String,
    /// The batch; empty for the latest.
    #[serde(default)]
    batch: String,
    /// The host whose batch it is (the card's `host`); empty for this machine.
    #[serde(default)]
    host: String,
}

async fn report(State(state): State<Arc<AppState>>, Query(query): Query<ReportQuery>) -> ApiResult {
    let daemon = state.daemon(&query.host)?;
    let request = pb::ReportRequest {
        repo: repo_of(&state, &query.repo, &query.host),
        batch_id: query.batch,
    };
    Ok(Json(daemon.integration().report(request).await?.into_inner()).into_response())
}
