//! Default locations of the config file, the state directory and the socket.
//!
//! They follow the XDG base directory spec so that a user's dotfiles stay tidy, and every
//! one of them can be moved by an environment variable (which is how tests isolate
//! themselves from the real home).

use std::path::PathBuf;

/// Name of the directory under the XDG dirs.
pub const APP_DIR: &str = "claude-orchestra";
/// Name of the socket file.
pub const SOCKET_FILE: &str = "orchestrad.sock";
/// Environment variable that overrides the socket path (like `--socket`).
pub const SOCKET_ENV: &str = "ORCHESTRA_SOCKET";

/// The user's home directory, from `$HOME`.
pub fn home_dir() -> PathBuf {
    std::env::var_os("HOME")
        .filter(|home| !home.is_empty())
        .map(PathBuf::from)
        .or_else(std::env::home_dir)
        .unwrap_or_else(|| PathBuf::from("/"))
}

fn xdg_dir(var: &str, fallback: &[&str]) -> PathBuf {
    match std::env::var_os(var) {
        Some(dir) if !dir.is_empty() && PathBuf::from(&dir).is_absolute() => PathBuf::from(dir),
        _ => fallback
            .iter()
            .fold(home_dir(), |path, part| path.join(part)),
    }
}

/// `$XDG_CONFIG_HOME/claude-orchestra`, by default `~/.config/claude-orchestra`.
pub fn config_dir() -> PathBuf {
    xdg_dir("XDG_CONFIG_HOME", &[".config"]).join(APP_DIR)
}

/// `config.json` in [`config_dir`].
pub fn config_file() -> PathBuf {
    config_dir().join("config.json")
}

/// `$XDG_STATE_HOME/claude-orchestra`, by default `~/.local/state/claude-orchestra`: the
/// store, the logs, and the socket when there is no runtime dir.
pub fn state_dir() -> PathBuf {
    xdg_dir("XDG_STATE_HOME", &[".local", "state"]).join(APP_DIR)
}

/// The socket path: `$ORCHESTRA_SOCKET`, else `$XDG_RUNTIME_DIR/claude-orchestra/orchestrad.sock`,
/// else `orchestrad.sock` in [`state_dir`].
pub fn default_socket() -> PathBuf {
    if let Some(socket) = std::env::var_os(SOCKET_ENV).filter(|s| !s.is_empty()) {
        return PathBuf::from(socket);
    }
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir).join(APP_DIR).join(SOCKET_FILE),
        _ => state_dir().join(SOCKET_FILE),
    }
}

/// The pid file that goes with a socket: same directory, `.pid` instead of `.sock`.
pub fn pid_file_for(socket: &std::path::Path) -> PathBuf {
    socket.with_extension("pid")
}
