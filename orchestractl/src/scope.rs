//! Which agents a command is about: by default those of the repository the user stands
//! in, every agent elsewhere or with `--all`.

use std::path::Path;

use crate::client::repo_arg;

/// The `repo` to send with a `List` or `Collect` request: `--repo` when given, nothing
/// (every agent) with `--all` or outside a git repository, else the current directory
/// (the daemon resolves it to its repository's root and matches that exactly, so
/// `/a/repo` never takes in `/a/repo2`).
pub fn repo_filter(repo: Option<&Path>, all: bool) -> anyhow::Result<String> {
    if let Some(path) = repo {
        return repo_arg(Some(path));
    }
    if all {
        return Ok(String::new());
    }
    let cwd = repo_arg(None)?;
    Ok(if in_git_repo(Path::new(&cwd)) {
        cwd
    } else {
        String::new()
    })
}

/// Whether `dir` is inside a git repository or worktree: some ancestor holds `.git`
/// (a directory, or the file a linked worktree has).
fn in_git_repo(dir: &Path) -> bool {
    dir.ancestors().any(|d| d.join(".git").exists())
}

/// How a listing names a repository: its path, with the home directory as `~`.
pub fn repo_label(repo: &str) -> String {
    let home = orchestra_proto::paths::home_dir();
    match Path::new(repo).strip_prefix(&home) {
        Ok(rest) if home != Path::new("/") => format!("~/{}", rest.display()),
        _ => repo.to_owned(),
    }
}
