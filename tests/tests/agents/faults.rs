//! Faults lose nothing (issue 30): the state directory on a real 3 MB tmpfs, filled while an
//! agent streams output; and a store whose file is damaged while the daemon is stopped.
//!
//! Mounting a tmpfs needs root (CI runs as root). Elsewhere the full-disk test says so and
//! skips, unless `CI=true`, where it fails.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use orchestra_tests::{TestEnv, wait_for_agents, wait_until};

/// A tmpfs mounted for one test, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).expect("mount point");
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(at)
            .output()
            .ok()?;
        if !out.status.success() {
            let why = String::from_utf8_lossy(&out.stderr).into_owned();
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true: this test must mount a tmpfs (run as root): {why}"
            );
            eprintln!("SKIPPED: cannot mount a tmpfs here (needs root): {why}");
            return None;
        }
        Some(Tmpfs(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Fills the file system of `dir` with one file, until it refuses more.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).expect("filler");
    let block = vec![0u8; 4096];
    while file.write_all(&block).is_ok() {}
    // The last partial block too.
    while file.write_all(&[0u8]).is_ok() {}
    let _ = file.sync_all();
    path
}

/// No Rust debug formatting in what the CLI prints.
fn assert_in_words(text: &str) {
    for bad in ["Os {", "kind:", "StorageFull", "Custom {"] {
        assert!(!text.contains(bad), "debug formatting ({bad}) in: {text}");
    }
}

#[test]
fn a_full_disk_keeps_the_agent_running_and_the_daemon_recovers_without_a_restart() {
    let env = TestEnv::new();
    let Some(_tmpfs) = Tmpfs::mount(&env.state_home, "3m") else {
        return;
    };
    let _daemon = env.spawn_daemon();
    let repo = env.git_repo();
    let go = env.root.path().join("go");
    let task = format!("UNTIL:{} PACE:20 WRITE:work.txt", go.display());
    let spawned = env.ctl_json(&["spawn", &task, "--repo", repo.to_str().expect("utf-8")]);
    let id = spawned[0]["id"].as_str().expect("id").to_owned();
    let output = env
        .state_dir()
        .join("agents")
        .join(&id)
        .join("output.jsonl");
    wait_until("the agent streams output", || {
        std::fs::read_to_string(&output).is_ok_and(|t| t.contains("step 3"))
    });

    let filler = fill(&env.state_home);
    wait_until("daemon status shows the disk full", || {
        env.ctl_json(&["daemon", "status"])["disk"]["state"] == "full"
    });
    let status = env.ctl_json(&["daemon", "status"]);
    assert!(status["disk"]["free_bytes"].as_u64().is_some(), "{status}");
    assert_eq!(
        status["disk"]["path"],
        env.state_dir().join("store").display().to_string()
    );
    let human = env.ctl_ok(&["daemon", "status"]);
    assert!(human.contains("no space left on"), "{human}");
    let over = env.ctl_ok(&["status", "--all"]);
    assert!(over.starts_with("disk full: no space left on"), "{over}");
    assert_in_words(&over);

    // A spawn is refused, in words.
    let refused = env.ctl(&["spawn", "say hi", "--repo", repo.to_str().expect("utf-8")]);
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr).into_owned();
    assert!(said.contains("no space left on"), "{said}");
    assert!(said.contains("free some space"), "{said}");
    assert_in_words(&said);

    // The agent goes on while the disk is full: its lines wait in the shim.
    let before = std::fs::read_to_string(&output)
        .expect("log")
        .lines()
        .count();
    std::fs::File::create(&go).expect("go");
    let agents = env.ctl_json(&["status", "--all"]);
    assert_eq!(agents[0]["state"], "running", "{agents}");

    // Room again: no restart, the agent ends done, its log whole.
    std::fs::remove_file(&filler).expect("remove the filler");
    let agents = wait_for_agents(&env, "the agent is done", |agents| {
        agents.iter().all(|a| a["state"] == "done")
    });
    assert_eq!(agents[0]["id"], id.as_str());
    let worktree = agents[0]["cwd"].as_str().expect("cwd");
    assert!(
        Path::new(worktree).join("work.txt").is_file(),
        "its work is in its worktree"
    );
    let log = std::fs::read_to_string(&output).expect("log");
    let lines: Vec<&str> = log.lines().collect();
    assert!(lines.len() > before, "the waiting lines were written");
    let mut next_step = 0;
    for line in &lines {
        if line.starts_with("[orchestra: ") {
            continue;
        }
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|err| panic!("{err}: {line}"));
        if let Some(text) = value
            .pointer("/message/content/0/text")
            .and_then(|t| t.as_str())
            && let Some(step) = text.strip_prefix("working on it, step ")
        {
            assert_eq!(step, next_step.to_string(), "lines in order, none missing");
            next_step += 1;
        }
    }
    assert!(
        log.lines().any(|l| l.contains("\"type\":\"result\"")),
        "{log}"
    );
    wait_until("the disk is ok again", || {
        env.ctl_json(&["daemon", "status"])["disk"]["state"] == "ok"
    });
    let status = env.ctl_json(&["daemon", "status"]);
    assert_eq!(status["store"]["state"], "ok", "{status}");

    // A new agent runs to done, same daemon.
    env.ctl_ok(&["spawn", "say hi", "--repo", repo.to_str().expect("utf-8")]);
    let agents = wait_for_agents(&env, "the new agent is done", |agents| {
        agents.len() == 2 && agents.iter().all(|a| a["state"] == "done")
    });
    assert_eq!(agents.len(), 2);
    assert_eq!(
        env.ctl_json(&["daemon", "status"])["pid"],
        status["pid"],
        "no restart"
    );
}

#[test]
fn a_damaged_store_is_noticed_kept_and_rebuilt_from_the_agents_directories() {
    let env = TestEnv::new();
    let daemon = env.spawn_daemon();
    let repo = env.git_repo();
    env.ctl_ok(&[
        "spawn",
        "say hi",
        "WRITE:done.txt",
        "--repo",
        repo.to_str().expect("utf-8"),
    ]);
    let before = wait_for_agents(&env, "both agents are done", |agents| {
        agents.len() == 2 && agents.iter().all(|a| a["state"] == "done")
    });
    env.ctl_ok(&["daemon", "stop"]);
    drop(daemon);

    // A few bytes overwritten at every 4 KiB of the store's file, as a bad disk would.
    let db = env.state_dir().join("store").join("db");
    let len = std::fs::metadata(&db).expect("db").len();
    {
        use std::os::unix::fs::FileExt;
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(&db)
            .expect("open db");
        let mut at = 0;
        while at < len {
            file.write_all_at(&[0xAB; 16], at).expect("damage");
            at += 4096;
        }
    }

    let _daemon = env.spawn_daemon();
    let status = env.ctl_json(&["daemon", "status"]);
    let repair = &status["store"]["repair"];
    assert!(repair.is_object(), "the start says so: {status}");
    assert_eq!(repair["agents_rebuilt"], 2, "{repair}");
    let copy = PathBuf::from(repair["damaged_copy"].as_str().expect("copy"));
    assert!(
        copy.join("db").is_file(),
        "the damaged store is kept at {}",
        copy.display()
    );
    assert!(
        repair["note"]
            .as_str()
            .expect("note")
            .contains("pair again"),
        "{repair}"
    );
    let human = env.ctl_ok(&["status", "--all"]);
    assert!(human.contains("store rebuilt"), "{human}");

    let after = env.ctl_json(&["status", "--all"]);
    let after = after.as_array().expect("agents");
    assert_eq!(after.len(), 2, "{after:?}");
    for agent in &before {
        let rebuilt = after
            .iter()
            .find(|a| a["id"] == agent["id"])
            .unwrap_or_else(|| panic!("agent {} is back", agent["id"]));
        for field in ["state", "branch", "task", "cwd", "session_id"] {
            assert_eq!(rebuilt[field], agent[field], "{field} of {}", agent["id"]);
        }
    }
    let check = env.ctl(&["daemon", "check", "--json"]);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
}
