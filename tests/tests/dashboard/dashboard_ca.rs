//! This machine's CA as a phone meets it (issue 23): its name constraints hold in a real
//! Chromium (a certificate it signed for another name is refused), `web ca --out` writes it
//! for the user to install, `web pair` needs a page a phone can reach, and a phone that only
//! clicked through the certificate warning is told why its notifications cannot work.
//!
//! Needs `chromium`, `chromedriver` and `certutil` (`.ci/run` installs them): under
//! `CI=true` their absence fails the test. Screenshots go to
//! `target/test-artifacts/dashboard/phone-*.png`.

use fantoccini::Locator;
use orchestra_tests::TestEnv;
use orchestra_tests::browser::{self, Browser, screenshot};
use orchestra_tests::web::Dashboard;

use crate::dashboard_phone::{eventually, js, trust_the_ca};
use orchestra_tests::browser::{click, text_of};

/// The CA's name constraints hold in the browser: a certificate it signed for a name
/// outside them (example.com, mapped to this machine) is refused, while the one it signed
/// for this machine is accepted by the same browser.
#[tokio::test(flavor = "multi_thread")]
async fn a_certificate_the_ca_signed_for_another_name_is_refused() {
    let Some(tools) = browser::chromium_and_driver() else {
        return;
    };
    let env = TestEnv::new();
    let good = Dashboard::start(&env, &["--lan"]);
    let phone_home = env.root.path().join("phone-home");
    if trust_the_ca(&env, good.port, &phone_home).is_none() {
        return;
    }
    // What a leaked CA key could make: a certificate for someone else's site.
    let ca = orchestra_dashboard::ca::load(
        &orchestra_dashboard::ca::CaFiles::in_state_dir(&env.state_dir()),
        false,
    )
    .expect("the CA");
    let (cert, key) = ca
        .sign(vec!["example.com".to_owned()], 30)
        .expect("sign a certificate outside the constraints");
    let (cert_path, key_path) = (
        env.root.path().join("evil.pem"),
        env.root.path().join("evil-key.pem"),
    );
    std::fs::write(&cert_path, format!("{cert}{}", ca.pem)).expect("write");
    std::fs::write(&key_path, key).expect("write");
    let evil = Dashboard::start(
        &env,
        &[
            "--lan",
            "--tls-cert",
            cert_path.to_str().expect("path"),
            "--tls-key",
            key_path.to_str().expect("path"),
        ],
    );
    let browser = Browser::start_in(
        &env,
        &tools,
        &["--host-resolver-rules=MAP example.com 127.0.0.1".to_owned()],
        Some(&phone_home),
    )
    .await;
    let client = &browser.client;
    // The control: the certificate for this machine is trusted.
    client
        .goto(&format!("https://127.0.0.1:{}/pair", good.port))
        .await
        .expect("open the good page");
    eventually(client, "the good page opens", || async {
        client
            .find(Locator::Css("form button[type=submit]"))
            .await
            .is_ok()
    })
    .await;
    let _ = client
        .goto(&format!("https://example.com:{}/pair", evil.port))
        .await;
    let body = js(
        client,
        "return document.body ? document.body.innerText : ''",
    )
    .await;
    let body = body.as_str().unwrap_or_default().to_owned();
    screenshot(client, "phone-08-refused-outside-constraints").await;
    assert!(
        client
            .find(Locator::Css("form button[type=submit]"))
            .await
            .is_err(),
        "the page behind a certificate outside the CA's constraints must not open: {body}"
    );
    assert!(body.contains("ERR_CERT"), "a certificate error: {body}");
    assert!(
        !body.contains("ERR_CERT_AUTHORITY_INVALID"),
        "refused for its name, not for an unknown issuer: {body}"
    );
    let _ = browser.client.close().await;
}

/// `web ca --out FILE` writes the CA as PEM and DER, and names what it may vouch for;
/// `web pair` says what to run when no page a phone can reach is serving.
#[test]
fn web_ca_writes_the_ca_and_web_pair_needs_a_lan_page() {
    let env = TestEnv::new();
    env.ctl_ok(&["daemon", "start"]);
    let refused = env.ctl(&["web", "pair", "--json"]);
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("orchestractl web --lan"), "{said}");

    let out = env.root.path().join("phone-ca.crt");
    let ca = env.ctl_json(&["web", "ca", "--out", out.to_str().expect("path")]);
    let pem = std::fs::read_to_string(&out).expect("the PEM");
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
    let der = std::fs::read(env.root.path().join("phone-ca.crt.der")).expect("the DER");
    assert_eq!(der.first(), Some(&0x30), "DER starts with a SEQUENCE");
    assert!(
        ca["fingerprint_sha256"]
            .as_str()
            .is_some_and(|f| f.len() == 95),
        "{ca}"
    );
    for range in ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fd00::/8"] {
        assert!(
            ca["permitted"]
                .as_array()
                .expect("permitted")
                .iter()
                .any(|p| p == range),
            "{range}: {ca}"
        );
    }
    let key = std::fs::metadata(ca["key_path"].as_str().expect("key_path")).expect("the key");
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&key.permissions()) & 0o777,
        0o600
    );

    // A page on loopback only: a phone could not reach it.
    let _local = Dashboard::start(&env, &[]);
    let refused = env.ctl(&["web", "pair"]);
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("--lan"), "{said}");
}

/// A phone that clicked through the certificate warning instead of installing the CA: the
/// page works, but the browser refuses its service worker, and "Notify me" says so and
/// what to do instead of hiding.
#[tokio::test(flavor = "multi_thread")]
async fn an_untrusted_page_says_why_notifications_cannot_work() {
    let Some(tools) = browser::chromium_and_driver() else {
        return;
    };
    let env = TestEnv::new();
    let dashboard = Dashboard::start(&env, &["--lan"]);
    let code = dashboard.code.clone().expect("a pairing code");
    // No CA in the browser's store: the user clicks through the warning.
    let browser = Browser::start_in(
        &env,
        &tools,
        &[],
        Some(&env.root.path().join("untrusting-home")),
    )
    .await;
    let client = &browser.client;
    let _ = client
        .goto(&format!(
            "https://127.0.0.1:{}/pair?code={code}",
            dashboard.port
        ))
        .await;
    click(client, "#details-button").await;
    click(client, "#proceed-link").await;
    eventually(client, "the pairing form shows", || async {
        client
            .find(Locator::Css("form button[type=submit]"))
            .await
            .is_ok()
    })
    .await;
    click(client, "form button[type=submit]").await;
    eventually(client, "the paired page is live", || async {
        client.find(Locator::Css("#conn.live")).await.is_ok()
    })
    .await;
    click(client, "#notify-enable").await;
    eventually(client, "Notify me says why", || async {
        !text_of(client, "#notify-status").await.is_empty()
    })
    .await;
    let said = text_of(client, "#notify-status").await;
    screenshot(client, "phone-09-untrusted").await;
    assert!(
        said.contains("does not trust this page's certificate") && said.contains("/ca.crt"),
        "{said}"
    );
    let _ = browser.client.close().await;
}
