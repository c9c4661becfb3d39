//! Spending caps end to end (issue 26): an agent at its cap, its batch's or the day's
//! pauses with its session kept and asks a "budget" approval; `approve --raise` lets it
//! go on where it stopped, `deny` stops it with `stop_reason: "budget"`; queued agents of
//! a spent batch or day wait and say why; bad caps and raises are refused, losing nothing.
//!
//! fake-claude reports each model request's cost as the real CLI does ($4/$20 per million
//! tokens) and honours `--max-budget-usd` after each response, as 2.1.330 on do.

use orchestra_tests::{TestEnv, bin, wait_until};
use serde_json::Value;

/// A task of two model requests: a Write call, then the answer after its result.
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

/// Waits for the one pending budget approval of agent `id` and returns it.
fn budget_approval_of(env: &TestEnv, id: &str) -> Value {
    let mut found = Value::Null;
    wait_until("a budget approval is pending", || {
        let pending = env.ctl_json(&["approvals"]);
        found = pending
            .as_array()
            .expect("list")
            .iter()
            .find(|a| a["agent_id"] == id && a["kind"] == "budget")
            .cloned()
            .unwrap_or(Value::Null);
        !found.is_null()
    });
    found
}

fn ctl_err(env: &TestEnv, args: &[&str]) -> String {
    let out = env.ctl(args);
    assert!(!out.status.success(), "{args:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn an_agent_at_its_cap_waits_and_a_raise_lets_it_finish() {
    let env = TestEnv::new();
    let repo = env.git_repo();
    let spawned = env.ctl_json(&[
        "spawn",
        "--repo",
        repo.to_str().expect("path"),
        "--max-budget-usd",
        "0.0001",
        TWO_REQUESTS,
    ]);
    let id = spawned[0]["id"].as_str().expect("id").to_owned();
    assert_eq!(spawned[0]["max_budget_usd"], 0.0001);

    let asked = budget_approval_of(&env, &id);
    assert_eq!(asked["state"], "pending");
    assert_eq!(asked["budget"]["scope"], "agent");
    assert_eq!(asked["budget"]["budget_usd"], 0.0001);
    let spent = asked["budget"]["spent_usd"].as_f64().expect("spent");
    assert!(spent >= 0.0001, "paused past the cap only: {asked:#}");
    wait_until("the agent waits", || agent(&env, &id)["state"] == "waiting");
    let paused = agent(&env, &id);
    assert_eq!(paused["budget_scope"], "agent");
    // Paused after the first request, before its tool ran: the second never happened.
    let cwd = std::path::PathBuf::from(paused["cwd"].as_str().expect("cwd"));
    assert!(!cwd.join("out.txt").exists(), "the Write ran past the cap");
    assert_eq!(paused["total_cost_usd"].as_f64(), Some(spent));
    assert_eq!(paused["runs"], 1);
    let table = env.ctl_ok(&["status", "--all"]);
    assert!(table.contains("paused at the agent budget"), "{table}");

    let approval = asked["id"].as_str().expect("id");
    // "From now on" means nothing for a cap: refused, and the approval still asks.
    let err = ctl_err(&env, &["approve", approval, "--always"]);
    assert!(err.contains("--always is for tool calls"), "{err}");
    assert_eq!(budget_approval_of(&env, &id)["state"], "pending");
    let answer = env.ctl_json(&["approve", approval, "--raise", "1"]);
    assert_eq!(answer["state"], "allowed");
    assert_eq!(answer["kind"], "budget");
    wait_until("the agent is done", || agent(&env, &id)["state"] == "done");
    let done = agent(&env, &id);
    assert_eq!(done["max_budget_usd"].as_f64(), Some(1.0001));
    assert_eq!(done["runs"], 2, "it went on in a second run");
    assert_eq!(done["stop_reason"], "");
    assert_eq!(done["budget_scope"], "");
    let total = done["total_cost_usd"].as_f64().expect("cost");
    assert!(total > spent && total <= 1.0001, "{done:#}");
    // Both runs count on today's spend, which the daily cap and the page's spend card read.
    let days = env.ctl_json(&["analytics", "--by", "day"]);
    let today = days["today"]["spent_usd"].as_f64().expect("today's spend");
    assert!(
        (today - total).abs() < 1e-6,
        "today {today} vs the agent's {total}: {days:#}"
    );
    // Its session was kept: the second run resumed the first one's.
    assert_eq!(done["session_id"], paused["session_id"]);

    // Answered once: a second answer is refused and changes nothing.
    let late = ctl_err(&env, &["deny", approval]);
    assert!(late.contains("already answered"), "{late}");
    assert_eq!(agent(&env, &id)["state"], "done");
}

/// A batch capped at $0.0001, one at a time: its first agent (two model requests) passes
/// the cap, the second ("say hello") is queued behind it. The spawn's answer and both ids.
fn spent_batch(env: &TestEnv) -> (Value, String, String) {
    let repo = env.git_repo();
    let spawned = env.ctl_json(&[
        "spawn",
        "--repo",
        repo.to_str().expect("path"),
        "--parallel",
        "1",
        "--batch-max-budget-usd",
        "0.0001",
        TWO_REQUESTS,
        "say hello",
    ]);
    let id = |i: usize| spawned[i]["id"].as_str().expect("id").to_owned();
    let (first, second) = (id(0), id(1));
    (spawned, first, second)
}

#[test]
fn a_spent_batch_holds_its_queue_and_deny_stops_it_and_the_held_agents_with_reason_budget() {
    let env = TestEnv::new();
    let (spawned, first, second) = spent_batch(&env);
    assert_eq!(spawned[1]["batch_max_budget_usd"], 0.0001);

    let asked = budget_approval_of(&env, &first);
    assert_eq!(asked["budget"]["scope"], "batch");
    assert_eq!(asked["budget"]["budget_usd"], 0.0001);
    // Its slot frees only when it ends, and the batch is spent: the second waits, saying so.
    wait_until("the queued agent says why it waits", || {
        agent(&env, &second)["activity"]
            .as_str()
            .is_some_and(|a| a.starts_with("waiting for budget: the batch cap"))
    });

    let approval = asked["id"].as_str().expect("id");
    let answer = env.ctl_json(&["deny", approval]);
    assert_eq!(answer["state"], "denied");
    wait_until("the agent is stopped", || {
        agent(&env, &first)["state"] == "stopped"
    });
    let stopped = agent(&env, &first);
    assert_eq!(stopped["stop_reason"], "budget");
    assert_eq!(stopped["budget_scope"], "");
    // The batch's cap was not raised and nothing else asks to: its queued agent, which
    // would otherwise wait for good, ends the same way without having run.
    wait_until("the held agent is stopped", || {
        agent(&env, &second)["state"] == "stopped"
    });
    let held = agent(&env, &second);
    assert_eq!(held["stop_reason"], "budget", "{held:#}");
    assert_eq!(held["runs"], 0);
    assert!(
        held["activity"]
            .as_str()
            .is_some_and(|a| a.contains("cap was not raised")),
        "{held:#}"
    );
    assert_eq!(
        env.ctl_json(&["approvals"]).as_array().map(Vec::len),
        Some(0),
        "nothing is left asking"
    );
}

/// When the agent that passed the batch cap ends its run before it is paused, nothing asks
/// to raise the cap: the held agent says so and what to do, not to answer an approval that
/// does not exist.
#[test]
fn a_held_agent_says_when_nothing_asks_to_raise_its_batch_cap() {
    let env = TestEnv::new();
    let repo = env.git_repo();
    let spawned = env.ctl_json(&[
        "spawn",
        "--repo",
        repo.to_str().expect("path"),
        "--parallel",
        "1",
        "--batch-max-budget-usd",
        "0.0001",
        "say hi",
        "say hello",
    ]);
    let held = spawned[1]["id"].as_str().expect("id").to_owned();
    wait_until("the held agent says nothing asks", || {
        agent(&env, &held)["activity"]
            .as_str()
            .is_some_and(|a| a.contains("no agent of the batch asks"))
    });
    let said = agent(&env, &held);
    assert_eq!(said["state"], "queued", "{said:#}");
    assert!(
        said["activity"]
            .as_str()
            .is_some_and(|a| a.contains(&format!("orchestractl stop {held}"))),
        "{said:#}"
    );
    assert_eq!(
        env.ctl_json(&["approvals"]).as_array().map(Vec::len),
        Some(0)
    );
}

/// Stopping the agent paused at its batch's cap (instead of denying) ends the batch's held
/// queue the same way: nothing else would raise that cap.
#[test]
fn stopping_the_agent_paused_at_the_batch_cap_ends_its_held_queue() {
    let env = TestEnv::new();
    let (_, first, second) = spent_batch(&env);
    budget_approval_of(&env, &first);
    env.ctl_ok(&["stop", &first]);
    wait_until("the held agent is stopped", || {
        agent(&env, &second)["state"] == "stopped"
    });
    let held = agent(&env, &second);
    assert_eq!(held["stop_reason"], "budget", "{held:#}");
    assert!(
        held["activity"]
            .as_str()
            .is_some_and(|a| a.contains(&format!("agent {first} was stopped at it"))),
        "{held:#}"
    );
}

#[test]
fn a_spent_day_holds_new_spawns_until_a_raise() {
    let env = TestEnv::new();
    env.write_config(&serde_json::json!({
        "claude_command": bin("fake-claude"),
        "heartbeat_interval": 1,
        "daily_max_budget_usd": 0.0001,
    }));
    let repo = env.git_repo();
    let repo_arg = repo.to_str().expect("path");
    let first = env.ctl_json(&["spawn", "--repo", repo_arg, TWO_REQUESTS])[0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let asked = budget_approval_of(&env, &first);
    assert_eq!(asked["budget"]["scope"], "day");

    // The day is spent: a new spawn is accepted but waits, and says why.
    let second = env.ctl_json(&["spawn", "--repo", repo_arg, "say hello"])[0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    wait_until("the new agent says why it waits", || {
        agent(&env, &second)["activity"]
            .as_str()
            .is_some_and(|a| a.starts_with("waiting for budget: the day cap"))
    });
    let held = agent(&env, &second);
    assert_eq!(held["state"], "queued");
    assert!(
        held["activity"]
            .as_str()
            .is_some_and(|a| a.contains("daily_max_budget_usd")),
        "{held:#}"
    );

    // A raise of the day's cap lets both go on.
    env.ctl_json(&["approve", asked["id"].as_str().expect("id"), "--raise", "5"]);
    wait_until("both are done", || {
        agent(&env, &first)["state"] == "done" && agent(&env, &second)["state"] == "done"
    });
}

#[test]
fn bad_caps_and_raises_are_refused_with_what_to_do() {
    let env = TestEnv::new();
    let repo = env.git_repo();
    let repo_arg = repo.to_str().expect("path");
    for bad in ["-1", "abc", "inf", "NaN"] {
        for flag in ["--max-budget-usd", "--batch-max-budget-usd"] {
            let err = ctl_err(&env, &["spawn", "--repo", repo_arg, flag, bad, "a task"]);
            assert!(err.contains("US dollars"), "{flag} {bad}: {err}");
        }
    }
    // Nothing was started by the refused spawns.
    let none = env.ctl_json(&["status", "--all"]);
    assert_eq!(none.as_array().map(Vec::len), Some(0), "{none:#}");

    // A raise on a tool call's approval is refused, and the approval stays pending.
    let id = env.ctl_json(&["spawn", "--repo", repo_arg, "TOOL_BASH:touch ran.txt"])[0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let mut tool = Value::Null;
    wait_until("the tool approval is pending", || {
        tool = env.ctl_json(&["approvals"])[0].clone();
        tool["agent_id"] == id.as_str()
    });
    assert_eq!(tool["kind"], "tool");
    let approval = tool["id"].as_str().expect("id");
    let err = ctl_err(&env, &["approve", approval, "--raise", "1"]);
    assert!(err.contains("only for budget approvals"), "{err}");
    for bad in ["0", "-2", "abc", "inf"] {
        let err = ctl_err(&env, &["approve", approval, "--raise", bad]);
        assert!(err.contains("US dollars"), "--raise {bad}: {err}");
    }
    assert_eq!(env.ctl_json(&["approvals"])[0]["state"], "pending");
    assert_eq!(agent(&env, &id)["state"], "waiting");
    env.ctl_ok(&["stop", &id]);

    // A cap on a resumed session is refused before anything starts.
    let err = ctl_err(&env, &["resume", &id, "--max-budget-usd", "1"]);
    assert!(err.contains("resume takes no --max-budget-usd"), "{err}");

    // A cap in the config that is not a number of dollars is named, with the file.
    env.write_config(&serde_json::json!({
        "claude_command": bin("fake-claude"),
        "daily_max_budget_usd": -3,
    }));
    let err = ctl_err(&env, &["daemon", "restart"]);
    assert!(err.contains("daily_max_budget_usd"), "{err}");
}

#[test]
fn a_paused_agent_and_its_budget_approval_survive_a_daemon_restart() {
    let env = TestEnv::new();
    let repo = env.git_repo();
    let id = env.ctl_json(&[
        "spawn",
        "--repo",
        repo.to_str().expect("path"),
        "--max-budget-usd",
        "0.0001",
        TWO_REQUESTS,
    ])[0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let asked = budget_approval_of(&env, &id);
    wait_until("the agent waits", || agent(&env, &id)["state"] == "waiting");
    let before = env.ctl_json(&["daemon", "status"])["pid"].clone();
    env.ctl_ok(&["daemon", "restart"]);
    assert_ne!(env.ctl_json(&["daemon", "status"])["pid"], before);

    // Still paused, still asking the same question: nothing was re-run or re-asked.
    let after = agent(&env, &id);
    assert_eq!(after["state"], "waiting", "{after:#}");
    assert_eq!(after["budget_scope"], "agent");
    assert_eq!(after["runs"], 1);
    let all = env.ctl_json(&["approvals", "--all"]);
    assert_eq!(all.as_array().map(Vec::len), Some(1), "{all:#}");
    assert_eq!(all[0]["id"], asked["id"]);
    assert_eq!(all[0]["state"], "pending");

    // The default raise is the cap's own amount again: $0.0002 is still below what was
    // spent, so it pauses again at once, asking anew, without a run.
    let said = env.ctl_ok(&["approve", asked["id"].as_str().expect("id")]);
    assert!(
        said.contains("the agent cap is now $0.0002 (+$0.0001)"),
        "the new cap is told: {said}"
    );
    let again = budget_approval_of(&env, &id);
    assert_ne!(again["id"], asked["id"]);
    assert_eq!(again["budget"]["budget_usd"].as_f64(), Some(0.0002));
    let still = agent(&env, &id);
    assert_eq!(still["state"], "waiting");
    assert_eq!(still["runs"], 1, "no run below the cap");
    env.ctl_json(&["approve", again["id"].as_str().expect("id"), "--raise", "1"]);
    wait_until("the agent is done", || agent(&env, &id)["state"] == "done");
    assert_eq!(agent(&env, &id)["max_budget_usd"].as_f64(), Some(1.0002));
}

#[test]
fn a_batch_cap_passed_by_a_sibling_interrupts_a_running_agent_at_its_turn() {
    let env = TestEnv::new();
    let repo = env.git_repo();
    let gate = orchestra_tests::Gate::new(&env, "holder-runs");
    // Both start at once with the whole cap ahead of them. The holder makes one request
    // ($0.0501, under the cap) and holds its turn open; the other, let go once the holder
    // runs, makes two ($0.1002) and finishes, passing the batch's cap.
    let spawned = env.ctl_json(&[
        "spawn",
        "--repo",
        repo.to_str().expect("path"),
        "--parallel",
        "2",
        "--batch-max-budget-usd",
        "0.06",
        "HOLD the turn open",
        &gate.task(TWO_REQUESTS),
    ]);
    let holder = spawned[0]["id"].as_str().expect("id").to_owned();
    let spender = spawned[1]["id"].as_str().expect("id").to_owned();
    wait_until("the holder holds", || {
        agent(&env, &holder)["activity"] == "holding until interrupted"
    });
    gate.open();
    wait_until("the spender is done", || {
        agent(&env, &spender)["state"] == "done"
    });

    // The daemon saw the batch pass its cap at the spender's turn boundary and interrupted
    // the holder: paused, not failed, its session kept, asking about the batch's cap.
    let asked = budget_approval_of(&env, &holder);
    assert_eq!(asked["budget"]["scope"], "batch");
    assert_eq!(asked["budget"]["budget_usd"], 0.06);
    let spent = asked["budget"]["spent_usd"].as_f64().expect("spent");
    assert!(spent >= 0.06, "{asked:#}");
    let paused = agent(&env, &holder);
    assert_eq!(paused["state"], "waiting", "{paused:#}");
    assert_eq!(paused["budget_scope"], "batch");
    assert!(
        paused["total_cost_usd"].as_f64().expect("cost") > 0.0,
        "its request is counted"
    );

    // A raise of the batch's cap lets it go on in its own session, to the end.
    env.ctl_json(&["approve", asked["id"].as_str().expect("id"), "--raise", "1"]);
    wait_until("the holder is done", || {
        agent(&env, &holder)["state"] == "done"
    });
    let done = agent(&env, &holder);
    assert_eq!(done["session_id"], paused["session_id"]);
    assert_eq!(done["batch_max_budget_usd"].as_f64(), Some(1.06));
    assert_eq!(
        agent(&env, &spender)["batch_max_budget_usd"].as_f64(),
        Some(1.06)
    );
}
