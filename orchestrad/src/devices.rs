//! Devices paired with the web dashboard.
//!
//! A pairing code is shown in the terminal of `orchestractl web --lan`; a phone that
//! presents it gets a 256-bit device token. Only SHA-256 hashes of codes and tokens are
//! kept (codes in memory, tokens in the store), so a leaked store unlocks nothing. Wrong
//! codes are rate-limited so eight characters are plenty.
//!
//! Every secret comes from the OS random source (`getrandom`), and hashes of presented
//! secrets are compared in constant time (`subtle`), so neither a predictable generator
//! nor response timing tells an attacker anything about a live code or token.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::store::{Store, StoreError, Table};
use crate::time::now_ms;

/// Store table of devices, keyed by device id.
const TABLE: &str = "devices";
/// How long a pairing code works.
const CODE_LIFETIME: Duration = Duration::from_secs(600);
/// Wrong codes allowed per window before pairing is refused for the rest of it.
const MAX_WRONG: u32 = 5;
/// The rate-limit window.
const WINDOW: Duration = Duration::from_secs(60);
/// Characters of pairing codes: no 0/O, 1/I/L look-alikes.
const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";

/// A paired device as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Device {
    /// Short id.
    pub id: String,
    /// What the device said it is.
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
    /// Too many wrong codes lately.
    #[error("too many wrong pairing codes; wait a minute and try again")]
    RateLimited,
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

/// Pairing state: codes and the wrong-code counter.
#[derive(Debug, Default)]
struct Pairing {
    /// Hash of each live code -> when it expires.
    codes: HashMap<String, Instant>,
    /// Start of the current rate-limit window and wrong codes in it.
    window: Option<(Instant, u32)>,
}

/// The paired devices.
#[derive(Debug)]
pub struct Devices {
    /// Persistence of devices.
    table: Table,
    /// Codes and rate limiting, in memory (a restart voids unused codes).
    pairing: Mutex<Pairing>,
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

    /// Exchanges `code` for a token; returns the token and the new device.
    pub async fn pair(&self, code: &str, name: &str) -> Result<(String, Device), DeviceError> {
        {
            let mut pairing = self.pairing.lock();
            let now = Instant::now();
            if let Some((start, wrong)) = pairing.window
                && now.duration_since(start) < WINDOW
                && wrong >= MAX_WRONG
            {
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
                    let window = match pairing.window {
                        Some((start, wrong)) if now.duration_since(start) < WINDOW => {
                            (start, wrong + 1)
                        }
                        _ => (now, 1),
                    };
                    pairing.window = Some(window);
                    return Err(DeviceError::BadCode);
                }
            }
        }
        let token: String = random_bytes().iter().map(|b| format!("{b:02x}")).collect();
        let now = now_ms();
        let name: String = name.chars().filter(|c| !c.is_control()).take(80).collect();
        let device = Device {
            id: uuid::Uuid::new_v4().simple().to_string()[..8].to_owned(),
            name: if name.trim().is_empty() {
                "browser".to_owned()
            } else {
                name
            },
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
            .pair(&code.to_lowercase(), "phone")
            .await
            .expect("pair");
        assert_eq!(token.len(), 64);
        assert!(
            matches!(
                devices.pair(&code, "again").await,
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
                devices.pair("WRONGONE", "x").await,
                Err(DeviceError::BadCode)
            ));
        }
        let (fresh, _) = devices.create_code();
        assert!(
            matches!(
                devices.pair(&fresh, "x").await,
                Err(DeviceError::RateLimited)
            ),
            "even a right code waits out the limit"
        );
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

    #[tokio::test]
    async fn revoked_tokens_stay_out() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("store");
        let devices = Devices::load(&store).expect("devices");
        let (code, _) = devices.create_code();
        let (token, device) = devices.pair(&code, "phone").await.expect("pair");
        devices.revoke(&device.id).await.expect("revoke");
        assert!(matches!(devices.verify(&token), Err(DeviceError::BadToken)));
    }
}
