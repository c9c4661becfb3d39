//! The state directory's disk, watched: a full disk is said once (an error in the log, a
//! `disk_full` notification, `daemon status`, a line over `status`, a banner on the page),
//! and when there is room again the store is reopened ([`Store::recover`]) without a
//! restart, and `disk_ok` is said once.
//!
//! What this module must not do: decide what a write means; it only watches and recovers.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::store::Store;
use crate::store::health::{DiskState, FULL_BELOW_BYTES, free_bytes};

/// How often the disk is measured.
const EVERY: Duration = Duration::from_secs(1);

/// Watches the store's disk. Shared as `Arc<DiskWatch>`.
#[derive(Debug)]
pub struct DiskWatch {
    store: Store,
    state: watch::Sender<DiskState>,
}

impl DiskWatch {
    /// A watch over the disk of `store`.
    pub fn new(store: Store) -> Arc<DiskWatch> {
        let first = store_disk(&store);
        Arc::new(DiskWatch {
            store,
            state: watch::Sender::new(first),
        })
    }

    /// The disk now (measured afresh).
    pub fn current(&self) -> DiskState {
        store_disk(&self.store)
    }

    /// Changes between `ok` and `full`, for notifications and the page.
    pub fn subscribe(&self) -> watch::Receiver<DiskState> {
        self.state.subscribe()
    }

    /// Measures, recovers the store when there is room, and says changes, until
    /// `shutdown` turns true.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        loop {
            tokio::select! {
                () = tokio::time::sleep(EVERY) => {}
                _ = shutdown.wait_for(|stop| *stop) => return,
            }
            let health = self.store.health();
            if health.is_ok() {
                if self.store.has_unflushed() {
                    // A write sled holds in memory reaches the disk, or the failure shows.
                    let _ = self.store.flush().await;
                }
            } else if free_bytes(self.store.path()).unwrap_or(u64::MAX) >= FULL_BELOW_BYTES {
                let store = self.store.clone();
                let _ = tokio::task::spawn_blocking(move || store.recover()).await;
            }
            let now = store_disk(&self.store);
            let was_full = self.state.borrow().is_full();
            if now.is_full() != was_full {
                if now.is_full() {
                    tracing::error!("{}", now.describe());
                } else {
                    tracing::info!(
                        "the state directory's disk has room again: {}",
                        now.describe()
                    );
                }
                self.state.send_replace(now);
            }
        }
    }
}

/// The disk of the store, full also while a write failed for want of room and the store
/// has not recovered.
fn store_disk(store: &Store) -> DiskState {
    DiskState::measure(store.path(), store.health().disk_full())
}
