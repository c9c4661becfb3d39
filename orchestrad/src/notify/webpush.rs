//! The `webpush` channel on the wire: a notification encrypted for one browser
//! (RFC 8291, `Content-Encoding: aes128gcm`) and signed with the daemon's VAPID key
//! (RFC 8292, `Authorization: vapid t=<JWT>, k=<public key>`), POSTed to the push service
//! URL the browser subscribed with. The push service (Google's, Mozilla's, Apple's) wakes
//! the phone, whose service worker (`sw.js`) shows it; nothing of ours relays anything.
//!
//! web-push-native builds the request (pure Rust: RustCrypto and jwt-simple), reqwest
//! sends it like every other channel's.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use web_push_native::jwt_simple::algorithms::{ECDSAP256PublicKeyLike as _, ES256KeyPair};
use web_push_native::{Auth, WebPushBuilder, p256};

use super::attempt::{Answer, SendError};
use super::event::Notification;

/// Who sends (the JWT's `sub`): push services want a way to reach the sender, and refuse
/// tokens without one. The project's page is the only address every install shares.
pub const CONTACT: &str = "https://github.com/claude-orchestra/claude-orchestra";

/// How long a push service keeps a message for a phone that is off (the `TTL` header;
/// also the VAPID token's lifetime). News older than this is no longer worth a buzz.
pub const TTL: Duration = Duration::from_secs(60 * 60);

/// Largest notification text sent: the encrypted body of a push may not pass 4096 bytes,
/// and coalesced messages can run long.
const MAX_MESSAGE: usize = 2000;

/// The daemon's VAPID key pair, which identifies it to push services.
#[derive(Clone)]
pub struct Vapid {
    /// The P-256 key pair (shared: every push channel signs with it).
    key: Arc<ES256KeyPair>,
}

impl std::fmt::Debug for Vapid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the private key, not even in a debug log.
        f.debug_struct("Vapid")
            .field("public_key", &self.public_key())
            .finish()
    }
}

impl Vapid {
    /// A new key pair from the OS random source.
    pub fn generate() -> Vapid {
        Vapid {
            key: Arc::new(ES256KeyPair::generate()),
        }
    }

    /// The key pair of a private key kept with [`Vapid::private_key`].
    pub fn from_private_key(text: &str) -> Result<Vapid, String> {
        let bytes = URL_SAFE_NO_PAD
            .decode(text.trim())
            .map_err(|err| format!("the VAPID private key is not base64url: {err}"))?;
        ES256KeyPair::from_bytes(&bytes)
            .map(|key| Vapid { key: Arc::new(key) })
            .map_err(|err| format!("the VAPID private key is not a P-256 key: {err}"))
    }

    /// The private key (a P-256 scalar), base64url, for the store.
    pub fn private_key(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.key.to_bytes())
    }

    /// The public key as browsers take it (`applicationServerKey`): an uncompressed point,
    /// base64url without padding.
    pub fn public_key(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.key.public_key().public_key().to_bytes_uncompressed())
    }
}

/// A paired device's push subscription, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    /// The paired device it belongs to (unpairing it removes the subscription).
    pub device_id: String,
    /// The push service URL the browser was given.
    pub endpoint: String,
    /// The browser's P-256 public key, base64url.
    pub p256dh: String,
    /// The browser's authentication secret, base64url.
    pub auth: String,
    /// When it was made, ms since the epoch.
    pub subscribed_at_ms: i64,
}

impl Subscription {
    /// Checks what a browser handed over; the message says what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        let url = reqwest::Url::parse(&self.endpoint)
            .map_err(|err| format!("the endpoint is not a URL: {err}"))?;
        let loopback = url.host_str().is_some_and(|host| {
            host == "localhost"
                || host
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        });
        match url.scheme() {
            "https" => {}
            // A push service is HTTPS; plain HTTP only to this machine (a local test
            // receiver), so a notification is never sent in the clear over a network.
            "http" if loopback => {}
            _ => return Err("the endpoint must be an https:// URL".to_owned()),
        }
        self.keys().map(drop)
    }

    /// The browser's key and secret, decoded.
    fn keys(&self) -> Result<(p256::PublicKey, Auth), String> {
        let p256dh = URL_SAFE_NO_PAD
            .decode(self.p256dh.trim_end_matches('='))
            .map_err(|err| format!("keys.p256dh is not base64url: {err}"))?;
        let public = p256::PublicKey::from_sec1_bytes(&p256dh)
            .map_err(|_| "keys.p256dh is not a P-256 public key".to_owned())?;
        let auth = URL_SAFE_NO_PAD
            .decode(self.auth.trim_end_matches('='))
            .map_err(|err| format!("keys.auth is not base64url: {err}"))?;
        if auth.len() != 16 {
            return Err(format!("keys.auth must be 16 bytes, not {}", auth.len()));
        }
        Ok((public, Auth::clone_from_slice(&auth)))
    }

    /// The push service's origin, for listings (the full endpoint is long and, with the
    /// keys, addresses the phone).
    pub fn origin(&self) -> String {
        reqwest::Url::parse(&self.endpoint)
            .map(|url| format!("{}/…", url.origin().ascii_serialization()))
            .unwrap_or_default()
    }
}

/// What the phone's service worker gets: the notification as a webhook gets it (the same
/// fields, nothing secret), its message cut to fit a push.
pub fn payload(note: &Notification) -> Vec<u8> {
    let mut note = note.clone();
    note.message = crate::text::fit_chars(&note.message, MAX_MESSAGE);
    serde_json::to_vec(&note).expect("a notification always serializes")
}

/// Pushes `note` to `subscription` (one attempt). `Err(Permanent)` with
/// [`gone`]`() == true` means the subscription no longer exists.
pub async fn send(
    client: &reqwest::Client,
    vapid: &Vapid,
    subscription: &Subscription,
    note: &Notification,
) -> Result<Answer, SendError> {
    let (public, auth) = subscription.keys().map_err(SendError::Permanent)?;
    let endpoint = subscription
        .endpoint
        .parse()
        .map_err(|err| SendError::Permanent(format!("bad endpoint: {err}")))?;
    let request = WebPushBuilder::new(endpoint, public, auth)
        .with_valid_duration(TTL)
        .with_vapid(&vapid.key, CONTACT)
        .build(payload(note))
        .map_err(|err| SendError::Permanent(format!("cannot encrypt the push: {err}")))?;
    let (parts, body) = request.into_parts();
    let mut outgoing = client.post(&subscription.endpoint).body(body);
    for (name, value) in &parts.headers {
        outgoing = outgoing.header(name, value);
    }
    // Approvals are worth waking a phone in power saving for (RFC 8030 urgency).
    outgoing = outgoing.header(
        "Urgency",
        if note.event.urgent() {
            "high"
        } else {
            "normal"
        },
    );
    match outgoing.send().await {
        Ok(response) if matches!(response.status().as_u16(), 404 | 410) => Err(
            SendError::Permanent(format!("{GONE} ({})", response.status())),
        ),
        outcome => super::attempt::answer(outcome).await,
    }
}

/// How [`send`] says the push service forgot the subscription (the browser unsubscribed,
/// or the app was removed): the channel is then dropped.
pub const GONE: &str = "the subscription is gone";

/// Whether an error from [`send`] means the subscription is gone.
pub fn gone(err: &SendError) -> bool {
    matches!(err, SendError::Permanent(text) if text.starts_with(GONE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_subscriptions_are_checked() {
        let vapid = Vapid::generate();
        let again = Vapid::from_private_key(&vapid.private_key()).expect("reload");
        assert_eq!(again.public_key(), vapid.public_key());
        assert_eq!(
            URL_SAFE_NO_PAD
                .decode(vapid.public_key())
                .expect("b64")
                .len(),
            65
        );
        let browser = p256::SecretKey::random(&mut p256::elliptic_curve::rand_core::OsRng);
        let sub = |endpoint: &str| Subscription {
            device_id: "d".into(),
            endpoint: endpoint.into(),
            p256dh: URL_SAFE_NO_PAD.encode(
                p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(
                    &browser.public_key(),
                    false,
                )
                .as_bytes(),
            ),
            auth: URL_SAFE_NO_PAD.encode([7u8; 16]),
            subscribed_at_ms: 0,
        };
        sub("https://fcm.googleapis.com/fcm/send/abc")
            .validate()
            .expect("https");
        sub("http://127.0.0.1:9/push").validate().expect("loopback");
        assert!(sub("http://push.example.com/x").validate().is_err());
        let mut bad = sub("https://push.example.com/x");
        bad.auth = "AAAA".into();
        assert!(bad.validate().is_err());
        assert_eq!(
            sub("https://fcm.googleapis.com/fcm/send/abc").origin(),
            "https://fcm.googleapis.com/…"
        );
    }
}
