//! `orchestractl`: parse arguments and hand over to the library.

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = orchestractl::cli::parse();
    orchestractl::run(cli)
}
