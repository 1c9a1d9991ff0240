//! The client's IP address, for rate limits and sessions (the socket address unless the peer
//! is a trusted proxy: docs/contract-notes.md, "Abuse limits").

use std::net::IpAddr;

use axum::http::HeaderMap;
use ipnet::IpNet;

const FORWARDED_FOR: &str = "x-forwarded-for";

/// `peer` itself, unless it is in `trusted`: then the right-most address of
/// `X-Forwarded-For` that is not a trusted proxy. Everything left of that address was written
/// by the client and may be forged; an unparsable entry ends the walk at the last trusted hop.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|network| network.contains(ip));
    let mut client = peer.to_canonical();
    if !is_trusted(&client) {
        return client;
    }
    // Several headers are one list, in order (RFC 9110 §5.3).
    let hops: Vec<&str> = headers
        .get_all(FORWARDED_FOR)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect();
    for hop in hops.iter().rev() {
        let Some(ip) = parse_hop(hop) else {
            break;
        };
        client = ip;
        if !is_trusted(&client) {
            break;
        }
    }
    client
}

/// An address as proxies write it: bare, or with a port (`203.0.113.7:4711`, `[2001:db8::1]:80`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .or_else(|_| {
            hop.parse::<std::net::SocketAddr>()
                .map(|address| address.ip())
        })
        .ok()
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn resolve(peer: &str, forwarded: &[&str], trusted: &[&str]) -> String {
        let mut headers = HeaderMap::new();
        for value in forwarded {
            headers.append(FORWARDED_FOR, HeaderValue::from_str(value).unwrap());
        }
        let trusted: Vec<IpNet> = trusted.iter().map(|cidr| cidr.parse().unwrap()).collect();
        client_ip(peer.parse().unwrap(), &headers, &trusted).to_string()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        assert_eq!(
            resolve("198.51.100.9", &["203.0.113.7"], &[]),
            "198.51.100.9"
        );
        assert_eq!(
            resolve("198.51.100.9", &["203.0.113.7"], &["10.0.0.0/8"]),
            "198.51.100.9"
        );
    }

    #[test]
    fn a_trusted_proxy_names_the_right_most_untrusted_hop() {
        let trusted = ["10.0.0.0/8"];
        assert_eq!(
            resolve("10.0.0.2", &["203.0.113.7"], &trusted),
            "203.0.113.7"
        );
        // The client forged the left-most entry; the proxies appended the rest.
        assert_eq!(
            resolve("10.0.0.2", &["1.2.3.4, 203.0.113.7, 10.0.0.5"], &trusted),
            "203.0.113.7"
        );
        assert_eq!(
            resolve("10.0.0.2", &["1.2.3.4", "203.0.113.7:4711"], &trusted),
            "203.0.113.7"
        );
        assert_eq!(
            resolve("10.0.0.2", &["[2001:db8::1]:80"], &trusted),
            "2001:db8::1"
        );
    }

    #[test]
    fn without_a_usable_header_the_last_trusted_hop_is_the_client() {
        let trusted = ["10.0.0.0/8"];
        assert_eq!(resolve("10.0.0.2", &[], &trusted), "10.0.0.2");
        assert_eq!(
            resolve("10.0.0.2", &["garbage, 10.0.0.3"], &trusted),
            "10.0.0.3"
        );
        assert_eq!(
            resolve("::ffff:10.0.0.2", &["10.0.0.4"], &trusted),
            "10.0.0.4"
        );
    }
}
