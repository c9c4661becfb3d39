//! `orchestractl service install|uninstall|status`: run orchestrad as a user service.
//!
//! The unit and plist are the files in `systemd/` and `launchd/` of the repository,
//! compiled in, with the paths of this machine filled in.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;

use crate::cli::ServiceCommand;
use crate::client::{Ctx, orchestrad_binary};
use crate::output;

const SYSTEMD_UNIT: &str = include_str!("../../../systemd/orchestrad.service");
const LAUNCHD_PLIST: &str = include_str!("../../../launchd/dev.claude-orchestra.orchestrad.plist");
const LAUNCHD_LABEL: &str = "dev.claude-orchestra.orchestrad";

/// The service manager of this platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Manager {
    Systemd,
    Launchd,
}

impl Manager {
    fn of_this_platform() -> Manager {
        if cfg!(target_os = "macos") {
            Manager::Launchd
        } else {
            Manager::Systemd
        }
    }

    fn name(self) -> &'static str {
        match self {
            Manager::Systemd => "systemd",
            Manager::Launchd => "launchd",
        }
    }

    fn unit_path(self) -> PathBuf {
        let home = orchestra_proto::paths::home_dir();
        match self {
            Manager::Systemd => orchestra_proto::paths::config_dir()
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| home.join(".config"))
                .join("systemd/user/orchestrad.service"),
            Manager::Launchd => home
                .join("Library/LaunchAgents")
                .join(format!("{LAUNCHD_LABEL}.plist")),
        }
    }

    /// The commands that enable (or disable) the service, for running or for printing.
    fn commands(self, install: bool, unit: &Path) -> Vec<Vec<String>> {
        let s = |parts: &[&str]| parts.iter().map(|p| (*p).to_owned()).collect::<Vec<_>>();
        let uid = nix_uid();
        let unit = unit.display().to_string();
        match (self, install) {
            (Manager::Systemd, true) => vec![
                s(&["systemctl", "--user", "daemon-reload"]),
                s(&[
                    "systemctl",
                    "--user",
                    "enable",
                    "--now",
                    "orchestrad.service",
                ]),
            ],
            (Manager::Systemd, false) => vec![
                s(&[
                    "systemctl",
                    "--user",
                    "disable",
                    "--now",
                    "orchestrad.service",
                ]),
                s(&["systemctl", "--user", "daemon-reload"]),
            ],
            (Manager::Launchd, true) => {
                vec![s(&["launchctl", "bootstrap", &format!("gui/{uid}"), &unit])]
            }
            (Manager::Launchd, false) => {
                vec![s(&[
                    "launchctl",
                    "bootout",
                    &format!("gui/{uid}/{LAUNCHD_LABEL}"),
                ])]
            }
        }
    }

    /// Whether the service manager can be driven from here (a user systemd instance, or
    /// launchctl).
    fn available(self) -> bool {
        let probe = match self {
            Manager::Systemd => std::process::Command::new("systemctl")
                .args(["--user", "show-environment"])
                .output(),
            Manager::Launchd => std::process::Command::new("launchctl")
                .arg("version")
                .output(),
        };
        probe.is_ok_and(|out| out.status.success())
    }

    fn render(self, orchestrad: &Path) -> String {
        let orchestrad = orchestrad.display().to_string();
        match self {
            Manager::Systemd => SYSTEMD_UNIT.replace(
                "ExecStart=%h/.cargo/bin/orchestrad run",
                &format!("ExecStart={orchestrad} run"),
            ),
            Manager::Launchd => {
                let log = orchestra_proto::paths::state_dir().join("orchestrad.log");
                LAUNCHD_PLIST
                    .replace("/usr/local/bin/orchestrad", &orchestrad)
                    .replace("/tmp/orchestrad.log", &log.display().to_string())
            }
        }
    }
}

fn nix_uid() -> u32 {
    nix::unistd::getuid().as_raw()
}

/// Runs a `service` subcommand.
pub async fn run(ctx: &Ctx, cmd: ServiceCommand) -> anyhow::Result<ExitCode> {
    let manager = Manager::of_this_platform();
    let unit = manager.unit_path();
    match cmd {
        ServiceCommand::Install => {
            let orchestrad = std::path::absolute(orchestrad_binary())?;
            if let Some(dir) = unit.parent() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
            }
            std::fs::write(&unit, manager.render(&orchestrad))
                .with_context(|| format!("cannot write {}", unit.display()))?;
            let enabled = enable(manager, true, &unit)?;
            report(ctx, manager, &unit, "installed", enabled)?;
        }
        ServiceCommand::Uninstall => {
            let enabled = if unit.exists() {
                enable(manager, false, &unit)?
            } else {
                true
            };
            match std::fs::remove_file(&unit) {
                Ok(()) => {}
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                Err(err) => {
                    return Err(err).with_context(|| format!("cannot remove {}", unit.display()));
                }
            }
            report(ctx, manager, &unit, "uninstalled", enabled)?;
        }
        ServiceCommand::Status => {
            let installed = unit.exists();
            let running = ctx.try_connect().await.ok().flatten();
            if ctx.json {
                output::json(&serde_json::json!({
                    "manager": manager.name(),
                    "unit_path": unit,
                    "installed": installed,
                    "manager_available": manager.available(),
                    "daemon_running": running.is_some(),
                    "daemon_pid": running.as_ref().map(|c| c.status.pid),
                }))?;
            } else {
                output::fields(&[
                    ("manager", manager.name().to_owned()),
                    ("unit", unit.display().to_string()),
                    ("installed", yes_no(installed)),
                    (
                        "daemon",
                        match &running {
                            Some(c) => format!("running (pid {})", c.status.pid),
                            None => "not running".to_owned(),
                        },
                    ),
                ]);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs the enable/disable commands when the manager is reachable; returns whether it did.
fn enable(manager: Manager, install: bool, unit: &Path) -> anyhow::Result<bool> {
    if !manager.available() {
        return Ok(false);
    }
    for command in manager.commands(install, unit) {
        let status = std::process::Command::new(&command[0])
            .args(&command[1..])
            .status()
            .with_context(|| format!("cannot run {}", command.join(" ")))?;
        if !status.success() {
            anyhow::bail!("`{}` failed ({status})", command.join(" "));
        }
    }
    Ok(true)
}

fn report(
    ctx: &Ctx,
    manager: Manager,
    unit: &Path,
    what: &str,
    applied: bool,
) -> anyhow::Result<()> {
    let install = what == "installed";
    let pending: Vec<String> = if applied {
        Vec::new()
    } else {
        manager
            .commands(install, unit)
            .iter()
            .map(|c| c.join(" "))
            .collect()
    };
    if ctx.json {
        return output::json(&serde_json::json!({
            "manager": manager.name(),
            "unit_path": unit,
            "action": what,
            "applied": applied,
            "run_yourself": pending,
        }));
    }
    if applied {
        println!("{what} the {} service ({})", manager.name(), unit.display());
    } else {
        println!(
            "{what} {}, but {} is not reachable from here; run this yourself:",
            unit.display(),
            manager.name()
        );
        for command in pending {
            println!("  {command}");
        }
    }
    Ok(())
}

fn yes_no(value: bool) -> String {
    if value { "yes" } else { "no" }.to_owned()
}
