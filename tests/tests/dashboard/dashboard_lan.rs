//! The LAN holds (issue 22): what a stranger on the network, or a device the user gave up
//! on, can still do to `web --lan`. Revoking a device closes its open WebSockets within
//! 10 s; wrong pairing codes lock out their own address only; silent connections from one
//! address keep nobody else out and are closed within 30 s; a Host that does not name
//! this machine is refused (DNS rebinding); a device is named by its user. Real sockets
//! against a real dashboard, with the real timeouts.

use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use orchestra_tests::web::{
    Dashboard, connect_from, cookie_pair, http, http_from, https, set_cookie, until_close, upgrade,
};
use orchestra_tests::{TestEnv, wait_until};

/// Another machine on the LAN, as far as the dashboard can tell.
const STRANGER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
/// A phone's browser.
const ANDROID_CHROME: &str = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 \
(KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36";

/// A LAN dashboard over plain HTTP (these tests read the wire; TLS is dashboard_tls.rs).
fn lan_dashboard(env: &TestEnv) -> Dashboard {
    Dashboard::start(env, &["--lan", "--insecure-http"])
}

/// Pairs with `code` from 127.0.0.1 as a phone's browser; returns the cookie to send.
fn pair(dash: &Dashboard, code: &str) -> String {
    let origin = format!("http://127.0.0.1:{}", dash.port);
    let (status, head, body) = http(
        dash.port,
        "POST",
        "/pair",
        &[
            ("Origin", origin.as_str()),
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("User-Agent", ANDROID_CHROME),
        ],
        &format!("code={code}"),
    );
    assert_eq!(status, 303, "{head}\n{body}");
    cookie_pair(set_cookie(&head).expect("a cookie"))
}

#[test]
fn revoking_a_device_closes_its_open_websocket_within_10_s() {
    let env = TestEnv::new();
    let dash = lan_dashboard(&env);
    let cookie = pair(&dash, dash.code.as_deref().expect("a code"));
    let origin = format!("http://127.0.0.1:{}", dash.port);
    let headers = [("Origin", origin.as_str()), ("Cookie", cookie.as_str())];
    let mut live = upgrade(dash.port, "/ws", &headers).expect("the socket opens");
    let mut logs = upgrade(dash.port, "/ws/logs/abcd", &headers).expect("the socket opens");
    let devices = env.ctl_json(&["web", "devices"]);
    assert_eq!(devices[0]["name"], "Chrome on Android", "{devices}");
    let id = devices[0]["id"].as_str().expect("id").to_owned();

    env.ctl_ok(&["web", "revoke", &id]);
    let revoked = Instant::now();
    let (code, reason) =
        until_close(&mut live, Duration::from_secs(10)).expect("a close frame that says why");
    assert_eq!(code, 1008, "{reason}");
    assert!(reason.contains("unpaired"), "{reason}");
    // The log socket may have ended already (no such agent); either way it is closed.
    let _ = until_close(&mut logs, Duration::from_secs(10));
    // And its next request is refused, within the same 10 s.
    let (status, _, _) = http(dash.port, "GET", "/api/agents", &headers, "");
    assert_eq!(status, 401);
    assert!(
        revoked.elapsed() < Duration::from_secs(10),
        "{:?}",
        revoked.elapsed()
    );
}

#[test]
fn wrong_codes_from_one_address_lock_out_only_that_address() {
    let env = TestEnv::new();
    let dash = lan_dashboard(&env);
    let origin = format!("http://127.0.0.1:{}", dash.port);
    let form = [
        ("Origin", origin.as_str()),
        ("Content-Type", "application/x-www-form-urlencoded"),
    ];
    let mut statuses = Vec::new();
    for _ in 0..40 {
        let (status, _, _) =
            http_from(STRANGER, dash.port, "POST", "/pair", &form, "code=BADBADBA");
        statuses.push(status);
    }
    assert_eq!(&statuses[..5], &[401; 5], "{statuses:?}");
    assert!(statuses[5..].iter().all(|s| *s == 429), "{statuses:?}");
    let code = dash.code.as_deref().expect("a code");
    let (status, _, body) = http_from(
        STRANGER,
        dash.port,
        "POST",
        "/pair",
        &form,
        &format!("code={code}"),
    );
    assert_eq!(
        status, 429,
        "even the right code waits at that address: {body}"
    );

    // 127.0.0.1 is not 127.0.0.2: it pairs, and the pairing page offered a short name.
    let (status, _, page) = http(
        dash.port,
        "GET",
        "/pair",
        &[("User-Agent", ANDROID_CHROME)],
        "",
    );
    assert_eq!(status, 200);
    assert!(
        page.contains("name=name value=\"Chrome on Android\""),
        "{page}"
    );
    assert!(!page.contains("Mozilla"), "never the raw User-Agent");
    pair(&dash, code);
    let devices = env.ctl_json(&["web", "devices"]);
    assert_eq!(devices[0]["name"], "Chrome on Android");
}

#[test]
fn lan_requests_must_name_this_machine_as_host() {
    let env = TestEnv::new();
    let dash = lan_dashboard(&env);
    let port = dash.port;
    let cookie = pair(&dash, dash.code.as_deref().expect("a code"));
    let get = |host: &str| {
        http(
            port,
            "GET",
            "/api/info",
            &[("Host", host), ("Cookie", cookie.as_str())],
            "",
        )
    };
    let (status, _, body) = get(&format!("evil.example:{port}"));
    assert_eq!(status, 403, "DNS rebinding: {body}");
    assert!(body.contains("this machine's name or address"), "{body}");
    assert_eq!(
        get(&format!("127.0.0.1:{}", port.wrapping_add(1))).0,
        403,
        "another port"
    );
    assert_eq!(get(&format!("127.0.0.1:{port}")).0, 200);
    assert_eq!(get(&format!("localhost:{port}")).0, 200);
    let hostname = nix::unistd::gethostname().expect("hostname");
    let hostname = hostname.to_str().expect("utf-8");
    assert_eq!(
        get(&format!("{hostname}:{port}")).0,
        200,
        "the machine's name"
    );
}

/// Opens `count` connections from `from` that send nothing.
fn silent(from: Ipv4Addr, port: u16, count: usize) -> Vec<TcpStream> {
    (0..count).map(|_| connect_from(from, port)).collect()
}

/// Waits until every connection of `held` has been closed by the server, and returns how
/// long that took.
fn all_closed(held: Vec<TcpStream>, since: Instant) -> Duration {
    for mut stream in held {
        stream
            .set_read_timeout(Some(Duration::from_secs(40)))
            .expect("timeout");
        let mut buf = [0u8; 512];
        // EOF or reset: closed. A timeout would leave Ok(n > 0) or WouldBlock.
        loop {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                // A refusal (plain HTTP on the TLS port) is not sent to silence.
                Ok(_) => {}
            }
        }
    }
    since.elapsed()
}

/// 100 silent connections from one address: the page still answers another client at
/// once, and every one of them is closed within 30 s. Over TLS (where silent peers used to
/// hold every handshake slot) and over plain HTTP (the request-header timeout).
#[test]
fn a_hundred_silent_connections_keep_nobody_out_and_are_closed_within_30_s() {
    let env = TestEnv::new();
    env.ctl_ok(&["daemon", "start"]);
    let cert = env.ctl_json(&["web", "cert"]);
    let cert_path = PathBuf::from(cert["cert_path"].as_str().expect("cert_path"));

    let tls = Dashboard::start(&env, &["--lan"]);
    let since = Instant::now();
    let held = silent(STRANGER, tls.port, 100);
    let (status, _, body) = https(&cert_path, tls.port, "GET", "/pair", &[], "");
    assert_eq!(status, 200, "the page answers over TLS: {body}");
    assert!(
        since.elapsed() < Duration::from_secs(5),
        "{:?}",
        since.elapsed()
    );
    let took = all_closed(held, since);
    assert!(took < Duration::from_secs(30), "closed after {took:?}");
    drop(tls);

    let plain = lan_dashboard(&env);
    let since = Instant::now();
    let mut held = silent(STRANGER, plain.port, 100);
    // One that starts a request and never finishes its headers (slowloris).
    let mut slow = connect_from(STRANGER, plain.port);
    slow.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .expect("write");
    held.push(slow);
    let (status, _, _) = http(plain.port, "GET", "/pair", &[], "");
    assert_eq!(status, 200, "the page answers over HTTP");
    let took = all_closed(held, since);
    assert!(took < Duration::from_secs(30), "closed after {took:?}");
    wait_until("the page still answers", || {
        http(plain.port, "GET", "/pair", &[], "").0 == 200
    });
}
