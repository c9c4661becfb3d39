//! Against the real Claude Code CLI (pinned in .ci/claude-code-version), offline: fake-claude proven honest, costs, approvals and merges with real agents.
//!
//! One test binary per area (linking the support crate once, not once per file); each
//! file below is one subject.

mod approvals_real;
mod budget_real;
mod fake_claude_shape;
mod integration_real;
mod real_claude;
mod real_claude_2_1_330;
mod sandbox_real;
mod talk_real;
