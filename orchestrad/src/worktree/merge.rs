//! Bringing agents' branches together, with git2: committing what an agent left
//! uncommitted, the paths a worktree changed against its base (for the overlap radar),
//! pairwise conflicts computed in memory (for `merge --dry-run`), and one integration
//! branch built from many branches.
//!
//! Every merge here is computed in memory (`merge_commits`/`merge_trees`), so a branch
//! that conflicts is simply not taken: no worktree is ever left half-merged. Only the
//! finished result moves the integration branch and is checked out in the integration
//! worktree (its own, never the user's checkout).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use git2::{BranchType, Oid, Repository, WorktreeAddOptions};

use super::{WorktreeError, git_err};

/// The signature of commits orchestra makes: the repository's user, else its own name.
fn signature(repo: &Repository, at: &Path) -> Result<git2::Signature<'static>, WorktreeError> {
    repo.signature()
        .or_else(|_| git2::Signature::now("claude-orchestra", "orchestra@localhost"))
        .map_err(git_err(at, "make a signature"))
}

/// The commit HEAD points at, or the error that the repository has none.
fn head_commit<'r>(repo: &'r Repository, path: &Path) -> Result<git2::Commit<'r>, WorktreeError> {
    repo.head()
        .ok()
        .and_then(|h| h.peel_to_commit().ok())
        .ok_or_else(|| WorktreeError::NoCommits {
            repo: path.to_path_buf(),
        })
}

/// Commits everything uncommitted in the worktree at `path` (new, changed and deleted
/// files, `.gitignore` honoured) on its branch with `message`. Returns the new commit, or
/// `None` when there was nothing to commit.
pub fn commit_all(path: &Path, message: &str) -> Result<Option<String>, WorktreeError> {
    let repo = Repository::open(path).map_err(git_err(path, "open the worktree"))?;
    let mut index = repo.index().map_err(git_err(path, "read the index"))?;
    index
        .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
        .map_err(git_err(path, "stage the changes"))?;
    index
        .update_all(["*"], None)
        .map_err(git_err(path, "stage the deletions"))?;
    let tree_id = index
        .write_tree()
        .map_err(git_err(path, "write the tree"))?;
    let head = head_commit(&repo, path)?;
    if head.tree_id() == tree_id {
        return Ok(None);
    }
    index.write().map_err(git_err(path, "write the index"))?;
    let tree = repo
        .find_tree(tree_id)
        .map_err(git_err(path, "read the tree"))?;
    let sig = signature(&repo, path)?;
    let id = repo
        .commit(Some("HEAD"), &sig, &sig, message, &tree, &[&head])
        .map_err(git_err(path, "commit the changes"))?;
    Ok(Some(id.to_string()))
}

/// The commit at the tip of local branch `branch`.
pub fn branch_tip(repo_root: &Path, branch: &str) -> Result<String, WorktreeError> {
    let repo = Repository::open(repo_root).map_err(git_err(repo_root, "open the repository"))?;
    let reference =
        repo.find_branch(branch, BranchType::Local)
            .map_err(|_| WorktreeError::UnknownRef {
                repo: repo_root.to_path_buf(),
                reference: branch.to_owned(),
            })?;
    reference
        .get()
        .peel_to_commit()
        .map(|c| c.id().to_string())
        .map_err(git_err(repo_root, "read the branch"))
}

/// The paths the worktree at `path` changed against `base_commit`: committed and
/// uncommitted, untracked files included, sorted.
pub fn changed_paths(path: &Path, base_commit: &str) -> Result<BTreeSet<String>, WorktreeError> {
    let repo = Repository::open(path).map_err(git_err(path, "open the worktree"))?;
    let oid = Oid::from_str(base_commit).map_err(git_err(path, "read the base commit"))?;
    let tree = repo
        .find_commit(oid)
        .and_then(|c| c.tree())
        .map_err(git_err(path, "read the base tree"))?;
    let mut options = git2::DiffOptions::new();
    options.include_untracked(true).recurse_untracked_dirs(true);
    let diff = repo
        .diff_tree_to_workdir_with_index(Some(&tree), Some(&mut options))
        .map_err(git_err(path, "diff the worktree"))?;
    Ok(delta_paths(&diff))
}

/// Every path a diff touches (old and new names of a rename).
fn delta_paths(diff: &git2::Diff<'_>) -> BTreeSet<String> {
    let mut paths = BTreeSet::new();
    for delta in diff.deltas() {
        for file in [delta.old_file(), delta.new_file()] {
            if let Some(p) = file.path() {
                paths.insert(p.to_string_lossy().into_owned());
            }
        }
    }
    paths
}

/// A worktree as it is now, written as a tree object without touching its index or its
/// files: HEAD's tree with every uncommitted change laid over it. Returns (HEAD, tree).
/// Only objects are written (unreferenced, so `git gc` drops them); no ref moves.
pub fn snapshot(path: &Path) -> Result<(Oid, Oid), WorktreeError> {
    let repo = Repository::open(path).map_err(git_err(path, "open the worktree"))?;
    let head = head_commit(&repo, path)?;
    let mut status_options = git2::StatusOptions::new();
    status_options
        .include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(false);
    let statuses = repo
        .statuses(Some(&mut status_options))
        .map_err(git_err(path, "read the status"))?;
    if statuses.is_empty() {
        return Ok((head.id(), head.tree_id()));
    }
    let mut index = git2::Index::new().map_err(git_err(path, "make an index"))?;
    let head_tree = head.tree().map_err(git_err(path, "read HEAD's tree"))?;
    index
        .read_tree(&head_tree)
        .map_err(git_err(path, "read HEAD's tree"))?;
    for entry in statuses.iter() {
        let Some(rel) = entry.path() else { continue };
        let full = path.join(rel);
        match std::fs::symlink_metadata(&full) {
            Ok(meta) if meta.is_dir() => continue,
            Ok(meta) => {
                use std::os::unix::fs::PermissionsExt;
                let (id, mode) = if meta.file_type().is_symlink() {
                    let target = std::fs::read_link(&full).map_err(|source| {
                        orchestra_proto::fs::PathError {
                            op: "read the link",
                            path: full.clone(),
                            source,
                        }
                    })?;
                    let bytes = target.to_string_lossy().into_owned();
                    let id = repo
                        .blob(bytes.as_bytes())
                        .map_err(git_err(path, "store a link"))?;
                    (id, 0o120000)
                } else {
                    let id = repo
                        .blob_path(&full)
                        .map_err(git_err(path, "store a file"))?;
                    let exec = meta.permissions().mode() & 0o111 != 0;
                    (id, if exec { 0o100755 } else { 0o100644 })
                };
                let entry = git2::IndexEntry {
                    ctime: git2::IndexTime::new(0, 0),
                    mtime: git2::IndexTime::new(0, 0),
                    dev: 0,
                    ino: 0,
                    mode,
                    uid: 0,
                    gid: 0,
                    file_size: meta.len() as u32,
                    id,
                    flags: rel.len().min(0xfff) as u16,
                    flags_extended: 0,
                    path: rel.as_bytes().to_vec(),
                };
                index
                    .add(&entry)
                    .map_err(git_err(path, "stage a file in memory"))?;
            }
            Err(_) => {
                let _ = index.remove_path(Path::new(rel));
            }
        }
    }
    let tree = index
        .write_tree_to(&repo)
        .map_err(git_err(path, "write the tree"))?;
    Ok((head.id(), tree))
}

/// Paths of a merged index's conflicts.
fn conflict_paths(index: &git2::Index) -> BTreeSet<String> {
    let mut paths = BTreeSet::new();
    if let Ok(conflicts) = index.conflicts() {
        for conflict in conflicts.flatten() {
            for entry in [conflict.ancestor, conflict.our, conflict.their]
                .into_iter()
                .flatten()
            {
                paths.insert(String::from_utf8_lossy(&entry.path).into_owned());
            }
        }
    }
    paths
}

/// One side of a dry-run merge: a worktree's HEAD and its tree with uncommitted work.
#[derive(Debug, Clone)]
pub struct Side {
    /// The agent.
    pub agent_id: String,
    /// Its worktree's HEAD commit.
    pub head: Oid,
    /// Its tree, uncommitted work included.
    pub tree: Oid,
}

/// Paths on which `a` and `b` conflict when merged onto their merge base, computed in
/// memory. Empty when they merge cleanly.
pub fn conflicts_between(
    repo_root: &Path,
    a: &Side,
    b: &Side,
) -> Result<BTreeSet<String>, WorktreeError> {
    let repo = Repository::open(repo_root).map_err(git_err(repo_root, "open the repository"))?;
    let base = repo
        .merge_base(a.head, b.head)
        .map_err(git_err(repo_root, "find the common base"))?;
    let tree = |id: Oid| {
        repo.find_tree(id)
            .map_err(git_err(repo_root, "read a tree"))
    };
    let ancestor = repo
        .find_commit(base)
        .and_then(|c| c.tree())
        .map_err(git_err(repo_root, "read the base tree"))?;
    let index = repo
        .merge_trees(&ancestor, &tree(a.tree)?, &tree(b.tree)?, None)
        .map_err(git_err(repo_root, "merge in memory"))?;
    Ok(conflict_paths(&index))
}

/// A branch to integrate.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The agent that made it.
    pub agent_id: String,
    /// Its branch.
    pub branch: String,
    /// Its task, for the merge commit's message.
    pub task: String,
    /// The commit its branch was made from.
    pub base_commit: String,
}

/// A branch left out of the integration.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Skipped {
    /// The agent.
    pub agent_id: String,
    /// The paths in conflict.
    pub paths: Vec<String>,
    /// Agents already merged whose work conflicts with it.
    pub conflicts_with: Vec<String>,
}

/// What [`integrate`] did.
#[derive(Debug, Clone, Default)]
pub struct Integration {
    /// The integration branch.
    pub branch: String,
    /// Its commit after the merge (empty when nothing was merged and it did not exist).
    pub head: String,
    /// The common base the branch was started from.
    pub base: String,
    /// Its worktree.
    pub worktree: PathBuf,
    /// Agents whose branches are in it, in order.
    pub merged: Vec<String>,
    /// Agents left out.
    pub skipped: Vec<Skipped>,
}

/// Where the integration worktree of branch `into` lives.
pub fn integration_worktree(repo_root: &Path, worktree_dir: &str, into: &str) -> PathBuf {
    let slug = super::slugify(into.trim_start_matches("orchestra/"));
    let name = if slug.starts_with("integrate-") {
        slug
    } else {
        format!("integrate-{slug}")
    };
    super::worktree_base(repo_root, worktree_dir).join(name)
}

/// Directories where `branch` is checked out (the main checkout or a linked worktree).
fn checked_out_at(repo: &Repository, branch: &str) -> Vec<PathBuf> {
    let full = format!("refs/heads/{branch}");
    let mut places = Vec::new();
    let head_of = |r: &Repository| r.head().ok().and_then(|h| h.name().map(str::to_owned));
    if head_of(repo).as_deref() == Some(full.as_str())
        && let Some(dir) = repo.workdir()
    {
        places.push(dir.to_path_buf());
    }
    if let Ok(names) = repo.worktrees() {
        for name in names.iter().flatten() {
            if let Ok(wt) = repo.find_worktree(name)
                && let Ok(wt_repo) = Repository::open_from_worktree(&wt)
                && head_of(&wt_repo).as_deref() == Some(full.as_str())
            {
                places.push(wt.path().to_path_buf());
            }
        }
    }
    places
}

/// Merges `candidates`' branches, in order, onto their common base (or onto `into` when
/// that branch exists already) and points `into` at the result, checked out in its own
/// worktree `worktree`. A branch that conflicts is left out whole.
pub fn integrate(
    repo_root: &Path,
    into: &str,
    worktree: &Path,
    candidates: &[Candidate],
) -> Result<Integration, WorktreeError> {
    let repo = Repository::open(repo_root).map_err(git_err(repo_root, "open the repository"))?;
    let err = |op| git_err(repo_root, op);
    if git2::Branch::name_is_valid(into).ok() != Some(true) {
        return Err(WorktreeError::UnknownRef {
            repo: repo_root.to_path_buf(),
            reference: into.to_owned(),
        });
    }
    let canonical = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    let busy: Vec<PathBuf> = checked_out_at(&repo, into)
        .into_iter()
        .filter(|p| canonical(p) != canonical(worktree))
        .collect();
    if let Some(place) = busy.first() {
        return Err(WorktreeError::CheckedOut {
            branch: into.to_owned(),
            path: place.clone(),
        });
    }
    let mut tips = Vec::new();
    for candidate in candidates {
        let tip = repo
            .find_branch(&candidate.branch, BranchType::Local)
            .map_err(|_| WorktreeError::UnknownRef {
                repo: repo_root.to_path_buf(),
                reference: candidate.branch.clone(),
            })?
            .get()
            .peel_to_commit()
            .map_err(err("read a branch"))?
            .id();
        tips.push(tip);
    }
    if tips.is_empty() {
        return Ok(Integration {
            branch: into.to_owned(),
            worktree: worktree.to_path_buf(),
            ..Integration::default()
        });
    }
    // The bases are ancestors of the tips, so this is where the branches left each other.
    let mut points: Vec<Oid> = tips.clone();
    for candidate in candidates {
        if let Ok(oid) = Oid::from_str(&candidate.base_commit) {
            points.push(oid);
        }
    }
    points.sort();
    points.dedup();
    let base = if points.len() == 1 {
        points[0]
    } else {
        repo.merge_base_many(&points)
            .map_err(err("find the common base"))?
    };
    let existing = repo
        .find_branch(into, BranchType::Local)
        .ok()
        .and_then(|b| b.get().target());
    let mut current = existing.unwrap_or(base);
    let sig = signature(&repo, repo_root)?;
    let mut outcome = Integration {
        branch: into.to_owned(),
        base: base.to_string(),
        worktree: worktree.to_path_buf(),
        ..Integration::default()
    };
    let mut merged_tips: Vec<(String, Oid)> = Vec::new();
    for (candidate, &tip) in candidates.iter().zip(&tips) {
        if current == tip || repo.graph_descendant_of(current, tip).unwrap_or(false) {
            // Already in: nothing to do.
        } else if repo.graph_descendant_of(tip, current).unwrap_or(false) {
            current = tip;
        } else {
            let ours = repo.find_commit(current).map_err(err("read a commit"))?;
            let theirs = repo.find_commit(tip).map_err(err("read a commit"))?;
            let mut index = repo
                .merge_commits(&ours, &theirs, None)
                .map_err(err("merge in memory"))?;
            if index.has_conflicts() {
                let paths = conflict_paths(&index);
                let conflicts_with = culprits(&repo, &merged_tips, tip, &paths);
                outcome.skipped.push(Skipped {
                    agent_id: candidate.agent_id.clone(),
                    paths: paths.into_iter().collect(),
                    conflicts_with,
                });
                continue;
            }
            let tree_id = index.write_tree_to(&repo).map_err(err("write the tree"))?;
            let tree = repo.find_tree(tree_id).map_err(err("read the tree"))?;
            let first_line = candidate.task.lines().next().unwrap_or_default();
            let message = format!(
                "Merge {} (agent {}): {}",
                candidate.branch,
                candidate.agent_id,
                crate::text::truncate_chars(first_line, 100)
            );
            current = repo
                .commit(None, &sig, &sig, &message, &tree, &[&ours, &theirs])
                .map_err(err("commit the merge"))?;
        }
        merged_tips.push((candidate.agent_id.clone(), tip));
        outcome.merged.push(candidate.agent_id.clone());
    }
    if outcome.merged.is_empty() && existing.is_none() {
        return Ok(outcome);
    }
    outcome.head = current.to_string();
    publish(&repo, repo_root, into, current, worktree)?;
    Ok(outcome)
}

/// The merged agents whose work conflicts with `tip` on `paths`: those that conflict
/// with it pairwise, else (a conflict only the combination makes) those that changed
/// one of the paths.
fn culprits(
    repo: &Repository,
    merged: &[(String, Oid)],
    tip: Oid,
    paths: &BTreeSet<String>,
) -> Vec<String> {
    let pairwise: Vec<String> = merged
        .iter()
        .filter(|(_, other)| {
            let (Ok(a), Ok(b)) = (repo.find_commit(*other), repo.find_commit(tip)) else {
                return false;
            };
            repo.merge_commits(&a, &b, None)
                .map(|index| !conflict_paths(&index).is_disjoint(paths))
                .unwrap_or(false)
        })
        .map(|(id, _)| id.clone())
        .collect();
    if !pairwise.is_empty() {
        return pairwise;
    }
    merged
        .iter()
        .filter(|(_, other)| {
            let changed = repo.merge_base(*other, tip).ok().and_then(|base| {
                let old = repo.find_commit(base).ok()?.tree().ok()?;
                let new = repo.find_commit(*other).ok()?.tree().ok()?;
                let diff = repo.diff_tree_to_tree(Some(&old), Some(&new), None).ok()?;
                Some(delta_paths(&diff))
            });
            changed.is_some_and(|c| !c.is_disjoint(paths))
        })
        .map(|(id, _)| id.clone())
        .collect()
}

/// Points `branch` at `commit`, checked out in `worktree` (made when missing): a place
/// to run a check on one commit, such as a batch's base.
pub fn place(
    repo_root: &Path,
    branch: &str,
    commit: &str,
    worktree: &Path,
) -> Result<(), WorktreeError> {
    let repo = Repository::open(repo_root).map_err(git_err(repo_root, "open the repository"))?;
    let oid = Oid::from_str(commit).map_err(git_err(repo_root, "read a commit id"))?;
    publish(&repo, repo_root, branch, oid, worktree)
}

/// Removes the scratch worktree `worktree` (as [`publish`] named it) and `branch`, so the
/// next trial starts from scratch.
pub fn discard(repo_root: &Path, branch: &str, worktree: &Path) -> Result<(), WorktreeError> {
    let name = worktree
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    super::remove_named(repo_root, &name, worktree, Some(branch))
}

/// Points `into` at `commit` and shows it in the integration worktree: the files are
/// checked out first (refusing to overwrite edits made there by hand), and only then
/// does the branch move, so a failure leaves both as they were.
fn publish(
    repo: &Repository,
    repo_root: &Path,
    into: &str,
    commit: Oid,
    worktree: &Path,
) -> Result<(), WorktreeError> {
    let err = |op| git_err(repo_root, op);
    let target = repo.find_commit(commit).map_err(err("read the result"))?;
    let name = worktree
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "integrate".to_owned());
    let registered = repo
        .find_worktree(&name)
        .ok()
        .filter(|wt| wt.validate().is_ok() && worktree.exists());
    match (registered, repo.find_branch(into, BranchType::Local)) {
        (Some(wt), Ok(mut branch)) => {
            let wt_repo = Repository::open_from_worktree(&wt).map_err(err("open its worktree"))?;
            // The same objects, seen through the worktree's own handle (git2 refuses an
            // object of another handle).
            let target = wt_repo
                .find_commit(commit)
                .map_err(err("read the result"))?;
            let mut checkout = git2::build::CheckoutBuilder::new();
            checkout.safe();
            wt_repo
                .checkout_tree(target.as_object(), Some(&mut checkout))
                .map_err(git_err(worktree, "update the integration worktree"))?;
            branch
                .get_mut()
                .set_target(commit, "orchestra: integrate")
                .map_err(err("move the integration branch"))?;
        }
        (registered, _) => {
            if let Some(stale) = registered {
                let _ = stale.prune(Some(
                    git2::WorktreePruneOptions::new()
                        .valid(true)
                        .working_tree(true),
                ));
            }
            let branch = repo
                .branch(into, &target, true)
                .map_err(err("create the integration branch"))?;
            if let Some(parent) = worktree.parent() {
                std::fs::create_dir_all(parent).map_err(|source| {
                    orchestra_proto::fs::PathError {
                        op: "create directory",
                        path: parent.to_path_buf(),
                        source,
                    }
                })?;
            }
            if worktree.exists() {
                return Err(orchestra_proto::fs::PathError {
                    op: "create the integration worktree at",
                    path: worktree.to_path_buf(),
                    source: std::io::Error::from(std::io::ErrorKind::AlreadyExists),
                }
                .into());
            }
            {
                let mut options = WorktreeAddOptions::new();
                options.reference(Some(branch.get()));
                repo.worktree(&name, worktree, Some(&options))
                    .map_err(err("create the integration worktree"))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A repository with `base.txt` committed, and a worktree per name on `orchestra/<name>`.
    fn setup(names: &[&str]) -> (tempfile::TempDir, PathBuf, String) {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().join("repo");
        std::fs::create_dir_all(&root).expect("repo dir");
        let repo = Repository::init(&root).expect("init");
        std::fs::write(root.join("base.txt"), "one\ntwo\nthree\n").expect("write");
        let base = commit_all_in(&repo);
        for name in names {
            crate::worktree::create(
                &root,
                ".worktrees",
                name,
                &base,
                &root.join(format!(".worktrees/task-{name}")),
            )
            .expect("worktree");
        }
        (dir, root, base)
    }

    fn commit_all_in(repo: &Repository) -> String {
        let mut index = repo.index().expect("index");
        index
            .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
            .expect("add");
        let tree = repo
            .find_tree(index.write_tree().expect("tree"))
            .expect("tree");
        index.write().expect("index");
        let sig = git2::Signature::now("t", "t@e").expect("sig");
        let parent = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
        let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
        repo.commit(Some("HEAD"), &sig, &sig, "c", &tree, &parents)
            .expect("commit")
            .to_string()
    }

    fn wt(root: &Path, name: &str) -> PathBuf {
        root.join(format!(".worktrees/task-{name}"))
    }

    fn side(root: &Path, name: &str) -> Side {
        let (head, tree) = snapshot(&wt(root, name)).expect("snapshot");
        Side {
            agent_id: name.to_owned(),
            head,
            tree,
        }
    }

    #[test]
    fn dry_run_sees_uncommitted_deletions_and_edits_and_changes_nothing() {
        let (_dir, root, base) = setup(&["a", "b", "c"]);
        std::fs::remove_file(wt(&root, "a").join("base.txt")).expect("delete");
        std::fs::write(wt(&root, "b").join("base.txt"), "one\nTWO\nthree\n").expect("edit");
        std::fs::write(wt(&root, "c").join("new.txt"), "new\n").expect("new");
        let status = |name: &str| {
            std::process::Command::new("git")
                .args(["status", "--porcelain"])
                .current_dir(wt(&root, name))
                .output()
                .map(|o| o.stdout)
                .unwrap_or_default()
        };
        let before: Vec<_> = ["a", "b", "c"].iter().map(|n| status(n)).collect();
        let (a, b, c) = (side(&root, "a"), side(&root, "b"), side(&root, "c"));
        assert_eq!(
            conflicts_between(&root, &a, &b).expect("a b"),
            BTreeSet::from(["base.txt".to_owned()]),
            "a delete against an edit conflicts"
        );
        assert!(conflicts_between(&root, &a, &c).expect("a c").is_empty());
        assert!(conflicts_between(&root, &b, &c).expect("b c").is_empty());
        let after: Vec<_> = ["a", "b", "c"].iter().map(|n| status(n)).collect();
        assert_eq!(before, after, "indexes and files untouched");
        assert_eq!(
            changed_paths(&wt(&root, "c"), &base).expect("changed"),
            BTreeSet::from(["new.txt".to_owned()])
        );
    }

    #[test]
    fn a_conflicting_branch_is_left_out_whole_and_its_culprit_named() {
        let (_dir, root, base) = setup(&["a", "b", "c"]);
        for (name, text) in [("a", "one\nA\nthree\n"), ("b", "one\nB\nthree\n")] {
            std::fs::write(wt(&root, name).join("base.txt"), text).expect("edit");
            commit_all(&wt(&root, name), name).expect("commit");
        }
        std::fs::write(wt(&root, "c").join("c.txt"), "c\n").expect("c");
        assert!(commit_all(&wt(&root, "c"), "c").expect("commit").is_some());
        assert!(commit_all(&wt(&root, "c"), "c").expect("again").is_none());
        let candidates: Vec<Candidate> = ["a", "b", "c"]
            .iter()
            .map(|n| Candidate {
                agent_id: (*n).to_owned(),
                branch: format!("orchestra/{n}"),
                task: format!("task {n}"),
                base_commit: base.clone(),
            })
            .collect();
        let place = root.join(".worktrees/integrate-x");
        let outcome =
            integrate(&root, "orchestra/integrate-x", &place, &candidates).expect("integrate");
        assert_eq!(outcome.base, base);
        assert_eq!(outcome.merged, ["a", "c"]);
        assert_eq!(
            outcome.skipped,
            [Skipped {
                agent_id: "b".to_owned(),
                paths: vec!["base.txt".to_owned()],
                conflicts_with: vec!["a".to_owned()],
            }]
        );
        assert_eq!(
            std::fs::read_to_string(place.join("base.txt")).expect("base"),
            "one\nA\nthree\n",
            "no conflict markers: b is not in it at all"
        );
        assert!(place.join("c.txt").exists());
        let repo = Repository::open(&root).expect("open");
        assert_eq!(
            repo.head()
                .expect("head")
                .peel_to_commit()
                .expect("c")
                .id()
                .to_string(),
            base,
            "the main checkout's branch did not move"
        );
    }
}
