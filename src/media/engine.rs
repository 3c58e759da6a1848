//! The media thread's loop: commands from the room core, packets from the sockets, time.
//!
//! Each turn it takes the commands waiting (a member's offer goes before its packets), reads
//! what the sockets have (a bounded number of datagrams per socket, so one busy socket does
//! not starve the others), lets time pass for the connections and routers that asked for it,
//! and then has every connection that was given packets send them. A packet goes from its
//! sender's connection to its room's router, which says who gets it in which slot with which
//! numbers, and from there into each receiver's connection.

use std::collections::{HashMap, HashSet};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::{Events, Poll, Token};
use room_core::media::{MediaCommand, MediaEvent, SlotAssign, SlotView, TrackSource};
use room_core::names::{PeerId, RoomName};
use room_media::layers::{vp8_descriptor_len, vp8_keyframe_size};
use room_media::router::{Forward, Packet, Router, RouterConfig, RouterEvent, Sends, Source, View};
use str0m::net::{Protocol, Receive};
use str0m::rtp::{RtpPacket, Vp8Descriptor};
use str0m::{Candidate, Input};

use super::peer::{Forwarded, Happened, Peer, Track};
use super::sockets::{Arrival, Sockets, Source as SocketSource};
use super::{MediaConfig, MediaStats};
use crate::clock;

/// The token of the waker the hub wakes the thread with.
pub(super) const WAKER: Token = Token(0);
/// Readiness events taken per wait.
const EVENTS: usize = 1024;
/// Datagrams read from one socket per turn.
const UDP_BUDGET: usize = 256;
/// The largest datagram read; anything longer is cut and then refused by str0m.
const MAX_DATAGRAM: usize = 2048;
/// How long a member's connection may take to come up after its offer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a connected member may send nothing at all (a browser sends ICE consent checks
/// and RTCP reports every few seconds even when it sends no media) before it counts as gone.
const SILENCE_TIMEOUT: Duration = Duration::from_secs(10);
/// How often each connection is told what bitrate its slots want.
const BITRATE_EVERY: Duration = Duration::from_secs(1);
/// How often silent TCP connections are looked for.
const EXPIRE_EVERY: Duration = Duration::from_secs(1);
/// Remote addresses remembered per member (its ICE candidate pairs).
const ROUTES_PER_MEMBER: usize = 8;
/// Connections given packets send them at most this long after: every poll of a connection
/// walks all its streams, so a receiver sent packets by many members is polled once for all
/// of them rather than once for each.
const SEND_EVERY: Duration = Duration::from_millis(1);

/// The loop's state.
#[derive(Debug)]
pub(super) struct Engine {
    poll: Poll,
    sockets: Sockets,
    candidates: Vec<Candidate>,
    /// Whether connections estimate their bandwidth (see [`MediaConfig`]).
    estimate: bool,
    router_config: RouterConfig,
    peers: HashMap<PeerId, Peer>,
    rooms: HashMap<RoomName, Router>,
    /// Which member a (remote, local) address pair belongs to, so a packet finds its
    /// connection without asking every one.
    routes: HashMap<(SocketAddr, SocketAddr), PeerId>,
    routes_of: HashMap<PeerId, Vec<(SocketAddr, SocketAddr)>>,
    /// UDP sockets that may still have datagrams (readiness is edge-triggered).
    readable: Vec<bool>,
    /// Members whose connection was given something to send.
    dirty: HashSet<PeerId>,
    /// Rooms whose router may have something to say.
    touched: HashSet<RoomName>,
    next_bitrate: Instant,
    next_expire: Instant,
    /// When the connections given packets last sent them.
    last_send: Instant,
    stats: Arc<MediaStats>,
    /// Scratch space, kept to save allocations.
    happened: Vec<Happened>,
    forwards: Vec<Forward>,
}

impl Engine {
    pub(super) fn new(poll: Poll, config: &MediaConfig) -> io::Result<Engine> {
        let sockets = Sockets::bind(
            poll.registry(),
            &config.addresses,
            config.udp_port,
            config.tcp_port,
        )?;
        let candidates = sockets.candidates(&config.public_ips);
        let udp_count = sockets.local_addrs().0.len();
        let now = Instant::now();
        Ok(Engine {
            poll,
            sockets,
            candidates,
            estimate: config.bandwidth_estimation,
            router_config: config.router,
            peers: HashMap::new(),
            rooms: HashMap::new(),
            routes: HashMap::new(),
            routes_of: HashMap::new(),
            readable: vec![true; udp_count],
            dirty: HashSet::new(),
            touched: HashSet::new(),
            next_bitrate: now + BITRATE_EVERY,
            next_expire: now + EXPIRE_EVERY,
            last_send: now,
            stats: Arc::new(MediaStats::default()),
            happened: Vec::new(),
            forwards: Vec::new(),
        })
    }

    pub(super) fn local_addrs(&self) -> (Vec<SocketAddr>, Vec<SocketAddr>) {
        self.sockets.local_addrs()
    }

    pub(super) fn stats(&self) -> Arc<MediaStats> {
        self.stats.clone()
    }

    /// Runs until `commands` is closed.
    pub(super) fn run(
        &mut self,
        commands: &Receiver<MediaCommand>,
        mut report: impl FnMut(MediaEvent),
    ) {
        let mut events = Events::with_capacity(EVENTS);
        let mut buf = vec![0u8; MAX_DATAGRAM];
        let mut arrivals = Vec::new();
        loop {
            let timeout = self
                .next_wake()
                .map(|at| at.saturating_duration_since(Instant::now()));
            if let Err(err) = self.poll.poll(&mut events, timeout) {
                if err.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                log::error!(error:% = err; "the media thread cannot wait for its sockets");
                return;
            }
            loop {
                match commands.try_recv() {
                    Ok(command) => self.command(command, &mut report),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        self.stop();
                        return;
                    }
                }
            }
            let now = Instant::now();
            for event in events.iter() {
                match SocketSource::of(event.token()) {
                    Some(SocketSource::Udp(index)) => {
                        if let Some(readable) = self.readable.get_mut(index) {
                            *readable = true;
                        }
                    }
                    Some(SocketSource::Listener(index)) => {
                        self.sockets.accept(self.poll.registry(), index, now);
                    }
                    Some(SocketSource::Connection(key)) => {
                        if event.is_writable() {
                            self.sockets.flush(self.poll.registry(), key);
                        }
                        if event.is_readable() || event.is_read_closed() {
                            self.sockets
                                .read(self.poll.registry(), key, now, &mut arrivals);
                        }
                    }
                    None => {}
                }
            }
            for arrival in arrivals.drain(..) {
                let Arrival {
                    proto,
                    source,
                    destination,
                    data,
                } = arrival;
                self.arrive(proto, source, destination, &data, &mut report);
            }
            for index in 0..self.readable.len() {
                if self.readable[index] {
                    self.read_udp(index, &mut buf, &mut report);
                }
            }
            self.pass_time(&mut report);
            if Instant::now() >= self.last_send + SEND_EVERY || !self.touched.is_empty() {
                self.settle(&mut report);
            }
        }
    }

    /// When the loop must next wake without a socket or a command waking it.
    fn next_wake(&self) -> Option<Instant> {
        if self.readable.iter().any(|readable| *readable) {
            return Some(Instant::now());
        }
        if !self.dirty.is_empty() {
            return Some(self.last_send + SEND_EVERY);
        }
        let peers = self.peers.values().flat_map(|peer| {
            let connect = peer.waiting_since.map(|since| since + CONNECT_TIMEOUT);
            let silence = peer
                .last_heard
                .filter(|_| peer.connected)
                .map(|heard| heard + SILENCE_TIMEOUT);
            peer.wake_at.into_iter().chain(connect).chain(silence)
        });
        let rooms = self
            .rooms
            .values()
            .map(|router| clock::instant(router.next_deadline()));
        peers
            .chain(rooms)
            .chain([self.next_bitrate, self.next_expire])
            .min()
    }

    fn command(&mut self, command: MediaCommand, report: &mut impl FnMut(MediaEvent)) {
        let tick = clock::tick();
        match command {
            MediaCommand::Join { member, room, call } => {
                self.forget(member);
                let router = self
                    .rooms
                    .entry(room.clone())
                    .or_insert_with(|| Router::new(self.router_config, tick));
                router.join(tick, member);
                self.peers
                    .insert(member, Peer::new(member, call, room.clone(), tick));
                self.touched.insert(room);
            }
            MediaCommand::Leave { member } => self.forget(member),
            MediaCommand::Offer {
                member,
                sdp,
                tracks,
            } => {
                let Some(peer) = self.peers.get_mut(&member) else {
                    return;
                };
                match peer.offer(
                    Instant::now(),
                    &sdp,
                    &tracks,
                    &self.candidates,
                    self.estimate,
                ) {
                    Ok(negotiated) => {
                        report(MediaEvent::Answer {
                            member,
                            call: peer.call,
                            sdp: negotiated.answer,
                        });
                        let (video, audio) = (peer.video_slots.len(), peer.audio_slots.len());
                        if let Some(router) = self.rooms.get_mut(&peer.room) {
                            router.tracks(tick, member, negotiated.sends, video, audio);
                        }
                        self.touched.insert(peer.room.clone());
                        self.dirty.insert(member);
                    }
                    Err(reason) => {
                        log::info!(peer:% = member, reason = reason.as_str(); "media offer refused");
                        report(MediaEvent::Failed {
                            member,
                            call: peer.call,
                            reason,
                        });
                    }
                }
            }
            MediaCommand::Silence { member, silenced } => {
                if let Some(router) = self.router_of(member) {
                    router.silence(tick, member, silenced);
                }
            }
            MediaCommand::Resync { member } => {
                if let Some(router) = self.router_of(member) {
                    router.resend(member);
                }
            }
            MediaCommand::View { member, slots } => {
                let Some(peer) = self.peers.get(&member) else {
                    return;
                };
                let views = slot_views(&peer.video_slots, &slots);
                if let Some(router) = self.router_of(member) {
                    router.view(tick, member, &views);
                }
            }
        }
    }

    /// The router of `member`'s room, marked as changed, if the member is in a call.
    fn router_of(&mut self, member: PeerId) -> Option<&mut Router> {
        let room = &self.peers.get(&member)?.room;
        let router = self.rooms.get_mut(room)?;
        self.touched.insert(room.clone());
        Some(router)
    }

    /// Takes `member` out of its room and ends its connection.
    fn forget(&mut self, member: PeerId) {
        let Some(mut peer) = self.peers.remove(&member) else {
            return;
        };
        if peer.connected {
            self.stats.connected.fetch_sub(1, Ordering::Relaxed);
        }
        peer.close();
        self.forget_routes(member);
        self.dirty.remove(&member);
        if let Some(router) = self.rooms.get_mut(&peer.room) {
            router.leave(clock::tick(), member);
            if router.is_empty() {
                self.rooms.remove(&peer.room);
                self.touched.remove(&peer.room);
            } else {
                self.touched.insert(peer.room);
            }
        }
    }

    fn forget_routes(&mut self, member: PeerId) {
        for route in self.routes_of.remove(&member).unwrap_or_default() {
            self.routes.remove(&route);
        }
    }

    fn read_udp(&mut self, index: usize, buf: &mut [u8], report: &mut impl FnMut(MediaEvent)) {
        for _ in 0..UDP_BUDGET {
            match self.sockets.recv_udp(index, buf) {
                Ok((len, source, destination)) => {
                    self.arrive(Protocol::Udp, source, destination, &buf[..len], report);
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => {
                    if err.kind() != io::ErrorKind::WouldBlock {
                        log::debug!(error:% = err; "media UDP read failed");
                    }
                    self.readable[index] = false;
                    return;
                }
            }
        }
    }

    /// One packet from `source` to `destination`: to the connection it belongs to, if any
    /// and if its sender's allowance takes it.
    fn arrive(
        &mut self,
        proto: Protocol,
        source: SocketAddr,
        destination: SocketAddr,
        data: &[u8],
        report: &mut impl FnMut(MediaEvent),
    ) {
        MediaStats::add(&self.stats.packets_in, 1);
        let Ok(receive) = Receive::new(proto, source, destination, data) else {
            MediaStats::add(&self.stats.packets_dropped, 1);
            return;
        };
        let input = Input::Receive(Instant::now(), receive);
        let route = (source, destination);
        let known = self.routes.get(&route).copied().filter(|member| {
            self.peers
                .get(member)
                .is_some_and(|peer| peer.accepts(&input))
        });
        // Only ICE's own checks may come from an address no member is known at: anything else
        // from a stranger is dropped without asking every connection.
        let member = known.or_else(|| {
            is_stun(data)
                .then(|| self.peers.values().find(|peer| peer.accepts(&input)))
                .flatten()
                .map(|peer| peer.member)
        });
        let Some(member) = member else {
            MediaStats::add(&self.stats.packets_dropped, 1);
            return;
        };
        let Some(peer) = self.peers.get_mut(&member) else {
            return;
        };
        if !peer.ingress.admit(clock::tick(), data.len()) {
            MediaStats::add(&self.stats.packets_dropped, 1);
            return;
        }
        peer.last_heard = Some(input_time(&input));
        if known.is_none() {
            let routes = self.routes_of.entry(member).or_default();
            if routes.len() >= ROUTES_PER_MEMBER {
                let oldest = routes.remove(0);
                self.routes.remove(&oldest);
            }
            routes.push(route);
            self.routes.insert(route, member);
            if proto == Protocol::Tcp {
                self.sockets.bind_route(destination, source);
            }
        }
        let mut happened = std::mem::take(&mut self.happened);
        peer.handle(input, &mut happened);
        self.happened_to(member, &mut happened, report);
        self.happened = happened;
    }

    /// Carries out what `member`'s connection did.
    fn happened_to(
        &mut self,
        member: PeerId,
        happened: &mut Vec<Happened>,
        report: &mut impl FnMut(MediaEvent),
    ) {
        for event in happened.drain(..) {
            match event {
                Happened::Transmit(transmit) => {
                    let sent = self.sockets.send(
                        self.poll.registry(),
                        transmit.proto,
                        transmit.source,
                        transmit.destination,
                        &transmit.contents,
                    );
                    if !sent {
                        MediaStats::add(&self.stats.packets_dropped, 1);
                    }
                }
                Happened::Packet(track, packet) => self.route(member, track, &packet),
                Happened::PictureLost(slot) => {
                    if let Some(peer) = self.peers.get(&member) {
                        if let Some(router) = self.rooms.get_mut(&peer.room) {
                            router.picture_lost(clock::tick(), member, slot);
                            self.touched.insert(peer.room.clone());
                        }
                    }
                }
                Happened::Estimate(bits_per_second) => {
                    if let Some(peer) = self.peers.get(&member) {
                        if let Some(router) = self.rooms.get_mut(&peer.room) {
                            router.estimate(clock::tick(), member, bits_per_second);
                            self.touched.insert(peer.room.clone());
                        }
                    }
                }
                Happened::Connected => {
                    self.stats.connected.fetch_add(1, Ordering::Relaxed);
                    log::info!(peer:% = member; "media connected");
                }
                Happened::Lost(reason) => self.lost(member, reason, report),
            }
        }
    }

    /// `member`'s connection went down: its slots stop, the others stop waiting for its
    /// tracks, and it is told, so it can offer again.
    fn lost(&mut self, member: PeerId, reason: String, report: &mut impl FnMut(MediaEvent)) {
        self.forget_routes(member);
        let Some(peer) = self.peers.get_mut(&member) else {
            return;
        };
        if std::mem::take(&mut peer.connected) {
            self.stats.connected.fetch_sub(1, Ordering::Relaxed);
        }
        peer.close();
        peer.waiting_since = None;
        log::info!(peer:% = member, reason = reason.as_str(); "media connection lost");
        if let Some(router) = self.rooms.get_mut(&peer.room) {
            router.tracks(clock::tick(), member, Sends::default(), 0, 0);
            self.touched.insert(peer.room.clone());
        }
        report(MediaEvent::Failed {
            member,
            call: peer.call,
            reason,
        });
    }

    /// A packet of `from`'s `track`: to everyone whose slots want it.
    fn route(&mut self, from: PeerId, track: Track, packet: &RtpPacket) {
        let Some(sender) = self.peers.get(&from) else {
            return;
        };
        let Some(router) = self.rooms.get_mut(&sender.room) else {
            return;
        };
        let tick = clock::tick();
        let payload = &packet.payload;
        let mut numbers = Packet {
            seq: *packet.seq_no,
            ts: packet.time.numer(),
            picture: None,
            tl0: None,
            bytes: payload.len(),
        };
        let mut descriptor = None;
        match track {
            Track::Audio => {
                let level = packet.header.ext_vals.audio_level.map(i8::unsigned_abs);
                router.audio(tick, from, level, numbers, &mut self.forwards);
            }
            Track::Video(source, layer) => {
                if source == Source::Camera {
                    MediaStats::add(&self.stats.camera_layers_in[layer.index()], 1);
                }
                descriptor = Vp8Descriptor::parse(payload).ok();
                numbers.picture = descriptor.and_then(|vp8| vp8.picture_id());
                numbers.tl0 = descriptor.and_then(|vp8| vp8.tl0_pic_idx());
                let keyframe = descriptor.is_some_and(|vp8| vp8.starts_keyframe(payload));
                let size = keyframe
                    .then(|| vp8_descriptor_len(payload))
                    .flatten()
                    .and_then(|start| vp8_keyframe_size(&payload[start..]));
                router.video(
                    tick,
                    from,
                    source,
                    layer,
                    size,
                    keyframe,
                    numbers,
                    &mut self.forwards,
                );
            }
        }
        if router.has_events() && !self.touched.contains(&sender.room) {
            self.touched.insert(sender.room.clone());
        }
        for forward in self.forwards.drain(..) {
            let Some(receiver) = self.peers.get_mut(&forward.to) else {
                continue;
            };
            match receiver.forward(forward.slot, forward.numbers, packet, descriptor.as_ref()) {
                Forwarded::Sent => {
                    MediaStats::add(&self.stats.packets_out, 1);
                    self.dirty.insert(forward.to);
                }
                Forwarded::Dropped => MediaStats::add(&self.stats.packets_dropped, 1),
                Forwarded::NotReady => {}
            }
        }
    }

    /// Lets time pass for whatever asked for it.
    fn pass_time(&mut self, report: &mut impl FnMut(MediaEvent)) {
        let now = Instant::now();
        let due: Vec<PeerId> = self
            .peers
            .values()
            .filter(|peer| peer.wake_at.is_some_and(|at| at <= now))
            .map(|peer| peer.member)
            .collect();
        for member in due {
            let mut happened = std::mem::take(&mut self.happened);
            if let Some(peer) = self.peers.get_mut(&member) {
                peer.handle(Input::Timeout(now), &mut happened);
            }
            self.happened_to(member, &mut happened, report);
            self.happened = happened;
        }
        let late: Vec<PeerId> = self
            .peers
            .values()
            .filter(|peer| {
                peer.waiting_since
                    .is_some_and(|since| now >= since + CONNECT_TIMEOUT)
            })
            .map(|peer| peer.member)
            .collect();
        for member in late {
            let (udp, tcp) = self.sockets.local_addrs();
            let ports = |addrs: &[SocketAddr]| addrs.first().map_or(0, SocketAddr::port);
            let reason = format!(
                "no media connection came up in {} s: UDP port {} and TCP port {} of the server may be blocked",
                CONNECT_TIMEOUT.as_secs(),
                ports(&udp),
                ports(&tcp)
            );
            self.lost(member, reason, report);
        }
        let silent: Vec<PeerId> = self
            .peers
            .values()
            .filter(|peer| {
                peer.connected
                    && peer
                        .last_heard
                        .is_some_and(|heard| now >= heard + SILENCE_TIMEOUT)
            })
            .map(|peer| peer.member)
            .collect();
        for member in silent {
            let reason = format!(
                "nothing came from the browser for {} s",
                SILENCE_TIMEOUT.as_secs()
            );
            self.lost(member, reason, report);
        }
        if now >= self.next_bitrate {
            self.next_bitrate = now + BITRATE_EVERY;
            let tick = clock::tick();
            for peer in self.peers.values_mut() {
                if let Some(router) = self.rooms.get(&peer.room) {
                    peer.want_bitrate(router.desired_bitrate(tick, peer.member));
                    self.dirty.insert(peer.member);
                }
            }
        }
        if now >= self.next_expire {
            self.next_expire = now + EXPIRE_EVERY;
            self.sockets.expire(self.poll.registry(), now);
        }
        let tick = clock::tick();
        for (name, router) in &self.rooms {
            if router.next_deadline() <= tick {
                self.touched.insert(name.clone());
            }
        }
    }

    /// Hears out the routers that may have something to say and sends what the connections
    /// were given, until nothing is left.
    fn settle(&mut self, report: &mut impl FnMut(MediaEvent)) {
        self.last_send = Instant::now();
        while !self.touched.is_empty() || !self.dirty.is_empty() {
            for room in std::mem::take(&mut self.touched) {
                let Some(router) = self.rooms.get_mut(&room) else {
                    continue;
                };
                for event in router.poll(clock::tick()) {
                    self.router_event(&room, event, report);
                }
            }
            for member in std::mem::take(&mut self.dirty) {
                let mut happened = std::mem::take(&mut self.happened);
                if let Some(peer) = self.peers.get_mut(&member) {
                    peer.poll(&mut happened);
                }
                self.happened_to(member, &mut happened, report);
                self.happened = happened;
            }
        }
    }

    fn router_event(
        &mut self,
        room: &RoomName,
        event: RouterEvent,
        report: &mut impl FnMut(MediaEvent),
    ) {
        match event {
            RouterEvent::Assign {
                member,
                video,
                audio,
            } => {
                let Some(peer) = self.peers.get(&member) else {
                    return;
                };
                let video = peer
                    .video_slots
                    .iter()
                    .zip(video)
                    .map(|(mid, source)| SlotAssign {
                        slot: mid.to_string(),
                        member: source.map(|(from, _)| from),
                        source: source.map(|(_, source)| match source {
                            Source::Camera => TrackSource::Camera,
                            Source::Screen => TrackSource::Screen,
                        }),
                    })
                    .collect();
                let audio = peer
                    .audio_slots
                    .iter()
                    .zip(audio)
                    .map(|(mid, from)| SlotAssign {
                        slot: mid.to_string(),
                        member: from,
                        source: None,
                    })
                    .collect();
                report(MediaEvent::Assign {
                    member,
                    call: peer.call,
                    video,
                    audio,
                });
            }
            RouterEvent::Keyframe {
                member,
                source,
                layer,
            } => {
                if let Some(peer) = self.peers.get_mut(&member) {
                    peer.request_keyframe(source, layer);
                    self.dirty.insert(member);
                }
            }
            RouterEvent::WantSlots {
                member,
                video,
                audio,
            } => {
                if let Some(peer) = self.peers.get(&member) {
                    report(MediaEvent::Slots {
                        member,
                        call: peer.call,
                        video,
                        audio,
                    });
                }
            }
            RouterEvent::Speaking(speaking) => report(MediaEvent::Speaking {
                room: room.clone(),
                speaking: speaking.speaking,
                dominant: speaking.dominant,
            }),
        }
    }

    fn stop(&mut self) {
        for peer in self.peers.values_mut() {
            peer.close();
        }
        self.peers.clear();
        self.rooms.clear();
    }
}

/// The views of a member's video slots, by the slots' places, from what it reported by `mid`;
/// a slot it does not have is ignored.
fn slot_views(video_slots: &[str0m::media::Mid], reported: &[SlotView]) -> Vec<(usize, View)> {
    reported
        .iter()
        .filter_map(|view| {
            let index = video_slots.iter().position(|mid| **mid == *view.slot)?;
            let size = View {
                width: view.size.width,
                height: view.size.height,
                visible: view.size.visible,
            };
            Some((index, size))
        })
        .collect()
}

/// When `input` happened.
fn input_time(input: &Input<'_>) -> Instant {
    match input {
        Input::Timeout(at) | Input::Receive(at, _) => *at,
    }
}

/// Whether `data` is a STUN message (RFC 7983: its first byte is 0 to 3).
fn is_stun(data: &[u8]) -> bool {
    data.first().is_some_and(|first| *first < 4)
}

#[cfg(test)]
mod tests {
    use super::*;
    use room_core::media::SlotSize;

    #[test]
    fn views_are_matched_to_slots_by_mid() {
        let slots: Vec<str0m::media::Mid> = ["3", "4"].map(Into::into).to_vec();
        let view = |slot: &str, height| SlotView {
            slot: slot.into(),
            size: SlotSize {
                width: 16 * height / 9,
                height,
                visible: true,
            },
        };
        let views = slot_views(&slots, &[view("4", 720), view("9", 90), view("3", 180)]);
        let places: Vec<(usize, u32)> = views
            .iter()
            .map(|(index, view)| (*index, view.height))
            .collect();
        assert_eq!(places, [(1, 720), (0, 180)]);
    }

    #[test]
    fn only_stun_is_stun() {
        assert!(is_stun(&[0x00, 0x01, 0x00, 0x00]));
        assert!(!is_stun(&[0x16, 0xfe, 0xfd]), "DTLS");
        assert!(!is_stun(&[0x80, 0x60]), "RTP");
        assert!(!is_stun(&[]));
    }
}
