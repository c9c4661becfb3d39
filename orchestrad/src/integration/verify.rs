//! Running a batch's check: `sh -c CMD` in a worktree, with the caller's environment, in a
//! process group of its own so a timeout ends everything it started. Its output goes whole
//! to a log file (cut at [`MAX_LOG_BYTES`], saying so) and its end stays in memory
//! ([`TAIL_BYTES`]), so a check that prints gigabytes costs neither memory nor the disk.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How much of the output's end is kept for the result (and the repair message).
pub const TAIL_BYTES: usize = 8 * 1024;

/// How much of the output the log file keeps.
pub const MAX_LOG_BYTES: u64 = 64 * 1024 * 1024;

/// How one run of the check ended.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CheckRun {
    /// It exited 0.
    pub green: bool,
    /// Its exit code; -1 when it did not exit (timeout, signal).
    pub exit_code: i32,
    /// Seconds it took.
    pub duration_s: f64,
    /// The end of its output.
    pub tail: String,
    /// Why it is red, in words (empty when green).
    pub reason: String,
}

/// Runs `command` in `cwd` for at most `timeout`, its output to `log`.
pub fn run(
    command: &str,
    cwd: &Path,
    env: &BTreeMap<String, String>,
    timeout: Duration,
    log: &Path,
) -> CheckRun {
    let started = Instant::now();
    let finish = |green: bool, exit_code: i32, tail: String, reason: String| CheckRun {
        green,
        exit_code,
        duration_s: started.elapsed().as_secs_f64(),
        tail,
        reason,
    };
    let (reader, writer) = match std::io::pipe() {
        Ok(pair) => pair,
        Err(err) => return finish(false, -1, String::new(), format!("cannot run it: {err}")),
    };
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c")
        .arg(command)
        .current_dir(cwd)
        .stdin(std::process::Stdio::null())
        .process_group(0);
    if !env.is_empty() {
        cmd.env_clear().envs(env);
    }
    let spawned = writer
        .try_clone()
        .and_then(|stderr| cmd.stdout(writer).stderr(stderr).spawn());
    // Our copies of the pipe's write end are gone with `cmd`: EOF comes when the check's
    // processes are done with it.
    drop(cmd);
    let mut child = match spawned {
        Ok(child) => child,
        Err(err) => return finish(false, -1, String::new(), format!("cannot run sh: {err}")),
    };
    let pid = child.id();
    let log = log.to_path_buf();
    let collector = std::thread::spawn(move || collect(reader, &log));
    let deadline = started + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() >= deadline => break None,
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(_) => break None,
        }
    };
    // The whole group, the check's background processes too (they may hold the pipe).
    let _ = nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    );
    if status.is_none() {
        let _ = child.wait();
    }
    let tail = collector.join().unwrap_or_default();
    match status {
        None => finish(
            false,
            -1,
            tail,
            format!("timed out after {} s", timeout.as_secs()),
        ),
        Some(status) if status.success() => finish(true, 0, tail, String::new()),
        Some(status) => {
            use std::os::unix::process::ExitStatusExt;
            let (code, reason) = match (status.code(), status.signal()) {
                (Some(127), _) => (
                    127,
                    format!("the command was not found (exit 127): {command}"),
                ),
                (Some(126), _) => (
                    126,
                    format!("the command cannot be run (exit 126): {command}"),
                ),
                (Some(code), _) => (code, format!("exit {code}")),
                (None, Some(signal)) => (-1, format!("killed by signal {signal}")),
                (None, None) => (-1, "ended abnormally".to_owned()),
            };
            finish(false, code, tail, reason)
        }
    }
}

/// Reads the check's output to its end: all of it to `log` (up to [`MAX_LOG_BYTES`]),
/// its last [`TAIL_BYTES`] returned.
fn collect(mut reader: std::io::PipeReader, log: &Path) -> String {
    let mut file = std::fs::File::create(log).ok();
    let mut written: u64 = 0;
    let mut cut = false;
    let mut tail: Vec<u8> = Vec::with_capacity(TAIL_BYTES * 2);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let chunk = &buf[..n];
        if let Some(f) = file.as_mut() {
            if written + n as u64 <= MAX_LOG_BYTES {
                let _ = f.write_all(chunk);
                written += n as u64;
            } else if !cut {
                let _ = writeln!(
                    f,
                    "\n[orchestra: the log stops here at 64 MiB; the output went on]"
                );
                cut = true;
            }
        }
        tail.extend_from_slice(chunk);
        if tail.len() > TAIL_BYTES * 2 {
            tail.drain(..tail.len() - TAIL_BYTES);
        }
    }
    let start = tail.len().saturating_sub(TAIL_BYTES);
    String::from_utf8_lossy(&tail[start..]).into_owned()
}

/// Where the log of a verification goes.
pub fn log_path(dir: &Path, batch_id: &str, what: &str) -> PathBuf {
    dir.join(format!("{batch_id}-{what}.log"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(command: &str, timeout: Duration) -> (CheckRun, String) {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("check.log");
        let run = run(command, dir.path(), &BTreeMap::new(), timeout, &log);
        (run, std::fs::read_to_string(&log).unwrap_or_default())
    }

    #[test]
    fn green_red_missing_and_timed_out_checks_say_so() {
        let (green, log) = check("echo fine", Duration::from_secs(10));
        assert!(green.green && green.exit_code == 0, "{green:?}");
        assert_eq!(log, "fine\n");
        let (red, _) = check("echo broken >&2; exit 3", Duration::from_secs(10));
        assert!(!red.green);
        assert_eq!((red.exit_code, red.reason.as_str()), (3, "exit 3"));
        assert_eq!(red.tail, "broken\n");
        let (missing, _) = check("no-such-command-here", Duration::from_secs(10));
        assert_eq!(missing.exit_code, 127);
        assert!(missing.reason.contains("not found"), "{missing:?}");
        let (slow, _) = check("sleep 30", Duration::from_secs(1));
        assert_eq!(slow.reason, "timed out after 1 s");
        assert!(slow.duration_s < 10.0, "{slow:?}");
    }

    #[test]
    fn a_check_that_prints_a_lot_keeps_a_bounded_tail() {
        let (run, log) = check(
            "yes line | head -c 5000000; echo END",
            Duration::from_secs(30),
        );
        assert!(run.green);
        assert!(run.tail.len() <= TAIL_BYTES, "{}", run.tail.len());
        assert!(run.tail.ends_with("END\n"));
        assert_eq!(log.len(), 5_000_004);
    }
}
