//! One actor per running agent: it tails the agent's output with the same incremental
//! reader the session index uses, applies each line to the record, and turns the shim's
//! exit record into the final state. It holds no process handle, so a restarted daemon
//! re-adopts an agent by starting a new monitor at the saved offset.

use std::sync::Arc;
use std::time::Duration;

use super::Supervisor;
use super::agent::AgentState;
use crate::claude::stream_json as stream;
use crate::sessions::reader::{self, Line};
use crate::time::now_ms;

/// How often output is looked for when nothing wakes the monitor sooner.
const POLL: Duration = Duration::from_millis(100);

/// Least time between two reads woken by file events.
const MIN_GAP: Duration = Duration::from_millis(10);

/// Every this many ticks, check that the shim is still alive.
const CRASH_CHECK_TICKS: u64 = 10;

/// Starts the monitor of agent `id` (at most one per agent).
pub fn spawn(sup: &Arc<Supervisor>, id: &str) {
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    {
        let mut wakers = sup.wakers.lock();
        if wakers.get(id).is_some_and(|w| !w.is_closed()) {
            return;
        }
        wakers.insert(id.to_owned(), tx.clone());
    }
    // New output wakes the monitor at once rather than at the next poll, so a permission
    // request is on every screen within milliseconds. Polling stays as the fallback.
    let watcher = watch_dir(&sup.agent_dir(id).0, tx);
    let sup = sup.clone();
    let id = id.to_owned();
    tokio::spawn(async move {
        let _watcher = watcher;
        run(&sup, &id, rx).await;
        sup.wakers.lock().remove(&id);
        sup.schedule().await;
    });
}

/// A watcher of the agent's directory that wakes its monitor on every change; None where
/// file events are unavailable (the poll then does the work).
fn watch_dir(
    dir: &std::path::Path,
    wake: tokio::sync::mpsc::Sender<()>,
) -> Option<notify::RecommendedWatcher> {
    use notify::Watcher as _;
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if event.is_ok() {
            // A full channel means a wake is pending already.
            let _ = wake.try_send(());
        }
    })
    .ok()?;
    watcher
        .watch(dir, notify::RecursiveMode::NonRecursive)
        .ok()?;
    Some(watcher)
}

async fn run(sup: &Arc<Supervisor>, id: &str, mut wake: tokio::sync::mpsc::Receiver<()>) {
    let dir = sup.agent_dir(id);
    let mut shutdown = sup.shutdown.clone();
    let mut ticks: u64 = 0;
    // A file-changing tool was called and its result has not been seen yet.
    let mut writing = false;
    loop {
        ticks += 1;
        let Some((active, log, offset)) = sup.peek(id, |a| {
            (a.state.is_active(), a.log_path.clone(), a.log_offset)
        }) else {
            return;
        };
        if !active {
            return;
        }
        // Look for the exit record before reading, so every line written before the exit
        // is applied before the final state is set.
        let exit = dir.read_exit();
        // Whether the shim vanished without a record matters only for crashes, so it is
        // checked once a second rather than on every tick.
        let shim_alive = !ticks.is_multiple_of(CRASH_CHECK_TICKS) || dir.shim_alive();
        // A stat is cheap; the read (and its thread hop) happens only when the log grew.
        let grew = std::fs::metadata(&log).is_ok_and(|m| m.len() > offset);
        let read = if !grew {
            Ok(Ok((Vec::new(), offset)))
        } else {
            tokio::task::spawn_blocking(move || {
                let mut lines: Vec<Vec<u8>> = Vec::new();
                let progress = reader::read_new_lines(&log, offset, false, |line| {
                    if let Line::Complete(bytes) = line {
                        lines.push(bytes.to_vec());
                    }
                });
                progress.map(|p| (lines, p.offset))
            })
            .await
        };
        match read {
            Ok(Ok((lines, new_offset))) if new_offset != offset => {
                // Permission requests are stored before the offset moves past them.
                sup.take_requests(id, &lines).await;
                let mut refresh = false;
                for line in &lines {
                    match stream::file_tool_signal(line) {
                        Some(stream::FileToolSignal::Called) => writing = true,
                        Some(stream::FileToolSignal::Returned) if writing => {
                            writing = false;
                            refresh = true;
                        }
                        _ => {}
                    }
                }
                let mut spent_more = false;
                super::logged(
                    sup.update(id, |a| {
                        let before = a.total_cost_usd;
                        for line in &lines {
                            super::progress::apply(a, line);
                        }
                        a.log_offset = new_offset;
                        spent_more = a.total_cost_usd > before;
                    })
                    .await,
                );
                // A request answered between the two steps must not leave it `waiting`.
                sup.settle_waiting(id, None).await;
                // A turn ended and its cost is counted: every running agent past a cap now
                // (by this one's spending too) is interrupted.
                if spent_more {
                    sup.enforce_caps().await;
                }
                if refresh {
                    super::radar::spawn_refresh(sup, id);
                }
            }
            Ok(Err(err)) if err.kind() != std::io::ErrorKind::NotFound => {
                tracing::warn!(agent = id, %err, "cannot read agent output");
            }
            _ => {}
        }
        if let Some(exit) = exit {
            finish(sup, id, Some(exit)).await;
            // What it left behind counts too (a Bash command may have written late).
            super::radar::spawn_refresh(sup, id);
            return;
        }
        if !shim_alive && dir.read_info().is_some() && dir.read_exit().is_none() {
            // The shim is gone without recording an exit: nothing will write again.
            finish(sup, id, None).await;
            return;
        }
        let read_at = tokio::time::Instant::now();
        let woken = tokio::select! {
            _ = wake.recv() => true,
            () = tokio::time::sleep(POLL) => false,
            _ = shutdown.wait_for(|stop| *stop) => return,
        };
        if woken {
            // A chatty agent changes its files hundreds of times a second: one read per
            // MIN_GAP takes all of them at once.
            tokio::time::sleep_until(read_at + MIN_GAP).await;
            while wake.try_recv().is_ok() {}
        }
    }
}

/// Sets the final state from the exit record (or its absence).
async fn finish(sup: &Arc<Supervisor>, id: &str, exit: Option<super::shim::ExitRecord>) {
    sup.cancel_approvals(id, "the agent's process ended").await;
    if let Some(exit) = &exit {
        let code = exit.shell_code();
        super::logged(sup.update(id, |a| a.exit_code = code).await);
        if sup.pause_if_at_cap(id).await {
            return;
        }
    }
    let stderr_tail = {
        let text = std::fs::read_to_string(sup.agent_dir(id).stderr()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        lines[lines.len().saturating_sub(3)..].join("\n")
    };
    super::logged(
        sup.update(id, |a| {
            a.pid = 0;
            a.ended_at_ms = exit.as_ref().map(|e| e.ended_at_ms).unwrap_or_else(now_ms);
            let Some(exit) = exit else {
                a.state = AgentState::Interrupted;
                a.activity = "interrupted: its process vanished".to_owned();
                return;
            };
            a.exit_code = exit.shell_code();
            a.state = if a.stop_requested {
                AgentState::Stopped
            } else {
                exit.outcome(a.is_error)
            };
            a.activity = match a.state {
                AgentState::Done => "done".to_owned(),
                AgentState::Stopped => "stopped".to_owned(),
                _ => "failed".to_owned(),
            };
            if a.state == AgentState::Failed && a.error.is_empty() {
                a.error = if a.is_error && !a.result.is_empty() {
                    a.result.clone()
                } else if !stderr_tail.is_empty() {
                    stderr_tail.clone()
                } else {
                    match (exit.code, exit.signal) {
                        (Some(code), _) => format!("Claude Code exited with code {code}"),
                        (None, Some(signal)) => {
                            format!("Claude Code was killed by signal {signal}")
                        }
                        _ => "Claude Code ended abnormally".to_owned(),
                    }
                };
            }
        })
        .await,
    );
}
