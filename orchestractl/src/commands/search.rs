//! `orchestractl search <query>`: find text in prompts and answers.

use std::process::ExitCode;

use orchestra_proto::v1::search_update::Update;
use orchestra_proto::v1::{SearchHit, SearchSessionsRequest, SearchUpdate};

use crate::cli::SearchArgs;
use crate::client::Ctx;
use crate::output;

/// Searches every session.
pub async fn run(ctx: &Ctx, args: SearchArgs) -> anyhow::Result<ExitCode> {
    let request = SearchSessionsRequest {
        query: args.query.clone(),
        hours: args.hours.unwrap_or(0.0),
        limit: args.limit,
    };
    if let Some(names) = crate::hosts::selected(ctx, &args.hosts)? {
        return merged(ctx, request, &names).await;
    }
    let clients = ctx.connect().await?;
    let mut updates = clients
        .sessions()
        .search_stream(request)
        .await?
        .into_inner();
    // A search over gigabytes takes a while: say how far it got.
    let mut progress = output::Progress::new();
    let response = loop {
        match updates.message().await? {
            Some(SearchUpdate {
                update: Some(Update::Progress(p)),
            }) => progress.update(&format!(
                "searching: {} of {} sessions, {} of {}",
                p.sessions_searched,
                p.sessions_total,
                output::bytes(p.bytes_searched),
                output::bytes(p.bytes_total)
            )),
            Some(SearchUpdate {
                update: Some(Update::Result(result)),
            }) => break result,
            Some(SearchUpdate { update: None }) => {}
            None => anyhow::bail!("the daemon ended the search without an answer: try again"),
        }
    };
    drop(progress);
    ctx.answer(&response.hits, || {
        if response.hits.is_empty() {
            println!(
                "no match for {:?} in {} sessions",
                args.query, response.sessions_searched
            );
            return Ok(());
        }
        print_hits(&response.hits);
        Ok(())
    })
}

fn print_hits(hits: &[SearchHit]) {
    for hit in hits {
        println!(
            "{}  {:<9}  {}  {}",
            output::short_id(&hit.session_id),
            hit.role,
            output::age(hit.timestamp_ms),
            output::truncate(&hit.project_path, 40)
        );
        println!("    {}", output::truncate(&hit.snippet, 160));
    }
}

/// `search --hosts`: every host searched at once (without the progress line), each
/// host's hits under its name (`--json`: one list, each hit with its `host`).
async fn merged(
    ctx: &Ctx,
    request: SearchSessionsRequest,
    names: &[String],
) -> anyhow::Result<ExitCode> {
    let answers = crate::hosts::each(ctx, names, |client| {
        let request = request.clone();
        async move {
            let mut updates = client.sessions().search_stream(request).await?.into_inner();
            while let Some(update) = updates.message().await? {
                if let Some(Update::Result(result)) = update.update {
                    return Ok(result.hits);
                }
            }
            anyhow::bail!("the daemon ended the search without an answer: try again")
        }
    })
    .await?;
    let empty = format!("no match for {:?}", request.query);
    crate::hosts::show(ctx, &answers, &empty, print_hits)
}
