//! The command line: where to listen, how big rooms get, how much to log.

use clap::Parser;

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

    /// How many people one room holds. Video is peer-to-peer, so every member sends to every
    /// other member: keep this small.
    #[arg(long, env = "ROOM_MAX_ROOM_SIZE", default_value_t = 8,
          value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub max_room_size: u16,

    /// Least important log level to print: off, error, warn, info, debug or trace.
    #[arg(long, env = "ROOM_LOG_LEVEL", default_value = "info")]
    pub log_level: log::LevelFilter,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_original_app() {
        let config = Config::try_parse_from(["room"]).unwrap();
        assert_eq!(config.host, "127.0.0.1");
        assert_eq!(config.port, 3000);
        assert_eq!(config.max_room_size, 8);
        assert_eq!(config.log_level, log::LevelFilter::Info);
    }

    #[test]
    fn nonsense_values_are_refused_with_a_message() {
        assert!(Config::try_parse_from(["room", "--port", "70000"]).is_err());
        assert!(Config::try_parse_from(["room", "--max-room-size", "0"]).is_err());
        assert!(Config::try_parse_from(["room", "--log-level", "loud"]).is_err());
    }
}
