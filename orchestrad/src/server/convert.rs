//! Conversions between the daemon's plain Rust types and the generated proto types. The
//! domain never sees a proto type; the services never build one by hand.

use orchestra_proto::v1 as pb;

use crate::sessions::meta::{SessionMeta, Tokens};
use crate::sessions::query::{Health, Hit, Totals};
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
            estimated_cost_usd: t.cost,
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
    }
}
