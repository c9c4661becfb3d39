//! `orchestractl sessions`: list Claude Code sessions, live ones first.

use std::process::ExitCode;

use orchestra_proto::v1::{ListSessionsRequest, Session};

use crate::cli::SessionsArgs;
use crate::client::Ctx;
use crate::output;

/// Lists sessions.
pub async fn run(ctx: &Ctx, args: SessionsArgs) -> anyhow::Result<ExitCode> {
    let hours = if args.all {
        0.0
    } else {
        args.hours.unwrap_or(24.0)
    };
    let project = args.project.unwrap_or_default();
    let request = ListSessionsRequest {
        hours,
        project: project.clone(),
        live_only: args.live,
        sort: args.sort,
        limit: args.limit.unwrap_or(0),
    };
    if let Some(names) = crate::hosts::selected(ctx, &args.hosts)? {
        return merged(ctx, request, &names).await;
    }
    let clients = ctx.connect().await?;
    let response = clients.sessions().list(request).await?.into_inner();
    ctx.answer(&response.sessions, || {
        if response.sessions.is_empty() {
            if response.total_indexed == 0 {
                println!(
                    "no Claude Code sessions found in {} yet",
                    clients.status.claude_projects_dir
                );
            } else {
                let n = response.total_indexed;
                let what = match (args.live, project.is_empty()) {
                    (true, true) => {
                        "no live sessions: no Claude Code process is running now".to_owned()
                    }
                    (true, false) => format!("no live sessions of {project}"),
                    (false, false) => format!("no sessions of {project}"),
                    (false, true) if args.all => "no sessions match".to_owned(),
                    (false, true) => format!("no sessions in the last {hours} h"),
                };
                // Only a time window that `--all` would widen is worth a hint.
                let hint = if args.all || args.live {
                    String::new()
                } else {
                    "; try `orchestractl sessions --all`".to_owned()
                };
                println!("{what} ({n} indexed){hint}");
            }
            return Ok(());
        }
        print_table(&response.sessions);
        Ok(())
    })
}

/// The sessions as a table: busy ones first, then the other live ones, then the rest.
fn print_table(sessions: &[Session]) {
    // Busy sessions first, then the other live ones, then the rest, each group in the
    // order the daemon gave.
    let mut sessions = sessions.to_vec();
    sessions.sort_by_key(output::live_rank);
    let rows: Vec<Vec<String>> = sessions
        .iter()
        .map(|s| {
            let tokens = s
                .tokens
                .as_ref()
                .map(|t| t.input + t.output + t.cache_read + t.cache_creation)
                .unwrap_or(0);
            vec![
                output::short_id(&s.session_id),
                output::live_label(s),
                output::age(s.modified_at_ms),
                project_label(&s.project_path),
                (s.user_messages + s.assistant_messages).to_string(),
                output::tokens(tokens),
                output::cost(s.cost_usd, s.cost_is_estimate),
                // A background session is known by its name; a `-p` run's derived name
                // ("repo-68") says less than its prompt.
                output::truncate(
                    if !s.name.is_empty() && (!s.job_id.is_empty() || s.live_kind == "bg") {
                        &s.name
                    } else {
                        &s.first_prompt
                    },
                    50,
                ),
            ]
        })
        .collect();
    output::table(
        &[
            "ID",
            "LIVE",
            "MODIFIED",
            "PROJECT",
            "MSGS",
            "TOKENS",
            "COST",
            "FIRST PROMPT / NAME",
        ],
        &rows,
    );
}

/// `sessions --hosts`: each host's sessions under its name (`--json`: one list, each row
/// with its `host`).
async fn merged(
    ctx: &Ctx,
    request: ListSessionsRequest,
    names: &[String],
) -> anyhow::Result<ExitCode> {
    let answers = crate::hosts::each(ctx, names, |client| {
        let request = request.clone();
        async move { Ok(client.sessions().list(request).await?.into_inner().sessions) }
    })
    .await?;
    crate::hosts::show(ctx, &answers, "no sessions match", |sessions| {
        print_table(sessions)
    })
}

/// How the PROJECT column names a project: home as `~`, an agent worktree
/// (`<repo>/.worktrees/task-<slug>`) as `<repo>:<slug>`, and a long path cut from the left,
/// where paths alike begin and differ only at their end.
fn project_label(path: &str) -> String {
    let path = crate::scope::repo_label(path);
    let path = match path.split_once("/.worktrees/task-") {
        Some((repo, slug)) => format!("{repo}:{slug}"),
        None => path,
    };
    output::truncate_left(&path, 36)
}
