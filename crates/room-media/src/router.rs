//! One room of the forwarding unit: whose tracks go to whom, in which slot, at which layer.
//!
//! Every member sends up to three tracks (its microphone, its camera in three simulcast
//! layers, its screen) and receives through a fixed set of slots, each one receive
//! transceiver of its connection: video slots and audio slots. The router decides which source
//! fills each slot, which layer of a camera each video slot gets, when to ask a sender for a
//! keyframe, and who is speaking; the media thread carries it out. It is told what happens
//! ([`Router::join`], [`Router::tracks`], [`Router::view`], [`Router::estimate`], the packets)
//! and says what to forward ([`Forward`]) and what else to do ([`RouterEvent`], from
//! [`Router::poll`]).
//!
//! Video slots go, in this order, to screen shares, the dominant speaker, the members who spoke
//! last, and then everyone else in the order they joined; audio slots to the members who spoke
//! last. A source keeps its slot while it still deserves one, so people joining or speaking
//! move as few tiles as possible. Each video slot's layer is the smallest that fills its tile,
//! shared out within the receiver's bandwidth estimate ([`crate::budget`]); a slot changes
//! layer (or source) only on a keyframe of the new one, asked for through [`Keyframes`].

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use room_core::names::PeerId;
use room_core::time::Tick;

use crate::budget::{self, Want};
use crate::keyframes::Keyframes;
use crate::layers::{layer_for_height, Layer};
use crate::rewrite::{Incoming, Outgoing, Rewriter};
use crate::speakers::{Speakers, Speaking};

/// A layer counts as arriving while its last packet is younger than this.
const LAYER_SILENCE: Duration = Duration::from_millis(1500);
/// Layers' bitrates are measured over windows of this length.
const RATE_WINDOW: Duration = Duration::from_secs(1);
/// A slot the budget held back moves up at most this often, and only with room to spare; one
/// whose tile grew moves up at once.
const UPGRADE_EVERY: Duration = Duration::from_secs(2);
/// The share of the estimate an upgrade must fit in.
const UPGRADE_MARGIN: f64 = 0.85;
/// What a receiver is assumed to take before its first estimate.
pub const INITIAL_ESTIMATE: u64 = 2_500_000;
/// Receive slots are asked for in steps of this many, so a growing room renegotiates rarely.
const SLOT_STEP: usize = 4;

/// A member's video source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    /// Its camera, in simulcast layers.
    Camera,
    /// Its shared screen, one layer.
    Screen,
}

/// How many slots a member should have, and how many at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouterConfig {
    /// Video slots at most (the tiles a grid shows with video).
    pub max_video_slots: usize,
    /// Audio slots at most: the members who spoke last are heard.
    pub audio_slots: usize,
}

/// How one video slot is drawn, as the receiver reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct View {
    /// Its width in CSS pixels.
    pub width: u32,
    /// Its height in CSS pixels.
    pub height: u32,
    /// Whether it is on screen.
    pub visible: bool,
}

impl Default for View {
    /// A slot not reported yet: a middle-sized tile on screen.
    fn default() -> Self {
        View {
            width: 640,
            height: 360,
            visible: true,
        }
    }
}

/// A slot of a receiver: its kind and its place among the slots of that kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotRef {
    /// The n-th video slot.
    Video(usize),
    /// The n-th audio slot.
    Audio(usize),
}

/// One packet to send: to whom, in which slot, with which numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forward {
    /// The receiver.
    pub to: PeerId,
    /// Its slot.
    pub slot: SlotRef,
    /// The packet's numbers in that slot's stream.
    pub numbers: Outgoing,
}

/// What the media thread should do besides forwarding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouterEvent {
    /// `member`'s slots now carry these sources (by slot, in the order of its slots).
    Assign {
        /// The receiver.
        member: PeerId,
        /// The source of each video slot.
        video: Vec<Option<(PeerId, Source)>>,
        /// The member heard in each audio slot.
        audio: Vec<Option<PeerId>>,
    },
    /// Ask `member` for a keyframe of `source` at `layer`.
    Keyframe {
        /// The sender.
        member: PeerId,
        /// Its source.
        source: Source,
        /// The layer.
        layer: Layer,
    },
    /// `member` should have this many receive slots of each kind.
    WantSlots {
        /// The receiver.
        member: PeerId,
        /// Video slots.
        video: usize,
        /// Audio slots.
        audio: usize,
    },
    /// Who is speaking changed.
    Speaking(Speaking<PeerId>),
}

/// What is known of one layer of a source.
#[derive(Debug, Clone, Copy, Default)]
struct LayerStats {
    last_packet: Option<Tick>,
    /// Bytes of the current window.
    bytes: u64,
    window_start: Option<Tick>,
    /// Bits per second of the last whole window.
    rate: Option<u64>,
    /// The picture's height, from its last keyframe.
    height: u32,
}

impl LayerStats {
    fn arriving(&self, now: Tick) -> bool {
        self.last_packet
            .is_some_and(|last| now.since(last) < LAYER_SILENCE)
    }

    fn count(&mut self, now: Tick, bytes: usize) {
        self.last_packet = Some(now);
        let start = *self.window_start.get_or_insert(now);
        if now.since(start) >= RATE_WINDOW {
            let seconds = now.since(start).as_secs_f64();
            self.rate = Some((self.bytes as f64 * 8.0 / seconds) as u64);
            self.bytes = 0;
            self.window_start = Some(now);
        }
        self.bytes += bytes as u64;
    }
}

/// A video source a member sends.
#[derive(Debug, Clone, Default)]
struct VideoSource {
    layers: [LayerStats; 3],
    /// When it started, so earlier screens keep the stage.
    since: Option<Tick>,
}

impl VideoSource {
    fn arriving(&self, now: Tick) -> [bool; 3] {
        Layer::ALL.map(|layer| self.layers[layer.index()].arriving(now))
    }

    fn rates(&self) -> [u64; 3] {
        Layer::ALL.map(|layer| {
            self.layers[layer.index()]
                .rate
                .unwrap_or(layer.nominal_bitrate())
                .max(layer.nominal_bitrate() / 4)
        })
    }

    fn heights(&self) -> [u32; 3] {
        Layer::ALL.map(|layer| self.layers[layer.index()].height)
    }
}

/// One of a receiver's video slots.
#[derive(Debug, Clone, Default)]
struct VideoSlot {
    view: View,
    source: Option<(PeerId, Source)>,
    /// The layer forwarded now.
    layer: Option<Layer>,
    /// The layer to move to at its next keyframe.
    pending: Option<Layer>,
    rewriter: Rewriter,
    last_upgrade: Option<Tick>,
    /// Whether the budget, not the tile, set its layer last time.
    capped: bool,
}

/// One of a receiver's audio slots.
#[derive(Debug, Clone, Default)]
struct AudioSlot {
    source: Option<PeerId>,
    rewriter: Rewriter,
}

/// A member of the room.
#[derive(Debug, Clone, Default)]
struct Member {
    joined: u64,
    audio: bool,
    camera: Option<VideoSource>,
    screen: Option<VideoSource>,
    /// Its audio is not forwarded (a host muted it).
    silenced: bool,
    video_slots: Vec<VideoSlot>,
    audio_slots: Vec<AudioSlot>,
    estimate: Option<u64>,
    /// The slots it was last asked to have.
    wanted: (usize, usize),
}

impl Member {
    fn source(&self, source: Source) -> Option<&VideoSource> {
        match source {
            Source::Camera => self.camera.as_ref(),
            Source::Screen => self.screen.as_ref(),
        }
    }

    fn source_mut(&mut self, source: Source) -> Option<&mut VideoSource> {
        match source {
            Source::Camera => self.camera.as_mut(),
            Source::Screen => self.screen.as_mut(),
        }
    }
}

/// The packet numbers of one arriving packet, and what the router needs to know of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet {
    /// Its extended sequence number.
    pub seq: u64,
    /// Its extended RTP timestamp.
    pub ts: u64,
    /// Its VP8 picture id, if video.
    pub picture: Option<u16>,
    /// Its VP8 TL0PICIDX, if video.
    pub tl0: Option<u8>,
    /// The size of its payload in bytes.
    pub bytes: usize,
}

/// One room's forwarding state.
#[derive(Debug, Clone)]
pub struct Router {
    config: RouterConfig,
    members: BTreeMap<PeerId, Member>,
    joined: u64,
    speakers: Speakers<PeerId>,
    keyframes: Keyframes<(PeerId, Source, Layer)>,
    events: VecDeque<RouterEvent>,
    /// Who receives each source, in which video slot.
    video_routes: BTreeMap<(PeerId, Source), Vec<(PeerId, usize)>>,
    /// Who hears each member, in which audio slot.
    audio_routes: BTreeMap<PeerId, Vec<(PeerId, usize)>>,
}

impl Router {
    /// An empty room at `now`.
    pub fn new(config: RouterConfig, now: Tick) -> Self {
        Router {
            config,
            members: BTreeMap::new(),
            joined: 0,
            speakers: Speakers::new(now),
            keyframes: Keyframes::default(),
            events: VecDeque::new(),
            video_routes: BTreeMap::new(),
            audio_routes: BTreeMap::new(),
        }
    }

    /// Whether nobody is in the room.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// `member` came in at `now`. It has no tracks and no slots yet; everyone may now want
    /// more slots.
    pub fn join(&mut self, now: Tick, member: PeerId) {
        self.joined += 1;
        let joined = self.joined;
        self.members.entry(member).or_insert_with(|| Member {
            joined,
            ..Member::default()
        });
        self.ask_for_slots();
        self.reassign(now);
    }

    /// `member` went.
    pub fn leave(&mut self, now: Tick, member: PeerId) {
        if self.members.remove(&member).is_none() {
            return;
        }
        self.speakers.forget(&member);
        for source in [Source::Camera, Source::Screen] {
            for layer in Layer::ALL {
                self.keyframes.forget(&(member, source, layer));
            }
        }
        self.reassign(now);
    }

    /// `member`'s connection now sends these tracks and receives through these slots (after
    /// each negotiation): `video_slots` and `audio_slots` receive transceivers, in order.
    pub fn tracks(
        &mut self,
        now: Tick,
        member: PeerId,
        sends: Sends,
        video_slots: usize,
        audio_slots: usize,
    ) {
        let Some(state) = self.members.get_mut(&member) else {
            return;
        };
        state.audio = sends.audio;
        let started = |kept: Option<VideoSource>| {
            Some(kept.unwrap_or_else(|| VideoSource {
                since: Some(now),
                ..VideoSource::default()
            }))
        };
        state.camera = if sends.camera {
            started(state.camera.take())
        } else {
            None
        };
        state.screen = if sends.screen {
            started(state.screen.take())
        } else {
            None
        };
        state
            .video_slots
            .resize_with(video_slots, VideoSlot::default);
        state
            .audio_slots
            .resize_with(audio_slots, AudioSlot::default);
        self.reassign(now);
    }

    /// How `member` draws its video slots (by slot).
    pub fn view(&mut self, now: Tick, member: PeerId, views: &[(usize, View)]) {
        let Some(state) = self.members.get_mut(&member) else {
            return;
        };
        for (slot, view) in views {
            if let Some(slot) = state.video_slots.get_mut(*slot) {
                slot.view = *view;
            }
        }
        self.reallocate(now, member);
    }

    /// `member`'s bandwidth estimate, in bits per second.
    pub fn estimate(&mut self, now: Tick, member: PeerId, bits_per_second: u64) {
        let Some(state) = self.members.get_mut(&member) else {
            return;
        };
        state.estimate = Some(bits_per_second);
        self.reallocate(now, member);
    }

    /// Whether `member`'s audio is forwarded (a host may silence it for everyone).
    pub fn silence(&mut self, now: Tick, member: PeerId, silenced: bool) {
        if let Some(state) = self.members.get_mut(&member) {
            state.silenced = silenced;
        }
        self.reassign(now);
    }

    /// `member` lost pictures in video slot `slot` (it sent a PLI or FIR): its source is asked
    /// for a keyframe of the layer the slot shows, rationed with everyone else's requests.
    pub fn picture_lost(&mut self, now: Tick, member: PeerId, slot: usize) {
        let Some(slot) = self
            .members
            .get(&member)
            .and_then(|state| state.video_slots.get(slot))
        else {
            return;
        };
        let (Some((from, source)), Some(layer)) = (slot.source, slot.pending.or(slot.layer)) else {
            return;
        };
        if self.keyframes.request(now, (from, source, layer)) {
            self.events.push_back(RouterEvent::Keyframe {
                member: from,
                source,
                layer,
            });
        }
    }

    /// What `member` should receive to see everything it is sent: the bits per second of the
    /// layers its slots want, for the bandwidth estimate to probe up to.
    pub fn desired_bitrate(&self, now: Tick, member: PeerId) -> u64 {
        let Some(state) = self.members.get(&member) else {
            return 0;
        };
        self.wants(now, state)
            .iter()
            .map(|(_, want)| want.rates[want.wanted.index()])
            .sum()
    }

    /// A packet of `from`'s `source` at `layer` arrived at `now`: `keyframe` when it starts a
    /// keyframe, `size` the picture's size if it does. The packets to send go into `out`.
    #[allow(clippy::too_many_arguments)]
    pub fn video(
        &mut self,
        now: Tick,
        from: PeerId,
        source: Source,
        layer: Layer,
        keyframe: Option<(u32, u32)>,
        is_keyframe: bool,
        packet: Packet,
        out: &mut Vec<Forward>,
    ) {
        let Some(sender) = self.members.get_mut(&from) else {
            return;
        };
        let joined = sender.joined;
        let Some(video) = sender.source_mut(source) else {
            return;
        };
        let stats = &mut video.layers[layer.index()];
        let was_arriving = stats.arriving(now);
        stats.count(now, packet.bytes);
        if let Some((_, height)) = keyframe {
            stats.height = height;
        }
        if is_keyframe {
            self.keyframes.arrived(&(from, source, layer));
        }
        if !was_arriving {
            // A layer that starts (or comes back) may be what someone's tile wants.
            self.reallocate_receivers_of(now, from, source);
        }
        let incoming = Incoming {
            source: source_key(joined, Some((source, layer))),
            seq: packet.seq,
            ts: packet.ts,
            picture: packet.picture,
            tl0: packet.tl0,
            clock_rate: 90_000,
        };
        let Some(routes) = self.video_routes.get(&(from, source)) else {
            return;
        };
        for &(to, index) in routes {
            let Some(slot) = self
                .members
                .get_mut(&to)
                .and_then(|receiver| receiver.video_slots.get_mut(index))
            else {
                continue;
            };
            if is_keyframe && slot.pending == Some(layer) {
                slot.layer = Some(layer);
                slot.pending = None;
            }
            if slot.layer != Some(layer) {
                continue;
            }
            if let Some(numbers) = slot.rewriter.rewrite(now, &incoming) {
                out.push(Forward {
                    to,
                    slot: SlotRef::Video(index),
                    numbers,
                });
            }
        }
    }

    /// An audio packet of `from` arrived at `now`, of `level` (−dBov) if it says. The packets
    /// to send go into `out`.
    pub fn audio(
        &mut self,
        now: Tick,
        from: PeerId,
        level: Option<u8>,
        packet: Packet,
        out: &mut Vec<Forward>,
    ) {
        let Some(sender) = self.members.get(&from) else {
            return;
        };
        if sender.silenced {
            return;
        }
        let joined = sender.joined;
        if let Some(level) = level {
            self.speakers.observe(from, level);
        }
        let incoming = Incoming {
            source: source_key(joined, None),
            seq: packet.seq,
            ts: packet.ts,
            picture: None,
            tl0: None,
            clock_rate: 48_000,
        };
        let Some(routes) = self.audio_routes.get(&from) else {
            return;
        };
        for &(to, index) in routes {
            let Some(slot) = self
                .members
                .get_mut(&to)
                .and_then(|receiver| receiver.audio_slots.get_mut(index))
            else {
                continue;
            };
            if let Some(numbers) = slot.rewriter.rewrite(now, &incoming) {
                out.push(Forward {
                    to,
                    slot: SlotRef::Audio(index),
                    numbers,
                });
            }
        }
    }

    /// What there is to do at `now`: keyframe requests that are due, who speaks, slot changes.
    pub fn poll(&mut self, now: Tick) -> Vec<RouterEvent> {
        for (member, source, layer) in self.keyframes.poll(now) {
            self.events.push_back(RouterEvent::Keyframe {
                member,
                source,
                layer,
            });
        }
        if let Some(speaking) = self.speakers.poll(now) {
            self.events.push_back(RouterEvent::Speaking(speaking));
            // Who spoke last decides the audio slots, and the dominant speaker a video slot
            // and its layer.
            self.reassign(now);
            let receivers: Vec<PeerId> = self.members.keys().copied().collect();
            for receiver in receivers {
                self.reallocate(now, receiver);
            }
        }
        self.events.drain(..).collect()
    }

    /// Whether [`Router::poll`] has events waiting (besides those of its deadlines).
    pub fn has_events(&self) -> bool {
        !self.events.is_empty()
    }

    /// When [`Router::poll`] next has something to do.
    pub fn next_deadline(&self) -> Tick {
        let speakers = self.speakers.next_deadline();
        match self.keyframes.next_deadline() {
            Some(keyframes) => keyframes.min(speakers),
            None => speakers,
        }
    }

    /// Says again how many slots `member` should have and what each carries, for a member
    /// that missed what was said.
    pub fn resend(&mut self, member: PeerId) {
        let Some(state) = self.members.get(&member) else {
            return;
        };
        let (video, audio) = state.wanted;
        if video > 0 || audio > 0 {
            self.events.push_back(RouterEvent::WantSlots {
                member,
                video,
                audio,
            });
        }
        self.events.push_back(assignment(member, state));
    }

    /// Asks members for more slots when the room has grown past what they have.
    fn ask_for_slots(&mut self) {
        let others = self.members.len().saturating_sub(1);
        let video = slots_for(others, self.config.max_video_slots);
        let audio = slots_for(others, self.config.audio_slots);
        for (id, member) in &mut self.members {
            let (had_video, had_audio) = member.wanted;
            if video > had_video || audio > had_audio {
                let wanted = (video.max(had_video), audio.max(had_audio));
                member.wanted = wanted;
                self.events.push_back(RouterEvent::WantSlots {
                    member: *id,
                    video: wanted.0,
                    audio: wanted.1,
                });
            }
        }
    }

    /// Decides again which source fills every slot of every receiver.
    fn reassign(&mut self, now: Tick) {
        let dominant = self.speakers.dominant();
        let ids: Vec<PeerId> = self.members.keys().copied().collect();
        for receiver in ids {
            let video = self.video_order(now, receiver, dominant);
            let audio = self.audio_order(receiver);
            let Some(member) = self.members.get_mut(&receiver) else {
                continue;
            };
            let video_moved = place(&mut member.video_slots, &video, |slot| &mut slot.source);
            let audio_changed =
                !place(&mut member.audio_slots, &audio, |slot| &mut slot.source).is_empty();
            let video_changed = !video_moved.is_empty();
            for index in video_moved {
                // A new source starts on its own keyframe, at the layer the budget gives it.
                let slot = &mut member.video_slots[index];
                slot.layer = None;
                slot.pending = None;
            }
            if video_changed || audio_changed {
                self.events.push_back(assignment(receiver, member));
            }
            if video_changed {
                self.reallocate(now, receiver);
            }
        }
        self.rebuild_routes();
    }

    /// The video sources `receiver` should see, best first.
    fn video_order(
        &self,
        now: Tick,
        receiver: PeerId,
        dominant: Option<PeerId>,
    ) -> Vec<(PeerId, Source)> {
        let mut sources: Vec<(Rank, (PeerId, Source))> = Vec::new();
        for (id, member) in &self.members {
            if *id == receiver {
                continue;
            }
            if let Some(screen) = &member.screen {
                let rank = Rank {
                    screen: true,
                    dominant: false,
                    spoke: None,
                    since: screen.since.unwrap_or(now),
                    joined: member.joined,
                };
                sources.push((rank, (*id, Source::Screen)));
            }
            if member.camera.is_some() {
                let rank = Rank {
                    screen: false,
                    dominant: dominant == Some(*id),
                    spoke: self.speakers.last_spoke(id),
                    since: Tick::ZERO,
                    joined: member.joined,
                };
                sources.push((rank, (*id, Source::Camera)));
            }
        }
        sources.sort_by_key(|(rank, _)| *rank);
        sources.into_iter().map(|(_, source)| source).collect()
    }

    /// The members `receiver` should hear, best first: who spoke last, then who joined first.
    fn audio_order(&self, receiver: PeerId) -> Vec<PeerId> {
        let mut heard: Vec<(Option<Tick>, u64, PeerId)> = self
            .members
            .iter()
            .filter(|(id, member)| **id != receiver && member.audio && !member.silenced)
            .map(|(id, member)| (self.speakers.last_spoke(id), member.joined, *id))
            .collect();
        heard.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        heard.into_iter().map(|(_, _, id)| id).collect()
    }

    /// The slots of `member` and what each wants, for the budget.
    fn wants(&self, now: Tick, member: &Member) -> Vec<(usize, Want)> {
        let dominant = self.speakers.dominant();
        member
            .video_slots
            .iter()
            .enumerate()
            .filter_map(|(index, slot)| {
                let (from, source) = slot.source?;
                if !slot.view.visible {
                    return None;
                }
                let video = self.members.get(&from)?.source(source)?;
                let priority = match source {
                    Source::Screen => 2,
                    Source::Camera if dominant == Some(from) => 1,
                    Source::Camera => 0,
                };
                let fits = layer_for_height(slot.view.height, video.heights());
                let wanted = match source {
                    Source::Screen => Layer::High,
                    // The one speaking gets a layer above what the tile needs: people look at
                    // the speaker, and the tile may grow.
                    Source::Camera if dominant == Some(from) => fits.above().unwrap_or(fits),
                    Source::Camera => fits,
                };
                let want = Want {
                    priority,
                    area: u64::from(slot.view.width) * u64::from(slot.view.height),
                    wanted,
                    rates: video.rates(),
                    arriving: video.arriving(now),
                };
                Some((index, want))
            })
            .collect()
    }

    /// Decides again the layer of each of `member`'s video slots.
    fn reallocate(&mut self, now: Tick, receiver: PeerId) {
        let Some(member) = self.members.get(&receiver) else {
            return;
        };
        let wants = self.wants(now, member);
        let estimate = member.estimate.unwrap_or(INITIAL_ESTIMATE);
        let list: Vec<Want> = wants.iter().map(|(_, want)| *want).collect();
        let given = budget::allocate(estimate, &list);
        let safe = budget::allocate((estimate as f64 * UPGRADE_MARGIN) as u64, &list);
        let unlimited = budget::allocate(u64::MAX, &list);
        let mut requests = Vec::new();
        let member = self
            .members
            .get_mut(&receiver)
            .expect("the member was there a moment ago");
        let chosen: BTreeMap<usize, (Option<Layer>, Option<Layer>, bool)> = wants
            .iter()
            .enumerate()
            .map(|(n, (index, _))| (*index, (given[n], safe[n], given[n] < unlimited[n])))
            .collect();
        for (index, slot) in member.video_slots.iter_mut().enumerate() {
            let Some((from, source)) = slot.source else {
                continue;
            };
            let current = slot.pending.or(slot.layer);
            let held_back = slot.capped;
            let target = match chosen.get(&index) {
                None => None,
                Some(&(given, safe, capped)) => {
                    slot.capped = capped;
                    let may_rise = !held_back
                        || slot
                            .last_upgrade
                            .is_none_or(|at| now.since(at) >= UPGRADE_EVERY);
                    match (current, given, safe) {
                        // Nothing yet: start where the budget says.
                        (None, given, _) => given,
                        // Down at once when over the budget.
                        (Some(now_at), Some(given), _) if given < now_at => Some(given),
                        (Some(_), None, _) => None,
                        // Up only with room to spare, and not too often when the budget was
                        // what held it.
                        (Some(now_at), _, Some(safe)) if safe > now_at && may_rise => {
                            slot.last_upgrade = Some(now);
                            Some(safe)
                        }
                        (Some(now_at), _, _) => Some(now_at),
                    }
                }
            };
            if target == current {
                continue;
            }
            match target {
                None => {
                    slot.layer = None;
                    slot.pending = None;
                }
                Some(layer) if slot.layer == Some(layer) => slot.pending = None,
                Some(layer) => {
                    slot.pending = Some(layer);
                    requests.push((from, source, layer));
                }
            }
        }
        for (from, source, layer) in requests {
            if self.keyframes.request(now, (from, source, layer)) {
                self.events.push_back(RouterEvent::Keyframe {
                    member: from,
                    source,
                    layer,
                });
            }
        }
    }

    /// Decides again the layers of everyone who receives `from`'s `source`.
    fn reallocate_receivers_of(&mut self, now: Tick, from: PeerId, source: Source) {
        let receivers: Vec<PeerId> = self
            .video_routes
            .get(&(from, source))
            .map(|routes| routes.iter().map(|(to, _)| *to).collect())
            .unwrap_or_default();
        for receiver in receivers {
            self.reallocate(now, receiver);
        }
    }

    fn rebuild_routes(&mut self) {
        self.video_routes.clear();
        self.audio_routes.clear();
        for (id, member) in &self.members {
            for (index, slot) in member.video_slots.iter().enumerate() {
                if let Some(source) = slot.source {
                    self.video_routes
                        .entry(source)
                        .or_default()
                        .push((*id, index));
                }
            }
            for (index, slot) in member.audio_slots.iter().enumerate() {
                if let Some(from) = slot.source {
                    self.audio_routes
                        .entry(from)
                        .or_default()
                        .push((*id, index));
                }
            }
        }
    }
}

/// How a video source ranks for a receiver's slots; the best sorts first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rank {
    screen: bool,
    dominant: bool,
    spoke: Option<Tick>,
    /// When a screen share started: the earliest keeps the stage.
    since: Tick,
    joined: u64,
}

impl Ord for Rank {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // Screens first (the earliest first), then the dominant speaker, then who spoke last,
        // then the order of joining.
        other
            .screen
            .cmp(&self.screen)
            .then(self.since.cmp(&other.since))
            .then(other.dominant.cmp(&self.dominant))
            .then(other.spoke.cmp(&self.spoke))
            .then(self.joined.cmp(&other.joined))
    }
}

impl PartialOrd for Rank {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Which tracks a member sends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sends {
    /// Its microphone.
    pub audio: bool,
    /// Its camera.
    pub camera: bool,
    /// Its screen.
    pub screen: bool,
}

/// A number that tells every source layer of the room apart, for the rewriters: the member's
/// place in the order of joining, and its video source and layer (`None` for its audio).
fn source_key(joined: u64, video: Option<(Source, Layer)>) -> u64 {
    let track = match video {
        None => 0,
        Some((source, layer)) => 1 + (source as u64) * 3 + layer.index() as u64,
    };
    (joined << 3) | track
}

/// What each of `member`'s slots carries, as `receiver` is to be told.
fn assignment(receiver: PeerId, member: &Member) -> RouterEvent {
    RouterEvent::Assign {
        member: receiver,
        video: member.video_slots.iter().map(|slot| slot.source).collect(),
        audio: member.audio_slots.iter().map(|slot| slot.source).collect(),
    }
}

/// Slots for `others` other members, up to `max`, in steps of [`SLOT_STEP`].
fn slots_for(others: usize, max: usize) -> usize {
    others
        .div_ceil(SLOT_STEP)
        .saturating_mul(SLOT_STEP)
        .min(max)
}

/// Places the best of `order` into `slots`: a source already in a slot keeps it while it is
/// among the best, the others take free slots in order. Returns the slots whose source changed.
fn place<S, K: PartialEq + Copy>(
    slots: &mut [S],
    order: &[K],
    source: impl Fn(&mut S) -> &mut Option<K>,
) -> Vec<usize> {
    let best = &order[..order.len().min(slots.len())];
    let mut changed = Vec::new();
    for (index, slot) in slots.iter_mut().enumerate() {
        let current = source(slot);
        if current.is_some_and(|k| !best.contains(&k)) {
            *current = None;
            changed.push(index);
        }
    }
    for k in best {
        if slots.iter_mut().any(|slot| *source(slot) == Some(*k)) {
            continue;
        }
        if let Some(index) = slots.iter_mut().position(|slot| source(slot).is_none()) {
            *source(&mut slots[index]) = Some(*k);
            if !changed.contains(&index) {
                changed.push(index);
            }
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(n: &str) -> PeerId {
        PeerId::parse(n).expect("a peer id")
    }

    fn ms(millis: u64) -> Tick {
        Tick::from_millis(millis)
    }

    const ALL: Sends = Sends {
        audio: true,
        camera: true,
        screen: false,
    };

    /// A room of `members`, each sending audio and camera, each with `video`/`audio` slots.
    fn room(members: &[&str], video: usize, audio: usize) -> Router {
        let mut router = Router::new(
            RouterConfig {
                max_video_slots: 16,
                audio_slots: 8,
            },
            ms(0),
        );
        for id in members {
            router.join(ms(0), peer(id));
        }
        for id in members {
            router.tracks(ms(0), peer(id), ALL, video, audio);
        }
        router.poll(ms(0));
        router
    }

    fn packet(seq: u64) -> Packet {
        Packet {
            seq,
            ts: seq * 3000,
            picture: Some(seq as u16),
            tl0: Some(seq as u8),
            bytes: 1000,
        }
    }

    /// Sends one camera packet of `from` at `layer` and returns who got it.
    fn camera(
        router: &mut Router,
        at: Tick,
        from: &str,
        layer: Layer,
        key: bool,
        seq: u64,
    ) -> Vec<Forward> {
        let mut out = Vec::new();
        let size = key.then(|| (layer.nominal_height() * 16 / 9, layer.nominal_height()));
        router.video(
            at,
            peer(from),
            Source::Camera,
            layer,
            size,
            key,
            packet(seq),
            &mut out,
        );
        out
    }

    fn assigned(events: &[RouterEvent], member: &str) -> Option<Vec<Option<(PeerId, Source)>>> {
        events.iter().rev().find_map(|event| match event {
            RouterEvent::Assign {
                member: m, video, ..
            } if *m == peer(member) => Some(video.clone()),
            _ => None,
        })
    }

    #[test]
    fn members_are_asked_for_slots_as_the_room_grows_in_steps() {
        let mut router = Router::new(
            RouterConfig {
                max_video_slots: 16,
                audio_slots: 8,
            },
            ms(0),
        );
        router.join(ms(0), peer("p1"));
        router.join(ms(0), peer("p2"));
        let events = router.poll(ms(0));
        let four = RouterEvent::WantSlots {
            member: peer("p1"),
            video: 4,
            audio: 4,
        };
        assert!(events.contains(&four), "{events:?}");
        // Up to four others, four slots are enough: nobody is asked again.
        for n in 3..=5 {
            router.join(ms(0), peer(&format!("p{n}")));
        }
        let asked_p1 = |events: &[RouterEvent]| -> Vec<RouterEvent> {
            events
                .iter()
                .filter(|event| matches!(event, RouterEvent::WantSlots { member, .. } if *member == peer("p1")))
                .cloned()
                .collect()
        };
        assert_eq!(asked_p1(&router.poll(ms(0))), []);
        router.join(ms(0), peer("p6"));
        let eight = RouterEvent::WantSlots {
            member: peer("p1"),
            video: 8,
            audio: 8,
        };
        assert_eq!(asked_p1(&router.poll(ms(0))), [eight]);
    }

    #[test]
    fn a_member_that_missed_what_was_said_is_told_its_slots_again() {
        let mut router = room(&["p1", "p2", "p3"], 4, 4);
        assert_eq!(
            router.poll(ms(0)),
            [],
            "nothing changed since the room was made"
        );
        router.resend(peer("p1"));
        let events = router.poll(ms(0));
        let slots = RouterEvent::WantSlots {
            member: peer("p1"),
            video: 4,
            audio: 4,
        };
        assert_eq!(events.first(), Some(&slots), "{events:?}");
        let video = assigned(&events, "p1").expect("p1 is told what its slots carry");
        assert_eq!(
            video[..2],
            [
                Some((peer("p2"), Source::Camera)),
                Some((peer("p3"), Source::Camera))
            ]
        );
        assert_eq!(assigned(&events, "p2"), None, "only p1 is told");
        router.resend(peer("p9"));
        assert_eq!(router.poll(ms(0)), []);
    }

    #[test]
    fn each_member_sees_the_others_in_the_order_they_joined() {
        let mut router = room(&["p1", "p2", "p3"], 4, 4);
        router.tracks(ms(0), peer("p3"), ALL, 4, 4);
        let events = router.poll(ms(0));
        assert_eq!(events, []);
        let router_view = |router: &Router, member: &str| -> Vec<Option<(PeerId, Source)>> {
            router.members[&peer(member)]
                .video_slots
                .iter()
                .map(|slot| slot.source)
                .collect()
        };
        assert_eq!(
            router_view(&router, "p3"),
            [
                Some((peer("p1"), Source::Camera)),
                Some((peer("p2"), Source::Camera)),
                None,
                None
            ]
        );
        assert_eq!(
            router_view(&router, "p1")[..2],
            [
                Some((peer("p2"), Source::Camera)),
                Some((peer("p3"), Source::Camera))
            ]
        );
    }

    /// The first packets of each layer of `from`'s camera, none a keyframe.
    fn start_layers(router: &mut Router, at: Tick, from: &str) {
        for layer in Layer::ALL {
            camera(router, at, from, layer, false, 1);
        }
    }

    fn keyframe_requests(events: &[RouterEvent]) -> Vec<(PeerId, Layer)> {
        events
            .iter()
            .filter_map(|event| match event {
                RouterEvent::Keyframe { member, layer, .. } => Some((*member, *layer)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_slot_starts_on_a_keyframe_of_its_layer_and_numbers_follow_on() {
        let mut router = room(&["p1", "p2"], 4, 4);
        // A middle-sized tile (the default view) wants the middle layer: a keyframe of it is
        // asked for, and nothing of it is forwarded before one comes.
        start_layers(&mut router, ms(10), "p1");
        let events = router.poll(ms(10));
        assert!(
            keyframe_requests(&events).contains(&(peer("p1"), Layer::Mid)),
            "{events:?}"
        );
        assert!(camera(&mut router, ms(20), "p1", Layer::Mid, false, 100).is_empty());
        let first = camera(&mut router, ms(30), "p1", Layer::Mid, true, 101);
        assert_eq!(first.len(), 1);
        assert_eq!(
            (first[0].to, first[0].slot),
            (peer("p2"), SlotRef::Video(0))
        );
        let next = camera(&mut router, ms(63), "p1", Layer::Mid, false, 102);
        assert_eq!(next[0].numbers.seq, first[0].numbers.seq + 1);
        assert!(camera(&mut router, ms(63), "p1", Layer::Low, false, 2).is_empty());
        assert!(camera(&mut router, ms(63), "p1", Layer::High, true, 2).is_empty());
    }

    #[test]
    fn a_small_tile_gets_a_lower_layer_than_a_large_one() {
        let mut router = room(&["p1", "p2", "p3"], 4, 4);
        start_layers(&mut router, ms(1), "p1");
        router.view(
            ms(2),
            peer("p2"),
            &[(
                0,
                View {
                    width: 160,
                    height: 90,
                    visible: true,
                },
            )],
        );
        router.view(
            ms(2),
            peer("p3"),
            &[(
                0,
                View {
                    width: 1280,
                    height: 720,
                    visible: true,
                },
            )],
        );
        router.poll(ms(2));
        for layer in Layer::ALL {
            camera(
                &mut router,
                ms(600),
                "p1",
                layer,
                true,
                10 + layer.index() as u64,
            );
        }
        let got = |router: &mut Router, layer: Layer| {
            camera(
                router,
                ms(601),
                "p1",
                layer,
                false,
                20 + layer.index() as u64,
            )
            .iter()
            .map(|f| f.to)
            .collect::<Vec<_>>()
        };
        assert_eq!(got(&mut router, Layer::Low), [peer("p2")]);
        assert_eq!(got(&mut router, Layer::Mid), Vec::<PeerId>::new());
        assert_eq!(got(&mut router, Layer::High), [peer("p3")]);
    }

    #[test]
    fn a_low_estimate_moves_slots_down_and_one_keyframe_serves_many() {
        let mut router = room(&["p1", "p2", "p3"], 4, 4);
        start_layers(&mut router, ms(0), "p1");
        for layer in Layer::ALL {
            camera(&mut router, ms(1), "p1", layer, true, 2);
        }
        router.poll(ms(1));
        // A second later both receivers run short at once: one request for the small layer.
        router.estimate(ms(1000), peer("p2"), 200_000);
        router.estimate(ms(1001), peer("p3"), 200_000);
        let requests = keyframe_requests(&router.poll(ms(1001)));
        assert_eq!(requests, [(peer("p1"), Layer::Low)]);
        let out = camera(&mut router, ms(1002), "p1", Layer::Low, true, 5);
        assert_eq!(out.len(), 2);
        assert!(camera(&mut router, ms(1003), "p1", Layer::Mid, false, 6).is_empty());
    }

    #[test]
    fn a_screen_share_takes_a_slot_before_cameras() {
        let mut router = room(&["p1", "p2", "p3"], 1, 4);
        router.tracks(
            ms(5),
            peer("p2"),
            Sends {
                screen: true,
                ..ALL
            },
            1,
            4,
        );
        let events = router.poll(ms(5));
        assert_eq!(
            assigned(&events, "p3"),
            Some(vec![Some((peer("p2"), Source::Screen))])
        );
        assert_eq!(
            assigned(&events, "p1"),
            Some(vec![Some((peer("p2"), Source::Screen))])
        );
    }

    #[test]
    fn the_last_speakers_are_heard_and_a_silenced_member_is_not() {
        let mut router = room(&["p1", "p2", "p3", "p4"], 4, 1);
        let speak = |router: &mut Router, from: &str, at: Tick| {
            let mut out = Vec::new();
            for seq in 0..20 {
                router.audio(at, peer(from), Some(10), packet(seq), &mut out);
            }
            out
        };
        // One audio slot each: p1 hears whoever spoke last.
        speak(&mut router, "p3", ms(100));
        router.poll(ms(400));
        let heard = |router: &Router| router.members[&peer("p1")].audio_slots[0].source;
        assert_eq!(heard(&router), Some(peer("p3")));
        speak(&mut router, "p4", ms(500));
        router.poll(ms(800));
        assert_eq!(heard(&router), Some(peer("p4")));
        let out = speak(&mut router, "p4", ms(900));
        assert!(out
            .iter()
            .any(|f| f.to == peer("p1") && f.slot == SlotRef::Audio(0)));
        router.silence(ms(900), peer("p4"), true);
        assert!(speak(&mut router, "p4", ms(950)).is_empty());
    }

    #[test]
    fn a_lost_picture_asks_the_source_for_a_keyframe_once_per_interval() {
        let mut router = room(&["p1", "p2", "p3"], 4, 4);
        start_layers(&mut router, ms(0), "p1");
        for layer in Layer::ALL {
            camera(&mut router, ms(1), "p1", layer, true, 2);
        }
        router.poll(ms(1));
        // p2 and p3 both lose pictures of p1's camera (slot 0, the middle layer) at once.
        router.picture_lost(ms(1000), peer("p2"), 0);
        router.picture_lost(ms(1001), peer("p3"), 0);
        assert_eq!(
            keyframe_requests(&router.poll(ms(1001))),
            [(peer("p1"), Layer::Mid)]
        );
        // A slot with nothing in it, or one that does not exist, asks for nothing.
        router.picture_lost(ms(1002), peer("p2"), 3);
        router.picture_lost(ms(1002), peer("p2"), 99);
        assert_eq!(keyframe_requests(&router.poll(ms(1002))), []);
        // The second loss is served when the interval ends, if no keyframe came meanwhile.
        assert_eq!(
            keyframe_requests(&router.poll(ms(1600))),
            [(peer("p1"), Layer::Mid)]
        );
    }

    #[test]
    fn the_dominant_speaker_gets_a_layer_above_its_tile() {
        let mut router = room(&["p1", "p2", "p3"], 4, 4);
        for from in ["p1", "p2"] {
            for layer in Layer::ALL {
                camera(&mut router, ms(0), from, layer, true, 1);
            }
        }
        router.poll(ms(0));
        // p1 speaks for a few windows and becomes dominant, while every layer keeps coming.
        let mut at = 0;
        for window in 1..=4 {
            at = window * 400;
            for seq in 0..20 {
                router.audio(ms(at), peer("p1"), Some(10), packet(seq), &mut Vec::new());
            }
            for from in ["p1", "p2"] {
                for layer in Layer::ALL {
                    camera(&mut router, ms(at), from, layer, false, window);
                }
            }
            router.poll(ms(at));
        }
        // The full layer's next keyframe switches the speaker's slots to it.
        for layer in Layer::ALL {
            camera(&mut router, ms(at + 1), "p1", layer, true, 50);
        }
        let receivers_of = |router: &mut Router, from: &str, layer: Layer| -> Vec<PeerId> {
            let mut to: Vec<PeerId> = camera(router, ms(at + 2), from, layer, false, 60)
                .iter()
                .map(|forward| forward.to)
                .collect();
            to.sort();
            to
        };
        // Middle-sized tiles: p2's camera goes out at the middle layer, the speaker's at the
        // full one.
        assert_eq!(
            receivers_of(&mut router, "p2", Layer::Mid),
            [peer("p1"), peer("p3")]
        );
        assert_eq!(
            receivers_of(&mut router, "p1", Layer::High),
            [peer("p2"), peer("p3")]
        );
        assert_eq!(receivers_of(&mut router, "p1", Layer::Mid), []);
    }

    #[test]
    fn a_leaver_frees_its_slots_for_the_others() {
        let mut router = room(&["p1", "p2", "p3", "p4"], 2, 4);
        let events = router.poll(ms(0));
        assert_eq!(events, []);
        router.leave(ms(10), peer("p2"));
        let events = router.poll(ms(10));
        assert_eq!(
            assigned(&events, "p1"),
            Some(vec![
                Some((peer("p4"), Source::Camera)),
                Some((peer("p3"), Source::Camera))
            ])
        );
    }
}
