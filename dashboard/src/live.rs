//! Live updates: one WebSocket per page, fed by the daemon's `Watch` streams.
//!
//! The [`Hub`] follows the daemon's agent and session events, numbers them, and keeps the
//! last [`BUFFER`] in memory. A page that reconnects (a phone waking up) sends the last
//! number it saw and gets what it missed, or a fresh snapshot when that is too old.
//!
//! What a page may send is bounded: messages of at most [`MAX_WS_MESSAGE`] bytes, at most
//! [`MAX_WS_RATE`] a second, and [`MAX_SOCKETS_PER_DEVICE`] sockets open per device. Over a
//! bound the socket is closed with a WebSocket close code and a reason (or the upgrade
//! refused with 429), and nothing else is affected. While open, a socket is watched
//! ([`watchdog`]): it closes when its device is unpaired or the page goes silent.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse as _, Response};
use axum::routing::get;
use orchestra_proto::Client;
use orchestra_proto::bus::{Bus, Sequenced};
use orchestra_proto::v1::{
    GetAgentRequest, ListAgentsRequest, ListApprovalsRequest, ListSessionsRequest, LogsRequest,
    WatchAgentsRequest, WatchApprovalsRequest, WatchSessionsRequest,
};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::broadcast;
use tokio_stream::StreamExt;

use crate::AppState;

mod watchdog;
use watchdog::{Due, Watchdog};
pub use watchdog::{RECHECK, SOCKET_IDLE};

/// Events kept for reconnecting pages.
pub const BUFFER: usize = 2000;
/// Largest message (and frame) a page may send; pages send next to nothing.
pub const MAX_WS_MESSAGE: usize = 64 * 1024;
/// Messages a page may send per second.
pub const MAX_WS_RATE: u32 = 20;
/// WebSockets one device (one token; on loopback, this machine) may hold open: a phone
/// with a few tabs is well under it, a runaway script is not.
pub const MAX_SOCKETS_PER_DEVICE: usize = 16;

/// Open WebSockets per device.
#[derive(Debug, Default)]
pub struct SocketSlots(Mutex<HashMap<String, usize>>);

/// One open WebSocket of a device; frees its slot when dropped.
#[derive(Debug)]
pub struct Slot {
    /// The counts it was taken from.
    slots: Arc<SocketSlots>,
    /// The device.
    key: String,
}

impl SocketSlots {
    /// A slot for the device of `token`, or `None` when it has too many open.
    fn take(self: &Arc<Self>, token: Option<&str>) -> Option<Slot> {
        let key = token.unwrap_or("no device").to_owned();
        let mut open = self.0.lock();
        let count = open.entry(key.clone()).or_insert(0);
        if *count >= MAX_SOCKETS_PER_DEVICE {
            return None;
        }
        *count += 1;
        Some(Slot {
            slots: self.clone(),
            key,
        })
    }
}

/// The refusal of a socket over [`MAX_SOCKETS_PER_DEVICE`].
fn too_many_sockets() -> Response {
    (
        StatusCode::TOO_MANY_REQUESTS,
        format!(
            "this device already has {MAX_SOCKETS_PER_DEVICE} live connections open: \
             close some tabs of the dashboard and reload\n"
        ),
    )
        .into_response()
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.slots.0.lock();
        if let Some(count) = open.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.key);
            }
        }
    }
}

/// Counts a page's messages per second.
#[derive(Debug)]
struct Rate {
    /// Start of the current second.
    since: Instant,
    /// Messages in it.
    count: u32,
}

impl Rate {
    fn new() -> Rate {
        Rate {
            since: Instant::now(),
            count: 0,
        }
    }

    /// Counts one message; false when the page is over [`MAX_WS_RATE`].
    fn allow(&mut self) -> bool {
        if self.since.elapsed() >= Duration::from_secs(1) {
            *self = Rate::new();
        }
        self.count += 1;
        self.count <= MAX_WS_RATE
    }
}

/// What to do with what a page sent: `None` to go on, else the close to send.
fn judge(
    incoming: Option<Result<Message, axum::Error>>,
    rate: &mut Rate,
) -> Option<Option<CloseFrame>> {
    match incoming {
        Some(Ok(Message::Close(_))) | None => Some(None),
        // tungstenite reports an over-long message as an error; say why before closing.
        Some(Err(err)) => Some(Some(CloseFrame {
            code: close_code::SIZE,
            reason: format!("closed: {err} (limit {MAX_WS_MESSAGE} bytes)").into(),
        })),
        Some(Ok(_)) if !rate.allow() => Some(Some(CloseFrame {
            code: close_code::POLICY,
            reason: format!("closed: more than {MAX_WS_RATE} messages a second").into(),
        })),
        Some(Ok(_)) => None,
    }
}

/// What a page's socket had to say.
enum Heard {
    /// The page sent this (or went away).
    Sent(Option<Result<Message, axum::Error>>),
    /// The socket's next check is due.
    CheckDue,
}

/// Waits until the page sends something or the socket's next check is due (cancel-safe,
/// for `select!`).
async fn listen(socket: &mut WebSocket, watchdog: &mut Watchdog) -> Heard {
    tokio::select! {
        incoming = socket.recv() => Heard::Sent(incoming),
        () = watchdog.tick() => Heard::CheckDue,
    }
}

/// Acts on what [`listen`] heard (run to the end, outside `select!`): `None` to go on,
/// else the close to send before ending the socket.
async fn answer(
    socket: &mut WebSocket,
    watchdog: &mut Watchdog,
    rate: &mut Rate,
    state: &AppState,
    heard: Heard,
) -> Option<Option<CloseFrame>> {
    match heard {
        Heard::Sent(incoming) => {
            watchdog.heard();
            judge(incoming, rate)
        }
        Heard::CheckDue => match watchdog.check(state).await {
            Due::Nothing => None,
            Due::Ping => socket
                .send(Message::Ping(Default::default()))
                .await
                .err()
                .map(|_| None),
            Due::Close(frame) => Some(Some(frame)),
        },
    }
}

/// Sends `close` (if any) and ends the socket.
async fn close(mut socket: WebSocket, close: Option<CloseFrame>) {
    if let Some(frame) = close {
        tracing::debug!(reason = %frame.reason, "closing a page's socket");
        let _ = socket.send(Message::Close(Some(frame))).await;
    }
}

/// The JSON text of a numbered event, serialised once for every page.
pub type Event = Sequenced<Arc<str>>;

/// Numbers the daemon's events, keeps the last [`BUFFER`] for pages that reconnect, and
/// fans them out: the daemon's own bus ([`orchestra_proto::bus`]) with a history.
#[derive(Debug)]
pub struct Hub {
    /// The events, numbered in order.
    bus: Bus<Arc<str>>,
}

impl Hub {
    /// Starts following the daemon behind `client`.
    pub fn start(client: Client) -> Arc<Hub> {
        let hub = Arc::new(Hub {
            bus: Bus::with_history(BUFFER),
        });
        tokio::spawn(follow(hub.clone(), client.clone(), Feed::Agents));
        tokio::spawn(follow(hub.clone(), client.clone(), Feed::Sessions));
        tokio::spawn(follow(hub.clone(), client, Feed::Approvals));
        hub
    }

    /// Numbers and publishes an event built from its number.
    pub fn push(&self, build: impl FnOnce(u64) -> Value) {
        // Numbered and sent under the bus's one lock: pages drop anything numbered below
        // what they last got, so events never leave out of order.
        self.bus
            .publish_with(|seq| Arc::from(build(seq).to_string()));
    }

    /// The number of the last event.
    pub fn last_seq(&self) -> u64 {
        self.bus.last_seq()
    }

    /// Events after `seq`, or `None` when some of them are no longer kept.
    pub fn since(&self, seq: u64) -> Option<Vec<Event>> {
        self.bus.since(seq)
    }

    /// A receiver of the events published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.bus.subscribe()
    }
}

/// A `Watch` stream of the daemon that the hub follows.
#[derive(Debug, Clone, Copy)]
enum Feed {
    Agents,
    Sessions,
    Approvals,
}

/// Follows one of the daemon's `Watch` streams. When the stream ends (the daemon went
/// away, or this follower fell behind the daemon's bus), what pages hold may be stale:
/// they are told to take a fresh snapshot, for every feed alike.
async fn follow(hub: Arc<Hub>, client: Client, feed: Feed) {
    loop {
        let followed = match feed {
            Feed::Agents => {
                relay(&hub, client.agents().watch(WatchAgentsRequest { snapshot: false }).await, |seq, event| {
                    json!({"type": "agent", "seq": seq, "kind": event.kind, "agent": event.agent})
                })
                .await
            }
            Feed::Sessions => {
                relay(&hub, client.sessions().watch(WatchSessionsRequest { snapshot: false }).await, |seq, event| {
                    json!({"type": "session", "seq": seq, "kind": event.kind, "session": event.session})
                })
                .await
            }
            Feed::Approvals => {
                relay(&hub, client.approvals().watch(WatchApprovalsRequest { snapshot: false }).await, |seq, event| {
                    json!({"type": "approval", "seq": seq, "kind": event.kind, "approval": event.approval})
                })
                .await
            }
        };
        if followed {
            hub.push(|seq| json!({"type": "resync", "seq": seq}));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Publishes each event of a `Watch` answer as `to_json` makes it, until the stream
/// ends; false when there was no stream to follow.
async fn relay<E>(
    hub: &Hub,
    answer: Result<tonic::Response<tonic::Streaming<E>>, tonic::Status>,
    to_json: impl Fn(u64, E) -> Value,
) -> bool {
    let Ok(stream) = answer else {
        return false;
    };
    let mut stream = stream.into_inner();
    while let Some(Ok(event)) = stream.next().await {
        hub.push(|seq| to_json(seq, event));
    }
    true
}

/// The live routes.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/ws", get(live))
        .route("/ws/logs/{id}", get(logs))
}

/// Query of `/ws`.
#[derive(Debug, Deserialize)]
pub struct LiveQuery {
    /// The last event number the page saw.
    since: Option<u64>,
}

/// Upgrades to a WebSocket within the device's socket allowance, with the message
/// bounds and the watchdog that closes it when its device is revoked or goes silent.
fn upgrade<F, Fut>(
    ws: WebSocketUpgrade,
    headers: &HeaderMap,
    state: Arc<AppState>,
    serve: F,
) -> Response
where
    F: FnOnce(WebSocket, Arc<AppState>, Watchdog) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let token = state.device_token(headers);
    let Some(slot) = state.sockets.take(token.as_deref()) else {
        return too_many_sockets();
    };
    ws.max_message_size(MAX_WS_MESSAGE)
        .max_frame_size(MAX_WS_MESSAGE)
        .on_upgrade(move |socket| async move {
            let _slot = slot;
            serve(socket, state, Watchdog::new(token)).await;
        })
}

async fn live(
    ws: WebSocketUpgrade,
    headers: HeaderMap,
    Query(query): Query<LiveQuery>,
    State(state): State<Arc<AppState>>,
) -> Response {
    upgrade(ws, &headers, state, move |socket, state, watchdog| {
        serve_live(socket, state, query.since, watchdog)
    })
}

/// A snapshot of what the page shows: every agent, and recent and live sessions.
async fn snapshot(state: &AppState, seq: u64) -> Result<Value, tonic::Status> {
    let agents = state
        .client
        .agents()
        .list(ListAgentsRequest::default())
        .await?
        .into_inner()
        .agents;
    let sessions = state
        .client
        .sessions()
        .list(ListSessionsRequest {
            hours: 24.0 * 7.0,
            limit: 200,
            ..ListSessionsRequest::default()
        })
        .await?
        .into_inner()
        .sessions;
    let approvals = state
        .client
        .approvals()
        .list(ListApprovalsRequest { all: false })
        .await?
        .into_inner()
        .approvals;
    // Other hosts' agents and approvals join this machine's, each with its `host`.
    let (remote_agents, remote_approvals) = state.remotes.snapshot().await;
    let mut agents = serde_json::to_value(agents).unwrap_or_default();
    let mut approvals = serde_json::to_value(approvals).unwrap_or_default();
    if let (Value::Array(agents), Value::Array(approvals)) = (&mut agents, &mut approvals) {
        agents.extend(remote_agents);
        approvals.extend(remote_approvals);
    }
    Ok(json!({
        "type": "snapshot", "seq": seq, "agents": agents, "sessions": sessions,
        "approvals": approvals, "hosts": state.remotes.views(),
    }))
}

async fn serve_live(
    mut socket: WebSocket,
    state: Arc<AppState>,
    since: Option<u64>,
    mut watchdog: Watchdog,
) {
    // Subscribe first, so nothing falls between the catch-up and the live events.
    let mut events = state.hub.subscribe();
    let mut last;
    match since.and_then(|seq| state.hub.since(seq).map(|missed| (seq, missed))) {
        Some((seq, missed)) => {
            last = seq;
            for event in missed {
                last = event.seq;
                if socket
                    .send(Message::text(event.event.as_ref()))
                    .await
                    .is_err()
                {
                    return;
                }
            }
        }
        None => {
            let seq = state.hub.last_seq();
            match snapshot(&state, seq).await {
                Ok(snapshot) => {
                    last = seq;
                    if socket
                        .send(Message::text(snapshot.to_string()))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                Err(status) => {
                    let error = json!({"type": "error", "message": status.message()});
                    let _ = socket.send(Message::text(error.to_string())).await;
                    return;
                }
            }
        }
    }
    let mut rate = Rate::new();
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Ok(event) if event.seq > last => {
                    last = event.seq;
                    if socket.send(Message::text(event.event.as_ref())).await.is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    let _ = socket.send(Message::text(json!({"type": "resync"}).to_string())).await;
                    return;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            heard = listen(&mut socket, &mut watchdog) => {
                if let Some(end) = answer(&mut socket, &mut watchdog, &mut rate, &state, heard).await {
                    return close(socket, end).await;
                }
            },
        }
    }
}

/// Query of `/ws/logs/{id}`.
#[derive(Debug, Default, Deserialize)]
pub struct LogsQuery {
    /// `1`: each frame is `{"type":"events","sent":..,"offset":..,"events":[..]}`, the
    /// transcript events the daemon read from a line (what the page renders); else the
    /// line as written.
    #[serde(default)]
    events: Option<String>,
    /// The host whose agent it is (the card's `host`); empty for this machine.
    #[serde(default)]
    host: String,
}

async fn logs(
    ws: WebSocketUpgrade,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<LogsQuery>,
    State(state): State<Arc<AppState>>,
) -> Response {
    let typed = query.events.as_deref() == Some("1");
    // Another host's agent: its log is read there. A host not configured (or down) is
    // refused before the upgrade, with the reason (404 or 503).
    let daemon = match state.daemon(&query.host) {
        Ok(daemon) => daemon,
        Err(status) => return crate::api::ApiError(status).into_response(),
    };
    upgrade(ws, &headers, state, move |socket, state, watchdog| {
        serve_logs(socket, state, daemon, id, typed, watchdog)
    })
}

/// Whether an agent in `state` is over: its log has ended for good.
fn is_finished(state: &str) -> bool {
    matches!(state, "done" | "failed" | "stopped" | "interrupted")
}

/// Streams an agent's output lines until it finishes or the page goes away.
async fn serve_logs(
    mut socket: WebSocket,
    state: Arc<AppState>,
    daemon: Client,
    id: String,
    typed: bool,
    mut watchdog: Watchdog,
) {
    let stream = match daemon
        .agents()
        .logs(LogsRequest {
            id: id.clone(),
            follow: true,
        })
        .await
    {
        Ok(stream) => stream.into_inner(),
        Err(status) => {
            let _ = socket
                .send(Message::text(
                    json!({"type": "error", "message": status.message()}).to_string(),
                ))
                .await;
            return;
        }
    };
    tokio::pin!(stream);
    let mut rate = Rate::new();
    loop {
        tokio::select! {
            line = stream.next() => match line {
                Some(Ok(line)) => {
                    let frame = if typed {
                        json!({"type": "events", "sent": line.sent, "offset": line.offset, "events": line.events})
                            .to_string()
                    } else {
                        line.line
                    };
                    if socket.send(Message::text(frame)).await.is_err() {
                        return;
                    }
                }
                // The stream ends when the agent does, and also when the daemon goes away
                // (a restart, say), which is not the log's end: then the page is told and,
                // the socket closed, connects again and goes on where it was.
                ended => {
                    let lost = match ended {
                        Some(Err(status)) => Some(status.message().to_owned()),
                        _ => match daemon.agents().get(GetAgentRequest { id: id.clone() }).await {
                            Ok(agent) if is_finished(&agent.get_ref().state) => None,
                            Ok(_) => Some("the daemon ended the stream".to_owned()),
                            Err(status) => Some(status.message().to_owned()),
                        },
                    };
                    let frame = match lost {
                        None => json!({"type": "end"}),
                        Some(why) => json!({
                            "type": "error",
                            "message": format!("lost the daemon ({why}); reconnecting…"),
                        }),
                    };
                    let _ = socket.send(Message::text(frame.to_string())).await;
                    return;
                }
            },
            heard = listen(&mut socket, &mut watchdog) => {
                if let Some(end) = answer(&mut socket, &mut watchdog, &mut rate, &state, heard).await {
                    return close(socket, end).await;
                }
            },
        }
    }
}
