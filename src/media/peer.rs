//! One member's media connection: its offer and answer, the tracks it sends and the slots it
//! receives through, the packets it sends and those it is sent.
//!
//! The server is ICE-lite and never offers: the browser offers everything, its tracks as
//! `sendonly` transceivers and its receive slots as `recvonly` ones, and adds slots when the
//! server asks ([`room_core::media::MediaEvent::Slots`]). str0m runs in RTP mode: packets go
//! through as they came, with the numbers the router gives them, so nothing is decoded or
//! packetized again.
//!
//! Every call into str0m is behind `catch_unwind`: were it to panic on some input, the member
//! loses its connection and the other members keep theirs.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use room_core::media::{CallId, TrackInfo, TrackSource};
use room_core::names::{PeerId, RoomName};
use room_core::time::Tick;
use room_media::ingress::Ingress;
use room_media::layers::Layer;
use room_media::rewrite::Outgoing;
use room_media::router::{Sends, SlotRef, Source};
use str0m::bwe::{Bitrate, BweKind};
use str0m::change::SdpOffer;
use str0m::format::Codec;
use str0m::media::{Direction, KeyframeRequestKind, MediaKind, Mid, Pt, Rid};
use str0m::net::Transmit;
use str0m::rtp::{ExtensionValues, RtpPacket, RtpWrite, Vp8Descriptor};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc};

/// What a member's connection is assumed to carry before its first estimate.
const INITIAL_ESTIMATE: Bitrate = Bitrate::kbps(1_000);
/// A slot whose packets have waited this long to go out, or that holds this many, takes no
/// more until it drains: a receiver that cannot take what it is sent loses packets rather than
/// getting them seconds late, and the server's memory stays bounded.
const MAX_QUEUE_AGE: Duration = Duration::from_millis(250);
const MAX_QUEUED: usize = 512;

/// What a packet a member sends carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Track {
    /// Its microphone.
    Audio,
    /// A layer of its camera, or its screen.
    Video(Source, Layer),
}

/// What a member's connection did.
// Packets are the common case and go through a vector the engine keeps: boxing them to even
// out the variants would allocate for every packet.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(super) enum Happened {
    /// Something to send.
    Transmit(Transmit),
    /// A packet of one of its tracks arrived.
    Packet(Track, RtpPacket),
    /// It lost pictures in the n-th video slot.
    PictureLost(usize),
    /// Its bandwidth estimate, in bits per second.
    Estimate(u64),
    /// ICE and DTLS are up.
    Connected,
    /// The connection went down, for this reason; a new offer starts another.
    Lost(String),
}

/// What became of a packet to forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Forwarded {
    /// It is on its way.
    Sent,
    /// The receiver's connection is not up, or has no such slot: nothing was lost.
    NotReady,
    /// The slot is backed up: the packet was dropped.
    Dropped,
}

/// What an accepted offer sets up.
#[derive(Debug)]
pub(super) struct Negotiated {
    /// The SDP answer.
    pub(super) answer: String,
    /// The tracks it sends.
    pub(super) sends: Sends,
}

/// One member's media connection.
#[derive(Debug)]
pub(super) struct Peer {
    pub(super) member: PeerId,
    pub(super) call: CallId,
    pub(super) room: RoomName,
    rtc: Option<Rtc>,
    /// The DTLS fingerprint of the browser's connection: a new one is a new connection.
    fingerprint: Option<String>,
    /// What each of its sending transceivers carries.
    sends: BTreeMap<Mid, TrackSource>,
    /// Its receive slots, in the order of its offer.
    pub(super) video_slots: Vec<Mid>,
    pub(super) audio_slots: Vec<Mid>,
    vp8: Option<Pt>,
    opus: Option<Pt>,
    /// When str0m next wants time to pass.
    pub(super) wake_at: Option<Instant>,
    /// What it may still send.
    pub(super) ingress: Ingress,
    /// Since when it has waited for its connection to come up.
    pub(super) waiting_since: Option<Instant>,
    /// When a packet from it last arrived.
    pub(super) last_heard: Option<Instant>,
    pub(super) connected: bool,
}

impl Peer {
    /// A member that joined `room` at `now`, with no connection yet.
    pub(super) fn new(member: PeerId, call: CallId, room: RoomName, now: Tick) -> Self {
        Peer {
            member,
            call,
            room,
            rtc: None,
            fingerprint: None,
            sends: BTreeMap::new(),
            video_slots: Vec::new(),
            audio_slots: Vec::new(),
            vp8: None,
            opus: None,
            wake_at: None,
            ingress: Ingress::new(now),
            waiting_since: None,
            last_heard: None,
            connected: false,
        }
    }

    /// Takes the member's offer: a new connection when it is the first or comes from a new
    /// browser connection, a renegotiation of the current one otherwise.
    pub(super) fn offer(
        &mut self,
        now: Instant,
        sdp: &str,
        tracks: &[TrackInfo],
        candidates: &[Candidate],
        estimate: bool,
    ) -> Result<Negotiated, String> {
        let fingerprint = sdp
            .lines()
            .find_map(|line| line.trim().strip_prefix("a=fingerprint:"))
            .map(str::to_owned)
            .ok_or("the offer has no DTLS fingerprint")?;
        let offer = SdpOffer::from_sdp_string(sdp)
            .map_err(|err| format!("the offer is not SDP Room can read: {err}"))?;
        let fresh = self.fingerprint.as_ref() != Some(&fingerprint)
            || !self.rtc.as_ref().is_some_and(Rtc::is_alive);
        if fresh {
            self.close();
            self.rtc = Some(new_rtc(now, candidates, estimate));
            self.fingerprint = Some(fingerprint);
            self.connected = false;
            self.waiting_since = Some(now);
        }
        let rtc = self.rtc.as_mut().expect("a connection was made above");
        let answer = catch_unwind(AssertUnwindSafe(|| rtc.sdp_api().accept_offer(offer)))
            .map_err(|_| "the media server failed on the offer".to_owned())?
            .map_err(|err| format!("the offer was refused: {err}"))?;
        let mut sends = BTreeMap::new();
        let mut video_slots = Vec::new();
        let mut audio_slots = Vec::new();
        for mid in offered_mids(sdp) {
            let Some(media) = rtc.media(mid) else {
                continue;
            };
            match (media.kind(), media.direction()) {
                (_, Direction::Inactive) => {}
                (kind, Direction::RecvOnly) => {
                    // A transceiver that sends nothing yet (no camera) is left out of tracks.
                    let Some(source) = tracks
                        .iter()
                        .find(|track| *track.mid == *mid)
                        .map(|track| track.source)
                    else {
                        continue;
                    };
                    let fits = match source {
                        TrackSource::Audio => kind == MediaKind::Audio,
                        TrackSource::Camera | TrackSource::Screen => kind == MediaKind::Video,
                    };
                    if !fits {
                        return Err(format!("track {mid} is {kind:?}, not {source:?}"));
                    }
                    sends.insert(mid, source);
                }
                (MediaKind::Video, Direction::SendOnly) => video_slots.push(mid),
                (MediaKind::Audio, Direction::SendOnly) => audio_slots.push(mid),
                (_, Direction::SendRecv) => {
                    return Err(format!(
                        "transceiver {mid} sends and receives: each one must do one or the other"
                    ))
                }
            }
        }
        let codec = |codec: Codec| {
            rtc.codec_config()
                .find(|params| params.spec().codec == codec)
                .map(|params| params.pt())
        };
        self.vp8 = codec(Codec::Vp8);
        self.opus = codec(Codec::Opus);
        let has = |wanted: TrackSource| sends.values().any(|source| *source == wanted);
        let negotiated = Negotiated {
            answer: answer.to_sdp_string(),
            sends: Sends {
                audio: has(TrackSource::Audio),
                camera: has(TrackSource::Camera),
                screen: has(TrackSource::Screen),
            },
        };
        self.sends = sends;
        self.video_slots = video_slots;
        self.audio_slots = audio_slots;
        Ok(negotiated)
    }

    /// Whether `input` is for this connection.
    pub(super) fn accepts(&self, input: &Input<'_>) -> bool {
        self.rtc.as_ref().is_some_and(|rtc| rtc.accepts(input))
    }

    /// Hands `input` to the connection, and what it does then into `out`.
    pub(super) fn handle(&mut self, input: Input<'_>, out: &mut Vec<Happened>) {
        let Some(rtc) = self.rtc.as_mut() else {
            return;
        };
        match catch_unwind(AssertUnwindSafe(|| rtc.handle_input(input))) {
            Ok(Ok(())) => self.poll(out),
            Ok(Err(err)) => self.lose(format!("the media connection failed: {err}"), out),
            Err(_) => self.lose("the media server failed on a packet".into(), out),
        }
    }

    /// Collects what the connection has to do or say, until it waits for time to pass.
    pub(super) fn poll(&mut self, out: &mut Vec<Happened>) {
        loop {
            let Some(rtc) = self.rtc.as_mut() else {
                return;
            };
            let output = match catch_unwind(AssertUnwindSafe(|| rtc.poll_output())) {
                Ok(Ok(output)) => output,
                Ok(Err(err)) => {
                    return self.lose(format!("the media connection failed: {err}"), out)
                }
                Err(_) => return self.lose("the media server failed".into(), out),
            };
            match output {
                Output::Timeout(at) => {
                    self.wake_at = Some(at);
                    return;
                }
                Output::Transmit(transmit) => out.push(Happened::Transmit(transmit)),
                Output::Event(event) => {
                    if let Some(happened) = self.event(event) {
                        let lost = matches!(happened, Happened::Lost(_));
                        out.push(happened);
                        if lost {
                            self.close();
                            return;
                        }
                    }
                }
            }
        }
    }

    fn event(&mut self, event: Event) -> Option<Happened> {
        match event {
            Event::Connected => {
                self.connected = true;
                self.waiting_since = None;
                Some(Happened::Connected)
            }
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                Some(Happened::Lost("the media connection was lost".into()))
            }
            Event::Closed => Some(Happened::Lost(
                "the browser closed the media connection".into(),
            )),
            Event::RtpPacket(packet) => {
                let rtc = self.rtc.as_mut()?;
                let stream = rtc
                    .direct_api()
                    .stream_rx(&packet.header.ssrc)
                    .map(|stream| (stream.mid(), stream.rid()))?;
                let track = self.track(stream.0, stream.1)?;
                Some(Happened::Packet(track, packet))
            }
            Event::KeyframeRequest(request) => self
                .video_slots
                .iter()
                .position(|mid| *mid == request.mid)
                .map(Happened::PictureLost),
            Event::EgressBitrateEstimate(BweKind::Twcc { estimate, .. }) => {
                Some(Happened::Estimate(estimate.as_u64()))
            }
            _ => None,
        }
    }

    /// What the packets of `mid` (and `rid`) carry, if they are one of the member's tracks.
    fn track(&self, mid: Mid, rid: Option<Rid>) -> Option<Track> {
        match self.sends.get(&mid)? {
            TrackSource::Audio => Some(Track::Audio),
            TrackSource::Camera => {
                // A camera sent without simulcast is one layer: the full one.
                let layer = match rid {
                    Some(rid) => Layer::from_rid(&rid)?,
                    None => Layer::High,
                };
                Some(Track::Video(Source::Camera, layer))
            }
            TrackSource::Screen => Some(Track::Video(Source::Screen, Layer::High)),
        }
    }

    /// Sends `packet` in `slot`, with the slot's `numbers`.
    pub(super) fn forward(
        &mut self,
        slot: SlotRef,
        numbers: Outgoing,
        packet: &RtpPacket,
        vp8: Option<&Vp8Descriptor>,
    ) -> Forwarded {
        let (mid, pt, video) = match slot {
            SlotRef::Video(index) => (self.video_slots.get(index), self.vp8, true),
            SlotRef::Audio(index) => (self.audio_slots.get(index), self.opus, false),
        };
        let (Some(&mid), Some(pt)) = (mid, pt) else {
            return Forwarded::NotReady;
        };
        let Some(rtc) = self.rtc.as_mut().filter(|rtc| rtc.is_connected()) else {
            return Forwarded::NotReady;
        };
        let mut api = rtc.direct_api();
        let Some(stream) = api.stream_tx_by_mid(mid, None) else {
            return Forwarded::NotReady;
        };
        let backed_up = stream.queue_info().is_some_and(|queue| {
            queue.packet_count() >= MAX_QUEUED
                || queue.first_unsent().is_some_and(|at| {
                    packet.timestamp.saturating_duration_since(at) >= MAX_QUEUE_AGE
                })
        });
        if backed_up {
            return Forwarded::Dropped;
        }
        let from = &packet.header.ext_vals;
        let ext_vals = ExtensionValues {
            audio_level: from.audio_level,
            voice_activity: from.voice_activity,
            video_orientation: from.video_orientation,
            ..ExtensionValues::default()
        };
        let mut write = RtpWrite::new(
            pt,
            numbers.seq.into(),
            numbers.ts,
            packet.timestamp,
            packet.payload.clone(),
        )
        .marker(packet.header.marker)
        .ext_vals(ext_vals)
        .nackable(video);
        if let (Some(descriptor), Some(picture)) = (vp8, numbers.picture) {
            let mut patch = descriptor.patch().picture_id(picture);
            if let Some(tl0) = numbers.tl0 {
                patch = patch.tl0_pic_idx(tl0);
            }
            // A descriptor with a 7-bit picture id that cannot hold the slot's goes as it is.
            if let Ok(patch) = patch.build() {
                write = write.vp8_patch(patch);
            }
        }
        stream.write_rtp(write);
        Forwarded::Sent
    }

    /// Asks the member for a keyframe of `source` at `layer`.
    pub(super) fn request_keyframe(&mut self, source: Source, layer: Layer) {
        let wanted = match source {
            Source::Camera => TrackSource::Camera,
            Source::Screen => TrackSource::Screen,
        };
        let Some((&mid, _)) = self.sends.iter().find(|(_, sends)| **sends == wanted) else {
            return;
        };
        let rid = match source {
            Source::Camera => Some(Rid::from(layer.rid())),
            Source::Screen => None,
        };
        let Some(rtc) = self.rtc.as_mut() else {
            return;
        };
        let mut api = rtc.direct_api();
        let stream = match api.stream_rx_by_mid(mid, rid) {
            Some(stream) => Some(stream),
            // A camera sent without simulcast has no rid.
            None => api.stream_rx_by_mid(mid, None),
        };
        if let Some(stream) = stream {
            stream.request_keyframe(KeyframeRequestKind::Pli);
        }
    }

    /// What the member's slots want, for the bandwidth estimate to probe up to.
    pub(super) fn want_bitrate(&mut self, bits_per_second: u64) {
        if let Some(rtc) = self.rtc.as_mut() {
            rtc.bwe()
                .set_bitrate(Bitrate::bps(0), Bitrate::bps(bits_per_second.max(300_000)));
        }
    }

    /// Ends the connection, if there is one.
    pub(super) fn close(&mut self) {
        if let Some(mut rtc) = self.rtc.take() {
            rtc.disconnect();
        }
        self.connected = false;
        self.wake_at = None;
    }

    fn lose(&mut self, reason: String, out: &mut Vec<Happened>) {
        self.close();
        out.push(Happened::Lost(reason));
    }
}

/// A connection that offers `candidates`: ICE-lite, RTP mode, VP8 and Opus only, and bandwidth
/// estimation if `estimate`.
fn new_rtc(now: Instant, candidates: &[Candidate], estimate: bool) -> Rtc {
    let config = Rtc::builder()
        .set_ice_lite(true)
        .set_rtp_mode(true)
        .clear_codecs()
        .enable_opus(true, false)
        .enable_vp8(true);
    let config = if estimate {
        config.enable_bwe(Some(INITIAL_ESTIMATE))
    } else {
        config
    };
    let mut rtc = config.build(now);
    for candidate in candidates {
        rtc.add_local_candidate(candidate.clone());
    }
    rtc
}

/// The `mid`s of an SDP's media descriptions, in order.
fn offered_mids(sdp: &str) -> Vec<Mid> {
    sdp.lines()
        .filter_map(|line| line.trim().strip_prefix("a=mid:"))
        .map(Mid::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mids_are_read_in_order() {
        let sdp = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:cam\r\n";
        let mids: Vec<String> = offered_mids(sdp).iter().map(ToString::to_string).collect();
        assert_eq!(mids, ["0", "cam"]);
    }
}
