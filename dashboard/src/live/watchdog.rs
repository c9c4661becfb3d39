//! What keeps a page's WebSocket honest while it is open: its device must still be
//! paired (a revoked device's sockets close within [`crate::auth::TOKEN_TTL`] and one
//! [`RECHECK`]), and it must still be there (pinged every [`PING`]; a socket that sends
//! nothing, not even the browser's automatic pong, for [`SOCKET_IDLE`] is closed).

use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, close_code};
use tokio::time::{Interval, MissedTickBehavior};

use crate::AppState;
use crate::auth::{Verdict, verify};

/// How often an open socket's device is checked again.
pub const RECHECK: Duration = Duration::from_secs(2);
/// How often a socket is pinged.
pub const PING: Duration = Duration::from_secs(10);
/// How long a socket may send nothing before it is closed.
pub const SOCKET_IDLE: Duration = Duration::from_secs(30);

/// What to do with the socket now.
#[derive(Debug)]
pub enum Due {
    /// Nothing.
    Nothing,
    /// Send a ping.
    Ping,
    /// Close it, saying why.
    Close(CloseFrame),
}

/// The checks of one socket.
#[derive(Debug)]
pub struct Watchdog {
    /// The device token the socket was opened with.
    token: Option<String>,
    /// Ticks every [`RECHECK`].
    interval: Interval,
    /// When the page last sent something.
    heard: Instant,
    /// When it was last pinged.
    pinged: Instant,
}

impl Watchdog {
    /// The checks of a socket opened with `token`.
    pub fn new(token: Option<String>) -> Watchdog {
        let mut interval = tokio::time::interval_at(tokio::time::Instant::now() + RECHECK, RECHECK);
        interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Watchdog {
            token,
            interval,
            heard: Instant::now(),
            pinged: Instant::now(),
        }
    }

    /// The page sent something.
    pub fn heard(&mut self) {
        self.heard = Instant::now();
    }

    /// Waits until the next check is due (cancel-safe, for `select!`).
    pub async fn tick(&mut self) {
        self.interval.tick().await;
    }

    /// Checks the socket (run to the end: not inside a `select!` branch's future).
    pub async fn check(&mut self, state: &AppState) -> Due {
        if let Some(token) = &self.token
            && matches!(verify(state, token).await, Verdict::Refused)
        {
            return Due::Close(CloseFrame {
                code: close_code::POLICY,
                reason: "this device was unpaired: pair it again to reconnect".into(),
            });
        }
        if self.heard.elapsed() >= SOCKET_IDLE {
            return Due::Close(CloseFrame {
                code: close_code::AWAY,
                reason: format!("closed: nothing heard for {} s", SOCKET_IDLE.as_secs()).into(),
            });
        }
        if self.pinged.elapsed() >= PING {
            self.pinged = Instant::now();
            return Due::Ping;
        }
        Due::Nothing
    }
}
