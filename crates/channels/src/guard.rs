//! The outbound-address guard (SPEC §9, issue 10 "Outbound safety"): a target URL must name a
//! public host unless the deployment allows private targets (`ALLOW_PRIVATE_TARGETS=1`, for the
//! local demo and the fakes).
//!
//! The URL is parsed the WHATWG way (the `url` crate, as `fetch` in workerd parses it), so the
//! guard judges the address that would really be dialled: `http://2130706433/`,
//! `http://0x7f.1/`, `http://0177.0.0.1/` and `http://127.1/` all *are* 127.0.0.1 to a
//! browser, and are refused as such rather than by a brittle textual check. IPv6 literals are
//! judged with their embedded IPv4 address where they carry one (mapped `::ffff:a.b.c.d`,
//! compatible `::a.b.c.d`, translated `::ffff:0:a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`).
//!
//! What a pure function cannot see: a public name that *resolves* to a private address (DNS
//! rebinding). Cloudflare's `fetch` does not reach private networks from a deployed Worker, so
//! the guard's job there is the literal and well-known-name cases; a self-hosted shell must
//! also check the resolved address (with [`ip_is_public`]).

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use url::{Host, Url};

/// Why a URL was refused as an outbound target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuardError {
    /// Not an absolute URL.
    Unparsable,
    /// Not `http` or `https`.
    Scheme,
    /// A `user:password@` part: credentials go in headers, and `a@b` hides the real host.
    Credentials,
    /// No host, or an empty one.
    NoHost,
    /// Loopback, private, link-local, unique-local, unspecified, multicast, reserved or
    /// documentation address, or a name that means one (`localhost`, `*.local`, …).
    PrivateAddress,
}

impl GuardError {
    pub fn message(self) -> &'static str {
        match self {
            GuardError::Unparsable => "not an absolute URL",
            GuardError::Scheme => "only http and https URLs can be targets",
            GuardError::Credentials => "a target URL may not carry a user name or password",
            GuardError::NoHost => "a target URL needs a host",
            GuardError::PrivateAddress => {
                "loopback, private and link-local targets are refused unless the deployment sets ALLOW_PRIVATE_TARGETS=1"
            }
        }
    }
}

/// Parses `url` and refuses it unless it names a public host (or `allow_private` is set, when
/// only the scheme, credentials and host presence are checked).
pub fn check_outbound(url: &str, allow_private: bool) -> Result<Url, GuardError> {
    let parsed = Url::parse(url.trim()).map_err(|_| GuardError::Unparsable)?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(GuardError::Scheme);
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(GuardError::Credentials);
    }
    let host = parsed.host().ok_or(GuardError::NoHost)?;
    if allow_private {
        return Ok(parsed);
    }
    let public = match host {
        Host::Ipv4(ip) => v4_is_public(ip),
        Host::Ipv6(ip) => v6_is_public(ip),
        Host::Domain(name) => name_is_public(name),
    };
    if public {
        Ok(parsed)
    } else {
        Err(GuardError::PrivateAddress)
    }
}

/// Whether `ip` is a globally routable unicast address (for a shell that resolves names).
pub fn ip_is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4_is_public(v4),
        IpAddr::V6(v6) => v6_is_public(v6),
    }
}

fn v4_is_public(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let refused = a == 0 // "this network", unspecified
        || a == 10 // private
        || a == 127 // loopback
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 169 && b == 254) // link-local (cloud metadata lives here)
        || (a == 172 && (16..32).contains(&b)) // private
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // TEST-NET-1
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast
        || (a == 192 && b == 168) // private
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || (a == 198 && b == 51 && c == 100) // TEST-NET-2
        || (a == 203 && b == 0 && c == 113) // TEST-NET-3
        || a >= 224; // multicast, reserved, broadcast
    !refused
}

fn v6_is_public(ip: Ipv6Addr) -> bool {
    let seg = ip.segments();
    // Addresses that carry an IPv4 address are judged by it.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return v4_is_public(v4);
    }
    if seg[..6] == [0, 0, 0, 0, 0, 0] {
        // ::, ::1 and the deprecated IPv4-compatible ::a.b.c.d
        let v4 = Ipv4Addr::new(
            (seg[6] >> 8) as u8,
            seg[6] as u8,
            (seg[7] >> 8) as u8,
            seg[7] as u8,
        );
        return seg[6] != 0 && v4_is_public(v4);
    }
    if seg[..4] == [0, 0, 0, 0] && seg[4] == 0xffff && seg[5] == 0 {
        // IPv4-translated ::ffff:0:a.b.c.d (RFC 2765)
        let v4 = Ipv4Addr::new(
            (seg[6] >> 8) as u8,
            seg[6] as u8,
            (seg[7] >> 8) as u8,
            seg[7] as u8,
        );
        return v4_is_public(v4);
    }
    if seg[0] == 0x64 && seg[1] == 0xff9b && seg[2..6] == [0, 0, 0, 0] {
        // NAT64 well-known prefix 64:ff9b::/96
        let v4 = Ipv4Addr::new(
            (seg[6] >> 8) as u8,
            seg[6] as u8,
            (seg[7] >> 8) as u8,
            seg[7] as u8,
        );
        return v4_is_public(v4);
    }
    if seg[0] == 0x2002 {
        // 6to4 2002:a.b.c.d::/48
        let v4 = Ipv4Addr::new(
            (seg[1] >> 8) as u8,
            seg[1] as u8,
            (seg[2] >> 8) as u8,
            seg[2] as u8,
        );
        return v4_is_public(v4);
    }
    let refused = (seg[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (seg[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (seg[0] & 0xffc0) == 0xfec0 // site-local (deprecated) fec0::/10
        || (seg[0] & 0xff00) == 0xff00 // multicast
        || (seg[0] == 0x2001 && seg[1] == 0x0db8) // documentation
        || (seg[0] == 0x2001 && seg[1] == 0) // Teredo: the real host is hidden in it
        || (seg[0] == 0x0064 && seg[1] == 0xff9b && seg[2] == 1) // local-use NAT64 64:ff9b:1::/48
        || seg[0] == 0x0100 && seg[1..4] == [0, 0, 0]; // discard-only 100::/64
    !refused
}

/// Names that mean this machine or a private network, whatever DNS says. A trailing dot (the
/// fully qualified form, `localhost.`) names the same host, so it is removed before judging.
fn name_is_public(name: &str) -> bool {
    let name = name.trim_end_matches('.');
    if name.is_empty() || !name.contains('.') {
        // `localhost`, and single-label intranet names (`http://router/`, `http://metadata/`).
        return false;
    }
    let lower = name.to_ascii_lowercase();
    const PRIVATE_SUFFIXES: [&str; 6] = [
        ".localhost",
        ".local",
        ".internal",
        ".localdomain",
        ".home.arpa",
        ".intranet",
    ];
    if PRIVATE_SUFFIXES.iter().any(|s| lower.ends_with(s)) {
        return false;
    }
    // Reverse-DNS names of private ranges are not hosts to post stock to.
    !(lower.ends_with(".in-addr.arpa") || lower.ends_with(".ip6.arpa"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(url: &str) {
        assert_eq!(
            check_outbound(url, false).map(|_| ()),
            Err(GuardError::PrivateAddress),
            "{url} should be refused"
        );
        assert!(
            check_outbound(url, true).is_ok(),
            "{url} allowed when private is allowed"
        );
    }

    fn allowed(url: &str) {
        assert!(
            check_outbound(url, false).is_ok(),
            "{url} should be allowed"
        );
    }

    #[test]
    fn public_hosts_pass() {
        allowed("https://mugs.myshopify.com/admin/api/2026-04/graphql.json");
        allowed("https://shop.example.com/wp-json/wc/v3");
        allowed("http://93.184.216.34/hook");
        allowed("https://[2606:4700::1111]/");
        allowed("https://8.8.8.8:8443/x");
        allowed("https://[::ffff:8.8.8.8]/"); // mapped, but a public v4
        allowed("https://[2002:808:808::1]/"); // 6to4 of a public v4
        allowed("https://172.32.0.1/"); // just past 172.16/12
        allowed("https://100.128.0.1/"); // just past 100.64/10
    }

    #[test]
    fn loopback_in_every_spelling() {
        refused("http://127.0.0.1:8787/hook");
        refused("http://127.255.255.254/");
        refused("http://localhost/");
        refused("http://LOCALHOST./");
        refused("http://localhost.:80/");
        refused("http://api.localhost/");
        refused("http://[::1]/");
        refused("http://[0:0:0:0:0:0:0:1]/");
        refused("http://[::ffff:127.0.0.1]/"); // IPv4-mapped
        refused("http://[::ffff:7f00:1]/"); // the same, in hex
        refused("http://[::ffff:0:127.0.0.1]/"); // IPv4-translated
        refused("http://[::127.0.0.1]/"); // IPv4-compatible (deprecated)
        refused("http://[64:ff9b::7f00:1]/"); // NAT64 of loopback
        refused("http://[2002:7f00:1::]/"); // 6to4 of loopback
                                            // Legacy IPv4 literal forms, which WHATWG parsing turns into 127.0.0.1:
        refused("http://2130706433/"); // decimal
        refused("http://0x7f000001/"); // hex
        refused("http://0x7f.0.0.1/");
        refused("http://0177.0.0.1/"); // octal
        refused("http://127.1/"); // short form
        refused("http://127.0.0.1./"); // trailing dot
        refused("http://%31%32%37.0.0.1/"); // percent-encoded digits
    }

    #[test]
    fn private_link_local_and_the_rest() {
        refused("http://10.0.0.1/");
        refused("http://172.16.0.1/");
        refused("http://172.31.255.255/");
        refused("http://192.168.1.1/");
        refused("http://169.254.169.254/latest/meta-data/"); // cloud metadata
        refused("http://100.64.0.1/"); // CGNAT
        refused("http://0.0.0.0/");
        refused("http://0/"); // 0.0.0.0 in decimal
        refused("http://255.255.255.255/");
        refused("http://224.0.0.1/");
        refused("http://192.0.2.10/");
        refused("http://198.18.0.1/");
        refused("http://[::]/");
        refused("http://[fc00::1]/");
        refused("http://[fd12:3456::1]/");
        refused("http://[fe80::1]/");
        refused("http://[febf::1]/");
        refused("http://[fec0::1]/");
        refused("http://[ff02::1]/");
        refused("http://[2001:db8::1]/");
        refused("http://[::ffff:10.0.0.1]/");
        refused("http://[::ffff:169.254.169.254]/");
        refused("http://[::ffff:192.168.0.1]/");
        refused("http://printer.local/");
        refused("http://metadata.google.internal/");
        refused("http://router/"); // single label
        refused("http://nas.home.arpa/");
    }

    #[test]
    fn shape_errors_come_first() {
        assert_eq!(
            check_outbound("not a url", true).map(|_| ()),
            Err(GuardError::Unparsable)
        );
        assert_eq!(
            check_outbound("/relative", true).map(|_| ()),
            Err(GuardError::Unparsable)
        );
        assert_eq!(
            check_outbound("ftp://example.com/", true).map(|_| ()),
            Err(GuardError::Scheme)
        );
        assert_eq!(
            check_outbound("file:///etc/passwd", true).map(|_| ()),
            Err(GuardError::Scheme)
        );
        assert_eq!(
            check_outbound("https://shop.example.com@127.0.0.1/", true).map(|_| ()),
            Err(GuardError::Credentials)
        );
        assert_eq!(
            check_outbound("https://user:pw@shop.example.com/", false).map(|_| ()),
            Err(GuardError::Credentials)
        );
        assert_eq!(
            check_outbound("  https://shop.example.com/  ", false).map(|_| ()),
            Ok(())
        );
    }

    #[test]
    fn resolved_addresses() {
        assert!(!ip_is_public("10.1.2.3".parse().unwrap()));
        assert!(!ip_is_public("::1".parse().unwrap()));
        assert!(ip_is_public("1.1.1.1".parse().unwrap()));
    }
}
