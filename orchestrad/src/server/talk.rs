//! The `Talk` service: thin handlers over [`crate::talk`] (the MCP server agents reach
//! through their bridge), [`crate::messages`] and answers to agents' questions.

use std::sync::Arc;

use orchestra_proto::v1 as pb;
use orchestra_proto::v1::talk_server::Talk;
use tokio_stream::StreamExt as _;
use tonic::{Request, Response, Status};

use super::approvals::wire;
use super::streaming as stream;
use crate::approvals::Decision;
use crate::context::Context;
use crate::messages::Message;

/// Which messages a request selects.
type Selector = Box<dyn Fn(&Message) -> bool + Send + Sync>;

/// Implements `orchestra.v1.Talk`.
#[derive(Debug)]
pub struct TalkService {
    /// The shared daemon context.
    ctx: Arc<Context>,
}

impl TalkService {
    /// A service over `ctx`.
    pub fn new(ctx: Arc<Context>) -> Self {
        TalkService { ctx }
    }

    /// Which messages a request selects: to or from an agent, within a batch, or all.
    fn selector(&self, req: &pb::ListMessagesRequest) -> Result<Selector, Status> {
        if !req.agent.trim().is_empty() {
            let id = self.ctx.supervisor.resolve(&req.agent)?.id;
            return Ok(Box::new(move |m: &Message| m.to == id || m.from == id));
        }
        if !req.batch_id.trim().is_empty() {
            let prefix = req.batch_id.trim();
            let mut batches: Vec<String> = self
                .ctx
                .supervisor
                .list()
                .into_iter()
                .map(|a| a.batch_id)
                .filter(|b| b.starts_with(prefix))
                .collect();
            batches.sort();
            batches.dedup();
            let batch = match batches.as_slice() {
                [one] => one.clone(),
                [] => {
                    return Err(Status::not_found(format!(
                        "no batch matches {prefix:?}: see the batch ids in `orchestractl status --json`"
                    )));
                }
                many => {
                    return Err(Status::invalid_argument(format!(
                        "{prefix:?} matches several batches ({}): give more characters",
                        many.join(", ")
                    )));
                }
            };
            return Ok(Box::new(move |m: &Message| m.batch_id == batch));
        }
        Ok(Box::new(|_| true))
    }
}

type Stream<T> = stream::BoxStream<T>;

#[tonic::async_trait]
impl Talk for TalkService {
    async fn mcp(
        &self,
        request: Request<pb::McpRequest>,
    ) -> Result<Response<pb::McpResponse>, Status> {
        let req = request.into_inner();
        let caller = self
            .ctx
            .talk
            .caller(&req.token, &req.cwd)
            .map_err(|err| Status::unauthenticated(err.to_string()))?;
        let handled = self.ctx.talk.handle(&caller, &req.message_json);
        // A question waits for the human: it must not hold up a shutdown. The bridge asks
        // it again of the next daemon (`orchestractl mcp serve`). Other calls finish, so
        // a message is never half sent.
        let reply = if crate::talk::Talk::waits_for_a_person(&req.message_json) {
            tokio::select! {
                reply = handled => reply,
                () = self.ctx.shutdown_requested() => {
                    return Err(Status::unavailable("orchestrad is shutting down"));
                }
            }
        } else {
            handled.await
        };
        Ok(Response::new(pb::McpResponse {
            reply_json: reply.map(|r| r.to_string()).unwrap_or_default(),
        }))
    }

    async fn list_messages(
        &self,
        request: Request<pb::ListMessagesRequest>,
    ) -> Result<Response<pb::ListMessagesResponse>, Status> {
        let keep = self.selector(&request.into_inner())?;
        Ok(Response::new(pb::ListMessagesResponse {
            messages: self
                .ctx
                .supervisor
                .mailbox()
                .list(keep)
                .iter()
                .map(Into::into)
                .collect(),
        }))
    }

    type WatchMessagesStream = Stream<pb::MessageEvent>;

    async fn watch_messages(
        &self,
        request: Request<pb::ListMessagesRequest>,
    ) -> Result<Response<Self::WatchMessagesStream>, Status> {
        let keep: Arc<dyn Fn(&Message) -> bool + Send + Sync> =
            Arc::from(self.selector(&request.into_inner())?);
        let mailbox = self.ctx.supervisor.mailbox().clone();
        let listed = keep.clone();
        let watch = stream::Watch {
            bus: self.ctx.supervisor.mailbox().bus(),
            snapshot: true,
            current: Box::new(move || mailbox.list(|m| listed(m))),
        };
        let live = keep.clone();
        let events = watch.stream(
            self.ctx.clone(),
            |message| {
                (
                    true,
                    pb::MessageEvent {
                        kind: "snapshot".to_owned(),
                        message: Some(message.into()),
                        seq: 0,
                    },
                )
            },
            move |change| {
                let wanted = live(&change.event.message);
                (
                    wanted,
                    pb::MessageEvent {
                        kind: change.event.kind.to_owned(),
                        message: Some(change.event.message.as_ref().into()),
                        seq: change.seq,
                    },
                )
            },
        );
        // Snapshot messages are already selected; live ones are checked here.
        let filtered = events.filter_map(|item| match item {
            Ok((true, event)) => Some(Ok(event)),
            Ok((false, _)) => None,
            Err(status) => Some(Err(status)),
        });
        Ok(Response::new(Box::pin(filtered)))
    }

    async fn answer(
        &self,
        request: Request<pb::AnswerRequest>,
    ) -> Result<Response<pb::AnswerResponse>, Status> {
        let req = request.into_inner();
        let answered_by = self.ctx.devices.answerer(&req.device_token, req.client)?;
        let approval = self
            .ctx
            .supervisor
            .decide_approval(&req.id, Decision::Answer(req.text), 0.0, &answered_by)
            .await?;
        Ok(Response::new(pb::AnswerResponse {
            approval: Some(wire(&self.ctx, &approval)),
        }))
    }
}
