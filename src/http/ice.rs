//! The ICE servers (STUN and TURN) the browsers use to find a path to each other.
//!
//! Room hands them to each room page; with none, calls work between machines that can reach
//! each other directly, such as on one LAN. A TURN server needs a login, and every page can
//! read what it is given, so a fixed `--ice-username`/`--ice-credential` pair is public to
//! anyone who can open a room page. With `--turn-secret` Room instead makes a login per page
//! load in the form of the TURN REST API (what coturn's `use-auth-secret` checks): the user
//! name is `<expiry in Unix seconds>:<random id>` and the password is the base64 of
//! HMAC-SHA1(secret, user name), so a leaked login stops working when it expires.

use std::time::Duration;

use base64::Engine;
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use room_core::time::UnixMillis;
use serde::Serialize;

/// One entry of the browser's `RTCConfiguration.iceServers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct IceServer {
    /// The server's URL, such as `stun:stun.example.org:3478`.
    pub(crate) urls: Vec<String>,
    /// The TURN user name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) username: Option<String>,
    /// The TURN password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) credential: Option<String>,
}

/// Why an ICE server setting was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IceError {
    /// The URL is not `stun:`, `stuns:`, `turn:` or `turns:`.
    #[error("ICE server {0:?} must start with stun:, stuns:, turn: or turns:")]
    Scheme(String),
    /// A TURN login was given twice: as a fixed pair and as a secret.
    #[error(
        "--turn-secret makes the TURN logins itself: leave out --ice-username and --ice-credential"
    )]
    TwoLogins,
}

/// How TURN servers are logged in to.
#[derive(Debug, Clone)]
enum Login {
    /// No login, or a fixed one (already in the servers).
    Fixed,
    /// A login per page, signed with the shared secret, valid for `ttl`.
    Rest { key: hmac::Key, ttl: Duration },
}

/// The ICE servers and how pages get their TURN logins.
#[derive(Debug, Clone)]
pub(crate) struct Ice {
    servers: Vec<IceServer>,
    login: Login,
}

/// How long a TURN login made with `--turn-secret` is valid by default: a working day.
pub(crate) const DEFAULT_TURN_TTL: Duration = Duration::from_secs(12 * 60 * 60);

impl Ice {
    /// From `--ice-server` URLs and either a fixed TURN login or a TURN REST secret.
    pub(crate) fn new(
        urls: &[String],
        username: Option<&str>,
        credential: Option<&str>,
        turn_secret: Option<&str>,
        ttl: Duration,
    ) -> Result<Ice, IceError> {
        if turn_secret.is_some() && (username.is_some() || credential.is_some()) {
            return Err(IceError::TwoLogins);
        }
        let servers = urls
            .iter()
            .map(|url| {
                let url = url.trim();
                let turn = is_turn(url);
                if !(turn || url.starts_with("stun:") || url.starts_with("stuns:")) {
                    return Err(IceError::Scheme(url.to_owned()));
                }
                let login = |value: Option<&str>| value.filter(|_| turn).map(str::to_owned);
                Ok(IceServer {
                    urls: vec![url.to_owned()],
                    username: login(username),
                    credential: login(credential),
                })
            })
            .collect::<Result<_, _>>()?;
        let login = match turn_secret {
            Some(secret) => Login::Rest {
                key: hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret.as_bytes()),
                ttl,
            },
            None => Login::Fixed,
        };
        Ok(Ice { servers, login })
    }

    /// The servers for one page load at `now`, each TURN server with a fresh login when the
    /// logins are made from a secret.
    pub(crate) fn for_page(&self, now: UnixMillis) -> Vec<IceServer> {
        let Login::Rest { key, ttl } = &self.login else {
            return self.servers.clone();
        };
        let expiry = now.0 / 1000 + ttl.as_secs();
        let mut id = [0u8; 8];
        // The system's random source does not fail on the systems Room runs on; were it to,
        // the id would be zeros, which only makes two logins share a name.
        let _ = SystemRandom::new().fill(&mut id);
        let id: String = id.iter().map(|byte| format!("{byte:02x}")).collect();
        let username = format!("{expiry}:{id}");
        let credential = rest_credential(key, &username);
        self.servers
            .iter()
            .map(|server| {
                let mut server = server.clone();
                if server.urls.iter().any(|url| is_turn(url)) {
                    server.username = Some(username.clone());
                    server.credential = Some(credential.clone());
                }
                server
            })
            .collect()
    }
}

fn is_turn(url: &str) -> bool {
    url.starts_with("turn:") || url.starts_with("turns:")
}

/// The TURN REST API password of `username`.
fn rest_credential(key: &hmac::Key, username: &str) -> String {
    let tag = hmac::sign(key, username.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(tag.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(list: &[&str]) -> Vec<String> {
        list.iter().map(|url| url.to_string()).collect()
    }

    #[test]
    fn turn_servers_get_the_fixed_login_and_stun_servers_do_not() {
        let urls = urls(&["stun:stun.example.org", "turn:turn.example.org:3478"]);
        let ice = Ice::new(&urls, Some("ann"), Some("secret"), None, DEFAULT_TURN_TTL).unwrap();
        let json = serde_json::to_value(ice.for_page(UnixMillis(0))).unwrap();
        assert_eq!(
            json,
            serde_json::json!([
                {"urls": ["stun:stun.example.org"]},
                {"urls": ["turn:turn.example.org:3478"], "username": "ann", "credential": "secret"},
            ])
        );
    }

    #[test]
    fn urls_that_are_not_ice_servers_are_refused() {
        let err = Ice::new(
            &urls(&["http://example.org"]),
            None,
            None,
            None,
            DEFAULT_TURN_TTL,
        )
        .unwrap_err();
        assert_eq!(err, IceError::Scheme("http://example.org".into()));
        let none = Ice::new(&[], None, None, None, DEFAULT_TURN_TTL).unwrap();
        assert_eq!(none.for_page(UnixMillis(0)), Vec::new());
    }

    #[test]
    fn the_rest_password_is_the_hmac_of_the_user_name() {
        let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, b"north");
        // Python's hmac.new(b"north", b"1764150000:0011223344556677", "sha1"), in base64.
        assert_eq!(
            rest_credential(&key, "1764150000:0011223344556677"),
            "ojxey6Ck3JkJ1bteTVpzQGElyHc="
        );
    }

    #[test]
    fn a_secret_makes_a_fresh_expiring_login_per_page() {
        let urls = urls(&[
            "stun:s.example.org",
            "turn:t.example.org:3478?transport=udp",
        ]);
        let ttl = Duration::from_secs(600);
        let ice = Ice::new(&urls, None, None, Some("north"), ttl).unwrap();
        let now = UnixMillis(1_764_150_000_123);
        let first = ice.for_page(now);
        let second = ice.for_page(now);
        assert_eq!(first[0].username, None, "STUN needs no login");
        let username = first[1].username.clone().unwrap();
        let (expiry, id) = username.split_once(':').unwrap();
        assert_eq!(expiry, "1764150600");
        assert_eq!(id.len(), 16);
        assert_ne!(first[1].username, second[1].username);
        let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, b"north");
        assert_eq!(first[1].credential, Some(rest_credential(&key, &username)));
    }

    #[test]
    fn a_fixed_login_and_a_secret_do_not_go_together() {
        let urls = urls(&["turn:t.example.org"]);
        let both = Ice::new(&urls, Some("u"), Some("p"), Some("s"), DEFAULT_TURN_TTL);
        assert_eq!(both.unwrap_err(), IceError::TwoLogins);
    }
}
