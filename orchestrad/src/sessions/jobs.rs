//! Claude Code's own background sessions (`claude --bg`, 2.1.330 on), read from
//! `~/.claude/jobs/<id>/state.json`.
//!
//! Only the files are read: the jobs are started, stopped and removed by Claude Code's
//! private daemon, which orchestra never talks to. A job outlives its process (`state`
//! becomes `stopped`), so its session keeps its job id, name and worktree afterwards.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

/// One background job, as its `state.json` describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Job {
    /// The job id: its directory's name, the first 8 hex digits of the session id, as
    /// `claude stop <id>` takes it.
    pub id: String,
    /// `working`, `blocked`, `stopped`, or whatever the CLI writes, passed through.
    pub state: String,
    /// The session's name (an AI title), when the CLI has given one.
    pub name: String,
    /// The directory it runs in.
    pub cwd: String,
    /// Its worktree (`--bg -w NAME`), empty when it runs in `cwd` itself.
    pub worktree_path: String,
    /// That worktree's branch.
    pub worktree_branch: String,
    /// What it was asked to do.
    pub intent: String,
}

#[derive(Deserialize)]
struct StateFile {
    #[serde(default)]
    state: String,
    #[serde(rename = "sessionId", default)]
    session_id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    cwd: Option<String>,
    #[serde(rename = "worktreePath", default)]
    worktree_path: Option<String>,
    #[serde(rename = "worktreeBranch", default)]
    worktree_branch: Option<String>,
    #[serde(default)]
    intent: Option<String>,
}

/// Every readable job under `claude_dir/jobs`, by session id. Unreadable or malformed
/// files are ignored (a job being written is read again at the next change).
pub fn scan(claude_dir: &Path) -> HashMap<String, Job> {
    let mut jobs = HashMap::new();
    let Ok(dirs) = std::fs::read_dir(claude_dir.join("jobs")) else {
        return jobs;
    };
    for dir in dirs.flatten() {
        let Ok(text) = std::fs::read_to_string(dir.path().join("state.json")) else {
            continue;
        };
        let Ok(file) = serde_json::from_str::<StateFile>(&text) else {
            continue;
        };
        if file.session_id.is_empty() {
            continue;
        }
        jobs.insert(
            file.session_id,
            Job {
                id: dir.file_name().to_string_lossy().into_owned(),
                state: file.state,
                name: file.name.unwrap_or_default(),
                cwd: file.cwd.unwrap_or_default(),
                worktree_path: file.worktree_path.unwrap_or_default(),
                worktree_branch: file.worktree_branch.unwrap_or_default(),
                intent: file.intent.unwrap_or_default(),
            },
        );
    }
    jobs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_captured_job_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/claude-code/2.1.330/background");
        for (job, file) in [
            ("b8659672", "job_state_live.json"),
            ("6ca39bf8", "job_state_stopped.json"),
        ] {
            let job_dir = dir.path().join("jobs").join(job);
            std::fs::create_dir_all(&job_dir).expect("dir");
            let mut text = std::fs::read_to_string(fixtures.join(file)).expect("fixture");
            if job == "6ca39bf8" {
                // A second job of its own session, in a worktree.
                text = text
                    .replace("b8659672-cfad", "6ca39bf8-9053")
                    .replace("\"cwd\"", "\"worktreePath\": \"/w/.claude/worktrees/f\", \"worktreeBranch\": \"worktree-f\", \"cwd\"");
            }
            std::fs::write(job_dir.join("state.json"), text).expect("write");
        }
        std::fs::create_dir_all(dir.path().join("jobs/broken")).expect("dir");
        std::fs::write(dir.path().join("jobs/broken/state.json"), "{").expect("write");
        let jobs = scan(dir.path());
        assert_eq!(jobs.len(), 2);
        let live = &jobs["b8659672-cfad-4ae5-bedb-9725a4094adc"];
        assert_eq!(live.id, "b8659672");
        assert_eq!(live.state, "working");
        assert_eq!(live.name, "mock title");
        assert_eq!(live.cwd, "/home/dev/work/repo");
        assert_eq!(live.intent, "say hi from the background");
        let stopped = jobs
            .values()
            .find(|j| j.id == "6ca39bf8")
            .expect("second job");
        assert_eq!(stopped.state, "stopped");
        assert_eq!(stopped.worktree_branch, "worktree-f");
        assert_eq!(stopped.worktree_path, "/w/.claude/worktrees/f");
    }
}
