//! Agents' mail and questions, on the agents' side: handing messages to an agent's
//! process, asking the human on an agent's behalf, and each agent's `orchestra` MCP
//! secret.
//!
//! A message reaches a running agent at its next turn: it is written to the process's
//! stream-json input through the shim, as a user message, and recorded as delivered. An
//! agent that does not run keeps its messages waiting ([`crate::messages`]); they go in
//! with the input of its next run (a `send` or `resume` by a person: nothing here
//! resumes an agent by itself).

use std::sync::Arc;

use super::Supervisor;
use crate::approvals::{Approval, ApprovalError, ApprovalKind};
use crate::claude::stream_json::user_message;
use crate::messages::{MailError, Mailbox, Message};
use crate::time::now_ms;

/// Store table of agents' MCP secrets: SHA-256 of the secret to the agent id. Only the
/// hash is kept, so a copy of the store does not hand out identities.
pub(crate) const TOKEN_TABLE: &str = "mcp_tokens";

/// How a message reads to the agent that gets it: who sent it, and how to answer.
pub fn render(message: &Message, sender_branch: &str) -> String {
    match message.from.as_str() {
        "human" => message.text.clone(),
        "orchestra" => format!("[orchestra] {}", message.text),
        "session" => format!(
            "[message from a Claude Code session of the user, via orchestra]\n{}",
            message.text
        ),
        agent => {
            let branch = if sender_branch.is_empty() {
                String::new()
            } else {
                format!(", branch {sender_branch}")
            };
            format!(
                "[message from agent {agent}{branch}, via orchestra; answer with \
                 mcp__orchestra__send_message to \"{agent}\"]\n{}",
                message.text
            )
        }
    }
}

/// Who sent a user message an agent got, read back from what [`render`] wrote: an agent's
/// id, `orchestra` or `session`; `None` for the person's own words.
pub fn sender_of(text: &str) -> Option<String> {
    if text.starts_with("[orchestra] ") {
        return Some("orchestra".to_owned());
    }
    if text.starts_with("[message from a Claude Code session of the user, via orchestra]") {
        return Some("session".to_owned());
    }
    let rest = text.strip_prefix("[message from agent ")?;
    let id: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    (!id.is_empty()).then_some(id)
}

impl Supervisor {
    /// The messages between agents.
    pub fn mailbox(&self) -> &Arc<Mailbox> {
        &self.mailbox
    }

    /// Agent `id`'s MCP secret, made (and its hash stored) on first use. The secret
    /// itself is only in the agent's MCP config file (0600, in its directory), so it
    /// survives daemon restarts without the store holding it.
    pub(super) fn mcp_token(&self, id: &str) -> Result<String, String> {
        let dir = self.agent_dir(id);
        let path = dir.0.join(MCP_TOKEN_FILE);
        if let Ok(token) = std::fs::read_to_string(&path) {
            let token = token.trim().to_owned();
            if self.agent_of_token(&token).as_deref() == Some(id) {
                return Ok(token);
            }
        }
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|err| format!("no random source: {err}"))?;
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        self.tokens
            .put(&crate::devices::sha256_hex(&token), &id.to_owned())
            .map_err(|err| err.to_string())?;
        orchestra_proto::fs::replace_with_mode(&path, token.as_bytes(), 0o600)
            .map_err(|err| format!("cannot write {}: {err}", path.display()))?;
        Ok(token)
    }

    /// The agent whose MCP secret is `token`, if any.
    pub fn agent_of_token(&self, token: &str) -> Option<String> {
        if token.is_empty() {
            return None;
        }
        self.tokens
            .get::<String>(&crate::devices::sha256_hex(token))
            .ok()
            .flatten()
    }

    /// Sends `text` from `from` to agent `to` (an id): checked against the bounds,
    /// recorded, then handed to the agent's process if it runs.
    pub async fn post_message(
        self: &Arc<Self>,
        from: &str,
        to: &[String],
        text: &str,
    ) -> Result<Vec<Message>, MailError> {
        self.mailbox.admit(from, text, to)?;
        let mut sent = Vec::new();
        for recipient in to {
            let batch = self
                .peek(recipient, |a| a.batch_id.clone())
                .unwrap_or_default();
            sent.push(self.mailbox.post(from, recipient, text, &batch).await?);
            self.deliver_waiting(recipient).await;
        }
        let ids: Vec<&str> = sent.iter().map(|m| m.id.as_str()).collect();
        Ok(self
            .mailbox
            .list(|m| ids.contains(&m.id.as_str()))
            .into_iter()
            .collect())
    }

    /// Hands the messages waiting for agent `id` to its process, if it runs and takes
    /// input; the rest keep waiting for its next run.
    pub async fn deliver_waiting(self: &Arc<Self>, id: &str) {
        // Starting counts: its shim may take input already (if not, the send below fails,
        // the message waits, and the start hands it over once the shim is up).
        let active = self.peek(id, |a| a.state.is_active()).unwrap_or(false);
        if !active {
            return;
        }
        for message in self.mailbox.waiting_for(id) {
            let branch = self
                .peek(&message.from, |a| a.branch.clone())
                .unwrap_or_default();
            let line = user_message(&render(&message, &branch));
            let dir = self.agent_dir(id);
            let sent =
                super::blocking("sending a message to the agent", move || dir.send(&line)).await;
            match sent {
                Ok(Ok(())) => {
                    if let Err(err) = self.mailbox.delivered(&message.id) {
                        tracing::error!(message = %message.id, %err, "cannot record a delivery");
                    }
                    self.wake(id);
                }
                Ok(Err(reason)) => {
                    // Finishing its last turn: the message waits for the next run.
                    tracing::info!(agent = id, message = %message.id, %reason, "message kept for the next run");
                    return;
                }
                Err(err) => {
                    tracing::warn!(agent = id, %err, "message delivery failed");
                    return;
                }
            }
        }
    }

    /// Records `text`, sent by `from` to `agent` outside the mailbox's own delivery (`send`),
    /// in the agent's thread: `delivered` when it went to the agent already (live, or with
    /// its resumed run), else waiting for its first run.
    pub(super) async fn record_sent(
        &self,
        agent: &super::agent::AgentRecord,
        from: &str,
        text: &str,
        delivered: bool,
    ) -> Result<(), MailError> {
        let message = self
            .mailbox
            .post(from, &agent.id, text, &agent.batch_id)
            .await?;
        if delivered {
            self.mailbox.delivered(&message.id)?;
        }
        Ok(())
    }

    /// [`Self::record_sent`] for text the agent has: a failure to record it loses nothing
    /// the agent needs, so it is logged, not returned.
    pub(super) async fn record_delivered(
        &self,
        agent: &super::agent::AgentRecord,
        from: &str,
        text: &str,
    ) {
        if let Err(err) = self.record_sent(agent, from, text, true).await {
            tracing::warn!(agent = %agent.id, %err, "cannot record a sent message in its thread");
        }
    }

    /// The messages waiting for agent `id`, rendered as its next run's first inputs.
    pub(super) fn waiting_input(&self, id: &str) -> Vec<(String, String)> {
        self.mailbox
            .waiting_for(id)
            .into_iter()
            .map(|message| {
                let branch = self
                    .peek(&message.from, |a| a.branch.clone())
                    .unwrap_or_default();
                let text = render(&message, &branch);
                (message.id, text)
            })
            .collect()
    }

    /// Records messages `ids` as delivered (they went in with a run's input).
    pub(super) fn delivered_with_input(&self, ids: &[String]) {
        for id in ids {
            if let Err(err) = self.mailbox.delivered(id) {
                tracing::error!(message = %id, %err, "cannot record a delivery");
            }
        }
    }

    /// Puts agent `agent_id`'s question in the approval queue (notified like any
    /// approval, and under the same `approval_timeout_s`); the agent waits meanwhile.
    pub async fn ask_question(
        self: &Arc<Self>,
        agent_id: &str,
        project_path: &str,
        question: &str,
        choices: Vec<String>,
    ) -> Result<Approval, ApprovalError> {
        let session_id = self
            .peek(agent_id, |a| a.session_id.clone())
            .unwrap_or_default();
        let approval = self
            .approvals
            .add(Approval {
                agent_id: agent_id.to_owned(),
                session_id,
                project_path: project_path.to_owned(),
                tool_name: "ask_human".to_owned(),
                kind: ApprovalKind::Question,
                question: question.to_owned(),
                choices,
                created_at_ms: now_ms(),
                ..Approval::default()
            })
            .await?;
        self.arm_timeout(&approval);
        if !agent_id.is_empty() {
            self.settle_waiting(agent_id, None).await;
        }
        Ok(approval)
    }

    /// Puts agent `agent_id` back to running once its question is no longer pending.
    pub async fn question_settled(&self, agent_id: &str, activity: String) {
        if !agent_id.is_empty() {
            self.settle_waiting(agent_id, Some(activity)).await;
        }
    }
}

/// The file in an agent's directory that holds its MCP secret.
const MCP_TOKEN_FILE: &str = "mcp-token";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sender_is_read_back_from_every_rendering() {
        let from = |who: &str, branch: &str| {
            let message = Message {
                from: who.to_owned(),
                text: "hello\nthere".to_owned(),
                ..Message::default()
            };
            sender_of(&render(&message, branch))
        };
        assert_eq!(from("3bb266f9", "task-x").as_deref(), Some("3bb266f9"));
        assert_eq!(from("3bb266f9", "").as_deref(), Some("3bb266f9"));
        assert_eq!(from("orchestra", "").as_deref(), Some("orchestra"));
        assert_eq!(from("session", "").as_deref(), Some("session"));
        assert_eq!(from("human", ""), None);
        assert_eq!(sender_of("[message from agent ] odd"), None);
    }
}
