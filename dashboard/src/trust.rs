//! Getting a phone to trust the page: the CA certificate at `/ca.crt` (PEM) and `/ca.der`
//! (DER, for iOS profiles), public because a certificate is; and the short steps, per
//! platform, that the pairing page shows beside its fingerprint.
//!
//! The CA is also served over plain HTTP on the same port ([`crate::tls`]), so a phone can
//! fetch it before it trusts anything: what makes that safe is the fingerprint the
//! terminal printed, which the phone shows when it installs the certificate.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::AppState;
use crate::auth::refuse;

/// The public CA certificate the page serves.
#[derive(Debug, Clone)]
pub struct CaPublic {
    /// PEM.
    pub pem: String,
    /// DER.
    pub der: Vec<u8>,
    /// SHA-256 of the DER, colon-separated hex.
    pub fingerprint_sha256: String,
}

/// The routes of the CA download.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/ca.crt", get(ca_pem))
        .route("/ca.der", get(ca_der))
}

/// `path`'s answer for a plain-HTTP request (before the phone trusts the page): the CA
/// certificate as a raw HTTP/1.1 response, or `None` for any other path.
pub fn plain_answer(ca: &CaPublic, path: &str) -> Option<Vec<u8>> {
    let (content_type, body) = match path {
        "/ca.crt" => ("application/x-x509-ca-cert", ca.pem.as_bytes()),
        "/ca.der" => ("application/x-x509-ca-cert", ca.der.as_slice()),
        _ => return None,
    };
    let mut response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Content-Disposition: attachment; filename=\"claude-orchestra-ca{}\"\r\n\
         X-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len(),
        if path == "/ca.der" { ".cer" } else { ".crt" }
    )
    .into_bytes();
    response.extend_from_slice(body);
    Some(response)
}

fn no_ca() -> Response {
    refuse(
        StatusCode::NOT_FOUND,
        "this dashboard serves your own certificate (config tls_cert / tls_key), not one from \
         its local CA: trust that certificate's issuer on your phone instead",
    )
}

async fn ca_pem(State(state): State<Arc<AppState>>) -> Response {
    ca_download(&state, "claude-orchestra-ca.crt", |ca| {
        ca.pem.clone().into()
    })
}

async fn ca_der(State(state): State<Arc<AppState>>) -> Response {
    ca_download(&state, "claude-orchestra-ca.cer", |ca| {
        ca.der.clone().into()
    })
}

/// The CA certificate as a download named `filename`, in the encoding `body` gives.
fn ca_download(
    state: &AppState,
    filename: &str,
    body: impl FnOnce(&CaPublic) -> axum::body::Body,
) -> Response {
    let Some(ca) = &state.ca else {
        return no_ca();
    };
    (
        [
            (
                header::CONTENT_TYPE,
                "application/x-x509-ca-cert".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        body(ca),
    )
        .into_response()
}

/// The pairing page's part about trust: the fingerprints to compare before anything is
/// accepted, the CA download and the steps per platform. Empty without TLS.
pub fn steps_html(state: &AppState) -> String {
    let Some(cert) = &state.cert else {
        return String::new();
    };
    // Fingerprints are hex and colons only: nothing in them needs escaping.
    let Some(ca) = &state.ca else {
        return format!(
            "<section class=trust><h2>Check the certificate</h2><p>Its SHA-256 fingerprint \
must match the one <code>orchestractl web --lan</code> printed:</p>\
<p><code id=fingerprint>{}</code></p></section>",
            cert.fingerprint_sha256
        );
    };
    format!(
        "<section class=trust><h2>Trust this machine once</h2>\
<p>Install this machine's certificate authority, so the page opens without warnings and \
notifications, the home-screen app and push work. First compare its SHA-256 fingerprint with \
the one <code>orchestractl web --lan</code> (or <code>orchestractl web ca</code>) printed; \
your phone shows it when you install it:</p>\
<p><code id=ca-fingerprint>{ca_fp}</code></p>\
<p><a class=button id=ca-download href=\"/ca.crt\" download>Download the certificate</a> \
<a href=\"/ca.der\" download>(DER, for iPhone)</a></p>\
<details open><summary>Android</summary><ol><li>Open the downloaded file, or Settings → \
Security → Encryption &amp; credentials → Install a certificate → <b>CA certificate</b>.</li>\
<li>Check the fingerprint, name it “claude-orchestra”, install.</li>\
<li>Reload this page.</li></ol></details>\
<details><summary>iPhone and iPad</summary><ol><li>Open the <b>DER</b> link in Safari and \
allow the profile download.</li><li>Settings → General → VPN &amp; Device Management → \
install the profile.</li><li>Settings → General → About → Certificate Trust Settings → \
turn on <b>full trust</b> for it.</li><li>Reload this page; for push, add it to the Home \
Screen (Share → Add to Home Screen) and open it from there.</li></ol></details>\
<details><summary>Desktop</summary><ol><li>Chrome / Edge: Settings → Privacy and \
security → Security → Manage certificates → Authorities → Import.</li><li>Firefox: \
Settings → Certificates → View Certificates → Authorities → Import.</li></ol></details>\
<p class=note>The authority may vouch only for private addresses and this machine's own \
names, so it cannot be used to impersonate any other site. Push also needs the phone to \
reach its push service (Google's or Apple's) over the internet.</p>\
<p class=fingerprint>This page's own certificate: <code id=fingerprint>{leaf_fp}</code></p>\
</section>",
        ca_fp = ca.fingerprint_sha256,
        leaf_fp = cert.fingerprint_sha256,
    )
}
