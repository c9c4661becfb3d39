//! `orchestractl config show|path`.
//!
//! `show` reads the config file as it is now (through `orchestrad check-config`, the one
//! place that knows how to load it) and says when the running daemon runs with something
//! else: a file edited, created or broken since the daemon started. A broken file is an
//! error (exit 1) that names where it is broken: the next restart would refuse it.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;

use crate::cli::ConfigCommand;
use crate::client::{Ctx, run_orchestrad};
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
        ConfigCommand::Show => return show(ctx).await,
    }
    Ok(ExitCode::SUCCESS)
}

/// What a daemon started now would load from `path`: the `check-config` answer
/// (`config_path`, `from_file`, `config`, `warnings`), or why it cannot load (as
/// orchestrad says it, for the user to read).
pub async fn load_now(path: &Path) -> anyhow::Result<Result<serde_json::Value, String>> {
    let output = run_orchestrad(&[
        "--config".as_ref(),
        path.as_os_str(),
        "check-config".as_ref(),
    ])
    .await?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Ok(Err(stderr
            .trim()
            .trim_start_matches("orchestrad: ")
            .to_owned()));
    }
    let answer = serde_json::from_slice(&output.stdout)
        .context("`orchestrad check-config` printed something that is not JSON")?;
    Ok(Ok(answer))
}

/// Shows the settings; a broken file exits 1 after them, its error (line and column
/// included) on stderr.
async fn show(ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let clients = ctx.connect().await?;
    let (running, running_settings) = crate::client::running_config(&clients).await?;
    let path = std::path::PathBuf::from(&running.config_path);
    let now = load_now(&path).await?;
    let (from_file, settings, warnings, file_error, sandbox) = match &now {
        Ok(answer) => (
            answer["from_file"].as_bool().unwrap_or(false),
            answer["config"].clone(),
            answer["warnings"].clone(),
            String::new(),
            answer["sandbox"].clone(),
        ),
        // A broken file: the daemon's settings are the ones in force.
        Err(reason) => (
            path.exists(),
            running_settings.clone(),
            serde_json::json!(running.warnings),
            reason.clone(),
            serde_json::Value::Null,
        ),
    };
    let differs = now.is_ok() && settings != running_settings;
    let code = if file_error.is_empty() {
        ExitCode::SUCCESS
    } else {
        // On stderr, beside the exit status, for a person and a script alike; the
        // settings in force still go to stdout.
        eprintln!("orchestractl: {file_error}");
        ExitCode::FAILURE
    };
    if ctx.json {
        output::json(&serde_json::json!({
            "config_path": running.config_path,
            "from_file": from_file,
            "config": settings,
            "warnings": warnings,
            "file_error": file_error,
            "differs_from_running": differs,
            "running_config": running_settings,
            "running_from_file": running.from_file,
            "sandbox": sandbox,
        }))?;
        return Ok(code);
    }
    if !file_error.is_empty() {
        println!("# {} is broken (see above)", running.config_path);
        println!(
            "# orchestrad (pid {}) runs with the settings below; fix the file before `orchestractl daemon restart`",
            clients.status.pid
        );
    } else if from_file {
        println!("# read from {}", running.config_path);
    } else {
        println!(
            "# no file at {}: these are the defaults",
            running.config_path
        );
    }
    if let Some(warnings) = warnings.as_array() {
        for warning in warnings.iter().filter_map(serde_json::Value::as_str) {
            println!("# warning: {warning}");
        }
    }
    let on = if settings["sandbox"].as_bool() == Some(true) {
        "on"
    } else {
        "off"
    };
    match sandbox["available"].as_bool() {
        Some(true) => {
            println!("# sandbox ({on}): can run here (`spawn --sandbox`, or \"sandbox\": true)")
        }
        Some(false) => println!(
            "# sandbox ({on}): cannot run here: missing {}; {}",
            sandbox["missing"]
                .as_array()
                .map(|m| m
                    .iter()
                    .filter_map(serde_json::Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", "))
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| "support for this system".to_owned()),
            sandbox["how_to_fix"].as_str().unwrap_or_default()
        ),
        None => {}
    }
    if differs {
        let changed: Vec<String> = settings
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(key, value)| running_settings.get(key.as_str()) != Some(value))
            .map(|(key, _)| key.clone())
            .collect();
        println!(
            "# orchestrad (pid {}) still runs with other settings ({}): `orchestractl daemon restart` applies the file",
            clients.status.pid,
            changed.join(", ")
        );
    }
    println!("{}", serde_json::to_string_pretty(&settings)?);
    Ok(code)
}
