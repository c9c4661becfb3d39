//! The `desktop` channel: a notification on the daemon's own machine through notify-rust,
//! which speaks the freedesktop notification protocol over D-Bus with zbus (pure Rust, no
//! libdbus) on Linux and the BSDs, and posts to Notification Center on macOS.
//!
//! A daemon started from a service manager or over SSH has no desktop to show anything in:
//! there the channel answers "skipped" at once instead of failing and retrying.

use super::attempt::{Answer, SendError};
use super::event::Notification;

/// Why there is no desktop session to show a notification in, or `None` when there is.
pub fn missing_session() -> Option<&'static str> {
    if cfg!(target_os = "macos") {
        // Notification Center is there whenever someone is logged in; a daemon of a
        // logged-out user gets an error from it, which is counted as a failure.
        return None;
    }
    let has = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    if !has("DBUS_SESSION_BUS_ADDRESS") {
        Some("no desktop session (DBUS_SESSION_BUS_ADDRESS is not set)")
    } else if !has("DISPLAY") && !has("WAYLAND_DISPLAY") {
        Some("no desktop session (neither DISPLAY nor WAYLAND_DISPLAY is set)")
    } else {
        None
    }
}

/// `text` safe in a freedesktop notification body, which servers read as a small subset
/// of HTML (`<b>`, `<a href>`, `<img>`): a task or a command is shown as text, never as
/// markup that could hide words or point a click somewhere else.
fn escape_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The notification notify-rust shows for `note`.
fn build(note: &Notification) -> notify_rust::Notification {
    let mut shown = notify_rust::Notification::new();
    // The summary is plain text by the specification; only the body is markup.
    shown
        .appname("claude-orchestra")
        .summary(&note.title)
        .body(&escape_markup(&note.message));
    #[cfg(all(unix, not(target_os = "macos")))]
    shown.urgency(if note.event.urgent() {
        notify_rust::Urgency::Critical
    } else {
        notify_rust::Urgency::Normal
    });
    shown
}

/// Shows `note` on the desktop, or says why not. The caller bounds the time it takes.
pub async fn show(note: &Notification) -> Result<Answer, SendError> {
    if let Some(why) = missing_session() {
        return Ok(Answer::Skipped(why.to_owned()));
    }
    let shown = build(note);
    #[cfg(all(unix, not(target_os = "macos")))]
    let result = shown
        .show_async()
        .await
        .map(|handle| handle.id().to_string());
    // Notification Center's call blocks; it gets a thread of its own.
    #[cfg(not(all(unix, not(target_os = "macos"))))]
    let result = tokio::task::spawn_blocking(move || shown.show().map(|_| String::new()))
        .await
        .map_err(|err| SendError::Transient(format!("desktop notification: {err}")))?;
    match result {
        Ok(id) if id.is_empty() => Ok(Answer::Sent("shown".to_owned())),
        Ok(id) => Ok(Answer::Sent(format!("shown (id {id})"))),
        // A session bus that is gone or a notification server that is not running may
        // come back (a desktop logging in): worth another try.
        Err(err) => Err(SendError::Transient(format!(
            "desktop notification: {}",
            super::cut::short(super::cut::first_line(&err.to_string()))
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_a_body_is_shown_as_text() {
        assert_eq!(
            escape_markup("run <a href='x'>this</a> & \"that\""),
            "run &lt;a href=&#39;x&#39;&gt;this&lt;/a&gt; &amp; &quot;that&quot;"
        );
    }
}
