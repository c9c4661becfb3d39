//! The session index: every session file's metadata, kept in memory, persisted in the
//! store, and brought up to date by reading only what was appended.
//!
//! One task (the watcher) writes; gRPC handlers read. Liveness is kept apart from the
//! per-file entries so that the two never overwrite each other's updates.

use parking_lot::{Mutex, RwLock};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::jobs::Job;
use super::liveness::LiveProcess;
use super::meta::{Entry, SessionMeta};
use super::parse::apply_line;
use super::reader::{self, Line, Stat};
use crate::events::Bus;
use crate::store::{StoreError, Table};

/// Store table of index entries, keyed by file path.
const TABLE: &str = "sessions";

/// What happened to a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// A new session file appeared.
    Created,
    /// The file grew, or the session became live.
    Updated,
    /// The Claude process writing it went away.
    Ended,
    /// The file was deleted.
    Removed,
}

impl ChangeKind {
    /// The name used on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Created => "created",
            ChangeKind::Updated => "updated",
            ChangeKind::Ended => "ended",
            ChangeKind::Removed => "removed",
        }
    }
}

/// A change published on the bus.
#[derive(Debug, Clone)]
pub struct SessionChange {
    /// What happened.
    pub kind: ChangeKind,
    /// The session as it is now (as it was, for `Removed`).
    pub session: Arc<SessionMeta>,
}

/// Why a session id could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// No session has this id or prefix.
    #[error("no session matches {0:?}: list them with `orchestractl sessions --all`")]
    NotFound(String),
    /// Several sessions share this prefix.
    #[error("{prefix:?} matches {} sessions ({}): give more characters", .matches.len(), .matches.join(", "))]
    Ambiguous {
        /// The prefix given.
        prefix: String,
        /// Some of the matching ids.
        matches: Vec<String>,
    },
}

/// How a scan went.
#[derive(Debug, Default, Clone, Copy)]
pub struct ScanStats {
    /// Session files seen.
    pub files: u64,
    /// Files whose new bytes were read.
    pub refreshed: u64,
    /// Bytes read.
    pub bytes_read: u64,
}

/// The in-memory index.
#[derive(Debug, Default)]
struct State {
    /// Every indexed file, by path.
    entries: HashMap<PathBuf, Entry>,
    /// Sessions being written by a live Claude process, by session id.
    live: HashMap<String, LiveProcess>,
    /// Claude Code's own background jobs, by session id.
    jobs: HashMap<String, Job>,
    /// Sessions owned by our agents: session id -> agent id.
    owners: HashMap<String, String>,
    /// Directories that could not be read at the last scan.
    unreadable: Vec<String>,
}

/// The session index. Shared as `Arc<SessionIndex>`.
#[derive(Debug)]
pub struct SessionIndex {
    /// The projects directory being indexed.
    projects_dir: PathBuf,
    /// The index itself.
    state: RwLock<State>,
    /// Persistence of entries.
    table: Table,
    /// Where changes are published.
    bus: Bus<SessionChange>,
    /// "notify" or "polling: <why>".
    watcher_mode: Mutex<String>,
    /// True once the first scan is done: before that, answers would be partial.
    ready: tokio::sync::watch::Sender<bool>,
    /// Files being read now, each with whether it must be read again when that read ends
    /// (see [`SessionIndex::refresh_file`]).
    reading: Mutex<HashMap<PathBuf, bool>>,
    /// How often the watcher was started again after a panic.
    watcher_restarts: std::sync::atomic::AtomicU64,
    /// The first scan's figures and how long it took (ms), once it is done.
    first_scan: Mutex<Option<(ScanStats, u64)>>,
    /// Tests make reading this file panic, to see the watcher recover.
    #[cfg(test)]
    pub(crate) panic_on: Mutex<Option<PathBuf>>,
}

impl SessionIndex {
    /// Loads the persisted index for `projects_dir`. Files are not read here: a scan
    /// brings them up to date, reading only what changed.
    pub fn load(
        projects_dir: PathBuf,
        store: &crate::store::Store,
        bus: Bus<SessionChange>,
    ) -> Result<SessionIndex, StoreError> {
        let table = store.table(TABLE)?;
        let mut entries = HashMap::new();
        for (key, mut entry) in table.all_compact::<Entry>()? {
            let path = PathBuf::from(key);
            // Entries of another projects dir (the config changed) are dropped.
            if path.starts_with(&projects_dir) {
                // What the key says is not stored twice.
                let located = fresh_entry(&path);
                entry.meta.session_id = located.meta.session_id;
                entry.meta.project_dir = located.meta.project_dir;
                entry.meta.file_path = located.meta.file_path;
                entries.insert(path, entry);
            }
        }
        Ok(SessionIndex {
            projects_dir,
            state: RwLock::new(State {
                entries,
                ..State::default()
            }),
            table,
            bus,
            watcher_mode: Mutex::new("starting".to_owned()),
            ready: tokio::sync::watch::channel(false).0,
            reading: Mutex::new(HashMap::new()),
            watcher_restarts: std::sync::atomic::AtomicU64::new(0),
            first_scan: Mutex::new(None),
            #[cfg(test)]
            panic_on: Mutex::new(None),
        })
    }

    /// Writes the index's pending changes to disk.
    pub async fn flush(&self) {
        if let Err(err) = self.table.flush().await {
            tracing::warn!(%err, "cannot flush the session index");
        }
    }

    /// Records the figures of the first scan, which took `ms`.
    pub fn set_first_scan(&self, stats: ScanStats, ms: u64) {
        *self.first_scan.lock() = Some((stats, ms));
    }

    /// The first scan's figures and duration (ms), once it is done.
    pub fn first_scan(&self) -> Option<(ScanStats, u64)> {
        *self.first_scan.lock()
    }

    /// Marks the first scan as done.
    pub fn set_ready(&self) {
        self.ready.send_replace(true);
    }

    /// Waits until the first scan is done, so no answer is built from a partial index.
    pub async fn wait_ready(&self) {
        let mut rx = self.ready.subscribe();
        let _ = rx.wait_for(|ready| *ready).await;
    }

    /// The directory indexed.
    pub fn projects_dir(&self) -> &Path {
        &self.projects_dir
    }

    /// The bus of session changes.
    pub fn bus(&self) -> &Bus<SessionChange> {
        &self.bus
    }

    /// How changes are detected ("notify" or "polling: <why>"), and how often the watcher
    /// was started again after a panic, if it was.
    pub fn watcher_mode(&self) -> String {
        let mode = self.watcher_mode.lock().clone();
        match self
            .watcher_restarts
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            0 => mode,
            n => format!("{mode} (started again after {n} panic(s); see orchestrad.log)"),
        }
    }

    /// Counts a restart of the watcher after a panic; returns the count.
    pub fn note_watcher_restart(&self) -> u64 {
        self.watcher_restarts
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1
    }

    /// Records how changes are detected.
    pub fn set_watcher_mode(&self, mode: String) {
        *self.watcher_mode.lock() = mode;
    }

    /// Whether `path` is a session file of this index (`<projects>/<dir>/<id>.jsonl`).
    pub fn is_session_file(&self, path: &Path) -> bool {
        path.extension().is_some_and(|ext| ext == "jsonl")
            && path
                .parent()
                .and_then(Path::parent)
                .is_some_and(|grandparent| grandparent == self.projects_dir)
    }

    /// Brings one file up to date; publishes and persists what changed.
    ///
    /// A big scan and the events of a growing file can ask for the same file at once (from
    /// different threads). One reads it; a caller that finds it being read leaves a note
    /// instead, and the reader goes round once more before it lets go, so no appended line
    /// waits for the next event and none is applied twice.
    pub fn refresh_file(&self, path: &Path) -> ScanStats {
        {
            let mut reading = self.reading.lock();
            if let Some(again) = reading.get_mut(path) {
                *again = true;
                return ScanStats::default();
            }
            reading.insert(path.to_path_buf(), false);
        }
        // A panic while reading must not leave the file marked as being read, or no later
        // event would read it again.
        let _release = ReleaseOnPanic { index: self, path };
        let mut total = ScanStats::default();
        loop {
            let stats = self.refresh_file_once(path);
            total.files = stats.files;
            total.refreshed = total.refreshed.max(stats.refreshed);
            total.bytes_read += stats.bytes_read;
            let mut reading = self.reading.lock();
            if reading.get(path) == Some(&true) {
                reading.insert(path.to_path_buf(), false);
            } else {
                reading.remove(path);
                return total;
            }
        }
    }

    fn refresh_file_once(&self, path: &Path) -> ScanStats {
        #[cfg(test)]
        if self.panic_on.lock().as_deref() == Some(path) {
            panic!("a test asked reading {} to panic", path.display());
        }
        let mut stats = ScanStats::default();
        let stat = match Stat::of(path) {
            Ok(stat) => stat,
            Err(_) => {
                self.remove(path);
                return stats;
            }
        };
        stats.files = 1;
        let previous = self.state.read().entries.get(path).cloned();
        let existed = previous.is_some();
        let mut entry = match previous {
            Some(entry)
                if entry.cursor.size == stat.size
                    && entry.cursor.mtime_ns == stat.mtime_ns
                    && entry.cursor.inode == stat.inode =>
            {
                return stats;
            }
            // Truncated or replaced: start over.
            Some(entry) if stat.size < entry.cursor.offset || stat.inode != entry.cursor.inode => {
                fresh_entry(path)
            }
            Some(entry) => entry,
            None => fresh_entry(path),
        };
        let start = entry.cursor.offset;
        let result =
            reader::read_new_lines(
                path,
                start,
                entry.cursor.skipping_oversized,
                |line| match line {
                    Line::Complete(bytes) => {
                        if apply_line(&mut entry, bytes).is_err() {
                            entry.meta.skipped_lines += 1;
                        }
                    }
                    Line::Cut { .. } => entry.meta.skipped_lines += 1,
                },
            );
        let progress = match result {
            Ok(progress) => progress,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                self.remove(path);
                return stats;
            }
            Err(err) => {
                tracing::warn!(path = %path.display(), %err, "cannot read session file");
                return stats;
            }
        };
        stats.refreshed = 1;
        stats.bytes_read = progress.offset.saturating_sub(start);
        entry.cursor.offset = progress.offset;
        entry.cursor.skipping_oversized = progress.skipping_oversized;
        entry.cursor.size = progress.stat.size;
        entry.cursor.mtime_ns = progress.stat.mtime_ns;
        entry.cursor.inode = progress.stat.inode;
        entry.meta.file_size = progress.stat.size;
        let mtime_ms = (progress.stat.mtime_ns / 1_000_000) as i64;
        if entry.meta.modified_at_ms == 0 {
            entry.meta.modified_at_ms = mtime_ms;
        }
        if let Err(err) = self.table.put_compact(&path.to_string_lossy(), &entry)
            && !err.is_unavailable()
        {
            // A store that cannot take writes says so once itself; the index is a cache.
            tracing::warn!(%err, "cannot persist index entry");
        }
        let kind = if existed {
            ChangeKind::Updated
        } else {
            ChangeKind::Created
        };
        let session = {
            let mut state = self.state.write();
            let meta = decorate(&state, &entry.meta);
            state.entries.insert(path.to_path_buf(), entry);
            meta
        };
        self.bus.publish(SessionChange {
            kind,
            session: Arc::new(session),
        });
        stats
    }

    fn remove(&self, path: &Path) {
        let removed = self.state.write().entries.remove(path);
        if let Some(entry) = removed {
            let _ = self.table.remove(&path.to_string_lossy());
            self.bus.publish(SessionChange {
                kind: ChangeKind::Removed,
                session: Arc::new(entry.meta),
            });
        }
    }

    /// Walks the projects directory: reads what changed, drops what vanished.
    pub fn scan(&self) -> ScanStats {
        let mut stats = ScanStats::default();
        let mut seen = std::collections::HashSet::new();
        let mut unreadable = Vec::new();
        let dirs = match std::fs::read_dir(&self.projects_dir) {
            Ok(dirs) => dirs,
            Err(err) => {
                if err.kind() != std::io::ErrorKind::NotFound {
                    unreadable.push(format!("{}: {err}", self.projects_dir.display()));
                }
                self.state.write().unreadable = unreadable;
                return stats;
            }
        };
        let mut files = Vec::new();
        for dir in dirs.flatten() {
            let dir_path = dir.path();
            if !dir.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            if let Err(err) = session_files(&dir_path, &mut files) {
                unreadable.push(format!("{}: {err}", dir_path.display()));
            }
        }
        stats = self.refresh_all(&files);
        seen.extend(files);
        let gone: Vec<PathBuf> = {
            let mut state = self.state.write();
            state.unreadable = unreadable;
            state
                .entries
                .keys()
                .filter(|path| !seen.contains(*path))
                .cloned()
                .collect()
        };
        for path in gone {
            // A directory we could not read this time keeps its entries.
            if std::fs::metadata(&path).is_err() {
                self.remove(&path);
            }
        }
        stats
    }

    /// Reads the session files of one project directory.
    pub fn scan_dir(
        &self,
        dir: &Path,
        seen: &mut std::collections::HashSet<PathBuf>,
    ) -> std::io::Result<ScanStats> {
        let mut files = Vec::new();
        session_files(dir, &mut files)?;
        let stats = self.refresh_all(&files);
        seen.extend(files);
        Ok(stats)
    }

    /// Bytes of `path` not read yet (all of it for a file not indexed), from a `stat`:
    /// tells a quick read from a big one before doing either.
    pub fn unread_bytes(&self, path: &Path) -> u64 {
        let Ok(stat) = Stat::of(path) else {
            return 0;
        };
        let offset = self
            .state
            .read()
            .entries
            .get(path)
            .filter(|entry| entry.cursor.inode == stat.inode)
            .map_or(0, |entry| entry.cursor.offset);
        stat.size.saturating_sub(offset)
    }

    /// Brings `files` up to date on every core (see [`SessionIndex::refresh_file`]).
    pub fn refresh_files(&self, files: &[PathBuf]) -> ScanStats {
        self.refresh_all(files)
    }

    /// Brings `files` up to date on every core: workers take files from a shared counter
    /// (big and small files even out), each parses its file alone and takes the index
    /// lock once per file, never per line. Memory stays one read buffer per worker.
    fn refresh_all(&self, files: &[PathBuf]) -> ScanStats {
        let workers = std::thread::available_parallelism()
            .map_or(1, std::num::NonZero::get)
            .min(files.len());
        let next = AtomicUsize::new(0);
        let work = || {
            // One read buffer for all the files this worker reads, freed when it is done.
            let _buffer = reader::ReuseBuffer::start();
            let mut stats = ScanStats::default();
            while let Some(path) = files.get(next.fetch_add(1, Ordering::Relaxed)) {
                let file_stats = self.refresh_file(path);
                stats.files += 1;
                stats.refreshed += file_stats.refreshed;
                stats.bytes_read += file_stats.bytes_read;
            }
            stats
        };
        if workers <= 1 {
            return work();
        }
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..workers).map(|_| scope.spawn(work)).collect();
            let mut total = ScanStats::default();
            for handle in handles {
                let stats = handle.join().expect("index worker panicked");
                total.files += stats.files;
                total.refreshed += stats.refreshed;
                total.bytes_read += stats.bytes_read;
            }
            total
        })
    }

    /// Replaces the set of live Claude processes; publishes `Updated` for sessions that
    /// became live or whose registration changed (busy / idle, name), and `Ended` for
    /// those that stopped being live.
    pub fn set_live(&self, live: HashMap<String, LiveProcess>) {
        let changes: Vec<SessionChange> = {
            let mut state = self.state.write();
            let before = std::mem::replace(&mut state.live, live);
            let mut changes = Vec::new();
            for entry in state.entries.values() {
                let id = &entry.meta.session_id;
                let kind = match (before.get(id), state.live.get(id)) {
                    (None, Some(_)) => ChangeKind::Updated,
                    (Some(_), None) => ChangeKind::Ended,
                    // A live process that changed its registered status (busy, waiting),
                    // kind or name: the notifier tells a session that waits for its user.
                    (Some(was), Some(now)) if was != now => ChangeKind::Updated,
                    _ => continue,
                };
                changes.push(SessionChange {
                    kind,
                    session: Arc::new(decorate(&state, &entry.meta)),
                });
            }
            changes
        };
        for change in changes {
            self.bus.publish(change);
        }
    }

    /// Replaces the set of Claude Code's background jobs; publishes `Updated` for the
    /// sessions whose job appeared, changed (working / blocked / stopped) or went away.
    pub fn set_jobs(&self, jobs: HashMap<String, Job>) {
        let changes: Vec<SessionChange> = {
            let mut state = self.state.write();
            let before = std::mem::replace(&mut state.jobs, jobs);
            state
                .entries
                .values()
                .filter(|entry| {
                    let id = &entry.meta.session_id;
                    before.get(id) != state.jobs.get(id)
                })
                .map(|entry| SessionChange {
                    kind: ChangeKind::Updated,
                    session: Arc::new(decorate(&state, &entry.meta)),
                })
                .collect()
        };
        for change in changes {
            self.bus.publish(change);
        }
    }

    /// The live process writing `session_id`, with its registered status, if any.
    pub fn live_process(&self, session_id: &str) -> Option<LiveProcess> {
        self.state.read().live.get(session_id).cloned()
    }

    /// Marks `session_id` as owned by `agent_id` (or frees it with `None`).
    pub fn set_owner(&self, session_id: &str, agent_id: Option<&str>) {
        let mut state = self.state.write();
        match agent_id {
            Some(agent) => state.owners.insert(session_id.to_owned(), agent.to_owned()),
            None => state.owners.remove(session_id),
        };
    }

    /// Every indexed session, decorated with liveness and ownership.
    pub fn all(&self) -> Vec<SessionMeta> {
        let state = self.state.read();
        state
            .entries
            .values()
            .map(|entry| decorate(&state, &entry.meta))
            .collect()
    }

    /// Counts: (indexed, live).
    pub fn counts(&self) -> (u64, u64) {
        let state = self.state.read();
        let live = state
            .entries
            .values()
            .filter(|e| state.live.contains_key(&e.meta.session_id))
            .count();
        (state.entries.len() as u64, live as u64)
    }

    /// Directories that could not be read at the last scan.
    pub fn unreadable(&self) -> Vec<String> {
        self.state.read().unreadable.clone()
    }

    /// The session with this id, or the only one whose id starts with it.
    pub fn resolve(&self, id: &str) -> Result<SessionMeta, ResolveError> {
        let id = id.trim();
        if id.is_empty() {
            return Err(ResolveError::NotFound(id.to_owned()));
        }
        let state = self.state.read();
        let mut matches: Vec<&Entry> = Vec::new();
        for entry in state.entries.values() {
            if entry.meta.session_id == id {
                return Ok(decorate(&state, &entry.meta));
            }
            if entry.meta.session_id.starts_with(id) {
                matches.push(entry);
            }
        }
        match matches.as_slice() {
            [] => Err(ResolveError::NotFound(id.to_owned())),
            [one] => Ok(decorate(&state, &one.meta)),
            many => Err(ResolveError::Ambiguous {
                prefix: id.to_owned(),
                matches: many
                    .iter()
                    .take(5)
                    .map(|e| e.meta.session_id.clone())
                    .collect(),
            }),
        }
    }
}

/// Adds the session files (`*.jsonl`) of one project directory to `files`.
fn session_files(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for file in std::fs::read_dir(dir)?.flatten() {
        let path = file.path();
        if path.extension().is_some_and(|ext| ext == "jsonl")
            && file.file_type().is_ok_and(|t| t.is_file())
        {
            files.push(path);
        }
    }
    Ok(())
}

/// A new entry for `path`, with the ids that come from its location.
fn fresh_entry(path: &Path) -> Entry {
    let mut entry = Entry::default();
    entry.meta.session_id = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    entry.meta.project_dir = path
        .parent()
        .and_then(Path::file_name)
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    entry.meta.file_path = path.to_path_buf();
    entry
}

/// The metadata with liveness and ownership filled in.
fn decorate(state: &State, meta: &SessionMeta) -> SessionMeta {
    let mut meta = meta.clone();
    if let Some(job) = state.jobs.get(&meta.session_id) {
        meta.name = job.name.clone();
        meta.job = Some(job.clone());
    }
    if let Some(process) = state.live.get(&meta.session_id) {
        meta.live = true;
        meta.live_pid = process.pid;
        meta.live_status = process.status.clone();
        meta.live_kind = process.kind.clone();
        if !process.name.is_empty() {
            meta.name = process.name.clone();
        }
    }
    if let Some(agent) = state.owners.get(&meta.session_id) {
        meta.agent_id = agent.clone();
    }
    meta
}

/// Takes a file off the list of files being read if its read panics.
struct ReleaseOnPanic<'a> {
    index: &'a SessionIndex,
    path: &'a Path,
}

impl Drop for ReleaseOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.index.reading.lock().remove(self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompt(text: &str) -> String {
        format!(
            "{{\"type\":\"user\",\"cwd\":\"/w\",\"timestamp\":\"2026-11-22T10:00:00Z\",\"message\":{{\"role\":\"user\",\"content\":\"{text}\"}}}}\n"
        )
    }

    struct Fixture {
        _dir: tempfile::TempDir,
        projects: PathBuf,
        _store: crate::store::Store,
        index: SessionIndex,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().expect("dir");
        let projects = dir.path().join("projects");
        std::fs::create_dir_all(projects.join("-w")).expect("project dir");
        let store = crate::store::Store::open(&dir.path().join("store")).expect("store");
        let index = SessionIndex::load(projects.clone(), &store, Bus::new()).expect("index");
        Fixture {
            _dir: dir,
            projects,
            _store: store,
            index,
        }
    }

    #[test]
    fn appended_lines_are_read_once_and_a_truncated_file_starts_over() {
        let f = fixture();
        let file = f.projects.join("-w").join("abc.jsonl");
        std::fs::write(&file, prompt("one")).expect("write");
        let first = f.index.refresh_file(&file);
        assert_eq!(
            (first.refreshed, first.bytes_read),
            (1, prompt("one").len() as u64)
        );
        // Nothing new: nothing read.
        assert_eq!(f.index.refresh_file(&file).bytes_read, 0);
        let mut out = std::fs::OpenOptions::new()
            .append(true)
            .open(&file)
            .expect("open");
        std::io::Write::write_all(&mut out, prompt("two").as_bytes()).expect("append");
        assert_eq!(
            f.index.refresh_file(&file).bytes_read,
            prompt("two").len() as u64,
            "only the appended line is read"
        );
        let meta = f.index.resolve("abc").expect("indexed");
        assert_eq!((meta.user_messages, meta.last_prompt.as_str()), (2, "two"));
        // Rewritten shorter (a new file under the same name): read again from the start.
        std::fs::write(&file, prompt("fresh")).expect("rewrite");
        f.index.refresh_file(&file);
        let meta = f.index.resolve("abc").expect("indexed");
        assert_eq!(
            (meta.user_messages, meta.first_prompt.as_str()),
            (1, "fresh")
        );
    }

    #[test]
    fn ids_resolve_by_unique_prefix_and_vanished_files_are_dropped() {
        let f = fixture();
        for id in ["aaa111", "aaa222", "bbb333"] {
            std::fs::write(
                f.projects.join("-w").join(format!("{id}.jsonl")),
                prompt(id),
            )
            .expect("write");
        }
        let stats = f.index.scan();
        assert_eq!((stats.files, stats.refreshed), (3, 3));
        assert_eq!(f.index.resolve("bbb").expect("unique").session_id, "bbb333");
        assert_eq!(
            f.index.resolve(" aaa111 ").expect("exact").session_id,
            "aaa111"
        );
        assert!(matches!(
            f.index.resolve("aaa"),
            Err(ResolveError::Ambiguous { ref matches, .. }) if matches.len() == 2
        ));
        assert!(matches!(
            f.index.resolve("zzz"),
            Err(ResolveError::NotFound(_))
        ));
        assert!(matches!(
            f.index.resolve("  "),
            Err(ResolveError::NotFound(_))
        ));
        std::fs::remove_file(f.projects.join("-w").join("bbb333.jsonl")).expect("remove");
        f.index.scan();
        assert!(f.index.resolve("bbb").is_err());
        assert_eq!(f.index.all().len(), 2);
    }

    #[test]
    fn only_session_files_of_a_project_directory_count() {
        let f = fixture();
        assert!(
            f.index
                .is_session_file(&f.projects.join("-w").join("x.jsonl"))
        );
        assert!(!f.index.is_session_file(&f.projects.join("x.jsonl")));
        assert!(
            !f.index
                .is_session_file(&f.projects.join("-w").join("x.json"))
        );
        assert!(
            !f.index
                .is_session_file(&f.projects.join("-w").join("sub").join("x.jsonl"))
        );
    }
}
