//! One module per subcommand.

pub mod analytics;
pub mod completions;
pub mod config;
pub mod daemon;
pub mod export;
pub mod health;
pub mod resume;
pub mod search;
pub mod service;
pub mod sessions;
pub mod show;
pub mod watch;
