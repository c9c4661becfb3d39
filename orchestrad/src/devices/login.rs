//! One-time login links for the dashboard on this machine (`orchestractl web link`).
//!
//! The socket (mode 0600, peer uid checked) is the root of trust: only its user can ask
//! for a link, so a browser that opens one was handed it by that user. A link's token is
//! 256 bits from the OS random source, kept only as a SHA-256 hash, valid [`LINK_LIFETIME`]
//! and spent by its first use, when the browser gets a device token as a paired phone does
//! (listed by `web devices`, revoked by `web revoke`).
//!
//! Dashboards tell the daemon where they serve ([`Devices::serve_page`]) for as long as
//! they run, so a link points at the running page without the user naming its port.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::{Device, DeviceError, Devices, device_name, new_token, same_hash, sha256_hex};
use crate::time::now_ms;

/// How long a login link works.
pub const LINK_LIFETIME: Duration = Duration::from_secs(60);

/// A dashboard page that is serving.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Page {
    /// Which registration this is (a page on the same port may come and go).
    id: u64,
    /// Its port on 127.0.0.1.
    port: u16,
    /// Whether it speaks HTTPS.
    tls: bool,
    /// Where phones on the LAN reach it; `None` for a loopback-only page.
    lan_url: Option<String>,
}

/// Live login links and serving pages, in memory: a restart voids unused links, and
/// pages register again when they reconnect.
#[derive(Debug, Default)]
pub(super) struct Logins {
    /// Hash of each live link's token -> when it expires.
    links: Mutex<HashMap<String, Instant>>,
    /// The pages serving now, oldest first.
    pages: Mutex<Vec<Page>>,
    /// The next page id.
    next_page: Mutex<u64>,
}

/// A login link as made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginLink {
    /// The URL to open.
    pub url: String,
    /// When it stops working, ms since the epoch.
    pub expires_at_ms: i64,
}

/// A page's registration; dropping it (the dashboard went away) unregisters the page.
#[derive(Debug)]
pub struct PageGuard<'a> {
    /// Whose registry it is in.
    devices: &'a Devices,
    /// The registration.
    id: u64,
}

impl Drop for PageGuard<'_> {
    fn drop(&mut self) {
        self.devices
            .logins
            .pages
            .lock()
            .retain(|page| page.id != self.id);
    }
}

impl Devices {
    /// Registers a dashboard serving on `port` of 127.0.0.1 (and, with `lan_url`, on the
    /// LAN there), until the guard is dropped.
    pub fn serve_page(&self, port: u16, tls: bool, lan_url: Option<String>) -> PageGuard<'_> {
        let id = {
            let mut next = self.logins.next_page.lock();
            *next += 1;
            *next
        };
        let mut pages = self.logins.pages.lock();
        // A page that comes back on a port replaces what was there.
        pages.retain(|page| page.port != port);
        pages.push(Page {
            id,
            port,
            tls,
            lan_url,
        });
        PageGuard { devices: self, id }
    }

    /// A one-time login link to the page on `port` (0: the one page serving).
    pub fn create_login_link(&self, port: u16) -> Result<LoginLink, DeviceError> {
        let page = self.page(port)?;
        let token = new_token();
        let now = Instant::now();
        let mut links = self.logins.links.lock();
        links.retain(|_, expiry| *expiry > now);
        links.insert(sha256_hex(&token), now + LINK_LIFETIME);
        let scheme = if page.tls { "https" } else { "http" };
        Ok(LoginLink {
            url: format!("{scheme}://127.0.0.1:{}/login?token={token}", page.port),
            expires_at_ms: now_ms() + LINK_LIFETIME.as_millis() as i64,
        })
    }

    /// Spends the link whose token is `token`: a new device named `name` and its token.
    pub async fn redeem_login_link(
        &self,
        token: &str,
        name: &str,
    ) -> Result<(String, Device), DeviceError> {
        let name = device_name(name)?;
        {
            let hash = sha256_hex(token.trim());
            let now = Instant::now();
            let mut links = self.logins.links.lock();
            // Every live link is compared (none skipped on a first mismatch), in constant time.
            let found = links.keys().fold(None, |found, live| {
                found.or(same_hash(live, &hash).then(|| live.clone()))
            });
            match found.and_then(|live| links.remove(&live)) {
                Some(expiry) if expiry > now => {}
                _ => return Err(DeviceError::BadLink),
            }
        }
        self.add(name).await
    }

    /// A pairing code for the LAN page on `port` (0: the one LAN page serving), and the link
    /// to it, which suggests `name` for the device when given.
    pub fn create_pairing_link(&self, port: u16, name: &str) -> Result<PairingLink, DeviceError> {
        let lan_url = {
            let pages = self.logins.pages.lock();
            let lan: Vec<Page> = pages
                .iter()
                .filter(|p| p.lan_url.is_some())
                .cloned()
                .collect();
            let page = match (port, lan.as_slice()) {
                (0, [page]) => page.clone(),
                (0, []) if pages.is_empty() => {
                    return Err(DeviceError::NoPage(
                        "no dashboard is running: start one for phones with `orchestractl web --lan`"
                            .to_owned(),
                    ));
                }
                (0, []) => {
                    return Err(DeviceError::NoPage(format!(
                        "no dashboard serves the LAN{}: restart it with `orchestractl web --lan` \
                         (a phone cannot reach a page on 127.0.0.1)",
                        others(&pages)
                    )));
                }
                (0, _) => {
                    return Err(DeviceError::NoPage(format!(
                        "several LAN dashboards are running{}: say which with --port",
                        others(&lan)
                    )));
                }
                (port, _) => pages
                    .iter()
                    .find(|page| page.port == port)
                    .cloned()
                    .ok_or_else(|| {
                        DeviceError::NoPage(format!(
                            "no dashboard is serving on port {port}{}",
                            others(&pages)
                        ))
                    })?,
            };
            let Some(lan_url) = page.lan_url else {
                return Err(DeviceError::NoPage(format!(
                    "the dashboard on port {} serves this machine only: restart it with \
                     `orchestractl web --lan` so a phone can reach it",
                    page.port
                )));
            };
            lan_url
        };
        let name = name.trim();
        if !name.is_empty() {
            device_name(name)?;
        }
        let (code, expires_at_ms) = self.create_code();
        let mut url = format!("{}pair?code={code}", lan_url);
        if !name.is_empty() {
            url.push_str("&name=");
            url.push_str(&percent_encode(name));
        }
        Ok(PairingLink {
            code,
            url,
            expires_at_ms,
        })
    }

    /// The page a link for `port` goes to.
    fn page(&self, port: u16) -> Result<Page, DeviceError> {
        let pages = self.logins.pages.lock();
        if port != 0 {
            return pages
                .iter()
                .find(|page| page.port == port)
                .cloned()
                .ok_or_else(|| {
                    DeviceError::NoPage(format!(
                        "no dashboard is serving on port {port}: start it with `orchestractl web --port {port}`{}",
                        others(&pages)
                    ))
                });
        }
        match pages.as_slice() {
            [page] => Ok(page.clone()),
            [] => Err(DeviceError::NoPage(
                "no dashboard is running: start one with `orchestractl web` (it prints a login link itself)"
                    .to_owned(),
            )),
            _ => Err(DeviceError::NoPage(format!(
                "several dashboards are running{}: say which with --port",
                others(&pages)
            ))),
        }
    }
}

/// A pairing code as made for a running LAN page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairingLink {
    /// The one-time code.
    pub code: String,
    /// The link to open on the phone.
    pub url: String,
    /// When the code stops working, ms since the epoch.
    pub expires_at_ms: i64,
}

/// `text` as a URL query value: unreserved characters as they are, the rest as %XX.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

/// " (ports A, B)" of the pages serving, or nothing.
fn others(pages: &[Page]) -> String {
    if pages.is_empty() {
        return String::new();
    }
    let ports: Vec<String> = pages.iter().map(|p| p.port.to_string()).collect();
    format!(" (serving: port {})", ports.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[tokio::test]
    async fn a_link_logs_in_once_and_only_for_a_serving_page() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("store");
        let devices = Devices::load(&store).expect("devices");
        assert!(matches!(
            devices.create_login_link(0),
            Err(DeviceError::NoPage(_))
        ));
        let page = devices.serve_page(8123, false, None);
        let link = devices.create_login_link(0).expect("a link");
        assert!(link.url.starts_with("http://127.0.0.1:8123/login?token="));
        let token = link.url.split("token=").nth(1).expect("token");
        assert_eq!(token.len(), 64);
        let (device_token, device) = devices
            .redeem_login_link(token, "Firefox on Linux")
            .await
            .expect("first use");
        assert_eq!(devices.verify(&device_token).expect("verify").id, device.id);
        assert!(matches!(
            devices.redeem_login_link(token, "x").await,
            Err(DeviceError::BadLink)
        ));
        assert!(matches!(
            devices.create_login_link(9999),
            Err(DeviceError::NoPage(_))
        ));
        drop(page);
        assert!(matches!(
            devices.create_login_link(8123),
            Err(DeviceError::NoPage(_))
        ));
        let _tls = devices.serve_page(8124, true, None);
        let link = devices.create_login_link(8124).expect("a link");
        assert!(link.url.starts_with("https://127.0.0.1:8124/login?token="));
    }

    #[tokio::test]
    async fn a_pairing_link_is_for_the_lan_page_and_pairs_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("store");
        let devices = Devices::load(&store).expect("devices");
        let _local = devices.serve_page(8125, false, None);
        assert!(matches!(
            devices.create_pairing_link(0, ""),
            Err(DeviceError::NoPage(why)) if why.contains("--lan")
        ));
        let _lan = devices.serve_page(8126, true, Some("https://192.168.1.5:8126/".to_owned()));
        let link = devices
            .create_pairing_link(0, "Anna's phone")
            .expect("a link");
        assert_eq!(
            link.url,
            format!(
                "https://192.168.1.5:8126/pair?code={}&name=Anna%27s%20phone",
                link.code
            )
        );
        assert!(matches!(
            devices.create_pairing_link(0, "cli"),
            Err(DeviceError::BadName(_))
        ));
        let (_, device) = devices
            .pair(&link.code, "Anna's phone", "192.168.1.9")
            .await
            .expect("pairs");
        assert_eq!(device.name, "Anna's phone");
        assert!(
            devices
                .pair(&link.code, "again", "192.168.1.9")
                .await
                .is_err()
        );
    }
}
