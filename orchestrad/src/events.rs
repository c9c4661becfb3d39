//! The daemon's event bus: every state change worth telling a client about is published
//! here once, and each `Watch` stream subscribes.
//!
//! Events carry a sequence number, increasing by one per event, so a client that
//! reconnects can tell what it missed.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::broadcast;

/// Capacity of the broadcast channel. A subscriber that falls further behind is told it
/// lagged and resynchronises from a snapshot.
const CAPACITY: usize = 4096;

/// A numbered event.
#[derive(Debug, Clone)]
pub struct Sequenced<E> {
    /// Position of the event in the daemon's history (starts at 1 each daemon run).
    pub seq: u64,
    /// The event.
    pub event: E,
}

/// A broadcast bus of `E`, cheap to clone.
#[derive(Debug)]
pub struct Bus<E> {
    /// The sending half; receivers are made by [`Bus::subscribe`].
    tx: broadcast::Sender<Sequenced<E>>,
    /// Last sequence number handed out.
    seq: Arc<AtomicU64>,
}

impl<E> Clone for Bus<E> {
    fn clone(&self) -> Self {
        Bus {
            tx: self.tx.clone(),
            seq: self.seq.clone(),
        }
    }
}

impl<E: Clone> Default for Bus<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: Clone> Bus<E> {
    /// A bus with nobody listening yet.
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(CAPACITY);
        Bus {
            tx,
            seq: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Publishes `event`; returns its sequence number. Having no subscriber is fine.
    pub fn publish(&self, event: E) -> u64 {
        let seq = self.seq.fetch_add(1, Ordering::SeqCst) + 1;
        let _ = self.tx.send(Sequenced { seq, event });
        seq
    }

    /// A receiver of every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Sequenced<E>> {
        self.tx.subscribe()
    }

    /// The sequence number of the last event published.
    pub fn last_seq(&self) -> u64 {
        self.seq.load(Ordering::SeqCst)
    }
}
