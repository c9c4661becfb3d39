//! The `Approvals` service: thin handlers over [`crate::approvals`] and the supervisor's
//! delivery of answers to agents.

use std::sync::Arc;

use orchestra_proto::v1 as pb;
use orchestra_proto::v1::approvals_server::Approvals;
use tokio::sync::broadcast::error::RecvError;
use tonic::{Request, Response, Status};

use super::streaming as stream;
use crate::approvals::{Approval, ApprovalState, Decision};
use crate::context::Context;

/// Implements `orchestra.v1.Approvals`.
#[derive(Debug)]
pub struct ApprovalsService {
    /// The shared daemon context.
    ctx: Arc<Context>,
}

impl ApprovalsService {
    /// A service over `ctx`.
    pub fn new(ctx: Arc<Context>) -> Self {
        ApprovalsService { ctx }
    }
}

/// The wire form of `approval`, with the asking agent's task filled in.
pub(super) fn wire(ctx: &Context, approval: &Approval) -> pb::Approval {
    let mut out = pb::Approval::from(approval);
    if !approval.agent_id.is_empty() {
        out.agent_task = ctx
            .supervisor
            .peek(&approval.agent_id, |a| a.task.clone())
            .unwrap_or_default();
    }
    out
}

/// What a `PermissionRequest` hook prints for a resolved approval; empty for "no
/// decision" (Claude Code then asks in its own way).
fn hook_output(approval: &Approval) -> String {
    use crate::claude::hooks::{Decision, permission_output};
    let decision = match approval.state {
        ApprovalState::Allowed => Decision::Allow {
            updated_permissions: (approval.always
                && approval
                    .suggestions
                    .as_array()
                    .is_some_and(|s| !s.is_empty()))
            .then(|| approval.suggestions.clone()),
        },
        ApprovalState::Denied | ApprovalState::Expired => Decision::Deny {
            message: approval.message.clone(),
        },
        ApprovalState::Pending | ApprovalState::Cancelled | ApprovalState::Answered => {
            return String::new();
        }
    };
    permission_output(&decision)
}

/// Cancels a hook's approval if its caller goes away before it is answered (the hook
/// timed out, or was killed): the request dropped by tonic drops this guard.
struct CancelOnDrop {
    /// The daemon context.
    ctx: Arc<Context>,
    /// The approval to cancel; None once answered.
    id: Option<String>,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        let Some(id) = self.id.take() else { return };
        let ctx = self.ctx.clone();
        tokio::spawn(async move {
            let _ = ctx
                .approvals
                .close(&id, ApprovalState::Cancelled, "the hook stopped waiting")
                .await;
        });
    }
}

type Stream<T> = stream::BoxStream<T>;

#[tonic::async_trait]
impl Approvals for ApprovalsService {
    async fn list(
        &self,
        request: Request<pb::ListApprovalsRequest>,
    ) -> Result<Response<pb::ListApprovalsResponse>, Status> {
        let all = request.into_inner().all;
        Ok(Response::new(pb::ListApprovalsResponse {
            approvals: self
                .ctx
                .approvals
                .list(all)
                .iter()
                .map(|a| wire(&self.ctx, a))
                .collect(),
        }))
    }

    type WatchStream = Stream<pb::ApprovalEvent>;

    async fn watch(
        &self,
        request: Request<pb::WatchApprovalsRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let req = request.into_inner();
        let watch = stream::Watch {
            bus: self.ctx.approvals.bus(),
            snapshot: req.snapshot,
            current: Box::new(|| self.ctx.approvals.list(false)),
        };
        let ctx = self.ctx.clone();
        Ok(Response::new(watch.stream(
            self.ctx.clone(),
            |approval| pb::ApprovalEvent {
                kind: "snapshot".to_owned(),
                approval: Some(wire(&self.ctx, approval)),
                seq: 0,
            },
            move |change| pb::ApprovalEvent {
                kind: change.event.kind.to_owned(),
                approval: Some(wire(&ctx, &change.event.approval)),
                seq: change.seq,
            },
        )))
    }

    async fn decide(
        &self,
        request: Request<pb::DecideRequest>,
    ) -> Result<Response<pb::DecideResponse>, Status> {
        let req = request.into_inner();
        let decision = match req.decision.as_str() {
            "allow" => Decision::Allow,
            "always" => Decision::Always,
            "deny" => Decision::Deny(req.message),
            other => {
                return Err(Status::invalid_argument(format!(
                    "unknown decision {other:?}: use allow, always or deny"
                )));
            }
        };
        let decided_by = self.ctx.devices.answerer(&req.device_token, req.client)?;
        let approval = self
            .ctx
            .supervisor
            .decide_approval(&req.id, decision, req.raise_usd, &decided_by)
            .await?;
        Ok(Response::new(pb::DecideResponse {
            approval: Some(wire(&self.ctx, &approval)),
        }))
    }

    async fn ask(
        &self,
        request: Request<pb::AskRequest>,
    ) -> Result<Response<pb::AskResponse>, Status> {
        let request =
            crate::claude::hooks::PermissionRequest::parse(&request.into_inner().hook_input_json)
                .map_err(Status::invalid_argument)?;
        // Subscribe before adding, so the answer cannot slip by.
        let mut events = self.ctx.approvals.bus().subscribe();
        let approval = self
            .ctx
            .approvals
            .add(Approval {
                session_id: request.session_id,
                project_path: request.cwd,
                tool_name: request.tool_name,
                input: request.tool_input,
                description: request.description,
                suggestions: request.suggestions,
                ..Approval::default()
            })
            .await?;
        let mut guard = CancelOnDrop {
            ctx: self.ctx.clone(),
            id: Some(approval.id.clone()),
        };
        // `approval_timeout_s` ends it as `expired`, a deny that says why; the hook waits
        // for that answer rather than keeping a timer of its own.
        self.ctx.supervisor.arm_timeout(&approval);
        let resolved = loop {
            let next = tokio::select! {
                next = events.recv() => next,
                () = self.ctx.shutdown_requested() => {
                    return Err(Status::unavailable("orchestrad is shutting down"));
                }
            };
            match next {
                Ok(event) if event.event.approval.id == approval.id => {
                    if event.event.approval.state != ApprovalState::Pending {
                        break (*event.event.approval).clone();
                    }
                }
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => {
                    let now = self.ctx.approvals.resolve(&approval.id)?;
                    if now.state != ApprovalState::Pending {
                        break now;
                    }
                }
                Err(RecvError::Closed) => {
                    return Err(Status::unavailable("orchestrad is shutting down"));
                }
            }
        };
        guard.id = None;
        Ok(Response::new(pb::AskResponse {
            hook_output_json: hook_output(&resolved),
            approval: Some(wire(&self.ctx, &resolved)),
        }))
    }
}
