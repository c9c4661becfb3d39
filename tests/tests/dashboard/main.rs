//! The web dashboard: login and pairing, the LAN's limits, TLS, the batches view, and a real browser.
//!
//! One test binary per area (linking the support crate once, not once per file); each
//! file below is one subject.

mod dashboard_auth;
mod dashboard_batches;
mod dashboard_browser;
mod dashboard_lan;
mod dashboard_spend;
mod dashboard_tls;
