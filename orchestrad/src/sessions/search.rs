//! Full-text search over session files, on every core.
//!
//! A search reads files, not the index: the index keeps only metadata. Workers take
//! sessions from a shared counter (newest first) and each reads its file alone; the
//! caller's thread puts their answers back in order, so the hits are exactly those a
//! one-file-at-a-time search would give, and it stops the workers as soon as the limit
//! is reached. When the query is plain ASCII, a file is first streamed through a
//! case-insensitive byte search (a 1 MB buffer per worker, never the whole file) and only a
//! file that contains the text is read as a conversation.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use super::meta::SessionMeta;
use super::transcript;

/// One search match.
#[derive(Debug, Clone)]
pub struct Hit {
    /// The session.
    pub session_id: String,
    /// Its project path.
    pub project_path: String,
    /// "user" or "assistant".
    pub role: &'static str,
    /// Text around the match.
    pub snippet: String,
    /// When the message was written.
    pub timestamp_ms: i64,
}

/// How far a running search has got; read by another thread to show progress.
#[derive(Debug, Default)]
pub struct Progress {
    /// Sessions looked at.
    pub sessions: AtomicU64,
    /// Bytes of session files looked at.
    pub bytes: AtomicU64,
}

/// Bytes read from a file at a time by the byte prefilter.
const CHUNK: usize = 1 << 20;

/// Searches prompts and assistant text of `sessions` (newest first) for `query`,
/// case-insensitively, on every core. Returns the first `limit` hits in session order and
/// how many sessions were read to find them.
pub fn search(
    sessions: &[SessionMeta],
    query: &str,
    limit: usize,
    progress: &Progress,
) -> (Vec<Hit>, u64) {
    let needle = query.to_lowercase();
    let prefilter = Prefilter::new(&needle);
    let workers = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .min(sessions.len())
        .max(1);
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let (sender, answers) = std::sync::mpsc::channel::<(usize, Vec<Hit>)>();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let sender = sender.clone();
            let (next, stop, needle, prefilter) = (&next, &stop, &needle, &prefilter);
            scope.spawn(move || {
                let mut buffer = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(session) = sessions.get(index) else {
                        break;
                    };
                    let hits = search_one(session, needle, prefilter.as_ref(), limit, &mut buffer);
                    progress.sessions.fetch_add(1, Ordering::Relaxed);
                    progress
                        .bytes
                        .fetch_add(session.file_size, Ordering::Relaxed);
                    if sender.send((index, hits)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(sender);
        // Answers in session order; the ones that arrive early wait in `pending`.
        let mut pending = BTreeMap::new();
        let mut in_order = 0;
        let mut hits = Vec::new();
        let mut searched = 0;
        for (index, found) in answers {
            pending.insert(index, found);
            while let Some(found) = pending.remove(&in_order) {
                in_order += 1;
                if hits.len() >= limit {
                    continue;
                }
                searched += 1;
                hits.extend(found.into_iter().take(limit - hits.len()));
                if hits.len() >= limit {
                    stop.store(true, Ordering::Relaxed);
                }
            }
        }
        (hits, searched)
    })
}

/// The hits in one session, at most `limit`.
fn search_one(
    session: &SessionMeta,
    needle: &str,
    prefilter: Option<&Prefilter>,
    limit: usize,
    buffer: &mut Vec<u8>,
) -> Vec<Hit> {
    let path = session.file_path.as_path();
    if let Some(prefilter) = prefilter
        && !prefilter.file_contains(path, buffer).unwrap_or(false)
    {
        return Vec::new();
    }
    let Ok(messages) = transcript::read(path) else {
        return Vec::new();
    };
    messages
        .into_iter()
        .filter(|message| matches!(message.role, "user" | "assistant"))
        .filter_map(|message| {
            let snippet = transcript::snippet(&message.text, needle)?;
            Some(Hit {
                session_id: session.session_id.clone(),
                project_path: session.project_path.clone(),
                role: message.role,
                snippet,
                timestamp_ms: message.timestamp_ms,
            })
        })
        .take(limit)
        .collect()
}

/// A case-insensitive byte search that rules files out before they are parsed.
struct Prefilter {
    finder: memchr::memmem::Finder<'static>,
    len: usize,
}

impl Prefilter {
    /// Only for a plain ASCII query: then no JSON escape or non-ASCII case folding can
    /// hide a match from a byte search on the ASCII-lowercased file.
    fn new(needle: &str) -> Option<Prefilter> {
        let plain = !needle.is_empty()
            && needle
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\' || b == b' ');
        plain.then(|| Prefilter {
            finder: memchr::memmem::Finder::new(needle.as_bytes()).into_owned(),
            len: needle.len(),
        })
    }

    /// Whether the file at `path` holds the needle, ASCII case aside. Streams the file
    /// through `buffer`, keeping the last `len - 1` bytes of a chunk so a match across
    /// two chunks is found; stops at the first match.
    fn file_contains(&self, path: &Path, buffer: &mut Vec<u8>) -> std::io::Result<bool> {
        let mut file = std::fs::File::open(path)?;
        let keep = self.len - 1;
        buffer.resize(CHUNK + keep, 0);
        let mut carried = 0;
        loop {
            let read = file.read(&mut buffer[carried..])?;
            if read == 0 {
                return Ok(false);
            }
            let end = carried + read;
            buffer[carried..end].make_ascii_lowercase();
            if self.finder.find(&buffer[..end]).is_some() {
                return Ok(true);
            }
            let tail = keep.min(end);
            buffer.copy_within(end - tail..end, 0);
            carried = tail;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(dir: &Path, name: &str, lines: &[String]) -> SessionMeta {
        let path = dir.join(format!("{name}.jsonl"));
        std::fs::write(&path, lines.join("\n") + "\n").expect("write");
        SessionMeta {
            session_id: name.to_owned(),
            file_size: std::fs::metadata(&path).expect("meta").len(),
            file_path: path,
            ..SessionMeta::default()
        }
    }

    fn prompt(text: &str) -> String {
        serde_json::json!({"type": "user", "timestamp": "2026-11-22T10:00:00Z",
            "message": {"role": "user", "content": text}})
        .to_string()
    }

    #[test]
    fn hits_come_in_session_order_and_stop_at_the_limit() {
        let dir = tempfile::tempdir().expect("dir");
        let sessions: Vec<SessionMeta> = (0..40)
            .map(|i| {
                session(
                    dir.path(),
                    &format!("s{i:02}"),
                    &[prompt(&format!("Needle number {i}")), prompt("nothing")],
                )
            })
            .collect();
        let progress = Progress::default();
        let (hits, searched) = search(&sessions, "NEEDLE", 25, &progress);
        let ids: Vec<&str> = hits.iter().map(|h| h.session_id.as_str()).collect();
        let expected: Vec<String> = (0..25).map(|i| format!("s{i:02}")).collect();
        assert_eq!(ids, expected);
        assert_eq!(searched, 25);
        assert!(progress.sessions.load(Ordering::Relaxed) >= 25);
    }

    #[test]
    fn a_match_across_two_chunks_is_found() {
        let dir = tempfile::tempdir().expect("dir");
        // Pad the first line so the word straddles the 1 MB chunk boundary.
        let word = "straddling";
        let second = prompt(&format!("a {word} word"));
        let offset = second.find(word).expect("in line");
        let pad = CHUNK - 4 - 1 - offset - prompt("").len();
        let first = prompt(&"x".repeat(pad));
        let s = session(dir.path(), "s", &[first, second]);
        let prefilter = Prefilter::new(word).expect("plain");
        let mut buffer = Vec::new();
        let bytes = std::fs::read(&s.file_path).expect("read");
        let at = memchr::memmem::find(&bytes, word.as_bytes()).expect("in file");
        assert!(at < CHUNK && at + word.len() > CHUNK, "straddles: {at}");
        assert!(
            prefilter
                .file_contains(&s.file_path, &mut buffer)
                .expect("read")
        );
        let (hits, _) = search(&[s], "Straddling", 10, &Progress::default());
        assert_eq!(hits.len(), 1);
    }

    #[test]
    fn a_file_without_the_text_is_ruled_out_and_unicode_queries_still_search() {
        let dir = tempfile::tempdir().expect("dir");
        let s = session(dir.path(), "s", &[prompt("Grüße aus KÖLN")]);
        assert!(
            !Prefilter::new("nowhere")
                .expect("plain")
                .file_contains(&s.file_path, &mut Vec::new())
                .expect("read")
        );
        assert!(Prefilter::new("köln").is_none());
        let (hits, searched) = search(&[s], "köln", 10, &Progress::default());
        assert_eq!((hits.len(), searched), (1, 1));
    }
}
