//! Devices paired with the web dashboard.
//!
//! A pairing code is shown in the terminal of `orchestractl web --lan`; a phone that
//! presents it gets a 256-bit device token. Only SHA-256 hashes of codes and tokens are
//! kept (codes in memory, tokens in the store), so a leaked store unlocks nothing. Wrong
//! codes are rate-limited per address ([`limit`]) so eight characters are plenty, and one
//! noisy address locks out only itself. On this machine a browser gets its token from a
//! one-time login link instead ([`login`]).
//!
//! Every secret comes from the OS random source (`getrandom`), and hashes of presented
//! secrets are compared in constant time (`subtle`), so neither a predictable generator
//! nor response timing tells an attacker anything about a live code or token.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

mod limit;
pub mod login;

use crate::store::{Store, StoreError, Table};
use crate::time::now_ms;

/// Store table of devices, keyed by device id.
const TABLE: &str = "devices";
/// How long a pairing code works.
const CODE_LIFETIME: Duration = Duration::from_secs(600);
/// Longest device name kept, in characters.
const MAX_NAME: usize = 60;
/// Names that claude-orchestra's own clients answer under (`decided_by` of an approval):
/// a device may not pass for one of them.
const RESERVED_NAMES: &[&str] = &[
    "cli",
    "dashboard",
    "daemon",
    "hook",
    "orchestrad",
    "orchestractl",
    "orchestra-dashboard",
];
/// Characters of pairing codes: no 0/O, 1/I/L look-alikes.
const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";

/// A paired device as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Device {
    /// Short id.
    pub id: String,
    /// The name its user gave it (see [`device_name`]).
    pub name: String,
    /// SHA-256 of its token, hex.
    pub token_sha256: String,
    /// Paired at, ms since the epoch.
    pub paired_at_ms: i64,
    /// Last seen, ms since the epoch.
    pub last_seen_ms: i64,
}

/// Why a device operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// The code is wrong or expired.
    #[error("that pairing code is wrong or expired: run `orchestractl web --lan` for a fresh one")]
    BadCode,
    /// Too many wrong codes from this address lately.
    #[error("too many wrong pairing codes from this address; wait a minute and try again")]
    RateLimited,
    /// The login link is spent, expired or was never made.
    #[error(
        "that login link is used or expired: run `orchestractl web link` on this machine for a new one"
    )]
    BadLink,
    /// A name a device may not have.
    #[error("{0}")]
    BadName(String),
    /// No dashboard serves the page a login link was asked for.
    #[error("{0}")]
    NoPage(String),
    /// The token is unknown (never issued, or revoked).
    #[error("unknown or revoked device token: pair this device again")]
    BadToken,
    /// No device has this id.
    #[error("no device matches {0:?}: list them with `orchestractl web devices`")]
    NotFound(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Pairing state: codes and the wrong-code counters.
#[derive(Debug, Default)]
struct Pairing {
    /// Hash of each live code -> when it expires.
    codes: HashMap<String, Instant>,
    /// Wrong codes per address.
    wrong: limit::PerAddress,
}

/// The paired devices.
#[derive(Debug)]
pub struct Devices {
    /// Persistence of devices.
    table: Table,
    /// Codes and rate limiting, in memory (a restart voids unused codes).
    pairing: Mutex<Pairing>,
    /// Login links and the dashboards they lead to, in memory.
    logins: login::Logins,
}

/// SHA-256 of `text`, hex.
pub fn sha256_hex(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// 256 bits from the OS random source.
fn random_bytes() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .expect("the OS random source works (getrandom cannot fail on Linux or macOS)");
    bytes
}

/// A pairing code of `len` characters, each uniformly random over [`ALPHABET`]: bytes at
/// or above the largest multiple of the alphabet's size are drawn again, so no character
/// is likelier than another (a plain `byte % 31` would favour the first nine).
fn random_code(len: usize) -> String {
    let limit = 256 - 256 % ALPHABET.len();
    let mut code = String::with_capacity(len);
    while code.len() < len {
        for byte in random_bytes() {
            if (byte as usize) < limit && code.len() < len {
                code.push(ALPHABET[byte as usize % ALPHABET.len()] as char);
            }
        }
    }
    code
}

/// The name a device is stored under: `name` without control characters, trimmed, at
/// most [`MAX_NAME`] characters, "browser" when empty; refused when it is one of the
/// [`RESERVED_NAMES`] (in any case), so no device passes for the CLI or the daemon.
pub fn device_name(name: &str) -> Result<String, DeviceError> {
    let name: String = name.chars().filter(|c| !c.is_control()).collect();
    let name: String = name.trim().chars().take(MAX_NAME).collect();
    let name = name.trim();
    if name.is_empty() {
        return Ok("browser".to_owned());
    }
    if RESERVED_NAMES.iter().any(|r| r.eq_ignore_ascii_case(name)) {
        return Err(DeviceError::BadName(format!(
            "{name:?} is what claude-orchestra's own clients are called ({}): give the device another name",
            RESERVED_NAMES.join(", ")
        )));
    }
    Ok(name.to_owned())
}

/// A new device token: 256 bits from the OS random source, hex.
fn new_token() -> String {
    random_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether two hex hashes are equal, in time that does not depend on where they differ.
fn same_hash(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq as _;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

impl Devices {
    /// Loads the devices table.
    pub fn load(store: &Store) -> Result<Devices, StoreError> {
        Ok(Devices {
            table: store.table(TABLE)?,
            pairing: Mutex::new(Pairing::default()),
            logins: login::Logins::default(),
        })
    }

    /// A new one-time code and when it expires (ms since the epoch).
    pub fn create_code(&self) -> (String, i64) {
        let code = random_code(8);
        let mut pairing = self.pairing.lock();
        let now = Instant::now();
        pairing.codes.retain(|_, expiry| *expiry > now);
        pairing.codes.insert(sha256_hex(&code), now + CODE_LIFETIME);
        (code, now_ms() + CODE_LIFETIME.as_millis() as i64)
    }

    /// Exchanges `code` for a token; returns the token and the new device. Wrong codes
    /// count against `address` (the IP the attempt came from) only.
    pub async fn pair(
        &self,
        code: &str,
        name: &str,
        address: &str,
    ) -> Result<(String, Device), DeviceError> {
        let name = device_name(name)?;
        {
            let mut pairing = self.pairing.lock();
            let now = Instant::now();
            if pairing.wrong.locked(address, now) {
                return Err(DeviceError::RateLimited);
            }
            let hash = sha256_hex(&code.trim().to_ascii_uppercase());
            // Every live code is compared (none skipped on a first mismatch), in constant time.
            let found = pairing.codes.keys().fold(None, |found, live| {
                found.or(same_hash(live, &hash).then(|| live.clone()))
            });
            match found.and_then(|live| pairing.codes.remove(&live)) {
                Some(expiry) if expiry > now => {}
                _ => {
                    pairing.wrong.count(address, now);
                    return Err(DeviceError::BadCode);
                }
            }
        }
        self.add(name).await
    }

    /// Stores a new device named `name` (already checked); returns its token and it.
    async fn add(&self, name: String) -> Result<(String, Device), DeviceError> {
        let token = new_token();
        let now = now_ms();
        let device = Device {
            id: uuid::Uuid::new_v4().simple().to_string()[..8].to_owned(),
            name,
            token_sha256: sha256_hex(&token),
            paired_at_ms: now,
            last_seen_ms: now,
        };
        self.table.put(&device.id, &device)?;
        self.table.flush().await?;
        Ok((token, device))
    }

    /// The device holding `token`, marked as seen now.
    pub fn verify(&self, token: &str) -> Result<Device, DeviceError> {
        let hash = sha256_hex(token.trim());
        let mut device = self
            .list()?
            .into_iter()
            .find(|d| same_hash(&d.token_sha256, &hash))
            .ok_or(DeviceError::BadToken)?;
        // Seen-times are informative; recording them at most once a minute is plenty.
        let now = now_ms();
        if now - device.last_seen_ms > 60_000 {
            device.last_seen_ms = now;
            self.table.put(&device.id, &device)?;
        }
        Ok(device)
    }

    /// Who gives an answer, as approvals record it: the name of the paired device holding
    /// `token` (a token no longer paired is refused), else the name the client gave itself,
    /// else `cli`. Only the socket's own user reaches the API; a device must also prove it
    /// is paired.
    pub fn answerer(&self, token: &str, client: String) -> Result<String, DeviceError> {
        if !token.is_empty() {
            Ok(self.verify(token)?.name)
        } else if !client.is_empty() {
            Ok(client)
        } else {
            Ok("cli".to_owned())
        }
    }

    /// Every device, newest first.
    pub fn list(&self) -> Result<Vec<Device>, DeviceError> {
        let mut devices: Vec<Device> = self.table.all()?.into_iter().map(|(_, d)| d).collect();
        devices.sort_by_key(|d| std::cmp::Reverse(d.paired_at_ms));
        Ok(devices)
    }

    /// The ids of every paired device.
    pub fn ids(&self) -> Result<Vec<String>, StoreError> {
        Ok(self
            .table
            .all::<Device>()?
            .into_iter()
            .map(|(id, _)| id)
            .collect())
    }

    /// Unpairs the device with this id or unique prefix.
    pub async fn revoke(&self, id: &str) -> Result<Device, DeviceError> {
        let id = id.trim();
        let matches: Vec<Device> = self
            .list()?
            .into_iter()
            .filter(|d| !id.is_empty() && d.id.starts_with(id))
            .collect();
        let [device] = matches.as_slice() else {
            return Err(DeviceError::NotFound(id.to_owned()));
        };
        self.table.remove(&device.id)?;
        self.table.flush().await?;
        Ok(device.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn codes_pair_once_tokens_verify_and_wrong_codes_are_limited() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("store");
        let devices = Devices::load(&store).expect("devices");
        let (code, _) = devices.create_code();
        assert_eq!(code.len(), 8);
        let (token, device) = devices
            .pair(&code.to_lowercase(), "phone", "127.0.0.1")
            .await
            .expect("pair");
        assert_eq!(token.len(), 64);
        assert!(
            matches!(
                devices.pair(&code, "again", "127.0.0.1").await,
                Err(DeviceError::BadCode)
            ),
            "one use only"
        );
        assert_eq!(devices.verify(&token).expect("verify").id, device.id);
        assert!(
            !store
                .table(TABLE)
                .expect("t")
                .get::<Device>(&device.id)
                .expect("get")
                .expect("some")
                .token_sha256
                .contains(&token)
        );
        for _ in 0..4 {
            assert!(matches!(
                devices.pair("WRONGONE", "x", "127.0.0.1").await,
                Err(DeviceError::BadCode)
            ));
        }
        let (fresh, _) = devices.create_code();
        assert!(
            matches!(
                devices.pair(&fresh, "x", "127.0.0.1").await,
                Err(DeviceError::RateLimited)
            ),
            "even a right code waits out the limit"
        );
        let (other, _) = devices.create_code();
        devices
            .pair(&other, "x", "127.0.0.2")
            .await
            .expect("another address is not locked out");
        devices.revoke(&device.id[..4]).await.expect("revoke");
        assert!(matches!(devices.verify(&token), Err(DeviceError::BadToken)));
    }

    #[test]
    fn codes_use_every_character_evenly_and_tokens_carry_256_bits() {
        let mut counts: HashMap<char, u32> = HashMap::new();
        for _ in 0..10_000 {
            for c in random_code(8).chars() {
                *counts.entry(c).or_insert(0) += 1;
            }
        }
        assert_eq!(counts.len(), ALPHABET.len(), "every character appears");
        // 80000 draws: about 2581 per character, give or take 50. A plain `byte % 31`
        // would give the first eight characters ~2727 and the rest ~2424.
        let mean = |chars: &[u8]| {
            chars
                .iter()
                .map(|c| counts[&(*c as char)] as f64)
                .sum::<f64>()
                / chars.len() as f64
        };
        let (first, rest) = (mean(&ALPHABET[..8]), mean(&ALPHABET[8..]));
        assert!(
            (first - rest).abs() < 100.0,
            "biased codes: {first} vs {rest}"
        );
        let (a, b) = (random_bytes(), random_bytes());
        assert_ne!(a, b);
        assert!(same_hash(&sha256_hex("x"), &sha256_hex("x")));
        assert!(!same_hash(&sha256_hex("x"), &sha256_hex("y")));
        assert!(!same_hash("ab", "abc"));
    }

    #[test]
    fn names_are_cleaned_and_never_pass_for_a_client_of_the_socket() {
        assert_eq!(device_name("  Pixel\u{7} 9 \n").expect("ok"), "Pixel 9");
        assert_eq!(device_name("").expect("ok"), "browser");
        assert_eq!(device_name(&"x".repeat(500)).expect("ok").len(), MAX_NAME);
        for name in ["cli", "CLI", " orchestrad ", "Dashboard"] {
            assert!(
                matches!(device_name(name), Err(DeviceError::BadName(_))),
                "{name}"
            );
        }
    }

    #[tokio::test]
    async fn revoked_tokens_stay_out() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("store");
        let devices = Devices::load(&store).expect("devices");
        let (code, _) = devices.create_code();
        let (token, device) = devices.pair(&code, "phone", "").await.expect("pair");
        devices.revoke(&device.id).await.expect("revoke");
        assert!(matches!(devices.verify(&token), Err(DeviceError::BadToken)));
    }
}
