//! Where the money went: `analytics --by project|day|agent|batch|model [--since ...]`.
//!
//! Two sources, each used where it is exact. Sessions (hand-started ones and agents' alike)
//! come from the session index, which keeps every session's usage per local day and model,
//! each line counted on its own timestamp's day as ccusage counts it; a session with the
//! CLI's own total (`cost-state`) has its days' list-price estimates scaled to that total.
//! Agents and batches come from the agents' records: the cost their CLI reported, per
//! local day it was reported on. In those two views the sessions no agent owns make one
//! row of their own, `(by hand)`, so every view adds up to the same kind of total.
//!
//! `--since` counts whole local days: `24h` covers yesterday and today.

use std::collections::{BTreeMap, HashSet};

use crate::sessions::SessionMeta;
use crate::sessions::query::{Totals, repository_of};
use crate::supervisor::agent::AgentRecord;
use crate::time::local_day;

/// The key of the row of sessions no agent owns, in the agent and batch views.
pub const BY_HAND: &str = "(by hand)";

/// How rows are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    /// The repository (an agent's worktree counts towards its repository).
    Project,
    /// The local day, `YYYY-MM-DD`.
    Day,
    /// The agent (id).
    Agent,
    /// The spawn the agents came from (batch id).
    Batch,
    /// The model.
    Model,
}

impl By {
    /// `project`, `day`, `agent`, `batch` or `model`; an error that lists them otherwise.
    pub fn parse(text: &str) -> Result<By, String> {
        match text {
            "project" => Ok(By::Project),
            "day" => Ok(By::Day),
            "agent" => Ok(By::Agent),
            "batch" => Ok(By::Batch),
            "model" => Ok(By::Model),
            other => Err(format!(
                "cannot group by {other:?}: use project, day, agent, batch or model"
            )),
        }
    }
}

/// The first local day `--since` counts: `Nh` or `Nd` back from `now_ms` (whole days from
/// the day that moment falls on), or a date `YYYY-MM-DD`; `None` for no limit (empty).
pub fn since_day(text: &str, now_ms: i64) -> Result<Option<String>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let bad =
        || format!("--since {text:?} is neither a span like 24h or 7d nor a date like 2026-11-03");
    if let Ok(date) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(Some(date.format("%Y-%m-%d").to_string()));
    }
    let (number, unit_ms) = if let Some(n) = text.strip_suffix('h') {
        (n, 3_600_000.0)
    } else if let Some(n) = text.strip_suffix('d') {
        (n, 86_400_000.0)
    } else {
        return Err(bad());
    };
    let n: f64 = number.parse().map_err(|_| bad())?;
    if !n.is_finite() || n < 0.0 {
        return Err(bad());
    }
    if n * unit_ms > 36_500.0 * 86_400_000.0 {
        return Err(format!(
            "--since {text:?} reaches back too far: give at most 36500d (a hundred years), or a \
             date like 2026-11-03"
        ));
    }
    Ok(Some(local_day(now_ms - (n * unit_ms) as i64)))
}

/// Rows (costliest first; days newest first) and their total.
pub fn report(
    by: By,
    since: Option<&str>,
    sessions: &[SessionMeta],
    agents: &[AgentRecord],
    worktree_dir: &str,
) -> (Vec<Totals>, Totals) {
    let counted = |day: &str| since.is_none_or(|since| day >= since);
    let mut rows: BTreeMap<String, Totals> = BTreeMap::new();
    let mut seen: HashSet<(String, String)> = HashSet::new();
    let mut add = |key: &str,
                   session: &str,
                   messages: u64,
                   tokens: &crate::sessions::meta::Tokens,
                   cost: f64,
                   estimated: bool| {
        let row = rows.entry(key.to_owned()).or_insert_with(|| Totals {
            key: key.to_owned(),
            ..Totals::default()
        });
        if !session.is_empty() && seen.insert((key.to_owned(), session.to_owned())) {
            row.sessions += 1;
        }
        row.messages += messages;
        row.tokens.add(tokens);
        row.cost += cost;
        if estimated {
            row.estimated_cost += cost;
        }
    };
    match by {
        By::Project | By::Day | By::Model => {
            for s in sessions {
                let scale = scale_of(s);
                for bucket in s.days.iter().filter(|b| counted(&b.day)) {
                    let key = match by {
                        By::Project => repository_of(project_of(s), worktree_dir),
                        By::Day => bucket.day.clone(),
                        _ if bucket.model.is_empty() => continue,
                        _ => bucket.model.clone(),
                    };
                    add(
                        &key,
                        &s.session_id,
                        bucket.messages,
                        &bucket.tokens,
                        bucket.estimated_cost_usd * scale,
                        s.cli_cost_usd.is_none(),
                    );
                }
            }
        }
        By::Agent | By::Batch => {
            let by_id: BTreeMap<&str, &SessionMeta> = sessions
                .iter()
                .map(|s| (s.session_id.as_str(), s))
                .collect();
            let owned: HashSet<&str> = agents
                .iter()
                .filter(|a| !a.session_id.is_empty())
                .map(|a| a.session_id.as_str())
                .collect();
            for agent in agents {
                let cost: f64 = match since {
                    None => agent.total_cost_usd,
                    Some(_) => agent
                        .spent_by_day
                        .iter()
                        .filter(|(day, _)| counted(day))
                        .map(|(_, usd)| usd)
                        .sum(),
                };
                let session = by_id.get(agent.session_id.as_str());
                // Tokens and messages from its session's own days where it is indexed (the
                // window applies to them too), else the tokens its CLI reported.
                let (messages, tokens) = match session {
                    Some(s) => s.days.iter().filter(|b| counted(&b.day)).fold(
                        (0, crate::sessions::meta::Tokens::default()),
                        |(m, mut t), b| {
                            t.add(&b.tokens);
                            (m + b.messages, t)
                        },
                    ),
                    None if since.is_none() => (0, agent.tokens),
                    None => (0, Default::default()),
                };
                if since.is_some() && cost == 0.0 && messages == 0 {
                    continue;
                }
                let key = if by == By::Agent {
                    &agent.id
                } else {
                    &agent.batch_id
                };
                add(key, &agent.session_id, messages, &tokens, cost, false);
            }
            for s in sessions
                .iter()
                .filter(|s| !owned.contains(s.session_id.as_str()))
            {
                let scale = scale_of(s);
                for bucket in s.days.iter().filter(|b| counted(&b.day)) {
                    add(
                        BY_HAND,
                        &s.session_id,
                        bucket.messages,
                        &bucket.tokens,
                        bucket.estimated_cost_usd * scale,
                        s.cli_cost_usd.is_none(),
                    );
                }
            }
        }
    }
    let mut total = Totals {
        key: "total".to_owned(),
        ..Totals::default()
    };
    let sessions_seen: HashSet<&String> = seen.iter().map(|(_, session)| session).collect();
    let mut rows: Vec<Totals> = rows.into_values().collect();
    for row in &rows {
        total.messages += row.messages;
        total.tokens.add(&row.tokens);
        total.cost += row.cost;
        total.estimated_cost += row.estimated_cost;
    }
    total.sessions = sessions_seen.len() as u64;
    if by == By::Day {
        rows.reverse();
    } else {
        rows.sort_by(|a, b| b.cost.total_cmp(&a.cost).then_with(|| a.key.cmp(&b.key)));
    }
    (rows, total)
}

/// The factor from a session's list-price estimate to its cost: 1, or the CLI's own
/// total over the estimate where the file has one.
fn scale_of(s: &SessionMeta) -> f64 {
    match s.cli_cost_usd {
        Some(cli) if s.estimated_cost_usd > 0.0 => cli / s.estimated_cost_usd,
        _ => 1.0,
    }
}

/// The session's project: its `cwd`, else the directory name it is filed under.
fn project_of(s: &SessionMeta) -> &str {
    if s.project_path.is_empty() {
        &s.project_dir
    } else {
        &s.project_path
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sessions::meta::{DayUsage, Tokens};

    fn session(id: &str, days: &[(&str, &str, u64, f64)]) -> SessionMeta {
        SessionMeta {
            session_id: id.to_owned(),
            project_path: "/repo".to_owned(),
            days: days
                .iter()
                .map(|(day, model, input, cost)| DayUsage {
                    day: (*day).to_owned(),
                    model: (*model).to_owned(),
                    messages: 1,
                    tokens: Tokens {
                        input: *input,
                        ..Tokens::default()
                    },
                    estimated_cost_usd: *cost,
                })
                .collect(),
            ..SessionMeta::default()
        }
    }

    #[test]
    fn each_day_counts_its_own_lines_and_since_cuts_whole_days() {
        let a = session(
            "a",
            &[("2026-11-03", "m1", 10, 1.0), ("2026-11-04", "m2", 20, 2.0)],
        );
        let b = session("b", &[("2026-11-04", "m1", 5, 0.5)]);
        let (rows, total) = report(By::Day, None, &[a.clone(), b.clone()], &[], ".worktrees");
        let keys: Vec<&str> = rows.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(keys, ["2026-11-04", "2026-11-03"]);
        assert_eq!(rows[0].sessions, 2);
        assert!((rows[0].cost - 2.5).abs() < 1e-9);
        assert_eq!(total.sessions, 2);
        assert!((total.cost - 3.5).abs() < 1e-9);
        let (rows, _) = report(By::Model, Some("2026-11-04"), &[a, b], &[], ".worktrees");
        let keys: Vec<&str> = rows.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(keys, ["m2", "m1"]);
    }

    #[test]
    fn since_takes_spans_and_dates_and_refuses_the_rest() {
        assert_eq!(since_day("", 0), Ok(None));
        assert_eq!(
            since_day("2026-11-03", 0),
            Ok(Some("2026-11-03".to_owned()))
        );
        assert!(since_day("24h", 2 * 86_400_000).expect("24h").is_some());
        for bad in ["yesterday", "-1d", "7w", "NaNh", "2026-13-01"] {
            let err = since_day(bad, 0).expect_err(bad);
            assert!(err.contains("neither a span"), "{bad}: {err}");
        }
        // Too far is measured in days, whatever the unit: 40000h is under five years.
        let now = 100 * 365 * 86_400_000;
        assert!(since_day("40000h", now).expect("40000h").is_some());
        let err = since_day("99999d", now).expect_err("99999d");
        assert!(err.contains("too far"), "{err}");
    }

    #[test]
    fn agents_count_their_cli_figures_and_the_rest_is_by_hand() {
        let mine = session("s-agent", &[("2026-11-04", "m", 1, 9.0)]);
        let hand = session("s-hand", &[("2026-11-04", "m", 1, 0.25)]);
        let agent = AgentRecord {
            id: "a1".to_owned(),
            batch_id: "b1".to_owned(),
            session_id: "s-agent".to_owned(),
            total_cost_usd: 0.75,
            ..AgentRecord::default()
        };
        let (rows, total) = report(By::Agent, None, &[mine, hand], &[agent], ".worktrees");
        assert_eq!(rows[0].key, "a1");
        assert!((rows[0].cost - 0.75).abs() < 1e-9, "the CLI's own figure");
        assert_eq!(rows[1].key, BY_HAND);
        assert!((total.cost - 1.0).abs() < 1e-9);
    }
}
