//! The `webpush` channels: one per paired device that opted in on the dashboard, kept in
//! the store with the daemon's VAPID key so both outlive a restart.
//!
//! A subscription belongs to a paired device: a new one replaces the device's old one,
//! unpairing the device removes it, and so does the push service saying it is gone.

use parking_lot::Mutex;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::channels::{ChannelConfig, ChannelKind};
use super::delivery::{Channel, Recent};
use super::webpush::{Subscription, Vapid};
use crate::store::{Store, StoreError, Table};

/// Store table of the VAPID key and the subscriptions.
const TABLE: &str = "webpush";
/// Key of the VAPID private key in [`TABLE`].
const VAPID_KEY: &str = "vapid";
/// Prefix of subscription keys in [`TABLE`] (then the device id).
const SUBSCRIPTION: &str = "subscription/";

/// Why a subscription was refused.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// What the browser handed over does not make a subscription.
    #[error("not a usable push subscription: {0}")]
    Invalid(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The VAPID key and the push channels.
#[derive(Debug)]
pub struct Push {
    /// Where the key and the subscriptions are kept (none in unit tests).
    table: Option<Table>,
    /// The daemon's VAPID key pair.
    vapid: Vapid,
    /// One channel per subscribed device.
    channels: Mutex<Vec<Arc<Channel>>>,
    /// The index the next channel gets (after the configured ones, never reused).
    next_index: AtomicUsize,
    /// Where deliveries are recorded (shared with every channel).
    recent: Recent,
}

impl Push {
    /// Push channels kept nowhere, with a fresh key (for a notifier without a store).
    pub fn in_memory(first_index: usize, recent: Recent) -> Push {
        Push {
            table: None,
            vapid: Vapid::generate(),
            channels: Mutex::default(),
            next_index: AtomicUsize::new(first_index),
            recent,
        }
    }

    /// Loads the key (made and kept on first use) and the subscriptions of the devices in
    /// `paired` (others belong to devices unpaired while the daemon was down).
    pub fn load(
        store: &Store,
        paired: &[String],
        first_index: usize,
        recent: Recent,
    ) -> Result<Push, StoreError> {
        let table = store.table(TABLE)?;
        let vapid = match table
            .get::<String>(VAPID_KEY)?
            .map(|text| Vapid::from_private_key(&text))
        {
            Some(Ok(vapid)) => vapid,
            found => {
                if let Some(Err(err)) = found {
                    // Subscriptions made with the lost key are useless: browsers must
                    // subscribe again with the new one.
                    tracing::warn!(%err, "replacing the unreadable VAPID key");
                }
                let vapid = Vapid::generate();
                table.put(VAPID_KEY, &vapid.private_key())?;
                vapid
            }
        };
        let push = Push {
            table: Some(table),
            vapid,
            channels: Mutex::default(),
            next_index: AtomicUsize::new(first_index),
            recent,
        };
        let table = push.table.as_ref().expect("just set");
        for (key, subscription) in table.all::<serde_json::Value>()? {
            let Some(device_id) = key.strip_prefix(SUBSCRIPTION) else {
                continue;
            };
            match serde_json::from_value::<Subscription>(subscription) {
                Ok(subscription) if paired.iter().any(|id| id == device_id) => {
                    push.channels.lock().push(push.channel(subscription));
                }
                _ => table.remove(&key)?,
            }
        }
        Ok(push)
    }

    /// The VAPID public key browsers subscribe with.
    pub fn public_key(&self) -> String {
        self.vapid.public_key()
    }

    /// A channel (not started) delivering to `subscription`.
    fn channel(&self, subscription: Subscription) -> Arc<Channel> {
        let config = ChannelConfig {
            kind: ChannelKind::Webpush,
            url: subscription.origin(),
            events: Vec::new(),
        };
        Arc::new(
            Channel::new(
                self.next_index.fetch_add(1, Ordering::Relaxed),
                config,
                self.recent.clone(),
            )
            .pushing(self.vapid.clone(), subscription),
        )
    }

    /// Keeps `subscription` as its device's channel, in place of any earlier one; returns
    /// the new channel (not started).
    pub fn subscribe(&self, subscription: Subscription) -> Result<Arc<Channel>, PushError> {
        subscription.validate().map_err(PushError::Invalid)?;
        if let Some(table) = &self.table {
            table.put(
                &format!("{SUBSCRIPTION}{}", subscription.device_id),
                &subscription,
            )?;
        }
        let device_id = subscription.device_id.clone();
        let channel = self.channel(subscription);
        let mut channels = self.channels.lock();
        channels.retain(|old| {
            let same = old.device_id() == device_id;
            if same {
                old.stop();
            }
            !same
        });
        channels.push(channel.clone());
        Ok(channel)
    }

    /// Drops the subscription of `device_id`; whether it had one.
    pub fn forget_device(&self, device_id: &str) -> Result<bool, StoreError> {
        if let Some(table) = &self.table {
            table.remove(&format!("{SUBSCRIPTION}{device_id}"))?;
        }
        let mut channels = self.channels.lock();
        let before = channels.len();
        channels.retain(|channel| {
            let same = channel.device_id() == device_id;
            if same {
                channel.stop();
            }
            !same
        });
        Ok(channels.len() != before)
    }

    /// The live channels, after dropping those whose subscription the push service said
    /// is gone.
    pub fn channels(&self) -> Vec<Arc<Channel>> {
        let gone: Vec<String> = self
            .channels
            .lock()
            .iter()
            .filter(|c| c.is_gone())
            .map(|c| c.device_id().to_owned())
            .collect();
        for device_id in gone {
            tracing::info!(%device_id, "the push service forgot a subscription; dropping it");
            if let Err(err) = self.forget_device(&device_id) {
                tracing::warn!(%err, "cannot drop a gone push subscription");
            }
        }
        self.channels.lock().clone()
    }
}
