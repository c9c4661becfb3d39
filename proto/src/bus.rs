//! The event bus pattern shared by the daemon and the dashboard: every event is numbered
//! once, in order, and fanned out to subscribers on a `tokio::sync::broadcast` channel.
//!
//! Events carry a sequence number, increasing by one per event, so a client that
//! reconnects can tell what it missed. A bus made [`Bus::with_history`] also keeps the last
//! events, so such a client can be sent just those ([`Bus::since`]) instead of a snapshot.

use std::collections::VecDeque;
use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard};

use tokio::sync::broadcast;

/// Capacity of the broadcast channel. A subscriber that falls further behind is told it
/// lagged and resynchronises from a snapshot.
const CAPACITY: usize = 4096;

/// A numbered event.
#[derive(Debug, Clone)]
pub struct Sequenced<E> {
    /// Position of the event in the bus's history (starts at 1 each run).
    pub seq: u64,
    /// The event.
    pub event: E,
}

/// The numbering and the kept events, under one lock.
#[derive(Debug)]
struct Log<E> {
    /// Last sequence number handed out.
    seq: u64,
    /// The most recent events, oldest first (empty when the bus keeps no history).
    recent: VecDeque<Sequenced<E>>,
    /// How many events `recent` keeps.
    keep: usize,
}

/// A broadcast bus of `E`, cheap to clone.
#[derive(Debug)]
pub struct Bus<E> {
    /// The sending half; receivers are made by [`Bus::subscribe`].
    tx: broadcast::Sender<Sequenced<E>>,
    /// Numbering and history. A mutex rather than an atomic: numbering and sending happen
    /// together, so subscribers always see events in sequence order.
    log: Arc<Mutex<Log<E>>>,
}

impl<E> Clone for Bus<E> {
    fn clone(&self) -> Self {
        Bus {
            tx: self.tx.clone(),
            log: self.log.clone(),
        }
    }
}

impl<E: Clone> Default for Bus<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: Clone> Bus<E> {
    /// A bus with nobody listening yet, keeping no history.
    pub fn new() -> Self {
        Self::with_history(0)
    }

    /// A bus that keeps its last `keep` events for [`Bus::since`].
    pub fn with_history(keep: usize) -> Self {
        let (tx, _) = broadcast::channel(CAPACITY);
        Bus {
            tx,
            log: Arc::new(Mutex::new(Log {
                seq: 0,
                recent: VecDeque::new(),
                keep,
            })),
        }
    }

    /// The numbering and the kept events (a lock that a panic elsewhere does not poison:
    /// it is only ever left with a number handed out and its event kept).
    fn log(&self) -> MutexGuard<'_, Log<E>> {
        self.log.lock()
    }

    /// Publishes `event`; returns its sequence number. Having no subscriber is fine.
    pub fn publish(&self, event: E) -> u64 {
        self.publish_with(|_| event)
    }

    /// Publishes the event `build` makes from its sequence number (for events that carry
    /// their own number, such as text serialised once for many readers).
    pub fn publish_with(&self, build: impl FnOnce(u64) -> E) -> u64 {
        let mut log = self.log();
        log.seq += 1;
        let seq = log.seq;
        let event = Sequenced {
            seq,
            event: build(seq),
        };
        if log.keep > 0 {
            log.recent.push_back(event.clone());
            if log.recent.len() > log.keep {
                log.recent.pop_front();
            }
        }
        let _ = self.tx.send(event);
        seq
    }

    /// A receiver of every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Sequenced<E>> {
        self.tx.subscribe()
    }

    /// The sequence number of the last event published.
    pub fn last_seq(&self) -> u64 {
        self.log().seq
    }

    /// The kept events after `seq`, or `None` when some of them are no longer kept (or
    /// `seq` was never handed out, as after a restart): then the reader needs a snapshot.
    pub fn since(&self, seq: u64) -> Option<Vec<Sequenced<E>>> {
        let log = self.log();
        if seq > log.seq {
            return None;
        }
        let oldest = log.recent.front().map_or(log.seq + 1, |e| e.seq);
        if seq + 1 < oldest {
            return None;
        }
        Some(log.recent.iter().filter(|e| e.seq > seq).cloned().collect())
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

    #[test]
    fn since_gives_what_was_missed_or_asks_for_a_snapshot() {
        let bus: Bus<u64> = Bus::with_history(3);
        assert_eq!(bus.since(0).map(|v| v.len()), Some(0), "nothing yet");
        for seq in 1..=5 {
            assert_eq!(bus.publish_with(|n| n * 10), seq);
        }
        let missed: Vec<(u64, u64)> = bus
            .since(3)
            .expect("kept")
            .into_iter()
            .map(|e| (e.seq, e.event))
            .collect();
        assert_eq!(missed, [(4, 40), (5, 50)]);
        assert_eq!(bus.since(5).map(|v| v.len()), Some(0), "up to date");
        assert!(bus.since(1).is_none(), "event 2 is no longer kept");
        assert!(bus.since(9).is_none(), "a number from another run");
        assert!(Bus::<u64>::new().since(0).is_some());
    }
}
