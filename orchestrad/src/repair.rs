//! A damaged store is noticed, kept, and rebuilt from what is still on disk.
//!
//! sled reads a store whose files were damaged (a bad sector, a file system that crashed)
//! as far as it can and may start "cleanly" with records missing. So at start the daemon
//! also holds the store against the agents' directories: an agent directory the store
//! does not know means records were lost. Then the damaged store is moved aside (kept,
//! never deleted), a fresh one is made, and what can be is rebuilt: every agent from its
//! directory (`record.json`, the daemon's copy of its record; for older agents `spec.json`,
//! the log and the exit record), and the approvals the damaged store still yields, those
//! that were pending now `expired`. Paired devices must pair again. [`check`] reports the
//! same disagreements on demand (`orchestractl daemon check`).
//!
//! What this module must not do: run agents or answer approvals; it only rebuilds records.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::approvals::{Approval, ApprovalState};
use crate::store::{Store, StoreError};
use crate::supervisor::agent::{AgentRecord, AgentState};
use crate::supervisor::shim::{AgentDir, Spec};
use crate::time::now_ms;

/// Store tables this module rebuilds, named by their owners.
use crate::approvals::TABLE as APPROVALS;
use crate::supervisor::{ENV_TABLE as AGENT_ENV, TABLE as AGENTS};

/// What a rebuild did, for `daemon status`, the log and the page.
#[derive(Debug, Clone, Default)]
pub struct Repair {
    /// What was wrong, in words.
    pub reason: String,
    /// Where the damaged store now is.
    pub damaged_copy: PathBuf,
    /// Agents rebuilt from their directories.
    pub agents_rebuilt: u64,
    /// Approvals that were pending, now expired.
    pub approvals_expired: u64,
    /// When, ms since the epoch.
    pub at_ms: i64,
}

impl Repair {
    /// What the user must know and do.
    pub fn note(&self) -> String {
        format!(
            "the store was damaged ({}); it was kept at {} and rebuilt: {} agents from their \
             directories, {} pending approvals expired. Paired devices must pair again \
             (`orchestractl web --lan`).",
            self.reason,
            self.damaged_copy.display(),
            self.agents_rebuilt,
            self.approvals_expired
        )
    }
}

/// One disagreement between the store and the agents' directories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The agent.
    pub agent_id: String,
    /// `missing_from_store`, `missing_dir`, `state_differs`, `worktree_missing`.
    pub kind: &'static str,
    /// In words.
    pub detail: String,
}

/// Opens the store in `store_dir` with `open`; when it cannot be opened, or has lost
/// agents whose directories are in `agents_dir`, moves it aside and rebuilds it.
pub fn open_or_rebuild(
    store_dir: &Path,
    agents_dir: &Path,
    open: impl Fn(&Path) -> Result<Store, StoreError>,
) -> anyhow::Result<(Store, Option<Repair>)> {
    let on_disk = agent_ids(agents_dir);
    let damaged = match open(store_dir) {
        Err(err @ StoreError::TooNew { .. }) => return Err(err.into()),
        Err(err) => (format!("it cannot be opened: {err}"), None),
        Ok(store) => {
            // Keys only: a record is not decoded, just skipped over.
            let known: std::collections::HashSet<String> = store
                .table(AGENTS)?
                .all::<serde::de::IgnoredAny>()?
                .into_iter()
                .map(|(id, _)| id)
                .collect();
            let lost: Vec<String> = on_disk
                .iter()
                .filter(|id| !known.contains(*id))
                .cloned()
                .collect();
            if lost.is_empty() {
                return Ok((store, None));
            }
            (
                format!(
                    "it has lost {} of the agents whose directories are on disk ({})",
                    lost.len(),
                    lost.join(", ")
                ),
                Some(store),
            )
        }
    };
    let (reason, old) = damaged;
    tracing::error!(store = %store_dir.display(), %reason, "the store is damaged; keeping it aside and rebuilding");
    // What the damaged store still yields of the approvals.
    let old_approvals: Vec<Approval> = old
        .as_ref()
        .and_then(|store| store.table(APPROVALS).ok())
        .and_then(|table| table.all::<Approval>().ok())
        .unwrap_or_default()
        .into_iter()
        .map(|(_, approval)| approval)
        .collect();
    drop(old);
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
    let damaged_copy = store_dir.with_file_name(format!(
        "{}.damaged-{stamp}",
        store_dir
            .file_name()
            .map_or("store".into(), |n| n.to_string_lossy())
    ));
    std::fs::rename(store_dir, &damaged_copy).map_err(|err| {
        anyhow::anyhow!(
            "the store at {} is damaged ({reason}) and cannot be moved aside to {}: {err}",
            store_dir.display(),
            damaged_copy.display()
        )
    })?;
    let store = open(store_dir)?;
    let mut repair = Repair {
        reason,
        damaged_copy,
        at_ms: now_ms(),
        ..Repair::default()
    };
    let agents = store.table(AGENTS)?;
    let envs = store.table(AGENT_ENV)?;
    for id in on_disk {
        let dir = AgentDir(agents_dir.join(&id));
        let Some((record, env)) = rebuild_agent(&dir, &id) else {
            tracing::warn!(agent = %id, "cannot rebuild this agent: its directory holds no record or spec");
            continue;
        };
        agents.put(&id, &record)?;
        if let Some(env) = env {
            envs.put(&id, &env)?;
        }
        repair.agents_rebuilt += 1;
    }
    let approvals = store.table(APPROVALS)?;
    for mut approval in old_approvals {
        if approval.state == ApprovalState::Pending {
            approval.state = ApprovalState::Expired;
            approval.decided_at_ms = now_ms();
            approval.decided_by = "orchestrad".to_owned();
            approval.message =
                "The request was lost with a damaged store; ask again if it is still needed."
                    .to_owned();
            repair.approvals_expired += 1;
        }
        approvals.put(&approval.id.clone(), &approval)?;
    }
    tracing::error!("{}", repair.note());
    Ok((store, Some(repair)))
}

/// The ids of the agent directories under `agents_dir` that hold a spec or a record.
fn agent_ids(agents_dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(agents_dir) else {
        return Vec::new();
    };
    let mut ids: Vec<String> = entries
        .flatten()
        .filter(|entry| {
            let dir = AgentDir(entry.path());
            dir.record().is_file() || dir.spec().is_file()
        })
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    ids.sort();
    ids
}

/// An agent's record and environment as its directory tells them: the daemon's copy of
/// the record when there is one, else what the spec, the log and the exit record say.
fn rebuild_agent(
    dir: &AgentDir,
    id: &str,
) -> Option<(AgentRecord, Option<BTreeMap<String, String>>)> {
    let spec: Option<Spec> = std::fs::read(dir.spec())
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok());
    let env = spec
        .as_ref()
        .map(|spec| spec.env.iter().cloned().collect::<BTreeMap<_, _>>());
    let copy: Option<AgentRecord> = std::fs::read(dir.record())
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok());
    let mut record = match copy {
        Some(record) => record,
        None => from_spec(dir, id, spec.as_ref()?),
    };
    // A run that ended while the copy said otherwise: the exit record decides, as the
    // monitor would.
    if record.state.is_active()
        && !dir.shim_alive()
        && let Some(exit) = dir.read_exit()
    {
        record.exit_code = exit.shell_code();
        record.ended_at_ms = exit.ended_at_ms;
        record.pid = 0;
        record.state = exit.outcome(record.is_error);
        record.activity = record.state.as_str().to_owned();
    }
    Some((record, env))
}

/// A record for an agent whose directory has no copy of it (made by an older daemon).
fn from_spec(dir: &AgentDir, id: &str, spec: &Spec) -> AgentRecord {
    let mut record = AgentRecord {
        id: id.to_owned(),
        cwd: spec.cwd.clone(),
        log_path: dir.output(),
        activity: "rebuilt from its directory".to_owned(),
        ..AgentRecord::default()
    };
    record.task = spec
        .input
        .first()
        .and_then(|line| crate::claude::stream_json::user_message_text(line))
        .unwrap_or_default();
    if let Ok(repo) = git2::Repository::open(&spec.cwd) {
        record.worktree = repo.is_worktree();
        record.repo = repo
            .commondir()
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| spec.cwd.clone());
        record.branch = repo
            .head()
            .ok()
            .and_then(|head| head.shorthand().map(str::to_owned))
            .unwrap_or_default();
    }
    record.created_at_ms = std::fs::metadata(dir.spec())
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_millis() as i64);
    record.started_at_ms = record.created_at_ms;
    record.runs = 1;
    // The log says the session, cost and result.
    if let Ok(log) = std::fs::read(dir.output()) {
        for line in log.split(|b| *b == b'\n') {
            crate::supervisor::progress::apply(&mut record, line);
        }
        record.log_offset = log.len() as u64;
    }
    record.state = if dir.shim_alive() {
        AgentState::Running
    } else {
        dir.read_exit().map_or(AgentState::Interrupted, |exit| {
            exit.outcome(record.is_error)
        })
    };
    record
}

/// Holds the store's agents against their directories.
pub fn check(store: &Store, agents_dir: &Path) -> Result<(Vec<Finding>, u64, u64), StoreError> {
    let records: BTreeMap<String, AgentRecord> = store
        .table(AGENTS)?
        .all::<AgentRecord>()?
        .into_iter()
        .collect();
    let dirs = agent_ids(agents_dir);
    let mut findings = Vec::new();
    for id in &dirs {
        let dir = AgentDir(agents_dir.join(id));
        let Some(record) = records.get(id) else {
            findings.push(Finding {
                agent_id: id.clone(),
                kind: "missing_from_store",
                detail: format!(
                    "{} is on disk but the store has no record of it",
                    dir.0.display()
                ),
            });
            continue;
        };
        if let Some((from_dir, _)) = rebuild_agent(&dir, id)
            && from_dir.state != record.state
            && !(record.state.is_active() && dir.shim_alive())
        {
            findings.push(Finding {
                agent_id: id.clone(),
                kind: "state_differs",
                detail: format!(
                    "the store says {}, its directory says {}",
                    record.state.as_str(),
                    from_dir.state.as_str()
                ),
            });
        }
    }
    for (id, record) in &records {
        if record.state != AgentState::Queued && !dirs.contains(id) {
            findings.push(Finding {
                agent_id: id.clone(),
                kind: "missing_dir",
                detail: format!(
                    "the store knows agent {id} ({}) but its directory is gone",
                    record.state.as_str()
                ),
            });
        }
        if record.worktree && !record.cwd.as_os_str().is_empty() && !record.cwd.is_dir() {
            findings.push(Finding {
                agent_id: id.clone(),
                kind: "worktree_missing",
                detail: format!("its worktree {} is gone", record.cwd.display()),
            });
        }
    }
    Ok((findings, records.len() as u64, dirs.len() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_that_lost_agents_is_kept_aside_and_rebuilt_from_their_directories() {
        let root = tempfile::tempdir().expect("tempdir");
        let store_dir = root.path().join("store");
        let agents_dir = root.path().join("agents");
        let record = AgentRecord {
            id: "abcd1234".to_owned(),
            task: "fix the parser".to_owned(),
            branch: "orchestra/fix-the-parser".to_owned(),
            state: AgentState::Done,
            ..AgentRecord::default()
        };
        let dir = AgentDir(agents_dir.join(&record.id));
        std::fs::create_dir_all(&dir.0).expect("mkdir");
        crate::supervisor::shim::write_json(&dir.record(), &record).expect("copy");
        {
            // A store that knows nothing of it, and a pending approval.
            let store = Store::open(&store_dir).expect("open");
            let approval = Approval {
                id: "ap1".to_owned(),
                agent_id: record.id.clone(),
                ..Approval::default()
            };
            store
                .table(APPROVALS)
                .expect("t")
                .put("ap1", &approval)
                .expect("put");
        }
        let (store, repair) =
            open_or_rebuild(&store_dir, &agents_dir, Store::open).expect("rebuilt");
        let repair = repair.expect("noticed");
        assert_eq!(repair.agents_rebuilt, 1);
        assert_eq!(repair.approvals_expired, 1);
        assert!(repair.damaged_copy.join("db").is_file(), "kept");
        let rebuilt: AgentRecord = store
            .table(AGENTS)
            .expect("t")
            .get("abcd1234")
            .expect("get")
            .expect("there");
        assert_eq!(rebuilt, record);
        let approval: Approval = store
            .table(APPROVALS)
            .expect("t")
            .get("ap1")
            .expect("get")
            .expect("there");
        assert_eq!(approval.state, ApprovalState::Expired);
        let (findings, in_store, dirs) = check(&store, &agents_dir).expect("check");
        assert_eq!((findings, in_store, dirs), (Vec::new(), 1, 1));
        drop(store);
        // A healthy store is opened as it is.
        let (_store, repair) =
            open_or_rebuild(&store_dir, &agents_dir, Store::open).expect("opened");
        assert!(repair.is_none());
    }
}
