//! The app's files, compiled into the binary: the dashboard needs no CDN and no network
//! beyond the machine it runs on.

use std::sync::Arc;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::AppState;

/// (path, content type, content) of every asset.
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "/app.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/app.js"),
    ),
    (
        "/approvals.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/approvals.js"),
    ),
    (
        "/batches.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/batches.js"),
    ),
    (
        "/transcript.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/transcript.js"),
    ),
    (
        "/notify.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/notify.js"),
    ),
    (
        "/app.css",
        "text/css; charset=utf-8",
        include_str!("../assets/app.css"),
    ),
    (
        "/manifest.webmanifest",
        "application/manifest+json",
        include_str!("../assets/manifest.webmanifest"),
    ),
    (
        "/sw.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/sw.js"),
    ),
    (
        "/icon.svg",
        "image/svg+xml",
        include_str!("../assets/icon.svg"),
    ),
];

/// Home-screen icons (rendered from icon.svg), which phones want as PNG.
const ICONS: &[(&str, &[u8])] = &[
    ("/icon-192.png", include_bytes!("../assets/icon-192.png")),
    ("/icon-512.png", include_bytes!("../assets/icon-512.png")),
];

/// The page and its assets.
pub fn routes() -> Router<Arc<AppState>> {
    let mut router = Router::new().route("/", get(index));
    for (path, body) in ICONS {
        router = router.route(
            path,
            get(move || async move { ([(header::CONTENT_TYPE, "image/png")], *body) }),
        );
    }
    for (path, content_type, body) in ASSETS {
        router = router.route(
            path,
            get(move || async move { ([(header::CONTENT_TYPE, *content_type)], *body) }),
        );
    }
    router
}

async fn index() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        include_str!("../assets/index.html"),
    )
}
