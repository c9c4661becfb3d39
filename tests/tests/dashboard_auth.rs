//! The dashboard is safe by default: on loopback it refuses foreign hosts and origins;
//! in LAN mode every route and the WebSocket refuse a request without a paired token,
//! and pairing works end to end. Plain HTTP over a socket (`--insecure-http`), so nothing
//! is hidden.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};

use orchestra_tests::{TestEnv, bin, wait_until};

/// A running `orchestra-dashboard`, killed on drop.
struct Dashboard {
    child: Child,
    port: u16,
    code: Option<String>,
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_dashboard(env: &TestEnv, lan: bool) -> Dashboard {
    env.ctl_ok(&["daemon", "start"]);
    let mut cmd = env.command(bin("orchestra-dashboard"));
    cmd.args(["--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if lan {
        // These tests are about pairing and tokens, read on the wire: plain HTTP keeps
        // them simple. TLS itself is tested in dashboard_tls.rs.
        cmd.args(["--lan", "--insecure-http"]);
    }
    let mut child = cmd.spawn().expect("dashboard");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut port = None;
    let mut code = None;
    while let Some(Ok(line)) = lines.next() {
        if let Some(rest) = line.strip_prefix("dashboard listening on http://127.0.0.1:") {
            port = rest.trim_end_matches('/').parse().ok();
        }
        if let Some(rest) = line.strip_prefix("pairing code: ") {
            code = Some(rest.trim().to_owned());
        }
        if port.is_some() && (!lan || code.is_some()) {
            break;
        }
    }
    // Keep draining stdout so the dashboard never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Dashboard {
        child,
        port: port.expect("the dashboard printed its port"),
        code,
    }
}

/// One HTTP/1.1 request; returns (status, head, body).
fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n");
    if !headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("connection"))
    {
        request.push_str("Connection: close\r\n");
    }
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).expect("write");
    let mut response = Vec::new();
    // A successful WebSocket upgrade keeps the connection open: read the head only then.
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .expect("timeout");
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_owned(), body.to_owned())
}

const WS: &[(&str, &str)] = &[
    ("Upgrade", "websocket"),
    ("Connection", "Upgrade"),
    ("Sec-WebSocket-Version", "13"),
    ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
];

/// Every route the dashboard serves, with a method that reaches it.
const ROUTES: &[(&str, &str)] = &[
    ("GET", "/"),
    ("GET", "/app.js"),
    ("GET", "/agents.js"),
    ("GET", "/approvals.js"),
    ("GET", "/dom.js"),
    ("GET", "/live.js"),
    ("GET", "/logs.js"),
    ("GET", "/notify.js"),
    ("GET", "/panel.js"),
    ("GET", "/sessions.js"),
    ("GET", "/tabs.js"),
    ("GET", "/transcript.js"),
    ("GET", "/worktrees.js"),
    ("GET", "/app.css"),
    ("GET", "/manifest.webmanifest"),
    ("GET", "/sw.js"),
    ("GET", "/icon.svg"),
    ("GET", "/icon-192.png"),
    ("GET", "/icon-512.png"),
    ("GET", "/api/info"),
    ("GET", "/api/agents"),
    ("POST", "/api/agents"),
    ("POST", "/api/agents/abcd/stop"),
    ("POST", "/api/agents/abcd/send"),
    ("GET", "/api/sessions"),
    ("GET", "/api/sessions/abcd/transcript"),
    ("POST", "/api/sessions/abcd/resume"),
    ("GET", "/api/worktrees"),
    ("POST", "/api/cleanup"),
    ("GET", "/batches.js"),
    ("POST", "/api/merge"),
    ("GET", "/api/report"),
];

#[test]
fn lan_mode_refuses_every_route_and_the_websockets_without_a_paired_token() {
    let env = TestEnv::new();
    let dash = start_dashboard(&env, true);
    let origin = format!("http://127.0.0.1:{}", dash.port);
    let with_origin = [
        ("Origin", origin.as_str()),
        ("Content-Type", "application/json"),
    ];
    for (method, path) in ROUTES {
        let (status, _, _) = http(
            dash.port,
            method,
            path,
            &with_origin,
            if *method == "POST" { "{}" } else { "" },
        );
        assert_eq!(status, 401, "{method} {path} without a token");
        let bogus = [
            ("Origin", origin.as_str()),
            ("Cookie", "orchestra_token=0000"),
        ];
        let (status, _, _) = http(
            dash.port,
            method,
            path,
            &bogus,
            if *method == "POST" { "{}" } else { "" },
        );
        assert_eq!(status, 401, "{method} {path} with a bogus token");
    }
    for path in ["/ws", "/ws?since=3", "/ws/logs/abcd"] {
        let mut headers = WS.to_vec();
        headers.push(("Origin", origin.as_str()));
        let (status, _, _) = http(dash.port, "GET", path, &headers, "");
        assert_eq!(status, 401, "WebSocket {path} without a token");
    }

    // Pairing: the page is open, a wrong code is refused, the right one gives a cookie.
    let code = dash.code.clone().expect("a pairing code");
    let (status, _, page) = http(dash.port, "GET", &format!("/pair?code={code}"), &[], "");
    assert_eq!(status, 200);
    assert!(
        page.contains("<form method=post"),
        "the code is spent by a POST, not by opening the link"
    );
    let form = [
        ("Origin", origin.as_str()),
        ("Content-Type", "application/x-www-form-urlencoded"),
    ];
    let (status, _, _) = http(dash.port, "POST", "/pair", &form, "code=WRONGCOD");
    assert_eq!(status, 401);
    let (status, head, _) = http(dash.port, "POST", "/pair", &form, &format!("code={code}"));
    assert_eq!(status, 303, "{head}");
    let cookie_line = head
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .expect("a cookie");
    assert!(
        cookie_line.contains("HttpOnly") && cookie_line.contains("SameSite=Strict"),
        "{cookie_line}"
    );
    let token = cookie_line
        .split("orchestra_token=")
        .nth(1)
        .and_then(|r| r.split(';').next())
        .expect("token");
    let cookie = format!("orchestra_token={token}");
    let (status, _, _) = http(dash.port, "POST", "/pair", &form, &format!("code={code}"));
    assert_eq!(status, 401, "a code works once");

    // With the cookie, the routes and the WebSocket answer.
    let paired = [("Origin", origin.as_str()), ("Cookie", cookie.as_str())];
    for path in ["/", "/app.js", "/api/agents", "/api/info"] {
        let (status, _, _) = http(dash.port, "GET", path, &paired, "");
        assert_eq!(status, 200, "{path} with the token");
    }
    let mut headers = WS.to_vec();
    headers.extend_from_slice(&paired);
    let (status, _, _) = http(dash.port, "GET", "/ws", &headers, "");
    assert_eq!(status, 101, "the WebSocket opens with the token");
    // ... but never for another origin, even with the token.
    let mut evil = WS.to_vec();
    evil.push(("Origin", "http://evil.example"));
    evil.push(("Cookie", cookie.as_str()));
    let (status, _, _) = http(dash.port, "GET", "/ws", &evil, "");
    assert_eq!(status, 403);
    let (status, _, _) = http(
        dash.port,
        "POST",
        "/api/agents",
        &[
            ("Cookie", cookie.as_str()),
            ("Content-Type", "application/json"),
        ],
        "{\"tasks\":[\"x\"]}",
    );
    assert_eq!(status, 403, "a change without an Origin is refused");

    // The device is listed, and once revoked its token stops working.
    let devices = env.ctl_json(&["web", "devices"]);
    let devices = devices.as_array().expect("devices");
    assert_eq!(devices.len(), 1);
    let id = devices[0]["id"].as_str().expect("id").to_owned();
    env.ctl_ok(&["web", "revoke", &id]);
    wait_until("the revoked token is refused", || {
        http(dash.port, "GET", "/api/agents", &paired, "").0 == 401
    });

    // Wrong codes are rate-limited: after five, even attempts are refused for a while.
    for _ in 0..5 {
        http(dash.port, "POST", "/pair", &form, "code=BADBADBA");
    }
    let (status, _, _) = http(dash.port, "POST", "/pair", &form, "code=BADBADBA");
    assert_eq!(status, 429);
}

#[test]
fn loopback_mode_refuses_foreign_hosts_and_origins_and_sets_a_strict_csp() {
    let env = TestEnv::new();
    let dash = start_dashboard(&env, false);
    let (status, head, page) = http(dash.port, "GET", "/", &[], "");
    assert_eq!(status, 200);
    let csp = head
        .lines()
        .find(|l| {
            l.to_ascii_lowercase()
                .starts_with("content-security-policy:")
        })
        .expect("a CSP header");
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(!page.contains("<script>"), "no inline script in the page");
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "no CDN: every asset is served from here"
    );

    // DNS rebinding: a foreign Host is refused even from this machine.
    let mut stream = TcpStream::connect(("127.0.0.1", dash.port)).expect("connect");
    stream
        .write_all(b"GET /api/agents HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n")
        .expect("write");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");

    let (status, _, _) = http(
        dash.port,
        "POST",
        "/api/agents",
        &[
            ("Origin", "http://evil.example"),
            ("Content-Type", "application/json"),
        ],
        "{\"tasks\":[\"x\"]}",
    );
    assert_eq!(status, 403, "cross-site requests are refused");
    let mut headers = WS.to_vec();
    headers.push(("Origin", "http://evil.example"));
    assert_eq!(http(dash.port, "GET", "/ws", &headers, "").0, 403);
    let origin = format!("http://127.0.0.1:{}", dash.port);
    let mut headers = WS.to_vec();
    headers.push(("Origin", origin.as_str()));
    assert_eq!(http(dash.port, "GET", "/ws", &headers, "").0, 101);
}
