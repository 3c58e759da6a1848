// sfu.js: the call through Room's media server: one RTCPeerConnection, to the server.
//
// The browser always offers and the server answers, so offers never cross. The page sends its
// microphone, its camera in three simulcast layers and, while sharing, its screen, each on a
// sendonly transceiver, and says in `tracks` which is which. It receives through slots:
// recvonly transceivers the server asks for (`slots`) and fills (`assign`) with the members it
// forwards. People coming and going cost an `assign`, which moves tracks between members'
// streams, not a new offer. How big each video slot is drawn goes back in `view`, so the
// server can send each slot the layer that fills it.
//
// No socket and no DOM here. Frames go out through the `signal` object room.js passes in and
// come in through handleAnswer/setSlots/assign/failed. Events:
// - 'streams': what the slots carry changed; read memberStream(id), screenStream(id) and
//   hasVideo(id).
// - 'state' { state }: the connection's connectionState changed.
// - 'failed' { reason }: the connection could not be set up or broke; it is tried again.

/** The camera's simulcast layers: a quarter, half and full size (Room's rids q, h and f). */
export const CAMERA_LAYERS = [
  { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { rid: 'f', scaleResolutionDownBy: 1, maxBitrate: 1_500_000 },
];
/** A shared screen: one layer, sharp. */
const SCREEN_ENCODING = { maxBitrate: 2_500_000 };
/** How long to wait before a new connection after one failed, doubling per failure... */
const RETRY_MS = 1000;
/** ...up to this. */
const RETRY_MAX_MS = 8000;
/** Views go out at most this often. */
const VIEW_EVERY_MS = 300;

/** The codecs of `kind` the media server takes (VP8 and Opus, with retransmissions). */
function preferredCodecs(kind) {
  const codecs = globalThis.RTCRtpReceiver?.getCapabilities?.(kind)?.codecs ?? [];
  const wanted = kind === 'video' ? ['video/vp8', 'video/rtx'] : ['audio/opus'];
  return codecs.filter((codec) => wanted.includes(codec.mimeType.toLowerCase()));
}

/** Keeps only the codecs the server takes, so each media description stays small. */
function preferCodecs(transceiver, kind) {
  const codecs = preferredCodecs(kind);
  if (codecs.length === 0 || typeof transceiver.setCodecPreferences !== 'function') return;
  try {
    transceiver.setCodecPreferences(codecs);
  } catch (err) {
    // The offer is only larger without it.
    console.info('room: could not narrow the codecs', err);
  }
}

/**
 * What the slots carry, from an `assign` frame: for each member its camera and sound, and its
 * screen, as { video: Map<mid, {member, source}>, audio: Map<mid, member> }.
 */
export function slotMap(frame) {
  const video = new Map();
  for (const { slot, member, source } of frame?.video ?? []) {
    if (typeof slot === 'string' && member) video.set(slot, { member, source: source ?? 'camera' });
  }
  const audio = new Map();
  for (const { slot, member } of frame?.audio ?? []) {
    if (typeof slot === 'string' && member) audio.set(slot, member);
  }
  return { video, audio };
}

/**
 * The `view` entries for the video slots: each slot's size is that of the tile showing what it
 * carries (`sizes` by tile key: the member's id for its camera, `screen:<id>` for its screen).
 */
export function slotViews(videoSlots, sizes) {
  const views = [];
  for (const [slot, { member, source }] of videoSlots) {
    const size = sizes.get(source === 'screen' ? `screen:${member}` : member);
    if (!size) continue;
    views.push({
      slot,
      width: Math.round(size.width),
      height: Math.round(size.height),
      visible: Boolean(size.visible),
    });
  }
  return views.sort((a, b) => (a.slot < b.slot ? -1 : 1));
}

export class SfuCall extends EventTarget {
  #iceServers;
  #policy;
  #signal;
  /** @type {RTCPeerConnection | null} */
  #pc = null;
  /** The sending transceivers, once made. */
  #audio = null;
  #camera = null;
  #screen = null;
  /** The tracks to send. */
  #tracks = { audio: null, camera: null, screen: null };
  /** Receive slots wanted, by kind. */
  #wanted = { video: 0, audio: 0 };
  /** An offer is out and its answer not yet in; another is due after it. */
  #offering = false;
  /** The last offer could not go out: the signalling connection was down. */
  #unsent = false;
  /** Answers that may still come to an offer made before the connection dropped. */
  #staleAnswers = 0;
  #again = false;
  /** What the slots carry, from the last `assign`. */
  #slots = { video: new Map(), audio: new Map() };
  /** Each member's camera and sound, and their screens, as streams that stay the same. */
  #streams = new Map();
  #screens = new Map();
  #sizes = new Map();
  #sentViews = '';
  #viewTimer = 0;
  #failures = 0;
  #retryTimer = 0;
  #open = false;

  /**
   * @param {object} options
   * @param {RTCIceServer[]} options.iceServers STUN/TURN servers; the server needs none.
   * @param {boolean} options.relayOnly call only through the TURN servers among them.
   * @param {{ offer(sdp: string, tracks: {mid: string, source: string}[]): boolean,
   *           view(slots: object[]): void }} options.signal: `offer` says whether the
   *   frame went out
   */
  constructor({ iceServers = [], relayOnly = false, signal }) {
    super();
    this.#iceServers = iceServers;
    this.#policy = relayOnly ? 'relay' : 'all';
    this.#signal = signal;
  }

  /** The connection, as a map like the mesh's (for the browser tests' hook). */
  peerConnections() {
    return new Map(this.#pc ? [['server', this.#pc]] : []);
  }

  /** What each video slot carries: mid → { member, source } (for the browser tests' hook). */
  videoSlots() {
    return new Map(this.#slots.video);
  }

  /** Which member each audio slot carries, by mid. */
  audioSlots() {
    return new Map(this.#slots.audio);
  }

  /** Starts the connection to the server: the page is in the room. */
  start() {
    this.#open = true;
    this.#connect();
  }

  /** Ends the connection and forgets every slot. */
  close() {
    this.#open = false;
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#viewTimer);
    this.#teardown();
    this.#failures = 0;
    this.#wanted = { video: 0, audio: 0 };
    this.#sentViews = '';
  }

  /** Sends `media`'s microphone, camera and screen; renegotiates when one comes or goes. */
  setLocalMedia({ mic, camera, screen }) {
    const next = { audio: mic ?? null, camera: camera ?? null, screen: screen ?? null };
    const changed = Object.keys(next).filter((kind) => this.#tracks[kind] !== next[kind]);
    if (changed.length === 0) return;
    const declaredBefore = this.#declared();
    this.#tracks = next;
    if (!this.#pc) return;
    for (const kind of changed) {
      const transceiver = this.#transceiverFor(kind);
      transceiver?.sender.replaceTrack(next[kind]).catch((err) => {
        console.warn(`room: could not send the ${kind}`, err);
      });
    }
    if (changed.includes('screen')) this.#syncScreen();
    if (this.#declared() !== declaredBefore) this.#negotiate();
  }

  /** The server's answer to the last offer. */
  async handleAnswer(sdp) {
    const pc = this.#pc;
    const stale = this.#staleAnswers > 0;
    if (stale) this.#staleAnswers -= 1;
    if (!pc || pc.signalingState !== 'have-local-offer') return;
    try {
      await pc.setRemoteDescription({ type: 'answer', sdp });
    } catch (err) {
      // An answer to the offer made before the connection dropped does not fit the new one.
      if (!stale) this.failed(`the server's answer did not apply (${err?.message || err})`);
      return;
    }
    this.#offering = false;
    if (this.#again) {
      this.#again = false;
      this.#negotiate();
    }
  }

  /** The server wants this many receive slots of each kind. */
  setSlots({ video, audio }) {
    this.#wanted = {
      video: Math.max(this.#wanted.video, Number(video) || 0),
      audio: Math.max(this.#wanted.audio, Number(audio) || 0),
    };
    if (this.#pc && this.#addSlots()) this.#negotiate();
  }

  /** What the slots carry now. */
  assign(frame) {
    this.#slots = slotMap(frame);
    this.#rebuildStreams();
    this.#scheduleView();
  }

  /** The size each tile is drawn at, by tile key (see slotViews). */
  setTileSizes(sizes) {
    this.#sizes = sizes;
    this.#scheduleView();
  }

  /** The stream of `id`'s camera and sound, or null if no slot carries either. */
  memberStream(id) {
    return this.#streams.get(id) ?? null;
  }

  /** The stream of `id`'s screen, or null. */
  screenStream(id) {
    return this.#screens.get(id) ?? null;
  }

  /** Whether a slot carries `id`'s camera. */
  hasVideo(id) {
    return Boolean(this.#streams.get(id)?.getVideoTracks().length);
  }

  /** The members whose screen a slot carries. */
  sharing() {
    return [...this.#screens.keys()];
  }

  /** The server could not set up the connection, or it broke: try again, later each time. */
  failed(reason) {
    if (!this.#open) return;
    this.#emit('failed', { reason });
    this.#teardown();
    clearTimeout(this.#retryTimer);
    const delay = Math.min(RETRY_MAX_MS, RETRY_MS * 2 ** this.#failures);
    this.#failures += 1;
    this.#retryTimer = setTimeout(() => {
      if (this.#open) this.#connect();
    }, delay);
  }

  #connect() {
    this.#teardown();
    const pc = new RTCPeerConnection({
      iceServers: this.#iceServers,
      iceTransportPolicy: this.#policy,
      bundlePolicy: 'max-bundle',
      rtcpMuxPolicy: 'require',
    });
    this.#pc = pc;
    pc.addEventListener('connectionstatechange', () => {
      if (pc !== this.#pc) return;
      this.#emit('state', { state: pc.connectionState });
      if (pc.connectionState === 'connected') this.#failures = 0;
      if (pc.connectionState === 'failed') this.failed('the connection to the media server failed');
    });
    pc.addEventListener('track', () => this.#rebuildStreams());
    this.#audio = pc.addTransceiver(this.#tracks.audio ?? 'audio', { direction: 'sendonly' });
    preferCodecs(this.#audio, 'audio');
    this.#camera = pc.addTransceiver(this.#tracks.camera ?? 'video', {
      direction: 'sendonly',
      sendEncodings: CAMERA_LAYERS.map((layer) => ({ ...layer })),
    });
    preferCodecs(this.#camera, 'video');
    this.#syncScreen();
    this.#addSlots();
    this.#negotiate();
  }

  #teardown() {
    const pc = this.#pc;
    this.#pc = null;
    this.#audio = this.#camera = this.#screen = null;
    this.#offering = this.#again = false;
    this.#slots = { video: new Map(), audio: new Map() };
    pc?.close();
    this.#rebuildStreams();
  }

  #transceiverFor(kind) {
    return { audio: this.#audio, camera: this.#camera, screen: this.#screen }[kind];
  }

  /** The screen transceiver sends while a screen is shared and is inactive otherwise. */
  #syncScreen() {
    const pc = this.#pc;
    if (!pc) return;
    const track = this.#tracks.screen;
    if (!this.#screen) {
      if (!track) return;
      this.#screen = pc.addTransceiver(track, {
        direction: 'sendonly',
        sendEncodings: [{ ...SCREEN_ENCODING }],
      });
      preferCodecs(this.#screen, 'video');
      return;
    }
    this.#screen.direction = track ? 'sendonly' : 'inactive';
  }

  /** Adds receive slots up to what the server wants; true if it added any. */
  #addSlots() {
    const pc = this.#pc;
    const receiving = (kind) =>
      pc
        .getTransceivers()
        .filter((t) => t.direction === 'recvonly' && t.receiver.track.kind === kind).length;
    let added = false;
    for (const kind of ['video', 'audio']) {
      for (let have = receiving(kind); have < this.#wanted[kind]; have += 1) {
        preferCodecs(pc.addTransceiver(kind, { direction: 'recvonly' }), kind);
        added = true;
      }
    }
    return added;
  }

  /** The tracks the offer declares, as text, to see whether they changed. */
  #declared() {
    return Object.keys(this.#tracks)
      .filter((kind) => this.#tracks[kind])
      .join(',');
  }

  async #negotiate() {
    const pc = this.#pc;
    if (!pc) return;
    if (this.#offering) {
      this.#again = true;
      return;
    }
    this.#offering = true;
    try {
      await pc.setLocalDescription(await pc.createOffer());
    } catch (err) {
      this.#offering = false;
      if (pc === this.#pc) this.failed(`no offer could be made (${err?.message || err})`);
      return;
    }
    if (pc !== this.#pc) return;
    const tracks = [];
    const sending = { audio: this.#audio, camera: this.#camera, screen: this.#screen };
    for (const [source, transceiver] of Object.entries(sending)) {
      if (transceiver?.mid != null && this.#tracks[source]) {
        tracks.push({ mid: transceiver.mid, source });
      }
    }
    this.#unsent = !this.#signal.offer(pc.localDescription.sdp, tracks);
    if (this.#unsent) {
      // The socket is down: a resume offers again (see resumed), a rejoin starts a new call.
      this.#offering = false;
    }
  }

  /**
   * The signalling connection came back as the same member: an offer that could not go out
   * goes again, and so does one whose answer may have been lost with the connection (if that
   * answer comes after all, it is let go).
   */
  resumed() {
    if (!this.#unsent && !this.#offering) return;
    if (this.#offering) this.#staleAnswers += 1;
    this.#unsent = this.#offering = this.#again = false;
    this.#negotiate();
  }

  /** Puts each slot's track into the stream of the member it carries. */
  #rebuildStreams() {
    const byMid = new Map();
    for (const transceiver of this.#pc?.getTransceivers() ?? []) {
      if (transceiver.direction === 'recvonly' && transceiver.mid != null) {
        byMid.set(transceiver.mid, transceiver.receiver.track);
      }
    }
    const cameras = new Map();
    const screens = new Map();
    for (const [mid, { member, source }] of this.#slots.video) {
      const track = byMid.get(mid);
      if (!track) continue;
      (source === 'screen' ? screens : cameras).set(member, [track]);
    }
    for (const [mid, member] of this.#slots.audio) {
      const track = byMid.get(mid);
      if (!track) continue;
      cameras.set(member, [...(cameras.get(member) ?? []), track]);
    }
    const changed = syncStreams(this.#streams, cameras) | syncStreams(this.#screens, screens);
    if (changed) this.#emit('streams', {});
  }

  #scheduleView() {
    if (this.#viewTimer) return;
    this.#viewTimer = setTimeout(() => {
      this.#viewTimer = 0;
      const views = slotViews(this.#slots.video, this.#sizes);
      const text = JSON.stringify(views);
      if (views.length === 0 || text === this.#sentViews) return;
      if (this.#signal.view(views)) this.#sentViews = text;
    }, VIEW_EVERY_MS);
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

/**
 * Makes `streams` hold exactly the `wanted` tracks per member, keeping each member's stream
 * object (so a tile playing it goes on playing); returns whether anything changed.
 */
export function syncStreams(streams, wanted) {
  let changed = false;
  for (const [member, stream] of [...streams]) {
    if (!wanted.has(member)) {
      for (const track of stream.getTracks()) stream.removeTrack(track);
      streams.delete(member);
      changed = true;
    }
  }
  for (const [member, tracks] of wanted) {
    let stream = streams.get(member);
    if (!stream) {
      stream = new MediaStream();
      streams.set(member, stream);
      changed = true;
    }
    for (const track of stream.getTracks()) {
      if (!tracks.includes(track)) {
        stream.removeTrack(track);
        changed = true;
      }
    }
    for (const track of tracks) {
      if (!stream.getTracks().includes(track)) {
        stream.addTrack(track);
        changed = true;
      }
    }
  }
  return changed;
}
