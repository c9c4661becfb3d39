//! An agent's change as a reviewer reads it: its worktree (committed and uncommitted work,
//! new files included) against the commit it started from, file by file and hunk by hunk,
//! renames and binary files named as such. Large changes are cut with a marker, never
//! loaded whole: at most [`MAX_LINES`] lines in all and [`MAX_FILE_LINES`] per file.

use std::path::Path;

use git2::{Delta, DiffFindOptions, DiffOptions, Oid, Repository};
use serde::Serialize;

use super::{WorktreeError, git_err};

/// Lines of all files kept at most; the rest are counted, not kept.
pub const MAX_LINES: usize = 20_000;
/// Lines of one file kept at most.
pub const MAX_FILE_LINES: usize = 2_000;

/// One line of a hunk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Line {
    /// `context`, `add` or `del`.
    pub kind: &'static str,
    /// The line, without its newline.
    pub text: String,
    /// Its number in the base, for context and deleted lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_line: Option<u32>,
    /// Its number in the agent's version, for context and added lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_line: Option<u32>,
}

/// One hunk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hunk {
    /// Where it starts in the base, and how many lines it spans there.
    pub old_start: u32,
    /// Lines in the base.
    pub old_lines: u32,
    /// Where it starts in the agent's version.
    pub new_start: u32,
    /// Lines in the agent's version.
    pub new_lines: u32,
    /// Its lines (cut when the file or the change is too long).
    pub lines: Vec<Line>,
}

/// One changed file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct File {
    /// Its path in the agent's version (the base's, for a deleted file).
    pub path: String,
    /// Its path in the base, for a renamed file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_path: Option<String>,
    /// `added`, `modified`, `deleted`, `renamed` or `binary`.
    pub status: &'static str,
    /// Lines added.
    pub additions: u32,
    /// Lines deleted.
    pub deletions: u32,
    /// Its hunks (none for a binary file, or with `stat_only`).
    pub hunks: Vec<Hunk>,
    /// Lines left out of `hunks` because the change is too long ("[N lines cut]").
    pub lines_cut: u32,
}

/// An agent's change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Change {
    /// The commit it is compared with.
    pub base: String,
    /// The worktree's HEAD.
    pub head: String,
    /// Its files, in path order.
    pub files: Vec<File>,
}

/// The change in the worktree at `path` against `base_commit`; only the counts with
/// `stat_only`.
pub fn change(path: &Path, base_commit: &str, stat_only: bool) -> Result<Change, WorktreeError> {
    let repo = Repository::open(path).map_err(git_err(path, "open the worktree"))?;
    let base = Oid::from_str(base_commit).map_err(git_err(path, "read the base commit"))?;
    let head = repo
        .head()
        .ok()
        .and_then(|h| h.target())
        .map(|oid| oid.to_string())
        .unwrap_or_default();
    let mut options = DiffOptions::new();
    options.context_lines(3);
    let mut diff = super::worktree_diff(&repo, path, base, options)?;
    diff.find_similar(Some(
        DiffFindOptions::new().renames(true).for_untracked(true),
    ))
    .map_err(git_err(path, "find renamed files"))?;
    let mut files = Vec::new();
    let mut kept_in_all = 0usize;
    for index in 0..diff.deltas().len() {
        // One patch at a time: each holds its file's text.
        let Ok(Some(patch)) = git2::Patch::from_diff(&diff, index) else {
            continue;
        };
        let delta = patch.delta();
        let new_path = delta.new_file().path().map(|p| p.display().to_string());
        let old_path = delta.old_file().path().map(|p| p.display().to_string());
        let binary = delta.flags().is_binary() || delta.new_file().is_binary();
        let status = match delta.status() {
            _ if binary => "binary",
            Delta::Added | Delta::Untracked => "added",
            Delta::Deleted => "deleted",
            Delta::Renamed => "renamed",
            _ => "modified",
        };
        let (_, additions, deletions) = patch.line_stats().unwrap_or((0, 0, 0));
        let mut file = File {
            path: if delta.status() == Delta::Deleted {
                old_path.clone().unwrap_or_default()
            } else {
                new_path.clone().unwrap_or_default()
            },
            old_path: (delta.status() == Delta::Renamed)
                .then(|| old_path.clone())
                .flatten(),
            status,
            additions: additions as u32,
            deletions: deletions as u32,
            hunks: Vec::new(),
            lines_cut: 0,
        };
        if !stat_only && !binary {
            let mut kept_here = 0usize;
            for h in 0..patch.num_hunks() {
                let Ok((hunk, count)) = patch.hunk(h) else {
                    continue;
                };
                let mut out = Hunk {
                    old_start: hunk.old_start(),
                    old_lines: hunk.old_lines(),
                    new_start: hunk.new_start(),
                    new_lines: hunk.new_lines(),
                    lines: Vec::new(),
                };
                for l in 0..count {
                    if kept_here >= MAX_FILE_LINES || kept_in_all >= MAX_LINES {
                        file.lines_cut += 1;
                        continue;
                    }
                    let Ok(line) = patch.line_in_hunk(h, l) else {
                        continue;
                    };
                    let kind = match line.origin() {
                        '+' => "add",
                        '-' => "del",
                        ' ' => "context",
                        _ => continue,
                    };
                    let text = String::from_utf8_lossy(line.content());
                    out.lines.push(Line {
                        kind,
                        text: text.trim_end_matches(['\n', '\r']).to_owned(),
                        old_line: line.old_lineno(),
                        new_line: line.new_lineno(),
                    });
                    kept_here += 1;
                    kept_in_all += 1;
                }
                file.hunks.push(out);
            }
        }
        files.push(file);
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Change {
        base: base_commit.to_owned(),
        head,
        files,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(dir: &Path, args: &[&str]) {
        let ok = std::process::Command::new("git")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("git")
            .status
            .success();
        assert!(ok, "git {args:?}");
    }

    #[test]
    fn added_modified_deleted_renamed_and_binary_files_are_named_with_their_lines() {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = dir.path();
        git(repo, &["init", "-q", "-b", "main"]);
        git(repo, &["config", "user.email", "t@example.com"]);
        git(repo, &["config", "user.name", "T"]);
        std::fs::write(repo.join("keep.txt"), "one\ntwo\nthree\n").expect("write");
        std::fs::write(repo.join("gone.txt"), "bye\n").expect("write");
        std::fs::write(
            repo.join("old-name.txt"),
            "the same text, moved\nline two\nline three\n",
        )
        .expect("write");
        git(repo, &["add", "."]);
        git(repo, &["commit", "-q", "-m", "base"]);
        let base = String::from_utf8(
            std::process::Command::new("git")
                .args(["rev-parse", "HEAD"])
                .current_dir(repo)
                .output()
                .expect("git")
                .stdout,
        )
        .expect("utf-8")
        .trim()
        .to_owned();
        // Committed: a change to keep.txt; uncommitted: the rest.
        std::fs::write(repo.join("keep.txt"), "one\n2\nthree\n").expect("write");
        git(repo, &["commit", "-qam", "change"]);
        std::fs::remove_file(repo.join("gone.txt")).expect("rm");
        git(repo, &["mv", "old-name.txt", "new-name.txt"]);
        std::fs::write(repo.join("new.txt"), "fresh\n").expect("write");
        std::fs::write(repo.join("image.bin"), [0u8, 159, 146, 150, 0, 1]).expect("write");
        let change = change(repo, &base, false).expect("diff");
        let by_path = |p: &str| {
            change
                .files
                .iter()
                .find(|f| f.path == p)
                .unwrap_or_else(|| panic!("{p} in {:?}", change.files))
        };
        let keep = by_path("keep.txt");
        assert_eq!(
            (keep.status, keep.additions, keep.deletions),
            ("modified", 1, 1)
        );
        let lines = &keep.hunks[0].lines;
        assert!(lines.contains(&Line {
            kind: "add",
            text: "2".to_owned(),
            old_line: None,
            new_line: Some(2),
        }));
        assert!(lines.contains(&Line {
            kind: "del",
            text: "two".to_owned(),
            old_line: Some(2),
            new_line: None,
        }));
        assert_eq!(by_path("gone.txt").status, "deleted");
        assert_eq!(by_path("new.txt").status, "added");
        let renamed = by_path("new-name.txt");
        assert_eq!(renamed.status, "renamed");
        assert_eq!(renamed.old_path.as_deref(), Some("old-name.txt"));
        assert_eq!(by_path("image.bin").status, "binary");
        assert!(by_path("image.bin").hunks.is_empty());
        let stat = super::change(repo, &base, true).expect("stat");
        assert!(stat.files.iter().all(|f| f.hunks.is_empty()));
        assert_eq!(stat.files.len(), change.files.len());
    }
}
