//! The wire format of claude-orchestra and the one way to reach the daemon.
//!
//! Everything a client needs lives here: the generated gRPC types and stubs
//! ([`v1`]), the reference client ([`connect`]), the default paths ([`paths`]),
//! [`PROTOCOL_VERSION`], and how to tell whether a process runs ([`process`]). No binary
//! opens a connection any other way.

pub mod bus;
pub mod client;
pub mod fs;
pub mod paths;
pub mod process;
pub mod remote;

pub use client::{Client, ConnectError, connect};

/// Version of the wire protocol. Bump it when a change to `orchestra/v1` would make an
/// older client misread a newer daemon (a removed field, a changed meaning). Adding
/// fields or RPCs does not need a bump.
pub const PROTOCOL_VERSION: u32 = 1;

/// The exit code of `orchestrad run` and `orchestrad start` when another daemon already
/// serves the socket. Clients that start the daemon (`orchestractl`) tell this case by the
/// code, never by the message.
pub const EXIT_ALREADY_SERVING: u8 = 3;

/// Largest request the daemon reads (a spawn with many long tasks fits with room to
/// spare); a larger one is refused with `RESOURCE_EXHAUSTED` before it is decoded.
pub const MAX_REQUEST: usize = 16 * 1024 * 1024;
/// Largest answer the daemon sends, and clients accept (a full session listing passes
/// tonic's 4 MB default).
pub const MAX_RESPONSE: usize = 256 * 1024 * 1024;

/// For `skip_serializing_if` on generated counts (see build.rs).
#[allow(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde passes a reference"
)]
fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Generated messages and service stubs for `orchestra.v1`.
pub mod v1 {
    #![allow(clippy::all, clippy::pedantic, reason = "generated code")]
    #![allow(
        missing_docs,
        reason = "generated code; the .proto files carry the docs"
    )]
    tonic::include_proto!("orchestra.v1");
}

/// Encoded `FileDescriptorSet` of every `orchestra.v1` file, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/orchestra_descriptor.bin"));
