//! This machine's own certificate authority for the LAN page, as mkcert makes one: the
//! user installs its certificate on a phone once, and every serving certificate it signs
//! (a new one after a new DHCP address, say) is trusted there without another warning.
//!
//! The CA carries X.509 name constraints: it may vouch only for private addresses (10/8,
//! 172.16/12, 192.168/16, fd00::/8), loopback, and this machine's own names (its host
//! name, `NAME.local`, `localhost`). Browsers check those constraints on every
//! certificate it signs, so even a CA key that leaks cannot impersonate any other site.
//! Its key stays in the state dir, 0600, and never leaves this machine; its certificate is
//! public (the page serves it at `/ca.crt`).

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use orchestra_proto::fs::at;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use serde::Serialize;

use crate::keyfiles::{CertError, fingerprint, private_dir, set_validity, write_private};

/// Years the CA certificate is valid: it is installed on phones by hand, so it should
/// outlive many serving certificates.
const CA_VALID_DAYS: i64 = 3650;

/// The address ranges the CA may vouch for, as (network, prefix length): the private
/// ranges of RFC 1918 and RFC 4193, and loopback (which names only the phone itself).
pub const PERMITTED_RANGES: &[(&str, u8)] = &[
    ("10.0.0.0", 8),
    ("172.16.0.0", 12),
    ("192.168.0.0", 16),
    ("127.0.0.0", 8),
    ("fd00::", 8),
    ("::1", 128),
];

/// Where the CA lives: beside the serving certificate it signs.
#[derive(Debug, Clone)]
pub struct CaFiles {
    /// The CA certificate (PEM): public.
    pub cert: PathBuf,
    /// The CA private key (PEM): 0600, never served.
    pub key: PathBuf,
}

impl CaFiles {
    /// The CA kept in `state_dir`.
    pub fn in_state_dir(state_dir: &Path) -> CaFiles {
        let dir = state_dir.join("dashboard-tls");
        CaFiles {
            cert: dir.join("ca.pem"),
            key: dir.join("ca-key.pem"),
        }
    }
}

/// What `orchestractl web ca --json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct CaInfo {
    /// SHA-256 of the CA certificate (DER), colon-separated upper-case hex: what a phone
    /// shows when it installs the certificate.
    pub fingerprint_sha256: String,
    /// The CA certificate (PEM).
    pub cert_path: PathBuf,
    /// Its private key (never leaves this machine).
    pub key_path: PathBuf,
    /// End of validity, RFC 3339.
    pub not_after: String,
    /// The names and address ranges it may vouch for (its name constraints).
    pub permitted: Vec<String>,
    /// Whether this run made the CA.
    pub created: bool,
}

/// A loaded CA, ready to sign serving certificates.
#[derive(Debug)]
pub struct Ca {
    /// The CA certificate, PEM.
    pub pem: String,
    /// The CA certificate, DER (what iOS profiles and Android's installer also take).
    pub der: CertificateDer<'static>,
    /// Its key.
    key: rcgen::KeyPair,
    /// What it is.
    pub info: CaInfo,
}

/// Whether the CA may vouch for `name` (a host name or an address).
pub fn permits(name: &str, host_names: &[String]) -> bool {
    match name.parse::<IpAddr>() {
        Ok(ip) => PERMITTED_RANGES.iter().any(|(net, prefix)| {
            net.parse::<IpAddr>()
                .is_ok_and(|net| in_range(ip, net, *prefix))
        }),
        Err(_) => {
            let name = name.to_ascii_lowercase();
            host_names.iter().any(|allowed| {
                let allowed = allowed.to_ascii_lowercase();
                name == allowed || name.ends_with(&format!(".{allowed}"))
            })
        }
    }
}

fn in_range(ip: IpAddr, net: IpAddr, prefix: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

/// The host names the CA may vouch for: `localhost`, this machine's name and `NAME.local`.
pub fn permitted_names() -> Vec<String> {
    let mut names = vec!["localhost".to_owned()];
    // Only names a certificate can carry (a DNS name is ASCII letters, digits, '-' and '.').
    let dns = |h: &&str| {
        !h.is_empty()
            && h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
    };
    if let Ok(host) = nix::unistd::gethostname()
        && let Some(host) = host.to_str().filter(dns)
    {
        names.push(host.to_owned());
        if !host.contains('.') {
            names.push(format!("{host}.local"));
        }
    }
    names
}

/// Loads the CA of `files`, making it when missing (or when its files are unusable).
pub fn load_or_create(files: &CaFiles) -> Result<Ca, CertError> {
    if files.cert.exists() && files.key.exists() {
        match load(files, false) {
            Ok(ca) => return Ok(ca),
            Err(err) => tracing::warn!(%err, "making a new local certificate authority"),
        }
    }
    create(files)?;
    load(files, true)
}

/// Loads the CA of `files` without making one.
pub fn load(files: &CaFiles, created: bool) -> Result<Ca, CertError> {
    let invalid = |path: &Path, what, detail: String| CertError::Invalid {
        path: path.to_path_buf(),
        what,
        detail,
    };
    let pem = std::fs::read_to_string(&files.cert).map_err(at("read", &files.cert))?;
    let key_pem = std::fs::read_to_string(&files.key).map_err(at("read", &files.key))?;
    let der = CertificateDer::from_pem_slice(pem.as_bytes())
        .map_err(|err| invalid(&files.cert, "certificate", err.to_string()))?;
    let key = rcgen::KeyPair::from_pem(&key_pem)
        .map_err(|err| invalid(&files.key, "private key", err.to_string()))?;
    let (_, parsed) = x509_parser::parse_x509_certificate(&der)
        .map_err(|err| invalid(&files.cert, "certificate", err.to_string()))?;
    let not_after = chrono::DateTime::from_timestamp(parsed.validity().not_after.timestamp(), 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default();
    let permitted = match parsed.name_constraints() {
        Ok(Some(ext)) => ext
            .value
            .permitted_subtrees
            .iter()
            .flatten()
            .map(|subtree| describe_subtree(&subtree.base))
            .collect(),
        _ => Vec::new(),
    };
    let info = CaInfo {
        fingerprint_sha256: fingerprint(&der),
        cert_path: files.cert.clone(),
        key_path: files.key.clone(),
        not_after,
        permitted,
        created,
    };
    Ok(Ca {
        pem,
        der,
        key,
        info,
    })
}

fn describe_subtree(name: &x509_parser::extensions::GeneralName<'_>) -> String {
    use x509_parser::extensions::GeneralName;
    match name {
        GeneralName::DNSName(dns) => (*dns).to_owned(),
        GeneralName::IPAddress(bytes) if bytes.len() == 8 => {
            let ip = IpAddr::from(<[u8; 4]>::try_from(&bytes[..4]).unwrap_or_default());
            let mask = u32::from_be_bytes(<[u8; 4]>::try_from(&bytes[4..]).unwrap_or_default());
            format!("{ip}/{}", mask.count_ones())
        }
        GeneralName::IPAddress(bytes) if bytes.len() == 32 => {
            let ip = IpAddr::from(<[u8; 16]>::try_from(&bytes[..16]).unwrap_or_default());
            let mask = u128::from_be_bytes(<[u8; 16]>::try_from(&bytes[16..]).unwrap_or_default());
            format!("{ip}/{}", mask.count_ones())
        }
        other => format!("{other:?}"),
    }
}

/// Makes a new CA and writes it, key first, both 0600 (directory 0700).
fn create(files: &CaFiles) -> Result<(), CertError> {
    let mut params = rcgen::CertificateParams::default();
    let host = permitted_names().get(1).cloned().unwrap_or_default();
    params.distinguished_name.push(
        rcgen::DnType::CommonName,
        format!("claude-orchestra local CA {host}").trim_end(),
    );
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "claude-orchestra");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    let mut permitted: Vec<rcgen::GeneralSubtree> = PERMITTED_RANGES
        .iter()
        .filter_map(|(net, prefix)| {
            let net: IpAddr = net.parse().ok()?;
            Some(rcgen::GeneralSubtree::IpAddress(
                rcgen::CidrSubnet::from_addr_prefix(net, *prefix),
            ))
        })
        .collect();
    permitted.extend(
        permitted_names()
            .into_iter()
            .map(rcgen::GeneralSubtree::DnsName),
    );
    params.name_constraints = Some(rcgen::NameConstraints {
        permitted_subtrees: permitted,
        excluded_subtrees: Vec::new(),
    });
    set_validity(&mut params, CA_VALID_DAYS);
    let key = rcgen::KeyPair::generate()?;
    let cert = params.self_signed(&key)?;
    private_dir(&files.cert)?;
    write_private(&files.key, key.serialize_pem().as_bytes())?;
    write_private(&files.cert, cert.pem().as_bytes())?;
    Ok(())
}

impl Ca {
    /// A serving certificate for `names` signed by this CA, valid `days` from a day ago:
    /// (certificate PEM, key PEM). Names outside the constraints are signed all the same
    /// (callers filter with [`permits`]); browsers then refuse the certificate, which is
    /// what the constraints are for.
    pub fn sign(&self, names: Vec<String>, days: i64) -> Result<(String, String), CertError> {
        let mut params = rcgen::CertificateParams::new(names)?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "claude-orchestra dashboard");
        params.is_ca = rcgen::IsCa::ExplicitNoCa;
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::DigitalSignature,
            rcgen::KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        set_validity(&mut params, days);
        let key = rcgen::KeyPair::generate()?;
        let issuer = rcgen::Issuer::from_ca_cert_der(&self.der, &self.key)?;
        let cert = params.signed_by(&key, &issuer)?;
        Ok((cert.pem(), key.serialize_pem()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn the_ca_is_constrained_private_and_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let files = CaFiles::in_state_dir(dir.path());
        let ca = load_or_create(&files).expect("create");
        assert!(ca.info.created);
        for path in [&files.cert, &files.key] {
            let mode = std::fs::metadata(path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{}", path.display());
        }
        for range in ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fd00::/8"] {
            assert!(
                ca.info.permitted.iter().any(|p| p == range),
                "{range} in {:?}",
                ca.info.permitted
            );
        }
        assert!(ca.info.permitted.iter().any(|p| p == "localhost"));
        assert!(!ca.info.permitted.iter().any(|p| p.starts_with("0.0.0.0")));
        let again = load_or_create(&files).expect("load");
        assert!(!again.info.created);
        assert_eq!(again.info.fingerprint_sha256, ca.info.fingerprint_sha256);
        let (leaf, _) = ca.sign(vec!["192.168.1.7".to_owned()], 30).expect("sign");
        let leaf = CertificateDer::from_pem_slice(leaf.as_bytes()).expect("pem");
        let (_, parsed) = x509_parser::parse_x509_certificate(&leaf).expect("parse");
        let (_, ca_parsed) = x509_parser::parse_x509_certificate(&ca.der).expect("parse");
        assert_eq!(parsed.issuer(), ca_parsed.subject());
    }

    #[test]
    fn only_private_addresses_and_own_names_are_permitted() {
        let names = vec![
            "localhost".to_owned(),
            "box".to_owned(),
            "box.local".to_owned(),
        ];
        for ok in [
            "10.1.2.3",
            "172.31.255.1",
            "192.168.0.9",
            "fd12::1",
            "127.0.0.1",
            "::1",
        ] {
            assert!(permits(ok, &names), "{ok}");
        }
        for ok in ["box", "box.local", "LOCALHOST"] {
            assert!(permits(ok, &names), "{ok}");
        }
        for bad in [
            "8.8.8.8",
            "172.32.0.1",
            "2001:db8::1",
            "example.com",
            "xbox",
            "fe80::1",
        ] {
            assert!(!permits(bad, &names), "{bad}");
        }
    }
}
