//! Standard Webhooks signatures: the secret's format and the
//! `webhook-signature` of a message.
//!
//! The signed content is `{webhook-id}.{webhook-timestamp}.{body}`, the MAC
//! HMAC-SHA256 keyed with the secret's bytes (the base64 after `whsec_`),
//! and the header `v1,` + its standard base64. Written with the `hmac`
//! crate the service already uses rather than the `standardwebhooks` crate
//! (which brings an older base64, `time` and a second SHA-256): the scheme
//! is these few lines, and the tests verify it with independent
//! implementations.

use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

/// The prefix Standard Webhooks libraries expect on a secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// Random bytes in a new secret (the specification asks for 24 to 64).
pub const SECRET_BYTES: usize = 32;

/// A fresh signing key.
pub fn new_secret() -> Vec<u8> {
    let mut key = vec![0u8; SECRET_BYTES];
    rand::rng().fill_bytes(&mut key);
    key
}

/// The secret as shown to the tenant: `whsec_` + base64 of the key.
pub fn display_secret(key: &[u8]) -> String {
    format!("{SECRET_PREFIX}{}", STANDARD.encode(key))
}

/// The `webhook-signature` header of `body` sent as message `id` at unix
/// time `timestamp`.
pub fn signature(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification
    /// (spec/standard-webhooks.md, "Signature scheme"), whose libraries'
    /// tests use the same values.
    #[test]
    fn signs_the_specification_example() {
        let key = STANDARD.decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            signature(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn secrets_are_fresh_and_shown_with_the_prefix() {
        let (a, b) = (new_secret(), new_secret());
        assert_eq!(a.len(), SECRET_BYTES);
        assert_ne!(a, b);
        let shown = display_secret(&a);
        let back = STANDARD
            .decode(shown.strip_prefix(SECRET_PREFIX).unwrap())
            .unwrap();
        assert_eq!(back, a);
    }
}
