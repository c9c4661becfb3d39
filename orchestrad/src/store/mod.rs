//! Persistence: one sled database in the state directory, opened once per daemon.
//!
//! Each kind of record has its own tree. Values are JSON so that a newer daemon can read
//! what an older one wrote and a human can inspect them. The `meta` tree carries the
//! schema version; a store written by a newer daemon is refused rather than misread.

use std::path::{Path, PathBuf};

use serde::{Serialize, de::DeserializeOwned};

/// Version of the layout of the trees below. Bump it with a migration in [`Store::open`].
/// 2: the session index is stored compactly (postcard) instead of as JSON.
/// 3: index entries carry the CLI's own cost (`cost-state`) and whether the title is custom.
pub const SCHEMA_VERSION: u32 = 3;

/// Trees that only cache what can be rebuilt from other files; a migration may drop them.
const CACHE_TREES: &[&str] = &["sessions"];

const META_TREE: &str = "meta";
const SCHEMA_KEY: &[u8] = b"schema_version";

/// Errors of the store. Each says which operation failed and where.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// sled refused an operation.
    #[error("store at {path}: {op} failed: {source}")]
    Sled {
        /// The store directory.
        path: PathBuf,
        /// What was being done.
        op: &'static str,
        /// sled's error.
        #[source]
        source: sled::Error,
    },
    /// A value in the store does not decode.
    #[error("store at {path}: cannot decode {what}: {source}")]
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
    #[error("store at {path}: cannot encode {what}: {message}")]
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
        "store at {path} has schema version {found}, newer than this orchestrad understands \
         ({SCHEMA_VERSION}): upgrade orchestrad, or move the directory away to start afresh"
    )]
    TooNew {
        /// The store directory.
        path: PathBuf,
        /// The version found on disk.
        found: u32,
    },
}

/// The daemon's store. Cheap to clone: sled handles are reference counted.
#[derive(Clone, Debug)]
pub struct Store {
    /// The sled database.
    db: sled::Db,
    /// Where it lives, for error messages.
    path: PathBuf,
}

/// A named collection of JSON records keyed by string.
#[derive(Clone, Debug)]
pub struct Table {
    /// The sled tree behind the table.
    tree: sled::Tree,
    /// The store directory, for error messages.
    path: PathBuf,
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
        let sled_err = |op| {
            let path = dir.to_path_buf();
            move |source| StoreError::Sled { path, op, source }
        };
        // A small page cache: the index is mostly read from memory maps of our own, and
        // the daemon should stay light (the RSS target is tens of megabytes).
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(1024 * 1024)
            .open()
            .map_err(sled_err("open"))?;
        let store = Store {
            db,
            path: dir.to_path_buf(),
        };
        let meta = store
            .db
            .open_tree(META_TREE)
            .map_err(sled_err("open meta"))?;
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
                        store
                            .db
                            .drop_tree(tree)
                            .map_err(sled_err("drop an old cache tree"))?;
                    }
                    meta.insert(SCHEMA_KEY, &SCHEMA_VERSION.to_be_bytes())
                        .map_err(sled_err("write schema version"))?;
                    tracing::info!(from = found, to = SCHEMA_VERSION, "migrated the store");
                }
            }
        }
        Ok(store)
    }

    /// The schema version on disk.
    pub fn schema_version(&self) -> u32 {
        self.db
            .open_tree(META_TREE)
            .ok()
            .and_then(|meta| meta.get(SCHEMA_KEY).ok().flatten())
            .and_then(|bytes| bytes.as_ref().try_into().ok().map(u32::from_be_bytes))
            .unwrap_or(0)
    }

    /// Opens the table `name`.
    pub fn table(&self, name: &'static str) -> Result<Table, StoreError> {
        let tree = self.db.open_tree(name).map_err(|source| StoreError::Sled {
            path: self.path.clone(),
            op: "open table",
            source,
        })?;
        Ok(Table {
            tree,
            path: self.path.clone(),
        })
    }

    /// Bytes the store takes on disk.
    pub fn size_on_disk(&self) -> u64 {
        self.db.size_on_disk().unwrap_or(0)
    }

    /// Waits until every write so far is on disk.
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.db
            .flush_async()
            .await
            .map(drop)
            .map_err(|source| StoreError::Sled {
                path: self.path.clone(),
                op: "flush",
                source,
            })
    }
}

impl Table {
    fn sled_err(&self, op: &'static str) -> impl FnOnce(sled::Error) -> StoreError + '_ {
        move |source| StoreError::Sled {
            path: self.path.clone(),
            op,
            source,
        }
    }

    /// Reads the record under `key`.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StoreError> {
        let Some(bytes) = self.tree.get(key).map_err(self.sled_err("get"))? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| StoreError::Decode {
                path: self.path.clone(),
                what: key.to_owned(),
                source,
            })
    }

    /// Writes `value` under `key`.
    pub fn put<T: Serialize>(&self, key: &str, value: &T) -> Result<(), StoreError> {
        self.insert_encoded(
            key,
            serde_json::to_vec(value).map_err(|err| err.to_string()),
        )
    }

    /// Writes what an encoder made of a value under `key`, or says why it could not.
    fn insert_encoded(&self, key: &str, bytes: Result<Vec<u8>, String>) -> Result<(), StoreError> {
        let bytes = bytes.map_err(|message| StoreError::Encode {
            path: self.path.clone(),
            what: key.to_owned(),
            message,
        })?;
        self.tree
            .insert(key, bytes)
            .map(drop)
            .map_err(self.sled_err("put"))
    }

    /// Removes the record under `key`.
    pub fn remove(&self, key: &str) -> Result<(), StoreError> {
        self.tree
            .remove(key)
            .map(drop)
            .map_err(self.sled_err("remove"))
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
        let mut out = Vec::new();
        for item in self.tree.iter() {
            let (key, value) = item.map_err(self.sled_err("scan"))?;
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
        self.insert_encoded(
            key,
            postcard::to_allocvec(value).map_err(|err| err.to_string()),
        )
    }

    /// Every record written by [`Table::put_compact`], in key order; undecodable ones are
    /// skipped with a warning.
    pub fn all_compact<T: DeserializeOwned>(&self) -> Result<Vec<(String, T)>, StoreError> {
        self.decode_all(|bytes| postcard::from_bytes(bytes).map_err(|err| err.to_string()))
    }

    /// Waits until this table's writes are on disk.
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.tree
            .flush_async()
            .await
            .map(drop)
            .map_err(self.sled_err("flush"))
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
            let meta = store.db.open_tree(META_TREE).expect("meta");
            meta.insert(SCHEMA_KEY, &(SCHEMA_VERSION + 1).to_be_bytes())
                .expect("bump");
            store.db.flush().expect("flush");
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
}
