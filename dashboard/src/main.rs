//! `orchestra-dashboard`: parse arguments, set up tracing, hand over to the library.
//! Usually started by `orchestractl web` (and `orchestractl web cert`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use orchestra_dashboard::cert::{self, CertFiles};

/// The claude-orchestra web dashboard.
#[derive(Debug, Parser)]
#[command(
    name = "orchestra-dashboard",
    version,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    /// Show or renew the LAN certificate instead of serving
    #[command(subcommand)]
    command: Option<Command>,
    /// Socket of orchestrad
    #[arg(long, env = "ORCHESTRA_SOCKET", value_name = "PATH")]
    socket: Option<PathBuf>,
    /// Port to listen on (0 for any free one)
    #[arg(long, default_value_t = 8888)]
    port: u16,
    /// Listen on every interface, for phones on the LAN, over HTTPS; requires pairing
    #[arg(long)]
    lan: bool,
    /// With --lan: plain HTTP instead of HTTPS (anyone on the network can read the cookies)
    #[arg(long, requires = "lan")]
    insecure_http: bool,
    /// Repository the spawn form starts with [default: the current directory]
    #[arg(long, value_name = "PATH")]
    repo: Option<PathBuf>,
    #[command(flatten)]
    tls: TlsArgs,
    /// Open the page in this machine's browser, logged in with a one-time link
    #[arg(long)]
    open: bool,
    /// End when process PID (the `orchestractl web` that started us) ends. Not given when
    /// the dashboard runs as a service.
    #[arg(long, value_name = "PID", hide = true)]
    parent_pid: Option<u32>,
}

/// Which certificate to use.
#[derive(Debug, clap::Args)]
struct TlsArgs {
    /// Your own certificate (PEM chain) instead of the generated one
    #[arg(long, value_name = "PATH", requires = "tls_key", global = true)]
    tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert
    #[arg(long, value_name = "PATH", requires = "tls_cert", global = true)]
    tls_key: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show the LAN certificate: fingerprint, validity, names, files (made if missing)
    Cert {
        /// Make a new certificate signed by this machine's CA (phones that trust it need nothing new)
        #[arg(long)]
        renew: bool,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Show this machine's certificate authority (made if missing) and write its certificate
    Ca {
        /// Write the CA certificate here (PEM), and beside it FILE.der (DER, for iOS)
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
}

impl TlsArgs {
    fn files(self) -> CertFiles {
        match (self.tls_cert, self.tls_key) {
            (Some(cert), Some(key)) => CertFiles {
                cert,
                key,
                own: true,
            },
            _ => CertFiles::generated(&orchestra_proto::paths::state_dir()),
        }
    }
}

/// Ends this process when `parent` does, so a dashboard started by `orchestractl web` is
/// never left serving on its own (SIGTERM or a crash of the parent included).
fn exit_with_parent(parent: u32) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if let Err(err) = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGTERM) {
        eprintln!("orchestra-dashboard: cannot follow the parent process: {err}");
    }
    // The parent may have gone before the line above (or the OS has no such signal):
    // watch it as well, cheaply.
    std::thread::spawn(move || {
        loop {
            if nix::unistd::getppid().as_raw() as u32 != parent {
                std::process::exit(0);
            }
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
    });
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(parent) = cli.parent_pid {
        exit_with_parent(parent);
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ORCHESTRA_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let files = cli.tls.files();
    match cli.command {
        Some(Command::Cert { renew, json }) => return show_cert(&files, renew, json),
        Some(Command::Ca { out, json }) => return show_ca(&files, out, json),
        None => {}
    }
    let config = orchestra_dashboard::Config {
        socket: cli
            .socket
            .unwrap_or_else(orchestra_proto::paths::default_socket),
        port: cli.port,
        lan: cli.lan,
        repo: cli
            .repo
            .or_else(|| std::env::current_dir().ok())
            .unwrap_or_else(|| PathBuf::from(".")),
        insecure_http: cli.insecure_http,
        cert: files,
        open: cli.open,
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("orchestra-dashboard: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match runtime.block_on(orchestra_dashboard::run(config, shutdown)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("orchestra-dashboard: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// `cert [--renew] [--json]`.
/// The cert command's lines go through the library's [`stdout_line`], so `cert | head -1`
/// ends quietly instead of with a panic.
///
/// [`stdout_line`]: orchestra_dashboard::stdout_line
macro_rules! println {
    ($($arg:tt)*) => {
        orchestra_dashboard::stdout_line(format_args!($($arg)*))
    };
}

fn show_cert(files: &CertFiles, renew: bool, json: bool) -> ExitCode {
    if renew && files.own {
        eprintln!(
            "orchestra-dashboard: the certificate is your own (config tls_cert / tls_key); \
             renew it where you made it, or remove those keys to use a generated one"
        );
        return ExitCode::FAILURE;
    }
    let info = match cert::load_or_create(files, renew) {
        Ok(loaded) => loaded.info,
        Err(err) => {
            eprintln!("orchestra-dashboard: {err}");
            return ExitCode::FAILURE;
        }
    };
    if json {
        match serde_json::to_string_pretty(&info) {
            Ok(text) => println!("{text}"),
            Err(err) => {
                eprintln!("orchestra-dashboard: {err}");
                return ExitCode::FAILURE;
            }
        }
        return ExitCode::SUCCESS;
    }
    if info.created {
        println!("made a new certificate, signed by this machine's CA (`orchestractl web ca`)");
    }
    if info.migrated {
        println!(
            "note: it replaces a self-signed one; phones that accepted that must install the CA once"
        );
    }
    println!("fingerprint (SHA-256): {}", info.fingerprint_sha256);
    println!(
        "public key (SPKI SHA-256, base64): {}",
        info.spki_sha256_base64
    );
    println!("valid: {} to {}", info.not_before, info.not_after);
    println!("names: {}", info.names.join(", "));
    if !info.left_out.is_empty() {
        println!(
            "left out: {} (the CA vouches only for private addresses and this machine's names)",
            info.left_out.join(", ")
        );
    }
    if let Some(ca) = &info.ca_fingerprint_sha256 {
        println!(
            "signed by this machine's CA, fingerprint (SHA-256): {ca} (`orchestractl web ca`)"
        );
    }
    println!(
        "certificate: {}{}",
        info.cert_path.display(),
        if info.source == "config" {
            " (your own, from the config key tls_cert)"
        } else {
            ""
        }
    );
    println!("private key: {}", info.key_path.display());
    ExitCode::SUCCESS
}

/// `ca [--out FILE] [--json]`.
fn show_ca(files: &CertFiles, out: Option<PathBuf>, json: bool) -> ExitCode {
    let generated = CertFiles::generated(&orchestra_proto::paths::state_dir());
    let Some(ca_files) = generated.ca() else {
        return ExitCode::FAILURE;
    };
    let ca = match orchestra_dashboard::ca::load_or_create(&ca_files) {
        Ok(ca) => ca,
        Err(err) => {
            eprintln!("orchestra-dashboard: {err}");
            return ExitCode::FAILURE;
        }
    };
    let mut written = Vec::new();
    if let Some(out) = out {
        let der_path = if out.extension().is_some_and(|e| e == "der") {
            out.with_extension("der.der")
        } else {
            let mut name = out.clone().into_os_string();
            name.push(".der");
            PathBuf::from(name)
        };
        for (path, bytes) in [(&out, ca.pem.as_bytes()), (&der_path, ca.der.as_ref())] {
            if let Err(err) = std::fs::write(path, bytes) {
                eprintln!(
                    "orchestra-dashboard: cannot write {}: {err}; pick a writable place with --out",
                    path.display()
                );
                return ExitCode::FAILURE;
            }
            written.push(path.clone());
        }
    }
    if json {
        let mut value = serde_json::to_value(&ca.info).unwrap_or_default();
        value["written"] = serde_json::json!(written);
        value["in_use"] = serde_json::json!(!files.own);
        match serde_json::to_string_pretty(&value) {
            Ok(text) => println!("{text}"),
            Err(err) => {
                eprintln!("orchestra-dashboard: {err}");
                return ExitCode::FAILURE;
            }
        }
        return ExitCode::SUCCESS;
    }
    if ca.info.created {
        println!("made a new certificate authority for this machine");
    }
    println!("fingerprint (SHA-256): {}", ca.info.fingerprint_sha256);
    println!("certificate: {}", ca.info.cert_path.display());
    println!(
        "private key: {} (never leaves this machine)",
        ca.info.key_path.display()
    );
    println!("valid until: {}", ca.info.not_after);
    println!("may vouch only for: {}", ca.info.permitted.join(", "));
    for path in &written {
        println!("wrote {}", path.display());
    }
    if files.own {
        println!(
            "note: the dashboard serves your own certificate (config tls_cert / tls_key), \
             not one this CA signed"
        );
    }
    println!(
        "install it on a phone: open http://<this machine's LAN address>:<port>/ca.crt while \
         `orchestractl web --lan` runs (or send it the file above); check that the phone shows \
         the fingerprint above. Android: install as \"CA certificate\". iPhone: install the \
         profile (the .der file), then turn on full trust in Settings > General > About > \
         Certificate Trust Settings."
    );
    ExitCode::SUCCESS
}
