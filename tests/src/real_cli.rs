//! Finding the real Claude Code CLI for the tests that prove fake-claude honest.
//!
//! `.ci/run` installs the version pinned in `.ci/claude-code-version` and exports
//! `ORCHESTRA_REAL_CLAUDE`. Without it a test skips (saying why), except under `CI=true`,
//! where a missing or wrong CLI fails the test, naming what to install.

use std::path::PathBuf;

use crate::tools::in_ci;

/// The pinned version, from `.ci/claude-code-version` (the one place that says it).
pub fn pinned_version() -> String {
    let path = crate::workspace_root().join(".ci/claude-code-version");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()))
        .trim()
        .to_owned()
}

/// The real CLI of the pinned version, or `None` (after saying why) when it is missing
/// outside CI.
pub fn real_claude() -> Option<PathBuf> {
    let version = pinned_version();
    let found = std::env::var_os("ORCHESTRA_REAL_CLAUDE")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::split_paths(&std::env::var_os("PATH")?)
                .map(|dir| dir.join("claude"))
                .find(|p| p.is_file())
        });
    let install = format!(
        "install it with `npm install --prefix DIR @anthropic-ai/claude-code@{version}` and set \
         ORCHESTRA_REAL_CLAUDE=DIR/node_modules/.bin/claude (`.ci/run` does both)"
    );
    let Some(path) = found else {
        assert!(
            !in_ci(),
            "the real Claude Code CLI {version} is missing: {install}"
        );
        eprintln!("skipped: the real Claude Code CLI is not installed; {install}");
        return None;
    };
    let said = std::process::Command::new(&path)
        .arg("--version")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .unwrap_or_default();
    if !said.starts_with(&format!("{version} ")) {
        assert!(
            !in_ci(),
            "{} says {said:?}, not Claude Code {version}: {install}",
            path.display()
        );
        eprintln!(
            "skipped: {} is {said:?}, not the pinned {version}; {install}",
            path.display()
        );
        return None;
    }
    Some(path)
}
