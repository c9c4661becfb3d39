//! Approvals: agents and hand-started sessions asking, answered from the CLI, the page and a phone; timeouts, redelivery, the default allowlist, the sandbox.
//!
//! One test binary per area (linking the support crate once, not once per file); each
//! file below is one subject.

mod approvals;
mod budget;
mod questions;
