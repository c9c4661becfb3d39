//! The gRPC server: one file per service, all served on the daemon's Unix socket.
//!
//! Services are thin: they validate the request, call into the daemon's domain code, and
//! convert the answer (conversions live in [`convert`], error mapping in [`status`]).

pub mod agents;
pub mod approvals;
pub mod convert;
pub mod daemon;
pub mod devices;
pub mod integration;
pub mod notify;
pub mod sessions;
pub mod status;
pub mod streaming;
pub mod talk;

use std::sync::Arc;

use futures::Stream;
use orchestra_proto::v1::agents_server::AgentsServer;
use orchestra_proto::v1::approvals_server::ApprovalsServer;
use orchestra_proto::v1::daemon_server::DaemonServer;
use orchestra_proto::v1::devices_server::DevicesServer;
use orchestra_proto::v1::integration_server::IntegrationServer;
use orchestra_proto::v1::notify_server::NotifyServer;
use orchestra_proto::v1::sessions_server::SessionsServer;
use orchestra_proto::v1::talk_server::TalkServer;
use tokio::net::{UnixListener, UnixStream};
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::UnixListenerStream;

use crate::context::Context;

/// Serves every service on `listener` until `shutdown` resolves.
pub async fn serve(
    ctx: Arc<Context>,
    listener: UnixListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(orchestra_proto::FILE_DESCRIPTOR_SET)
        .build_v1()
        .expect("the descriptor set is produced by our own build script");
    let reflection_alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(orchestra_proto::FILE_DESCRIPTOR_SET)
        .build_v1alpha()
        .expect("the descriptor set is produced by our own build script");

    // Bounds both ways: a client cannot make the daemon buffer more than MAX_REQUEST, and
    // an answer never exceeds what clients accept. Over either, tonic answers
    // RESOURCE_EXHAUSTED (or OUT_OF_RANGE) for that call only; the daemon carries on.
    use orchestra_proto::{MAX_REQUEST, MAX_RESPONSE};
    tonic::transport::Server::builder()
        .add_service(
            DaemonServer::new(daemon::DaemonService::new(ctx.clone()))
                .max_decoding_message_size(MAX_REQUEST)
                .max_encoding_message_size(MAX_RESPONSE),
        )
        .add_service(
            SessionsServer::new(sessions::SessionsService::new(ctx.clone()))
                .max_decoding_message_size(MAX_REQUEST)
                .max_encoding_message_size(MAX_RESPONSE),
        )
        .add_service(
            AgentsServer::new(agents::AgentsService::new(ctx.clone()))
                .max_decoding_message_size(MAX_REQUEST)
                .max_encoding_message_size(MAX_RESPONSE),
        )
        .add_service(
            DevicesServer::new(devices::DevicesService::new(ctx.clone()))
                .max_decoding_message_size(MAX_REQUEST)
                .max_encoding_message_size(MAX_RESPONSE),
        )
        .add_service(
            IntegrationServer::new(integration::IntegrationService::new(ctx.clone()))
                .max_decoding_message_size(MAX_REQUEST)
                .max_encoding_message_size(MAX_RESPONSE),
        )
        .add_service(
            NotifyServer::new(notify::NotifyService::new(ctx.clone()))
                .max_decoding_message_size(MAX_REQUEST)
                .max_encoding_message_size(MAX_RESPONSE),
        )
        .add_service(
            ApprovalsServer::new(approvals::ApprovalsService::new(ctx.clone()))
                .max_decoding_message_size(MAX_REQUEST)
                .max_encoding_message_size(MAX_RESPONSE),
        )
        .add_service(
            TalkServer::new(talk::TalkService::new(ctx.clone()))
                .max_decoding_message_size(MAX_REQUEST)
                .max_encoding_message_size(MAX_RESPONSE),
        )
        .add_service(reflection)
        .add_service(reflection_alpha)
        .serve_with_incoming_shutdown(same_user_only(listener), shutdown)
        .await
}

/// Accepts connections from processes of our own uid only. The socket is 0600 already;
/// checking the peer's credentials as well keeps other users out even if the socket was
/// placed in a shared directory or its mode was changed.
fn same_user_only(listener: UnixListener) -> impl Stream<Item = std::io::Result<UnixStream>> {
    let our_uid = nix::unistd::geteuid().as_raw();
    UnixListenerStream::new(listener).filter_map(move |conn| match conn {
        Err(err) => {
            tracing::warn!(%err, "accept failed");
            None
        }
        Ok(stream) => match stream.peer_cred() {
            Ok(cred) if cred.uid() == our_uid => Some(Ok(stream)),
            Ok(cred) => {
                tracing::warn!(uid = cred.uid(), pid = ?cred.pid(), "refused a peer of another user");
                None
            }
            Err(err) => {
                tracing::warn!(%err, "refused a peer whose credentials cannot be read");
                None
            }
        },
    })
}
