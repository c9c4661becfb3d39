//! The web dashboard: login and pairing, the LAN's limits, TLS, the batches view, a real
//! browser, and a phone that trusts this machine's CA.
//!
//! One test binary per area (linking the support crate once, not once per file); each
//! file below is one subject.

mod dashboard_auth;
mod dashboard_batches;
mod dashboard_browser;
mod dashboard_ca;
mod dashboard_hosts;
mod dashboard_lan;
mod dashboard_phone;
mod dashboard_spend;
mod dashboard_talk;
mod dashboard_talk_browser;
mod dashboard_tls;
