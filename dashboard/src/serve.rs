//! Accepting connections, so that no peer can hold the page for others.
//!
//! - Each address may hold [`MAX_PER_ADDRESS`] connections open (a phone with its tabs and
//!   live sockets is well under it) and all together [`MAX_CONNECTIONS`]; a connection
//!   over either is closed at once, and the accept loop never waits for a slot.
//! - A TLS handshake has [`crate::tls::HANDSHAKE_TIMEOUT`] in its own task.
//! - Each request's head must arrive within [`HEADER_TIMEOUT`] of the connection waiting
//!   for it: a silent new connection, a slow sender of headers and an idle keep-alive
//!   connection are all closed after that long.
//! - A WebSocket that goes silent is closed by [`crate::live`] (it pings the page).

use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;

/// Connections one address may hold open.
pub const MAX_PER_ADDRESS: usize = 32;
/// Connections open in all.
pub const MAX_CONNECTIONS: usize = 1024;
/// How long a connection may wait for a request's head (and so stay idle between requests).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Open connections per address.
#[derive(Debug, Default)]
struct Limits {
    /// Address -> connections open from it.
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One open connection; frees its place when dropped.
#[derive(Debug)]
struct Ticket {
    /// Where it was counted.
    limits: Arc<Limits>,
    /// Its peer's address.
    ip: IpAddr,
}

impl Limits {
    /// A place for a connection from `ip`, or `None` when it is over a bound.
    fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<Ticket> {
        let mut open = self.open.lock();
        let total: usize = open.values().sum();
        let mine = open.entry(ip).or_insert(0);
        if *mine >= MAX_PER_ADDRESS || total >= MAX_CONNECTIONS {
            return None;
        }
        *mine += 1;
        Some(Ticket {
            limits: self.clone(),
            ip,
        })
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut open = self.limits.open.lock();
        if let Some(count) = open.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// Serves `app` on `listener` (over TLS with `tls`) until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    tls: Option<crate::tls::Tls>,
    app: Router,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let port = listener.local_addr()?.port();
    let limits = Arc::new(Limits::default());
    let ca = tls.as_ref().and_then(|tls| tls.ca.clone());
    let acceptor = tls.map(|tls| TlsAcceptor::from(tls.config));
    let (stop, stopping) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(err) => {
                    // Out of file descriptors and the like: back off rather than spin.
                    tracing::warn!(%err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(ticket) = limits.admit(peer.ip()) else {
            tracing::debug!(%peer, "too many connections; closed");
            continue;
        };
        let (app, acceptor, stopping, ca) =
            (app.clone(), acceptor.clone(), stopping.clone(), ca.clone());
        tokio::spawn(async move {
            let _ticket = ticket;
            match acceptor {
                Some(acceptor) => {
                    if let Some(tls) =
                        crate::tls::handshake(&acceptor, stream, port, ca.as_deref()).await
                    {
                        connection(tls, peer, app, stopping).await;
                    }
                }
                None => connection(stream, peer, app, stopping).await,
            }
        });
    }
    stop.send_replace(true);
    Ok(())
}

/// Serves the requests of one connection (and hands WebSocket upgrades on).
async fn connection<Io>(io: Io, peer: SocketAddr, app: Router, mut stopping: watch::Receiver<bool>)
where
    Io: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        app.clone().oneshot(request)
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT);
    let conn = builder
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    tokio::pin!(conn);
    let stop = tokio::select! {
        result = conn.as_mut() => {
            if let Err(err) = result {
                tracing::debug!(%peer, %err, "connection ended");
            }
            false
        }
        stop = stopping.wait_for(|stop| *stop) => stop.is_ok(),
    };
    if stop {
        conn.as_mut().graceful_shutdown();
        let _ = conn.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_address_cannot_take_every_place() {
        let limits = Arc::new(Limits::default());
        let noisy: IpAddr = [127, 0, 0, 2].into();
        let held: Vec<Ticket> = (0..100).filter_map(|_| limits.admit(noisy)).collect();
        assert_eq!(held.len(), MAX_PER_ADDRESS);
        assert!(limits.admit([127, 0, 0, 1].into()).is_some());
        drop(held);
        assert!(limits.admit(noisy).is_some(), "places come back");
    }

    #[test]
    fn the_timeouts_are_what_security_md_says() {
        assert_eq!(HEADER_TIMEOUT, Duration::from_secs(10));
        assert_eq!(crate::tls::HANDSHAKE_TIMEOUT, Duration::from_secs(10));
        assert!(crate::live::SOCKET_IDLE <= Duration::from_secs(30));
    }
}
