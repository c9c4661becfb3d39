//! Outside tools some tests drive (Chromium and chromedriver, openssl, python3 with grpcio;
//! the real Claude Code CLI has its own [`crate::real_cli`]).
//!
//! Without a tool a test skips, saying what to install, except under `CI=true`: there a
//! missing tool fails the test with the same words, so CI never passes by skipping.

use std::path::PathBuf;

/// Whether this is a CI run (`CI=true`), where every test must really run.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// The first of `names` found on `PATH`.
pub fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    names
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|p| p.is_file())
}

/// Says that `what` is missing and how to install it: fails the test under `CI=true`,
/// else prints that the test is skipped.
pub fn missing(what: &str, install: &str) {
    assert!(
        !in_ci(),
        "{what} is missing, and CI=true runs every test: install it with `{install}` \
         (.ci/run does)"
    );
    eprintln!("skipped: {what} is not installed (install it with `{install}`)");
}

/// The first of `names` on `PATH`, or `None` after [`missing`] said how to install it.
pub fn require(names: &[&str], install: &str) -> Option<PathBuf> {
    let found = find_program(names);
    if found.is_none() {
        missing(names[0], install);
    }
    found
}
