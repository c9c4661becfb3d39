//! Agents' lives as a user runs them: spawn, status, stop, send, restarts of the daemon, logs, and faults (a full disk, a damaged store).
//!
//! One test binary per area (linking the support crate once, not once per file); each
//! file below is one subject.

mod agents;
mod agents_restart;
mod faults;
mod logs;
mod messages;
