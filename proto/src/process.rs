//! Facts about OS processes, read one way by the daemon, the CLI, fake-claude and the
//! tests: whether a pid still runs (a zombie does not), when it started (which tells a
//! reused pid from the process we knew), its parent, its CPU time and its memory.
//!
//! On Linux they come from `/proc/<pid>/stat`. Where there is no `/proc` (macOS) only
//! liveness is known, from `kill(pid, 0)`.

use std::path::Path;

/// The fields of `/proc/<pid>/stat` we use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat {
    /// Field 3: `R`, `S`, `Z` (zombie) and so on.
    pub state: char,
    /// Field 4: the parent's pid.
    pub parent: u32,
    /// Fields 14 and 15: user plus system CPU time, in clock ticks.
    pub cpu_ticks: u64,
    /// Field 22: when the process started, in clock ticks since boot, as written.
    pub start_time: String,
}

impl Stat {
    /// Parses the text of `/proc/<pid>/stat`. The command name (field 2) may hold spaces
    /// and parentheses, so the fields are counted after its last `)`.
    pub fn parse(text: &str) -> Option<Stat> {
        let (_, rest) = text.rsplit_once(')')?;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let number = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
        Some(Stat {
            state: fields.first()?.chars().next()?,
            parent: u32::try_from(number(1)?).ok()?,
            cpu_ticks: number(11)? + number(12)?,
            start_time: (*fields.get(19)?).to_owned(),
        })
    }
}

/// The stat of `pid`, if it exists and `/proc` is there to say.
pub fn stat(pid: u32) -> Option<Stat> {
    Stat::parse(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// When `pid` started (field 22 of its stat), if known.
pub fn start_time(pid: u32) -> Option<String> {
    stat(pid).map(|stat| stat.start_time)
}

/// A size from `/proc/<pid>/status` in kB, such as `VmRSS` (resident now) or `VmHWM`
/// (the peak), if known.
pub fn memory_kb(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|line| {
        let value = line.strip_prefix(field)?.strip_prefix(':')?;
        value.split_whitespace().next()?.parse().ok()
    })
}

/// Whether `pid` runs and is not a zombie, and, when `started` is given and not empty,
/// whether it is the process that started then (not another that reused the pid).
pub fn alive(pid: u32, started: Option<&str>) -> bool {
    if pid == 0 || i32::try_from(pid).is_err() {
        return false;
    }
    match stat(pid) {
        Some(stat) => {
            stat.state != 'Z'
                && match started {
                    Some(expected) if !expected.is_empty() => expected == stat.start_time,
                    _ => true,
                }
        }
        None if Path::new("/proc/self").exists() => false,
        // No /proc: ask the kernel whether the pid exists.
        None => nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), None).is_ok(),
    }
}

/// Whether `pid` has exited (a zombie counts as exited).
pub fn gone(pid: u32) -> bool {
    !alive(pid, None)
}

/// The pids whose parent is `parent` (empty where there is no `/proc`).
pub fn children(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| stat(pid).is_some_and(|stat| stat.parent == parent))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_command_name_with_spaces_and_parentheses() {
        let text = "4242 (we ird) (name)) S 1 4242 4242 0 -1 4194560 100 0 0 0 7 5 0 0 20 0 \
                    1 0 987654 1000 10 18446744073709551615";
        let stat = Stat::parse(text).expect("parses");
        assert_eq!(stat.state, 'S');
        assert_eq!(stat.parent, 1);
        assert_eq!(stat.cpu_ticks, 12);
        assert_eq!(stat.start_time, "987654");
        assert_eq!(Stat::parse("garbage"), None);
    }

    #[test]
    fn this_process_is_alive_and_known_by_its_start() {
        let me = std::process::id();
        let started = start_time(me).expect("own stat");
        assert!(alive(me, Some(&started)));
        assert!(alive(me, None));
        assert!(
            !alive(me, Some("1")),
            "another start time is another process"
        );
        assert!(!gone(me));
        assert!(!alive(0, None));
        assert!(memory_kb(me, "VmRSS").is_some_and(|kb| kb > 0));
        assert_eq!(memory_kb(me, "NoSuchField"), None);
    }

    #[test]
    fn an_exited_child_is_gone_even_as_a_zombie() {
        let mut child = std::process::Command::new("true")
            .spawn()
            .expect("spawn true");
        let pid = child.id();
        assert!(children(std::process::id()).contains(&pid) || gone(pid));
        // Not reaped yet: a zombie once it exits, which counts as gone.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !gone(pid) {
            assert!(std::time::Instant::now() < deadline, "`true` did not exit");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        child.wait().expect("reap");
        assert!(gone(pid));
    }
}
