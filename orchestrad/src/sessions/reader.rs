//! Incremental reading of an append-only JSON-lines file.
//!
//! [`read_new_lines`] reads from a saved offset to the end of the file and hands every
//! complete line to a callback. A last line without its newline is still being written and
//! is left for the next read, unless it is already a complete JSON value (older files end
//! without a final newline). A line longer than [`MAX_LINE`] is skipped to its end
//! without being held in memory. The same reader tails agent logs.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Longest line that is parsed; longer ones are counted as skipped.
pub const MAX_LINE: usize = 32 * 1024 * 1024;

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
    /// Offset after the last complete line (or after the skipped part of an oversized one).
    pub offset: u64,
    /// Whether the read stopped inside an oversized line that is being skipped.
    pub skipping_oversized: bool,
    /// The file as it was when read.
    pub stat: Stat,
}

/// What the callback is told about each line.
#[derive(Debug)]
pub enum Line<'a> {
    /// A complete line, without its newline.
    Complete(&'a [u8]),
    /// A line over [`MAX_LINE`], skipped.
    Oversized,
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
    // Sized to what is new (tailing polls read a few bytes), and kept by the thread for
    // its next file: zeroing a fresh chunk for every file of a cold index was measurable.
    let new_bytes = stat.size.saturating_sub(offset) as usize;
    let want = new_bytes.clamp(4096, CHUNK);
    let mut buffer = CHUNK_BUFFER.take();
    if buffer.len() < want {
        buffer.resize(want, 0);
    }
    let result = read_lines(
        &mut file,
        &mut buffer[..want],
        offset,
        skipping_oversized,
        on_line,
    );
    CHUNK_BUFFER.set(buffer);
    let (consumed, skipping) = result?;
    Ok(Progress {
        offset: consumed,
        skipping_oversized: skipping,
        stat,
    })
}

thread_local! {
    /// The thread's read buffer, reused from file to file.
    static CHUNK_BUFFER: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// The loop of [`read_new_lines`] over `file` (at `offset`), reading into `chunk`: the
/// offset after the last line handed on, and whether an oversized line is being skipped.
fn read_lines(
    file: &mut File,
    chunk: &mut [u8],
    offset: u64,
    skipping_oversized: bool,
    mut on_line: impl FnMut(Line<'_>),
) -> std::io::Result<(u64, bool)> {
    let mut consumed = offset;
    let mut skipping = skipping_oversized;
    // Bytes of the current, not yet complete, line.
    let mut pending: Vec<u8> = Vec::new();
    loop {
        let read = match file.read(chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        let mut data = &chunk[..read];
        while !data.is_empty() {
            match memchr::memchr(b'\n', data) {
                Some(newline) => {
                    let line_end = newline + 1;
                    if skipping {
                        skipping = false;
                        on_line(Line::Oversized);
                    } else if pending.is_empty() {
                        on_line(Line::Complete(&data[..newline]));
                    } else {
                        // The line began in an earlier read: its first bytes count too.
                        consumed += pending.len() as u64;
                        pending.extend_from_slice(&data[..newline]);
                        on_line(Line::Complete(&pending));
                        pending.clear();
                    }
                    consumed += line_end as u64;
                    data = &data[line_end..];
                }
                None => {
                    if skipping {
                        consumed += data.len() as u64;
                    } else if pending.len() + data.len() > MAX_LINE {
                        // Too long to hold: forget it and skip to its end.
                        consumed += (pending.len() + data.len()) as u64;
                        pending = Vec::new();
                        skipping = true;
                    } else {
                        pending.extend_from_slice(data);
                    }
                    data = &[];
                }
            }
        }
    }
    if !skipping
        && !pending.is_empty()
        && serde_json::from_slice::<serde::de::IgnoredAny>(&pending).is_ok()
    {
        on_line(Line::Complete(&pending));
        consumed += pending.len() as u64;
    }
    Ok((consumed, skipping))
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
            Line::Oversized => oversized += 1,
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
}
