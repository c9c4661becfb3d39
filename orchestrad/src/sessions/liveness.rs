//! Which sessions a Claude process is writing now.
//!
//! A running CLI registers itself in `~/.claude/sessions/<pid>.json` (`pid`, `sessionId`,
//! `procStart`, ...). The file is left behind when the process is killed with SIGKILL, and
//! pids are reused, so a registration counts only while a process with that pid exists
//! and, where `/proc` tells, started at the recorded time.

use std::collections::HashMap;
use std::path::Path;

use orchestra_proto::process;
use serde::Deserialize;

/// A live Claude process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveProcess {
    /// Its pid.
    pub pid: u32,
    /// Its working directory, as registered.
    pub cwd: String,
    /// `status` (2.1.330 on): `busy`, `idle`, or what the CLI writes, passed through.
    pub status: String,
    /// `kind`: `interactive` (also for `-p` runs) or `bg`.
    pub kind: String,
    /// `name`: an AI title or a derived name such as `repo-68`.
    pub name: String,
    /// What it waits for while `waiting` ("input needed", a permission), as registered.
    pub waiting_for: String,
}

#[derive(Deserialize)]
struct Registration {
    pid: u32,
    #[serde(rename = "sessionId")]
    session_id: String,
    #[serde(default)]
    cwd: String,
    /// Field 22 of `/proc/<pid>/stat` when the process started, as a string or number.
    #[serde(rename = "procStart", default)]
    proc_start: Option<serde_json::Value>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    name: Option<String>,
    /// What a `waiting` process waits for.
    #[serde(rename = "waitingFor", default)]
    waiting_for: String,
}

/// Reads the registrations under `claude_dir/sessions` and keeps those whose process is
/// alive. Unreadable or malformed registrations are ignored.
pub fn scan(claude_dir: &Path) -> HashMap<String, LiveProcess> {
    let mut live = HashMap::new();
    let Ok(files) = std::fs::read_dir(claude_dir.join("sessions")) else {
        return live;
    };
    for file in files.flatten() {
        let path = file.path();
        if path.extension().is_none_or(|ext| ext != "json") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let Ok(reg) = serde_json::from_str::<Registration>(&text) else {
            continue;
        };
        let start = reg.proc_start.as_ref().and_then(|value| match value {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        });
        if process::alive(reg.pid, start.as_deref()) {
            live.insert(
                reg.session_id,
                LiveProcess {
                    pid: reg.pid,
                    cwd: reg.cwd,
                    status: reg.status.unwrap_or_default(),
                    kind: reg.kind.unwrap_or_default(),
                    name: reg.name.unwrap_or_default(),
                    waiting_for: reg.waiting_for,
                },
            );
        }
    }
    live
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_counts_only_with_matching_start_time() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sessions = dir.path().join("sessions");
        std::fs::create_dir_all(&sessions).expect("dir");
        let me = std::process::id();
        let start = process::start_time(me).expect("own stat");
        let write = |name: &str, pid: u32, id: &str, start: &str| {
            std::fs::write(
                sessions.join(name),
                format!(r#"{{"pid":{pid},"sessionId":"{id}","cwd":"/w","procStart":"{start}"}}"#),
            )
            .expect("write");
        };
        write("a.json", me, "alive", &start);
        write("b.json", me, "reused-pid", "1");
        write("c.json", 999_999_999, "dead", "");
        std::fs::write(sessions.join("d.json"), "not json").expect("write");
        let live = scan(dir.path());
        assert_eq!(live.keys().collect::<Vec<_>>(), vec!["alive"]);
        assert_eq!(live["alive"].pid, me);
        assert_eq!(live["alive"].status, "", "2.1.197 wrote no status");
    }

    #[test]
    fn status_kind_and_name_of_a_2_1_330_registration() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sessions = dir.path().join("sessions");
        std::fs::create_dir_all(&sessions).expect("dir");
        let me = std::process::id();
        let start = process::start_time(me).expect("own stat");
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/claude-code/2.1.330/registry");
        for (file, pid) in [
            ("print_run_busy.json", "15185"),
            ("background_session.json", "14315"),
        ] {
            let text = std::fs::read_to_string(fixtures.join(file)).expect("fixture");
            // The captured process is gone: make the registration this test's own.
            let mut value: serde_json::Value = serde_json::from_str(&text).expect("json");
            assert_eq!(value["pid"].to_string(), pid);
            value["pid"] = me.into();
            value["procStart"] = start.clone().into();
            std::fs::write(sessions.join(format!("{pid}.json")), value.to_string()).expect("write");
        }
        let live = scan(dir.path());
        let busy = &live["fcebed16-4a1e-49d0-9371-512dd45ebe2b"];
        assert_eq!(
            (busy.status.as_str(), busy.kind.as_str(), busy.name.as_str()),
            ("busy", "interactive", "repo-68")
        );
        let bg = &live["b8659672-cfad-4ae5-bedb-9725a4094adc"];
        assert_eq!(
            (bg.status.as_str(), bg.kind.as_str(), bg.name.as_str()),
            ("idle", "bg", "mock title")
        );
    }
}
