//! The channels a notification can go out on, as the config names them, and how one
//! attempt at each is made. Retries, timeouts and counting live in [`super::delivery`].
//!
//! - `webhook`: a POST of the JSON [`Notification`] (exactly its eight fields);
//! - `ntfy`: a POST of the message to an ntfy topic URL with `Title`, `Priority`, `Tags`
//!   and `Click` headers (<https://docs.ntfy.sh/publish/>);
//! - `desktop`: a desktop notification on this machine ([`super::desktop`]), quietly
//!   skipped without a desktop session;
//! - `webpush`: an encrypted Web Push message to a paired phone's browser
//!   ([`super::webpush`]). These are not written in the config: the dashboard adds one
//!   when a paired phone opts in, and unpairing the phone removes it.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::attempt::{self, Answer, SendError};
use super::event::{EventKind, Notification};

/// A channel's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelKind {
    /// POST of a JSON document.
    Webhook,
    /// POST to an ntfy topic.
    Ntfy,
    /// A desktop notification on this machine.
    Desktop,
    /// A Web Push message to a paired device (added by the dashboard, not the config).
    Webpush,
}

impl ChannelKind {
    /// The name used in the config and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Webhook => "webhook",
            ChannelKind::Ntfy => "ntfy",
            ChannelKind::Desktop => "desktop",
            ChannelKind::Webpush => "webpush",
        }
    }
}

/// One entry of the config's `notifications` list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelConfig {
    /// `webhook`, `ntfy` or `desktop`.
    pub kind: ChannelKind,
    /// Where to POST (webhook, ntfy); unused by `desktop`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub url: String,
    /// The events it takes; all of them when absent or empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<String>,
}

impl ChannelConfig {
    /// Checks the entry; the message says what to write instead.
    pub fn validate(&self) -> Result<(), String> {
        for name in &self.events {
            if EventKind::parse(name).is_none() {
                let known: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
                return Err(format!(
                    "unknown event {name:?} (known: {})",
                    known.join(", ")
                ));
            }
        }
        match self.kind {
            ChannelKind::Webhook | ChannelKind::Ntfy => {
                let url = reqwest::Url::parse(&self.url).map_err(|err| {
                    let example = match self.kind {
                        ChannelKind::Ntfy => "https://ntfy.sh/my-topic",
                        _ => "https://example.com/hooks/orchestra",
                    };
                    format!(
                        "{} needs a \"url\" like {example} ({err}: {:?})",
                        self.kind.as_str(),
                        self.url
                    )
                })?;
                if !matches!(url.scheme(), "http" | "https") {
                    return Err(format!(
                        "the url of a {} channel must start with http:// or https://",
                        self.kind.as_str()
                    ));
                }
                Ok(())
            }
            ChannelKind::Desktop => Ok(()),
            ChannelKind::Webpush => Err(
                "webpush channels are not written here: open the dashboard on your phone \
                 (`orchestractl web --lan`, paired) and tap \"Notify me\""
                    .to_owned(),
            ),
        }
    }

    /// Whether this channel takes events of `kind` (tests go everywhere).
    pub fn takes(&self, kind: EventKind) -> bool {
        kind == EventKind::Test
            || self.events.is_empty()
            || self.events.iter().any(|name| name == kind.as_str())
    }

    /// The kinds it takes, for listings.
    pub fn event_names(&self) -> BTreeSet<String> {
        if self.events.is_empty() {
            return BTreeSet::from(["*".to_owned()]);
        }
        self.events.iter().cloned().collect()
    }
}

/// Makes one attempt at delivering `note` on `channel`.
pub async fn send(
    client: &reqwest::Client,
    channel: &ChannelConfig,
    note: &Notification,
) -> Result<Answer, SendError> {
    match channel.kind {
        ChannelKind::Webhook => {
            let request = client.post(&channel.url).json(note);
            attempt::answer(request.send().await).await
        }
        ChannelKind::Ntfy => {
            let mut request = client
                .post(&channel.url)
                .header("Title", header_text(&note.title))
                .header(
                    "Priority",
                    if note.event.urgent() {
                        "high"
                    } else {
                        "default"
                    },
                )
                .header("Tags", ntfy_tags(note.event))
                .body(note.message.clone());
            if !note.url.is_empty() {
                request = request.header("Click", header_text(&note.url));
            }
            attempt::answer(request.send().await).await
        }
        ChannelKind::Desktop => super::desktop::show(note).await,
        // Sent by the channel itself, which holds the subscription (see `delivery`).
        ChannelKind::Webpush => Err(SendError::Permanent(
            "a webpush channel needs its subscription".to_owned(),
        )),
    }
}

/// Emoji short codes ntfy shows before the title, then the event name.
fn ntfy_tags(kind: EventKind) -> String {
    let emoji = match kind {
        EventKind::ApprovalNeeded => "warning",
        EventKind::AgentDone | EventKind::BatchDone => "white_check_mark",
        EventKind::AgentFailed => "x",
        EventKind::SessionWaiting => "hourglass",
        EventKind::Overlap => "twisted_rightwards_arrows",
        EventKind::Test => "bell",
        EventKind::DiskFull => "floppy_disk",
        EventKind::DiskOk => "white_check_mark",
        EventKind::BatchGreen => "green_circle",
        EventKind::BatchRed => "red_circle",
        EventKind::BudgetReached => "moneybag",
    };
    format!("{emoji},{}", kind.as_str())
}

/// `text` made safe for an HTTP header: printable ASCII only (our titles are ASCII; a
/// stray character from a path becomes `?` rather than a refused request).
fn header_text(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c == ' ' || c.is_ascii_graphic() {
                c
            } else {
                '?'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_entries_are_checked() {
        let parse = |text: &str| serde_json::from_str::<ChannelConfig>(text);
        let ok = parse(r#"{"kind":"ntfy","url":"https://ntfy.sh/t","events":["agent_done"]}"#)
            .expect("valid");
        ok.validate().expect("valid");
        assert!(ok.takes(EventKind::AgentDone));
        assert!(ok.takes(EventKind::Test));
        assert!(!ok.takes(EventKind::AgentFailed));
        let all = parse(r#"{"kind":"desktop"}"#).expect("valid");
        all.validate().expect("valid");
        assert!(all.takes(EventKind::Overlap));
        for bad in [
            r#"{"kind":"webhook"}"#,
            r#"{"kind":"webhook","url":"ftp://x/y"}"#,
            r#"{"kind":"ntfy","url":"https://ntfy.sh/t","events":["finished"]}"#,
            r#"{"kind":"webpush","url":"https://push.example.com/x"}"#,
        ] {
            assert!(parse(bad).expect("parses").validate().is_err(), "{bad}");
        }
        assert!(parse(r#"{"kind":"pager","url":"x"}"#).is_err());
        assert!(parse(r#"{"kind":"ntfy","url":"x","topic":"y"}"#).is_err());
    }

    #[test]
    fn header_text_is_ascii() {
        assert_eq!(header_text("Agent finished"), "Agent finished");
        assert_eq!(header_text("caf\u{e9}\n"), "caf??");
    }
}
