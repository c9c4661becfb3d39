//! Session discovery: every Claude Code session file indexed live.
//!
//! [`index`] keeps the metadata ([`meta`]) current by reading only appended bytes
//! ([`reader`], [`parse`]); [`watcher`] feeds it filesystem events; [`live`] tells which
//! sessions a process is writing and what it is doing; [`jobs`] reads Claude Code's own
//! background sessions; [`transcript`] reads whole conversations on demand;
//! [`query`] answers list, analytics and health; [`search`] reads files for a search on
//! every core.

pub mod index;
pub mod jobs;
pub mod liveness;
pub mod meta;
pub mod parse;
pub mod pricing;
pub mod query;
pub mod reader;
pub mod search;
mod skim;
pub mod transcript;
pub mod watcher;

pub use index::{ChangeKind, SessionChange, SessionIndex};
pub use meta::SessionMeta;
