//! Persistence: one sled database in the state directory, opened once per daemon.
//!
//! Each kind of record has its own tree. Values are JSON so that a newer daemon can read
//! what an older one wrote and a human can inspect them. The `meta` tree carries the
//! schema version; a store written by a newer daemon is refused rather than misread.
//!
//! A failed write is never silent and never final. sled keeps the first I/O error it
//! meets (a full disk, say) and refuses every later operation, so the store notes the
//! failure in its [`health`] (said once in the log as an error), refuses writes at once
//! while it lasts, and [`Store::recover`] reopens the database once there is room again,
//! without a restart. Writes of facts that happened whatever the disk says (an agent's
//! process ended) may be queued with [`Table::put_or_queue`]; they are written first
//! thing after the recovery. What this module must not do: know what the records mean.

pub mod health;

use parking_lot::{Mutex, RwLock};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Serialize, de::DeserializeOwned};

pub use health::{DiskState, Health};

/// Version of the layout of the trees below. Bump it with a migration in [`Store::open`].
/// 2: the session index is stored compactly (postcard) instead of as JSON.
/// 3: index entries carry the CLI's own cost (`cost-state`) and whether the title is custom.
pub const SCHEMA_VERSION: u32 = 3;

/// Trees that only cache what can be rebuilt from other files; a migration may drop them.
const CACHE_TREES: &[&str] = &["sessions"];

const META_TREE: &str = "meta";
const SCHEMA_KEY: &[u8] = b"schema_version";

/// Errors of the store. Each says which operation failed and where, in words.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// sled refused an operation.
    #[error("store at {}: {op} failed: {}", path.display(), describe(source))]
    Sled {
        /// The store directory.
        path: PathBuf,
        /// What was being done.
        op: &'static str,
        /// sled's error.
        #[source]
        source: sled::Error,
    },
    /// The file system of the store is full.
    #[error(
        "no space left on {} ({} free): free some space, or set XDG_STATE_HOME to a \
         directory on another disk; orchestrad goes on by itself once there is room",
        path.display(), health::human_bytes(*free_bytes)
    )]
    DiskFull {
        /// The store directory.
        path: PathBuf,
        /// Bytes free for us on its file system.
        free_bytes: u64,
    },
    /// An earlier write failed and the store has not recovered yet.
    #[error(
        "the store at {} cannot be written since an earlier write failed ({reason}); \
         orchestrad retries by itself: try again in a moment",
        path.display()
    )]
    Unavailable {
        /// The store directory.
        path: PathBuf,
        /// The failure, in words.
        reason: String,
    },
    /// A value in the store does not decode.
    #[error("store at {}: cannot decode {what}: {source}", path.display())]
    Decode {
        /// The store directory.
        path: PathBuf,
        /// Which record.
        what: String,
        /// The decode error.
        #[source]
        source: serde_json::Error,
    },
    /// A value could not be encoded.
    #[error("store at {}: cannot encode {what}: {message}", path.display())]
    Encode {
        /// The store directory.
        path: PathBuf,
        /// Which record.
        what: String,
        /// The encoder's message.
        message: String,
    },
    /// The store was written by a newer orchestrad.
    #[error(
        "store at {} has schema version {found}, newer than this orchestrad understands \
         ({SCHEMA_VERSION}): upgrade orchestrad, or move the directory away to start afresh",
        path.display()
    )]
    TooNew {
        /// The store directory.
        path: PathBuf,
        /// The version found on disk.
        found: u32,
    },
}

impl StoreError {
    /// Whether the store cannot be written for now (a full disk, an I/O error it will
    /// retry): callers that write caches skip their own warning, the store said it once.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            StoreError::DiskFull { .. } | StoreError::Unavailable { .. }
        ) || matches!(
            self,
            StoreError::Sled {
                source: sled::Error::Io(_),
                ..
            }
        )
    }
}

/// sled's error in words: its `Display` of an I/O error is Rust's debug format.
fn describe(err: &sled::Error) -> String {
    match err {
        sled::Error::Io(io) => health::io_words(io),
        sled::Error::Corruption { .. } => "its files are damaged".to_owned(),
        sled::Error::CollectionNotFound(_) => "a table is missing".to_owned(),
        sled::Error::Unsupported(what) => what.clone(),
        sled::Error::ReportableBug(what) => format!("internal error of the database: {what}"),
    }
}

/// The daemon's store. Cheap to clone: every clone is the same store.
#[derive(Clone, Debug)]
pub struct Store {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Where it lives, for error messages and reopening.
    path: PathBuf,
    /// The sled database; `None` only while [`Store::recover`] reopens it.
    db: RwLock<Option<sled::Db>>,
    /// Whether writes work, and since when they do not.
    health: Mutex<Health>,
    /// Writes of facts kept while the store could not take them: (table, key) to the
    /// value, or `None` for a removal. Written by [`Store::recover`].
    queued: Mutex<Writes>,
    /// Writes sled took since the last flush that worked (cache tables aside): sled
    /// holds them in memory only, so when a flush fails they are queued, not lost.
    unflushed: Mutex<Writes>,
}

/// Writes by (table, key): the value, or `None` for a removal.
type Writes = BTreeMap<(&'static str, String), Option<Vec<u8>>>;

/// A named collection of JSON records keyed by string.
#[derive(Clone, Debug)]
pub struct Table {
    /// The store it lives in.
    store: Store,
    /// The sled tree's name.
    name: &'static str,
}

impl Store {
    /// Whether another process holds the store in `dir` open: sled takes an exclusive
    /// `flock` on its `db` file for as long as a database is open, so a probe for the same
    /// lock answers without reading sled's error text.
    pub fn locked_by_another(dir: &Path) -> bool {
        use nix::errno::Errno;
        use nix::fcntl::{Flock, FlockArg};
        let Ok(file) = std::fs::OpenOptions::new().read(true).open(dir.join("db")) else {
            return false;
        };
        // Dropping the probe's lock unlocks at once.
        matches!(
            Flock::lock(file, FlockArg::LockExclusiveNonblock),
            Err((_, Errno::EWOULDBLOCK))
        )
    }

    /// Opens (or creates) the store in `dir` and checks its schema version.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let db = open_db(dir)?;
        check_schema(dir, &db)?;
        Ok(Store {
            inner: Arc::new(Inner {
                path: dir.to_path_buf(),
                db: RwLock::new(Some(db)),
                health: Mutex::new(Health::default()),
                queued: Mutex::new(BTreeMap::new()),
                unflushed: Mutex::new(BTreeMap::new()),
            }),
        })
    }

    /// The store's directory.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Whether writes work now, and if not since when and why.
    pub fn health(&self) -> Health {
        self.inner.health.lock().clone()
    }

    /// The schema version on disk.
    pub fn schema_version(&self) -> u32 {
        self.read_db("read schema version", |db| {
            db.open_tree(META_TREE)?.get(SCHEMA_KEY)
        })
        .ok()
        .flatten()
        .and_then(|bytes| bytes.as_ref().try_into().ok().map(u32::from_be_bytes))
        .unwrap_or(0)
    }

    /// Opens the table `name`.
    pub fn table(&self, name: &'static str) -> Result<Table, StoreError> {
        self.read_db("open table", |db| db.open_tree(name).map(drop))?;
        Ok(Table {
            store: self.clone(),
            name,
        })
    }

    /// Bytes the store takes on disk.
    pub fn size_on_disk(&self) -> u64 {
        self.read_db("measure", sled::Db::size_on_disk).unwrap_or(0)
    }

    /// Waits until every write so far is on disk.
    pub async fn flush(&self) -> Result<(), StoreError> {
        let db = self.write_handle()?;
        let pending = std::mem::take(&mut *self.inner.unflushed.lock());
        let flushed = db.flush_async().await;
        if flushed.is_err() {
            self.requeue(pending);
        }
        self.checked("flush", flushed.map(drop))
    }

    /// Waits until every write so far is on disk, or, when the store cannot take writes
    /// now (a full disk), leaves them queued for [`Store::recover`]: for writes of facts,
    /// made with [`Table::put_or_queue`]. Other failures are errors.
    pub async fn flush_or_queue(&self) -> Result<(), StoreError> {
        match self.flush().await {
            Err(err) if !err.is_unavailable() => Err(err),
            _ => Ok(()),
        }
    }

    /// Queues `writes` for [`Store::recover`] unless a newer write of the same key is.
    fn requeue(&self, writes: Writes) {
        let mut queued = self.inner.queued.lock();
        for (key, value) in writes {
            queued.entry(key).or_insert(value);
        }
    }

    /// Notes a write sled took, until a flush puts it on disk.
    fn journal(&self, table: &'static str, key: &str, value: Option<Vec<u8>>) {
        if !CACHE_TREES.contains(&table) {
            self.inner
                .unflushed
                .lock()
                .insert((table, key.to_owned()), value);
        }
    }

    /// Runs a read on the database. Reads go on while writes fail: sled keeps what it
    /// read in memory, and an error is reported, not remembered.
    fn read_db<T>(
        &self,
        op: &'static str,
        read: impl FnOnce(&sled::Db) -> sled::Result<T>,
    ) -> Result<T, StoreError> {
        let guard = self.inner.db.read();
        let Some(db) = guard.as_ref() else {
            return Err(self.unavailable());
        };
        read(db).map_err(|source| StoreError::Sled {
            path: self.inner.path.clone(),
            op,
            source,
        })
    }

    /// A handle for a write, or the reason writes are refused now.
    fn write_handle(&self) -> Result<sled::Db, StoreError> {
        if !self.inner.health.lock().is_ok() {
            return Err(self.unavailable());
        }
        self.inner
            .db
            .read()
            .as_ref()
            .cloned()
            .ok_or_else(|| self.unavailable())
    }

    /// Turns sled's answer to a write into ours; an I/O error marks the store failed.
    fn checked<T>(&self, op: &'static str, result: sled::Result<T>) -> Result<T, StoreError> {
        result.map_err(|source| {
            if let sled::Error::Io(io) = &source {
                // What sled held in memory only is written again after the recovery.
                let unflushed = std::mem::take(&mut *self.inner.unflushed.lock());
                self.requeue(unflushed);
                let full = health::is_disk_full(io);
                self.inner
                    .health
                    .lock()
                    .fail(&self.inner.path, &health::io_words(io), full);
                if full {
                    return StoreError::DiskFull {
                        path: self.inner.path.clone(),
                        free_bytes: health::free_bytes(&self.inner.path).unwrap_or(0),
                    };
                }
            }
            StoreError::Sled {
                path: self.inner.path.clone(),
                op,
                source,
            }
        })
    }

    /// The error for a write refused because the store has not recovered yet.
    fn unavailable(&self) -> StoreError {
        let health = self.inner.health.lock().clone();
        if health.disk_full() {
            return StoreError::DiskFull {
                path: self.inner.path.clone(),
                free_bytes: health::free_bytes(&self.inner.path).unwrap_or(0),
            };
        }
        StoreError::Unavailable {
            path: self.inner.path.clone(),
            reason: health.error().unwrap_or("it is being reopened").to_owned(),
        }
    }

    /// After a failed write: reopens the database (sled refuses everything after its
    /// first I/O error), writes what was queued, and marks the store healthy again. Does
    /// nothing when the store is healthy. Fails, leaving the store as it was, while there
    /// is still no room or the database cannot be reopened; call it again later.
    pub fn recover(&self) -> Result<bool, StoreError> {
        if self.inner.health.lock().is_ok() {
            return Ok(false);
        }
        let path = self.inner.path.clone();
        let mut slot = self.inner.db.write();
        // The old handle must be gone before the new one can take sled's lock. A flush
        // still in flight may hold a clone: then this attempt fails, and the disk watch
        // tries again a second later (no waiting here, with every reader held off).
        drop(slot.take());
        let reopened = open_db(&path);
        let db = match reopened {
            Ok(db) => db,
            Err(err) => {
                // Keep trying later; reads fail meanwhile with the reason.
                tracing::debug!(%err, "the store cannot be reopened yet");
                return Err(err);
            }
        };
        let queued = std::mem::take(&mut *self.inner.queued.lock());
        let mut written = Ok(());
        for ((table, key), value) in &queued {
            let result = db.open_tree(table).and_then(|tree| match value {
                Some(bytes) => tree.insert(key.as_bytes(), bytes.as_slice()).map(drop),
                None => tree.remove(key.as_bytes()).map(drop),
            });
            if let Err(err) = result {
                written = Err(err);
                break;
            }
        }
        let written = written.and_then(|()| db.flush().map(drop));
        *slot = Some(db);
        drop(slot);
        if let Err(source) = written {
            // Still no room: put the queue back and stay failed.
            self.requeue(queued);
            return match self.checked::<()>("write what was queued", Err(source)) {
                Err(err) => Err(err),
                Ok(()) => Ok(false),
            };
        }
        self.inner.health.lock().recovered(&path, queued.len());
        Ok(true)
    }

    /// Why a new piece of work should not start now: the store refuses writes, or its disk
    /// is full. `None` when writes should work.
    pub fn refuses_writes(&self) -> Option<StoreError> {
        if !self.inner.health.lock().is_ok() {
            return Some(self.unavailable());
        }
        let free = health::free_bytes(&self.inner.path)?;
        (free < health::FULL_BELOW_BYTES).then(|| StoreError::DiskFull {
            path: self.inner.path.clone(),
            free_bytes: free,
        })
    }

    /// Whether writes sled holds in memory only wait for a flush.
    pub fn has_unflushed(&self) -> bool {
        !self.inner.unflushed.lock().is_empty()
    }

    /// Writes queued while the store could not take them, waiting for [`Store::recover`].
    pub fn queued_writes(&self) -> usize {
        self.inner.queued.lock().len()
    }
}

/// Opens sled in `dir`. sled may panic on files it cannot make sense of: that is an
/// error here, which the caller reports as a damaged store.
fn open_db(dir: &Path) -> Result<sled::Db, StoreError> {
    // A small page cache: the index is mostly read from memory maps of our own, and
    // the daemon should stay light (the RSS target is tens of megabytes).
    let config = sled::Config::new().path(dir).cache_capacity(1024 * 1024);
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| config.open())) {
        Ok(opened) => opened.map_err(|source| StoreError::Sled {
            path: dir.to_path_buf(),
            op: "open",
            source,
        }),
        Err(_) => Err(StoreError::Sled {
            path: dir.to_path_buf(),
            op: "open",
            source: sled::Error::Corruption { at: None, bt: () },
        }),
    }
}

/// Checks (and writes, for a new store) the schema version; drops cache trees of an
/// older one.
fn check_schema(dir: &Path, db: &sled::Db) -> Result<(), StoreError> {
    let sled_err = |op| {
        let path = dir.to_path_buf();
        move |source| StoreError::Sled { path, op, source }
    };
    let meta = db.open_tree(META_TREE).map_err(sled_err("open meta"))?;
    match meta
        .get(SCHEMA_KEY)
        .map_err(sled_err("read schema version"))?
    {
        None => {
            meta.insert(SCHEMA_KEY, &SCHEMA_VERSION.to_be_bytes())
                .map_err(sled_err("write schema version"))?;
        }
        Some(bytes) => {
            let found = bytes
                .as_ref()
                .try_into()
                .map(u32::from_be_bytes)
                .unwrap_or(u32::MAX);
            if found > SCHEMA_VERSION {
                return Err(StoreError::TooNew {
                    path: dir.to_path_buf(),
                    found,
                });
            }
            if found < SCHEMA_VERSION {
                // The session index is a cache of the session files: rather than
                // convert it, drop it and let the first scan rebuild it.
                for tree in CACHE_TREES {
                    db.drop_tree(tree)
                        .map_err(sled_err("drop an old cache tree"))?;
                }
                meta.insert(SCHEMA_KEY, &SCHEMA_VERSION.to_be_bytes())
                    .map_err(sled_err("write schema version"))?;
                tracing::info!(from = found, to = SCHEMA_VERSION, "migrated the store");
            }
        }
    }
    Ok(())
}

impl Table {
    fn decode_err(&self, what: &str) -> impl FnOnce(serde_json::Error) -> StoreError {
        let path = self.store.inner.path.clone();
        let what = what.to_owned();
        move |source| StoreError::Decode { path, what, source }
    }

    /// Reads the record under `key`.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StoreError> {
        let Some(bytes) = self
            .store
            .read_db("get", |db| db.open_tree(self.name)?.get(key))?
        else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(self.decode_err(key))
    }

    /// Writes `value` under `key`.
    pub fn put<T: Serialize>(&self, key: &str, value: &T) -> Result<(), StoreError> {
        let bytes = self.encode(key, serde_json::to_vec(value).map_err(|e| e.to_string()))?;
        self.insert(key, bytes)
    }

    /// Writes `value` under `key` if the store takes it now; otherwise keeps it to be
    /// written by [`Store::recover`] (a later write of the same key replaces it). For
    /// facts that are true whatever the disk says, which memory already holds. Returns
    /// whether it was written now.
    pub fn put_or_queue<T: Serialize>(&self, key: &str, value: &T) -> Result<bool, StoreError> {
        let bytes = self.encode(key, serde_json::to_vec(value).map_err(|e| e.to_string()))?;
        match self.insert(key, bytes.clone()) {
            Ok(()) => Ok(true),
            Err(err) if err.is_unavailable() => {
                self.queue(key, Some(bytes));
                Ok(false)
            }
            Err(err) => Err(err),
        }
    }

    /// Keeps `value` to be written under `key` by [`Store::recover`]: after a write
    /// that failed, what memory still holds is what the store must end up with.
    pub fn queue_put<T: Serialize>(&self, key: &str, value: &T) {
        if let Ok(bytes) = serde_json::to_vec(value) {
            self.queue(key, Some(bytes));
        }
    }

    fn queue(&self, key: &str, value: Option<Vec<u8>>) {
        self.store
            .inner
            .queued
            .lock()
            .insert((self.name, key.to_owned()), value);
    }

    fn encode(&self, key: &str, bytes: Result<Vec<u8>, String>) -> Result<Vec<u8>, StoreError> {
        bytes.map_err(|message| StoreError::Encode {
            path: self.store.inner.path.clone(),
            what: key.to_owned(),
            message,
        })
    }

    fn insert(&self, key: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        let db = self.store.write_handle()?;
        let result = db
            .open_tree(self.name)
            .and_then(|tree| tree.insert(key, bytes.as_slice()))
            .map(drop);
        self.store.checked("put", result)?;
        self.store.journal(self.name, key, Some(bytes));
        Ok(())
    }

    /// Removes the record under `key` if the store takes it now; otherwise keeps the
    /// removal for [`Store::recover`], like [`Table::put_or_queue`].
    pub fn remove_or_queue(&self, key: &str) -> Result<(), StoreError> {
        match self.remove(key) {
            Err(err) if err.is_unavailable() => {
                self.queue(key, None);
                Ok(())
            }
            other => other,
        }
    }

    /// Removes the record under `key`.
    pub fn remove(&self, key: &str) -> Result<(), StoreError> {
        let db = self.store.write_handle()?;
        let result = db
            .open_tree(self.name)
            .and_then(|tree| tree.remove(key))
            .map(drop);
        self.store.checked("remove", result)?;
        self.store.journal(self.name, key, None);
        Ok(())
    }

    /// Every record, in key order. Records that no longer decode are skipped with a
    /// warning: one bad record must not hide the others.
    pub fn all<T: DeserializeOwned>(&self) -> Result<Vec<(String, T)>, StoreError> {
        self.decode_all(|bytes| serde_json::from_slice(bytes).map_err(|err| err.to_string()))
    }

    /// Every record as `decode` reads it, in key order; undecodable ones are skipped with
    /// a warning.
    fn decode_all<T>(
        &self,
        decode: impl Fn(&[u8]) -> Result<T, String>,
    ) -> Result<Vec<(String, T)>, StoreError> {
        let items = self.store.read_db("scan", |db| {
            db.open_tree(self.name)?
                .iter()
                .collect::<sled::Result<Vec<_>>>()
        })?;
        let mut out = Vec::with_capacity(items.len());
        for (key, value) in items {
            let key = String::from_utf8_lossy(&key).into_owned();
            match decode(&value) {
                Ok(value) => out.push((key, value)),
                Err(err) => tracing::warn!(%key, %err, "skipping undecodable record"),
            }
        }
        Ok(out)
    }

    /// Writes `value` under `key` in a compact binary encoding (postcard), for big tables
    /// that only the daemon reads, such as the session index.
    pub fn put_compact<T: Serialize>(&self, key: &str, value: &T) -> Result<(), StoreError> {
        let bytes = self.encode(key, postcard::to_allocvec(value).map_err(|e| e.to_string()))?;
        self.insert(key, bytes)
    }

    /// Every record written by [`Table::put_compact`], in key order; undecodable ones are
    /// skipped with a warning.
    pub fn all_compact<T: DeserializeOwned>(&self) -> Result<Vec<(String, T)>, StoreError> {
        self.decode_all(|bytes| postcard::from_bytes(bytes).map_err(|err| err.to_string()))
    }

    /// Waits until this table's writes are on disk.
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.store.flush().await
    }

    /// The store this table lives in.
    pub fn store(&self) -> &Store {
        &self.store
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_open_store_is_seen_as_locked_by_its_flock() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(!Store::locked_by_another(dir.path()), "no store yet");
        let _store = Store::open(dir.path()).expect("open");
        assert!(Store::locked_by_another(dir.path()));
    }

    #[test]
    fn schema_version_is_written_and_newer_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let store = Store::open(dir.path()).expect("open");
            assert_eq!(store.schema_version(), SCHEMA_VERSION);
            let table = store.table("t").expect("table");
            table.put("a", &vec![1, 2]).expect("put");
            assert_eq!(table.get::<Vec<i32>>("a").expect("get"), Some(vec![1, 2]));
            let guard = store.inner.db.read();
            let db = guard.as_ref().expect("open");
            let meta = db.open_tree(META_TREE).expect("meta");
            meta.insert(SCHEMA_KEY, &(SCHEMA_VERSION + 1).to_be_bytes())
                .expect("bump");
            db.flush().expect("flush");
        }
        let err = Store::open(dir.path()).expect_err("too new");
        assert!(matches!(err, StoreError::TooNew { .. }), "{err}");
    }

    #[test]
    fn a_value_that_does_not_serialise_is_an_encode_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let table = store.table("t").expect("table");
        // JSON object keys must be strings; a map keyed by pairs cannot be written.
        let value = std::collections::BTreeMap::from([((1, 2), 3)]);
        let err = table.put("a", &value).expect_err("cannot serialise");
        assert!(matches!(err, StoreError::Encode { .. }), "{err:?}");
        assert!(err.to_string().contains("cannot encode a"), "{err}");
    }

    #[test]
    fn a_failed_store_refuses_writes_queues_facts_and_recovers_in_process() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let table = store.table("t").expect("table");
        table.put("a", &1).expect("put");
        // What a full disk does to sled, without filling one (the end-to-end test in
        // tests/tests/agents/faults.rs fills a real tmpfs).
        let full = std::io::Error::from_raw_os_error(28);
        let err = store
            .checked("put", Err::<(), _>(sled::Error::Io(full)))
            .expect_err("failed");
        assert!(matches!(err, StoreError::DiskFull { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.starts_with("no space left on "), "{text}");
        assert!(!text.contains("Os {") && !text.contains("kind:"), "{text}");
        assert!(store.health().disk_full());
        // Writes are refused at once; a fact is queued.
        assert!(table.put("b", &2).expect_err("refused").is_unavailable());
        assert!(!table.put_or_queue("c", &3).expect("queued"));
        // "a" was never flushed: sled held it in memory only, so it is queued too.
        assert_eq!(store.queued_writes(), 2);
        // Reads go on.
        assert_eq!(table.get::<i32>("a").expect("read"), Some(1));
        assert!(store.recover().expect("recovered"));
        assert!(store.health().is_ok());
        assert_eq!(
            table.get::<i32>("c").expect("read"),
            Some(3),
            "queued write"
        );
        assert_eq!(
            table.get::<i32>("a").expect("read"),
            Some(1),
            "a write sled held only in memory when the failure came is written again"
        );
        table.put("b", &2).expect("writes again");
        assert_eq!(store.queued_writes(), 0);
    }
}
