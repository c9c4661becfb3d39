//! The dashboard is safe by default: on loopback every route but the login page answers
//! 401 until the browser logs in with a one-time `orchestractl web link`, and foreign
//! hosts and origins are refused; in LAN mode every route and the WebSocket refuse a
//! request without a paired token, and pairing works end to end. Plain HTTP over a
//! socket (`--insecure-http`), so nothing is hidden.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt as _;
use std::process::{Child, Stdio};

use orchestra_tests::web::{
    Dashboard, cookie_pair, http, link_path, login_cookie, login_link, set_cookie,
};
use orchestra_tests::{TestEnv, bin, wait_until};

/// The dashboard, on loopback or (over plain HTTP: these tests read the wire) on the LAN.
/// TLS itself is tested in dashboard_tls.rs.
fn start_dashboard(env: &TestEnv, lan: bool) -> Dashboard {
    Dashboard::start(
        env,
        if lan {
            &["--lan", "--insecure-http"]
        } else {
            &[]
        },
    )
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
    ("GET", "/hosts.js"),
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
    ("GET", "/api/messages"),
    ("POST", "/api/approvals/abcd/answer"),
    ("GET", "/question.js"),
];

/// The routes of `ROUTES` that answer without a login.
const PUBLIC: &[&str] = &["/app.css", "/manifest.webmanifest"];

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
        // The style sheet of the pairing and login pages, and the manifest (browsers fetch
        // it without cookies: the page could not be installed otherwise), are all that
        // load without one.
        let expected = if PUBLIC.contains(path) { 200 } else { 401 };
        let (status, _, _) = http(
            dash.port,
            method,
            path,
            &with_origin,
            if *method == "POST" { "{}" } else { "" },
        );
        assert_eq!(status, expected, "{method} {path} without a token");
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
        assert_eq!(status, expected, "{method} {path} with a bogus token");
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
    let (status, _, body) = http(
        dash.port,
        "POST",
        "/pair",
        &form,
        &format!("code={code}&name=cli"),
    );
    assert_eq!(status, 400, "a device cannot call itself cli: {body}");
    assert!(body.contains("another name"), "{body}");
    let (status, head, _) = http(
        dash.port,
        "POST",
        "/pair",
        &form,
        &format!("code={code}&name=My+phone"),
    );
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
    assert_eq!(devices[0]["name"], "My phone", "named by its user");
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
    let cookie = login_cookie(&env, dash.port);
    let (status, head, page) = http(dash.port, "GET", "/", &[("Cookie", cookie.as_str())], "");
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
    assert_eq!(
        http(dash.port, "GET", "/ws", &headers, "").0,
        401,
        "not logged in"
    );
    headers.push(("Cookie", cookie.as_str()));
    assert_eq!(http(dash.port, "GET", "/ws", &headers, "").0, 101);
}

/// Another local account (or any program that can reach 127.0.0.1) gets nothing from the
/// loopback page without a login; the link of `orchestractl web link` logs a browser in
/// once and only once.
#[test]
fn loopback_mode_answers_401_without_a_login_and_a_web_link_logs_in_once() {
    let env = TestEnv::new();
    let dash = start_dashboard(&env, false);
    let origin = format!("http://127.0.0.1:{}", dash.port);
    // curl http://127.0.0.1:PORT/api/sessions, and every other route: 401.
    for (method, path) in ROUTES {
        let headers = [
            ("Origin", origin.as_str()),
            ("Content-Type", "application/json"),
        ];
        let body = if *method == "POST" { "{}" } else { "" };
        let (status, _, _) = http(dash.port, method, path, &headers, body);
        let expected = if PUBLIC.contains(path) { 200 } else { 401 };
        assert_eq!(status, expected, "{method} {path} without a login");
    }
    let (status, _, page) = http(dash.port, "GET", "/api/sessions", &[], "");
    assert_eq!(status, 401);
    assert!(
        page.contains("orchestractl web link"),
        "says how to get in: {page}"
    );
    for path in ["/ws", "/ws/logs/abcd"] {
        let mut headers = WS.to_vec();
        headers.push(("Origin", origin.as_str()));
        assert_eq!(http(dash.port, "GET", path, &headers, "").0, 401, "{path}");
    }

    // The link: for this page, valid 60 seconds.
    let link = login_link(&env, dash.port);
    let url = link["url"].as_str().expect("url");
    assert!(
        url.starts_with(&format!("http://127.0.0.1:{}/login?token=", dash.port)),
        "{link}"
    );
    let expires =
        chrono::DateTime::parse_from_rfc3339(link["expires_at"].as_str().expect("expires_at"))
            .expect("an RFC 3339 time");
    let left = expires
        .signed_duration_since(chrono::Utc::now())
        .num_seconds();
    assert!((50..=61).contains(&left), "valid about 60 s: {left} s left");
    let (status, head, _) = http(dash.port, "GET", &link_path(&link), &[], "");
    assert_eq!(status, 303, "{head}");
    assert!(
        head.lines().any(|l| l.eq_ignore_ascii_case("location: /")),
        "to the page: {head}"
    );
    let cookie_line = set_cookie(&head).expect("a cookie");
    for attribute in ["; HttpOnly", "; SameSite=Strict", "; Path=/"] {
        assert!(
            cookie_line.contains(attribute),
            "{attribute}: {cookie_line}"
        );
    }
    let cookie = cookie_pair(cookie_line);
    assert!(cookie.starts_with("orchestra_token="), "{cookie}");
    let (status, _, body) = http(
        dash.port,
        "GET",
        "/api/sessions",
        &[("Cookie", cookie.as_str())],
        "",
    );
    assert_eq!(status, 200, "{body}");
    // Once only: the same link again (another browser, say) gets nothing.
    let (status, head, body) = http(dash.port, "GET", &link_path(&link), &[], "");
    assert_eq!(status, 401, "{head}");
    assert!(set_cookie(&head).is_none());
    assert!(body.contains("orchestractl web link"), "{body}");
    let (status, _, _) = http(dash.port, "GET", "/login?token=0000", &[], "");
    assert_eq!(status, 401, "a made-up token");

    // Without --port, the link is for the one dashboard running; a port where none runs
    // is an error that says what to do.
    let text = env.ctl_ok(&["web", "link"]);
    assert!(
        text.trim()
            .starts_with(&format!("http://127.0.0.1:{}/login?token=", dash.port)),
        "{text}"
    );
    let out = env.ctl(&["web", "link", "--port", "1"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no dashboard is serving on port 1"), "{err}");

    // The login is a device: listed, and revoking it logs the browser out.
    let devices = env.ctl_json(&["web", "devices"]);
    let id = devices[0]["id"].as_str().expect("id").to_owned();
    env.ctl_ok(&["web", "revoke", &id]);
    wait_until("the revoked login is refused", || {
        http(
            dash.port,
            "GET",
            "/api/sessions",
            &[("Cookie", cookie.as_str())],
            "",
        )
        .0 == 401
    });
}

/// `orchestractl web` prints a login link itself, so the first visit needs no second
/// command.
#[test]
fn orchestractl_web_prints_a_login_link() {
    let env = TestEnv::new();
    env.ctl_ok(&["daemon", "start"]);
    let mut child = env
        .command(bin("orchestractl"))
        .args(["web", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("orchestractl web");
    struct Group(Child);
    impl Drop for Group {
        fn drop(&mut self) {
            let group = nix::unistd::Pid::from_raw(self.0.id() as i32);
            let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
            let _ = self.0.wait();
        }
    }
    let lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let _web = Group(child);
    let url = lines
        .map_while(Result::ok)
        .find_map(|line| {
            let url = line.trim();
            url.contains("/login?token=").then(|| url.to_owned())
        })
        .expect("a login link");
    let rest = url
        .strip_prefix("http://127.0.0.1:")
        .expect("a loopback link");
    let (port, path) = rest.split_once('/').expect("port/path");
    let port: u16 = port.parse().expect("port");
    let (status, head, _) = http(port, "GET", &format!("/{path}"), &[], "");
    assert_eq!(status, 303, "{head}");
}
