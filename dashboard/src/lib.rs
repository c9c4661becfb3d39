//! The web dashboard: a mobile-first page served by axum, a thin gRPC client of orchestrad
//! exactly like the CLI.
//!
//! [`auth`] keeps it safe by default (a device cookie on every route, from a one-time
//! [`login`] link on this machine or by [`pair`]ing on the LAN; this machine's names as
//! Host ([`hosts`]); same-origin requests everywhere), [`serve`] bounds what each peer may
//! hold open and for how long, [`api`] turns JSON requests into gRPC calls, [`live`]
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
pub mod ca;
pub mod cert;
pub mod hosts;
pub mod integration;
pub mod keyfiles;
pub mod live;
pub mod login;
pub mod notify;
pub mod pair;
pub mod remotes;
pub mod serve;
pub mod spend;
pub mod talk;
pub mod tls;
pub mod trust;

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
    /// Open the page, logged in, in this machine's browser once serving.
    pub open: bool,
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
    /// The Host names answered.
    pub hosts: hosts::Hosts,
    /// Other machines' daemons (`orchestractl hosts`), shown beside this one's.
    pub remotes: Arc<remotes::Remotes>,
    /// The local CA's certificate, served at `/ca.crt` (TLS with a generated certificate).
    pub ca: Option<Arc<trust::CaPublic>>,
}

impl AppState {
    /// "https" or "http", as pages of this dashboard see their own origin.
    pub fn scheme(&self) -> &'static str {
        if self.cert.is_some() { "https" } else { "http" }
    }

    /// The daemon of `host`, as a card names it: this machine's for `""` or `local`, else
    /// the open connection to that host of `hosts.json`. A host that is not configured is
    /// refused (404, "no host named ..."), one that is down is 503: a request never falls
    /// back to this machine's daemon, where the same id could name another agent.
    pub fn daemon(&self, host: &str) -> Result<Client, tonic::Status> {
        if is_local(host) {
            Ok(self.client.clone())
        } else {
            self.remotes.client_of(host)
        }
    }

    /// Where an answer from the page goes, and under which name: this machine's daemon
    /// knows the device (its token); another host's knows none of this machine's devices
    /// (the guard here checked the cookie), so it records the page.
    pub fn answerer(
        &self,
        host: &str,
        headers: &axum::http::HeaderMap,
    ) -> Result<Answerer, tonic::Status> {
        let remote = !is_local(host);
        Ok(Answerer {
            daemon: self.daemon(host)?,
            device_token: if remote {
                String::new()
            } else {
                self.device_token(headers).unwrap_or_default()
            },
            client: if remote {
                "dashboard (another host)"
            } else {
                "dashboard"
            },
            host: if remote {
                host.to_owned()
            } else {
                String::new()
            },
        })
    }

    /// The device token of a request: its cookie of the name this page uses.
    pub fn device_token(&self, headers: &axum::http::HeaderMap) -> Option<String> {
        auth::cookie_token(headers, self.cert.is_some())
    }
}

/// Where an answer from the page goes ([`AppState::answerer`]).
#[derive(Debug)]
pub struct Answerer {
    /// The daemon that asked.
    pub daemon: Client,
    /// The device's token, for this machine's daemon; empty for another host's.
    pub device_token: String,
    /// The name the answer is recorded under when there is no device token.
    pub client: &'static str,
    /// The other host's name; empty for this machine.
    pub host: String,
}

impl Answerer {
    /// `value` (an answered approval) as JSON, with `"host"` when another host asked.
    pub fn tagged<T: serde::Serialize>(&self, value: T) -> serde_json::Value {
        if self.host.is_empty() {
            serde_json::to_value(value).unwrap_or_default()
        } else {
            remotes::tagged(&self.host, &value)
        }
    }
}

/// Whether `host`, as a card names it, is this machine (`""` or `local`).
pub fn is_local(host: &str) -> bool {
    host.is_empty() || host == orchestra_proto::remote::LOCAL
}

/// `?host=NAME` of an agent's route: the host whose daemon runs the agent (the card's
/// `host`); absent or `local` for this machine.
#[derive(Debug, Default, serde::Deserialize)]
pub struct OnHost {
    /// The host's name, as in `hosts.json`.
    #[serde(default)]
    pub host: String,
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
        let ca = match config.cert.ca() {
            Some(files) => {
                let ca = ca::load(&files, false)?;
                Some(Arc::new(trust::CaPublic {
                    pem: ca.pem,
                    der: ca.der.to_vec(),
                    fingerprint_sha256: ca.info.fingerprint_sha256,
                }))
            }
            None => None,
        };
        Some((loaded.info, tls::Tls { config: server, ca }))
    } else {
        None
    };
    let (registered, page_known) = tokio::sync::oneshot::channel();
    tokio::spawn(register_page(
        client.clone(),
        port,
        tls.is_some(),
        config.lan.then(|| base_url(&config, port)),
        registered,
    ));
    let hub = live::Hub::start(client.clone());
    tokio::spawn(notify::follow(
        hub.clone(),
        client.clone(),
        base_url(&config, port),
    ));
    let remotes = remotes::Remotes::start(hub.clone(), client.clone());
    let cert = tls.as_ref().map(|(info, _)| info.clone());
    let ca_public = tls.as_ref().and_then(|(_, tls)| tls.ca.clone());
    let hosts = hosts::Hosts::new(
        port,
        config.lan,
        cert.as_ref().map(|c| c.names.clone()).unwrap_or_default(),
    );
    let state = Arc::new(AppState {
        config: config.clone(),
        client,
        hub,
        tokens: auth::TokenCache::default(),
        port,
        cert,
        sockets: Arc::default(),
        hosts,
        remotes,
        ca: ca_public,
    });
    announce(&state).await?;
    announce_login(&state, page_known).await;
    let app: Router = Router::new()
        .merge(api::routes())
        .merge(talk::routes())
        .merge(integration::routes())
        .merge(spend::routes())
        .merge(live::routes())
        .merge(notify::routes())
        .merge(pair::routes())
        .merge(trust::routes())
        .merge(login::routes())
        .merge(assets::routes())
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::guard,
        ))
        .with_state(state);
    serve::serve(listener, tls.map(|(_, tls)| tls), app, shutdown).await?;
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
    let lan = cert::lan_address();
    let host = lan.map_or_else(
        || "<this machine's address>".to_owned(),
        |ip| ip.to_string(),
    );
    let url = format!("{scheme}://{host}:{port}/pair?code={}", code.code);
    if let Some(ca) = &state.ca {
        let ca_url = format!("http://{host}:{port}/ca.crt");
        println!(
            "First, once per phone: install this machine's certificate authority, so the page \
             opens without warnings and notifications work. Open (or scan):"
        );
        println!("  {ca_url}");
        print_qr(&ca_url);
        println!("CA SHA-256 fingerprint (your phone shows it when you install; it must match):");
        println!("  {}", ca.fingerprint_sha256);
        println!("(steps per phone: on the pairing page below, or `orchestractl web ca`)");
    }
    println!("LAN mode: only paired devices get in. On your phone, open (valid 10 minutes, once):");
    println!("  {url}");
    print_qr(&url);
    println!("pairing code: {}", code.code);
    println!("(another device later: `orchestractl web pair`, or \"Add a device\" on the page)");
    if let Some(cert) = &state.cert {
        if cert.migrated {
            println!(
                "note: the dashboard now signs its certificate with its own certificate \
                 authority instead of a self-signed one; phones that accepted the old \
                 certificate must install the CA once (above)"
            );
        }
        if !cert.left_out.is_empty() {
            println!(
                "note: the certificate leaves out {} (the CA vouches only for private \
                 addresses and this machine's names); use a private address on the phone",
                cert.left_out.join(", ")
            );
        }
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
        if let Some(ip) = lan.filter(|ip| {
            !cert.names.contains(&ip.to_string()) && !cert.left_out.contains(&ip.to_string())
        }) {
            println!(
                "note: the certificate does not name {ip}; make one that does with \
                 `orchestractl web cert --renew`"
            );
        }
    }
    Ok(())
}

/// Prints `text` as a QR code for the terminal.
fn print_qr(text: &str) {
    if let Ok(qr) = qrcode::QrCode::new(text.as_bytes()) {
        let art = qr
            .render::<qrcode::render::unicode::Dense1x2>()
            .quiet_zone(true)
            .build();
        println!("{art}");
    }
}

/// Tells the daemon where this page serves, for as long as it does (again after the
/// daemon comes back), so that `orchestractl web link` leads here; `registered` says when
/// that first happened. A LAN page also says where phones reach it (`lan_url`), so that
/// `orchestractl web pair` can hand out a link to it.
async fn register_page(
    client: Client,
    port: u16,
    tls: bool,
    lan_url: Option<String>,
    registered: tokio::sync::oneshot::Sender<()>,
) {
    use tokio_stream::StreamExt as _;
    let mut registered = Some(registered);
    loop {
        let request = orchestra_proto::v1::ServePageRequest {
            port: port.into(),
            tls,
            lan_url: lan_url.clone().unwrap_or_default(),
        };
        if let Ok(stream) = client.devices().serve_page(request).await {
            let mut stream = stream.into_inner();
            if let Some(Ok(_)) = stream.next().await
                && let Some(tx) = registered.take()
            {
                let _ = tx.send(());
            }
            while let Some(Ok(_)) = stream.next().await {}
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

/// Prints a one-time login link for this machine's browser (and opens it with --open),
/// once the daemon knows the page.
async fn announce_login(state: &AppState, page_known: tokio::sync::oneshot::Receiver<()>) {
    let made = async {
        tokio::time::timeout(std::time::Duration::from_secs(10), page_known)
            .await
            .map_err(|_| "orchestrad did not answer in time".to_owned())?
            .map_err(|_| "lost orchestrad".to_owned())?;
        state
            .client
            .devices()
            .create_login_link(orchestra_proto::v1::CreateLoginLinkRequest {
                port: state.port.into(),
            })
            .await
            .map(|link| link.into_inner().url)
            .map_err(|status| status.message().to_owned())
    };
    match made.await {
        Ok(url) => {
            println!(
                "log in from this machine's browser with this link (valid 60 seconds, once; \
                 `orchestractl web link` makes another):"
            );
            println!("  {url}");
            if state.config.open {
                open_browser(&url);
            }
        }
        Err(why) => println!(
            "could not make a login link ({why}): run `orchestractl web link` and open what it prints"
        ),
    }
}

/// Opens `url` in this machine's browser, or says to.
fn open_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let opened = std::process::Command::new(opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    if opened.is_err() {
        println!("could not open a browser ({opener}); open the link above yourself");
    }
}

/// Where this dashboard is reached, for links in notifications sent elsewhere.
fn base_url(config: &Config, port: u16) -> String {
    let host = if config.lan {
        cert::lan_address().map_or_else(|| "127.0.0.1".to_owned(), |ip| ip.to_string())
    } else {
        "127.0.0.1".to_owned()
    };
    let scheme = if config.tls() { "https" } else { "http" };
    format!("{scheme}://{host}:{port}/")
}
