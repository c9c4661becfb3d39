//! `orchestra-bench`: the benchmarks behind BENCHMARKS.md.
//!
//! Run with `cargo run --release -p orchestra-tests --bin orchestra-bench -- <scenario>`:
//! - `index [MB]`: cold index of ~1 GB (or MB) of generated sessions of each shape
//!   (2.1.197, 2.1.330) on every core: MB/s, cores used, peak RSS, and ccusage on the
//!   same files when it is installed;
//! - `scan DIR`: a cold index of an existing projects dir (your own `~/.claude/projects`,
//!   or one `generate` wrote), read-only, into a throwaway store;
//! - `search [MB]`: `Search` over ~1 GB of 2.1.330 sessions, in MB/s;
//! - `list`: end-to-end `orchestractl sessions --all --json` with 10,000 sessions indexed,
//!   and the daemon's RSS then;
//! - `fresh [MB]`: `orchestractl sessions --all --json` with no daemon running (it starts
//!   one, which indexes cold) over ~2 GB of 2.1.330 sessions, then the daemon's RSS;
//! - `watch`: latency from appending a line to a session file to its `Watch` event;
//! - `watch-index [MB]`: the same while the daemon indexes ~1 GB of 2.1.330 sessions that
//!   arrive at once (a project directory moved into `~/.claude/projects`);
//! - `spawn`: `spawn` of 5 tasks to 5 agents running, in a repo of 2,000 files, beside
//!   5 x `git worktree add`;
//! - `chatty`: daemon CPU and RSS while 50 chatty agents run;
//! - `approvals`: latency from an agent's permission request leaving Claude Code to the
//!   approval showing in `orchestractl approvals --watch --json`;
//! - `bisect`: a verified merge of 8 branches with one culprit: the verifications it
//!   takes and the time.
//! - `hosts`: an approval on a second daemon (another HOME, reached through the
//!   `--command` pipe to its `orchestractl proxy`) until it shows in the first one's merged
//!   `approvals --hosts all --json` and on its dashboard; then `status --hosts` with 0, 1,
//!   2 and 5 other hosts.
//!
//! Each prints its figures; nothing here asserts a target (benchmarks measure, tests test).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use orchestra_tests::{TestEnv, bin, generate};
use tokio_stream::StreamExt;

fn main() -> anyhow::Result<()> {
    let scenario = std::env::args().nth(1).unwrap_or_default();
    match scenario.as_str() {
        "index" => index(),
        "search" => search(),
        "list" => list(),
        "fresh" => fresh(),
        "scan" => scan(),
        "parse" => parse(),
        "watch" => watch(),
        "watch-index" => watch_during_index(),
        "spawn" => spawn(),
        "chatty" => chatty(),
        "approvals" => approvals(),
        "bisect" => bisect(),
        "hosts" => hosts(),
        "store-memory" => {
            // Where a warm start's memory goes: the store alone, then the loaded index.
            let dir = std::env::args().nth(2).unwrap_or_default();
            let me = std::process::id();
            println!("start: {} KB", rss_kb(me));
            let store = orchestrad::store::Store::open(Path::new(&dir))?;
            println!("store opened: {} KB", rss_kb(me));
            let all = store.table("sessions")?.all::<serde_json::Value>()?;
            println!(
                "{} records read as JSON values: {} KB",
                all.len(),
                rss_kb(me)
            );
            drop(all);
            orchestrad::memory::trim();
            println!("after dropping them: {} KB", rss_kb(me));
            let index = orchestrad::sessions::SessionIndex::load(
                std::path::PathBuf::from("/nonexistent"),
                &store,
                orchestrad::events::Bus::new(),
            )?;
            drop(index);
            let index = orchestrad::sessions::SessionIndex::load(
                std::path::PathBuf::from("/"),
                &store,
                orchestrad::events::Bus::new(),
            )?;
            orchestrad::memory::trim();
            println!(
                "index loaded ({} sessions): {} KB",
                index.counts().0,
                rss_kb(me)
            );
            Ok(())
        }
        "generate" => {
            // orchestra-bench generate <projects-dir> <sessions> <average bytes> [2.1.330]
            let args: Vec<String> = std::env::args().skip(2).collect();
            let (dir, count, avg, shape) = match args.as_slice() {
                [dir, count, avg] => (dir, count, avg, "2.1.197"),
                [dir, count, avg, shape] => (dir, count, avg, shape.as_str()),
                _ => anyhow::bail!(
                    "usage: orchestra-bench generate <projects-dir> <sessions> <average-bytes> [2.1.330]"
                ),
            };
            let (dir, count, avg) = (Path::new(dir), count.parse()?, avg.parse()?);
            let bytes = if shape == "2.1.330" {
                generate::write_projects_2_1_330(dir, count, avg, 100, 1)?
            } else {
                generate::write_projects(dir, count, avg, 100, 1)?
            };
            println!(
                "wrote {count} sessions, {} MB, to {}",
                bytes / 1_000_000,
                dir.display()
            );
            Ok(())
        }
        _ => {
            eprintln!(
                "usage: orchestra-bench index|search|list|fresh|scan|parse|watch|watch-index|spawn|chatty|approvals|bisect|generate|store-memory (BENCHMARKS.md says what each measures)"
            );
            std::process::exit(2);
        }
    }
}

fn rss_kb(pid: u32) -> u64 {
    orchestra_proto::process::memory_kb(pid, "VmRSS").unwrap_or(0)
}

/// The RSS of `pid` once it stops falling: the daemon gives freed memory back a moment
/// after big work (the first scan's flush, a big answer sent), and idles like that for days.
/// Sampled every 100 ms until two seconds pass without a new low.
fn settled_rss_kb(pid: u32) -> u64 {
    let mut low = rss_kb(pid);
    let mut since = Instant::now();
    while since.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(100));
        let now = rss_kb(pid);
        if now < low {
            low = now;
            since = Instant::now();
        }
    }
    low
}

/// utime + stime of `pid`, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    orchestra_proto::process::stat(pid).map_or(0, |stat| stat.cpu_ticks)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn index() -> anyhow::Result<()> {
    // orchestra-bench index [MB per shape]
    let mb: usize = match std::env::args().nth(2) {
        Some(arg) => arg.parse()?,
        None => 1000,
    };
    for shape in ["2.1.197", "2.1.330"] {
        index_shape(shape, mb)?;
    }
    Ok(())
}

/// Cold index of about `mb` MB of sessions of `shape`, then ccusage on the same files.
fn index_shape(shape: &str, mb: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let projects = dir.path().join("projects");
    let started = Instant::now();
    let bytes = if shape == "2.1.330" {
        // 2.1.330 files are larger per turn: fewer, bigger sessions for the same bytes.
        generate::write_projects_2_1_330(&projects, mb, 1_000_000, 40, 7)?
    } else {
        generate::write_projects(&projects, mb * 2, 500_000, 40, 7)?
    };
    eprintln!(
        "[{shape}] generated {} MB in {:.1}s",
        bytes / 1_000_000,
        started.elapsed().as_secs_f64()
    );
    warm_page_cache(&projects);
    let me = std::process::id();
    reset_peak_rss();
    let store = orchestrad::store::Store::open(&dir.path().join("store"))?;
    let (index, stats, secs, cores) = cold_index(&projects, &store)?;
    let ours = stats.bytes_read as f64 / 1e6 / secs;
    println!(
        "[{shape}] cold index: {} sessions, {:.0} MB in {:.2}s = {ours:.0} MB/s, {cores:.1} cores used, peak RSS {:.0} MB",
        stats.files,
        stats.bytes_read as f64 / 1e6,
        secs,
        peak_rss_kb(me) as f64 / 1024.0
    );
    let started = Instant::now();
    let warm = index.scan();
    println!(
        "[{shape}] warm rescan (nothing changed): {} sessions checked in {:.0} ms, {} bytes read",
        warm.files,
        started.elapsed().as_secs_f64() * 1000.0,
        warm.bytes_read
    );
    match ccusage(dir.path()) {
        Some(secs) => {
            let theirs = stats.bytes_read as f64 / 1e6 / secs;
            println!(
                "[{shape}] ccusage claude session --json --offline on the same files: {secs:.2}s = {theirs:.0} MB/s; ours / ccusage = {:.2}x",
                ours / theirs
            );
        }
        None => println!("[{shape}] ccusage not installed (npm install -g ccusage): no comparison"),
    }
    Ok(())
}

/// Seconds ccusage takes to read the sessions under `config_dir/projects`, or `None` when
/// it is not installed or fails.
fn ccusage(config_dir: &Path) -> Option<f64> {
    let started = Instant::now();
    let out = Command::new("ccusage")
        .args(["claude", "session", "--json", "--offline"])
        .env("CLAUDE_CONFIG_DIR", config_dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok()?;
    let secs = started.elapsed().as_secs_f64();
    out.success().then_some(secs)
}

/// `orchestra-bench scan DIR`: cold index of the sessions already in DIR, three times, each
/// into a fresh store, page cache warm.
fn scan() -> anyhow::Result<()> {
    let projects = projects_arg("scan")?;
    warm_page_cache(&projects);
    for _ in 0..3 {
        let dir = tempfile::tempdir()?;
        let store = orchestrad::store::Store::open(&dir.path().join("store"))?;
        let (_, stats, secs, cores) = cold_index(&projects, &store)?;
        println!(
            "cold index: {} sessions, {:.0} MB in {secs:.2}s = {:.0} MB/s, {cores:.1} cores used",
            stats.files,
            stats.bytes_read as f64 / 1e6,
            stats.bytes_read as f64 / 1e6 / secs,
        );
    }
    Ok(())
}

/// The projects directory named after `scenario`: one that holds session files, or an
/// error that says what to pass (an empty or mistyped directory would time nothing).
fn projects_arg(scenario: &str) -> anyhow::Result<std::path::PathBuf> {
    let Some(dir) = std::env::args().nth(2) else {
        anyhow::bail!(
            "usage: orchestra-bench {scenario} <projects-dir> (e.g. ~/.claude/projects, or one \
             written by `orchestra-bench generate`)"
        );
    };
    let dir = std::path::PathBuf::from(dir);
    let sessions = walk(&dir)
        .iter()
        .filter(|path| path.extension().is_some_and(|e| e == "jsonl"))
        .count();
    if sessions == 0 {
        anyhow::bail!(
            "{}: no session files (*.jsonl) there; pass a Claude Code projects directory",
            dir.display()
        );
    }
    Ok(dir)
}

/// `orchestra-bench parse DIR`: the parsing alone, on one thread, no I/O: every line of
/// the files in DIR (held in memory) applied to its session's metadata, five times. To
/// compare changes to the parser without the page cache's noise.
fn parse() -> anyhow::Result<()> {
    let projects = projects_arg("parse")?;
    let files: Vec<Vec<u8>> = walk(&projects)
        .into_iter()
        .filter(|path| path.extension().is_some_and(|e| e == "jsonl"))
        .map(std::fs::read)
        .collect::<Result<_, _>>()?;
    let bytes: usize = files.iter().map(Vec::len).sum();
    for _ in 0..5 {
        let started = Instant::now();
        let mut skipped = 0u64;
        for file in &files {
            let mut entry = orchestrad::sessions::meta::Entry::default();
            let mut start = 0;
            for end in memchr::memchr_iter(b'\n', file) {
                let line = &file[start..end];
                skipped +=
                    u64::from(orchestrad::sessions::parse::apply_line(&mut entry, line).is_err());
                start = end + 1;
            }
            std::hint::black_box(&entry);
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "parse: {} files, {:.0} MB in {secs:.3}s = {:.0} MB/s on one thread ({skipped} lines skipped)",
            files.len(),
            bytes as f64 / 1e6,
            bytes as f64 / 1e6 / secs
        );
    }
    Ok(())
}

/// A cold index of `projects` into `store`: the index, how it went, the seconds it took
/// and the cores it used (CPU time over wall time).
fn cold_index(
    projects: &Path,
    store: &orchestrad::store::Store,
) -> anyhow::Result<(
    orchestrad::sessions::SessionIndex,
    orchestrad::sessions::index::ScanStats,
    f64,
    f64,
)> {
    let index = orchestrad::sessions::SessionIndex::load(
        projects.to_path_buf(),
        store,
        orchestrad::events::Bus::new(),
    )?;
    let me = std::process::id();
    let ticks = cpu_ticks(me);
    let started = Instant::now();
    let stats = index.scan();
    let secs = started.elapsed().as_secs_f64();
    let cores = (cpu_ticks(me) - ticks) as f64 / 100.0 / secs;
    Ok((index, stats, secs, cores))
}

/// Reads every file once through a small buffer, so figures are parsing speed, not disk
/// speed, and the warming does not count in the peak RSS.
fn warm_page_cache(dir: &Path) {
    use std::io::Read;
    let mut buffer = vec![0u8; 1 << 20];
    for path in walk(dir) {
        if let Ok(mut file) = std::fs::File::open(path) {
            while file.read(&mut buffer).is_ok_and(|n| n > 0) {}
        }
    }
}

/// Resets the process's peak RSS (`VmHWM`), so it measures what follows.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn peak_rss_kb(pid: u32) -> u64 {
    orchestra_proto::process::memory_kb(pid, "VmHWM").unwrap_or(0)
}

/// `orchestra-bench search [MB]`: a search over ~1 GB of 2.1.330 sessions for a word in
/// every file (the worst case: every file is read as a conversation) and for one in none.
fn search() -> anyhow::Result<()> {
    let mb: usize = match std::env::args().nth(2) {
        Some(arg) => arg.parse()?,
        None => 1000,
    };
    let dir = tempfile::tempdir()?;
    let projects = dir.path().join("projects");
    let bytes = generate::write_projects_2_1_330(&projects, mb, 1_000_000, 40, 9)?;
    warm_page_cache(&projects);
    let store = orchestrad::store::Store::open(&dir.path().join("store"))?;
    let index = orchestrad::sessions::SessionIndex::load(
        projects.clone(),
        &store,
        orchestrad::events::Bus::new(),
    )?;
    index.scan();
    let sessions = index.all();
    let me = std::process::id();
    for (what, query) in [("in no file", "zebra-unicorn"), ("in every file", "parser")] {
        reset_peak_rss();
        let ticks = cpu_ticks(me);
        let started = Instant::now();
        let progress = orchestrad::sessions::search::Progress::default();
        let (hits, searched) =
            orchestrad::sessions::search::search(&sessions, query, usize::MAX, &progress);
        let secs = started.elapsed().as_secs_f64();
        println!(
            "search {query:?} ({what}): {} hits in {searched} sessions, {:.0} MB in {secs:.2}s = {:.0} MB/s, {:.1} cores used, peak RSS {:.0} MB",
            hits.len(),
            bytes as f64 / 1e6,
            bytes as f64 / 1e6 / secs,
            (cpu_ticks(me) - ticks) as f64 / 100.0 / secs,
            peak_rss_kb(me) as f64 / 1024.0
        );
    }
    Ok(())
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// `orchestra-bench fresh [MB]`: the first `sessions` a user runs, the daemon not running,
/// over ~2 GB of 2.1.330 sessions: start, cold index and the full answer, whole process.
fn fresh() -> anyhow::Result<()> {
    let mb: usize = match std::env::args().nth(2) {
        Some(arg) => arg.parse()?,
        None => 2000,
    };
    let env = TestEnv::new();
    let bytes = generate::write_projects_2_1_330(&env.projects_dir(), mb, 1_000_000, 40, 13)?;
    warm_page_cache(&env.projects_dir());
    let started = Instant::now();
    let out = env
        .command(bin("orchestractl"))
        .args(["sessions", "--all", "--json"])
        .stdout(Stdio::piped())
        .output()?;
    let secs = started.elapsed().as_secs_f64();
    anyhow::ensure!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed = serde_json::from_slice::<serde_json::Value>(&out.stdout)?
        .as_array()
        .map_or(0, Vec::len);
    println!(
        "orchestractl sessions --all --json, no daemon running, {listed} sessions / {} MB of 2.1.330 sessions: {secs:.2}s (daemon start + cold index + answer)",
        bytes / 1_000_000
    );
    let status = env.ctl_json(&["daemon", "status"]);
    println!(
        "daemon RSS then: {:.1} MB",
        rss_kb(status["pid"].as_u64().unwrap_or(0) as u32) as f64 / 1024.0
    );
    env.ctl_ok(&["daemon", "stop"]);
    Ok(())
}

/// `orchestra-bench list [2.1.330]`: 10,000 sessions, of the 2.1.197 shape by default
/// (~20 KB each) or of the 2.1.330 shape (~100 KB each: its lines are bigger).
fn list() -> anyhow::Result<()> {
    let env = TestEnv::new();
    let shape = std::env::args()
        .nth(2)
        .unwrap_or_else(|| "2.1.197".to_owned());
    let bytes = if shape == "2.1.330" {
        generate::write_projects_2_1_330(&env.projects_dir(), 10_000, 100_000, 100, 11)?
    } else {
        generate::write_projects(&env.projects_dir(), 10_000, 20_000, 100, 11)?
    };
    eprintln!(
        "generated 10,000 sessions of the {shape} shape, {} MB",
        bytes / 1_000_000
    );
    let started = Instant::now();
    let status = env.ctl_json(&["daemon", "status"]);
    let pid = status["pid"].as_u64().unwrap_or(0) as u32;
    env.ctl_json(&["sessions", "--limit", "1"]);
    println!(
        "daemon start + cold index of 10,000 sessions: {:.2}s",
        started.elapsed().as_secs_f64()
    );
    let mut times = Vec::new();
    for _ in 0..30 {
        let started = Instant::now();
        let out = env
            .command(bin("orchestractl"))
            .args(["sessions", "--all", "--json"])
            .stdout(Stdio::piped())
            .output()?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    times.sort_by(f64::total_cmp);
    println!(
        "orchestractl sessions --all --json (10,000 sessions): median {:.1} ms, p95 {:.1} ms (30 runs, whole process)",
        percentile(&times, 0.5),
        percentile(&times, 0.95)
    );
    let mut recent = Vec::new();
    for _ in 0..30 {
        let started = Instant::now();
        env.command(bin("orchestractl"))
            .args(["sessions", "--json"])
            .stdout(Stdio::null())
            .status()?;
        recent.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    recent.sort_by(f64::total_cmp);
    println!(
        "orchestractl sessions --json (default 24 h filter): median {:.1} ms",
        percentile(&recent, 0.5)
    );
    println!(
        "daemon RSS with 10,000 sessions indexed, right after the listings: {:.1} MB, settled: {:.1} MB",
        rss_kb(pid) as f64 / 1024.0,
        settled_rss_kb(pid) as f64 / 1024.0
    );
    env.ctl_ok(&["daemon", "stop"]);
    let started = Instant::now();
    env.ctl_json(&["sessions", "--limit", "1"]);
    println!(
        "daemon restart + warm index (nothing changed): {:.2}s",
        started.elapsed().as_secs_f64()
    );
    let status = env.ctl_json(&["daemon", "status"]);
    println!(
        "daemon RSS after a warm start, settled: {:.1} MB",
        settled_rss_kb(status["pid"].as_u64().unwrap_or(0) as u32) as f64 / 1024.0
    );
    Ok(())
}

/// `orchestra-bench watch`: append -> `Watch` latency, 300 appends.
fn watch() -> anyhow::Result<()> {
    watch_latency(None)
}

/// `orchestra-bench watch-index [MB]`: append -> `Watch` latency while the running daemon
/// indexes ~1 GB of 2.1.330 sessions that appear at once: a project directory written
/// beside `~/.claude/projects` and moved in, as a restore or a sync would.
fn watch_during_index() -> anyhow::Result<()> {
    let mb: usize = match std::env::args().nth(2) {
        Some(arg) => arg.parse()?,
        None => 1000,
    };
    watch_latency(Some(mb))
}

/// Appends prompts to a watched session file and times each to its `Watch` event: 300
/// of them, or, with `bulk_mb`, 50 before `bulk_mb` MB of sessions are moved in and as
/// many as fit while they are indexed.
fn watch_latency(bulk_mb: Option<usize>) -> anyhow::Result<()> {
    let env = TestEnv::new();
    generate::write_projects(&env.projects_dir(), 200, 50_000, 10, 3)?;
    // A name no generated project has.
    let bulk_name = "-home-dev-restored-from-backup";
    let bulk = match bulk_mb {
        Some(mb) => {
            let staging = env.root.path().join("staging");
            let bytes = generate::write_projects_2_1_330(&staging, mb, 1_000_000, 1, 5)?;
            let dir = std::fs::read_dir(&staging)?
                .next()
                .ok_or_else(|| anyhow::anyhow!("nothing generated"))??
                .path();
            let sessions = std::fs::read_dir(&dir)?.count();
            warm_page_cache(&staging);
            Some((dir, sessions, bytes))
        }
        None => None,
    };
    env.ctl_json(&["daemon", "status"]);
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let channel = orchestra_proto::connect(&env.socket).await?;
        let mut client = orchestra_proto::v1::sessions_client::SessionsClient::new(channel);
        let mut events = client
            .watch(orchestra_proto::v1::WatchSessionsRequest { snapshot: false })
            .await?
            .into_inner();
        let file = env.projects_dir().join("-bench").join("watched.jsonl");
        std::fs::create_dir_all(file.parent().expect("dir"))?;
        std::fs::write(&file, "")?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mut moved_at = None;
        let mut indexed = 0usize;
        let mut index_secs = 0.0;
        let mut before = Vec::new();
        let mut during = Vec::new();
        for i in 0.. {
            match &bulk {
                None if i == 300 => break,
                Some((dir, _, _)) if i == 50 => {
                    std::fs::rename(dir, env.projects_dir().join(bulk_name))?;
                    moved_at = Some(Instant::now());
                }
                _ => {}
            }
            let line = format!(
                "{{\"type\":\"user\",\"cwd\":\"/w\",\"message\":{{\"role\":\"user\",\"content\":\"prompt {i}\"}}}}\n"
            );
            let started = Instant::now();
            {
                use std::io::Write;
                let mut f = std::fs::OpenOptions::new().append(true).open(&file)?;
                f.write_all(line.as_bytes())?;
            }
            loop {
                let event = tokio::time::timeout(Duration::from_secs(30), events.next())
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("watch ended"))??;
                let Some(session) = event.session else { continue };
                if session.last_prompt == format!("prompt {i}") {
                    break;
                }
                if event.kind == "created" && session.file_path.contains(bulk_name) {
                    indexed += 1;
                    if bulk.as_ref().is_some_and(|(_, n, _)| indexed == *n) {
                        index_secs = moved_at.map_or(0.0, |t| t.elapsed().as_secs_f64());
                    }
                }
            }
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            match &bulk {
                _ if moved_at.is_none() => before.push(ms),
                Some((_, n, _)) if indexed < *n => during.push(ms),
                _ => break,
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let report = |what: &str, list: &mut Vec<f64>| {
            list.sort_by(f64::total_cmp);
            match list.last() {
                Some(max) => println!(
                    "append -> Watch event{what} ({} appends): p50 {:.1} ms, p99 {:.1} ms, max {max:.1} ms",
                    list.len(),
                    percentile(list, 0.5),
                    percentile(list, 0.99)
                ),
                None => println!("no append fell{what} (too short): try a bigger MB"),
            }
        };
        if let Some((_, sessions, bytes)) = &bulk {
            println!(
                "cold index of {sessions} sessions, {} MB, moved into the projects dir: {index_secs:.2}s = {:.0} MB/s",
                bytes / 1_000_000,
                *bytes as f64 / 1e6 / index_secs.max(1e-9)
            );
            report(" before it", &mut before);
            report(" during it", &mut during);
        } else {
            report("", &mut before);
        }
        anyhow::Ok(())
    })?;
    env.ctl_ok(&["daemon", "stop"]);
    Ok(())
}

fn repo_with_files(env: &TestEnv, files: usize) -> std::path::PathBuf {
    let repo = env.git_repo();
    for i in 0..files {
        let dir = repo.join(format!("src/m{}", i % 50));
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(
            dir.join(format!("f{i}.rs")),
            format!("// file {i}\npub fn f{i}() {{}}\n"),
        )
        .expect("write");
    }
    env.git(&repo, &["add", "."]);
    env.git(&repo, &["commit", "-q", "-m", "files"]);
    repo
}

fn spawn() -> anyhow::Result<()> {
    let env = TestEnv::new();
    let repo = repo_with_files(&env, 2000);
    // The floor: what git itself needs for five worktrees.
    let started = Instant::now();
    for i in 0..5 {
        let status = Command::new("git")
            .args([
                "worktree",
                "add",
                "-q",
                "-b",
                &format!("floor-{i}"),
                &format!(".floor/{i}"),
            ])
            .current_dir(&repo)
            .status()?;
        assert!(status.success());
    }
    let floor = started.elapsed().as_secs_f64();
    env.ctl_json(&["daemon", "status"]);
    let started = Instant::now();
    // Held open until stopped: the measure is how fast they start.
    let gate = orchestra_tests::Gate::new(&env, "never");
    let tasks: Vec<String> = (0..5).map(|i| gate.task(&format!("task {i}"))).collect();
    let mut args = vec![
        "spawn",
        "--parallel",
        "5",
        "--repo",
        repo.to_str().expect("path"),
    ];
    args.extend(tasks.iter().map(String::as_str));
    env.ctl_json(&args);
    orchestra_tests::wait_for_agents(&env, "5 running", |a| {
        a.iter().filter(|x| x["state"] == "running").count() == 5
    });
    let ours = started.elapsed().as_secs_f64();
    println!("5 x git worktree add (2,000 files): {:.2}s", floor);
    println!(
        "orchestractl spawn of 5 tasks -> 5 agents running (2,000 files): {:.2}s",
        ours
    );
    env.ctl_ok(&["stop", "--all"]);
    Ok(())
}

fn chatty() -> anyhow::Result<()> {
    let env = TestEnv::new();
    let repo = env.git_repo();
    let pid = env.ctl_json(&["daemon", "status"])["pid"]
        .as_u64()
        .unwrap_or(0) as u32;
    // Each agent prints 200 assistant messages, one every 50 ms or so, for ~10 s.
    let tasks: Vec<String> = (0..50)
        .map(|i| format!("CHATTY:200 PACE:50 agent {i}"))
        .collect();
    let mut args = vec![
        "spawn",
        "--no-worktree",
        "--parallel",
        "50",
        "--repo",
        repo.to_str().expect("path"),
    ];
    args.extend(tasks.iter().map(String::as_str));
    let ticks_before = cpu_ticks(pid);
    let started = Instant::now();
    env.ctl_json(&args);
    let mut peak_rss = 0;
    loop {
        peak_rss = peak_rss.max(rss_kb(pid));
        let agents = env.ctl_json(&["status"]);
        if orchestra_tests::all_finished(agents.as_array().map(Vec::as_slice).unwrap_or(&[])) {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let secs = started.elapsed().as_secs_f64();
    let ticks = cpu_ticks(pid) - ticks_before;
    let agents = env.ctl_json(&["status"]);
    let done = agents
        .as_array()
        .map(|a| a.iter().filter(|x| x["state"] == "done").count())
        .unwrap_or(0);
    let lines: u64 = agents
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| {
                    x["log_path"]
                        .as_str()
                        .and_then(|p| std::fs::read_to_string(p).ok())
                        .map_or(0, |t| t.lines().count() as u64)
                })
                .sum()
        })
        .unwrap_or(0);
    println!("{done} of 50 agents done; {lines} output lines read by the daemon");
    let hz = 100.0;
    println!(
        "50 chatty agents (200 messages each) over {:.1}s: daemon CPU {:.2}s = {:.0}% of one core, peak RSS {:.1} MB",
        secs,
        ticks as f64 / hz,
        ticks as f64 / hz / secs * 100.0,
        peak_rss as f64 / 1024.0
    );
    Ok(())
}

/// Each agent waits 0.3 s before asking, so the poller below is running when it asks.
/// An agent's `control_request` line lands in its `output.jsonl` the moment Claude Code
/// writes it (the shim copies stdout line by line, flushing each): that is "the request
/// left Claude Code". A poller sees it within ~0.2 ms; a real `orchestractl approvals
/// --watch --json` process shows when it is visible to a person.
fn approvals() -> anyhow::Result<()> {
    use std::io::BufRead;
    const SAMPLES: usize = 100;
    let env = TestEnv::new();
    let repo = env.git_repo();
    let repo_arg = repo.to_str().expect("utf-8 path").to_owned();
    env.ctl_json(&["daemon", "status"]);
    let mut watcher = env
        .command(bin("orchestractl"))
        .args(["--json", "approvals", "--watch"])
        .stdout(Stdio::piped())
        .spawn()?;
    let stdout = watcher.stdout.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel::<(String, String, Instant)>();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            let seen = Instant::now();
            let Ok(value) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            if value["state"] == "pending" {
                let text = |k: &str| value[k].as_str().unwrap_or_default().to_owned();
                let _ = tx.send((text("agent_id"), text("id"), seen));
            }
        }
    });
    let agents_dir = env.state_dir().join("agents");
    let mut latencies = Vec::new();
    for _ in 0..SAMPLES {
        let spawned = env.ctl_json(&[
            "spawn",
            "--repo",
            &repo_arg,
            "--no-worktree",
            "TOOL_BASH:true",
        ]);
        let agent = spawned[0]["id"].as_str().expect("id").to_owned();
        let output = agents_dir.join(&agent).join("output.jsonl");
        let deadline = Instant::now() + Duration::from_secs(10);
        let asked = loop {
            if std::fs::read(&output)
                .is_ok_and(|b| b.windows(17).any(|w| w == b"\"control_request\""))
            {
                break Instant::now();
            }
            anyhow::ensure!(Instant::now() < deadline, "agent {agent} never asked");
            std::thread::sleep(Duration::from_micros(200));
        };
        let (approval, seen) = loop {
            let (agent_id, approval, seen) = rx.recv_timeout(Duration::from_secs(10))?;
            if agent_id == agent {
                break (approval, seen);
            }
        };
        latencies.push(seen.saturating_duration_since(asked).as_secs_f64() * 1000.0);
        env.ctl_ok(&["approve", &approval]);
    }
    let _ = watcher.kill();
    let _ = watcher.wait();
    latencies.sort_by(f64::total_cmp);
    println!(
        "permission request -> visible in `approvals --watch` ({SAMPLES} requests): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies[latencies.len() - 1]
    );
    env.ctl_ok(&["stop", "--all"]);
    env.ctl_ok(&["daemon", "stop"]);
    Ok(())
}

/// A verified merge of 8 agents' branches, one of which breaks the check: how many
/// verifications it takes (the base, the merge, then the bisection's trials), and the
/// time, beside the 8 checks a one-by-one search would run.
fn bisect() -> anyhow::Result<()> {
    let env = TestEnv::new();
    let repo = env.git_repo();
    // A check that costs something (0.2 s) and fails while bad.txt exists.
    std::fs::write(
        repo.join("check.sh"),
        "#!/bin/sh\nsleep 0.2\nif [ -e bad.txt ]; then echo broken; exit 1; fi\n",
    )?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            repo.join("check.sh"),
            std::fs::Permissions::from_mode(0o755),
        )?;
    }
    env.git(&repo, &["add", "check.sh"]);
    env.git(&repo, &["commit", "-q", "-m", "a check"]);
    let culprit_index = 5;
    let tasks: Vec<String> = (0..8)
        .map(|i| {
            if i == culprit_index {
                format!("PUT:file-{i}.txt={i} PUT:bad.txt=oops task {i}")
            } else {
                format!("PUT:file-{i}.txt={i} task {i}")
            }
        })
        .collect();
    let mut args = vec![
        "spawn",
        "--parallel",
        "8",
        "--repo",
        repo.to_str().expect("path"),
    ];
    args.extend(tasks.iter().map(String::as_str));
    let spawned = env.ctl_json(&args);
    let culprit = spawned[culprit_index]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    orchestra_tests::wait_for_agents(&env, "8 done", |a| {
        a.len() == 8 && a.iter().all(|x| x["state"] == "done")
    });
    let started = Instant::now();
    let out = env.ctl(&[
        "--json",
        "merge",
        "--repo",
        repo.to_str().expect("path"),
        "--verify",
        "./check.sh",
    ]);
    let took = started.elapsed().as_secs_f64();
    let run: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let verifications = run["verify"]["verifications"].as_u64().unwrap_or(0);
    println!(
        "verified merge of 8 branches, one culprit: state {}, culprit found: {}, {} verifications \
         (base 1 + merge 1 + bisection {}), {:.2}s in all",
        run["state"],
        run["verify"]["culprit_agent_id"] == culprit.as_str(),
        verifications,
        verifications.saturating_sub(2),
        took
    );
    println!("a one-by-one search would run 8 checks after the merge's (10 in all)");
    Ok(())
}

/// An approval asked on host b, until it is visible on a: in a's merged `approvals
/// --hosts all --json` (polled back to back, as a script would) and as a live event on
/// a's dashboard; then what each host adds to `status --hosts`.
fn hosts() -> anyhow::Result<()> {
    use orchestra_tests::hosts::proxy_command;
    use orchestra_tests::web::{Dashboard, login_cookie, read_text_frame, upgrade};
    const SAMPLES: usize = 100;
    let a = TestEnv::new();
    let b = TestEnv::new();
    b.ctl_json(&["daemon", "status"]);
    a.ctl_ok(&[
        "hosts",
        "add",
        "b",
        "local",
        "--command",
        &proxy_command(&b, true),
    ]);
    let repo = b.git_repo();
    let repo_arg = repo.to_str().expect("utf-8 path").to_owned();
    let dash = Dashboard::start(&a, &[]);
    let cookie = login_cookie(&a, dash.port);
    let origin = format!("http://127.0.0.1:{}", dash.port);
    let mut ws = upgrade(
        dash.port,
        "/ws",
        &[("Cookie", &cookie), ("Origin", &origin)],
    )
    .map_err(anyhow::Error::msg)?;
    ws.set_read_timeout(None)?;
    let (tx, rx) = std::sync::mpsc::channel::<(String, Instant)>();
    std::thread::spawn(move || {
        while let Ok(text) = read_text_frame(&mut ws) {
            let seen = Instant::now();
            let Ok(event) = serde_json::from_str::<serde_json::Value>(&text) else {
                continue;
            };
            let a = &event["approval"];
            if event["type"] == "approval" && a["host"] == "b" && a["state"] == "pending" {
                let _ = tx.send((a["agent_id"].as_str().unwrap_or_default().to_owned(), seen));
            }
        }
    });
    let agents_dir = b.state_dir().join("agents");
    let (mut cli, mut page) = (Vec::new(), Vec::new());
    for _ in 0..SAMPLES {
        let spawned = b.ctl_json(&[
            "spawn",
            "--repo",
            &repo_arg,
            "--no-worktree",
            "TOOL_BASH:true",
        ]);
        let agent = spawned[0]["id"].as_str().expect("id").to_owned();
        let output = agents_dir.join(&agent).join("output.jsonl");
        let deadline = Instant::now() + Duration::from_secs(10);
        let asked = loop {
            if std::fs::read(&output)
                .is_ok_and(|b| b.windows(17).any(|w| w == b"\"control_request\""))
            {
                break Instant::now();
            }
            anyhow::ensure!(Instant::now() < deadline, "agent {agent} never asked");
            std::thread::sleep(Duration::from_micros(200));
        };
        let approval = loop {
            let merged = a.ctl_json(&["approvals", "--hosts", "all"]);
            let found = merged.as_array().and_then(|list| {
                list.iter()
                    .find(|x| x["host"] == "b" && x["agent_id"] == agent.as_str())
                    .map(|x| x["id"].as_str().unwrap_or_default().to_owned())
            });
            if let Some(id) = found {
                cli.push(asked.elapsed().as_secs_f64() * 1000.0);
                break id;
            }
            anyhow::ensure!(Instant::now() < deadline, "b's approval never showed on a");
        };
        let seen = loop {
            let (agent_id, seen) = rx.recv_timeout(Duration::from_secs(10))?;
            if agent_id == agent {
                break seen;
            }
        };
        page.push(seen.saturating_duration_since(asked).as_secs_f64() * 1000.0);
        a.ctl_ok(&["--host", "b", "approve", &approval]);
    }
    for (what, latencies) in [
        ("in `approvals --hosts all --json` on a (polled)", &mut cli),
        ("on a's dashboard (live event)", &mut page),
    ] {
        latencies.sort_by(f64::total_cmp);
        println!(
            "approval asked on b -> visible {what} ({SAMPLES} approvals): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            percentile(latencies, 0.5),
            percentile(latencies, 0.99),
            latencies[latencies.len() - 1]
        );
    }
    drop(dash);

    // `status --hosts` with more and more hosts, each its own daemon behind its proxy.
    let others: Vec<TestEnv> = (0..5).map(|_| TestEnv::new()).collect();
    for (i, env) in others.iter().enumerate() {
        env.ctl_json(&["daemon", "status"]);
        a.ctl_ok(&[
            "hosts",
            "add",
            &format!("h{i}"),
            "local",
            "--command",
            &proxy_command(env, true),
        ]);
    }
    let median_ms = |hosts: &str| -> f64 {
        let mut runs: Vec<f64> = (0..20)
            .map(|_| {
                let started = Instant::now();
                a.ctl_json(&["status", "--hosts", hosts]);
                started.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        runs.sort_by(f64::total_cmp);
        percentile(&runs, 0.5)
    };
    let alone = median_ms("local");
    println!("`status --hosts local` (no other host): median {alone:.1} ms of 20");
    for n in [1, 2, 5] {
        let names: Vec<String> = std::iter::once("local".to_owned())
            .chain((0..n).map(|i| format!("h{i}")))
            .collect();
        let took = median_ms(&names.join(","));
        println!(
            "`status --hosts` with {n} other host(s): median {took:.1} ms of 20, +{:.1} ms per host",
            (took - alone) / n as f64
        );
    }
    for env in others.iter().chain([&a, &b]) {
        let _ = env.ctl(&["stop", "--all"]);
        let _ = env.ctl(&["daemon", "stop"]);
    }
    Ok(())
}
