//! `orchestractl analytics`: usage per project and per day.

use std::process::ExitCode;

use orchestra_proto::v1::{AnalyticsRequest, UsageTotals};

use crate::cli::AnalyticsArgs;
use crate::client::Ctx;
use crate::output;

fn row(t: &UsageTotals, key_width: usize) -> Vec<String> {
    let tokens = t.tokens.unwrap_or_default();
    vec![
        output::truncate(&t.key, key_width),
        t.sessions.to_string(),
        t.messages.to_string(),
        output::tokens(tokens.input + tokens.cache_read + tokens.cache_creation),
        output::tokens(tokens.output),
        // `~` when any part of it is an estimate from tokens.
        output::cost(t.cost_usd, t.estimated_cost_usd > 0.0),
    ]
}

/// Prints analytics.
pub async fn run(ctx: &Ctx, args: AnalyticsArgs) -> anyhow::Result<ExitCode> {
    let clients = ctx.connect().await?;
    let response = clients
        .sessions()
        .analytics(AnalyticsRequest {
            hours: args.hours.unwrap_or(0.0),
        })
        .await?
        .into_inner();
    ctx.answer(&response, || {
        let header = [
            "PROJECT",
            "SESSIONS",
            "MESSAGES",
            "TOKENS IN",
            "TOKENS OUT",
            "COST",
        ];
        let mut rows: Vec<Vec<String>> = response.projects.iter().map(|t| row(t, 48)).collect();
        if let Some(total) = &response.total {
            rows.push(row(total, 48));
        }
        output::table(&header, &rows);
        println!();
        let mut header = header;
        header[0] = "DAY (UTC)";
        let rows: Vec<Vec<String>> = response.days.iter().map(|t| row(t, 12)).collect();
        output::table(&header, &rows);
        Ok(())
    })
}
