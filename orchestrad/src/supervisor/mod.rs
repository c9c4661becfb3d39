//! Agents: Claude Code processes supervised by the daemon.
//!
//! Each agent's process runs under its own [`shim`], so it outlives the daemon. The daemon
//! keeps the [`agent`] records, starts runs ([`launch`]), tails each agent's output with
//! one actor per agent ([`monitor`]) and answers stop/send/resume ([`control`]). Every
//! transition is persisted before it is published.
//!
//! This room owns agents' lives only. Bringing their work together (merge, verify,
//! report, pull requests, results, cleanup) is [`crate::integration`]'s, through the
//! public methods here.

pub mod agent;
pub mod approval;
pub mod budget;
pub mod budget_answer;
pub mod chain;
pub mod claims;
pub mod control;
pub mod forget;
pub mod launch;
pub mod mail;
pub mod monitor;
pub mod progress;
pub mod radar;
pub mod shim;
pub mod shim_log;

use parking_lot::Mutex;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use agent::{AgentChange, AgentRecord, AgentState};
use tokio::sync::watch;

use crate::config::{Config, Settings};
use crate::events::Bus;
use crate::sessions::SessionIndex;
use crate::store::{Store, StoreError, Table};
use crate::worktree::WorktreeError;

/// Store table of agent records, keyed by agent id.
pub(crate) const TABLE: &str = "agents";

/// Store table of each agent's environment, keyed by agent id.
pub(crate) const ENV_TABLE: &str = "agent_env";

/// Errors of agent operations; each message says what to do next.
#[derive(Debug, thiserror::Error)]
pub enum SupervisorError {
    /// No agent has this id or prefix.
    #[error("no agent matches {0:?}: list them with `orchestractl status`")]
    NotFound(String),
    /// Several agents share this prefix.
    #[error("{0:?} matches several agents ({1}): give more characters")]
    Ambiguous(String, String),
    /// The request is malformed.
    #[error("{0}")]
    Invalid(String),
    /// The request cannot be done in the present state.
    #[error("{0}")]
    Precondition(String),
    /// A git operation failed.
    #[error(transparent)]
    Worktree(#[from] WorktreeError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A blocking task of ours panicked or was cancelled: a bug in the daemon, not
    /// something the caller can fix, so it must not read as a precondition.
    #[error(
        "internal error: {what} failed unexpectedly ({source}); the daemon's log has the details"
    )]
    Task {
        /// What the task was doing.
        what: &'static str,
        /// Tokio's report of the panic or cancellation.
        #[source]
        source: tokio::task::JoinError,
    },
}

/// Runs `work` on the blocking pool. A panic in it becomes [`SupervisorError::Task`]
/// (gRPC `INTERNAL`), logged here once.
pub(crate) async fn blocking<T: Send + 'static>(
    what: &'static str,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, SupervisorError> {
    tokio::task::spawn_blocking(work).await.map_err(|source| {
        tracing::error!(%source, "{what} failed unexpectedly");
        SupervisorError::Task { what, source }
    })
}

/// An environment: variable name to value.
pub type Env = std::collections::BTreeMap<String, String>;

/// Options of a spawn, shared by its tasks.
#[derive(Debug, Clone, Default)]
pub struct SpawnOptions {
    /// A directory inside the repository.
    pub repo: PathBuf,
    /// At most this many at once; 0 for the default.
    pub parallel: u32,
    /// Run in the repository itself.
    pub no_worktree: bool,
    /// Base ref; empty for HEAD.
    pub base: String,
    /// `--model`.
    pub model: String,
    /// `--permission-mode`.
    pub permission_mode: String,
    /// `--allowedTools`; empty for the config's `bypass_permissions`.
    pub allowed_tools: Vec<String>,
    /// `--max-budget-usd`; 0 for the config's `default_max_budget_usd`.
    pub max_budget_usd: f64,
    /// `--batch-max-budget-usd`: the cap of all the spawn's agents together; 0 for none.
    pub batch_max_budget_usd: f64,
    /// The caller's environment.
    pub env: std::collections::BTreeMap<String, String>,
    /// `--after`: an agent (id or prefix) whose being done starts these tasks.
    pub after: String,
    /// `--no-siblings`: do not tell the agents of the batch about each other.
    pub no_siblings: bool,
}

/// What the supervisor needs of the daemon's settings, and nothing more.
#[derive(Debug, Clone)]
pub struct SupervisorSettings {
    /// The settings in force (claude command, permissions, worktree dir, limits).
    pub config: Config,
    /// The config file, named in errors that a config change would fix.
    pub config_path: PathBuf,
    /// The directory of per-agent files (logs, shim sockets, exit records).
    pub agents_dir: PathBuf,
    /// The orchestrad binary, run as `orchestrad shim` for each agent.
    pub orchestrad_exe: PathBuf,
    /// The daemon's socket, which each agent's `orchestra` MCP bridge connects to.
    pub socket: PathBuf,
}

impl SupervisorSettings {
    /// The supervisor's part of the daemon's settings.
    pub fn from_settings(settings: &Settings) -> SupervisorSettings {
        SupervisorSettings {
            config: settings.config.clone(),
            config_path: settings.config_path.clone(),
            agents_dir: settings.agents_dir(),
            orchestrad_exe: settings.orchestrad_exe.clone(),
            socket: settings.socket.clone(),
        }
    }
}

/// The agent supervisor. Shared as `Arc<Supervisor>`.
#[derive(Debug)]
pub struct Supervisor {
    /// Its part of the daemon's settings.
    settings: SupervisorSettings,
    /// Every agent, by id.
    agents: Mutex<HashMap<String, AgentRecord>>,
    /// Persistence of the records.
    table: Table,
    /// Persistence of the agents' environments.
    env_table: Table,
    /// Each agent's environment (the spawn caller's), kept apart from the record: it is
    /// large, never changes, and the record is cloned and rewritten on every update.
    envs: Mutex<HashMap<String, Arc<Env>>>,
    /// For flushing transitions to disk before they are reported.
    store: Store,
    /// Where changes are published.
    bus: Bus<AgentChange>,
    /// The session index, told which sessions our agents own.
    sessions: Arc<SessionIndex>,
    /// Serialises scheduling decisions.
    schedule_lock: tokio::sync::Mutex<()>,
    /// Wakes an agent's monitor early (after a send or stop).
    wakers: Mutex<HashMap<String, tokio::sync::mpsc::Sender<()>>>,
    /// Becomes true when the daemon shuts down; monitors stop (agents keep running).
    shutdown: watch::Receiver<bool>,
    /// Tool calls of our agents waiting for a person (see [`approval`]).
    approvals: Arc<crate::approvals::Approvals>,
    /// What each agent changed, for the overlap radar.
    radar: radar::Radar,
    /// Messages between agents (see [`mail`]).
    mailbox: Arc<crate::messages::Mailbox>,
    /// Each agent's `orchestra` MCP secret, by its SHA-256 (see [`mail`]).
    tokens: Table,
    /// Files agents claimed (soft locks), which the radar reads too.
    claims: claims::Claims,
    /// Raises of the daily cap by local day (`approve --raise` on a day's budget
    /// approval), added to the config's `daily_max_budget_usd`.
    day_raises: Mutex<HashMap<String, f64>>,
    /// Persistence of `day_raises`.
    day_raises_table: Table,
}

impl Supervisor {
    /// Loads the agent records from the store.
    pub fn load(
        settings: SupervisorSettings,
        store: &Store,
        sessions: Arc<SessionIndex>,
        approvals: Arc<crate::approvals::Approvals>,
        mailbox: Arc<crate::messages::Mailbox>,
        shutdown: watch::Receiver<bool>,
    ) -> Result<Supervisor, StoreError> {
        let table = store.table(TABLE)?;
        let tokens = store.table(mail::TOKEN_TABLE)?;
        let env_table = store.table(ENV_TABLE)?;
        let day_raises_table = store.table(budget::DAY_RAISES_TABLE)?;
        let day_raises: HashMap<String, f64> = day_raises_table.all::<f64>()?.into_iter().collect();
        let agents: HashMap<String, AgentRecord> =
            table.all::<AgentRecord>()?.into_iter().collect();
        let envs: HashMap<String, Arc<Env>> = env_table
            .all::<Env>()?
            .into_iter()
            .map(|(id, env)| (id, Arc::new(env)))
            .collect();
        for agent in agents.values() {
            if !agent.session_id.is_empty() {
                sessions.set_owner(&agent.session_id, Some(&agent.id));
            }
        }
        let claims = claims::Claims::load(store, |id| {
            agents.get(id).is_some_and(|a| a.state.is_active())
        })?;
        Ok(Supervisor {
            settings,
            agents: Mutex::new(agents),
            table,
            env_table,
            envs: Mutex::new(envs),
            store: store.clone(),
            bus: Bus::new(),
            sessions,
            schedule_lock: tokio::sync::Mutex::new(()),
            wakers: Mutex::new(HashMap::new()),
            shutdown,
            approvals,
            radar: radar::Radar::default(),
            mailbox,
            tokens,
            claims,
            day_raises: Mutex::new(day_raises),
            day_raises_table,
        })
    }

    /// Files agents claimed.
    pub fn claims(&self) -> &claims::Claims {
        &self.claims
    }

    /// The bus of agent changes.
    pub fn bus(&self) -> &Bus<AgentChange> {
        &self.bus
    }

    /// The directory of an agent's files.
    pub fn agent_dir(&self, id: &str) -> shim::AgentDir {
        shim::AgentDir(self.settings.agents_dir.join(id))
    }

    /// Every agent, newest first.
    pub fn list(&self) -> Vec<AgentRecord> {
        let mut agents: Vec<AgentRecord> = self.agents.lock().values().cloned().collect();
        agents.sort_by(|a, b| b.created_at_ms.cmp(&a.created_at_ms).then(a.id.cmp(&b.id)));
        agents
    }

    /// Agents of the repository containing `dir` (all agents for `None`).
    pub fn agents_of(&self, dir: Option<&Path>) -> Result<Vec<AgentRecord>, SupervisorError> {
        let repo = dir.map(repo_of).transpose()?;
        Ok(self
            .list()
            .into_iter()
            .filter(|a| repo.as_ref().is_none_or(|r| &a.repo == r))
            .collect())
    }

    /// Counts: (running, queued, total).
    pub fn counts(&self) -> (u64, u64, u64) {
        let agents = self.agents.lock();
        let running = agents.values().filter(|a| a.state.is_active()).count() as u64;
        let queued = agents
            .values()
            .filter(|a| a.state == AgentState::Queued)
            .count() as u64;
        (running, queued, agents.len() as u64)
    }

    /// The agent with this id, or the only one whose id starts with it.
    pub fn resolve(&self, id: &str) -> Result<AgentRecord, SupervisorError> {
        let id = id.trim();
        let agents = self.agents.lock();
        if let Some(agent) = agents.get(id) {
            return Ok(agent.clone());
        }
        let matches: Vec<&AgentRecord> = agents
            .values()
            .filter(|a| !id.is_empty() && a.id.starts_with(id))
            .collect();
        match matches.as_slice() {
            [] => Err(SupervisorError::NotFound(id.to_owned())),
            [one] => Ok((*one).clone()),
            many => Err(SupervisorError::Ambiguous(
                id.to_owned(),
                many.iter()
                    .map(|a| a.id.clone())
                    .collect::<Vec<_>>()
                    .join(", "),
            )),
        }
    }

    /// Adds a new record: persisted and flushed before it is published. Refused when the
    /// store cannot take it (a full disk): nothing is started that could not be recorded.
    async fn insert(&self, agent: AgentRecord, env: Env) -> Result<AgentRecord, SupervisorError> {
        self.env_table.put(&agent.id, &env)?;
        self.table.put(&agent.id, &agent)?;
        self.store.flush().await?;
        self.envs.lock().insert(agent.id.clone(), Arc::new(env));
        self.agents.lock().insert(agent.id.clone(), agent.clone());
        self.mirror(&agent);
        self.bus.publish(AgentChange {
            kind: "created",
            agent: Arc::new(agent.clone()),
        });
        Ok(agent)
    }

    /// Changes an agent with `change`, persists it (flushed to disk when the state
    /// changed), then changes memory and publishes it. Returns the record after the
    /// change.
    ///
    /// What an update records has happened (the process ended, the user asked to stop),
    /// so a store that cannot take it now (a full disk) does not undo it: the write is
    /// queued and made as soon as the store recovers, and the store's health says so
    /// meanwhile (`daemon status`, `status`, the page).
    pub async fn update(
        &self,
        id: &str,
        change: impl FnOnce(&mut AgentRecord),
    ) -> Result<AgentRecord, SupervisorError> {
        let (before, after) = {
            let mut agents = self.agents.lock();
            let agent = agents
                .get_mut(id)
                .ok_or_else(|| SupervisorError::NotFound(id.to_owned()))?;
            let mut after = agent.clone();
            change(&mut after);
            if *agent == after {
                return Ok(after);
            }
            // Written (or queued) while the lock is held, before memory changes, so no
            // later update is stored first.
            self.table.put_or_queue(id, &after)?;
            (std::mem::replace(agent, after.clone()), after)
        };
        if before.state != after.state {
            self.store.flush_or_queue().await?;
            tracing::info!(
                agent = id,
                from = before.state.as_str(),
                to = after.state.as_str(),
                "agent state"
            );
        }
        if before.state != after.state || before.session_id != after.session_id {
            self.mirror(&after);
        }
        if before.state.is_active() && !after.state.is_active() {
            // A claim is advice while its holder works; an ended agent holds nothing.
            self.claims.release_all(id);
        }
        if before.session_id != after.session_id && !after.session_id.is_empty() {
            self.sessions.set_owner(&after.session_id, Some(&after.id));
        }
        self.bus.publish(AgentChange {
            kind: "updated",
            agent: Arc::new(after.clone()),
        });
        Ok(after)
    }

    /// Keeps a copy of the record in the agent's directory (`record.json`), from which a
    /// damaged store is rebuilt. Best effort: the store is the record of truth.
    fn mirror(&self, agent: &AgentRecord) {
        let dir = self.agent_dir(&agent.id);
        let written =
            std::fs::create_dir_all(&dir.0).and_then(|()| shim::write_json(&dir.record(), agent));
        if let Err(err) = written {
            tracing::debug!(agent = %agent.id, %err, "cannot write the record's copy");
        }
    }

    /// Starts queued agents while their batch has free slots.
    pub fn schedule(self: &Arc<Self>) -> futures::future::BoxFuture<'static, ()> {
        let this = self.clone();
        Box::pin(async move {
            if *this.shutdown.borrow() {
                return;
            }
            let _guard = this.schedule_lock.lock().await;
            this.release_followers().await;
            // Queued agents held back by a cap, with the reason their activity should show;
            // asked outside the lock of the records, which the caps' sums take.
            let reasons: HashMap<String, String> = this
                .list()
                .iter()
                .filter(|a| a.state == AgentState::Queued)
                .filter_map(|a| this.held_back(a).map(|reason| (a.id.clone(), reason)))
                .collect();
            let mut held: Vec<(String, String)> = Vec::new();
            let to_start: Vec<String> = {
                let agents = this.agents.lock();
                let mut active: HashMap<&str, u32> = HashMap::new();
                for agent in agents.values().filter(|a| a.state.is_active()) {
                    *active.entry(agent.batch_id.as_str()).or_default() += 1;
                }
                let mut queued: Vec<&AgentRecord> = agents
                    .values()
                    .filter(|a| a.state == AgentState::Queued && chain::may_start(a))
                    .collect();
                queued.sort_by(|a, b| a.created_at_ms.cmp(&b.created_at_ms).then(a.id.cmp(&b.id)));
                let mut picked = Vec::new();
                for agent in queued {
                    if let Some(reason) = reasons.get(&agent.id) {
                        if &agent.activity != reason {
                            held.push((agent.id.clone(), reason.clone()));
                        }
                        continue;
                    }
                    let running = active.entry(agent.batch_id.as_str()).or_default();
                    if *running < agent.parallel.max(1) {
                        *running += 1;
                        picked.push(agent.id.clone());
                    }
                }
                picked
            };
            for (id, reason) in held {
                logged(
                    this.update(&id, |a| {
                        if a.state == AgentState::Queued {
                            a.activity = reason;
                        }
                    })
                    .await,
                );
            }
            for id in to_start {
                launch::start(&this, &id).await;
            }
        })
    }

    /// At start-up: re-adopts agents whose process is still alive, finishes the records of
    /// those that ended while the daemon was away, marks the vanished ones interrupted,
    /// completes half-done starts, then starts the queue.
    pub async fn reconcile(self: &Arc<Self>) {
        self.reconcile_approvals().await;
        if self.settings.config.daily_max_budget_usd > 0.0 {
            // Only the daily cap lifts with time alone (a new local day).
            self.recheck_held_agents();
        }
        for agent in self.list() {
            if Supervisor::paused_at_cap(&agent) {
                // A paused agent has no process to find: its budget approval waits.
                self.reask_if_unasked(&agent.id).await;
                continue;
            }
            if !agent.state.is_active() {
                continue;
            }
            let dir = self.agent_dir(&agent.id);
            let has_info = dir.read_info().is_some();
            if dir.shim_alive() || dir.read_exit().is_some() {
                tracing::info!(agent = %agent.id, "re-adopting agent");
                monitor::spawn(self, &agent.id);
            } else if agent.state == AgentState::Starting && !has_info {
                // The daemon died between recording the intent and starting the shim.
                tracing::info!(agent = %agent.id, "finishing an interrupted start");
                logged(
                    self.update(&agent.id, |a| a.state = AgentState::Queued)
                        .await,
                );
                launch::start(self, &agent.id).await;
            } else {
                tracing::warn!(agent = %agent.id, "agent process vanished without an exit record");
                logged(
                    self.update(&agent.id, |a| {
                        a.state = AgentState::Interrupted;
                        a.ended_at_ms = crate::time::now_ms();
                        a.pid = 0;
                        a.activity = "interrupted: its process vanished".to_owned();
                    })
                    .await,
                );
            }
        }
        self.schedule().await;
    }

    /// The settings in force for agents (worktree dir, claude command, permissions).
    pub fn config(&self) -> &Config {
        &self.settings.config
    }

    /// Whether the daemon is shutting down.
    pub fn stopping(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// The environment agent `id` runs with.
    pub fn env_of(&self, id: &str) -> Arc<Env> {
        self.envs.lock().get(id).cloned().unwrap_or_default()
    }

    /// Reads fields of agent `id` without cloning the whole record.
    pub fn peek<T>(&self, id: &str, read: impl FnOnce(&AgentRecord) -> T) -> Option<T> {
        self.agents.lock().get(id).map(read)
    }

    /// Wakes the monitor of `id`, if any.
    fn wake(&self, id: &str) {
        if let Some(waker) = self.wakers.lock().get(id) {
            let _ = waker.try_send(());
        }
    }
}

/// Logs an update that could not be recorded (the agent was forgotten meanwhile, or its
/// record does not encode), for callers that have no one else to tell. A store that
/// cannot take writes is not such a failure: [`Supervisor::update`] queues the write.
pub(crate) fn logged(result: Result<AgentRecord, SupervisorError>) {
    if let Err(err) = result {
        tracing::error!(%err, "cannot record an agent's change");
    }
}

/// A new agent id: 8 hex digits.
fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_owned()
}

/// The repository root for a spawn request, or a clear error.
pub(crate) fn repo_of(dir: &Path) -> Result<PathBuf, SupervisorError> {
    if !dir.is_dir() {
        return Err(SupervisorError::Precondition(format!(
            "{} is not a directory",
            dir.display()
        )));
    }
    Ok(crate::worktree::repo_root(dir)?)
}
