//! The `Notify` service: channels and deliveries, test sends, the CLI's `Notification`
//! hook, and the stream of notifications dashboards show.

use std::sync::Arc;

use orchestra_proto::v1 as pb;
use orchestra_proto::v1::notify_server::Notify;
use tokio::sync::broadcast::error::RecvError;
use tonic::{Request, Response, Status};

use super::streaming::{BoxStream, async_stream};
use crate::context::Context;
use crate::notify::webpush::Subscription;
use crate::notify::{ChannelKind, EventKind, NotifyInput};
use crate::time::now_ms;

/// Implements `orchestra.v1.Notify`.
#[derive(Debug)]
pub struct NotifyService {
    /// The shared daemon context.
    ctx: Arc<Context>,
}

impl NotifyService {
    /// A service over `ctx`.
    pub fn new(ctx: Arc<Context>) -> Self {
        NotifyService { ctx }
    }
}

impl NotifyService {
    /// The channel kind a test names (`None` for all), checked against what is configured.
    fn test_kind(&self, wanted: &str) -> Result<Option<ChannelKind>, Status> {
        let kind = match wanted.trim() {
            "" => None,
            name => Some(
                serde_json::from_value::<ChannelKind>(serde_json::Value::String(name.to_owned()))
                    .map_err(|_| {
                    Status::invalid_argument(format!(
                        "unknown channel kind {name:?}: use webhook, ntfy, desktop or webpush"
                    ))
                })?,
            ),
        };
        let configured = self.ctx.notifier.all_channels();
        if configured.is_empty() {
            return Err(Status::failed_precondition(format!(
                "no notification channel is configured: add one under \"notifications\" in {}, \
                 like [{{\"kind\": \"ntfy\", \"url\": \"https://ntfy.sh/your-topic\"}}], then run \
                 `orchestractl daemon restart`",
                self.ctx.settings.config_path.display()
            )));
        }
        if let Some(kind) = kind
            && !configured.iter().any(|channel| channel.config.kind == kind)
        {
            return Err(Status::not_found(format!(
                "no {} channel is configured (see `orchestractl notify list`)",
                kind.as_str()
            )));
        }
        Ok(kind)
    }
}

#[tonic::async_trait]
impl Notify for NotifyService {
    async fn list(
        &self,
        _: Request<pb::ListNotifyRequest>,
    ) -> Result<Response<pb::ListNotifyResponse>, Status> {
        let notifier = &self.ctx.notifier;
        Ok(Response::new(pb::ListNotifyResponse {
            channels: notifier
                .all_channels()
                .iter()
                .map(|channel| super::convert::notify_channel(channel))
                .collect(),
            recent: notifier.recent().iter().map(Into::into).collect(),
            summary: Some((&notifier.summary()).into()),
        }))
    }

    async fn test(
        &self,
        request: Request<pb::TestNotifyRequest>,
    ) -> Result<Response<pb::TestNotifyResponse>, Status> {
        let kind = self.test_kind(&request.into_inner().channel)?;
        let results = self.ctx.notifier.test(kind, |_, _| {}).await;
        Ok(Response::new(pb::TestNotifyResponse {
            results: results.iter().map(Into::into).collect(),
        }))
    }

    type TestStreamStream = BoxStream<pb::TestNotifyUpdate>;

    async fn test_stream(
        &self,
        request: Request<pb::TestNotifyRequest>,
    ) -> Result<Response<Self::TestStreamStream>, Status> {
        use pb::test_notify_update::Update;
        let kind = self.test_kind(&request.into_inner().channel)?;
        let ctx = self.ctx.clone();
        Ok(Response::new(async_stream(move |tx| async move {
            // Tries are few (three per channel at most): they wait unbounded while the
            // stream sends them on in order.
            let (tries, mut told) = tokio::sync::mpsc::unbounded_channel();
            let test = ctx.notifier.test(kind, move |channel, attempt| {
                let _ = tries.send(super::convert::notify_test_try(channel, &attempt));
            });
            tokio::pin!(test);
            let attempt = |attempt| pb::TestNotifyUpdate {
                update: Some(Update::Attempt(attempt)),
            };
            let results = loop {
                tokio::select! {
                    results = &mut test => break results,
                    Some(told) = told.recv() => {
                        // A client that went away no longer cares; the test still ends.
                        let _ = tx.send(Ok(attempt(told))).await;
                    }
                }
            };
            while let Ok(told) = told.try_recv() {
                let _ = tx.send(Ok(attempt(told))).await;
            }
            let result = pb::TestNotifyResponse {
                results: results.iter().map(Into::into).collect(),
            };
            let _ = tx
                .send(Ok(pb::TestNotifyUpdate {
                    update: Some(Update::Result(result)),
                }))
                .await;
        })))
    }

    async fn hook(
        &self,
        request: Request<pb::NotifyHookRequest>,
    ) -> Result<Response<pb::NotifyHookResponse>, Status> {
        let input = request.into_inner().input_json;
        let outcome = crate::notify_sources::hook(&self.ctx.sessions, &self.ctx.notifier, &input)
            .map_err(Status::invalid_argument)?;
        Ok(Response::new(match outcome {
            Ok(()) => pb::NotifyHookResponse {
                notified: true,
                reason: String::new(),
            },
            Err(reason) => pb::NotifyHookResponse {
                notified: false,
                reason: reason.to_owned(),
            },
        }))
    }

    async fn push_key(
        &self,
        _: Request<pb::PushKeyRequest>,
    ) -> Result<Response<pb::PushKeyResponse>, Status> {
        Ok(Response::new(pb::PushKeyResponse {
            public_key: self.ctx.notifier.push_key(),
        }))
    }

    async fn push_subscribe(
        &self,
        request: Request<pb::PushSubscribeRequest>,
    ) -> Result<Response<pb::PushSubscribeResponse>, Status> {
        let req = request.into_inner();
        let device = self.ctx.devices.verify(&req.device_token)?;
        let channel = self.ctx.notifier.push_subscribe(Subscription {
            device_id: device.id,
            endpoint: req.endpoint,
            p256dh: req.p256dh,
            auth: req.auth,
            subscribed_at_ms: now_ms(),
        })?;
        // Durable before it is acknowledged.
        self.ctx.store.flush().await?;
        Ok(Response::new(pb::PushSubscribeResponse {
            channel: Some(super::convert::notify_channel(&channel)),
        }))
    }

    async fn push_unsubscribe(
        &self,
        request: Request<pb::PushUnsubscribeRequest>,
    ) -> Result<Response<pb::PushUnsubscribeResponse>, Status> {
        let device = self
            .ctx
            .devices
            .verify(&request.into_inner().device_token)?;
        let removed = self.ctx.notifier.push_forget_device(&device.id)?;
        self.ctx.store.flush().await?;
        Ok(Response::new(pb::PushUnsubscribeResponse { removed }))
    }

    async fn relay(
        &self,
        request: Request<pb::RelayNotificationRequest>,
    ) -> Result<Response<pb::RelayNotificationResponse>, Status> {
        let req = request.into_inner();
        let host = req.host.trim();
        orchestra_proto::remote::validate_name(host).map_err(Status::invalid_argument)?;
        let note = req
            .notification
            .ok_or_else(|| Status::invalid_argument("no notification to relay"))?;
        let kind = EventKind::parse(&note.event).ok_or_else(|| {
            Status::invalid_argument(format!(
                "unknown notification event {:?}: this daemon is older than host {host}'s; \
                 update it to relay that event",
                note.event
            ))
        })?;
        self.ctx.notifier.notify(NotifyInput::Relayed {
            host: host.to_owned(),
            kind,
            title: note.title,
            message: note.message,
            agent_id: note.agent_id,
            session_id: note.session_id,
            project_path: note.project_path,
        });
        Ok(Response::new(pb::RelayNotificationResponse {}))
    }

    type WatchStream = BoxStream<pb::Notification>;

    async fn watch(
        &self,
        request: Request<pb::WatchNotificationsRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let url = request.into_inner().dashboard_url;
        let notifier = self.ctx.notifier.clone();
        let mut rx = notifier.bus().subscribe();
        if !url.is_empty() {
            notifier.dashboard_watching(&url);
        }
        let mut shutdown = self.ctx.shutdown.subscribe();
        let stream = async_stream(
            move |tx: tokio::sync::mpsc::Sender<Result<pb::Notification, Status>>| async move {
                loop {
                    let next = tokio::select! {
                        next = rx.recv() => next,
                        _ = shutdown.wait_for(|stop| *stop) => break,
                        () = tx.closed() => break,
                    };
                    match next {
                        Ok(event) => {
                            if tx.send(Ok((&event.event).into())).await.is_err() {
                                break;
                            }
                        }
                        Err(RecvError::Lagged(_)) => continue,
                        Err(RecvError::Closed) => break,
                    }
                }
                // The dashboard went away: links to it would lead nowhere.
                if !url.is_empty() {
                    notifier.dashboard_gone(&url);
                }
            },
        );
        Ok(Response::new(stream))
    }
}
