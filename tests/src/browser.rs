//! A phone-sized headless Chromium driven over WebDriver, for the dashboard tests: finding
//! the browser and its driver, starting the dashboard and chromedriver on free ports, the
//! capabilities of a phone, and screenshots for failures.

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use fantoccini::{Client, ClientBuilder};

use crate::{TestEnv, bin, tools, wait_until};

/// What installs the browser and its driver (on Debian, as `.ci/run` does).
const INSTALL: &str = "apt-get install chromium chromium-driver";

/// The Chromium binary and chromedriver, or `None` after saying how to install them
/// (under `CI=true` their absence fails the test).
pub fn chromium_and_driver() -> Option<(PathBuf, PathBuf)> {
    let chromium = tools::require(&["chromium", "chromium-browser", "google-chrome"], INSTALL);
    let driver = tools::require(&["chromedriver"], INSTALL);
    chromium.zip(driver)
}

/// A child in its own process group, killed whole on drop (chromedriver's browser, or a
/// dashboard, would otherwise outlive a failed test).
#[derive(Debug)]
pub struct Killed(pub Child);

impl Killed {
    /// Spawns `cmd` in a new process group.
    pub fn spawn(cmd: &mut Command, what: &str) -> Killed {
        Killed(
            cmd.process_group(0)
                .spawn()
                .unwrap_or_else(|err| panic!("spawning {what}: {err}")),
        )
    }
}

impl Drop for Killed {
    fn drop(&mut self) {
        let group = nix::unistd::Pid::from_raw(self.0.id() as i32);
        let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A TCP port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Waits until something listens on `port` of 127.0.0.1.
pub fn wait_listening(what: &str, port: u16) {
    wait_until(&format!("{what} listens on {port}"), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
}

/// Starts `orchestra-dashboard` for `repo` on a free port; returns it and the port once it
/// listens.
pub fn dashboard(env: &TestEnv, repo: &Path) -> (Killed, u16) {
    let port = free_port();
    (dashboard_on(env, repo, port), port)
}

/// Starts `orchestra-dashboard` for `repo` on `port` (again, after a restart); returns it
/// once it listens.
pub fn dashboard_on(env: &TestEnv, repo: &Path, port: u16) -> Killed {
    let process = Killed::spawn(
        env.command(bin("orchestra-dashboard"))
            .args(["--port", &port.to_string(), "--repo"])
            .arg(repo)
            .stdout(Stdio::null()),
        "orchestra-dashboard",
    );
    wait_listening("the dashboard", port);
    process
}

/// Opens the loopback dashboard on `port` in `client` as its user does: with a one-time
/// link from `orchestractl web link`, which logs the browser in and leads to the page.
pub async fn open_logged_in(client: &Client, env: &TestEnv, port: u16) {
    let link = tokio::task::block_in_place(|| crate::web::login_link(env, port));
    client
        .goto(link["url"].as_str().expect("url"))
        .await
        .expect("open the login link");
}

/// A headless Chromium with a phone's screen (390x844 CSS pixels, touch), driven by its own
/// chromedriver; both end when this is dropped.
#[derive(Debug)]
pub struct Browser {
    /// The WebDriver session.
    pub client: Client,
    /// chromedriver, whose process group holds the browser.
    _driver: Killed,
}

impl Browser {
    /// Starts chromedriver and a Chromium session with a profile in `env`'s temp dir;
    /// `extra_args` go to Chromium after the usual headless ones.
    pub async fn start(
        env: &TestEnv,
        tools: &(PathBuf, PathBuf),
        extra_args: &[String],
    ) -> Browser {
        Browser::start_in(env, tools, extra_args, None).await
    }

    /// [`Browser::start`] with `HOME` set to `home` for the browser: Chromium on Linux reads
    /// the certificate authorities its user trusts from `$HOME/.pki/nssdb` (see [`trust_ca`]).
    pub async fn start_in(
        env: &TestEnv,
        (chromium, driver): &(PathBuf, PathBuf),
        extra_args: &[String],
        home: Option<&Path>,
    ) -> Browser {
        let driver_port = free_port();
        let mut command = Command::new(driver);
        command
            .arg(format!("--port={driver_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(home) = home {
            command.env("HOME", home);
        }
        let driver = Killed::spawn(&mut command, "chromedriver");
        wait_listening("chromedriver", driver_port);
        let profile = env.root.path().join("chromium-profile");
        let mut args: Vec<String> = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--window-size=390,844",
        ]
        .map(str::to_owned)
        .to_vec();
        args.push(format!("--user-data-dir={}", profile.display()));
        args.extend_from_slice(extra_args);
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".to_owned(),
            serde_json::json!({
                "binary": chromium,
                "args": args,
                // A phone: 390x844 CSS pixels, touch, a mobile user agent.
                "mobileEmulation": {"deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 3.0, "touch": true}}
            }),
        );
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{driver_port}"))
            .await
            .expect("a WebDriver session");
        Browser {
            client,
            _driver: driver,
        }
    }
}

/// Saves a screenshot of the page as `target/test-artifacts/dashboard/<name>.png` (for a
/// person reading a failure; a failed screenshot is not a failed test).
pub async fn screenshot(client: &Client, name: &str) {
    let dir = crate::workspace_root().join("target/test-artifacts/dashboard");
    let _ = std::fs::create_dir_all(&dir);
    if let Ok(png) = client.screenshot().await {
        let _ = std::fs::write(dir.join(format!("{name}.png")), png);
    }
}

/// Makes `home/.pki/nssdb` trust the CA certificate in `ca_pem` for web sites, as a user does
/// with `certutil` (package libnss3-tools); `None` after saying how to install certutil
/// (under `CI=true` its absence fails the test).
pub fn trust_ca(home: &Path, ca_pem: &Path) -> Option<()> {
    let certutil = crate::tools::require(&["certutil"], "apt-get install libnss3-tools")?;
    let db = home.join(".pki/nssdb");
    std::fs::create_dir_all(&db).expect("the NSS db dir");
    let db_arg = format!("sql:{}", db.display());
    let run = |args: &[&str]| {
        let out = Command::new(&certutil)
            .args(args)
            .output()
            .expect("run certutil");
        assert!(
            out.status.success(),
            "certutil {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&["-d", &db_arg, "-N", "--empty-password"]);
    run(&[
        "-d",
        &db_arg,
        "-A",
        "-t",
        "C,,",
        "-n",
        "claude-orchestra test CA",
        "-i",
        ca_pem.to_str().expect("a UTF-8 path"),
    ]);
    Some(())
}

/// The rendered text of everything matching `css`, one element per line ("" when nothing
/// matches). An element the page replaced meanwhile reads as empty: callers wait with
/// [`shows`] rather than read once.
pub async fn text_of(client: &Client, css: &str) -> String {
    let mut all = Vec::new();
    for element in client
        .find_all(fantoccini::Locator::Css(css))
        .await
        .unwrap_or_default()
    {
        all.push(element.text().await.unwrap_or_default());
    }
    all.join("\n")
}

/// Waits until the text of `css` contains `needle` and returns that text; on time out, saves
/// the screenshot `failed-<css>` and fails.
pub async fn shows(client: &Client, css: &str, needle: &str) -> String {
    let deadline = std::time::Instant::now() + crate::DEADLINE;
    loop {
        let text = text_of(client, css).await;
        if text.contains(needle) {
            return text;
        }
        if std::time::Instant::now() > deadline {
            let name: String = css
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect();
            screenshot(client, &format!("failed-{name}")).await;
            panic!("timed out waiting for {needle:?} in {css}: {text}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Clicks the first element matching `css`. The page redraws cards as agents change, so an
/// element that went stale between finding and clicking is found again; the test fails when
/// none can be clicked before the deadline.
pub async fn click(client: &Client, css: &str) {
    let deadline = std::time::Instant::now() + crate::DEADLINE;
    loop {
        let tried = match client.find(fantoccini::Locator::Css(css)).await {
            Ok(element) => element.click().await.map(|_| ()),
            Err(err) => Err(err),
        };
        match tried {
            Ok(()) => return,
            Err(err) if std::time::Instant::now() > deadline => {
                screenshot(client, "failed-click").await;
                panic!("cannot click {css}: {err}");
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
}
