//! Webhook signatures as both channels compute them: the base64 (standard alphabet, padded)
//! HMAC-SHA256 of the **raw body bytes**, keyed with the webhook secret.
//!
//! Sources: Shopify/shopify-app-js `lib/utils/hmac-validator.ts` (base64 of the HMAC of the raw
//! body, compared in constant time, an empty body refused); woocommerce
//! `includes/class-wc-webhook.php` `generate_signature()` (`base64_encode(hash_hmac('sha256',
//! $payload, $secret, true))`).

use alloc::string::String;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The signature a channel would send for `body`.
pub fn sign_base64(secret: &[u8], body: &[u8]) -> String {
    // An HMAC takes a key of any length, so `new_from_slice` cannot fail.
    let mut mac = HmacSha256::new_from_slice(secret).unwrap_or_else(|_| unreachable!());
    mac.update(body);
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Why a signature was refused (all answer 401; the reason is for logs, never the body).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureError {
    /// No signature header.
    Missing,
    /// The header is not base64 of 32 bytes.
    Malformed,
    /// The body is empty: nothing was signed (Shopify's own validator refuses it too).
    EmptyBody,
    /// No secret configured for this channel: nothing can be verified, so nothing is accepted.
    NoSecret,
    /// The HMAC does not match.
    Mismatch,
}

/// Checks `header` (the channel's signature header, or `None`) against `body`, in constant
/// time (`verify_slice` compares with `subtle`).
pub fn verify_base64(
    secret: &[u8],
    body: &[u8],
    header: Option<&str>,
) -> Result<(), SignatureError> {
    if secret.is_empty() {
        return Err(SignatureError::NoSecret);
    }
    let header = header.ok_or(SignatureError::Missing)?;
    if body.is_empty() {
        return Err(SignatureError::EmptyBody);
    }
    let given = STANDARD
        .decode(header.trim())
        .map_err(|_| SignatureError::Malformed)?;
    if given.len() != 32 {
        return Err(SignatureError::Malformed);
    }
    let mut mac = HmacSha256::new_from_slice(secret).map_err(|_| SignatureError::NoSecret)?;
    mac.update(body);
    mac.verify_slice(&given)
        .map_err(|_| SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vector() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let sig = sign_base64(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(sig, "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=");
        assert_eq!(
            verify_base64(b"Jefe", b"what do ya want for nothing?", Some(&sig)),
            Ok(())
        );
    }

    #[test]
    fn refusals() {
        let sig = sign_base64(b"k", b"{}");
        assert_eq!(
            verify_base64(b"k", b"{} ", Some(&sig)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_base64(b"j", b"{}", Some(&sig)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_base64(b"k", b"{}", None),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify_base64(b"", b"{}", Some(&sig)),
            Err(SignatureError::NoSecret)
        );
        assert_eq!(
            verify_base64(b"k", b"", Some(&sig)),
            Err(SignatureError::EmptyBody)
        );
        assert_eq!(
            verify_base64(b"k", b"{}", Some("not base64!")),
            Err(SignatureError::Malformed)
        );
        // Hex of the right HMAC is not what the channels send.
        assert_eq!(
            verify_base64(b"k", b"{}", Some("AAAA")),
            Err(SignatureError::Malformed)
        );
        // Surrounding whitespace from a proxy is tolerated.
        assert_eq!(
            verify_base64(b"k", b"{}", Some(&alloc::format!(" {sig} "))),
            Ok(())
        );
    }
}
