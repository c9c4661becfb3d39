//! The dashboard in a real browser at phone size: headless Chromium driven over WebDriver.
//! An agent appears and changes state live, spawn, stop, send and resume work from the
//! page, a session's transcript opens, a finish shows as a toast (the title counts open
//! approvals only), and hostile task text shows as text.
//!
//! Needs `chromium` and `chromedriver` (`.ci/run` installs them from Debian): under
//! `CI=true` their absence fails the test, elsewhere it is skipped with the reason.
//! Screenshots go to `target/test-artifacts/dashboard/`.

use std::process::Stdio;
use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use orchestra_tests::browser::{self, Browser, Killed, click, screenshot, shows};
use orchestra_tests::{Gate, TestEnv, agent_by_task, bin, wait_for_agents};

/// Hostile task text: it must show as text. Its gate opens once the card shows it running.
const XSS: &str = "<img src=x onerror=alert(1)> & \"quotes\"";

/// Polls `check` (which reads the page) until it holds, with one deadline.
async fn eventually<F, Fut>(client: &Client, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + orchestra_tests::DEADLINE;
    while !check().await {
        if Instant::now() > deadline {
            screenshot(client, &format!("failed-{}", what.replace(' ', "-"))).await;
            panic!("timed out waiting until {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The text of the side panel (logs, transcripts).
async fn panel_text(client: &Client) -> String {
    match client.find(Locator::Id("panel-body")).await {
        Ok(panel) => panel.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Waits until the side panel shows `text`, and returns all of its text.
async fn panel_shows(client: &Client, what: &str, text: &str) -> String {
    eventually(client, what, || async {
        panel_text(client).await.contains(text)
    })
    .await;
    panel_text(client).await
}

/// The state shown on the card of the agent whose task is `task`, if shown.
async fn card_state(client: &Client, task: &str) -> Option<String> {
    for card in client
        .find_all(Locator::Css("#agent-list li.agent"))
        .await
        .ok()?
    {
        let text = card
            .find(Locator::Css(".task"))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        if text == task {
            return card.attr("data-state").await.ok().flatten();
        }
    }
    None
}

async fn card_button(client: &Client, task: &str, action: &str) -> String {
    // One script finds the card: cards are redrawn as agents change, and an element found by
    // one WebDriver call can be stale at the next.
    let id = client
        .execute(
            "const card = [...document.querySelectorAll('#agent-list li.agent')]\
             .find(c => c.querySelector('.task')?.textContent === arguments[0]);\
             return card ? card.dataset.agentId : null;",
            vec![serde_json::Value::from(task)],
        )
        .await
        .expect("find the card");
    let id = id
        .as_str()
        .unwrap_or_else(|| panic!("no card for {task:?}"));
    format!("#agent-list li.agent[data-agent-id=\"{id}\"] button[data-action={action}]")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_works_in_a_phone_sized_browser() {
    let Some(tools) = browser::chromium_and_driver() else {
        return;
    };
    let env = TestEnv::new();
    let repo = env.git_repo();
    env.ctl_ok(&["daemon", "start"]);
    let (_dashboard, port) = browser::dashboard(&env, &repo);
    let browser = Browser::start(&env, &tools, &[]).await;
    // A failure panics inside `drive`; dropping chromedriver then ends the browser.
    drive(&browser.client, &env, port).await;
    screenshot(&browser.client, "last").await;
    let _ = browser.client.close().await;
}

/// The page's modules keep what they show in place: an agent's card stays the same DOM node
/// through its events, and the log panel reconnects when its socket drops (the dashboard
/// restarts on the same port) and then shows new lines, each once.
#[tokio::test(flavor = "multi_thread")]
async fn cards_update_in_place_and_the_log_panel_survives_a_dashboard_and_a_daemon_restart() {
    let Some(tools) = browser::chromium_and_driver() else {
        return;
    };
    let env = TestEnv::new();
    let repo = env.git_repo();
    env.ctl_ok(&["daemon", "start"]);
    let (dashboard, port) = browser::dashboard(&env, &repo);
    let browser = Browser::start(&env, &tools, &[]).await;
    let client = &browser.client;
    browser::open_logged_in(client, &env, port).await;
    eventually(client, "the page is live", || async {
        client.find(Locator::Css("#conn.live")).await.is_ok()
    })
    .await;
    let gate = Gate::new(&env, "held");
    let task = gate.task("held, then done");
    let repo_arg = repo.to_str().expect("path");
    env.ctl_ok(&["spawn", "--repo", repo_arg, &task]);
    eventually(client, "the agent runs", || async {
        card_state(client, &task).await.as_deref() == Some("running")
    })
    .await;
    // Its branch has no commits yet: while it works, that is not shown as "merged".
    click(client, "nav button[data-tab=worktrees]").await;
    click(client, "#refresh-worktrees").await;
    shows(
        client,
        "#worktree-list li.worktree .branch-badge",
        "no commits yet",
    )
    .await;
    click(client, "nav button[data-tab=agents]").await;
    // A mark on the card's node: it must still be there after the agent's later events.
    client
        .execute(
            "document.querySelector('#agent-list li.agent').orchestraMark = 'same node'",
            vec![],
        )
        .await
        .expect("mark the card");
    click(client, &card_button(client, &task, "logs").await).await;
    let kinds = || async {
        client
            .execute(
                "return [...document.querySelectorAll('#panel-body [data-kind]')].map(n => n.dataset.kind)",
                vec![],
            )
            .await
            .expect("kinds")
            .as_array()
            .expect("a list")
            .iter()
            .map(|k| k.as_str().unwrap_or_default().to_owned())
            .collect::<Vec<String>>()
    };
    eventually(client, "the logs show the task", || async {
        kinds().await.iter().any(|k| k == "user_message")
    })
    .await;
    let before = kinds().await;

    // The dashboard goes away and comes back on the same port: both sockets drop.
    drop(dashboard);
    let _dashboard = browser::dashboard_on(&env, &repo, port);
    eventually(client, "the page is live again", || async {
        client.find(Locator::Css("#conn.live")).await.is_ok()
    })
    .await;
    // Then the daemon restarts under the open panel (the agent lives on in its shim): the
    // log's stream breaks, which is not the log's end, so the panel follows again.
    env.ctl_ok(&["daemon", "restart"]);
    eventually(
        client,
        "the page is live after the daemon's restart",
        || async { client.find(Locator::Css("#conn.live")).await.is_ok() },
    )
    .await;
    gate.open();
    eventually(client, "the card says done", || async {
        card_state(client, &task).await.as_deref() == Some("done")
    })
    .await;
    eventually(
        client,
        "the reconnected log shows the end of the turn",
        || async { kinds().await.iter().any(|k| k == "result") },
    )
    .await;
    screenshot(client, "05-logs-after-restart").await;
    assert_eq!(
        browser::text_of(client, "#panel-error").await.trim(),
        "",
        "the lost daemon's notice went once the log flowed again"
    );
    let after = kinds().await;
    assert_eq!(
        after[..before.len()],
        before[..],
        "what was shown stays: {after:?}"
    );
    for kind in ["session_started", "user_message", "result"] {
        assert_eq!(
            after.iter().filter(|k| *k == kind).count(),
            1,
            "{kind} shown once after the reconnect: {after:?}"
        );
    }
    let mark = client
        .execute(
            "return document.querySelector('#agent-list li.agent').orchestraMark || null",
            vec![],
        )
        .await
        .expect("read the mark");
    assert_eq!(
        mark, "same node",
        "the card was updated in place, not rebuilt"
    );
    let _ = browser.client.close().await;
}

async fn drive(client: &Client, env: &TestEnv, port: u16) {
    browser::open_logged_in(client, env, port).await;
    eventually(client, "the page is live", || async {
        client.find(Locator::Css("#conn.live")).await.is_ok()
    })
    .await;
    let width: f64 = client
        .execute("return window.innerWidth", vec![])
        .await
        .expect("width")
        .as_f64()
        .expect("a number");
    assert_eq!(width, 390.0, "phone-sized viewport");
    screenshot(client, "01-empty").await;
    let hostile_gate = Gate::new(env, "hostile");
    let xss = hostile_gate.task(XSS);
    // Never opened: the long one runs until it is stopped from the page.
    let long_one = Gate::new(env, "never").task("long one");

    // Spawn two agents from the page; one with hostile text. On a phone the form is
    // folded away until asked for.
    assert!(
        !client
            .find(Locator::Id("spawn-tasks"))
            .await
            .expect("textarea")
            .is_displayed()
            .await
            .expect("displayed"),
        "the spawn form is folded on a phone"
    );
    client
        .find(Locator::Css("#spawn-fold > summary"))
        .await
        .expect("the fold")
        .click()
        .await
        .expect("unfold");
    let tasks = client
        .find(Locator::Id("spawn-tasks"))
        .await
        .expect("textarea");
    tasks
        .send_keys(&format!("{xss}\n{long_one}"))
        .await
        .expect("type tasks");
    client
        .find(Locator::Id("spawn-submit"))
        .await
        .expect("button")
        .click()
        .await
        .expect("spawn");

    // The hostile one appears and changes state live, without a reload: running while its
    // gate holds, done once it opens.
    eventually(client, "the hostile one runs", || async {
        card_state(client, &xss).await.as_deref() == Some("running")
    })
    .await;
    hostile_gate.open();
    eventually(client, "the hostile one is done, live", || async {
        card_state(client, &xss).await.as_deref() == Some("done")
    })
    .await;
    // Its finish is told in the page: a toast; the title counts open approvals only.
    eventually(client, "a toast tells the finish", || async {
        match client
            .find(Locator::Css("#toasts .toast[data-event=agent_done]"))
            .await
        {
            Ok(toast) => toast
                .text()
                .await
                .is_ok_and(|t| t.contains("Agent finished") && t.contains("<img src=x")),
            Err(_) => false,
        }
    })
    .await;
    let title = client.title().await.expect("title");
    assert!(
        !title.starts_with('('),
        "no approval is open, so the title counts none: {title:?}"
    );
    assert!(
        client
            .find_all(Locator::Css("#toasts img"))
            .await
            .expect("query")
            .is_empty(),
        "the task in the toast is text"
    );
    screenshot(client, "02-spawned").await;
    // Its close button takes it away (it would otherwise cover the cards' buttons for 12 s).
    // One script taps them all (a toast can leave, or be put behind "+N more", between
    // finding its button and tapping it), again until none is left.
    eventually(client, "the toasts are closed", || async {
        client
            .execute(
                "document.querySelectorAll('#toasts .toast .toast-close').forEach((b) => b.click()); \
                 return document.querySelectorAll('#toasts .toast').length === 0;",
                vec![],
            )
            .await
            .is_ok_and(|closed| closed == serde_json::Value::Bool(true))
    })
    .await;
    // Shown as text: no image element was made, no alert fired.
    assert!(
        client
            .find_all(Locator::Css("#agent-list img"))
            .await
            .expect("query")
            .is_empty()
    );
    assert!(client.get_alert_text().await.is_err(), "no alert fired");

    // Stop the long one from the page.
    eventually(client, "the long one runs", || async {
        card_state(client, &long_one).await.as_deref() == Some("running")
    })
    .await;
    click(client, &card_button(client, &long_one, "stop").await).await;
    eventually(client, "the long one is stopped", || async {
        card_state(client, &long_one).await.as_deref() == Some("stopped")
    })
    .await;
    screenshot(client, "03-stopped").await;

    // Logs stream into the panel; a follow-up sent from there resumes the agent. A toast
    // that pops up over the button (the stop's news) can take the tap, as it would a
    // thumb's: tap again until the panel opens.
    eventually(client, "the logs panel opens", || async {
        if client.find(Locator::Css("#panel.hidden")).await.is_ok() {
            let button = card_button(client, &xss, "logs").await;
            if let Ok(button) = client.find(Locator::Css(&button)).await {
                let _ = button.click().await;
            }
        }
        client.find(Locator::Css("#panel.hidden")).await.is_err()
    })
    .await;
    let logs_text = panel_shows(client, "logs show", "hi from fake-claude").await;
    assert!(
        logs_text.contains("<img src=x onerror=alert(1)>"),
        "the task text shows literally in the logs"
    );
    same_events_as_the_cli(client, env, &xss).await;
    screenshot(client, "04-logs").await;
    let input = client
        .find(Locator::Id("panel-input"))
        .await
        .expect("input");
    input
        .send_keys("follow up from the phone")
        .await
        .expect("type");
    client
        .find(Locator::Id("panel-submit"))
        .await
        .expect("send")
        .click()
        .await
        .expect("send");
    let agents = tokio::task::block_in_place(|| {
        wait_for_agents(env, "the follow-up ran", |a| {
            let agent = agent_by_task(a, &xss);
            agent["runs"] == 2 && agent["state"] == "done"
        })
    });
    let session_id = agent_by_task(&agents, &xss)["session_id"]
        .as_str()
        .expect("session")
        .to_owned();
    client
        .find(Locator::Id("panel-close"))
        .await
        .expect("close")
        .click()
        .await
        .expect("close");

    // The agent's session is listed; its transcript opens; resume works from there.
    click(client, "nav button[data-tab=sessions]").await;
    let selector = format!("#session-list li[data-session-id=\"{session_id}\"]");
    eventually(client, "the session is listed", || async {
        client.find(Locator::Css(&selector)).await.is_ok()
    })
    .await;
    screenshot(client, "05-sessions").await;
    // The card is redrawn as the session's file and process change: found again if stale.
    click(client, &selector).await;
    let transcript = panel_shows(client, "the transcript shows", "follow up from the phone").await;
    assert!(
        transcript.contains("<img src=x onerror=alert(1)>"),
        "the prompt shows literally"
    );
    assert!(
        client
            .find_all(Locator::Css("#panel-body img"))
            .await
            .expect("query")
            .is_empty()
    );
    screenshot(client, "06-transcript").await;
    let input = client
        .find(Locator::Id("panel-input"))
        .await
        .expect("input");
    input
        .send_keys("resumed from the phone")
        .await
        .expect("type");
    client
        .find(Locator::Id("panel-submit"))
        .await
        .expect("resume")
        .click()
        .await
        .expect("resume");
    tokio::task::block_in_place(|| {
        wait_for_agents(env, "the resumed session ran", |a| {
            a.iter()
                .any(|x| x["task"] == "resumed from the phone" && x["state"] == "done")
        })
    });
    screenshot(client, "07-resumed").await;

    live_sessions_list_busy_first(client, env).await;
    approve_from_the_phone(client, env).await;
}

/// Two Claude processes started by hand, one busy and one idle between turns, plus a
/// background job of Claude Code's own: busy is listed first, then idle, and the job
/// shows its id and state.
async fn live_sessions_list_busy_first(client: &Client, env: &TestEnv) {
    const IDLE: &str = "11111111-2222-4333-8444-000000000001";
    const BUSY: &str = "11111111-2222-4333-8444-000000000002";
    // Back to the list (the transcript panel covers it).
    client
        .find(Locator::Id("panel-close"))
        .await
        .expect("close")
        .click()
        .await
        .expect("close");
    let project = env.root.path().join("by-hand");
    std::fs::create_dir_all(&project).expect("dir");
    let fake = |args: &[&str]| {
        env.command(bin("fake-claude"))
            .args(["-p", "--output-format", "stream-json", "--verbose"])
            .args(args)
            .current_dir(&project)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("fake-claude")
    };
    let mut idle = Killed(fake(&[
        "--input-format",
        "stream-json",
        "--session-id",
        IDLE,
    ]));
    {
        use std::io::Write;
        let stdin = idle.0.stdin.as_mut().expect("stdin");
        writeln!(
            stdin,
            r#"{{"type":"user","message":{{"role":"user","content":"one turn, then idle"}}}}"#
        )
        .expect("write");
    }
    // Never opened: busy until the test ends.
    let busy_prompt = Gate::new(env, "never").task("busy by hand");
    let _busy = Killed(fake(&["--session-id", BUSY, &busy_prompt]));
    let job_dir = env.claude_dir.join("jobs/11111111");
    std::fs::create_dir_all(&job_dir).expect("dir");
    std::fs::write(
        job_dir.join("state.json"),
        serde_json::json!({"state": "working", "sessionId": IDLE, "name": "a job", "cwd": project})
            .to_string(),
    )
    .expect("job");
    eventually(client, "busy then idle lead the list", || async {
        let cards = client
            .find_all(Locator::Css("#session-list li"))
            .await
            .unwrap_or_default();
        let mut states = Vec::new();
        for card in cards.iter().take(2) {
            states.push(
                card.attr("data-live-status")
                    .await
                    .ok()
                    .flatten()
                    .unwrap_or_default(),
            );
        }
        states == ["busy", "idle"]
    })
    .await;
    // The job may reach the index in a later scan; its card is redrawn at each change.
    let badge = shows(
        client,
        &format!("#session-list li[data-session-id=\"{IDLE}\"] .job-badge"),
        "bg 11111111 working",
    )
    .await;
    assert_eq!(badge, "bg 11111111 working");
    screenshot(client, "08-live-busy-first").await;
}

/// The "Needs you" strip: a pending approval shows on top with its command as text, the
/// title counts it, Allow runs the tool; one answered elsewhere leaves the page at once.
async fn approve_from_the_phone(client: &Client, env: &TestEnv) {
    let repo = env.root.path().join("repo");
    let repo = repo.to_str().expect("p");
    let command = "touch phone.txt # <b>bold</b>";
    // Back to the tabs if a panel covers them.
    client
        .execute(
            "const p = document.getElementById('panel'); \
             if (!p.classList.contains('hidden')) document.getElementById('panel-close').click();",
            vec![],
        )
        .await
        .expect("close the panel");
    env.ctl_ok(&["spawn", "--repo", repo, &format!("TOOL_BASH:{command}")]);
    eventually(client, "the approval card shows", || async {
        client
            .find(Locator::Css("#approval-list li.approval"))
            .await
            .is_ok()
    })
    .await;
    // Read through helpers that wait and find again: the card is redrawn on a resync.
    let shown = shows(client, "#approval-list li.approval .tool-input", command).await;
    assert_eq!(shown, command, "the command shows as text");
    assert_eq!(
        crate::dashboard_phone::count(client, "#approval-list li.approval b").await,
        0,
        "no element made from the command"
    );
    let title = client.title().await.expect("title");
    assert!(title.starts_with("(1) "), "{title}");
    screenshot(client, "08-needs-you").await;
    click(
        client,
        "#approval-list li.approval button[data-decision=allow]",
    )
    .await;
    let agents = tokio::task::block_in_place(|| {
        wait_for_agents(env, "the approved agent is done", |a| {
            a.iter().any(|x| {
                x["task"] == format!("TOOL_BASH:{command}").as_str() && x["state"] == "done"
            })
        })
    });
    let agent = agent_by_task(&agents, &format!("TOOL_BASH:{command}"));
    let cwd = std::path::PathBuf::from(agent["cwd"].as_str().expect("cwd"));
    assert!(cwd.join("phone.txt").exists(), "Allow on the phone ran it");
    let all = env.ctl_json(&["approvals", "--all"]);
    // The page answers as the browser that logged in: the device its login link made.
    let devices = env.ctl_json(&["web", "devices"]);
    assert_eq!(all[0]["decided_by"], devices[0]["name"], "{devices}");
    assert_eq!(
        devices[0]["name"], "Chrome on Linux",
        "a short name, not the User-Agent"
    );
    eventually(client, "the strip hides", || async {
        client.find(Locator::Css("#needs-you.hidden")).await.is_ok()
    })
    .await;

    // Answered elsewhere: the card leaves without a reload.
    env.ctl_ok(&["spawn", "--repo", repo, "TOOL_BASH:true"]);
    eventually(client, "the second card shows", || async {
        client
            .find(Locator::Css("#approval-list li.approval"))
            .await
            .is_ok()
    })
    .await;
    let pending = env.ctl_json(&["approvals"]);
    env.ctl_ok(&["approve", pending[0]["id"].as_str().expect("id")]);
    eventually(client, "the card leaves", || async {
        client
            .find_all(Locator::Css("#approval-list li.approval"))
            .await
            .is_ok_and(|cards| cards.is_empty())
    })
    .await;
    let left = client
        .execute("return window.needsYou.pending()", vec![])
        .await
        .expect("count");
    assert_eq!(left, serde_json::json!(0), "nothing is counted as pending");
}

/// The logs panel renders the same typed events, in the same order, as `orchestractl logs
/// --events` prints for the agent whose task is `task` (both come from the daemon's one
/// reading of the stream-json).
async fn same_events_as_the_cli(client: &Client, env: &TestEnv, task: &str) {
    let id = tokio::task::block_in_place(|| {
        let agents = env.ctl_json(&["status", "--all"]);
        agent_by_task(agents.as_array().expect("list"), task)["id"]
            .as_str()
            .expect("id")
            .to_owned()
    });
    let cli: Vec<String> = tokio::task::block_in_place(|| env.ctl_ok(&["logs", &id, "--events"]))
        .lines()
        .map(|l| {
            let event: serde_json::Value = serde_json::from_str(l).expect("event");
            event["event"]
                .as_object()
                .and_then(|o| o.keys().next().cloned())
                .expect("variant")
        })
        .collect();
    assert!(cli.contains(&"result".to_owned()), "{cli:?}");
    let shown = || async {
        client
            .execute(
                "return [...document.querySelectorAll('#panel-body [data-kind]')].map(n => n.dataset.kind)",
                vec![],
            )
            .await
            .ok()
            .and_then(|v| serde_json::from_value::<Vec<String>>(v).ok())
            .unwrap_or_default()
    };
    eventually(client, "the panel shows every event", || async {
        shown().await.len() >= cli.len()
    })
    .await;
    assert_eq!(shown().await[..cli.len()], cli[..], "dashboard vs CLI");
}
