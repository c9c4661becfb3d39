//! The reference client: a tonic [`Channel`] over the daemon's local socket, checked
//! against the daemon's protocol version, with a typed stub per service that accepts
//! answers up to [`crate::MAX_RESPONSE`]. The CLI and the dashboard both reach the daemon
//! through [`Client::connect`].

use std::path::{Path, PathBuf};

use hyper_util::rt::TokioIo;
use interprocess::local_socket::{
    GenericFilePath, ToFsName, tokio::Stream, traits::tokio::Stream as _,
};
use tonic::transport::{Channel, Endpoint, Uri};

use crate::v1::{
    StatusRequest, StatusResponse, agents_client::AgentsClient, approvals_client::ApprovalsClient,
    daemon_client::DaemonClient, devices_client::DevicesClient,
    integration_client::IntegrationClient, notify_client::NotifyClient,
    sessions_client::SessionsClient, talk_client::TalkClient,
};

/// Why the socket did not answer, in words: what a person can act on.
fn unreachable_reason(cause: &std::io::Error) -> String {
    match cause.kind() {
        std::io::ErrorKind::NotFound => "no socket there".to_owned(),
        std::io::ErrorKind::ConnectionRefused => "nothing listens on it".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ if cause.to_string().is_empty() => cause.kind().to_string(),
        _ => cause.to_string(),
    }
}

/// Why a connection to the daemon could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// Nothing listens on the socket, or the socket file is missing.
    #[error(
        "cannot reach orchestrad at {} ({}): is it running? start it with \
         `orchestractl daemon start`",
        path.display(),
        unreachable_reason(cause)
    )]
    Unreachable {
        /// The socket that was tried.
        path: PathBuf,
        /// What the connect call said (in the message, in words; not repeated as a
        /// source, so an error chain says it once).
        cause: std::io::Error,
    },
    /// Something answers on the socket, but not as a working orchestrad.
    #[error(
        "something answers on {} but it is not a working orchestrad: {}",
        path.display(),
        status.message()
    )]
    NotOrchestrad {
        /// The socket.
        path: PathBuf,
        /// What its `Status` call answered.
        status: tonic::Status,
    },
    /// The daemon speaks another version of the protocol.
    #[error(
        "{client} speaks protocol {ours} but orchestrad {} (pid {}) at {} speaks protocol \
         {}: install matching versions, then run `orchestractl daemon restart`",
        daemon.version,
        daemon.pid,
        path.display(),
        daemon.protocol_version
    )]
    ProtocolMismatch {
        /// The socket.
        path: PathBuf,
        /// Who we are ("orchestractl 0.1.0").
        client: String,
        /// Our [`crate::PROTOCOL_VERSION`].
        ours: u32,
        /// The daemon's status, naming its version.
        daemon: Box<StatusResponse>,
    },
}

impl ConnectError {
    /// The socket path that could not be reached.
    pub fn path(&self) -> &Path {
        match self {
            ConnectError::Unreachable { path, .. }
            | ConnectError::NotOrchestrad { path, .. }
            | ConnectError::ProtocolMismatch { path, .. } => path,
        }
    }
}

/// An open connection to a daemon that speaks our protocol, with one typed stub per
/// service. Cheap to clone: every stub shares the channel.
#[derive(Debug, Clone)]
pub struct Client {
    /// The channel every stub shares.
    pub channel: Channel,
    /// The daemon's answer to `Status` when the connection was made.
    pub status: StatusResponse,
}

/// Applies the message-size limits both ways to a generated stub.
macro_rules! limited {
    ($stub:ident, $channel:expr) => {
        $stub::new($channel.clone())
            .max_decoding_message_size(crate::MAX_RESPONSE)
            .max_encoding_message_size(crate::MAX_REQUEST)
    };
}

impl Client {
    /// Connects to the daemon on `socket` and checks that it speaks our protocol.
    /// `client` names the caller in a mismatch ("orchestractl 0.1.0").
    ///
    /// A daemon that was just killed can still accept a connection that then dies in
    /// the first call: such a socket counts as unreachable after a few tries.
    pub async fn connect(socket: &Path, client: &str) -> Result<Client, ConnectError> {
        let mut last = None;
        for attempt in 0..5 {
            if attempt > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            let channel = connect(socket).await?;
            match DaemonClient::new(channel.clone())
                .status(StatusRequest {})
                .await
            {
                Ok(status) => return Client::checked(socket, client, channel, status.into_inner()),
                Err(status)
                    if matches!(
                        status.code(),
                        tonic::Code::Unavailable | tonic::Code::Unknown
                    ) =>
                {
                    last = Some(status);
                }
                Err(status) => {
                    return Err(ConnectError::NotOrchestrad {
                        path: socket.to_path_buf(),
                        status,
                    });
                }
            }
        }
        Err(ConnectError::Unreachable {
            path: socket.to_path_buf(),
            cause: std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                last.map_or_else(String::new, |status| status.message().to_owned()),
            ),
        })
    }

    fn checked(
        socket: &Path,
        client: &str,
        channel: Channel,
        status: StatusResponse,
    ) -> Result<Client, ConnectError> {
        if status.protocol_version != crate::PROTOCOL_VERSION {
            return Err(ConnectError::ProtocolMismatch {
                path: socket.to_path_buf(),
                client: client.to_owned(),
                ours: crate::PROTOCOL_VERSION,
                daemon: Box::new(status),
            });
        }
        Ok(Client { channel, status })
    }

    /// The `Daemon` service.
    pub fn daemon(&self) -> DaemonClient<Channel> {
        limited!(DaemonClient, self.channel)
    }

    /// The `Agents` service.
    pub fn agents(&self) -> AgentsClient<Channel> {
        limited!(AgentsClient, self.channel)
    }

    /// The `Sessions` service.
    pub fn sessions(&self) -> SessionsClient<Channel> {
        limited!(SessionsClient, self.channel)
    }

    /// The `Approvals` service.
    pub fn approvals(&self) -> ApprovalsClient<Channel> {
        limited!(ApprovalsClient, self.channel)
    }

    /// The `Talk` service (the agents' MCP bridge, messages, answers to questions).
    pub fn talk(&self) -> TalkClient<Channel> {
        limited!(TalkClient, self.channel)
    }

    /// The `Integration` service (merge, report, integration pull requests).
    pub fn integration(&self) -> IntegrationClient<Channel> {
        limited!(IntegrationClient, self.channel)
    }

    /// The `Devices` service.
    pub fn devices(&self) -> DevicesClient<Channel> {
        limited!(DevicesClient, self.channel)
    }

    /// The `Notify` service.
    pub fn notify(&self) -> NotifyClient<Channel> {
        limited!(NotifyClient, self.channel)
    }
}

/// Opens a gRPC channel to the daemon listening on `socket_path`.
///
/// The connection is made eagerly, so a dead daemon is reported here rather than on the
/// first call. The channel reconnects by itself if the daemon restarts later.
pub async fn connect(socket_path: impl AsRef<Path>) -> Result<Channel, ConnectError> {
    let path = socket_path.as_ref().to_path_buf();
    // The URI is required by tonic but never resolved: every connection goes through the
    // connector below, to the socket.
    let endpoint = Endpoint::from_static("http://orchestrad.local");
    let connector_path = path.clone();
    let connector = tower::service_fn(move |_: Uri| {
        let path = connector_path.clone();
        async move { Ok::<_, std::io::Error>(TokioIo::new(open_stream(&path).await?)) }
    });
    endpoint
        .connect_with_connector(connector)
        .await
        .map_err(|err| ConnectError::Unreachable {
            path: path.clone(),
            cause: io_error_of(&err),
        })
}

/// Opens the daemon's socket as a plain byte stream: what a channel runs over, and what
/// `orchestractl proxy` joins to its stdin and stdout.
pub async fn open_stream(socket_path: &Path) -> std::io::Result<Stream> {
    let name = socket_path.to_fs_name::<GenericFilePath>()?;
    Stream::connect(name).await
}

/// Digs the `io::Error` out of a tonic transport error so callers can tell "no such
/// file" from "connection refused".
fn io_error_of(err: &tonic::transport::Error) -> std::io::Error {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(err);
    while let Some(inner) = source {
        if let Some(io) = inner.downcast_ref::<std::io::Error>() {
            return std::io::Error::new(io.kind(), io.to_string());
        }
        source = inner.source();
    }
    std::io::Error::other(err.to_string())
}
