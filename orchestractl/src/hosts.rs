//! Other machines from the command line: the connection `--host NAME` makes, and the
//! fan-out of `--hosts` (ask each host at once, tag each row with its `host`, say which
//! hosts did not answer without failing the ones that did).

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use orchestra_proto::remote::{self, HostsFile, LOCAL};
use serde::Serialize;

use crate::cli::HostsArg;
use crate::client::{Client, Ctx};

/// How long one host of a merged answer may take to connect: a merged command must answer
/// for the hosts that are up without waiting long on one that is off.
const FANOUT_CONNECT: Duration = Duration::from_secs(5);
/// How long one host's call of a merged answer may take once connected.
const FANOUT_CALL: Duration = Duration::from_secs(120);

/// Reads `hosts.json`.
pub fn load() -> anyhow::Result<HostsFile> {
    Ok(HostsFile::load(&remote::hosts_file())?)
}

/// The hosts a merging command asks: `None` for the usual single daemon (no `host` on
/// rows), else the names (`local` for this machine) from `--hosts` or `default_hosts`.
pub fn selected(ctx: &Ctx, arg: &HostsArg) -> anyhow::Result<Option<Vec<String>>> {
    if ctx.host.is_some() {
        if !arg.names.is_empty() {
            bail!("choose one of --host (one machine) and --hosts (several, merged)");
        }
        return Ok(None);
    }
    let file = match load() {
        Ok(file) => file,
        // Asked for hosts: the file is needed. Otherwise it only says whether to merge by
        // default (`default_hosts`), and a broken one must not stop a look at this machine.
        Err(err) if arg.names.is_empty() => {
            eprintln!(
                "orchestractl: warning: {}; showing this machine only",
                crate::describe(&err)
            );
            return Ok(None);
        }
        Err(err) => return Err(err),
    };
    let spec = if arg.names.is_empty() {
        file.default_hosts.clone()
    } else {
        arg.names.clone()
    };
    if spec.is_empty() {
        return Ok(None);
    }
    Ok(Some(file.select(&spec)?))
}

/// Runs `call` against every host in `names` at once. Returns the answers of the hosts
/// that gave one, in the order of `names`; each other host is named on stderr with why.
pub async fn each<T, F, Fut>(
    ctx: &Ctx,
    names: &[String],
    call: F,
) -> anyhow::Result<Vec<(String, T)>>
where
    F: Fn(Client) -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    let file = load()?;
    let asks = names.iter().map(|name| {
        let call = &call;
        let file = &file;
        async move {
            // A failed connection to another host names the host already; anything else
            // (this machine's daemon, or a host's own answer) gets its name in front.
            let named = |err: anyhow::Error| format!("host {name}: {}", crate::describe(&err));
            let client = if name == LOCAL {
                ctx.connect().await.map_err(named)
            } else {
                match file.get(name) {
                    Ok(host) => Client::connect_host(host, FANOUT_CONNECT)
                        .await
                        .map_err(|err| err.to_string()),
                    Err(err) => Err(err.to_string()),
                }
            };
            let answer = match client {
                Ok(client) => match tokio::time::timeout(FANOUT_CALL, call(client)).await {
                    Ok(answer) => answer.map_err(named),
                    Err(_) => Err(format!(
                        "host {name}: no answer within {} s",
                        FANOUT_CALL.as_secs()
                    )),
                },
                Err(err) => Err(err),
            };
            (name.clone(), answer)
        }
    });
    let mut answered = Vec::new();
    for (name, answer) in futures::future::join_all(asks).await {
        match answer {
            Ok(value) => answered.push((name, value)),
            Err(why) => eprintln!("orchestractl: warning: {why}"),
        }
    }
    if answered.is_empty() && !names.is_empty() {
        bail!("no host answered (see the warnings above)");
    }
    Ok(answered)
}

/// `value` as JSON with `"host": host` added (an object gets the field; anything else is
/// wrapped as `{"host", "value"}`).
pub fn tagged<T: Serialize + ?Sized>(host: &str, value: &T) -> anyhow::Result<serde_json::Value> {
    let value = serde_json::to_value(value).context("encoding an answer as JSON")?;
    Ok(match value {
        serde_json::Value::Object(mut map) => {
            map.insert("host".to_owned(), host.into());
            serde_json::Value::Object(map)
        }
        other => serde_json::json!({ "host": host, "value": other }),
    })
}

/// Every row of every host's answer, tagged with its host: the merged `--json` list.
pub fn merged_rows<T: Serialize>(
    answers: &[(String, Vec<T>)],
) -> anyhow::Result<Vec<serde_json::Value>> {
    let mut rows = Vec::new();
    for (host, items) in answers {
        for item in items {
            rows.push(tagged(host, item)?);
        }
    }
    Ok(rows)
}

/// Prints merged answers: with `--json` one list of every row tagged with its host,
/// else each host's part under its heading, drawn by `table` (or `empty` when it has none).
pub fn show<T: Serialize>(
    ctx: &Ctx,
    answers: &[(String, Vec<T>)],
    empty: &str,
    table: impl Fn(&[T]),
) -> anyhow::Result<ExitCode> {
    if ctx.json {
        crate::output::json(&merged_rows(answers)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    for (host, rows) in answers {
        println!("{}", heading(host));
        if rows.is_empty() {
            println!("{empty}");
        } else {
            table(rows);
        }
        println!();
    }
    Ok(ExitCode::SUCCESS)
}

/// The header a merged table puts above one host's part.
pub fn heading(host: &str) -> String {
    format!("== {host} ==")
}

/// An approval id this machine's daemon does not know may wait on another host: with hosts
/// added (and no `--host` given), the error says where to look and how to answer there.
pub fn approval_elsewhere(ctx: &Ctx, status: tonic::Status, verb: &str) -> anyhow::Error {
    if status.code() != tonic::Code::NotFound || ctx.host.is_some() {
        return status.into();
    }
    let Some(first) = load()
        .ok()
        .and_then(|file| file.hosts.first().map(|h| h.name.clone()))
    else {
        return status.into();
    };
    let args = if verb == "answer" { "ID TEXT" } else { "ID" };
    anyhow::anyhow!(
        "{}; if it waits on another machine, find it with `orchestractl approvals --hosts all` \
         and answer there, as in `orchestractl --host {first} {verb} {args}`",
        status.message()
    )
}
