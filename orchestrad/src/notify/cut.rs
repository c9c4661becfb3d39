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
    crate::text::fit_chars(text.trim(), MAX_TEXT)
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
