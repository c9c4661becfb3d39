//! The daemon's event bus: every state change worth telling a client about is published
//! here once, and each `Watch` stream subscribes.
//!
//! Events carry a sequence number, increasing by one per event, so a client that
//! reconnects can tell what it missed.

use parking_lot::Mutex;
use std::sync::Arc;

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
    /// Last sequence number handed out. A mutex rather than an atomic: numbering and
    /// sending happen together, so subscribers always see events in sequence order.
    seq: Arc<Mutex<u64>>,
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
            seq: Arc::new(Mutex::new(0)),
        }
    }

    /// Publishes `event`; returns its sequence number. Having no subscriber is fine.
    pub fn publish(&self, event: E) -> u64 {
        let mut last = self.seq.lock();
        *last += 1;
        let seq = *last;
        let _ = self.tx.send(Sequenced { seq, event });
        seq
    }

    /// A receiver of every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Sequenced<E>> {
        self.tx.subscribe()
    }

    /// The sequence number of the last event published.
    pub fn last_seq(&self) -> u64 {
        *self.seq.lock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_publishers_deliver_in_sequence_order() {
        let bus: Bus<u32> = Bus::new();
        let mut rx = bus.subscribe();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let bus = bus.clone();
                std::thread::spawn(move || {
                    for i in 0..500 {
                        bus.publish(t * 1000 + i);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("publisher");
        }
        let mut last = 0;
        while let Ok(event) = rx.try_recv() {
            assert_eq!(event.seq, last + 1, "in order, none missing");
            last = event.seq;
        }
        assert_eq!(last, 2000);
    }
}
