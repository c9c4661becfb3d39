//! Agents talk: the `orchestra` MCP server every agent gets. Its bridge
//! (`orchestractl mcp serve`) forwards each JSON-RPC line to the daemon's `Talk.Mcp`
//! RPC with the agent's secret; here the secret becomes the caller, and the caller's
//! tools run ([`tools`]). An agent names no sender anywhere: who calls is only ever
//! what its secret says, so one agent's tools cannot act as another's.
//!
//! Soft locks on files are [`crate::supervisor::claims`]; messages are
//! [`crate::messages`], handed to agents by the supervisor ([`crate::supervisor::mail`]).

pub mod tools;

use std::sync::Arc;

use serde_json::Value;

use crate::approvals::Approvals;
use crate::claude::mcp;
use crate::supervisor::Supervisor;
use crate::supervisor::agent::AgentRecord;

/// Who calls the server.
#[derive(Debug, Clone)]
pub enum Caller {
    /// One of our agents, proved by its secret.
    Agent(Box<AgentRecord>),
    /// A hand-started Claude Code session (`orchestractl mcp install`), in `cwd`.
    Session {
        /// Its working directory, as its bridge reported it.
        cwd: String,
    },
}

impl Caller {
    /// The sender name of its messages and claims.
    pub fn name(&self) -> String {
        match self {
            Caller::Agent(agent) => agent.id.clone(),
            Caller::Session { .. } => "session".to_owned(),
        }
    }
}

/// Why a call was refused before any tool ran.
#[derive(Debug, thiserror::Error)]
pub enum TalkError {
    /// The secret names no agent: a stale config, or a forgery.
    #[error(
        "this MCP secret belongs to no agent of this daemon (a stale config, or not one of \
         ours): agents get theirs when they start; hand-started sessions use no secret"
    )]
    UnknownToken,
}

/// The server's state: the agents (with their mail and claims) and the approval queue.
#[derive(Debug)]
pub struct Talk {
    /// The agents (records, mail, questions, claims).
    pub supervisor: Arc<Supervisor>,
    /// The approval queue, where questions wait.
    pub approvals: Arc<Approvals>,
}

impl Talk {
    /// The server over `supervisor` and `approvals`.
    pub fn new(supervisor: Arc<Supervisor>, approvals: Arc<Approvals>) -> Talk {
        Talk {
            supervisor,
            approvals,
        }
    }

    /// Who a call with `token` comes from.
    pub fn caller(&self, token: &str, cwd: &str) -> Result<Caller, TalkError> {
        if token.is_empty() {
            return Ok(Caller::Session {
                cwd: cwd.to_owned(),
            });
        }
        let id = self
            .supervisor
            .agent_of_token(token)
            .ok_or(TalkError::UnknownToken)?;
        let agent = self
            .supervisor
            .resolve(&id)
            .map_err(|_| TalkError::UnknownToken)?;
        Ok(Caller::Agent(Box::new(agent)))
    }

    /// Answers one JSON-RPC message of `caller`; None for a notification.
    /// Whether the call in `text` waits for a person (`ask_human`), and may thus be
    /// waiting still when the daemon shuts down. Every other call ends in moments.
    pub fn waits_for_a_person(text: &str) -> bool {
        mcp::parse(text).is_ok_and(|request| {
            request.method == "tools/call" && request.params["name"] == "ask_human"
        })
    }

    pub async fn handle(&self, caller: &Caller, text: &str) -> Option<Value> {
        let request = match mcp::parse(text) {
            Ok(request) => request,
            Err(reply) => return Some(reply),
        };
        let id = request.id.clone()?;
        let reply = match request.method.as_str() {
            "initialize" => mcp::result(&id, mcp::initialize_result(&request.params)),
            "ping" => mcp::result(&id, serde_json::json!({})),
            "tools/list" => mcp::result(&id, mcp::tools()),
            "tools/call" => {
                let name = request.params["name"].as_str().unwrap_or_default();
                let args = request
                    .params
                    .get("arguments")
                    .cloned()
                    .unwrap_or_else(|| serde_json::json!({}));
                let (text, is_error) = match tools::call(self, caller, name, &args).await {
                    Ok(text) => (text, false),
                    Err(text) => (text, true),
                };
                mcp::result(&id, mcp::tool_text(&text, is_error))
            }
            other => mcp::error(&id, -32601, &format!("method not found: {other}")),
        };
        Some(reply)
    }
}
