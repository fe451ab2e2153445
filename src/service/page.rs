//! Opaque AIP-158 page tokens, and the one way a list is cut into pages.
//!
//! A token carries the sort key of the last row returned and a fingerprint of
//! the tenant and the query, so a token from another query or tenant is
//! rejected instead of silently returning the wrong page. Most lists'
//! tokens are [`encode`]d (base64 JSON: opaque by contract, not secret);
//! a list whose position names a customer [`seal`]s it instead. A list fetches one
//! row more than a page ([`PageRequest::fetch_limit`]) and [`PageRequest::page`]
//! cuts it, so whether another page follows is known without a count.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use ring::aead;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use sha2::{Digest, Sha256};

use super::ServiceError;
use crate::domain::{
    scope::in_time_range,
    violations::{Violations, check_id},
};

/// Default and maximum page sizes.
pub const DEFAULT_PAGE_SIZE: i64 = 50;
pub const MAX_PAGE_SIZE: i64 = 1000;

/// Page size after defaulting (0) and coercion (above the maximum).
pub fn page_size(requested: i32) -> Result<i64, ServiceError> {
    match requested {
        n if n < 0 => Err(ServiceError::invalid("page_size", "must not be negative")),
        0 => Ok(DEFAULT_PAGE_SIZE),
        n => Ok(i64::from(n).min(MAX_PAGE_SIZE)),
    }
}

/// Fingerprint of a query: tenant plus the request's scoping fields.
pub fn fingerprint(tenant: i64, query: &impl prost::Message) -> String {
    let mut hasher = Sha256::new();
    hasher.update(tenant.to_le_bytes());
    hasher.update(query.encode_to_vec());
    hex::encode(&hasher.finalize()[..8])
}

#[derive(Serialize, Deserialize)]
struct Token<K> {
    f: String,
    k: K,
}

/// Encodes the position after `last` for the query `fingerprint`.
pub fn encode<K: Serialize>(fingerprint: &str, last: &K) -> String {
    let json = serde_json::to_vec(&Token {
        f: fingerprint.to_owned(),
        k: last,
    })
    .expect("token serializes");
    URL_SAFE_NO_PAD.encode(json)
}

/// Decodes a token; `None` for an empty token (the first page).
pub fn decode<K: DeserializeOwned>(
    fingerprint: &str,
    token: &str,
) -> Result<Option<K>, ServiceError> {
    if token.is_empty() {
        return Ok(None);
    }
    let bad = not_a_token;
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| bad())?;
    let token: Token<K> = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if token.f != fingerprint {
        return Err(bad());
    }
    Ok(Some(token.k))
}

/// Domain separation of the sealing key from any other use of the stored
/// secret.
const SEAL_CONTEXT: &[u8] = b"gapscore page token v1";

fn sealing_key(secret: &[u8]) -> Option<aead::LessSafeKey> {
    let mut hasher = Sha256::new();
    hasher.update(SEAL_CONTEXT);
    hasher.update(secret);
    let key = aead::UnboundKey::new(&aead::CHACHA20_POLY1305, &hasher.finalize()).ok()?;
    Some(aead::LessSafeKey::new(key))
}

/// A token whose position is *sealed*: encrypted and authenticated with
/// ChaCha20-Poly1305 under the tenant's `secret` (a per-tenant random key
/// in the database, `store::tenants::page_token_key`), the fingerprint as
/// associated data. For lists whose position names a customer (the
/// at-risk list): a token in a log, a URL or a support ticket reveals
/// nothing, and a client cannot forge one. The key is in the database, so
/// every replica opens every other's tokens without configuration.
///
/// Layout: base64url(nonce (12 random bytes) ‖ ciphertext ‖ tag (16)).
/// `None` only if sealing itself fails, which a key made from a 32-byte
/// hash and a position of a few hundred bytes never do.
pub fn seal<K: Serialize>(secret: &[u8], fingerprint: &str, last: &K) -> Option<String> {
    let key = sealing_key(secret)?;
    let mut nonce = [0u8; aead::NONCE_LEN];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut nonce);
    let mut sealed = serde_json::to_vec(last).ok()?;
    key.seal_in_place_append_tag(
        aead::Nonce::assume_unique_for_key(nonce),
        aead::Aad::from(fingerprint.as_bytes()),
        &mut sealed,
    )
    .ok()?;
    let mut token = nonce.to_vec();
    token.append(&mut sealed);
    Some(URL_SAFE_NO_PAD.encode(token))
}

/// Opens a [`seal`]ed token; `None` for an empty token (the first page).
/// Anything not sealed by this tenant for this query is "not a page
/// token of this query".
pub fn open<K: DeserializeOwned>(
    secret: &[u8],
    fingerprint: &str,
    token: &str,
) -> Result<Option<K>, ServiceError> {
    if token.is_empty() {
        return Ok(None);
    }
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| not_a_token())?;
    if bytes.len() < aead::NONCE_LEN + aead::CHACHA20_POLY1305.tag_len() {
        return Err(not_a_token());
    }
    let (nonce, sealed) = bytes.split_at(aead::NONCE_LEN);
    let nonce = aead::Nonce::try_assume_unique_for_key(nonce).map_err(|_| not_a_token())?;
    let key = sealing_key(secret).ok_or_else(not_a_token)?;
    let mut sealed = sealed.to_vec();
    let plain = key
        .open_in_place(nonce, aead::Aad::from(fingerprint.as_bytes()), &mut sealed)
        .map_err(|_| not_a_token())?;
    serde_json::from_slice(plain)
        .map(Some)
        .map_err(|_| not_a_token())
}

/// Which page of a list a caller asked for.
#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    /// Rows per page, after defaulting and coercion ([`page_size`]).
    pub size: i64,
    /// The previous page's `next_page_token`; empty for the first page.
    pub token: String,
    /// What the token is bound to: the tenant and the query ([`fingerprint`]).
    pub fingerprint: String,
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Empty on the last page.
    pub next_page_token: String,
}

impl<T> Page<T> {
    /// The same page with every item converted.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_page_token: self.next_page_token,
        }
    }
}

impl PageRequest {
    /// How many rows to fetch: one more than a page, to learn whether
    /// another page follows.
    pub fn fetch_limit(&self) -> i64 {
        self.size + 1
    }

    /// The position a list ordered by (timestamp, id) continues after
    /// ([`decode_time_position`]); `None` on the first page.
    pub fn after_time_position(&self) -> Result<Option<(DateTime<Utc>, String)>, ServiceError> {
        decode_time_position(&self.fingerprint, &self.token)
    }

    /// Cuts `rows`, fetched with [`fetch_limit`](Self::fetch_limit), to one
    /// page; the next token carries `key` of the page's last row.
    pub fn page<T, K: Serialize>(&self, mut rows: Vec<T>, key: impl FnOnce(&T) -> K) -> Page<T> {
        let mut next_page_token = String::new();
        if rows.len() as i64 > self.size {
            rows.truncate(self.size.max(0) as usize);
            if let Some(last) = rows.last() {
                next_page_token = encode(&self.fingerprint, &key(last));
            }
        }
        Page {
            items: rows,
            next_page_token,
        }
    }
}

/// The token key of a row of a list ordered by (timestamp, id), as
/// [`decode_time_position`] reads it back.
pub fn time_position(at: DateTime<Utc>, id: &str) -> (i64, String) {
    (at.timestamp_micros(), id.to_owned())
}

fn not_a_token() -> ServiceError {
    ServiceError::invalid("page_token", "is not a page token of this query")
}

/// Decodes a token of a list ordered by (timestamp, id), carrying
/// `(micros, id)`. Tokens are opaque but not secret: the fingerprint of a
/// tenant's own query can be computed, so a position no stored row can have
/// (a time outside years 0001-9999, which PostgreSQL may not even
/// represent, or an id that is not a valid id, e.g. with a NUL) is rejected
/// here instead of failing in the database.
pub fn decode_time_position(
    fingerprint: &str,
    token: &str,
) -> Result<Option<(DateTime<Utc>, String)>, ServiceError> {
    let Some((micros, id)) = decode::<(i64, String)>(fingerprint, token)? else {
        return Ok(None);
    };
    let at = DateTime::from_timestamp_micros(micros)
        .filter(|t| in_time_range(*t))
        .ok_or_else(not_a_token)?;
    check_position_id(&id)?;
    Ok(Some((at, id)))
}

/// Rejects a token position id that no stored record can have.
pub fn check_position_id(id: &str) -> Result<(), ServiceError> {
    let mut v = Violations::default();
    check_id(&mut v, "page_token", id);
    if v.is_empty() {
        Ok(())
    } else {
        Err(not_a_token())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_only_for_their_query() {
        let t = encode(
            "abc",
            &("2026-01-01T00:00:00Z".to_string(), "r1".to_string()),
        );
        let back: Option<(String, String)> = decode("abc", &t).unwrap();
        assert_eq!(back.unwrap().1, "r1");
        assert!(decode::<(String, String)>("other", &t).is_err());
        assert!(decode::<(String, String)>("abc", "!!!").is_err());
        assert!(decode::<(String, String)>("abc", "").unwrap().is_none());
    }

    #[test]
    fn positions_no_stored_row_can_have_are_rejected() {
        let t = |micros: i64, id: &str| encode("f", &(micros, id.to_owned()));
        let ok = decode_time_position("f", &t(1_767_225_600_000_000, "r1")).unwrap();
        assert_eq!(ok.unwrap().1, "r1");
        // Year -100,000 and 250,000 (chrono can, PostgreSQL cannot), i64::MIN,
        // a NUL and an over-long id.
        for token in [
            t(-3_217_000_000_000_000_000, "r1"),
            t(7_830_000_000_000_000_000, "r1"),
            t(i64::MIN, "r1"),
            t(0, "r\0"),
            t(0, &"r".repeat(129)),
        ] {
            assert!(decode_time_position("f", &token).is_err(), "{token}");
        }
    }

    #[test]
    fn a_page_is_cut_from_one_row_more() {
        let request = PageRequest {
            size: 2,
            token: String::new(),
            fingerprint: "f".into(),
        };
        assert_eq!(request.fetch_limit(), 3);
        let full = request.page(vec![1, 2, 3], |n| *n);
        assert_eq!(full.items, [1, 2]);
        assert_eq!(decode::<i32>("f", &full.next_page_token).unwrap(), Some(2));
        let last = request.page(vec![1, 2], |n| *n);
        assert_eq!(last.items, [1, 2]);
        assert!(last.next_page_token.is_empty());
    }

    #[test]
    fn sealed_tokens_open_only_for_their_tenant_and_query_and_hide_the_position() {
        let position = ("c-secret-42".to_string(), 3);
        let token = seal(b"key-a", "f", &position).unwrap();
        let raw = URL_SAFE_NO_PAD.decode(&token).unwrap();
        assert!(!raw.windows(9).any(|w| w == b"c-secret-"), "{raw:?}");
        let back: Option<(String, i32)> = open(b"key-a", "f", &token).unwrap();
        assert_eq!(back, Some(position.clone()));
        // Another tenant's key, another query, a flipped bit, a plain token.
        assert!(open::<(String, i32)>(b"key-b", "f", &token).is_err());
        assert!(open::<(String, i32)>(b"key-a", "g", &token).is_err());
        let mut flipped = raw.clone();
        flipped[20] ^= 1;
        let flipped = URL_SAFE_NO_PAD.encode(flipped);
        assert!(open::<(String, i32)>(b"key-a", "f", &flipped).is_err());
        assert!(open::<(String, i32)>(b"key-a", "f", &encode("f", &position)).is_err());
        assert!(open::<(String, i32)>(b"key-a", "f", "AAAA").is_err());
        assert!(open::<(String, i32)>(b"key-a", "f", "").unwrap().is_none());
        // A fresh nonce per token: the same position seals differently.
        assert_ne!(seal(b"key-a", "f", &position).unwrap(), token);
    }

    #[test]
    fn page_sizes_default_and_coerce() {
        assert_eq!(page_size(0).unwrap(), 50);
        assert_eq!(page_size(5000).unwrap(), 1000);
        assert_eq!(page_size(7).unwrap(), 7);
        assert!(page_size(-1).is_err());
    }
}
