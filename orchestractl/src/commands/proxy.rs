//! `orchestractl proxy`: the daemon's socket on stdin and stdout, so that `ssh -T HOST
//! orchestractl proxy` (or `kubectl exec -i ... orchestractl proxy`) is a byte stream to
//! that machine's orchestrad for another machine's `--host`. Bytes are copied as they
//! are: the gRPC is spoken end to end by the client and the daemon.

use std::process::ExitCode;

use anyhow::Context as _;
use tokio::io::AsyncWriteExt as _;

use crate::client::Ctx;

/// Makes sure the daemon runs (starting it unless `--no-autostart`), then joins stdin and
/// stdout to its socket until either side ends.
pub async fn run(ctx: &Ctx) -> anyhow::Result<ExitCode> {
    if ctx.host.is_some() {
        anyhow::bail!("proxy serves this machine's daemon; run it without --host");
    }
    // Checks the protocol too, so that a mismatch is told on stderr (which ssh passes on)
    // instead of as a broken stream.
    drop(ctx.connect().await?);
    let socket = orchestra_proto::client::open_stream(&ctx.socket)
        .await
        .with_context(|| format!("cannot open {}", ctx.socket.display()))?;
    let (mut from_daemon, mut to_daemon) = tokio::io::split(socket);
    let mut stdin = tokio::io::stdin();
    let mut stdout = tokio::io::stdout();
    let upstream = async {
        tokio::io::copy(&mut stdin, &mut to_daemon).await?;
        to_daemon.shutdown().await
    };
    let downstream = async {
        tokio::io::copy(&mut from_daemon, &mut stdout).await?;
        stdout.flush().await
    };
    // Either side ending ends the proxy: the client went away (ssh closed stdin), or the
    // daemon did (stopped, restarted), and the client makes a new connection.
    let result = tokio::select! {
        result = upstream => result.context("copying from stdin to orchestrad"),
        result = downstream => result.context("copying from orchestrad to stdout"),
    };
    // tokio reads stdin on a blocking thread, which a runtime being dropped would wait for
    // until the client sends another byte: leave now instead.
    let code = match result {
        Ok(()) => 0,
        Err(err) => {
            eprintln!("orchestractl: proxy: {err:#}");
            1
        }
    };
    std::process::exit(code)
}
