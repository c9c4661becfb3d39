//! Writes session files of realistic shape and size, for benchmarks and load tests.
//!
//! The lines follow the real CLI's captures: queue operations, a prompt, the attachment
//! lines (a few KB each), then turns of tool calls with their results (most of the bytes
//! in real files) and assistant text, and a `last-prompt` line.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::json;

/// A small deterministic generator (xorshift), so runs are comparable.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

const WORDS: &[&str] = &[
    "parser", "index", "async", "tokio", "refactor", "the", "test", "database", "query", "cache",
    "error", "handler", "worktree", "branch", "config", "socket", "retry", "budget", "function",
    "return", "value", "struct", "impl", "module", "file", "line", "fix", "build",
];

fn words(rng: &mut Rng, n: usize) -> String {
    (0..n)
        .map(|_| WORDS[rng.below(WORDS.len() as u64) as usize])
        .collect::<Vec<_>>()
        .join(" ")
}

/// Writes one session of about `target_bytes` to `dir/<id>.jsonl`; returns its path.
pub fn write_session(
    dir: &Path,
    id: &str,
    cwd: &str,
    target_bytes: usize,
    rng: &mut Rng,
) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("{id}.jsonl"));
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path)?);
    let mut written = 0usize;
    let mut parent: Option<String> = None;
    let mut n = 0u64;
    let line = |value: serde_json::Value,
                out: &mut std::io::BufWriter<std::fs::File>|
     -> std::io::Result<usize> {
        let text = value.to_string();
        out.write_all(text.as_bytes())?;
        out.write_all(b"\n")?;
        Ok(text.len() + 1)
    };
    let stamp = |n: u64| {
        format!(
            "2026-11-{:02}T{:02}:{:02}:{:02}.000Z",
            1 + (n / 86_400) % 28,
            (n / 3600) % 24,
            (n / 60) % 60,
            n % 60
        )
    };
    let base = rng.below(20 * 86_400);
    let prompt = format!("please {}", words(rng, 12));
    written += line(
        json!({"type":"queue-operation","operation":"enqueue","timestamp":stamp(base),"sessionId":id,"content":prompt}),
        &mut out,
    )?;
    let common = |kind: &str, n: u64, parent: &mut Option<String>| {
        let uuid = format!("{id}-{n}");
        let value = json!({"parentUuid": parent.clone(), "isSidechain": false, "type": kind, "uuid": uuid,
            "timestamp": stamp(base + n), "userType": "external", "entrypoint": "cli", "cwd": cwd,
            "sessionId": id, "version": "2.1.197", "gitBranch": "main"});
        *parent = Some(uuid);
        value
    };
    let mut user = common("user", n, &mut parent);
    user["message"] = json!({"role": "user", "content": prompt});
    written += line(user, &mut out)?;
    n += 1;
    let mut attachment = common("attachment", n, &mut parent);
    attachment["attachment"] =
        json!({"type": "skill_listing", "content": words(rng, 600), "skillCount": 13});
    written += line(attachment, &mut out)?;
    while written < target_bytes {
        n += 1;
        let tool_id = format!("toolu_{id}_{n}");
        let tool = ["Read", "Bash", "Edit", "Grep"][rng.below(4) as usize];
        let mut call = common("assistant", n, &mut parent);
        call["message"] = json!({"id": format!("msg_{id}_{n}"), "type": "message", "role": "assistant", "model": "claude-opus-4-8",
            "content": [{"type": "tool_use", "id": tool_id, "name": tool, "input": {"file_path": format!("{cwd}/src/{}.rs", words(rng, 1))}}],
            "stop_reason": "tool_use", "usage": {"input_tokens": 1000 + rng.below(20_000), "cache_creation_input_tokens": rng.below(2000), "cache_read_input_tokens": rng.below(50_000), "output_tokens": 20 + rng.below(500)}});
        written += line(call, &mut out)?;
        n += 1;
        let mut result = common("user", n, &mut parent);
        let size = 500 + rng.below(12_000) as usize;
        let body = words(rng, size / 6);
        result["message"] = json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_id, "content": body}]});
        result["toolUseResult"] = json!({"stdout": "", "stderr": ""});
        written += line(result, &mut out)?;
        n += 1;
        let mut text = common("assistant", n, &mut parent);
        text["message"] = json!({"id": format!("msg_{id}_{n}"), "type": "message", "role": "assistant", "model": "claude-opus-4-8",
            "content": [{"type": "text", "text": words(rng, 40)}], "stop_reason": "end_turn",
            "usage": {"input_tokens": 1000 + rng.below(20_000), "cache_creation_input_tokens": 0, "cache_read_input_tokens": rng.below(50_000), "output_tokens": 20 + rng.below(500)}});
        written += line(text, &mut out)?;
        if rng.below(4) == 0 {
            n += 1;
            let mut follow = common("user", n, &mut parent);
            follow["message"] =
                json!({"role": "user", "content": format!("now {}", words(rng, 8))});
            written += line(follow, &mut out)?;
        }
    }
    line(
        json!({"type": "last-prompt", "lastPrompt": prompt, "sessionId": id}),
        &mut out,
    )?;
    out.flush()?;
    Ok(path)
}

/// Writes `count` sessions averaging `avg_bytes` across `projects` project dirs under
/// `projects_dir`. Returns the bytes written.
pub fn write_projects(
    projects_dir: &Path,
    count: usize,
    avg_bytes: usize,
    projects: usize,
    seed: u64,
) -> std::io::Result<u64> {
    let mut rng = Rng::new(seed);
    let mut total = 0;
    for i in 0..count {
        let project = i % projects.max(1);
        let cwd = format!("/home/dev/work/project-{project}");
        let dir = projects_dir.join(format!("-home-dev-work-project-{project}"));
        // Sizes vary from a tenth to twice the average, like real sessions.
        let size = avg_bytes / 10 + rng.below((avg_bytes * 19 / 10) as u64) as usize;
        let path = write_session(
            &dir,
            &format!(
                "{:08x}-0000-4000-8000-{:012x}",
                i,
                rng.next_u64() % (1 << 48)
            ),
            &cwd,
            size,
            &mut rng,
        )?;
        total += std::fs::metadata(path)?.len();
    }
    Ok(total)
}

/// Writes one session of about `target_bytes` shaped like Claude Code 2.1.330's files to
/// `dir/<id>.jsonl`; returns its path.
///
/// The proportions follow the captures in `tests/fixtures/claude-code/2.1.330/sessions`:
/// a first turn opens with ~30 KB of attachments (environment, model, tool and agent
/// listings, a 14 KB skill listing, a prompt snapshot), a ~40 KB `api-request-shape` with
/// the system prompt and tool schemas and its `api-request-blob`s; every API call writes an
/// `api-request` line, every turn a `prompt_snapshot` attachment of ~60 KB, a `last-prompt`,
/// an `atis-latch` and a `cost-state`. Tool calls and results are as in the older shape.
pub fn write_session_2_1_330(
    dir: &Path,
    id: &str,
    cwd: &str,
    target_bytes: usize,
    rng: &mut Rng,
) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("{id}.jsonl"));
    let mut sink = Sink {
        out: std::io::BufWriter::new(std::fs::File::create(&path)?),
        written: 0,
    };
    let base = rng.below(20 * 86_400);
    let stamp = |n: u64| {
        let n = base + n;
        format!(
            "2026-11-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            1 + (n / 86_400) % 28,
            (n / 3600) % 24,
            (n / 60) % 60,
            n % 60,
            n % 1000
        )
    };
    let mut n = 0u64;
    let mut parent: Option<String> = None;
    let mut common = |kind: &str, n: u64| {
        let uuid = format!("{id}-{n}");
        let value = json!({"parentUuid": parent.clone(), "isSidechain": false, "type": kind,
            "uuid": uuid, "timestamp": stamp(n), "userType": "external", "entrypoint": "sdk-cli",
            "cwd": cwd, "sessionId": id, "version": "2.1.330", "gitBranch": "main"});
        parent = Some(uuid);
        value
    };
    // `attachment` lines put the attachment before `type`, as the CLI does.
    let attachment = |rng: &mut Rng, n: u64, parent: &str, kind: &str, bytes: usize| {
        json!({"parentUuid": parent, "isSidechain": false,
            "attachment": {"type": kind, "content": words(rng, bytes / 6)},
            "type": "attachment", "uuid": format!("{id}-a{n}"), "timestamp": stamp(n),
            "userType": "external", "entrypoint": "sdk-cli", "cwd": cwd, "sessionId": id,
            "version": "2.1.330", "gitBranch": "main"})
    };
    let mut cost = 0.0f64;
    let mut turn = 0;
    while sink.written < target_bytes || turn == 0 {
        let prompt = format!("please {}", words(rng, 12));
        sink.line(
            json!({"type":"queue-operation","operation":"enqueue","timestamp":stamp(n),"sessionId":id,"content":prompt}),
        )?;
        sink.line(
            json!({"type":"queue-operation","operation":"dequeue","timestamp":stamp(n),"sessionId":id}),
        )?;
        n += 1;
        let mut user = common("user", n);
        user["message"] = json!({"role": "user", "content": prompt});
        sink.line(user)?;
        if turn == 0 {
            for (kind, bytes) in [
                ("environment", 1_400),
                ("model", 800),
                ("deferred_tools_delta", 1_300),
                ("agent_listing_delta", 3_900),
                ("skill_listing", 13_600),
                ("session_context", 1_350),
                ("date", 500),
                ("remote_session_change", 1_250),
                ("prompt_snapshot", 7_500),
            ] {
                n += 1;
                sink.line(attachment(rng, n, &format!("{id}-{}", n - 1), kind, bytes))?;
            }
            sink.line(json!({"type":"atis-latch","atis":"","sessionId":id}))?;
            sink.line(
                json!({"type":"api-request-shape","sessionId":id,"shapeHash":format!("{:064x}", rng.next_u64()),
                "timestamp":stamp(n),"version":"2.1.330",
                "shape":{"system":[words(rng, 2_000)],"tools":(0..20).map(|i| json!({"name":format!("Tool{i}"),"description":words(rng, 250),"input_schema":{"type":"object","properties":{"path":{"type":"string"}}}})).collect::<Vec<_>>()}}),
            )?;
            for size in [1_450, 9_600] {
                sink.line(
                    json!({"type":"api-request-blob","sessionId":id,"hash":format!("{:064x}", rng.next_u64()),
                    "message":{"role":"user","content":[{"type":"text","text":words(rng, size / 6)}]}}),
                )?;
            }
        } else {
            sink.line(
                json!({"type":"api-request-blob","sessionId":id,"hash":format!("{:064x}", rng.next_u64()),
                "message":{"role":"user","content":[{"type":"text","text":prompt}]}}),
            )?;
        }
        let api_request = |rng: &mut Rng, n: u64| {
            json!({"type":"api-request","sessionId":id,"id":format!("{:032x}", rng.next_u64()),"timestamp":stamp(n),
                "version":"2.1.330","querySource":"sdk","shapeHash":format!("{:064x}", rng.next_u64()),
                "params":{"model":"claude-opus-5-5","max_tokens":32000,"metadata":{"user_id":words(rng, 100)}}})
        };
        for _ in 0..rng.below(4) {
            n += 1;
            sink.line(api_request(rng, n))?;
            let tool_id = format!("toolu_{id}_{n}");
            let tool = ["Read", "Bash", "Edit", "Grep"][rng.below(4) as usize];
            sink.line(json!({"type":"tools-used","tools":[tool],"sessionId":id}))?;
            let mut call = common("assistant", n);
            call["message"] = json!({"id": format!("msg_{id}_{n}"), "type": "message", "role": "assistant", "model": "claude-opus-5-5",
                "content": [{"type": "tool_use", "id": tool_id, "name": tool, "input": {"file_path": format!("{cwd}/src/{}.rs", words(rng, 1))}}],
                "stop_reason": "tool_use", "usage": {"input_tokens": 1000 + rng.below(20_000), "cache_creation_input_tokens": rng.below(2000), "cache_read_input_tokens": rng.below(50_000), "output_tokens": 20 + rng.below(500)}});
            sink.line(call)?;
            n += 1;
            let mut result = common("user", n);
            let size = 500 + rng.below(12_000) as usize;
            result["message"] = json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_id, "content": words(rng, size / 6)}]});
            result["toolUseResult"] = json!({"stdout": "", "stderr": ""});
            sink.line(result)?;
        }
        n += 1;
        let snapshot = 50_000 + rng.below(15_000) as usize;
        sink.line(attachment(
            rng,
            n,
            &format!("{id}-{}", n - 1),
            "prompt_snapshot",
            snapshot,
        ))?;
        n += 1;
        sink.line(api_request(rng, n))?;
        let mut text = common("assistant", n);
        text["message"] = json!({"id": format!("msg_{id}_{n}"), "type": "message", "role": "assistant", "model": "claude-opus-5-5",
            "content": [{"type": "text", "text": words(rng, 40)}], "stop_reason": "end_turn",
            "usage": {"input_tokens": 1000 + rng.below(20_000), "cache_creation_input_tokens": 0, "cache_read_input_tokens": rng.below(50_000), "output_tokens": 20 + rng.below(500)}});
        sink.line(text)?;
        sink.line(
            json!({"type": "last-prompt", "lastPrompt": prompt, "leafUuid": format!("{id}-{n}"), "sessionId": id}),
        )?;
        sink.line(json!({"type":"atis-latch","atis":"","sessionId":id}))?;
        cost += 0.01 + rng.below(5_000) as f64 / 100_000.0;
        sink.line(
            json!({"type":"cost-state","sessionId":id,"totalCostUSD":cost,"totalAPIDuration":50,"modelUsage":{}}),
        )?;
        turn += 1;
    }
    sink.out.flush()?;
    Ok(path)
}

/// A session file being written, and its size so far.
struct Sink {
    /// The file.
    out: std::io::BufWriter<std::fs::File>,
    /// Bytes written.
    written: usize,
}

impl Sink {
    /// Writes `value` as one line.
    fn line(&mut self, value: serde_json::Value) -> std::io::Result<()> {
        let text = value.to_string();
        self.out.write_all(text.as_bytes())?;
        self.out.write_all(b"\n")?;
        self.written += text.len() + 1;
        Ok(())
    }
}

/// [`write_projects`] in the shape of Claude Code 2.1.330 ([`write_session_2_1_330`]).
pub fn write_projects_2_1_330(
    projects_dir: &Path,
    count: usize,
    avg_bytes: usize,
    projects: usize,
    seed: u64,
) -> std::io::Result<u64> {
    let mut rng = Rng::new(seed);
    let mut total = 0;
    for i in 0..count {
        let project = i % projects.max(1);
        let cwd = format!("/home/dev/work/project-{project}");
        let dir = projects_dir.join(format!("-home-dev-work-project-{project}"));
        let size = avg_bytes / 10 + rng.below((avg_bytes * 19 / 10) as u64) as usize;
        let path = write_session_2_1_330(
            &dir,
            &format!(
                "{:08x}-0000-4000-9000-{:012x}",
                i,
                rng.next_u64() % (1 << 48)
            ),
            &cwd,
            size,
            &mut rng,
        )?;
        total += std::fs::metadata(path)?.len();
    }
    Ok(total)
}
