//! Messages between agents: what one agent (or a person, or the overlap radar) sent to
//! another, kept until its recipient's Claude Code process has it.
//!
//! Every message is on disk before its sender hears "sent", and its delivery (the moment
//! the recipient's process took it on stdin) is recorded the same way, so a message to an
//! agent that has ended waits, across daemon restarts, until the agent is resumed.
//!
//! Bounds keep one agent from flooding the others or the daemon: a size per message, a
//! rate per sender (a token bucket: a burst, then a steady pace) and a cap on what waits
//! for one recipient. Each refusal says what the sender can do instead.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::events::Bus;
use crate::store::{Store, StoreError, Table};
use crate::time::now_ms;

/// Store table of messages, keyed by message id.
pub(crate) const TABLE: &str = "messages";

/// Largest message text, in bytes: enough for a plan or a stack trace, small enough that
/// a model's context is not flooded by a sibling.
pub const MAX_TEXT: usize = 16 * 1024;

/// Messages a sender may send at once before the steady pace applies.
pub const BURST: f64 = 10.0;

/// The steady pace per sender, in messages per second (30 a minute).
pub const PER_SECOND: f64 = 0.5;

/// Messages that may wait for one recipient that does not run.
pub const MAX_WAITING: usize = 500;

/// Delivered messages older than this are forgotten at start-up.
const KEEP_DELIVERED_MS: i64 = 30 * 24 * 3600 * 1000;

/// One message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Message {
    /// Short unique id (8 hex digits).
    pub id: String,
    /// The sender: an agent id, `human`, `orchestra` or `session`.
    pub from: String,
    /// The recipient agent's id.
    pub to: String,
    /// The text, as sent.
    pub text: String,
    /// Sent at, ms since the epoch.
    pub at_ms: i64,
    /// Taken by the recipient's process at; 0 while it waits.
    pub delivered_at_ms: i64,
    /// The recipient's batch, for the batch's thread.
    pub batch_id: String,
}

/// A change published on the message bus.
#[derive(Debug, Clone)]
pub struct MessageEvent {
    /// `sent` or `delivered`.
    pub kind: &'static str,
    /// The message after the change.
    pub message: Arc<Message>,
}

/// Why a message was refused; each says what to do instead.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// Nothing to send.
    #[error("the message is empty: give the text to send")]
    Empty,
    /// Over [`MAX_TEXT`].
    #[error(
        "the message is {len} bytes, more than the {max} allowed: send a shorter summary, or \
         write the details to a file in your worktree and send its path"
    )]
    TooLarge {
        /// Its size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The sender went over its rate.
    #[error(
        "too many messages: {sender} may send {burst} at once and then one every {every} s; \
         wait {wait} s, or gather what you have to say into one message"
    )]
    RateLimited {
        /// Who sent.
        sender: String,
        /// The burst size.
        burst: u32,
        /// Seconds between messages at the steady pace.
        every: u32,
        /// Seconds until the next one is taken.
        wait: u64,
    },
    /// Too much waits for the recipient already.
    #[error(
        "{waiting} messages already wait for agent {to}, which is not running: it gets them \
         when it is resumed; send more after that"
    )]
    Backlog {
        /// The recipient.
        to: String,
        /// How many wait.
        waiting: usize,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One sender's token bucket.
#[derive(Debug)]
struct Bucket {
    /// Messages it may send now.
    tokens: f64,
    /// When `tokens` was last brought up to date.
    at: Instant,
}

/// Every message kept, persisted, with the bus that announces changes.
#[derive(Debug)]
pub struct Mailbox {
    /// Every message, by id.
    all: Mutex<HashMap<String, Message>>,
    /// Persistence.
    table: Table,
    /// For flushing a message before its sender is told it was sent.
    store: Store,
    /// Each sender's rate.
    buckets: Mutex<HashMap<String, Bucket>>,
    /// Where changes are published.
    bus: Bus<MessageEvent>,
}

impl Mailbox {
    /// Loads the messages; delivered ones older than 30 days are dropped.
    pub fn load(store: &Store) -> Result<Mailbox, StoreError> {
        let table = store.table(TABLE)?;
        let now = now_ms();
        let mut all = HashMap::new();
        for (id, message) in table.all::<Message>()? {
            if message.delivered_at_ms > 0 && now - message.delivered_at_ms > KEEP_DELIVERED_MS {
                table.remove(&id)?;
                continue;
            }
            all.insert(id, message);
        }
        Ok(Mailbox {
            all: Mutex::new(all),
            table,
            store: store.clone(),
            buckets: Mutex::default(),
            bus: Bus::new(),
        })
    }

    /// The bus of message changes.
    pub fn bus(&self) -> &Bus<MessageEvent> {
        &self.bus
    }

    /// Checks that `sender` may send `text` to `recipients` now, and counts it against
    /// the sender's rate (one send to several recipients counts once). `human` and
    /// `orchestra` are not rate-limited: people type slowly, and the radar is ours.
    pub fn admit(&self, sender: &str, text: &str, recipients: &[String]) -> Result<(), MailError> {
        if text.trim().is_empty() {
            return Err(MailError::Empty);
        }
        if text.len() > MAX_TEXT {
            return Err(MailError::TooLarge {
                len: text.len(),
                max: MAX_TEXT,
            });
        }
        {
            let all = self.all.lock();
            for to in recipients {
                let waiting = all
                    .values()
                    .filter(|m| &m.to == to && m.delivered_at_ms == 0)
                    .count();
                if waiting >= MAX_WAITING {
                    return Err(MailError::Backlog {
                        to: to.clone(),
                        waiting,
                    });
                }
            }
        }
        if sender == "human" || sender == "orchestra" {
            return Ok(());
        }
        let mut buckets = self.buckets.lock();
        let now = Instant::now();
        let bucket = buckets.entry(sender.to_owned()).or_insert(Bucket {
            tokens: BURST,
            at: now,
        });
        let elapsed = now.duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * PER_SECOND).min(BURST);
        bucket.at = now;
        if bucket.tokens < 1.0 {
            return Err(MailError::RateLimited {
                sender: sender.to_owned(),
                burst: BURST as u32,
                every: (1.0 / PER_SECOND) as u32,
                wait: ((1.0 - bucket.tokens) / PER_SECOND).ceil() as u64,
            });
        }
        bucket.tokens -= 1.0;
        Ok(())
    }

    /// Records a new message (on disk before this returns), then announces it.
    pub async fn post(
        &self,
        from: &str,
        to: &str,
        text: &str,
        batch_id: &str,
    ) -> Result<Message, MailError> {
        let message = {
            let all = self.all.lock();
            let id = loop {
                let id = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
                if !all.contains_key(&id) {
                    break id;
                }
            };
            Message {
                id,
                from: from.to_owned(),
                to: to.to_owned(),
                text: text.to_owned(),
                at_ms: now_ms(),
                delivered_at_ms: 0,
                batch_id: batch_id.to_owned(),
            }
        };
        self.table.put(&message.id, &message)?;
        self.store.flush().await?;
        self.all.lock().insert(message.id.clone(), message.clone());
        tracing::info!(message = %message.id, from, to, "message sent");
        self.bus.publish(MessageEvent {
            kind: "sent",
            message: Arc::new(message.clone()),
        });
        Ok(message)
    }

    /// Records that message `id` was handed to its recipient's process. Queued for the
    /// store when it cannot take it now: the process has the message whatever the disk
    /// says.
    pub fn delivered(&self, id: &str) -> Result<Option<Message>, StoreError> {
        let after = {
            let mut all = self.all.lock();
            let Some(message) = all.get_mut(id) else {
                return Ok(None);
            };
            if message.delivered_at_ms > 0 {
                return Ok(None);
            }
            let mut after = message.clone();
            after.delivered_at_ms = now_ms();
            self.table.put_or_queue(&after.id, &after)?;
            *message = after.clone();
            after
        };
        self.bus.publish(MessageEvent {
            kind: "delivered",
            message: Arc::new(after.clone()),
        });
        Ok(Some(after))
    }

    /// Messages waiting for agent `to`, oldest first.
    pub fn waiting_for(&self, to: &str) -> Vec<Message> {
        let mut list: Vec<Message> = self
            .all
            .lock()
            .values()
            .filter(|m| m.to == to && m.delivered_at_ms == 0)
            .cloned()
            .collect();
        sort(&mut list);
        list
    }

    /// Messages that `keep` selects, oldest first.
    pub fn list(&self, keep: impl Fn(&Message) -> bool) -> Vec<Message> {
        let mut list: Vec<Message> = self
            .all
            .lock()
            .values()
            .filter(|m| keep(m))
            .cloned()
            .collect();
        sort(&mut list);
        list
    }
}

fn sort(list: &mut [Message]) {
    list.sort_by(|a, b| a.at_ms.cmp(&b.at_ms).then(a.id.cmp(&b.id)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_flood_is_refused_after_the_burst_and_kept_messages_survive_a_reload() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("store");
        let mailbox = Mailbox::load(&store).expect("load");
        let to = vec!["b".to_owned()];
        let mut admitted = 0;
        let mut refusal = None;
        for _ in 0..(BURST as usize + 5) {
            match mailbox.admit("a", "hi", &to) {
                Ok(()) => admitted += 1,
                Err(err) => refusal = Some(err.to_string()),
            }
        }
        assert_eq!(admitted, BURST as usize);
        assert!(
            refusal
                .expect("refused")
                .starts_with("too many messages: a may send 10 at once"),
        );
        assert!(
            mailbox.admit("human", "hi", &to).is_ok(),
            "people are not limited"
        );
        let big = "x".repeat(MAX_TEXT + 1);
        assert!(matches!(
            mailbox.admit("human", &big, &to),
            Err(MailError::TooLarge { .. })
        ));
        let sent = mailbox
            .post("a", "b", "hello", "batch")
            .await
            .expect("post");
        assert_eq!(mailbox.waiting_for("b"), vec![sent.clone()]);
        drop(mailbox);
        let reloaded = Mailbox::load(&store).expect("reload");
        assert_eq!(reloaded.waiting_for("b"), vec![sent.clone()]);
        reloaded.delivered(&sent.id).expect("delivered");
        assert!(reloaded.waiting_for("b").is_empty());
    }
}
