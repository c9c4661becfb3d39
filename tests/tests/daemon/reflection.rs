//! Scripting through gRPC is supported: a generic client discovers the API by reflection
//! over the socket, and a client of another protocol version is told so.

use orchestra_tests::TestEnv;
use tokio_stream::StreamExt;
use tonic_reflection::pb::v1::{
    ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
    server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
};

#[tokio::test]
async fn reflection_lists_the_services_over_the_socket() {
    let env = TestEnv::new();
    let daemon = env.daemon_in_process().await;
    let channel = orchestra_proto::connect(&env.socket)
        .await
        .expect("connect");
    let mut client = ServerReflectionClient::new(channel);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("reflection call")
        .into_inner();
    let response = responses.next().await.expect("one answer").expect("ok");
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("unexpected answer {response:?}");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    assert!(
        names.contains(&"orchestra.v1.Daemon".to_owned()),
        "{names:?}"
    );
    daemon.shutdown().await;
}

/// A daemon of another protocol version, answering only `Daemon`.
struct OtherVersion;

#[tonic::async_trait]
impl orchestra_proto::v1::daemon_server::Daemon for OtherVersion {
    async fn status(
        &self,
        _: tonic::Request<orchestra_proto::v1::StatusRequest>,
    ) -> Result<tonic::Response<orchestra_proto::v1::StatusResponse>, tonic::Status> {
        Ok(tonic::Response::new(orchestra_proto::v1::StatusResponse {
            version: "9.9.9".to_owned(),
            protocol_version: orchestra_proto::PROTOCOL_VERSION + 1,
            pid: 4242,
            ..Default::default()
        }))
    }
    async fn shutdown(
        &self,
        _: tonic::Request<orchestra_proto::v1::ShutdownRequest>,
    ) -> Result<tonic::Response<orchestra_proto::v1::ShutdownResponse>, tonic::Status> {
        Err(tonic::Status::unimplemented("no"))
    }
    async fn get_config(
        &self,
        _: tonic::Request<orchestra_proto::v1::GetConfigRequest>,
    ) -> Result<tonic::Response<orchestra_proto::v1::GetConfigResponse>, tonic::Status> {
        Err(tonic::Status::unimplemented("no"))
    }
    async fn check(
        &self,
        _: tonic::Request<orchestra_proto::v1::CheckRequest>,
    ) -> Result<tonic::Response<orchestra_proto::v1::CheckResponse>, tonic::Status> {
        Err(tonic::Status::unimplemented("no"))
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_protocol_mismatch_gives_a_clear_message() {
    let env = TestEnv::new();
    std::fs::create_dir_all(env.socket.parent().expect("dir")).expect("dir");
    let listener = tokio::net::UnixListener::bind(&env.socket).expect("bind");
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(orchestra_proto::v1::daemon_server::DaemonServer::new(
                OtherVersion,
            ))
            .serve_with_incoming(tokio_stream::wrappers::UnixListenerStream::new(listener)),
    );
    let (out, dashboard) = tokio::task::spawn_blocking(move || {
        let out = env.ctl(&["daemon", "status"]);
        // The dashboard goes through the same client, so it refuses the same way.
        let dashboard = env
            .command(orchestra_tests::bin("orchestra-dashboard"))
            .args(["--port", "0"])
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run the dashboard");
        drop(env);
        (out, dashboard)
    })
    .await
    .expect("join");
    server.abort();
    for (who, out) in [("orchestractl", out), ("orchestra-dashboard", dashboard)] {
        assert!(!out.status.success(), "{who} went on");
        let message = String::from_utf8_lossy(&out.stderr);
        assert!(
            message.contains(&format!("{who} ")) && message.contains("speaks protocol"),
            "{message}"
        );
        assert!(
            message.contains("9.9.9") && message.contains("orchestractl daemon restart"),
            "{message}"
        );
    }
}
