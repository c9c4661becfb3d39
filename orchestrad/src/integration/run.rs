//! A verified merge: one green branch per batch, as a merge queue makes it.
//!
//! The run belongs to the daemon: its record is in the store (table `merge_runs`, one per
//! batch) and [`Integration::drive`] moves it on one step at a time, saving after each, so
//! it goes on after the CLI exits and picks up where it was after a restart (kill -9
//! included: a step that was under way is done again; merging and checking are
//! idempotent). The steps:
//!
//! 1. `merging`: the base is checked first, once (a red base blames no agent: `red`,
//!    `base_red`); then the branches are merged as `merge` does.
//! 2. `verifying`: the check runs in the integration worktree. Green with nothing left
//!    out ends `green`. Red: the culprit is found by bisection over the merged branches
//!    ([`super::bisect`], scratch merges of prefixes), then sent back to repair, or the
//!    run ends `red`. Green with branches left out by a conflict: those are sent back to
//!    rebase, or the run ends `conflicted`.
//! 3. `repairing`: waits until the agents sent back have finished their new run, then
//!    merges again (onto the integration branch as it is) and verifies again.
//!
//! Nothing is lost on the way: every agent's branch and the integration branch stay.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Integration;
use super::merge::{MergeOutcome, MergeRequest};
use super::settings::RepoSettings;
use super::verify::{self, CheckRun};
use crate::supervisor::SupervisorError;
use crate::supervisor::agent::{AgentRecord, AgentState};
use crate::time::now_ms;
use crate::worktree::merge::{self as git_merge, Candidate};

/// Store table of runs, keyed by batch id.
pub const TABLE: &str = "merge_runs";

/// One verification's default time limit.
pub const DEFAULT_TIMEOUT_S: u64 = 15 * 60;

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    /// Checking the base, merging the branches.
    #[default]
    Merging,
    /// Running the check on the merged result (and bisecting when it fails).
    Verifying,
    /// Waiting for agents sent back to repair.
    Repairing,
    /// The integration branch passes the check with every branch in.
    Green,
    /// The check fails and no repair is left (or the base fails).
    Red,
    /// The check passes but branches were left out by conflicts.
    Conflicted,
}

impl RunState {
    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Merging => "merging",
            RunState::Verifying => "verifying",
            RunState::Repairing => "repairing",
            RunState::Green => "green",
            RunState::Red => "red",
            RunState::Conflicted => "conflicted",
        }
    }

    /// Whether the run has ended.
    pub fn is_final(self) -> bool {
        matches!(self, RunState::Green | RunState::Red | RunState::Conflicted)
    }
}

/// The verification of a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Verification {
    /// `pending`, `running`, `green`, `red`.
    pub state: String,
    /// The check.
    pub command: String,
    /// Its last exit code.
    pub exit_code: i32,
    /// How long its last run took.
    pub duration_s: f64,
    /// The agent found to break it.
    pub culprit_agent_id: String,
    /// The end of its last output.
    pub output_tail: String,
    /// The base failed already.
    pub base_red: bool,
    /// Why it is red, in words.
    pub reason: String,
    /// The whole output of its last run.
    pub log_path: String,
    /// Verifications run so far.
    pub verifications: u32,
}

/// One round of repair.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Round {
    /// 1, 2, ...
    pub round: u32,
    /// The agent sent back.
    pub culprit_agent_id: String,
    /// `fix_failure` or `rebase_conflict`.
    pub action: String,
    /// `sent`, `repaired`, `failed: ...`.
    pub result: String,
    /// The agent's run count when it was sent back: its repair is the next run.
    pub runs_before: u32,
}

/// A verified merge, as stored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MergeRun {
    /// The batch.
    pub batch_id: String,
    /// The repository.
    pub repo: PathBuf,
    /// Agents named by the caller (empty: the batch).
    pub agents: Vec<String>,
    /// The integration branch asked for (empty: the default).
    pub into: String,
    /// Only approved agents are merged.
    pub approved_only: bool,
    /// Seconds one verification may take.
    pub timeout_s: u64,
    /// Rounds of repair allowed.
    pub repair_rounds: u32,
    /// The caller's environment, for the check.
    pub env: BTreeMap<String, String>,
    /// Where it is.
    pub state: RunState,
    /// The base was checked and is green.
    pub base_checked: bool,
    /// What the last merge did.
    pub outcome: MergeOutcome,
    /// The verification.
    pub verify: Verification,
    /// Rounds of repair, in order.
    pub rounds: Vec<Round>,
    /// Why it ended as it did.
    pub reason: String,
    /// When it started, ms since the epoch.
    pub started_at_ms: i64,
    /// When it last changed.
    pub updated_at_ms: i64,
}

/// What `merge` was asked for beyond a plain merge.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// The check; empty for `.orchestra.json`'s.
    pub command: String,
    /// Do not verify.
    pub no_verify: bool,
    /// Rounds of repair; `None` for `.orchestra.json`'s, else 0.
    pub repair_rounds: Option<u32>,
    /// Seconds per verification; `None` for `.orchestra.json`'s, else 15 minutes.
    pub timeout_s: Option<u64>,
    /// Answer at once.
    pub no_wait: bool,
    /// The caller's environment.
    pub env: BTreeMap<String, String>,
}

impl Integration {
    /// A merge, verified when a check is named (here or in `.orchestra.json`) and not
    /// refused: starts the run and, unless `no_wait`, waits for its end. `Ok(None)` when
    /// no check applies (the caller merges plainly).
    pub async fn verified_merge(
        self: &Arc<Self>,
        request: &MergeRequest,
        options: VerifyOptions,
    ) -> Result<Option<MergeRun>, SupervisorError> {
        if options.no_verify || request.dry_run {
            return Ok(None);
        }
        let repo = crate::supervisor::repo_of(&request.dir)?;
        let defaults = RepoSettings::load(&repo)?;
        let command = if options.command.trim().is_empty() {
            match defaults.verify.filter(|c| !c.trim().is_empty()) {
                Some(command) => command,
                None => return Ok(None),
            }
        } else {
            options.command.trim().to_owned()
        };
        let timeout_s = options
            .timeout_s
            .or(defaults.verify_timeout_s)
            .unwrap_or(DEFAULT_TIMEOUT_S);
        if timeout_s == 0 {
            return Err(SupervisorError::Invalid(
                "the verify timeout must be at least 1 second".to_owned(),
            ));
        }
        // The batch as merge would choose it, checked now so a bad name fails at once.
        let batch_id = if request.agents.is_empty() {
            self.batch(Some(&request.dir), &request.batch)?.0
        } else {
            self.sup.resolve(&request.agents[0])?.batch_id
        };
        if let Some(run) = self.run_of(&batch_id)?
            && !run.state.is_final()
        {
            return Err(SupervisorError::Precondition(format!(
                "batch {batch_id} is being merged already ({}): follow it with \
                 `orchestractl merge status {batch_id} --watch`",
                run.state.as_str()
            )));
        }
        let now = now_ms();
        let run = MergeRun {
            batch_id: batch_id.clone(),
            repo,
            agents: request.agents.clone(),
            into: request.into.clone(),
            approved_only: request.approved_only,
            timeout_s,
            repair_rounds: options
                .repair_rounds
                .or(defaults.repair_rounds)
                .unwrap_or(0),
            env: options.env,
            state: RunState::Merging,
            verify: Verification {
                state: "pending".to_owned(),
                command,
                ..Verification::default()
            },
            started_at_ms: now,
            updated_at_ms: now,
            ..MergeRun::default()
        };
        self.runs.put(&batch_id, &run)?;
        self.runs.flush().await?;
        let mut changes = self.run_changes.subscribe();
        self.spawn_drive(&batch_id);
        if options.no_wait {
            return Ok(Some(run));
        }
        loop {
            let run = self.run_of(&batch_id)?.unwrap_or_default();
            if run.state.is_final() || self.sup.stopping() {
                return Ok(Some(run));
            }
            let _ = tokio::time::timeout(Duration::from_secs(1), changes.recv()).await;
        }
    }

    /// The run of batch `batch_id`, if any.
    pub fn run_of(&self, batch_id: &str) -> Result<Option<MergeRun>, SupervisorError> {
        Ok(self.runs.get(batch_id)?)
    }

    /// Runs of the repository of `dir` (every repository for `None`), batch `batch` (id
    /// or prefix; empty for all), newest first.
    pub fn runs(&self, dir: Option<&Path>, batch: &str) -> Result<Vec<MergeRun>, SupervisorError> {
        let repo = dir.map(crate::supervisor::repo_of).transpose()?;
        let mut runs: Vec<MergeRun> = self
            .runs
            .all::<MergeRun>()?
            .into_iter()
            .map(|(_, run)| run)
            .filter(|run| repo.as_ref().is_none_or(|r| &run.repo == r))
            .filter(|run| run.batch_id.starts_with(batch.trim()))
            .collect();
        runs.sort_by_key(|run| std::cmp::Reverse(run.started_at_ms));
        if runs.is_empty() && !batch.trim().is_empty() {
            return Err(SupervisorError::Precondition(format!(
                "no verified merge of a batch {batch} here: start one with `orchestractl \
                 merge --batch {batch} --verify CMD` (batch ids are in `orchestractl status \
                 --json`)",
                batch = batch.trim()
            )));
        }
        Ok(runs)
    }

    /// At start-up: goes on with every run that had not ended.
    pub fn resume_runs(self: &Arc<Self>) {
        let Ok(all) = self.runs.all::<MergeRun>() else {
            return;
        };
        for (id, run) in all {
            if !run.state.is_final() {
                tracing::info!(batch = %id, state = run.state.as_str(), "going on with a verified merge");
                self.spawn_drive(&id);
            }
        }
    }

    /// Drives the run of `batch_id` in the background, once.
    fn spawn_drive(self: &Arc<Self>, batch_id: &str) {
        if !self.driving.lock().insert(batch_id.to_owned()) {
            return;
        }
        let this = self.clone();
        let batch_id = batch_id.to_owned();
        tokio::spawn(async move {
            if let Err(err) = this.drive(&batch_id).await {
                tracing::error!(batch = %batch_id, %err, "the verified merge stopped");
                let reason = err.to_string();
                let _ = this
                    .save_with(&batch_id, |run| {
                        run.state = RunState::Red;
                        run.reason = reason;
                    })
                    .await;
            }
            this.driving.lock().remove(&batch_id);
        });
    }

    /// Moves the run on, step by step, until it ends (or the daemon stops).
    async fn drive(self: &Arc<Self>, batch_id: &str) -> Result<(), SupervisorError> {
        loop {
            if self.sup.stopping() {
                return Ok(());
            }
            let Some(run) = self.run_of(batch_id)? else {
                return Ok(());
            };
            match run.state {
                RunState::Merging => self.step_merge(run).await?,
                RunState::Verifying => self.step_verify(run).await?,
                RunState::Repairing => {
                    if !self.step_repair(run).await? {
                        // Not yet: the agents are still at it.
                        let mut changes = self.sup.bus().subscribe();
                        let _ = tokio::time::timeout(Duration::from_secs(1), changes.recv()).await;
                    }
                }
                RunState::Green | RunState::Red | RunState::Conflicted => {
                    self.tell(&run);
                    return Ok(());
                }
            }
        }
    }

    /// Checks the base once, then merges.
    async fn step_merge(self: &Arc<Self>, run: MergeRun) -> Result<(), SupervisorError> {
        let request = MergeRequest {
            dir: run.repo.clone(),
            agents: run.agents.clone(),
            batch: if run.agents.is_empty() {
                run.batch_id.clone()
            } else {
                String::new()
            },
            into: run.into.clone(),
            dry_run: false,
            approved_only: run.approved_only,
        };
        if !run.base_checked {
            // The commit the batch's agents started from.
            let members = if run.agents.is_empty() {
                self.batch(Some(&run.repo), &run.batch_id)?.1
            } else {
                run.agents
                    .iter()
                    .filter_map(|id| self.sup.resolve(id).ok())
                    .collect()
            };
            let base = members
                .into_iter()
                .map(|a| a.base_commit)
                .find(|c| !c.is_empty());
            if let Some(base) = base {
                self.save_with(&run.batch_id, |r| r.verify.state = "running".to_owned())
                    .await?;
                let checked = self.check_commit(&run, &base).await?;
                let base_log = self.log_path(&run.batch_id, "base");
                if !checked.green {
                    let short: String = base.chars().take(8).collect();
                    return self
                        .save_with(&run.batch_id, |r| {
                            r.record_check(&checked, &base_log);
                            r.verify.base_red = true;
                            r.state = RunState::Red;
                            r.reason = format!(
                                "the base {short} is red already ({}): no agent is blamed; fix \
                                 the base, then merge again",
                                checked.reason
                            );
                        })
                        .await;
                }
                self.save_with(&run.batch_id, |r| {
                    r.verify.verifications += 1;
                    r.base_checked = true;
                })
                .await?;
            }
        }
        let outcome = self.merge(request).await?;
        self.save_with(&run.batch_id, |r| {
            r.outcome = outcome;
            r.state = RunState::Verifying;
            r.verify.state = "running".to_owned();
        })
        .await
    }

    /// Runs the check on the merged result; on red, finds the culprit.
    async fn step_verify(self: &Arc<Self>, run: MergeRun) -> Result<(), SupervisorError> {
        let worktree = PathBuf::from(&run.outcome.worktree);
        let log = self.log_path(&run.batch_id, "verify");
        let checked = self.check_in(&run, worktree, log.clone()).await?;
        let conflicted: Vec<String> = run
            .outcome
            .skipped
            .iter()
            .filter(|l| !l.skipped.paths.is_empty())
            .map(|l| l.skipped.agent_id.clone())
            .collect();
        if checked.green {
            let rounds_left = run.rounds_left();
            if conflicted.is_empty() {
                return self
                    .save_with(&run.batch_id, |r| {
                        r.record_check(&checked, &log);
                        r.verify.culprit_agent_id.clear();
                        r.state = RunState::Green;
                        r.reason = format!(
                            "{} branch(es) merged into {} and the check passes",
                            r.outcome.merged.len(),
                            r.outcome.branch
                        );
                    })
                    .await;
            }
            if rounds_left == 0 {
                return self
                    .save_with(&run.batch_id, |r| {
                        r.record_check(&checked, &log);
                        r.state = RunState::Conflicted;
                        r.reason = format!(
                            "the check passes, but {} left out by conflicts (their branches \
                             stay; `--repair N` sends them back to rebase)",
                            conflicted.join(", ")
                        );
                    })
                    .await;
            }
            let mut sent = Vec::new();
            for id in &conflicted {
                sent.push(
                    self.send_back(&run, id, "rebase_conflict", &checked)
                        .await?,
                );
            }
            return self
                .save_with(&run.batch_id, |r| {
                    r.record_check(&checked, &log);
                    r.rounds.extend(sent);
                    r.state = RunState::Repairing;
                })
                .await;
        }
        // Red: which branch?
        let culprit = self.bisect(&run).await?;
        let verifications_for_bisect = culprit.1;
        let culprit = culprit.0;
        if run.rounds_left() == 0 || culprit.is_empty() {
            return self
                .save_with(&run.batch_id, |r| {
                    r.record_check(&checked, &log);
                    r.verify.verifications += verifications_for_bisect;
                    r.verify.culprit_agent_id = culprit.clone();
                    r.state = RunState::Red;
                    r.reason = if culprit.is_empty() {
                        format!("the check fails on the merged result ({})", checked.reason)
                    } else {
                        format!(
                            "the check fails ({}); agent {culprit}'s branch makes it fail",
                            checked.reason
                        )
                    };
                })
                .await;
        }
        let round = self
            .send_back(&run, &culprit, "fix_failure", &checked)
            .await?;
        self.save_with(&run.batch_id, |r| {
            r.record_check(&checked, &log);
            r.verify.verifications += verifications_for_bisect;
            r.verify.culprit_agent_id = culprit.clone();
            r.rounds.push(round);
            r.state = RunState::Repairing;
        })
        .await
    }

    /// Whether every agent sent back in the last round has finished its repair run; then
    /// records how it went and merges again.
    async fn step_repair(self: &Arc<Self>, run: MergeRun) -> Result<bool, SupervisorError> {
        let last = run.last_round();
        let mut results = Vec::new();
        for round in run.rounds.iter().filter(|r| r.round == last) {
            let agent = self.sup.resolve(&round.culprit_agent_id)?;
            let finished = agent.runs > round.runs_before
                && agent.state != AgentState::Queued
                && !agent.state.is_active();
            if !finished {
                return Ok(false);
            }
            results.push((
                agent.id.clone(),
                if agent.state == AgentState::Done {
                    "repaired".to_owned()
                } else {
                    format!("failed: the agent ended {}", agent.state.as_str())
                },
            ));
        }
        self.save_with(&run.batch_id, |r| {
            for round in r.rounds.iter_mut().filter(|x| x.round == last) {
                if let Some((_, result)) =
                    results.iter().find(|(id, _)| *id == round.culprit_agent_id)
                {
                    round.result = result.clone();
                }
            }
            r.state = RunState::Merging;
        })
        .await?;
        Ok(true)
    }

    /// Sends `agent_id` the failure (or its conflict) as a follow-up, resuming its session.
    async fn send_back(
        self: &Arc<Self>,
        run: &MergeRun,
        agent_id: &str,
        action: &str,
        checked: &CheckRun,
    ) -> Result<Round, SupervisorError> {
        let agent = self.sup.resolve(agent_id)?;
        let message = if action == "rebase_conflict" {
            let left = run
                .outcome
                .skipped
                .iter()
                .find(|l| l.skipped.agent_id == agent_id);
            let paths = left.map(|l| l.skipped.paths.join(", ")).unwrap_or_default();
            let others = left
                .map(|l| l.skipped.conflicts_with.join(", "))
                .unwrap_or_default();
            format!(
                "Your branch {} could not be merged into the integration branch {}: it \
                 conflicts on {paths} with the work of agent(s) {others}, which is merged \
                 there. Merge {} into your branch (`git merge {}`), resolve the conflicts \
                 keeping both changes' intent, make sure `{}` passes, and commit.",
                agent.branch,
                run.outcome.branch,
                run.outcome.branch,
                run.outcome.branch,
                run.verify.command
            )
        } else {
            format!(
                "The batch's check fails once your branch {} is merged with the others into \
                 {}.\n\nCommand: {}\nResult: {}\nEnd of its output:\n```\n{}\n```\n\n\
                 Fix your change so that the check passes, then commit.",
                agent.branch,
                run.outcome.branch,
                run.verify.command,
                checked.reason,
                checked.tail.trim_end()
            )
        };
        let runs_before = agent.runs;
        self.sup.send(agent_id, message, "orchestra").await?;
        Ok(Round {
            round: run.last_round() + 1,
            culprit_agent_id: agent_id.to_owned(),
            action: action.to_owned(),
            result: "sent".to_owned(),
            runs_before,
        })
    }

    /// The culprit among the merged branches, and the verifications it took: scratch
    /// merges of prefixes of the merge order, checked one by one.
    async fn bisect(self: &Arc<Self>, run: &MergeRun) -> Result<(String, u32), SupervisorError> {
        let merged = run.outcome.merged.clone();
        if merged.len() <= 1 {
            return Ok((merged.first().cloned().unwrap_or_default(), 0));
        }
        let candidates: Vec<Candidate> = merged
            .iter()
            .filter_map(|id| self.sup.resolve(id).ok())
            .map(|a: AgentRecord| Candidate {
                agent_id: a.id,
                branch: a.branch,
                task: a.task,
                base_commit: a.base_commit,
            })
            .collect();
        let scratch_branch = format!("orchestra/verify-{}", run.batch_id);
        let scratch = git_merge::integration_worktree(
            &run.repo,
            &self.sup.config().worktree_dir,
            &format!("verify-{}", run.batch_id),
        );
        let log = self.log_path(&run.batch_id, "bisect");
        let (repo, env, command, timeout) = (
            run.repo.clone(),
            run.env.clone(),
            run.verify.command.clone(),
            Duration::from_secs(run.timeout_s),
        );
        crate::supervisor::blocking("finding the culprit", move || {
            let red = |k: usize| {
                let _ = git_merge::discard(&repo, &scratch_branch, &scratch);
                match git_merge::integrate(&repo, &scratch_branch, &scratch, &candidates[..k]) {
                    Ok(_) => !verify::run(&command, &scratch, &env, timeout, &log).green,
                    // A prefix that cannot be merged counts as red: the culprit is in it.
                    Err(_) => true,
                }
            };
            let (index, asked) = super::bisect::culprit(candidates.len(), red);
            let _ = git_merge::discard(&repo, &scratch_branch, &scratch);
            (
                candidates
                    .get(index)
                    .map(|c| c.agent_id.clone())
                    .unwrap_or_default(),
                asked,
            )
        })
        .await
    }

    /// Runs the check on `commit` in a scratch worktree.
    async fn check_commit(
        &self,
        run: &MergeRun,
        commit: &str,
    ) -> Result<CheckRun, SupervisorError> {
        let branch = format!("orchestra/verify-{}-base", run.batch_id);
        let scratch = git_merge::integration_worktree(
            &run.repo,
            &self.sup.config().worktree_dir,
            &format!("verify-{}-base", run.batch_id),
        );
        let (repo, commit) = (run.repo.clone(), commit.to_owned());
        let (env, command, timeout) = (
            run.env.clone(),
            run.verify.command.clone(),
            Duration::from_secs(run.timeout_s),
        );
        let log = self.log_path(&run.batch_id, "base");
        crate::supervisor::blocking("checking the base", move || {
            let _ = git_merge::discard(&repo, &branch, &scratch);
            let placed = git_merge::place(&repo, &branch, &commit, &scratch);
            let checked = match placed {
                Ok(()) => verify::run(&command, &scratch, &env, timeout, &log),
                Err(err) => CheckRun {
                    reason: format!("cannot check out the base: {err}"),
                    exit_code: -1,
                    ..CheckRun::default()
                },
            };
            let _ = git_merge::discard(&repo, &branch, &scratch);
            checked
        })
        .await
    }

    /// Runs the check in `worktree`.
    async fn check_in(
        &self,
        run: &MergeRun,
        worktree: PathBuf,
        log: PathBuf,
    ) -> Result<CheckRun, SupervisorError> {
        let (env, command, timeout) = (
            run.env.clone(),
            run.verify.command.clone(),
            Duration::from_secs(run.timeout_s),
        );
        crate::supervisor::blocking("verifying the merge", move || {
            verify::run(&command, &worktree, &env, timeout, &log)
        })
        .await
    }

    /// Where a verification's whole output goes.
    fn log_path(&self, batch_id: &str, what: &str) -> PathBuf {
        verify::log_path(&self.logs_dir, batch_id, what)
    }

    /// Changes the stored run with `change`, saves it (flushed), and says so.
    async fn save_with(
        &self,
        batch_id: &str,
        change: impl FnOnce(&mut MergeRun),
    ) -> Result<(), SupervisorError> {
        let mut run = self.run_of(batch_id)?.unwrap_or_default();
        change(&mut run);
        run.updated_at_ms = now_ms();
        self.runs.put_or_queue(batch_id, &run)?;
        self.runs.store().flush_or_queue().await?;
        let _ = self.run_changes.send(batch_id.to_owned());
        Ok(())
    }

    /// Tells the user how the run ended.
    fn tell(&self, run: &MergeRun) {
        if let Some(notifier) = self.notifier.get() {
            notifier.notify(crate::notify::NotifyInput::BatchVerified {
                batch_id: run.batch_id.clone(),
                project_path: run.repo.display().to_string(),
                green: run.state == RunState::Green,
                culprit: run.verify.culprit_agent_id.clone(),
                reason: run.reason.clone(),
            });
        }
    }
}

impl MergeRun {
    /// The number of the last round of repair, 0 before any.
    fn last_round(&self) -> u32 {
        self.rounds.iter().map(|r| r.round).max().unwrap_or(0)
    }

    /// Repair rounds still allowed.
    fn rounds_left(&self) -> u32 {
        self.repair_rounds.saturating_sub(self.last_round())
    }

    /// Records a run of the check on the verification; its whole output is in the log
    /// of `what` (`base`, `verify`).
    fn record_check(&mut self, checked: &CheckRun, log: &Path) {
        self.verify.state = if checked.green { "green" } else { "red" }.to_owned();
        self.verify.exit_code = checked.exit_code;
        self.verify.duration_s = checked.duration_s;
        self.verify.output_tail = checked.tail.clone();
        self.verify.reason = checked.reason.clone();
        self.verify.log_path = log.display().to_string();
        self.verify.verifications += 1;
    }
}
