//! The report of a batch: each task with its state, result, cost, duration, diff stat
//! and merge status, as data and as Markdown (the body of the integration pull request
//! that `orchestractl pr --integration BRANCH` opens, see [`super::pr`]).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::Integration;
use crate::supervisor::SupervisorError;
use crate::supervisor::agent::AgentRecord;
use crate::time::now_ms;
use crate::worktree::{self, DiffStat};

/// One task of a report.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The agent.
    pub agent: AgentRecord,
    /// Its branch against its base.
    pub diff: Option<DiffStat>,
    /// How long it ran, ms.
    pub duration_ms: u64,
    /// What became of its branch.
    pub merge_status: String,
}

/// A batch's report.
#[derive(Debug, Clone)]
pub struct Report {
    /// The batch.
    pub batch_id: String,
    /// Its repository.
    pub repo: PathBuf,
    /// Its tasks, in the order given.
    pub entries: Vec<Entry>,
    /// Sum of the costs.
    pub total_cost_usd: f64,
    /// The same as Markdown.
    pub markdown: String,
    /// The batch's verified merge, if it had one.
    pub verified: Option<super::run::MergeRun>,
}

impl Integration {
    /// The report of batch `batch` (empty: the latest) in the repository of `dir`.
    pub async fn report(&self, dir: Option<&Path>, batch: &str) -> Result<Report, SupervisorError> {
        let (batch_id, agents) = self.batch(dir, batch)?;
        let now = now_ms();
        let entries = crate::supervisor::blocking("building the batch report", move || {
            agents
                .into_iter()
                .map(|agent| {
                    let diff = super::results::diff_of(&agent);
                    let merge_status = if !agent.merge_status.is_empty() {
                        agent.merge_status.clone()
                    } else if agent.worktree
                        && worktree::is_merged(&agent.repo, &agent.branch).unwrap_or(false)
                        && diff.is_some_and(|d| d.commits > 0)
                    {
                        "merged into HEAD".to_owned()
                    } else {
                        "not merged".to_owned()
                    };
                    Entry {
                        duration_ms: agent.duration_ms(now),
                        diff,
                        merge_status,
                        agent,
                    }
                })
                .collect::<Vec<_>>()
        })
        .await?;
        let repo = entries
            .first()
            .map(|e| e.agent.repo.clone())
            .unwrap_or_default();
        let total_cost_usd = entries.iter().map(|e| e.agent.total_cost_usd).sum();
        let verified = self.run_of(&batch_id)?;
        let mut report = Report {
            verified,
            batch_id,
            repo,
            entries,
            total_cost_usd,
            markdown: String::new(),
        };
        report.markdown = markdown(&report);
        Ok(report)
    }
}

/// Text that stays inside one Markdown table cell.
fn cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

/// "3 files, +10 -2, 1 commit" or "-".
fn diff_text(diff: Option<DiffStat>) -> String {
    match diff {
        None => "-".to_owned(),
        Some(d) => format!(
            "{} file{}, +{} -{}{}",
            d.files_changed,
            if d.files_changed == 1 { "" } else { "s" },
            d.insertions,
            d.deletions,
            if d.uncommitted { " (uncommitted)" } else { "" }
        ),
    }
}

/// The report as Markdown: a summary table, then one section per task with its result.
pub fn markdown(report: &Report) -> String {
    let mut md = String::new();
    let tasks = report.entries.len();
    let _ = writeln!(
        md,
        "## Batch `{}`: {tasks} task{}\n",
        report.batch_id,
        if tasks == 1 { "" } else { "s" }
    );
    let done = report
        .entries
        .iter()
        .filter(|e| e.agent.state == crate::supervisor::agent::AgentState::Done)
        .count();
    let merged = report
        .entries
        .iter()
        .filter(|e| e.merge_status.starts_with("merged"))
        .count();
    let _ = writeln!(
        md,
        "{done} done, {merged} merged, total cost ${:.2}. Repository: `{}`.\n",
        report.total_cost_usd,
        report.repo.display()
    );
    if let Some(run) = &report.verified {
        let _ = writeln!(
            md,
            "**Verified merge: {}** (`{}`, {} check{}){}{}\n",
            run.state.as_str(),
            run.verify.command,
            run.verify.verifications,
            if run.verify.verifications == 1 {
                ""
            } else {
                "s"
            },
            if run.verify.culprit_agent_id.is_empty() {
                String::new()
            } else {
                format!("; culprit: agent `{}`", run.verify.culprit_agent_id)
            },
            if run.reason.is_empty() {
                String::new()
            } else {
                format!(". {}", run.reason)
            }
        );
    }
    md.push_str("| # | Task | Agent | State | Cost | Time | Changes | Merge |\n");
    md.push_str("|---|------|-------|-------|-----:|-----:|---------|-------|\n");
    for (i, e) in report.entries.iter().enumerate() {
        let _ = writeln!(
            md,
            "| {} | {} | `{}` | {} | ${:.2} | {} | {} | {} |",
            i + 1,
            cell(&crate::text::truncate_chars(&e.agent.task, 80)),
            e.agent.id,
            e.agent.state.as_str(),
            e.agent.total_cost_usd,
            crate::text::human_duration(e.duration_ms),
            diff_text(e.diff),
            cell(&e.merge_status)
        );
    }
    for (i, e) in report.entries.iter().enumerate() {
        let first = e.agent.task.lines().next().unwrap_or_default();
        let _ = writeln!(
            md,
            "\n### {}. {}\n",
            i + 1,
            crate::text::truncate_chars(first, 100)
        );
        let mut facts = vec![format!("agent `{}`", e.agent.id)];
        if !e.agent.branch.is_empty() {
            facts.push(format!("branch `{}`", e.agent.branch));
        }
        if !e.agent.after.is_empty() {
            facts.push(format!("after `{}`", e.agent.after));
        }
        facts.push(e.agent.state.as_str().to_owned());
        facts.push(e.merge_status.clone());
        let _ = writeln!(md, "{}\n", facts.join(" · "));
        if e.agent.task.lines().count() > 1 {
            let _ = writeln!(md, "Task:\n\n{}\n", quote(&e.agent.task));
        }
        let result = if !e.agent.result.is_empty() {
            e.agent.result.clone()
        } else if !e.agent.error.is_empty() {
            e.agent.error.clone()
        } else {
            "(no result)".to_owned()
        };
        let _ = writeln!(md, "{}", quote(&result));
    }
    md.push_str("\n---\nMade by claude-orchestra.\n");
    md
}

/// Text as a Markdown block quote.
fn quote(text: &str) -> String {
    text.trim()
        .lines()
        .map(|l| {
            if l.trim().is_empty() {
                ">".to_owned()
            } else {
                format!("> {l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}
