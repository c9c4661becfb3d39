//! `orchestractl review AGENT [--comment PATH:LINE TEXT]... [--send | --approve]`: line
//! comments on an agent's change, sent back as one follow-up, or an approval.

use std::process::ExitCode;

use anyhow::{Context as _, bail};
use orchestra_proto::v1::{ReviewComment, ReviewRequest};

use crate::cli::ReviewArgs;
use crate::client::Ctx;

/// Records the comments, then sends or approves; prints the review as it is after.
pub async fn run(ctx: &Ctx, args: ReviewArgs) -> anyhow::Result<ExitCode> {
    let mut comments = Vec::new();
    for pair in args.comment.chunks(2) {
        let [place, text] = pair else {
            bail!("--comment takes PATH:LINE and the text");
        };
        let (path, line) = place
            .rsplit_once(':')
            .with_context(|| format!("{place:?} is not PATH:LINE (like src/main.rs:42)"))?;
        let line: u32 = line
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .with_context(|| format!("{place:?}: the line must be a number from 1"))?;
        comments.push(ReviewComment {
            path: path.to_owned(),
            line,
            text: text.clone(),
            ..ReviewComment::default()
        });
    }
    let clients = ctx.connect().await?;
    let agent = clients
        .integration()
        .review(ReviewRequest {
            id: args.agent,
            comments,
            send: args.send,
            approve: args.approve,
        })
        .await?
        .into_inner();
    let review = agent.review.clone().unwrap_or_default();
    ctx.answer(&agent, || {
        println!("agent {}: review {}", agent.id, review.state);
        for c in &review.comments {
            println!(
                "  {}:{}  {}{}",
                c.path,
                c.line,
                c.text,
                if c.sent { "  (sent)" } else { "" }
            );
        }
        if args.send {
            eprintln!(
                "sent the comments to agent {} as one follow-up; follow it with `orchestractl logs {} -f`",
                agent.id, agent.id
            );
        }
        Ok(())
    })
}
