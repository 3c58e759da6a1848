//! The ICE servers (STUN and TURN) the browsers use to find a path to each other.
//!
//! Room hands them to each room page; with none, calls work between machines that can reach
//! each other directly, such as on one LAN.

use serde::Serialize;

/// One entry of the browser's `RTCConfiguration.iceServers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IceServer {
    /// The server's URL, such as `stun:stun.example.org:3478`.
    pub urls: Vec<String>,
    /// The TURN user name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The TURN password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// Why an ICE server setting was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IceError {
    /// The URL is not `stun:`, `stuns:`, `turn:` or `turns:`.
    #[error("ICE server {0:?} must start with stun:, stuns:, turn: or turns:")]
    Scheme(String),
}

/// Builds the list from `--ice-server` URLs; `username` and `credential` go with every TURN URL.
pub fn servers(
    urls: &[String],
    username: Option<&str>,
    credential: Option<&str>,
) -> Result<Vec<IceServer>, IceError> {
    urls.iter()
        .map(|url| {
            let url = url.trim();
            let turn = url.starts_with("turn:") || url.starts_with("turns:");
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
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turn_servers_get_the_login_and_stun_servers_do_not() {
        let urls = [
            "stun:stun.example.org".to_owned(),
            "turn:turn.example.org:3478".to_owned(),
        ];
        let servers = servers(&urls, Some("ann"), Some("secret")).unwrap();
        let json = serde_json::to_value(&servers).unwrap();
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
        let err = servers(&["http://example.org".to_owned()], None, None).unwrap_err();
        assert_eq!(err, IceError::Scheme("http://example.org".into()));
        assert_eq!(servers(&[], None, None), Ok(Vec::new()));
    }
}
