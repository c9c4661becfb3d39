//! A phone that works (issue 23), in a real phone-sized Chromium that trusts this machine's
//! CA as a user makes it: the CA fetched from `/ca.crt` over plain HTTP, put in the
//! browser's NSS store with `certutil`. Then the LAN page opens without a warning, a
//! second device pairs with `orchestractl web pair` while the page runs (under the name
//! typed on the form), the service worker registers, "Notify me" subscribes or says why,
//! and the page stays calm: at most two toasts plus "+N more", an approval's toast and the
//! title's count leave within 3 s of the answer from the CLI, relative times tick, logs
//! read as text, Merge only where there is something to merge, the Worktrees badge never
//! says "merged" over uncommitted changes, and nothing scrolls sideways at 390 px.
//! (The CA itself, its constraints and a phone that does not trust it: `dashboard_ca.rs`.)
//!
//! Needs `chromium`, `chromedriver` and `certutil` (`.ci/run` installs them): under
//! `CI=true` their absence fails the test. Screenshots go to
//! `target/test-artifacts/dashboard/phone-*.png`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use orchestra_tests::browser::{self, Browser, click, screenshot, text_of};
use orchestra_tests::web::{Dashboard, http};
use orchestra_tests::{TestEnv, wait_for_agents};

/// How soon an answer from the terminal must clear the page (the issue's promise).
const CLEARS_WITHIN: Duration = Duration::from_secs(3);

/// Polls `check` until it holds, within `within`; a screenshot and a panic otherwise.
pub(crate) async fn within<F, Fut>(client: &Client, what: &str, within: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while !check().await {
        if Instant::now() > deadline {
            screenshot(client, &format!("phone-failed-{}", what.replace(' ', "-"))).await;
            panic!("not within {within:?}: {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// [`within`] the suite's usual deadline.
pub(crate) async fn eventually<F, Fut>(client: &Client, what: &str, check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    within(client, what, orchestra_tests::DEADLINE, check).await;
}

/// Runs `script` (a function body) in the page and returns its value.
pub(crate) async fn js(client: &Client, script: &str) -> serde_json::Value {
    client
        .execute(script, vec![])
        .await
        .unwrap_or_else(|err| panic!("{script}: {err}"))
}

/// The page scrolls sideways: its content is wider than the 390 px viewport.
pub(crate) async fn scrolls_sideways(client: &Client) -> Option<String> {
    let wide = js(
        client,
        "const w = document.documentElement.clientWidth; \
         if (document.documentElement.scrollWidth <= w) return null; \
         const culprits = [...document.querySelectorAll('body *')] \
           .filter((n) => n.getBoundingClientRect().right > w + 0.5) \
           .slice(0, 5).map((n) => n.tagName + '#' + n.id + '.' + n.className); \
         return `${document.documentElement.scrollWidth} > ${w}: ${culprits.join(' ')}`;",
    )
    .await;
    wide.as_str().map(str::to_owned)
}

pub(crate) async fn count(client: &Client, css: &str) -> usize {
    client
        .find_all(Locator::Css(css))
        .await
        .map(|n| n.len())
        .unwrap_or(0)
}

/// Fetches the CA as a phone first does (plain HTTP, before it trusts anything), checks it
/// is the one `orchestractl web ca` describes, and trusts it in the NSS store under
/// `home`. `None` when certutil is missing (outside CI).
pub(crate) fn trust_the_ca(env: &TestEnv, port: u16, home: &Path) -> Option<serde_json::Value> {
    let (status, head, pem) = http(port, "GET", "/ca.crt", &[], "");
    assert_eq!(status, 200, "the CA over plain HTTP: {head}");
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
    let (status, head, _) = http(port, "GET", "/", &[], "");
    assert_eq!(status, 400, "nothing else over plain HTTP: {head}");
    let ca = env.ctl_json(&["web", "ca"]);
    let path = PathBuf::from(ca["cert_path"].as_str().expect("cert_path"));
    assert_eq!(
        std::fs::read_to_string(&path).expect("the CA file"),
        pem,
        "the page serves the CA `web ca` names"
    );
    let file = env.root.path().join("downloaded-ca.crt");
    std::fs::write(&file, &pem).expect("write the CA");
    browser::trust_ca(home, &file)?;
    Some(ca)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_phone_that_trusts_the_ca_pairs_and_gets_a_calm_page() {
    let Some(tools) = browser::chromium_and_driver() else {
        return;
    };
    let env = TestEnv::new();
    let repo = env.git_repo();
    let repo_arg = repo.to_str().expect("path").to_owned();
    let dashboard = Dashboard::start(&env, &["--lan", "--repo", &repo_arg]);
    let port = dashboard.port;
    let phone_home = env.root.path().join("phone-home");
    let Some(ca) = trust_the_ca(&env, port, &phone_home) else {
        return;
    };

    // A second device, while the page runs: `web pair --json`.
    let link = env.ctl_json(&["web", "pair", "--name", "Test phone"]);
    let code = link["code"].as_str().expect("code");
    let url = link["url"].as_str().expect("url");
    assert!(
        url.starts_with("https://")
            && url.ends_with(&format!(":{port}/pair?code={code}&name=Test%20phone")),
        "{link}"
    );
    assert!(link["expires_at"].as_str().is_some_and(|t| t > "2026"));
    // The phone opens it on this machine's loopback address: the test machine's LAN address
    // may be a public one, which the CA rightly refuses to vouch for.
    let path = &url[url.find("/pair").expect("a path")..];
    // The user will allow notifications when asked (headless Chromium cannot be asked):
    // set in the profile before the browser starts.
    let profile = env.root.path().join("chromium-profile/Default");
    std::fs::create_dir_all(&profile).expect("the profile");
    std::fs::write(
        profile.join("Preferences"),
        r#"{"profile":{"default_content_setting_values":{"notifications":1}}}"#,
    )
    .expect("the preferences");
    let browser = Browser::start_in(&env, &tools, &[], Some(&phone_home)).await;
    let client = &browser.client;
    client
        .goto(&format!("https://127.0.0.1:{port}{path}"))
        .await
        .expect("open the pairing link");
    // Trusted: the pairing form, not a certificate warning, with the CA's fingerprint.
    let shown = text_of(client, "#ca-fingerprint").await;
    assert_eq!(
        shown,
        ca["fingerprint_sha256"].as_str().expect("fingerprint"),
        "the pairing page shows the CA's fingerprint"
    );
    let styled = js(
        client,
        "return getComputedStyle(document.body).backgroundColor",
    )
    .await;
    assert_eq!(styled, "rgb(20, 22, 27)", "the pairing page is styled");
    assert_eq!(scrolls_sideways(client).await, None, "the pairing page");
    screenshot(client, "phone-01-pair").await;
    let name = client
        .find(Locator::Css("input[name=name]"))
        .await
        .expect("the name field");
    assert_eq!(
        name.prop("value").await.expect("value").as_deref(),
        Some("Test phone"),
        "the name `web pair --name` suggested"
    );
    name.clear().await.expect("clear");
    name.send_keys("Anna's phone").await.expect("type a name");
    click(client, "form button[type=submit]").await;
    eventually(client, "the paired page is live", || async {
        client.find(Locator::Css("#conn.live")).await.is_ok()
    })
    .await;
    let devices = env.ctl_json(&["web", "devices"]);
    assert!(
        devices
            .as_array()
            .expect("a list")
            .iter()
            .any(|d| d["name"] == "Anna's phone"),
        "the device is named as typed on the form: {devices}"
    );

    // The service worker registers on the LAN page: the certificate is trusted.
    let worker = client
        .execute_async(
            "const done = arguments[arguments.length - 1]; \
             navigator.serviceWorker.ready \
               .then((r) => done(r.active ? r.active.scriptURL : 'no active worker')) \
               .catch((e) => done('error: ' + e));",
            vec![],
        )
        .await
        .expect("navigator.serviceWorker.ready");
    assert_eq!(
        worker.as_str(),
        Some(format!("https://127.0.0.1:{port}/sw.js").as_str()),
        "navigator.serviceWorker.ready resolves"
    );
    // "Notify me" subscribes, or says exactly why it cannot (headless Chromium has no
    // push service to reach).
    click(client, "#notify-enable").await;
    eventually(client, "Notify me answers", || async {
        let said = text_of(client, "#notify-status").await;
        !said.is_empty() && !said.starts_with("Subscribing")
    })
    .await;
    let said = text_of(client, "#notify-status").await;
    assert!(
        said.starts_with("Notifications on") || said.contains("must reach its push service"),
        "{said}"
    );
    assert_eq!(scrolls_sideways(client).await, None, "the agents tab");
    screenshot(client, "phone-02-agents").await;

    // Three approvals, one after another (approvals asked together are told in one
    // toast): two toasts show and "+1 more"; the title counts three.
    let tasks = [
        "TOOL_BASH:echo one",
        "TOOL_BASH:echo two",
        "TOOL_BASH:echo three",
    ];
    let mut ids = Vec::new();
    for task in tasks {
        let spawned = env.ctl_json(&["spawn", "--repo", &repo_arg, task]);
        let id = spawned[0]["id"].as_str().expect("id").to_owned();
        eventually(client, "the approval's toast shows", || async {
            count(
                client,
                &format!("#toasts .toast[data-event=approval_needed][data-agent-id=\"{id}\"]"),
            )
            .await
                == 1
        })
        .await;
        ids.push(id);
    }
    assert_eq!(count(client, "#approval-list li.approval").await, 3);
    assert_eq!(
        count(client, "#toasts .toast").await,
        2,
        "two toasts at most"
    );
    assert!(
        text_of(client, "#toasts .toast-more")
            .await
            .starts_with("+1 more"),
        "and how many more"
    );
    assert_eq!(
        count(client, "#toasts .toast .toast-close").await,
        2,
        "each with a close button"
    );
    assert_eq!(
        client.title().await.expect("title"),
        "(3) orchestra",
        "the title counts the open approvals"
    );
    // One card per approval: the command once, the agent once.
    for part in [".tool-input", ".who", ".badge"] {
        assert_eq!(
            count(
                client,
                &format!("#approval-list li.approval:first-child {part}")
            )
            .await,
            1,
            "{part} once per card"
        );
    }
    // Relative times tick.
    let before = text_of(client, "#approval-list li.approval time.ago").await;
    eventually(client, "the approval's age ticks", || async {
        text_of(client, "#approval-list li.approval time.ago").await != before
    })
    .await;
    assert_eq!(
        scrolls_sideways(client).await,
        None,
        "three approvals and toasts"
    );
    screenshot(client, "phone-03-needs-you").await;

    // Answered from the terminal: its toast and its count leave within 3 s.
    let pending = env.ctl_json(&["approvals"]);
    let pending = pending.as_array().expect("a list").clone();
    assert_eq!(pending.len(), 3, "{pending:?}");
    let newest = &ids[2];
    let shown = pending
        .iter()
        .find(|a| a["agent_id"] == newest.as_str())
        .expect("the newest approval");
    env.ctl_ok(&["approve", shown["id"].as_str().expect("id")]);
    let answered = Instant::now();
    within(
        client,
        "its toast and one count leave",
        CLEARS_WITHIN,
        || async {
            // Read in one script (each WebDriver call is slow under load). Only approval
            // toasts count: the approved agent goes on and may finish, and its "done" toast
            // is news that rightly comes.
            let seen = js(
                client,
                &format!(
                    "return document.title === '(2) orchestra' \
                     && !document.querySelector('#toasts .toast[data-event=approval_needed][data-agent-id=\"{newest}\"]');"
                ),
            )
            .await;
            seen == serde_json::Value::Bool(true)
        },
    )
    .await;
    eprintln!("its toast left {:?} after the answer", answered.elapsed());
    for approval in pending.iter().filter(|a| a["agent_id"] != newest.as_str()) {
        env.ctl_ok(&["approve", approval["id"].as_str().expect("id")]);
    }
    within(
        client,
        "every toast and the count leave",
        CLEARS_WITHIN,
        || async {
            client.title().await.is_ok_and(|t| t == "orchestra")
                && count(client, "#toasts .toast[data-event=approval_needed]").await == 0
        },
    )
    .await;
    let agents = tokio::task::block_in_place(|| {
        wait_for_agents(&env, "the three are done", |a| {
            a.len() == 3 && a.iter().all(|x| x["state"] == "done")
        })
    });

    // Logs read as text, the raw JSON behind a toggle.
    let one = agents
        .iter()
        .find(|a| a["task"] == "TOOL_BASH:echo one")
        .expect("agent one");
    let one_id = one["id"].as_str().expect("id").to_owned();
    // The three finishes are news toasts at the bottom: close them (a toast that pops up
    // over the button takes the tap, as it would a thumb's; then tap again).
    let logs_button =
        format!("#agent-list li.agent[data-agent-id=\"{one_id}\"] button[data-action=logs]");
    eventually(client, "the logs panel opens", || async {
        js(
            client,
            "document.querySelectorAll('#toasts .toast-close').forEach((b) => b.click())",
        )
        .await;
        if let Ok(button) = client.find(Locator::Css(&logs_button)).await {
            let _ = button.click().await;
        }
        client.find(Locator::Css("#panel.hidden")).await.is_err()
    })
    .await;
    eventually(client, "the logs show the tool call as text", || async {
        text_of(client, "#panel-body").await.contains("$ echo one")
    })
    .await;
    assert!(
        !text_of(client, "#panel-body")
            .await
            .contains("{\"command\""),
        "no raw JSON until asked for"
    );
    click(client, "#panel-body button[data-action=raw]").await;
    eventually(client, "the raw JSON shows on request", || async {
        text_of(client, "#panel-body").await.contains("\"command\"")
    })
    .await;
    assert_eq!(scrolls_sideways(client).await, None, "the logs");
    screenshot(client, "phone-04-logs").await;
    click(client, "#panel-close").await;

    // A batch of one has nothing to merge.
    click(client, "nav button[data-tab=batches]").await;
    eventually(client, "the batches show", || async {
        count(client, "#batch-list li.batch").await == 3
    })
    .await;
    let merge = client
        .find(Locator::Css(
            "#batch-list li.batch button[data-action=merge]",
        ))
        .await
        .expect("the merge button");
    assert!(
        !merge.is_displayed().await.expect("displayed"),
        "no Merge for a batch of one"
    );
    assert_eq!(scrolls_sideways(client).await, None, "the batches tab");
    screenshot(client, "phone-05-batches").await;

    // Worktrees: "merged" only when merged and clean.
    let dirty = agents
        .iter()
        .find(|a| a["task"] == "TOOL_BASH:echo two")
        .expect("agent two");
    let dirty_id = dirty["id"].as_str().expect("id").to_owned();
    let cwd = PathBuf::from(dirty["cwd"].as_str().expect("cwd"));
    std::fs::write(cwd.join("unsaved.txt"), "not committed\n").expect("a change");
    click(client, "nav button[data-tab=worktrees]").await;
    click(client, "#refresh-worktrees").await;
    let badge = |id: String| async move {
        match client
            .find(Locator::Css(&format!(
                "#worktree-list li.worktree[data-agent-id=\"{id}\"] .branch-badge"
            )))
            .await
        {
            Ok(node) => node.attr("data-branch-state").await.ok().flatten(),
            Err(_) => None,
        }
    };
    // Both badges in one look: the tab and the refresh each load the list, and the later
    // load can redraw it between two reads.
    eventually(
        client,
        "the dirty worktree's badge, and \"merged\" on the clean one whose branch is in HEAD",
        || async {
            badge(dirty_id.clone()).await.as_deref() == Some("uncommitted changes")
                && badge(one_id.clone()).await.as_deref() == Some("merged")
        },
    )
    .await;
    assert_eq!(scrolls_sideways(client).await, None, "the worktrees tab");
    screenshot(client, "phone-06-worktrees").await;

    // "Add a device" shows a code, a link and its QR code, as `web pair` does.
    click(client, "nav button[data-tab=agents]").await;
    click(client, "#add-device").await;
    eventually(client, "a pairing code shows", || async {
        text_of(client, "#pair-code").await.len() == 8
    })
    .await;
    assert!(text_of(client, "#pair-url").await.ends_with(&format!(
        "/pair?code={}",
        text_of(client, "#pair-code").await
    )));
    assert_eq!(scrolls_sideways(client).await, None, "the add-device panel");
    screenshot(client, "phone-07-add-device").await;
    drop(dashboard);
    let _ = browser.client.close().await;
}
