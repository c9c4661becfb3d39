//! What the daemon knows of Claude Code's own formats, in one place: stream-json in and
//! out, with the stdio permission protocol's control requests and answers
//! ([`stream_json`]), the hooks' input and output ([`hooks`]), and the MCP wiring ([`mcp`]). A new CLI version is
//! checked here (the unit tests read captures of the real CLI; `tests/tests/real_cli/real_claude*`
//! drive the version pinned in `.ci/claude-code-version`). Session files under
//! `~/.claude/projects` are another format, read by [`crate::sessions`].
//!
//! What this module must not do: know agents, approvals or the store. It turns bytes into
//! typed values and back.

pub mod hooks;
pub mod mcp;
pub mod stream_json;
