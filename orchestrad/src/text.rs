//! Text helpers shared by the index, the reports and the notifications: cutting to a
//! number of characters (never bytes), short human durations and sizes.

/// At most `max` characters of `text`, with an ellipsis after them when cut.
pub fn truncate_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((index, _)) => format!("{}…", &text[..index]),
    }
}

/// `text` in at most `max` characters, the ellipsis included when cut.
pub fn fit_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some(_) => truncate_chars(text, max.saturating_sub(1)),
    }
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

/// A size of a megabyte or more as "40 MiB" or "1.5 MiB".
pub fn human_mib(bytes: u64) -> String {
    let mib = bytes as f64 / (1024.0 * 1024.0);
    if mib >= 9.95 {
        format!("{mib:.0} MiB")
    } else {
        format!("{mib:.1} MiB")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_characters_not_bytes() {
        assert_eq!(truncate_chars("héllo", 2), "hé…");
        assert_eq!(truncate_chars("hé", 2), "hé");
        assert_eq!(fit_chars("héllo", 3), "hé…");
        assert_eq!(fit_chars("hél", 3), "hél");
        assert_eq!(fit_chars("", 0), "");
    }

    #[test]
    fn durations() {
        assert_eq!(human_duration(45_000), "45s");
        assert_eq!(human_duration(192_000), "3m 12s");
        assert_eq!(human_duration(7_500_000), "2h 5m");
    }

    #[test]
    fn sizes() {
        assert_eq!(human_mib(40 * 1024 * 1024 + 100), "40 MiB");
        assert_eq!(human_mib(1024 * 1024 + 1), "1.0 MiB");
        assert_eq!(human_mib(3 * 1024 * 1024 / 2), "1.5 MiB");
    }
}
