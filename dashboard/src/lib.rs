//! The web dashboard: a mobile-first page served by axum, a thin gRPC client of orchestrad
//! exactly like the CLI.
//!
//! [`auth`] keeps it safe by default (loopback only; on the LAN, paired devices only, and
//! same-origin requests everywhere), [`api`] turns JSON requests into gRPC calls, [`live`]
//! feeds one WebSocket per page from the daemon's `Watch` streams, and [`assets`] serves
//! the embedded app (no CDN: it works with no network but the one to this machine).
//! On the LAN it serves HTTPS only ([`tls`], with the certificate of [`cert`]); loopback
//! stays plain HTTP, which browsers already treat as a secure context.

/// The crate's `println!` goes through [`stdout_line`], so a closed stdout never panics.
macro_rules! println {
    ($($arg:tt)*) => {
        $crate::stdout_line(format_args!($($arg)*))
    };
}

pub mod api;
pub mod assets;
pub mod auth;
pub mod cert;
pub mod integration;
pub mod live;
pub mod notify;
pub mod tls;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use orchestra_proto::Client;

/// Writes one line to stdout. A reader that went away (`orchestractl web | head -1`) is
/// not the server's problem: what it would have read is dropped, and serving goes on.
pub fn stdout_line(args: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{args}").and_then(|()| out.flush());
}

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
    /// Serve plain HTTP on the LAN (`--insecure-http`): the user gave up TLS knowingly.
    pub insecure_http: bool,
    /// The certificate for the LAN (generated in the state dir, or the user's own).
    pub cert: cert::CertFiles,
}

impl Config {
    /// Whether connections are TLS: on the LAN unless the user opted out.
    pub fn tls(&self) -> bool {
        self.lan && !self.insecure_http
    }
}

/// What every handler shares.
#[derive(Debug)]
pub struct AppState {
    /// How we run.
    pub config: Config,
    /// The daemon, reached through the reference client (protocol checked at start).
    pub client: Client,
    /// The live-event hub.
    pub hub: Arc<live::Hub>,
    /// Recently verified device tokens.
    pub tokens: auth::TokenCache,
    /// The port actually bound (for Origin checks).
    pub port: u16,
    /// The certificate served, when serving TLS (shown on the pages for comparison).
    pub cert: Option<cert::CertInfo>,
    /// Open WebSockets per device, to bound them.
    pub sockets: Arc<live::SocketSlots>,
}

impl AppState {
    /// "https" or "http", as pages of this dashboard see their own origin.
    pub fn scheme(&self) -> &'static str {
        if self.cert.is_some() { "https" } else { "http" }
    }
}

/// Largest request body read (JSON and forms): far above any spawn a person types, far
/// below what would strain memory. A larger body gets 413 Payload Too Large.
pub const MAX_BODY: usize = 1024 * 1024;

/// Runs the dashboard until `shutdown` resolves.
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let client = Client::connect(
        &config.socket,
        concat!("orchestra-dashboard ", env!("CARGO_PKG_VERSION")),
    )
    .await?;
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
    let tls = if config.tls() {
        let loaded = cert::load_or_create(&config.cert, false)?;
        let server = tls::server_config(&loaded).with_context(|| {
            format!("cannot use the certificate {}", config.cert.cert.display())
        })?;
        Some((loaded.info, server))
    } else {
        None
    };
    let hub = live::Hub::start(client.clone());
    tokio::spawn(notify::follow(
        hub.clone(),
        client.clone(),
        base_url(&config, port),
    ));
    let state = Arc::new(AppState {
        config: config.clone(),
        client,
        hub,
        tokens: auth::TokenCache::default(),
        port,
        cert: tls.as_ref().map(|(info, _)| info.clone()),
        sockets: Arc::default(),
    });
    announce(&state).await?;
    let app: Router = Router::new()
        .merge(api::routes())
        .merge(integration::routes())
        .merge(live::routes())
        .merge(notify::routes())
        .merge(auth::routes())
        .merge(assets::routes())
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::guard,
        ))
        .with_state(state);
    match tls {
        Some((_, server)) => {
            axum::serve(tls::TlsListener::new(listener, server)?, app)
                .with_graceful_shutdown(shutdown)
                .await?;
        }
        None => {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(shutdown)
            .await?;
        }
    }
    Ok(())
}

/// Prints where to open the dashboard (and, on the LAN, a pairing link, its QR code and
/// the certificate's fingerprint).
async fn announce(state: &AppState) -> anyhow::Result<()> {
    let port = state.port;
    let scheme = state.scheme();
    println!("dashboard listening on {scheme}://127.0.0.1:{port}/");
    if !state.config.lan {
        println!("(loopback only; use --lan to reach it from your phone, with pairing)");
        return Ok(());
    }
    println!("(and on every interface of this machine, port {port}: the LAN link is below)");
    if state.config.insecure_http {
        println!(
            "WARNING: --insecure-http: plain HTTP on the LAN. Anyone on this network can read \
             the pairing code and device cookies as they pass and then act as your phone \
             (approve tools, start agents); the phone's browser also refuses service workers \
             and notifications on a plain-HTTP page. Drop --insecure-http to serve HTTPS."
        );
    }
    let mut devices = state.client.devices();
    let code = devices
        .create_pairing_code(orchestra_proto::v1::CreatePairingCodeRequest {})
        .await?
        .into_inner();
    let lan = cert::machine_addresses()
        .into_iter()
        .find(std::net::IpAddr::is_ipv4);
    let host = lan.map_or_else(
        || "<this machine's address>".to_owned(),
        |ip| ip.to_string(),
    );
    let url = format!("{scheme}://{host}:{port}/pair?code={}", code.code);
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
    if let Some(cert) = &state.cert {
        println!(
            "certificate SHA-256 fingerprint (your phone shows it before you accept; it must match):"
        );
        println!("  {}", cert.fingerprint_sha256);
        if chrono::DateTime::parse_from_rfc3339(&cert.not_after)
            .is_ok_and(|end| end < chrono::Utc::now())
        {
            println!(
                "WARNING: the certificate expired at {}: phones will refuse it; renew it \
                 (`orchestractl web cert --renew`, or where you made your own)",
                cert.not_after
            );
        }
        if let Some(ip) = lan.filter(|ip| !cert.names.contains(&ip.to_string())) {
            println!(
                "note: the certificate does not name {ip}; make one that does with \
                 `orchestractl web cert --renew`"
            );
        }
    }
    Ok(())
}

/// Where this dashboard is reached, for links in notifications sent elsewhere.
fn base_url(config: &Config, port: u16) -> String {
    let host = if config.lan {
        cert::machine_addresses()
            .into_iter()
            .find(IpAddr::is_ipv4)
            .map_or_else(|| "127.0.0.1".to_owned(), |ip| ip.to_string())
    } else {
        "127.0.0.1".to_owned()
    };
    let scheme = if config.tls() { "https" } else { "http" };
    format!("{scheme}://{host}:{port}/")
}
