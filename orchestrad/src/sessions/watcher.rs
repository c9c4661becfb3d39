//! Keeps the index current: a first scan, then filesystem events (notify), then a
//! heartbeat that re-checks liveness. When the OS watcher cannot be had (inotify limits,
//! a filesystem without events) it falls back to polling and says so in `daemon status`.
//!
//! The notify callback only forwards events to an async channel; debouncing and all file
//! reading happen here, on the blocking pool, never in the callback.
//!
//! Two lanes: a growing file is read at once, while big work (a new project directory of
//! a gigabyte, a full rescan) runs in a lane of its own, so a line appended to a live
//! session reaches `Watch` within milliseconds even while a cold index of gigabytes runs.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::event::ModifyKind;
use notify::{EventKind, RecursiveMode, Watcher};
use tokio::sync::mpsc;

use super::index::SessionIndex;
use super::{jobs, liveness};

/// How long to gather more events after the first one before acting: short, because the
/// append-to-event latency target is 50 ms.
const DEBOUNCE: Duration = Duration::from_millis(5);

/// A file with more unread bytes than this is read in the bulk lane, so one big file (a
/// session copied in) does not hold up the lines appended to live ones.
const QUICK_READ: u64 = 1 << 20;

/// How often the polling fallback looks at the files.
const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// A full rescan this often even with events, as a safety net for missed events.
const SAFETY_RESCAN: Duration = Duration::from_secs(300);

/// Set `ORCHESTRA_WATCHER=poll` to use polling (for filesystems without events).
const WATCHER_ENV: &str = "ORCHESTRA_WATCHER";

/// The first pause before a watcher that panicked is started again; it doubles up to
/// [`RESTART_MAX`] while the panics go on.
const RESTART_FIRST: Duration = Duration::from_millis(100);
const RESTART_MAX: Duration = Duration::from_secs(30);

/// Starts keeping `index` current until `shutdown` resolves.
///
/// A panic while indexing (a bug met on some file) must not leave the index stale for the
/// rest of the daemon's life: it is logged, and the watcher starts again, with a full
/// scan, after a pause that grows while the panics go on.
pub fn spawn(
    index: Arc<SessionIndex>,
    claude_dir: PathBuf,
    heartbeat: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        stop_tx.send_replace(true);
    });
    tokio::spawn(async move {
        let mut pause = RESTART_FIRST;
        loop {
            let mut stop = stop_rx.clone();
            let run = tokio::spawn(watch(
                index.clone(),
                claude_dir.clone(),
                heartbeat,
                async move {
                    let _ = stop.wait_for(|stop| *stop).await;
                },
            ));
            match run.await {
                Err(err) if err.is_panic() && !*stop_rx.borrow() => {
                    let restarts = index.note_watcher_restart();
                    tracing::error!(
                        restarts,
                        "the session watcher panicked ({}); starting it again in {} ms",
                        panic_text(err.into_panic()),
                        pause.as_millis()
                    );
                    let mut stop = stop_rx.clone();
                    tokio::select! {
                        () = tokio::time::sleep(pause) => {}
                        _ = stop.wait_for(|stop| *stop) => return,
                    }
                    pause = (pause * 2).min(RESTART_MAX);
                }
                _ => return,
            }
        }
    })
}

/// What a panic said, when it said it with a string.
fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_owned())
}

/// One life of the watcher: the first scan, then events until `shutdown` resolves. A
/// panic in its index work (here or in the bulk lane) ends it by panicking.
async fn watch(
    index: Arc<SessionIndex>,
    claude_dir: PathBuf,
    heartbeat: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    {
        let (tx, mut rx) = mpsc::unbounded_channel::<notify::Result<notify::Event>>();
        let projects = index.projects_dir().to_path_buf();
        if let Err(err) = std::fs::create_dir_all(&projects) {
            tracing::warn!(path = %projects.display(), %err, "cannot create the projects dir");
        }
        let sessions_dir = claude_dir.join("sessions");
        let jobs_dir = claude_dir.join("jobs");
        // Claude Code makes these on first use. A dir missing when the watch starts is
        // never watched, so the first registration or `claude --bg` job would wait for the
        // heartbeat (a minute by default): made now (private, as the CLI makes them), they
        // are watched from the start.
        for dir in [&sessions_dir, &jobs_dir] {
            if let Err(err) = private_dir(dir) {
                tracing::warn!(path = %dir.display(), %err, "cannot create a Claude Code dir");
            }
        }
        // The watcher lives as long as this task; dropping it stops the events.
        let watcher = start_watcher(&index, &projects, &[&sessions_dir, &jobs_dir], tx);
        // Without any watcher the heartbeat is the only way to notice changes.
        let scan_on_heartbeat = watcher.is_none();

        let started = std::time::Instant::now();
        let stats = blocking(&index, |index| index.scan()).await;
        if index.first_scan().is_none() {
            index.set_first_scan(stats, started.elapsed().as_millis() as u64);
        }
        tracing::info!(
            files = stats.files,
            read = stats.refreshed,
            mb = stats.bytes_read / 1_000_000,
            ms = started.elapsed().as_millis() as u64,
            "session index ready"
        );
        refresh_live(&index, &claude_dir).await;
        index.set_ready();
        // The first scan may have parsed gigabytes and written thousands of entries:
        // flush sled's write buffers and give the freed memory back.
        index.flush().await;
        crate::memory::trim();

        let (bulk, mut bulk_lane) = spawn_bulk_lane(index.clone());
        let mut heartbeat = tokio::time::interval(heartbeat);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut rescan = tokio::time::interval(SAFETY_RESCAN);
        rescan.tick().await;
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                lane = &mut bulk_lane => {
                    // The lane only ends early by a panic: end this life the same way.
                    if let Err(err) = lane {
                        std::panic::resume_unwind(err.into_panic());
                    }
                    return;
                }
                Some(first) = rx.recv() => {
                    let mut batch = vec![first];
                    tokio::time::sleep(DEBOUNCE).await;
                    while let Ok(more) = rx.try_recv() {
                        batch.push(more);
                    }
                    handle_batch(&index, &claude_dir, &[&sessions_dir, &jobs_dir], &bulk, batch).await;
                }
                _ = heartbeat.tick() => {
                    if scan_on_heartbeat {
                        let _ = bulk.send(Bulk::Scan);
                    }
                    refresh_live(&index, &claude_dir).await;
                    // Big answers (a full listing) leave freed memory behind; give it back.
                    crate::memory::trim();
                }
                _ = rescan.tick() => {
                    let _ = bulk.send(Bulk::Scan);
                }
            }
        }
        // The lane ends its current work, then sees its channel closed.
        drop(bulk);
        let _ = bulk_lane.await;
    }
}

/// Big work for the bulk lane.
#[derive(Debug)]
enum Bulk {
    /// Walk the whole projects directory.
    Scan,
    /// Read a new project directory.
    Dir(PathBuf),
    /// Read files with a big backlog.
    Files(Vec<PathBuf>),
}

/// Starts the lane that does big work one piece at a time, coalescing what piles up
/// meanwhile (ten new directories during a scan make one more pass, not ten).
fn spawn_bulk_lane(
    index: Arc<SessionIndex>,
) -> (mpsc::UnboundedSender<Bulk>, tokio::task::JoinHandle<()>) {
    let (tx, mut rx) = mpsc::unbounded_channel::<Bulk>();
    let lane = tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            let mut full_scan = false;
            let mut dirs = HashSet::new();
            let mut files = HashSet::new();
            let mut add = |work| match work {
                Bulk::Scan => full_scan = true,
                Bulk::Dir(dir) => {
                    dirs.insert(dir);
                }
                Bulk::Files(more) => files.extend(more),
            };
            add(first);
            while let Ok(more) = rx.try_recv() {
                add(more);
            }
            blocking(&index, move |index| {
                if full_scan {
                    index.scan();
                    return;
                }
                let mut seen = HashSet::new();
                for dir in &dirs {
                    if dir.parent() == Some(index.projects_dir()) {
                        let _ = index.scan_dir(dir, &mut seen);
                    }
                }
                let files: Vec<PathBuf> = files.into_iter().filter(|f| !seen.contains(f)).collect();
                index.refresh_files(&files);
            })
            .await;
        }
    });
    (tx, lane)
}

/// What a batch of events asks for.
#[derive(Default)]
struct Work {
    files: HashSet<PathBuf>,
    dirs: HashSet<PathBuf>,
    full_scan: bool,
    live: bool,
}

async fn handle_batch(
    index: &Arc<SessionIndex>,
    claude_dir: &Path,
    registry_dirs: &[&Path],
    bulk: &mpsc::UnboundedSender<Bulk>,
    batch: Vec<notify::Result<notify::Event>>,
) {
    let mut work = Work::default();
    for event in batch {
        let event = match event {
            Ok(event) => event,
            Err(err) => {
                tracing::warn!(%err, "watcher error; rescanning");
                work.full_scan = true;
                continue;
            }
        };
        if event.need_rescan() {
            work.full_scan = true;
        }
        for path in event.paths {
            if registry_dirs.iter().any(|dir| path.starts_with(dir)) {
                work.live = true;
            } else if index.is_session_file(&path) {
                work.files.insert(path);
            } else if matches!(
                event.kind,
                EventKind::Create(_) | EventKind::Modify(ModifyKind::Name(_))
            ) && path.is_dir()
            {
                // Events for a new directory's first writes can be missed, and a directory
                // moved in (a restore, a sync) brings its files without any: scan it.
                work.dirs.insert(path);
            } else if matches!(event.kind, EventKind::Remove(_))
                && path.parent() == Some(index.projects_dir())
            {
                work.full_scan = true;
            }
        }
    }
    if work.full_scan {
        let _ = bulk.send(Bulk::Scan);
    }
    for dir in work.dirs {
        let _ = bulk.send(Bulk::Dir(dir));
    }
    if !work.files.is_empty() {
        let files = work.files;
        let big = blocking(index, move |index| {
            let mut big = Vec::new();
            for file in files {
                if index.unread_bytes(&file) > QUICK_READ {
                    big.push(file);
                } else {
                    index.refresh_file(&file);
                }
            }
            big
        })
        .await;
        if !big.is_empty() {
            let _ = bulk.send(Bulk::Files(big));
        }
    }
    // Registrations change when a Claude process starts, ends or turns busy / idle, job
    // files when a background session changes state; a session file growing says nothing
    // new about either (the heartbeat catches anything missed).
    if work.live {
        refresh_live(index, claude_dir).await;
    }
}

/// Creates `dir` (and its parents) readable by this user only, unless it exists.
fn private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

async fn refresh_live(index: &Arc<SessionIndex>, claude_dir: &Path) {
    let claude_dir = claude_dir.to_path_buf();
    blocking(index, move |index| {
        index.set_jobs(jobs::scan(&claude_dir));
        index.set_live(liveness::scan(&claude_dir));
    })
    .await;
}

async fn blocking<T: Send + 'static>(
    index: &Arc<SessionIndex>,
    f: impl FnOnce(&SessionIndex) -> T + Send + 'static,
) -> T {
    let index = index.clone();
    match tokio::task::spawn_blocking(move || f(&index)).await {
        Ok(value) => value,
        // Carry the panic to the watcher's task, which [`spawn`] starts again.
        Err(err) => std::panic::resume_unwind(err.into_panic()),
    }
}

/// The OS watcher if it can be had, else a polling one; records which in the index.
fn start_watcher(
    index: &SessionIndex,
    projects: &Path,
    registry_dirs: &[&Path],
    tx: mpsc::UnboundedSender<notify::Result<notify::Event>>,
) -> Option<Box<dyn Watcher + Send>> {
    let forced_poll = std::env::var(WATCHER_ENV).is_ok_and(|v| v == "poll");
    if !forced_poll {
        let sender = tx.clone();
        let native = notify::recommended_watcher(move |event| {
            let _ = sender.send(event);
        })
        .and_then(|mut watcher| {
            watcher.watch(projects, RecursiveMode::Recursive)?;
            Ok(watcher)
        });
        match native {
            Ok(mut watcher) => {
                // The registrations and jobs dirs may not exist yet; the heartbeat covers
                // them then. Jobs keep their state one level down (`jobs/<id>/state.json`).
                for dir in registry_dirs {
                    let _ = watcher.watch(dir, RecursiveMode::Recursive);
                }
                index.set_watcher_mode("notify".to_owned());
                return Some(Box::new(watcher));
            }
            Err(err) => {
                tracing::warn!(%err, "filesystem events unavailable; falling back to polling");
                index.set_watcher_mode(format!("polling: {err}"));
            }
        }
    } else {
        index.set_watcher_mode(format!("polling: {WATCHER_ENV}=poll"));
    }
    let config = notify::Config::default().with_poll_interval(POLL_INTERVAL);
    let poller = notify::PollWatcher::new(
        move |event| {
            let _ = tx.send(event);
        },
        config,
    )
    .and_then(|mut watcher| {
        watcher.watch(projects, RecursiveMode::Recursive)?;
        for dir in registry_dirs {
            let _ = watcher.watch(dir, RecursiveMode::Recursive);
        }
        Ok(watcher)
    });
    match poller {
        Ok(watcher) => Some(Box::new(watcher)),
        Err(err) => {
            tracing::error!(%err, "cannot watch the projects dir at all; only the heartbeat rescans");
            index.set_watcher_mode(format!("rescan on heartbeat only: {err}"));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Bus;
    use std::time::Instant;

    fn prompt(text: &str) -> String {
        format!(
            "{{\"type\":\"user\",\"cwd\":\"/w\",\"timestamp\":\"2026-11-22T10:00:00Z\",\"message\":{{\"role\":\"user\",\"content\":\"{text}\"}}}}\n"
        )
    }

    async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !done() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panic_while_indexing_restarts_the_watcher_instead_of_leaving_it_stale() {
        let dir = tempfile::tempdir().expect("dir");
        let projects = dir.path().join("projects");
        std::fs::create_dir_all(projects.join("-w")).expect("project dir");
        let store = crate::store::Store::open(&dir.path().join("store")).expect("store");
        let index =
            Arc::new(SessionIndex::load(projects.clone(), &store, Bus::new()).expect("index"));
        let bad = projects.join("-w").join("bad.jsonl");
        *index.panic_on.lock() = Some(bad.clone());
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let task = spawn(
            index.clone(),
            dir.path().join("claude"),
            Duration::from_secs(3600),
            async move {
                let _ = stop_rx.await;
            },
        );
        index.wait_ready().await;

        std::fs::write(&bad, prompt("breaks the reader")).expect("write");
        wait_for("a restart after the panic", || {
            index.watcher_mode().contains("started again after 1 panic")
        })
        .await;
        // The bug is gone (say, the file was fixed): the restarted watcher reads on.
        *index.panic_on.lock() = None;
        let good = projects.join("-w").join("good.jsonl");
        std::fs::write(&good, prompt("after the restart")).expect("write");
        wait_for("both files indexed", || {
            index.resolve("good").is_ok() && index.resolve("bad").is_ok()
        })
        .await;
        assert_eq!(
            index.resolve("good").expect("good").first_prompt,
            "after the restart"
        );

        stop_tx.send(()).expect("stop");
        tokio::time::timeout(Duration::from_secs(30), task)
            .await
            .expect("the watcher ends on shutdown")
            .expect("no panic escapes");
    }
}
