//! Conversions between the daemon's plain Rust types and the generated proto types. The
//! domain never sees a proto type; the services never build one by hand.

use orchestra_proto::v1 as pb;

use crate::sessions::meta::{SessionMeta, Tokens};
use crate::sessions::query::{Health, Totals};
use crate::sessions::search::Hit;
use crate::sessions::transcript::Message;

impl From<&Tokens> for pb::TokenUsage {
    fn from(t: &Tokens) -> Self {
        pb::TokenUsage {
            input: t.input,
            output: t.output,
            cache_read: t.cache_read,
            cache_creation: t.cache_creation,
        }
    }
}

impl From<&SessionMeta> for pb::Session {
    fn from(s: &SessionMeta) -> Self {
        pb::Session {
            session_id: s.session_id.clone(),
            project_path: s.project_path.clone(),
            project_dir: s.project_dir.clone(),
            file_path: s.file_path.display().to_string(),
            git_branch: s.git_branch.clone(),
            first_prompt: s.first_prompt.clone(),
            last_prompt: s.last_prompt.clone(),
            user_messages: s.user_messages,
            assistant_messages: s.assistant_messages,
            tool_calls: s.tool_calls.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            tokens: Some((&s.tokens).into()),
            models: s.models.clone(),
            cli_version: s.cli_version.clone(),
            started_at_ms: s.started_at_ms,
            modified_at_ms: s.modified_at_ms,
            file_size: s.file_size,
            sidechain_lines: s.sidechain_lines,
            title: s.title.clone(),
            live: s.live,
            live_pid: s.live_pid,
            agent_id: s.agent_id.clone(),
            skipped_lines: s.skipped_lines,
            estimated_cost_usd: s.estimated_cost_usd,
            cost_usd: s.cost_usd(),
            cost_is_estimate: s.cost_is_estimate(),
            live_status: s.live_status.clone(),
            live_kind: s.live_kind.clone(),
            name: s.name.clone(),
            job_id: s.job.as_ref().map(|j| j.id.clone()).unwrap_or_default(),
            job_state: s.job.as_ref().map(|j| j.state.clone()).unwrap_or_default(),
            worktree_path: s
                .job
                .as_ref()
                .map(|j| j.worktree_path.clone())
                .unwrap_or_default(),
            worktree_branch: s
                .job
                .as_ref()
                .map(|j| j.worktree_branch.clone())
                .unwrap_or_default(),
        }
    }
}

impl From<&Message> for pb::TranscriptMessage {
    fn from(m: &Message) -> Self {
        pb::TranscriptMessage {
            role: m.role.to_owned(),
            text: m.text.clone(),
            tool_calls: m.tool_calls.clone(),
            timestamp_ms: m.timestamp_ms,
            model: m.model.clone(),
            sidechain: m.sidechain,
            is_error: m.is_error,
        }
    }
}

impl From<Hit> for pb::SearchHit {
    fn from(h: Hit) -> Self {
        pb::SearchHit {
            session_id: h.session_id,
            project_path: h.project_path,
            role: h.role.to_owned(),
            snippet: h.snippet,
            timestamp_ms: h.timestamp_ms,
        }
    }
}

impl From<Totals> for pb::UsageTotals {
    fn from(t: Totals) -> Self {
        pb::UsageTotals {
            key: t.key,
            sessions: t.sessions,
            messages: t.messages,
            tokens: Some((&t.tokens).into()),
            estimated_cost_usd: t.estimated_cost,
            cost_usd: t.cost,
        }
    }
}

fn health_entry(s: &SessionMeta) -> pb::HealthEntry {
    pb::HealthEntry {
        session_id: s.session_id.clone(),
        file_path: s.file_path.display().to_string(),
        file_size: s.file_size,
        project_path: s.project_path.clone(),
        skipped_lines: s.skipped_lines,
    }
}

/// The health report on the wire; `store_bytes` and `watcher` come from elsewhere.
pub fn health(h: &Health, store_bytes: u64, watcher: String) -> pb::HealthResponse {
    pb::HealthResponse {
        sessions_bytes: h.sessions_bytes,
        store_bytes,
        sessions: h.sessions,
        stale_sessions: h.stale_sessions,
        stale_bytes: h.stale_bytes,
        orphaned: h.orphaned.iter().map(health_entry).collect(),
        largest: h.largest.iter().map(health_entry).collect(),
        parse_errors: h.parse_errors.iter().map(health_entry).collect(),
        skipped_lines: h.skipped_lines,
        watcher,
        notifications: None,
    }
}

use crate::integration::results::{AgentResult, CleanupAction, WorktreeInfo};
use crate::supervisor::agent::AgentRecord;
use crate::worktree::DiffStat;

impl From<&AgentRecord> for pb::Agent {
    fn from(a: &AgentRecord) -> Self {
        pb::Agent {
            id: a.id.clone(),
            task: a.task.clone(),
            state: a.state.as_str().to_owned(),
            activity: a.activity.clone(),
            session_id: a.session_id.clone(),
            pid: a.pid,
            repo: a.repo.display().to_string(),
            cwd: a.cwd.display().to_string(),
            branch: a.branch.clone(),
            base_ref: a.base_ref.clone(),
            base_commit: a.base_commit.clone(),
            created_at_ms: a.created_at_ms,
            started_at_ms: a.started_at_ms,
            ended_at_ms: a.ended_at_ms,
            has_exit_code: a.exit_code.is_some(),
            exit_code: a.exit_code.unwrap_or(0),
            result: a.result.clone(),
            is_error: a.is_error,
            total_cost_usd: a.total_cost_usd,
            tokens: Some((&a.tokens).into()),
            permission_denials: a.permission_denials.clone(),
            log_path: a.log_path.display().to_string(),
            model: a.model.clone(),
            model_used: a.model_used.clone(),
            permission_mode: a.permission_mode.clone(),
            runs: a.runs,
            error: a.error.clone(),
            batch_id: a.batch_id.clone(),
            parallel: a.parallel,
            overlaps: a
                .overlaps
                .iter()
                .map(|o| pb::Overlap {
                    agent_id: o.agent_id.clone(),
                    paths: o.paths.clone(),
                })
                .collect(),
            after: a.after.clone(),
            merge_status: a.merge_status.clone(),
            sandbox: a.sandbox,
            review: Some(pb::Review {
                state: if a.review.state.is_empty() {
                    "none".to_owned()
                } else {
                    a.review.state.clone()
                },
                comments: a
                    .review
                    .comments
                    .iter()
                    .map(|c| pb::ReviewComment {
                        path: c.path.clone(),
                        line: c.line,
                        text: c.text.clone(),
                        at: c.at,
                        sent: c.sent,
                    })
                    .collect(),
            }),
            stop_reason: a.stop_reason.clone(),
            max_budget_usd: a.max_budget_usd,
            batch_max_budget_usd: a.batch_max_budget_usd,
            budget_scope: a.budget_scope.clone(),
        }
    }
}

impl From<DiffStat> for pb::DiffStat {
    fn from(d: DiffStat) -> Self {
        pb::DiffStat {
            files_changed: d.files_changed,
            insertions: d.insertions,
            deletions: d.deletions,
            commits: d.commits,
            uncommitted: d.uncommitted,
        }
    }
}

impl From<&AgentResult> for pb::AgentResult {
    fn from(r: &AgentResult) -> Self {
        pb::AgentResult {
            agent: Some((&r.agent).into()),
            diff: r.diff.map(Into::into),
            duration_ms: r.agent.duration_ms(crate::time::now_ms()),
        }
    }
}

impl From<&WorktreeInfo> for pb::WorktreeInfo {
    fn from(w: &WorktreeInfo) -> Self {
        pb::WorktreeInfo {
            path: w.agent.cwd.display().to_string(),
            branch: w.agent.branch.clone(),
            agent_id: w.agent.id.clone(),
            agent_state: w.agent.state.as_str().to_owned(),
            diff: w.diff.map(Into::into),
            merged: w.merged,
        }
    }
}

impl From<&CleanupAction> for pb::CleanupAction {
    fn from(c: &CleanupAction) -> Self {
        pb::CleanupAction {
            agent_id: c.agent_id.clone(),
            worktree: c.worktree.display().to_string(),
            branch: c.branch.clone(),
            remove_worktree: c.remove_worktree,
            delete_branch: c.delete_branch,
            skipped: c.skipped.clone(),
            sharing_agents: c.sharing_agents.clone(),
        }
    }
}

impl From<&crate::approvals::Approval> for pb::Approval {
    fn from(a: &crate::approvals::Approval) -> Self {
        pb::Approval {
            id: a.id.clone(),
            agent_id: a.agent_id.clone(),
            session_id: a.session_id.clone(),
            project_path: a.project_path.clone(),
            tool_name: a.tool_name.clone(),
            input_json: a.input.to_string(),
            description: a.description.clone(),
            state: a.state.as_str().to_owned(),
            created_at_ms: a.created_at_ms,
            decided_at_ms: a.decided_at_ms,
            decided_by: a.decided_by.clone(),
            message: a.message.clone(),
            always: a.always,
            summary: a.summary(),
            agent_task: String::new(),
            suggestions_json: a.suggestions.to_string(),
            kind: a.kind.as_str().to_owned(),
            question: a.question.clone(),
            choices: a.choices.clone(),
            answer: a.answer.clone(),
            spent_usd: a.budget.spent_usd,
            budget_usd: a.budget.budget_usd,
            budget_scope: a.budget.scope.clone(),
        }
    }
}

impl From<&crate::messages::Message> for pb::TalkMessage {
    fn from(m: &crate::messages::Message) -> Self {
        pb::TalkMessage {
            id: m.id.clone(),
            from: m.from.clone(),
            to: m.to.clone(),
            text: m.text.clone(),
            at_ms: m.at_ms,
            delivered_at_ms: m.delivered_at_ms,
            batch_id: m.batch_id.clone(),
        }
    }
}

use crate::notify::{Delivery, Notification, Summary, TestResult};

impl From<&Notification> for pb::Notification {
    fn from(n: &Notification) -> Self {
        pb::Notification {
            event: n.event.as_str().to_owned(),
            title: n.title.clone(),
            message: n.message.clone(),
            agent_id: n.agent_id.clone(),
            session_id: n.session_id.clone(),
            project_path: n.project_path.clone(),
            url: n.url.clone(),
            at_ms: n.at_ms,
        }
    }
}

impl From<&Summary> for pb::NotifySummary {
    fn from(s: &Summary) -> Self {
        pb::NotifySummary {
            channels: s.channels as u32,
            sent: s.sent,
            failed: s.failed,
            dropped: s.dropped,
            last_error: s.last_error.clone(),
        }
    }
}

/// A channel and its counters on the wire.
pub fn notify_channel(channel: &crate::notify::delivery::Channel) -> pb::NotifyChannel {
    let (config, stats) = (&channel.config, channel.stats());
    pb::NotifyChannel {
        index: channel.index as u32,
        device_id: channel.device_id().to_owned(),
        kind: config.kind.as_str().to_owned(),
        url: config.url.clone(),
        events: config.event_names().into_iter().collect(),
        sent: stats.sent,
        failed: stats.failed,
        dropped: stats.dropped,
        skipped: stats.skipped,
        retries: stats.retries,
        queued: stats.queued,
        last_error: stats.last_error.clone(),
        last_error_at_ms: stats.last_error_at_ms,
    }
}

impl From<&Delivery> for pb::NotifyDelivery {
    fn from(d: &Delivery) -> Self {
        pb::NotifyDelivery {
            channel_index: d.channel as u32,
            channel_kind: d.kind.to_owned(),
            event: d.event.as_str().to_owned(),
            title: d.title.clone(),
            outcome: d.outcome.as_str().to_owned(),
            answer: d.answer.clone(),
            attempts: d.attempts,
            at_ms: d.at_ms,
        }
    }
}

/// A try of `channel` during a test, as the `TestStream` RPC tells it.
pub fn notify_test_try(
    channel: &crate::notify::delivery::Channel,
    attempt: &crate::notify::delivery::Try,
) -> pb::NotifyTestTry {
    use crate::notify::delivery::{MAX_ATTEMPTS, Try};
    let base = pb::NotifyTestTry {
        channel_index: channel.index as u32,
        kind: channel.config.kind.as_str().to_owned(),
        max_attempts: MAX_ATTEMPTS,
        ..pb::NotifyTestTry::default()
    };
    match attempt {
        Try::Started { attempt } => pb::NotifyTestTry {
            attempt: *attempt,
            state: "trying".to_owned(),
            ..base
        },
        Try::Failed {
            attempt,
            error,
            retry_in,
        } => pb::NotifyTestTry {
            attempt: *attempt,
            state: "failed".to_owned(),
            error: error.clone(),
            retry_in_ms: retry_in.map_or(0, |wait| wait.as_millis() as u32),
            ..base
        },
    }
}

impl From<&TestResult> for pb::NotifyTestResult {
    fn from(t: &TestResult) -> Self {
        pb::NotifyTestResult {
            channel_index: t.index as u32,
            kind: t.config.kind.as_str().to_owned(),
            url: t.config.url.clone(),
            outcome: t.outcome.as_str().to_owned(),
            answer: t.answer.clone(),
        }
    }
}

impl From<&crate::integration::merge::MergeOutcome> for pb::MergeResponse {
    fn from(m: &crate::integration::merge::MergeOutcome) -> Self {
        pb::MergeResponse {
            branch: m.branch.clone(),
            merged: m.merged.clone(),
            skipped: m
                .skipped
                .iter()
                .map(|l| pb::SkippedBranch {
                    agent_id: l.skipped.agent_id.clone(),
                    paths: l.skipped.paths.clone(),
                    conflicts_with: l.skipped.conflicts_with.clone(),
                    reason: l.reason.clone(),
                })
                .collect(),
            conflicts: m
                .conflicts
                .iter()
                .map(|c| pb::Conflict {
                    agents: c.agents.to_vec(),
                    paths: c.paths.clone(),
                })
                .collect(),
            dry_run: m.dry_run,
            batch_id: m.batch_id.clone(),
            worktree: m.worktree.clone(),
            head: m.head.clone(),
            committed: m.committed.clone(),
            state: if m.dry_run {
                String::new()
            } else {
                "merged".to_owned()
            },
            ..pb::MergeResponse::default()
        }
    }
}

impl From<&crate::integration::run::MergeRun> for pb::MergeResponse {
    fn from(run: &crate::integration::run::MergeRun) -> Self {
        let verify = &run.verify;
        pb::MergeResponse {
            state: run.state.as_str().to_owned(),
            batch_id: run.batch_id.clone(),
            verify: Some(pb::VerifyResult {
                state: verify.state.clone(),
                command: verify.command.clone(),
                exit_code: verify.exit_code,
                duration_s: verify.duration_s,
                culprit_agent_id: verify.culprit_agent_id.clone(),
                output_tail: verify.output_tail.clone(),
                base_red: verify.base_red,
                reason: verify.reason.clone(),
                log_path: verify.log_path.clone(),
                verifications: verify.verifications,
            }),
            rounds: run
                .rounds
                .iter()
                .map(|r| pb::RepairRound {
                    round: r.round,
                    culprit_agent_id: r.culprit_agent_id.clone(),
                    action: r.action.clone(),
                    result: r.result.clone(),
                })
                .collect(),
            reason: run.reason.clone(),
            started_at_ms: run.started_at_ms,
            updated_at_ms: run.updated_at_ms,
            ..pb::MergeResponse::from(&run.outcome)
        }
        .with_batch(&run.batch_id)
    }
}

trait WithBatch {
    fn with_batch(self, batch_id: &str) -> Self;
}

impl WithBatch for pb::MergeResponse {
    /// A run that has not merged yet still names its batch.
    fn with_batch(mut self, batch_id: &str) -> Self {
        if self.batch_id.is_empty() {
            self.batch_id = batch_id.to_owned();
        }
        self
    }
}

impl From<&crate::integration::report::Report> for pb::ReportResponse {
    fn from(r: &crate::integration::report::Report) -> Self {
        pb::ReportResponse {
            batch_id: r.batch_id.clone(),
            repo: r.repo.display().to_string(),
            entries: r
                .entries
                .iter()
                .map(|e| pb::ReportEntry {
                    agent: Some((&e.agent).into()),
                    diff: e.diff.map(Into::into),
                    duration_ms: e.duration_ms,
                    merge_status: e.merge_status.clone(),
                })
                .collect(),
            total_cost_usd: r.total_cost_usd,
            markdown: r.markdown.clone(),
            verified_merge: r.verified.as_ref().map(Into::into),
        }
    }
}

/// Longest text a transcript event carries; the whole line is in `LogLine.line`.
const EVENT_TEXT_CHARS: usize = 64 * 1024;

/// The proto form of a transcript event; `None` for what clients do not show (a
/// withdrawn permission request).
pub fn transcript_event(event: &crate::claude::stream_json::Event) -> Option<pb::TranscriptEvent> {
    use crate::claude::stream_json::{Control, Event};
    use crate::text::truncate_chars;
    use pb::transcript_event as te;
    let cut = |text: &str| truncate_chars(text, EVENT_TEXT_CHARS);
    let event = match event {
        Event::SessionStarted {
            session_id,
            model,
            cwd,
        } => te::Event::SessionStarted(te::SessionStarted {
            session_id: session_id.clone(),
            model: model.clone(),
            cwd: cwd.clone(),
        }),
        Event::Text(text) => te::Event::Text(te::Text { text: cut(text) }),
        Event::ToolUse { id, name, input } => te::Event::ToolUse(te::ToolUse {
            id: id.clone(),
            name: name.clone(),
            input_json: cut(&input.to_string()),
        }),
        Event::ToolResult {
            tool_use_id,
            content,
            is_error,
        } => te::Event::ToolResult(te::ToolResult {
            tool_use_id: tool_use_id.clone(),
            content: cut(content),
            is_error: *is_error,
        }),
        Event::Control(Control::CanUseTool {
            request_id,
            tool_name,
            input,
            description,
            tool_use_id,
            ..
        }) => te::Event::PermissionRequest(te::PermissionRequest {
            request_id: request_id.clone(),
            tool_name: tool_name.clone(),
            input_json: cut(&input.to_string()),
            description: cut(description),
            tool_use_id: tool_use_id.clone(),
        }),
        Event::Control(Control::Cancel { .. }) => return None,
        Event::Result {
            subtype,
            is_error,
            text,
            total_cost_usd,
            duration_ms,
            num_turns,
            usage,
            ..
        } => te::Event::Result(te::Result {
            subtype: subtype.clone(),
            is_error: *is_error,
            text: cut(text),
            total_cost_usd: total_cost_usd.unwrap_or(0.0),
            duration_ms: *duration_ms,
            num_turns: *num_turns,
            usage: Some(usage.into()),
        }),
        Event::UserMessage(text) => te::Event::UserMessage(te::UserMessage {
            text: cut(text),
            from: crate::supervisor::mail::sender_of(text).unwrap_or_default(),
        }),
        Event::Output(text) => te::Event::Output(te::Output { text: cut(text) }),
    };
    Some(pb::TranscriptEvent { event: Some(event) })
}

impl From<pb::GitIdentity> for crate::worktree::Identity {
    fn from(identity: pb::GitIdentity) -> Self {
        crate::worktree::Identity {
            name: identity.name.trim().to_owned(),
            email: identity.email.trim().to_owned(),
        }
    }
}

impl From<crate::integration::pr::PrOutcome> for pb::PrResponse {
    fn from(outcome: crate::integration::pr::PrOutcome) -> Self {
        pb::PrResponse {
            branch: outcome.branch,
            committed: outcome.committed,
            pushed: outcome.pushed,
            pr_url: outcome.pr_url,
            instructions: outcome.instructions,
        }
    }
}

/// An agent's change on the wire.
pub fn diff(agent_id: String, change: crate::worktree::diff::Change) -> pb::DiffResponse {
    pb::DiffResponse {
        agent_id,
        base: change.base,
        head: change.head,
        files: change
            .files
            .into_iter()
            .map(|f| pb::DiffFile {
                path: f.path,
                old_path: f.old_path.unwrap_or_default(),
                status: f.status.to_owned(),
                additions: f.additions,
                deletions: f.deletions,
                hunks: f
                    .hunks
                    .into_iter()
                    .map(|h| pb::DiffHunk {
                        old_start: h.old_start,
                        old_lines: h.old_lines,
                        new_start: h.new_start,
                        new_lines: h.new_lines,
                        lines: h
                            .lines
                            .into_iter()
                            .map(|l| pb::DiffLine {
                                kind: l.kind.to_owned(),
                                text: l.text,
                                old_line: l.old_line,
                                new_line: l.new_line,
                            })
                            .collect(),
                    })
                    .collect(),
                lines_cut: f.lines_cut,
            })
            .collect(),
    }
}
