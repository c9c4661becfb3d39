//! Accepting tasks and starting runs: the worktree, the command line, the shim.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::agent::{AgentRecord, AgentState};
use super::shim::{self, Spec};
use super::{SpawnOptions, Supervisor, SupervisorError, monitor, new_id, repo_of};
use crate::config::PERMISSION_MODES;
use crate::time::now_ms;
use crate::worktree;

/// How long a new shim has to report its child's pid.
const SHIM_START_TIMEOUT: Duration = Duration::from_secs(10);

/// Set in every agent's environment to the agent's id.
pub const AGENT_ENV: &str = "ORCHESTRA_AGENT_ID";

impl Supervisor {
    /// Accepts `tasks`: each is persisted as `queued` before this returns; the scheduler
    /// starts as many as `parallel` allows. With `sandbox` (or the config's `sandbox`)
    /// their shell commands run in Claude Code's sandbox, and a machine that cannot
    /// sandbox refuses the spawn rather than run them unconfined.
    pub async fn spawn(
        self: &Arc<Self>,
        tasks: Vec<String>,
        options: SpawnOptions,
        sandbox: bool,
    ) -> Result<Vec<AgentRecord>, SupervisorError> {
        let tasks: Vec<String> = tasks.into_iter().filter(|t| !t.trim().is_empty()).collect();
        if tasks.is_empty() {
            return Err(SupervisorError::Invalid(
                "give at least one task, like: orchestractl spawn \"write tests for the parser\""
                    .to_owned(),
            ));
        }
        if !options.permission_mode.is_empty()
            && !PERMISSION_MODES.contains(&options.permission_mode.as_str())
        {
            return Err(SupervisorError::Invalid(format!(
                "unknown permission mode {:?}: use one of {}",
                options.permission_mode,
                PERMISSION_MODES.join(", ")
            )));
        }
        super::budget::check_cap("--max-budget-usd", options.max_budget_usd)?;
        super::budget::check_cap("--batch-max-budget-usd", options.batch_max_budget_usd)?;
        self.claude_program(&options.env)?;
        if let Some(refused) = self.store.refuses_writes() {
            // Nothing is started that could not be recorded.
            return Err(refused.into());
        }
        let config = &self.settings.config;
        let sandbox = sandbox || config.sandbox;
        if sandbox
            && let Some(problem) =
                crate::sandbox::check(options.env.get("PATH").map(|p| p.as_ref())).problem()
        {
            return Err(SupervisorError::Precondition(format!(
                "cannot sandbox agents here (asked by {}): {problem}; or spawn without it",
                if config.sandbox {
                    "sandbox in the config"
                } else {
                    "--sandbox"
                }
            )));
        }
        let repo = repo_of(&options.repo)?;
        let base_commit = if options.no_worktree {
            worktree::resolve_base(&repo, &options.base).unwrap_or_default()
        } else {
            worktree::resolve_base(&repo, &options.base)?
        };
        let parallel = if options.parallel == 0 {
            config.default_parallel
        } else {
            options.parallel
        };
        let allowed_tools = if options.allowed_tools.is_empty() {
            config.bypass_permissions.clone()
        } else {
            options.allowed_tools.clone()
        };
        let after = self.predecessor(&options.after, &repo)?;
        let batch_id = new_id();
        let created = now_ms();
        let mut slugs: Vec<String> = Vec::new();
        let mut records = Vec::new();
        for (i, task) in tasks.iter().enumerate() {
            let id = new_id();
            let (slug, cwd, branch) = if options.no_worktree {
                (worktree::slugify(task), repo.clone(), String::new())
            } else {
                let slug = worktree::unique_slug(&repo, &config.worktree_dir, task, &slugs)?;
                let path = worktree::worktree_base(&repo, &config.worktree_dir)
                    .join(format!("task-{slug}"));
                let branch = format!("orchestra/{slug}");
                slugs.push(slug.clone());
                (slug, path, branch)
            };
            let record = AgentRecord {
                id: id.clone(),
                task: task.clone(),
                slug,
                state: AgentState::Queued,
                activity: "queued".to_owned(),
                repo: repo.clone(),
                cwd,
                branch,
                base_ref: if options.base.is_empty() {
                    "HEAD".to_owned()
                } else {
                    options.base.clone()
                },
                base_commit: base_commit.clone(),
                worktree: !options.no_worktree,
                // Keep the order of the tasks even within one millisecond.
                created_at_ms: created + i as i64,
                log_path: self.agent_dir(&id).output(),
                model: options.model.clone(),
                permission_mode: if options.permission_mode.is_empty() {
                    config.agent_permission_mode.clone()
                } else {
                    options.permission_mode.clone()
                },
                allowed_tools: allowed_tools.clone(),
                max_budget_usd: if options.max_budget_usd > 0.0 {
                    options.max_budget_usd
                } else {
                    config.default_max_budget_usd
                },
                batch_max_budget_usd: options.batch_max_budget_usd,
                batch_id: batch_id.clone(),
                parallel,
                pending_input: vec![task.clone()],
                after: after.clone(),
                sandbox,
                ..AgentRecord::default()
            };
            records.push(record);
        }
        if !options.no_siblings {
            super::chain::tell_siblings(&mut records);
        }
        for record in std::mem::take(&mut records) {
            records.push(self.insert(record, options.env.clone()).await?);
        }
        self.schedule().await;
        let ids: Vec<String> = records.iter().map(|r| r.id.clone()).collect();
        Ok(ids.iter().filter_map(|id| self.resolve(id).ok()).collect())
    }

    /// The Claude Code program: `claude_command` as a path, or looked up on the caller's
    /// `PATH` (then the daemon's).
    pub fn claude_program(
        &self,
        env: &std::collections::BTreeMap<String, String>,
    ) -> Result<PathBuf, SupervisorError> {
        let command = &self.settings.config.claude_command;
        let not_found = || {
            SupervisorError::Precondition(format!(
                "Claude Code not found (claude_command is {command:?}): install it with \
                 `npm install -g @anthropic-ai/claude-code`, or set claude_command in {} \
                 and run `orchestractl daemon restart`",
                self.settings.config_path.display()
            ))
        };
        if command.contains('/') {
            let path = PathBuf::from(command);
            return if is_executable(&path) {
                Ok(path)
            } else {
                Err(not_found())
            };
        }
        on_path(env, command).ok_or_else(not_found)
    }
}

impl Supervisor {
    /// The `orchestractl` that serves as an agent's MCP bridge: the one beside this
    /// daemon's binary (installed together, so they speak the same protocol), else the
    /// first on the agent's `PATH`, else the bare name (its MCP server then shows as
    /// failed in `system/init`, and the agent runs without it).
    pub fn mcp_bridge(&self, env: &std::collections::BTreeMap<String, String>) -> PathBuf {
        let beside = self.settings.orchestrad_exe.with_file_name("orchestractl");
        if is_executable(&beside) {
            return beside;
        }
        on_path(env, "orchestractl").unwrap_or_else(|| PathBuf::from("orchestractl"))
    }
}

/// The first executable `name` on the agent's `PATH` (`env`), else on the daemon's.
fn on_path(env: &std::collections::BTreeMap<String, String>, name: &str) -> Option<PathBuf> {
    let path_var = env
        .get("PATH")
        .cloned()
        .or_else(|| std::env::var("PATH").ok())
        .unwrap_or_default();
    std::env::split_paths(&path_var)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Files beside an agent's other files that hold what Claude Code gets besides its
/// arguments: text too long or too private for a command line, which every local user
/// can read in `ps` and which has a size limit.
struct RunFiles {
    /// Its appended system prompt (the other tasks of its batch), if any.
    system_prompt: Option<PathBuf>,
    /// Its `--settings` (the sandbox), if any.
    settings: Option<PathBuf>,
    /// Its `--mcp-config`: the `orchestra` server (with the agent's secret) and the
    /// user's own servers.
    mcp_config: PathBuf,
    /// Whether a repository's `.mcp.json` servers may start too (no `--strict-mcp-config`).
    repo_mcp_servers: bool,
}

impl RunFiles {
    /// Writes the files agent `agent` needs into its directory `dir`, each `0600`.
    fn write(
        dir: &Path,
        agent: &AgentRecord,
        config: &crate::config::Config,
        mcp_config: &serde_json::Value,
        hidden: &[PathBuf],
    ) -> Result<RunFiles, String> {
        let write = |name: &str, bytes: &[u8]| {
            let path = dir.join(name);
            orchestra_proto::fs::replace_with_mode(&path, bytes, 0o600)
                .map(|()| path)
                .map_err(|err| err.to_string())
        };
        let system_prompt = if agent.system_prompt.is_empty() {
            None
        } else {
            Some(write("system-prompt.md", agent.system_prompt.as_bytes())?)
        };
        let settings = if agent.sandbox {
            let settings = crate::sandbox::settings(&config.sandbox_allowed_domains, hidden);
            Some(write("settings.json", settings.to_string().as_bytes())?)
        } else {
            None
        };
        let mcp_config = write("mcp-config.json", mcp_config.to_string().as_bytes())?;
        Ok(RunFiles {
            system_prompt,
            settings,
            mcp_config,
            repo_mcp_servers: config.repo_mcp_servers,
        })
    }
}

/// The Claude Code arguments for a run of `agent`. No text of a task goes here: tasks
/// reach Claude Code on stdin, and the rest in [`RunFiles`].
///
/// `budget` is the CLI's own `--max-budget-usd`: the nearest cap's headroom (see
/// [`Supervisor::cli_budget`]), so that the CLI stops a long turn right after the request
/// that reaches it, never before.
fn claude_args(agent: &AgentRecord, files: &RunFiles, budget: Option<f64>) -> Vec<String> {
    let mut args: Vec<String> = [
        "-p",
        "--output-format",
        "stream-json",
        "--verbose",
        "--input-format",
        "stream-json",
        // Each message echoed when it is taken: the shim's sign that none is left over.
        "--replay-user-messages",
    ]
    .map(str::to_owned)
    .to_vec();
    let mut flag = |name: &str, value: &str| {
        args.push(name.to_owned());
        args.push(value.to_owned());
    };
    if !agent.resume_session.is_empty() {
        flag("--resume", &agent.resume_session);
    }
    // `--mcp-config` takes several values: the next argument is a flag, so it ends here.
    flag("--mcp-config", &files.mcp_config.display().to_string());
    if !files.repo_mcp_servers {
        // Only the servers of our config: without this, print mode also starts the
        // repository's `.mcp.json` servers without asking (the user's own servers are in
        // our config, see `claude::mcp::agent_config`).
        args.push("--strict-mcp-config".to_owned());
    }
    let mut flag = |name: &str, value: &str| {
        args.push(name.to_owned());
        args.push(value.to_owned());
    };
    flag("--allowedTools", crate::claude::mcp::ALLOW_RULE);
    if !agent.model.is_empty() {
        flag("--model", &agent.model);
    }
    if !agent.permission_mode.is_empty() {
        flag("--permission-mode", &agent.permission_mode);
    }
    for tool in &agent.allowed_tools {
        flag("--allowedTools", tool);
    }
    // Whatever is not allowed asks over stdio (see `approval.rs`) instead of being refused.
    flag("--permission-prompt-tool", "stdio");
    if let Some(budget) = budget {
        // The CLI refuses 0 ("must be a number greater than 0"); a run is never started
        // with nothing left, so this only guards against rounding.
        flag("--max-budget-usd", &cli_dollars(budget));
    }
    // A hidden flag of Claude Code's (`help-2.1.330.txt`), the file twin of
    // `--append-system-prompt`.
    if let Some(path) = &files.system_prompt {
        flag("--append-system-prompt-file", &path.display().to_string());
    }
    if let Some(path) = &files.settings {
        flag("--settings", &path.display().to_string());
    }
    args
}

/// The cost a `--resume` run of agent `id` will restore from its session: the session
/// file's last `cost-state` total (2.1.330 on), 0 when there is none or no resume.
async fn restored_cost(sup: &Arc<Supervisor>, id: &str) -> f64 {
    let Some(resume) = sup.peek(id, |a| a.resume_session.clone()) else {
        return 0.0;
    };
    if resume.is_empty() {
        return 0.0;
    }
    let Ok(session) = sup.sessions.resolve(&resume) else {
        return 0.0;
    };
    let path = session.file_path;
    tokio::task::spawn_blocking(move || crate::sessions::parse::last_cli_cost(&path))
        .await
        .ok()
        .flatten()
        .unwrap_or(0.0)
}

/// Starts a run of agent `id`: records the intent, prepares the worktree, writes the spec
/// and starts the shim. Failures end the agent as `failed` with the reason.
pub async fn start(sup: &Arc<Supervisor>, id: &str) {
    // A cap below what was spent already pauses at once, before any request is made.
    if let Some(cap) = sup.peek(id, Clone::clone).and_then(|a| sup.reached(&a)) {
        tracing::info!(
            agent = id,
            scope = cap.scope.as_str(),
            "at its cap before a run; paused"
        );
        sup.pause_at(id, cap).await;
        return;
    }
    let restored = restored_cost(sup, id).await;
    let intent = sup
        .update(id, |a| {
            a.state = AgentState::Starting;
            a.activity = "starting".to_owned();
            a.started_at_ms = now_ms();
            a.ended_at_ms = 0;
            a.exit_code = None;
            a.pid = 0;
            a.error.clear();
            a.stop_requested = false;
            a.cost_before_run = a.total_cost_usd;
            a.cost_restored_usd = restored;
            a.runs += 1;
        })
        .await;
    let agent = match intent {
        Ok(agent) => agent,
        Err(err) => {
            tracing::error!(agent = id, %err, "cannot record the start of an agent");
            return;
        }
    };
    let prepared = {
        let sup = sup.clone();
        let agent = agent.clone();
        tokio::task::spawn_blocking(move || prepare_and_launch(&sup, &agent)).await
    };
    let outcome = match prepared {
        Ok(outcome) => outcome,
        Err(err) => Err(format!("internal error while starting: {err}")),
    };
    match outcome {
        Ok((pid, delivered)) => {
            super::logged(
                sup.update(id, |a| {
                    a.pid = pid;
                    a.pending_input.clear();
                    if a.state == AgentState::Starting {
                        a.activity = "started".to_owned();
                    }
                })
                .await,
            );
            sup.delivered_with_input(&delivered);
            monitor::spawn(sup, id);
            // Messages sent while it started: its process takes input now.
            sup.deliver_waiting(id).await;
        }
        Err(error) => {
            tracing::warn!(agent = id, %error, "agent failed to start");
            super::logged(
                sup.update(id, |a| {
                    a.state = AgentState::Failed;
                    a.activity = "failed to start".to_owned();
                    a.error = error;
                    a.ended_at_ms = now_ms();
                })
                .await,
            );
            sup.schedule().await;
        }
    }
}

/// The blocking part of a start. Returns the Claude process's pid and the messages that
/// went in with its input.
fn prepare_and_launch(sup: &Supervisor, agent: &AgentRecord) -> Result<(u32, Vec<String>), String> {
    let config = &sup.settings.config;
    if agent.worktree {
        worktree::create(
            &agent.repo,
            &config.worktree_dir,
            &agent.slug,
            &agent.base_commit,
            &agent.cwd,
        )
        .map_err(|err| err.to_string())?;
    } else if !agent.cwd.is_dir() {
        return Err(format!("{} no longer exists", agent.cwd.display()));
    }
    let env = sup.env_of(&agent.id);
    let program = sup.claude_program(&env).map_err(|err| err.to_string())?;
    let dir = sup.agent_dir(&agent.id);
    crate::lifecycle::create_private_dir(&dir.0).map_err(|err| err.to_string())?;
    // A previous run's records must not be mistaken for this one's.
    for stale in [dir.exit(), dir.info()] {
        let _ = std::fs::remove_file(stale);
    }
    let token = sup.mcp_token(&agent.id)?;
    let mcp_config =
        crate::claude::mcp::agent_config(&sup.mcp_bridge(&env), &token, &sup.settings.socket, &env);
    let state_dir = sup
        .settings
        .agents_dir
        .parent()
        .unwrap_or(&sup.settings.agents_dir);
    let hidden = crate::sandbox::hidden_dirs(
        state_dir,
        &sup.settings.config_path,
        &sup.settings.socket,
        &agent.cwd,
    );
    let files = RunFiles::write(&dir.0, agent, config, &mcp_config, &hidden)?;
    let messages = sup.waiting_input(&agent.id);
    let spec = Spec {
        program,
        args: claude_args(agent, &files, sup.cli_budget(agent)),
        cwd: agent.cwd.clone(),
        env: env
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            // Tells `orchestractl hook permission-request` it runs inside one of our agents,
            // which asks over stdio already, so that nothing is asked twice.
            .chain([(AGENT_ENV.to_owned(), agent.id.clone())])
            .collect(),
        input: agent
            .pending_input
            .iter()
            .chain(messages.iter().map(|(_, text)| text))
            .map(|m| crate::claude::stream_json::user_message(m))
            .collect(),
    };
    shim::write_json(&dir.spec(), &spec)
        .map_err(|err| format!("cannot write {}: {err}", dir.spec().display()))?;
    let mut child = std::process::Command::new(&sup.settings.orchestrad_exe)
        .arg("shim")
        .arg(&dir.0)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|err| {
            format!(
                "cannot run the agent shim {}: {err}",
                sup.settings.orchestrad_exe.display()
            )
        })?;
    // Reap the shim when it exits while we live; after we die, init adopts it.
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    let deadline = std::time::Instant::now() + SHIM_START_TIMEOUT;
    loop {
        if let Some(info) = dir.read_info() {
            return Ok((
                info.child_pid,
                messages.into_iter().map(|(id, _)| id).collect(),
            ));
        }
        if let Some(exit) = dir.read_exit() {
            let stderr = std::fs::read_to_string(dir.stderr()).unwrap_or_default();
            return Err(format!(
                "Claude Code could not start (exit {:?}): {}",
                exit.code,
                stderr.trim()
            ));
        }
        if std::time::Instant::now() > deadline {
            return Err("the agent shim did not start within 10 s".to_owned());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A budget for Claude Code's `--max-budget-usd`: rounded up to a millionth of a dollar, as
/// the model is told it (`19.568`, not `19.567999999999998`), and never 0, which the CLI
/// refuses ("must be a number greater than 0").
fn cli_dollars(budget: f64) -> String {
    // The factor keeps float noise (0.0001 * 1e6 = 100.00000000000001) from rounding up.
    let micros = (budget.max(1e-6) * 1e6 * (1.0 - 1e-12)).ceil();
    let text = format!("{:.6}", micros / 1e6);
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_go_to_the_cli_as_short_dollars_never_below_nor_zero() {
        assert_eq!(cli_dollars(19.567999999999998), "19.568");
        assert_eq!(cli_dollars(0.0001), "0.0001");
        assert_eq!(cli_dollars(1.0000001), "1.000001");
        assert_eq!(cli_dollars(2.0), "2");
        assert_eq!(cli_dollars(0.0), "0.000001");
    }

    #[test]
    fn agents_get_our_mcp_config_and_a_repositorys_servers_only_when_allowed() {
        let agent = AgentRecord::default();
        let mut files = RunFiles {
            system_prompt: None,
            settings: None,
            mcp_config: PathBuf::from("/state/agents/a1/mcp-config.json"),
            repo_mcp_servers: false,
        };
        let args = claude_args(&agent, &files, None);
        let at = args
            .iter()
            .position(|a| a == "--mcp-config")
            .expect("--mcp-config");
        assert_eq!(args[at + 1], "/state/agents/a1/mcp-config.json");
        assert!(
            args[at + 2].starts_with("--"),
            "a flag ends the variadic --mcp-config: {args:?}"
        );
        assert!(args.contains(&"--strict-mcp-config".to_owned()));
        assert!(
            args.windows(2)
                .any(|w| w[0] == "--allowedTools" && w[1] == "mcp__orchestra__*"),
            "{args:?}"
        );
        files.repo_mcp_servers = true;
        assert!(!claude_args(&agent, &files, None).contains(&"--strict-mcp-config".to_owned()));
    }
}
