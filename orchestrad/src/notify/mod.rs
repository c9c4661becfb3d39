//! Notifications: tell the user when an agent or a session needs them, finishes or fails.
//!
//! ```text
//!  agent bus ───┐ notify_sources.rs     coalesce.rs          delivery.rs (one worker each)
//!  session bus ─┼─> NotifyInput ─> Event ─> batch window ─┬─> webhook queue ─> POST
//!  hook RPC ────┤   (once per                (per channel) ├─> ntfy queue ────> POST
//!  approvals ───┤    occurrence)                           ├─> desktop queue ─> notify-rust
//!  overlap ─────┘                                          ├─> webpush queues ─> push service
//!                                                          └─> dashboard bus (Watch RPC)
//! ```
//!
//! What feeds it lives above it, in `notify_sources.rs`: it follows the agent,
//! session and approval buses, which this module does not depend on.
//!
//! Configured channels come from `config.json`; `webpush` ones ([`push`]) from paired
//! phones that opted in on the dashboard.
//!
//! Anything in the daemon reports with [`Notifier::notify`], which never waits. Events that
//! arrive within [`QUIET`] of each other are coalesced, then each channel gets its own
//! queue, so nothing here can hold up an agent.

pub mod attempt;
pub mod channels;
pub mod coalesce;
pub mod cut;
pub mod delivery;
pub mod desktop;
pub mod event;
pub mod push;
pub mod webpush;

use parking_lot::Mutex;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

pub use channels::{ChannelConfig, ChannelKind};
pub use delivery::{Delivery, Outcome, Stats};
pub use event::{Event, EventKind, Notification, NotifyInput};
pub use push::PushError;

use crate::events::Bus;
use crate::store::{Store, StoreError};

/// Events closer together than this are sent as one batch.
pub const QUIET: Duration = Duration::from_millis(400);

/// A batch is sent at the latest this long after its first event, however busy it gets.
const MAX_WINDOW: Duration = Duration::from_secs(2);

/// Events waiting for the coalescer; more are dropped (and counted).
const INPUT_QUEUE: usize = 1024;

/// Approval request ids remembered to tell each once.
const MAX_APPROVALS_REMEMBERED: usize = 4096;

/// How long a `Notification` hook keeps the registry from telling the same wait again.
const HOOK_DEDUP: Duration = Duration::from_secs(60);

/// One channel's answer to a test.
#[derive(Debug, Clone)]
pub struct TestResult {
    /// Position in the config's list.
    pub index: usize,
    /// The channel.
    pub config: ChannelConfig,
    /// What became of the test.
    pub outcome: Outcome,
    /// What the channel answered.
    pub answer: String,
}

/// Totals over every channel, for `daemon status` and `health`.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Channels configured.
    pub channels: usize,
    /// Delivered.
    pub sent: u64,
    /// Given up on after retries, or refused.
    pub failed: u64,
    /// Dropped (a full queue).
    pub dropped: u64,
    /// The latest failure, "kind: error".
    pub last_error: String,
}

/// The notifier of one daemon run. Shared as `Arc<Notifier>`.
#[derive(Debug)]
pub struct Notifier {
    /// The configured channels.
    channels: Vec<Arc<delivery::Channel>>,
    /// The `webpush` channels of paired devices, and the VAPID key.
    push: push::Push,
    /// Whether [`Notifier::start`] ran (channels added later start at once).
    started: AtomicBool,
    /// Recent deliveries of every channel.
    recent: delivery::Recent,
    /// Into the coalescer.
    input: mpsc::Sender<Event>,
    /// The coalescer's end, until [`Notifier::start`] takes it.
    input_rx: Mutex<Option<mpsc::Receiver<Event>>>,
    /// Notifications for dashboards (the `Watch` RPC), after coalescing.
    bus: Bus<Notification>,
    /// Events lost because the coalescer was too far behind.
    dropped_inputs: AtomicU64,
    /// Approval requests already told, so a repeat of one is not told twice.
    approvals_told: Mutex<HashSet<String>>,
    /// Sessions whose present wait was told, and when (shared by the registry follower
    /// and the hook, so one wait is told once whichever notices first).
    waits_told: Mutex<HashMap<String, Instant>>,
    /// Base URLs of the dashboards watching now ("http://127.0.0.1:8888/"), latest last;
    /// links point at the latest.
    dashboards: Mutex<Vec<String>>,
    /// Shared HTTP client.
    client: reqwest::Client,
}

impl Notifier {
    /// A notifier for `configs` whose push subscriptions and VAPID key live in memory
    /// only; nothing runs until [`Notifier::start`].
    pub fn new(configs: &[ChannelConfig]) -> Notifier {
        let recent: delivery::Recent = Arc::default();
        let push = push::Push::in_memory(configs.len(), recent.clone());
        Notifier::with_push(configs, recent, push)
    }

    /// A notifier for `configs` that keeps push subscriptions of the devices in `paired`,
    /// and its VAPID key, in `store`.
    pub fn load(
        configs: &[ChannelConfig],
        store: &Store,
        paired: &[String],
    ) -> Result<Notifier, StoreError> {
        let recent: delivery::Recent = Arc::default();
        let push = push::Push::load(store, paired, configs.len(), recent.clone())?;
        Ok(Notifier::with_push(configs, recent, push))
    }

    fn with_push(
        configs: &[ChannelConfig],
        recent: delivery::Recent,
        push: push::Push,
    ) -> Notifier {
        let channels = configs
            .iter()
            .enumerate()
            .map(|(index, config)| {
                Arc::new(delivery::Channel::new(
                    index,
                    config.clone(),
                    recent.clone(),
                ))
            })
            .collect();
        let (input, input_rx) = mpsc::channel(INPUT_QUEUE);
        Notifier {
            channels,
            push,
            started: AtomicBool::new(false),
            recent,
            input,
            input_rx: Mutex::new(Some(input_rx)),
            bus: Bus::new(),
            dropped_inputs: AtomicU64::new(0),
            approvals_told: Mutex::default(),
            waits_told: Mutex::default(),
            dashboards: Mutex::default(),
            client: delivery::http_client(),
        }
    }

    /// Reports something worth telling the user. Never waits; a repeat of an approval
    /// request already told is ignored.
    pub fn notify(&self, input: NotifyInput) {
        if let NotifyInput::ApprovalNeeded { request_id, .. } = &input
            && !request_id.is_empty()
        {
            let mut told = self.approvals_told.lock();
            if told.contains(request_id) {
                return;
            }
            // Bounded: forgetting old requests only risks telling a very old one twice.
            if told.len() >= MAX_APPROVALS_REMEMBERED {
                told.clear();
            }
            told.insert(request_id.clone());
        }
        let event = Event::from_input(input, crate::time::now_ms());
        if self.input.try_send(event).is_err() {
            self.dropped_inputs.fetch_add(1, Ordering::Relaxed);
            tracing::warn!("notification queue full; an event was dropped");
        }
    }

    /// Starts the coalescer and one worker per channel (once; needs a runtime).
    pub fn start(self: &Arc<Self>) {
        let Some(mut rx) = self.input_rx.lock().take() else {
            return;
        };
        self.started.store(true, Ordering::SeqCst);
        for channel in self.all_channels() {
            channel.start(self.client.clone());
        }
        let this = self.clone();
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let started = Instant::now();
                let mut batch = vec![first];
                loop {
                    let left = MAX_WINDOW.saturating_sub(started.elapsed());
                    if left.is_zero() {
                        break;
                    }
                    match tokio::time::timeout(QUIET.min(left), rx.recv()).await {
                        Ok(Some(event)) => batch.push(event),
                        Ok(None) | Err(_) => break,
                    }
                }
                this.dispatch(&batch);
            }
        });
    }

    /// Coalesces `batch` for the dashboards and for each channel, and queues the result.
    fn dispatch(&self, batch: &[Event]) {
        for note in coalesce::coalesce(batch) {
            self.bus.publish(self.with_link(note));
        }
        for channel in self.all_channels() {
            let taken: Vec<Event> = batch
                .iter()
                .filter(|e| channel.config.takes(e.kind))
                .cloned()
                .collect();
            for note in coalesce::coalesce(&taken) {
                channel.enqueue(self.with_link(note));
            }
        }
    }

    /// `note` with a link to its item on the dashboard, when one runs.
    fn with_link(&self, mut note: Notification) -> Notification {
        let Some(base) = self.dashboards.lock().last().cloned() else {
            return note;
        };
        note.url = if !note.agent_id.is_empty() && note.event == EventKind::AgentDone {
            // A finished agent's change is what the user comes to look at.
            format!("{base}#agent={}&view=changes", note.agent_id)
        } else if !note.agent_id.is_empty() {
            format!("{base}#agent={}", note.agent_id)
        } else if !note.session_id.is_empty() {
            format!("{base}#session={}", note.session_id)
        } else {
            base
        };
        note
    }

    /// Records that a dashboard at `url` watches; links point at it until
    /// [`Notifier::dashboard_gone`] (another one's going away does not unset it).
    pub fn dashboard_watching(&self, url: &str) {
        self.dashboards.lock().push(url.to_owned());
    }

    /// Records that the dashboard at `url` stopped watching.
    pub fn dashboard_gone(&self, url: &str) {
        let mut dashboards = self.dashboards.lock();
        if let Some(index) = dashboards.iter().rposition(|u| u == url) {
            dashboards.remove(index);
        }
    }

    /// The bus of notifications after coalescing (for dashboards).
    pub fn bus(&self) -> &Bus<Notification> {
        &self.bus
    }

    /// Sends a `test` notification through each channel of `kind` (all when `None`), all
    /// at once and retried as a real notification is, telling `on_try` of each try as it
    /// starts and fails; returns what each answered.
    pub async fn test(
        &self,
        kind: Option<ChannelKind>,
        on_try: impl Fn(&delivery::Channel, delivery::Try) + Sync,
    ) -> Vec<TestResult> {
        let note = self.with_link(Notification::single(&Event::from_input(
            NotifyInput::Test,
            crate::time::now_ms(),
        )));
        let channels = self.all_channels();
        let on_try = &on_try;
        let attempts = channels
            .iter()
            .filter(|c| kind.is_none_or(|k| c.config.kind == k))
            .map(|channel| {
                let note = note.clone();
                async move {
                    let (outcome, answer, _) = channel
                        .deliver_telling(&self.client, &note, |attempt| on_try(channel, attempt))
                        .await;
                    TestResult {
                        index: channel.index,
                        config: channel.config.clone(),
                        outcome,
                        answer,
                    }
                }
            });
        futures::future::join_all(attempts).await
    }

    /// Every channel: the configured ones, then the `webpush` ones.
    pub fn all_channels(&self) -> Vec<Arc<delivery::Channel>> {
        let mut all = self.channels.clone();
        all.extend(self.push.channels());
        all
    }

    /// The VAPID public key browsers subscribe with.
    pub fn push_key(&self) -> String {
        self.push.public_key()
    }

    /// Makes `subscription` its device's `webpush` channel (replacing an earlier one) and
    /// starts it when the notifier runs.
    pub fn push_subscribe(
        &self,
        subscription: webpush::Subscription,
    ) -> Result<Arc<delivery::Channel>, PushError> {
        let channel = self.push.subscribe(subscription)?;
        if self.started.load(Ordering::SeqCst) {
            channel.start(self.client.clone());
        }
        Ok(channel)
    }

    /// Drops the `webpush` channel of `device_id` (unsubscribed or unpaired); whether it
    /// had one.
    pub fn push_forget_device(&self, device_id: &str) -> Result<bool, StoreError> {
        self.push.forget_device(device_id)
    }

    /// Recent deliveries, newest first.
    pub fn recent(&self) -> Vec<Delivery> {
        let recent: VecDeque<Delivery> = self.recent.lock().clone();
        recent.into_iter().rev().collect()
    }

    /// Totals over every channel.
    pub fn summary(&self) -> Summary {
        let channels = self.all_channels();
        let mut summary = Summary {
            channels: channels.len(),
            dropped: self.dropped_inputs.load(Ordering::Relaxed),
            ..Summary::default()
        };
        let mut latest = 0;
        for channel in &channels {
            let stats = channel.stats();
            summary.sent += stats.sent;
            summary.failed += stats.failed;
            summary.dropped += stats.dropped;
            if stats.last_error_at_ms > latest {
                latest = stats.last_error_at_ms;
                summary.last_error =
                    format!("{}: {}", channel.config.kind.as_str(), stats.last_error);
            }
        }
        summary
    }

    /// Marks the present wait of `session_id` as told; false when it already was (by the
    /// hook within [`HOOK_DEDUP`], or by the registry for as long as the wait lasts).
    pub fn tell_wait(&self, session_id: &str, from_hook: bool) -> bool {
        let mut told = self.waits_told.lock();
        match told.get(session_id) {
            Some(at) if !from_hook || at.elapsed() < HOOK_DEDUP => false,
            _ => {
                told.insert(session_id.to_owned(), Instant::now());
                true
            }
        }
    }

    /// Forgets the told wait of `session_id` (it is busy again).
    pub fn end_wait(&self, session_id: &str) {
        self.waits_told.lock().remove(session_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_point_at_the_dashboard_item_while_one_runs() {
        let notifier = Notifier::new(&[]);
        let note = |agent: &str, session: &str| Notification {
            agent_id: agent.into(),
            session_id: session.into(),
            ..Notification::single(&Event::from_input(NotifyInput::Test, 1))
        };
        assert_eq!(notifier.with_link(note("a1", "s1")).url, "");
        notifier.dashboard_watching("http://127.0.0.1:8888/");
        notifier.dashboard_watching("http://192.168.1.5:9000/");
        notifier.dashboard_gone("http://192.168.1.5:9000/");
        assert_eq!(
            notifier.with_link(note("a1", "s1")).url,
            "http://127.0.0.1:8888/#agent=a1"
        );
        assert_eq!(
            notifier.with_link(note("", "s1")).url,
            "http://127.0.0.1:8888/#session=s1"
        );
        assert_eq!(
            notifier.with_link(note("", "")).url,
            "http://127.0.0.1:8888/"
        );
        let done = Notification {
            event: EventKind::AgentDone,
            ..note("a1", "s1")
        };
        assert_eq!(
            notifier.with_link(done).url,
            "http://127.0.0.1:8888/#agent=a1&view=changes"
        );
    }

    #[test]
    fn a_wait_is_told_once_whoever_notices_it() {
        let notifier = Notifier::new(&[]);
        assert!(notifier.tell_wait("s", true), "the hook tells first");
        assert!(
            !notifier.tell_wait("s", false),
            "the registry then stays quiet"
        );
        assert!(
            !notifier.tell_wait("s", true),
            "and so does a repeated hook"
        );
        notifier.end_wait("s");
        assert!(notifier.tell_wait("s", false), "a new wait is told again");
    }
}
