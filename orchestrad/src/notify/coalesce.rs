//! Folds events that happened together into as few notifications as say the same:
//! a `batch_done` takes in the finishes of its own agents, and several events of one kind
//! become one ("3 agents finished").
//!
//! A pure function of the events a channel takes, so each channel coalesces what it was
//! asked for: one that takes `agent_done` but not `batch_done` still hears of every finish.

use std::collections::{BTreeMap, HashSet};

use super::event::{Event, EventKind, Notification};
use crate::text::fit_chars;

/// Lines listed in a coalesced message before "and N more".
const MAX_LINES: usize = 5;

/// The notifications for `events` (in order of happening), at most one per kind.
pub fn coalesce(events: &[Event]) -> Vec<Notification> {
    let finished_batches: HashSet<&str> = events
        .iter()
        .filter(|e| e.kind == EventKind::BatchDone && !e.batch_id.is_empty())
        .map(|e| e.batch_id.as_str())
        .collect();
    let mut groups: BTreeMap<EventKind, Vec<&Event>> = BTreeMap::new();
    for event in events {
        let folded = matches!(event.kind, EventKind::AgentDone | EventKind::AgentFailed)
            && finished_batches.contains(event.batch_id.as_str());
        if !folded {
            groups.entry(event.kind).or_default().push(event);
        }
    }
    groups
        .into_iter()
        .map(|(kind, group)| match group.as_slice() {
            [one] => Notification::single(one),
            many => combine(kind, many),
        })
        .collect()
}

/// One notification for several events of `kind`.
fn combine(kind: EventKind, events: &[&Event]) -> Notification {
    let n = events.len();
    let title = match kind {
        EventKind::AgentDone => format!("{n} agents finished"),
        EventKind::AgentFailed => format!("{n} agents failed"),
        EventKind::BatchDone => format!("{n} spawns finished"),
        EventKind::SessionWaiting => format!("{n} sessions are waiting for you"),
        EventKind::ApprovalNeeded => format!("{n} approvals needed"),
        EventKind::Overlap => format!("{n} overlaps between agents"),
        EventKind::Test => format!("{n} test notifications"),
        EventKind::DiskFull => "Disk full".to_owned(),
        EventKind::DiskOk => "Disk has room again".to_owned(),
        EventKind::BatchGreen => format!("{n} batches merged and green"),
        EventKind::BatchRed => format!("{n} batch merges are red"),
        EventKind::BudgetReached => format!("{n} agents paused at a budget"),
    };
    let mut lines: Vec<String> = events
        .iter()
        .take(MAX_LINES)
        .map(|e| fit_chars(&e.message, 160))
        .collect();
    if n > MAX_LINES {
        lines.push(format!("and {} more", n - MAX_LINES));
    }
    let same = |field: fn(&Event) -> &str| -> String {
        let first = field(events[0]);
        if events.iter().all(|e| field(e) == first) {
            first.to_owned()
        } else {
            String::new()
        }
    };
    Notification {
        event: kind,
        title,
        message: lines.join("\n"),
        agent_id: same(|e| &e.agent_id),
        session_id: same(|e| &e.session_id),
        project_path: same(|e| &e.project_path),
        url: String::new(),
        at_ms: events.iter().map(|e| e.at_ms).max().unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::event::NotifyInput;

    fn done(agent: &str, batch: &str) -> Event {
        Event::from_input(
            NotifyInput::AgentDone {
                agent_id: agent.into(),
                session_id: format!("s-{agent}"),
                project_path: "/repo".into(),
                batch_id: batch.into(),
                task: format!("task {agent}"),
                cost_usd: 0.1,
                duration_ms: 1000,
            },
            10,
        )
    }

    #[test]
    fn a_finished_batch_takes_in_its_agents() {
        let mut events: Vec<Event> = (0..5).map(|i| done(&format!("a{i}"), "b1")).collect();
        events.push(Event::from_input(
            NotifyInput::BatchDone {
                batch_id: "b1".into(),
                project_path: "/repo".into(),
                done: 5,
                not_done: 0,
            },
            11,
        ));
        let out = coalesce(&events);
        assert_eq!(out.len(), 1, "{out:#?}");
        assert_eq!(out[0].event, EventKind::BatchDone);
        assert_eq!(out[0].title, "All 5 agents finished");
    }

    #[test]
    fn several_finishes_become_one_and_others_stay_apart() {
        let events = vec![done("a1", "b1"), done("a2", "b2"), done("a3", "b3")];
        let out = coalesce(&events);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].title, "3 agents finished");
        assert_eq!(out[0].agent_id, "", "several agents: none named");
        assert_eq!(out[0].project_path, "/repo", "shared by all");
        assert_eq!(out[0].message.lines().count(), 3);

        let one = coalesce(&[done("a1", "b1")]);
        assert_eq!(one[0].agent_id, "a1");
        assert_eq!(one[0].title, "Agent finished");
    }
}
