//! Bounds on everything a peer can send: an oversized gRPC request, request body, or
//! WebSocket message, too many messages a second, and too many sockets per device. Each is
//! refused with a clear answer, and the daemon and the dashboard keep serving.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};

use orchestra_proto::v1::agents_client::AgentsClient;
use orchestra_proto::v1::daemon_client::DaemonClient;
use orchestra_proto::v1::{SpawnRequest, StatusRequest};
use orchestra_tests::{TestEnv, bin};

#[tokio::test]
async fn an_oversized_grpc_request_is_refused_and_the_daemon_carries_on() {
    let env = TestEnv::new();
    let daemon = env.daemon_in_process().await;
    let channel = orchestra_proto::connect(&env.socket)
        .await
        .expect("connect");
    let huge = "x".repeat(orchestra_proto::MAX_REQUEST + 1);
    let refused = AgentsClient::new(channel.clone())
        .spawn(SpawnRequest {
            tasks: vec![huge],
            ..SpawnRequest::default()
        })
        .await
        .expect_err("a request over MAX_REQUEST is refused");
    assert!(
        matches!(
            refused.code(),
            tonic::Code::ResourceExhausted | tonic::Code::OutOfRange
        ),
        "{refused:?}"
    );
    assert!(refused.message().contains("too large"), "{refused:?}");
    DaemonClient::new(channel)
        .status(StatusRequest::default())
        .await
        .expect("the daemon still answers");
    daemon.shutdown().await;
}

/// A loopback dashboard, killed on drop, and the cookie of a browser logged in to it.
struct Dashboard(Child, u16, String);

impl Drop for Dashboard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_dashboard(env: &TestEnv) -> Dashboard {
    env.ctl_ok(&["daemon", "start"]);
    let mut child = env
        .command(bin("orchestra-dashboard"))
        .args(["--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("dashboard");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let port = lines
        .find_map(|line| {
            line.ok()?
                .strip_prefix("dashboard listening on http://127.0.0.1:")?
                .trim_end_matches('/')
                .parse()
                .ok()
        })
        .expect("the dashboard printed its port");
    std::thread::spawn(move || for _ in lines {});
    let cookie = orchestra_tests::web::login_cookie(env, port);
    Dashboard(child, port, cookie)
}

/// Opens a WebSocket on `path` with `cookie`; returns the stream after the 101, or the
/// refusal.
fn upgrade(port: u16, cookie: &str, path: &str) -> Result<TcpStream, String> {
    let origin = format!("http://127.0.0.1:{port}");
    orchestra_tests::web::upgrade(port, path, &[("Origin", &origin), ("Cookie", cookie)])
}

/// A masked client text frame (mask 0, so the payload is sent as is).
fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0x81];
    match payload.len() {
        n if n < 126 => out.push(0x80 | n as u8),
        n if n < 65536 => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(payload);
    out
}

/// Reads server frames until a close frame; returns its code and reason.
fn close_code(stream: &mut TcpStream) -> (u16, String) {
    loop {
        let mut head = [0u8; 2];
        stream
            .read_exact(&mut head)
            .expect("a frame from the server");
        let len = match head[1] & 0x7f {
            126 => {
                let mut n = [0u8; 2];
                stream.read_exact(&mut n).expect("len");
                u16::from_be_bytes(n) as usize
            }
            127 => {
                let mut n = [0u8; 8];
                stream.read_exact(&mut n).expect("len");
                u64::from_be_bytes(n) as usize
            }
            n => n as usize,
        };
        let mut payload = vec![0u8; len];
        stream.read_exact(&mut payload).expect("payload");
        if head[0] & 0x0f == 0x8 {
            let code = u16::from_be_bytes([payload[0], payload[1]]);
            return (code, String::from_utf8_lossy(&payload[2..]).into_owned());
        }
    }
}

#[test]
fn the_dashboard_bounds_bodies_websockets_and_sockets_per_device() {
    let env = TestEnv::new();
    let dashboard = start_dashboard(&env);
    let (port, cookie) = (dashboard.1, dashboard.2.as_str());

    // A request body over 1 MiB: 413, not a buffered megabyte more.
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let body = format!("{{\"tasks\": [\"{}\"]}}", "x".repeat(2 * 1024 * 1024));
    write!(
        stream,
        "POST /api/agents HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: http://127.0.0.1:{port}\r\n\
         Content-Type: application/json\r\nCookie: {cookie}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .expect("head");
    let _ = stream.write_all(body.as_bytes());
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");

    // A message over 64 KiB: closed with 1009 (message too big) and a reason.
    let mut ws = upgrade(port, cookie, "/ws").expect("upgrade");
    ws.write_all(&frame(&vec![b'x'; 100 * 1024]))
        .expect("send a big frame");
    let (code, reason) = close_code(&mut ws);
    assert_eq!(code, 1009, "{reason}");

    // More than 20 messages a second: closed with 1008 (policy) and a reason.
    let mut ws = upgrade(port, cookie, "/ws").expect("upgrade");
    for _ in 0..40 {
        if ws.write_all(&frame(b"hello")).is_err() {
            break;
        }
    }
    let (code, reason) = close_code(&mut ws);
    assert_eq!(code, 1008, "{reason}");
    assert!(reason.contains("messages a second"), "{reason}");
    drop(ws);

    // At most 16 open per device; the 17th is refused with 429 until one closes.
    let mut open: Vec<TcpStream> = Vec::new();
    orchestra_tests::wait_until("the closed sockets free their slots", || {
        open.clear();
        (0..16).all(|_| upgrade(port, cookie, "/ws").map(|ws| open.push(ws)).is_ok())
    });
    let refused = upgrade(port, cookie, "/ws").expect_err("the 17th is refused");
    assert!(refused.starts_with("HTTP/1.1 429"), "{refused}");
    assert!(refused.contains("close some tabs"), "{refused}");
    drop(open.pop());
    orchestra_tests::wait_until("a freed slot is usable again", || {
        upgrade(port, cookie, "/ws").map(|ws| open.push(ws)).is_ok()
    });

    // And the dashboard still serves.
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(
        stream,
        "GET /api/info HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

/// Writes a session whose middle line is a tool result of `big` bytes, between a prompt
/// and an answer that both mention "needle"; the big line mentions it too.
fn session_with_a_huge_line(env: &TestEnv, big: usize) -> std::path::PathBuf {
    let dir = env.projects_dir().join("-tmp-huge");
    std::fs::create_dir_all(&dir).expect("project dir");
    let path = dir.join("5e55f00d-0000-4000-8000-000000000040.jsonl");
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
    let line = |value: serde_json::Value| value.to_string() + "\n";
    file.write_all(
        line(
            serde_json::json!({"type": "user", "timestamp": now, "cwd": "/tmp/huge",
            "message": {"role": "user", "content": "find the needle in the log"}}),
        )
        .as_bytes(),
    )
    .expect("write");
    let head = r#"{"parentUuid":null,"type":"user","message":{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"needle "#;
    file.write_all(head.as_bytes()).expect("write");
    let chunk = "0123456789abcdef".repeat(4096);
    let mut left = big - head.len() - 3 - r#""}]}}"#.len();
    while left > 0 {
        let n = left.min(chunk.len());
        file.write_all(&chunk.as_bytes()[..n]).expect("write");
        left -= n;
    }
    file.write_all(br#"end"}]}}"#).expect("write");
    file.write_all(b"\n").expect("write");
    file.write_all(
        line(serde_json::json!({"type": "assistant", "timestamp": now,
            "message": {"role": "assistant", "model": "claude-opus-5-5",
                "content": [{"type": "text", "text": "the needle is found"}],
                "usage": {"input_tokens": 10, "output_tokens": 5}}}))
        .as_bytes(),
    )
    .expect("write");
    file.flush().expect("flush");
    path
}

/// Issue #22 item 5: export, transcript and search read a session line by line and keep
/// at most 1 MiB of a line, so a file with one 40 MiB line neither swells the daemon
/// (peak RSS, `VmHWM`, under 120 MB) nor the export (under 5 MB); the cut line is shown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_with_a_40_mib_line_is_exported_and_searched_in_bounded_memory() {
    use orchestra_proto::v1::TranscriptRequest;
    use orchestra_proto::v1::sessions_client::SessionsClient;
    let env = TestEnv::new();
    let path = session_with_a_huge_line(&env, 40 * 1024 * 1024);
    let daemon = env.spawn_daemon();
    let id = "5e55f00d";
    orchestra_tests::wait_until("the session is indexed", || {
        env.ctl_json(&["sessions", "--all"])
            .as_array()
            .is_some_and(|list| {
                list.iter()
                    .any(|s| s["session_id"].as_str().is_some_and(|s| s.starts_with(id)))
            })
    });

    // Indexing reads the line too (the index parses lines up to 32 MiB for their usage):
    // what export, search and transcript add on top of that is measured on its own.
    let indexed_kb = orchestra_proto::process::memory_kb(daemon.pid(), "VmHWM").expect("VmHWM");
    let out = env.root.path().join("export.md");
    env.ctl_ok(&["export", id, "-o", out.to_str().expect("utf-8 path")]);
    let markdown = std::fs::read_to_string(&out).expect("export written");
    assert!(
        markdown.len() < 5_000_000,
        "export of {} bytes",
        markdown.len()
    );
    assert!(markdown.contains("[line cut: 40 MiB]"), "{markdown}");
    assert!(
        markdown.contains("find the needle in the log"),
        "{markdown}"
    );
    assert!(markdown.contains("the needle is found"), "{markdown}");

    let hits = env.ctl_json(&["search", "needle"]);
    let snippets: Vec<&str> = hits
        .as_array()
        .expect("a list of hits")
        .iter()
        .filter_map(|hit| hit["snippet"].as_str())
        .collect();
    assert_eq!(snippets.len(), 2, "the prompt and the answer: {hits}");

    let channel = orchestra_proto::connect(&env.socket)
        .await
        .expect("connect");
    let transcript = SessionsClient::new(channel)
        .transcript(TranscriptRequest {
            id: id.to_owned(),
            ..TranscriptRequest::default()
        })
        .await
        .expect("transcript")
        .into_inner();
    let roles: Vec<(&str, &str)> = transcript
        .messages
        .iter()
        .map(|m| (m.role.as_str(), m.text.as_str()))
        .collect();
    assert_eq!(
        roles,
        [
            ("user", "find the needle in the log"),
            ("cut", "[line cut: 40 MiB]"),
            ("assistant", "the needle is found"),
        ]
    );

    let peak_kb = orchestra_proto::process::memory_kb(daemon.pid(), "VmHWM").expect("VmHWM");
    eprintln!(
        "daemon peak RSS: {} MB ({} MB after indexing)",
        peak_kb / 1024,
        indexed_kb / 1024
    );
    assert!(
        peak_kb < 120 * 1024,
        "the daemon peaked at {} MB (limit 120 MB) on a {} MB file",
        peak_kb / 1024,
        std::fs::metadata(&path).expect("meta").len() / 1_000_000
    );
    assert!(
        peak_kb - indexed_kb < 16 * 1024,
        "export, search and transcript took the peak from {} MB to {} MB",
        indexed_kb / 1024,
        peak_kb / 1024
    );
}
