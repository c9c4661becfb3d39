//! One module per subcommand.

pub mod analytics;
pub mod cleanup;
pub mod collect;
pub mod completions;
pub mod config;
pub mod daemon;
pub mod export;
pub mod health;
pub mod init;
pub mod logs;
pub mod merge;
pub mod pr;
pub mod report;
pub mod resume;
pub mod search;
pub mod send;
pub mod service;
pub mod sessions;
pub mod show;
pub mod spawn;
pub mod status;
pub mod stop;
pub mod watch;
pub mod web;
pub mod worktrees;
