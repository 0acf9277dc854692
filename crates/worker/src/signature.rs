//! `X-Stocksync-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "t.body")>` (SPEC §5),
//! the Stripe convention: outgoing webhook pushes are signed with it, and incoming order
//! triggers may be authenticated by it instead of the API key. Verification compares in
//! constant time (`verify_slice`) and accepts any of several `v1` values (secret rotation).

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How far a signed timestamp may be from now, either way.
pub const TOLERANCE_S: i64 = 300;

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &[u8], t: i64, body: &[u8]) -> HmacSha256 {
    // HMAC takes a key of any length, so this cannot fail.
    let mut mac = match HmacSha256::new_from_slice(secret) {
        Ok(m) => m,
        Err(e) => panic!("HMAC key rejected: {e}"),
    };
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The header value for `body` signed at `t`.
pub fn header(secret: &str, t: i64, body: &[u8]) -> String {
    let sig = mac(secret.as_bytes(), t, body).finalize().into_bytes();
    format!("t={t},v1={}", hex::encode(sig))
}

/// Why a signature was refused.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Refused {
    /// Missing, malformed, or no `v1` matches.
    Bad,
    /// It matches, but `t` is more than [`TOLERANCE_S`] from now.
    Expired,
}

/// Checks `header` against `body` signed with `secret`, at `now_s` (unix seconds).
pub fn verify(secret: &str, header: &str, body: &[u8], now_s: i64) -> Result<(), Refused> {
    let mut t = None;
    let mut sigs = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => sigs.extend(hex::decode(v).ok()),
            _ => {}
        }
    }
    let t = t.ok_or(Refused::Bad)?;
    let matched = sigs
        .iter()
        .any(|sig| mac(secret.as_bytes(), t, body).verify_slice(sig).is_ok());
    if !matched {
        return Err(Refused::Bad);
    }
    if (now_s - t).abs() > TOLERANCE_S {
        return Err(Refused::Expired);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_body_verifies_and_nothing_else_does() {
        let secret = "whsec_0123456789abcdef";
        let h = header(secret, 1_000, b"{}");
        assert_eq!(verify(secret, &h, b"{}", 1_000), Ok(()));
        assert_eq!(verify(secret, &h, b"{ }", 1_000), Err(Refused::Bad));
        assert_eq!(
            verify("another-secret-0000", &h, b"{}", 1_000),
            Err(Refused::Bad)
        );
        assert_eq!(
            verify(secret, &h, b"{}", 1_000 + 301),
            Err(Refused::Expired)
        );
        assert_eq!(verify(secret, "t=1000", b"{}", 1_000), Err(Refused::Bad));
        assert_eq!(verify(secret, "garbage", b"{}", 1_000), Err(Refused::Bad));
        let rotated = format!("t=1000,v1=00ff,{}", h.split_once(',').map_or("", |x| x.1));
        assert_eq!(verify(secret, &rotated, b"{}", 1_000), Ok(()));
    }
}
