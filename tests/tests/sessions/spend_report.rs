//! `analytics --by` (issue 26, item 3): per local day it agrees with ccusage's daily report
//! on the same files, a usage line near midnight UTC counted on its own local day; per
//! agent it agrees with `status --json`; without `--by` the answer keeps its shape.

use orchestra_tests::{TestEnv, all_finished, bin, tools, wait_for_agents};
use serde_json::{Value, json};

/// A zone west of UTC (UTC-5 in November): a line stamped 00:07Z is the evening before.
const TZ: &str = "America/New_York";

/// Models ccusage prices offline, at the same list prices as the daemon's table.
const MODELS: [&str; 3] = [
    "claude-sonnet-4-20250514",
    "claude-opus-4-1-20250805",
    "claude-3-5-haiku-20241022",
];

/// `orchestractl ARGS` under [`TZ`] (the daemon it starts inherits the zone), as JSON.
fn ctl_json_tz(env: &TestEnv, args: &[&str]) -> Value {
    let out = env
        .command(bin("orchestractl"))
        .env("TZ", TZ)
        .arg("--json")
        .args(args)
        .output()
        .expect("orchestractl");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// Writes a corpus of sessions in two projects, with usage lines spread over days and
/// many of them in the hour after midnight UTC; returns how many assistant lines.
fn write_corpus(env: &TestEnv) -> usize {
    let mut lines = 0;
    for s in 0..6u64 {
        let (dir, cwd) = if s % 2 == 0 {
            ("-work-alpha", "/work/alpha")
        } else {
            ("-work-beta", "/work/beta")
        };
        let folder = env.projects_dir().join(dir);
        std::fs::create_dir_all(&folder).expect("dir");
        let id = format!("5e55{s:04}-0000-4000-8000-000000000000");
        let mut text = String::new();
        let stamp = |day: u64, hour: u64, minute: u64| {
            format!("2026-11-{day:02}T{hour:02}:{minute:02}:00.000Z")
        };
        let user = json!({"type": "user", "timestamp": stamp(3 + s % 3, 22, 10), "sessionId": id,
            "cwd": cwd, "uuid": format!("u-{s}"), "message": {"role": "user", "content": format!("task {s}")}});
        text.push_str(&format!("{user}\n"));
        for n in 0..12u64 {
            let day = 3 + (s + n / 4) % 4;
            // Every third line lands in the first hour of a UTC day: the evening before in TZ.
            let (hour, minute) = if n % 3 == 0 { (0, 7) } else { (6 + n, 5 * n) };
            let model = MODELS[((s + n) % 3) as usize];
            let usage = json!({
                "input_tokens": 1_000 + 137 * n + 11 * s,
                "output_tokens": 200 + 53 * n,
                "cache_read_input_tokens": 20_000 + 1_009 * n,
                "cache_creation_input_tokens": 3_000 + 101 * s,
            });
            let line = json!({"type": "assistant", "timestamp": stamp(day, hour, minute),
                "sessionId": id, "cwd": cwd, "uuid": format!("a-{s}-{n}"),
                "requestId": format!("req_{s}_{n}"),
                "message": {"id": format!("msg_{s}_{n}"), "type": "message", "role": "assistant",
                    "model": model, "content": [{"type": "text", "text": "done"}], "usage": usage}});
            text.push_str(&format!("{line}\n"));
            lines += 1;
        }
        std::fs::write(folder.join(format!("{id}.jsonl")), text).expect("write");
    }
    lines
}

#[test]
fn analytics_by_day_agrees_with_ccusage_per_local_day() {
    let Some(ccusage) = tools::ccusage() else {
        return;
    };
    let env = TestEnv::new();
    let lines = write_corpus(&env);
    assert_eq!(lines, 72);

    let ours = ctl_json_tz(&env, &["analytics", "--by", "day"]);
    let out = std::process::Command::new(&ccusage)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &env.home)
        .env("CLAUDE_CONFIG_DIR", &env.claude_dir)
        .env("TZ", TZ)
        .args(["daily", "--json", "--offline"])
        .output()
        .expect("ccusage");
    assert!(
        out.status.success(),
        "ccusage: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: Value = serde_json::from_slice(&out.stdout).expect("ccusage JSON");
    let their_days = theirs["daily"].as_array().expect("daily");
    let our_rows = ours["rows"].as_array().expect("rows");

    let mut their_keys: Vec<&str> = their_days
        .iter()
        .map(|d| d["date"].as_str().expect("date"))
        .collect();
    let mut our_keys: Vec<&str> = our_rows
        .iter()
        .map(|r| r["key"].as_str().expect("key"))
        .collect();
    their_keys.sort_unstable();
    our_keys.sort_unstable();
    assert_eq!(our_keys, their_keys, "the same local days");
    // The 00:07Z lines of 3 November are counted on 2 November, New York time.
    assert_eq!(our_keys.first(), Some(&"2026-11-02"), "{our_keys:?}");

    for day in their_days {
        let date = day["date"].as_str().expect("date");
        let row = our_rows.iter().find(|r| r["key"] == date).expect("our row");
        let tokens = &row["tokens"];
        assert_eq!(tokens["input"], day["inputTokens"], "{date} input");
        assert_eq!(tokens["output"], day["outputTokens"], "{date} output");
        assert_eq!(tokens["cache_read"], day["cacheReadTokens"], "{date}");
        assert_eq!(
            tokens["cache_creation"], day["cacheCreationTokens"],
            "{date}"
        );
        let (a, b) = (
            row["cost_usd"].as_f64().expect("ours"),
            day["totalCost"].as_f64().expect("theirs"),
        );
        assert!((a - b).abs() < 0.01, "{date}: ours ${a}, ccusage ${b}");
        assert!(a > 0.0, "{date} costs something");
    }
    let (a, b) = (
        ours["total"]["cost_usd"].as_f64().expect("total"),
        theirs["totals"]["totalCost"].as_f64().expect("totals"),
    );
    assert!((a - b).abs() < 0.01, "total: ours ${a}, ccusage ${b}");

    // The same lines by model and by project add up to the same total; --since cuts
    // whole local days.
    for by in ["model", "project"] {
        let grouped = ctl_json_tz(&env, &["analytics", "--by", by]);
        let total = grouped["total"]["cost_usd"].as_f64().expect("total");
        assert!((total - a).abs() < 1e-6, "--by {by}: {grouped:#}");
    }
    let models = ctl_json_tz(&env, &["analytics", "--by", "model"]);
    assert_eq!(models["rows"].as_array().map(Vec::len), Some(3));
    let since = ctl_json_tz(&env, &["analytics", "--by", "day", "--since", "2026-11-05"]);
    let keys: Vec<&str> = since["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["key"].as_str().expect("key"))
        .collect();
    assert!(
        keys.iter().all(|k| *k >= "2026-11-05") && !keys.is_empty(),
        "{keys:?}"
    );

    // Without --by the answer keeps its shape.
    let plain = ctl_json_tz(&env, &["analytics"]);
    let mut fields: Vec<&str> = plain
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    assert_eq!(fields, ["days", "projects", "total"]);
}

#[test]
fn analytics_by_agent_and_batch_agree_with_status_and_bad_input_is_named() {
    let env = TestEnv::new();
    let repo = env.git_repo();
    write_corpus(&env);
    let spawned = env.ctl_json(&[
        "spawn",
        "--repo",
        repo.to_str().expect("path"),
        "say hello",
        "WRITE:notes.txt and report",
    ]);
    let agents = wait_for_agents(&env, "both agents finish", all_finished);
    let by_agent = env.ctl_json(&["analytics", "--by", "agent"]);
    let rows = by_agent["rows"].as_array().expect("rows");
    for agent in &agents {
        let row = rows
            .iter()
            .find(|r| r["key"] == agent["id"])
            .unwrap_or_else(|| panic!("a row for {}: {by_agent:#}", agent["id"]));
        let cost = agent["total_cost_usd"].as_f64().expect("cost");
        assert!(cost > 0.0);
        assert_eq!(row["cost_usd"].as_f64(), Some(cost), "the CLI's own figure");
        assert_eq!(row["sessions"], 1);
    }
    // The corpus's sessions were started by hand: they are one row of their own.
    let by_hand = rows
        .iter()
        .find(|r| r["key"] == "(by hand)")
        .expect("(by hand)");
    assert_eq!(by_hand["sessions"], 6);

    let by_batch = env.ctl_json(&["analytics", "--by", "batch"]);
    let batch = spawned[0]["batch_id"].as_str().expect("batch");
    let row = by_batch["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["key"] == batch)
        .cloned()
        .expect("the batch's row");
    let sum: f64 = agents
        .iter()
        .map(|a| a["total_cost_usd"].as_f64().expect("cost"))
        .sum();
    assert!((row["cost_usd"].as_f64().expect("cost") - sum).abs() < 1e-9);
    assert_eq!(row["sessions"], 2);
    let agent_total = by_agent["total"]["cost_usd"].as_f64().expect("total");
    let batch_total = by_batch["total"]["cost_usd"].as_f64().expect("total");
    assert!((agent_total - batch_total).abs() < 1e-9);

    for (args, says) in [
        (vec!["analytics", "--by", "week"], "possible values"),
        (vec!["analytics", "--since", "7d"], "--by"),
        (
            vec!["analytics", "--by", "day", "--since", "last week"],
            "24h or 7d",
        ),
        (
            vec!["analytics", "--by", "day", "--hours", "3"],
            "cannot be used with",
        ),
    ] {
        let out = env.ctl(&args);
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
    }
}
