//! The dashboard's batch view in a real phone-sized browser: overlap marks while agents
//! run, "Preview merge" (the dry run), "Merge" with its result, and the report.
//!
//! Needs `chromium` and `chromedriver` (`.ci/run` installs them from Debian): with
//! `CI=true` their absence fails the test, otherwise it is skipped with the reason.

use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use orchestra_tests::browser::{self, Browser, click, shows};
use orchestra_tests::{Gate, TestEnv, all_finished, wait_for_agents};

async fn screenshot(client: &Client, name: &str) {
    browser::screenshot(client, &format!("batches-{name}")).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn batch_view_marks_overlaps_previews_merges_and_reports() {
    let Some(tools) = browser::chromium_and_driver() else {
        return;
    };
    let env = TestEnv::new();
    let repo = env.git_repo();
    let gate = Gate::new(&env, "overlap-seen");
    env.ctl_ok(&["daemon", "start"]);
    let (_dashboard, port) = browser::dashboard(&env, &repo);
    let tasks = [
        gate.task("PUT:shared.txt=alpha build auth"),
        gate.task("PUT:shared.txt=beta write tests"),
        gate.task("PUT:other.txt=gamma speed up queries"),
    ];
    let spawned = env.ctl_json(&[
        "spawn",
        "--repo",
        repo.to_str().expect("p"),
        "--allowed-tools",
        "Write",
        &tasks[0],
        &tasks[1],
        &tasks[2],
    ]);
    let id = |i: usize| spawned[i]["id"].as_str().expect("id").to_owned();

    let browser = Browser::start(&env, &tools, &[]).await;
    let client = &browser.client;
    browser::open_logged_in(client, &env, port).await;

    // While they run, both cards of the pair are marked on the agents tab...
    // The two cards may be marked by separate events: wait for the line itself.
    shows(
        client,
        "#agent-list li.agent.overlap",
        &format!("also changed by {}: shared.txt", id(1)),
    )
    .await;
    let deadline = Instant::now() + orchestra_tests::DEADLINE;
    while client
        .find_all(Locator::Css("#agent-list li.agent.overlap"))
        .await
        .map(|c| c.len())
        .unwrap_or(0)
        != 2
    {
        assert!(Instant::now() < deadline, "two cards marked");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // ... and in the batch view.
    click(client, "nav button[data-tab=batches]").await;
    shows(
        client,
        "#batch-list li.batch",
        &format!("also changed by {}: shared.txt", id(0)),
    )
    .await;
    screenshot(client, "overlap").await;

    click(
        client,
        "#batch-list li.batch button[data-action=preview-merge]",
    )
    .await;
    let preview = shows(client, "#batch-list .batch-result", "conflict on").await;
    assert!(
        preview.contains(&format!("{} and {} conflict on shared.txt", id(0), id(1))),
        "{preview}"
    );
    assert!(preview.contains("Nothing was changed"), "{preview}");

    gate.open();
    wait_for_agents(&env, "all done", all_finished);
    click(client, "#batch-list li.batch button[data-action=merge]").await;
    let merged = shows(client, "#batch-list .batch-result", "merged into").await;
    assert!(
        merged.contains("merged into orchestra/integrate-")
            && merged.contains(&format!("{}, {}", id(0), id(2))),
        "{merged}"
    );
    assert!(merged.contains(&format!("left out: {}", id(1))), "{merged}");
    // The cards say what happened to each agent; wait for that before the next click, as
    // the new lines move the buttons (a click at the old place would miss).
    // Each agent's merge status may come in its own event: wait for all three lines.
    let deadline = Instant::now() + orchestra_tests::DEADLINE;
    loop {
        let rows = browser::text_of(client, "#batch-list .batch-rows").await;
        if rows.contains("left out of orchestra/integrate-")
            && rows.matches("merged into orchestra/integrate-").count() == 2
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "two merged, one left out: {rows}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    screenshot(client, "merged").await;

    click(client, "#batch-list li.batch button[data-action=report]").await;
    let report = shows(client, "#batch-list pre.report", "| # | Task |").await;
    for task in &tasks {
        assert!(report.contains(task.as_str()), "{report}");
    }
    // It is brought into view (it opens under the batch's buttons, below a phone's fold),
    // with a Copy button.
    let deadline = Instant::now() + orchestra_tests::DEADLINE;
    loop {
        let seen = client
            .execute(
                "const r = document.querySelector('#batch-list pre.report').getBoundingClientRect();\
                 const copy = document.querySelector('#batch-list button[data-action=copy-report]');\
                 return !!copy && r.top >= 0 && r.top < window.innerHeight;",
                vec![],
            )
            .await
            .expect("where the report is");
        if seen == serde_json::Value::Bool(true) {
            break;
        }
        assert!(Instant::now() < deadline, "the report is not in view");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    screenshot(client, "report").await;
    let _ = browser.client.close().await;
}

/// A batch whose merged result fails the repository's check: the card shows the verified
/// merge red, with the culprit and the end of the output, and its Repair button sends the
/// culprit back and follows the run to green, all on a phone-sized page.
#[tokio::test(flavor = "multi_thread")]
async fn a_red_batch_shows_its_culprit_and_repair_turns_it_green() {
    let Some(tools) = browser::chromium_and_driver() else {
        return;
    };
    let env = TestEnv::new();
    let repo = env.git_repo();
    std::fs::write(
        repo.join("check.sh"),
        "#!/bin/sh\nif [ -e bad.txt ]; then echo 'bad.txt breaks the build: BASH:rm_bad.txt'; exit 1; fi\n",
    )
    .expect("check.sh");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            repo.join("check.sh"),
            std::fs::Permissions::from_mode(0o755),
        )
        .expect("chmod");
    }
    std::fs::write(repo.join(".orchestra.json"), r#"{"verify": "./check.sh"}"#).expect("settings");
    env.git(&repo, &["add", "."]);
    env.git(&repo, &["commit", "-q", "-m", "a check"]);
    env.ctl_ok(&["daemon", "start"]);
    let (_dashboard, port) = browser::dashboard(&env, &repo);
    let spawned = env.ctl_json(&[
        "spawn",
        "--repo",
        repo.to_str().expect("p"),
        "--allowed-tools",
        "Bash",
        "PUT:good.txt=fine add a feature",
        "PUT:feature-b.txt=b PUT:bad.txt=oops add another",
    ]);
    let culprit = spawned[1]["id"].as_str().expect("id").to_owned();
    wait_for_agents(&env, "both done", |agents| {
        agents.len() == 2 && agents.iter().all(|a| a["state"] == "done")
    });

    let browser = Browser::start(&env, &tools, &[]).await;
    let client = &browser.client;
    browser::open_logged_in(client, &env, port).await;
    click(client, "nav button[data-tab=batches]").await;
    shows(client, "#batch-list li.batch", "batch").await;
    click(client, "#batch-list li.batch button[data-action=merge]").await;
    let red = shows(client, "#batch-list .batch-verified", "red").await;
    assert!(red.contains(&format!("culprit: agent {culprit}")), "{red}");
    assert!(red.contains("bad.txt breaks the build"), "{red}");
    screenshot(client, "verify-red").await;
    click(
        client,
        "#batch-list .batch-verified button[data-action=repair]",
    )
    .await;
    let green = shows(client, "#batch-list .batch-verified", "green").await;
    assert!(green.contains("repaired"), "{green}");
    screenshot(client, "verify-green").await;
}

/// An agent's change on a phone: the `agent_done` link (`#agent=ID&view=changes`) opens it,
/// folded by file, readable without sideways scrolling at 390 px even with a long line; a
/// tapped line takes a comment, and "Send comments" sends it to the agent as a follow-up.
#[tokio::test(flavor = "multi_thread")]
async fn an_agents_change_opens_from_its_link_and_a_line_comment_goes_back() {
    let Some(tools) = browser::chromium_and_driver() else {
        return;
    };
    let env = TestEnv::new();
    let repo = env.git_repo();
    env.ctl_ok(&["daemon", "start"]);
    let (_dashboard, port) = browser::dashboard(&env, &repo);
    let long = "x".repeat(300);
    let task = format!("PUT:notes.txt={long} write notes");
    let spawned = env.ctl_json(&["spawn", "--repo", repo.to_str().expect("p"), &task]);
    let id = spawned[0]["id"].as_str().expect("id").to_owned();
    wait_for_agents(&env, "done", all_finished);

    let browser = Browser::start(&env, &tools, &[]).await;
    let client = &browser.client;
    browser::open_logged_in(client, &env, port).await;
    client
        .goto(&format!("http://127.0.0.1:{port}/#agent={id}&view=changes"))
        .await
        .expect("the agent_done link");
    let panel = shows(client, "#panel-body", "notes.txt").await;
    assert!(panel.contains("1 file changed"), "{panel}");
    click(client, "#panel-body details.diff-file summary").await;
    shows(client, "#panel-body .diff-line", "xxxxxxxx").await;
    let wide: bool = client
        .execute(
            "return document.documentElement.scrollWidth > window.innerWidth;",
            vec![],
        )
        .await
        .expect("measure")
        .as_bool()
        .unwrap_or(true);
    assert!(!wide, "the change scrolls sideways at 390 px");
    screenshot(client, "changes").await;
    // The comment a person would type at the prompt.
    client
        .execute("window.prompt = () => 'shorter, please';", vec![])
        .await
        .expect("prompt");
    click(client, "#panel-body .diff-line[data-line='1']").await;
    shows(client, "#panel-body .review-status", "1 comment to send").await;
    click(client, "#panel-body button[data-action=send-review]").await;
    shows(client, "#panel-body .review-status", "changes requested").await;
    wait_for_agents(&env, "the follow-up ran", |agents| {
        agents
            .iter()
            .all(|a| a["state"] == "done" && a["runs"].as_u64() >= Some(2))
    });
    let logs = env.ctl_ok(&["logs", &id]);
    assert!(
        logs.contains("notes.txt:1") && logs.contains("shorter, please"),
        "{logs}"
    );
}
