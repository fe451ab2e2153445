//! The holdout of follow-ups (SPEC §12.2): a deterministic share of at-risk
//! customers who are not contacted, so the effect of contacting the others
//! can be measured against them.
//!
//! A customer is in the holdout when the first 8 bytes of
//! HMAC-SHA256(key, customer_id), read as a big-endian integer `h`, satisfy
//! `h < share × 2⁶⁴`. The key is the tenant's own (derived from its
//! page-token key, [`holdout_key`]), so assignments are stable across
//! calls, replicas and restarts, differ between tenants, and cannot be
//! predicted, or steered by choosing customer ids, without the key. A
//! larger share keeps everyone a smaller share held out (the threshold only
//! grows), so raising the share never releases a held-out customer.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The largest holdout share a scoring model allows (SPEC §12.2).
pub const MAX_HOLDOUT_SHARE: f64 = 0.5;

/// The holdout key of a tenant: HMAC-SHA256(page-token key, label). A key of
/// its own (not the page-token key itself), so the two uses never share a
/// key.
pub fn holdout_key(page_token_key: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(page_token_key).expect("HMAC takes any key length");
    mac.update(b"gapscore holdout v1");
    mac.finalize().into_bytes().into()
}

/// Whether `customer_id` is in the holdout of `share` (0 to
/// [`MAX_HOLDOUT_SHARE`]; 0 holds out no one).
pub fn is_holdout(key: &[u8; 32], customer_id: &str, share: f64) -> bool {
    if share <= 0.0 {
        return false;
    }
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(customer_id.as_bytes());
    let digest = mac.finalize().into_bytes();
    let h = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"));
    // h / 2⁶⁴ < share, in f64: exact enough for a share (2⁻⁵³ resolution).
    (h as f64) / 18_446_744_073_709_551_616.0 < share
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mac_matches_rfc_4231_test_case_2() {
        // RFC 4231 §4.3: key "Jefe", data "what do ya want for nothing?".
        let mut mac = HmacSha256::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        let hex: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn the_share_held_out_is_close_to_the_configured_share() {
        let key = holdout_key(b"some tenant key");
        let n = 20_000;
        for share in [0.1, 0.25, 0.5] {
            let held = (0..n)
                .filter(|i| is_holdout(&key, &format!("customer-{i}"), share))
                .count() as f64;
            // Binomial sd at n = 20,000 is at most 0.0035: 4 sd.
            assert!(
                (held / n as f64 - share).abs() < 0.014,
                "share {share}: {held}"
            );
        }
    }

    #[test]
    fn assignment_is_stable_nested_and_keyed() {
        let key = holdout_key(b"tenant a");
        let other = holdout_key(b"tenant b");
        let ids: Vec<String> = (0..2000).map(|i| format!("c{i}")).collect();
        let at = |k: &[u8; 32], s: f64| -> Vec<bool> {
            ids.iter().map(|c| is_holdout(k, c, s)).collect()
        };
        assert_eq!(at(&key, 0.2), at(&key, 0.2), "deterministic");
        assert!(
            at(&key, 0.1)
                .iter()
                .zip(at(&key, 0.3))
                .all(|(small, large)| !small || large),
            "a larger share keeps everyone a smaller one held out"
        );
        assert_ne!(at(&key, 0.2), at(&other, 0.2), "differs between tenants");
        assert!(at(&key, 0.0).iter().all(|h| !h), "share 0 holds out no one");
    }
}
