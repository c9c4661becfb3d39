//! `orchestractl web [--port P] [--lan] [--open]`, `web devices`, `web revoke <id>`.

use std::process::ExitCode;

use anyhow::Context as _;
use orchestra_proto::v1::{ListDevicesRequest, RevokeRequest};

use crate::cli::{WebAction, WebArgs};
use crate::client::{Ctx, repo_arg, sibling_binary};
use crate::output;

/// Serves the dashboard in the foreground, or manages paired devices.
pub async fn run(ctx: &Ctx, args: WebArgs) -> anyhow::Result<ExitCode> {
    let clients = ctx.connect().await?;
    match args.action {
        Some(WebAction::Devices) => {
            let devices = clients
                .devices()
                .list(ListDevicesRequest {})
                .await?
                .into_inner()
                .devices;
            if ctx.json {
                output::json(&devices)?;
            } else if devices.is_empty() {
                println!("no paired devices; pair one with `orchestractl web --lan`");
            } else {
                let rows: Vec<Vec<String>> = devices
                    .iter()
                    .map(|d| {
                        vec![
                            d.id.clone(),
                            output::age(d.paired_at_ms),
                            output::age(d.last_seen_ms),
                            output::truncate(&d.name, 60),
                        ]
                    })
                    .collect();
                output::table(&["ID", "PAIRED", "LAST SEEN", "DEVICE"], &rows);
            }
            return Ok(ExitCode::SUCCESS);
        }
        Some(WebAction::Revoke { id }) => {
            let revoked = clients
                .devices()
                .revoke(RevokeRequest { id })
                .await?
                .into_inner();
            if ctx.json {
                output::json(&revoked)?;
            } else if let Some(device) = revoked.device {
                println!(
                    "unpaired {} ({})",
                    device.id,
                    output::truncate(&device.name, 60)
                );
            }
            return Ok(ExitCode::SUCCESS);
        }
        None => {}
    }
    let port = match args.port {
        Some(port) => port,
        None => {
            let (_, settings) = clients.config().await?;
            settings["dashboard_port"].as_u64().unwrap_or(8888) as u16
        }
    };
    let binary = sibling_binary("orchestra-dashboard", "ORCHESTRA_DASHBOARD_BIN");
    let mut command = tokio::process::Command::new(&binary);
    command
        .arg("--socket")
        .arg(&ctx.socket)
        .arg("--port")
        .arg(port.to_string())
        .arg("--repo")
        .arg(repo_arg(args.repo.as_deref())?)
        // It ends with us: a SIGTERM to `orchestractl web` must not leave it serving.
        .arg("--parent-pid")
        .arg(std::process::id().to_string())
        .kill_on_drop(true);
    if args.lan {
        command.arg("--lan");
    }
    let mut child = command.spawn().with_context(|| {
        format!(
            "cannot run {}: is it installed next to orchestractl?",
            binary.display()
        )
    })?;
    if args.open {
        let url = format!("http://127.0.0.1:{port}/");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let opener = if cfg!(target_os = "macos") {
            "open"
        } else {
            "xdg-open"
        };
        if std::process::Command::new(opener)
            .arg(&url)
            .spawn()
            .is_err()
        {
            eprintln!("orchestractl: could not open a browser; open {url} yourself");
        }
    }
    let status = child.wait().await?;
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
