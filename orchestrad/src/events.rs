//! The daemon's event bus: every state change worth telling a client about is published
//! here once, and each `Watch` stream subscribes.
//!
//! Events carry a sequence number, increasing by one per event, so a client that
//! reconnects can tell what it missed. The bus itself lives in `orchestra_proto::bus`,
//! shared with the dashboard, whose hub numbers and keeps the events it fans out to pages
//! the same way.

pub use orchestra_proto::bus::{Bus, Sequenced};
