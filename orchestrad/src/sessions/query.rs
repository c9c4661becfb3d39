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

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;
    const NOW: i64 = 1_800_000_000_000;

    fn session(id: &str, project: &str, hours_ago: i64) -> SessionMeta {
        SessionMeta {
            session_id: id.to_owned(),
            project_path: project.to_owned(),
            project_dir: project.replace('/', "-"),
            modified_at_ms: NOW - hours_ago * HOUR,
            started_at_ms: NOW - hours_ago * HOUR - HOUR,
            ..SessionMeta::default()
        }
    }

    fn ids(list: &[SessionMeta]) -> Vec<&str> {
        list.iter().map(|s| s.session_id.as_str()).collect()
    }

    #[test]
    fn the_hours_filter_keeps_recent_and_live_sessions_newest_first() {
        let mut live_old = session("live-old", "/w/a", 100);
        live_old.live = true;
        let all = vec![
            session("old", "/w/a", 30),
            session("new", "/w/a", 1),
            session("newer", "/w/b", 0),
            live_old,
        ];
        let filter = ListFilter {
            hours: 24.0,
            ..ListFilter::default()
        };
        let listed = list(all.clone(), &filter, NOW).expect("list");
        // Live first, then newest first; the 30-hour-old one is out.
        assert_eq!(ids(&listed), ["live-old", "newer", "new"]);
        let only_live = ListFilter {
            live_only: true,
            ..ListFilter::default()
        };
        assert_eq!(
            ids(&list(all, &only_live, NOW).expect("list")),
            ["live-old"]
        );
    }

    #[test]
    fn project_filter_sort_and_limit() {
        let mut cheap = session("cheap", "/home/dev/Web", 1);
        cheap.estimated_cost_usd = 0.5;
        let mut dear = session("dear", "/home/dev/web-api", 2);
        dear.cli_cost_usd = Some(3.0);
        let other = session("other", "/home/dev/cli", 0);
        let filter = ListFilter {
            project: "WEB".to_owned(),
            sort: "cost".to_owned(),
            ..ListFilter::default()
        };
        let all = vec![cheap, dear, other];
        assert_eq!(
            ids(&list(all.clone(), &filter, NOW).expect("list")),
            ["dear", "cheap"]
        );
        let first = ListFilter {
            limit: 1,
            ..ListFilter::default()
        };
        assert_eq!(
            ids(&list(all.clone(), &first, NOW).expect("list")),
            ["other"]
        );
        let bad = ListFilter {
            sort: "colour".to_owned(),
            ..ListFilter::default()
        };
        let err = list(all, &bad, NOW).expect_err("unknown sort");
        assert!(err.contains("use modified, started"), "{err}");
    }

    #[test]
    fn a_busy_session_is_never_cut_by_a_limit() {
        let mut busy = session("busy", "/w", 50);
        busy.live = true;
        busy.live_status = "busy".to_owned();
        let mut idle = session("idle", "/w", 0);
        idle.live = true;
        let all = vec![session("fresh", "/w", 0), idle, busy];
        let filter = ListFilter {
            limit: 2,
            ..ListFilter::default()
        };
        assert_eq!(
            ids(&list(all, &filter, NOW).expect("list")),
            ["busy", "idle"]
        );
    }

    #[test]
    fn analytics_adds_up_per_project_and_per_day() {
        let mut a = session("a", "/w/a", 0);
        a.user_messages = 2;
        a.assistant_messages = 3;
        a.estimated_cost_usd = 1.0;
        let mut b = session("b", "/w/a", 48);
        b.cli_cost_usd = Some(2.0);
        b.estimated_cost_usd = 9.0;
        let mut c = session("c", "", 0);
        c.estimated_cost_usd = 0.25;
        let (projects, days, total) = analytics(&[a, b, c]);
        assert_eq!(projects[0].key, "/w/a");
        assert_eq!((projects[0].sessions, projects[0].messages), (2, 5));
        // The CLI's own figure wins over the estimate; only the rest is estimated.
        assert!(
            (projects[0].cost - 3.0).abs() < 1e-9,
            "{}",
            projects[0].cost
        );
        assert!((projects[0].estimated_cost - 1.0).abs() < 1e-9);
        // A session without a cwd is counted under its directory name.
        assert_eq!(projects[1].key, "");
        assert_eq!(days.len(), 2);
        assert!(days[0].key > days[1].key, "newest day first");
        assert_eq!(total.sessions, 3);
        assert!((total.cost - 3.25).abs() < 1e-9);
    }

    #[test]
    fn a_worktree_belongs_to_its_repository() {
        assert_eq!(
            repository_of("/home/dev/app/.worktrees/task-fix-login", ".worktrees"),
            "/home/dev/app"
        );
        assert_eq!(
            repository_of(
                "/home/dev/app/.worktrees/task-fix-login/src",
                "/.worktrees/"
            ),
            "/home/dev/app"
        );
        assert_eq!(
            repository_of("/home/dev/app", ".worktrees"),
            "/home/dev/app"
        );
        assert_eq!(repository_of("/home/dev/app", ""), "/home/dev/app");
    }

    #[test]
    fn health_finds_stale_orphaned_large_and_damaged_files() {
        let here = std::env::temp_dir().display().to_string();
        let mut stale = session("stale", &here, 72);
        stale.file_size = 10;
        let mut orphan = session("orphan", "/nonexistent/project/gone", 1);
        orphan.file_size = 30;
        let mut damaged = session("damaged", &here, 1);
        damaged.skipped_lines = 4;
        damaged.file_size = 20;
        let report = health(&[stale, orphan, damaged], NOW);
        assert_eq!((report.sessions, report.sessions_bytes), (3, 60));
        assert_eq!((report.stale_sessions, report.stale_bytes), (1, 10));
        assert_eq!(ids(&report.orphaned), ["orphan"]);
        assert_eq!(ids(&report.parse_errors), ["damaged"]);
        assert_eq!(report.skipped_lines, 4);
        assert_eq!(ids(&report.largest), ["orphan", "damaged", "stale"]);
    }
}
