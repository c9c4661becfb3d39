//! `orchestractl show <id>`: one session in detail.

use std::process::ExitCode;

use orchestra_proto::v1::GetSessionRequest;

use crate::cli::ShowArgs;
use crate::client::Ctx;
use crate::output;

/// Shows one session.
pub async fn run(ctx: &Ctx, args: ShowArgs) -> anyhow::Result<ExitCode> {
    let clients = ctx.connect().await?;
    let s = clients
        .sessions()
        .get(GetSessionRequest { id: args.id })
        .await?
        .into_inner();
    ctx.answer(&s, || {
        let tokens = s.tokens.unwrap_or_default();
        let tools = s
            .tool_calls
            .iter()
            .map(|(name, n)| format!("{name} {n}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut rows = vec![
            ("session", s.session_id.clone()),
            ("project", s.project_path.clone()),
            ("file", s.file_path.clone()),
            ("branch", s.git_branch.clone()),
            (
                "live",
                if s.live {
                    let mut what = vec![format!("pid {}", s.live_pid)];
                    what.extend(
                        [&s.live_status, &s.live_kind]
                            .into_iter()
                            .filter(|t| !t.is_empty())
                            .cloned(),
                    );
                    format!("yes ({})", what.join(", "))
                } else {
                    "no".to_owned()
                },
            ),
            ("started", output::timestamp(s.started_at_ms)),
            (
                "modified",
                format!(
                    "{} ({})",
                    output::timestamp(s.modified_at_ms),
                    output::age(s.modified_at_ms)
                ),
            ),
            ("first prompt", output::truncate(&s.first_prompt, 200)),
            ("last prompt", output::truncate(&s.last_prompt, 200)),
            (
                "messages",
                format!(
                    "{} from the user, {} from the assistant",
                    s.user_messages, s.assistant_messages
                ),
            ),
            (
                "tool calls",
                if tools.is_empty() {
                    "none".to_owned()
                } else {
                    tools
                },
            ),
            (
                "tokens",
                format!(
                    "{} in, {} out, {} cache read, {} cache write",
                    tokens.input, tokens.output, tokens.cache_read, tokens.cache_creation
                ),
            ),
            (
                "cost",
                if s.cost_is_estimate {
                    format!("${:.4} (estimated from tokens)", s.cost_usd)
                } else {
                    format!("${:.6} (Claude Code's own figure)", s.cost_usd)
                },
            ),
            ("models", s.models.join(", ")),
            ("cli version", s.cli_version.clone()),
            ("size", output::bytes(s.file_size)),
        ];
        if !s.title.is_empty() {
            rows.insert(1, ("title", s.title.clone()));
        }
        if !s.name.is_empty() {
            rows.insert(1, ("name", s.name.clone()));
        }
        if !s.job_id.is_empty() {
            // Claude Code's own background session: `claude stop|logs|attach <job>` act on it.
            rows.push(("background job", format!("{} ({})", s.job_id, s.job_state)));
            if !s.worktree_path.is_empty() {
                rows.push(("worktree", s.worktree_path.clone()));
                rows.push(("worktree branch", s.worktree_branch.clone()));
            }
        }
        if s.sidechain_lines > 0 {
            rows.push(("sub-agent lines", s.sidechain_lines.to_string()));
        }
        if !s.agent_id.is_empty() {
            rows.push(("agent", s.agent_id.clone()));
        }
        rows.push(("skipped lines", s.skipped_lines.to_string()));
        output::fields(&rows);
        Ok(())
    })
}
