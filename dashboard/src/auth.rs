//! Safe by default.
//!
//! Every request must name this machine as its Host (on loopback: a loopback name, which
//! defeats DNS rebinding) and, when it comes from a page, an Origin of the same host.
//! Requests that change something and WebSocket upgrades must carry that Origin. In LAN
//! mode every route but the pairing page also needs the cookie of a paired device, which
//! the daemon checks (its store keeps only token hashes). Every answer carries a
//! Content-Security-Policy that forbids inline script.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Form, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use orchestra_proto::v1::{PairRequest, VerifyRequest};
use serde::Deserialize;

use crate::AppState;

/// Name of the device cookie.
pub const COOKIE: &str = "orchestra_token";
/// How long a verified token is trusted before asking the daemon again (so a revoked
/// device is shut out within this time).
const TOKEN_TTL: Duration = Duration::from_secs(10);

/// The policy every answer carries: scripts, styles and connections from this origin
/// only, no inline script, no framing.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; manifest-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
frame-ancestors 'none'";

/// Device tokens verified lately.
#[derive(Debug, Default)]
pub struct TokenCache(Mutex<HashMap<String, Instant>>);

impl TokenCache {
    fn fresh(&self, token: &str) -> bool {
        self.0
            .lock()
            .get(token)
            .is_some_and(|at| at.elapsed() < TOKEN_TTL)
    }

    fn remember(&self, token: &str) {
        let mut cache = self.0.lock();
        cache.retain(|_, at| at.elapsed() < TOKEN_TTL);
        cache.insert(token.to_owned(), Instant::now());
    }
}

/// The routes of pairing.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/pair", get(pair_page).post(pair))
}

fn host_of(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::HOST).and_then(|h| h.to_str().ok())
}

fn is_loopback_host(host: &str, port: u16) -> bool {
    ["127.0.0.1", "localhost", "[::1]"]
        .iter()
        .any(|name| host == format!("{name}:{port}"))
}

/// The device token in the request's cookie, if any.
pub fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == COOKIE).then(|| value.to_owned())
        })
}

fn refuse(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{message}\n"),
    )
        .into_response()
}

/// Checks Host, Origin and (in LAN mode) the device token of every request, and adds
/// the security headers to every answer.
pub async fn guard(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let (headers, method, path) = (
        request.headers().clone(),
        request.method().clone(),
        request.uri().path().to_owned(),
    );
    match check(&state, &headers, &method, &path).await {
        Some(refusal) => with_headers(refusal),
        None => with_headers(next.run(request).await),
    }
}

/// `None` when the request may go on, else the refusal.
async fn check(
    state: &AppState,
    headers: &HeaderMap,
    method: &Method,
    path: &str,
) -> Option<Response> {
    let Some(host) = host_of(headers) else {
        return Some(refuse(StatusCode::BAD_REQUEST, "missing Host header"));
    };
    if !state.config.lan && !is_loopback_host(host, state.port) {
        return Some(refuse(
            StatusCode::FORBIDDEN,
            "this dashboard answers on 127.0.0.1 only",
        ));
    }
    let origin = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok());
    let is_upgrade = headers
        .get(header::UPGRADE)
        .is_some_and(|u| u.as_bytes().eq_ignore_ascii_case(b"websocket"));
    let changes = !matches!(*method, Method::GET | Method::HEAD);
    match origin {
        Some(origin) if origin != format!("{}://{host}", state.scheme()) => {
            return Some(refuse(
                StatusCode::FORBIDDEN,
                "cross-origin requests are refused",
            ));
        }
        None if changes || is_upgrade => {
            return Some(refuse(
                StatusCode::FORBIDDEN,
                "an Origin header is required",
            ));
        }
        _ => {}
    }
    if !state.config.lan || path == "/pair" {
        return None;
    }
    let Some(token) = cookie_token(headers) else {
        return Some(unpaired());
    };
    if state.tokens.fresh(&token) {
        return None;
    }
    let mut devices = state.client.devices();
    match devices
        .verify(VerifyRequest {
            token: token.clone(),
        })
        .await
    {
        Ok(_) => {
            state.tokens.remember(&token);
            None
        }
        Err(_) => Some(unpaired()),
    }
}

fn unpaired() -> Response {
    let page = "<!doctype html><meta charset=utf-8><meta name=viewport content=\"width=device-width\">\
<title>Pairing needed</title><link rel=stylesheet href=\"/app.css\">\
<main class=pair><h1>Pairing needed</h1><p>This dashboard only answers paired devices. \
On the machine running it, run <code>orchestractl web --lan</code> and open the link it prints \
(or scan its QR code).</p></main>";
    (StatusCode::UNAUTHORIZED, Html(page)).into_response()
}

fn with_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // same-origin, not no-referrer: under no-referrer a browser sends `Origin: null` with
    // the pairing form's POST, which the Origin check above (rightly) refuses. Other sites
    // still get no referrer.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// The query of the pairing link.
#[derive(Debug, Deserialize)]
pub struct PairQuery {
    /// The one-time code.
    #[serde(default)]
    code: String,
}

/// The pairing page: a form, so the one-time code is spent by a deliberate POST and not
/// by a link preview fetching the URL.
async fn pair_page(
    State(state): State<Arc<AppState>>,
    Query(query): Query<PairQuery>,
) -> Html<String> {
    let code: String = query
        .code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(16)
        .collect();
    Html(format!(
        "<!doctype html><meta charset=utf-8><meta name=viewport content=\"width=device-width\">\
<title>Pair this device</title><link rel=stylesheet href=\"/app.css\">\
<main class=pair><h1>Pair this device</h1>\
<p>This gives this browser lasting access to your agents. Only continue on your own device.</p>\
<form method=post action=\"/pair\"><label>Pairing code <input name=code value=\"{code}\" \
autocomplete=off autocapitalize=characters required></label>\
<button type=submit>Pair</button></form>{}</main>",
        fingerprint_note(&state)
    ))
}

/// On TLS, the certificate's fingerprint, for comparing with what the terminal printed.
fn fingerprint_note(state: &AppState) -> String {
    match &state.cert {
        // The fingerprint is hex and colons only: nothing in it needs escaping.
        Some(cert) => format!(
            "<p class=fingerprint>Certificate SHA-256 fingerprint (compare it with the one \
`orchestractl web --lan` printed):<br><code id=fingerprint>{}</code></p>",
            cert.fingerprint_sha256
        ),
        None => String::new(),
    }
}

/// The pairing form.
#[derive(Debug, Deserialize)]
pub struct PairForm {
    /// The one-time code.
    code: String,
}

async fn pair(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(form): Form<PairForm>,
) -> Response {
    let name = headers
        .get(header::USER_AGENT)
        .and_then(|ua| ua.to_str().ok())
        .unwrap_or("browser")
        .to_owned();
    let mut devices = state.client.devices();
    match devices
        .pair(PairRequest {
            code: form.code,
            device_name: name,
        })
        .await
    {
        Ok(paired) => {
            let token = paired.into_inner().token;
            state.tokens.remember(&token);
            // HttpOnly: no script can read it. SameSite=Strict: no other site can send it.
            // Secure (over TLS): the browser never sends it over plain HTTP.
            let secure = if state.cert.is_some() { "; Secure" } else { "" };
            let cookie = format!(
                "{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age=31536000{secure}"
            );
            let mut response = Redirect::to("/").into_response();
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
            response
        }
        Err(status) if status.code() == tonic::Code::ResourceExhausted => {
            refuse(StatusCode::TOO_MANY_REQUESTS, status.message())
        }
        Err(status) => refuse(StatusCode::UNAUTHORIZED, status.message()),
    }
}
