//! Target configuration of the two real channels (SPEC §9 "Target fields"), validated once and
//! turned into the small `*Api` values the codecs take.
//!
//! ```json
//! {"kind": "shopify", "shop": "name.myshopify.com", "location_id": "gid://shopify/Location/1",
//!  "api_version": "2026-04", "access_token": "…", "webhook_secret": "…", "endpoint"?: "…"}
//! {"kind": "woocommerce", "site": "https://shop.example", "consumer_key": "ck_…",
//!  "consumer_secret": "cs_…", "webhook_secret": "…", "endpoint"?: "…"}
//! ```
//!
//! The `kind` tag belongs to the core's `Target` enum, which will carry these fields; here are
//! the field structs. Secrets are `Option`s because, as for the webhook target today, a `PUT`
//! that leaves one out keeps the stored one: [`ShopifyTarget::redacted`] drops them for
//! showing, and `Debug` never prints them.

use alloc::format;
use alloc::string::{String, ToString};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::guard::{check_outbound, GuardError};

/// The oldest Admin API version the Shopify codec speaks: `changeFromQuantity` and
/// `@idempotent` exist from 2026-01 (CHANNELS.md; shopify.dev changelog).
pub const SHOPIFY_MIN_API_VERSION: &str = "2026-01";

/// Why a target was refused (a 400 `invalid_target` with this message).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetError {
    /// A field has the wrong shape; the text names it and what is expected.
    Field(&'static str, String),
    /// A secret needed to talk to the channel is not set.
    MissingSecret(&'static str),
    /// The endpoint or site is refused by the outbound guard.
    Address(&'static str, GuardError),
}

impl TargetError {
    pub fn message(&self) -> String {
        match self {
            TargetError::Field(f, why) => format!("{f}: {why}"),
            TargetError::MissingSecret(f) => format!("{f} is required"),
            TargetError::Address(f, e) => format!("{f}: {}", e.message()),
        }
    }
}

/// A Shopify channel's target.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShopifyTarget {
    /// `name.myshopify.com` (the permanent domain, not a custom one).
    pub shop: String,
    /// The one Shopify location this channel's quantities are set at.
    pub location_id: String,
    /// `YYYY-MM`, a stable release, at least [`SHOPIFY_MIN_API_VERSION`].
    pub api_version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    /// The app's client secret, which signs Shopify's webhooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_secret: Option<String>,
    /// A base URL replacing `https://{shop}` (local fakes only; guarded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
}

/// A WooCommerce channel's target.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WooTarget {
    /// The shop's base URL, `https://…` (WordPress may live under a path).
    pub site: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
}

fn shown(secret: &Option<String>) -> &'static str {
    if secret.is_some() {
        "<set>"
    } else {
        "<unset>"
    }
}

impl core::fmt::Debug for ShopifyTarget {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ShopifyTarget")
            .field("shop", &self.shop)
            .field("location_id", &self.location_id)
            .field("api_version", &self.api_version)
            .field("access_token", &shown(&self.access_token))
            .field("webhook_secret", &shown(&self.webhook_secret))
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

impl core::fmt::Debug for WooTarget {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WooTarget")
            .field("site", &self.site)
            .field("consumer_key", &shown(&self.consumer_key))
            .field("consumer_secret", &shown(&self.consumer_secret))
            .field("webhook_secret", &shown(&self.webhook_secret))
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

/// What the Shopify codecs need, validated: build with [`ShopifyTarget::api`].
#[derive(Clone, PartialEq, Eq)]
pub struct ShopifyApi {
    /// `https://{shop}/admin/api/{version}/graphql.json` (or under the endpoint).
    pub graphql_url: String,
    pub access_token: String,
    pub location_id: String,
    pub api_version: String,
}

impl core::fmt::Debug for ShopifyApi {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ShopifyApi")
            .field("graphql_url", &self.graphql_url)
            .field("location_id", &self.location_id)
            .finish_non_exhaustive()
    }
}

/// What the WooCommerce codecs need, validated: build with [`WooTarget::api`].
#[derive(Clone, PartialEq, Eq)]
pub struct WooApi {
    /// `{site}/wp-json/wc/v3`, no trailing slash.
    pub base_url: String,
    /// `Basic base64(key:secret)`.
    pub authorization: String,
}

impl core::fmt::Debug for WooApi {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WooApi")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

fn field(name: &'static str, why: &str) -> TargetError {
    TargetError::Field(name, why.to_string())
}

/// A secret is printable ASCII with no spaces, 1–512 bytes (it goes into a header).
fn check_secret(name: &'static str, value: &Option<String>) -> Result<(), TargetError> {
    if let Some(v) = value {
        if v.is_empty() || v.len() > 512 || !v.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(field(
                name,
                "must be 1–512 printable characters without spaces",
            ));
        }
    }
    Ok(())
}

/// An `endpoint` override: an http(s) base URL with no query or fragment, through the guard.
fn check_endpoint(value: &Option<String>, allow_private: bool) -> Result<(), TargetError> {
    if let Some(e) = value {
        let url =
            check_outbound(e, allow_private).map_err(|g| TargetError::Address("endpoint", g))?;
        if url.query().is_some() || url.fragment().is_some() {
            return Err(field("endpoint", "a base URL without query or fragment"));
        }
    }
    Ok(())
}

fn base(value: &str) -> &str {
    value.trim().trim_end_matches('/')
}

/// `YYYY-MM` with a quarterly month (Shopify releases in January, April, July and October).
pub fn valid_api_version(v: &str) -> bool {
    let b = v.as_bytes();
    b.len() == 7
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && matches!(&b[5..], b"01" | b"04" | b"07" | b"10")
}

/// `gid://shopify/Location/{n}` with `n` a positive integer.
pub fn valid_location_gid(v: &str) -> bool {
    v.strip_prefix("gid://shopify/Location/")
        .and_then(|n| n.parse::<u64>().ok())
        .is_some_and(|n| n > 0)
}

/// `name.myshopify.com`: lower-case letters, digits and inner hyphens, then the fixed suffix.
pub fn valid_shop_domain(v: &str) -> bool {
    let Some(name) = v.strip_suffix(".myshopify.com") else {
        return false;
    };
    !name.is_empty()
        && name.len() <= 60
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

impl ShopifyTarget {
    /// Checks every field's shape (secrets only if present) and the endpoint's address.
    pub fn validate(&self, allow_private: bool) -> Result<(), TargetError> {
        if !valid_shop_domain(&self.shop) {
            return Err(field(
                "shop",
                "must be the shop's permanent domain, name.myshopify.com",
            ));
        }
        if !valid_location_gid(&self.location_id) {
            return Err(field("location_id", "must be gid://shopify/Location/{id}"));
        }
        if !valid_api_version(&self.api_version) {
            return Err(field(
                "api_version",
                "must be a stable Shopify release, YYYY-MM (01, 04, 07 or 10)",
            ));
        }
        if self.api_version.as_str() < SHOPIFY_MIN_API_VERSION {
            return Err(field(
                "api_version",
                "must be 2026-01 or later (changeFromQuantity and @idempotent)",
            ));
        }
        check_secret("access_token", &self.access_token)?;
        check_secret("webhook_secret", &self.webhook_secret)?;
        check_endpoint(&self.endpoint, allow_private)
    }

    /// The same target without its secrets, for showing and exports.
    pub fn redacted(&self) -> ShopifyTarget {
        ShopifyTarget {
            access_token: None,
            webhook_secret: None,
            ..self.clone()
        }
    }

    /// Validated, with the access token present: what the push and discovery codecs take.
    pub fn api(&self, allow_private: bool) -> Result<ShopifyApi, TargetError> {
        self.validate(allow_private)?;
        let token = self
            .access_token
            .clone()
            .ok_or(TargetError::MissingSecret("access_token"))?;
        let root = match &self.endpoint {
            Some(e) => base(e).to_string(),
            None => format!("https://{}", self.shop),
        };
        Ok(ShopifyApi {
            graphql_url: format!("{root}/admin/api/{}/graphql.json", self.api_version),
            access_token: token,
            location_id: self.location_id.clone(),
            api_version: self.api_version.clone(),
        })
    }
}

impl WooTarget {
    pub fn validate(&self, allow_private: bool) -> Result<(), TargetError> {
        // The site is where the merchant's shop is; with an endpoint override the site is only
        // a name, but it must still be a proper https URL (WooCommerce refuses Basic auth over
        // plain http: it wants OAuth 1.0a there, which this adapter does not speak).
        let site = check_outbound(&self.site, allow_private || self.endpoint.is_some())
            .map_err(|g| TargetError::Address("site", g))?;
        if site.scheme() != "https" {
            return Err(field(
                "site",
                "must be an https URL (WooCommerce takes Basic auth over HTTPS only)",
            ));
        }
        if site.query().is_some() || site.fragment().is_some() {
            return Err(field("site", "a base URL without query or fragment"));
        }
        check_secret("consumer_key", &self.consumer_key)?;
        check_secret("consumer_secret", &self.consumer_secret)?;
        check_secret("webhook_secret", &self.webhook_secret)?;
        if self
            .consumer_key
            .as_deref()
            .is_some_and(|k| !k.starts_with("ck_"))
        {
            return Err(field(
                "consumer_key",
                "WooCommerce consumer keys start with ck_",
            ));
        }
        if self
            .consumer_secret
            .as_deref()
            .is_some_and(|k| !k.starts_with("cs_"))
        {
            return Err(field(
                "consumer_secret",
                "WooCommerce consumer secrets start with cs_",
            ));
        }
        check_endpoint(&self.endpoint, allow_private)
    }

    pub fn redacted(&self) -> WooTarget {
        WooTarget {
            consumer_key: None,
            consumer_secret: None,
            webhook_secret: None,
            ..self.clone()
        }
    }

    pub fn api(&self, allow_private: bool) -> Result<WooApi, TargetError> {
        self.validate(allow_private)?;
        let key = self
            .consumer_key
            .as_deref()
            .ok_or(TargetError::MissingSecret("consumer_key"))?;
        let secret = self
            .consumer_secret
            .as_deref()
            .ok_or(TargetError::MissingSecret("consumer_secret"))?;
        let root = base(self.endpoint.as_deref().unwrap_or(&self.site));
        Ok(WooApi {
            base_url: format!("{root}/wp-json/wc/v3"),
            authorization: format!("Basic {}", STANDARD.encode(format!("{key}:{secret}"))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shopify() -> ShopifyTarget {
        serde_json::from_str(
            r#"{"shop":"mugs-2.myshopify.com","location_id":"gid://shopify/Location/655441491",
                "api_version":"2026-04","access_token":"shpat_abc","webhook_secret":"whs"}"#,
        )
        .unwrap()
    }

    fn woo() -> WooTarget {
        serde_json::from_str(
            r#"{"site":"https://shop.example.com/store/","consumer_key":"ck_1","consumer_secret":"cs_2","webhook_secret":"w"}"#,
        )
        .unwrap()
    }

    #[test]
    fn shopify_shapes() {
        let t = shopify();
        let api = t.api(false).unwrap();
        assert_eq!(
            api.graphql_url,
            "https://mugs-2.myshopify.com/admin/api/2026-04/graphql.json"
        );
        for (shop, ok) in [
            ("mugs.myshopify.com", true),
            ("Mugs.myshopify.com", false),
            ("mugs.example.com", false),
            ("-mugs.myshopify.com", false),
            (".myshopify.com", false),
            ("mugs.myshopify.com.evil.com", false),
            ("a/b.myshopify.com", false),
        ] {
            let t = ShopifyTarget {
                shop: shop.into(),
                ..shopify()
            };
            assert_eq!(t.validate(false).is_ok(), ok, "{shop}");
        }
        for (loc, ok) in [
            ("gid://shopify/Location/1", true),
            ("gid://shopify/Location/0", false),
            ("gid://shopify/Location/", false),
            ("gid://shopify/InventoryItem/1", false),
            ("655441491", false),
        ] {
            let t = ShopifyTarget {
                location_id: loc.into(),
                ..shopify()
            };
            assert_eq!(t.validate(false).is_ok(), ok, "{loc}");
        }
        for (v, ok) in [
            ("2026-04", true),
            ("2026-01", true),
            ("2027-10", true),
            ("2025-10", false), // no changeFromQuantity yet
            ("2026-05", false),
            ("unstable", false),
            ("2026-4", false),
        ] {
            let t = ShopifyTarget {
                api_version: v.into(),
                ..shopify()
            };
            assert_eq!(t.validate(false).is_ok(), ok, "{v}");
        }
    }

    #[test]
    fn endpoint_is_guarded() {
        let t = ShopifyTarget {
            endpoint: Some("http://127.0.0.1:9000/".into()),
            ..shopify()
        };
        assert_eq!(
            t.validate(false),
            Err(TargetError::Address("endpoint", GuardError::PrivateAddress))
        );
        let api = t.api(true).unwrap();
        assert_eq!(
            api.graphql_url,
            "http://127.0.0.1:9000/admin/api/2026-04/graphql.json"
        );
        let t = ShopifyTarget {
            endpoint: Some("http://fake.example/?x=1".into()),
            ..shopify()
        };
        assert!(t.validate(true).is_err());
    }

    #[test]
    fn secrets_never_shown() {
        let t = shopify();
        let debug = format!("{t:?}");
        assert!(
            !debug.contains("shpat_abc") && !debug.contains("whs\""),
            "{debug}"
        );
        let shown = serde_json::to_string(&t.redacted()).unwrap();
        assert!(
            !shown.contains("access_token") && !shown.contains("webhook_secret"),
            "{shown}"
        );
        assert!(
            t.redacted().api(false).is_err(),
            "a redacted target cannot push"
        );
        let w = woo();
        let shown = serde_json::to_string(&w.redacted()).unwrap();
        assert_eq!(shown, r#"{"site":"https://shop.example.com/store/"}"#);
        assert!(!format!("{w:?}").contains("cs_2"));
        assert!(!format!("{:?}", w.api(false).unwrap()).contains("Basic"));
        // Unknown fields are refused, as the core refuses them elsewhere.
        assert!(
            serde_json::from_str::<WooTarget>(r#"{"site":"https://a.example","sight":1}"#).is_err()
        );
    }

    #[test]
    fn woo_shapes() {
        let api = woo().api(false).unwrap();
        assert_eq!(api.base_url, "https://shop.example.com/store/wp-json/wc/v3");
        assert_eq!(
            api.authorization,
            format!("Basic {}", STANDARD.encode("ck_1:cs_2"))
        );
        let plain = WooTarget {
            site: "http://shop.example.com".into(),
            ..woo()
        };
        assert!(
            plain.validate(false).is_err(),
            "Basic auth over http is refused"
        );
        let private = WooTarget {
            site: "https://192.168.1.10".into(),
            ..woo()
        };
        assert_eq!(
            private.validate(false),
            Err(TargetError::Address("site", GuardError::PrivateAddress))
        );
        let faked = WooTarget {
            endpoint: Some("http://127.0.0.1:9001".into()),
            ..woo()
        };
        assert!(faked.validate(false).is_err());
        assert_eq!(
            faked.api(true).unwrap().base_url,
            "http://127.0.0.1:9001/wp-json/wc/v3"
        );
        let bad_key = WooTarget {
            consumer_key: Some("key".into()),
            ..woo()
        };
        assert!(bad_key.validate(false).is_err());
        let missing = WooTarget {
            consumer_secret: None,
            ..woo()
        };
        assert_eq!(
            missing.api(false),
            Err(TargetError::MissingSecret("consumer_secret"))
        );
    }
}
