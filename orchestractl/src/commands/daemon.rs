//! `orchestractl daemon start|stop|status|restart|check`.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::bail;
use orchestra_proto::v1::{CheckRequest, ShutdownRequest, StatusResponse};

use crate::cli::DaemonCommand;
use crate::client::Ctx;
use crate::output;

/// Runs a `daemon` subcommand.
pub async fn run(ctx: &Ctx, cmd: DaemonCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        DaemonCommand::Start => start(ctx).await,
        DaemonCommand::Stop => stop(ctx).await,
        DaemonCommand::Status => {
            let clients = ctx.connect().await?;
            print_status(ctx, &clients.status)?;
            Ok(ExitCode::SUCCESS)
        }
        DaemonCommand::Restart => restart(ctx).await,
        DaemonCommand::Check => check(ctx).await,
    }
}

/// `daemon check`: the store against the agents' directories.
async fn check(ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let clients = ctx.connect().await?;
    let report = clients.daemon().check(CheckRequest {}).await?.into_inner();
    let agree = report.findings.is_empty();
    let code = if agree {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    };
    ctx.answer_with(code, &report, || {
        println!(
            "{} agents in the store, {} agent directories on disk",
            report.agents_in_store, report.agent_dirs
        );
        for finding in &report.findings {
            println!("{}  {}: {}", finding.agent_id, finding.kind, finding.detail);
        }
        if let Some(disk) = report.disk.as_ref().filter(|d| d.state == "full") {
            println!("disk: {}", disk.message);
        }
        if let Some(repair) = report.store.as_ref().and_then(|s| s.repair.as_ref()) {
            println!("store rebuilt: {}", repair.note);
        }
        if agree {
            println!("the store and the agents' directories agree");
        }
        Ok(())
    })
}

/// Stops the daemon and starts a new one, but only once the config file is known to load:
/// otherwise the user would be left with no daemon at all. Prints one report (one JSON
/// document with `--json`: the new daemon's status, as `daemon start --json` prints).
async fn restart(ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let config = orchestra_proto::paths::config_file();
    if let Err(reason) = super::config::load_now(&config).await? {
        bail!(
            "not restarting: a new orchestrad could not start with the config file as it is \
             now, so the running daemon was left alone.\n{reason}\nFix {}, then run \
             `orchestractl daemon restart` again",
            config.display()
        );
    }
    let stopped = stop_quietly(ctx).await?;
    ctx.start_daemon().await?;
    let clients = reach_started(ctx).await?;
    let pid = clients.status.pid;
    if ctx.json {
        print_status(ctx, &clients.status)?;
    } else if let Some(old) = stopped {
        println!(
            "restarted orchestrad: pid {old} stopped, pid {pid} serving on {}",
            ctx.socket.display()
        );
    } else {
        println!(
            "orchestrad was not running; started it (pid {pid}) on {}",
            ctx.socket.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn start(ctx: &Ctx) -> anyhow::Result<ExitCode> {
    if let Some(clients) = ctx.try_connect().await? {
        if ctx.json {
            print_status(ctx, &clients.status)?;
        } else {
            println!(
                "orchestrad is already running (pid {}) on {}",
                clients.status.pid,
                ctx.socket.display()
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    ctx.start_daemon().await?;
    let clients = reach_started(ctx).await?;
    if ctx.json {
        print_status(ctx, &clients.status)?;
    } else {
        println!(
            "started orchestrad (pid {}) on {}",
            clients.status.pid,
            ctx.socket.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The daemon that `orchestrad start` just reported ready.
async fn reach_started(ctx: &Ctx) -> anyhow::Result<crate::client::Client> {
    match ctx.try_connect().await? {
        Some(clients) => Ok(clients),
        None => bail!(
            "started orchestrad but cannot reach it at {}; see orchestrad.log in its state dir",
            ctx.socket.display()
        ),
    }
}

async fn stop(ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let Some(pid) = stop_quietly(ctx).await? else {
        if ctx.json {
            output::json(&serde_json::json!({ "stopped": false, "running": false }))?;
        } else {
            println!("orchestrad is not running on {}", ctx.socket.display());
        }
        return Ok(ExitCode::SUCCESS);
    };
    ctx.answer(&serde_json::json!({ "stopped": true, "pid": pid }), || {
        println!("stopped orchestrad (pid {pid}); running agents keep running");
        Ok(())
    })
}

/// Stops the running daemon and waits until it is gone; returns its pid (`None` when none
/// was running). Prints nothing.
async fn stop_quietly(ctx: &Ctx) -> anyhow::Result<Option<u32>> {
    let Some(clients) = ctx.try_connect().await? else {
        return Ok(None);
    };
    let pid = clients.status.pid;
    clients.daemon().shutdown(ShutdownRequest {}).await?;
    drop(clients);
    // Wait until the process is gone (not just its socket), so a command right after
    // this never races the old daemon for its store.
    let deadline = Instant::now() + Duration::from_secs(15);
    while orchestra_proto::connect(&ctx.socket).await.is_ok()
        || !orchestra_proto::process::gone(pid)
    {
        if Instant::now() > deadline {
            bail!("orchestrad (pid {pid}) did not stop within 15 s; try `kill {pid}`");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(Some(pid))
}

fn print_status(ctx: &Ctx, status: &StatusResponse) -> anyhow::Result<()> {
    if ctx.json {
        return output::json(status);
    }
    let mut rows = vec![
        ("version", status.version.clone()),
        ("protocol", status.protocol_version.to_string()),
        ("pid", status.pid.to_string()),
        ("uptime", output::duration(status.uptime_secs)),
        ("socket", status.socket_path.clone()),
        ("state dir", status.state_dir.clone()),
        ("config", status.config_path.clone()),
        ("claude projects", status.claude_projects_dir.clone()),
        (
            "sessions",
            format!(
                "{} indexed, {} live",
                status.sessions_indexed, status.sessions_live
            ),
        ),
        (
            "agents",
            format!(
                "{} running, {} queued, {} in all",
                status.agents_running, status.agents_queued, status.agents_total
            ),
        ),
    ];
    if !status.watcher.is_empty() {
        rows.push(("watcher", status.watcher.clone()));
    }
    if let Some(scan) = &status.first_scan {
        rows.push((
            "first scan",
            if scan.done {
                format!(
                    "{} files, {} read ({}) in {} ms",
                    scan.files,
                    scan.files_read,
                    output::bytes(scan.bytes_read),
                    scan.ms
                )
            } else {
                "running".to_owned()
            },
        ));
    }
    if let Some(n) = status.notifications.as_ref().filter(|n| n.channels > 0) {
        rows.push(("notifications", super::notify::summary_line(n)));
    }
    if let Some(disk) = &status.disk {
        rows.push(("disk", disk.message.clone()));
    }
    if let Some(store) = &status.store {
        let mut line = store.state.clone();
        if !store.error.is_empty() {
            line.push_str(&format!(": {}", store.error));
        }
        if store.queued_writes > 0 {
            line.push_str(&format!(" ({} writes wait for room)", store.queued_writes));
        }
        rows.push(("store", line));
        if let Some(repair) = &store.repair {
            rows.push(("store rebuilt", repair.note.clone()));
        }
    }
    for warning in &status.warnings {
        rows.push(("warning", warning.clone()));
    }
    output::fields(&rows);
    Ok(())
}
