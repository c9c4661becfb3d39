//! What the notifier hears ([`NotifyInput`]), the events it makes of it ([`Event`]) and
//! what a channel delivers ([`Notification`]).
//!
//! Every text that leaves the machine is built here, from fields chosen for it: a task or a
//! command is cut short ([`super::text`]), and no token, environment or file content is
//! ever copied in.

use serde::Serialize;

pub use super::cut::{first_line, short, short_path};
use crate::text::human_duration;

/// Longest message relayed from another host: its own coalesced lines, each with the host.
const RELAYED_MESSAGE: usize = 1200;

/// The kinds of notification, named as in the config's `events` and the payloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// An agent (or a hand-started session) asks for a permission.
    ApprovalNeeded,
    /// An agent finished without error.
    AgentDone,
    /// An agent failed: an error, its budget reached, or interrupted.
    AgentFailed,
    /// Every agent of one spawn has ended.
    BatchDone,
    /// A hand-started session waits for the user.
    SessionWaiting,
    /// Agents change the same files.
    Overlap,
    /// Sent by `orchestractl notify test`.
    Test,
    /// The state directory's disk is full: agents go on, but nothing new is recorded.
    DiskFull,
    /// The disk has room again; the store took its writes.
    DiskOk,
    /// A batch's verified merge ended green.
    BatchGreen,
    /// A batch's verified merge ended red (or conflicted).
    BatchRed,
    /// An agent paused at a spending cap and asks to raise it (a "budget" approval).
    BudgetReached,
}

impl EventKind {
    /// Every kind, in the order they are documented.
    pub const ALL: [EventKind; 12] = [
        EventKind::ApprovalNeeded,
        EventKind::AgentDone,
        EventKind::AgentFailed,
        EventKind::BatchDone,
        EventKind::SessionWaiting,
        EventKind::Overlap,
        EventKind::Test,
        EventKind::DiskFull,
        EventKind::DiskOk,
        EventKind::BatchGreen,
        EventKind::BatchRed,
        EventKind::BudgetReached,
    ];

    /// The name used in the config and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::ApprovalNeeded => "approval_needed",
            EventKind::AgentDone => "agent_done",
            EventKind::AgentFailed => "agent_failed",
            EventKind::BatchDone => "batch_done",
            EventKind::SessionWaiting => "session_waiting",
            EventKind::Overlap => "overlap",
            EventKind::Test => "test",
            EventKind::DiskFull => "disk_full",
            EventKind::DiskOk => "disk_ok",
            EventKind::BatchGreen => "batch_green",
            EventKind::BatchRed => "batch_red",
            EventKind::BudgetReached => "budget_reached",
        }
    }

    /// The kind called `name`.
    pub fn parse(name: &str) -> Option<EventKind> {
        EventKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }

    /// Whether it needs the user now (ntfy priority `high`).
    pub fn urgent(self) -> bool {
        matches!(
            self,
            EventKind::ApprovalNeeded | EventKind::DiskFull | EventKind::BudgetReached
        )
    }
}

/// Something worth telling the user, as the rest of the daemon reports it.
///
/// This is the notifier's whole input: the agent and session followers produce the first
/// four; the approvals and merge-overlap code call [`crate::notify::Notifier::notify`] with
/// the last two.
#[derive(Debug, Clone, PartialEq)]
pub enum NotifyInput {
    /// An agent finished without error.
    AgentDone {
        /// The agent.
        agent_id: String,
        /// Its Claude session.
        session_id: String,
        /// Its working directory.
        project_path: String,
        /// Its spawn, so a batch's notifications can be folded together.
        batch_id: String,
        /// Its task as given.
        task: String,
        /// What it cost, all runs.
        cost_usd: f64,
        /// How long its latest run took.
        duration_ms: u64,
    },
    /// An agent failed, ran out of budget, or was interrupted.
    AgentFailed {
        /// The agent.
        agent_id: String,
        /// Its Claude session.
        session_id: String,
        /// Its working directory.
        project_path: String,
        /// Its spawn.
        batch_id: String,
        /// Its task as given.
        task: String,
        /// Why, in a few words (the first line of its error).
        reason: String,
    },
    /// Every agent of one spawn has ended.
    BatchDone {
        /// The spawn.
        batch_id: String,
        /// The repository.
        project_path: String,
        /// How many finished without error.
        done: usize,
        /// How many did not (failed, stopped, interrupted).
        not_done: usize,
    },
    /// A session the user started by hand waits for them.
    SessionWaiting {
        /// The session.
        session_id: String,
        /// Its working directory.
        project_path: String,
        /// What it waits for, as Claude Code says ("permission to use Bash", "input needed").
        waiting_for: String,
    },
    /// An agent asks for a permission (from the approvals queue).
    ApprovalNeeded {
        /// The approval request's id, so a repeat of the same request is not told twice.
        request_id: String,
        /// The agent asking (empty for a hand-started session).
        agent_id: String,
        /// Its Claude session.
        session_id: String,
        /// Its working directory.
        project_path: String,
        /// The tool it wants to use ("Bash", "Write").
        tool: String,
        /// What for: a command line or a path (cut short here; never file contents).
        detail: String,
    },
    /// An agent paused at a spending cap (a "budget" approval).
    BudgetReached {
        /// The agent.
        agent_id: String,
        /// Its Claude session.
        session_id: String,
        /// Its working directory.
        project_path: String,
        /// Whose cap: `agent`, `batch` or `day`.
        scope: String,
        /// Spent in that scope, USD.
        spent_usd: f64,
        /// The cap, USD.
        budget_usd: f64,
    },
    /// Agents change the same files (from the merge-overlap detection).
    Overlap {
        /// The agents involved.
        agent_ids: Vec<String>,
        /// The repository.
        project_path: String,
        /// Some of the files they share.
        paths: Vec<String>,
    },
    /// A test from `orchestractl notify test`.
    Test,
    /// Another host's notification, relayed by a dashboard that follows that host.
    Relayed {
        /// The host's name, as in `hosts.json`.
        host: String,
        /// The kind that host's daemon gave it.
        kind: EventKind,
        /// Its title there.
        title: String,
        /// Its message there.
        message: String,
        /// The agent, when exactly one is concerned (an id on that host).
        agent_id: String,
        /// The session, when exactly one is concerned.
        session_id: String,
        /// The project there.
        project_path: String,
    },
    /// A batch's verified merge ended.
    BatchVerified {
        /// The batch.
        batch_id: String,
        /// The repository.
        project_path: String,
        /// Green, or not (red, conflicted).
        green: bool,
        /// The agent whose branch breaks the check, when found.
        culprit: String,
        /// How it ended, in words.
        reason: String,
    },
    /// The state directory's disk became full (`full`), or has room again.
    Disk {
        /// Whether it is full now.
        full: bool,
        /// The condition in words ("no space left on /x (12 KB free): ...").
        message: String,
    },
}

/// One event, before coalescing: what happened, with the texts a user reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// What kind of thing happened.
    pub kind: EventKind,
    /// The agent, when one is concerned.
    pub agent_id: String,
    /// The session, when one is concerned.
    pub session_id: String,
    /// The working directory or repository.
    pub project_path: String,
    /// The spawn the agent came from (to fold agent events into their `batch_done`).
    pub batch_id: String,
    /// A short headline (ASCII, so it fits an HTTP header).
    pub title: String,
    /// One line about it.
    pub message: String,
    /// When it happened, ms since the epoch.
    pub at_ms: i64,
}

impl Event {
    /// The event for `input`, happening at `at_ms`.
    pub fn from_input(input: NotifyInput, at_ms: i64) -> Event {
        let mut event = Event {
            kind: EventKind::Test,
            agent_id: String::new(),
            session_id: String::new(),
            project_path: String::new(),
            batch_id: String::new(),
            title: String::new(),
            message: String::new(),
            at_ms,
        };
        match input {
            NotifyInput::AgentDone {
                agent_id,
                session_id,
                project_path,
                batch_id,
                task,
                cost_usd,
                duration_ms,
            } => {
                event.kind = EventKind::AgentDone;
                event.title = "Agent finished".to_owned();
                event.message = format!(
                    "{}: done in {}, ${cost_usd:.2}",
                    short(&task),
                    human_duration(duration_ms)
                );
                (event.agent_id, event.session_id) = (agent_id, session_id);
                (event.project_path, event.batch_id) = (project_path, batch_id);
            }
            NotifyInput::AgentFailed {
                agent_id,
                session_id,
                project_path,
                batch_id,
                task,
                reason,
            } => {
                event.kind = EventKind::AgentFailed;
                event.title = "Agent failed".to_owned();
                event.message = format!("{}: {}", short(&task), short(first_line(&reason)));
                (event.agent_id, event.session_id) = (agent_id, session_id);
                (event.project_path, event.batch_id) = (project_path, batch_id);
            }
            NotifyInput::BatchDone {
                batch_id,
                project_path,
                done,
                not_done,
            } => {
                event.kind = EventKind::BatchDone;
                event.title = format!("All {} agents finished", done + not_done);
                event.message = if not_done == 0 {
                    format!("{done} done in {}", short_path(&project_path))
                } else {
                    format!(
                        "{done} done, {not_done} failed or stopped in {}",
                        short_path(&project_path)
                    )
                };
                (event.project_path, event.batch_id) = (project_path, batch_id);
            }
            NotifyInput::SessionWaiting {
                session_id,
                project_path,
                waiting_for,
            } => {
                event.kind = EventKind::SessionWaiting;
                event.title = "Claude is waiting for you".to_owned();
                let what = if waiting_for.trim().is_empty() {
                    "waiting for input"
                } else {
                    first_line(&waiting_for)
                };
                event.message = format!("{}: {}", short_path(&project_path), short(what));
                (event.session_id, event.project_path) = (session_id, project_path);
            }
            NotifyInput::ApprovalNeeded {
                request_id: _,
                agent_id,
                session_id,
                project_path,
                tool,
                detail,
            } => {
                event.kind = EventKind::ApprovalNeeded;
                event.title = "Approval needed".to_owned();
                event.message = if detail.trim().is_empty() {
                    format!("{} wants to use {}", who(&agent_id), short(&tool))
                } else {
                    format!(
                        "{} wants to use {}: {}",
                        who(&agent_id),
                        short(&tool),
                        short(first_line(&detail))
                    )
                };
                (event.agent_id, event.session_id) = (agent_id, session_id);
                event.project_path = project_path;
            }
            NotifyInput::BudgetReached {
                agent_id,
                session_id,
                project_path,
                scope,
                spent_usd,
                budget_usd,
            } => {
                event.kind = EventKind::BudgetReached;
                event.title = "Budget reached".to_owned();
                // Cents hide a small cap ($0.0001 is not "$0.00").
                let dollars = |usd: f64| {
                    if usd != 0.0 && usd.abs() < 0.1 {
                        format!("${usd:.4}")
                    } else {
                        format!("${usd:.2}")
                    }
                };
                event.message = format!(
                    "{} paused at the {scope} cap: {} of {}; raise it or stop",
                    who(&agent_id),
                    dollars(spent_usd),
                    dollars(budget_usd)
                );
                (event.agent_id, event.session_id) = (agent_id, session_id);
                event.project_path = project_path;
            }
            NotifyInput::Overlap {
                agent_ids,
                project_path,
                paths,
            } => {
                event.kind = EventKind::Overlap;
                event.title = "Agents change the same files".to_owned();
                let shown: Vec<String> = paths.iter().take(3).map(|p| short_path(p)).collect();
                let more = paths.len().saturating_sub(shown.len());
                event.message = format!(
                    "agents {} both change {}{}",
                    agent_ids.join(", "),
                    shown.join(", "),
                    if more > 0 {
                        format!(" and {more} more")
                    } else {
                        String::new()
                    }
                );
                event.agent_id = agent_ids.first().cloned().unwrap_or_default();
                event.project_path = project_path;
            }
            NotifyInput::BatchVerified {
                batch_id,
                project_path,
                green,
                culprit,
                reason,
            } => {
                (event.kind, event.title) = if green {
                    (EventKind::BatchGreen, "Batch merged and green".to_owned())
                } else if culprit.is_empty() {
                    (EventKind::BatchRed, "Batch merge is red".to_owned())
                } else {
                    (
                        EventKind::BatchRed,
                        format!("Batch merge is red: agent {culprit}"),
                    )
                };
                event.message = short(first_line(&reason));
                event.agent_id = culprit;
                (event.project_path, event.batch_id) = (project_path, batch_id);
            }
            NotifyInput::Disk { full, message } => {
                (event.kind, event.title) = if full {
                    (
                        EventKind::DiskFull,
                        "Disk full: agents go on, nothing new is recorded".to_owned(),
                    )
                } else {
                    (EventKind::DiskOk, "Disk has room again".to_owned())
                };
                event.message = short(&message);
            }
            NotifyInput::Test => {
                event.title = "Test notification".to_owned();
                event.message = "claude-orchestra can reach this channel".to_owned();
            }
            NotifyInput::Relayed {
                host,
                kind,
                title,
                message,
                agent_id,
                session_id,
                project_path,
            } => {
                event.kind = kind;
                // The host first, in the title and in each line (a coalesced title such
                // as "2 approvals needed" keeps the lines): "[box] Approval needed".
                // ASCII only, as every title here (it travels in an HTTP header).
                let title: String = title
                    .chars()
                    .map(|c| {
                        if c.is_ascii() && !c.is_ascii_control() {
                            c
                        } else {
                            '?'
                        }
                    })
                    .collect();
                event.title = short(&format!("[{host}] {title}"));
                event.message = crate::text::fit_chars(
                    &message
                        .lines()
                        .map(|line| format!("[{host}] {line}"))
                        .collect::<Vec<_>>()
                        .join("\n"),
                    RELAYED_MESSAGE,
                );
                (event.agent_id, event.session_id) = (agent_id, session_id);
                event.project_path = project_path;
            }
        }
        event.project_path = short_path(&event.project_path);
        event
    }
}

/// What a channel delivers: one event, or several coalesced into one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notification {
    /// The kind (`agent_done`, `batch_done`, ...).
    pub event: EventKind,
    /// A short headline ("3 agents finished").
    pub title: String,
    /// The details, one line per event folded in.
    pub message: String,
    /// The agent, when exactly one is concerned.
    pub agent_id: String,
    /// The session, when exactly one is concerned.
    pub session_id: String,
    /// The project, when all events share it.
    pub project_path: String,
    /// A link to the item on the dashboard, when a dashboard is running.
    pub url: String,
    /// When it happened (the latest event folded in), ms since the epoch.
    pub at_ms: i64,
}

impl Notification {
    /// The notification of a single event (no link yet).
    pub fn single(event: &Event) -> Notification {
        Notification {
            event: event.kind,
            title: event.title.clone(),
            message: event.message.clone(),
            agent_id: event.agent_id.clone(),
            session_id: event.session_id.clone(),
            project_path: event.project_path.clone(),
            url: String::new(),
            at_ms: event.at_ms,
        }
    }
}

/// "agent 3f2a1b0c", or "a session" when no agent is named.
fn who(agent_id: &str) -> String {
    if agent_id.is_empty() {
        "a session".to_owned()
    } else {
        format!("agent {agent_id}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
            assert_eq!(
                serde_json::to_value(kind).expect("json"),
                serde_json::json!(kind.as_str())
            );
        }
        assert_eq!(EventKind::parse("agent_finished"), None);
    }

    #[test]
    fn long_commands_are_cut_and_only_the_first_line_is_kept() {
        let detail = format!("rm -rf {}\nsecond line with a token", "x".repeat(500));
        let event = Event::from_input(
            NotifyInput::ApprovalNeeded {
                request_id: "r1".into(),
                agent_id: "3f2a1b0c".into(),
                session_id: "s".into(),
                project_path: "/w".into(),
                tool: "Bash".into(),
                detail,
            },
            1,
        );
        assert!(
            event
                .message
                .starts_with("agent 3f2a1b0c wants to use Bash: rm -rf x")
        );
        assert!(event.message.chars().count() < 200, "{}", event.message);
        assert!(!event.message.contains("token"));
        assert!(event.title.is_ascii());
    }

    #[test]
    fn a_relayed_notification_names_its_host_in_the_title_and_each_line() {
        let event = Event::from_input(
            NotifyInput::Relayed {
                host: "box".to_owned(),
                kind: EventKind::ApprovalNeeded,
                title: "2 approvals needed\u{7}é".to_owned(),
                message: "agent a1 wants to use Bash\nagent a2 wants to use Write".to_owned(),
                agent_id: String::new(),
                session_id: String::new(),
                project_path: "/srv/repo".to_owned(),
            },
            1,
        );
        assert_eq!(event.kind, EventKind::ApprovalNeeded);
        assert_eq!(event.title, "[box] 2 approvals needed??");
        assert_eq!(
            event.message,
            "[box] agent a1 wants to use Bash\n[box] agent a2 wants to use Write"
        );
        assert_eq!(event.project_path, "/srv/repo");
    }
}
