//! The dashboard's TLS certificate: where it lives, making one on first use (signed by this
//! machine's own CA, [`crate::ca`]), loading the user's own, and describing either
//! (fingerprint, validity, names, files).
//!
//! The generated certificate names every private address a phone may use to reach this
//! machine (its LAN addresses, its host name, and loopback) and is kept in the state dir
//! with its key, both 0600. A phone that installed the CA once trusts it, and the next one
//! after a new DHCP address (made here when the machine's addresses change) too. A user who
//! has a real certificate (mkcert, `tailscale cert`) points the config keys `tls_cert` /
//! `tls_key` at it instead, and it wins.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use orchestra_proto::fs::at;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::Serialize;
use sha2::{Digest as _, Sha256};

pub use crate::keyfiles::{CertError, fingerprint};
use crate::keyfiles::{private_dir, write_private};

/// Days a generated certificate is valid: Apple devices refuse server certificates that
/// live longer than 398 days.
const VALID_DAYS: i64 = 397;
/// A certificate expiring within this many days is replaced when the dashboard starts.
const RENEW_WITHIN_DAYS: i64 = 14;

/// Where the certificate and key are, and whose they are.
#[derive(Debug, Clone)]
pub struct CertFiles {
    /// PEM certificate chain, leaf first.
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
    /// The user's own (config `tls_cert` / `tls_key`): never generated nor replaced here.
    pub own: bool,
}

impl CertFiles {
    /// The generated pair kept in `state_dir` (signed by the CA beside it).
    pub fn generated(state_dir: &Path) -> CertFiles {
        let dir = state_dir.join("dashboard-tls");
        CertFiles {
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
            own: false,
        }
    }

    /// The CA that signs the generated certificate (`None` for the user's own).
    pub fn ca(&self) -> Option<crate::ca::CaFiles> {
        let dir = self.cert.parent()?;
        (!self.own).then(|| crate::ca::CaFiles {
            cert: dir.join("ca.pem"),
            key: dir.join("ca-key.pem"),
        })
    }
}

/// What a user needs to know about a certificate (`orchestractl web cert --json`).
#[derive(Debug, Clone, Serialize)]
pub struct CertInfo {
    /// SHA-256 of the certificate (DER), colon-separated upper-case hex, as
    /// `openssl x509 -fingerprint -sha256` and browsers print it.
    pub fingerprint_sha256: String,
    /// SHA-256 of the public key (SPKI), base64: what Chromium's
    /// `--ignore-certificate-errors-spki-list` and HPKP-style pins take.
    pub spki_sha256_base64: String,
    /// Start of validity, RFC 3339.
    pub not_before: String,
    /// End of validity, RFC 3339.
    pub not_after: String,
    /// The host names and addresses the certificate names.
    pub names: Vec<String>,
    /// The certificate file.
    pub cert_path: PathBuf,
    /// The private key file.
    pub key_path: PathBuf,
    /// "generated" (signed by this machine's CA, kept in the state dir) or "config" (the user's own).
    pub source: &'static str,
    /// Whether this run made a new certificate.
    pub created: bool,
    /// SHA-256 of the CA that signed it (generated certificates only): what a phone shows
    /// when it installs `/ca.crt`.
    pub ca_fingerprint_sha256: Option<String>,
    /// This machine's names and addresses the certificate leaves out, because the CA may
    /// not vouch for them (public addresses): phones must use another name.
    pub left_out: Vec<String>,
    /// Whether this run replaced an older self-signed certificate with one the CA signed
    /// (phones that accepted the old one must install the CA once).
    pub migrated: bool,
}

/// A certificate ready to serve.
#[derive(Debug)]
pub struct Loaded {
    /// The chain, leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    /// Its key.
    pub key: PrivateKeyDer<'static>,
    /// What it is.
    pub info: CertInfo,
}

/// Loads the certificate of `files`; the generated one is made when missing, unreadable,
/// close to expiry, not signed by this machine's CA (an older self-signed one: migrated),
/// missing one of this machine's private addresses, or when `renew` asks for a new one.
pub fn load_or_create(files: &CertFiles, renew: bool) -> Result<Loaded, CertError> {
    let Some(ca_files) = files.ca() else {
        return load(files, false);
    };
    let ca = crate::ca::load_or_create(&ca_files)?;
    let mut migrated = false;
    if !renew && files.cert.exists() && files.key.exists() {
        match load(files, false) {
            Ok(loaded) if loaded.chain.get(1) != Some(&ca.der) => {
                tracing::info!(
                    "replacing the self-signed dashboard certificate with one the CA signs"
                );
                migrated = true;
            }
            Ok(loaded) if expires_soon(&loaded.info) => {
                tracing::info!("the dashboard certificate expires soon; making a new one");
            }
            Ok(loaded) if missing_address(&loaded.info) => {
                tracing::info!("this machine has a new address; signing a new certificate for it");
            }
            Ok(mut loaded) => {
                loaded.info.ca_fingerprint_sha256 = Some(ca.info.fingerprint_sha256.clone());
                loaded.info.left_out = left_out();
                return Ok(loaded);
            }
            Err(err) => tracing::warn!(%err, "making a new dashboard certificate"),
        }
    }
    create(files, &ca)?;
    let mut loaded = load(files, true)?;
    loaded.info.ca_fingerprint_sha256 = Some(ca.info.fingerprint_sha256.clone());
    loaded.info.left_out = left_out();
    loaded.info.migrated = migrated;
    Ok(loaded)
}

/// This machine's names the CA may not vouch for.
fn left_out() -> Vec<String> {
    let allowed = crate::ca::permitted_names();
    machine_names()
        .into_iter()
        .filter(|name| !crate::ca::permits(name, &allowed))
        .collect()
}

/// Whether a private address of this machine is missing from the certificate.
fn missing_address(info: &CertInfo) -> bool {
    let allowed = crate::ca::permitted_names();
    machine_addresses()
        .iter()
        .map(IpAddr::to_string)
        .any(|ip| crate::ca::permits(&ip, &allowed) && !info.names.contains(&ip))
}

/// The names a new certificate carries: loopback, the host name, and every address of
/// this machine's interfaces.
pub fn machine_names() -> Vec<String> {
    let mut names = vec!["localhost".to_owned()];
    if let Ok(host) = nix::unistd::gethostname()
        && let Some(host) = host.to_str().filter(|h| !h.is_empty())
    {
        names.push(host.to_owned());
        if !host.contains('.') {
            // Phones on the LAN often reach a machine by its mDNS name.
            names.push(format!("{host}.local"));
        }
    }
    names.extend(machine_addresses().iter().map(IpAddr::to_string));
    for ip in ["127.0.0.1", "::1"] {
        names.push(ip.to_owned());
    }
    let mut seen = std::collections::HashSet::new();
    names.retain(|n| seen.insert(n.clone()));
    names
}

/// The IPv4 address a phone on the LAN should use: a private one (which the CA may vouch
/// for) before any other.
pub fn lan_address() -> Option<IpAddr> {
    let allowed = crate::ca::permitted_names();
    let v4: Vec<IpAddr> = machine_addresses()
        .into_iter()
        .filter(IpAddr::is_ipv4)
        .collect();
    v4.iter()
        .find(|ip| crate::ca::permits(&ip.to_string(), &allowed))
        .or(v4.first())
        .copied()
}

/// Every non-loopback address of this machine's interfaces (IPv4 first).
pub fn machine_addresses() -> Vec<IpAddr> {
    let Ok(addrs) = nix::ifaddrs::getifaddrs() else {
        return Vec::new();
    };
    let mut ips: Vec<IpAddr> = addrs
        .filter_map(|iface| {
            let addr = iface.address?;
            addr.as_sockaddr_in()
                .map(|a| IpAddr::V4(a.ip()))
                .or_else(|| addr.as_sockaddr_in6().map(|a| IpAddr::V6(a.ip())))
        })
        .filter(|ip| match ip {
            IpAddr::V4(v4) => !v4.is_loopback() && !v4.is_unspecified() && !v4.is_link_local(),
            // Link-local IPv6 needs a zone id in a URL: no phone will use it.
            IpAddr::V6(v6) => {
                !v6.is_loopback() && !v6.is_unspecified() && !v6.is_unicast_link_local()
            }
        })
        .collect();
    ips.sort_by_key(|ip| ip.is_ipv6());
    ips.dedup();
    ips
}

fn expires_soon(info: &CertInfo) -> bool {
    chrono::DateTime::parse_from_rfc3339(&info.not_after).is_ok_and(|end| {
        end.signed_duration_since(chrono::Utc::now()) < chrono::Duration::days(RENEW_WITHIN_DAYS)
    })
}

/// Makes a new certificate signed by `ca` for this machine's names that `ca` may vouch
/// for, and writes it (chain: leaf, then the CA) and its key 0600.
fn create(files: &CertFiles, ca: &crate::ca::Ca) -> Result<(), CertError> {
    let allowed = crate::ca::permitted_names();
    let names: Vec<String> = machine_names()
        .into_iter()
        .filter(|name| crate::ca::permits(name, &allowed))
        .collect();
    let (leaf, key) = ca.sign(names, VALID_DAYS)?;
    private_dir(&files.cert)?;
    // Key first: a certificate on disk without its key would be reloaded and fail.
    write_private(&files.key, key.as_bytes())?;
    write_private(&files.cert, format!("{leaf}{}", ca.pem).as_bytes())?;
    Ok(())
}

fn load(files: &CertFiles, created: bool) -> Result<Loaded, CertError> {
    let invalid = |path: &Path, what, detail: String| CertError::Invalid {
        path: path.to_path_buf(),
        what,
        detail,
    };
    let cert_text = std::fs::read(&files.cert).map_err(at("read", &files.cert))?;
    let key_text = std::fs::read(&files.key).map_err(at("read", &files.key))?;
    let chain = CertificateDer::pem_slice_iter(&cert_text)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| invalid(&files.cert, "certificate", err.to_string()))?;
    let Some(leaf) = chain.first() else {
        return Err(invalid(
            &files.cert,
            "certificate",
            "no PEM certificate in it".to_owned(),
        ));
    };
    let key = PrivateKeyDer::from_pem_slice(&key_text)
        .map_err(|err| invalid(&files.key, "private key", err.to_string()))?;
    let info = describe(leaf, files, created)
        .map_err(|detail| invalid(&files.cert, "certificate", detail))?;
    Ok(Loaded { chain, key, info })
}

fn describe(
    leaf: &CertificateDer<'_>,
    files: &CertFiles,
    created: bool,
) -> Result<CertInfo, String> {
    let (_, cert) = x509_parser::parse_x509_certificate(leaf).map_err(|err| err.to_string())?;
    let time = |t: &x509_parser::time::ASN1Time| {
        chrono::DateTime::from_timestamp(t.timestamp(), 0)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default()
    };
    let validity = cert.validity();
    let mut names = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                x509_parser::extensions::GeneralName::DNSName(dns) => names.push(dns.to_string()),
                x509_parser::extensions::GeneralName::IPAddress(bytes) => {
                    let ip = match bytes.len() {
                        4 => <[u8; 4]>::try_from(*bytes).ok().map(IpAddr::from),
                        16 => <[u8; 16]>::try_from(*bytes).ok().map(IpAddr::from),
                        _ => None,
                    };
                    names.extend(ip.map(|ip| ip.to_string()));
                }
                _ => {}
            }
        }
    }
    Ok(CertInfo {
        fingerprint_sha256: fingerprint(leaf),
        spki_sha256_base64: base64::engine::general_purpose::STANDARD
            .encode(Sha256::digest(cert.public_key().raw)),
        not_before: time(&validity.not_before),
        not_after: time(&validity.not_after),
        names,
        cert_path: files.cert.clone(),
        key_path: files.key.clone(),
        source: if files.own { "config" } else { "generated" },
        created,
        ca_fingerprint_sha256: None,
        left_out: Vec::new(),
        migrated: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn a_generated_certificate_is_private_kept_and_renewed_on_request() {
        let dir = tempfile::tempdir().expect("tempdir");
        let files = CertFiles::generated(dir.path());
        let first = load_or_create(&files, false).expect("create");
        assert!(first.info.created);
        assert!(first.info.names.contains(&"127.0.0.1".to_owned()));
        assert!(first.info.names.contains(&"localhost".to_owned()));
        for path in [&files.cert, &files.key] {
            let mode = std::fs::metadata(path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{}", path.display());
        }
        let again = load_or_create(&files, false).expect("load");
        assert!(!again.info.created);
        assert_eq!(again.info.fingerprint_sha256, first.info.fingerprint_sha256);
        let renewed = load_or_create(&files, true).expect("renew");
        assert_ne!(
            renewed.info.fingerprint_sha256,
            first.info.fingerprint_sha256
        );
        // Signed by the CA, which follows it in the chain; only private names in it.
        assert_eq!(renewed.chain.len(), 2);
        assert!(renewed.info.ca_fingerprint_sha256.is_some());
        let allowed = crate::ca::permitted_names();
        assert!(
            renewed
                .info
                .names
                .iter()
                .all(|n| crate::ca::permits(n, &allowed)),
            "{:?}",
            renewed.info.names
        );

        // An older self-signed certificate moves over to one the CA signs, with a note.
        let key = rcgen::KeyPair::generate().expect("key");
        let old = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
            .expect("params")
            .self_signed(&key)
            .expect("self-signed");
        write_private(&files.key, key.serialize_pem().as_bytes()).expect("key");
        write_private(&files.cert, old.pem().as_bytes()).expect("cert");
        let migrated = load_or_create(&files, false).expect("migrate");
        assert!(migrated.info.migrated && migrated.info.created);
        assert_eq!(migrated.chain.len(), 2);
        let again = load_or_create(&files, false).expect("load");
        assert!(!again.info.migrated && !again.info.created);

        let own = CertFiles {
            own: true,
            ..files.clone()
        };
        std::fs::write(&files.cert, "not a certificate").expect("write");
        let err = load_or_create(&own, false).expect_err("garbage is refused");
        assert!(err.to_string().contains("tls_cert"), "{err}");
    }
}
