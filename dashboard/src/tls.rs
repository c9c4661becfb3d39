//! Serving HTTPS: the server's TLS config, and each connection's handshake.
//!
//! Handshakes run in the connection's own task ([`crate::serve`]: a slow or silent peer
//! holds up nobody else, and one address holds a bounded number), with a deadline. A peer that speaks plain HTTP to the TLS
//! port gets a short plain-text refusal that names the `https://` address, and never a
//! page: whatever it sent (a device cookie, say) already crossed the network in the clear,
//! and nothing we send back should invite it to do that again. The one exception is the
//! public CA certificate (`/ca.crt`, `/ca.der`, [`crate::trust`]), which a phone needs
//! before it can trust anything here.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::cert::Loaded;
use crate::trust::CaPublic;

/// What serving HTTPS takes.
#[derive(Debug, Clone)]
pub struct Tls {
    /// The rustls config.
    pub config: Arc<rustls::ServerConfig>,
    /// The CA certificate, also served over plain HTTP (`None` with the user's own).
    pub ca: Option<Arc<CaPublic>>,
}

/// How long a peer has to finish its handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// The first byte of every TLS connection (a handshake record).
const TLS_HANDSHAKE: u8 = 0x16;

/// A rustls server config for `cert`, offering HTTP/1.1 (axum's WebSocket upgrade needs it).
pub fn server_config(cert: &Loaded) -> Result<Arc<rustls::ServerConfig>, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(cert.chain.clone(), cert.key.clone_key())?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Finishes the TLS handshake of `stream` within [`HANDSHAKE_TIMEOUT`]; `None` when the
/// peer is silent, too slow, speaks plain HTTP (it gets [`refuse_plain`]'s answer) or
/// fails the handshake.
pub async fn handshake(
    acceptor: &TlsAcceptor,
    stream: TcpStream,
    port: u16,
    ca: Option<&CaPublic>,
) -> Option<TlsStream<TcpStream>> {
    let peer = stream.peer_addr().ok();
    let handshake = async {
        let mut first = [0u8; 1];
        let n = stream.peek(&mut first).await.ok()?;
        if n == 0 {
            return None;
        }
        if first[0] != TLS_HANDSHAKE {
            refuse_plain(stream, port, ca).await;
            return None;
        }
        acceptor.accept(stream).await.ok()
    };
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
        Ok(Some(tls)) => Some(tls),
        Ok(None) => {
            tracing::debug!(?peer, "no TLS handshake");
            None
        }
        Err(_) => {
            tracing::debug!(?peer, "TLS handshake timed out");
            None
        }
    }
}

/// The answer to plain HTTP on the TLS port: the CA certificate for `GET /ca.crt` or
/// `GET /ca.der`, else a 400 in plain text; then the connection closes. The request is
/// read (so closing does not reset the connection before the peer reads the answer) but
/// never acted on otherwise.
async fn refuse_plain(mut stream: TcpStream, port: u16, ca: Option<&CaPublic>) {
    let mut request = [0u8; 8192];
    let read = tokio::time::timeout(
        Duration::from_secs(1),
        tokio::io::AsyncReadExt::read(&mut stream, &mut request),
    )
    .await
    .ok()
    .and_then(Result::ok)
    .unwrap_or(0);
    let head = String::from_utf8_lossy(&request[..read]);
    let mut words = head.lines().next().unwrap_or("").split(' ');
    if let (Some("GET"), Some(path), Some(ca)) = (words.next(), words.next(), ca)
        && let Some(answer) = crate::trust::plain_answer(ca, path)
    {
        let _ = stream.write_all(&answer).await;
        let _ = stream.shutdown().await;
        return;
    }
    let body = format!(
        "This dashboard only answers over HTTPS, so that nobody else on the network can read \
         what your device sends. Open the https:// address that `orchestractl web --lan` \
         printed (port {port}) instead.\n"
    );
    let response = format!(
        "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}
