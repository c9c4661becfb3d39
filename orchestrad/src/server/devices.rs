//! The `Devices` service: pairing and checking dashboard devices, and the one-time login
//! links of the dashboard on this machine.

use std::sync::Arc;

use orchestra_proto::v1 as pb;
use orchestra_proto::v1::devices_server::Devices;
use tonic::{Request, Response, Status};

use crate::context::Context;
use crate::devices::Device;
use crate::server::streaming::{BoxStream, async_stream};

/// Implements `orchestra.v1.Devices`.
#[derive(Debug)]
pub struct DevicesService {
    /// The shared daemon context.
    ctx: Arc<Context>,
}

impl DevicesService {
    /// A service over `ctx`.
    pub fn new(ctx: Arc<Context>) -> Self {
        DevicesService { ctx }
    }
}

fn wire(device: &Device) -> pb::Device {
    pb::Device {
        id: device.id.clone(),
        name: device.name.clone(),
        paired_at_ms: device.paired_at_ms,
        last_seen_ms: device.last_seen_ms,
    }
}

#[tonic::async_trait]
impl Devices for DevicesService {
    async fn create_pairing_code(
        &self,
        _: Request<pb::CreatePairingCodeRequest>,
    ) -> Result<Response<pb::CreatePairingCodeResponse>, Status> {
        let (code, expires_at_ms) = self.ctx.devices.create_code();
        Ok(Response::new(pb::CreatePairingCodeResponse {
            code,
            expires_at_ms,
        }))
    }

    async fn pair(
        &self,
        request: Request<pb::PairRequest>,
    ) -> Result<Response<pb::PairResponse>, Status> {
        let req = request.into_inner();
        let (token, device) = self
            .ctx
            .devices
            .pair(&req.code, &req.device_name, &req.address)
            .await?;
        Ok(Response::new(pb::PairResponse {
            token,
            device: Some(wire(&device)),
        }))
    }

    async fn verify(
        &self,
        request: Request<pb::VerifyRequest>,
    ) -> Result<Response<pb::Device>, Status> {
        let device = self.ctx.devices.verify(&request.into_inner().token)?;
        Ok(Response::new(wire(&device)))
    }

    async fn list(
        &self,
        _: Request<pb::ListDevicesRequest>,
    ) -> Result<Response<pb::ListDevicesResponse>, Status> {
        let devices = self.ctx.devices.list()?;
        Ok(Response::new(pb::ListDevicesResponse {
            devices: devices.iter().map(wire).collect(),
        }))
    }

    async fn revoke(
        &self,
        request: Request<pb::RevokeRequest>,
    ) -> Result<Response<pb::RevokeResponse>, Status> {
        let device = self.ctx.devices.revoke(&request.into_inner().id).await?;
        // An unpaired phone gets no more pushes.
        if self.ctx.notifier.push_forget_device(&device.id)? {
            self.ctx.store.flush().await?;
        }
        Ok(Response::new(pb::RevokeResponse {
            device: Some(wire(&device)),
        }))
    }

    async fn create_login_link(
        &self,
        request: Request<pb::CreateLoginLinkRequest>,
    ) -> Result<Response<pb::CreateLoginLinkResponse>, Status> {
        let port = port(request.into_inner().port)?;
        let link = self.ctx.devices.create_login_link(port)?;
        Ok(Response::new(pb::CreateLoginLinkResponse {
            url: link.url,
            expires_at_ms: link.expires_at_ms,
        }))
    }

    async fn redeem_login_link(
        &self,
        request: Request<pb::RedeemLoginLinkRequest>,
    ) -> Result<Response<pb::PairResponse>, Status> {
        let req = request.into_inner();
        let (token, device) = self
            .ctx
            .devices
            .redeem_login_link(&req.token, &req.device_name)
            .await?;
        Ok(Response::new(pb::PairResponse {
            token,
            device: Some(wire(&device)),
        }))
    }

    async fn create_pairing_link(
        &self,
        request: Request<pb::CreatePairingLinkRequest>,
    ) -> Result<Response<pb::CreatePairingLinkResponse>, Status> {
        let req = request.into_inner();
        let port = port(req.port)?;
        let link = self
            .ctx
            .devices
            .create_pairing_link(port, &req.device_name)?;
        Ok(Response::new(pb::CreatePairingLinkResponse {
            code: link.code,
            url: link.url,
            expires_at_ms: link.expires_at_ms,
        }))
    }

    type ServePageStream = BoxStream<pb::ServePageEvent>;

    async fn serve_page(
        &self,
        request: Request<pb::ServePageRequest>,
    ) -> Result<Response<Self::ServePageStream>, Status> {
        let req = request.into_inner();
        let port = port(req.port)?;
        if !req.lan_url.is_empty() && !lan_url_ok(&req.lan_url) {
            return Err(Status::invalid_argument(
                "lan_url must be an http:// or https:// URL ending in /",
            ));
        }
        if port == 0 {
            return Err(Status::invalid_argument(
                "a serving page has a port: pass the one it listens on",
            ));
        }
        let ctx = self.ctx.clone();
        let mut shutdown = ctx.shutdown.subscribe();
        Ok(Response::new(async_stream(move |tx| async move {
            // Registered for as long as the dashboard holds the stream open.
            let lan_url = Some(req.lan_url).filter(|url| !url.is_empty());
            let _page = ctx.devices.serve_page(port, req.tls, lan_url);
            if tx
                .send(Ok(pb::ServePageEvent { registered: true }))
                .await
                .is_err()
            {
                return;
            }
            tokio::select! {
                () = tx.closed() => {}
                _ = shutdown.wait_for(|stop| *stop) => {}
            }
        })))
    }
}

/// Whether `url` looks like the base a dashboard serves at: a scheme, a host, a trailing `/`.
fn lan_url_ok(url: &str) -> bool {
    (url.starts_with("https://") || url.starts_with("http://"))
        && url.ends_with('/')
        && url.len() < 300
        && !url.contains(['?', '#', ' ', '"', '<', '>'])
}

/// A port from the wire.
fn port(port: u32) -> Result<u16, Status> {
    u16::try_from(port)
        .map_err(|_| Status::invalid_argument(format!("{port} is no TCP port: use 1 to 65535")))
}
