//! One module per subcommand.

pub mod analytics;
pub mod cleanup;
pub mod collect;
pub mod completions;
pub mod config;
pub mod daemon;
pub mod export;
pub mod health;
pub mod hook;
pub mod init;
pub mod logs;
pub mod notify;
pub mod pr;
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
