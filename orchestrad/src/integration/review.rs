//! A person's review of an agent's change: line comments on its diff, sent back to the
//! agent as one follow-up (its session resumed), and an approval that
//! `merge --approved-only` honours. The review lives on the agent's record.

use super::Integration;
use crate::supervisor::SupervisorError;
use crate::supervisor::agent::{AgentRecord, ReviewComment};
use crate::time::now_ms;
use crate::worktree::diff::Change;

/// What a review call asks for.
#[derive(Debug, Clone, Default)]
pub struct ReviewRequest {
    /// Agent id or prefix.
    pub id: String,
    /// Comments to add: (path, line, text).
    pub comments: Vec<(String, u32, String)>,
    /// Send the open comments back.
    pub send: bool,
    /// Approve the change.
    pub approve: bool,
}

impl Integration {
    /// Adds comments (each on a line of the agent's diff), then sends the open ones back
    /// as one follow-up, or approves the change. Returns the agent as it is after.
    pub async fn review(&self, request: ReviewRequest) -> Result<AgentRecord, SupervisorError> {
        if request.send && request.approve {
            return Err(SupervisorError::Invalid(
                "choose one of --send and --approve".to_owned(),
            ));
        }
        if request.comments.is_empty() && !request.send && !request.approve {
            return Err(SupervisorError::Invalid(
                "nothing to do: add --comment PATH:LINE TEXT, --send or --approve".to_owned(),
            ));
        }
        // The change is read only to place comments and quote their lines.
        let (id, change) = if request.comments.is_empty() && !request.send {
            (self.sup.resolve(&request.id)?.id, Change::default())
        } else {
            self.diff(&request.id, false).await?
        };
        let mut added = Vec::new();
        for (path, line, text) in &request.comments {
            line_of(&change, path, *line).ok_or_else(|| {
                SupervisorError::Invalid(format!(
                    "{path}:{line} is not a line of agent {id}'s change: see `orchestractl diff {id}` \
                     (lines are numbered in the agent's version)"
                ))
            })?;
            if text.trim().is_empty() {
                return Err(SupervisorError::Invalid(format!(
                    "the comment on {path}:{line} is empty"
                )));
            }
            added.push(ReviewComment {
                path: path.clone(),
                line: *line,
                text: text.trim().to_owned(),
                at: now_ms(),
                sent: false,
            });
        }
        let agent = self
            .sup
            .update(&id, |a| {
                a.review.comments.extend(added);
                if a.review.comments.iter().any(|c| !c.sent) && a.review.state != "approved" {
                    a.review.state = "commented".to_owned();
                }
                if request.approve {
                    a.review.state = "approved".to_owned();
                }
            })
            .await?;
        if !request.send {
            return Ok(agent);
        }
        let open: Vec<&ReviewComment> = agent.review.comments.iter().filter(|c| !c.sent).collect();
        if open.is_empty() {
            return Err(SupervisorError::Precondition(format!(
                "agent {id} has no open comments to send: add some with --comment PATH:LINE TEXT"
            )));
        }
        let mut message = format!(
            "A reviewer read your change and asks for these fixes ({} comment{}):\n",
            open.len(),
            if open.len() == 1 { "" } else { "s" }
        );
        for comment in &open {
            let quoted = line_of(&change, &comment.path, comment.line).unwrap_or_default();
            message.push_str(&format!(
                "\n- {}:{}\n  > {}\n  {}\n",
                comment.path, comment.line, quoted, comment.text
            ));
        }
        message.push_str("\nMake the changes, then commit.");
        // The reviewer's words: recorded as the person's.
        self.sup.send(&id, message, "human").await?;
        self.sup
            .update(&id, |a| {
                for comment in &mut a.review.comments {
                    comment.sent = true;
                }
                a.review.state = "changes_requested".to_owned();
            })
            .await
    }
}

/// The text of line `line` (numbered in the agent's version) of `path` in the change, if
/// the diff shows it.
fn line_of(change: &Change, path: &str, line: u32) -> Option<String> {
    change
        .files
        .iter()
        .filter(|f| f.path == path)
        .flat_map(|f| &f.hunks)
        .flat_map(|h| &h.lines)
        .find(|l| l.new_line == Some(line))
        .map(|l| l.text.clone())
}
