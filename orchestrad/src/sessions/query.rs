//! Questions asked of the index: list, analytics and health (search reads files:
//! [`super::search`]).

use std::collections::BTreeMap;
use std::path::Path;

use super::meta::{SessionMeta, Tokens};

/// Filters and order for [`list`].
#[derive(Debug, Default, Clone)]
pub struct ListFilter {
    /// Only sessions modified within this many hours; 0 for all.
    pub hours: f64,
    /// Substring of the project path or dir.
    pub project: String,
    /// Only live sessions.
    pub live_only: bool,
    /// "modified" (default), "started", "cost", "messages", "size".
    pub sort: String,
    /// At most this many; 0 for all.
    pub limit: usize,
}

/// Whether `meta` was modified within `hours` of `now_ms` (0 hours: always).
pub fn within_hours(meta: &SessionMeta, hours: f64, now_ms: i64) -> bool {
    hours <= 0.0 || (now_ms - meta.modified_at_ms) as f64 <= hours * 3_600_000.0
}

/// Applies `filter` to `sessions`. Live sessions always pass the hours filter: they are
/// being written now.
pub fn list(
    mut sessions: Vec<SessionMeta>,
    filter: &ListFilter,
    now_ms: i64,
) -> Result<Vec<SessionMeta>, String> {
    let project = filter.project.to_lowercase();
    sessions.retain(|s| {
        // Live sessions pass the hours filter; --live keeps only them.
        (s.live || (!filter.live_only && within_hours(s, filter.hours, now_ms)))
            && (project.is_empty()
                || s.project_path.to_lowercase().contains(&project)
                || s.project_dir.to_lowercase().contains(&project))
    });
    let key: fn(&SessionMeta) -> f64 = match filter.sort.as_str() {
        "" | "modified" => |s| s.modified_at_ms as f64,
        "started" => |s| s.started_at_ms as f64,
        "cost" => |s| s.cost_usd(),
        "messages" => |s| (s.user_messages + s.assistant_messages) as f64,
        "size" => |s| s.file_size as f64,
        other => {
            return Err(format!(
                "unknown sort {other:?}: use modified, started, cost, messages or size"
            ));
        }
    };
    sessions.sort_by(|a, b| {
        key(b)
            .total_cmp(&key(a))
            .then_with(|| a.session_id.cmp(&b.session_id))
    });
    // Busy sessions lead, then the other live ones (stable: each group keeps the order
    // asked for), so a `--limit` never cuts a busy one for an idle one.
    sessions.sort_by_key(|s| match (s.live, s.live_status.as_str()) {
        (true, "busy") => 0,
        (true, _) => 1,
        (false, _) => 2,
    });
    if filter.limit > 0 {
        sessions.truncate(filter.limit);
    }
    Ok(sessions)
}

/// Totals of a group of sessions.
#[derive(Debug, Clone, Default)]
pub struct Totals {
    /// Project path, or day as YYYY-MM-DD.
    pub key: String,
    /// Sessions.
    pub sessions: u64,
    /// User plus assistant messages.
    pub messages: u64,
    /// Tokens.
    pub tokens: Tokens,
    /// USD: each session's own figure where it has one, else its estimate.
    pub cost: f64,
    /// Of `cost`, the part estimated from tokens.
    pub estimated_cost: f64,
}

impl Totals {
    fn add(&mut self, s: &SessionMeta) {
        self.sessions += 1;
        self.messages += s.user_messages + s.assistant_messages;
        self.tokens.add(&s.tokens);
        self.cost += s.cost_usd();
        if s.cost_is_estimate() {
            self.estimated_cost += s.estimated_cost_usd;
        }
    }
}

/// Per-project (costliest first) and per-day (newest first) totals, and the grand total.
pub fn analytics(sessions: &[SessionMeta]) -> (Vec<Totals>, Vec<Totals>, Totals) {
    let mut projects: BTreeMap<String, Totals> = BTreeMap::new();
    let mut days: BTreeMap<String, Totals> = BTreeMap::new();
    let mut total = Totals {
        key: "total".to_owned(),
        ..Totals::default()
    };
    for s in sessions {
        let project = if s.project_path.is_empty() {
            s.project_dir.clone()
        } else {
            s.project_path.clone()
        };
        let at = if s.started_at_ms > 0 {
            s.started_at_ms
        } else {
            s.modified_at_ms
        };
        let day = chrono::DateTime::from_timestamp_millis(at)
            .map(|dt| dt.format("%Y-%m-%d").to_string())
            .unwrap_or_else(|| "unknown".to_owned());
        for (map, key) in [(&mut projects, project), (&mut days, day)] {
            let entry = map.entry(key.clone()).or_insert_with(|| Totals {
                key,
                ..Totals::default()
            });
            entry.add(s);
        }
        total.add(s);
    }
    let mut projects: Vec<Totals> = projects.into_values().collect();
    projects.sort_by(|a, b| b.cost.total_cmp(&a.cost).then_with(|| a.key.cmp(&b.key)));
    let days: Vec<Totals> = days.into_values().rev().collect();
    (projects, days, total)
}

/// The repository a project path belongs to: for an agent worktree
/// (`<repo>/<worktree_dir>/task-<slug>`, or a directory inside one), `<repo>`; any other
/// path as it is.
pub fn repository_of(project_path: &str, worktree_dir: &str) -> String {
    let dir = worktree_dir.trim_matches('/');
    if dir.is_empty() {
        return project_path.to_owned();
    }
    let needle = format!("/{dir}/task-");
    match project_path.find(&needle) {
        Some(at) if at > 0 => project_path[..at].to_owned(),
        _ => project_path.to_owned(),
    }
}

/// The health report.
#[derive(Debug, Clone, Default)]
pub struct Health {
    /// Bytes of session files.
    pub sessions_bytes: u64,
    /// Sessions indexed.
    pub sessions: u64,
    /// Not modified for 48 h.
    pub stale_sessions: u64,
    /// Their bytes.
    pub stale_bytes: u64,
    /// Project path gone.
    pub orphaned: Vec<SessionMeta>,
    /// Largest files.
    pub largest: Vec<SessionMeta>,
    /// Sessions with skipped lines.
    pub parse_errors: Vec<SessionMeta>,
    /// Total skipped lines.
    pub skipped_lines: u64,
}

/// Looks over every session for stale, orphaned, large and damaged files.
pub fn health(sessions: &[SessionMeta], now_ms: i64) -> Health {
    let mut health = Health {
        sessions: sessions.len() as u64,
        ..Health::default()
    };
    for s in sessions {
        health.sessions_bytes += s.file_size;
        health.skipped_lines += s.skipped_lines;
        if !within_hours(s, 48.0, now_ms) {
            health.stale_sessions += 1;
            health.stale_bytes += s.file_size;
        }
        if !s.project_path.is_empty() && !Path::new(&s.project_path).exists() {
            health.orphaned.push(s.clone());
        }
        if s.skipped_lines > 0 {
            health.parse_errors.push(s.clone());
        }
    }
    let mut largest = sessions.to_vec();
    largest.sort_by_key(|s| std::cmp::Reverse(s.file_size));
    largest.truncate(5);
    health.largest = largest;
    health
        .parse_errors
        .sort_by_key(|s| std::cmp::Reverse(s.skipped_lines));
    health
        .orphaned
        .sort_by_key(|s| std::cmp::Reverse(s.file_size));
    health
}
