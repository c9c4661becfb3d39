//! What the dashboard's CA ([`crate::ca`]) and its serving certificate ([`crate::cert`])
//! share: their error, private files (0600 in a 0700 folder), validity and fingerprints.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use orchestra_proto::fs::at;
use sha2::{Digest as _, Sha256};

/// Why a certificate could not be made, read or used.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// A file could not be read or written.
    #[error(transparent)]
    Io(#[from] orchestra_proto::fs::PathError),
    /// A file holds no usable certificate or key.
    #[error("{path} holds no usable {what}: {detail}; check the config keys tls_cert / tls_key")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// "certificate" or "private key".
        what: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// rcgen could not make a certificate.
    #[error("cannot make a certificate: {0}")]
    Generate(#[from] rcgen::Error),
}

/// Sets a certificate's validity to `days` from a day ago (slack for a phone whose clock
/// is a little off).
pub(crate) fn set_validity(params: &mut rcgen::CertificateParams, days: i64) {
    use chrono::Datelike as _;
    let now = chrono::Utc::now();
    let ymd = |t: chrono::DateTime<chrono::Utc>| {
        rcgen::date_time_ymd(t.year(), t.month() as u8, t.day() as u8)
    };
    params.not_before = ymd(now - chrono::Duration::days(1));
    params.not_after = ymd(now + chrono::Duration::days(days));
}

/// Makes the directory of `file` (0700).
pub(crate) fn private_dir(file: &Path) -> Result<(), CertError> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(at("create", dir))?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(at("set permissions of", dir))?;
    }
    Ok(())
}

/// Writes `bytes` to `path` with mode 0600 from the first byte on, replacing it whole.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<(), CertError> {
    Ok(orchestra_proto::fs::replace_with_mode(path, bytes, 0o600)?)
}

/// SHA-256 of `bytes` as colon-separated upper-case hex.
pub fn fingerprint(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}
