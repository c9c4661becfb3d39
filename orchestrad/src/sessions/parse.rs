//! Reading one line of a session file into the session's metadata.
//!
//! Only the fields the metadata needs are decoded; everything else (attachments, tool
//! inputs and results, which are most of the bytes) is skipped by serde without being
//! allocated. The rules follow the real CLI's files: the prompt is the `message.content`
//! of a `user` line (a string, or text blocks), tool results are `user` lines whose blocks
//! are `tool_result`, meta lines and command wrappers are not the user's own words.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::meta::{Entry, SessionMeta, Tokens};
use super::pricing;
use super::reader::{Line, MAX_KEPT_LINE};
use crate::text::truncate_chars;

/// Longest prompt text kept in the metadata; the transcript has the whole text.
const PROMPT_CHARS: usize = 500;

/// The top-level fields of a line that the metadata needs; `M` is how `message` is read
/// (kept raw by the reference parse, decoded in the same pass by the fast one).
#[derive(Deserialize)]
#[serde(bound(deserialize = "M: Deserialize<'de>"))]
struct RawLine<'a, M> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    cwd: Option<Cow<'a, str>>,
    #[serde(rename = "gitBranch", borrow, default)]
    git_branch: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    version: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    timestamp: Option<Cow<'a, str>>,
    #[serde(rename = "isSidechain", default)]
    is_sidechain: Option<bool>,
    #[serde(rename = "isMeta", default)]
    is_meta: Option<bool>,
    #[serde(default)]
    message: Option<M>,
    #[serde(borrow, default)]
    summary: Option<Cow<'a, str>>,
    #[serde(rename = "customTitle", borrow, default)]
    custom_title: Option<Cow<'a, str>>,
    /// `ai-title` lines (2.1.330): the title the CLI had a model write.
    #[serde(rename = "aiTitle", borrow, default)]
    ai_title: Option<Cow<'a, str>>,
    /// `agent-name` lines (2.1.330): the name of a background session.
    #[serde(rename = "agentName", borrow, default)]
    agent_name: Option<Cow<'a, str>>,
    /// `cost-state` lines (2.1.330): the CLI's own running total for the session.
    #[serde(rename = "totalCostUSD", default)]
    total_cost_usd: Option<f64>,
}

/// Line kinds of 2.1.330 that carry nothing the metadata needs, not even their
/// timestamp, some of them large (the system prompt and tool schemas, ~100 KB in a
/// one-turn file).
const IGNORED_KINDS: &[&str] = &[
    "api-request-shape",
    "api-request-blob",
    "api-request",
    "atis-latch",
    "tools-used",
    "permission-mode",
    "file-history-snapshot",
];

/// Whether `line` is one of [`IGNORED_KINDS`], told from its prefix `{"type":"<kind>"`
/// alone (the CLI writes `type` first). The transcript uses it to pass over them unread.
pub(crate) fn is_skipped_kind(line: &[u8]) -> bool {
    leading_kind(line).is_some_and(|kind| IGNORED_KINDS.contains(&kind))
}

/// The `<kind>` of a line that begins `{"type":"<kind>"`, told from those bytes alone: also
/// for the head of a line too long to read ([`super::reader::Line::Cut`]). `None` when the
/// line begins otherwise (`type` is not first, or holds an escape).
pub(crate) fn leading_kind(line: &[u8]) -> Option<&str> {
    let rest = line.strip_prefix(br#"{"type":""#)?;
    let end = memchr::memchr2(b'"', b'\\', rest)?;
    (rest[end] == b'"')
        .then(|| std::str::from_utf8(&rest[..end]).ok())
        .flatten()
}

/// Line kinds whose content the metadata needs; every other kind counts only by its
/// timestamp (unless it is one of [`IGNORED_KINDS`]).
const DECODED_KINDS: &[&str] = &[
    "summary",
    "custom-title",
    "ai-title",
    "agent-name",
    "cost-state",
    "user",
    "assistant",
];

/// The fields of `message` the metadata needs; `C` is how `content` is read.
#[derive(Deserialize)]
#[serde(bound(deserialize = "C: Deserialize<'de>"))]
struct RawMessage<'a, C> {
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    model: Option<Cow<'a, str>>,
    #[serde(default)]
    content: Option<C>,
    #[serde(default)]
    usage: Option<RawUsage>,
}

/// A message's content: the prompt's text, or its blocks.
enum Content<'a> {
    /// `"content": "..."`.
    Text(Cow<'a, str>),
    /// `"content": [...]`, the blocks the metadata could read.
    Blocks(Vec<RawBlock<'a>>),
}

impl<'a> Content<'a> {
    /// Reads a raw content the lenient way: a block that is not an object of the expected
    /// fields is passed over, a content that is neither a string nor an array has no
    /// blocks.
    fn from_raw(raw: &'a RawValue) -> Option<Content<'a>> {
        let text = raw.get();
        if text.starts_with('"') {
            return serde_json::from_str(text).ok().map(Content::Text);
        }
        let items = serde_json::from_str::<Vec<&RawValue>>(text).unwrap_or_default();
        Some(Content::Blocks(
            items
                .into_iter()
                .filter_map(|item| serde_json::from_str(item.get()).ok())
                .collect(),
        ))
    }
}

/// The strict, one-pass reading of a content: a string, or an array of block objects;
/// anything else is an error, and the line then takes the lenient reference parse.
impl<'de: 'a, 'a> Deserialize<'de> for Content<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visit<'a> {
            type Value = Content<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string or an array of content blocks")
            }
            fn visit_borrowed_str<E>(self, text: &'de str) -> Result<Content<'a>, E> {
                Ok(Content::Text(Cow::Borrowed(text)))
            }
            fn visit_str<E>(self, text: &str) -> Result<Content<'a>, E> {
                Ok(Content::Text(Cow::Owned(text.to_owned())))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Content<'a>, A::Error> {
                let mut blocks = Vec::new();
                while let Some(block) = seq.next_element()? {
                    blocks.push(block);
                }
                Ok(Content::Blocks(blocks))
            }
        }
        deserializer.deserialize_any(Visit(std::marker::PhantomData))
    }
}

#[derive(Deserialize, Default)]
struct RawUsage {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
}

/// One content block; only what tells its kind, its text and a tool's name.
#[derive(Deserialize)]
struct RawBlock<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
}

/// Why a line was not applied.
#[derive(Debug, PartialEq, Eq)]
pub enum Skip {
    /// Not JSON, not UTF-8, not an object, or no `type`.
    Malformed,
}

/// Applies one complete line (without its newline) to `entry`.
///
/// Lines that cannot change the metadata beyond their timestamp (attachments,
/// `api-request-*`, queue operations, ...) are told by a [`skim`](super::skim) of their
/// top level and never decoded; the rest take [`apply_line_parsed`]. Both give the same
/// metadata for every line (a differential test holds them to it).
pub fn apply_line(entry: &mut Entry, line: &[u8]) -> Result<(), Skip> {
    let line = trim_ascii(line);
    if line.is_empty() {
        return Ok(());
    }
    if let Some(skim) = skim(line) {
        if skim.kind == "user" {
            // A tool result: everything but its prompt, which it has not.
            apply_timestamp(entry, skim.timestamp);
            apply_conversation_fields(
                &mut entry.meta,
                skim.cwd,
                skim.git_branch,
                skim.version,
                skim.is_sidechain,
            );
            return Ok(());
        }
        if !IGNORED_KINDS.contains(&skim.kind) {
            apply_timestamp(entry, skim.timestamp);
        }
        return Ok(());
    }
    // Whatever the one-pass reading refuses takes the reference parse, which decides.
    match decode_in_one_pass(line) {
        Some(raw) => apply_raw(entry, raw, Ok),
        None => apply_line_parsed(entry, line),
    }
}

/// The line with its message decoded as it is read (a prompt's or an assistant's blocks
/// are not re-read for each level), or `None` where that strict reading refuses it. UTF-8
/// is checked first: serde_json does not check the strings it skips, and the reference's
/// raw `message` must be UTF-8.
fn decode_in_one_pass(line: &[u8]) -> Option<RawLine<'_, RawMessage<'_, Content<'_>>>> {
    std::str::from_utf8(line).ok()?;
    serde_json::from_slice(line).ok()
}

/// The skim of `line` when it settles the line without decoding: a kind that counts only
/// by its timestamp (or not at all), or a `user` line that is a tool result. The walk
/// stops at the `type` of the other decoded kinds, which serde_json reads anyway.
fn skim(line: &[u8]) -> Option<super::skim::Skim<'_>> {
    super::skim::skim(line, |kind| kind != "user" && DECODED_KINDS.contains(&kind)).filter(|skim| {
        match skim.kind {
            "user" => skim.tool_result,
            kind => !DECODED_KINDS.contains(&kind),
        }
    })
}

/// Whether [`apply_line`] settles `line` from a skim, without decoding it (for tests and
/// benchmarks that check the fast path is taken).
#[doc(hidden)]
pub fn takes_fast_path(line: &[u8]) -> bool {
    skim(trim_ascii(line)).is_some()
}

/// Whether [`apply_line`] decodes `line` in one pass (a `user` or `assistant` line the
/// strict reading accepts), for tests that check the reference parse is seldom needed.
#[doc(hidden)]
pub fn takes_one_pass(line: &[u8]) -> bool {
    let line = trim_ascii(line);
    !takes_fast_path(line) && decode_in_one_pass(line).is_some()
}

/// [`apply_line`] the straightforward way: every line decoded by serde_json. The
/// reference the fast path is tested against.
pub fn apply_line_parsed(entry: &mut Entry, line: &[u8]) -> Result<(), Skip> {
    let line = trim_ascii(line);
    if line.is_empty() {
        return Ok(());
    }
    let raw: RawLine<&RawValue> = serde_json::from_slice(line).map_err(|_| Skip::Malformed)?;
    apply_raw(entry, raw, |message| {
        let message: RawMessage<&RawValue> =
            serde_json::from_str(message.get()).map_err(|_| Skip::Malformed)?;
        Ok(RawMessage {
            id: message.id,
            model: message.model,
            content: message.content.and_then(Content::from_raw),
            usage: message.usage,
        })
    })
}

/// Applies a line read either way; `decode` gives its message (or says it is unusable).
fn apply_raw<'a, M>(
    entry: &mut Entry,
    raw: RawLine<'a, M>,
    decode: impl FnOnce(M) -> Result<RawMessage<'a, Content<'a>>, Skip>,
) -> Result<(), Skip> {
    let Some(kind) = raw.kind.as_deref() else {
        return Err(Skip::Malformed);
    };
    if IGNORED_KINDS.contains(&kind) {
        return Ok(());
    }
    apply_timestamp(entry, raw.timestamp.as_deref());
    let meta = &mut entry.meta;
    match kind {
        "summary" => {
            if let Some(summary) = raw.summary {
                meta.title = summary.into_owned();
            }
            return Ok(());
        }
        "custom-title" => {
            if let Some(title) = raw.custom_title.or(raw.summary) {
                meta.title = title.into_owned();
                meta.has_custom_title = true;
            }
            return Ok(());
        }
        // A title the CLI made up never replaces one the user gave.
        "ai-title" | "agent-name" => {
            if let Some(title) = raw.ai_title.or(raw.agent_name)
                && !meta.has_custom_title
                && !title.is_empty()
            {
                meta.title = title.into_owned();
            }
            return Ok(());
        }
        "cost-state" => {
            if let Some(total) = raw.total_cost_usd.filter(|t| t.is_finite() && *t >= 0.0) {
                meta.cli_cost_usd = Some(total);
            }
            return Ok(());
        }
        "user" | "assistant" => {}
        _ => return Ok(()),
    }
    let sidechain = raw.is_sidechain.unwrap_or(false);
    apply_conversation_fields(
        meta,
        raw.cwd.as_deref(),
        raw.git_branch.as_deref(),
        raw.version.as_deref(),
        sidechain,
    );
    // A `message` that is not an object (older files have `"message": "error"`) makes
    // the line unusable for a user or assistant line.
    let message = match raw.message {
        Some(message) => decode(message)?,
        None => return Err(Skip::Malformed),
    };
    // The day each message counts under: its own line's, in local time.
    let day = raw
        .timestamp
        .as_deref()
        .and_then(parse_timestamp)
        .unwrap_or(meta.modified_at_ms);
    let day = crate::time::local_day(day);
    if kind == "user" {
        if sidechain || raw.is_meta.unwrap_or(false) {
            return Ok(());
        }
        if let Some(prompt) = message.content.as_ref().and_then(prompt_text) {
            meta.user_messages += 1;
            meta.day_usage(day, "").messages += 1;
            if meta.first_prompt.is_empty() {
                meta.first_prompt = prompt.clone();
            }
            meta.last_prompt = prompt;
        }
        return Ok(());
    }
    apply_assistant(entry, &message, sidechain, day);
    Ok(())
}

/// What every `user` and `assistant` line tells, whatever its message: the project, the
/// branch, the CLI's version, and whether it is a subagent's.
fn apply_conversation_fields(
    meta: &mut SessionMeta,
    cwd: Option<&str>,
    git_branch: Option<&str>,
    version: Option<&str>,
    sidechain: bool,
) {
    if let Some(cwd) = cwd.filter(|c| !c.is_empty())
        && meta.project_path.is_empty()
    {
        meta.project_path = cwd.to_owned();
    }
    if let Some(branch) = git_branch.filter(|b| !b.is_empty())
        && meta.git_branch != branch
    {
        meta.git_branch = branch.to_owned();
    }
    if let Some(version) = version.filter(|v| !v.is_empty())
        && meta.cli_version != version
    {
        meta.cli_version = version.to_owned();
    }
    if sidechain {
        meta.sidechain_lines += 1;
    }
}

/// Widens the session's time span to the line's timestamp.
fn apply_timestamp(entry: &mut Entry, timestamp: Option<&str>) {
    let meta = &mut entry.meta;
    if let Some(ts) = timestamp.and_then(parse_timestamp) {
        if meta.started_at_ms == 0 || ts < meta.started_at_ms {
            meta.started_at_ms = ts;
        }
        meta.modified_at_ms = meta.modified_at_ms.max(ts);
    }
}

fn apply_assistant(entry: &mut Entry, message: &RawMessage<Content>, sidechain: bool, day: String) {
    let meta = &mut entry.meta;
    let model = message.model.as_deref().unwrap_or_default();
    // Tool calls are counted per line: one message's blocks may be split over lines.
    if let Some(Content::Blocks(blocks)) = &message.content {
        for block in blocks {
            if block.kind.as_deref() == Some("tool_use") {
                meta.count_tool(block.name.as_deref().unwrap_or("unknown"));
            }
        }
    }
    let id = message.id.as_deref().unwrap_or_default();
    if !id.is_empty() && id == entry.cursor.last_message_id {
        return;
    }
    entry.cursor.last_message_id = id.to_owned();
    if !sidechain {
        meta.assistant_messages += 1;
        meta.day_usage(day.clone(), model).messages += 1;
    }
    if !model.is_empty() && model != "<synthetic>" && !meta.models.iter().any(|m| m == model) {
        meta.models.push(model.to_owned());
    }
    if let Some(usage) = &message.usage {
        let tokens = Tokens {
            input: usage.input_tokens.unwrap_or(0),
            output: usage.output_tokens.unwrap_or(0),
            cache_read: usage.cache_read_input_tokens.unwrap_or(0),
            cache_creation: usage.cache_creation_input_tokens.unwrap_or(0),
        };
        meta.tokens.add(&tokens);
        let cost = pricing::cost(model, &tokens);
        meta.estimated_cost_usd += cost;
        let bucket = meta.day_usage(day, model);
        bucket.tokens.add(&tokens);
        bucket.estimated_cost_usd += cost;
    }
}

/// The `totalCostUSD` of the last `cost-state` line of the session file at `path`, as a
/// `--resume` of it restores it (2.1.330 on); `None` when the file has none or cannot be
/// read.
///
/// The file is streamed and each line kept up to [`MAX_KEPT_LINE`]: a `cost-state` line
/// is small, and whatever else the file holds does not weigh on the daemon's memory.
pub fn last_cli_cost(path: &std::path::Path) -> Option<f64> {
    let mut last = None;
    super::reader::read_all_lines(path, MAX_KEPT_LINE, |line| {
        let Line::Complete(line) = line else {
            return;
        };
        let line = trim_ascii(line);
        if leading_kind(line) != Some("cost-state") {
            return;
        }
        if let Ok(raw) = serde_json::from_slice::<RawLine<serde::de::IgnoredAny>>(line)
            && raw.total_cost_usd.is_some()
        {
            last = raw.total_cost_usd;
        }
    })
    .ok()?;
    last
}

/// The user's own words in a `user` message's content, or `None` when the line is a tool
/// result, a command wrapper, a system reminder or otherwise not typed by the user.
fn prompt_text(content: &Content) -> Option<String> {
    let text = match content {
        Content::Text(text) => Cow::Borrowed(text.as_ref()),
        Content::Blocks(blocks) => {
            if blocks
                .iter()
                .any(|block| block.kind.as_deref() == Some("tool_result"))
            {
                return None;
            }
            let parts: Vec<&str> = blocks
                .iter()
                .filter(|block| block.kind.as_deref() == Some("text"))
                .filter_map(|block| block.text.as_deref())
                .collect();
            Cow::Owned(parts.join("\n"))
        }
    };
    own_words(&text).map(|words| truncate_chars(&words, PROMPT_CHARS))
}

/// Strips what the CLI wraps around or injects into a prompt; `None` when nothing of the
/// user's own remains.
pub(crate) fn own_words(text: &str) -> Option<String> {
    let trimmed = text.trim_start();
    const NOT_TYPED: &[&str] = &[
        "<command-name>",
        "<command-message>",
        "<command-args>",
        "<local-command-stdout>",
        "<local-command-stderr>",
        "<local-command-caveat>",
        "<bash-input>",
        "<bash-stdout>",
        "<bash-stderr>",
        "<user-memory-input>",
        "Caveat: The messages below were generated by the user while running local commands",
        "[Request interrupted by user",
        "This session is being continued from a previous conversation",
    ];
    if NOT_TYPED.iter().any(|prefix| trimmed.starts_with(prefix)) {
        return None;
    }
    let cleaned = strip_tag(text, "system-reminder");
    let cleaned = cleaned.trim();
    (!cleaned.is_empty()).then(|| cleaned.to_owned())
}

/// Removes every `<tag>...</tag>` span from `text`.
fn strip_tag(text: &str, tag: &str) -> String {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(&open) {
        out.push_str(&rest[..start]);
        match rest[start..].find(&close) {
            Some(end) => rest = &rest[start + end + close.len()..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// An RFC 3339 timestamp as ms since the epoch.
pub(crate) fn parse_timestamp(ts: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(ts)
        .ok()
        .map(|dt| dt.timestamp_millis())
}

fn trim_ascii(line: &[u8]) -> &[u8] {
    line.trim_ascii()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(lines: &str) -> (Entry, u64) {
        let mut entry = Entry::default();
        let mut skipped = 0;
        for line in lines.lines() {
            if apply_line(&mut entry, line.as_bytes()).is_err() {
                skipped += 1;
            }
        }
        (entry, skipped)
    }

    #[test]
    fn the_last_cost_is_read_past_a_line_too_long_to_keep() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.jsonl");
        let big = "x".repeat(2 * MAX_KEPT_LINE);
        let text = [
            r#"{"type":"cost-state","totalCostUSD":0.5}"#.to_owned(),
            format!(r#"{{"type":"user","message":{{"content":"{big}"}}}}"#),
            r#"{"type":"cost-state","totalCostUSD":1.25}"#.to_owned(),
            format!(r#"{{"type":"cost-state","totalCostUSD":9,"pad":"{big}"}}"#),
        ]
        .join("\n");
        std::fs::write(&path, text).expect("write");
        assert_eq!(last_cli_cost(&path), Some(1.25), "a cut line is never read");
        assert_eq!(last_cli_cost(&dir.path().join("none.jsonl")), None);
        assert_eq!(
            leading_kind(br#"{"type":"cost-state","#),
            Some("cost-state")
        );
        assert_eq!(leading_kind(br#"{"type":"a\"b"}"#), None);
        assert_eq!(leading_kind(br#"{"uuid":1,"type":"user"}"#), None);
    }

    #[test]
    fn prompts_skip_tool_results_meta_and_wrappers() {
        let (entry, skipped) = apply(concat!(
            r#"{"type":"user","cwd":"/w/r","message":{"role":"user","content":"build it"},"timestamp":"2026-01-01T00:00:00Z"}"#,
            "\n",
            r#"{"type":"user","message":{"role":"user","content":[{"type":"tool_result","content":"ok"}]}}"#,
            "\n",
            r#"{"type":"user","isMeta":true,"message":{"role":"user","content":[{"type":"text","text":"Continue from where you left off."}]}}"#,
            "\n",
            r#"{"type":"user","message":{"role":"user","content":"<command-name>/clear</command-name>"}}"#,
            "\n",
            r#"{"type":"user","message":{"role":"user","content":[{"type":"text","text":"<system-reminder>x</system-reminder>and test it"}]}}"#,
            "\n",
        ));
        assert_eq!(skipped, 0);
        assert_eq!(entry.meta.first_prompt, "build it");
        assert_eq!(entry.meta.last_prompt, "and test it");
        assert_eq!(entry.meta.user_messages, 2);
        assert_eq!(entry.meta.project_path, "/w/r");
    }

    #[test]
    fn assistant_usage_counts_each_message_id_once() {
        let line = |block: &str| {
            format!(
                r#"{{"type":"assistant","message":{{"id":"m1","model":"claude-opus-4-8","content":[{block}],"usage":{{"input_tokens":100,"output_tokens":10,"cache_read_input_tokens":5,"cache_creation_input_tokens":1}}}}}}"#
            )
        };
        let text = format!(
            "{}\n{}\n",
            line(r#"{"type":"text","text":"hi"}"#),
            line(r#"{"type":"tool_use","name":"Bash","input":{}}"#)
        );
        let (entry, skipped) = apply(&text);
        assert_eq!(skipped, 0);
        assert_eq!(entry.meta.assistant_messages, 1);
        assert_eq!(entry.meta.tokens.input, 100);
        assert_eq!(entry.meta.tokens.cache_read, 5);
        assert_eq!(entry.meta.tool_count("Bash"), 1);
        assert_eq!(entry.meta.models, vec!["claude-opus-4-8".to_owned()]);
    }

    #[test]
    fn cost_state_and_titles_of_2_1_330() {
        let (entry, skipped) = apply(concat!(
            r#"{"type":"ai-title","aiTitle":"made up","sessionId":"s"}"#,
            "\n",
            r#"{"type":"cost-state","sessionId":"s","totalCostUSD":0.05,"modelUsage":{}}"#,
            "\n",
            r#"{"type":"cost-state","sessionId":"s","totalCostUSD":0.150872,"modelUsage":{}}"#,
            "\n",
        ));
        assert_eq!(skipped, 0);
        assert_eq!(entry.meta.title, "made up");
        assert_eq!(entry.meta.cli_cost_usd, Some(0.150872));
        assert!(!entry.meta.cost_is_estimate());
        // A custom title wins over any later made-up one.
        let (entry, _) = apply(concat!(
            r#"{"type":"custom-title","customTitle":"mine"}"#,
            "\n",
            r#"{"type":"agent-name","agentName":"bg name"}"#,
            "\n",
        ));
        assert_eq!(entry.meta.title, "mine");
        assert!(entry.meta.cost_is_estimate());
    }

    #[test]
    fn bulky_kinds_are_skipped_by_their_first_bytes() {
        for kind in IGNORED_KINDS {
            let line = format!(r#"{{"type":"{kind}","shape":{{"system":"x"}}}}"#);
            assert!(is_skipped_kind(line.as_bytes()), "{kind}");
        }
        assert!(!is_skipped_kind(br#"{"type":"api-request-shapes"}"#));
        assert!(!is_skipped_kind(
            br#"{"type":"cost-state","totalCostUSD":1}"#
        ));
        assert!(!is_skipped_kind(br#"{"type":"user"}"#));
        // Another key order is parsed and ignored, not mistaken for anything.
        let (entry, skipped) = apply(r#"{"sessionId":"s","type":"api-request","params":{}}"#);
        assert_eq!(skipped, 0);
        assert_eq!(entry.meta.user_messages, 0);
        // A whole real file: the index's figures.
        let text = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(
            "../tests/fixtures/claude-code/2.1.330/sessions/01_session_after_first_run.jsonl",
        ))
        .expect("fixture");
        let (entry, skipped) = apply(&text);
        assert_eq!(skipped, 0);
        assert_eq!(entry.meta.cli_cost_usd, Some(0.0501));
        assert_eq!(entry.meta.first_prompt, "say hi");
        assert_eq!(entry.meta.tokens.input, 12465);
    }

    #[test]
    fn malformed_lines_are_counted_not_fatal() {
        let (entry, skipped) = apply(
            "\"massive error\"\n42\n[1]\n{\"silly\":\"this\"}\nnot json\n{\"type\":\"user\",\"message\":\"error\"}\n{\"type\":\"summary\",\"summary\":\"S\"}\n",
        );
        assert_eq!(skipped, 6);
        assert_eq!(entry.meta.title, "S");
        let mut entry = Entry::default();
        assert_eq!(
            apply_line(&mut entry, b"{\"type\":\"user\",\"x\":\"\xff\"}"),
            Err(Skip::Malformed),
            "invalid UTF-8"
        );
    }
}
