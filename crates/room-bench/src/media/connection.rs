//! One WebRTC connection of a synthetic member (str0m, RTP mode) on a UDP socket of the
//! generator's reactor: what it sends (a microphone every 20 ms, a camera's three simulcast
//! layers at 30 frames a second, keyframes when asked and every 10 s, a flood if the plan says)
//! and what it receives, counted in the member's report.

use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::rc::Rc;
use std::time::{Duration, Instant};

use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, Mid, Pt, Rid, Simulcast, SimulcastLayer};
use str0m::net::{Protocol, Receive};
use str0m::rtp::{ExtensionValues, RtpWrite, SeqNo};
use str0m::{Candidate, Event, Input, Output, Rtc};

use super::packets::{audio_payload, video_payloads, Frame, Stamp, Stream};
use super::tally::{Plan, Report};
use crate::clock::Clock;
use crate::reactor::{Direction as Ready, Registration};

/// The camera's layers: rid, size, bits per second (what a browser sends for a 720p camera).
const LAYERS: [(&str, u16, u16, u64); 3] = [
    ("q", 320, 180, 150_000),
    ("h", 640, 360, 500_000),
    ("f", 1280, 720, 1_500_000),
];
/// Frames a second of each layer.
const FPS: u32 = 30;
/// A keyframe at least this often, besides those asked for.
const KEYFRAME_EVERY: Duration = Duration::from_secs(10);
/// A keyframe is this many times the size of another frame.
const KEYFRAME_SCALE: usize = 4;
/// Audio packets come every 20 ms.
const AUDIO_EVERY: Duration = Duration::from_millis(20);
/// Flood packets carry this many bytes of frame.
const FLOOD_PACKET: usize = 1_000;

/// A camera layer's sending state.
#[derive(Debug)]
struct Layer {
    rid: Rid,
    width: u16,
    height: u16,
    frame_bytes: usize,
    seq: u64,
    stamp_seq: u64,
    picture: u16,
    tl0: u8,
    keyframe_due: bool,
    last_keyframe: Option<Instant>,
}

/// When the next packets are due.
#[derive(Debug)]
struct Schedule {
    audio: Instant,
    frame: Instant,
    flood_credit: f64,
    flood_at: Instant,
}

/// One connection and what it has negotiated.
pub(super) struct Connection {
    rtc: Rtc,
    socket: Rc<Registration<UdpSocket>>,
    local: SocketAddr,
    pending: Option<SdpPendingOffer>,
    audio_mid: Option<Mid>,
    camera_mid: Option<Mid>,
    video_slots: usize,
    audio_slots: usize,
    vp8: Option<Pt>,
    opus: Option<Pt>,
    layers: Vec<Layer>,
    audio_seq: u64,
    schedule: Schedule,
    connected_at: Option<Instant>,
    /// When str0m next wants time to pass.
    wake_at: Option<Instant>,
    /// Whether it has stopped sending and answering (the plan's `silent_after`).
    silent: bool,
}

impl Connection {
    /// A connection from a UDP socket on `local_ip` (the server's address family).
    pub(super) fn new(local_ip: IpAddr) -> io::Result<Connection> {
        let socket = UdpSocket::bind(SocketAddr::new(local_ip, 0))?;
        socket.set_nonblocking(true)?;
        let local = socket.local_addr()?;
        let now = Instant::now();
        let mut rtc = Rtc::builder()
            .set_rtp_mode(true)
            .clear_codecs()
            .enable_opus(true, false)
            .enable_vp8(true)
            .build(now);
        let candidate = Candidate::host(local, Protocol::Udp)
            .map_err(|err| io::Error::other(err.to_string()))?;
        rtc.add_local_candidate(candidate);
        Ok(Connection {
            rtc,
            socket: Rc::new(Registration::new(socket)?),
            local,
            pending: None,
            audio_mid: None,
            camera_mid: None,
            video_slots: 0,
            audio_slots: 0,
            vp8: None,
            opus: None,
            layers: Vec::new(),
            audio_seq: 0,
            schedule: Schedule {
                audio: now,
                frame: now,
                flood_credit: 0.0,
                flood_at: now,
            },
            connected_at: None,
            wake_at: None,
            silent: false,
        })
    }

    /// An offer of what is not negotiated yet: the plan's tracks the first time, then receive
    /// slots up to `video_slots` and `audio_slots`; with the `mid` and source of each track.
    /// `None` when there is nothing new, or an offer is still out.
    pub(super) fn offer(
        &mut self,
        plan: &Plan,
        video_slots: usize,
        audio_slots: usize,
    ) -> Option<(String, Vec<(Mid, &'static str)>)> {
        if self.pending.is_some() {
            return None;
        }
        let mut api = self.rtc.sdp_api();
        if self.audio_mid.is_none() && plan.audio_level.is_some() {
            self.audio_mid =
                Some(api.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None));
        }
        if self.camera_mid.is_none() && plan.camera {
            let simulcast = Simulcast {
                send: LAYERS
                    .iter()
                    .map(|(rid, ..)| SimulcastLayer::new(rid))
                    .collect(),
                recv: Vec::new(),
            };
            self.camera_mid = Some(api.add_media(
                MediaKind::Video,
                Direction::SendOnly,
                None,
                None,
                Some(simulcast),
            ));
            self.layers = camera_layers();
        }
        for _ in self.video_slots..video_slots {
            api.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
        }
        for _ in self.audio_slots..audio_slots {
            api.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None);
        }
        self.video_slots = self.video_slots.max(video_slots);
        self.audio_slots = self.audio_slots.max(audio_slots);
        let (offer, pending) = api.apply()?;
        self.pending = Some(pending);
        let tracks = [(self.audio_mid, "audio"), (self.camera_mid, "camera")]
            .into_iter()
            .filter_map(|(mid, source)| Some((mid?, source)))
            .collect();
        Some((offer.to_sdp_string(), tracks))
    }

    /// The answer to the last offer.
    pub(super) fn accept_answer(&mut self, sdp: &str) -> Result<(), String> {
        let answer = SdpAnswer::from_sdp_string(sdp).map_err(|err| format!("answer: {err}"))?;
        let pending = self.pending.take().ok_or("an answer to no offer")?;
        self.rtc
            .sdp_api()
            .accept_answer(pending, answer)
            .map_err(|err| format!("answer: {err}"))?;
        self.learn_codecs();
        Ok(())
    }

    /// The server's offer (an SFU that offers what it sends): the answer.
    pub(super) fn accept_offer(&mut self, sdp: &str) -> Result<String, String> {
        let offer = SdpOffer::from_sdp_string(sdp).map_err(|err| format!("offer: {err}"))?;
        let answer = self
            .rtc
            .sdp_api()
            .accept_offer(offer)
            .map_err(|err| format!("offer: {err}"))?;
        self.learn_codecs();
        Ok(answer.to_sdp_string())
    }

    fn learn_codecs(&mut self) {
        let codec = |rtc: &Rtc, codec: Codec| {
            rtc.codec_config()
                .find(|params| params.spec().codec == codec)
                .map(|params| params.pt())
        };
        self.vp8 = codec(&self.rtc, Codec::Vp8);
        self.opus = codec(&self.rtc, Codec::Opus);
    }

    /// Whether an offer is out without its answer.
    pub(super) fn offering(&self) -> bool {
        self.pending.is_some()
    }

    /// When ICE and DTLS came up.
    pub(super) fn connected_at(&self) -> Option<Instant> {
        self.connected_at
    }

    /// The socket, to wait for it (a handle of its own, so waiting borrows no connection).
    pub(super) fn socket(&self) -> Rc<Registration<UdpSocket>> {
        self.socket.clone()
    }

    /// Lets time pass at `now`: sends what is due (unless the plan has gone silent) and what
    /// the connection has to send.
    pub(super) fn turn(
        &mut self,
        now: Instant,
        plan: &Plan,
        clock: &Clock,
        report: &mut Report,
    ) -> Result<(), String> {
        if let Some(at) = self.connected_at {
            report.connected_for = report.connected_for.max(now.duration_since(at));
            self.silent = plan
                .silent_after
                .is_some_and(|after| now.duration_since(at) >= after);
        }
        if self.silent {
            return Ok(());
        }
        self.handle(Input::Timeout(now), clock, report)?;
        if self.connected_at.is_none() {
            self.schedule.audio = now;
            self.schedule.frame = now;
            self.schedule.flood_at = now;
            return Ok(());
        }
        if now >= self.schedule.audio {
            self.schedule.audio += AUDIO_EVERY;
            if let Some(level) = plan.audio_level {
                self.send_audio(now, level, clock, report);
            }
        }
        if now >= self.schedule.frame {
            self.schedule.frame += Duration::from_secs(1) / FPS;
            self.send_frames(now, clock, report);
            if plan.flood_bits_per_second > 0 {
                let elapsed = now.duration_since(self.schedule.flood_at).as_secs_f64();
                self.schedule.flood_credit += plan.flood_bits_per_second as f64 / 8.0 * elapsed;
                self.schedule.flood_at = now;
                self.flood(now, clock, report);
            }
        }
        self.drain(clock, report)
    }

    /// When the connection must next be turned.
    pub(super) fn wake_at(&self) -> Option<Instant> {
        if self.silent {
            return None;
        }
        let sending = self.connected_at.is_some();
        [
            self.wake_at,
            Some(self.schedule.audio).filter(|_| sending && self.audio_mid.is_some()),
            Some(self.schedule.frame).filter(|_| sending && self.camera_mid.is_some()),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Reads what the socket has; while silent, reads and drops it.
    pub(super) fn read(
        &mut self,
        buf: &mut [u8],
        clock: &Clock,
        report: &mut Report,
    ) -> Result<(), String> {
        loop {
            match self.socket.get_ref().recv_from(buf) {
                Ok((len, source)) => {
                    if self.silent {
                        continue;
                    }
                    let Ok(receive) = Receive::new(Protocol::Udp, source, self.local, &buf[..len])
                    else {
                        continue;
                    };
                    self.handle(Input::Receive(Instant::now(), receive), clock, report)?;
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    self.socket.clear(Ready::Read);
                    return Ok(());
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(format!("media socket: {err}")),
            }
        }
    }

    fn handle(
        &mut self,
        input: Input<'_>,
        clock: &Clock,
        report: &mut Report,
    ) -> Result<(), String> {
        self.rtc
            .handle_input(input)
            .map_err(|err| format!("media: {err}"))?;
        self.drain(clock, report)
    }

    /// Sends what the connection has to send and takes what it received.
    fn drain(&mut self, clock: &Clock, report: &mut Report) -> Result<(), String> {
        loop {
            match self
                .rtc
                .poll_output()
                .map_err(|err| format!("media: {err}"))?
            {
                Output::Timeout(at) => {
                    self.wake_at = Some(at);
                    return Ok(());
                }
                Output::Transmit(transmit) => {
                    // A full socket buffer drops the packet, as the network would.
                    let sent = self
                        .socket
                        .get_ref()
                        .send_to(&transmit.contents, transmit.destination);
                    if sent.is_ok() {
                        report.datagrams_sent += 1;
                        report.bytes_sent += transmit.contents.len() as u64;
                    }
                }
                Output::Event(Event::Connected) => self.connected_at = Some(Instant::now()),
                Output::Event(Event::RtpPacket(packet)) => {
                    if let Some(stamp) = Stamp::read(&packet.payload) {
                        report.arrived(clock.now(), stamp, packet.payload.len());
                    }
                }
                Output::Event(Event::KeyframeRequest(request)) => {
                    for layer in &mut self.layers {
                        if request.rid.is_none() || request.rid == Some(layer.rid) {
                            layer.keyframe_due = true;
                        }
                    }
                }
                Output::Event(_) => {}
            }
        }
    }

    fn send_audio(&mut self, now: Instant, level: u8, clock: &Clock, report: &mut Report) {
        let (Some(mid), Some(pt)) = (self.audio_mid, self.opus) else {
            return;
        };
        let seq = self.audio_seq;
        self.audio_seq += 1;
        let stamp = Stamp {
            sender: report.index,
            stream: Stream::Audio,
            seq,
            sent: clock.now(),
        };
        let ext_vals = ExtensionValues {
            audio_level: Some(-(level.min(127) as i8)),
            voice_activity: Some(level < 127),
            ..ExtensionValues::default()
        };
        let mut api = self.rtc.direct_api();
        let Some(stream) = api.stream_tx_by_mid(mid, None) else {
            return;
        };
        let time = (seq * 960) as u32;
        let write = RtpWrite::new(pt, SeqNo::from(seq), time, now, audio_payload(stamp))
            .marker(seq == 0)
            .ext_vals(ext_vals);
        stream.write_rtp(write);
        report.sent += 1;
    }

    /// One frame of every camera layer.
    fn send_frames(&mut self, now: Instant, clock: &Clock, report: &mut Report) {
        let (Some(mid), Some(pt)) = (self.camera_mid, self.vp8) else {
            return;
        };
        let mut api = self.rtc.direct_api();
        for (layer_index, layer) in self.layers.iter_mut().enumerate() {
            let keyframe = layer.keyframe_due
                || layer
                    .last_keyframe
                    .is_none_or(|at| now.duration_since(at) >= KEYFRAME_EVERY);
            if keyframe {
                layer.keyframe_due = false;
                layer.last_keyframe = Some(now);
                layer.tl0 = layer.tl0.wrapping_add(1);
            }
            let frame = Frame {
                bytes: layer.frame_bytes * if keyframe { KEYFRAME_SCALE } else { 1 },
                keyframe: keyframe.then_some((layer.width, layer.height)),
                picture: layer.picture,
                tl0: layer.tl0,
            };
            let time = (u64::from(layer.picture) * 90_000 / u64::from(FPS)) as u32;
            layer.picture = (layer.picture + 1) & 0x7fff;
            let sent = clock.now();
            let first = layer.stamp_seq;
            let payloads = video_payloads(frame, |n| Stamp {
                sender: report.index,
                stream: Stream::Camera(layer_index as u8),
                seq: first + n as u64,
                sent,
            });
            layer.stamp_seq += payloads.len() as u64;
            let Some(stream) = api.stream_tx_by_mid(mid, Some(layer.rid)) else {
                continue;
            };
            let last = payloads.len() - 1;
            for (n, payload) in payloads.into_iter().enumerate() {
                let write = RtpWrite::new(pt, SeqNo::from(layer.seq), time, now, payload)
                    .marker(n == last)
                    .nackable(true);
                layer.seq += 1;
                stream.write_rtp(write);
                report.sent += 1;
            }
        }
    }

    /// Extra packets on the smallest layer, as much as the flood's credit says.
    fn flood(&mut self, now: Instant, clock: &Clock, report: &mut Report) {
        let (Some(mid), Some(pt)) = (self.camera_mid, self.vp8) else {
            return;
        };
        let Some(layer) = self.layers.first_mut() else {
            return;
        };
        let mut api = self.rtc.direct_api();
        let Some(stream) = api.stream_tx_by_mid(mid, Some(layer.rid)) else {
            return;
        };
        let cost = (FLOOD_PACKET + 100) as f64;
        while self.schedule.flood_credit >= cost {
            self.schedule.flood_credit -= cost;
            let frame = Frame {
                bytes: FLOOD_PACKET,
                keyframe: None,
                picture: layer.picture,
                tl0: layer.tl0,
            };
            let sent = clock.now();
            let seq = layer.stamp_seq;
            layer.stamp_seq += 1;
            for payload in video_payloads(frame, |_| Stamp {
                sender: report.index,
                stream: Stream::Camera(0),
                seq,
                sent,
            }) {
                let write = RtpWrite::new(pt, SeqNo::from(layer.seq), 0, now, payload);
                layer.seq += 1;
                stream.write_rtp(write);
                report.sent += 1;
            }
        }
    }
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

fn camera_layers() -> Vec<Layer> {
    LAYERS
        .iter()
        .map(|&(rid, width, height, rate)| Layer {
            rid: Rid::from(rid),
            width,
            height,
            frame_bytes: (rate / u64::from(FPS) / 8) as usize,
            seq: 0,
            stamp_seq: 0,
            picture: 0,
            tl0: 0,
            keyframe_due: true,
            last_keyframe: None,
        })
        .collect()
}
