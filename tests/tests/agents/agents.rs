//! Agents as a user runs them: spawn in a real git repo, watch, stop, send, collect,
//! clean up, with fake-claude playing Claude Code.

use orchestra_tests::{Gate, TestEnv, agent_by_task, all_finished, wait_for_agents};
use serde_json::Value;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn spawn_json(env: &TestEnv, repo: &std::path::Path, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["spawn", "--repo", repo.to_str().expect("path")];
    all.extend_from_slice(args);
    env.ctl_json(&all).as_array().cloned().expect("agents")
}

#[test]
fn three_tasks_with_parallel_2_use_three_worktrees_and_queue_the_third() {
    let env = TestEnv::new();
    let repo = env.git_repo();
    // The first two hold their slots until the test has seen the third queued.
    let gate = Gate::new(&env, "slots");
    let tasks = [
        gate.task("WRITE:a.txt build auth API"),
        gate.task("WRITE:b.txt write tests"),
        "WRITE:c.txt optimize queries".to_owned(),
    ];
    let spawned = spawn_json(
        &env,
        &repo,
        &[
            "--parallel",
            "2",
            "--allowed-tools",
            "Write",
            &tasks[0],
            &tasks[1],
            &tasks[2],
        ],
    );
    assert_eq!(spawned.len(), 3);
    assert_eq!(spawned[2]["state"], "queued", "the third waits for a slot");
    wait_for_agents(&env, "the first two run", |a| {
        a.iter().filter(|x| x["state"] == "running").count() == 2
    });
    let now = env.ctl_json(&["status"]);
    assert_eq!(
        agent_by_task(now.as_array().expect("list"), &tasks[2])["state"],
        "queued",
        "still waiting while both slots are busy"
    );
    gate.open();
    let agents = wait_for_agents(&env, "all done", all_finished);

    let mut branches = Vec::new();
    for (task, file) in tasks.iter().zip(["a.txt", "b.txt", "c.txt"]) {
        let agent = agent_by_task(&agents, task);
        assert_eq!(agent["state"], "done", "{agent:#}");
        let cwd = std::path::PathBuf::from(agent["cwd"].as_str().expect("cwd"));
        assert!(
            cwd.starts_with(repo.join(".worktrees")),
            "{}",
            cwd.display()
        );
        assert!(
            cwd.file_name()
                .expect("name")
                .to_string_lossy()
                .starts_with("task-")
        );
        assert!(
            cwd.join(file).exists(),
            "the agent's file is in its own worktree"
        );
        // ... and nowhere else.
        assert!(!repo.join(file).exists());
        for other in agents.iter().filter(|a| a["task"] != *task) {
            assert!(
                !std::path::Path::new(other["cwd"].as_str().expect("cwd"))
                    .join(file)
                    .exists()
            );
        }
        let branch = agent["branch"].as_str().expect("branch").to_owned();
        assert!(branch.starts_with("orchestra/"), "{branch}");
        assert_eq!(
            env.git(&cwd, &["rev-parse", "--abbrev-ref", "HEAD"]).trim(),
            branch
        );
        branches.push(branch);
    }
    let listed = env.git(&repo, &["branch", "--list", "orchestra/*"]);
    for branch in &branches {
        assert!(listed.contains(branch.as_str()), "{listed}");
    }
    // The third started only once one of the first two had finished.
    let first_end = tasks[..2]
        .iter()
        .map(|t| {
            agent_by_task(&agents, t)["ended_at_ms"]
                .as_i64()
                .expect("end")
        })
        .min()
        .expect("two");
    let third_start = agent_by_task(&agents, &tasks[2])["started_at_ms"]
        .as_i64()
        .expect("start");
    assert!(
        third_start >= first_end,
        "third started at {third_start}, first end {first_end}"
    );
    // Worktrees never show up as untracked files of the main repo.
    assert!(env.git(&repo, &["status", "--porcelain"]).trim().is_empty());

    // collect reports the real results and costs.
    let results = env.ctl_json(&["collect"]);
    let results = results.as_array().expect("results");
    assert_eq!(results.len(), 3);
    for result in results {
        let agent = &result["agent"];
        // fake-claude charges the real CLI's price per turn; a Write is two turns.
        let cost = agent["total_cost_usd"].as_f64().expect("cost");
        assert!((cost - 2.0 * 0.0501).abs() < 1e-9, "{cost}");
        assert!(
            agent["result"]
                .as_str()
                .expect("result")
                .contains("File created successfully")
        );
        assert_eq!(result["diff"]["files_changed"], 1);
        assert_eq!(result["diff"]["insertions"], 1);
        assert_eq!(result["diff"]["uncommitted"], true);
        assert!(!agent["session_id"].as_str().expect("session").is_empty());
        assert_eq!(agent["model"], "", "no --model was asked for");
        assert!(
            agent["model_used"]
                .as_str()
                .is_some_and(|m| m.starts_with("claude-")),
            "the model Claude Code reported: {agent:#}"
        );
    }
    let worktrees = env.ctl_json(&["worktrees", "--repo", repo.to_str().expect("path")]);
    assert_eq!(worktrees["worktrees"].as_array().expect("list").len(), 3);
}

#[test]
fn stop_send_and_logs() {
    let env = TestEnv::new();
    let repo = env.git_repo();
    // Never opened: the long one runs until it is stopped.
    let long_task = Gate::new(&env, "never").task("long task");
    let spawned = spawn_json(
        &env,
        &repo,
        &["--parallel", "1", &long_task, "never starts"],
    );
    let (long, queued) = (
        spawned[0]["id"].as_str().expect("id"),
        spawned[1]["id"].as_str().expect("id"),
    );
    wait_for_agents(&env, "the long one runs", |a| {
        agent_by_task(a, &long_task)["pid"].as_u64().unwrap_or(0) > 0
    });
    let pid = env
        .ctl_json(&["status"])
        .as_array()
        .expect("list")
        .iter()
        .find(|a| a["id"] == long)
        .expect("agent")["pid"]
        .as_i64()
        .expect("pid");

    // Stopping the queued one first keeps it from ever starting.
    env.ctl_ok(&["stop", &queued[..4]]);
    env.ctl_ok(&["stop", long]);
    let agents = wait_for_agents(&env, "both stopped", all_finished);
    assert!(
        agents.iter().all(|a| a["state"] == "stopped"),
        "{agents:#?}"
    );
    assert_eq!(agent_by_task(&agents, "never starts")["runs"], 0);
    assert!(
        orchestra_proto::process::gone(pid as u32),
        "the process is gone"
    );

    // A follow-up to a finished agent resumes its session (same session, a second run).
    let quick = spawn_json(&env, &repo, &["hello"]);
    let id = quick[0]["id"].as_str().expect("id").to_owned();
    wait_for_agents(&env, "hello done", |a| {
        agent_by_task(a, "hello")["state"] == "done"
    });
    let first = env.ctl_json(&["status"]);
    let session = agent_by_task(first.as_array().expect("list"), "hello")["session_id"].clone();
    let sent = env.ctl_json(&["send", &id, "and now the tests"]);
    assert_eq!(sent["resumed"], true);
    let agents = wait_for_agents(&env, "follow-up done", |a| {
        let agent = agent_by_task(a, "hello");
        agent["runs"] == 2 && agent["state"] == "done"
    });
    let agent = agent_by_task(&agents, "hello");
    assert_eq!(agent["session_id"], session, "the same session continues");
    assert!(
        agent["result"]
            .as_str()
            .expect("result")
            .contains("and now the tests")
    );
    let cost = agent["total_cost_usd"].as_f64().expect("cost");
    assert!(
        (cost - 2.0 * 0.0501).abs() < 1e-9,
        "2.1.330 carries the first run's cost into the resumed run; counted once: {cost}"
    );

    // Logs: readable and raw, both runs.
    let readable = env.ctl_ok(&["logs", &id]);
    assert!(readable.contains("● session"), "{readable}");
    assert!(readable.contains("and now the tests"), "{readable}");
    let raw = env.ctl_ok(&["logs", &id, "--raw"]);
    let lines: Vec<Value> = raw
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines.iter().filter(|l| l["type"] == "result").count(), 2);
}

#[test]
fn a_live_agent_takes_a_follow_up_on_stdin() {
    let env = TestEnv::new();
    let repo = env.git_repo();
    let gate = Gate::new(&env, "first-turn");
    let spawned = spawn_json(&env, &repo, &[&gate.task("first turn")]);
    let id = spawned[0]["id"].as_str().expect("id").to_owned();
    wait_for_agents(&env, "running", |a| a[0]["state"] == "running");
    let sent = env.ctl_json(&["send", &id, "second turn"]);
    assert_eq!(sent["resumed"], false, "delivered to the live process");
    gate.open();
    let agents = wait_for_agents(&env, "done", all_finished);
    assert_eq!(agents[0]["state"], "done");
    assert_eq!(agents[0]["runs"], 1, "one process did both turns");
    let raw = env.ctl_ok(&["logs", &id, "--raw"]);
    assert_eq!(
        raw.lines()
            .filter(|l| l.contains("\"type\":\"result\""))
            .count(),
        2
    );
}

#[test]
fn hostile_task_text_stays_inside_the_worktree_dir() {
    let env = TestEnv::new();
    let repo = env.git_repo();
    let marker = env.root.path().join("pwned");
    let hostile = [
        "../../../../tmp/escape".to_owned(),
        format!(
            "$(touch {}) `touch {}`; rm -rf /",
            marker.display(),
            marker.display()
        ),
        "quotes \" ' and\nnewlines\r\n and 🎉 emoji".to_owned(),
        "x".repeat(10_000),
        "../../".to_owned(),
    ];
    let refs: Vec<&str> = hostile.iter().map(String::as_str).collect();
    let spawned = spawn_json(&env, &repo, &refs);
    assert_eq!(spawned.len(), hostile.len());
    let agents = wait_for_agents(&env, "all done", all_finished);
    let base = repo
        .join(".worktrees")
        .canonicalize()
        .expect("worktree dir");
    for agent in &agents {
        assert_eq!(agent["state"], "done", "{agent:#}");
        let cwd = std::path::PathBuf::from(agent["cwd"].as_str().expect("cwd"))
            .canonicalize()
            .expect("cwd");
        assert_eq!(cwd.parent(), Some(base.as_path()), "{}", cwd.display());
        let branch = agent["branch"].as_str().expect("branch");
        assert!(
            branch.len() < 60
                && branch
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '/'),
            "{branch}"
        );
    }
    let slugs: std::collections::HashSet<&str> = agents
        .iter()
        .map(|a| a["branch"].as_str().expect("b"))
        .collect();
    assert_eq!(slugs.len(), agents.len(), "slugs are unique");
    assert!(!marker.exists(), "task text never went through a shell");
    // The long task arrived whole, as a message.
    let long = agents
        .iter()
        .find(|a| a["task"].as_str().is_some_and(|t| t.len() == 10_000))
        .expect("long task");
    assert!(long["result"].as_str().expect("result").contains("xxxx"));
}

#[test]
fn clear_errors_for_bad_requests() {
    let env = TestEnv::new();
    let not_repo = env.root.path().join("plain");
    std::fs::create_dir_all(&not_repo).expect("dir");
    let out = env.ctl(&["spawn", "--repo", not_repo.to_str().expect("p"), "task"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("not inside a git repository"),
        "{}",
        stderr(&out)
    );

    let repo = env.git_repo();
    let repo_arg = repo.to_str().expect("p");
    let out = env.ctl(&[
        "spawn",
        "--repo",
        repo_arg,
        "--base",
        "no-such-branch",
        "task",
    ]);
    assert!(
        stderr(&out).contains("unknown ref \"no-such-branch\""),
        "{}",
        stderr(&out)
    );
    let out = env.ctl(&[
        "spawn",
        "--repo",
        repo_arg,
        "--permission-mode",
        "yolo",
        "task",
    ]);
    assert!(
        stderr(&out).contains("unknown permission mode"),
        "{}",
        stderr(&out)
    );

    for id in ["zzzz", ""] {
        let out = env.ctl(&["logs", id]);
        assert!(!out.status.success());
    }
    let out = env.ctl(&["stop", "zzzz"]);
    assert!(
        stderr(&out).contains("no agent matches"),
        "{}",
        stderr(&out)
    );
    assert!(
        env.ctl_json(&["status"])
            .as_array()
            .expect("list")
            .is_empty(),
        "nothing was accepted"
    );

    // Claude Code missing: say how to install it or where to point the config.
    env.write_config(&serde_json::json!({"claude_command": "definitely-not-installed-claude"}));
    env.ctl_ok(&["daemon", "restart"]);
    let out = env.ctl(&["spawn", "--repo", repo_arg, "task"]);
    assert!(!out.status.success());
    let message = stderr(&out);
    assert!(
        message.contains("npm install -g @anthropic-ai/claude-code"),
        "{message}"
    );
    assert!(message.contains("claude_command"), "{message}");
}

#[test]
fn cleanup_removes_exactly_the_merged_ones() {
    let env = TestEnv::new();
    let repo = env.git_repo();
    let repo_arg = repo.to_str().expect("p");
    spawn_json(
        &env,
        &repo,
        &[
            "--allowed-tools",
            "Write",
            "WRITE:merged.txt to merge",
            "WRITE:kept.txt to keep",
            "no changes",
        ],
    );
    let agents = wait_for_agents(&env, "all done", all_finished);
    let cwd = |task: &str| {
        std::path::PathBuf::from(agent_by_task(&agents, task)["cwd"].as_str().expect("cwd"))
    };
    let branch = |task: &str| {
        agent_by_task(&agents, task)["branch"]
            .as_str()
            .expect("b")
            .to_owned()
    };
    // The user commits both, and merges one.
    for task in ["WRITE:merged.txt to merge", "WRITE:kept.txt to keep"] {
        env.git(&cwd(task), &["add", "."]);
        env.git(&cwd(task), &["commit", "-q", "-m", task]);
    }
    env.git(
        &repo,
        &[
            "merge",
            "-q",
            "--no-edit",
            &branch("WRITE:merged.txt to merge"),
        ],
    );

    let plan = env.ctl_json(&["cleanup", "--repo", repo_arg, "--dry-run"]);
    assert_eq!(plan["dry_run"], true);
    assert!(
        cwd("WRITE:merged.txt to merge").exists(),
        "a dry run removes nothing"
    );

    let done = env.ctl_json(&["cleanup", "--repo", repo_arg]);
    let removed: Vec<&str> = done["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .filter(|a| a["remove_worktree"] == true)
        .map(|a| a["branch"].as_str().expect("b"))
        .collect();
    assert_eq!(removed.len(), 2, "{done:#}");
    assert!(!cwd("WRITE:merged.txt to merge").exists());
    assert!(
        !cwd("no changes").exists(),
        "nothing to lose: merged trivially"
    );
    assert!(
        cwd("WRITE:kept.txt to keep").exists(),
        "unmerged work stays"
    );
    let branches = env.git(&repo, &["branch", "--list", "orchestra/*"]);
    assert!(!branches.contains(&branch("WRITE:merged.txt to merge")));
    assert!(branches.contains(&branch("WRITE:kept.txt to keep")));

    // --all removes the unmerged worktree but keeps its branch.
    env.ctl_json(&["cleanup", "--repo", repo_arg, "--all"]);
    assert!(!cwd("WRITE:kept.txt to keep").exists());
    assert!(
        env.git(&repo, &["branch", "--list", "orchestra/*"])
            .contains(&branch("WRITE:kept.txt to keep"))
    );
    assert!(
        env.git(&repo, &["worktree", "list"]).lines().count() == 1,
        "git knows no stale worktrees"
    );
}

#[test]
fn permission_denials_and_init() {
    let env = TestEnv::new();
    let fresh = env.root.path().join("fresh");
    std::fs::create_dir_all(&fresh).expect("dir");
    let init = env.ctl_json(&["init", "--repo", fresh.to_str().expect("p")]);
    assert_eq!(init["created_repo"], true);
    assert_eq!(init["created_commit"], true);
    assert_eq!(init["added_exclude"], true);
    let exclude = std::fs::read_to_string(fresh.join(".git/info/exclude")).expect("exclude");
    assert!(exclude.contains("/.worktrees/"));

    // In dontAsk mode, without Write allowed (the default patterns allow reading and
    // listing only), the write is refused without asking and the denial recorded.
    spawn_json(
        &env,
        &fresh,
        &["--permission-mode", "dontAsk", "TOOL_WRITE please"],
    );
    let agents = wait_for_agents(&env, "done", all_finished);
    assert_eq!(agents[0]["state"], "done");
    let denials = agents[0]["permission_denials"].as_array().expect("denials");
    assert_eq!(denials.len(), 1);
    assert!(
        denials[0].as_str().expect("d").starts_with("Write: "),
        "{denials:?}"
    );
}

/// Runs `orchestractl` with `args` and `PATH` set to `path` (what the agents get, and
/// where the sandbox's programs are looked for).
fn ctl_with_path(env: &TestEnv, path: &std::ffi::OsStr, args: &[&str]) -> std::process::Output {
    env.command(orchestra_tests::bin("orchestractl"))
        .env("PATH", path)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("orchestractl")
}

/// Issue 22: `spawn --sandbox` runs the agents' shell commands in Claude Code's own
/// sandbox, through `--settings`; where bubblewrap and socat are missing it is refused
/// and says what to install, and `config show` says whether the sandbox can run.
#[test]
fn spawn_sandbox_is_refused_where_it_cannot_run_and_set_up_where_it_can() {
    use std::os::unix::fs::PermissionsExt as _;
    let env = TestEnv::new();
    let repo = env.git_repo();
    env.ctl_ok(&["daemon", "start"]);
    let repo_arg = repo.to_str().expect("path");

    let bare = env.root.path().join("bare-path");
    std::fs::create_dir_all(&bare).expect("dir");
    let refused = ctl_with_path(
        &env,
        bare.as_os_str(),
        &["spawn", "--sandbox", "--repo", repo_arg, "say hi"],
    );
    assert!(!refused.status.success());
    let why = stderr(&refused);
    assert!(why.contains("bwrap and socat"), "{why}");
    assert!(why.contains("apt install bubblewrap socat"), "{why}");
    assert!(
        env.ctl_json(&["status"])
            .as_array()
            .expect("list")
            .is_empty(),
        "no agent made"
    );
    let shown = ctl_with_path(&env, bare.as_os_str(), &["config", "show"]);
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(
        shown.contains("# sandbox (off): cannot run here: missing bwrap, socat; install them (`apt install bubblewrap socat`"),
        "{shown}"
    );

    // With the programs on PATH (stand-ins: fake-claude does not run them) it is set up.
    let tools = env.root.path().join("sandbox-tools");
    std::fs::create_dir_all(&tools).expect("dir");
    for program in ["bwrap", "socat"] {
        let path = tools.join(program);
        std::fs::write(&path, "#!/bin/sh\nexit 1\n").expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let path = std::env::join_paths(std::iter::once(tools.clone()).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .expect("PATH");
    let shown = ctl_with_path(&env, &path, &["--json", "config", "show"]);
    let shown: Value = serde_json::from_slice(&shown.stdout).expect("json");
    assert_eq!(shown["sandbox"]["available"], true, "{shown:#}");
    let out = ctl_with_path(
        &env,
        &path,
        &["--json", "spawn", "--sandbox", "--repo", repo_arg, "say hi"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let sandboxed: Value = serde_json::from_slice(&out.stdout).expect("json");
    let plain = spawn_json(&env, &repo, &["say hello"]);
    let agents = wait_for_agents(&env, "done", |list| list.len() == 2 && all_finished(list));
    let find = |id: &Value| {
        agents
            .iter()
            .find(|a| a["id"] == *id)
            .expect("agent")
            .clone()
    };
    assert_eq!(find(&sandboxed[0]["id"])["sandbox"], true);
    assert_eq!(find(&plain[0]["id"])["sandbox"], false);
    let args_of = |id: &Value| -> Vec<String> {
        let spec = env
            .state_dir()
            .join("agents")
            .join(id.as_str().expect("id"))
            .join("spec.json");
        let spec: Value =
            serde_json::from_slice(&std::fs::read(spec).expect("spec")).expect("json");
        spec["args"]
            .as_array()
            .expect("args")
            .iter()
            .map(|a| a.as_str().expect("arg").to_owned())
            .collect()
    };
    let args = args_of(&sandboxed[0]["id"]);
    let at = args
        .iter()
        .position(|a| a == "--settings")
        .expect("--settings");
    let file = std::path::PathBuf::from(&args[at + 1]);
    assert_eq!(
        std::fs::metadata(&file)
            .expect("settings")
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    let settings: Value =
        serde_json::from_slice(&std::fs::read(&file).expect("read")).expect("json");
    let sandbox = &settings["sandbox"];
    assert_eq!(sandbox["enabled"], true);
    assert_eq!(sandbox["failIfUnavailable"], true, "never runs unconfined");
    assert_eq!(sandbox["allowUnsandboxedCommands"], false, "no way out");
    assert_eq!(sandbox["network"]["allowedDomains"], serde_json::json!([]));
    assert!(sandbox.get("excludedCommands").is_none());
    let hidden = sandbox["filesystem"]["denyRead"]
        .as_array()
        .expect("denyRead")
        .clone();
    assert!(
        hidden.contains(&Value::from(format!("/{}", env.state_dir().display()))),
        "the daemon's state dir is out of the shell's sight: {hidden:?}"
    );
    assert!(!args_of(&plain[0]["id"]).contains(&"--settings".to_owned()));
}

/// Issue 22: no task text on any command line (`ps` shows command lines to every local
/// user, and they have a size limit): tasks go in on stdin, sibling tasks in a file.
#[test]
fn no_command_line_carries_a_tasks_text_while_agents_run() {
    let env = TestEnv::new();
    let repo = env.git_repo();
    let gate = Gate::new(&env, "hold");
    let marker = format!("secret-{}", std::process::id());
    let tasks = [
        gate.task(&format!("{marker}-first fix the parser")),
        gate.task(&format!("{marker}-second write the docs")),
    ];
    let spawned = spawn_json(&env, &repo, &[&tasks[0], &tasks[1]]);
    assert_eq!(spawned.len(), 2);
    wait_for_agents(&env, "both run", |list| {
        list.len() == 2
            && list
                .iter()
                .all(|a| a["state"] == "running" && a["pid"].as_u64().unwrap_or(0) > 0)
    });
    let mut seen = 0;
    for entry in std::fs::read_dir("/proc").expect("/proc") {
        let Ok(entry) = entry else { continue };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        seen += 1;
        let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        assert!(
            !text.contains(&marker),
            "a command line carries a task: {text}"
        );
    }
    assert!(seen > 2, "read the command lines");
    gate.open();
    wait_for_agents(&env, "done", all_finished);
}

/// A daemon that detaches keeps the user's umask for the user's work: a worktree's files,
/// and the files an agent writes there, get the modes the user's own tools would give
/// (0644 under umask 022), not 0600; the daemon's own folder stays private.
#[test]
fn worktrees_get_the_users_file_modes_and_the_state_dir_stays_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let env = TestEnv::new();
    let repo = env.git_repo();
    let out = env
        .command("sh")
        .args(["-c", "umask 022 && exec \"$0\" daemon start"])
        .arg(orchestra_tests::bin("orchestractl"))
        .output()
        .expect("sh");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let spawned = spawn_json(
        &env,
        &repo,
        &["--allowed-tools", "Write", "WRITE:made.txt write a file"],
    );
    let agents = wait_for_agents(&env, "done", all_finished);
    assert_eq!(agents[0]["state"], "done", "{:#}", agents[0]);
    let cwd = std::path::PathBuf::from(spawned[0]["cwd"].as_str().expect("cwd"));
    let mode = |path: &std::path::Path| {
        std::fs::metadata(path)
            .unwrap_or_else(|err| panic!("{}: {err}", path.display()))
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(
        mode(&cwd.join("README.md")),
        0o644,
        "checked out as in the repository"
    );
    assert_eq!(mode(&cwd.join("made.txt")), 0o644, "written by the agent");
    assert_eq!(
        mode(&env.state_dir()) & 0o077,
        0,
        "the state dir stays private"
    );
}
