//! The selective forwarding unit's edge: one thread that owns the media sockets and every
//! member's WebRTC connection (str0m), and carries out what `room-media` decides.
//!
//! In SFU mode every member has one peer connection, to the server. The room core tells the
//! media thread who is in which room and hands it each member's offer and view
//! ([`MediaCommand`]); the thread answers, forwards each packet to the members whose slots
//! want it, and reports back ([`MediaEvent`]) what the members are to be told.
//!
//! - [`sockets`]: one UDP socket and one ICE-TCP listener per address, and the TCP
//!   connections browsers open when UDP does not get through.
//! - [`peer`]: one member's connection: its offer and answer, its tracks and slots, the
//!   packets it sends and those it is sent.
//! - [`engine`]: the loop that ties them to one `room-media` router per room.
//!
//! The thread is the only one that touches the connections, so none of it locks; it talks to
//! the rest of the server through a bounded command queue and a callback.

mod engine;
mod peer;
mod sockets;

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::Arc;
use std::thread;

use mio::{Poll, Waker};
use room_core::media::{MediaCommand, MediaEvent};
use room_media::router::RouterConfig;

use crate::session::hub::MediaSink;

/// Commands that may wait for the media thread. Commands come from client frames, which the
/// rate limit bounds; a queue this full means the thread is stuck.
const COMMAND_QUEUE: usize = 16_384;

/// Where and how the media thread works.
#[derive(Debug, Clone)]
pub(crate) struct MediaConfig {
    /// The addresses to take media on: a UDP socket and a TCP listener on each.
    pub(crate) addresses: Vec<IpAddr>,
    /// The UDP port, the same on every address; 0 takes any free one.
    pub(crate) udp_port: u16,
    /// The ICE-TCP port; 0 takes any free one.
    pub(crate) tcp_port: u16,
    /// Addresses the server is reached at from outside (a NAT's), offered besides its own.
    pub(crate) public_ips: Vec<IpAddr>,
    /// How many slots members get.
    pub(crate) router: RouterConfig,
    /// Whether each member's connection estimates its bandwidth (str0m's TWCC estimator and
    /// pacer), so its slots get the layers that fit; without it every receiver is assumed to
    /// take 2.5 Mbit/s.
    pub(crate) bandwidth_estimation: bool,
}

/// What the media thread counts, for `/healthz`.
#[derive(Debug, Default)]
pub(crate) struct MediaStats {
    /// Members with a media connection that is up.
    pub(crate) connected: AtomicU64,
    /// Packets received from members.
    pub(crate) packets_in: AtomicU64,
    /// Packets forwarded to members.
    pub(crate) packets_out: AtomicU64,
    /// Packets dropped: over a member's allowance, from nobody, or that a socket would not take.
    pub(crate) packets_dropped: AtomicU64,
    /// Camera packets received in each simulcast layer, smallest first.
    pub(crate) camera_layers_in: [AtomicU64; 3],
}

impl MediaStats {
    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// The hub's way to the media thread.
#[derive(Debug)]
pub(crate) struct MediaCommands {
    queue: SyncSender<MediaCommand>,
    waker: Arc<Waker>,
}

impl MediaSink for MediaCommands {
    fn send(&self, commands: Vec<MediaCommand>) -> usize {
        let total = commands.len();
        let mut sent = 0;
        for command in commands {
            if self.queue.try_send(command).is_err() {
                break;
            }
            sent += 1;
        }
        // A failed wake means the thread is gone; its queue says so to the next sender.
        let _ = self.waker.wake();
        total - sent
    }
}

impl Drop for MediaCommands {
    fn drop(&mut self) {
        // The thread stops when it finds the queue closed.
        let _ = self.waker.wake();
    }
}

/// The media thread, its sockets bound, not yet running.
#[derive(Debug)]
pub(crate) struct Media {
    engine: engine::Engine,
    commands: Receiver<MediaCommand>,
}

impl Media {
    /// Binds the sockets of `config`; the thread starts with [`Media::spawn`].
    pub(crate) fn bind(config: &MediaConfig) -> io::Result<(Media, MediaCommands)> {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), engine::WAKER)?);
        let (queue, commands) = mpsc::sync_channel(COMMAND_QUEUE);
        let engine = engine::Engine::new(poll, config)?;
        Ok((Media { engine, commands }, MediaCommands { queue, waker }))
    }

    /// Where media is taken: the UDP sockets and TCP listeners.
    pub(crate) fn local_addrs(&self) -> (Vec<SocketAddr>, Vec<SocketAddr>) {
        self.engine.local_addrs()
    }

    /// What the thread counts.
    pub(crate) fn stats(&self) -> Arc<MediaStats> {
        self.engine.stats()
    }

    /// Starts the thread; `report` hears every [`MediaEvent`]. It runs until the
    /// [`MediaCommands`] are dropped.
    pub(crate) fn spawn(
        self,
        report: impl FnMut(MediaEvent) + Send + 'static,
    ) -> io::Result<thread::JoinHandle<()>> {
        let Media {
            mut engine,
            commands,
        } = self;
        thread::Builder::new()
            .name("room-media".into())
            .spawn(move || engine.run(&commands, report))
    }
}

/// The addresses to take media on when the server listens on `host`: that address alone when
/// it is one of this machine's own, otherwise (a wildcard or loopback) every address the
/// machine has but link-local ones, as browsers on this machine call its LAN address rather
/// than loopback.
pub(crate) fn media_addresses(host: IpAddr) -> Vec<IpAddr> {
    if !host.is_unspecified() && !host.is_loopback() {
        return vec![host];
    }
    let mut addresses: Vec<IpAddr> = if_addrs::get_if_addrs()
        .unwrap_or_default()
        .into_iter()
        .map(|interface| interface.ip())
        .filter(|ip| !is_link_local(*ip))
        .filter(|ip| host.is_unspecified() || host.is_ipv4() == ip.is_ipv4())
        .collect();
    addresses.sort_by_key(|ip| (ip.is_loopback(), ip.is_ipv6(), *ip));
    addresses.dedup();
    if addresses.is_empty() {
        addresses.push(host);
    }
    addresses
}

fn is_link_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_specific_address_is_used_alone() {
        let lan: IpAddr = "192.0.2.7".parse().unwrap();
        assert_eq!(media_addresses(lan), [lan]);
    }

    #[test]
    fn loopback_takes_every_address_of_its_family_with_loopback_last() {
        let addresses = media_addresses("127.0.0.1".parse().unwrap());
        assert!(addresses.iter().all(IpAddr::is_ipv4), "{addresses:?}");
        assert!(
            addresses.iter().all(|ip| !is_link_local(*ip)),
            "{addresses:?}"
        );
        let first_loopback = addresses.iter().position(IpAddr::is_loopback);
        if let Some(first) = first_loopback {
            assert!(
                addresses[first..].iter().all(IpAddr::is_loopback),
                "{addresses:?}"
            );
        }
    }
}
