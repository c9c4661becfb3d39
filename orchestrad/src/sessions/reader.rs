//! Incremental reading of an append-only JSON-lines file.
//!
//! [`read_new_lines`] reads from a saved offset to the end of the file and hands every
//! complete line to a callback. A last line without its newline is still being written and
//! is left for the next read, unless it is already a complete JSON value (older files end
//! without a final newline). A line longer than the read's cap is cut: its first bytes
//! and its length are handed on, the rest is skipped to its end without being held in
//! memory. The same reader tails agent logs ([`read_new_lines`], cap [`MAX_LINE`]) and
//! reads a whole file for a transcript, an export, a search or the last cost
//! ([`read_all_lines`], cap [`MAX_KEPT_LINE`]): one notion of what a line is.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Longest line the index and the log tails parse; longer ones are counted as skipped.
/// The index must see the usage of every message the CLI writes, however large.
pub const MAX_LINE: usize = 32 * 1024 * 1024;

/// Longest line kept by the reads made for a user (transcript, export, search, the last
/// cost): the memory a session file can make the daemon hold for them is bounded by it,
/// whatever the file holds (issue #22: one 40 MiB line took the daemon to 177 MB).
pub const MAX_KEPT_LINE: usize = 1024 * 1024;

/// How many first bytes of a cut line are kept, to tell its kind (`{"type":"..."`).
pub(crate) const CUT_HEAD: usize = 256;

/// Size of each read.
const CHUNK: usize = 256 * 1024;

/// The file's identity and size, to decide whether it changed since the last read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// Size in bytes.
    pub size: u64,
    /// Modification time, ns since the epoch.
    pub mtime_ns: i128,
    /// Inode number.
    pub inode: u64,
}

impl Stat {
    /// The stat of `path`.
    pub fn of(path: &Path) -> std::io::Result<Stat> {
        Ok(Stat::from(&std::fs::metadata(path)?))
    }
}

impl From<&std::fs::Metadata> for Stat {
    fn from(meta: &std::fs::Metadata) -> Stat {
        Stat {
            size: meta.len(),
            mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
            inode: meta.ino(),
        }
    }
}

/// Where a read stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Offset after the last complete line (or after the skipped part of a cut one).
    pub offset: u64,
    /// Whether the read stopped inside a line over the cap that is being skipped.
    pub skipping_oversized: bool,
    /// The file as it was when read.
    pub stat: Stat,
}

/// What the callback is told about each line.
#[derive(Debug)]
pub enum Line<'a> {
    /// A complete line, without its newline.
    Complete(&'a [u8]),
    /// A line over the read's cap, cut.
    Cut {
        /// Its first bytes (at most 256); empty when the line began before this read.
        head: &'a [u8],
        /// Its length in bytes, without the newline (counted from this read's start when
        /// the line began before it).
        len: u64,
    },
}

/// A line being skipped because it passed the cap.
struct Cutting {
    /// Its first bytes.
    head: Vec<u8>,
    /// Its bytes so far.
    len: u64,
}

/// Reads the complete lines after `offset`. `skipping_oversized` says the line at
/// `offset` is an oversized one whose end has not been seen yet.
pub fn read_new_lines(
    path: &Path,
    offset: u64,
    skipping_oversized: bool,
    on_line: impl FnMut(Line<'_>),
) -> std::io::Result<Progress> {
    let mut file = File::open(path)?;
    let stat = Stat::from(&file.metadata()?);
    file.seek(SeekFrom::Start(offset))?;
    // Sized to what is new (tailing polls read a few bytes); within a [`ReuseBuffer`] kept
    // for the thread's next file: a fresh buffer per file of a cold index cost page faults
    // and zeroing.
    let new_bytes = stat.size.saturating_sub(offset) as usize;
    let want = new_bytes.clamp(4096, CHUNK);
    let mut buffer = READ_BUFFER.take();
    let result = read_lines(
        &mut file,
        &mut buffer,
        Limits {
            size: want,
            cap: MAX_LINE,
            last_cut_line: false,
        },
        offset,
        skipping_oversized,
        on_line,
    );
    // Kept only for a batch, and never grown by a long line.
    if REUSE.get() && buffer.len() <= CHUNK {
        READ_BUFFER.set(buffer);
    }
    let (consumed, skipping) = result?;
    Ok(Progress {
        offset: consumed,
        skipping_oversized: skipping,
        stat,
    })
}

thread_local! {
    /// The thread's read buffer, reused from file to file within a [`ReuseBuffer`].
    static READ_BUFFER: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
    /// Whether a [`ReuseBuffer`] is alive on this thread.
    static REUSE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// While alive, the thread's reads share one buffer, freed when it is dropped: for a
/// worker going through many files. Other reads (a tail of a growing file) use a buffer
/// of their own, so idle threads hold none.
pub struct ReuseBuffer(());

impl ReuseBuffer {
    /// Starts reusing the thread's read buffer.
    pub fn start() -> ReuseBuffer {
        REUSE.set(true);
        ReuseBuffer(())
    }
}

impl Drop for ReuseBuffer {
    fn drop(&mut self) {
        REUSE.set(false);
        drop(READ_BUFFER.take());
    }
}

/// Reads every line of the file at `path`, cutting those over `cap` bytes: for a
/// transcript, an export, a search or the last cost, whose memory must not grow with
/// what one line holds. Unlike a tail, a last line cut without its newline is handed on
/// (the file is read as it is now).
pub fn read_all_lines(
    path: &Path,
    cap: usize,
    on_line: impl FnMut(Line<'_>),
) -> std::io::Result<()> {
    let mut file = File::open(path)?;
    let size = (file.metadata()?.len() as usize).clamp(4096, CHUNK);
    let limits = Limits {
        size,
        cap,
        last_cut_line: true,
    };
    read_lines(&mut file, &mut Vec::new(), limits, 0, false, on_line)?;
    Ok(())
}

/// The bounds of one [`read_lines`].
struct Limits {
    /// Bytes of the buffer to read into at first.
    size: usize,
    /// Longest line handed on whole.
    cap: usize,
    /// Whether a cut line that has no newline yet at the end is handed on.
    last_cut_line: bool,
}

/// The loop of [`read_new_lines`] and [`read_all_lines`] over `file` (at `offset`),
/// reading into the first `limits.size` bytes of `buffer`: the offset after the last
/// line handed on, and whether a line over the cap is being skipped.
///
/// Lines are handed on where they lie in the buffer. A line cut by the end of a read is
/// moved to the front and completed by the next read; one longer than the buffer grows
/// it, up to the cap, beyond which it is skipped to its end.
fn read_lines(
    file: &mut File,
    buffer: &mut Vec<u8>,
    limits: Limits,
    offset: u64,
    skipping_oversized: bool,
    mut on_line: impl FnMut(Line<'_>),
) -> std::io::Result<(u64, bool)> {
    let Limits {
        mut size,
        cap,
        last_cut_line,
    } = limits;
    // A line handed on whole fits in the buffer with its newline: never more than `cap`.
    size = size.min(cap + 1);
    if buffer.len() < size {
        buffer.resize(size, 0);
    }
    let mut consumed = offset;
    let mut cutting = skipping_oversized.then(|| Cutting {
        head: Vec::new(),
        len: 0,
    });
    // `buffer[start..filled]` is read and not handed on: the start of a line.
    let (mut start, mut filled) = (0, 0);
    loop {
        if filled == size {
            if start > 0 {
                buffer.copy_within(start..filled, 0);
                (start, filled) = (0, filled - start);
            } else if size > cap {
                // Too long to hold: keep its head and skip to its end.
                cutting = Some(Cutting {
                    head: buffer[..CUT_HEAD.min(filled)].to_vec(),
                    len: filled as u64,
                });
                consumed += filled as u64;
                (start, filled) = (0, 0);
            } else {
                size = (size * 2).min(cap + 1);
                buffer.resize(size, 0);
            }
        }
        let read = match file.read(&mut buffer[filled..size]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        // Only the new bytes can hold the next newline.
        let mut search = filled;
        filled += read;
        while let Some(newline) = memchr::memchr(b'\n', &buffer[search..filled]) {
            let newline = search + newline;
            match cutting.take() {
                Some(cut) => on_line(Line::Cut {
                    head: &cut.head,
                    len: cut.len + (newline - start) as u64,
                }),
                None => on_line(Line::Complete(&buffer[start..newline])),
            }
            consumed += (newline + 1 - start) as u64;
            start = newline + 1;
            search = start;
        }
        if let Some(cut) = &mut cutting {
            cut.len += (filled - start) as u64;
            consumed += (filled - start) as u64;
            (start, filled) = (0, 0);
        }
    }
    let rest = &buffer[start..filled];
    match &cutting {
        Some(cut) if last_cut_line => on_line(Line::Cut {
            head: &cut.head,
            len: cut.len,
        }),
        Some(_) => {}
        None if !rest.is_empty()
            && serde_json::from_slice::<serde::de::IgnoredAny>(rest).is_ok() =>
        {
            on_line(Line::Complete(rest));
            consumed += rest.len() as u64;
        }
        None => {}
    }
    Ok((consumed, cutting.is_some()))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn collect(path: &Path, offset: u64, skipping: bool) -> (Vec<String>, usize, Progress) {
        let mut lines = Vec::new();
        let mut oversized = 0;
        let progress = read_new_lines(path, offset, skipping, |line| match line {
            Line::Complete(bytes) => lines.push(String::from_utf8_lossy(bytes).into_owned()),
            Line::Cut { .. } => oversized += 1,
        })
        .expect("read");
        (lines, oversized, progress)
    }

    #[test]
    fn partial_last_line_waits_for_its_newline() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.jsonl");
        std::fs::write(&path, "a\nb\n{\"part").expect("write");
        let (lines, _, progress) = collect(&path, 0, false);
        assert_eq!(lines, ["a", "b"]);
        assert_eq!(progress.offset, 4);
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .expect("open");
        file.write_all(b"ial\":1}\n{}").expect("append");
        let (lines, _, progress) = collect(&path, progress.offset, false);
        assert_eq!(
            lines,
            ["{\"partial\":1}", "{}"],
            "a complete final value is taken"
        );
        assert_eq!(
            progress.offset,
            std::fs::metadata(&path).expect("meta").len()
        );
    }

    #[test]
    fn a_line_across_two_reads_is_counted_whole_in_the_offset() {
        // Lines of 100 KB in a 1.5 MB file: some of them cross the 1 MB read boundary, and
        // one waits without its newline while the next read brings it. The offset must land
        // on the end of the file, or the next read would apply lines again.
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.jsonl");
        let line = format!("{{\"x\":\"{}\"}}\n", "a".repeat(100_000));
        std::fs::write(&path, line.repeat(15)).expect("write");
        let (lines, _, progress) = collect(&path, 0, false);
        assert_eq!(lines.len(), 15);
        let size = std::fs::metadata(&path).expect("meta").len();
        assert_eq!(progress.offset, size);
        // Nothing is read twice: from there, only what is appended.
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .expect("open");
        file.write_all(b"{\"y\":1}\n").expect("append");
        let (lines, _, _) = collect(&path, progress.offset, false);
        assert_eq!(lines, ["{\"y\":1}"]);
    }

    #[test]
    fn lines_longer_than_the_read_buffer_come_whole_and_in_order() {
        // Lines of every length around the buffer's size, some several times longer, each
        // tagged with its number: none is cut, merged, lost or repeated.
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.jsonl");
        let lengths = [
            10,
            CHUNK - 20,
            CHUNK,
            CHUNK + 1,
            3 * CHUNK + 7,
            5,
            2 * CHUNK,
            1,
        ];
        let mut text = String::new();
        for (n, len) in lengths.iter().enumerate() {
            text.push_str(&format!("{{\"n\":{n},\"x\":\"{}\"}}\n", "b".repeat(*len)));
        }
        std::fs::write(&path, &text).expect("write");
        let (lines, oversized, progress) = collect(&path, 0, false);
        assert_eq!(oversized, 0);
        assert_eq!(lines.len(), lengths.len());
        for (n, (line, len)) in lines.iter().zip(lengths).enumerate() {
            assert!(line.starts_with(&format!("{{\"n\":{n},")), "line {n}");
            assert_eq!(line.len(), len + format!("{{\"n\":{n},\"x\":\"\"}}").len());
        }
        assert_eq!(progress.offset, text.len() as u64);
        // Outside a batch the thread keeps no buffer; inside one, never a grown one.
        assert!(READ_BUFFER.take().is_empty());
        let batch = ReuseBuffer::start();
        collect(&path, 0, false);
        assert!(READ_BUFFER.take().len() <= CHUNK);
        collect(&path, 0, false);
        drop(batch);
        assert!(READ_BUFFER.take().is_empty());
    }

    #[test]
    fn oversized_line_is_skipped_across_reads() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.jsonl");
        let big = vec![b'x'; MAX_LINE + 10];
        let mut content = b"a\n".to_vec();
        content.extend_from_slice(&big);
        std::fs::write(&path, &content).expect("write");
        let (lines, oversized, progress) = collect(&path, 0, false);
        assert_eq!((lines.len(), oversized), (1, 0));
        assert!(progress.skipping_oversized);
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .expect("open");
        file.write_all(b"yyy\nb\n").expect("append");
        let (lines, oversized, progress) = collect(&path, progress.offset, true);
        assert_eq!(lines, ["b"]);
        assert_eq!(oversized, 1);
        assert!(!progress.skipping_oversized);
    }

    #[test]
    fn a_whole_file_read_cuts_long_lines_to_their_head_and_length() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.jsonl");
        let cap = 1000;
        let long = format!("{{\"type\":\"user\",\"x\":\"{}\"}}", "x".repeat(5 * CHUNK));
        let just = format!("{{\"x\":\"{}\"}}", "y".repeat(cap - 8));
        assert_eq!(just.len(), cap);
        let text = format!("{{}}\n{long}\n{just}\n{}\n[1]\n{long}", "z".repeat(cap + 1));
        std::fs::write(&path, &text).expect("write");
        let mut seen = Vec::new();
        read_all_lines(&path, cap, |line| {
            seen.push(match line {
                Line::Complete(bytes) => format!("whole {}", bytes.len()),
                Line::Cut { head, len } => {
                    format!("cut {len} {}", String::from_utf8_lossy(&head[..14]))
                }
            });
        })
        .expect("read");
        let long_cut = format!("cut {} {{\"type\":\"user\"", long.len());
        assert_eq!(
            seen,
            [
                "whole 2".to_owned(),
                long_cut.clone(),
                format!("whole {cap}"),
                format!("cut {} zzzzzzzzzzzzzz", cap + 1),
                "whole 3".to_owned(),
                long_cut,
            ],
            "a last cut line without its newline is handed on too"
        );
    }
}
