//! Bringing a batch together: the overlap radar, merge, verified merge, report, chains.
//!
//! One test binary per area (linking the support crate once, not once per file); each
//! file below is one subject.

mod integration;
