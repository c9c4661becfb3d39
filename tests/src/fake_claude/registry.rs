//! The registration in `~/.claude/sessions/<pid>.json`: written at start, its `status`
//! kept (`busy`, `idle`), removed on exit and on SIGTERM.

use super::*;

/// The 2.1.330 additions, kept apart from the turn logic above.
impl Session {
    /// Rewrites this process's registration with `status` (`busy` while a turn runs,
    /// `idle` between turns), as 2.1.330 does.
    pub(crate) fn set_status(&self, status: &str) {
        let Ok(text) = std::fs::read_to_string(&self.registration) else {
            return;
        };
        let Ok(mut reg) = serde_json::from_str::<Value>(&text) else {
            return;
        };
        let now = chrono::Utc::now().timestamp_millis();
        reg["status"] = json!(status);
        reg["statusUpdatedAt"] = json!(now);
        reg["updatedAt"] = json!(now);
        // Written whole and renamed into place, so a reader never sees half a file.
        let tmp = self.registration.with_extension("json.tmp");
        if std::fs::write(&tmp, reg.to_string()).is_ok() {
            let _ = std::fs::rename(&tmp, &self.registration);
        }
    }
}

/// Registers this process in `~/.claude/sessions/<pid>.json`, as the real CLI does.
pub(crate) fn register(claude_dir: &Path, session_id: &str, cwd: &Path) -> PathBuf {
    let dir = claude_dir.join("sessions");
    let _ = std::fs::create_dir_all(&dir);
    let pid = std::process::id();
    let proc_start = orchestra_proto::process::start_time(pid).unwrap_or_default();
    let path = dir.join(format!("{pid}.json"));
    let record = shape::registration(
        pid,
        session_id,
        &cwd.to_string_lossy(),
        &proc_start,
        chrono::Utc::now().timestamp_millis(),
        "busy",
    );
    let _ = std::fs::write(&path, record.to_string());
    path
}

/// On SIGTERM: remove the registration and exit 143 with no result line, like the real CLI.
pub(crate) fn watch_sigterm(registration: PathBuf) {
    use nix::sys::signal::{SigSet, Signal};
    let mut set = SigSet::empty();
    set.add(Signal::SIGTERM);
    set.add(Signal::SIGINT);
    set.thread_block().expect("blocking SIGTERM");
    std::thread::spawn(move || {
        if let Ok(signal) = set.wait() {
            let _ = std::fs::remove_file(&registration);
            std::process::exit(if signal == Signal::SIGINT { 130 } else { 143 });
        }
    });
}
