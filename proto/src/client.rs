//! The reference client: a tonic [`Channel`] over the daemon's local socket.

use std::path::{Path, PathBuf};

use hyper_util::rt::TokioIo;
use interprocess::local_socket::{
    GenericFilePath, ToFsName, tokio::Stream, traits::tokio::Stream as _,
};
use tonic::transport::{Channel, Endpoint, Uri};

/// Why a connection to the daemon could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// Nothing listens on the socket, or the socket file is missing.
    #[error("cannot reach orchestrad at {path}: {source}")]
    Unreachable {
        /// The socket that was tried.
        path: PathBuf,
        /// What the connect call said.
        #[source]
        source: std::io::Error,
    },
}

impl ConnectError {
    /// The socket path that could not be reached.
    pub fn path(&self) -> &Path {
        match self {
            ConnectError::Unreachable { path, .. } => path,
        }
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
        async move {
            let name = path.as_path().to_fs_name::<GenericFilePath>()?;
            let stream = Stream::connect(name).await?;
            Ok::<_, std::io::Error>(TokioIo::new(stream))
        }
    });
    endpoint
        .connect_with_connector(connector)
        .await
        .map_err(|err| ConnectError::Unreachable {
            path: path.clone(),
            source: io_error_of(&err),
        })
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
