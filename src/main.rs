//! `room`: starts the meeting server with the settings from the command line.

use clap::Parser;

use room::config::Config;

#[async_std::main]
async fn main() -> std::io::Result<()> {
    let config = Config::parse();
    femme::with_level(config.log_level);
    room::server::run(&config).await
}
