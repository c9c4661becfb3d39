//! `orchestra-dashboard`: parse arguments, set up tracing, hand over to the library.
//! Usually started by `orchestractl web`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// The claude-orchestra web dashboard.
#[derive(Debug, Parser)]
#[command(name = "orchestra-dashboard", version)]
struct Cli {
    /// Socket of orchestrad
    #[arg(long, env = "ORCHESTRA_SOCKET", value_name = "PATH")]
    socket: Option<PathBuf>,
    /// Port to listen on (0 for any free one)
    #[arg(long, default_value_t = 8888)]
    port: u16,
    /// Listen on every interface, for phones on the LAN; requires pairing
    #[arg(long)]
    lan: bool,
    /// Repository the spawn form starts with [default: the current directory]
    #[arg(long, value_name = "PATH")]
    repo: Option<PathBuf>,
    /// End when process PID (the `orchestractl web` that started us) ends. Not given when
    /// the dashboard runs as a service.
    #[arg(long, value_name = "PID", hide = true)]
    parent_pid: Option<u32>,
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
