//! The repository's own rules, as CI checks them: the root holds only what
//! `.ci/root-allowlist` names (issue #29), checked by `.ci/check-root` early in `.ci/run`.

use std::path::Path;
use std::process::Command;

use orchestra_tests::workspace_root;

/// Runs `.ci/check-root` on `repo`: its exit status and its stderr.
fn check_root(repo: &Path) -> (bool, String) {
    let out = Command::new(workspace_root().join(".ci/check-root"))
        .arg(repo)
        .output()
        .expect("running .ci/check-root");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .status()
        .expect("running git");
    assert!(status.success(), "git {args:?}");
}

#[test]
fn this_repository_s_root_holds_only_what_the_allowlist_names() {
    let (ok, stderr) = check_root(&workspace_root());
    assert!(ok, "{stderr}");
}

#[test]
fn a_stray_file_or_folder_at_the_root_fails_the_check_and_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path();
    git(repo, &["init", "-q"]);
    std::fs::create_dir_all(repo.join("orchestrad/src")).expect("mkdir");
    std::fs::write(repo.join("orchestrad/src/lib.rs"), "").expect("write");
    std::fs::write(repo.join("Cargo.toml"), "").expect("write");
    git(repo, &["add", "."]);
    let (ok, stderr) = check_root(repo);
    assert!(ok, "only allowed entries: {stderr}");

    std::fs::write(repo.join("r.out"), "{}").expect("write");
    std::fs::create_dir_all(repo.join("scratch")).expect("mkdir");
    std::fs::write(repo.join("scratch/notes.md"), "").expect("write");
    std::fs::write(repo.join("untracked.log"), "").expect("write");
    git(repo, &["add", "r.out", "scratch"]);
    let (ok, stderr) = check_root(repo);
    assert!(!ok, "a stray file must fail the check");
    assert!(stderr.contains("  r.out\n"), "{stderr}");
    assert!(stderr.contains("  scratch/\n"), "{stderr}");
    assert!(
        !stderr.contains("untracked.log") && !stderr.contains("orchestrad"),
        "only tracked strays are named: {stderr}"
    );
    assert!(
        stderr.contains(".ci/root-allowlist"),
        "says what to do: {stderr}"
    );
}
