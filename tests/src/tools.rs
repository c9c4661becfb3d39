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

/// ccusage of the version pinned in `.ci/ccusage-version`, the reference for
/// `analytics --by day` (`tests/tests/sessions/spend_report.rs`): `ORCHESTRA_CCUSAGE`, which
/// `.ci/run` sets, else `ccusage` on `PATH`; `None` after [`missing`] said how to install it.
/// (18.0.x is the last release that runs on Node alone; 20.x needs a native package that
/// npm's registry does not serve for linux-x64.)
pub fn ccusage() -> Option<PathBuf> {
    let path = crate::workspace_root().join(".ci/ccusage-version");
    let version = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()))
        .trim()
        .to_owned();
    let install = format!(
        "npm install --prefix DIR ccusage@{version} && export ORCHESTRA_CCUSAGE=DIR/node_modules/.bin/ccusage"
    );
    let found = std::env::var_os("ORCHESTRA_CCUSAGE")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| find_program(&["ccusage"]));
    let Some(found) = found else {
        missing("ccusage", &install);
        return None;
    };
    let said = std::process::Command::new(&found)
        .arg("--version")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .unwrap_or_default();
    if said != version {
        missing(&format!("ccusage {version} (found {said:?})"), &install);
        return None;
    }
    Some(found)
}
