//! The names Room answers to, and the pages that may open its WebSocket.
//!
//! A browser puts the name it looked up in the request's `Host`. A page on an attacker's name
//! whose DNS answer is later switched to 127.0.0.1 or a LAN address (DNS rebinding) reaches
//! Room as that name, on the attacker's origin, and could read everything a visitor can. So
//! Room answers only to names it knows ([`Names::allows_host`]): `localhost` (and names under
//! it, which browsers never look up), this machine's host name, the names its TLS certificate
//! is valid for, and the names the operator gives (`--allowed-host`, `--public-url`). An
//! address written as a number (`127.0.0.1`, `[::1]`, a LAN address) is always fine: rebinding
//! needs a name, and a numeric address leads only where it says. The WebSocket's origin check
//! then trusts the checked `Host` ([`Names::allows_origin`]).

use std::collections::BTreeSet;
use std::net::IpAddr;

use rustls_pki_types::{CertificateDer, ServerName};

/// The names Room answers to and the origins besides its own that may open the WebSocket.
#[derive(Debug, Clone, Default)]
pub(crate) struct Names {
    /// Lower case, without a trailing dot.
    names: BTreeSet<String>,
    /// The certificate Room serves, if any: every name it is valid for is Room's.
    certificate: Option<CertificateDer<'static>>,
    /// Lower case, without a default port.
    origins: BTreeSet<String>,
}

/// Why a `--public-url` or `--allowed-origin` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Not `http://` or `https://` and a host, with nothing after it but an optional `/`.
    #[error("{0:?} must be an http:// or https:// address with no path, such as https://meet.example.org")]
    NotAnOrigin(String),
}

impl Names {
    /// Room's names: `hosts` (names or addresses), the host names of `public_urls`, and the
    /// names `certificate` is valid for; `origins` may also open the WebSocket, as may the
    /// origins of `public_urls`.
    pub(crate) fn new(
        hosts: &[String],
        public_urls: &[String],
        origins: &[String],
        certificate: Option<CertificateDer<'static>>,
    ) -> Result<Names, NameError> {
        let mut names = Names {
            certificate,
            ..Names::default()
        };
        for host in hosts {
            names.names.insert(normalise_name(host));
        }
        for url in public_urls {
            let origin = normalise_origin(url)?;
            let (_, authority) = origin.split_once("://").expect("an origin has a scheme");
            if let Some((name, _)) = split_host(authority) {
                names.names.insert(normalise_name(name));
            }
            names.origins.insert(origin);
        }
        for origin in origins {
            names.origins.insert(normalise_origin(origin)?);
        }
        Ok(names)
    }

    /// Adds this machine's host name, as itself and under `.local` (how a LAN finds it).
    pub(crate) fn with_machine_name(mut self, host_name: Option<&str>) -> Self {
        if let Some(name) = host_name.map(normalise_name).filter(|n| !n.is_empty()) {
            self.names.insert(format!("{name}.local"));
            self.names.insert(name);
        }
        self
    }

    /// Whether a request's `Host` names this server.
    pub(crate) fn allows_host(&self, host: &str) -> bool {
        let Some((name, _port)) = split_host(host.trim()) else {
            return false;
        };
        if name.parse::<IpAddr>().is_ok() {
            return true;
        }
        let name = normalise_name(name);
        if name == "localhost" || name.ends_with(".localhost") || self.names.contains(&name) {
            return true;
        }
        self.certificate_allows(&name)
    }

    /// Whether a page from `origin` may open the WebSocket of a request whose (checked) `Host`
    /// is `host`: Room's own pages on that name, over http or https (a proxy in front may
    /// add the TLS), and the origins the operator allowed.
    pub(crate) fn allows_origin(&self, origin: &str, host: Option<&str>) -> bool {
        let Ok(origin) = normalise_origin(origin) else {
            return false;
        };
        if self.origins.contains(&origin) {
            return true;
        }
        let Some(host) = host else {
            return false;
        };
        ["http", "https"].iter().any(|scheme| {
            normalise_origin(&format!("{scheme}://{}", host.trim())).is_ok_and(|own| own == origin)
        })
    }

    fn certificate_allows(&self, name: &str) -> bool {
        let Some(der) = &self.certificate else {
            return false;
        };
        let (Ok(cert), Ok(server_name)) = (
            webpki::EndEntityCert::try_from(der),
            ServerName::try_from(name.to_owned()),
        ) else {
            return false;
        };
        cert.verify_is_valid_for_subject_name(&server_name).is_ok()
    }
}

/// `name` in lower case without a trailing dot.
fn normalise_name(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// Splits `host[:port]` (with `[...]` around an IPv6 address) into the name and the port.
fn split_host(authority: &str) -> Option<(&str, Option<u16>)> {
    let parse_port = |port: Option<&str>| port.map(str::parse::<u16>).transpose().ok();
    if let Some(rest) = authority.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        inside.parse::<std::net::Ipv6Addr>().ok()?;
        let port = if after.is_empty() {
            None
        } else {
            Some(after.strip_prefix(':')?)
        };
        return Some((inside, parse_port(port)?));
    }
    let (name, port) = match authority.split_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (authority, None),
    };
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_');
    if name.is_empty() || !name.chars().all(plain) {
        return None;
    }
    Some((name, parse_port(port)?))
}

/// `scheme://host[:port]` in lower case with the scheme's default port left out, from an
/// origin or a URL with no path.
fn normalise_origin(url: &str) -> Result<String, NameError> {
    let refuse = || NameError::NotAnOrigin(url.to_owned());
    let url = url.trim();
    let (scheme, rest) = url.split_once("://").ok_or_else(refuse)?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return Err(refuse()),
    };
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    let (name, port) = split_host(authority).ok_or_else(refuse)?;
    let name = name.to_ascii_lowercase();
    let name = if name.contains(':') {
        format!("[{name}]")
    } else {
        name
    };
    Ok(match port {
        Some(port) if port != default_port => format!("{scheme}://{name}:{port}"),
        _ => format!("{scheme}://{name}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Names {
        Names::new(
            &["meet.lan".into()],
            &["https://Room.Example.org/".into()],
            &["https://app.example.net:8443".into()],
            None,
        )
        .unwrap()
        .with_machine_name(Some("desk"))
    }

    #[test]
    fn numeric_addresses_and_localhost_are_always_room() {
        let names = Names::default();
        for host in [
            "127.0.0.1:3000",
            "127.0.0.1",
            "192.168.1.20:3000",
            "[::1]:3000",
            "[fe80::1]",
            "localhost:3000",
            "LOCALHOST",
            "app.localhost:3000",
        ] {
            assert!(names.allows_host(host), "{host}");
        }
    }

    #[test]
    fn other_names_are_room_only_when_given_or_the_machines_own() {
        let names = names();
        for host in [
            "meet.lan:3000",
            "MEET.LAN.",
            "room.example.org",
            "desk:3000",
            "desk.local:3000",
        ] {
            assert!(names.allows_host(host), "{host}");
        }
        for host in [
            "evil.example:3000",
            "meet.lan.evil.example",
            "localhost.evil.example",
            "",
            "desk:notaport",
            "[::1",
            "a b",
        ] {
            assert!(!names.allows_host(host), "{host}");
        }
    }

    #[test]
    fn origins_are_the_checked_host_over_either_scheme_or_an_allowed_one() {
        let names = names();
        let host = Some("meet.lan:3000");
        assert!(names.allows_origin("http://meet.lan:3000", host));
        assert!(names.allows_origin("https://MEET.lan:3000", host));
        assert!(!names.allows_origin("http://meet.lan:3001", host));
        assert!(!names.allows_origin("http://evil.example:3000", host));
        // A TLS-terminating proxy on the public name, on its default port.
        assert!(names.allows_origin("https://room.example.org", Some("room.example.org")));
        assert!(names.allows_origin("https://room.example.org:443", None));
        assert!(names.allows_origin("https://app.example.net:8443", host));
        assert!(!names.allows_origin("null", host));
        assert!(names.allows_origin("http://[::1]:3000", Some("[::1]:3000")));
    }

    #[test]
    fn public_urls_must_be_origins() {
        for bad in ["meet.example.org", "ftp://x", "https://x/path", "https://"] {
            let refused = Names::new(&[], &[bad.into()], &[], None);
            assert!(refused.is_err(), "{bad}");
        }
    }

    #[test]
    fn a_certificate_lends_its_names() {
        let made = rcgen::generate_simple_self_signed(vec!["room.test".into()]).unwrap();
        let names = Names::new(&[], &[], &[], Some(made.cert.der().clone())).unwrap();
        assert!(names.allows_host("room.test:3000"));
        assert!(!names.allows_host("other.test:3000"));
    }
}
