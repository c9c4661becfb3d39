//! Notifications for the page: follows the daemon's `Notify.Watch` stream and hands each
//! notification to the live hub, which shows it as a toast and counts it in the title.
//!
//! While it watches, the daemon puts links to this dashboard in the notifications it
//! sends elsewhere (ntfy's `Click`, the webhook's `url`).

use std::sync::Arc;
use std::time::Duration;

use orchestra_proto::v1::WatchNotificationsRequest;
use orchestra_proto::v1::notify_client::NotifyClient;
use serde_json::json;
use tokio_stream::StreamExt;
use tonic::transport::Channel;

use crate::live::Hub;

/// Follows notifications until the dashboard stops, reconnecting after losing the daemon.
pub async fn follow(hub: Arc<Hub>, channel: Channel, dashboard_url: String) {
    loop {
        let mut client = NotifyClient::new(channel.clone());
        let request = WatchNotificationsRequest {
            dashboard_url: dashboard_url.clone(),
        };
        if let Ok(stream) = client.watch(request).await {
            let mut stream = stream.into_inner();
            while let Some(Ok(notification)) = stream.next().await {
                hub.push(
                    |seq| json!({"type": "notification", "seq": seq, "notification": notification}),
                );
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
