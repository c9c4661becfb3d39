//! Fuzzing what a stranger can send, in a bounded run on every cargo test.
//!
//! One test binary per area (linking the support crate once, not once per file); each
//! file below is one subject.

mod fuzz;
