//! Conversions between the daemon's plain Rust types and the generated proto types.
