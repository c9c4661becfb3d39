//! The dashboard's batch view in a real phone-sized browser: overlap marks while agents
//! run, "Preview merge" (the dry run), "Merge" with its result, and the report.
//!
//! Needs `chromium` and `chromedriver` (`.ci/run` installs them from Debian): with
//! `CI=true` their absence fails the test, otherwise it is skipped with the reason.

use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use orchestra_tests::{TestEnv, all_finished, bin, wait_for_agents};

fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    names
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|p| p.is_file())
}

/// A child killed on drop with its whole process group (chromedriver's browser too).
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let group = nix::unistd::Pid::from_raw(self.0.id() as i32);
        let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

async fn screenshot(client: &Client, name: &str) {
    let dir = orchestra_tests::workspace_root().join("target/test-artifacts/dashboard");
    let _ = std::fs::create_dir_all(&dir);
    if let Ok(png) = client.screenshot().await {
        let _ = std::fs::write(dir.join(format!("batches-{name}.png")), png);
    }
}

/// The text of everything matching `css`, joined.
async fn text_of(client: &Client, css: &str) -> String {
    let mut all = String::new();
    for element in client.find_all(Locator::Css(css)).await.unwrap_or_default() {
        all.push_str(&element.text().await.unwrap_or_default());
        all.push('\n');
    }
    all
}

/// Waits until the text of `css` contains `needle`; returns that text.
async fn shows(client: &Client, css: &str, needle: &str) -> String {
    let deadline = Instant::now() + orchestra_tests::DEADLINE;
    loop {
        let text = text_of(client, css).await;
        if text.contains(needle) {
            return text;
        }
        if Instant::now() > deadline {
            screenshot(client, "failed").await;
            panic!("timed out waiting for {needle:?} in {css}: {text}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|err| panic!("no {css}: {err}"))
        .click()
        .await
        .expect("click");
}

#[tokio::test(flavor = "multi_thread")]
async fn batch_view_marks_overlaps_previews_merges_and_reports() {
    let (Some(chromium), Some(driver)) = (
        find_program(&["chromium", "chromium-browser", "google-chrome"]),
        find_program(&["chromedriver"]),
    ) else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "chromium and chromedriver are needed: apt-get install chromium chromium-driver"
        );
        eprintln!("skipped: chromium and chromedriver are not installed");
        return;
    };
    let env = TestEnv::new();
    let repo = env.git_repo();
    let gate = env.root.path().join("gate");
    env.ctl_ok(&["daemon", "start"]);
    let port = free_port();
    let _dashboard = Killed(
        env.command(bin("orchestra-dashboard"))
            .args([
                "--port",
                &port.to_string(),
                "--repo",
                repo.to_str().expect("p"),
            ])
            .stdout(Stdio::null())
            .spawn()
            .expect("dashboard"),
    );
    let driver_port = free_port();
    let _driver = Killed(
        std::os::unix::process::CommandExt::process_group(
            &mut std::process::Command::new(&driver),
            0,
        )
        .arg(format!("--port={driver_port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver"),
    );
    orchestra_tests::wait_until("chromedriver and the dashboard listen", || {
        std::net::TcpStream::connect(("127.0.0.1", driver_port)).is_ok()
            && std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let g = gate.display().to_string();
    let tasks = [
        format!("PUT:shared.txt=alpha GATE:{g} build auth"),
        format!("PUT:shared.txt=beta GATE:{g} write tests"),
        format!("PUT:other.txt=gamma GATE:{g} speed up queries"),
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

    let profile = env.root.path().join("chromium-profile");
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".to_owned(),
        serde_json::json!({
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--no-first-run", "--window-size=390,844", format!("--user-data-dir={}", profile.display())],
            "mobileEmulation": {"deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 3.0, "touch": true}}
        }),
    );
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{driver_port}"))
        .await
        .expect("a WebDriver session");
    client
        .goto(&format!("http://127.0.0.1:{port}/"))
        .await
        .expect("open the page");

    // While they run, both cards of the pair are marked on the agents tab...
    let agents = shows(&client, "#agent-list li.agent.overlap", "also changed by").await;
    assert!(
        agents.contains(&format!("also changed by {}: shared.txt", id(1))),
        "{agents}"
    );
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
    click(&client, "nav button[data-tab=batches]").await;
    let batch = shows(&client, "#batch-list li.batch", "overlap").await;
    assert!(
        batch.contains(&format!("also changed by {}: shared.txt", id(0))),
        "{batch}"
    );
    screenshot(&client, "overlap").await;

    click(
        &client,
        "#batch-list li.batch button[data-action=preview-merge]",
    )
    .await;
    let preview = shows(&client, "#batch-list .batch-result", "conflict on").await;
    assert!(
        preview.contains(&format!("{} and {} conflict on shared.txt", id(0), id(1))),
        "{preview}"
    );
    assert!(preview.contains("Nothing was changed"), "{preview}");

    std::fs::write(&gate, "go").expect("gate");
    wait_for_agents(&env, "all done", all_finished);
    click(&client, "#batch-list li.batch button[data-action=merge]").await;
    let merged = shows(&client, "#batch-list .batch-result", "merged into").await;
    assert!(
        merged.contains("merged into orchestra/integrate-")
            && merged.contains(&format!("{}, {}", id(0), id(2))),
        "{merged}"
    );
    assert!(merged.contains(&format!("left out: {}", id(1))), "{merged}");
    // The cards say what happened to each agent; wait for that before the next click, as
    // the new lines move the buttons (a click at the old place would miss).
    let rows = shows(
        &client,
        "#batch-list .batch-rows",
        "left out of orchestra/integrate-",
    )
    .await;
    assert!(
        rows.matches("merged into orchestra/integrate-").count() == 2,
        "{rows}"
    );
    screenshot(&client, "merged").await;

    click(&client, "#batch-list li.batch button[data-action=report]").await;
    let report = shows(&client, "#batch-list pre.report", "| # | Task |").await;
    for task in &tasks {
        assert!(report.contains(task.as_str()), "{report}");
    }
    let _ = client.close().await;
}
