//! Session discovery, tried on a HOME filled with the real CLI's files and the older
//! shape, through the CLI as a user runs it.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::Stdio;

use orchestra_tests::{Gate, TestEnv, bin, wait_until};
use serde_json::Value;

const REPO_DIR: &str = "-home-dev-work-repo";

/// Puts the captured sessions where the real CLI keeps them, named by their ids.
fn fixture_home() -> TestEnv {
    let env = TestEnv::new();
    for (fixture, name) in [
        (
            "claude-code/sessions/20_session_after_resume.jsonl",
            "587704ee-40b1-4f51-b3a4-25a501fcce65",
        ),
        (
            "claude-code/sessions/32_interrupted_then_resumed_session.jsonl",
            "22222222-2222-4333-8444-555555555555",
        ),
        (
            "claude-code/sessions/bash_tool_denied.jsonl",
            "1a6d9363-249d-4837-af7a-1202bf63d6e8",
        ),
        (
            "claude-code/sessions/write_tool_allowed.jsonl",
            "950f248a-5fe7-42b3-8857-c7792873b552",
        ),
    ] {
        // Recent, as a user's current work is (the older files below stay in 2025: stale).
        env.add_recent_session_fixture(fixture, REPO_DIR, &format!("{name}.jsonl"));
    }
    for (fixture, name) in [
        ("older-format/edge_cases.jsonl", "edge_cases"),
        ("older-format/representative_messages.jsonl", "test_session"),
        ("older-format/session_b.jsonl", "session_b"),
        ("older-format/todowrite_examples.jsonl", "todowrite_session"),
    ] {
        env.add_session_fixture(fixture, "-tmp", &format!("{name}.jsonl"));
    }
    env
}

fn by_id(list: &Value, id: &str) -> Value {
    list.as_array()
        .expect("a list")
        .iter()
        .find(|s| s["session_id"] == id)
        .unwrap_or_else(|| panic!("{id} not listed"))
        .clone()
}

#[test]
fn metadata_is_right_on_real_and_older_files() {
    let env = fixture_home();
    let list = env.ctl_json(&["sessions", "--all"]);
    assert_eq!(list.as_array().expect("list").len(), 8);

    let resumed = by_id(&list, "587704ee-40b1-4f51-b3a4-25a501fcce65");
    assert_eq!(
        resumed["project_path"], "/home/dev/work/repo",
        "from cwd, not the dir name"
    );
    assert_eq!(resumed["project_dir"], REPO_DIR);
    assert_eq!(resumed["git_branch"], "main");
    assert_eq!(resumed["first_prompt"], "say hi");
    assert_eq!(resumed["last_prompt"], "continue");
    assert_eq!(resumed["user_messages"], 2);
    assert_eq!(resumed["assistant_messages"], 2);
    assert_eq!(resumed["tokens"]["input"], 19150 + 19182);
    assert_eq!(resumed["tokens"]["output"], 24);
    assert_eq!(resumed["models"], serde_json::json!(["claude-opus-4-8"]));
    assert_eq!(resumed["cli_version"], "2.1.197");
    assert_eq!(resumed["skipped_lines"], 0);
    assert!(resumed["started_at_ms"].as_i64().expect("ms") > 0);

    let interrupted = by_id(&list, "22222222-2222-4333-8444-555555555555");
    assert_eq!(interrupted["first_prompt"], "SLOW:5 say hi");
    assert_eq!(interrupted["last_prompt"], "continue after kill");
    assert_eq!(
        interrupted["user_messages"], 2,
        "the isMeta continuation is not a prompt"
    );

    let denied = by_id(&list, "1a6d9363-249d-4837-af7a-1202bf63d6e8");
    assert_eq!(denied["tool_calls"]["Bash"], 1);
    assert_eq!(
        denied["user_messages"], 1,
        "the tool result is not a prompt"
    );
    let cost = denied["estimated_cost_usd"].as_f64().expect("cost");
    let expected = (19151.0 + 19277.0) * 5.0 / 1e6 + 24.0 * 25.0 / 1e6;
    assert!((cost - expected).abs() < 1e-9, "{cost} vs {expected}");
    // 2.1.197 files have no cost-state: the estimate is the cost, and says so.
    assert_eq!(denied["cost_usd"], denied["estimated_cost_usd"]);
    assert_eq!(denied["cost_is_estimate"], true);

    let written = by_id(&list, "950f248a-5fe7-42b3-8857-c7792873b552");
    assert_eq!(written["tool_calls"]["Write"], 1);

    let edge = by_id(&list, "edge_cases");
    assert_eq!(edge["skipped_lines"], 5, "malformed lines are counted");
    assert_eq!(edge["project_path"], "/tmp");
    assert!(
        edge["title"]
            .as_str()
            .expect("title")
            .starts_with("Tested various edge cases")
    );
    assert!(
        edge["first_prompt"]
            .as_str()
            .expect("prompt")
            .starts_with("Here's a message with some **markdown**")
    );
    let todo = by_id(&list, "todowrite_session");
    assert_eq!(todo["title"], "Feature Implementation with Task Management");
    assert_eq!(todo["tool_calls"]["TodoWrite"], 3);
    assert_eq!(
        todo["last_prompt"],
        "Can you add a task for security review as well?"
    );

    // Filters and prefixes.
    let repo_only = env.ctl_json(&["sessions", "--all", "--project", "work/repo"]);
    assert_eq!(repo_only.as_array().expect("list").len(), 4);
    let recent = env.ctl_json(&["sessions", "--hours", "1"]);
    assert!(
        recent
            .as_array()
            .expect("list")
            .iter()
            .all(|s| s["project_path"] != "/tmp")
    );
    let shown = env.ctl_json(&["show", "2222"]);
    assert_eq!(shown["session_id"], "22222222-2222-4333-8444-555555555555");
}

#[test]
fn show_search_export_analytics_and_health_answer_right() {
    let env = fixture_home();
    let out = env.ctl(&["show", "nope"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no session matches"));

    let hits = env.ctl_json(&["search", "DECORATORS"]);
    let hits = hits.as_array().expect("hits");
    assert!(!hits.is_empty());
    assert!(hits.iter().all(|h| h["session_id"] == "test_session"));
    assert!(hits.iter().any(|h| h["role"] == "user"));
    assert!(
        hits[0]["snippet"]
            .as_str()
            .expect("snippet")
            .to_lowercase()
            .contains("decorators")
    );
    let unicode = env.ctl_json(&["search", "RÉSUMÉ"]);
    assert_eq!(
        unicode[0]["session_id"], "edge_cases",
        "case folding beyond ASCII"
    );

    let md_path = env.root.path().join("out.md");
    env.ctl_ok(&["export", "950f", "-o", md_path.to_str().expect("path")]);
    let md = std::fs::read_to_string(&md_path).expect("markdown");
    assert!(md.contains("## User"));
    assert!(md.contains("TOOL_WRITE"));
    assert!(md.contains("tool call: `Write"));
    let last = env.ctl_ok(&["export", "--last"]);
    assert!(last.starts_with("# "));

    let analytics = env.ctl_json(&["analytics"]);
    let total = &analytics["total"];
    assert_eq!(total["sessions"], 8);
    let repo = analytics["projects"]
        .as_array()
        .expect("projects")
        .iter()
        .find(|p| p["key"] == "/home/dev/work/repo")
        .expect("repo project");
    assert_eq!(repo["sessions"], 4);
    assert!(analytics["days"].as_array().expect("days").len() >= 2);

    let health = env.ctl_json(&["health"]);
    assert_eq!(health["sessions"], 8);
    assert_eq!(health["skipped_lines"], 5);
    assert_eq!(health["parse_errors"][0]["session_id"], "edge_cases");
    assert_eq!(health["stale_sessions"], 4, "the 2025 files");
    let orphaned: Vec<&str> = health["orphaned"]
        .as_array()
        .expect("orphaned")
        .iter()
        .map(|e| e["project_path"].as_str().expect("path"))
        .collect();
    assert!(
        orphaned.iter().all(|p| *p == "/home/dev/work/repo"),
        "{orphaned:?}"
    );
    assert_eq!(health["watcher"], "notify");
}

/// A `watch --json` child whose stdout lines can be awaited.
struct Watch {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<Value>,
}

impl Watch {
    fn start(env: &TestEnv) -> Watch {
        // Make sure the daemon is up and indexed before watching.
        env.ctl_ok(&["daemon", "status"]);
        let mut child = env
            .command(bin("orchestractl"))
            .args(["watch", "--json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("watch");
        // The subscription exists once the command says it is watching.
        let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
        let mut said = String::new();
        stderr
            .read_line(&mut said)
            .expect("watch says it is watching");
        assert!(said.contains("watching sessions"), "{said}");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(value) = serde_json::from_str(&line) {
                    let _ = tx.send(value);
                }
            }
        });
        Watch { child, lines }
    }

    fn next_matching(&self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = std::time::Instant::now() + orchestra_tests::DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(event) if pred(&event) => return event,
                Ok(_) => {}
                Err(_) => panic!("no watch event for {what}"),
            }
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn append(path: &PathBuf, text: &[u8]) {
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .expect("open");
    file.write_all(text).expect("append");
}

#[test]
fn appended_lines_reach_watch_and_bad_input_never_stops_the_index() {
    let env = fixture_home();
    let watch = Watch::start(&env);
    let dir = env.projects_dir().join("-work-live");
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("live-session.jsonl");
    let user = |text: &str| {
        format!(
            r#"{{"type":"user","cwd":"/work/live","message":{{"role":"user","content":"{text}"}},"timestamp":"2026-11-21T10:00:00Z"}}"#
        ) + "\n"
    };

    // A new directory and file: created event (the directory is scanned on creation).
    append(&file, user("first").as_bytes());
    let created = watch.next_matching("created", |e| {
        e["kind"] == "created" && e["session"]["session_id"] == "live-session"
    });
    assert_eq!(created["session"]["first_prompt"], "first");
    assert!(created["seq"].as_u64().expect("seq") > 0);

    // A malformed line, a line with invalid UTF-8, then a half-written line.
    append(&file, b"{not json\n");
    append(
        &file,
        b"{\"type\":\"user\",\"message\":{\"content\":\"\xff\xfe\"}}\n",
    );
    let half = user("second");
    let (head, tail) = half.split_at(30);
    append(&file, head.as_bytes());
    watch.next_matching("bad lines counted", |e| {
        e["session"]["session_id"] == "live-session" && e["session"]["skipped_lines"] == 2
    });
    // The half line completes: it is read then, not before.
    append(&file, tail.as_bytes());
    let updated = watch.next_matching("completed line", |e| {
        e["session"]["last_prompt"] == "second"
    });
    assert_eq!(updated["kind"], "updated");
    assert_eq!(updated["session"]["user_messages"], 2);

    // A 100 MB line is skipped without holding it, then indexing goes on.
    {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&file)
            .expect("open");
        let chunk = vec![b'x'; 1024 * 1024];
        f.write_all(b"{\"type\":\"user\",\"big\":\"")
            .expect("write");
        for _ in 0..100 {
            f.write_all(&chunk).expect("write");
        }
        f.write_all(b"\"}\n").expect("write");
    }
    append(&file, user("third").as_bytes());
    let after_big = watch.next_matching("line after the big one", |e| {
        e["session"]["last_prompt"] == "third"
    });
    assert_eq!(after_big["session"]["skipped_lines"], 3);

    // Truncated and rewritten: indexed again from the start.
    std::fs::write(&file, user("rewritten")).expect("truncate");
    let rewritten = watch.next_matching("truncation", |e| {
        e["session"]["first_prompt"] == "rewritten"
    });
    assert_eq!(rewritten["session"]["user_messages"], 1);
    assert_eq!(rewritten["session"]["skipped_lines"], 0);

    // Deleted: removed event.
    std::fs::remove_file(&file).expect("delete");
    watch.next_matching("removal", |e| {
        e["kind"] == "removed" && e["session"]["session_id"] == "live-session"
    });

    // An unreadable directory does not stop anything (as root it is still readable).
    let locked = env.projects_dir().join("-locked");
    std::fs::create_dir_all(&locked).expect("dir");
    std::fs::set_permissions(&locked, std::os::unix::fs::PermissionsExt::from_mode(0o000))
        .expect("chmod");

    // The daemon kept serving throughout, with the right counts.
    let list = env.ctl_json(&["sessions", "--all"]);
    assert_eq!(list.as_array().expect("list").len(), 8);
    let status = env.ctl_json(&["daemon", "status"]);
    assert_eq!(status["sessions_indexed"], 8);
}

#[test]
fn a_running_claude_shows_as_live_then_ended() {
    let env = TestEnv::new();
    let watch = Watch::start(&env);
    let project = env.root.path().join("proj");
    std::fs::create_dir_all(&project).expect("dir");
    // Never opened: the turn runs until the test kills it.
    let prompt = Gate::new(&env, "never").task("hello");
    let mut claude = env
        .command(bin("fake-claude"))
        .args(["-p", "--output-format", "stream-json", "--verbose", &prompt])
        .current_dir(&project)
        .stdout(Stdio::null())
        .spawn()
        .expect("fake-claude");
    // The registration can be seen before the first line is indexed: wait for both.
    let live = watch.next_matching("live with its prompt", |e| {
        e["session"]["live"] == true && e["session"]["first_prompt"] == prompt.as_str()
    });
    assert_eq!(live["session"]["live_pid"], claude.id());
    assert_eq!(live["session"]["first_prompt"], prompt.as_str());
    let listed = env.ctl_json(&["sessions", "--live"]);
    assert_eq!(listed.as_array().expect("list").len(), 1);

    // SIGKILL leaves the registration file behind; the pid check still sees it end.
    claude.kill().expect("kill");
    claude.wait().expect("wait");
    let ended = watch.next_matching("ended", |e| e["kind"] == "ended");
    assert_eq!(ended["session"]["live"], false);
    wait_until("no live sessions", || {
        env.ctl_json(&["sessions", "--live"])
            .as_array()
            .is_some_and(Vec::is_empty)
    });
}

#[test]
fn index_persists_and_a_restart_rereads_only_what_changed() {
    let env = fixture_home();
    let first = env.ctl_json(&["sessions", "--all"]);
    env.ctl_ok(&["daemon", "stop"]);
    // While the daemon is down, one file grows.
    let path = env
        .projects_dir()
        .join(REPO_DIR)
        .join("950f248a-5fe7-42b3-8857-c7792873b552.jsonl");
    let added: &[u8] = br#"{"type":"user","cwd":"/home/dev/work/repo","message":{"role":"user","content":"added while down"}}"#;
    append(&path, added);
    append(&path, b"\n");
    let second = env.ctl_json(&["sessions", "--all"]);
    // The restarted daemon's first scan saw every file but read only the appended line.
    let status = env.ctl_json(&["daemon", "status"]);
    let scan = &status["first_scan"];
    assert_eq!(scan["done"], true, "{status}");
    assert_eq!(
        scan["files"],
        first.as_array().map_or(0, Vec::len),
        "{scan}"
    );
    assert_eq!(scan["files_read"], 1, "only the grown file: {scan}");
    assert_eq!(
        scan["bytes_read"],
        added.len() + 1,
        "only its appended bytes: {scan}"
    );
    assert_eq!(
        first.as_array().map(Vec::len),
        second.as_array().map(Vec::len)
    );
    let grown = by_id(&second, "950f248a-5fe7-42b3-8857-c7792873b552");
    assert_eq!(grown["last_prompt"], "added while down");
    assert_eq!(grown["user_messages"], 2);
    let same = by_id(&second, "edge_cases");
    assert_eq!(
        same,
        by_id(&first, "edge_cases"),
        "unchanged files keep their metadata"
    );
}

/// A project directory moved into the projects dir (a restore from a backup, a sync from
/// another machine) brings its sessions without a single file event: it used to wait for
/// the five-minute safety rescan.
#[test]
fn a_project_directory_moved_in_is_indexed_at_once() {
    let env = TestEnv::new();
    env.add_session_fixture(
        "claude-code/sessions/write_tool_allowed.jsonl",
        REPO_DIR,
        "950f248a-5fe7-42b3-8857-c7792873b552.jsonl",
    );
    assert_eq!(
        env.ctl_json(&["sessions", "--all"])
            .as_array()
            .expect("list")
            .len(),
        1
    );
    let outside = env.root.path().join("backup").join("-home-dev-restored");
    std::fs::create_dir_all(&outside).expect("dir");
    std::fs::copy(
        orchestra_tests::fixtures().join("claude-code/sessions/bash_tool_denied.jsonl"),
        outside.join("1a6d9363-249d-4837-af7a-1202bf63d6e8.jsonl"),
    )
    .expect("copy");
    std::fs::rename(&outside, env.projects_dir().join("-home-dev-restored")).expect("move in");
    wait_until("the moved-in session is listed", || {
        env.ctl_json(&["sessions", "--all"])
            .as_array()
            .is_some_and(|list| {
                list.iter()
                    .any(|s| s["session_id"] == "1a6d9363-249d-4837-af7a-1202bf63d6e8")
            })
    });
}

/// A big scan and the events of a growing file read the same file from two threads at
/// once: one reads while the other leaves a note, so the session is created once and never
/// seen going backwards (two readers used to publish it twice and overwrite a newer entry
/// with an older one), and every appended prompt is counted in the end.
#[test]
fn a_file_read_from_two_threads_at_once_moves_only_forward() {
    let dir = tempfile::tempdir().expect("dir");
    let projects = dir.path().join("projects");
    let file = projects.join("-w").join("s.jsonl");
    std::fs::create_dir_all(file.parent().expect("parent")).expect("dir");
    let store = orchestrad::store::Store::open(&dir.path().join("store")).expect("store");
    let bus = orchestrad::events::Bus::new();
    let mut events = bus.subscribe();
    let index = orchestrad::sessions::SessionIndex::load(projects, &store, bus).expect("index");
    const PROMPTS: usize = 400;
    let prompt = |i: usize| {
        format!(
            r#"{{"type":"user","cwd":"/w","message":{{"role":"user","content":"prompt {i}"}}}}"#
        )
    };
    std::fs::write(&file, prompt(0) + "\n").expect("file");
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    index.refresh_file(&file);
                }
            });
        }
        let mut out = std::fs::OpenOptions::new()
            .append(true)
            .open(&file)
            .expect("open");
        for i in 1..PROMPTS {
            writeln!(out, "{}", prompt(i)).expect("append");
        }
        done.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    index.refresh_file(&file);
    let mut created = 0;
    let mut seen = 0;
    while let Ok(change) = events.try_recv() {
        let change = change.event;
        if change.kind == orchestrad::sessions::index::ChangeKind::Created {
            created += 1;
        }
        assert!(
            change.session.user_messages >= seen,
            "went back from {seen} to {} prompts",
            change.session.user_messages
        );
        seen = change.session.user_messages;
    }
    assert_eq!(created, 1);
    assert_eq!(seen, PROMPTS as u64);
}
