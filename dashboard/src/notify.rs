//! Notifications for the page: follows the daemon's `Notify.Watch` stream and hands each
//! notification to the live hub, which shows it as a toast and counts it in the title.
//!
//! While it watches, the daemon puts links to this dashboard in the notifications it
//! sends elsewhere (ntfy's `Click`, the webhook's `url`).
//!
//! It also lets a paired phone opt in to Web Push: the page asks for the daemon's VAPID
//! key (`GET /api/push`), subscribes through its service worker, and hands the
//! subscription over (`POST /api/push/subscribe`); the daemon keeps it as a `webpush`
//! channel of that device and pushes to it from then on, page open or not.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse as _;
use axum::routing::{get, post};
use axum::{Json, Router};
use orchestra_proto::Client;
use orchestra_proto::v1 as pb;
use orchestra_proto::v1::WatchNotificationsRequest;
use serde::Deserialize;
use serde_json::json;
use tokio_stream::StreamExt;

use crate::AppState;
use crate::api::{ApiError, ApiResult};
use crate::live::Hub;

/// The Web Push routes.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/push", get(push_info))
        .route("/api/push/subscribe", post(subscribe))
        .route("/api/push/unsubscribe", post(unsubscribe))
}

/// Why this page cannot use Web Push, or `None` when it can: only a paired device on the
/// TLS LAN page has a subscription the daemon can tie to it (a loopback page is on the
/// daemon's own machine, where the desktop channel and the page's notifications serve).
fn push_unavailable(state: &AppState, headers: &HeaderMap) -> Option<&'static str> {
    if state.cert.is_none() {
        Some(
            "Web Push needs the dashboard served over TLS to a paired device: `orchestractl web --lan`",
        )
    } else if state.device_token(headers).is_none() {
        Some("this device is not paired")
    } else {
        None
    }
}

async fn push_info(State(state): State<Arc<AppState>>, headers: HeaderMap) -> ApiResult {
    let key = state
        .client
        .notify()
        .push_key(pb::PushKeyRequest {})
        .await?
        .into_inner();
    let unavailable = push_unavailable(&state, &headers);
    Ok(Json(json!({
        "available": unavailable.is_none(),
        "reason": unavailable.unwrap_or_default(),
        "public_key": key.public_key,
    }))
    .into_response())
}

/// A browser's `PushSubscription.toJSON()`.
#[derive(Debug, Deserialize)]
pub struct SubscriptionBody {
    /// The push service URL.
    endpoint: String,
    /// The browser's key and secret.
    keys: SubscriptionKeys,
}

/// `keys` of a `PushSubscription`.
#[derive(Debug, Deserialize)]
pub struct SubscriptionKeys {
    /// P-256 public key, base64url.
    p256dh: String,
    /// Authentication secret, base64url.
    auth: String,
}

async fn subscribe(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Json(body): Json<SubscriptionBody>,
) -> ApiResult {
    if let Some(why) = push_unavailable(&state, &headers) {
        return Err(ApiError(tonic::Status::failed_precondition(why)));
    }
    let response = state
        .client
        .notify()
        .push_subscribe(pb::PushSubscribeRequest {
            device_token: state.device_token(&headers).unwrap_or_default(),
            endpoint: body.endpoint,
            p256dh: body.keys.p256dh,
            auth: body.keys.auth,
        })
        .await?
        .into_inner();
    Ok(Json(json!({"channel": response.channel})).into_response())
}

async fn unsubscribe(State(state): State<Arc<AppState>>, headers: HeaderMap) -> ApiResult {
    if let Some(why) = push_unavailable(&state, &headers) {
        return Err(ApiError(tonic::Status::failed_precondition(why)));
    }
    let response = state
        .client
        .notify()
        .push_unsubscribe(pb::PushUnsubscribeRequest {
            device_token: state.device_token(&headers).unwrap_or_default(),
        })
        .await?
        .into_inner();
    Ok(Json(json!({"removed": response.removed})).into_response())
}

/// Follows notifications until the dashboard stops, reconnecting after losing the daemon.
pub async fn follow(hub: Arc<Hub>, daemon: Client, dashboard_url: String) {
    loop {
        let mut client = daemon.notify();
        let request = WatchNotificationsRequest {
            dashboard_url: dashboard_url.clone(),
        };
        if let Ok(stream) = client.watch(request).await {
            let mut stream = stream.into_inner();
            while let Some(Ok(notification)) = stream.next().await {
                hub.push(
                    |seq| json!({"type": "notification", "seq": seq, "notification": notification}),
                );
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
