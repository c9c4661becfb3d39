//! Text that goes into notifications, cut to size: a task, a command or a path never
//! runs longer than [`MAX_TEXT`] characters, and only the first line of an error is kept.

/// Longest task, command or path copied into a notification.
pub const MAX_TEXT: usize = 120;

/// The first line of `text`, trimmed.
pub fn first_line(text: &str) -> &str {
    text.trim().lines().next().unwrap_or("").trim()
}

/// `text` cut to [`MAX_TEXT`] characters, with an ellipsis when cut.
pub fn short(text: &str) -> String {
    truncate(text.trim(), MAX_TEXT)
}

/// `text` cut to `max` characters (not bytes), with an ellipsis when cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// A path shortened from the left, so the part that names the project stays.
pub fn short_path(path: &str) -> String {
    let count = path.chars().count();
    if count <= MAX_TEXT {
        return path.to_owned();
    }
    let tail: String = path.chars().skip(count - (MAX_TEXT - 1)).collect();
    format!("…{tail}")
}

/// "45s", "3m 12s", "2h 5m".
pub fn human_duration(ms: u64) -> String {
    let secs = ms / 1000;
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m {}s", secs / 60, secs % 60),
        _ => format!("{}h {}m", secs / 3600, secs % 3600 / 60),
    }
}
