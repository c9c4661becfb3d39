//! The arguments of `orchestractl hosts ...` and the `--hosts` flag of the commands that
//! merge answers from many machines.

use clap::{Args, Subcommand};

/// `--hosts`, flattened into `status`, `approvals`, `sessions`, `search` and `report`.
#[derive(Debug, Clone, Default, Args)]
pub struct HostsArg {
    /// Also ask these hosts and merge the answers, each row with its `host`: `all` (this
    /// machine and every host) or names, comma-separated (`local` is this machine)
    /// [default: default_hosts in hosts.json, else this machine only]
    #[arg(long = "hosts", value_name = "all|NAME,...", value_delimiter = ',')]
    pub names: Vec<String>,
}

/// `orchestractl hosts ...`
#[derive(Debug, Subcommand)]
#[command(
    after_help = "Hosts are kept in hosts.json beside config.json (`orchestractl config path`).\n\nExamples:\n  orchestractl hosts add box me@box.lan                 # ssh -T me@box.lan orchestractl proxy\n  orchestractl hosts add vm me@10.0.0.5:2222\n  orchestractl hosts add pod pod --command \"kubectl exec -i orchestra-0 -- orchestractl proxy\"\n  orchestractl hosts list --json\n  orchestractl hosts check box\n  orchestractl status --hosts all\n  orchestractl --host box spawn --repo /home/me/api \"fix the flaky test\"\n  orchestractl --host box approve 3f2a"
)]
pub enum HostsCommand {
    /// Add a host reached with `ssh -T [user@]host[:port] orchestractl proxy` (or --command)
    #[command(
        after_help = "Examples:\n  orchestractl hosts add box me@box.lan\n  orchestractl hosts add vm me@203.0.113.7:2222\n  orchestractl hosts add pod pod --command \"kubectl exec -i orchestra-0 -- orchestractl proxy\"\n  orchestractl hosts add later me@laptop --no-check   # save it even though it is off now"
    )]
    Add(HostsAddArgs),
    /// Every host with its state (up, unreachable, version_mismatch), version, latency and agents
    #[command(
        after_help = "Examples:\n  orchestractl hosts list\n  orchestractl hosts list --json"
    )]
    List,
    /// Forget a host (its daemon and agents are left alone)
    #[command(after_help = "Examples:\n  orchestractl hosts remove box")]
    Remove(HostsRemoveArgs),
    /// Connect to one host (or all) and say what answered or why not; exit 1 if any is not up
    #[command(
        after_help = "Examples:\n  orchestractl hosts check box\n  orchestractl hosts check --json"
    )]
    Check(HostsCheckArgs),
}

/// `orchestractl hosts add`
#[derive(Debug, Args)]
pub struct HostsAddArgs {
    /// Name used with --host and shown on every row from that host
    pub name: String,
    /// Where ssh goes: [user@]host[:port]
    pub target: String,
    /// Run this with `sh -c` instead of ssh; its stdin/stdout must reach `orchestractl proxy`
    /// there (kubectl exec -i, docker exec -i, ...)
    #[arg(long, value_name = "CMD")]
    pub command: Option<String>,
    /// Save even if the host does not answer now
    #[arg(long)]
    pub no_check: bool,
}

/// `orchestractl hosts remove`
#[derive(Debug, Args)]
pub struct HostsRemoveArgs {
    /// The host's name
    pub name: String,
}

/// `orchestractl hosts check`
#[derive(Debug, Args)]
pub struct HostsCheckArgs {
    /// The host's name [default: every host]
    pub name: Option<String>,
}
