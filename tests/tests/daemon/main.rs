//! The daemon and the first hour: start, status, config, notifications, the README's Python snippet, gRPC reflection, the repository's own layout.
//!
//! One test binary per area (linking the support crate once, not once per file); each
//! file below is one subject.

mod daemon;
mod first_hour;
mod hosts;
mod notify;
mod notify_desktop;
mod python_snippet;
mod reflection;
mod repository;
