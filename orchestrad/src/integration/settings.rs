//! A repository's own defaults for verified merges: `<repo>/.orchestra.json`, such as
//! `{"verify": "cargo test -q", "verify_timeout_s": 600, "repair_rounds": 1}`.
//! A file that is not valid JSON, or holds a key of the wrong type, is an error naming the
//! file, line and column; no file means no defaults.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::supervisor::SupervisorError;

/// The file's name, at the repository's root.
pub const FILE: &str = ".orchestra.json";

/// What `.orchestra.json` says.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct RepoSettings {
    /// The check run on a merged batch (`sh -c`).
    pub verify: Option<String>,
    /// Seconds one verification may take.
    pub verify_timeout_s: Option<u64>,
    /// Rounds of repair.
    pub repair_rounds: Option<u32>,
}

impl RepoSettings {
    /// Reads `<repo>/.orchestra.json`; defaults when there is none.
    pub fn load(repo: &Path) -> Result<RepoSettings, SupervisorError> {
        let path: PathBuf = repo.join(FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Ok(RepoSettings::default());
            }
            Err(err) => {
                return Err(SupervisorError::Precondition(format!(
                    "cannot read {}: {err}",
                    path.display()
                )));
            }
        };
        let settings: RepoSettings = serde_json::from_str(&text).map_err(|err| {
            SupervisorError::Invalid(format!(
                "{} line {} column {}: {}; it should look like \
                 {{\"verify\": \"cargo test -q\", \"verify_timeout_s\": 900, \"repair_rounds\": 1}}",
                path.display(),
                err.line(),
                err.column(),
                strip_position(&err.to_string())
            ))
        })?;
        if settings.verify_timeout_s == Some(0) {
            return Err(SupervisorError::Invalid(format!(
                "{}: verify_timeout_s must be at least 1 (second)",
                path.display()
            )));
        }
        Ok(settings)
    }
}

/// serde_json's message without its own " at line L column C".
fn strip_position(message: &str) -> &str {
    message.split(" at line ").next().unwrap_or(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_file_is_no_defaults_and_a_bad_one_names_file_line_and_column() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(
            RepoSettings::load(dir.path()).expect("none"),
            RepoSettings::default()
        );
        std::fs::write(
            dir.path().join(FILE),
            "{\"verify\": \"./check.sh\", \"repair_rounds\": 2}",
        )
        .expect("write");
        let settings = RepoSettings::load(dir.path()).expect("read");
        assert_eq!(settings.verify.as_deref(), Some("./check.sh"));
        assert_eq!(settings.repair_rounds, Some(2));
        std::fs::write(dir.path().join(FILE), "{\n  \"verify\": 3\n}").expect("write");
        let err = RepoSettings::load(dir.path()).expect_err("bad").to_string();
        assert!(err.contains(".orchestra.json line 2 column"), "{err}");
        assert!(err.contains("invalid type"), "{err}");
        // A typo is an error, not a check silently skipped.
        std::fs::write(dir.path().join(FILE), "{\"verfy\": \"./check.sh\"}").expect("write");
        let err = RepoSettings::load(dir.path())
            .expect_err("typo")
            .to_string();
        assert!(err.contains("unknown field `verfy`"), "{err}");
        std::fs::write(dir.path().join(FILE), "{\"verify_timeout_s\": 0}").expect("write");
        let err = RepoSettings::load(dir.path())
            .expect_err("zero")
            .to_string();
        assert!(err.contains("verify_timeout_s must be at least 1"), "{err}");
    }
}
