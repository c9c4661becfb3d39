//! The shim's writer of `output.jsonl`: it never stops the agent.
//!
//! The shim must drain the CLI's stdout whatever happens to the log file, or the CLI
//! blocks on a full pipe (or dies with it). A line the file does not take (a full disk)
//! is kept in a bounded buffer and written, in order, once there is room again. Past the
//! bound, lines are dropped and counted, and one plain-text marker line takes their place
//! in the log: `[orchestra: 1,234 lines lost: no space left on device]`. Lines the daemon
//! needs to follow the agent (its `result`, `system/init`, control requests) are kept
//! beyond the bound: they are few and small.
//!
//! A line is written whole or not at all: a write cut short by the disk is taken back
//! (the file is truncated to where it was), so the log never holds half a line.

use std::collections::VecDeque;
use std::fs::File;
use std::io::Write;

/// How many bytes of lines the shim keeps while the log cannot be written.
pub const MAX_PENDING_BYTES: usize = 4 * 1024 * 1024;

/// One entry waiting for room.
#[derive(Debug)]
enum Pending {
    /// A line, with its newline.
    Line(Vec<u8>),
    /// Lines dropped here, and why.
    Lost { lines: u64, reason: String },
}

/// `output.jsonl` as the shim writes it.
#[derive(Debug)]
pub struct LogWriter {
    file: File,
    pending: VecDeque<Pending>,
    pending_bytes: usize,
    /// Lines dropped over the agent's whole run.
    lost_total: u64,
    /// The file's length: where a write cut short is taken back to.
    len: u64,
}

impl LogWriter {
    /// A writer appending to `file` (opened for append).
    pub fn new(file: File) -> LogWriter {
        let len = file.metadata().map_or(0, |m| m.len());
        LogWriter {
            len,
            file,
            pending: VecDeque::new(),
            pending_bytes: 0,
            lost_total: 0,
        }
    }

    /// Appends `line` (with its newline), now if the file takes it, else later. `keep`
    /// says the line must not be dropped even past the bound.
    pub fn write_line(&mut self, line: &[u8], keep: bool) {
        self.drain();
        if self.pending.is_empty() {
            if let Err(err) = self.append(line) {
                self.hold(line, keep, &err);
            }
        } else {
            self.hold(line, keep, &std::io::Error::from_raw_os_error(28));
        }
    }

    /// Writes what waits for room, in order; stops at the first write that fails.
    /// Returns whether nothing waits any more.
    pub fn drain(&mut self) -> bool {
        while let Some(entry) = self.pending.front() {
            let bytes = match entry {
                Pending::Line(line) => line.clone(),
                Pending::Lost { lines, reason } => marker(*lines, reason).into_bytes(),
            };
            if self.append(&bytes).is_err() {
                return false;
            }
            if let Some(Pending::Line(line)) = self.pending.pop_front() {
                self.pending_bytes -= line.len();
            }
        }
        true
    }

    /// Whether lines wait for room.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Lines dropped so far.
    pub fn lost(&self) -> u64 {
        self.lost_total
    }

    /// Keeps `line` for later, or counts it lost.
    fn hold(&mut self, line: &[u8], keep: bool, err: &std::io::Error) {
        if keep || self.pending_bytes + line.len() <= MAX_PENDING_BYTES {
            self.pending_bytes += line.len();
            self.pending.push_back(Pending::Line(line.to_vec()));
            return;
        }
        self.lost_total += 1;
        if let Some(Pending::Lost { lines, .. }) = self.pending.back_mut() {
            *lines += 1;
        } else {
            self.pending.push_back(Pending::Lost {
                lines: 1,
                reason: crate::store::health::io_words(err),
            });
        }
    }

    /// Appends `bytes` whole, or leaves the file as it was.
    fn append(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let written = self.file.write_all(bytes).and_then(|()| self.file.flush());
        match written {
            Ok(()) => self.len += bytes.len() as u64,
            // Take back a line cut short, so the log never holds half of one.
            Err(_) => {
                let _ = self.file.set_len(self.len);
            }
        }
        written
    }
}

/// The line that stands for `lines` lost lines.
fn marker(lines: u64, reason: &str) -> String {
    format!(
        "[orchestra: {} line{} lost: {reason}]\n",
        thousands(lines),
        if lines == 1 { "" } else { "s" }
    )
}

/// 1234 as "1,234".
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_as_people_write_them() {
        assert_eq!(thousands(7), "7");
        assert_eq!(thousands(1234), "1,234");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(
            marker(1234, "no space left on device"),
            "[orchestra: 1,234 lines lost: no space left on device]\n"
        );
    }

    /// /dev/full refuses every write with ENOSPC, as a full disk does (the end-to-end test
    /// in tests/tests/agents/faults.rs fills a real tmpfs under a running agent).
    #[test]
    fn lines_wait_for_room_in_order_and_past_the_bound_leave_a_marker() {
        // /dev/full takes nothing: every line is held, the bound drops the rest.
        let full = std::fs::OpenOptions::new()
            .append(true)
            .open("/dev/full")
            .expect("/dev/full");
        let mut log = LogWriter::new(full);
        let line = vec![b'x'; 1024];
        let mut line = line;
        line.push(b'\n');
        let fits = MAX_PENDING_BYTES / line.len();
        for _ in 0..fits + 10 {
            log.write_line(&line, false);
        }
        log.write_line(b"{\"type\":\"result\"}\n", true);
        assert_eq!(log.lost(), 10);
        assert!(log.has_pending());
        assert!(!log.drain());
        // The same entries, replayed into a file that takes them, come out in order with
        // the marker where the lines were dropped.
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("output.jsonl");
        log.file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .expect("open");
        log.len = 0;
        assert!(log.drain());
        let text = std::fs::read_to_string(&path).expect("read");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), fits + 2);
        assert_eq!(
            lines[fits],
            "[orchestra: 10 lines lost: no space left on device]"
        );
        assert_eq!(lines[fits + 1], "{\"type\":\"result\"}");
        // Written through from now on.
        log.write_line(b"after\n", false);
        assert!(
            std::fs::read_to_string(&path)
                .expect("read")
                .ends_with("after\n")
        );
    }
}
