//! Whether the store can be written, and how full its disk is: said once in the log when
//! it changes, never once per write.

use std::path::Path;

use crate::time::now_ms;

/// Below this many free bytes the state directory's disk counts as full: sled, the
/// agents' logs and their exit records all need a little room.
pub const FULL_BELOW_BYTES: u64 = 64 * 1024;

/// Whether the store takes writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Health {
    /// Set while writes fail: the failure in words.
    error: Option<String>,
    /// Whether the failure is a full disk.
    disk_full: bool,
    /// When writes started to fail, ms since the epoch (0 when healthy).
    since_ms: i64,
}

impl Health {
    /// Whether writes work.
    pub fn is_ok(&self) -> bool {
        self.error.is_none()
    }

    /// Whether writes fail because the disk is full.
    pub fn disk_full(&self) -> bool {
        self.disk_full
    }

    /// The failure in words, while there is one.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// Since when writes fail (ms since the epoch), 0 when they work.
    pub fn since_ms(&self) -> i64 {
        self.since_ms
    }

    /// Notes a failed write; the first one of a failure is logged as an error.
    pub(super) fn fail(&mut self, path: &Path, error: &str, disk_full: bool) {
        if self.error.is_none() {
            tracing::error!(
                store = %path.display(),
                error,
                "the store cannot be written; writes are refused until there is room again \
                 (orchestrad retries by itself)"
            );
            self.since_ms = now_ms();
        }
        self.error = Some(error.to_owned());
        self.disk_full |= disk_full;
    }

    /// Notes the store took writes again.
    pub(super) fn recovered(&mut self, path: &Path, queued: usize) {
        tracing::info!(
            store = %path.display(),
            queued_writes = queued,
            "the store takes writes again"
        );
        *self = Health::default();
    }
}

/// How full the disk of a directory is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskState {
    /// `ok` or `full`.
    pub state: &'static str,
    /// The directory measured.
    pub path: String,
    /// Bytes free for an unprivileged writer.
    pub free_bytes: u64,
}

impl DiskState {
    /// Measures the disk of `path`. The disk is full when fewer than
    /// [`FULL_BELOW_BYTES`] are free, or when `store_says_full` (a write failed for want
    /// of room and the store has not recovered).
    pub fn measure(path: &Path, store_says_full: bool) -> DiskState {
        let free_bytes = free_bytes(path).unwrap_or(u64::MAX);
        let full = store_says_full || free_bytes < FULL_BELOW_BYTES;
        DiskState {
            state: if full { "full" } else { "ok" },
            path: path.display().to_string(),
            free_bytes: if free_bytes == u64::MAX {
                0
            } else {
                free_bytes
            },
        }
    }

    /// Whether the disk is full.
    pub fn is_full(&self) -> bool {
        self.state == "full"
    }

    /// One line for people: "no space left on /x (12 KB free)".
    pub fn describe(&self) -> String {
        if self.is_full() {
            format!(
                "no space left on {} ({} free): free some space, or set XDG_STATE_HOME to a \
                 directory on another disk",
                self.path,
                human_bytes(self.free_bytes)
            )
        } else {
            format!("{} free on {}", human_bytes(self.free_bytes), self.path)
        }
    }
}

/// Bytes free for an unprivileged writer on the file system of `path`.
pub fn free_bytes(path: &Path) -> Option<u64> {
    let stat = nix::sys::statvfs::statvfs(path).ok()?;
    Some((stat.blocks_available() as u64).saturating_mul(stat.fragment_size() as u64))
}

/// Whether an I/O error means the disk is full (or the quota is spent).
pub fn is_disk_full(err: &std::io::Error) -> bool {
    err.kind() == std::io::ErrorKind::StorageFull
        || err.kind() == std::io::ErrorKind::QuotaExceeded
        || matches!(err.raw_os_error(), Some(28 | 122))
}

/// An I/O error in words, without Rust's debug format (sled wraps the OS error in a
/// custom one whose text is `Os { code: 28, kind: StorageFull, .. }`).
pub fn io_words(err: &std::io::Error) -> String {
    if is_disk_full(err) {
        return "no space left on device".to_owned();
    }
    if err.raw_os_error().is_some() {
        return err.to_string();
    }
    let text = err.to_string();
    if text.contains("Os {") || text.contains("kind:") {
        // The kind says it in words ("permission denied", "read-only filesystem").
        return err.kind().to_string();
    }
    text
}

/// Bytes for people: "12 KB", "3.1 MB".
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1000 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if value < 10.0 {
        format!("{value:.1} {}", UNITS[unit])
    } else {
        format!("{value:.0} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_read_as_words() {
        let full = std::io::Error::from_raw_os_error(28);
        assert_eq!(io_words(&full), "no space left on device");
        // What sled makes of it: a custom error whose text is the debug format.
        let wrapped = std::io::Error::new(
            std::io::ErrorKind::StorageFull,
            format!("{:?}", std::io::Error::from_raw_os_error(28)),
        );
        assert_eq!(io_words(&wrapped), "no space left on device");
        let denied = std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            "Os { code: 13, kind: PermissionDenied }",
        );
        assert_eq!(io_words(&denied), "permission denied");
    }

    #[test]
    fn bytes_read_as_people_write_them() {
        assert_eq!(human_bytes(0), "0 bytes");
        assert_eq!(human_bytes(12_288), "12 KB");
        assert_eq!(human_bytes(3_100_000), "3.1 MB");
    }
}
