//! `orchestractl`: parse arguments and hand over to the library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = orchestractl::cli::Cli::parse();
    orchestractl::run(cli)
}
