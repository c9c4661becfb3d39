//! The page's part of agents talking: a batch's message thread, and answers to agents'
//! questions (approvals of kind `question`). Each route is one gRPC call, as in `api`.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use orchestra_proto::v1 as pb;
use serde::Deserialize;

use crate::AppState;
use crate::api::ApiResult;

/// The routes.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/messages", get(messages))
        .route("/api/approvals/{id}/answer", post(answer))
}

/// Which messages: of a batch, of an agent, or all.
#[derive(Debug, Deserialize)]
pub struct MessagesQuery {
    /// A batch id.
    #[serde(default)]
    batch: String,
    /// An agent id.
    #[serde(default)]
    agent: String,
    /// The host whose batch or agent it is (the card's `host`); empty for this machine.
    #[serde(default)]
    host: String,
}

async fn messages(
    State(state): State<Arc<AppState>>,
    Query(query): Query<MessagesQuery>,
) -> ApiResult {
    let response = state
        .daemon(&query.host)?
        .talk()
        .list_messages(pb::ListMessagesRequest {
            agent: query.agent,
            batch_id: query.batch,
        })
        .await?;
    Ok(Json(response.into_inner().messages).into_response())
}

/// An answer to a question from the page.
#[derive(Debug, Deserialize)]
pub struct AnswerBody {
    /// The answer (a choice's text, or typed).
    text: String,
    /// The host that asked, as its card names it; empty or `local` for this machine.
    #[serde(default)]
    host: String,
}

async fn answer(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    Json(body): Json<AnswerBody>,
) -> ApiResult {
    // Answered under the device's own name, as approvals are (see `api::decide`), and
    // on the host that asked.
    let by = state.answerer(&body.host, &headers)?;
    let response = by
        .daemon
        .talk()
        .answer(pb::AnswerRequest {
            id,
            text: body.text,
            device_token: by.device_token.clone(),
            client: by.client.to_owned(),
        })
        .await?;
    Ok(Json(by.tagged(response.into_inner().approval)).into_response())
}
