//! The `Devices` service: pairing and checking dashboard devices.

use std::sync::Arc;

use orchestra_proto::v1 as pb;
use orchestra_proto::v1::devices_server::Devices;
use tonic::{Request, Response, Status};

use crate::context::Context;
use crate::devices::Device;

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
        let (token, device) = self.ctx.devices.pair(&req.code, &req.device_name).await?;
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
}
