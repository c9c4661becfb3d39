//! Git worktrees for agents, with git2: one branch `orchestra/<slug>` and one directory
//! `<repo>/<worktree_dir>/task-<slug>` per agent, so agents never touch each other's files.

use std::path::{Path, PathBuf};

pub mod diff;
pub mod merge;

use git2::{BranchType, DiffOptions, Repository, WorktreeAddOptions, WorktreePruneOptions};
use orchestra_proto::fs::at;

/// Longest slug, so paths and ref names stay short.
const SLUG_MAX: usize = 40;

/// Errors of worktree operations, each saying what to do.
#[derive(Debug, thiserror::Error)]
pub enum WorktreeError {
    /// The directory is not inside a git repository.
    #[error("{path} is not inside a git repository: run `git init` there, or `orchestractl init`")]
    NotARepo {
        /// The directory given.
        path: PathBuf,
    },
    /// The repository has no commit to branch from.
    #[error(
        "{repo} has no commits yet, so there is nothing to branch from: run `orchestractl init` to make a first commit"
    )]
    NoCommits {
        /// The repository.
        repo: PathBuf,
    },
    /// The base ref does not resolve.
    #[error("unknown ref {reference:?} in {repo}: give a branch, tag or commit that exists")]
    UnknownRef {
        /// The repository.
        repo: PathBuf,
        /// The ref given.
        reference: String,
    },
    /// A git operation failed.
    #[error("git: cannot {op} in {repo}: {source}")]
    Git {
        /// The repository.
        repo: PathBuf,
        /// What was being done.
        op: &'static str,
        /// git2's error.
        #[source]
        source: git2::Error,
    },
    /// A branch to be moved is checked out somewhere else.
    #[error(
        "branch {branch} is checked out at {path}; orchestra never moves a branch under someone's checkout: choose another --into"
    )]
    CheckedOut {
        /// The branch.
        branch: String,
        /// Where it is checked out.
        path: PathBuf,
    },
    /// A filesystem operation failed (disk full, path taken, permissions).
    #[error(transparent)]
    Io(#[from] orchestra_proto::fs::PathError),
}

fn git_err(repo: &Path, op: &'static str) -> impl FnOnce(git2::Error) -> WorktreeError {
    let repo = repo.to_path_buf();
    move |source| WorktreeError::Git { repo, op, source }
}

/// Finds the repository containing `dir` and returns its root (the main working tree,
/// even when `dir` is inside a worktree).
pub fn repo_root(dir: &Path) -> Result<PathBuf, WorktreeError> {
    let repo = Repository::discover(dir).map_err(|_| WorktreeError::NotARepo {
        path: dir.to_path_buf(),
    })?;
    // For a linked worktree, the common dir is the main repository's .git.
    let common = repo.commondir().to_path_buf();
    let root = if common.file_name().is_some_and(|n| n == ".git") {
        common.parent().map(Path::to_path_buf)
    } else {
        repo.workdir().map(Path::to_path_buf)
    };
    let root = root.ok_or_else(|| WorktreeError::NotARepo {
        path: dir.to_path_buf(),
    })?;
    Ok(root.canonicalize().unwrap_or(root))
}

/// A slug from task text: lowercase ASCII letters and digits joined by single dashes,
/// at most [`SLUG_MAX`] characters, never empty. Safe as a path component and a ref name
/// whatever the text holds (`../`, quotes, newlines, emoji).
pub fn slugify(task: &str) -> String {
    let mut slug = String::new();
    let mut dash = false;
    for c in task.chars() {
        if c.is_ascii_alphanumeric() {
            if dash && !slug.is_empty() {
                slug.push('-');
            }
            dash = false;
            slug.push(c.to_ascii_lowercase());
            if slug.len() >= SLUG_MAX {
                break;
            }
        } else {
            dash = true;
        }
    }
    let slug = slug.trim_end_matches('-').to_owned();
    if slug.is_empty() {
        "task".to_owned()
    } else {
        slug
    }
}

/// The worktree directory of a repository.
pub fn worktree_base(repo_root: &Path, worktree_dir: &str) -> PathBuf {
    repo_root.join(worktree_dir)
}

/// A slug for `task` not used yet by a branch, a worktree or a directory of the repo,
/// nor by `taken` (slugs handed out but not created yet).
pub fn unique_slug(
    repo_root: &Path,
    worktree_dir: &str,
    task: &str,
    taken: &[String],
) -> Result<String, WorktreeError> {
    let repo = Repository::open(repo_root).map_err(git_err(repo_root, "open the repository"))?;
    let base = slugify(task);
    for n in 1.. {
        let slug = if n == 1 {
            base.clone()
        } else {
            format!("{base}-{n}")
        };
        let in_use = taken.contains(&slug)
            || repo
                .find_branch(&format!("orchestra/{slug}"), BranchType::Local)
                .is_ok()
            || repo.find_worktree(&format!("task-{slug}")).is_ok()
            || worktree_base(repo_root, worktree_dir)
                .join(format!("task-{slug}"))
                .exists();
        if !in_use {
            return Ok(slug);
        }
    }
    unreachable!("the loop returns")
}

/// Resolves `base` (empty: HEAD) to a commit id.
pub fn resolve_base(repo_root: &Path, base: &str) -> Result<String, WorktreeError> {
    let repo = Repository::open(repo_root).map_err(git_err(repo_root, "open the repository"))?;
    let spec = if base.is_empty() { "HEAD" } else { base };
    let object = repo.revparse_single(spec).map_err(|_| {
        if base.is_empty() {
            WorktreeError::NoCommits {
                repo: repo_root.to_path_buf(),
            }
        } else {
            WorktreeError::UnknownRef {
                repo: repo_root.to_path_buf(),
                reference: base.to_owned(),
            }
        }
    })?;
    let commit = object
        .peel_to_commit()
        .map_err(|_| WorktreeError::UnknownRef {
            repo: repo_root.to_path_buf(),
            reference: spec.to_owned(),
        })?;
    Ok(commit.id().to_string())
}

/// Creates branch `orchestra/<slug>` at `base_commit` and its worktree at `path`. When the
/// worktree already exists (a restart finishing what a crash left half-done) it is reused.
pub fn create(
    repo_root: &Path,
    worktree_dir: &str,
    slug: &str,
    base_commit: &str,
    path: &Path,
) -> Result<(), WorktreeError> {
    let repo = Repository::open(repo_root).map_err(git_err(repo_root, "open the repository"))?;
    ensure_excluded(&repo, worktree_dir)?;
    let name = format!("task-{slug}");
    if let Ok(existing) = repo.find_worktree(&name)
        && existing.validate().is_ok()
        && path.exists()
    {
        return Ok(());
    }
    let branch_name = format!("orchestra/{slug}");
    let branch = match repo.find_branch(&branch_name, BranchType::Local) {
        Ok(branch) => branch,
        Err(_) => {
            let oid = git2::Oid::from_str(base_commit)
                .map_err(git_err(repo_root, "read the base commit"))?;
            let commit = repo
                .find_commit(oid)
                .map_err(git_err(repo_root, "find the base commit"))?;
            repo.branch(&branch_name, &commit, false)
                .map_err(git_err(repo_root, "create the branch"))?
        }
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|source| orchestra_proto::fs::PathError {
            op: "create directory",
            path: parent.to_path_buf(),
            source,
        })?;
    }
    // A stale registration (its directory deleted by hand) would block the name.
    if let Ok(stale) = repo.find_worktree(&name) {
        let _ = stale.prune(Some(
            WorktreePruneOptions::new().valid(true).working_tree(true),
        ));
    }
    let mut options = WorktreeAddOptions::new();
    options.reference(Some(branch.get()));
    repo.worktree(&name, path, Some(&options))
        .map_err(git_err(repo_root, "create the worktree"))?;
    Ok(())
}

/// Adds `/<worktree_dir>/` to the repository's `info/exclude` so worktrees never show up
/// as untracked files. Returns whether it was added.
pub fn ensure_excluded(repo: &Repository, worktree_dir: &str) -> Result<bool, WorktreeError> {
    let info = repo.commondir().join("info");
    let exclude = info.join("exclude");
    let line = format!("/{}/", worktree_dir.trim_matches('/'));
    let current = std::fs::read_to_string(&exclude).unwrap_or_default();
    if current.lines().any(|l| l.trim() == line) {
        return Ok(false);
    }
    std::fs::create_dir_all(&info).map_err(at("create", &exclude))?;
    let mut text = current;
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&line);
    text.push('\n');
    std::fs::write(&exclude, text).map_err(at("write", &exclude))?;
    Ok(true)
}

/// Changes on a worktree against its base commit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DiffStat {
    /// Files changed, committed or not.
    pub files_changed: u32,
    /// Lines added.
    pub insertions: u32,
    /// Lines removed.
    pub deletions: u32,
    /// Commits since the base.
    pub commits: u32,
    /// Uncommitted changes exist.
    pub uncommitted: bool,
}

/// Diff of the worktree at `path` (its files as they are now, untracked included) against
/// `base_commit`, and the commits on its branch since then.
pub fn diff_stat(path: &Path, base_commit: &str) -> Result<DiffStat, WorktreeError> {
    let repo = Repository::open(path).map_err(git_err(path, "open the worktree"))?;
    let oid = git2::Oid::from_str(base_commit).map_err(git_err(path, "read the base commit"))?;
    let diff = worktree_diff(&repo, path, oid, DiffOptions::new())?;
    let stats = diff.stats().map_err(git_err(path, "count the diff"))?;
    let head = repo.head().ok().and_then(|h| h.target());
    let mut commits = 0;
    if let Some(head) = head {
        let mut walk = repo.revwalk().map_err(git_err(path, "walk history"))?;
        walk.push(head).map_err(git_err(path, "walk history"))?;
        walk.hide(oid).map_err(git_err(path, "walk history"))?;
        commits = walk.count() as u32;
    }
    let mut status_options = git2::StatusOptions::new();
    status_options
        .include_untracked(true)
        .include_ignored(false);
    let uncommitted = repo
        .statuses(Some(&mut status_options))
        .map(|s| !s.is_empty())
        .unwrap_or(false);
    Ok(DiffStat {
        files_changed: stats.files_changed() as u32,
        insertions: stats.insertions() as u32,
        deletions: stats.deletions() as u32,
        commits,
        uncommitted,
    })
}

/// The worktree at `path` (committed, staged and uncommitted work, new files with their
/// content) against commit `base`, with `options` on top.
pub(crate) fn worktree_diff<'r>(
    repo: &'r Repository,
    path: &Path,
    base: git2::Oid,
    mut options: DiffOptions,
) -> Result<git2::Diff<'r>, WorktreeError> {
    let tree = repo
        .find_commit(base)
        .and_then(|commit| commit.tree())
        .map_err(git_err(path, "find the commit the work started from"))?;
    options
        .include_untracked(true)
        .recurse_untracked_dirs(true)
        .show_untracked_content(true);
    repo.diff_tree_to_workdir_with_index(Some(&tree), Some(&mut options))
        .map_err(git_err(path, "diff the worktree"))
}

/// Whether branch `orchestra/<slug>` is contained in the repository's HEAD.
pub fn is_merged(repo_root: &Path, branch: &str) -> Result<bool, WorktreeError> {
    let repo = Repository::open(repo_root).map_err(git_err(repo_root, "open the repository"))?;
    let Ok(branch) = repo.find_branch(branch, BranchType::Local) else {
        return Ok(true);
    };
    let Some(tip) = branch.get().target() else {
        return Ok(true);
    };
    let head =
        repo.head()
            .ok()
            .and_then(|h| h.target())
            .ok_or_else(|| WorktreeError::NoCommits {
                repo: repo_root.to_path_buf(),
            })?;
    Ok(head == tip
        || repo
            .graph_descendant_of(head, tip)
            .map_err(git_err(repo_root, "compare history"))?)
}

/// Removes the worktree `task-<slug>` (its directory too) and, if `delete_branch`, its
/// branch.
pub fn remove(
    repo_root: &Path,
    slug: &str,
    path: &Path,
    delete_branch: bool,
) -> Result<(), WorktreeError> {
    let branch = format!("orchestra/{slug}");
    remove_named(
        repo_root,
        &format!("task-{slug}"),
        path,
        delete_branch.then_some(branch.as_str()),
    )
}

/// Removes the worktree registered as `name` at `path` (its directory too) and `branch`
/// when given. What is already gone is no error.
pub fn remove_named(
    repo_root: &Path,
    name: &str,
    path: &Path,
    branch: Option<&str>,
) -> Result<(), WorktreeError> {
    let repo = Repository::open(repo_root).map_err(git_err(repo_root, "open the repository"))?;
    if let Ok(worktree) = repo.find_worktree(name) {
        worktree
            .prune(Some(
                WorktreePruneOptions::new()
                    .valid(true)
                    .locked(false)
                    .working_tree(true),
            ))
            .map_err(git_err(repo_root, "remove the worktree"))?;
    }
    if path.exists() {
        std::fs::remove_dir_all(path).map_err(|source| orchestra_proto::fs::PathError {
            op: "remove",
            path: path.to_path_buf(),
            source,
        })?;
    }
    if let Some(branch) = branch
        && let Ok(mut found) = repo.find_branch(branch, BranchType::Local)
    {
        found
            .delete()
            .map_err(git_err(repo_root, "delete the branch"))?;
    }
    Ok(())
}

/// What [`init`] did.
#[derive(Debug, Clone, Default)]
pub struct InitReport {
    /// The repository root.
    pub repo: PathBuf,
    /// A repository was created.
    pub created_repo: bool,
    /// A first commit was made.
    pub created_commit: bool,
    /// The exclude line was added.
    pub added_exclude: bool,
    /// Files the first commit holds, when one was made.
    pub committed_files: Vec<String>,
    /// Who the first commit is by, "Name <email>", when one was made.
    pub author: String,
    /// Part of the identity was set nowhere: [`DEFAULT_NAME`] or [`DEFAULT_EMAIL`] stood in.
    pub default_identity: bool,
}

/// Who makes a commit, as the user's shell would have git make it; an empty part is not
/// set there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// The name, or empty.
    pub name: String,
    /// The email, or empty.
    pub email: String,
}

/// The author and committer of [`init`]'s first commit.
#[derive(Debug, Clone, Default)]
pub struct CommitIdentity {
    /// Who wrote it.
    pub author: Identity,
    /// Who committed it.
    pub committer: Identity,
}

/// The name a commit is made with when none is set anywhere.
pub const DEFAULT_NAME: &str = "claude-orchestra";
/// The email a commit is made with when none is set anywhere.
pub const DEFAULT_EMAIL: &str = "orchestra@localhost";

/// A signature from `given`, its empty parts taken from `repo`'s config (`user.name`,
/// `user.email`) and then from the defaults; and whether a default was used.
fn signature_of(
    repo: &Repository,
    given: &Identity,
) -> Result<(git2::Signature<'static>, bool), git2::Error> {
    let config = repo.config().ok();
    let mut defaulted = false;
    let mut part = |given: &str, key: &str, default: &str| {
        if !given.is_empty() {
            return given.to_owned();
        }
        config
            .as_ref()
            .and_then(|c| c.get_string(key).ok())
            .filter(|value| !value.is_empty())
            .unwrap_or_else(|| {
                defaulted = true;
                default.to_owned()
            })
    };
    let name = part(&given.name, "user.name", DEFAULT_NAME);
    let email = part(&given.email, "user.email", DEFAULT_EMAIL);
    Ok((git2::Signature::now(&name, &email)?, defaulted))
}

/// Files of the repository at `repo_root` that differ from its HEAD (modified, staged or
/// untracked; ignored ones and the worktree dir left out), as paths relative to the root.
/// Agents branch from a commit, so they do not see these.
pub fn uncommitted(repo_root: &Path, worktree_dir: &str) -> Result<Vec<String>, WorktreeError> {
    let repo = Repository::open(repo_root).map_err(git_err(repo_root, "open the repository"))?;
    let mut options = git2::StatusOptions::new();
    options
        .include_untracked(true)
        .include_ignored(false)
        .recurse_untracked_dirs(false);
    let statuses = repo
        .statuses(Some(&mut options))
        .map_err(git_err(repo_root, "read the status"))?;
    let worktrees = format!("{}/", worktree_dir.trim_matches('/'));
    Ok(statuses
        .iter()
        .filter(|entry| entry.status() != git2::Status::CURRENT)
        .filter_map(|entry| entry.path().map(str::to_owned))
        .filter(|path| !path.starts_with(&worktrees))
        .collect())
}

/// Prepares `dir` for agents: a repository (created if none), a first commit (worktrees
/// need something to branch from) made as `identity`, the worktree dir, and its exclude
/// line.
pub fn init(
    dir: &Path,
    worktree_dir: &str,
    identity: &CommitIdentity,
) -> Result<InitReport, WorktreeError> {
    let mut report = InitReport::default();
    let repo = match Repository::discover(dir) {
        Ok(repo) => repo,
        Err(_) => {
            report.created_repo = true;
            Repository::init(dir).map_err(git_err(dir, "create a repository"))?
        }
    };
    let root = repo
        .workdir()
        .map(Path::to_path_buf)
        .ok_or_else(|| WorktreeError::NotARepo {
            path: dir.to_path_buf(),
        })?;
    // Excluded first, so the first commit never holds agent worktrees.
    report.added_exclude = ensure_excluded(&repo, worktree_dir)?;
    if repo.head().ok().and_then(|h| h.target()).is_none() {
        let (author, author_defaulted) =
            signature_of(&repo, &identity.author).map_err(git_err(&root, "make a signature"))?;
        let (committer, committer_defaulted) =
            signature_of(&repo, &identity.committer).map_err(git_err(&root, "make a signature"))?;
        report.author = format!(
            "{} <{}>",
            author.name().unwrap_or_default(),
            author.email().unwrap_or_default()
        );
        report.default_identity = author_defaulted || committer_defaulted;
        // What the folder already holds goes into the first commit (as `git add -A` would,
        // .gitignore respected): agents branch from it, so an empty commit would hand
        // them an empty tree.
        let mut index = repo.index().map_err(git_err(&root, "open the index"))?;
        index
            .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
            .and_then(|()| index.write())
            .map_err(git_err(&root, "add the files"))?;
        report.committed_files = index
            .iter()
            .map(|entry| String::from_utf8_lossy(&entry.path).into_owned())
            .collect();
        let tree_id = index
            .write_tree()
            .map_err(git_err(&root, "write the tree"))?;
        let tree = repo
            .find_tree(tree_id)
            .map_err(git_err(&root, "read the tree"))?;
        repo.commit(
            Some("HEAD"),
            &author,
            &committer,
            "Initial commit",
            &tree,
            &[],
        )
        .map_err(git_err(&root, "make the first commit"))?;
        report.created_commit = true;
    }
    let base = worktree_base(&root, worktree_dir);
    std::fs::create_dir_all(&base).map_err(|source| orchestra_proto::fs::PathError {
        op: "create",
        path: base.clone(),
        source,
    })?;
    report.repo = root.canonicalize().unwrap_or(root);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_safe_whatever_the_text() {
        assert_eq!(slugify("Build auth API"), "build-auth-api");
        assert_eq!(slugify("../../etc/passwd"), "etc-passwd");
        assert_eq!(
            slugify("rm -rf / ; echo \"hi\" $(x) `y`"),
            "rm-rf-echo-hi-x-y"
        );
        assert_eq!(slugify("línea\nnueva 🎉"), "l-nea-nueva");
        assert_eq!(slugify("🎉🎉"), "task");
        assert_eq!(slugify(&"a".repeat(10_000)).len(), SLUG_MAX);
        let long = slugify(&"ab ".repeat(5000));
        assert!(long.len() <= SLUG_MAX && !long.ends_with('-'), "{long}");
    }
}
