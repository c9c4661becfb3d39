//! How results reach the user: aligned tables for people, JSON for scripts, and stdout
//! itself: a reader that goes away (`orchestractl status | head -1`) ends the program
//! quietly instead of with a panic.

use std::io::Write as _;

use serde::Serialize;
use unicode_width::{UnicodeWidthChar as _, UnicodeWidthStr as _};

/// Writes `args` to stdout. The crate's `print!`/`println!` come here (see `lib.rs`), so
/// no output of ours can panic on a closed pipe the way `std::println!` does.
pub fn print(args: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    if let Err(err) = out.write_fmt(args).and_then(|()| out.flush()) {
        stdout_failed(&err);
    }
}

/// Writes `bytes` to stdout as they are, with the same care as [`print`].
pub fn print_bytes(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    if let Err(err) = out.write_all(bytes).and_then(|()| out.flush()) {
        stdout_failed(&err);
    }
}

/// Whether `err` (or anything it wraps) says the reader of stdout went away. A broken
/// pipe on the way to the daemon (a connection it refused or dropped) is not that: it is
/// an error the user must see.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    let from_the_daemon = err.chain().any(|cause| {
        cause.is::<orchestra_proto::ConnectError>()
            || cause.is::<tonic::Status>()
            || cause.is::<tonic::transport::Error>()
    });
    !from_the_daemon
        && err.chain().any(|cause| {
            cause
                .downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
        })
}

/// Stdout cannot be written. A closed pipe means the reader has what it wanted (`| head`):
/// leave at once and say nothing, as `cat` or `ls` would. Anything else (a full disk) is
/// worth a word, and a failure.
fn stdout_failed(err: &std::io::Error) -> ! {
    if err.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    let _ = writeln!(
        std::io::stderr(),
        "orchestractl: cannot write the output: {err}"
    );
    std::process::exit(1);
}

/// Prints `value` as pretty JSON on stdout.
pub fn json<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Prints `key: value` lines with the keys aligned.
pub fn fields(rows: &[(&str, String)]) {
    let width = rows.iter().map(|(key, _)| key.width()).max().unwrap_or(0);
    for (key, value) in rows {
        let pad = " ".repeat(width - key.width());
        println!("{pad}{key}  {value}");
    }
}

/// Prints a table with a header row; columns are as wide as their widest cell.
pub fn table(header: &[&str], rows: &[Vec<String>]) {
    table_min(header, rows, &[]);
}

/// [`table`] with columns at least `min` wide, so a table redrawn as values change
/// (`status --watch`) keeps its columns in place.
pub fn table_min(header: &[&str], rows: &[Vec<String>], min: &[usize]) {
    for line in table_lines(header, rows, min) {
        println!("{line}");
    }
}

/// The lines of [`table_min`], columns aligned by display width.
fn table_lines(header: &[&str], rows: &[Vec<String>], min: &[usize]) -> Vec<String> {
    let mut widths: Vec<usize> = header
        .iter()
        .enumerate()
        .map(|(i, h)| h.width().max(min.get(i).copied().unwrap_or(0)))
        .collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(width) = widths.get_mut(i) {
                *width = (*width).max(cell.width());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                let pad = widths[i].saturating_sub(cell.width());
                out.push_str(cell);
                out.push_str(&" ".repeat(pad + 2));
            }
        }
        out.trim_end().to_owned()
    };
    let mut lines = vec![line(header.to_vec())];
    for row in rows {
        lines.push(line(row.iter().map(String::as_str).collect()));
    }
    lines
}

/// A duration in seconds as "3d 4h", "5m 2s" and the like.
pub fn duration(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m {s}s"),
        (0, _, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

/// `text` on one line: control characters (newlines, tabs, escapes) become spaces.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The columns `c` takes in a terminal (two for CJK and most emoji, none for a combining
/// mark).
fn columns(c: char) -> usize {
    c.width().unwrap_or(0)
}

/// Cuts `text` to `max` terminal columns on one line, with an ellipsis when cut. Widths
/// are display widths, so CJK and emoji cells line up with the rest.
pub fn truncate(text: &str, max: usize) -> String {
    let line = one_line(text);
    if line.width() <= max {
        return line;
    }
    let mut out = String::new();
    let mut used = 0;
    for c in line.chars() {
        if used + columns(c) > max.saturating_sub(1) {
            break;
        }
        used += columns(c);
        out.push(c);
    }
    out.push('…');
    out
}

/// Cuts `text` to `max` terminal columns keeping its end, with an ellipsis in front when
/// cut: for paths, whose last parts tell them apart.
pub fn truncate_left(text: &str, max: usize) -> String {
    let line = one_line(text);
    if line.width() <= max {
        return line;
    }
    let mut keep = Vec::new();
    let mut used = 0;
    for c in line.chars().rev() {
        if used + columns(c) > max.saturating_sub(1) {
            break;
        }
        used += columns(c);
        keep.push(c);
    }
    let tail: String = keep.into_iter().rev().collect();
    format!("…{tail}")
}

/// How long ago `ms` (since the epoch) was: "3m ago", "2h ago", "5d ago".
pub fn age(ms: i64) -> String {
    if ms <= 0 {
        return "-".to_owned();
    }
    let now = chrono::Utc::now().timestamp_millis();
    let secs = ((now - ms) / 1000).max(0) as u64;
    let (d, h, m) = (secs / 86_400, secs / 3600, secs / 60);
    if d > 0 {
        format!("{d}d ago")
    } else if h > 0 {
        format!("{h}h ago")
    } else if m > 0 {
        format!("{m}m ago")
    } else {
        format!("{secs}s ago")
    }
}

/// A timestamp in ms since the epoch as local-independent UTC text.
pub fn timestamp(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .filter(|_| ms > 0)
        .map(|dt| dt.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| "-".to_owned())
}

/// A byte count as "12.3 MB".
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// A token count as "19.2k" or "1.3M".
pub fn tokens(n: u64) -> String {
    match n {
        0..1_000 => n.to_string(),
        1_000..1_000_000 => format!("{:.1}k", n as f64 / 1e3),
        _ => format!("{:.1}M", n as f64 / 1e6),
    }
}

/// A short form of a session or agent id.
pub fn short_id(id: &str) -> String {
    id.chars().take(8).collect()
}

/// A time of day, local, "14:03:07".
pub fn clock(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| {
            t.with_timezone(&chrono::Local)
                .format("%H:%M:%S")
                .to_string()
        })
        .unwrap_or_else(|| "-".to_owned())
}

/// Where a session goes in a list: busy first, then the other live ones, then the rest.
pub fn live_rank(s: &orchestra_proto::v1::Session) -> u8 {
    match (s.live, s.live_status.as_str()) {
        (true, "busy") => 0,
        (true, _) => 1,
        (false, _) => 2,
    }
}

/// The LIVE column: the live status (or "live" when the CLI gave none), and a background
/// job's id and state.
pub fn live_label(s: &orchestra_proto::v1::Session) -> String {
    let mut label = match (s.live, s.live_status.as_str()) {
        (false, _) => String::new(),
        (true, "") => "live".to_owned(),
        (true, status) => status.to_owned(),
    };
    if !s.job_id.is_empty() {
        if !label.is_empty() {
            label.push(' ');
        }
        label.push_str(&format!("bg {} {}", s.job_id, s.job_state));
    }
    label
}

/// A cost in USD; an estimate from tokens is marked with `~`.
pub fn cost(usd: f64, is_estimate: bool) -> String {
    let mark = if is_estimate { "~" } else { "" };
    format!("{mark}{}", usd_text(usd))
}

/// US dollars for a table: cents, but a spend under ten cents keeps four decimals
/// (`$0.0012`, `$0.0501`), so that a run that cost something never reads `$0.00`. The
/// dashboard's `usd` (dom.js) shows money the same way.
pub fn usd_text(usd: f64) -> String {
    if usd != 0.0 && usd.abs() < 0.1 {
        format!("${usd:.4}")
    } else {
        format!("${usd:.2}")
    }
}

/// A one-line progress report on stderr for work that takes a while: shown only on a
/// terminal, only once the work has run for a second, redrawn in place and cleared when
/// dropped, so quick commands, pipes and `--json` see nothing of it.
#[derive(Debug)]
pub struct Progress {
    started: std::time::Instant,
    on_terminal: bool,
    shown: bool,
}

impl Progress {
    /// Starts the clock.
    pub fn new() -> Progress {
        use std::io::IsTerminal as _;
        Progress {
            started: std::time::Instant::now(),
            on_terminal: std::io::stderr().is_terminal(),
            shown: false,
        }
    }

    /// Shows `text` in place of the previous report, once a second has passed.
    pub fn update(&mut self, text: &str) {
        if !self.on_terminal || self.started.elapsed() < std::time::Duration::from_secs(1) {
            return;
        }
        let secs = self.started.elapsed().as_secs();
        let _ = write!(std::io::stderr(), "\r{text} ({secs} s)\x1b[K");
        self.shown = true;
    }
}

impl Default for Progress {
    fn default() -> Self {
        Progress::new()
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if self.shown {
            let _ = write!(std::io::stderr(), "\r\x1b[K");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_by_display_width_with_cjk_and_emoji() {
        let rows = vec![
            vec!["a1".to_owned(), "ascii task".to_owned(), "done".to_owned()],
            vec!["b2".to_owned(), "修复登录".to_owned(), "running".to_owned()],
            vec![
                "c3".to_owned(),
                "ship it 🚀".to_owned(),
                "queued".to_owned(),
            ],
        ];
        let lines = table_lines(&["ID", "TASK", "STATE"], &rows, &[]);
        // The third column starts at the same terminal column on every line.
        let starts: Vec<usize> = lines
            .iter()
            .zip(["STATE", "done", "running", "queued"])
            .map(|(line, last)| line[..line.rfind(last).expect("cell")].width())
            .collect();
        assert!(starts.windows(2).all(|w| w[0] == w[1]), "{lines:#?}");
    }

    #[test]
    fn a_broken_pipe_to_the_daemon_is_not_a_closed_stdout() {
        let pipe = || std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        assert!(is_broken_pipe(&anyhow::Error::new(pipe())));
        let refused = orchestra_proto::ConnectError::Unreachable {
            path: "/run/o.sock".into(),
            cause: pipe(),
        };
        assert!(!is_broken_pipe(&anyhow::Error::new(refused)));
    }

    #[test]
    fn cutting_counts_columns_not_characters() {
        assert_eq!(truncate("修复登录页面", 7), "修复登…");
        assert_eq!(truncate("修复登录页面", 7).width(), 7);
        assert_eq!(truncate("short", 7), "short");
        assert_eq!(truncate("a\nb", 7), "a b", "one line");
        assert_eq!(truncate_left("/home/修复/登录", 6), "…/登录");
        assert!(truncate_left("/home/修复/登录", 6).width() <= 6);
    }
}
