//! `room`: starts the meeting server with the settings from the command line.

use std::process::ExitCode;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;

use room::config::Config;
use room::logging;
use room::server::Server;

/// How long the log may take to write out what it still holds when Room stops.
const LOG_FLUSH_LIMIT: Duration = Duration::from_secs(2);

fn main() -> ExitCode {
    let config = Config::parse();
    let sink = logging::start(config.log_level);
    let dropped = sink
        .as_ref()
        .map_or_else(|| Arc::new(AtomicU64::new(0)), logging::Sink::dropped);
    let status = async_std::task::block_on(run(config, dropped));
    if let Some(sink) = sink {
        sink.finish(LOG_FLUSH_LIMIT);
    }
    status
}

async fn run(config: Config, log_lines_dropped: Arc<AtomicU64>) -> ExitCode {
    let server = match Server::bind(&config, log_lines_dropped).await {
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
    // People and programs read this line to find the server (on port 0, say), whatever the
    // log level: so it goes to stderr too.
    log::info!(url = server.url(); "listening on {}", server.url());
    eprintln!("room: listening on {}", server.url());
    let open = server.urls_to_open();
    if open != [server.url()] {
        let open = open.join(", ");
        log::info!(urls = open.as_str(); "open it at {open}");
        eprintln!("room: open it at {open}");
    }
    let shutdown = async move {
        let _ = stopped.recv().await;
    };
    if let Err(err) = server.serve(shutdown).await {
        eprintln!("room: {err}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
