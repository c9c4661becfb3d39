//! Spend on the page (issue 26, item 4), in a real phone-sized browser: the spend card
//! (today, this batch, the caps) with its two-week SVG chart, and budget approvals as cards
//! in "Needs you" whose Raise lets the agent finish and whose Stop stops it for its budget.
//!
//! Needs `chromium` and `chromedriver` (`.ci/run` installs them from Debian): under
//! `CI=true` their absence fails the test, elsewhere it is skipped with the reason.

use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use orchestra_tests::browser::{self, Browser, click, screenshot, shows};
use orchestra_tests::{TestEnv, wait_until};
use serde_json::Value;

/// Two model requests: fake-claude's Write call, then its answer.
const TWO_REQUESTS: &str = "WRITE:out.txt then say so";

fn agent(env: &TestEnv, id: &str) -> Value {
    env.ctl_json(&["status", "--all"])
        .as_array()
        .expect("list")
        .iter()
        .find(|a| a["id"] == id)
        .cloned()
        .expect("the agent")
}

/// Spawns an agent capped at $0.0001 and waits until it is paused at its cap.
fn paused_agent(env: &TestEnv, repo: &str) -> String {
    let id = env.ctl_json(&[
        "spawn",
        "--repo",
        repo,
        "--max-budget-usd",
        "0.0001",
        TWO_REQUESTS,
    ])[0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    wait_until("the agent is paused at its cap", || {
        agent(env, &id)["budget_scope"] == "agent"
    });
    id
}

async fn budget_card_button(client: &Client, decision: &str) {
    click(
        client,
        &format!("#approval-list li.approval .budget-body button[data-decision={decision}]"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_spend_card_charts_two_weeks_and_budget_cards_raise_and_stop() {
    let Some(tools) = browser::chromium_and_driver() else {
        return;
    };
    let env = TestEnv::new();
    let repo = env.git_repo();
    let repo_arg = repo.to_str().expect("path").to_owned();
    env.ctl_ok(&["daemon", "start"]);
    let (_dashboard, port) = browser::dashboard(&env, &repo);
    let browser = Browser::start(&env, &tools, &[]).await;
    let client = &browser.client;
    browser::open_logged_in(client, &env, port).await;

    // Raise: the card says what was spent of which cap; a raise of $1 lets it finish.
    let first = {
        let env = &env;
        let repo = repo_arg.clone();
        tokio::task::block_in_place(move || paused_agent(env, &repo))
    };
    let card = shows(
        client,
        "#approval-list li.approval",
        "Paused at the agent cap",
    )
    .await;
    assert!(card.contains("$0.0001"), "{card}");
    screenshot(client, "spend-01-budget-card").await;
    let raise = client
        .find(Locator::Css("#approval-list li.approval .budget-raise"))
        .await
        .expect("the raise field");
    // The suggested raise takes the cap past what was spent (the cap's own $0.0001 again
    // would pause it at once).
    let suggested: f64 = raise
        .prop("value")
        .await
        .expect("value")
        .and_then(|v| v.parse().ok())
        .expect("a number");
    let spent = agent(&env, &first)["total_cost_usd"]
        .as_f64()
        .expect("spent");
    assert!(
        0.0001 + suggested > spent,
        "raise {suggested}, spent {spent}"
    );
    raise.clear().await.expect("clear");
    raise.send_keys("1").await.expect("type");
    budget_card_button(client, "allow").await;
    tokio::task::block_in_place(|| {
        wait_until("the raised agent is done", || {
            agent(&env, &first)["state"] == "done"
        });
    });
    assert_eq!(agent(&env, &first)["max_budget_usd"].as_f64(), Some(1.0001));

    // Stop: the next one is stopped for its budget.
    let second = {
        let env = &env;
        let repo = repo_arg.clone();
        tokio::task::block_in_place(move || paused_agent(env, &repo))
    };
    shows(
        client,
        "#approval-list li.approval",
        "Paused at the agent cap",
    )
    .await;
    budget_card_button(client, "deny").await;
    tokio::task::block_in_place(|| {
        wait_until("the stopped agent", || {
            agent(&env, &second)["stop_reason"] == "budget"
        });
    });
    assert_eq!(agent(&env, &second)["state"], "stopped");
    // Today's spend is both agents' costs (the daily cap and the card read it).
    let spent: f64 = env
        .ctl_json(&["status", "--all"])
        .as_array()
        .expect("agents")
        .iter()
        .filter_map(|a| a["total_cost_usd"].as_f64())
        .sum();
    let days = env.ctl_json(&["analytics", "--by", "day"]);
    let today = days["today"]["spent_usd"].as_f64().expect("today's spend");
    assert!(
        (today - spent).abs() < 1e-6,
        "today {today} vs the agents' {spent}: {days:#}"
    );
    // ... and the card catches up with it (it once kept the figure of the first pause).
    let shown = if spent < 0.1 {
        format!("${spent:.4}")
    } else {
        format!("${spent:.2}")
    };
    shows(client, "#spend-card", &shown).await;

    // The spend card: today, this batch with its caps, and 14 bars, today's not empty.
    // The card redraws after agents change: each line is waited for, not read once.
    shows(client, "#spend-card", "This batch").await;
    shows(client, "#spend-card", "Today").await;
    shows(client, "#spend-card", "agent $0.0001").await;
    // The card may redraw between two WebDriver calls (a found bar goes stale), so the
    // bars are read in one script, again until today's is there.
    let deadline = Instant::now() + orchestra_tests::DEADLINE;
    loop {
        let seen = client
            .execute(
                "return [...document.querySelectorAll('#spend-card svg rect')]\
                 .map(r => parseFloat(r.getAttribute('data-cost')));",
                vec![],
            )
            .await
            .expect("read the bars");
        let bars = seen.as_array().map(Vec::len).unwrap_or(0);
        if bars == 14 && seen[13].as_f64().is_some_and(|c| c > 0.0) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "two weeks of bars, today's not empty: {seen}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    screenshot(client, "spend-02-card").await;
    let _ = browser.client.close().await;
}
