//! `orchestractl search <query>`: find text in prompts and answers.

use std::process::ExitCode;

use orchestra_proto::v1::SearchSessionsRequest;

use crate::cli::SearchArgs;
use crate::client::Ctx;
use crate::output;

/// Searches every session.
pub async fn run(ctx: &Ctx, args: SearchArgs) -> anyhow::Result<ExitCode> {
    let clients = ctx.connect().await?;
    let response = clients
        .sessions()
        .search(SearchSessionsRequest {
            query: args.query.clone(),
            hours: args.hours.unwrap_or(0.0),
            limit: args.limit,
        })
        .await?
        .into_inner();
    if ctx.json {
        output::json(&response.hits)?;
        return Ok(ExitCode::SUCCESS);
    }
    if response.hits.is_empty() {
        println!(
            "no match for {:?} in {} sessions",
            args.query, response.sessions_searched
        );
        return Ok(ExitCode::SUCCESS);
    }
    for hit in &response.hits {
        println!(
            "{}  {:<9}  {}  {}",
            output::short_id(&hit.session_id),
            hit.role,
            output::age(hit.timestamp_ms),
            output::truncate(&hit.project_path, 40)
        );
        println!("    {}", output::truncate(&hit.snippet, 160));
    }
    Ok(ExitCode::SUCCESS)
}
