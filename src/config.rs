//! The command line: where to listen, how big rooms get, how much to log.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use room_core::media::MediaMode;

/// Room's settings, from flags and the environment.
#[derive(Debug, Clone, Parser)]
#[command(name = "room", version, about = "A Zoom-style video meeting server")]
pub struct Config {
    /// Address to listen on; 0.0.0.0 makes Room reachable from other machines.
    #[arg(long, env = "ROOM_HOST", default_value = "127.0.0.1")]
    pub host: String,

    /// Port to listen on; 0 takes any free port (the log says which).
    #[arg(long, env = "PORT", default_value_t = 3000)]
    pub port: u16,

    /// How calls carry their media: through this server (sfu), which holds big meetings, or
    /// peer to peer (mesh), where every member sends to every other member.
    #[arg(long, env = "ROOM_MEDIA", value_enum, default_value_t = Media::Sfu)]
    pub media: Media,

    /// How many people one room holds; 50 by default with --media sfu, 8 with --media mesh.
    #[arg(long, env = "ROOM_MAX_ROOM_SIZE",
          value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub max_room_size: Option<u16>,

    /// The UDP port media comes to, on every address of this machine (SFU mode); the same
    /// number as --port by default, 0 for any free one.
    #[arg(long, env = "ROOM_RTC_UDP_PORT")]
    pub rtc_udp_port: Option<u16>,

    /// The TCP port media comes to when UDP does not get through (ICE-TCP, SFU mode); --port
    /// plus one by default, 0 for any free one.
    #[arg(long, env = "ROOM_RTC_TCP_PORT")]
    pub rtc_tcp_port: Option<u16>,

    /// An address of this machine to take media on (SFU mode), with its own UDP socket and
    /// TCP listener: by default --host when it is one address, every address of the machine
    /// otherwise. Repeat the flag, or separate addresses with commas.
    #[arg(
        long = "rtc-address",
        env = "ROOM_RTC_ADDRESSES",
        value_delimiter = ','
    )]
    pub rtc_addresses: Vec<IpAddr>,

    /// An address this server is reached at from outside, such as a NAT's public address with
    /// the media ports forwarded: offered to browsers besides the machine's own. Repeat the
    /// flag, or separate addresses with commas.
    #[arg(long = "public-ip", env = "ROOM_PUBLIC_IPS", value_delimiter = ',')]
    pub public_ips: Vec<IpAddr>,

    /// How many members' video each member receives at once (SFU mode): screens, the
    /// speaker and who spoke last first.
    #[arg(long, env = "ROOM_VIDEO_SLOTS", default_value_t = 16,
          value_parser = clap::value_parser!(u16).range(1..=32))]
    pub video_slots: u16,

    /// Whether the server estimates each member's bandwidth (SFU mode) and chooses the layers
    /// it is sent to fit: `on` for members on real networks; `off` assumes 2.5 Mbit/s for
    /// everyone and costs about half the CPU per forwarded packet in a room of 50 (see the
    /// README's performance section).
    #[arg(long, env = "ROOM_BANDWIDTH_ESTIMATION", value_enum, default_value_t = Switch::On)]
    pub bandwidth_estimation: Switch,

    /// How many members each member hears at once (SFU mode): everyone else in a room of 50
    /// by default, those who spoke last in a bigger one. With at most 32 video and 64 audio
    /// slots a browser's offer stays within the 120 KiB an `sfu_offer` may be.
    #[arg(long, env = "ROOM_AUDIO_SLOTS", default_value_t = 49,
          value_parser = clap::value_parser!(u16).range(1..=64))]
    pub audio_slots: u16,

    /// Least important log level to print: off, error, warn, info, debug or trace.
    #[arg(long, env = "ROOM_LOG_LEVEL", default_value = "info")]
    pub log_level: log::LevelFilter,

    /// Another origin (scheme://host:port) whose pages may open Room's WebSocket, besides Room's
    /// own. Repeat the flag, or separate origins with commas.
    #[arg(
        long = "allowed-origin",
        env = "ROOM_ALLOWED_ORIGINS",
        value_delimiter = ','
    )]
    pub allowed_origins: Vec<String>,

    /// The address people open, when it is not Room's own: a reverse proxy's, such as
    /// `https://meet.example.org`. Room answers to its name, and its pages may open the
    /// WebSocket. Repeat the flag, or separate addresses with commas.
    #[arg(long = "public-url", env = "ROOM_PUBLIC_URLS", value_delimiter = ',')]
    pub public_urls: Vec<String>,

    /// Another name Room answers to, besides localhost, this machine's name, its addresses and
    /// its certificate's names; any other name in a request's Host gets 421. Repeat the flag,
    /// or separate names with commas.
    #[arg(
        long = "allowed-host",
        env = "ROOM_ALLOWED_HOSTS",
        value_delimiter = ','
    )]
    pub allowed_hosts: Vec<String>,

    /// Serve https and wss with this certificate chain (PEM); needs --tls-key.
    #[arg(
        long,
        env = "ROOM_TLS_CERT",
        requires = "tls_key",
        conflicts_with = "tls_self_signed"
    )]
    pub tls_cert: Option<PathBuf>,

    /// The private key (PEM) of --tls-cert.
    #[arg(long, env = "ROOM_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Serve https and wss with a certificate made at start for this machine's names and
    /// addresses. Browsers warn about it once; meant for meetings on a LAN.
    #[arg(long, env = "ROOM_TLS_SELF_SIGNED")]
    pub tls_self_signed: bool,

    /// A STUN or TURN server for the browsers (stun:, stuns:, turn: or turns: URL). Repeat the
    /// flag, or separate URLs with commas. None by default: calls on one LAN need none.
    #[arg(long = "ice-server", env = "ROOM_ICE_SERVERS", value_delimiter = ',')]
    pub ice_servers: Vec<String>,

    /// User name for the TURN servers among --ice-server.
    #[arg(long, env = "ROOM_ICE_USERNAME", requires = "ice_servers")]
    pub ice_username: Option<String>,

    /// Password for the TURN servers among --ice-server. Every room page shows it: prefer
    /// --turn-secret where the TURN server can check it.
    #[arg(long, env = "ROOM_ICE_CREDENTIAL", requires = "ice_username")]
    pub ice_credential: Option<String>,

    /// The secret shared with the TURN servers among --ice-server (coturn's static-auth-secret
    /// with use-auth-secret): every page load gets its own login, valid for --turn-ttl.
    #[arg(long, env = "ROOM_TURN_SECRET", requires = "ice_servers", conflicts_with_all = ["ice_username", "ice_credential"])]
    pub turn_secret: Option<String>,

    /// Seconds a TURN login made with --turn-secret stays valid.
    #[arg(long, env = "ROOM_TURN_TTL", default_value_t = crate::http::ice::DEFAULT_TURN_TTL.as_secs(),
          value_parser = clap::value_parser!(u64).range(60..=7 * 24 * 60 * 60))]
    pub turn_ttl: u64,

    /// Make the browsers call only through the TURN servers (iceTransportPolicy "relay"), so
    /// no member learns another's address.
    #[arg(long, env = "ROOM_ICE_RELAY_ONLY", requires = "ice_servers")]
    pub ice_relay_only: bool,

    /// Keep the room list secret: no list on the home page or in the protocol. Rooms are
    /// found by name only, and "New meeting" names are random.
    #[arg(long, env = "ROOM_PRIVATE_ROOMS")]
    pub private_rooms: bool,

    /// How many WebSocket connections the server holds; more are refused with 503.
    #[arg(long, env = "ROOM_MAX_CONNECTIONS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,

    /// How many WebSocket connections one client address may hold (people behind one NAT
    /// share an address); more are refused with 503.
    #[arg(long, env = "ROOM_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = 64,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections_per_address: u32,

    /// How many rooms may exist at once.
    #[arg(long, env = "ROOM_MAX_ROOMS", default_value_t = 1000,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_rooms: u32,

    /// MiB the chat history of all rooms together may take; past it, the oldest rooms'
    /// history is trimmed first.
    #[arg(long, env = "ROOM_HISTORY_BUDGET_MIB", default_value_t = 32,
          value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub history_budget_mib: u32,

    /// Frames per second one connection may send, sustained.
    #[arg(long, env = "ROOM_RATE_LIMIT", default_value_t = 20,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub rate_limit: u32,

    /// Frames one connection may send at once, above --rate-limit.
    #[arg(long, env = "ROOM_RATE_BURST", default_value_t = 100,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_burst: u32,

    /// HTTP requests per second one client address may make (three seconds' worth at once);
    /// more get 429. A page load is a handful. Behind a reverse proxy every client shares the
    /// proxy's address: raise it there.
    #[arg(long, env = "ROOM_HTTP_RATE_LIMIT", default_value_t = crate::http::rate_limit::HTTP_PER_SECOND,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub http_rate_limit: u64,

    /// Seconds a connection may stay silent (no frame, no answer to pings) before it is
    /// dropped. Pings go out three times per period.
    #[arg(long, env = "ROOM_IDLE_TIMEOUT", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub idle_timeout: u64,

    /// Seconds a member whose connection was lost (dropped without a close) keeps its place:
    /// its page, reconnecting within them, resumes it without anyone seeing it leave. 0 turns
    /// resuming off.
    #[arg(long, env = "ROOM_RESUME_GRACE", default_value_t = 20,
          value_parser = clap::value_parser!(u64).range(0..=600))]
    pub resume_grace: u64,

    /// Serve an echo WebSocket at /echo on the same WebSocket layer as /ws, for conformance
    /// tests (Autobahn|Testsuite). Not for production.
    #[arg(long, hide = true)]
    pub echo_route: bool,
}

/// A setting that is on or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Switch {
    /// On.
    On,
    /// Off.
    Off,
}

/// How calls carry their media, as the command line says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Media {
    /// Through the server: one connection per member, rooms of 50.
    Sfu,
    /// Peer to peer: a connection between every two members, rooms of 8.
    Mesh,
}

impl Config {
    /// How calls carry their media.
    pub fn media_mode(&self) -> MediaMode {
        match self.media {
            Media::Sfu => MediaMode::Sfu,
            Media::Mesh => MediaMode::Mesh,
        }
    }

    /// How many people one room holds: --max-room-size, or the media mode's default.
    pub fn room_size(&self) -> u16 {
        self.max_room_size.unwrap_or(match self.media {
            Media::Sfu => 50,
            Media::Mesh => 8,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_original_app() {
        let config = Config::try_parse_from(["room"]).unwrap();
        assert_eq!(config.host, "127.0.0.1");
        assert_eq!(config.port, 3000);
        assert_eq!(config.media_mode(), MediaMode::Sfu);
        assert_eq!(config.room_size(), 50);
        let mesh = Config::try_parse_from(["room", "--media", "mesh"]).unwrap();
        assert_eq!(mesh.room_size(), 8);
        assert_eq!(config.log_level, log::LevelFilter::Info);
    }

    #[test]
    fn nonsense_values_are_refused_with_a_message() {
        assert!(Config::try_parse_from(["room", "--port", "70000"]).is_err());
        assert!(Config::try_parse_from(["room", "--max-room-size", "0"]).is_err());
        assert!(Config::try_parse_from(["room", "--media", "p2p"]).is_err());
        assert!(Config::try_parse_from(["room", "--public-ip", "example.org"]).is_err());
        assert!(Config::try_parse_from(["room", "--audio-slots", "0"]).is_err());
        assert!(Config::try_parse_from(["room", "--log-level", "loud"]).is_err());
        assert!(Config::try_parse_from(["room", "--tls-cert", "c.pem"]).is_err());
        assert!(Config::try_parse_from(["room", "--turn-secret", "s"]).is_err());
        let two_logins = [
            "room",
            "--ice-server",
            "turn:t",
            "--turn-secret",
            "s",
            "--ice-username",
            "u",
            "--ice-credential",
            "p",
        ];
        assert!(Config::try_parse_from(two_logins).is_err());
        let both = [
            "room",
            "--tls-self-signed",
            "--tls-cert",
            "c",
            "--tls-key",
            "k",
        ];
        assert!(Config::try_parse_from(both).is_err());
    }

    #[test]
    fn ice_servers_repeat_or_come_comma_separated() {
        let config = Config::try_parse_from([
            "room",
            "--ice-server",
            "stun:a:3478,turn:b:3478",
            "--ice-server",
            "turns:c:5349",
            "--ice-username",
            "u",
            "--ice-credential",
            "p",
        ])
        .unwrap();
        assert_eq!(
            config.ice_servers,
            ["stun:a:3478", "turn:b:3478", "turns:c:5349"]
        );
        assert_eq!(config.ice_username.as_deref(), Some("u"));
    }
}
