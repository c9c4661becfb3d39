//! Which `Host` a request may name: DNS rebinding defence.
//!
//! A page of another site whose name an attacker points at this machine's address would
//! send its own name as Host; only names of this machine are answered. On loopback those
//! are the loopback names; on the LAN also the host name (and its `.local` mDNS name), the
//! addresses of this machine's interfaces, and the names of the certificate served (the
//! user's own certificate may name the machine as their DNS knows it). The port must be
//! the dashboard's, when given.

use parking_lot::Mutex;
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// Loopback names, always answered.
const LOOPBACK: &[&str] = &["127.0.0.1", "localhost", "::1"];
/// How often the machine's addresses are read again when a request names an unknown host
/// (an address given by DHCP after the dashboard started).
const REFRESH: Duration = Duration::from_secs(10);

/// The names this dashboard answers to.
#[derive(Debug)]
pub struct Hosts {
    /// The dashboard's port.
    port: u16,
    /// Whether names other than loopback ones are answered (LAN mode).
    lan: bool,
    /// Names from the certificate served.
    cert_names: Vec<String>,
    /// The names known, lowercase, and when they were read.
    known: Mutex<(HashSet<String>, Instant)>,
}

/// The name and port of a Host header value (`name:port`, `[v6]:port`, or a bare name),
/// the name lowercased and without brackets or a trailing dot.
pub fn split_host(host: &str) -> Option<(String, Option<u16>)> {
    let (name, port) = if let Some(rest) = host.strip_prefix('[') {
        let (name, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(port) => Some(port.parse().ok()?),
            None if after.is_empty() => None,
            None => return None,
        };
        (name, port)
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) => (name, Some(port.parse().ok()?)),
            None => (host, None),
        }
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    (!name.is_empty()).then_some((name, port))
}

impl Hosts {
    /// The names of a dashboard on `port`, with `cert_names` from its certificate.
    pub fn new(port: u16, lan: bool, cert_names: Vec<String>) -> Hosts {
        let hosts = Hosts {
            port,
            lan,
            cert_names,
            known: Mutex::new((HashSet::new(), Instant::now())),
        };
        *hosts.known.lock() = (hosts.read(), Instant::now());
        hosts
    }

    fn read(&self) -> HashSet<String> {
        let mut names: HashSet<String> = LOOPBACK.iter().map(|n| (*n).to_owned()).collect();
        if self.lan {
            names.extend(crate::cert::machine_names());
            names.extend(self.cert_names.iter().cloned());
        }
        names.into_iter().map(|n| n.to_ascii_lowercase()).collect()
    }

    /// Whether `host` (a Host header's value) names this dashboard.
    pub fn allows(&self, host: &str) -> bool {
        let Some((name, port)) = split_host(host) else {
            return false;
        };
        if port.is_some_and(|port| port != self.port) {
            return false;
        }
        let mut known = self.known.lock();
        if known.0.contains(&name) {
            return true;
        }
        if self.lan && known.1.elapsed() >= REFRESH {
            *known = (self.read(), Instant::now());
            return known.0.contains(&name);
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_machines_names_on_this_port() {
        let loopback = Hosts::new(8888, false, Vec::new());
        for ok in [
            "127.0.0.1:8888",
            "localhost:8888",
            "[::1]:8888",
            "LOCALHOST.:8888",
        ] {
            assert!(loopback.allows(ok), "{ok}");
        }
        for bad in [
            "evil.example:8888",
            "127.0.0.1:8889",
            "127.0.0.1:x",
            "",
            ":8888",
            "[::1",
        ] {
            assert!(!loopback.allows(bad), "{bad}");
        }
        let lan = Hosts::new(8888, true, vec!["box.example.ts.net".to_owned()]);
        assert!(
            lan.allows("box.example.ts.net:8888"),
            "a name of the certificate"
        );
        assert!(!lan.allows("evil.example:8888"));
        if let Some(ip) = crate::cert::machine_addresses().first() {
            let host = match ip {
                std::net::IpAddr::V4(v4) => format!("{v4}:8888"),
                std::net::IpAddr::V6(v6) => format!("[{v6}]:8888"),
            };
            assert!(lan.allows(&host), "{host}");
            assert!(
                !loopback.allows(&host),
                "loopback answers loopback names only"
            );
        }
    }
}
