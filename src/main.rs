//! `room`: starts the meeting server with the settings from the command line.

use std::process::ExitCode;

use clap::Parser;

use room::config::Config;
use room::server::Server;

#[async_std::main]
async fn main() -> ExitCode {
    let config = Config::parse();
    femme::with_level(config.log_level);
    let server = match Server::bind(&config).await {
        Ok(server) => server,
        Err(err) => {
            log::error!(error:% = err; "cannot start");
            eprintln!("room: {err}");
            return ExitCode::FAILURE;
        }
    };
    let (stop, stopped) = async_channel::bounded(1);
    // SIGINT, SIGTERM and SIGHUP all ask for a graceful shutdown.
    if let Err(err) = ctrlc::set_handler(move || {
        let _ = stop.try_send(());
    }) {
        log::warn!(error:% = err; "cannot catch signals; stopping will not be graceful");
    }
    // Tests and people read this line to find a server started on port 0.
    log::info!(url = server.url(); "listening on {}", server.url());
    let shutdown = async move {
        let _ = stopped.recv().await;
    };
    if let Err(err) = server.serve(shutdown).await {
        eprintln!("room: {err}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
