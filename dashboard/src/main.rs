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
        /// Make a new self-signed certificate (phones must accept it again)
        #[arg(long)]
        renew: bool,
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
    if let Some(Command::Cert { renew, json }) = cli.command {
        return show_cert(&files, renew, json);
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
        println!("made a new self-signed certificate; phones must accept it again");
    }
    println!("fingerprint (SHA-256): {}", info.fingerprint_sha256);
    println!(
        "public key (SPKI SHA-256, base64): {}",
        info.spki_sha256_base64
    );
    println!("valid: {} to {}", info.not_before, info.not_after);
    println!("names: {}", info.names.join(", "));
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
