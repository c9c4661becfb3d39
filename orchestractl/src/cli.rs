//! Every argument of orchestractl, declared with clap derive.

use std::path::PathBuf;

use clap::{Args, CommandFactory as _, FromArgMatches as _, Parser, Subcommand};

mod hosts;
pub use hosts::{HostsAddArgs, HostsArg, HostsCheckArgs, HostsCommand, HostsRemoveArgs};

const EXAMPLES: &str = "\
Examples:
  orchestractl spawn \"build auth API\" \"write tests\" --parallel 2
  orchestractl status --watch        # this repository's agents, live (--all: every repository's)
  orchestractl logs 3f2a -f          # follow one agent's transcript
  orchestractl collect --wait        # results, costs and branches once all are done
  orchestractl forget 3f2a 9c01      # drop finished agents from status and collect
  orchestractl sessions              # sessions of the last 24 hours, busy ones first
  orchestractl sessions --all --project api --json
  orchestractl show 7ab9             # one session (any unique id prefix works)
  orchestractl search \"rate limit\"   # search prompts and answers
  orchestractl watch --json          # live session events as JSON lines
  orchestractl resume 7ab9 \"now add tests\"
  orchestractl status --hosts all    # agents of this machine and of every `orchestractl hosts` one
  orchestractl --host box approve 3f2a  # any command, against another machine's daemon
  orchestractl daemon status         # starts the daemon if needed, then reports on it
  orchestractl daemon status --json  # the same as JSON, for scripts
  orchestractl config show           # the config file, and whether the daemon runs with it
  orchestractl service install       # run orchestrad as a systemd/launchd user service
  orchestractl completions bash > ~/.local/share/bash-completion/completions/orchestractl";

/// The command line of this process, parsed; exits with usage on a bad one.
pub fn parse() -> Cli {
    let matches = command().get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|err| err.exit())
}

/// The clap command, with help that names the socket this machine really uses (an unset
/// `$XDG_RUNTIME_DIR` moves it, so a fixed text would send people to the wrong place).
pub fn command() -> clap::Command {
    let socket = orchestra_proto::paths::default_socket();
    Cli::command().mut_arg("socket", |arg| {
        arg.help(format!(
            "Socket of orchestrad [default: {}]",
            socket.display()
        ))
    })
}

/// Run Claude Code agents in parallel and find every Claude Code session, from a terminal.
#[derive(Debug, Parser)]
#[command(name = "orchestractl", version, after_help = EXAMPLES, propagate_version = true)]
pub struct Cli {
    /// Socket of orchestrad [default: see `orchestractl --help`, which prints the real path]
    #[arg(long, global = true, env = "ORCHESTRA_SOCKET", value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// Print machine-readable JSON instead of tables
    #[arg(long, global = true)]
    pub json: bool,
    /// Fail instead of starting orchestrad when it is not running
    #[arg(long, global = true)]
    pub no_autostart: bool,
    /// Run the command against the daemon of this host (see `orchestractl hosts list`)
    #[arg(long, global = true, value_name = "NAME")]
    pub host: Option<String>,
    /// The command to run
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run Claude Code agents in parallel, each in its own git worktree
    Spawn(SpawnArgs),
    /// Show agents: state, activity, cost
    Status(StatusArgs),
    /// Show an agent's transcript (or its raw stream-json with --raw)
    Logs(LogsArgs),
    /// Send a follow-up message to an agent
    Send(SendArgs),
    /// Stop an agent (or all)
    Stop(StopArgs),
    /// Results of the agents: state, result, cost, duration, branch changes
    Collect(CollectArgs),
    /// List the agent worktrees of a repository
    Worktrees(RepoArgs),
    /// Remove worktrees of finished agents
    Cleanup(CleanupArgs),
    /// Commit an agent's work, push its branch and open a pull request
    Pr(PrArgs),
    /// Merge the branches of a batch (or of named agents) into one integration branch
    Merge(MergeArgs),
    /// An agent's change against the commit it started from, committed and uncommitted
    Diff(DiffArgs),
    /// Comment on lines of an agent's change, send the comments back, or approve it
    Review(ReviewArgs),
    /// One document for a batch: tasks, states, results, costs, changes, merge status
    Report(ReportArgs),
    /// Forget finished agents: they leave `status` and `collect` (worktrees stay)
    Forget(ForgetArgs),
    /// Prepare a repository for agents
    Init(RepoArgs),
    /// Serve the web dashboard (loopback only, or --lan with device pairing)
    Web(WebArgs),
    /// List Claude Code sessions (last 24 hours unless --hours or --all)
    Sessions(SessionsArgs),
    /// Show one session in detail
    Show(ShowArgs),
    /// Search prompts and assistant text of all sessions
    Search(SearchArgs),
    /// Export a session's conversation as Markdown
    Export(ExportArgs),
    /// Sessions, messages, tokens and cost (the CLI's own where known) per project and per day
    Analytics(AnalyticsArgs),
    /// Storage used, stale and orphaned sessions, parse errors
    Health,
    /// Stream session changes as they happen (JSON lines with --json)
    Watch(WatchArgs),
    /// Continue a session with `claude --resume`, run by the daemon
    Resume(ResumeArgs),
    /// Start, stop or inspect the daemon
    #[command(subcommand)]
    Daemon(DaemonCommand),
    /// Show the configuration and where it lives
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Print a shell completion script
    Completions(CompletionsArgs),
    /// Install orchestrad as a user service (systemd on Linux, launchd on macOS)
    #[command(subcommand)]
    Service(ServiceCommand),
    /// List tool calls waiting for your answer (agents and hand-started sessions)
    Approvals(ApprovalsArgs),
    /// Allow a pending tool call (once, or always with --always)
    Approve(ApproveArgs),
    /// Deny a pending tool call; the model sees the message
    Deny(DenyArgs),
    /// Answer an agent's question (asked with its ask_human tool)
    Answer(AnswerArgs),
    /// The messages agents sent each other (and yours, from `send`)
    Messages(MessagesArgs),
    /// The `orchestra` MCP server: add it to hand-started sessions, or serve as its bridge
    #[command(subcommand)]
    Mcp(McpCommand),
    /// Route hand-started Claude Code sessions' permission prompts through orchestrad
    #[command(subcommand)]
    Hooks(HooksCommand),
    /// Notification channels: send a test, list channels and recent deliveries
    #[command(subcommand)]
    Notify(NotifyCommand),
    /// Entry points for Claude Code hooks (run by Claude Code, not by hand)
    #[command(subcommand)]
    Hook(HookCommand),
    /// Other machines' daemons, reached over ssh or a command: add, list, check, remove
    #[command(subcommand)]
    Hosts(HostsCommand),
    /// Speak the daemon's gRPC on stdin/stdout (what `ssh HOST orchestractl proxy` runs)
    #[command(
        after_help = "Run by `orchestractl --host NAME ...` on the other machine, not by hand:\n  ssh -T me@box orchestractl proxy\nIt starts orchestrad there when it is not running (unless --no-autostart)."
    )]
    Proxy,
}

/// `orchestractl approvals`
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  orchestractl approvals                 # pending, oldest first\n  orchestractl approvals --watch         # new requests and answers as they happen\n  orchestractl approvals --all --json    # answered ones too, as JSON\n  orchestractl approve 3f2a              # any unique id prefix works\n  orchestractl deny 3f2a --message \"use the staging database instead\""
)]
pub struct ApprovalsArgs {
    /// Answered, cancelled and expired approvals too
    #[arg(long)]
    pub all: bool,
    /// Keep printing approvals as they are asked and answered (JSON lines with --json)
    #[arg(long)]
    pub watch: bool,
    /// Ask other hosts too and merge the answers
    #[command(flatten)]
    pub hosts: HostsArg,
}

/// `orchestractl approve`
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  orchestractl approve 3f2a\n  orchestractl approve 3f2a --always   # also apply Claude Code's suggested rule, so it is not asked again\n  orchestractl approve 9b1c --raise 1  # a budget approval: raise the cap by $1 and go on\n\nA budget approval (an agent paused at its, its batch's or the day's cap) is let go on by\n`approve`, which raises that cap by --raise X dollars (by default, by the cap's own amount\nagain) and resumes the agent where it stopped; `deny` stops it. --raise on a tool call's\napproval is refused, as are negative, zero, non-numeric, inf and NaN raises."
)]
pub struct ApproveArgs {
    /// Approval id, or any unique prefix
    pub id: String,
    /// Also apply the request's permission suggestions (for example a rule allowing this
    /// command), so that the same call is not asked again
    #[arg(long, conflicts_with = "raise")]
    pub always: bool,
    /// For a budget approval: raise the cap by X US dollars [default: the cap's amount again]
    #[arg(long, value_name = "X", value_parser = raise_usd, allow_negative_numbers = true)]
    pub raise: Option<f64>,
}

/// A cap in US dollars: a finite number, 0 or more.
fn usd(text: &str) -> Result<f64, String> {
    dollars(text, "a cap", "0 or more (0 for none), like 2.50")
}

/// A raise in US dollars: a finite number above 0.
fn raise_usd(text: &str) -> Result<f64, String> {
    match dollars(text, "a raise", "above 0, like 1.50")? {
        0.0 => Err(
            "a raise of 0 lets nothing more be spent: give a number of US dollars above 0, like 1"
                .to_owned(),
        ),
        value => Ok(value),
    }
}

/// A finite, non-negative number of US dollars; errors name `what` it was to be and the
/// numbers `wanted`.
fn dollars(text: &str, what: &str, wanted: &str) -> Result<f64, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number of US dollars: give {what}, {wanted}"))?;
    if !value.is_finite() || value < 0.0 {
        return Err(format!(
            "{text:?} is not {what}: give a number of US dollars {wanted}"
        ));
    }
    Ok(value)
}

/// `orchestractl deny`
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  orchestractl deny 3f2a\n  orchestractl deny 3f2a --message \"do not delete build/, run make clean\""
)]
pub struct DenyArgs {
    /// Approval id, or any unique prefix
    pub id: String,
    /// What the model is told [default: that the user denied it]
    #[arg(long, value_name = "TEXT")]
    pub message: Option<String>,
}

/// `orchestractl answer`
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  orchestractl approvals             # questions show as kind \"question\" with their choices\n  orchestractl answer 3f2a \"use postgres\"\n  orchestractl deny 3f2a --message \"decide yourself\"   # decline to answer"
)]
pub struct AnswerArgs {
    /// Question id (from `orchestractl approvals`), or any unique prefix
    pub id: String,
    /// The answer; the agent's ask_human call returns it
    pub text: String,
}

/// `orchestractl messages`
#[derive(Debug, Args)]
#[command(
    after_help = "Each message: {id, from, to, text, at, delivered_at} (times in ms since the epoch;\ndelivered_at is null while the message waits for its recipient to run again).\n\nExamples:\n  orchestractl messages                 # every message, oldest first\n  orchestractl messages 3f2a            # to or from one agent\n  orchestractl messages --batch 9c01 --watch\n  orchestractl messages --json"
)]
pub struct MessagesArgs {
    /// Agent id or unique prefix: messages to or from it
    #[arg(conflicts_with = "batch")]
    pub agent: Option<String>,
    /// Batch id or unique prefix: the messages within one batch
    #[arg(long, value_name = "B")]
    pub batch: Option<String>,
    /// Keep printing messages as they are sent and delivered
    #[arg(long)]
    pub watch: bool,
}

/// `orchestractl mcp ...`
#[derive(Debug, Subcommand)]
#[command(
    after_help = "Agents that orchestrad runs get the server by themselves. For sessions you start by hand:\n  orchestractl mcp install     # adds \"orchestra\" to ~/.claude.json and allows its tools\n  orchestractl mcp uninstall"
)]
pub enum McpCommand {
    /// Add the `orchestra` server to Claude Code's user config and allow its tools
    Install,
    /// Remove the `orchestra` server and its allow rule again
    Uninstall,
    /// Serve MCP on stdin/stdout for Claude Code (run by Claude Code, not by hand)
    Serve,
}

/// `orchestractl hooks ...`
#[derive(Debug, Subcommand)]
pub enum HooksCommand {
    /// Add our PermissionRequest and Notification hooks to Claude Code's settings.json (merged, with a backup)
    Install,
    /// Remove our hooks again, leaving the rest of settings.json untouched
    Uninstall,
    /// Show whether the hook is installed and where
    Status,
}

/// `orchestractl notify ...`
#[derive(Debug, Subcommand)]
#[command(
    after_help = "Channels are set in config.json under \"notifications\", e.g.\n  \"notifications\": [\n    {\"kind\": \"ntfy\", \"url\": \"https://ntfy.sh/my-topic\"},\n    {\"kind\": \"webhook\", \"url\": \"http://127.0.0.1:9000/hook\", \"events\": [\"agent_failed\", \"batch_done\"]},\n    {\"kind\": \"desktop\"}\n  ]\nthen `orchestractl daemon restart`. Paired phones add their own webpush channel: open the\ndashboard (`orchestractl web --lan`) on the phone and tap \"Notify me\".\n\nExamples:\n  orchestractl notify test                 # every channel; prints each one's answer\n  orchestractl notify test --channel ntfy\n  orchestractl notify list --json"
)]
pub enum NotifyCommand {
    /// Send a notification of event `test` through each channel and print what each answered
    Test(NotifyTestArgs),
    /// Show the channels, their counters and the recent deliveries
    List,
}

/// `orchestractl notify test`
#[derive(Debug, Args)]
pub struct NotifyTestArgs {
    /// Only channels of this kind: webhook, ntfy, desktop or webpush (paired phones)
    #[arg(long, value_name = "KIND")]
    pub channel: Option<String>,
}

/// `orchestractl hook ...`
#[derive(Debug, Subcommand)]
pub enum HookCommand {
    /// Read a PermissionRequest hook's input on stdin, ask orchestrad, wait for an answer
    /// and print the hook's decision. Without a daemon or an answer in time it prints
    /// nothing, and Claude Code asks in its own way.
    PermissionRequest,
    /// Forward Claude Code's `Notification` hook input (stdin) to orchestrad
    ///
    /// orchestrad then tells the user the session waits for them (event `session_waiting`).
    /// It never starts orchestrad and always exits 0. `orchestractl hooks install` adds it
    /// to ~/.claude/settings.json.
    Notification,
}

/// `orchestractl daemon ...`
#[derive(Debug, Subcommand)]
pub enum DaemonCommand {
    /// Start orchestrad in the background (does nothing if it is running)
    Start,
    /// Stop orchestrad; running agents keep running and are re-adopted on the next start
    Stop,
    /// Show version, pid, uptime and counts (starts orchestrad if needed)
    Status,
    /// Stop orchestrad, then start it again
    Restart,
    /// Read the store and the agents' directories and report where they do not agree
    /// (exit 1 when they do not)
    #[command(
        after_help = "Examples:\n  orchestractl daemon check\n  orchestractl daemon check --json"
    )]
    Check,
}

/// `orchestractl config ...`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the config file as it is now, and whether the running daemon still runs with other settings
    Show,
    /// Print the path of the config file
    Path,
}

/// `orchestractl completions <shell>`
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write completions for
    pub shell: clap_complete::Shell,
}

/// `orchestractl service ...`
#[derive(Debug, Subcommand)]
pub enum ServiceCommand {
    /// Write the unit (or plist) for this user and enable it
    Install,
    /// Disable the service and remove its unit (or plist)
    Uninstall,
    /// Show whether the service is installed and running
    Status,
}

/// `orchestractl sessions`
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  orchestractl sessions\n  orchestractl sessions --hours 2 --live\n  orchestractl sessions --all --project myrepo --sort cost --json"
)]
pub struct SessionsArgs {
    /// Only sessions modified in the last H hours [default: 24]
    #[arg(
        long,
        value_name = "H",
        conflicts_with = "all",
        allow_negative_numbers = true
    )]
    pub hours: Option<f64>,
    /// Every session, however old
    #[arg(long)]
    pub all: bool,
    /// Only sessions whose project path contains P
    #[arg(long, value_name = "P")]
    pub project: Option<String>,
    /// Only sessions a Claude process is writing now
    #[arg(long)]
    pub live: bool,
    /// Order by: modified, started, cost, messages, size
    #[arg(long, default_value = "modified")]
    pub sort: String,
    /// Show at most N sessions
    #[arg(long, value_name = "N")]
    pub limit: Option<u32>,
    /// Ask other hosts too and merge the answers
    #[command(flatten)]
    pub hosts: HostsArg,
}

/// `orchestractl show`
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Session id or unique prefix; an agent id stands for that agent's session
    pub id: String,
}

/// `orchestractl search`
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  orchestractl search \"rate limit\"\n  orchestractl search migration --hours 48 --json"
)]
pub struct SearchArgs {
    /// Text to find (case-insensitive)
    pub query: String,
    /// Only sessions modified in the last H hours
    #[arg(long, value_name = "H", allow_negative_numbers = true)]
    pub hours: Option<f64>,
    /// At most N hits
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub limit: u32,
    /// Ask other hosts too and merge the answers
    #[command(flatten)]
    pub hosts: HostsArg,
}

/// `orchestractl export`
#[derive(Debug, Args)]
#[command(
    override_usage = "orchestractl export <ID> [-o FILE]\n       orchestractl export --last [-o FILE]",
    after_help = "Examples:\n  orchestractl export 7ab9 -o session.md\n  orchestractl export --last"
)]
pub struct ExportArgs {
    /// Session id or unique prefix; an agent id stands for that agent's session
    #[arg(required_unless_present = "last", conflicts_with = "last")]
    pub id: Option<String>,
    /// Export the most recently modified session
    #[arg(long)]
    pub last: bool,
    /// Write to FILE instead of stdout
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `orchestractl analytics`
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  orchestractl analytics                        # per project and per day, as before\n  orchestractl analytics --by day --since 7d    # spend per local day, like ccusage daily\n  orchestractl analytics --by agent --json      # {\"rows\": [...], \"total\": {...}}\n  orchestractl analytics --by batch --since 2026-11-03\n\nWith --by, each usage line counts on its own timestamp's local day (TZ), as ccusage\ncounts it; agents and batches carry their CLI's own figures, and sessions started by hand\nare the row \"(by hand)\". --since counts whole local days; --hours does not go with --by."
)]
pub struct AnalyticsArgs {
    /// Only sessions modified in the last H hours [default: all]
    #[arg(long, value_name = "H", allow_negative_numbers = true, conflicts_with_all = ["by", "since"])]
    pub hours: Option<f64>,
    /// Group by project, day (local time), agent, batch or model; --json then gives
    /// {"rows": [...], "total": {...}}
    #[arg(long, value_name = "WHAT", value_parser = ["project", "day", "agent", "batch", "model"])]
    pub by: Option<String>,
    /// With --by: from this local day on: 24h, 7d (whole days back from now) or a date
    /// like 2026-11-03 [default: all]
    #[arg(long, value_name = "WHEN", requires = "by")]
    pub since: Option<String>,
}

/// `orchestractl watch`
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Start with every indexed session as a snapshot event
    #[arg(long)]
    pub snapshot: bool,
}

/// `orchestractl resume`
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  orchestractl resume 7ab9\n  orchestractl resume 7ab9 \"now write the tests\""
)]
pub struct ResumeArgs {
    /// Session id or unique prefix; an agent id stands for that agent's session
    pub id: String,
    /// What to say [default: \"Continue from where you left off.\"]
    pub prompt: Option<String>,
    /// Resume even while a Claude process is writing the session
    #[arg(long)]
    pub force: bool,
    /// Refused: a resumed session has no cap of its own; it runs under
    /// default_max_budget_usd and daily_max_budget_usd from the config (give a task its own
    /// cap with `spawn --max-budget-usd`)
    #[arg(long, value_name = "X", allow_negative_numbers = true)]
    pub max_budget_usd: Option<String>,
}

/// `orchestractl spawn`
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  orchestractl spawn \"build auth API\" \"write tests\" \"optimize queries\"\n  orchestractl spawn --parallel 2 --base develop \"fix the flaky test\"\n  orchestractl spawn --no-worktree --model sonnet \"summarize this repo\"\n\nEach task gets a worktree <repo>/.worktrees/task-<slug> on a new branch orchestra/<slug>.\nTasks beyond --parallel are queued and start as others finish; none is dropped.\n\nBudgets: --max-budget-usd caps each agent, --batch-max-budget-usd the spawn's agents\ntogether, and daily_max_budget_usd in the config all agents of a (local) day. At a cap an\nagent pauses (its session kept) and shows `waiting` with a budget approval:\n  orchestractl approve ID --raise 2   # raise the cap by $2 and go on where it stopped\n  orchestractl deny ID                # stop it (stop_reason \"budget\")\nA cap must be a number of dollars, 0 or more (0: none); negative, non-numeric, inf and\nNaN are refused. A resumed session (`orchestractl resume`) has no cap of its own; the\ndaily cap covers it.\n  orchestractl spawn --max-budget-usd 0.50 --batch-max-budget-usd 2 \"task a\" \"task b\""
)]
pub struct SpawnArgs {
    /// The tasks, one agent each
    #[arg(required = true, value_name = "TASK")]
    pub tasks: Vec<String>,
    /// Repository to work on [default: the current directory]
    #[arg(long, value_name = "PATH")]
    pub repo: Option<PathBuf>,
    /// How many of these run at once, 1 or more [default: default_parallel from the config]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..), allow_negative_numbers = true)]
    pub parallel: Option<u32>,
    /// Run in the repository itself instead of a worktree per agent
    #[arg(long)]
    pub no_worktree: bool,
    /// Branch from this ref [default: HEAD]
    #[arg(long, value_name = "REF")]
    pub base: Option<String>,
    /// Model for Claude Code
    #[arg(long, value_name = "M")]
    pub model: Option<String>,
    /// Permission mode: acceptEdits, auto, bypassPermissions, default, dontAsk, plan
    #[arg(long, value_name = "MODE")]
    pub permission_mode: Option<String>,
    /// Tool pattern allowed without asking (repeatable) [default: bypass_permissions from the config]
    #[arg(long = "allowed-tools", value_name = "PATTERN")]
    pub allowed_tools: Vec<String>,
    /// Spending cap per agent in USD [default: default_max_budget_usd from the config]; at
    /// the cap the agent pauses and asks (a "budget" approval) instead of failing
    #[arg(long, value_name = "X", value_parser = usd, allow_negative_numbers = true)]
    pub max_budget_usd: Option<f64>,
    /// Spending cap of all the agents of this spawn together, in USD; at the cap they pause
    /// and ask, and its queued tasks wait
    #[arg(long, value_name = "X", value_parser = usd, allow_negative_numbers = true)]
    pub batch_max_budget_usd: Option<f64>,
    /// Start these tasks once AGENT is done, from its branch, with its result as context
    #[arg(long, value_name = "AGENT")]
    pub after: Option<String>,
    /// Do not tell the agents of this batch about each other's tasks and branches
    #[arg(long)]
    pub no_siblings: bool,
    /// Run the agents' shell commands in Claude Code's sandbox: writes only inside the
    /// worktree, no network (needs bubblewrap and socat on Linux; refused where it cannot run)
    #[arg(long)]
    pub sandbox: bool,
}

/// `orchestractl status`
#[derive(Debug, Args)]
#[command(
    after_help = "Inside a git repository, status shows that repository's agents; elsewhere it shows\nevery agent with a REPO column. --all shows every agent from anywhere.\n\nExamples:\n  orchestractl status\n  orchestractl status --watch\n  orchestractl status --all --json"
)]
pub struct StatusArgs {
    /// Keep the table up to date (JSON lines of events with --json)
    #[arg(long)]
    pub watch: bool,
    /// Only agents of the repository containing this directory [default: the current one]
    #[arg(long, value_name = "PATH", conflicts_with = "all")]
    pub repo: Option<PathBuf>,
    /// Every agent of every repository
    #[arg(long)]
    pub all: bool,
    /// Ask other hosts too and merge the answers
    #[command(flatten)]
    pub hosts: HostsArg,
}

/// `orchestractl logs`
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Agent id, or any unique prefix
    pub agent: String,
    /// Keep printing new output until the agent finishes
    #[arg(short, long)]
    pub follow: bool,
    /// Print the stream-json lines as Claude Code wrote them (without the messages sent to it)
    #[arg(long)]
    pub raw: bool,
    /// Print the transcript events the daemon read (what the dashboard renders), as JSON lines
    #[arg(long, conflicts_with = "raw")]
    pub events: bool,
}

/// `orchestractl send`
#[derive(Debug, Args)]
pub struct SendArgs {
    /// Agent id, or any unique prefix
    pub agent: String,
    /// The message
    pub message: String,
}

/// `orchestractl stop`
#[derive(Debug, Args)]
pub struct StopArgs {
    /// Agent id, or any unique prefix
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub agent: Option<String>,
    /// Stop every queued or running agent
    #[arg(long)]
    pub all: bool,
}

/// `orchestractl collect`
#[derive(Debug, Args)]
#[command(
    after_help = "Inside a git repository, collect (and --wait) is about that repository's agents;\nelsewhere, or with --all, about every agent."
)]
pub struct CollectArgs {
    /// Wait until none of these agents is queued or running
    #[arg(long)]
    pub wait: bool,
    /// Only agents of the repository containing this directory [default: the current one]
    #[arg(long, value_name = "PATH", conflicts_with = "all")]
    pub repo: Option<PathBuf>,
    /// Every agent of every repository
    #[arg(long)]
    pub all: bool,
}

/// `orchestractl forget`
#[derive(Debug, Args)]
#[command(
    after_help = "Forgets finished agents: their records and logs go, their worktrees and branches\nstay (`orchestractl cleanup` removes those). A queued or running agent is refused:\nstop it first.\n\nExamples:\n  orchestractl forget 3f2a 9c01\n  orchestractl cleanup --all --forget   # remove worktrees and forget their agents"
)]
pub struct ForgetArgs {
    /// Agent ids, or unique prefixes
    #[arg(required = true, value_name = "AGENT")]
    pub agents: Vec<String>,
}

/// A repository argument.
#[derive(Debug, Args)]
pub struct RepoArgs {
    /// Repository [default: the current directory]
    #[arg(long, value_name = "PATH")]
    pub repo: Option<PathBuf>,
}

/// `orchestractl cleanup`
#[derive(Debug, Args)]
#[command(
    after_help = "Removes worktrees of finished agents whose branch is merged into HEAD.\n--all also removes unmerged ones (keeping their branches unless --force).\nA running agent's worktree is never touched."
)]
pub struct CleanupArgs {
    /// Repository [default: the current directory]
    #[arg(long, value_name = "PATH")]
    pub repo: Option<PathBuf>,
    /// Also finished agents whose branch is not merged
    #[arg(long)]
    pub all: bool,
    /// Only show what would be removed
    #[arg(long)]
    pub dry_run: bool,
    /// Also delete unmerged branches and discard uncommitted changes
    #[arg(long)]
    pub force: bool,
    /// Also forget the agents whose worktrees were removed (see `orchestractl forget`)
    #[arg(long)]
    pub forget: bool,
}

/// `orchestractl pr`
#[derive(Debug, Args)]
#[command(
    override_usage = "orchestractl pr <AGENT>\n       orchestractl pr --integration <BRANCH> [--repo PATH]",
    after_help = "Examples:\n  orchestractl pr 3f2a                                   # one agent's branch\n  orchestractl pr --integration orchestra/integrate-9c1d  # a merged batch, the report as body"
)]
pub struct PrArgs {
    /// Agent id, or any unique prefix
    #[arg(
        required_unless_present = "integration",
        conflicts_with = "integration"
    )]
    pub agent: Option<String>,
    /// Open the pull request of this integration branch (made by `orchestractl merge`)
    #[arg(long, value_name = "BRANCH")]
    pub integration: Option<String>,
    /// Repository of the integration branch [default: the current directory]
    #[arg(long, value_name = "PATH", requires = "integration")]
    pub repo: Option<PathBuf>,
    /// Open it even when the batch's verified merge ended red
    #[arg(long, requires = "integration")]
    pub force: bool,
}

/// `orchestractl merge`
#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "Examples:\n  orchestractl merge --dry-run           # which agents' work conflicts; changes nothing\n  orchestractl merge                     # the latest batch into orchestra/integrate-<batch>\n  orchestractl merge --batch 9c1d --into release/next\n  orchestractl merge 3f2a 7ab9           # these agents, in this order\n  orchestractl merge --verify ./check.sh --repair 1   # one green branch: check, blame, repair\n  orchestractl merge --verify 'cargo test -q' --no-wait && orchestractl merge status --watch\n\nEach agent's uncommitted work is first committed on its own branch (the task as message).\nThe branches are merged in their own worktree, never in your checkout; a branch that\nconflicts is left out whole and named with its paths. Only finished agents are merged.\n\nWith a check (--verify, or \"verify\" in <repo>/.orchestra.json, also \"verify_timeout_s\" and\n\"repair_rounds\"): the base is checked first (a red base blames no agent), the merged\nresult is checked in the integration worktree, and when it fails the agent whose branch\nbreaks it is found by bisection (about log2(N) checks). With --repair N it is sent the\nfailure (its session resumed), merged again and checked again, up to N rounds; a branch\nleft out by a conflict is sent back to rebase. The run is the daemon's: it goes on if\nthis command is stopped or the daemon restarts. States: merging, verifying, repairing,\ngreen, red, conflicted. Exit 0 when green (or merged without a check), 1 when red or\nconflicted, 2 when a plain merge left a branch out."
)]
pub struct MergeArgs {
    /// `status`: where verified merges are
    #[command(subcommand)]
    pub command: Option<MergeCommand>,
    /// Agents (ids or unique prefixes), merged in this order [default: the latest batch]
    #[arg(value_name = "AGENT", conflicts_with = "batch")]
    pub agents: Vec<String>,
    /// Merge the finished agents of this batch (id or unique prefix)
    #[arg(long, value_name = "ID")]
    pub batch: Option<String>,
    /// The integration branch [default: orchestra/integrate-<batch>]
    #[arg(long, value_name = "BRANCH")]
    pub into: Option<String>,
    /// Only show which agents' work conflicts (computed in memory; changes nothing)
    #[arg(long, conflicts_with_all = ["verify", "no_wait"])]
    pub dry_run: bool,
    /// Check the merged result with this command (`sh -c`, in the integration worktree)
    /// [default: "verify" in <repo>/.orchestra.json]
    #[arg(long, value_name = "CMD")]
    pub verify: Option<String>,
    /// Do not check, even when .orchestra.json names a check
    #[arg(long, conflicts_with = "verify")]
    pub no_verify: bool,
    /// Rounds of repair: send the culprit the failure, merge and check again
    /// [default: "repair_rounds" in .orchestra.json, else 0]
    #[arg(long, value_name = "N")]
    pub repair: Option<u32>,
    /// Seconds one check may take [default: "verify_timeout_s" in .orchestra.json, else 900]
    #[arg(long, value_name = "S", value_parser = clap::value_parser!(u64).range(1..))]
    pub verify_timeout: Option<u64>,
    /// Start the verified merge and return at once (follow it with `merge status`)
    #[arg(long)]
    pub no_wait: bool,
    /// Merge only agents whose change was approved (`orchestractl review ID --approve`);
    /// the rest are named as left out
    #[arg(long)]
    pub approved_only: bool,
    /// Repository [default: the current directory]
    #[arg(long, value_name = "PATH")]
    pub repo: Option<PathBuf>,
}

/// `orchestractl merge status`
#[derive(Debug, Subcommand)]
pub enum MergeCommand {
    /// Where the verified merges of this repository are (one batch's with BATCH)
    #[command(
        after_help = "Examples:\n  orchestractl merge status\n  orchestractl merge status 9c1d --watch\n  orchestractl merge status --json"
    )]
    Status {
        /// A batch (id or unique prefix) [default: every run, newest first]
        batch: Option<String>,
        /// Keep printing until the run ends
        #[arg(long)]
        watch: bool,
        /// Repository [default: the current directory]
        #[arg(long, value_name = "PATH")]
        repo: Option<PathBuf>,
    },
}

/// `orchestractl diff`
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  orchestractl diff 3f2a            # the change as a unified diff\n  orchestractl diff 3f2a --stat     # files and their +/- counts\n  orchestractl diff 3f2a --json     # files with their hunks and numbered lines\n\nNew files count; renamed and binary files are named as such. A long change is cut with a\nmarker (2,000 lines a file, 20,000 in all); the whole of it is `git diff` in the worktree."
)]
pub struct DiffArgs {
    /// Agent id, or any unique prefix
    pub agent: String,
    /// Only the files and their counts
    #[arg(long)]
    pub stat: bool,
}

/// `orchestractl review`
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  orchestractl review 3f2a --comment src/auth.rs:42 'check the expiry here too'\n  orchestractl review 3f2a --comment a.rs:3 'rename' --comment b.rs:9 'no unwrap' --send\n  orchestractl review 3f2a --approve\n  orchestractl merge --approved-only\n\nLines are numbered in the agent's version, as `orchestractl diff AGENT` shows them; a\ncomment on a line that is not in the change is refused. --send sends every open comment as\none follow-up (path:line, the quoted line, your words), resuming the agent's session.\nThe review shows in `status --json` as review: {state: none|commented|changes_requested|\napproved, comments: [{path, line, text, at, sent}]}."
)]
pub struct ReviewArgs {
    /// Agent id, or any unique prefix
    pub agent: String,
    /// A comment on one line: PATH:LINE and the text (repeatable)
    #[arg(long, num_args = 2, value_names = ["PATH:LINE", "TEXT"], action = clap::ArgAction::Append)]
    pub comment: Vec<String>,
    /// Send the open comments to the agent as one follow-up
    #[arg(long, conflicts_with = "approve")]
    pub send: bool,
    /// Approve the change (for `merge --approved-only`)
    #[arg(long)]
    pub approve: bool,
}

/// `orchestractl report`
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  orchestractl report                   # the latest batch of this repository\n  orchestractl report --batch 9c1d --markdown > pr.md\n  orchestractl report --json"
)]
pub struct ReportArgs {
    /// The batch (id or unique prefix) [default: the latest]
    #[arg(long, value_name = "ID")]
    pub batch: Option<String>,
    /// Print Markdown (the body of `orchestractl pr --integration`)
    #[arg(long)]
    pub markdown: bool,
    /// Repository [default: the current directory]
    #[arg(long, value_name = "PATH")]
    pub repo: Option<PathBuf>,
    /// Ask other hosts too and merge the answers
    #[command(flatten)]
    pub hosts: HostsArg,
}

/// `orchestractl web`
#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "Examples:\n  orchestractl web                  # http://127.0.0.1:8888/, this machine only\n  orchestractl web --lan            # all interfaces over HTTPS; prints a pairing link, QR code and fingerprint\n  orchestractl web cert             # the LAN certificate: fingerprint, validity, files\n  orchestractl web devices          # paired devices\n  orchestractl web revoke 3f2a      # unpair one"
)]
pub struct WebArgs {
    /// Manage paired devices instead of serving
    #[command(subcommand)]
    pub action: Option<WebAction>,
    /// Port [default: dashboard_port from the config]
    #[arg(long, value_name = "P")]
    pub port: Option<u16>,
    /// Listen on every interface (for your phone), over HTTPS; only paired devices get in
    #[arg(long)]
    pub lan: bool,
    /// With --lan: plain HTTP, not HTTPS. Anyone on the network can then read the pairing
    /// code and device cookies and act as your phone; phones also refuse notifications
    #[arg(long, requires = "lan")]
    pub insecure_http: bool,
    /// Open the dashboard in a browser, logged in with a one-time link
    #[arg(long)]
    pub open: bool,
    /// Repository the spawn form starts with [default: the current directory]
    #[arg(long, value_name = "PATH")]
    pub repo: Option<PathBuf>,
}

/// `orchestractl web devices|revoke`
#[derive(Debug, Subcommand)]
pub enum WebAction {
    /// Print a one-time login link for the running dashboard (valid 60 s, used once)
    #[command(
        after_help = "The dashboard answers only browsers that logged in (or paired). Open the link on this machine;\nit works once, within 60 seconds. Only you (the user of the daemon's socket) can make one.\n\nExamples:\n  orchestractl web link                  # the dashboard that is running\n  orchestractl web link --port 9000\n  orchestractl web link --json           # {\"url\": ..., \"expires_at\": ...}\n  xdg-open \"$(orchestractl web link)\""
    )]
    Link {
        /// The dashboard's port [default: the one dashboard running]
        #[arg(long, value_name = "P")]
        port: Option<u16>,
    },
    /// List the devices paired with the dashboard
    Devices,
    /// Unpair a device (its token stops working within seconds)
    Revoke {
        /// Device id, or any unique prefix
        id: String,
    },
    /// The LAN certificate: SHA-256 fingerprint, validity, names and files (made if missing)
    #[command(
        after_help = "Examples:\n  orchestractl web cert            # compare the fingerprint with what your phone shows\n  orchestractl web cert --renew    # a new certificate from this machine's CA (phones that trust the CA need nothing new)\n  orchestractl web cert --json\n\nTo use your own certificate (mkcert, `tailscale cert`), set tls_cert and tls_key in the config."
    )]
    Cert {
        /// Make a new certificate, signed by this machine's CA
        #[arg(long)]
        renew: bool,
    },
    /// A pairing code for the running LAN dashboard: a link and QR code for another phone
    #[command(
        after_help = "Pairs one more device while `orchestractl web --lan` runs (no restart). The code works once,\nwithin 10 minutes. The page's \"+ Device\" button shows the same.\n\nExamples:\n  orchestractl web pair                       # link + QR code to scan\n  orchestractl web pair --name \"Anna's phone\"  # the name the form suggests\n  orchestractl web pair --json                # {\"code\": ..., \"url\": ..., \"expires_at\": ...}"
    )]
    Pair {
        /// Name the pairing form suggests for the device [default: its browser and OS]
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
        /// The dashboard's port [default: the one LAN dashboard running]
        #[arg(long, value_name = "P")]
        port: Option<u16>,
    },
    /// This machine's certificate authority: install it on a phone once to trust the LAN page
    #[command(
        after_help = "The CA may vouch only for private addresses (10/8, 172.16/12, 192.168/16, fd00::/8), loopback\nand this machine's names, so it cannot impersonate another site even if it leaks.\n\nExamples:\n  orchestractl web ca                     # where it is, its fingerprint, how to install it\n  orchestractl web ca --out ca.crt        # writes ca.crt (PEM) and ca.crt.der (DER, for iPhone)\n  orchestractl web ca --json"
    )]
    Ca {
        /// Write the CA certificate to FILE (PEM) and FILE.der (DER)
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}
