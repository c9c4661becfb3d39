//! A filesystem step that failed, said the one way every binary says it: what was being
//! done, on which path, and what the OS answered ("cannot create directory /x: Permission
//! denied (os error 13)").

use std::path::{Path, PathBuf};

/// A failed filesystem step.
#[derive(Debug, thiserror::Error)]
#[error("cannot {op} {path}: {source}")]
pub struct PathError {
    /// What was being done ("create directory", "write pid file").
    pub op: &'static str,
    /// On which path.
    pub path: PathBuf,
    /// What the OS said.
    #[source]
    pub source: std::io::Error,
}

/// For `map_err`: turns the OS error of `op` on `path` into a [`PathError`], which `?`
/// turns into any error that takes one (`.map_err(at("open", &path))?`).
pub fn at(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> PathError + use<> {
    let path = path.to_path_buf();
    move |source| PathError { op, path, source }
}

/// Replaces `path` with `bytes` in one step (a temp file beside it, renamed over it),
/// the new file having `mode` from its first byte: no moment when another user can read
/// what is written, and no half-written file if the write fails.
pub fn replace_with_mode(path: &Path, bytes: &[u8], mode: u32) -> Result<(), PathError> {
    use std::io::Write as _;
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    let mut tmp_name = path.file_name().unwrap_or_default().to_owned();
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let _ = std::fs::remove_file(&tmp);
    let written = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        // The umask may have taken bits away; the mode asked for is the mode kept.
        file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        file.write_all(bytes)?;
        file.sync_all()
    })();
    if let Err(source) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(at("write", &tmp)(source));
    }
    std::fs::rename(&tmp, path).map_err(|source| {
        let _ = std::fs::remove_file(&tmp);
        at("replace", path)(source)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replacing_keeps_the_mode_asked_for() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("f.json");
        for mode in [0o600, 0o640] {
            replace_with_mode(&path, b"{}", mode).expect("write");
            let meta = std::fs::metadata(&path).expect("meta");
            assert_eq!(meta.permissions().mode() & 0o777, mode);
        }
        assert_eq!(std::fs::read_dir(dir.path()).expect("ls").count(), 1);
    }

    #[test]
    fn says_what_where_and_why() {
        let err = at("create directory", Path::new("/x/y"))(std::io::Error::from(
            std::io::ErrorKind::PermissionDenied,
        ));
        assert_eq!(
            err.to_string(),
            "cannot create directory /x/y: permission denied"
        );
    }
}
