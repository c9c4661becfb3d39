//! `orchestractl health`: storage, stale and orphaned sessions, parse errors.

use std::process::ExitCode;

use orchestra_proto::v1::HealthRequest;

use crate::client::Ctx;
use crate::output;

/// Prints the health report.
pub async fn run(ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let clients = ctx.connect().await?;
    let h = clients
        .sessions()
        .health(HealthRequest {})
        .await?
        .into_inner();
    ctx.answer(&h, || {
        output::fields(&[
            (
                "sessions",
                format!("{} ({})", h.sessions, output::bytes(h.sessions_bytes)),
            ),
            ("daemon store", output::bytes(h.store_bytes)),
            (
                "stale (>48 h)",
                format!("{} ({})", h.stale_sessions, output::bytes(h.stale_bytes)),
            ),
            ("orphaned", h.orphaned.len().to_string()),
            ("skipped lines", h.skipped_lines.to_string()),
            ("watcher", h.watcher.clone()),
            (
                "notifications",
                h.notifications
                    .as_ref()
                    .filter(|n| n.channels > 0)
                    .map_or_else(
                        || "no channel configured".to_owned(),
                        super::notify::summary_line,
                    ),
            ),
        ]);
        let section =
            |title: &str,
             entries: &[orchestra_proto::v1::HealthEntry],
             what: &dyn Fn(&orchestra_proto::v1::HealthEntry) -> String| {
                if entries.is_empty() {
                    return;
                }
                println!("\n{title}:");
                for e in entries {
                    println!(
                        "  {}  {}  {}",
                        output::short_id(&e.session_id),
                        what(e),
                        e.file_path
                    );
                }
            };
        section("largest", &h.largest, &|e| output::bytes(e.file_size));
        section("orphaned (project path gone)", &h.orphaned, &|e| {
            e.project_path.clone()
        });
        section("with parse errors", &h.parse_errors, &|e| {
            format!("{} skipped", e.skipped_lines)
        });
        Ok(())
    })
}
