//! Logging in on this machine with a one-time link from `orchestractl web link`.
//!
//! The link's token was minted by the daemon for the socket's own user; opening the link
//! spends it (the daemon checks and forgets it) and gives this browser a device token in
//! an HttpOnly, SameSite=Strict cookie, then sends it to the page. A browser that already
//! holds a valid cookie is sent on without spending the link.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse as _, Redirect, Response};
use axum::routing::get;
use orchestra_proto::v1::RedeemLoginLinkRequest;
use serde::Deserialize;

use crate::AppState;
use crate::auth::{Verdict, signed_in, verify};

/// The login route.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/login", get(login))
}

/// The query of a login link.
#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    /// The link's one-time token.
    #[serde(default)]
    token: String,
}

async fn login(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(query): Query<LoginQuery>,
) -> Response {
    if let Some(token) = state.device_token(&headers)
        && matches!(verify(&state, &token).await, Verdict::Valid)
    {
        return Redirect::to("/").into_response();
    }
    let mut devices = state.client.devices();
    match devices
        .redeem_login_link(RedeemLoginLinkRequest {
            token: query.token,
            device_name: crate::pair::default_name(&headers),
        })
        .await
    {
        Ok(redeemed) => signed_in(&state, &redeemed.into_inner().token),
        Err(status) => crate::pair::refusal(&status),
    }
}
