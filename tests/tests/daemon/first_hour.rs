//! The first hour of a new user (issue 8): each thing that stopped or misled someone
//! walking the README on a fresh machine, reproduced with the real binaries, real git
//! repositories and fake-claude.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use orchestra_tests::{DEADLINE, Gate, TestEnv, all_finished, bin, wait_until};
use serde_json::Value;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `orchestractl` run from `dir`, as a user standing there would.
fn ctl_in(env: &TestEnv, dir: &Path, args: &[&str]) -> Output {
    env.command(bin("orchestractl"))
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("running orchestractl")
}

fn ok_in(env: &TestEnv, dir: &Path, args: &[&str]) -> String {
    let out = ctl_in(env, dir, args);
    assert!(
        out.status.success(),
        "orchestractl {args:?} in {} failed:\nstdout: {}\nstderr: {}\ndaemon log:\n{}",
        dir.display(),
        text(&out.stdout),
        text(&out.stderr),
        env.daemon_log_tail()
    );
    text(&out.stdout)
}

fn json_in(env: &TestEnv, dir: &Path, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = ok_in(env, dir, &all);
    serde_json::from_str(&out).unwrap_or_else(|err| panic!("not JSON ({err}): {out}"))
}

/// A git repository with one commit at `<root>/<name>`.
fn repo_named(env: &TestEnv, name: &str) -> PathBuf {
    let repo = env.root.path().join(name);
    std::fs::create_dir_all(&repo).expect("repo dir");
    for args in [
        &["init", "-q", "-b", "main"][..],
        &["config", "user.email", "test@example.com"],
        &["config", "user.name", "Test"],
    ] {
        env.git(&repo, args);
    }
    std::fs::write(repo.join("README.md"), format!("# {name}\n")).expect("write");
    env.git(&repo, &["add", "."]);
    env.git(&repo, &["commit", "-q", "-m", "initial"]);
    repo.canonicalize().expect("canonical repo path")
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|a| a["id"].as_str().expect("id").to_owned())
        .collect()
}

fn spawn_in(env: &TestEnv, repo: &Path, tasks: &[&str]) -> Vec<String> {
    let mut args = vec!["spawn", "--repo", repo.to_str().expect("path")];
    args.extend_from_slice(tasks);
    ids(&env.ctl_json(&args))
}

/// Waits until every agent (of every repository) has finished.
fn wait_all_finished(env: &TestEnv) -> Vec<Value> {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let list = env.ctl_json(&["status", "--all"]);
        let agents = list.as_array().cloned().unwrap_or_default();
        if all_finished(&agents) {
            return agents;
        }
        assert!(
            Instant::now() < deadline,
            "agents never finished: {agents:#?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn state_of(env: &TestEnv, id: &str) -> String {
    let agents = env.ctl_json(&["status", "--all"]);
    agents
        .as_array()
        .expect("list")
        .iter()
        .find(|a| a["id"] == id)
        .map(|a| a["state"].as_str().expect("state").to_owned())
        .unwrap_or_else(|| "forgotten".to_owned())
}

// 1 ---------------------------------------------------------------------------------------

#[test]
fn init_commits_the_files_already_there_and_spawn_warns_about_uncommitted_changes() {
    let env = TestEnv::new();
    let dir = env.root.path().join("project");
    std::fs::create_dir_all(dir.join("src")).expect("dir");
    std::fs::write(dir.join("src/main.rs"), "fn main() {}\n").expect("write");
    std::fs::write(dir.join(".gitignore"), "secret.txt\n").expect("write");
    std::fs::write(dir.join("secret.txt"), "hunter2\n").expect("write");

    // A mistyped path is refused, not made into a new folder.
    let typo = env.root.path().join("projcet");
    let refused = env.ctl(&["init", "--repo", typo.to_str().expect("utf-8")]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("is not a directory"),
        "{refused:?}"
    );
    assert!(!typo.exists(), "nothing made at the typo");

    let out = ok_in(&env, &dir, &["init"]);
    assert!(
        out.contains("src/main.rs"),
        "init says what it committed: {out}"
    );
    let tracked = env.git(&dir, &["ls-files"]);
    assert!(tracked.contains("src/main.rs"), "{tracked}");
    assert!(tracked.contains(".gitignore"), "{tracked}");
    assert!(
        !tracked.contains("secret.txt"),
        ".gitignore respected: {tracked}"
    );
    assert!(!tracked.contains(".worktrees"), "{tracked}");

    // An agent gets the files.
    std::fs::write(dir.join("src/main.rs"), "fn main() { changed() }\n").expect("write");
    let out = ctl_in(&env, &dir, &["--json", "spawn", "look around"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("uncommitted") && stderr.contains("src/main.rs"),
        "spawn warns that agents will not see the changes: {stderr}"
    );
    let agents: Value = serde_json::from_slice(&out.stdout).expect("json");
    let cwd = PathBuf::from(agents[0]["cwd"].as_str().expect("cwd"));
    wait_all_finished(&env);
    assert_eq!(
        std::fs::read_to_string(cwd.join("src/main.rs")).expect("the agent has the file"),
        "fn main() {}\n"
    );

    // A clean repository: no warning.
    env.git(
        &dir,
        &[
            "-c",
            "user.name=T",
            "-c",
            "user.email=t@example.com",
            "commit",
            "-qam",
            "change",
        ],
    );
    let out = ctl_in(&env, &dir, &["--json", "spawn", "again"]);
    assert!(out.status.success());
    assert!(
        !text(&out.stderr).contains("uncommitted"),
        "{}",
        text(&out.stderr)
    );
    wait_all_finished(&env);
}

// 2 and 8 ---------------------------------------------------------------------------------

#[test]
fn restart_with_a_broken_config_keeps_the_daemon_and_config_show_reads_the_file_now() {
    let env = TestEnv::new();
    let good = std::fs::read_to_string(env.config_file()).expect("config");
    // The daemon starts with no file at all.
    std::fs::remove_file(env.config_file()).expect("remove config");
    let first = env.ctl_json(&["daemon", "start"]);
    let pid = first["pid"].as_u64().expect("pid");

    // A file appears: `config show` must not claim there is none.
    env.write_config_text(&good.replace('{', "{\n  \"default_parallel\": 7,"));
    let shown = env.ctl_ok(&["config", "show"]);
    assert!(!shown.contains("no file"), "{shown}");
    assert!(shown.contains("still runs with other settings"), "{shown}");
    let shown = env.ctl_json(&["config", "show"]);
    assert_eq!(shown["from_file"], true);
    assert_eq!(shown["config"]["default_parallel"], 7);
    assert_eq!(shown["differs_from_running"], true);

    // Broken: restart refuses and the daemon stays.
    env.write_config_text("{\n  \"default_parallel\": 3,\n  oops\n}\n");
    let out = env.ctl(&["daemon", "restart"]);
    assert!(!out.status.success(), "restart must refuse");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("line 3"), "says what is wrong: {stderr}");
    assert!(stderr.contains("left alone"), "{stderr}");
    // One line each for what happened, why, and what to do; no runs of blanks left by a
    // line continuation in the message.
    assert!(!stderr.contains("   "), "no gaps in the text: {stderr}");
    let status = env.ctl_json(&["--no-autostart", "daemon", "status"]);
    assert_eq!(
        status["pid"].as_u64(),
        Some(pid),
        "the same daemon still serves"
    );
    // `config show` on the broken file: the settings in force, and an error (exit 1) that
    // says where the file is broken (issue #29 item 8).
    for json in [false, true] {
        let args: &[&str] = if json {
            &["--json", "config", "show"]
        } else {
            &["config", "show"]
        };
        let out = env.ctl(args);
        assert_eq!(out.status.code(), Some(1), "a broken file is an error");
        let stderr = text(&out.stderr);
        assert!(stderr.contains("line 3, column 3"), "{stderr}");
        if json {
            let shown: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
            assert!(
                shown["file_error"]
                    .as_str()
                    .expect("error")
                    .contains("line 3, column 3"),
                "{shown}"
            );
            assert!(shown["running_config"].is_object(), "{shown}");
        } else {
            let stdout = text(&out.stdout);
            assert!(stdout.contains("runs with the settings below"), "{stdout}");
        }
    }

    // Fixed: `--json daemon restart` prints exactly one JSON document.
    env.write_config_text(&good.replace('{', "{\n  \"default_parallel\": 7,"));
    let out = env.ctl_ok(&["--json", "daemon", "restart"]);
    let restarted: Value =
        serde_json::from_str(&out).unwrap_or_else(|err| panic!("one JSON document ({err}): {out}"));
    assert_ne!(restarted["pid"].as_u64(), Some(pid), "a new daemon");
    let shown = env.ctl_json(&["config", "show"]);
    assert_eq!(shown["differs_from_running"], false);
    assert_eq!(shown["running_config"]["default_parallel"], 7);
    env.ctl_ok(&["daemon", "stop"]);

    // No daemon and a broken file: still an error that says where.
    env.write_config_text("{\n  \"default_parallel\": 3,\n  oops\n}\n");
    let out = env.ctl(&["config", "show"]);
    assert!(!out.status.success(), "a broken file is an error");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("line 3, column 3"), "{stderr}");
}

// 3 and 10 --------------------------------------------------------------------------------

#[test]
fn status_and_collect_show_the_repo_you_are_in_and_old_agents_can_be_forgotten() {
    let env = TestEnv::new();
    // `/x/repo` must not take in `/x/repo2`.
    let repo = repo_named(&env, "repo");
    let repo2 = repo_named(&env, "repo2");
    let mine = spawn_in(&env, &repo, &["quick one"]);
    let theirs = spawn_in(&env, &repo2, &["quick two"]);
    wait_all_finished(&env);

    let here = json_in(&env, &repo, &["status"]);
    assert_eq!(ids(&here), mine, "in repo: only its agents");
    let there = json_in(&env, &repo2, &["status"]);
    assert_eq!(ids(&there), theirs, "in repo2: only its agents");
    let all = json_in(&env, &repo, &["status", "--all"]);
    assert_eq!(ids(&all).len(), 2, "--all: every agent");
    let home = ok_in(&env, &env.home, &["status"]);
    assert!(
        home.contains("REPO"),
        "outside a repo: a REPO column\n{home}"
    );
    assert!(
        home.contains(&mine[0]) && home.contains(&theirs[0]),
        "{home}"
    );
    let everywhere = ok_in(&env, &env.home, &["collect"]);
    assert!(
        everywhere.contains("/repo  ") && everywhere.contains("/repo2  "),
        "outside a repo, collect names each result's repo:\n{everywhere}"
    );
    let collected = json_in(&env, &repo, &["collect"]);
    assert_eq!(collected.as_array().expect("results").len(), 1);
    assert_eq!(collected[0]["agent"]["id"], mine[0].as_str());

    // collect --wait in repo does not wait on repo2's agent, and says nothing about
    // waiting when nothing is left to wait for.
    // Never opened: repo2's agent runs until it is stopped.
    let slow = spawn_in(
        &env,
        &repo2,
        &[&Gate::new(&env, "never").task("a long one")],
    );
    let out = ctl_in(&env, &repo, &["collect", "--wait"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        !text(&out.stderr).contains("waiting"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        matches!(
            state_of(&env, &slow[0]).as_str(),
            "queued" | "starting" | "running"
        ),
        "collect --wait returned while the other repo's agent still runs"
    );

    // forget: refused while running, then done.
    let out = env.ctl(&["forget", &slow[0]]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("stop it first"),
        "{}",
        text(&out.stderr)
    );
    env.ctl_ok(&["stop", &slow[0]]);
    wait_all_finished(&env);
    let forgotten = env.ctl_json(&["forget", &slow[0], &theirs[0]]);
    assert_eq!(forgotten.as_array().expect("list").len(), 2);
    assert_eq!(ids(&env.ctl_json(&["status", "--all"])), mine);

    // cleanup: a hint without --forget, and forgets with it.
    let out = ok_in(&env, &repo, &["cleanup"]);
    assert!(
        out.contains(&format!("orchestractl forget {}", mine[0])),
        "{out}"
    );
    let next = spawn_in(&env, &repo, &["quick three"]);
    wait_all_finished(&env);
    // A resume of that agent runs in its worktree: it goes with the worktree.
    let resumed = json_in(&env, &repo, &["resume", &next[0], "quick more"]);
    let resumed = resumed["agent_id"]
        .as_str()
        .expect("the resume agent's id")
        .to_owned();
    wait_all_finished(&env);
    let cleaned = json_in(&env, &repo, &["cleanup", "--forget"]);
    let mut forgotten = ids(&cleaned["forgotten"]);
    forgotten.sort();
    let mut expected = vec![next[0].clone(), resumed];
    expected.sort();
    assert_eq!(forgotten, expected, "{cleaned:#}");
    assert_eq!(ids(&env.ctl_json(&["status", "--all"])), mine);
}

#[test]
fn pr_without_a_remote_fails_with_the_next_step() {
    let env = TestEnv::new();
    let repo = env.git_repo();
    let id = spawn_in(&env, &repo, &["quick"]);
    wait_all_finished(&env);
    let out = env.ctl(&["pr", &id[0]]);
    assert!(
        !out.status.success(),
        "nothing was pushed: {}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stderr).contains("origin"),
        "{}",
        text(&out.stderr)
    );
    let out = env.ctl(&["--json", "pr", &id[0]]);
    assert!(!out.status.success());
    let pr: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(pr["pushed"], false);
}

// 4 ---------------------------------------------------------------------------------------

/// Runs orchestractl with a stdout whose reader has already gone, like `| head -1` after
/// its line.
fn with_closed_stdout(env: &TestEnv, args: &[&str]) -> Output {
    let (read, write) = nix::unistd::pipe().expect("pipe");
    drop(read);
    env.command(bin("orchestractl"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::from(write))
        .stderr(Stdio::piped())
        .output()
        .expect("running orchestractl")
}

#[test]
fn a_closed_pipe_ends_every_command_quietly() {
    let env = TestEnv::new();
    env.add_session_fixture(
        "claude-code/sessions/01_session_after_first_run.jsonl",
        "-tmp-project",
        "11111111-2222-3333-4444-555555555555.jsonl",
    );
    env.ctl_ok(&["daemon", "start"]);
    for args in [
        &["status"][..],
        &["sessions", "--all"],
        &["completions", "bash"],
        &["--json", "status"],
        &["daemon", "status"],
        // Runs the dashboard binary, whose stdout is the same closed pipe.
        &["web", "cert"],
        &["--json", "web", "cert"],
        &["web", "ca"],
    ] {
        let out = with_closed_stdout(&env, args);
        let stderr = text(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?} says nothing: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}");
    }
}

// 5 ---------------------------------------------------------------------------------------

/// What a child writes, in chunks as they come, from a thread that reads its stdout.
fn chunks_of(mut stdout: std::process::ChildStdout) -> std::sync::mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                return;
            }
        }
    });
    rx
}

#[test]
fn status_watch_draws_one_first_frame_then_ticks_with_stable_columns() {
    let env = TestEnv::new();
    let repo = env.git_repo();
    let spawned = spawn_in(&env, &repo, &["quick a", "quick b", "quick c"]);
    wait_all_finished(&env);

    // On a terminal, as a user watches it: `script` gives it one (util-linux).
    let watch = format!("exec {} status --watch", bin("orchestractl").display());
    let mut child = env
        .command("script")
        .args(["-qfec", &watch, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("script (util-linux) runs status --watch on a terminal");
    let rx = chunks_of(child.stdout.take().expect("stdout"));
    // No agent changes from here on: every frame after the first is a tick.
    let mut output = String::new();
    let deadline = Instant::now() + DEADLINE;
    let frames = loop {
        if let Ok(chunk) = rx.recv_timeout(Duration::from_millis(100)) {
            output.push_str(&text(&chunk));
        }
        let frames: Vec<String> = output.split("\x1b[2J").skip(1).map(str::to_owned).collect();
        // Four frames started means three complete ones.
        if frames.len() >= 4 {
            break frames;
        }
        assert!(
            Instant::now() < deadline,
            "only {} frame(s): {output:?}",
            frames.len()
        );
    };
    let _ = child.kill();
    let _ = child.wait();
    for id in &spawned {
        assert!(
            frames[0].contains(id.as_str()),
            "the first frame holds every agent: {:?}",
            frames[0]
        );
    }
    let header = |frame: &str| {
        frame
            .lines()
            .find(|l| l.starts_with("ID "))
            .expect("a header")
            .to_owned()
    };
    let first = header(&frames[0]);
    for frame in &frames[1..3] {
        assert_eq!(header(frame), first, "columns stay put");
    }
    // Fixed widths: ID 8, STATE 11 ("interrupted"), TIME 7, COST 7.
    assert_eq!(first.find("STATE"), Some(10), "{first}");
    assert_eq!(first.find("TIME"), Some(23), "{first}");
    assert_eq!(first.find("COST"), Some(32), "{first}");
}

#[test]
fn status_watch_into_a_pipe_prints_a_table_per_change_without_screen_codes() {
    let env = TestEnv::new();
    let repo = env.git_repo();
    let first = spawn_in(&env, &repo, &["quick a"]);
    wait_all_finished(&env);
    let mut child = env
        .command(bin("orchestractl"))
        .args(["status", "--watch"])
        .current_dir(&repo)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("status --watch");
    let rx = chunks_of(child.stdout.take().expect("stdout"));
    let mut output = String::new();
    let mut read_until = |what: &str, done: &dyn Fn(&str) -> bool| {
        let deadline = Instant::now() + DEADLINE;
        while !done(&output) {
            if let Ok(chunk) = rx.recv_timeout(Duration::from_millis(100)) {
                output.push_str(&text(&chunk));
            }
            assert!(Instant::now() < deadline, "{what}: {output:?}");
        }
        output.clone()
    };
    read_until("the first table", &|o| o.contains(first[0].as_str()));
    let second = spawn_in(&env, &repo, &["quick b"]);
    let output = read_until("a table with the new agent", &|o| {
        o.contains(second[0].as_str()) && o.matches("-- ").count() >= 2
    });
    let _ = child.kill();
    let _ = child.wait();
    assert!(!output.contains('\x1b'), "no terminal codes: {output:?}");
    assert!(
        output.starts_with("-- "),
        "each table under a time stamp: {output:?}"
    );
}

// 6 ---------------------------------------------------------------------------------------

#[test]
fn worktree_sessions_are_told_apart_and_counted_under_their_repository() {
    let env = TestEnv::new();
    let repo = env.git_repo();
    spawn_in(
        &env,
        &repo,
        &["build the authentication api", "write the parser tests"],
    );
    let agents = wait_all_finished(&env);
    let sessions: Vec<String> = agents
        .iter()
        .map(|a| a["session_id"].as_str().expect("session").to_owned())
        .collect();
    wait_until("both sessions are indexed", || {
        let listed = env.ctl_json(&["sessions", "--all"]);
        sessions.iter().all(|s| {
            listed
                .as_array()
                .expect("list")
                .iter()
                .any(|l| l["session_id"] == *s)
        })
    });
    let table = env.ctl_ok(&["sessions", "--all"]);
    assert!(table.contains("build-the-authentication"), "{table}");
    assert!(table.contains("write-the-parser-tests"), "{table}");

    let analytics = env.ctl_json(&["analytics"]);
    let keys: Vec<&str> = analytics["projects"]
        .as_array()
        .expect("projects")
        .iter()
        .map(|p| p["key"].as_str().expect("key"))
        .collect();
    let root = repo.canonicalize().expect("canonical");
    assert!(
        keys.contains(&root.to_str().expect("path")),
        "grouped under the repository: {keys:?}"
    );
    assert!(!keys.iter().any(|k| k.contains(".worktrees")), "{keys:?}");
}

// 7 ---------------------------------------------------------------------------------------

#[test]
fn show_export_and_resume_take_an_agent_id_as_its_session() {
    let env = TestEnv::new();
    let repo = env.git_repo();
    let id = spawn_in(&env, &repo, &["say hello"]).remove(0);
    let agents = wait_all_finished(&env);
    let session = agents[0]["session_id"]
        .as_str()
        .expect("session")
        .to_owned();
    wait_until("the session is indexed", || {
        env.ctl(&["show", &session]).status.success()
    });

    let shown = env.ctl_json(&["show", &id]);
    assert_eq!(shown["session_id"], session.as_str());
    let exported = env.ctl_ok(&["export", &id]);
    assert!(exported.contains("say hello"), "{exported}");
    let resumed = env.ctl_json(&["resume", &id, "and goodbye"]);
    assert_eq!(resumed["session_id"], session.as_str());
    wait_all_finished(&env);
}

#[test]
fn the_socket_help_names_the_real_path() {
    let env = TestEnv::new();
    let out = env
        .command(bin("orchestractl"))
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("ORCHESTRA_SOCKET")
        .arg("--help")
        .output()
        .expect("help");
    let help = text(&out.stdout);
    let real = env.state_dir().join("orchestrad.sock");
    assert!(help.contains(&real.display().to_string()), "{help}");
    assert!(!help.contains("$XDG_RUNTIME_DIR"), "{help}");
}

#[test]
fn every_command_line_in_the_readme_parses() {
    let env = TestEnv::new();
    let readme = std::fs::read_to_string(orchestra_tests::workspace_root().join("README.md"))
        .expect("README");
    // Set up, run as written, leaves `orchestractl` usable as the Quick start writes it,
    // and says what the full suite needs.
    let setup = readme
        .split("## Set up")
        .nth(1)
        .and_then(|rest| rest.split("## Quick start").next())
        .expect("a Set up section");
    assert!(
        setup.contains("export PATH=\"$PWD/target/release:$PATH\""),
        "Set up puts the binaries on PATH:\n{setup}"
    );
    for needed in [
        ".ci/run",
        "ORCHESTRA_REAL_CLAUDE",
        "Chromium",
        "chromedriver",
    ] {
        assert!(setup.contains(needed), "Set up names {needed}:\n{setup}");
    }
    let mut checked = 0;
    let mut in_code = false;
    for line in readme.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        // Commands in code blocks, and in the reference tables' first column.
        let candidates: Vec<String> = if in_code {
            vec![line.to_owned()]
        } else {
            line.split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_owned)
                .collect()
        };
        for candidate in candidates {
            let command = candidate.split('#').next().unwrap_or_default().trim();
            let Some(rest) = command.strip_prefix("orchestractl ") else {
                continue;
            };
            let words: Vec<&str> = rest.split_whitespace().collect();
            let mut path: Vec<&str> = Vec::new();
            for word in &words {
                let plain = word.chars().all(|c| c.is_ascii_lowercase() || c == '-');
                if word.starts_with('-') || !plain || path.len() == 2 {
                    break;
                }
                path.push(word);
            }
            if path.is_empty() {
                continue;
            }
            let mut help_args = path.clone();
            help_args.push("--help");
            let out = env.ctl(&help_args);
            // `daemon status` is a sub-subcommand, `spawn "task"` is not: try the shorter.
            let (help, out) = if out.status.success() {
                (text(&out.stdout), out)
            } else {
                let short = [path[0], "--help"];
                let out = env.ctl(&short);
                (text(&out.stdout), out)
            };
            assert!(
                out.status.success(),
                "README names `orchestractl {}`, which does not exist",
                path.join(" ")
            );
            let flags = words
                .iter()
                .map(|w| w.trim_start_matches(['[', '(']))
                .filter(|w| w.starts_with("--"));
            for flag in flags {
                let flag: String = flag
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                    .collect();
                assert!(
                    help.contains(&flag),
                    "README says `{command}`, but `orchestractl {} --help` has no {flag}",
                    path.join(" ")
                );
                checked += 1;
            }
            // A reference row: the flags its description names are that command's too
            // (the README once said `send` takes `--resume`).
            if !in_code && line.starts_with(&format!("| `{candidate}`")) {
                let spans = line.split('`').skip(1).step_by(2);
                for span in spans.filter(|s| s.starts_with("--")) {
                    let flag: String = span
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                        .collect();
                    assert!(
                        help.contains(&flag),
                        "README's row for `{command}` speaks of {flag}, which `orchestractl {} --help` does not have",
                        path.join(" ")
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(
        checked > 20,
        "the README's commands were found ({checked} flags)"
    );
}

// 9 ---------------------------------------------------------------------------------------

#[test]
fn the_dashboard_ends_with_orchestractl_web() {
    let env = TestEnv::new();
    env.ctl_ok(&["daemon", "start"]);
    let mut web = env
        .command(bin("orchestractl"))
        .args(["web", "--port", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("orchestractl web");
    let mut dashboard = 0;
    wait_until("orchestractl web starts the dashboard", || {
        dashboard = orchestra_proto::process::children(web.id())
            .into_iter()
            .next()
            .unwrap_or(0);
        dashboard != 0
    });
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(web.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("SIGTERM");
    let _ = web.wait();
    let ended = Instant::now() + Duration::from_secs(10);
    while orchestra_proto::process::alive(dashboard, None) && Instant::now() < ended {
        std::thread::sleep(Duration::from_millis(20));
    }
    let orphan = orchestra_proto::process::alive(dashboard, None);
    if orphan {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(dashboard as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    assert!(
        !orphan,
        "orchestra-dashboard (pid {dashboard}) outlived orchestractl web"
    );
}

// 11 --------------------------------------------------------------------------------------

#[test]
fn messages_sent_to_an_agent_show_in_its_logs_as_the_users_turns() {
    let env = TestEnv::new();
    let repo = env.git_repo();
    let gate = Gate::new(&env, "first-turn");
    let first = gate.task("first turn");
    let id = spawn_in(&env, &repo, &[&first]).remove(0);
    wait_until("the agent runs", || state_of(&env, &id) == "running");
    let sent = env.ctl_json(&["send", &id, "and now the docs"]);
    assert_eq!(sent["resumed"], false);
    gate.open();
    wait_all_finished(&env);
    let resumed = env.ctl_json(&["send", &id, "one more thing"]);
    assert_eq!(resumed["resumed"], true);
    wait_all_finished(&env);

    let logs = env.ctl_ok(&["logs", &id]);
    let turns: Vec<&str> = logs.lines().filter(|l| l.starts_with("» you: ")).collect();
    assert_eq!(
        turns,
        [
            format!("» you: {first}").as_str(),
            "» you: and now the docs",
            "» you: one more thing"
        ],
        "{logs}"
    );
    // The user's turn comes before the answer to it.
    let asked = logs.find("» you: one more thing").expect("turn");
    let finished = logs.rfind("turn finished").expect("result");
    assert!(asked < finished, "{logs}");
    // Raw stays what Claude Code wrote.
    let raw = env.ctl_ok(&["logs", &id, "--raw"]);
    assert!(!raw.contains("\"orchestra\""), "{raw}");
}

// issue 29, item 8 ------------------------------------------------------------------------

/// `init` in `dir` with extra environment variables for the CLI only (the daemon already
/// runs without them): its output.
fn init_with_env(env: &TestEnv, dir: &Path, vars: &[(&str, &str)]) -> std::process::Output {
    env.command(bin("orchestractl"))
        .args(["--json", "init"])
        .envs(vars.iter().copied())
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("running orchestractl init")
}

#[test]
fn init_commits_as_the_user_s_shell_would_and_says_when_no_identity_is_set() {
    let env = TestEnv::new();
    // The daemon is started without any identity: only the CLI knows the user's.
    env.ctl_ok(&["daemon", "start"]);
    let dir_of = |name: &str| {
        let dir = env.root.path().join(name);
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(dir.join("a.txt"), "a\n").expect("write");
        dir
    };
    let who = |dir: &Path| env.git(dir, &["log", "-1", "--format=%an <%ae>|%cn <%ce>"]);

    // GIT_AUTHOR_* and GIT_COMMITTER_* as git takes them.
    let dir = dir_of("by-env");
    let out = init_with_env(
        &env,
        &dir,
        &[
            ("GIT_AUTHOR_NAME", "Ada Lovelace"),
            ("GIT_AUTHOR_EMAIL", "ada@example.com"),
            ("GIT_COMMITTER_NAME", "Grace Hopper"),
            ("GIT_COMMITTER_EMAIL", "grace@example.com"),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        who(&dir).trim(),
        "Ada Lovelace <ada@example.com>|Grace Hopper <grace@example.com>"
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["author"], "Ada Lovelace <ada@example.com>");
    assert_eq!(report["default_identity"], false);
    assert!(text(&out.stderr).is_empty(), "{}", text(&out.stderr));

    // The user's git config, which the daemon does not read (GIT_CONFIG_GLOBAL is the
    // shell's).
    let global = env.root.path().join("shell.gitconfig");
    std::fs::write(
        &global,
        "[user]\n\tname = Shell User\n\temail = shell@example.com\n",
    )
    .expect("write");
    let dir = dir_of("by-config");
    let out = init_with_env(
        &env,
        &dir,
        &[("GIT_CONFIG_GLOBAL", global.to_str().expect("utf-8"))],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        who(&dir).trim(),
        "Shell User <shell@example.com>|Shell User <shell@example.com>"
    );

    // None set: claude-orchestra's, and said so with what to do.
    let dir = dir_of("by-nobody");
    let out = init_with_env(&env, &dir, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        who(&dir).trim(),
        "claude-orchestra <orchestra@localhost>|claude-orchestra <orchestra@localhost>"
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["default_identity"], true);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("no git identity is set")
            && stderr.contains("git config --global user.email"),
        "{stderr}"
    );
    env.ctl_ok(&["daemon", "stop"]);
}
