//! `orchestractl web pair [--name NAME] [--port P] [--json]`: a pairing code for the LAN
//! dashboard that is running, with its link and a QR code, so a second phone pairs
//! without a restart. The daemon makes the code; the page told it where phones reach it.

use std::process::ExitCode;

use orchestra_proto::v1::CreatePairingLinkRequest;

use crate::client::Ctx;
use crate::output;

/// Prints a pairing link for the running LAN page.
pub async fn run(ctx: &Ctx, name: Option<String>, port: Option<u16>) -> anyhow::Result<ExitCode> {
    let clients = ctx.connect().await?;
    let link = clients
        .devices()
        .create_pairing_link(CreatePairingLinkRequest {
            port: port.unwrap_or(0).into(),
            device_name: name.unwrap_or_default(),
        })
        .await?
        .into_inner();
    let expires_at = chrono::DateTime::from_timestamp_millis(link.expires_at_ms)
        .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default();
    if ctx.json {
        output::json(&serde_json::json!({
            "code": link.code,
            "url": link.url,
            "expires_at": expires_at,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    println!("On the new device, open (valid 10 minutes, once) or scan:");
    println!("  {}", link.url);
    if let Ok(qr) = qrcode::QrCode::new(link.url.as_bytes()) {
        let art = qr
            .render::<qrcode::render::unicode::Dense1x2>()
            .quiet_zone(true)
            .build();
        println!("{art}");
    }
    println!("pairing code: {}", link.code);
    eprintln!(
        "a phone that does not trust this machine yet: install its CA first (`orchestractl web ca`)"
    );
    Ok(ExitCode::SUCCESS)
}
