//! Reading a whole session as a conversation: for `Transcript`, `Export` and `Search`.
//!
//! These read one file on demand, so they can afford full JSON values; the index keeps
//! only the metadata. A line longer than [`MAX_KEPT_LINE`] is not read: it stands in the
//! conversation as a `cut` message, "[line cut: 40 MiB]", so that what a stranger's file
//! holds cannot take the daemon's memory, and the reader sees that something is missing.

use std::path::Path;

use serde_json::Value;

use super::parse::{leading_kind, own_words, parse_timestamp};
use super::reader::{self, Line, MAX_KEPT_LINE};

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// "user", "assistant", "tool_result", "summary", or "cut" for a line too long to
    /// keep (its text says how long).
    pub role: &'static str,
    /// The text, blocks joined.
    pub text: String,
    /// Tools called in this message.
    pub tool_calls: Vec<String>,
    /// ms since the epoch, 0 if unknown.
    pub timestamp_ms: i64,
    /// The model (assistant messages).
    pub model: String,
    /// Written by a sub-agent.
    pub sidechain: bool,
    /// A tool result reporting an error.
    pub is_error: bool,
}

/// Reads every message of the session file at `path`, one line at a time. Lines that do
/// not parse are skipped (the index counts them).
pub fn read(path: &Path) -> std::io::Result<Vec<Message>> {
    let mut messages = Vec::new();
    reader::read_all_lines(path, MAX_KEPT_LINE, |line| {
        messages.extend(message_in(line));
    })?;
    Ok(messages)
}

/// The messages in the bytes of a session file, read as [`read`] reads a file.
pub fn messages_of(bytes: &[u8]) -> Vec<Message> {
    bytes
        .split(|b| *b == b'\n')
        .filter_map(|line| {
            message_in(if line.len() > MAX_KEPT_LINE {
                Line::Cut {
                    head: &line[..reader::CUT_HEAD],
                    len: line.len() as u64,
                }
            } else {
                Line::Complete(line)
            })
        })
        .collect()
}

/// Whether a line of this kind can hold a message.
fn message_kind(kind: &str) -> bool {
    matches!(kind, "user" | "assistant" | "summary")
}

/// The message one line holds, if any.
fn message_in(line: Line<'_>) -> Option<Message> {
    let line = match line {
        Line::Complete(line) => line,
        // A cut line whose head tells a kind without messages is passed over as a
        // whole one would be; any other is shown as cut.
        Line::Cut { head, .. } if leading_kind(head).is_some_and(|k| !message_kind(k)) => {
            return None;
        }
        Line::Cut { len, .. } => return Some(cut(len)),
    };
    // The bulky 2.1.330 kinds (system prompt, tool schemas) hold no message.
    if super::parse::is_skipped_kind(line) {
        return None;
    }
    // Nor do attachments and the other bookkeeping kinds, most of the bytes: a skim
    // tells them without decoding (what it accepts is valid JSON, so nothing is lost).
    if super::skim::skim(line.trim_ascii(), message_kind)
        .is_some_and(|skim| !message_kind(skim.kind))
    {
        return None;
    }
    let value = serde_json::from_slice::<Value>(line).ok()?;
    message_of(&value)
}

/// The stand-in for a line of `len` bytes that was too long to keep.
fn cut(len: u64) -> Message {
    Message {
        role: "cut",
        text: format!("[line cut: {}]", crate::text::human_mib(len)),
        tool_calls: Vec::new(),
        timestamp_ms: 0,
        model: String::new(),
        sidechain: false,
        is_error: false,
    }
}

fn message_of(line: &Value) -> Option<Message> {
    let kind = line.get("type")?.as_str()?;
    let timestamp_ms = line
        .get("timestamp")
        .and_then(Value::as_str)
        .and_then(parse_timestamp)
        .unwrap_or(0);
    let sidechain = line
        .get("isSidechain")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let base = |role, text| Message {
        role,
        text,
        tool_calls: Vec::new(),
        timestamp_ms,
        model: String::new(),
        sidechain,
        is_error: false,
    };
    match kind {
        "summary" => Some(base("summary", line.get("summary")?.as_str()?.to_owned())),
        "user" => {
            if line.get("isMeta").and_then(Value::as_bool).unwrap_or(false) {
                return None;
            }
            let content = line.get("message")?.get("content")?;
            if let Some(text) = content.as_str() {
                return own_words(text).map(|text| base("user", text));
            }
            let blocks = content.as_array()?;
            let results: Vec<&Value> = blocks
                .iter()
                .filter(|b| b.get("type").and_then(Value::as_str) == Some("tool_result"))
                .collect();
            if !results.is_empty() {
                let text = results
                    .iter()
                    .map(|b| block_text(b.get("content").unwrap_or(&Value::Null)))
                    .collect::<Vec<_>>()
                    .join("\n");
                let mut message = base("tool_result", text);
                message.is_error = results
                    .iter()
                    .any(|b| b.get("is_error").and_then(Value::as_bool).unwrap_or(false));
                return Some(message);
            }
            own_words(&block_text(content)).map(|text| base("user", text))
        }
        "assistant" => {
            let message = line.get("message")?;
            let content = message.get("content")?;
            let mut out = base("assistant", block_text(content));
            out.model = message
                .get("model")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            out.tool_calls = content
                .as_array()
                .into_iter()
                .flatten()
                .filter(|b| b.get("type").and_then(Value::as_str) == Some("tool_use"))
                .map(|b| {
                    let name = b.get("name").and_then(Value::as_str).unwrap_or("tool");
                    let input = b.get("input").map(Value::to_string).unwrap_or_default();
                    format!("{name} {input}")
                })
                .collect();
            Some(out)
        }
        _ => None,
    }
}

/// The text of a content value: a string, or the text of its text blocks.
fn block_text(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| match b {
                Value::String(text) => Some(text.clone()),
                Value::Object(_) => b.get("text").and_then(Value::as_str).map(str::to_owned),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// Renders a conversation as Markdown.
pub fn to_markdown(meta: &super::meta::SessionMeta, messages: &[Message]) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let title = if meta.title.is_empty() {
        crate::text::truncate_chars(&meta.first_prompt, 80)
    } else {
        meta.title.clone()
    };
    let _ = writeln!(
        out,
        "# {}\n",
        if title.is_empty() {
            "Claude Code session"
        } else {
            &title
        }
    );
    let _ = writeln!(out, "- Session: `{}`", meta.session_id);
    let _ = writeln!(out, "- Project: `{}`", meta.project_path);
    if !meta.git_branch.is_empty() {
        let _ = writeln!(out, "- Branch: `{}`", meta.git_branch);
    }
    if meta.started_at_ms > 0 {
        let _ = writeln!(out, "- Started: {}", format_ms(meta.started_at_ms));
    }
    if !meta.models.is_empty() {
        let _ = writeln!(out, "- Models: {}", meta.models.join(", "));
    }
    let _ = writeln!(
        out,
        "- Tokens: {} in, {} out, {} cache read, {} cache write ({}${:.4})",
        meta.tokens.input,
        meta.tokens.output,
        meta.tokens.cache_read,
        meta.tokens.cache_creation,
        if meta.cost_is_estimate() {
            "estimated "
        } else {
            ""
        },
        meta.cost_usd()
    );
    for message in messages {
        let heading = match (message.role, message.sidechain) {
            ("user", _) => "## User",
            ("assistant", false) => "## Assistant",
            ("assistant", true) => "## Assistant (sub-agent)",
            ("tool_result", _) => "### Tool result",
            ("cut", _) => "## Line not shown",
            _ => "## Summary",
        };
        let stamp = if message.timestamp_ms > 0 {
            format!(" · {}", format_ms(message.timestamp_ms))
        } else {
            String::new()
        };
        let _ = writeln!(out, "\n{heading}{stamp}\n");
        if message.role == "tool_result" {
            let fence = if message.text.contains("```") {
                "~~~~"
            } else {
                "```"
            };
            let _ = writeln!(out, "{fence}\n{}\n{fence}", message.text.trim_end());
        } else if !message.text.is_empty() {
            let _ = writeln!(out, "{}", message.text.trim_end());
        }
        for call in &message.tool_calls {
            let _ = writeln!(out, "\n- tool call: `{}`", call.replace('`', "'"));
        }
    }
    out
}

fn format_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|dt| dt.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}

/// Text around the first case-insensitive match of `needle` (already lowercase) in
/// `text`, or `None` when there is no match.
pub fn snippet(text: &str, needle: &str) -> Option<String> {
    // Lowercasing can change lengths (`İ` becomes `i` and a combining dot, two chars), so
    // an offset in the lowercase copy is no offset in `text`. Build the copy char by char
    // and remember, for each lowercase char, the char of `text` it came from.
    let chars: Vec<char> = text.chars().collect();
    let mut lower = String::with_capacity(text.len());
    // (byte offset in `lower`, index in `chars`), in order.
    let mut origin: Vec<(usize, usize)> = Vec::with_capacity(chars.len());
    for (index, c) in chars.iter().enumerate() {
        for l in c.to_lowercase() {
            origin.push((lower.len(), index));
            lower.push(fold_sigma(l));
        }
    }
    // A needle from `str::to_lowercase` ends words with `ς` where char-wise lowercasing
    // gives `σ`; both sides fold to `σ` (same length) so "ΣΣ" still finds "ΣΣ".
    let needle: String = needle.chars().map(fold_sigma).collect();
    let at = lower.find(&needle)?;
    let char_of = |byte: usize| {
        let i = origin.partition_point(|(start, _)| *start <= byte);
        origin
            .get(i.saturating_sub(1))
            .map_or(0, |(_, index)| *index)
    };
    let first = char_of(at);
    let last = if needle.is_empty() {
        first
    } else {
        char_of(at + needle.len() - 1)
    };
    let start = first.saturating_sub(60);
    let end = (last + 1 + 60).min(chars.len());
    let mut out: String = chars[start..end.max(start)]
        .iter()
        .map(|c| if c.is_control() { ' ' } else { *c })
        .collect();
    if start > 0 {
        out.insert(0, '…');
    }
    if end < chars.len() {
        out.push('…');
    }
    Some(out)
}

/// Final sigma as sigma, for matching.
fn fold_sigma(c: char) -> char {
    if c == 'ς' { 'σ' } else { c }
}

#[cfg(test)]
mod tests {
    use super::{messages_of, snippet};

    #[test]
    fn a_file_becomes_the_conversation_its_user_saw() {
        let lines = [
            r#"{"type":"queue-operation","operation":"enqueue","content":"hi"}"#,
            r#"{"type":"user","timestamp":"2026-11-22T10:00:00Z","message":{"role":"user","content":"fix the <system-reminder>noise</system-reminder>login"}}"#,
            r#"{"type":"user","isMeta":true,"message":{"role":"user","content":"meta, not typed"}}"#,
            r#"{"type":"attachment","attachment":{"type":"prompt_snapshot","content":"huge"},"timestamp":"2026-11-22T10:00:01Z"}"#,
            r#"{"type":"assistant","isSidechain":true,"message":{"role":"assistant","model":"claude-opus-5-5","content":[{"type":"text","text":"Looking."},{"type":"tool_use","name":"Read","input":{"file_path":"a.rs"}}]}}"#,
            r#"{"type":"user","message":{"role":"user","content":[{"type":"tool_result","content":"fn a() {}","is_error":true}]}}"#,
            r#"{"type":"api-request-body","body":"never a message"}"#,
            "not json at all",
            r#"{"type":"summary","summary":"Login fixed"}"#,
        ];
        let messages = messages_of(lines.join("\n").as_bytes());
        let roles: Vec<&str> = messages.iter().map(|m| m.role).collect();
        assert_eq!(roles, ["user", "assistant", "tool_result", "summary"]);
        assert_eq!(messages[0].text, "fix the login");
        assert!(messages[0].timestamp_ms > 0);
        assert_eq!(messages[1].text, "Looking.");
        assert_eq!(messages[1].model, "claude-opus-5-5");
        assert!(messages[1].sidechain);
        assert_eq!(messages[1].tool_calls, [r#"Read {"file_path":"a.rs"}"#]);
        assert_eq!(messages[2].text, "fn a() {}");
        assert!(messages[2].is_error);
        assert_eq!(messages[3].text, "Login fixed");
    }

    #[test]
    fn a_line_too_long_to_keep_stands_as_cut_unless_its_kind_holds_no_message() {
        let big = "x".repeat(2 * super::MAX_KEPT_LINE);
        let lines = [
            format!(r#"{{"type":"attachment","attachment":{{"content":"{big}"}}}}"#),
            format!(
                r#"{{"parentUuid":null,"message":{{"role":"user","content":"{big}"}},"type":"user"}}"#
            ),
            r#"{"type":"summary","summary":"after the cut"}"#.to_owned(),
        ];
        let messages = messages_of(lines.join("\n").as_bytes());
        let seen: Vec<(&str, &str)> = messages.iter().map(|m| (m.role, m.text.as_str())).collect();
        assert_eq!(
            seen,
            [("cut", "[line cut: 2.0 MiB]"), ("summary", "after the cut")]
        );
    }

    #[test]
    fn snippets_survive_text_whose_lowercase_is_longer() {
        // `İ` lowercases to two chars; before, the match's offset overshot the text and
        // the slice panicked (found by the fuzz run, and known from search).
        let text = "İ".repeat(200) + "needle" + &"x".repeat(10);
        let out = snippet(&text, "needle").expect("a match");
        assert!(out.contains("needle"), "{out}");
        assert!(out.starts_with('…'));
        assert_eq!(
            snippet("İİİ abc", "i̇"),
            Some("İİİ abc".to_owned()),
            "a needle that is itself a lengthened lowercase"
        );
        assert_eq!(snippet("ABC", "b"), Some("ABC".to_owned()));
        let text = "ΣΣ and more";
        assert_eq!(
            snippet(text, &text.to_lowercase()[..4]),
            Some(text.to_owned()),
            "final sigma"
        );
        assert_eq!(snippet("ABC", "z"), None);
        assert_eq!(snippet("", ""), Some(String::new()));
    }
}
