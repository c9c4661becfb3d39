//! orchestractl: the command-line client of orchestrad.
//!
//! [`cli`] declares the arguments; each subcommand lives in `commands/<name>.rs`;
//! [`output`] decides between tables and `--json`; [`client`] opens the connection,
//! starting the daemon when needed.

// Every `print!`/`println!` of this crate goes through `output::print`, which ends the
// program quietly when stdout's reader has gone (`| head -1`) where `std::println!` would
// panic. Defined before the modules so that they all see these instead of std's.
macro_rules! print {
    ($($arg:tt)*) => {
        $crate::output::print(format_args!($($arg)*))
    };
}
macro_rules! println {
    () => {
        $crate::output::print(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::output::print(format_args!("{}\n", format_args!($($arg)*)))
    };
}

pub mod cli;
mod client;
mod commands;
mod hosts;
mod output;
mod scope;

use std::process::ExitCode;

use cli::{Cli, Command};

/// Runs one command line; returns the process exit code.
pub fn run(cli: Cli) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("orchestractl: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let ctx = client::Ctx::from_cli(&cli);
    if let (Some(name), Some(what)) = (ctx.host.as_ref(), local_only(&cli.command)) {
        // Where to run it instead: over the host's own way in.
        let there = match hosts::load().ok().and_then(|f| f.get(name).ok().cloned()) {
            Some(host) => match &host.command {
                Some(command) => match command.trim_end().strip_suffix("proxy") {
                    // `... orchestractl proxy`: the same way in, running this instead.
                    Some(way_in) => format!("there: `{way_in}{what}`"),
                    None => format!("where the host's command `{command}` reaches"),
                },
                None => {
                    // The ssh command the host is reached by, running this instead of proxy.
                    let mut argv = host.argv();
                    argv.pop();
                    argv.push(what.to_owned());
                    format!("there: `{}`", argv.join(" "))
                }
            },
            None => format!("there (`ssh HOST orchestractl {what}`)"),
        };
        eprintln!(
            "orchestractl: --host does not apply to `{what}`, which is about this machine: \
             run it {there}"
        );
        return ExitCode::from(2);
    }
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Spawn(args) => commands::spawn::run(&ctx, args).await,
            Command::Status(args) => commands::status::run(&ctx, args).await,
            Command::Logs(args) => commands::logs::run(&ctx, args).await,
            Command::Send(args) => commands::send::run(&ctx, args).await,
            Command::Stop(args) => commands::stop::run(&ctx, args).await,
            Command::Collect(args) => commands::collect::run(&ctx, args).await,
            Command::Worktrees(args) => commands::worktrees::run(&ctx, args).await,
            Command::Cleanup(args) => commands::cleanup::run(&ctx, args).await,
            Command::Pr(args) => commands::pr::run(&ctx, args).await,
            Command::Merge(args) => commands::merge::run(&ctx, args).await,
            Command::Diff(args) => commands::diff::run(&ctx, args).await,
            Command::Review(args) => commands::review::run(&ctx, args).await,
            Command::Report(args) => commands::report::run(&ctx, args).await,
            Command::Forget(args) => commands::forget::run(&ctx, args).await,
            Command::Init(args) => commands::init::run(&ctx, args).await,
            Command::Web(args) => commands::web::run(&ctx, args).await,
            Command::Sessions(args) => commands::sessions::run(&ctx, args).await,
            Command::Show(args) => commands::show::run(&ctx, args).await,
            Command::Search(args) => commands::search::run(&ctx, args).await,
            Command::Export(args) => commands::export::run(&ctx, args).await,
            Command::Analytics(args) => commands::analytics::run(&ctx, args).await,
            Command::Health => commands::health::run(&ctx).await,
            Command::Watch(args) => commands::watch::run(&ctx, args).await,
            Command::Resume(args) => commands::resume::run(&ctx, args).await,
            Command::Daemon(cmd) => commands::daemon::run(&ctx, cmd).await,
            Command::Config(cmd) => commands::config::run(&ctx, cmd).await,
            Command::Completions(cmd) => commands::completions::run(cmd),
            Command::Service(cmd) => commands::service::run(&ctx, cmd).await,
            Command::Approvals(args) => commands::approvals::run(&ctx, args).await,
            Command::Approve(args) => commands::approve::run(&ctx, args).await,
            Command::Deny(args) => commands::deny::run(&ctx, args).await,
            Command::Answer(args) => commands::answer::run(&ctx, args).await,
            Command::Messages(args) => commands::messages::run(&ctx, args).await,
            Command::Mcp(cmd) => commands::mcp::run(&ctx, cmd).await,
            Command::Hooks(cmd) => commands::hooks_install::run(&ctx, cmd).await,
            Command::Notify(cmd) => commands::notify::run(&ctx, cmd).await,
            Command::Hook(cmd) => commands::hook::run(&ctx, cmd).await,
            Command::Hosts(cmd) => commands::hosts::run(&ctx, cmd).await,
            Command::Proxy => commands::proxy::run(&ctx).await,
        }
    });
    match result {
        Ok(code) => code,
        // The reader of our output went away (`| head`): it has what it wanted.
        Err(err) if output::is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("orchestractl: {}", describe(&err));
            ExitCode::FAILURE
        }
    }
}

/// The commands that act on this machine itself (its daemon process, its services, its
/// settings files), which `--host` cannot send elsewhere.
fn local_only(command: &Command) -> Option<&'static str> {
    use cli::DaemonCommand;
    match command {
        Command::Daemon(DaemonCommand::Start) => Some("daemon start"),
        Command::Daemon(DaemonCommand::Stop) => Some("daemon stop"),
        Command::Daemon(DaemonCommand::Restart) => Some("daemon restart"),
        Command::Config(_) => Some("config"),
        Command::Completions(_) => Some("completions"),
        Command::Service(_) => Some("service"),
        Command::Web(_) => Some("web"),
        Command::Hooks(_) => Some("hooks"),
        Command::Hook(_) => Some("hook"),
        Command::Hosts(_) => Some("hosts"),
        Command::Proxy => Some("proxy"),
        _ => None,
    }
}

/// The message a person should see for `err`: a gRPC status is shown by its message,
/// which the daemon writes for people, not by its code.
pub(crate) fn describe(err: &anyhow::Error) -> String {
    let Some(status) = err.downcast_ref::<tonic::Status>() else {
        return format!("{err:#}");
    };
    match status.code() {
        // A status with a source was made here, from a connection failure; the daemon's
        // own answers carry none.
        tonic::Code::Unavailable | tonic::Code::Unknown
            if std::error::Error::source(status).is_some() =>
        {
            format!(
                "lost the connection to orchestrad ({}); check `orchestractl daemon status`",
                status.message()
            )
        }
        tonic::Code::Unimplemented => format!(
            "orchestrad does not support this yet ({}); is it older than orchestractl? try `orchestractl daemon restart`",
            status.message()
        ),
        _ => status.message().to_owned(),
    }
}
