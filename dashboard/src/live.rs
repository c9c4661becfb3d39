//! Live updates: one WebSocket per page, fed by the daemon's `Watch` streams.
//!
//! The [`Hub`] follows the daemon's agent and session events, numbers them, and keeps the
//! last [`BUFFER`] in memory. A page that reconnects (a phone waking up) sends the last
//! number it saw and gets what it missed, or a fresh snapshot when that is too old.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use orchestra_proto::v1::agents_client::AgentsClient;
use orchestra_proto::v1::approvals_client::ApprovalsClient;
use orchestra_proto::v1::sessions_client::SessionsClient;
use orchestra_proto::v1::{
    ListAgentsRequest, ListApprovalsRequest, ListSessionsRequest, LogsRequest, WatchAgentsRequest,
    WatchApprovalsRequest, WatchSessionsRequest,
};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::broadcast;
use tokio_stream::StreamExt;
use tonic::transport::Channel;

use crate::{AppState, MAX_MESSAGE};

/// Events kept for reconnecting pages.
pub const BUFFER: usize = 2000;

/// A numbered event, serialised once for every page.
#[derive(Debug)]
pub struct Event {
    /// Its number.
    pub seq: u64,
    /// The JSON text sent to pages.
    pub json: String,
}

/// Numbers and fans out the daemon's events.
#[derive(Debug)]
pub struct Hub {
    /// The recent events and the last number handed out.
    recent: Mutex<(VecDeque<Arc<Event>>, u64)>,
    /// Live subscribers.
    tx: broadcast::Sender<Arc<Event>>,
}

impl Hub {
    /// Starts following the daemon behind `channel`.
    pub fn start(channel: Channel) -> Arc<Hub> {
        let (tx, _) = broadcast::channel(4096);
        let hub = Arc::new(Hub {
            recent: Mutex::new((VecDeque::new(), 0)),
            tx,
        });
        tokio::spawn(follow_agents(hub.clone(), channel.clone()));
        tokio::spawn(follow_sessions(hub.clone(), channel.clone()));
        tokio::spawn(follow_approvals(hub.clone(), channel));
        hub
    }

    /// Numbers and publishes an event built from its number.
    pub fn push(&self, build: impl FnOnce(u64) -> Value) {
        // Numbering and sending under one lock: pages drop anything numbered below what
        // they last got, so events must never leave out of order.
        let mut recent = self.recent.lock().expect("hub lock");
        recent.1 += 1;
        let seq = recent.1;
        let event = Arc::new(Event {
            seq,
            json: build(seq).to_string(),
        });
        recent.0.push_back(event.clone());
        if recent.0.len() > BUFFER {
            recent.0.pop_front();
        }
        let _ = self.tx.send(event);
    }

    /// The number of the last event.
    pub fn last_seq(&self) -> u64 {
        self.recent.lock().expect("hub lock").1
    }

    /// Events after `seq`, or `None` when some of them are no longer kept.
    pub fn since(&self, seq: u64) -> Option<Vec<Arc<Event>>> {
        let recent = self.recent.lock().expect("hub lock");
        if seq > recent.1 {
            return None;
        }
        let oldest = recent.0.front().map_or(recent.1 + 1, |e| e.seq);
        if seq + 1 < oldest {
            return None;
        }
        Some(recent.0.iter().filter(|e| e.seq > seq).cloned().collect())
    }
}

/// Follows agent events; after losing the daemon, tells pages to take a fresh snapshot.
async fn follow_agents(hub: Arc<Hub>, channel: Channel) {
    loop {
        let mut client = AgentsClient::new(channel.clone()).max_decoding_message_size(MAX_MESSAGE);
        if let Ok(stream) = client.watch(WatchAgentsRequest { snapshot: false }).await {
            let mut stream = stream.into_inner();
            while let Some(Ok(event)) = stream.next().await {
                hub.push(|seq| json!({"type": "agent", "seq": seq, "kind": event.kind, "agent": event.agent}));
            }
        }
        hub.push(|seq| json!({"type": "resync", "seq": seq}));
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Follows session events.
async fn follow_sessions(hub: Arc<Hub>, channel: Channel) {
    loop {
        let mut client =
            SessionsClient::new(channel.clone()).max_decoding_message_size(MAX_MESSAGE);
        if let Ok(stream) = client.watch(WatchSessionsRequest { snapshot: false }).await {
            let mut stream = stream.into_inner();
            while let Some(Ok(event)) = stream.next().await {
                hub.push(|seq| json!({"type": "session", "seq": seq, "kind": event.kind, "session": event.session}));
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// The live routes.
/// Approvals asked and answered, for the "Needs you" strip.
async fn follow_approvals(hub: Arc<Hub>, channel: Channel) {
    loop {
        let mut client = ApprovalsClient::new(channel.clone());
        if let Ok(stream) = client
            .watch(WatchApprovalsRequest { snapshot: false })
            .await
        {
            let mut stream = stream.into_inner();
            while let Some(Ok(event)) = stream.next().await {
                hub.push(|seq| json!({"type": "approval", "seq": seq, "kind": event.kind, "approval": event.approval}));
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

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

async fn live(
    ws: WebSocketUpgrade,
    Query(query): Query<LiveQuery>,
    State(state): State<Arc<AppState>>,
) -> Response {
    ws.on_upgrade(move |socket| serve_live(socket, state, query.since))
}

/// A snapshot of what the page shows: every agent, and recent and live sessions.
async fn snapshot(state: &AppState, seq: u64) -> Result<Value, tonic::Status> {
    let agents = AgentsClient::new(state.channel.clone())
        .max_decoding_message_size(MAX_MESSAGE)
        .list(ListAgentsRequest::default())
        .await?
        .into_inner()
        .agents;
    let sessions = SessionsClient::new(state.channel.clone())
        .max_decoding_message_size(MAX_MESSAGE)
        .list(ListSessionsRequest {
            hours: 24.0 * 7.0,
            limit: 200,
            ..ListSessionsRequest::default()
        })
        .await?
        .into_inner()
        .sessions;
    let approvals = ApprovalsClient::new(state.channel.clone())
        .list(ListApprovalsRequest { all: false })
        .await?
        .into_inner()
        .approvals;
    Ok(
        json!({"type": "snapshot", "seq": seq, "agents": agents, "sessions": sessions, "approvals": approvals}),
    )
}

async fn serve_live(mut socket: WebSocket, state: Arc<AppState>, since: Option<u64>) {
    // Subscribe first, so nothing falls between the catch-up and the live events.
    let mut events = state.hub.tx.subscribe();
    let mut last;
    match since.and_then(|seq| state.hub.since(seq).map(|missed| (seq, missed))) {
        Some((seq, missed)) => {
            last = seq;
            for event in missed {
                last = event.seq;
                if socket
                    .send(Message::text(event.json.clone()))
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
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Ok(event) if event.seq > last => {
                    last = event.seq;
                    if socket.send(Message::text(event.json.clone())).await.is_err() {
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
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
        }
    }
}

async fn logs(
    ws: WebSocketUpgrade,
    Path(id): Path<String>,
    State(state): State<Arc<AppState>>,
) -> Response {
    ws.on_upgrade(move |socket| serve_logs(socket, state, id))
}

/// Streams an agent's output lines until it finishes or the page goes away.
async fn serve_logs(mut socket: WebSocket, state: Arc<AppState>, id: String) {
    let mut client =
        AgentsClient::new(state.channel.clone()).max_decoding_message_size(MAX_MESSAGE);
    let stream = match client.logs(LogsRequest { id, follow: true }).await {
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
    loop {
        tokio::select! {
            line = stream.next() => match line {
                Some(Ok(line)) => {
                    if socket.send(Message::text(line.line)).await.is_err() {
                        return;
                    }
                }
                _ => {
                    let _ = socket.send(Message::text(json!({"type": "end"}).to_string())).await;
                    return;
                }
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
        }
    }
}
