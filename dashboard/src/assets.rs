//! The app's files, compiled into the binary: the dashboard needs no CDN and no network
//! beyond the machine it runs on.

use std::sync::Arc;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::AppState;

/// JavaScript, served as modules (`app.js` imports the others).
const JS: &str = "text/javascript; charset=utf-8";

/// `(path, content type, content)` of the asset file `assets/$name`, served at `/$name`.
macro_rules! asset {
    ($name:literal, $type:expr) => {
        (
            concat!("/", $name),
            $type,
            include_str!(concat!("../assets/", $name)),
        )
    };
}

/// Every asset but the page and the PNG icons, one line per file in name order. A new
/// module of the page is one more line here and an `import` where it is used.
const ASSETS: &[(&str, &str, &str)] = &[
    asset!("agents.js", JS),
    asset!("app.css", "text/css; charset=utf-8"),
    asset!("app.js", JS),
    asset!("approvals.js", JS),
    asset!("batches.js", JS),
    asset!("changes.js", JS),
    asset!("devices.js", JS),
    asset!("dom.js", JS),
    asset!("hosts.js", JS),
    asset!("icon.svg", "image/svg+xml"),
    asset!("icons.js", JS),
    asset!("live.js", JS),
    asset!("logs.js", JS),
    asset!("manifest.webmanifest", "application/manifest+json"),
    asset!("notify.js", JS),
    asset!("question.js", JS),
    asset!("panel.js", JS),
    asset!("sessions.js", JS),
    asset!("spend.js", JS),
    asset!("sw.js", JS),
    asset!("tabs.js", JS),
    asset!("thread.js", JS),
    asset!("transcript.js", JS),
    asset!("worktrees.js", JS),
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
