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
