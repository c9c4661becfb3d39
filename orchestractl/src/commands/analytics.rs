//! `orchestractl analytics`: usage per project and per day, or grouped `--by` project,
//! day, agent, batch or model.

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

const HEADER: [&str; 6] = [
    "PROJECT",
    "SESSIONS",
    "MESSAGES",
    "TOKENS IN",
    "TOKENS OUT",
    "COST",
];

/// Prints analytics.
pub async fn run(ctx: &Ctx, args: AnalyticsArgs) -> anyhow::Result<ExitCode> {
    let clients = ctx.connect().await?;
    let response = clients
        .sessions()
        .analytics(AnalyticsRequest {
            hours: args.hours.unwrap_or(0.0),
            by: args.by.clone().unwrap_or_default(),
            since: args.since.clone().unwrap_or_default(),
        })
        .await?
        .into_inner();
    if let Some(by) = &args.by {
        // `today`: what agents spent today (local time) against the daily cap (0: none),
        // the figures `daily_max_budget_usd` is held to.
        let answer = serde_json::json!({
            "rows": response.rows,
            "total": response.total,
            "today": {"spent_usd": response.day_spent_usd, "cap_usd": response.day_cap_usd},
        });
        return ctx.answer(&answer, || {
            let mut header = HEADER;
            let label = by.to_uppercase();
            header[0] = &label;
            let mut rows: Vec<Vec<String>> = response.rows.iter().map(|t| row(t, 48)).collect();
            if let Some(total) = &response.total {
                rows.push(row(total, 48));
            }
            output::table(&header, &rows);
            Ok(())
        });
    }
    // Without --by the answer is as it always was: projects, days, total.
    let mut answer = serde_json::to_value(&response)?;
    if let Some(fields) = answer.as_object_mut() {
        for grouped_only in ["rows", "day_cap_usd", "day_spent_usd"] {
            fields.remove(grouped_only);
        }
    }
    ctx.answer(&answer, || {
        let mut rows: Vec<Vec<String>> = response.projects.iter().map(|t| row(t, 48)).collect();
        if let Some(total) = &response.total {
            rows.push(row(total, 48));
        }
        output::table(&HEADER, &rows);
        println!();
        let mut header = HEADER;
        header[0] = "DAY (UTC)";
        let rows: Vec<Vec<String>> = response.days.iter().map(|t| row(t, 12)).collect();
        output::table(&header, &rows);
        Ok(())
    })
}
