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

#[cfg(test)]
mod tests {
    use super::*;

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
