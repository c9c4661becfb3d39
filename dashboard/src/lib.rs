//! The web dashboard: a mobile-first page served by axum, a thin gRPC client of orchestrad
//! exactly like the CLI.
//!
//! [`auth`] keeps it safe by default (loopback only; on the LAN, paired devices only, and
//! same-origin requests everywhere), [`api`] turns JSON requests into gRPC calls, [`live`]
//! feeds one WebSocket per page from the daemon's `Watch` streams, and [`assets`] serves
//! the embedded app (no CDN: it works with no network but the one to this machine).

pub mod api;
pub mod assets;
pub mod auth;
pub mod integration;
pub mod live;
pub mod notify;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use tonic::transport::Channel;

/// How the dashboard was asked to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// The daemon's socket.
    pub socket: PathBuf,
    /// Port to listen on (0 for any free one).
    pub port: u16,
    /// Listen on every interface and require pairing.
    pub lan: bool,
    /// Repository the spawn form starts with.
    pub repo: PathBuf,
}

/// What every handler shares.
#[derive(Debug)]
pub struct AppState {
    /// How we run.
    pub config: Config,
    /// The channel to the daemon.
    pub channel: Channel,
    /// The live-event hub.
    pub hub: Arc<live::Hub>,
    /// Recently verified device tokens.
    pub tokens: auth::TokenCache,
    /// The port actually bound (for Origin checks).
    pub port: u16,
}

/// Largest gRPC answer accepted (a full session listing can pass tonic's 4 MB default).
pub const MAX_MESSAGE: usize = 256 * 1024 * 1024;

/// Runs the dashboard until `shutdown` resolves.
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let channel = orchestra_proto::connect(&config.socket)
        .await
        .with_context(|| {
            "is orchestrad running? start it with `orchestractl daemon start`".to_owned()
        })?;
    let ip = if config.lan {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    } else {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    };
    let listener = tokio::net::TcpListener::bind(SocketAddr::new(ip, config.port))
        .await
        .with_context(|| {
            format!(
                "cannot listen on port {}: is another dashboard running? try --port",
                config.port
            )
        })?;
    let port = listener.local_addr()?.port();
    let hub = live::Hub::start(channel.clone());
    tokio::spawn(notify::follow(
        hub.clone(),
        channel.clone(),
        base_url(&config, port),
    ));
    let state = Arc::new(AppState {
        config: config.clone(),
        channel: channel.clone(),
        hub,
        tokens: auth::TokenCache::default(),
        port,
    });
    announce(&state).await?;
    let app: Router = Router::new()
        .merge(api::routes())
        .merge(integration::routes())
        .merge(live::routes())
        .merge(auth::routes())
        .merge(assets::routes())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::guard,
        ))
        .with_state(state);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await?;
    Ok(())
}

/// Prints where to open the dashboard (and, on the LAN, a pairing link and its QR code).
async fn announce(state: &AppState) -> anyhow::Result<()> {
    let port = state.port;
    println!("dashboard listening on http://127.0.0.1:{port}/");
    if !state.config.lan {
        println!("(loopback only; use --lan to reach it from your phone, with pairing)");
        return Ok(());
    }
    let mut devices =
        orchestra_proto::v1::devices_client::DevicesClient::new(state.channel.clone());
    let code = devices
        .create_pairing_code(orchestra_proto::v1::CreatePairingCodeRequest {})
        .await?
        .into_inner();
    let host = lan_address().map_or_else(
        || "<this machine's address>".to_owned(),
        |ip| ip.to_string(),
    );
    let url = format!("http://{host}:{port}/pair?code={}", code.code);
    println!("LAN mode: only paired devices get in. On your phone, open (valid 10 minutes, once):");
    println!("  {url}");
    if let Ok(qr) = qrcode::QrCode::new(url.as_bytes()) {
        let art = qr
            .render::<qrcode::render::unicode::Dense1x2>()
            .quiet_zone(true)
            .build();
        println!("{art}");
    }
    println!("pairing code: {}", code.code);
    Ok(())
}

/// Where this dashboard is reached, for links in notifications sent elsewhere.
fn base_url(config: &Config, port: u16) -> String {
    let host = if config.lan {
        lan_address().map_or_else(|| "127.0.0.1".to_owned(), |ip| ip.to_string())
    } else {
        "127.0.0.1".to_owned()
    };
    format!("http://{host}:{port}/")
}

/// The first non-loopback IPv4 address of this machine's interfaces.
fn lan_address() -> Option<Ipv4Addr> {
    nix::ifaddrs::getifaddrs()
        .ok()?
        .filter_map(|iface| iface.address?.as_sockaddr_in().map(|a| a.ip()))
        .find(|ip| !ip.is_loopback() && !ip.is_unspecified())
}
