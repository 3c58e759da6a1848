//! One synthetic member of a call through an SFU: it joins over Room's protocol, offers one
//! connection (str0m, RTP mode) that sends its microphone and a camera in three simulcast
//! layers and receives through the slots the server asks for, reports a view for every video
//! slot, and counts what it receives. It runs on the generator's reactor: the WebSocket, the
//! UDP socket and the connection's timers, in one task.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures_util::future::{select, Either};
use futures_util::pin_mut;
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use str0m::change::{SdpAnswer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, Mid, Pt, Rid, Simulcast, SimulcastLayer};
use str0m::net::{Protocol, Receive};
use str0m::rtp::{ExtensionValues, RtpWrite, SeqNo};
use str0m::{Candidate, Event, Input, Output, Rtc};

use super::packets::{audio_payload, video_payloads, Frame, Stamp, Stream};
use crate::client::connect_and_join_lean;
use crate::clock::Clock;
use crate::reactor::{sleep_until, Direction as Ready, Registration};
use crate::wire::{Conn, Event as WsEvent, Writer};

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
/// The largest datagram read.
const MAX_DATAGRAM: usize = 2048;
/// A gap this long in a stream's numbers is a change of slot or layer, not loss.
const SWITCH_GAP: u64 = 50;

/// What a synthetic member does.
#[derive(Debug, Clone)]
pub struct Plan {
    /// It sends its microphone at this level (−dBov: 0 is loud, 127 silence), or no
    /// microphone.
    pub audio_level: Option<u8>,
    /// Whether it sends a camera, in three simulcast layers.
    pub camera: bool,
    /// The size it reports for every video slot, in CSS pixels.
    pub view: (u32, u32),
    /// Bits a second of extra video it sends on top of its camera's smallest layer, as a
    /// flooding client would.
    pub flood_bits_per_second: u64,
    /// After this long connected it goes silent on its media connection: sends nothing and
    /// answers nothing, while its WebSocket stays open, like a browser whose network dropped.
    pub silent_after: Option<Duration>,
}

impl Default for Plan {
    /// A member that speaks now and then (a quiet level) and sends its camera to middle-sized
    /// tiles.
    fn default() -> Self {
        Plan {
            audio_level: Some(60),
            camera: true,
            view: (640, 360),
            flood_bits_per_second: 0,
            silent_after: None,
        }
    }
}

/// What one sender's stream looked like to one receiver.
#[derive(Debug, Clone, Default)]
pub struct StreamCounts {
    /// Packets received.
    pub packets: u64,
    /// Packets missing inside runs of the stream (not across a change of slot or layer).
    pub lost: u64,
    /// Packets received twice.
    pub duplicates: u64,
    highest: Option<u64>,
}

impl StreamCounts {
    fn count(&mut self, seq: u64) {
        self.packets += 1;
        match self.highest {
            Some(highest) if seq <= highest => {
                // Older than the newest: a duplicate or a late one; only an exact repeat of the
                // newest is known to be a duplicate without keeping every number.
                if seq == highest {
                    self.duplicates += 1;
                } else if self.lost > 0 {
                    self.lost -= 1;
                }
            }
            Some(highest) => {
                let gap = seq - highest - 1;
                if gap < SWITCH_GAP {
                    self.lost += gap;
                }
                self.highest = Some(seq);
            }
            None => self.highest = Some(seq),
        }
    }
}

/// What a synthetic member saw.
#[derive(Debug, Clone)]
pub struct Report {
    /// Its number in the run.
    pub index: u32,
    /// Its peer id, once joined.
    pub id: Option<String>,
    /// How long from joining until ICE and DTLS were up, if they came up.
    pub connected_after: Option<Duration>,
    /// Why it could not take part, if it could not.
    pub failed: Option<String>,
    /// The messages of the `media_failed` errors the server sent it.
    pub media_failed: Vec<String>,
    /// What it received, by sender (its number in the run) and stream.
    pub received: BTreeMap<(u32, Stream), StreamCounts>,
    /// How late what it received was: send to receive, in microseconds.
    pub latency_us: Histogram<u64>,
    /// RTP packets it handed its connection to send.
    pub sent: u64,
    /// Datagrams its connection put on the network.
    pub datagrams_sent: u64,
    /// Their bytes.
    pub bytes_sent: u64,
    /// How long it was connected.
    pub connected_for: Duration,
    /// Who its video slots carried last, by slot: peer ids.
    pub video_slots: BTreeMap<String, Option<String>>,
    /// The `speaking` frames it was sent: who speaks, and who speaks most.
    pub speaking: Vec<(Vec<String>, Option<String>)>,
}

impl Report {
    fn new(index: u32) -> Self {
        Report {
            index,
            id: None,
            connected_after: None,
            failed: None,
            media_failed: Vec::new(),
            received: BTreeMap::new(),
            latency_us: Histogram::new(3).expect("3 significant figures is a valid histogram"),
            sent: 0,
            datagrams_sent: 0,
            bytes_sent: 0,
            connected_for: Duration::ZERO,
            video_slots: BTreeMap::new(),
            speaking: Vec::new(),
        }
    }

    /// Packets received from sender `index`, all streams together.
    pub fn packets_from(&self, index: u32) -> u64 {
        self.received
            .iter()
            .filter(|((sender, _), _)| *sender == index)
            .map(|(_, counts)| counts.packets)
            .sum()
    }

    /// Audio packets received from sender `index`.
    pub fn audio_from(&self, index: u32) -> u64 {
        self.received
            .get(&(index, Stream::Audio))
            .map_or(0, |counts| counts.packets)
    }
}

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

/// What ended a wait.
enum Woke {
    Frame(String),
    Closed,
    Readable,
    Timer,
}

/// The member's connection and what it has negotiated.
struct Media {
    rtc: Rtc,
    socket: Registration<UdpSocket>,
    local: SocketAddr,
    pending: Option<SdpPendingOffer>,
    audio_mid: Option<Mid>,
    camera_mid: Option<Mid>,
    video_slots: Vec<Mid>,
    audio_slots: usize,
    wanted: (usize, usize),
    vp8: Option<Pt>,
    opus: Option<Pt>,
    layers: Vec<Layer>,
    audio_seq: u64,
    connected_at: Option<Instant>,
    /// When the connection next wants time to pass.
    wake_at: Option<Instant>,
}

/// Joins `room` on the server at `url` (a `ws://` URL) as member `index` and takes part until
/// the run clock reads `until`.
pub(crate) async fn run(
    url: String,
    room: String,
    index: u32,
    plan: Plan,
    clock: Clock,
    until: u64,
    ids: Rc<RefCell<BTreeMap<String, u32>>>,
) -> Report {
    let mut report = Report::new(index);
    if let Err(reason) = take_part(&url, &room, &plan, clock, until, &ids, &mut report).await {
        report.failed = Some(reason);
    }
    report
}

async fn take_part(
    url: &str,
    room: &str,
    plan: &Plan,
    clock: Clock,
    until: u64,
    ids: &Rc<RefCell<BTreeMap<String, u32>>>,
    report: &mut Report,
) -> Result<(), String> {
    let wait = Duration::from_secs(10);
    let joined = connect_and_join_lean(url, room, wait)
        .await
        .map_err(|err| err.to_string())?;
    ids.borrow_mut().insert(joined.id.clone(), report.index);
    report.id = Some(joined.id.clone());
    let joined_at = Instant::now();
    let Conn { mut reader, writer } = joined.ws;
    let server_ip = server_ip(url)?;
    let mut media = Media::new(server_ip, plan).map_err(|err| format!("media socket: {err}"))?;
    media.offer(&writer).await?;

    let (frames_tx, frames) = async_channel::unbounded::<String>();
    let reading = async move {
        loop {
            match reader.next().await {
                Ok(WsEvent::Text(text, _)) => {
                    if frames_tx.send(text.to_owned()).await.is_err() {
                        return;
                    }
                }
                Ok(WsEvent::Close(_)) | Err(_) => return,
            }
        }
    };
    let working = async {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        let mut next_audio = Instant::now();
        let mut next_frame = Instant::now();
        let frame_every = Duration::from_secs(1) / FPS;
        let mut flood_credit = 0.0f64;
        let mut flood_at = Instant::now();
        loop {
            let now = Instant::now();
            if let Some(at) = media.connected_at {
                report.connected_for = now.duration_since(at);
            }
            if clock.now() >= until {
                return Ok(());
            }
            let silent = media.connected_at.is_some_and(|at| {
                plan.silent_after
                    .is_some_and(|after| now.duration_since(at) >= after)
            });
            if !silent {
                media.handle(Input::Timeout(now), report, &clock)?;
                if media.connected_at.is_none() {
                    next_audio = now;
                    next_frame = now;
                    flood_at = now;
                } else {
                    if report.connected_after.is_none() {
                        report.connected_after = Some(now.duration_since(joined_at));
                    }
                    if now >= next_audio {
                        next_audio += AUDIO_EVERY;
                        if let Some(level) = plan.audio_level {
                            media.send_audio(now, level, &clock, report);
                        }
                    }
                    if now >= next_frame {
                        next_frame += frame_every;
                        if plan.camera {
                            media.send_frames(now, &clock, report);
                        }
                        if plan.flood_bits_per_second > 0 {
                            flood_credit += plan.flood_bits_per_second as f64 / 8.0
                                * now.duration_since(flood_at).as_secs_f64();
                            flood_at = now;
                            media.flood(now, &mut flood_credit, &clock, report);
                        }
                    }
                }
                media.drain(report, &clock)?;
            }
            let sending = media.connected_at.is_some() && !silent;
            let wake = [
                media.wake_at.filter(|_| !silent),
                Some(next_audio).filter(|_| sending),
                Some(next_frame).filter(|_| sending),
                Some(clock.instant(until)),
            ]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(now);
            if wake <= now {
                // Due already: let the other members' tasks run before going on.
                async_std::task::yield_now().await;
            }
            let woke = {
                let frame = frames.recv();
                let readable = media.socket.ready(Ready::Read);
                let timer = sleep_until(wake.max(now));
                pin_mut!(frame, readable, timer);
                match select(frame, select(readable, timer)).await {
                    Either::Left((Ok(text), _)) => Woke::Frame(text),
                    Either::Left((Err(_), _)) => Woke::Closed,
                    Either::Right((Either::Left(((), _)), _)) => Woke::Readable,
                    Either::Right((Either::Right(((), _)), _)) => Woke::Timer,
                }
            };
            match woke {
                Woke::Frame(text) => media.frame(&text, plan, &writer, report).await?,
                Woke::Closed => return Err("the WebSocket closed".into()),
                Woke::Readable => media.read(&mut buf, silent, report, &clock)?,
                Woke::Timer => {}
            }
        }
    };
    pin_mut!(reading, working);
    let outcome = match select(reading, working).await {
        Either::Left(((), _)) => Err("the WebSocket closed".to_owned()),
        Either::Right((outcome, _)) => outcome,
    };
    let _ = writer.close().await;
    outcome
}

/// The address of the server in a `ws://host:port/...` URL.
fn server_ip(url: &str) -> Result<IpAddr, String> {
    use std::net::ToSocketAddrs;
    let rest = url.strip_prefix("ws://").unwrap_or(url);
    let authority = rest.split('/').next().unwrap_or(rest);
    authority
        .to_socket_addrs()
        .map_err(|err| format!("{authority}: {err}"))?
        .next()
        .map(|addr| addr.ip())
        .ok_or_else(|| format!("{authority} has no address"))
}

impl Media {
    fn new(server_ip: IpAddr, plan: &Plan) -> io::Result<Media> {
        let socket = UdpSocket::bind(SocketAddr::new(server_ip, 0))?;
        socket.set_nonblocking(true)?;
        let local = socket.local_addr()?;
        let mut rtc = Rtc::builder()
            .set_rtp_mode(true)
            .clear_codecs()
            .enable_opus(true, false)
            .enable_vp8(true)
            .build(Instant::now());
        let candidate = Candidate::host(local, Protocol::Udp)
            .map_err(|err| io::Error::other(err.to_string()))?;
        rtc.add_local_candidate(candidate);
        let layers = if plan.camera {
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
        } else {
            Vec::new()
        };
        Ok(Media {
            rtc,
            socket: Registration::new(socket)?,
            local,
            pending: None,
            audio_mid: None,
            camera_mid: None,
            video_slots: Vec::new(),
            audio_slots: 0,
            wanted: (0, 0),
            vp8: None,
            opus: None,
            layers,
            audio_seq: 0,
            connected_at: None,
            wake_at: None,
        })
    }

    /// Offers what is not negotiated yet: the tracks the first time, then new receive slots.
    async fn offer(&mut self, writer: &Writer) -> Result<(), String> {
        let mut api = self.rtc.sdp_api();
        if self.audio_mid.is_none() && self.camera_mid.is_none() {
            self.audio_mid =
                Some(api.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None));
            if !self.layers.is_empty() {
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
            }
        }
        for _ in self.video_slots.len()..self.wanted.0 {
            let mid = api.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
            self.video_slots.push(mid);
        }
        for _ in self.audio_slots..self.wanted.1 {
            api.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None);
            self.audio_slots += 1;
        }
        let Some((offer, pending)) = api.apply() else {
            return Ok(());
        };
        self.pending = Some(pending);
        let mut tracks = Vec::new();
        if let Some(mid) = self.audio_mid {
            tracks.push(json!({"mid": mid.to_string(), "source": "audio"}));
        }
        if let Some(mid) = self.camera_mid {
            tracks.push(json!({"mid": mid.to_string(), "source": "camera"}));
        }
        let frame = json!({"type": "sfu_offer", "sdp": offer.to_sdp_string(), "tracks": tracks});
        writer
            .send_text(&frame.to_string())
            .await
            .map_err(|err| format!("sending the offer: {err}"))
    }

    /// One frame from the server.
    async fn frame(
        &mut self,
        text: &str,
        plan: &Plan,
        writer: &Writer,
        report: &mut Report,
    ) -> Result<(), String> {
        let frame: Value = serde_json::from_str(text).map_err(|err| format!("{err}: {text}"))?;
        match frame["type"].as_str() {
            Some("sfu_answer") => {
                let sdp = frame["sdp"].as_str().unwrap_or_default();
                let answer =
                    SdpAnswer::from_sdp_string(sdp).map_err(|err| format!("answer: {err}"))?;
                let pending = self.pending.take().ok_or("an answer to no offer")?;
                self.rtc
                    .sdp_api()
                    .accept_answer(pending, answer)
                    .map_err(|err| format!("answer: {err}"))?;
                let codec = |rtc: &Rtc, codec: Codec| {
                    rtc.codec_config()
                        .find(|params| params.spec().codec == codec)
                        .map(|params| params.pt())
                };
                self.vp8 = codec(&self.rtc, Codec::Vp8);
                self.opus = codec(&self.rtc, Codec::Opus);
                if self.video_slots.len() < self.wanted.0 || self.audio_slots < self.wanted.1 {
                    self.offer(writer).await?;
                }
            }
            Some("slots") => {
                let count = |key: &str| frame[key].as_u64().unwrap_or(0) as usize;
                self.wanted = (
                    self.wanted.0.max(count("video")),
                    self.wanted.1.max(count("audio")),
                );
                if self.pending.is_none() {
                    self.offer(writer).await?;
                }
            }
            Some("assign") => {
                let mut views = Vec::new();
                report.video_slots.clear();
                for slot in frame["video"].as_array().into_iter().flatten() {
                    let (Some(mid), member) = (slot["slot"].as_str(), slot["member"].as_str())
                    else {
                        continue;
                    };
                    report
                        .video_slots
                        .insert(mid.to_owned(), member.map(str::to_owned));
                    if member.is_some() {
                        views.push(json!({
                            "slot": mid,
                            "width": plan.view.0,
                            "height": plan.view.1,
                            "visible": true,
                        }));
                    }
                }
                if !views.is_empty() {
                    let view = json!({"type": "view", "slots": views});
                    writer
                        .send_text(&view.to_string())
                        .await
                        .map_err(|err| format!("sending the view: {err}"))?;
                }
            }
            Some("speaking") => {
                let ids = frame["speaking"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|id| id.as_str().map(str::to_owned))
                    .collect();
                let dominant = frame["dominant"].as_str().map(str::to_owned);
                report.speaking.push((ids, dominant));
            }
            Some("error") if frame["code"] == "media_failed" => {
                report
                    .media_failed
                    .push(frame["message"].as_str().unwrap_or_default().to_owned());
            }
            _ => {}
        }
        Ok(())
    }

    /// Reads what the socket has; while silent, reads and drops it.
    fn read(
        &mut self,
        buf: &mut [u8],
        silent: bool,
        report: &mut Report,
        clock: &Clock,
    ) -> Result<(), String> {
        loop {
            match self.socket.get_ref().recv_from(buf) {
                Ok((len, source)) => {
                    if silent {
                        continue;
                    }
                    let Ok(receive) = Receive::new(Protocol::Udp, source, self.local, &buf[..len])
                    else {
                        continue;
                    };
                    self.handle(Input::Receive(Instant::now(), receive), report, clock)?;
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
        report: &mut Report,
        clock: &Clock,
    ) -> Result<(), String> {
        self.rtc
            .handle_input(input)
            .map_err(|err| format!("media: {err}"))?;
        self.drain(report, clock)
    }

    /// Sends what the connection has to send and takes what it received.
    fn drain(&mut self, report: &mut Report, clock: &Clock) -> Result<(), String> {
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
                        let late = clock.now().saturating_sub(stamp.sent) / 1_000;
                        let _ = report.latency_us.record(late.max(1));
                        report
                            .received
                            .entry((stamp.sender, stamp.stream))
                            .or_default()
                            .count(stamp.seq);
                    }
                }
                Output::Event(Event::KeyframeRequest(request)) => {
                    let wanted = request.rid;
                    for layer in &mut self.layers {
                        if wanted.is_none() || wanted == Some(layer.rid) {
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
        let write = RtpWrite::new(
            pt,
            SeqNo::from(seq),
            (seq * 960) as u32,
            now,
            audio_payload(stamp),
        )
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
            let ts = (u64::from(layer.picture) * 90_000 / u64::from(FPS)) as u32;
            let Some(stream) = api.stream_tx_by_mid(mid, Some(layer.rid)) else {
                continue;
            };
            let last = payloads.len() - 1;
            for (n, payload) in payloads.into_iter().enumerate() {
                let write = RtpWrite::new(pt, SeqNo::from(layer.seq), ts, now, payload)
                    .marker(n == last)
                    .nackable(true);
                layer.seq += 1;
                stream.write_rtp(write);
                report.sent += 1;
            }
        }
    }

    /// Extra packets on the smallest layer, `credit` bytes' worth.
    fn flood(&mut self, now: Instant, credit: &mut f64, clock: &Clock, report: &mut Report) {
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
        while *credit >= 1_100.0 {
            *credit -= 1_100.0;
            let frame = Frame {
                bytes: 1_000,
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

impl std::fmt::Debug for Media {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Media")
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn losses_are_counted_inside_runs_and_a_switch_is_not_a_loss() {
        let mut counts = StreamCounts::default();
        for seq in [0, 1, 2, 5, 6, 6, 4, 500, 501] {
            counts.count(seq);
        }
        assert_eq!(counts.packets, 9);
        assert_eq!(counts.duplicates, 1);
        // 3 and 4 went missing; 4 came late; 7 to 499 is a switch.
        assert_eq!(counts.lost, 1);
    }
}
