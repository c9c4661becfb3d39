//! Pairing a device (a phone on the LAN): the page with its form, and the form's POST.
//!
//! The one-time code is spent by a deliberate POST, not by a link preview fetching the
//! URL. The device is named by its user (the form's `name`, filled in with a short
//! browser and OS name such as "Chrome on Android"), never by its raw User-Agent; the
//! daemon refuses names its own clients use. Wrong codes count against the address they
//! came from only.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, Response};
use axum::routing::get;
use orchestra_proto::v1::PairRequest;
use serde::Deserialize;

use crate::AppState;
use crate::auth::{refuse, signed_in};

/// Longest name the form offers or sends on.
const MAX_NAME: usize = 60;

/// The routes of pairing.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/pair", get(pair_page).post(pair))
        .route("/api/pair", axum::routing::post(add_device))
}

/// `POST /api/pair` ("Add a device", for a signed-in device): a pairing code for this
/// page, its link and the link's QR code (an SVG data URL), as `orchestractl web pair`.
async fn add_device(State(state): State<Arc<AppState>>) -> Response {
    use axum::response::IntoResponse as _;
    let made = state
        .client
        .devices()
        .create_pairing_link(orchestra_proto::v1::CreatePairingLinkRequest {
            port: state.port.into(),
            device_name: String::new(),
        })
        .await;
    match made {
        Ok(link) => {
            let link = link.into_inner();
            let expires_at = chrono::DateTime::from_timestamp_millis(link.expires_at_ms)
                .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                .unwrap_or_default();
            let qr = qrcode::QrCode::new(link.url.as_bytes())
                .map(|qr| {
                    let svg = qr
                        .render::<qrcode::render::svg::Color<'_>>()
                        .min_dimensions(220, 220)
                        .dark_color(qrcode::render::svg::Color("#000000"))
                        .light_color(qrcode::render::svg::Color("#ffffff"))
                        .build();
                    use base64::Engine as _;
                    format!(
                        "data:image/svg+xml;base64,{}",
                        base64::engine::general_purpose::STANDARD.encode(svg)
                    )
                })
                .unwrap_or_default();
            axum::Json(serde_json::json!({
                "code": link.code,
                "url": link.url,
                "expires_at": expires_at,
                "qr": qr,
            }))
            .into_response()
        }
        Err(status) => crate::api::ApiError(status).into_response(),
    }
}

/// A short name for the browser of `user_agent`: "Chrome on Android", "Safari on iPhone",
/// "Firefox on Linux"; "browser" when nothing is recognised. Never the User-Agent itself,
/// which is long, and whatever a client wants it to be.
pub fn short_name(user_agent: &str) -> String {
    let has = |needle: &str| user_agent.contains(needle);
    let browser = if has("Firefox/") || has("FxiOS/") {
        Some("Firefox")
    } else if has("Edg/") || has("EdgA/") || has("EdgiOS/") {
        Some("Edge")
    } else if has("OPR/") {
        Some("Opera")
    } else if has("SamsungBrowser/") {
        Some("Samsung Internet")
    } else if has("Chrome/") || has("CriOS/") || has("Chromium/") {
        Some("Chrome")
    } else if has("Safari/") {
        Some("Safari")
    } else {
        None
    };
    let system = if has("Android") {
        Some("Android")
    } else if has("iPhone") {
        Some("iPhone")
    } else if has("iPad") {
        Some("iPad")
    } else if has("CrOS") {
        Some("ChromeOS")
    } else if has("Windows") {
        Some("Windows")
    } else if has("Macintosh") || has("Mac OS X") {
        Some("Mac")
    } else if has("Linux") {
        Some("Linux")
    } else {
        None
    };
    match (browser, system) {
        (Some(browser), Some(system)) => format!("{browser} on {system}"),
        (Some(name), None) | (None, Some(name)) => name.to_owned(),
        (None, None) => "browser".to_owned(),
    }
}

/// The short name of the browser that sent `headers`.
pub fn default_name(headers: &HeaderMap) -> String {
    short_name(
        headers
            .get(header::USER_AGENT)
            .and_then(|ua| ua.to_str().ok())
            .unwrap_or(""),
    )
}

/// `text` made safe inside a double-quoted HTML attribute.
fn attribute(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '&' => "&amp;".to_owned(),
            '"' => "&quot;".to_owned(),
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

/// The query of the pairing link.
#[derive(Debug, Deserialize)]
pub struct PairQuery {
    /// The one-time code.
    #[serde(default)]
    code: String,
    /// The name `orchestractl web pair --name` suggested for the device.
    #[serde(default)]
    name: String,
}

/// The pairing page: a form, so the one-time code is spent by a deliberate POST and not
/// by a link preview fetching the URL.
async fn pair_page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(query): Query<PairQuery>,
) -> Html<String> {
    let code: String = query
        .code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(16)
        .collect();
    let name = match query.name.trim() {
        "" => default_name(&headers),
        name => name.chars().take(MAX_NAME).collect(),
    };
    Html(format!(
        "<!doctype html><meta charset=utf-8><meta name=viewport content=\"width=device-width\">\
<title>Pair this device</title><link rel=stylesheet href=\"/app.css\">\
<main class=pair><h1>Pair this device</h1>\
<p>This gives this browser lasting access to your agents. Only continue on your own device.</p>\
<form method=post action=\"/pair\" class=card><label>Pairing code <input name=code value=\"{code}\" \
autocomplete=off autocapitalize=characters required></label>\
<label>Name of this device <input name=name value=\"{}\" maxlength={MAX_NAME} \
autocomplete=off></label>\
<button type=submit>Pair</button></form>{}</main>",
        attribute(&name),
        crate::trust::steps_html(&state)
    ))
}

/// The pairing form.
#[derive(Debug, Deserialize)]
pub struct PairForm {
    /// The one-time code.
    code: String,
    /// The name the user gave the device; empty or missing for the default.
    #[serde(default)]
    name: String,
}

async fn pair(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<PairForm>,
) -> Response {
    let name = match form.name.trim() {
        "" => default_name(&headers),
        name => name.chars().take(MAX_NAME).collect(),
    };
    let mut devices = state.client.devices();
    match devices
        .pair(PairRequest {
            code: form.code,
            device_name: name,
            address: peer.ip().to_string(),
        })
        .await
    {
        Ok(paired) => signed_in(&state, &paired.into_inner().token),
        Err(status) => refusal(&status),
    }
}

/// The answer to a refused pairing or login.
pub(crate) fn refusal(status: &tonic::Status) -> Response {
    let code = match status.code() {
        tonic::Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        tonic::Code::InvalidArgument => StatusCode::BAD_REQUEST,
        tonic::Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    };
    refuse(code, status.message())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_short_and_never_the_user_agent() {
        let cases = [
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36",
                "Chrome on Android",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
                "Safari on iPhone",
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
                "Firefox on Linux",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36 Edg/126.0",
                "Edge on Windows",
            ),
            ("cli", "browser"),
            ("", "browser"),
        ];
        for (ua, name) in cases {
            assert_eq!(short_name(ua), name, "{ua}");
        }
        assert_eq!(attribute("a\"<b>&"), "a&quot;&lt;b&gt;&amp;");
    }
}
