//! Delivery that never holds the daemon up: each channel has its own queue and worker, so
//! a webhook that hangs delays neither the agents nor any other channel. Each attempt has
//! a timeout; transient failures are retried with backoff; everything is counted for
//! `daemon status`, `health` and `notify list`.

use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;

use super::attempt::{Answer, SendError};
use super::channels::{self, ChannelConfig};
use super::event::{EventKind, Notification};
use super::webpush::{self, Subscription, Vapid};
use crate::time::now_ms;

/// Longest wait for one attempt (connect, send, answer).
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);

/// Attempts per notification, the first included.
pub const MAX_ATTEMPTS: u32 = 3;

/// Wait before the second attempt; doubled for each one after.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);

/// Notifications a channel may have waiting; more are dropped (and counted), so a dead
/// channel cannot make the daemon hold an ever-growing queue.
const QUEUE: usize = 64;

/// Deliveries remembered for `notify list`.
const RECENT: usize = 50;

/// What became of one notification on one channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The receiver took it.
    Sent,
    /// Every attempt failed, or the receiver refused it.
    Failed,
    /// Not attempted: the queue was full.
    Dropped,
    /// Not attempted on purpose (no desktop session).
    Skipped,
}

impl Outcome {
    /// The name shown to users.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Sent => "sent",
            Outcome::Failed => "failed",
            Outcome::Dropped => "dropped",
            Outcome::Skipped => "skipped",
        }
    }
}

/// One delivery, for `notify list`.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Position of the channel in the config's list.
    pub channel: usize,
    /// The channel's kind.
    pub kind: &'static str,
    /// The event delivered.
    pub event: EventKind,
    /// Its title.
    pub title: String,
    /// What became of it.
    pub outcome: Outcome,
    /// The receiver's answer, or the last error.
    pub answer: String,
    /// Attempts made.
    pub attempts: u32,
    /// When it was settled, ms since the epoch.
    pub at_ms: i64,
}

/// Counters of one channel.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Delivered.
    pub sent: u64,
    /// Given up on.
    pub failed: u64,
    /// Dropped because the queue was full.
    pub dropped: u64,
    /// Skipped on purpose.
    pub skipped: u64,
    /// Extra attempts made.
    pub retries: u64,
    /// Waiting in the queue or being sent.
    pub queued: u64,
    /// The latest failure, until a later delivery gets through.
    pub last_error: String,
    /// When it happened, ms since the epoch; 0 when there is none (or no longer).
    pub last_error_at_ms: i64,
}

/// A try of a delivery as it happens, for `notify test` to show.
#[derive(Debug, Clone, PartialEq)]
pub enum Try {
    /// Try `attempt` (from 1) of [`MAX_ATTEMPTS`] starts.
    Started {
        /// Which try.
        attempt: u32,
    },
    /// Try `attempt` did not get through.
    Failed {
        /// Which try.
        attempt: u32,
        /// Why.
        error: String,
        /// When another try follows: after this wait.
        retry_in: Option<Duration>,
    },
}

/// The recent deliveries of every channel, newest last.
pub type Recent = Arc<Mutex<VecDeque<Delivery>>>;

/// One configured channel: its queue and counters.
#[derive(Debug)]
pub struct Channel {
    /// Position in the config's list.
    pub index: usize,
    /// As configured.
    pub config: ChannelConfig,
    /// Its counters.
    stats: Mutex<Stats>,
    /// Its queue; the worker holds the other end.
    tx: mpsc::Sender<Notification>,
    /// The worker's end, until [`Channel::start`] takes it.
    rx: Mutex<Option<mpsc::Receiver<Notification>>>,
    /// Where deliveries are recorded.
    recent: Recent,
    /// For a `webpush` channel: the key it signs with and the browser it pushes to.
    push: Option<(Vapid, Subscription)>,
    /// Wakes the worker to end it (the channel was removed).
    stop: tokio::sync::Notify,
    /// The push service said the subscription no longer exists.
    gone: AtomicBool,
}

impl Channel {
    /// A channel whose worker is not started yet.
    pub fn new(index: usize, config: ChannelConfig, recent: Recent) -> Channel {
        let (tx, rx) = mpsc::channel(QUEUE);
        Channel {
            index,
            config,
            stats: Mutex::new(Stats::default()),
            tx,
            rx: Mutex::new(Some(rx)),
            recent,
            push: None,
            stop: tokio::sync::Notify::new(),
            gone: AtomicBool::new(false),
        }
    }

    /// This channel, pushing to `subscription` signed with `vapid` (a `webpush` channel).
    pub fn pushing(mut self, vapid: Vapid, subscription: Subscription) -> Channel {
        self.push = Some((vapid, subscription));
        self
    }

    /// The paired device a `webpush` channel pushes to; empty for the others.
    pub fn device_id(&self) -> &str {
        self.push
            .as_ref()
            .map_or("", |(_, subscription)| subscription.device_id.as_str())
    }

    /// Ends the worker once the notification it is on (if any) is settled; what is still
    /// queued is dropped.
    pub fn stop(&self) {
        self.stop.notify_one();
    }

    /// Whether the push service said this channel's subscription is gone.
    pub fn is_gone(&self) -> bool {
        self.gone.load(Ordering::Relaxed)
    }

    /// A copy of the counters.
    pub fn stats(&self) -> Stats {
        self.stats.lock().clone()
    }

    /// Queues `note`; never waits. A full queue drops it (counted and recorded).
    pub fn enqueue(&self, note: Notification) {
        self.stats.lock().queued += 1;
        if let Err(err) = self.tx.try_send(note) {
            let note = match err {
                mpsc::error::TrySendError::Full(note) | mpsc::error::TrySendError::Closed(note) => {
                    note
                }
            };
            self.stats.lock().queued -= 1;
            self.settle(&note, Outcome::Dropped, "queue full".to_owned(), 0);
        }
    }

    /// Starts the worker (once).
    pub fn start(self: &Arc<Self>, client: reqwest::Client) {
        let Some(mut rx) = self.rx.lock().take() else {
            return;
        };
        let channel = self.clone();
        tokio::spawn(async move {
            loop {
                let note = tokio::select! {
                    note = rx.recv() => note,
                    () = channel.stop.notified() => None,
                };
                let Some(note) = note else { break };
                channel.deliver(&client, &note).await;
                channel.stats.lock().queued -= 1;
            }
        });
    }

    /// Delivers `note` with retries; records the outcome.
    async fn deliver(&self, client: &reqwest::Client, note: &Notification) {
        self.deliver_telling(client, note, |_| {}).await;
    }

    /// Delivers `note` with retries, telling `on_try` of each try as it starts and as it
    /// fails; records the outcome and returns it, the answer (or last error) and the
    /// tries made.
    pub async fn deliver_telling(
        &self,
        client: &reqwest::Client,
        note: &Notification,
        on_try: impl Fn(Try),
    ) -> (Outcome, String, u32) {
        let mut backoff = FIRST_BACKOFF;
        let mut attempt = 1;
        let (outcome, answer) = loop {
            on_try(Try::Started { attempt });
            match self.attempt(client, note).await {
                Ok(Answer::Sent(answer)) => break (Outcome::Sent, answer),
                Ok(Answer::Skipped(why)) => break (Outcome::Skipped, why),
                Err(SendError::Transient(error)) if attempt < MAX_ATTEMPTS => {
                    tracing::debug!(channel = self.index, %error, attempt, "notification attempt failed; retrying");
                    self.stats.lock().retries += 1;
                    on_try(Try::Failed {
                        attempt,
                        error,
                        retry_in: Some(backoff),
                    });
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                    attempt += 1;
                }
                Err(err) => {
                    if webpush::gone(&err) {
                        self.gone.store(true, Ordering::Relaxed);
                    }
                    let error = err.to_string();
                    on_try(Try::Failed {
                        attempt,
                        error: error.clone(),
                        retry_in: None,
                    });
                    break (Outcome::Failed, error);
                }
            }
        };
        self.settle(note, outcome, answer.clone(), attempt);
        (outcome, answer, attempt)
    }

    /// One attempt, bounded by [`ATTEMPT_TIMEOUT`].
    pub async fn attempt(
        &self,
        client: &reqwest::Client,
        note: &Notification,
    ) -> Result<Answer, SendError> {
        let send = async {
            match &self.push {
                Some((vapid, subscription)) => {
                    webpush::send(client, vapid, subscription, note).await
                }
                None => channels::send(client, &self.config, note).await,
            }
        };
        match tokio::time::timeout(ATTEMPT_TIMEOUT, send).await {
            Ok(result) => result,
            Err(_) => Err(SendError::Transient(format!(
                "no answer within {} s",
                ATTEMPT_TIMEOUT.as_secs()
            ))),
        }
    }

    /// Counts and records what became of `note`.
    pub fn settle(&self, note: &Notification, outcome: Outcome, answer: String, attempts: u32) {
        {
            let mut stats = self.stats.lock();
            match outcome {
                Outcome::Sent => {
                    stats.sent += 1;
                    // Got through again: the failure is over (counted in `failed` and
                    // kept in the recent deliveries, no longer shown as the state).
                    stats.last_error.clear();
                    stats.last_error_at_ms = 0;
                }
                Outcome::Skipped => stats.skipped += 1,
                Outcome::Failed | Outcome::Dropped => {
                    if outcome == Outcome::Failed {
                        stats.failed += 1;
                    } else {
                        stats.dropped += 1;
                    }
                    stats.last_error = answer.clone();
                    stats.last_error_at_ms = now_ms();
                }
            }
        }
        if matches!(outcome, Outcome::Failed | Outcome::Dropped) {
            tracing::warn!(
                channel = self.index,
                kind = self.config.kind.as_str(),
                event = note.event.as_str(),
                %answer,
                "notification not delivered"
            );
        }
        let mut recent = self.recent.lock();
        recent.push_back(Delivery {
            channel: self.index,
            kind: self.config.kind.as_str(),
            event: note.event,
            title: note.title.clone(),
            outcome,
            answer,
            attempts,
            at_ms: now_ms(),
        });
        while recent.len() > RECENT {
            recent.pop_front();
        }
    }
}

/// The HTTP client every channel shares: rustls (http and https alike) and no redirects (a
/// webhook that redirects elsewhere is not followed with our payload). The timeout per
/// attempt is [`Channel::attempt`]'s, one for every kind of channel.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(3))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("claude-orchestra/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("a client with rustls and built-in roots always builds")
}
