//! Fuzzing, on the stable toolchain, with proptest: every parser of outside input is fed
//! real captures (tests/fixtures/claude-code), the same with bytes flipped or cut, the
//! same with any JSON value swapped in anywhere, and plain noise. None may panic.
//!
//! Targets: Claude Code's session lines (the indexer and the transcript reader), its
//! stream-json output and stdio control requests (the agent interpreter), the config
//! file, the search snippet, the hook input (`orchestractl hook notification`, as the
//! daemon reads it; seeded with the hook inputs of a real capture), and what a stranger
//! can send the dashboard over its socket: request heads, the pairing form, the JSON
//! bodies of the API and WebSocket frames (fewer cases: each is a real request). A bounded run (about a minute in all on a developer
//! machine) is part of the normal `cargo test`; `ORCHESTRA_FUZZ_CASES=N` runs N cases per
//! target instead, for a longer hunt.

use std::collections::BTreeSet;
use std::path::Path;

use orchestra_tests::fixtures;
use orchestrad::config::Config;
use orchestrad::sessions::meta::Entry;
use orchestrad::sessions::{parse, transcript};
use orchestrad::supervisor::agent::AgentRecord;
use orchestrad::supervisor::progress;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::{Config as RunConfig, TestRunner};
use serde_json::Value;

/// Cases per target: 20 000 take ten-odd seconds each in a debug build.
fn cases(default: u32) -> u32 {
    std::env::var("ORCHESTRA_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(RunConfig {
        cases,
        // Failures are reported with the shrunk input; a fix comes with a plain unit test
        // (see snippets_survive_text_whose_lowercase_is_longer), not a regressions file.
        failure_persistence: None,
        ..RunConfig::default()
    })
}

/// Every non-empty line of the capture files under `dir` in the fixtures.
fn lines_of(dir: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut paths: Vec<_> = std::fs::read_dir(fixtures().join(dir))
        .unwrap_or_else(|err| panic!("fixtures {dir}: {err}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    paths.sort();
    for path in paths {
        let text = std::fs::read_to_string(&path).expect("a capture");
        lines.extend(
            text.lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_owned),
        );
    }
    assert!(!lines.is_empty(), "no captures in {dir}");
    lines
}

/// Every object key in `lines`: swapped-in objects use them, so they reach deep code.
fn keys_of(lines: &[String]) -> Vec<String> {
    fn walk(value: &Value, keys: &mut BTreeSet<String>) {
        match value {
            Value::Object(map) => {
                for (key, inner) in map {
                    keys.insert(key.clone());
                    walk(inner, keys);
                }
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, keys)),
            _ => {}
        }
    }
    let mut keys = BTreeSet::new();
    for line in lines {
        if let Ok(value) = serde_json::from_str::<Value>(line) {
            walk(&value, &mut keys);
        }
    }
    keys.into_iter().collect()
}

/// Strings that have tripped text code before: lengthening lowercase, combining marks,
/// right-to-left, astral planes, control characters, an empty string.
const NASTY: &[&str] = &[
    "İ", "ẞ", "Σ", "ﬃ", "e\u{301}", "\u{202e}", "😀", "\u{0}", "\r\n", "", "\u{fffd}", "\\",
];

fn any_string() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,40}",
        select(NASTY).prop_map(str::to_owned),
        (select(NASTY), "\\PC{0,10}", 0usize..50).prop_map(|(n, s, k)| n.repeat(k) + &s),
    ]
}

/// Any JSON value, with object keys mostly from `keys`.
fn any_json(keys: Vec<String>) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON has no NaN", |f| f.is_finite())
            .prop_map(Value::from),
        any_string().prop_map(Value::from),
    ];
    let key = prop_oneof![3 => select(keys), 1 => "[a-z_]{1,10}"];
    leaf.prop_recursive(3, 32, 5, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..5)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

/// Replaces the node at `at` (in pre-order) of `value` with `with`.
fn replace_node(value: &mut Value, at: usize, with: Value) {
    fn count(value: &Value) -> usize {
        1 + match value {
            Value::Array(items) => items.iter().map(count).sum(),
            Value::Object(map) => map.values().map(count).sum(),
            _ => 0,
        }
    }
    fn go(value: &mut Value, mut at: usize, with: Value) {
        if at == 0 {
            *value = with;
            return;
        }
        at -= 1;
        let children: Vec<&mut Value> = match value {
            Value::Array(items) => items.iter_mut().collect(),
            Value::Object(map) => map.values_mut().collect(),
            _ => return,
        };
        for child in children {
            let n = count(child);
            if at < n {
                return go(child, at, with);
            }
            at -= n;
        }
    }
    let n = count(value);
    go(value, at % n, with);
}

/// A line to feed a parser: a real one, one mutated at the JSON or the byte level, or noise.
fn input_line(seeds: Vec<String>) -> impl Strategy<Value = Vec<u8>> {
    let mut keys = keys_of(&seeds);
    if keys.is_empty() {
        // Seeds that are not JSON (forms, request heads) still get JSON swapped in.
        keys.push("key".to_owned());
    }
    let seed = select(seeds);
    prop_oneof![
        2 => seed.clone().prop_map(String::into_bytes),
        4 => (seed.clone(), any::<usize>(), any_json(keys), 1usize..4).prop_map(
            |(line, at, with, times)| {
                let Ok(mut value) = serde_json::from_str::<Value>(&line) else {
                    return line.into_bytes();
                };
                for i in 0..times {
                    replace_node(&mut value, at.wrapping_mul(i + 1), with.clone());
                }
                value.to_string().into_bytes()
            }
        ),
        2 => (seed.clone(), prop::collection::vec((any::<Index>(), any::<u8>()), 1..8)).prop_map(
            |(line, flips)| {
                let mut bytes = line.into_bytes();
                for (at, byte) in flips {
                    if !bytes.is_empty() {
                        let i = at.index(bytes.len());
                        bytes[i] = byte;
                    }
                }
                bytes
            }
        ),
        1 => (seed, any::<Index>()).prop_map(|(line, at)| {
            let mut bytes = line.into_bytes();
            bytes.truncate(at.index(bytes.len() + 1));
            bytes
        }),
        1 => prop::collection::vec(any::<u8>(), 0..200),
    ]
}

#[test]
fn fuzz_session_lines() {
    let mut seeds = lines_of("claude-code/sessions");
    seeds.extend(lines_of("claude-code/2.1.330/sessions"));
    let lines = prop::collection::vec(input_line(seeds), 1..12);
    runner(cases(20_000))
        .run(&lines, |lines| {
            // The indexer, line by line into one entry, as it follows a growing file.
            let mut entry = Entry::default();
            for line in &lines {
                let _ = parse::apply_line(&mut entry, line);
            }
            // The transcript reader and what is made of it.
            let file = lines.join(&b'\n');
            let messages = transcript::messages_of(&file);
            let _ = transcript::to_markdown(&entry.meta, &messages);
            for message in &messages {
                let _ = transcript::snippet(&message.text, "the");
            }
            Ok(())
        })
        .expect("no session line makes the indexer or the transcript reader panic");
}

#[test]
fn fuzz_stream_json_and_control_requests() {
    let mut seeds = lines_of("claude-code/stream-json");
    seeds.extend(lines_of("claude-code/2.1.330/stream-json"));
    let lines = prop::collection::vec(input_line(seeds), 1..12);
    runner(cases(20_000))
        .run(&lines, |lines| {
            let mut agent = AgentRecord::default();
            for line in &lines {
                progress::apply(&mut agent, line);
            }
            Ok(())
        })
        .expect("no stream-json line makes the interpreter panic");
}

#[test]
fn fuzz_config_files() {
    let defaults = serde_json::to_string_pretty(&Config::default()).expect("defaults");
    let seeds = vec![
        defaults,
        r#"{"default_parallel": 2, "dashboard_port": 9000, "tls_cert": "~/c.pem", "tls_key": "~/k.pem"}"#.to_owned(),
        r#"{"claude_projects_dir": "~/x", "worktree_dir": ".wt", "bypass_permissions": []}"#
            .to_owned(),
    ];
    let path = Path::new("/fuzz/config.json");
    runner(cases(20_000))
        .run(&input_line(seeds), |text| {
            let text = String::from_utf8_lossy(&text);
            if let Ok(loaded) = Config::parse(path, &text) {
                // Whatever parses is also valid.
                prop_assert!(loaded.config.default_parallel >= 1);
                prop_assert!(loaded.config.heartbeat_interval >= 1);
                prop_assert!(!Path::new(&loaded.config.worktree_dir).is_absolute());
                prop_assert_eq!(
                    loaded.config.tls_cert.is_some(),
                    loaded.config.tls_key.is_some()
                );
            }
            Ok(())
        })
        .expect("no config file makes the parser panic or pass an invalid config");
}

#[test]
fn fuzz_search_snippets() {
    let text = prop::collection::vec(any_string(), 0..8).prop_map(|parts| parts.concat());
    runner(cases(20_000))
        .run(
            &(text, any_string(), any::<Index>()),
            |(text, other, at)| {
                // A needle cut from the text itself (so it matches), and one from elsewhere.
                let lower = text.to_lowercase();
                let cuts: Vec<usize> = (0..=lower.len())
                    .filter(|i| lower.is_char_boundary(*i))
                    .collect();
                let from = cuts[at.index(cuts.len())];
                let needle: String = lower[from..].chars().take(5).collect();
                let found = transcript::snippet(&text, &needle);
                prop_assert!(found.is_some(), "{needle:?} is in {text:?}");
                let _ = transcript::snippet(&text, &other.to_lowercase());
                Ok(())
            },
        )
        .expect("no text or needle makes a search snippet panic");
}

/// The `input` of every `hook_callback` in the real capture (Claude Code's hook input),
/// and the same as a `Notification` hook's, which is what the daemon reads.
fn hook_inputs() -> Vec<String> {
    let mut inputs = Vec::new();
    for line in lines_of("claude-code/2.1.330/stream-json") {
        let Ok(value) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        let request = &value["msg"]["request"];
        if request["subtype"] == "hook_callback" {
            let mut input = request["input"].clone();
            inputs.push(input.to_string());
            input["hook_event_name"] = "Notification".into();
            input["message"] = "Claude needs your permission to use Bash".into();
            inputs.push(input.to_string());
        }
    }
    assert!(!inputs.is_empty(), "the capture has hook inputs");
    inputs
}

#[tokio::test(flavor = "multi_thread")]
async fn fuzz_hook_input() {
    let env = orchestra_tests::TestEnv::new();
    let daemon = env.daemon_in_process().await;
    let ctx = daemon.ctx.clone();
    let seeds = hook_inputs();
    // The daemon's work per input is larger (it may notify): fewer cases.
    let result = tokio::task::spawn_blocking(move || {
        runner(cases(5_000)).run(&input_line(seeds), |input| {
            let text = String::from_utf8_lossy(&input);
            let _ = orchestrad::notify_sources::hook(&ctx.sessions, &ctx.notifier, &text);
            Ok(())
        })
    })
    .await
    .expect("the fuzz run");
    daemon.shutdown().await;
    result.expect("no hook input makes the daemon panic");
}

/// Requests the dashboard gets from browsers: the seeds of the raw-request target.
fn dashboard_requests(port: u16, cookie: &str) -> Vec<String> {
    let origin = format!("Origin: http://127.0.0.1:{port}\r\n");
    let head = |method: &str, path: &str, extra: &str, body: &str| {
        format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{origin}Cookie: {cookie}\r\n\
             {extra}Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    vec![
        head("GET", "/api/sessions?q=x&hours=24", "", ""),
        head(
            "GET",
            "/api/sessions/abcd/transcript?offset=0&limit=50",
            "",
            "",
        ),
        head("GET", "/login?token=00ff", "", ""),
        head(
            "GET",
            "/pair?code=ABCDEFGH",
            "User-Agent: Mozilla/5.0 (Linux; Android 14)\r\n",
            "",
        ),
        head(
            "POST",
            "/pair",
            "Content-Type: application/x-www-form-urlencoded\r\n",
            "code=ABCDEFGH&name=My+phone",
        ),
        head(
            "POST",
            "/api/agents/abcd/send",
            "Content-Type: application/json\r\n",
            "{\"message\":\"hi\"}",
        ),
        head(
            "GET",
            "/ws?since=3",
            "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
            "",
        ),
    ]
}

/// Sends `request` as it is and reads the answer; the status, or 0 when the connection
/// ended without one.
fn send_raw(port: u16, request: &[u8]) -> u16 {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(15)))
        .expect("timeout");
    let _ = stream.write_all(request);
    // Whatever the request promised, nothing more comes: the server must answer now.
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer)
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// What a stranger (and a page) can send the dashboard, through its real socket: request
/// heads, pairing forms, JSON bodies for every POST route that cannot start an agent, and
/// WebSocket frames. Every request gets an answer (a handler that panicked would drop the
/// connection instead), pairing never answers 5xx, and the dashboard serves on afterwards.
#[test]
fn fuzz_dashboard_http_inputs() {
    use orchestra_tests::web::{Dashboard, http, login_cookie, upgrade};
    let env = orchestra_tests::TestEnv::new();
    // Not a repository: a fuzzed cleanup or merge finds nothing to change.
    let nowhere = env.root.path().join("not-a-repo");
    std::fs::create_dir_all(&nowhere).expect("dir");
    let dash = Dashboard::start(&env, &["--repo", nowhere.to_str().expect("utf-8")]);
    let port = dash.port;
    let cookie = login_cookie(&env, port);
    let origin = format!("http://127.0.0.1:{port}");

    let requests = dashboard_requests(port, &cookie);
    runner(cases(150))
        .run(&input_line(requests), |request| {
            // A request cut short or made of noise may get no answer (the server just
            // closes); one that still parses as HTTP must not kill the connection's task.
            let _ = send_raw(port, &request);
            Ok(())
        })
        .expect("no request head makes the dashboard panic");

    let forms = vec![
        "code=ABCDEFGH&name=My+phone".to_owned(),
        "code=abcdefgh".to_owned(),
        "code=&name=".to_owned(),
        "name=cli&code=X".to_owned(),
    ];
    runner(cases(150))
        .run(&input_line(forms), |form| {
            let form = String::from_utf8_lossy(&form);
            let (status, head, _) = http(
                port,
                "POST",
                "/pair",
                &[
                    ("Origin", origin.as_str()),
                    ("Content-Type", "application/x-www-form-urlencoded"),
                ],
                &form,
            );
            prop_assert!((200..500).contains(&status), "{form:?}: {head}");
            Ok(())
        })
        .expect("no pairing form breaks the dashboard");

    const ROUTES: &[&str] = &[
        "/api/agents/abcd/send",
        "/api/agents/abcd/stop",
        "/api/approvals/abcd/decide",
        "/api/cleanup",
        "/api/merge",
        "/api/push/subscribe",
        "/api/push/unsubscribe",
    ];
    let bodies = vec![
        r#"{"message":"hi"}"#.to_owned(),
        r#"{"decision":"allow","message":""}"#.to_owned(),
        r#"{"repo":"","all":true}"#.to_owned(),
        r#"{"repo":"","batch_id":"abcd"}"#.to_owned(),
        r#"{"endpoint":"http://127.0.0.1:9/p","keys":{"p256dh":"BAAA","auth":"AAAA"}}"#.to_owned(),
    ];
    runner(cases(200))
        .run(&(select(ROUTES), input_line(bodies)), |(route, body)| {
            let body = String::from_utf8_lossy(&body);
            let (status, head, _) = http(
                port,
                "POST",
                route,
                &[
                    ("Origin", origin.as_str()),
                    ("Cookie", cookie.as_str()),
                    ("Content-Type", "application/json"),
                ],
                &body,
            );
            prop_assert!(status != 0, "{route} {body:?}: no answer ({head})");
            Ok(())
        })
        .expect("no JSON body makes the dashboard panic");

    let frame = (
        any::<u8>(),
        any::<bool>(),
        prop::collection::vec(any::<u8>(), 0..300),
    );
    runner(cases(60))
        .run(&prop::collection::vec(frame, 1..6), |frames| {
            use std::io::Write as _;
            let headers = [("Origin", origin.as_str()), ("Cookie", cookie.as_str())];
            let Ok(mut socket) = upgrade(port, "/ws", &headers) else {
                // 16 sockets are still closing: this case has nowhere to go.
                return Ok(());
            };
            for (first, masked, payload) in frames {
                let mut bytes = vec![first];
                let len = payload.len().min(125) as u8;
                bytes.push(if masked { 0x80 | len } else { len });
                if masked {
                    bytes.extend_from_slice(&[1, 2, 3, 4]);
                }
                bytes.extend_from_slice(&payload[..len as usize]);
                if socket.write_all(&bytes).is_err() {
                    break;
                }
            }
            Ok(())
        })
        .expect("no WebSocket frame makes the dashboard panic");

    let (status, _, body) = http(port, "GET", "/api/info", &[("Cookie", cookie.as_str())], "");
    assert_eq!(status, 200, "the dashboard serves on: {body}");
}

/// What a hand-started session's hook sends `Ask`: the permission request is read by one
/// parser, which answers every input with a request or a reason, never a panic.
#[test]
fn fuzz_ask_input() {
    let seeds = hook_inputs();
    runner(cases(20_000))
        .run(&input_line(seeds), |input| {
            let text = String::from_utf8_lossy(&input);
            if let Ok(request) = orchestrad::claude::hooks::PermissionRequest::parse(&text) {
                prop_assert!(!request.tool_name.is_empty());
            }
            Ok(())
        })
        .expect("no hook input makes the permission request parser panic");
}

/// A certificate or key file the user points `tls_cert` / `tls_key` at, damaged in any
/// way: loading it is an error that names the file, never a panic.
#[test]
fn fuzz_certificate_files() {
    use orchestra_dashboard::cert::{CertFiles, load_or_create};
    let dir = tempfile::tempdir().expect("tempdir");
    // A real pair to mutate.
    let made = CertFiles::generated(dir.path());
    load_or_create(&made, false).expect("a generated certificate");
    let cert = std::fs::read(&made.cert).expect("cert");
    let key = std::fs::read(&made.key).expect("key");
    let own = CertFiles {
        cert: dir.path().join("own-cert.pem"),
        key: dir.path().join("own-key.pem"),
        own: true,
    };
    let damaged = |file: Vec<u8>| {
        (
            Just(file.clone()),
            prop::collection::vec((any::<Index>(), any::<u8>()), 0..8),
            any::<Index>(),
        )
            .prop_map(|(mut bytes, changes, cut)| {
                for (at, byte) in changes {
                    let i = at.index(bytes.len().max(1));
                    if i < bytes.len() {
                        bytes[i] = byte;
                    }
                }
                bytes.truncate(cut.index(bytes.len() + 1));
                bytes
            })
    };
    runner(cases(400))
        .run(&(damaged(cert), damaged(key)), |(cert, key)| {
            std::fs::write(&own.cert, &cert).expect("write");
            std::fs::write(&own.key, &key).expect("write");
            if let Err(err) = load_or_create(&own, false) {
                let text = err.to_string();
                prop_assert!(
                    text.contains("own-cert.pem")
                        || text.contains("own-key.pem")
                        || text.contains("certificate"),
                    "{}",
                    text
                );
            }
            Ok(())
        })
        .expect("no damaged certificate file makes the loader panic");
}
