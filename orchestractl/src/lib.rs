//! orchestractl: the command-line client of orchestrad.
//!
//! [`cli`] declares the arguments; each subcommand lives in `commands/<name>.rs`;
//! [`output`] decides between tables and `--json`; [`client`] opens the connection,
//! starting the daemon when needed.

pub mod cli;
mod client;
mod commands;
mod output;

use std::process::ExitCode;

use cli::{Cli, Command};

/// Runs one command line; returns the process exit code.
pub fn run(cli: Cli) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("orchestractl: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let ctx = client::Ctx::from_cli(&cli);
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Daemon(cmd) => commands::daemon::run(&ctx, cmd).await,
            Command::Config(cmd) => commands::config::run(&ctx, cmd).await,
            Command::Completions(cmd) => commands::completions::run(cmd),
            Command::Service(cmd) => commands::service::run(&ctx, cmd).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("orchestractl: {err:#}");
            ExitCode::FAILURE
        }
    }
}
