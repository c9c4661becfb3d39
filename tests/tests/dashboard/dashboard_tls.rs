//! `web --lan` over TLS, as a user runs it: `orchestractl web --lan` answers only over
//! HTTPS with the certificate `orchestractl web cert` describes (checked with openssl),
//! plain HTTP on its port gets no page, the device cookie is `Secure`, the user's own
//! certificate from the config is used, and a phone-sized Chromium that trusts the
//! certificate pairs and gets a live, secure-context page.
//!
//! Needs `openssl` (and, for the browser test, `chromium` and `chromedriver`); under
//! `CI=true` a missing tool fails the test, elsewhere the test is skipped with a note.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::Locator;
use orchestra_tests::browser::{self, Browser};
use orchestra_tests::web::https;
use orchestra_tests::{TestEnv, bin, tools};

/// `orchestractl web ...` in its own process group, killed whole on drop.
struct Web {
    child: Child,
    port: u16,
    code: String,
    fingerprint: String,
}

impl Drop for Web {
    fn drop(&mut self) {
        let group = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

/// Runs `orchestractl web --lan --port 0` and reads what it prints.
fn start_web(env: &TestEnv) -> Web {
    let mut cmd = env.command(bin("orchestractl"));
    cmd.args(["web", "--lan", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0);
    let mut child = cmd.spawn().expect("orchestractl web");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let (mut port, mut code, mut fingerprint) = (None, None, None);
    let mut fingerprint_next = false;
    while let Some(Ok(line)) = lines.next() {
        if let Some(rest) = line.strip_prefix("dashboard listening on https://127.0.0.1:") {
            port = rest.trim_end_matches('/').parse().ok();
        }
        if let Some(rest) = line.strip_prefix("pairing code: ") {
            code = Some(rest.trim().to_owned());
        }
        if fingerprint_next {
            fingerprint = Some(line.trim().to_owned());
            break;
        }
        fingerprint_next = line.starts_with("certificate SHA-256 fingerprint");
    }
    std::thread::spawn(move || for _ in lines {});
    Web {
        child,
        port: port.expect("web --lan printed an https:// address"),
        code: code.expect("a pairing code"),
        fingerprint: fingerprint.expect("the certificate's fingerprint"),
    }
}

/// Pairs over TLS with the code `web` printed: the `Set-Cookie` line and the cookie to
/// send back (`name=value`).
fn pair(cert_path: &Path, web: &Web) -> (String, String) {
    let origin = format!("https://127.0.0.1:{}", web.port);
    let (status, head, _) = https(
        cert_path,
        web.port,
        "POST",
        "/pair",
        &[
            ("Origin", origin.as_str()),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        &format!("code={}", web.code),
    );
    assert_eq!(status, 303, "{head}");
    let cookie = head
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .expect("a cookie")
        .to_owned();
    let token = cookie
        .split_once(':')
        .and_then(|(_, v)| v.trim().split(';').next())
        .expect("name=value")
        .to_owned();
    (cookie, token)
}

/// What `openssl s_client` sees: the SHA-256 fingerprint of the presented certificate.
fn openssl_fingerprint(port: u16) -> String {
    let client = Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .expect("openssl s_client");
    let mut x509 = Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("openssl x509");
    x509.stdin
        .take()
        .expect("stdin")
        .write_all(&client.stdout)
        .expect("pipe");
    let out = x509.wait_with_output().expect("openssl x509 output");
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim()
        .split_once('=')
        .map(|(_, fp)| fp.to_owned())
        .unwrap_or_else(|| panic!("no fingerprint from openssl: {text:?}"))
}

#[test]
fn web_lan_answers_only_over_tls_with_the_certificate_web_cert_shows() {
    if tools::require(&["openssl"], "apt-get install openssl").is_none() {
        return;
    }
    let env = TestEnv::new();
    env.ctl_ok(&["daemon", "start"]);
    let cert = env.ctl_json(&["web", "cert"]);
    let fingerprint = cert["fingerprint_sha256"].as_str().expect("fingerprint");
    assert_eq!(cert["source"], "generated");
    assert!(cert["not_after"].as_str().is_some_and(|t| t > "2026"));
    let cert_path = PathBuf::from(cert["cert_path"].as_str().expect("cert_path"));
    let key_path = PathBuf::from(cert["key_path"].as_str().expect("key_path"));
    assert!(cert_path.starts_with(env.state_dir()), "{cert_path:?}");
    for path in [&cert_path, &key_path] {
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(path)
                .expect("cert files exist")
                .permissions(),
        );
        assert_eq!(mode & 0o777, 0o600, "{}", path.display());
    }

    let web = start_web(&env);
    assert_eq!(
        web.fingerprint, fingerprint,
        "printed beside the pairing link"
    );
    assert_eq!(
        openssl_fingerprint(web.port),
        fingerprint,
        "what openssl sees"
    );

    // Plain HTTP on the LAN port: no page, no cookie, a pointer to https.
    let mut plain = TcpStream::connect(("127.0.0.1", web.port)).expect("connect");
    plain
        .write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .expect("write");
    plain
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut answer = String::new();
    let _ = plain.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("https://"), "{answer}");
    assert!(
        !answer.contains('<') && !answer.to_ascii_lowercase().contains("set-cookie"),
        "no page: {answer}"
    );

    // Over TLS: the pairing page shows the fingerprint; pairing sets a Secure cookie.
    let (status, _, body) = https(&cert_path, web.port, "GET", "/", &[], "");
    assert_eq!(status, 401, "unpaired devices stay out: {body}");
    let (status, _, body) = https(&cert_path, web.port, "GET", "/pair", &[], "");
    assert_eq!(status, 200);
    assert!(body.contains(fingerprint), "the page shows the fingerprint");
    let origin = format!("https://127.0.0.1:{}", web.port);
    let form = [
        ("Origin", origin.as_str()),
        ("Content-Type", "application/x-www-form-urlencoded"),
    ];
    let plain_origin = format!("http://127.0.0.1:{}", web.port);
    let (status, _, _) = https(
        &cert_path,
        web.port,
        "POST",
        "/pair",
        &[("Origin", plain_origin.as_str()), form[1]],
        &format!("code={}", web.code),
    );
    assert_eq!(
        status, 403,
        "an http:// origin is foreign to the https:// page"
    );
    let (cookie, token) = pair(&cert_path, &web);
    for attribute in ["; Secure", "; HttpOnly", "; SameSite=Strict", "; Path=/"] {
        assert!(cookie.contains(attribute), "{attribute} missing: {cookie}");
    }
    assert!(
        token.starts_with("__Host-orchestra_token="),
        "a __Host- cookie over TLS: {cookie}"
    );
    assert!(!cookie.to_ascii_lowercase().contains("domain="), "{cookie}");
    let plain_name = token.replace("__Host-", "");
    let (status, _, _) = https(
        &cert_path,
        web.port,
        "GET",
        "/api/info",
        &[("Cookie", &plain_name)],
        "",
    );
    assert_eq!(status, 401, "over TLS only the __Host- cookie counts");
    let (status, _, body) = https(
        &cert_path,
        web.port,
        "GET",
        "/api/info",
        &[("Cookie", &token)],
        "",
    );
    assert_eq!(status, 200, "{body}");
    let info: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(info["tls"], true);
    assert_eq!(info["fingerprint_sha256"], fingerprint);
    let (status, _, _) = https(
        &cert_path,
        web.port,
        "GET",
        "/manifest.webmanifest",
        &[("Cookie", &token)],
        "",
    );
    assert_eq!(status, 200, "the manifest loads from the TLS origin");
    drop(web);

    // --renew makes a different certificate, which the next server presents.
    let renewed = env.ctl_json(&["web", "cert", "--renew"]);
    assert_eq!(renewed["created"], true);
    assert_ne!(renewed["fingerprint_sha256"], fingerprint);
    let web = start_web(&env);
    assert_eq!(
        openssl_fingerprint(web.port),
        renewed["fingerprint_sha256"].as_str().expect("fp")
    );
}

#[test]
fn the_users_own_certificate_comes_from_the_config() {
    let env = TestEnv::new();
    // Make a certificate, then move it out of the state dir as if the user had made it.
    let out = env
        .command(bin("orchestra-dashboard"))
        .args(["cert", "--json"])
        .output()
        .expect("orchestra-dashboard cert");
    assert!(out.status.success());
    let made: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let own = env.root.path().join("own");
    std::fs::create_dir_all(&own).expect("dir");
    let (cert, key) = (own.join("me.pem"), own.join("me-key.pem"));
    std::fs::rename(made["cert_path"].as_str().expect("p"), &cert).expect("move cert");
    std::fs::rename(made["key_path"].as_str().expect("p"), &key).expect("move key");
    env.write_config(&serde_json::json!({"tls_cert": cert, "tls_key": key}));
    env.ctl_ok(&["daemon", "start"]);
    let shown = env.ctl_json(&["web", "cert"]);
    assert_eq!(shown["source"], "config");
    assert_eq!(shown["cert_path"], cert.to_str().expect("utf-8"));
    assert_eq!(shown["fingerprint_sha256"], made["fingerprint_sha256"]);
    assert!(
        !Path::new(made["cert_path"].as_str().expect("p")).exists(),
        "no certificate is generated when the user has one"
    );
    let renew = env.ctl(&["web", "cert", "--renew"]);
    assert!(!renew.status.success());
    assert!(String::from_utf8_lossy(&renew.stderr).contains("your own"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_phone_that_trusts_the_certificate_pairs_and_gets_a_secure_cookie() {
    let Some(tools) = browser::chromium_and_driver() else {
        return;
    };
    let env = TestEnv::new();
    env.ctl_ok(&["daemon", "start"]);
    let cert = env.ctl_json(&["web", "cert"]);
    let spki = cert["spki_sha256_base64"]
        .as_str()
        .expect("spki")
        .to_owned();
    let web = start_web(&env);
    // Trust exactly this certificate's key, as a phone does once the user accepts it.
    let trust = format!("--ignore-certificate-errors-spki-list={spki}");
    let browser = Browser::start(&env, &tools, &[trust]).await;
    let client = &browser.client;
    let base = format!("https://127.0.0.1:{}", web.port);
    client
        .goto(&format!("{base}/pair?code={}", web.code))
        .await
        .expect("open the pairing link");
    let shown = client
        .find(Locator::Id("fingerprint"))
        .await
        .expect("the page shows the fingerprint")
        .text()
        .await
        .expect("text");
    assert_eq!(shown, web.fingerprint);
    client
        .find(Locator::Css("form button[type=submit]"))
        .await
        .expect("the pair button")
        .click()
        .await
        .expect("click");
    let deadline = Instant::now() + orchestra_tests::DEADLINE;
    while client.find(Locator::Css("#conn.live")).await.is_err() {
        if Instant::now() > deadline {
            let url = client.current_url().await.map(|u| u.to_string());
            let source = client.source().await.unwrap_or_default();
            panic!("the paired page never went live over wss:// ({url:?}):\n{source}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let note = client
        .find(Locator::Id("cert-fingerprint"))
        .await
        .expect("the app shows the fingerprint")
        .text()
        .await
        .expect("text");
    assert!(note.contains(&web.fingerprint), "{note}");
    browser::screenshot(client, "tls-paired").await;
    let secure = client
        .execute(
            "return [window.isSecureContext, 'serviceWorker' in navigator, location.protocol]",
            vec![],
        )
        .await
        .expect("script");
    assert_eq!(secure, serde_json::json!([true, true, "https:"]));
    // The service worker registers and activates from the TLS origin.
    let scope = client
        .execute_async(
            "const done = arguments[arguments.length - 1];\
             navigator.serviceWorker.ready.then(r => done(r.active ? r.scope : 'inactive'), e => done(String(e)));",
            vec![],
        )
        .await
        .expect("script");
    assert_eq!(scope, serde_json::json!(format!("{base}/")));
    let cookies = client.get_all_cookies().await.expect("cookies");
    let cookie = cookies
        .iter()
        .find(|c| c.name() == "__Host-orchestra_token")
        .expect("the device cookie");
    assert_eq!(cookie.secure(), Some(true), "Secure");
    assert_eq!(cookie.http_only(), Some(true), "HttpOnly");
    // fantoccini does not re-export the cookie crate's SameSite; its Debug form will do.
    assert_eq!(
        format!("{:?}", cookie.same_site()),
        "Some(Strict)",
        "SameSite=Strict"
    );
    let _ = browser.client.close().await;
}

/// One request a stand-in push service got.
#[derive(Debug)]
struct Pushed {
    /// "POST /push/abc HTTP/1.1".
    request_line: String,
    /// Headers, names lowercased.
    headers: std::collections::HashMap<String, String>,
    /// The raw (encrypted) body.
    body: Vec<u8>,
}

/// A stand-in push service on loopback: answers every request `201 Created`, as push
/// services do, and hands each one over.
fn push_service() -> (u16, std::sync::mpsc::Receiver<Pushed>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let mut reader = BufReader::new(stream);
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let mut headers = std::collections::HashMap::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                    break;
                }
                if let Some((name, value)) = line.split_once(':') {
                    headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
                }
            }
            let length = headers
                .get("content-length")
                .and_then(|l| l.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            let _ = reader.get_mut().write_all(
                b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
            let pushed = Pushed {
                request_line: request_line.trim().to_owned(),
                headers,
                body,
            };
            if tx.send(pushed).is_err() {
                return;
            }
        }
    });
    (port, rx)
}

/// Checks a push as a push service and then the phone would: the VAPID `Authorization`
/// is signed by the key the dashboard handed out, and the `aes128gcm` body decrypts, with
/// the browser's private key and secret, to the notification as a webhook gets it.
fn open_push(
    pushed: &Pushed,
    server_key: &str,
    browser: &web_push_native::p256::SecretKey,
    auth: &[u8; 16],
) -> serde_json::Value {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use web_push_native::jwt_simple::algorithms::{ECDSAP256PublicKeyLike as _, ES256PublicKey};
    assert!(
        pushed.request_line.starts_with("POST /push/phone-1 "),
        "{pushed:?}"
    );
    assert_eq!(pushed.headers["content-encoding"], "aes128gcm");
    assert_eq!(pushed.headers["ttl"], "3600");
    let authorization = &pushed.headers["authorization"];
    let (token, key) = authorization
        .strip_prefix("vapid t=")
        .and_then(|rest| rest.split_once(", k="))
        .unwrap_or_else(|| panic!("not `vapid t=..., k=...`: {authorization}"));
    assert_eq!(
        key, server_key,
        "signed with the key the page subscribed with"
    );
    let public = ES256PublicKey::from_bytes(&URL_SAFE_NO_PAD.decode(key).expect("b64"))
        .expect("a P-256 key");
    public
        .verify_token::<web_push_native::jwt_simple::claims::NoCustomClaims>(token, None)
        .expect("the VAPID token's signature holds");
    let claims: serde_json::Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').nth(1).expect("a JWT"))
            .expect("b64"),
    )
    .expect("json");
    assert_eq!(
        claims["aud"], "http://127.0.0.1",
        "the push service's origin"
    );
    assert!(
        claims["sub"]
            .as_str()
            .is_some_and(|s| s.starts_with("https://"))
    );
    let plain = web_push_native::decrypt(
        pushed.body.clone(),
        browser,
        &web_push_native::Auth::clone_from_slice(auth),
    )
    .expect("the body decrypts with the browser's keys");
    serde_json::from_slice(&plain).expect("the notification as JSON")
}

/// Web Push to a paired phone, through the API its page uses: the page gets the daemon's
/// VAPID key, hands over a subscription, and from then on the daemon's `notify test` and
/// its events reach the subscription's push service encrypted and signed; unpairing the
/// phone removes its channel. A browser cannot subscribe here (headless Chromium has no
/// push service to reach offline), so the subscription is made the way a browser makes
/// one: a fresh P-256 key and a 16-byte secret, with an endpoint on a local stand-in.
#[test]
fn a_paired_phone_subscribes_to_web_push_and_gets_encrypted_notifications() {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use web_push_native::p256::elliptic_curve::sec1::ToEncodedPoint as _;
    let env = TestEnv::new();
    env.ctl_ok(&["daemon", "start"]);
    let cert = env.ctl_json(&["web", "cert"]);
    let cert_path = PathBuf::from(cert["cert_path"].as_str().expect("cert_path"));
    let web = start_web(&env);
    let (_, cookie) = pair(&cert_path, &web);
    let origin = format!("https://127.0.0.1:{}", web.port);
    let json_post = |path: &str, body: &serde_json::Value| {
        https(
            &cert_path,
            web.port,
            "POST",
            path,
            &[
                ("Origin", origin.as_str()),
                ("Content-Type", "application/json"),
                ("Cookie", cookie.as_str()),
            ],
            &body.to_string(),
        )
    };

    let push_info = |web: &Web| {
        let (status, _, body) = https(
            &cert_path,
            web.port,
            "GET",
            "/api/push",
            &[("Cookie", cookie.as_str())],
            "",
        );
        assert_eq!(status, 200, "{body}");
        serde_json::from_str::<serde_json::Value>(&body).expect("json")
    };
    let info = push_info(&web);
    assert_eq!(info["available"], true, "{info}");
    let server_key = info["public_key"].as_str().expect("key").to_owned();
    assert_eq!(URL_SAFE_NO_PAD.decode(&server_key).expect("b64").len(), 65);

    let (port, pushes) = push_service();
    let browser = web_push_native::p256::SecretKey::random(
        &mut web_push_native::p256::elliptic_curve::rand_core::OsRng,
    );
    let auth: [u8; 16] = *b"sixteen-byte-key";
    let mut subscription = serde_json::json!({
        "endpoint": format!("http://127.0.0.1:{port}/push/phone-1"),
        "expirationTime": null,
        "keys": {
            "p256dh": URL_SAFE_NO_PAD.encode(browser.public_key().to_encoded_point(false).as_bytes()),
            "auth": URL_SAFE_NO_PAD.encode(auth),
        },
    });
    let mut bad = subscription.clone();
    bad["keys"]["p256dh"] = "bm90IGEga2V5".into();
    let (status, _, body) = json_post("/api/push/subscribe", &bad);
    assert_eq!(
        status, 400,
        "a key that is not a P-256 point is refused: {body}"
    );
    let (status, _, body) = json_post("/api/push/subscribe", &subscription);
    assert_eq!(status, 200, "{body}");
    let made: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(made["channel"]["kind"], "webpush", "{made}");
    let device_id = made["channel"]["device_id"]
        .as_str()
        .expect("device")
        .to_owned();
    let devices = env.ctl_json(&["web", "devices"]);
    assert_eq!(
        devices[0]["id"],
        device_id.as_str(),
        "the phone that paired"
    );
    // Subscribing again (every visit does) replaces the channel, it does not add one.
    subscription["expirationTime"] = serde_json::Value::Null;
    assert_eq!(json_post("/api/push/subscribe", &subscription).0, 200);
    let list = env.ctl_json(&["notify", "list"]);
    let push_channels: Vec<&serde_json::Value> = list["channels"]
        .as_array()
        .expect("channels")
        .iter()
        .filter(|c| c["kind"] == "webpush")
        .collect();
    assert_eq!(push_channels.len(), 1, "{list:#}");
    assert_eq!(push_channels[0]["device_id"], device_id.as_str());
    assert_eq!(
        push_channels[0]["url"],
        format!("http://127.0.0.1:{port}/…")
    );

    // `notify test` answers with what the push service said.
    let tested = env.ctl_json(&["notify", "test", "--channel", "webpush"]);
    assert_eq!(tested["results"][0]["outcome"], "sent", "{tested}");
    assert_eq!(tested["results"][0]["answer"], "201 Created");
    let pushed = pushes
        .recv_timeout(Duration::from_secs(20))
        .expect("a push for the test");
    let note = open_push(&pushed, &server_key, &browser, &auth);
    assert_eq!(note["event"], "test", "{note}");
    let fields: Vec<&str> = note
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        fields,
        [
            "agent_id",
            "at_ms",
            "event",
            "message",
            "project_path",
            "session_id",
            "title",
            "url"
        ],
        "exactly the webhook's fields, nothing secret"
    );

    // An event goes the same way, through the daemon's queue: a hand-started session waits.
    let mut hook = env
        .command(bin("orchestractl"))
        .args(["hook", "notification"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("hook");
    hook.stdin
        .take()
        .expect("stdin")
        .write_all(
            serde_json::json!({"session_id": "0f0f0f0f-0000-4000-8000-000000000004", "cwd": "/work/p",
                               "hook_event_name": "Notification", "message": "Claude needs your permission to use Bash"})
                .to_string()
                .as_bytes(),
        )
        .expect("write");
    assert!(hook.wait().expect("hook").success());
    let pushed = pushes
        .recv_timeout(Duration::from_secs(20))
        .expect("a push for the event");
    assert_eq!(pushed.headers["urgency"], "normal");
    let note = open_push(&pushed, &server_key, &browser, &auth);
    assert_eq!(note["event"], "session_waiting", "{note}");
    assert_eq!(note["session_id"], "0f0f0f0f-0000-4000-8000-000000000004");
    assert_eq!(
        note["message"],
        "/work/p: Claude needs your permission to use Bash"
    );

    // The key and the subscription outlive a restart of the daemon.
    drop(web);
    env.ctl_ok(&["daemon", "restart"]);
    let list = env.ctl_json(&["notify", "list"]);
    assert!(
        list["channels"]
            .as_array()
            .expect("channels")
            .iter()
            .any(|c| c["device_id"] == device_id.as_str()),
        "{list:#}"
    );
    let web = start_web(&env);
    let again = push_info(&web);
    assert_eq!(
        again["public_key"],
        server_key.as_str(),
        "the same VAPID key"
    );

    // Unpairing the phone removes its channel.
    env.ctl_ok(&["web", "revoke", &device_id]);
    let list = env.ctl_json(&["notify", "list"]);
    assert!(
        !list["channels"]
            .as_array()
            .expect("channels")
            .iter()
            .any(|c| c["kind"] == "webpush"),
        "{list:#}"
    );
}
