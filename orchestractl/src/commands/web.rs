//! `orchestractl web [--port P] [--lan [--insecure-http]] [--open]`, `web link [--port P]`,
//! `web devices`, `web revoke <id>`, `web cert [--renew]`, `web ca [--out FILE]`
//! (`web pair` is [`super::web_pair`]).
//!
//! Serving and the certificate belong to `orchestra-dashboard`; this command finds the
//! settings (port, `tls_cert` / `tls_key`) in the daemon's config and runs it.

use std::process::ExitCode;

use anyhow::Context as _;
use orchestra_proto::v1::{CreateLoginLinkRequest, ListDevicesRequest, RevokeRequest};

use crate::cli::{WebAction, WebArgs};
use crate::client::{Ctx, repo_arg, sibling_binary};
use crate::output;

/// Serves the dashboard in the foreground, or manages paired devices.
pub async fn run(ctx: &Ctx, args: WebArgs) -> anyhow::Result<ExitCode> {
    if let Some(WebAction::Pair { name, port }) = args.action {
        return super::web_pair::run(ctx, name, port).await;
    }
    let clients = ctx.connect().await?;
    match args.action {
        Some(WebAction::Link { port }) => {
            let link = clients
                .devices()
                .create_login_link(CreateLoginLinkRequest {
                    port: port.unwrap_or(0).into(),
                })
                .await?
                .into_inner();
            if ctx.json {
                let expires_at = chrono::DateTime::from_timestamp_millis(link.expires_at_ms)
                    .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                    .unwrap_or_default();
                output::json(&serde_json::json!({"url": link.url, "expires_at": expires_at}))?;
            } else {
                // The link alone on stdout (for `xdg-open "$(orchestractl web link)"`).
                println!("{}", link.url);
                eprintln!("open it in this machine's browser: it logs in once, within 60 seconds");
            }
            return Ok(ExitCode::SUCCESS);
        }
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
        Some(WebAction::Pair { .. }) => unreachable!("handled above"),
        Some(action @ (WebAction::Cert { .. } | WebAction::Ca { .. })) => {
            let (_, settings) = crate::client::running_config(&clients).await?;
            let binary = sibling_binary("orchestra-dashboard", "ORCHESTRA_DASHBOARD_BIN");
            let mut command = tokio::process::Command::new(&binary);
            match action {
                WebAction::Cert { renew } => {
                    command.arg("cert");
                    if renew {
                        command.arg("--renew");
                    }
                }
                WebAction::Ca { out } => {
                    command.arg("ca");
                    if let Some(out) = out {
                        command.arg("--out").arg(out);
                    }
                }
                _ => {}
            }
            if ctx.json {
                command.arg("--json");
            }
            own_cert_args(&mut command, &settings);
            let status = command
                .status()
                .await
                .with_context(|| cannot_run(&binary))?;
            return Ok(if status.success() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            });
        }
        None => {}
    }
    let (_, settings) = crate::client::running_config(&clients).await?;
    let port = match args.port {
        Some(port) => port,
        None => settings["dashboard_port"].as_u64().unwrap_or(8888) as u16,
    };
    let binary = sibling_binary("orchestra-dashboard", "ORCHESTRA_DASHBOARD_BIN");
    let mut command = tokio::process::Command::new(&binary);
    own_cert_args(&mut command, &settings);
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
    if args.insecure_http {
        command.arg("--insecure-http");
    }
    if args.open {
        // The dashboard opens its own login link once the daemon knows the page.
        command.arg("--open");
    }
    let mut child = command.spawn().with_context(|| cannot_run(&binary))?;
    let status = child.wait().await?;
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn cannot_run(binary: &std::path::Path) -> String {
    format!(
        "cannot run {}: is it installed next to orchestractl?",
        binary.display()
    )
}

/// Passes the config's `tls_cert` / `tls_key` (the user's own certificate), when set.
fn own_cert_args(command: &mut tokio::process::Command, settings: &serde_json::Value) {
    if let (Some(cert), Some(key)) = (settings["tls_cert"].as_str(), settings["tls_key"].as_str()) {
        command
            .arg("--tls-cert")
            .arg(cert)
            .arg("--tls-key")
            .arg(key);
    }
}
