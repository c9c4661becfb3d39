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
use std::sync::Arc;
use std::time::{Duration, Instant};

use fantoccini::Locator;
use orchestra_tests::browser::{self, Browser};
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

/// One HTTPS request with rustls, trusting only the certificate in `cert_pem` (so the
/// request fails unless the server presents exactly that certificate for 127.0.0.1).
fn https(
    cert_pem: &Path,
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(cert_pem).expect("cert file") {
        roots.add(cert.expect("a PEM certificate")).expect("a root");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = "127.0.0.1".try_into().expect("a server name");
    let conn = rustls::ClientConnection::new(Arc::new(config), name).expect("client");
    let tcp = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    tls.write_all(request.as_bytes())
        .expect("the handshake succeeds with the trusted certificate");
    let mut response = Vec::new();
    let _ = tls.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_owned(), body.to_owned())
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
    let (status, head, _) = https(
        &cert_path,
        web.port,
        "POST",
        "/pair",
        &form,
        &format!("code={}", web.code),
    );
    assert_eq!(status, 303, "{head}");
    let cookie = head
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .expect("a cookie");
    for attribute in ["; Secure", "; HttpOnly", "; SameSite=Strict"] {
        assert!(cookie.contains(attribute), "{attribute} missing: {cookie}");
    }
    let token = cookie
        .split_once(':')
        .and_then(|(_, v)| v.trim().split(';').next())
        .expect("name=value")
        .to_owned();
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
        .find(|c| c.name() == "orchestra_token")
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
