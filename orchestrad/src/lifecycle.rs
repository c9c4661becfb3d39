//! Claiming the socket: one daemon per socket, stale sockets replaced, tight permissions.
//!
//! The pid file beside the socket is locked with `flock` for the daemon's whole life. The
//! kernel drops the lock when the process dies, however it dies, so "is another daemon
//! alive?" is answered by the lock and never by guessing from a leftover socket file.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};
use orchestra_proto::fs::at;

/// Why the daemon could not claim its socket.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    /// Another daemon holds the lock of this socket.
    #[error(
        "another orchestrad{pid} is already serving {socket}: stop it with \
         `orchestractl daemon stop`, or pick another socket with --socket"
    )]
    AlreadyRunning {
        /// The contested socket.
        socket: PathBuf,
        /// " (pid N)" when the pid file says who.
        pid: String,
    },
    /// A filesystem step failed.
    #[error(transparent)]
    Io(#[from] orchestra_proto::fs::PathError),
}

/// A claimed socket: the bound listener and the lock that makes it ours.
///
/// Dropping it removes the socket and the pid file.
#[derive(Debug)]
pub struct Claim {
    /// The listening socket, not yet handed to tokio (there may be no runtime yet).
    pub listener: UnixListener,
    /// The socket path, to remove on drop.
    socket: PathBuf,
    /// The pid file path, to remove on drop.
    pid_file: PathBuf,
    /// The locked pid file; the lock lasts as long as this value.
    _lock: Flock<File>,
}

impl Claim {
    /// The socket path.
    pub fn socket(&self) -> &Path {
        &self.socket
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        // Remove the files while still holding the lock, so a daemon starting right now
        // cannot have its fresh socket deleted by us.
        let _ = std::fs::remove_file(&self.socket);
        let _ = std::fs::remove_file(&self.pid_file);
    }
}

/// Claims `socket`: makes its directory private, takes the lock, replaces a stale socket
/// and binds. Fails with [`ClaimError::AlreadyRunning`] when another daemon has it.
pub fn claim(socket: &Path) -> Result<Claim, ClaimError> {
    let dir = socket.parent().unwrap_or(Path::new("."));
    prepare_private_dir(dir)?;

    let pid_file = orchestra_proto::paths::pid_file_for(socket);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&pid_file)
        .map_err(at("open pid file", &pid_file))?;
    let mut lock = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(lock) => lock,
        Err((mut file, _errno)) => {
            let mut text = String::new();
            let _ = file.read_to_string(&mut text);
            let pid = match text.trim() {
                "" => String::new(),
                pid => format!(" (pid {pid})"),
            };
            return Err(ClaimError::AlreadyRunning {
                socket: socket.to_path_buf(),
                pid,
            });
        }
    };
    lock.set_len(0)
        .map_err(at("truncate pid file", &pid_file))?;
    lock.rewind().map_err(at("rewind pid file", &pid_file))?;
    writeln!(lock, "{}", std::process::id()).map_err(at("write pid file", &pid_file))?;

    // We hold the lock, so any socket file here was left by a daemon that died without
    // cleaning up (kill -9, power loss): it is stale and safe to replace.
    match std::fs::remove_file(socket) {
        Ok(()) => tracing::info!(socket = %socket.display(), "replaced a stale socket"),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => return Err(at("remove stale socket", socket)(source).into()),
    }
    let listener = UnixListener::bind(socket).map_err(at("bind socket", socket))?;
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600))
        .map_err(at("set permissions of", socket))?;
    listener
        .set_nonblocking(true)
        .map_err(at("configure socket", socket))?;
    Ok(Claim {
        listener,
        socket: socket.to_path_buf(),
        pid_file,
        _lock: lock,
    })
}

/// Creates the socket's directory as 0700. A directory we did not create is only tightened
/// when it is our own (`claude-orchestra`); a shared one such as `/tmp` is left alone, since
/// the socket itself is 0600 and peers are checked by uid anyway.
fn prepare_private_dir(dir: &Path) -> Result<(), ClaimError> {
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(at("create directory", dir))?;
        return std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|err| at("set permissions of", dir)(err).into());
    }
    if dir
        .file_name()
        .is_some_and(|name| name == orchestra_proto::paths::APP_DIR)
    {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(at("set permissions of", dir))?;
    }
    Ok(())
}

/// Creates a private directory (0700) for the daemon's own state.
pub fn create_private_dir(dir: &Path) -> Result<(), ClaimError> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|err| at("create directory", dir)(err).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_claim_fails_and_stale_socket_is_replaced() {
        let dir = tempfile::tempdir().expect("tempdir");
        let socket = dir.path().join("claude-orchestra").join("d.sock");
        let first = claim(&socket).expect("first claim");
        let mode = std::fs::metadata(&socket)
            .expect("socket")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let err = claim(&socket).expect_err("second claim");
        assert!(matches!(err, ClaimError::AlreadyRunning { .. }), "{err}");
        assert!(err.to_string().contains(&std::process::id().to_string()));
        drop(first);
        assert!(!socket.exists(), "socket removed on drop");

        // A socket file left behind with nobody holding the lock is stale.
        let leftover = UnixListener::bind(&socket).expect("leftover");
        drop(leftover);
        assert!(socket.exists());
        let again = claim(&socket).expect("replaces the stale socket");
        drop(again);
    }
}
