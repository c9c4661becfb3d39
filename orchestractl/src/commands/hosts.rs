//! `orchestractl hosts add|list|remove|check`: the other machines whose daemons `--host`
//! and `--hosts` reach, kept in `hosts.json` beside `config.json`.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::bail;
use orchestra_proto::remote::{self, Host, HostsFile};
use orchestra_proto::v1::StatusRequest;
use serde::Serialize;

use crate::cli::{HostsAddArgs, HostsCommand};
use crate::client::{Client, Ctx};
use crate::output;

/// How long `hosts list` and `hosts check` wait for one host.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// One host as `hosts list --json` shows it (the field names are a contract).
#[derive(Debug, Serialize)]
pub struct HostState {
    /// The host's name.
    name: String,
    /// `[user@]host[:port]`.
    target: String,
    /// The command that replaces ssh, if any.
    command: Option<String>,
    /// `up`, `unreachable`, `version_mismatch` or `same_daemon` (this machine's own).
    state: &'static str,
    /// The remote orchestrad's version (empty when it did not answer).
    version: String,
    /// Round trip of one `Status` call on the open connection, in milliseconds.
    latency_ms: Option<u64>,
    /// Agents running or queued there.
    agents: Option<u64>,
    /// Why the host is not up, and what to try (empty when up).
    error: String,
    /// Which daemon answered (pid, state dir, start time), to tell this machine's own.
    #[serde(skip)]
    identity: Option<(u32, String, i64)>,
}

/// Runs one `hosts` subcommand.
pub async fn run(ctx: &Ctx, cmd: HostsCommand) -> anyhow::Result<ExitCode> {
    let path = remote::hosts_file();
    match cmd {
        HostsCommand::Add(args) => add(ctx, &path, args).await,
        HostsCommand::List => {
            let file = HostsFile::load(&path)?;
            let mut states = probe_all(&file.hosts).await;
            mark_this_machines_own(ctx, &mut states).await;
            ctx.answer(&states, || {
                if states.is_empty() {
                    println!(
                        "no hosts yet; add one with `orchestractl hosts add NAME [user@]host`"
                    );
                } else {
                    print_table(&states);
                }
                Ok(())
            })
        }
        HostsCommand::Remove(args) => {
            let mut file = HostsFile::load(&path)?;
            file.get(&args.name)?;
            file.hosts.retain(|h| h.name != args.name);
            file.default_hosts.retain(|h| *h != args.name);
            file.save(&path)?;
            ctx.answer(&serde_json::json!({ "removed": args.name }), || {
                println!(
                    "removed host {} (its daemon and agents are left alone)",
                    args.name
                );
                Ok(())
            })
        }
        HostsCommand::Check(args) => {
            let file = HostsFile::load(&path)?;
            let hosts = match &args.name {
                Some(name) => vec![file.get(name)?.clone()],
                None => file.hosts.clone(),
            };
            if hosts.is_empty() {
                bail!("no hosts to check; add one with `orchestractl hosts add NAME [user@]host`");
            }
            let mut states = probe_all(&hosts).await;
            mark_this_machines_own(ctx, &mut states).await;
            let code = if states.iter().all(|s| s.state == "up") {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            };
            ctx.answer_with(code, &states, || {
                for s in &states {
                    if s.state == "up" {
                        println!(
                            "{}: up, orchestrad {}, {} ms, {} agent(s) running",
                            s.name,
                            s.version,
                            s.latency_ms.unwrap_or(0),
                            s.agents.unwrap_or(0)
                        );
                    } else {
                        // Not "check it with hosts check": that is what ran.
                        println!("{}: {}: {}", s.name, s.state, without_check_hint(s));
                    }
                }
                Ok(())
            })
        }
    }
}

/// `hosts add`: validates, refuses a second host of the same name, checks that the host
/// answers (unless `--no-check`), then saves.
async fn add(ctx: &Ctx, path: &std::path::Path, args: HostsAddArgs) -> anyhow::Result<ExitCode> {
    let host = Host {
        name: args.name,
        target: args.target,
        command: args.command,
    };
    remote::validate_new(&host).map_err(anyhow::Error::msg)?;
    let mut file = HostsFile::load(path)?;
    if file.get(&host.name).is_ok() {
        bail!(
            "a host named {} exists already: remove it first with `orchestractl hosts remove {}`",
            host.name,
            host.name
        );
    }
    let state = if args.no_check {
        None
    } else {
        let mut state = probe(&host).await;
        mark_this_machines_own(ctx, std::slice::from_mut(&mut state)).await;
        if state.state == "same_daemon" {
            bail!("{}\nnothing was saved", state.error);
        }
        if state.state != "up" {
            let how = match &host.command {
                Some(command) => format!("run `{command}` by hand to see why"),
                None => format!("try `ssh {}` by hand to see why", host.target),
            };
            // The error's own hint (`hosts check NAME`) is for a saved host; this one
            // is not saved.
            bail!(
                "{}\nnothing was saved: {how}, or add --no-check to save the host anyway",
                without_check_hint(&state)
            );
        }
        Some(state)
    };
    file.hosts.push(host.clone());
    file.save(path)?;
    ctx.answer(&host, || {
        match &state {
            Some(s) => println!(
                "added host {}: orchestrad {}, {} ms; try `orchestractl status --hosts all`",
                host.name,
                s.version,
                s.latency_ms.unwrap_or(0)
            ),
            None => println!(
                "added host {} (not checked; `orchestractl hosts check {}` tries it)",
                host.name, host.name
            ),
        }
        Ok(())
    })
}

/// Every host's state, asked at once.
async fn probe_all(hosts: &[Host]) -> Vec<HostState> {
    futures::future::join_all(hosts.iter().map(probe)).await
}

/// A host's error without its closing hint to run `hosts check` (for where that is what
/// ran, or the host is not saved).
fn without_check_hint(state: &HostState) -> &str {
    let hint = format!("; check it with `orchestractl hosts check {}`", state.name);
    state.error.trim_end_matches(hint.as_str())
}

/// A host whose command reaches this machine's own daemon (as `env HOME=… orchestractl
/// proxy` does while `XDG_RUNTIME_DIR` or `ORCHESTRA_SOCKET` still names this one's socket)
/// would show every agent twice and answer approvals here: it is marked `same_daemon`, with
/// what to change.
async fn mark_this_machines_own(ctx: &Ctx, states: &mut [HostState]) {
    if ctx.host.is_some() {
        return;
    }
    let Ok(Some(client)) = ctx.try_connect().await else {
        return;
    };
    let Ok(own) = client.daemon().status(StatusRequest {}).await else {
        return;
    };
    let own = own.into_inner();
    let own = (own.pid, own.state_dir, own.started_at_ms);
    for state in states.iter_mut() {
        if state.identity.as_ref() == Some(&own) {
            state.state = "same_daemon";
            state.error = format!(
                "its command reaches this machine's own daemon (pid {}, state in {}), not \
                 another one: for a second daemon here, clear what points at this one's socket, \
                 as in `env -u XDG_RUNTIME_DIR -u ORCHESTRA_SOCKET HOME=/other/home orchestractl \
                 proxy`",
                own.0, own.1
            );
        }
    }
}

/// Connects to `host` and times one `Status` round trip on the open connection.
async fn probe(host: &Host) -> HostState {
    let mut state = HostState {
        name: host.name.clone(),
        target: host.target.clone(),
        command: host.command.clone(),
        state: "unreachable",
        version: String::new(),
        latency_ms: None,
        agents: None,
        error: String::new(),
        identity: None,
    };
    let client = match Client::connect_host(host, PROBE_TIMEOUT).await {
        Ok(client) => client,
        Err(err) => {
            state.state = err.state();
            if let remote::HostError::ProtocolMismatch { version, .. } = &err {
                state.version.clone_from(version);
            }
            state.error = err.to_string();
            return state;
        }
    };
    let started = Instant::now();
    match tokio::time::timeout(PROBE_TIMEOUT, client.daemon().status(StatusRequest {})).await {
        Ok(Ok(status)) => {
            let status = status.into_inner();
            state.state = "up";
            state.version = status.version;
            state.latency_ms = Some(started.elapsed().as_millis() as u64);
            state.agents = Some(status.agents_running + status.agents_queued);
            state.identity = Some((status.pid, status.state_dir, status.started_at_ms));
        }
        Ok(Err(status)) => state.error = format!("it stopped answering: {}", status.message()),
        Err(_) => state.error = "it stopped answering".to_owned(),
    }
    state
}

fn print_table(states: &[HostState]) {
    let rows: Vec<Vec<String>> = states
        .iter()
        .map(|s| {
            vec![
                s.name.clone(),
                s.state.to_owned(),
                s.version.clone(),
                s.latency_ms.map_or("-".into(), |ms| format!("{ms} ms")),
                s.agents.map_or("-".into(), |n| n.to_string()),
                // A long command is cut in the table (`--json` has it whole).
                output::truncate(&s.command.clone().unwrap_or_else(|| s.target.clone()), 60),
            ]
        })
        .collect();
    output::table(
        &[
            "NAME",
            "STATE",
            "VERSION",
            "LATENCY",
            "AGENTS",
            "REACHED BY",
        ],
        &rows,
    );
    for s in states.iter().filter(|s| !s.error.is_empty()) {
        println!("\n{}: {}", s.name, s.error);
    }
}
