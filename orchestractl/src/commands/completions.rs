//! `orchestractl completions <shell>`: print a completion script.

use std::process::ExitCode;

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};

/// Writes the completion script for the chosen shell to stdout.
pub fn run(args: CompletionsArgs) -> anyhow::Result<ExitCode> {
    let mut command = Cli::command();
    clap_complete::generate(
        args.shell,
        &mut command,
        "orchestractl",
        &mut std::io::stdout(),
    );
    Ok(ExitCode::SUCCESS)
}
