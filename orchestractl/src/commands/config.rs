//! `orchestractl config show|path`.

use std::process::ExitCode;

use crate::cli::ConfigCommand;
use crate::client::Ctx;
use crate::output;

/// Runs a `config` subcommand.
pub async fn run(ctx: &Ctx, cmd: ConfigCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ConfigCommand::Path => {
            let path = orchestra_proto::paths::config_file();
            if ctx.json {
                output::json(&serde_json::json!({
                    "config_path": path,
                    "exists": path.exists(),
                }))?;
            } else {
                println!("{}", path.display());
            }
        }
        ConfigCommand::Show => {
            let clients = ctx.connect().await?;
            let (config, settings) = clients.config().await?;
            if ctx.json {
                output::json(&serde_json::json!({
                    "config_path": config.config_path,
                    "from_file": config.from_file,
                    "config": settings,
                    "warnings": config.warnings,
                }))?;
            } else {
                let origin = if config.from_file {
                    "loaded from"
                } else {
                    "defaults; no file at"
                };
                println!("# {origin} {}", config.config_path);
                for warning in &config.warnings {
                    println!("# warning: {warning}");
                }
                println!("{}", serde_json::to_string_pretty(&settings)?);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
