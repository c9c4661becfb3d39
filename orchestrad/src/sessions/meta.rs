//! What the index keeps per session file: the derived metadata and the read cursor.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Token counts; each assistant message id is counted once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tokens {
    /// Input tokens not served from the cache.
    pub input: u64,
    /// Output tokens.
    pub output: u64,
    /// Input tokens read from the prompt cache.
    pub cache_read: u64,
    /// Input tokens written to the prompt cache.
    pub cache_creation: u64,
}

impl Tokens {
    /// Adds `other` into `self`.
    pub fn add(&mut self, other: &Tokens) {
        self.input += other.input;
        self.output += other.output;
        self.cache_read += other.cache_read;
        self.cache_creation += other.cache_creation;
    }
}

/// What one session used on one local day with one model (user prompts count under the
/// model `""`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DayUsage {
    /// The local day, `YYYY-MM-DD`.
    pub day: String,
    /// The model; empty for the user's prompts.
    pub model: String,
    /// Messages: prompts typed, or assistant messages (each id once).
    pub messages: u64,
    /// Tokens.
    pub tokens: Tokens,
    /// Estimated cost in USD at the model's list price.
    pub estimated_cost_usd: f64,
}

impl SessionMeta {
    /// The bucket of `day` and `model`, made if new (a sorted vector: a few per session).
    pub fn day_usage(&mut self, day: String, model: &str) -> &mut DayUsage {
        let index = match self
            .days
            .binary_search_by(|d| (d.day.as_str(), d.model.as_str()).cmp(&(day.as_str(), model)))
        {
            Ok(index) => index,
            Err(index) => {
                self.days.insert(
                    index,
                    DayUsage {
                        day,
                        model: model.to_owned(),
                        ..DayUsage::default()
                    },
                );
                index
            }
        };
        &mut self.days[index]
    }
}

/// Metadata derived from one session file, correct for the real CLI's files and for the
/// older shape.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionMeta {
    /// The session id: the file name without `.jsonl` (not stored: the key says it).
    #[serde(skip)]
    pub session_id: String,
    /// The working directory, from the `cwd` of the lines (never decoded from the dir name).
    pub project_path: String,
    /// Name of the directory under the projects dir (not stored: the key says it).
    #[serde(skip)]
    pub project_dir: String,
    /// The session file (not stored: it is the key).
    #[serde(skip)]
    pub file_path: PathBuf,
    /// Branch named by the latest line that named one.
    pub git_branch: String,
    /// First prompt in the user's own words.
    pub first_prompt: String,
    /// Latest prompt in the user's own words.
    pub last_prompt: String,
    /// Prompts typed by the user.
    pub user_messages: u64,
    /// Assistant messages, each message id once.
    pub assistant_messages: u64,
    /// Tool calls by tool name, sorted by name. A vector, not a map: a few entries per
    /// session, and a map's node costs hundreds of bytes in each of thousands of sessions.
    pub tool_calls: Vec<(String, u64)>,
    /// Tokens used (sub-agents included: they cost money too).
    pub tokens: Tokens,
    /// Estimated cost in USD, summed per message at that message's model's price.
    pub estimated_cost_usd: f64,
    /// The CLI's own total (`totalCostUSD` of the last `cost-state` line, 2.1.330 on);
    /// `None` for files without one.
    pub cli_cost_usd: Option<f64>,
    /// The title came from a `custom-title` line, which an `ai-title` must not replace.
    pub has_custom_title: bool,
    /// Models that answered, in order of first use.
    pub models: Vec<String>,
    /// CLI version of the latest line.
    pub cli_version: String,
    /// First line's timestamp, ms since the epoch; 0 if none.
    pub started_at_ms: i64,
    /// Latest line's timestamp (else the file mtime), ms since the epoch.
    pub modified_at_ms: i64,
    /// File size in bytes.
    pub file_size: u64,
    /// Lines from sub-agents.
    pub sidechain_lines: u64,
    /// Title or summary, where the file has one.
    pub title: String,
    /// Lines that could not be parsed.
    pub skipped_lines: u64,
    /// Usage by local day and model, each line counted on its own timestamp's day (as
    /// ccusage does), for `analytics --by day|model`. Kept last of the stored fields: an
    /// index written before it does not decode, and its files are read again.
    pub days: Vec<DayUsage>,
    /// A Claude process is writing the session now (not persisted: recomputed).
    #[serde(skip)]
    pub live: bool,
    /// Pid of that process.
    #[serde(skip)]
    pub live_pid: u32,
    /// The orchestra agent that owns the session, if any.
    #[serde(skip)]
    pub agent_id: String,
    /// What the live process's registration says it is doing (`busy`, `idle`, or what the
    /// CLI writes), passed through; empty when not live or not told.
    #[serde(skip)]
    pub live_status: String,
    /// The kind of live process (`interactive`, `bg`), as registered.
    #[serde(skip)]
    pub live_kind: String,
    /// The session's name, from its registration or its background job.
    #[serde(skip)]
    pub name: String,
    /// Claude Code's own background job running this session, if any.
    #[serde(skip)]
    pub job: Option<super::jobs::Job>,
}

impl SessionMeta {
    /// The cost to show: the CLI's own figure when the file has one, else the estimate.
    pub fn cost_usd(&self) -> f64 {
        self.cli_cost_usd.unwrap_or(self.estimated_cost_usd)
    }

    /// Whether [`SessionMeta::cost_usd`] is an estimate from tokens.
    pub fn cost_is_estimate(&self) -> bool {
        self.cli_cost_usd.is_none()
    }

    /// Counts one call of tool `name`.
    pub fn count_tool(&mut self, name: &str) {
        match self
            .tool_calls
            .binary_search_by(|(n, _)| n.as_str().cmp(name))
        {
            Ok(index) => self.tool_calls[index].1 += 1,
            Err(index) => self.tool_calls.insert(index, (name.to_owned(), 1)),
        }
    }

    /// Calls of tool `name` so far.
    pub fn tool_count(&self, name: &str) -> u64 {
        self.tool_calls
            .iter()
            .find(|(n, _)| n == name)
            .map_or(0, |(_, count)| *count)
    }
}

/// Where reading of a file stopped, so the next read starts there.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// Bytes consumed: every complete line before this offset has been applied.
    pub offset: u64,
    /// File size when last read.
    pub size: u64,
    /// File mtime when last read, ns since the epoch.
    pub mtime_ns: i128,
    /// Inode when last read: a different one means the file was replaced.
    pub inode: u64,
    /// Message id of the latest assistant line, so a message split over several lines
    /// is counted once.
    pub last_message_id: String,
    /// The line at `offset` is over the size limit and is being skipped to its end.
    pub skipping_oversized: bool,
}

/// One indexed file: its metadata and its cursor, as persisted in the store.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The derived metadata.
    pub meta: SessionMeta,
    /// The read position.
    pub cursor: Cursor,
}
