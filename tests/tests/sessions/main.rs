//! The index of Claude Code's session files: listing, search, export, transcripts, the 2.1.330 shapes, the fast path, and bounded memory on huge lines.
//!
//! One test binary per area (linking the support crate once, not once per file); each
//! file below is one subject.

mod bounds;
mod sessions;
mod sessions_2_1_330;
mod sessions_fastpath;
mod spend_report;
