//! Safe by default.
//!
//! Every request must name this machine as its Host ([`crate::hosts`]: on loopback a
//! loopback name, on the LAN a name or address of this machine; DNS rebinding is refused)
//! and, when it comes from a page, an Origin of the same host. Requests that change
//! something and WebSocket upgrades must carry that Origin. Every route but the login and
//! pairing pages (and their style sheet) needs the cookie of a device, on loopback as on
//! the LAN, which the daemon checks (its store keeps only token hashes): a browser gets
//! one from a one-time login link ([`crate::login`], minted only for the socket's user) or
//! by pairing ([`crate::pair`]). Every answer carries a Content-Security-Policy that
//! forbids inline script.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use orchestra_proto::v1::VerifyRequest;
use std::sync::Arc;

use crate::AppState;

/// Name of the device cookie over plain HTTP (loopback, `--insecure-http`).
pub const COOKIE: &str = "orchestra_token";
/// Name of the device cookie over TLS. The `__Host-` prefix makes the browser keep it
/// only if it is `Secure`, for this host alone and the whole path: no other name on the
/// network (nor plain HTTP) can plant or shadow it.
pub const TLS_COOKIE: &str = "__Host-orchestra_token";
/// How long a verified token is trusted before asking the daemon again: a revoked device
/// is refused within this time, and its live sockets (checked every
/// [`crate::live::RECHECK`]) close within this time and one check more.
pub const TOKEN_TTL: Duration = Duration::from_secs(5);
/// What loads without a device cookie: the login and pairing pages and their styles.
const PUBLIC: &[&str] = &[
    "/login",
    "/pair",
    "/app.css",
    "/ca.crt",
    "/ca.der",
    // Browsers fetch the manifest without cookies; it holds the app's name and icons only.
    "/manifest.webmanifest",
];

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

    /// Trusts `token` for [`TOKEN_TTL`] (it was just issued or verified).
    pub fn remember(&self, token: &str) {
        let mut cache = self.0.lock();
        cache.retain(|_, at| at.elapsed() < TOKEN_TTL);
        cache.insert(token.to_owned(), Instant::now());
    }
}

/// The name of the device cookie on a page served over TLS (`tls`) or plain HTTP.
pub fn cookie_name(tls: bool) -> &'static str {
    if tls { TLS_COOKIE } else { COOKIE }
}

/// The device token in the request's cookie named for `tls`, if any.
pub fn cookie_token(headers: &HeaderMap, tls: bool) -> Option<String> {
    let wanted = cookie_name(tls);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == wanted).then(|| value.to_owned())
        })
}

/// A plain-text refusal.
pub(crate) fn refuse(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{message}\n"),
    )
        .into_response()
}

/// Checks Host, Origin and the device token of every request, and adds the security
/// headers to every answer.
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
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return Some(refuse(StatusCode::BAD_REQUEST, "missing Host header"));
    };
    if !state.hosts.allows(host) {
        let names = if state.config.lan {
            "this machine's name or address"
        } else {
            "127.0.0.1 or localhost"
        };
        return Some(refuse(
            StatusCode::FORBIDDEN,
            &format!(
                "this dashboard answers only to {names} on port {}: open the address `orchestractl web` printed",
                state.port
            ),
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
    if PUBLIC.contains(&path) {
        return None;
    }
    let Some(token) = state.device_token(headers) else {
        return Some(unauthorized(state));
    };
    match verify(state, &token).await {
        Verdict::Valid => None,
        Verdict::Refused => Some(unauthorized(state)),
        Verdict::Unknown(status) => Some(refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!(
                "cannot check this device with orchestrad ({}): is it running? try `orchestractl daemon start`",
                status.message()
            ),
        )),
    }
}

/// What the daemon says of a device token.
#[derive(Debug)]
pub enum Verdict {
    /// Issued and not revoked (or verified less than [`TOKEN_TTL`] ago).
    Valid,
    /// Unknown or revoked.
    Refused,
    /// The daemon could not be asked.
    Unknown(tonic::Status),
}

/// Checks `token` with the daemon, or with the cache when verified lately.
pub async fn verify(state: &AppState, token: &str) -> Verdict {
    if state.tokens.fresh(token) {
        return Verdict::Valid;
    }
    let mut devices = state.client.devices();
    match devices
        .verify(VerifyRequest {
            token: token.to_owned(),
        })
        .await
    {
        Ok(_) => {
            state.tokens.remember(token);
            Verdict::Valid
        }
        Err(status) if status.code() == tonic::Code::Unauthenticated => Verdict::Refused,
        Err(status) => Verdict::Unknown(status),
    }
}

/// The 401 page: how to get in.
fn unauthorized(state: &AppState) -> Response {
    let how = if state.config.lan {
        "<p>This dashboard only answers paired devices. On the machine running it, run \
<code>orchestractl web --lan</code> and open the pairing link it prints (or scan its QR code). \
On that machine itself, <code>orchestractl web link</code> prints a login link.</p>"
    } else {
        "<p>This dashboard only answers you. On this machine, run \
<code>orchestractl web link</code> and open the link it prints (valid 60 seconds, once).</p>"
    };
    let page = format!(
        "<!doctype html><meta charset=utf-8><meta name=viewport content=\"width=device-width\">\
<title>Log in</title><link rel=stylesheet href=\"/app.css\">\
<main class=pair><h1>Log in</h1>{how}</main>"
    );
    (StatusCode::UNAUTHORIZED, Html(page)).into_response()
}

/// The answer that gives a browser its device `token`: the cookie, and a redirect to the
/// page.
pub(crate) fn signed_in(state: &AppState, token: &str) -> Response {
    state.tokens.remember(token);
    // HttpOnly: no script can read it. SameSite=Strict: no other site can send it.
    // Over TLS, Secure and the __Host- prefix: never sent over plain HTTP, and no other
    // host can set or shadow it.
    let tls = state.cert.is_some();
    let secure = if tls { "; Secure" } else { "" };
    let cookie = format!(
        "{}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age=31536000{secure}",
        cookie_name(tls)
    );
    let mut response = Redirect::to("/").into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

pub(crate) fn with_headers(mut response: Response) -> Response {
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
