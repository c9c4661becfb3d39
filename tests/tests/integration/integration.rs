//! Bringing parallel work together, as a user runs it on a real git repository: the
//! overlap radar while agents run, `merge --dry-run`, `merge`, `report`, siblings told of
//! each other, and `spawn --after` chains. fake-claude writes the files (`PUT:`) and
//! holds until a gate file exists (`GATE:`), so "while they run" is a state, not a race.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use orchestra_tests::{TestEnv, agent_by_task, all_finished, bin, wait_for_agents};
use serde_json::{Value, json};

fn spawn_json(env: &TestEnv, repo: &Path, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["spawn", "--repo", repo.to_str().expect("path")];
    all.extend_from_slice(args);
    env.ctl_json(&all).as_array().cloned().expect("agents")
}

/// Runs orchestractl, which may exit with 2 ("done, but something was left out").
fn ctl_json_code(env: &TestEnv, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = env.ctl(&all);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let value = serde_json::from_str(&stdout).unwrap_or_else(|err| {
        panic!(
            "orchestractl {args:?}: not JSON ({err}): {stdout}\nstderr: {}\ndaemon log:\n{}",
            String::from_utf8_lossy(&out.stderr),
            env.daemon_log_tail()
        )
    });
    (out.status.code().unwrap_or(-1), value)
}

fn id(agent: &Value) -> String {
    agent["id"].as_str().expect("id").to_owned()
}

fn strs(value: &Value) -> Vec<String> {
    value
        .as_array()
        .expect("array")
        .iter()
        .map(|v| v.as_str().expect("string").to_owned())
        .collect()
}

/// The state of a checkout a merge must not touch: HEAD's commit and name, and its status.
fn checkout_state(env: &TestEnv, dir: &Path) -> (String, String, String) {
    (
        env.git(dir, &["rev-parse", "HEAD"]),
        env.git(dir, &["rev-parse", "--abbrev-ref", "HEAD"]),
        env.git(dir, &["status", "--porcelain"]),
    )
}

#[test]
fn radar_dry_run_merge_and_report_on_three_agents() {
    let env = TestEnv::new();
    let repo = env.git_repo();
    let gate = env.root.path().join("gate");
    let g = gate.display();
    let tasks = [
        format!("PUT:shared.txt=alpha GATE:{g} build auth"),
        format!("PUT:shared.txt=beta GATE:{g} write tests"),
        format!("PUT:other.txt=gamma GATE:{g} speed up queries"),
    ];
    // Overlap events, as a notifier would read them. An earlier agent makes the watcher's
    // snapshot non-empty: once that arrives, its subscription is live (it subscribes
    // before the snapshot), so no event of the batch below can be missed.
    spawn_json(&env, &repo, &["an earlier batch"]);
    wait_for_agents(&env, "the earlier batch is done", all_finished);
    let mut watch = env
        .command(bin("orchestractl"))
        .args(["--json", "status", "--watch"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("status --watch");
    let (events_tx, events) = std::sync::mpsc::channel::<Value>();
    let stdout = watch.stdout.take().expect("piped");
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Ok(value) = serde_json::from_str::<Value>(&line)
                && events_tx.send(value).is_err()
            {
                break;
            }
        }
    });
    let deadline = std::time::Instant::now() + orchestra_tests::DEADLINE;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let event = events.recv_timeout(left).expect("the watcher's snapshot");
        if event["kind"] == "snapshot" {
            break;
        }
    }

    let spawned = spawn_json(
        &env,
        &repo,
        &[
            "--parallel",
            "3",
            "--allowed-tools",
            "Write",
            &tasks[0],
            &tasks[1],
            &tasks[2],
        ],
    );
    let (a, b, c) = (id(&spawned[0]), id(&spawned[1]), id(&spawned[2]));
    let batch = spawned[0]["batch_id"].as_str().expect("batch").to_owned();

    // The radar flags the pair while they run, and only the pair.
    // (A record can lag its worktree by a poll: the radar may see a file before the
    // agent's own output says it runs, so "running" is waited for too.)
    let agents = wait_for_agents(&env, "the radar flags a and b", |list| {
        let overlaps = |t: &str| {
            list.iter()
                .find(|x| x["task"] == t && x["state"] == "running")
                .map(|x| x["overlaps"].clone())
        };
        overlaps(&tasks[0]).is_some_and(|o| o.as_array().is_some_and(|o| !o.is_empty()))
            && overlaps(&tasks[1]).is_some_and(|o| o.as_array().is_some_and(|o| !o.is_empty()))
    });
    for (task, other) in [(&tasks[0], &b), (&tasks[1], &a)] {
        let agent = agent_by_task(&agents, task);
        assert_eq!(agent["state"], "running", "still running: {agent:#}");
        assert_eq!(
            agent["overlaps"],
            json!([{"agent_id": other, "paths": ["shared.txt"]}])
        );
    }
    let third = agent_by_task(&agents, &tasks[2]);
    assert_eq!(third["overlaps"], json!([]), "{third:#}");
    let table = env.ctl_ok(&["status"]);
    assert!(
        table.contains(&format!("{a}  also changed by {b}: shared.txt")),
        "{table}"
    );
    assert!(
        table.contains(&format!("{b}  also changed by {a}: shared.txt")),
        "{table}"
    );
    let mut flagged = std::collections::BTreeSet::new();
    while flagged.len() < 2 {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let event = events
            .recv_timeout(left)
            .expect("an overlap event for each agent");
        if event["kind"] == "overlap" {
            assert!(
                !event["agent"]["overlaps"]
                    .as_array()
                    .expect("overlaps")
                    .is_empty()
            );
            flagged.insert(event["agent"]["id"].as_str().expect("id").to_owned());
        }
    }
    assert_eq!(flagged, [a.clone(), b.clone()].into_iter().collect());
    let _ = watch.kill();
    let _ = watch.wait();

    // A running batch is refused by merge, with what to do.
    let out = env.ctl(&["merge", "--repo", repo.to_str().expect("path")]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("is still running") && stderr.contains("--dry-run"),
        "{stderr}"
    );

    // The dry run reports exactly that pair, and changes nothing.
    let worktrees: Vec<PathBuf> = tasks
        .iter()
        .map(|t| PathBuf::from(agent_by_task(&agents, t)["cwd"].as_str().expect("cwd")))
        .collect();
    let before: Vec<_> = worktrees.iter().map(|w| checkout_state(&env, w)).collect();
    let user_before = checkout_state(&env, &repo);
    let branches_before = env.git(&repo, &["branch", "--list"]);
    let (code, dry) = ctl_json_code(
        &env,
        &["merge", "--dry-run", "--repo", repo.to_str().expect("path")],
    );
    assert_eq!(code, 2, "conflicts found: exit 2; {dry:#}");
    assert_eq!(
        dry["conflicts"],
        json!([{"agents": [a, b], "paths": ["shared.txt"]}])
    );
    let after: Vec<_> = worktrees.iter().map(|w| checkout_state(&env, w)).collect();
    assert_eq!(before, after, "the dry run left the worktrees alone");
    assert_eq!(user_before, checkout_state(&env, &repo));
    assert_eq!(branches_before, env.git(&repo, &["branch", "--list"]));

    std::fs::write(&gate, "go").expect("gate");
    let agents = wait_for_agents(&env, "all done", all_finished);
    assert!(agents.iter().all(|x| x["state"] == "done"), "{agents:#?}");

    // merge integrates two branches and leaves the third out with its paths.
    let (code, merged) = ctl_json_code(&env, &["merge", "--repo", repo.to_str().expect("path")]);
    assert_eq!(code, 2, "a branch was left out: exit 2; {merged:#}");
    let branch = format!("orchestra/integrate-{batch}");
    assert_eq!(merged["branch"], branch.as_str());
    assert_eq!(strs(&merged["merged"]), [a.clone(), c.clone()]);
    let skipped = merged["skipped"].as_array().expect("skipped");
    assert_eq!(skipped.len(), 1, "{merged:#}");
    assert_eq!(skipped[0]["agent_id"], b.as_str());
    assert_eq!(skipped[0]["paths"], json!(["shared.txt"]));
    assert_eq!(skipped[0]["conflicts_with"], json!([a]));
    assert_eq!(
        env.git(&repo, &["show", &format!("{branch}:shared.txt")]),
        "alpha\n"
    );
    assert_eq!(
        env.git(&repo, &["show", &format!("{branch}:other.txt")]),
        "gamma\n"
    );
    // Nothing half-merged anywhere: the integration worktree is clean and has no
    // conflict markers; the user's checkout is as it was.
    let integration = PathBuf::from(merged["worktree"].as_str().expect("worktree"));
    assert!(integration.starts_with(repo.join(".worktrees")));
    assert_eq!(env.git(&integration, &["status", "--porcelain"]), "");
    assert_eq!(
        std::fs::read_to_string(integration.join("shared.txt")).expect("shared"),
        "alpha\n"
    );
    assert_eq!(user_before, checkout_state(&env, &repo));
    assert!(!repo.join("shared.txt").exists() && !repo.join("other.txt").exists());
    // The agents' worktrees keep their files; their work is now committed on their branch.
    for (worktree, (file, text)) in worktrees.iter().zip([
        ("shared.txt", "alpha\n"),
        ("shared.txt", "beta\n"),
        ("other.txt", "gamma\n"),
    ]) {
        assert_eq!(
            std::fs::read_to_string(worktree.join(file)).expect("file"),
            text
        );
        assert_eq!(env.git(worktree, &["status", "--porcelain"]), "");
    }
    assert_eq!(
        env.git(
            &repo,
            &[
                "show",
                &format!(
                    "{}:shared.txt",
                    agent_by_task(&agents, &tasks[1])["branch"]
                        .as_str()
                        .expect("branch")
                )
            ]
        ),
        "beta\n"
    );

    // Merging again changes nothing and is no error; the user's branch is never the target.
    let head = env.git(&repo, &["rev-parse", &branch]);
    let (code, again) = ctl_json_code(&env, &["merge", "--repo", repo.to_str().expect("path")]);
    assert_eq!(code, 2, "{again:#}");
    assert_eq!(again["merged"], merged["merged"]);
    assert_eq!(env.git(&repo, &["rev-parse", &branch]), head);
    let out = env.ctl(&[
        "merge",
        "--into",
        "main",
        "--repo",
        repo.to_str().expect("path"),
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("branch main is checked out") && stderr.contains("--into"),
        "{stderr}"
    );
    assert_eq!(user_before, checkout_state(&env, &repo));

    // Merging into an existing integration branch moves it and its worktree forward.
    let r = repo.to_str().expect("path");
    let (code, first) = ctl_json_code(
        &env,
        &["merge", &a, "--into", "orchestra/step", "--repo", r],
    );
    assert_eq!(
        (code, strs(&first["merged"])),
        (0, vec![a.clone()]),
        "{first:#}"
    );
    let (code, second) = ctl_json_code(
        &env,
        &["merge", &c, "--into", "orchestra/step", "--repo", r],
    );
    assert_eq!(
        (code, strs(&second["merged"])),
        (0, vec![c.clone()]),
        "{second:#}"
    );
    let step = PathBuf::from(second["worktree"].as_str().expect("worktree"));
    assert_eq!(
        step,
        PathBuf::from(first["worktree"].as_str().expect("worktree"))
    );
    assert_eq!(env.git(&step, &["status", "--porcelain"]), "");
    assert!(step.join("shared.txt").exists() && step.join("other.txt").exists());
    // Naming agents records where they went; merge the batch again to restore its status.
    ctl_json_code(&env, &["merge", "--repo", r]);

    // The report lists all three, with what became of each branch.
    let report = env.ctl_json(&["report", "--repo", repo.to_str().expect("path")]);
    assert_eq!(report["batch_id"], batch.as_str());
    let entries = report["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 3);
    let statuses: Vec<(String, String)> = entries
        .iter()
        .map(|e| {
            (
                e["agent"]["id"].as_str().expect("id").to_owned(),
                e["merge_status"].as_str().expect("status").to_owned(),
            )
        })
        .collect();
    assert_eq!(statuses[0], (a.clone(), format!("merged into {branch}")));
    assert!(
        statuses[1].1.contains("shared.txt") && statuses[1].1.contains(&a),
        "{statuses:?}"
    );
    assert_eq!(statuses[2], (c.clone(), format!("merged into {branch}")));
    let markdown = env.ctl_ok(&[
        "report",
        "--markdown",
        "--repo",
        repo.to_str().expect("path"),
    ]);
    for task in &tasks {
        assert!(markdown.contains(task.as_str()), "{markdown}");
    }
    assert!(markdown.contains("| # | Task |"), "{markdown}");
    assert!(markdown.contains("Wrote the files"), "{markdown}");

    // The integration pull request: no remote here, so nothing is pushed (a failure for
    // scripts) and it says what to do.
    let (code, pr) = ctl_json_code(
        &env,
        &[
            "pr",
            "--integration",
            &branch,
            "--repo",
            repo.to_str().expect("path"),
        ],
    );
    assert_eq!(code, 1, "{pr:#}");
    assert!(
        pr["instructions"]
            .as_str()
            .expect("instructions")
            .contains("origin"),
        "{pr:#}"
    );
}

#[test]
fn siblings_are_told_of_each_other_unless_no_siblings() {
    let env = TestEnv::new();
    let repo = env.git_repo();
    let spawned = spawn_json(&env, &repo, &["first thing", "second thing"]);
    wait_for_agents(&env, "done", all_finished);
    let args_of = |agent: &Value| -> Vec<String> {
        let spec = env
            .state_dir()
            .join("agents")
            .join(id(agent))
            .join("spec.json");
        let spec: Value =
            serde_json::from_slice(&std::fs::read(&spec).expect("spec")).expect("json");
        strs(&spec["args"])
    };
    for (me, other) in [(&spawned[0], &spawned[1]), (&spawned[1], &spawned[0])] {
        let args = args_of(me);
        // Through a file of the agent's own, never on the command line (`ps` shows it).
        let at = args
            .iter()
            .position(|a| a == "--append-system-prompt-file")
            .unwrap_or_else(|| panic!("no sibling prompt: {args:?}"));
        assert!(
            !args
                .iter()
                .any(|a| a.contains("second thing") || a.contains("first thing"))
        );
        let file = PathBuf::from(&args[at + 1]);
        assert!(
            file.starts_with(env.state_dir().join("agents").join(id(me))),
            "{file:?}"
        );
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&file)
            .expect("prompt file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file:?}");
        let prompt = &std::fs::read_to_string(&file).expect("prompt");
        assert!(
            prompt.contains(other["task"].as_str().expect("task")),
            "{prompt}"
        );
        assert!(
            prompt.contains(other["branch"].as_str().expect("branch")),
            "{prompt}"
        );
        assert!(
            !prompt.contains(me["task"].as_str().expect("task")),
            "{prompt}"
        );
    }
    let alone = spawn_json(
        &env,
        &repo,
        &["--no-siblings", "third thing", "fourth thing"],
    );
    wait_for_agents(&env, "done", all_finished);
    for agent in &alone {
        assert!(!args_of(agent).contains(&"--append-system-prompt-file".to_owned()));
    }
}

#[test]
fn after_task_starts_from_its_predecessors_branch_only_once_it_is_done() {
    let env = TestEnv::new();
    let repo = env.git_repo();
    let gate = env.root.path().join("gate");
    let first_task = format!("PUT:first.txt=one GATE:{} first step", gate.display());
    let first = &spawn_json(&env, &repo, &["--allowed-tools", "Write", &first_task])[0];
    let second_task = "PUT:second.txt=two second step";
    let second = &spawn_json(
        &env,
        &repo,
        &[
            "--allowed-tools",
            "Write",
            "--after",
            &id(first)[..5],
            second_task,
        ],
    )[0];
    assert_eq!(second["after"], id(first).as_str());
    assert_eq!(second["state"], "queued");

    // The predecessor has written and runs on: the follower waits.
    let first_cwd = PathBuf::from(first["cwd"].as_str().expect("cwd"));
    wait_for_agents(&env, "the first has written", |_| {
        first_cwd.join("first.txt").exists()
    });
    let agents = wait_for_agents(&env, "the follower says what it waits for", |list| {
        agent_by_task(list, second_task)["activity"]
            .as_str()
            .is_some_and(|a| a.contains(&id(first)))
    });
    let waiting = agent_by_task(&agents, second_task);
    assert_eq!(waiting["state"], "queued", "{waiting:#}");
    assert_eq!(waiting["started_at_ms"], 0);
    let table = env.ctl_ok(&["status"]);
    assert!(
        table.contains(&format!("{}  runs after {}", id(second), id(first))),
        "{table}"
    );

    std::fs::write(&gate, "go").expect("gate");
    let agents = wait_for_agents(&env, "both done", all_finished);
    let (done_first, done_second) = (
        agent_by_task(&agents, &first_task),
        agent_by_task(&agents, second_task),
    );
    assert_eq!(done_second["state"], "done", "{done_second:#}");
    assert!(done_second["started_at_ms"].as_i64() >= done_first["ended_at_ms"].as_i64());
    // It started from the predecessor's branch head, with the predecessor's work
    // committed there.
    let head = env.git(
        &repo,
        &["rev-parse", done_first["branch"].as_str().expect("branch")],
    );
    assert_eq!(
        done_second["base_commit"].as_str().expect("base"),
        head.trim()
    );
    assert_eq!(
        env.git(&repo, &["show", &format!("{}:first.txt", head.trim())]),
        "one\n"
    );
    let second_cwd = PathBuf::from(done_second["cwd"].as_str().expect("cwd"));
    assert_eq!(
        std::fs::read_to_string(second_cwd.join("first.txt")).expect("first.txt"),
        "one\n"
    );
    assert!(second_cwd.join("second.txt").exists());
    // Its first message carried the predecessor's result.
    let session = walk(&env.projects_dir())
        .into_iter()
        .find(|p| {
            std::fs::read_to_string(p)
                .is_ok_and(|t| t.contains(done_second["session_id"].as_str().expect("session")))
        })
        .expect("the follower's session file");
    let text = std::fs::read_to_string(session).expect("session");
    assert!(
        text.contains("Wrote the files"),
        "the result was given as context"
    );

    // A predecessor that fails stops its followers, with the reason.
    let failing = &spawn_json(&env, &repo, &["FAIL this one"])[0];
    let follower = &spawn_json(&env, &repo, &["--after", &id(failing), "never runs"])[0];
    let agents = wait_for_agents(&env, "the chain ended", all_finished);
    let stopped = agents
        .iter()
        .find(|a| a["id"] == follower["id"])
        .expect("follower");
    assert_eq!(stopped["state"], "stopped", "{stopped:#}");
    assert!(
        stopped["error"].as_str().expect("error").contains("failed"),
        "{stopped:#}"
    );
    assert_eq!(stopped["started_at_ms"], 0, "it never ran");
}

/// Every file below `dir`.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn a_chain_survives_a_daemon_restart() {
    let env = TestEnv::new();
    let repo = env.git_repo();
    let gate = env.root.path().join("gate");
    let first_task = format!("PUT:first.txt=one GATE:{} first", gate.display());
    let first = &spawn_json(&env, &repo, &["--allowed-tools", "Write", &first_task])[0];
    let second = &spawn_json(&env, &repo, &["--after", &id(first), "then this"])[0];
    let first_cwd = PathBuf::from(first["cwd"].as_str().expect("cwd"));
    wait_for_agents(&env, "the first has written", |_| {
        first_cwd.join("first.txt").exists()
    });
    env.ctl_ok(&["daemon", "stop"]);
    // The predecessor finishes while the daemon is away.
    std::fs::write(&gate, "go").expect("gate");
    env.ctl_ok(&["daemon", "start"]);
    let agents = wait_for_agents(&env, "the chain ran after the restart", all_finished);
    let follower = agents
        .iter()
        .find(|a| a["id"] == second["id"])
        .expect("follower");
    assert_eq!(follower["state"], "done", "{follower:#}");
    let head = env.git(
        &repo,
        &["rev-parse", first["branch"].as_str().expect("branch")],
    );
    assert_eq!(follower["base_commit"].as_str().expect("base"), head.trim());
}

/// A repository whose check fails while `bad.txt` exists, naming the fix in words
/// fake-claude acts on (`BASH:rm_bad.txt`), and a batch of two agents: A adds good.txt,
/// B adds feature-b.txt and bad.txt. `--allowed-tools Bash` lets B's repair run `rm`.
fn batch_with_a_culprit(env: &TestEnv) -> (PathBuf, String, String) {
    let repo = env.git_repo();
    std::fs::write(
        repo.join("check.sh"),
        "#!/bin/sh\nif [ -e bad.txt ]; then echo 'bad.txt breaks the build: BASH:rm_bad.txt'; exit 1; fi\necho all good\n",
    )
    .expect("check.sh");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            repo.join("check.sh"),
            std::fs::Permissions::from_mode(0o755),
        )
        .expect("chmod");
    }
    env.git(&repo, &["add", "check.sh"]);
    env.git(&repo, &["commit", "-q", "-m", "a check"]);
    let agents = spawn_json(
        env,
        &repo,
        &[
            "PUT:good.txt=fine add a feature",
            "PUT:feature-b.txt=b PUT:bad.txt=oops add another",
            "--allowed-tools",
            "Bash",
        ],
    );
    wait_for_agents(env, "both agents are done", |agents| {
        agents.len() == 2 && agents.iter().all(|a| a["state"] == "done")
    });
    (repo, id(&agents[0]), id(&agents[1]))
}

#[test]
fn verify_names_the_culprit_and_repair_makes_the_batch_green() {
    let env = TestEnv::new();
    let (repo, a, b) = batch_with_a_culprit(&env);
    let repo_arg = repo.to_str().expect("path");

    // Without --repair: red, the culprit named, the output's end kept.
    let (code, red) = ctl_json_code(
        &env,
        &["merge", "--repo", repo_arg, "--verify", "./check.sh"],
    );
    assert_eq!(code, 1, "{red}");
    assert_eq!(red["state"], "red", "{red}");
    assert_eq!(red["verify"]["culprit_agent_id"], b.as_str(), "{red}");
    assert_eq!(red["verify"]["exit_code"], 1);
    assert_eq!(red["verify"]["base_red"], false);
    assert!(
        red["verify"]["output_tail"]
            .as_str()
            .expect("tail")
            .contains("bad.txt breaks"),
        "{red}"
    );
    // The base, the merge, one bisection trial.
    assert_eq!(red["verify"]["verifications"], 3, "{red}");
    let log = red["verify"]["log_path"].as_str().expect("log");
    assert!(
        std::fs::read_to_string(log)
            .expect("log")
            .contains("bad.txt breaks")
    );
    // A red batch's pull request is refused unless forced.
    let branch = red["branch"].as_str().expect("branch").to_owned();
    let pr = env.ctl(&["pr", "--integration", &branch, "--repo", repo_arg]);
    assert!(!pr.status.success());
    assert!(
        String::from_utf8_lossy(&pr.stderr).contains("red"),
        "{pr:?}"
    );

    // With one round of repair: B is sent the failure, removes bad.txt, and the batch is
    // merged again, green, with both changes.
    let (code, green) = ctl_json_code(
        &env,
        &[
            "merge",
            "--repo",
            repo_arg,
            "--verify",
            "./check.sh",
            "--repair",
            "1",
        ],
    );
    assert_eq!(code, 0, "{green}");
    assert_eq!(green["state"], "green", "{green}");
    let rounds = green["rounds"].as_array().expect("rounds");
    assert_eq!(rounds.len(), 1, "{green}");
    assert_eq!(rounds[0]["culprit_agent_id"], b.as_str());
    assert_eq!(rounds[0]["action"], "fix_failure");
    assert_eq!(rounds[0]["result"], "repaired");
    let worktree = PathBuf::from(green["worktree"].as_str().expect("worktree"));
    assert!(worktree.join("good.txt").is_file(), "A's change");
    assert!(worktree.join("feature-b.txt").is_file(), "B's change");
    assert!(!worktree.join("bad.txt").exists(), "B's fix");
    assert_eq!(strs(&green["merged"]), vec![a.clone(), b.clone()]);
    // B was told what failed.
    let logs = env.ctl_ok(&["logs", &b]);
    assert!(
        logs.contains("./check.sh") && logs.contains("bad.txt breaks"),
        "{logs}"
    );
    let status = env.ctl_json(&["merge", "status", "--repo", repo_arg]);
    assert_eq!(status[0]["state"], "green", "{status}");
}

#[test]
fn a_check_past_its_timeout_ends_red_in_seconds_and_bad_settings_are_named() {
    let env = TestEnv::new();
    let repo = env.git_repo();
    let repo_arg = repo.to_str().expect("path");
    spawn_json(&env, &repo, &["PUT:good.txt=fine add a feature"]);
    wait_for_agents(&env, "the agent is done", all_finished);
    // No run yet: an empty list, and an unknown batch named in words.
    assert_eq!(
        env.ctl_json(&["merge", "status", "--repo", repo_arg]),
        json!([])
    );
    let unknown = env.ctl(&["merge", "status", "ffff0000", "--repo", repo_arg]);
    assert!(!unknown.status.success());
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("no verified merge of a batch ffff0000"),
        "{unknown:?}"
    );
    let started = std::time::Instant::now();
    let (code, red) = ctl_json_code(
        &env,
        &[
            "merge",
            "--repo",
            repo_arg,
            "--verify",
            "if [ -e good.txt ]; then sleep 60; fi",
            "--verify-timeout",
            "2",
        ],
    );
    assert_eq!(code, 1, "{red}");
    assert_eq!(red["state"], "red", "{red}");
    assert_eq!(red["verify"]["reason"], "timed out after 2 s", "{red}");
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    assert!(
        red["verify"]["duration_s"].as_f64().expect("s") < 10.0,
        "{red}"
    );

    // A malformed .orchestra.json is named with its line; a missing command says so.
    std::fs::write(repo.join(".orchestra.json"), "{\n  \"verify\": [1]\n}\n").expect("write");
    let out = env.ctl(&["merge", "--repo", repo_arg]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(said.contains(".orchestra.json line 2"), "{said}");
    std::fs::write(
        repo.join(".orchestra.json"),
        "{\"verify\": \"no-such-check-cmd\"}",
    )
    .expect("write");
    let (code, red) = ctl_json_code(&env, &["merge", "--repo", repo_arg]);
    assert_eq!(code, 1, "{red}");
    assert!(
        red["reason"]
            .as_str()
            .expect("reason")
            .contains("not found"),
        "{red}"
    );
    assert_eq!(
        red["verify"]["base_red"], true,
        "the base fails it too: {red}"
    );
    assert_eq!(red["verify"]["culprit_agent_id"], "", "no agent is blamed");
}

#[test]
fn a_verified_merge_goes_on_after_the_daemon_is_killed() {
    let env = TestEnv::new();
    let repo = env.git_repo();
    let repo_arg = repo.to_str().expect("path");
    spawn_json(&env, &repo, &["PUT:good.txt=fine add a feature"]);
    wait_for_agents(&env, "the agent is done", all_finished);
    let gate = env.root.path().join("verify-gate");
    let check = format!(
        "if [ -e good.txt ]; then while [ ! -e {} ]; do sleep 0.05; done; fi",
        gate.display()
    );
    let (code, started) = ctl_json_code(
        &env,
        &["merge", "--repo", repo_arg, "--verify", &check, "--no-wait"],
    );
    assert_eq!(code, 0, "{started}");
    orchestra_tests::wait_until("the merged result is being checked", || {
        env.ctl_json(&["merge", "status", "--repo", repo_arg])[0]["state"] == "verifying"
    });
    let pid = env.ctl_json(&["daemon", "status"])["pid"]
        .as_u64()
        .expect("pid") as i32;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill -9");
    orchestra_tests::wait_until("the daemon is gone", || {
        orchestra_proto::process::gone(pid as u32)
    });
    // The next command starts a daemon, which goes on with the run.
    let status = env.ctl_json(&["merge", "status", "--repo", repo_arg]);
    assert!(
        ["merging", "verifying", "green"].contains(&status[0]["state"].as_str().unwrap_or("")),
        "{status}"
    );
    std::fs::write(&gate, "").expect("gate");
    orchestra_tests::wait_until("the run ends green", || {
        env.ctl_json(&["merge", "status", "--repo", repo_arg])[0]["state"] == "green"
    });
}

/// A branch left out by a conflict is sent back to merge the integration branch in: it
/// gets the conflicting paths and the other agent's name, runs again, and the batch is
/// merged and checked again; when the conflict stays, the run ends `conflicted`, every
/// branch kept.
#[test]
fn a_branch_left_out_by_a_conflict_is_sent_back_to_rebase() {
    let env = TestEnv::new();
    let repo = env.git_repo();
    let repo_arg = repo.to_str().expect("path");
    let agents = spawn_json(
        &env,
        &repo,
        &["PUT:shared.txt=alpha first", "PUT:shared.txt=beta second"],
    );
    wait_for_agents(&env, "both done", |agents| {
        agents.len() == 2 && agents.iter().all(|a| a["state"] == "done")
    });
    let (first, second) = (id(&agents[0]), id(&agents[1]));
    let (code, run) = ctl_json_code(
        &env,
        &[
            "merge", "--repo", repo_arg, "--verify", "true", "--repair", "1",
        ],
    );
    assert_eq!(code, 1, "{run}");
    assert_eq!(run["state"], "conflicted", "{run}");
    let rounds = run["rounds"].as_array().expect("rounds");
    assert_eq!(rounds.len(), 1, "{run}");
    assert_eq!(rounds[0]["culprit_agent_id"], second.as_str());
    assert_eq!(rounds[0]["action"], "rebase_conflict");
    assert_eq!(strs(&run["merged"]), vec![first.clone()]);
    assert!(
        run["reason"].as_str().expect("reason").contains(&second),
        "{run}"
    );
    let logs = env.ctl_ok(&["logs", &second]);
    assert!(
        logs.contains("could not be merged")
            && logs.contains("shared.txt")
            && logs.contains(&first),
        "{logs}"
    );
    // Nothing lost: both branches and the integration branch stay.
    let branches = env.git(&repo, &["branch", "--list", "orchestra/*"]);
    for agent in &agents {
        let branch = agent["branch"].as_str().expect("branch");
        assert!(branches.contains(branch), "{branches}");
    }
    assert!(
        branches.contains(run["branch"].as_str().expect("branch")),
        "{branches}"
    );
}

/// `diff`: an agent's change against the commit it started from, committed and
/// uncommitted, with line numbers; an agent without a worktree and an unknown id are
/// clear errors.
#[test]
fn diff_shows_an_agents_change_with_its_lines() {
    let env = TestEnv::new();
    let repo = env.git_repo();
    let agents = spawn_json(
        &env,
        &repo,
        &[
            "PUT:notes.txt=hello add notes",
            "PUT:README.md=changed edit the readme",
        ],
    );
    wait_for_agents(&env, "both done", all_finished);
    let (notes, readme) = (id(&agents[0]), id(&agents[1]));
    let change = env.ctl_json(&["diff", &notes]);
    assert_eq!(change["agent_id"], notes.as_str());
    let files = change["files"].as_array().expect("files");
    assert_eq!(files.len(), 1, "{change}");
    assert_eq!(files[0]["path"], "notes.txt");
    assert_eq!(files[0]["status"], "added");
    assert_eq!(files[0]["additions"], 1);
    assert!(
        files[0].get("old_path").is_none(),
        "absent, not null: {change}"
    );
    let line = &files[0]["hunks"][0]["lines"][0];
    assert_eq!(
        (line["kind"].as_str(), line["text"].as_str()),
        (Some("add"), Some("hello"))
    );
    assert_eq!(line["new_line"], 1);
    assert!(line.get("old_line").is_none());
    let modified = env.ctl_json(&["diff", &readme]);
    assert_eq!(modified["files"][0]["status"], "modified", "{modified}");
    assert_eq!(modified["files"][0]["deletions"], 1);
    let stat = env.ctl_ok(&["diff", &readme, "--stat"]);
    assert!(
        stat.contains("modified") && stat.contains("README.md"),
        "{stat}"
    );
    let unified = env.ctl_ok(&["diff", &readme]);
    assert!(
        unified.contains("-# test repo") && unified.contains("+changed"),
        "{unified}"
    );

    let unknown = env.ctl(&["diff", "ffffffff"]);
    assert!(!unknown.status.success());
    let in_place = spawn_json(&env, &repo, &["--no-worktree", "say hi"]);
    wait_for_agents(&env, "all done", all_finished);
    let out = env.ctl(&["diff", &id(&in_place[0])]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && said.contains("without a worktree"),
        "{said}"
    );
}

/// Review: two line comments go back to the agent as one follow-up with their paths, lines
/// and quoted lines; a comment off the change is refused; `merge --approved-only` merges
/// the approved agent and names the other as left out.
#[test]
fn review_comments_go_back_as_one_follow_up_and_only_approved_work_is_merged() {
    let env = TestEnv::new();
    let repo = env.git_repo();
    let repo_arg = repo.to_str().expect("path");
    let agents = spawn_json(
        &env,
        &repo,
        &[
            "PUT:a.txt=alpha PUT:b.txt=beta two files",
            "PUT:c.txt=gamma one file",
        ],
    );
    wait_for_agents(&env, "both done", all_finished);
    let (first, second) = (id(&agents[0]), id(&agents[1]));

    let off = env.ctl(&["review", &first, "--comment", "a.txt:99", "no such line"]);
    assert!(!off.status.success());
    assert!(
        String::from_utf8_lossy(&off.stderr).contains("is not a line of agent"),
        "{off:?}"
    );
    let sent = env.ctl_json(&[
        "review",
        &first,
        "--comment",
        "a.txt:1",
        "say alpha louder",
        "--comment",
        "b.txt:1",
        "beta is wrong",
        "--send",
    ]);
    assert_eq!(sent["review"]["state"], "changes_requested", "{sent}");
    let comments = sent["review"]["comments"].as_array().expect("comments");
    assert_eq!(comments.len(), 2);
    assert!(comments.iter().all(|c| c["sent"] == true), "{sent}");
    wait_for_agents(&env, "the follow-up ran", |agents| {
        agents.iter().all(|a| a["state"] == "done")
            && agents
                .iter()
                .any(|a| a["id"] == first.as_str() && a["runs"].as_u64() >= Some(2))
    });
    let logs = env.ctl_ok(&["logs", &first]);
    for needle in [
        "a.txt:1",
        "> alpha",
        "say alpha louder",
        "b.txt:1",
        "> beta",
        "beta is wrong",
    ] {
        assert!(logs.contains(needle), "{needle} in {logs}");
    }

    let approved = env.ctl_json(&["review", &second, "--approve"]);
    assert_eq!(approved["review"]["state"], "approved");
    let (code, merged) = ctl_json_code(&env, &["merge", "--repo", repo_arg, "--approved-only"]);
    assert_eq!(code, 2, "a branch was left out: {merged}");
    assert_eq!(strs(&merged["merged"]), vec![second.clone()]);
    let left = &merged["skipped"][0];
    assert_eq!(left["agent_id"], first.as_str());
    assert!(
        left["reason"]
            .as_str()
            .expect("reason")
            .contains("not approved"),
        "{merged}"
    );
}
