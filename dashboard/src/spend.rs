//! The page's spend card: what agents spent today against the daily cap, the latest
//! batch against its cap, and spend per local day for the last two weeks (for the chart).
//! One call to the daemon's `Analytics` (`--by day --since 13d`) and one to `Agents.List`.

use std::sync::Arc;

use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router, response::Response};
use orchestra_proto::v1 as pb;
use serde_json::json;

use crate::AppState;
use crate::api::ApiResult;

/// The spend card's route.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/api/spend", get(spend))
}

async fn spend(State(state): State<Arc<AppState>>) -> ApiResult {
    let days = state
        .client
        .sessions()
        .analytics(pb::AnalyticsRequest {
            by: "day".to_owned(),
            // Today and the 13 days before it: two weeks.
            since: "13d".to_owned(),
            ..pb::AnalyticsRequest::default()
        })
        .await?
        .into_inner();
    let agents = state
        .client
        .agents()
        .list(pb::ListAgentsRequest::default())
        .await?
        .into_inner()
        .agents;
    Ok(answer(&days, &agents))
}

/// The card's figures: `today {spent_usd, cap_usd}`, `batch {id, spent_usd, cap_usd,
/// agent_cap_usd}` of the newest spawn (absent with no agents), and `days [{day, cost_usd}]`
/// oldest first, only the days with usage (the page fills the gaps).
fn answer(days: &pb::AnalyticsResponse, agents: &[pb::Agent]) -> Response {
    let latest = agents.iter().max_by_key(|a| a.created_at_ms);
    let batch = latest.map(|newest| {
        let members: Vec<&pb::Agent> = agents
            .iter()
            .filter(|a| a.batch_id == newest.batch_id)
            .collect();
        json!({
            "id": newest.batch_id,
            "spent_usd": members.iter().map(|a| a.total_cost_usd).sum::<f64>(),
            "cap_usd": newest.batch_max_budget_usd,
            "agent_cap_usd": newest.max_budget_usd,
            "agents": members.len(),
        })
    });
    let mut per_day: Vec<serde_json::Value> = days
        .rows
        .iter()
        .map(|r| json!({"day": r.key, "cost_usd": r.cost_usd}))
        .collect();
    per_day.reverse();
    Json(json!({
        "today": {"spent_usd": days.day_spent_usd, "cap_usd": days.day_cap_usd},
        "batch": batch,
        "days": per_day,
    }))
    .into_response()
}
