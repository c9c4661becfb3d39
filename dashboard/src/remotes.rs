//! Other machines' daemons on this page: one task per host of `hosts.json` (followed
//! while the page runs: `hosts add` and `remove` take effect within seconds) keeps a
//! connection open (through the host's command, as `orchestractl --host` does), relays
//! its agent, approval and notification events into the [`Hub`] with the host's name on
//! each, and says when the host goes up or away. A lost host is tried again with backoff
//! (1 s doubling to 30 s); nothing on the page waits for it.
//!
//! An approval answered on the page names its host, and goes there ([`Remotes::client_of`]);
//! so do an agent's buttons.
//!
//! A host's notifications are relayed to this machine's daemon (`Notify.Relay`), which
//! sends them through its own channels with the host in the title: a phone paired here
//! gets Web Push for an approval there, and the page hears it back through this daemon's
//! `Watch`, like any other. Only when this daemon cannot relay (an older one) does the
//! page get it straight.

use std::sync::Arc;
use std::time::Duration;

use orchestra_proto::Client;
use orchestra_proto::remote::{self, Host, HostsFile};
use orchestra_proto::v1::{
    ListAgentsRequest, ListApprovalsRequest, RelayNotificationRequest, WatchAgentsRequest,
    WatchApprovalsRequest, WatchNotificationsRequest,
};
use parking_lot::Mutex;
use serde::Serialize;
use serde_json::{Value, json};
use tokio_stream::StreamExt;

use crate::live::Hub;

/// The longest wait between two tries of a lost host.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How long a snapshot waits for one host's lists: a page must not wait on a slow host.
const SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(3);

/// What the page shows of a host.
#[derive(Debug, Clone, Serialize)]
pub struct HostView {
    /// The host's name.
    pub name: String,
    /// `connecting`, `up`, `unreachable` or `version_mismatch`.
    pub state: &'static str,
    /// Since when it is in this state, in milliseconds since the Unix epoch.
    pub since_ms: i64,
    /// Its orchestrad's version, once it answered.
    pub version: String,
    /// Why it is not up (empty when up).
    pub error: String,
}

/// One host: what the page shows, and the connection while it is up.
#[derive(Debug)]
struct Remote {
    /// Name, target and command.
    host: Host,
    /// Its state, for snapshots.
    view: Mutex<HostView>,
    /// The open connection, while up.
    client: Mutex<Option<Client>>,
}

/// A host the page follows: its task ([`keep`]) ends when the host leaves `hosts.json`.
#[derive(Debug)]
struct Followed {
    remote: Arc<Remote>,
    task: tokio::task::AbortHandle,
}

impl Drop for Followed {
    fn drop(&mut self) {
        // Its connection (and the ssh or kubectl process under it) goes with the task.
        self.task.abort();
    }
}

/// Every other host the page shows.
#[derive(Debug)]
pub struct Remotes {
    /// One per host of `hosts.json`, in its order.
    followed: Mutex<Vec<Followed>>,
    /// Where hosts' events go.
    hub: Arc<Hub>,
    /// This machine's daemon, which sends hosts' notifications on.
    local: Client,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// How often `hosts.json` is looked at for hosts added or removed while the page runs.
const HOSTS_FILE_POLL: Duration = Duration::from_secs(2);

impl Remotes {
    /// Reads `hosts.json` (a broken one is told on stderr), starts
    /// following each host, and follows the file: a host that `orchestractl hosts add`
    /// or `remove` changes while the page runs comes or goes within seconds.
    pub fn start(hub: Arc<Hub>, local: Client) -> Arc<Remotes> {
        let path = remote::hosts_file();
        let remotes = Arc::new(Remotes {
            followed: Mutex::new(Vec::new()),
            hub,
            local,
        });
        let mut seen = std::fs::read(&path).ok();
        remotes.set_hosts(load_or_say(&path).unwrap_or_default());
        let weak = Arc::downgrade(&remotes);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(HOSTS_FILE_POLL).await;
                let Some(remotes) = weak.upgrade() else {
                    return;
                };
                let now = std::fs::read(&path).ok();
                if now != seen {
                    seen = now;
                    // A file broken halfway through an edit changes nothing.
                    if let Some(hosts) = load_or_say(&path) {
                        remotes.set_hosts(hosts);
                    }
                }
            }
        });
        remotes
    }

    /// Follows exactly `hosts`: a host whose name, target and command are unchanged keeps
    /// its connection; the others start or stop, and the pages take a fresh snapshot.
    fn set_hosts(&self, hosts: Vec<Host>) {
        let mut followed = self.followed.lock();
        let mut before: Vec<Followed> = std::mem::take(&mut *followed);
        let changed = before.len() != hosts.len()
            || before.iter().zip(&hosts).any(|(f, h)| f.remote.host != *h);
        for host in hosts {
            let kept = before
                .iter()
                .position(|f| f.remote.host == host)
                .map(|i| before.remove(i));
            followed.push(kept.unwrap_or_else(|| self.follow(host)));
        }
        // What is left in `before` is no longer in the file: dropping it stops its task.
        drop(before);
        drop(followed);
        if changed {
            self.hub.push(|seq| json!({"type": "resync", "seq": seq}));
        }
    }

    /// Starts following `host`.
    fn follow(&self, host: Host) -> Followed {
        let remote = Arc::new(Remote {
            view: Mutex::new(HostView {
                name: host.name.clone(),
                state: "connecting",
                since_ms: now_ms(),
                version: String::new(),
                error: String::new(),
            }),
            host,
            client: Mutex::new(None),
        });
        let task = tokio::spawn(keep(remote.clone(), self.hub.clone(), self.local.clone()));
        Followed {
            remote,
            task: task.abort_handle(),
        }
    }

    /// The hosts followed now.
    fn remotes(&self) -> Vec<Arc<Remote>> {
        self.followed
            .lock()
            .iter()
            .map(|f| f.remote.clone())
            .collect()
    }

    /// Every host's state.
    pub fn views(&self) -> Vec<HostView> {
        self.remotes()
            .iter()
            .map(|r| r.view.lock().clone())
            .collect()
    }

    /// The open connection to host `name`; an error a person can act on when there is no
    /// such host or it is not up now.
    pub fn client_of(&self, name: &str) -> Result<Client, tonic::Status> {
        let remote = self
            .remotes()
            .into_iter()
            .find(|r| r.host.name == name)
            .ok_or_else(|| {
                tonic::Status::not_found(format!(
                    "no host named {name:?} (see `orchestractl hosts list`)"
                ))
            })?;
        remote.client.lock().clone().ok_or_else(|| {
            tonic::Status::unavailable(format!(
                "host {name} is not reachable now; its request waits there until it is back"
            ))
        })
    }

    /// The agents and pending approvals of every host that is up, each with its `host`.
    pub async fn snapshot(&self) -> (Vec<Value>, Vec<Value>) {
        let remotes = self.remotes();
        let asks = remotes.iter().map(|remote| async move {
            let client = remote.client.lock().clone()?;
            let lists = async {
                let agents = client
                    .agents()
                    .list(ListAgentsRequest::default())
                    .await
                    .ok()?
                    .into_inner()
                    .agents;
                let approvals = client
                    .approvals()
                    .list(ListApprovalsRequest { all: false })
                    .await
                    .ok()?
                    .into_inner()
                    .approvals;
                Some((agents, approvals))
            };
            let (agents, approvals) = tokio::time::timeout(SNAPSHOT_TIMEOUT, lists)
                .await
                .ok()
                .flatten()?;
            let name = &remote.host.name;
            Some((
                agents.iter().map(|a| tagged(name, a)).collect::<Vec<_>>(),
                approvals
                    .iter()
                    .map(|a| tagged(name, a))
                    .collect::<Vec<_>>(),
            ))
        });
        let mut agents = Vec::new();
        let mut approvals = Vec::new();
        for (more_agents, more_approvals) in
            futures::future::join_all(asks).await.into_iter().flatten()
        {
            agents.extend(more_agents);
            approvals.extend(more_approvals);
        }
        (agents, approvals)
    }
}

/// The hosts of the file at `path`; a broken file is told on stderr and gives none.
fn load_or_say(path: &std::path::Path) -> Option<Vec<Host>> {
    match HostsFile::load(path) {
        Ok(file) => Some(file.hosts),
        Err(err) => {
            eprintln!("orchestra-dashboard: {err}; the hosts shown stay as they were");
            None
        }
    }
}

/// `value` as JSON with `"host": name` added.
pub(crate) fn tagged<T: Serialize>(name: &str, value: &T) -> Value {
    let mut value = serde_json::to_value(value).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        map.insert("host".to_owned(), name.into());
    }
    value
}

/// Keeps `remote` connected for as long as the dashboard runs; `local` is this machine's
/// daemon, which sends the host's notifications on.
async fn keep(remote: Arc<Remote>, hub: Arc<Hub>, local: Client) {
    let mut backoff = Duration::from_secs(1);
    loop {
        match Client::connect_host(&remote.host, remote::CONNECT_TIMEOUT).await {
            Ok(client) => {
                set_state(
                    &remote,
                    &hub,
                    "up",
                    client.status.version.clone(),
                    String::new(),
                );
                *remote.client.lock() = Some(client.clone());
                // Pages take a fresh snapshot, which now holds this host's agents.
                hub.push(|seq| json!({"type": "resync", "seq": seq}));
                let since = std::time::Instant::now();
                follow(&remote.host.name, &client, &hub, &local).await;
                *remote.client.lock() = None;
                set_state(
                    &remote,
                    &hub,
                    "unreachable",
                    client.status.version.clone(),
                    "the connection was lost".to_owned(),
                );
                hub.push(|seq| json!({"type": "resync", "seq": seq}));
                if since.elapsed() > MAX_BACKOFF {
                    backoff = Duration::from_secs(1);
                }
            }
            Err(err) => {
                let state = err.state();
                let changed = remote.view.lock().state != state;
                if changed {
                    set_state(&remote, &hub, state, String::new(), err.to_string());
                }
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Records a host's new state and tells the pages.
fn set_state(remote: &Remote, hub: &Hub, state: &'static str, version: String, error: String) {
    let view = {
        let mut view = remote.view.lock();
        *view = HostView {
            name: remote.host.name.clone(),
            state,
            since_ms: now_ms(),
            version,
            error,
        };
        view.clone()
    };
    hub.push(|seq| json!({"type": "host", "seq": seq, "host": view}));
}

/// Relays the host's agent, approval and notification events until one stream ends (the
/// host went away).
async fn follow(name: &str, client: &Client, hub: &Hub, local: &Client) {
    let agents = async {
        let Ok(stream) = client
            .agents()
            .watch(WatchAgentsRequest { snapshot: false })
            .await
        else {
            return;
        };
        let mut stream = stream.into_inner();
        while let Some(Ok(event)) = stream.next().await {
            let agent = event.agent.as_ref().map(|a| tagged(name, a));
            hub.push(
                |seq| json!({"type": "agent", "seq": seq, "kind": event.kind, "agent": agent}),
            );
        }
    };
    let approvals = async {
        let Ok(stream) = client
            .approvals()
            .watch(WatchApprovalsRequest { snapshot: false })
            .await
        else {
            return;
        };
        let mut stream = stream.into_inner();
        while let Some(Ok(event)) = stream.next().await {
            let approval = event.approval.as_ref().map(|a| tagged(name, a));
            hub.push(|seq| {
                json!({"type": "approval", "seq": seq, "kind": event.kind, "approval": approval})
            });
        }
    };
    let notifications = async {
        let request = WatchNotificationsRequest {
            dashboard_url: String::new(),
        };
        let Ok(stream) = client.notify().watch(request).await else {
            // An older daemon without notifications: the other streams still tell.
            std::future::pending::<()>().await;
            return;
        };
        let mut stream = stream.into_inner();
        while let Some(Ok(mut notification)) = stream.next().await {
            // Through this machine's daemon: its channels, then its Watch to the page. A
            // test of that host's channels (`notify test`) stays on the page: it would
            // otherwise ring this machine's channels as if they had been tested.
            if notification.event != "test" {
                let relay = RelayNotificationRequest {
                    host: name.to_owned(),
                    notification: Some(notification.clone()),
                };
                match local.notify().relay(relay).await {
                    Ok(_) => continue,
                    Err(status) => eprintln!(
                        "orchestra-dashboard: this machine's orchestrad did not send on a \
                         notification of host {name} ({}); only this page shows it. Restart \
                         orchestrad if it is older than the dashboard.",
                        status.message()
                    ),
                }
            }
            // Which machine speaks, first: "[box] approval needed".
            notification.title = format!("[{name}] {}", notification.title);
            // A link of that machine's would not open from here.
            notification.url.clear();
            let notification = tagged(name, &notification);
            hub.push(
                |seq| json!({"type": "notification", "seq": seq, "notification": notification}),
            );
        }
    };
    tokio::select! {
        () = agents => {}
        () = approvals => {}
        () = notifications => {}
    }
}
