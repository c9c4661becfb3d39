//! Serving HTTPS: an axum [`Listener`] that finishes each TLS handshake before handing the
//! connection to axum.
//!
//! Handshakes run in their own tasks (a slow or silent peer holds up nobody else), with a
//! deadline and a cap on how many run at once. A peer that speaks plain HTTP to the TLS
//! port gets a short plain-text refusal that names the `https://` address, and never a
//! page: whatever it sent (a device cookie, say) already crossed the network in the clear,
//! and nothing we send back should invite it to do that again.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::Listener;
use tokio::io::AsyncWriteExt as _;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::cert::Loaded;

/// How long a peer has to finish its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshakes in progress at once; more wait for a slot.
const MAX_HANDSHAKES: usize = 64;
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

/// A TCP listener whose connections come out as finished TLS streams.
#[derive(Debug)]
pub struct TlsListener {
    /// Finished handshakes, from the accept task.
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    /// The bound address.
    local: SocketAddr,
}

impl TlsListener {
    /// Starts accepting on `listener` with `config`.
    pub fn new(listener: TcpListener, config: Arc<rustls::ServerConfig>) -> std::io::Result<Self> {
        let local = listener.local_addr()?;
        let (tx, ready) = mpsc::channel(MAX_HANDSHAKES);
        tokio::spawn(accept_loop(listener, TlsAcceptor::from(config), tx));
        Ok(TlsListener { ready, local })
    }
}

impl Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(conn) => conn,
            // The accept loop only ends when the receiver is gone, so this never happens;
            // if it did, waiting forever lets graceful shutdown proceed as usual.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    tx: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    let slots = Arc::new(Semaphore::new(MAX_HANDSHAKES));
    let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(conn) => conn,
            Err(err) => {
                // Out of file descriptors and the like: back off rather than spin.
                tracing::warn!(%err, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        if tx.is_closed() {
            return;
        }
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let (acceptor, tx) = (acceptor.clone(), tx.clone());
        tokio::spawn(async move {
            let _slot = slot;
            let handshake = async {
                let mut first = [0u8; 1];
                let n = stream.peek(&mut first).await.ok()?;
                if n == 0 {
                    return None;
                }
                if first[0] != TLS_HANDSHAKE {
                    refuse_plain(stream, port).await;
                    return None;
                }
                acceptor.accept(stream).await.ok()
            };
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
                Ok(Some(tls)) => {
                    let _ = tx.send((tls, peer)).await;
                }
                Ok(None) => tracing::debug!(%peer, "no TLS handshake"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        });
    }
}

/// The answer to plain HTTP on the TLS port: a 400 in plain text, then the connection
/// closes. The request is read (so closing does not reset the connection before the peer
/// reads the answer) but never acted on.
async fn refuse_plain(mut stream: TcpStream, port: u16) {
    let mut request = [0u8; 8192];
    let _ = tokio::time::timeout(
        Duration::from_secs(1),
        tokio::io::AsyncReadExt::read(&mut stream, &mut request),
    )
    .await;
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
