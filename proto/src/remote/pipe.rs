//! The byte stream to another host: a child process (ssh, or the `--command`) whose
//! stdout and stdin carry a tonic channel, run again on every reconnection and killed
//! when the channel lets go of it; and [`Client::connect_host`] over it.

use std::path::Path;
use std::pin::Pin;
use std::process::Stdio;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, Join, ReadBuf};
use tokio::process::{Child, ChildStdin, ChildStdout};
use tonic::transport::{Channel, Endpoint, Uri};

use super::{Host, HostError};
use crate::Client;
use crate::v1::{StatusRequest, StatusResponse, daemon_client::DaemonClient};

/// How much of a host command's stderr is kept for an error message (ssh says why it
/// failed there: "Permission denied (publickey)", "Could not resolve hostname").
const STDERR_KEPT: usize = 2048;
/// How long an error waits for an ended command's stderr to be read to its end.
const STDERR_GRACE: Duration = Duration::from_millis(500);

/// A child's stdout and stdin as one byte stream; the child is killed when the stream
/// is dropped (the channel gave up on it, or reconnects).
struct Pipe {
    /// Reads from the child's stdout, writes to its stdin.
    io: Join<ChildStdout, ChildStdin>,
    /// Kept so that dropping the stream ends the process (`kill_on_drop`).
    _child: Child,
}

impl AsyncRead for Pipe {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Pipe {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// What the host's command wrote on stderr: the last [`STDERR_KEPT`] bytes, and whether
/// it closed stderr (it ended), so that an error can wait for its last words.
#[derive(Debug, Default)]
struct Stderr {
    /// The text kept.
    text: Mutex<String>,
    /// Told when the command's stderr ends.
    closed: tokio::sync::Notify,
}

/// Starts the host's command with piped stdio; its stderr is drained into `stderr` so
/// that a chatty command never blocks on it.
fn start(host: &Host, stderr: &Arc<Stderr>) -> std::io::Result<Pipe> {
    let argv = host.argv();
    let mut child = tokio::process::Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        return Err(std::io::Error::other("the command's pipes were not opened"));
    };
    if let Some(mut err) = child.stderr.take() {
        let kept = Arc::clone(stderr);
        tokio::spawn(async move {
            let mut buf = [0u8; 1024];
            while let Ok(n) = err.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                let mut kept = kept.text.lock();
                kept.push_str(&String::from_utf8_lossy(&buf[..n]));
                if kept.len() > STDERR_KEPT {
                    let cut = kept.len() - STDERR_KEPT;
                    let cut = (cut..kept.len())
                        .find(|i| kept.is_char_boundary(*i))
                        .unwrap_or(kept.len());
                    kept.drain(..cut);
                }
            }
            // A permit: the waiter may come after the end.
            kept.closed.notify_one();
        });
    }
    Ok(Pipe {
        io: tokio::io::join(stdout, stdin),
        _child: child,
    })
}

/// A channel to `host`: each (re)connection runs the host's command again. HTTP/2
/// keep-alive pings notice a host that went away while the channel sat idle.
fn channel(host: &Host, stderr: &Arc<Stderr>) -> Channel {
    let host = host.clone();
    let stderr = Arc::clone(stderr);
    let connector = tower::service_fn(move |_: Uri| {
        let pipe = start(&host, &stderr);
        async move { pipe.map(TokioIo::new) }
    });
    // The URI is required by tonic but never resolved: the connector is the transport.
    Endpoint::from_static("http://orchestrad.remote")
        .http2_keep_alive_interval(Duration::from_secs(10))
        .keep_alive_timeout(Duration::from_secs(5))
        .keep_alive_while_idle(true)
        .connect_with_connector_lazy(connector)
}

impl Client {
    /// Connects to `host`'s daemon through its command and checks its protocol, within
    /// `timeout`. The channel runs the command again when the connection breaks.
    pub async fn connect_host(host: &Host, timeout: Duration) -> Result<Client, HostError> {
        let stderr = Arc::new(Stderr::default());
        let unreachable = |reason: String, stderr: &Arc<Stderr>| {
            let said = stderr.text.lock().trim().to_owned();
            HostError::Unreachable {
                name: host.name.clone(),
                command: host.command_line(),
                reason: if said.is_empty() {
                    reason
                } else {
                    format!("{reason} (it said: {said})")
                },
            }
        };
        // A missing program (no ssh installed) is told as such, not as a dead host.
        if let Err(source) = which(&host.argv()[0]) {
            return Err(HostError::Spawn {
                name: host.name.clone(),
                command: host.command_line(),
                source,
            });
        }
        let channel = channel(host, &stderr);
        let status = tokio::time::timeout(
            timeout,
            DaemonClient::new(channel.clone()).status(StatusRequest {}),
        )
        .await;
        let status: StatusResponse = match status {
            Err(_) => {
                return Err(unreachable(
                    format!("no answer within {} s", timeout.as_secs_f32()),
                    &stderr,
                ));
            }
            Ok(Err(status)) => {
                // tonic's words for a stream that ended ("transport error") say less than
                // the command's own stderr, which follows.
                let reason = if status.code() == tonic::Code::Unavailable {
                    "no orchestrad answered through it".to_owned()
                } else {
                    status.message().to_owned()
                };
                // The command ended: its last words (ssh's reason) may still be in the
                // pipe. A command that keeps stderr open is not waited for long.
                let _ = tokio::time::timeout(STDERR_GRACE, stderr.closed.notified()).await;
                return Err(unreachable(reason, &stderr));
            }
            Ok(Ok(status)) => status.into_inner(),
        };
        if status.protocol_version != crate::PROTOCOL_VERSION {
            return Err(HostError::ProtocolMismatch {
                name: host.name.clone(),
                version: status.version,
                theirs: status.protocol_version,
                ours: crate::PROTOCOL_VERSION,
            });
        }
        Ok(Client { channel, status })
    }
}

/// Whether `program` can be run: a path that exists, or a name found on `PATH`.
fn which(program: &str) -> std::io::Result<()> {
    let found = if program.contains('/') {
        Path::new(program).is_file()
    } else {
        std::env::var_os("PATH")
            .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
    };
    if found {
        Ok(())
    } else {
        Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{program} is not installed (not found on PATH)"),
        ))
    }
}
