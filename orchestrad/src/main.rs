//! `orchestrad`: parse arguments, set up tracing, hand over to the library.

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{CommandFactory as _, FromArgMatches as _, Parser, Subcommand};
use orchestrad::config::Settings;
use orchestrad::lifecycle::ClaimError;

const EXAMPLES: &str = "\
Examples:
  orchestrad run                  # foreground, logs to stderr (for systemd/launchd)
  orchestrad start                # detach; returns once the socket answers
  orchestrad --socket /tmp/o.sock run

Most people never call orchestrad directly: `orchestractl` starts it when needed.";

/// The claude-orchestra daemon: owns agents, indexes Claude Code sessions, serves gRPC.
#[derive(Debug, Parser)]
#[command(name = "orchestrad", version, after_help = EXAMPLES)]
struct Cli {
    /// Socket to listen on [default: $XDG_RUNTIME_DIR/claude-orchestra/orchestrad.sock]
    #[arg(long, global = true, env = "ORCHESTRA_SOCKET", value_name = "PATH")]
    socket: Option<PathBuf>,
    /// Config file [default: $XDG_CONFIG_HOME/claude-orchestra/config.json]
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    /// State directory for the store and logs [default: $XDG_STATE_HOME/claude-orchestra]
    #[arg(long, global = true, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run in the foreground, logging to stderr.
    Run,
    /// Detach into the background, logging to orchestrad.log in the state directory.
    Start,
    /// Check the config file as it is now and print the settings it gives, as JSON; exit 1
    /// with the reason when it is broken (a running daemon is not asked or touched).
    CheckConfig,
    /// Run one agent's process (started by the daemon, not by hand).
    #[command(hide = true)]
    Shim {
        /// The agent's directory (holding spec.json).
        dir: PathBuf,
    },
}

fn main() -> ExitCode {
    orchestrad::memory::limit_arenas();
    // The help names the socket this machine really uses, not a `$XDG_RUNTIME_DIR` that may
    // be unset.
    let socket = orchestra_proto::paths::default_socket();
    let matches = Cli::command()
        .mut_arg("socket", |arg| {
            arg.help(format!(
                "Socket to listen on [default: {}]",
                socket.display()
            ))
        })
        .get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|err| err.exit());
    if let Command::Shim { dir } = &cli.command {
        // The shim needs no config: everything it runs is in the agent's spec.
        return ExitCode::from(orchestrad::supervisor::shim::run(dir) as u8);
    }
    if let Command::CheckConfig = &cli.command {
        return check_config(&cli);
    }
    let settings = match load_settings(&cli) {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("orchestrad: {err:#}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Command::Run => run_foreground(settings),
        Command::Start => start_detached(settings),
        Command::Shim { .. } | Command::CheckConfig => unreachable!("handled above"),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            tracing::error!("{err:#}");
            eprintln!("orchestrad: {err:#}");
            exit_code_of(&err)
        }
    }
}

/// Whether `err` is another daemon having the socket.
fn already_serving(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<ClaimError>(),
            Some(ClaimError::AlreadyRunning { .. })
        )
    })
}

/// [`orchestra_proto::EXIT_ALREADY_SERVING`] when another daemon has the socket, else 1.
fn exit_code_of(err: &anyhow::Error) -> ExitCode {
    if already_serving(err) {
        ExitCode::from(orchestra_proto::EXIT_ALREADY_SERVING)
    } else {
        ExitCode::FAILURE
    }
}

/// What the detached child tells its parent over the ready pipe: `ready <pid>`, or why it
/// could not start, its first word saying whether another daemon had the socket.
const READY: &str = "ready ";
const BUSY: &str = "busy ";
const FAILED: &str = "failed ";

/// `orchestrad check-config`: what a daemon started now would run with, in the shape of
/// the `GetConfig` answer, so a client can compare it with the running daemon's. Used by
/// `orchestractl daemon restart` (refuse to stop a daemon that could not be started again)
/// and `orchestractl config show` (the file as it is now).
fn check_config(cli: &Cli) -> ExitCode {
    let path = cli
        .config
        .clone()
        .unwrap_or_else(orchestra_proto::paths::config_file);
    match orchestrad::config::Config::load(&path) {
        Ok(loaded) => {
            let answer = serde_json::json!({
                "config_path": path.display().to_string(),
                "from_file": loaded.from_file,
                "config": loaded.config,
                "warnings": loaded.warnings,
                // Whether `spawn --sandbox` can run on this machine, and what to install.
                "sandbox": orchestrad::sandbox::check(None),
            });
            println!("{answer:#}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("orchestrad: {err}");
            ExitCode::FAILURE
        }
    }
}

fn load_settings(cli: &Cli) -> anyhow::Result<Settings> {
    use orchestra_proto::paths;
    let socket = cli.socket.clone().unwrap_or_else(paths::default_socket);
    let state_dir = cli.state_dir.clone().unwrap_or_else(paths::state_dir);
    let config = cli.config.clone().unwrap_or_else(paths::config_file);
    Ok(Settings::load(
        absolute(socket)?,
        absolute(state_dir)?,
        config,
    )?)
}

fn absolute(path: PathBuf) -> anyhow::Result<PathBuf> {
    std::path::absolute(&path).with_context(|| format!("cannot resolve {}", path.display()))
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ORCHESTRA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn run_foreground(settings: Settings) -> anyhow::Result<ExitCode> {
    init_tracing();
    let runtime = runtime()?;
    // Handlers first: once the socket exists a supervisor may signal us at any moment.
    let signal = termination_signal(&runtime)?;
    let daemon = orchestrad::Daemon::open(settings)?;
    let claim = runtime.block_on(daemon.serve(signal))?;
    finish(runtime, claim);
    Ok(ExitCode::SUCCESS)
}

/// Forks into the background before any tokio runtime exists (a runtime's threads do not
/// survive a fork). The parent waits on a pipe until the child has claimed the socket and
/// opened the store, so it can report success or the child's error faithfully.
fn start_detached(settings: Settings) -> anyhow::Result<ExitCode> {
    orchestrad::lifecycle::create_private_dir(&settings.state_dir)?;
    let log_path = settings.state_dir.join("orchestrad.log");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("cannot open log file {}", log_path.display()))?;
    let (ready_rx, ready_tx) = nix::unistd::pipe().context("cannot create a pipe")?;
    let socket = settings.socket.clone();

    // The caller's umask, kept: agents' worktrees and the files agents write are the
    // user's work and get the user's usual modes (as under systemd or launchd). What is
    // private to claude-orchestra is made with its own mode, in 0700 folders.
    let caller_umask = {
        use nix::sys::stat::{Mode, umask};
        let mask = umask(Mode::from_bits_truncate(0o077));
        umask(mask);
        mask.bits()
    };
    let daemonize = daemonize::Daemonize::new()
        .working_directory("/")
        .umask(caller_umask)
        .stdout(log.try_clone()?)
        .stderr(log);
    match daemonize.execute() {
        daemonize::Outcome::Parent(Err(err)) => anyhow::bail!("cannot detach: {err}"),
        daemonize::Outcome::Parent(Ok(_)) => {
            drop(ready_tx);
            let mut answer = String::new();
            std::fs::File::from(ready_rx).read_to_string(&mut answer)?;
            if let Some(reason) = answer.strip_prefix(BUSY) {
                eprintln!("orchestrad: {}", reason.trim());
                return Ok(ExitCode::from(orchestra_proto::EXIT_ALREADY_SERVING));
            }
            match answer.strip_prefix(READY) {
                Some(pid) => {
                    println!(
                        "orchestrad started (pid {}), listening on {}, logging to {}",
                        pid.trim(),
                        socket.display(),
                        log_path.display()
                    );
                    Ok(ExitCode::SUCCESS)
                }
                None if answer.is_empty() => anyhow::bail!(
                    "orchestrad exited during start-up; see {}",
                    log_path.display()
                ),
                None => anyhow::bail!("{}", answer.trim_start_matches(FAILED).trim()),
            }
        }
        daemonize::Outcome::Child(Err(err)) => {
            report(ready_tx, &format!("{FAILED}cannot detach: {err}"));
            Ok(ExitCode::FAILURE)
        }
        daemonize::Outcome::Child(Ok(_)) => {
            drop(ready_rx);
            init_tracing();
            let runtime = runtime()?;
            let signal = termination_signal(&runtime)?;
            let daemon = match orchestrad::Daemon::open(settings) {
                Ok(daemon) => daemon,
                Err(err) => {
                    tracing::error!("{err:#}");
                    let kind = if already_serving(&err) { BUSY } else { FAILED };
                    report(ready_tx, &format!("{kind}{err:#}"));
                    return Ok(exit_code_of(&err));
                }
            };
            report(ready_tx, &format!("{READY}{}", std::process::id()));
            let claim = runtime.block_on(daemon.serve(signal))?;
            finish(runtime, claim);
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn report(pipe: OwnedFd, message: &str) {
    let _ = std::fs::File::from(pipe).write_all(message.as_bytes());
}

/// Installs SIGTERM and SIGINT handlers now; the returned future resolves on either.
fn termination_signal(
    runtime: &tokio::runtime::Runtime,
) -> anyhow::Result<impl Future<Output = ()> + Send + use<>> {
    use tokio::signal::unix::{SignalKind, signal};
    let _guard = runtime.enter();
    let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM received, shutting down"),
            _ = int.recv() => tracing::info!("SIGINT received, shutting down"),
        }
    })
}

/// Ends every task (they hold the store), then gives up the socket's lock, in that order:
/// a daemon started right after sees the socket free only once the store is closed.
fn finish(runtime: tokio::runtime::Runtime, claim: orchestrad::lifecycle::Claim) {
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    drop(claim);
}
