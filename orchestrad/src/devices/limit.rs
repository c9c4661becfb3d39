//! Wrong pairing codes, counted per address: [`MAX_WRONG`] in a [`WINDOW`] lock that
//! address out for the rest of the window, and nobody else. (One shared counter let 40
//! wrong codes from one machine lock every phone out.)
//!
//! An IPv6 address is counted by its /64 prefix (one LAN host can pick any address in
//! it). The table is bounded: once [`MAX_ADDRESSES`] addresses are counting, further ones
//! share one counter, so a flood of addresses costs memory once and locks out only itself.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Wrong codes allowed per window before that address is refused for the rest of it.
pub(super) const MAX_WRONG: u32 = 5;
/// The rate-limit window.
pub(super) const WINDOW: Duration = Duration::from_secs(60);
/// Addresses counted one by one; more share the counter of [`OVERFLOW`].
const MAX_ADDRESSES: usize = 4096;
/// The key of the shared counter.
const OVERFLOW: &str = "(many addresses)";

/// Wrong codes per address.
#[derive(Debug, Default)]
pub(super) struct PerAddress {
    /// Address key -> start of its window and wrong codes in it.
    windows: HashMap<String, (Instant, u32)>,
}

/// What `address` is counted as: the IP (IPv4-mapped IPv6 as IPv4, IPv6 by /64), or the
/// text itself when it is no IP (cut short).
fn key(address: &str) -> String {
    match address.trim().parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Ok(ip) => ip.to_string(),
        Err(_) => address.chars().take(64).collect(),
    }
}

impl PerAddress {
    /// Whether `address` has used up its wrong codes for now.
    pub(super) fn locked(&self, address: &str, now: Instant) -> bool {
        let key = key(address);
        let window = self
            .windows
            .get(&key)
            .or_else(|| self.windows.get(OVERFLOW).filter(|_| self.full()));
        window.is_some_and(|(start, wrong)| {
            now.duration_since(*start) < WINDOW && *wrong >= MAX_WRONG
        })
    }

    /// Counts a wrong code from `address`.
    pub(super) fn count(&mut self, address: &str, now: Instant) {
        self.windows
            .retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        let mut key = key(address);
        if !self.windows.contains_key(&key) && self.full() {
            key = OVERFLOW.to_owned();
        }
        let window = self.windows.entry(key).or_insert((now, 0));
        window.1 += 1;
    }

    fn full(&self) -> bool {
        self.windows.len() >= MAX_ADDRESSES
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_address_locks_out_only_itself() {
        let mut limit = PerAddress::default();
        let now = Instant::now();
        for _ in 0..40 {
            limit.count("127.0.0.2", now);
        }
        assert!(limit.locked("127.0.0.2", now));
        assert!(limit.locked("::ffff:127.0.0.2", now), "the same host");
        assert!(!limit.locked("127.0.0.1", now));
        assert!(
            !limit.locked("127.0.0.2", now + WINDOW),
            "the lockout is short"
        );
        for _ in 0..MAX_WRONG {
            limit.count("2001:db8::1", now);
        }
        assert!(limit.locked("2001:db8::2", now), "one /64 is one host");
        assert!(!limit.locked("2001:db9::1", now));
    }

    #[test]
    fn a_flood_of_addresses_shares_one_counter() {
        let mut limit = PerAddress::default();
        let now = Instant::now();
        for i in 0..(MAX_ADDRESSES as u32 + 10) {
            limit.count(&std::net::Ipv4Addr::from(0x0a00_0000 + i).to_string(), now);
        }
        assert!(limit.windows.len() <= MAX_ADDRESSES + 1);
        assert!(
            !limit.locked("10.0.0.1", now),
            "counted once, below the limit"
        );
    }
}
