//! `orchestractl completions <shell>`: print a completion script.

use std::process::ExitCode;

use crate::cli::CompletionsArgs;

/// Writes the completion script for the chosen shell to stdout.
pub fn run(args: CompletionsArgs) -> anyhow::Result<ExitCode> {
    let mut command = crate::cli::command();
    // Generated in memory first: clap_complete panics when its writer fails (`| head`).
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "orchestractl", &mut script);
    crate::output::print_bytes(&script);
    Ok(ExitCode::SUCCESS)
}
