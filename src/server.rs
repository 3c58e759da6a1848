//! The server: binds its address and runs the parts together until it is told to stop.
//!
//! It is where the parts meet: the listener and its caps (`net`), the HTTP app
//! (`http`), the hub the connections share (`session`). None of them knows
//! this module.

pub use crate::http::ice::IceError;
pub use crate::net::hosts::NameError;
pub use crate::net::tls::TlsError;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_std::net::TcpListener;
use async_std::task;
use futures_rustls::TlsAcceptor;
use futures_util::future::{select, Either};
use room_core::flood::{RateLimit, WireBudget};
use room_core::media::MediaMode;
use room_core::rooms::Limits;
use room_media::router::RouterConfig;

use crate::config::{Config, Switch};
use crate::http::ice::Ice;
use crate::http::rate_limit::HttpLimiter;
use crate::http::{self, AppState, MediaInfo};
use crate::media::{self, Media, MediaConfig};
use crate::net::admission::{Caps, Gate};
use crate::net::hosts::Names;
use crate::net::tls;
use crate::net::{listener, open_files};
use crate::session::connection::Policy;
use crate::session::hub::Hub;

/// How long a shutdown waits for clients to answer their close frames.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// How often a shutdown looks whether every connection has ended.
const SHUTDOWN_POLL: Duration = Duration::from_millis(20);
/// Open files kept back from connections: the listener, the log's pipe, the runtime's own and
/// a margin, so the accept loop can always take a connection to refuse it.
const RESERVED_FILES: u64 = 64;
/// TCP connections one address may hold beyond its WebSockets: page loads and the like, which
/// close after a few idle seconds.
const HTTP_CONNECTIONS_PER_ADDRESS: usize = 32;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// What was asked for.
        addr: String,
        /// Why it failed.
        source: io::Error,
    },
    /// TLS could not be set up.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// An `--ice-server` is not one.
    #[error(transparent)]
    Ice(#[from] IceError),
    /// A `--public-url` or `--allowed-origin` is not an origin.
    #[error(transparent)]
    Name(#[from] NameError),
    /// The media ports could not be bound, or the media thread started.
    #[error("cannot take media on UDP port {udp} and TCP port {tcp}: {source}")]
    Media {
        /// The UDP port asked for.
        udp: u16,
        /// The TCP port asked for.
        tcp: u16,
        /// Why it failed.
        source: io::Error,
    },
}

/// Binds the media ports, makes the hub that hands them commands and starts the media thread,
/// which reports back to the hub.
fn start_media(
    config: &Config,
    local: SocketAddr,
    limits: Limits,
) -> Result<(Arc<Hub>, MediaInfo), StartError> {
    // Any free port for the HTTP listener means any free ports for media too.
    let (udp, tcp) = match config.port {
        0 => (0, 0),
        port => (port, port.saturating_add(1)),
    };
    let media_config = MediaConfig {
        addresses: if config.rtc_addresses.is_empty() {
            media::media_addresses(local.ip())
        } else {
            config.rtc_addresses.clone()
        },
        udp_port: config.rtc_udp_port.unwrap_or(udp),
        tcp_port: config.rtc_tcp_port.unwrap_or(tcp),
        public_ips: config.public_ips.clone(),
        router: RouterConfig {
            max_video_slots: usize::from(config.video_slots),
            audio_slots: usize::from(config.audio_slots),
        },
        bandwidth_estimation: config.bandwidth_estimation == Switch::On,
    };
    let failed = |source| StartError::Media {
        udp: media_config.udp_port,
        tcp: media_config.tcp_port,
        source,
    };
    let (media, commands) = Media::bind(&media_config).map_err(failed)?;
    let (udp, tcp) = media.local_addrs();
    log::info!(udp:? = udp, tcp:? = tcp, public:? = config.public_ips; "media ports");
    let info = MediaInfo {
        stats: media.stats(),
        udp,
        tcp,
    };
    let hub = Arc::new(Hub::new(limits, Some(Box::new(commands))));
    let reports_to = Arc::downgrade(&hub);
    media
        .spawn(move |event| {
            if let Some(hub) = reports_to.upgrade() {
                hub.handle_media(event);
            }
        })
        .map_err(failed)?;
    Ok((hub, info))
}

/// A server bound to its address, ready to serve.
pub struct Server {
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    app: tide::Server<Arc<AppState>>,
    state: Arc<AppState>,
    tcp_gate: Arc<Gate>,
    url: String,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Binds the listener and prepares TLS and the app; serving starts with [`Server::serve`].
    /// `log_lines_dropped` is the log sink's count, for `/healthz`.
    pub async fn bind(
        config: &Config,
        log_lines_dropped: Arc<AtomicU64>,
    ) -> Result<Server, StartError> {
        let ice = Ice::new(
            &config.ice_servers,
            config.ice_username.as_deref(),
            config.ice_credential.as_deref(),
            config.turn_secret.as_deref(),
            Duration::from_secs(config.turn_ttl),
        )?;
        let (tls, certificate, mut hosts) = match (&config.tls_cert, &config.tls_key) {
            (Some(cert), Some(key)) => {
                let (acceptor, leaf) = tls::from_files(cert, key)?;
                (Some(acceptor), Some(leaf), Vec::new())
            }
            _ if config.tls_self_signed => {
                let (acceptor, names) = tls::self_signed()?;
                log::info!(names:? = names; "made a self-signed certificate");
                (Some(acceptor), None, names)
            }
            _ => (None, None, Vec::new()),
        };
        hosts.extend(config.allowed_hosts.iter().cloned());
        let names = Names::new(
            &hosts,
            &config.public_urls,
            &config.allowed_origins,
            certificate,
        )?
        .with_machine_name(tls::host_name().as_deref());
        let addr = (config.host.as_str(), config.port);
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind {
                addr: format!("{}:{}", config.host, config.port),
                source,
            })?;
        let local = listener.local_addr().map_err(|source| StartError::Bind {
            addr: format!("{}:{}", config.host, config.port),
            source,
        })?;
        let open_files = open_files::raise_limit();
        let tcp_total = usize::try_from(open_files.saturating_sub(RESERVED_FILES))
            .unwrap_or(usize::MAX)
            .max(1);
        log::info!(open_files, tcp_connections = tcp_total; "open files limit");
        if tcp_total < config.max_connections as usize {
            log::warn!(
                open_files, max_connections = config.max_connections;
                "the open files limit holds fewer connections than --max-connections"
            );
        }
        let tcp_gate = Gate::new(Caps {
            total: tcp_total,
            per_address: config.max_connections_per_address as usize + HTTP_CONNECTIONS_PER_ADDRESS,
        });
        let scheme = if tls.is_some() { "https" } else { "http" };
        let rate_limit = RateLimit {
            per_second: config.rate_limit,
            burst: config.rate_burst,
        };
        let limits = Limits {
            max_room_size: usize::from(config.room_size()),
            max_rooms: config.max_rooms as usize,
            private_rooms: config.private_rooms,
            history_bytes: config.history_budget_mib as usize * 1024 * 1024,
            media: config.media_mode(),
            resume_grace: Duration::from_secs(config.resume_grace),
            ..Limits::default()
        };
        let (hub, media) = match config.media_mode() {
            MediaMode::Mesh => (Arc::new(Hub::new(limits, None)), None),
            MediaMode::Sfu => {
                let (hub, media) = start_media(config, local, limits)?;
                (hub, Some(media))
            }
        };
        let state = Arc::new(AppState {
            hub,
            media,
            ice,
            ice_relay_only: config.ice_relay_only,
            names,
            gate: Gate::new(Caps {
                total: config.max_connections as usize,
                per_address: config.max_connections_per_address as usize,
            }),
            http_limit: HttpLimiter::new(config.http_rate_limit),
            policy: Policy {
                rate_limit,
                idle_timeout: Duration::from_secs(config.idle_timeout),
            },
            wire_budget: WireBudget::for_rate_limit(rate_limit),
            log_lines_dropped,
        });
        let app = http::app(state.clone(), config.echo_route);
        Ok(Server {
            listener,
            tls,
            app,
            state,
            tcp_gate,
            url: format!("{scheme}://{local}"),
        })
    }

    /// Where the server listens, such as `http://127.0.0.1:3000`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Where people can open it: the listener's address, or, listening on every address
    /// (`0.0.0.0`, `::`), this machine's addresses, the LAN ones first.
    pub fn urls_to_open(&self) -> Vec<String> {
        let Ok(local) = self.listener.local_addr() else {
            return vec![self.url.clone()];
        };
        if !local.ip().is_unspecified() {
            return vec![self.url.clone()];
        }
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        // `0.0.0.0` takes IPv4 alone; `::` both.
        media::media_addresses(local.ip())
            .into_iter()
            .filter(|ip| ip.is_ipv4() || local.is_ipv6())
            .map(|ip| format!("{scheme}://{}", SocketAddr::new(ip, local.port())))
            .collect()
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then stops accepting, sends close 1001 to every
    /// WebSocket client and waits a bounded time for them to go.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) -> io::Result<()> {
        let hub = self.state.hub.clone();
        let timers = task::spawn(async move { hub.run_timers().await });
        let accepting = listener::serve(self.app, self.listener, self.tls, self.tcp_gate);
        if let Either::Left((result, _)) =
            select(std::pin::pin!(accepting), std::pin::pin!(shutdown)).await
        {
            return result;
        }
        let open = self.state.gate.count();
        log::info!(connections = open; "shutting down");
        self.state.hub.close_all();
        let started = Instant::now();
        while self.state.gate.count() > 0 && started.elapsed() < SHUTDOWN_GRACE {
            task::sleep(SHUTDOWN_POLL).await;
        }
        timers.cancel().await;
        log::info!(connections = self.state.gate.count(); "stopped");
        Ok(())
    }
}
