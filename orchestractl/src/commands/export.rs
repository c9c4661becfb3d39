//! `orchestractl export <id>|--last [-o FILE]`: a session as Markdown.

use std::process::ExitCode;

use anyhow::Context as _;
use orchestra_proto::v1::ExportRequest;

use crate::cli::ExportArgs;
use crate::client::Ctx;
use crate::output;

/// Exports one session.
pub async fn run(ctx: &Ctx, args: ExportArgs) -> anyhow::Result<ExitCode> {
    let clients = ctx.connect().await?;
    let export = clients
        .sessions()
        .export(ExportRequest {
            id: args.id.unwrap_or_default(),
            last: args.last,
        })
        .await?
        .into_inner();
    match &args.output {
        Some(path) => {
            std::fs::write(path, &export.markdown)
                .with_context(|| format!("cannot write {}", path.display()))?;
            if ctx.json {
                output::json(&serde_json::json!({
                    "session_id": export.session_id,
                    "output": path,
                    "bytes": export.markdown.len(),
                }))?;
            } else {
                eprintln!(
                    "exported session {} to {}",
                    export.session_id,
                    path.display()
                );
            }
        }
        None if ctx.json => output::json(&export)?,
        None => print!("{}", export.markdown),
    }
    Ok(ExitCode::SUCCESS)
}
