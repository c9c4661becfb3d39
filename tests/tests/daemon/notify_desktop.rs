//! The `desktop` channel as a Linux desktop gets it: a private D-Bus session bus
//! (`dbus-daemon`) with a stand-in `org.freedesktop.Notifications` server on it, and the
//! real daemon started with that bus and a display in its environment. Without them the
//! channel is skipped, quietly.
//!
//! Needs `dbus-daemon`; under `CI=true` a missing one fails the test, elsewhere it is
//! skipped with a note.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::Duration;

use orchestra_tests::{TestEnv, bin};
use serde_json::json;
use tokio::sync::mpsc;

/// A notification the stand-in server was asked to show.
#[derive(Debug)]
struct Shown {
    app_name: String,
    summary: String,
    body: String,
    urgency: Option<u8>,
}

/// The stand-in notification server: records what it is asked to show.
struct Server {
    shown: mpsc::UnboundedSender<Shown>,
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl Server {
    #[allow(
        clippy::too_many_arguments,
        reason = "the freedesktop Notify method's signature"
    )]
    fn notify(
        &self,
        app_name: String,
        _replaces_id: u32,
        _app_icon: String,
        summary: String,
        body: String,
        _actions: Vec<String>,
        hints: HashMap<String, zbus::zvariant::OwnedValue>,
        _expire_timeout: i32,
    ) -> u32 {
        let urgency = hints.get("urgency").and_then(|v| u8::try_from(v).ok());
        let _ = self.shown.send(Shown {
            app_name,
            summary,
            body,
            urgency,
        });
        42
    }

    fn get_capabilities(&self) -> Vec<String> {
        vec!["body".to_owned()]
    }

    fn get_server_information(&self) -> (String, String, String, String) {
        (
            "stand-in".to_owned(),
            "claude-orchestra tests".to_owned(),
            "1".to_owned(),
            "1.2".to_owned(),
        )
    }
}

/// A dbus-daemon killed on drop.
struct Bus(Child);

impl Drop for Bus {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn desktop_notifications_reach_the_session_bus_and_are_skipped_without_one() {
    if std::process::Command::new("dbus-daemon")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "dbus-daemon is missing: install it (apt-get install dbus-daemon) in .ci/run"
        );
        eprintln!("skipped: dbus-daemon is not installed (apt-get install dbus-daemon)");
        return;
    }
    let env = TestEnv::new();
    env.write_config(&json!({"notifications": [{"kind": "desktop"}]}));

    // No session bus: the channel says why and nothing fails.
    env.ctl_ok(&["daemon", "start"]);
    let tested =
        tokio::task::block_in_place(|| env.ctl_json(&["notify", "test", "--channel", "desktop"]));
    assert_eq!(tested["results"][0]["outcome"], "skipped", "{tested}");
    assert!(
        tested["results"][0]["answer"]
            .as_str()
            .is_some_and(|a| a.contains("no desktop session")),
        "{tested}"
    );
    env.ctl_ok(&["daemon", "stop"]);

    // A private session bus with a notification server on it.
    let address = format!("unix:path={}", env.root.path().join("bus").display());
    let mut bus = Bus(std::process::Command::new("dbus-daemon")
        .args([
            "--session",
            "--nofork",
            "--print-address",
            &format!("--address={address}"),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("dbus-daemon"));
    let mut printed = String::new();
    BufReader::new(bus.0.stdout.take().expect("stdout"))
        .read_line(&mut printed)
        .expect("dbus-daemon prints its address once it listens");
    let (tx, mut shown) = mpsc::unbounded_channel();
    let _server = zbus::connection::Builder::address(printed.trim())
        .expect("address")
        .name("org.freedesktop.Notifications")
        .expect("name")
        .serve_at("/org/freedesktop/Notifications", Server { shown: tx })
        .expect("serve")
        .build()
        .await
        .expect("the stand-in server is on the bus");

    let start = env
        .command(bin("orchestractl"))
        .args(["daemon", "start"])
        .env("DBUS_SESSION_BUS_ADDRESS", printed.trim())
        .env("DISPLAY", ":0")
        .output()
        .expect("daemon start");
    assert!(start.status.success(), "{start:?}");
    let tested =
        tokio::task::block_in_place(|| env.ctl_json(&["notify", "test", "--channel", "desktop"]));
    assert_eq!(tested["results"][0]["outcome"], "sent", "{tested}");
    assert_eq!(tested["results"][0]["answer"], "shown (id 42)");
    let note = tokio::time::timeout(Duration::from_secs(20), shown.recv())
        .await
        .expect("shown in time")
        .expect("a notification");
    assert_eq!(note.app_name, "claude-orchestra");
    assert_eq!(note.summary, "Test notification");
    assert_eq!(note.body, "claude-orchestra can reach this channel");
    assert_eq!(note.urgency, Some(1), "normal: only approvals are critical");
    env.ctl_ok(&["daemon", "stop"]);
}
