//! Checks on a WebSocket upgrade request before it is accepted.
//!
//! A browser sends `Origin` with every WebSocket request: Room accepts its own origin (the page's
//! scheme and `Host`, which the server has already checked is one of its names, see
//! [`crate::hosts`]) and the ones the operator allows, so no other site can open a socket in a
//! visitor's name. Requests without `Origin` come from programs, not browsers, and are allowed.
//! A malformed upgrade gets a 400 that says what is wrong, instead of a server error.

use base64::Engine;

use crate::net::hosts::Names;

/// Why an upgrade request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Refusal {
    /// `Sec-WebSocket-Key` is missing or is not 16 bytes in base64.
    #[error("Sec-WebSocket-Key must be 16 bytes in base64")]
    BadKey,
    /// `Sec-WebSocket-Version` is not 13.
    #[error("Sec-WebSocket-Version must be 13")]
    BadVersion,
    /// The page that opened the socket is on another site.
    #[error("origin {0} is not allowed")]
    Origin(String),
}

impl Refusal {
    /// The HTTP status that answers it.
    pub(crate) fn status(&self) -> u16 {
        match self {
            Refusal::BadKey | Refusal::BadVersion => 400,
            Refusal::Origin(_) => 403,
        }
    }
}

/// The parts of an upgrade request the checks read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Upgrade<'a> {
    /// `Sec-WebSocket-Key`.
    pub(crate) key: Option<&'a str>,
    /// `Sec-WebSocket-Version`.
    pub(crate) version: Option<&'a str>,
    /// `Origin`.
    pub(crate) origin: Option<&'a str>,
    /// `Host`.
    pub(crate) host: Option<&'a str>,
}

/// Checks an upgrade request, its origin against Room's names.
pub(crate) fn check(upgrade: &Upgrade<'_>, names: &Names) -> Result<(), Refusal> {
    if upgrade.version.map(str::trim) != Some("13") {
        return Err(Refusal::BadVersion);
    }
    let key = upgrade.key.map(str::trim).unwrap_or_default();
    let decoded = base64::engine::general_purpose::STANDARD.decode(key);
    if !decoded.is_ok_and(|bytes| bytes.len() == 16) {
        return Err(Refusal::BadKey);
    }
    if let Some(origin) = upgrade.origin {
        if !names.allows_origin(origin, upgrade.host) {
            return Err(Refusal::Origin(origin.to_owned()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

    fn upgrade(origin: Option<&'static str>) -> Upgrade<'static> {
        Upgrade {
            key: Some(KEY),
            version: Some("13"),
            origin,
            host: Some("room.example:3000"),
        }
    }

    fn names(origins: &[&str]) -> Names {
        let origins: Vec<String> = origins.iter().map(|o| o.to_string()).collect();
        Names::new(&["room.example".into()], &[], &origins, None).unwrap()
    }

    #[test]
    fn a_program_without_origin_and_the_servers_own_pages_may_connect() {
        let names = names(&[]);
        assert_eq!(check(&upgrade(None), &names), Ok(()));
        for origin in [
            "http://room.example:3000",
            "HTTP://Room.Example:3000",
            // Behind a proxy that adds TLS.
            "https://room.example:3000",
        ] {
            assert_eq!(check(&upgrade(Some(origin)), &names), Ok(()), "{origin}");
        }
    }

    #[test]
    fn other_sites_are_refused_unless_allowed() {
        let evil = upgrade(Some("https://evil.example"));
        assert_eq!(
            check(&evil, &names(&[])),
            Err(Refusal::Origin("https://evil.example".into()))
        );
        assert_eq!(check(&evil, &names(&["https://evil.example"])), Ok(()));
        let other_port = upgrade(Some("http://room.example:8080"));
        assert!(check(&other_port, &names(&[])).is_err());
    }

    #[test]
    fn malformed_keys_and_other_versions_are_bad_requests() {
        for key in [
            None,
            Some(""),
            Some("not base64!"),
            Some("AAAA"),
            Some("dGhlIHNhbXBsZSBub25jZQ"),
        ] {
            let request = Upgrade {
                key,
                ..upgrade(None)
            };
            assert_eq!(
                check(&request, &Names::default()),
                Err(Refusal::BadKey),
                "{key:?}"
            );
        }
        for version in [None, Some("8"), Some("14"), Some("13, 8")] {
            let request = Upgrade {
                version,
                ..upgrade(None)
            };
            assert_eq!(
                check(&request, &Names::default()),
                Err(Refusal::BadVersion),
                "{version:?}"
            );
        }
        assert_eq!(Refusal::BadKey.status(), 400);
        assert_eq!(Refusal::Origin(String::new()).status(), 403);
    }
}
