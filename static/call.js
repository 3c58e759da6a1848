// call.js: the peer-to-peer mesh: one RTCPeerConnection per other member of the room.
//
// No socket and no DOM here. Signalling goes out through the `signal` object room.js passes in
// (backed by protocol.js) and comes in through handleDescription/handleCandidate; what happens
// to peers comes out as events:
// - 'peerstream' { id, stream }: the MediaStream of what `id` sends gained or changed a track.
// - 'peerscreen' { id }:         `id`'s shared screen arrived (see screenStream).
// - 'peerstate'  { id, state }:  the RTCPeerConnection's connectionState changed.
// - 'peerfailed' { id }:         ICE restarts did not bring the connection back; it is closed.
//
// Negotiation is MDN's "perfect negotiation" pattern. Roles come from who joined last: the
// newcomer adds its transceivers at once and so makes the first offer, and is the impolite side;
// members who were already there are polite toward it and only answer until then. Glare (both
// sides offering at once, say after two ICE restarts) resolves the same way: the impolite side
// ignores the colliding offer, the polite side rolls its own back (setRemoteDescription does
// the rollback) and answers.
//
// Each connection carries one audio and one video (camera) m-line both ways, and a shared
// screen on a video m-line of its own, added the first time the sender shares and kept (with
// no track) when it stops: the camera stays a tile of its own beside the screen. A video
// m-line after the first is a screen; whether it shows anything is the sender's `media`
// frame's `screen`, which room.js reads.

/** How long `disconnected` may last before an ICE restart: it often heals by itself. */
const DISCONNECTED_GRACE_MS = 4000;
/** How long an ICE restart gets to reconnect before the next one. */
const RESTART_TIMEOUT_MS = 10000;
/** ICE restarts tried before giving up on a peer. */
const MAX_RESTARTS = 3;

const KINDS = ['audio', 'video'];

/** One other member of the room and the connection to it. */
class Peer {
  /** Incoming signalling is handled one message at a time, in arrival order. */
  queue = Promise.resolve();
  makingOffer = false;
  ignoreOffer = false;
  isSettingRemoteAnswerPending = false;
  /** Our last offer or answer could not go out: the signalling connection was down. */
  unsent = false;
  /** Our senders, by kind, once a transceiver of that kind is ours to send on. */
  senders = { audio: null, video: null, screen: null };
  /** What this peer sends us, gathered from 'track' events (so it never depends on msid). */
  stream = new MediaStream();
  /** The screen this peer shares with us, if it ever did. */
  screenStream = new MediaStream();
  restarts = 0;
  disconnectedTimer = 0;
  restartTimer = 0;
  closed = false;

  constructor(id, polite, pc) {
    this.id = id;
    this.polite = polite;
    this.pc = pc;
  }
}

/**
 * The ICE servers if the browser accepts them, else none: a malformed URL makes
 * `new RTCPeerConnection` throw, and a call on the LAN still works without them.
 */
function usableIceServers(iceServers) {
  try {
    new RTCPeerConnection({ iceServers }).close();
    return iceServers;
  } catch (err) {
    console.warn('room: ignoring ICE servers the browser refuses', err);
    return [];
  }
}

export class Call extends EventTarget {
  /** @type {Map<string, Peer>} */
  #peers = new Map();
  #iceServers;
  #signal;
  /** The tracks every peer is sent, by kind; null sends nothing on that transceiver. */
  #tracks = { audio: null, video: null };
  /** The shared screen every peer is sent, or null. */
  #screen = null;

  /** 'relay' to call only through TURN servers, 'all' otherwise. */
  #policy;

  /**
   * @param {object} options
   * @param {RTCIceServer[]} options.iceServers STUN/TURN servers; [] is fine on a LAN.
   * @param {boolean} options.relayOnly call only through the TURN servers among them.
   * @param {{ description(to: string, desc: RTCSessionDescription): boolean,
   *           candidate(to: string, candidate: RTCIceCandidate): void }} options.signal:
   *   `description` says whether the frame went out
   */
  constructor({ iceServers = [], relayOnly = false, signal }) {
    super();
    this.#iceServers = usableIceServers(iceServers);
    this.#policy = relayOnly ? 'relay' : 'all';
    this.#signal = signal;
  }

  /** The live connections by peer id (a copy: the test hook must not be able to change ours). */
  peerConnections() {
    return new Map([...this.#peers].map(([id, peer]) => [id, peer.pc]));
  }

  /** Sends `media`'s sound and camera, and the shared screen on a transceiver of its own. */
  setLocalMedia({ mic, camera, screen }) {
    this.setLocalTrack('audio', mic);
    this.setLocalTrack('video', camera);
    if (this.#screen === screen) return;
    this.#screen = screen;
    for (const peer of this.#peers.values()) this.#sendScreen(peer);
  }

  /** The screen `id` shares with this page, if a track of it arrived. */
  screenStream(id) {
    const stream = this.#peers.get(id)?.screenStream;
    return stream?.getVideoTracks().length ? stream : null;
  }

  /**
   * Puts the shared screen (or nothing) on `peer`'s screen transceiver. The first time there is
   * a screen it makes the transceiver, after the camera's: a new m-line, which fires
   * negotiationneeded.
   */
  #sendScreen(peer) {
    if (peer.senders.screen) {
      peer.senders.screen.replaceTrack(this.#screen).catch((err) => {
        console.warn(`room: could not replace the screen for ${peer.id}`, err);
      });
    } else if (this.#screen && peer.senders.video) {
      const transceiver = peer.pc.addTransceiver(this.#screen, { direction: 'sendonly' });
      peer.senders.screen = transceiver.sender;
    }
  }

  /**
   * Sets what is sent for `kind` to every peer, now and later. replaceTrack swaps it on the
   * running connections without renegotiation; null sends nothing but keeps the slot.
   */
  setLocalTrack(kind, track) {
    if (this.#tracks[kind] === track) return;
    this.#tracks[kind] = track;
    for (const peer of this.#peers.values()) {
      peer.senders[kind]?.replaceTrack(track).catch((err) => {
        console.warn(`room: could not replace the ${kind} track for ${peer.id}`, err);
      });
    }
  }

  /**
   * Starts a connection to `id`. The impolite side (the newcomer) adds its transceivers now,
   * which fires negotiationneeded and sends the first offer; the polite side waits for it.
   */
  addPeer(id, { polite }) {
    if (this.#peers.has(id)) return this.#peers.get(id);
    const pc = new RTCPeerConnection({
      iceServers: this.#iceServers,
      iceTransportPolicy: this.#policy,
    });
    const peer = new Peer(id, polite, pc);
    this.#peers.set(id, peer);

    pc.addEventListener('negotiationneeded', () => this.#negotiate(peer));
    pc.addEventListener('icecandidate', ({ candidate }) => {
      // A null candidate only means gathering ended; the protocol has no use for it.
      if (candidate && !peer.closed) this.#signal.candidate(id, candidate);
    });
    pc.addEventListener('track', ({ track, transceiver }) =>
      this.#addRemoteTrack(peer, track, transceiver),
    );
    pc.addEventListener('connectionstatechange', () => this.#onConnectionState(peer));

    if (!polite) {
      for (const kind of KINDS) {
        // sendrecv even without a track: the slot is there for replaceTrack later, and a member
        // without a camera still receives everyone's video.
        const transceiver = pc.addTransceiver(this.#tracks[kind] ?? kind, { direction: 'sendrecv' });
        peer.senders[kind] = transceiver.sender;
      }
      this.#sendScreen(peer);
    }
    return peer;
  }

  /** Closes the connection to `id` (it left, or we did). */
  removePeer(id) {
    const peer = this.#peers.get(id);
    if (!peer) return;
    this.#peers.delete(id);
    peer.closed = true;
    clearTimeout(peer.disconnectedTimer);
    clearTimeout(peer.restartTimer);
    peer.pc.close();
    for (const stream of [peer.stream, peer.screenStream]) {
      for (const track of stream.getTracks()) stream.removeTrack(track);
    }
  }

  /** Closes every connection. */
  close() {
    for (const id of [...this.#peers.keys()]) this.removePeer(id);
  }

  /**
   * An offer or answer from `from`. An offer from someone unknown starts a connection as the
   * polite side: their `peer_joined` may be on its way still.
   */
  handleDescription(from, description) {
    const peer =
      this.#peers.get(from) ?? (description.type === 'offer' ? this.addPeer(from, { polite: true }) : null);
    if (!peer) return;
    this.#enqueue(peer, () => this.#onDescription(peer, description));
  }

  /** A trickled ICE candidate from `from`. */
  handleCandidate(from, candidate) {
    const peer = this.#peers.get(from);
    if (!peer) return;
    this.#enqueue(peer, async () => {
      try {
        await peer.pc.addIceCandidate(candidate);
      } catch (err) {
        // Candidates of an offer we ignored in a glare are expected to fail.
        if (!peer.ignoreOffer) throw err;
      }
    });
  }

  /** Sends our current description to `peer`, noting whether it could go out. */
  #describe(peer) {
    if (!peer.closed) peer.unsent = !this.#signal.description(peer.id, peer.pc.localDescription);
  }

  /**
   * The signalling connection came back as the same member: each offer or answer that could
   * not go out meanwhile goes now.
   */
  resumed() {
    for (const peer of this.#peers.values()) {
      if (peer.unsent) this.#describe(peer);
    }
  }

  #enqueue(peer, task) {
    peer.queue = peer.queue
      .then(() => (peer.closed ? undefined : task()))
      .catch((err) => console.warn(`room: signalling with ${peer.id} failed`, err));
  }

  async #negotiate(peer) {
    const { pc } = peer;
    try {
      peer.makingOffer = true;
      // With no argument the browser creates the right description for the state it is in.
      await pc.setLocalDescription();
      this.#describe(peer);
    } catch (err) {
      console.warn(`room: could not make an offer for ${peer.id}`, err);
    } finally {
      peer.makingOffer = false;
    }
  }

  async #onDescription(peer, description) {
    const { pc } = peer;
    const readyForOffer =
      !peer.makingOffer && (pc.signalingState === 'stable' || peer.isSettingRemoteAnswerPending);
    const offerCollision = description.type === 'offer' && !readyForOffer;
    peer.ignoreOffer = !peer.polite && offerCollision;
    if (peer.ignoreOffer) return;

    peer.isSettingRemoteAnswerPending = description.type === 'answer';
    // On a collision the polite side gets here with its own offer pending:
    // setRemoteDescription rolls it back implicitly before applying theirs.
    await pc.setRemoteDescription(description);
    peer.isSettingRemoteAnswerPending = false;
    if (description.type !== 'offer') return;

    await this.#claimTransceivers(peer);
    await pc.setLocalDescription();
    this.#describe(peer);
    // A kind the offer lacked gets its own transceiver; negotiationneeded then offers it.
    for (const kind of KINDS) {
      if (!peer.senders[kind]) {
        peer.senders[kind] = pc.addTransceiver(this.#tracks[kind] ?? kind, { direction: 'sendrecv' }).sender;
      }
    }
    if (!peer.senders.screen) this.#sendScreen(peer);
  }

  /**
   * On the polite side, the transceivers come from the newcomer's offer. Before answering, take
   * the first of each kind for our own media, so one audio and one video m-line carry both ways.
   */
  async #claimTransceivers(peer) {
    for (const kind of KINDS) {
      if (peer.senders[kind]) continue;
      const transceiver = peer.pc
        .getTransceivers()
        .find((t) => !t.stopped && t.receiver.track?.kind === kind && t.mid !== null);
      if (!transceiver) continue;
      transceiver.direction = 'sendrecv';
      await transceiver.sender.replaceTrack(this.#tracks[kind]);
      peer.senders[kind] = transceiver.sender;
    }
  }

  #addRemoteTrack(peer, track, transceiver) {
    const videos = peer.pc.getTransceivers().filter((t) => t.receiver.track.kind === 'video');
    if (track.kind === 'video' && videos.indexOf(transceiver) > 0) {
      const { screenStream } = peer;
      for (const old of screenStream.getTracks()) if (old !== track) screenStream.removeTrack(old);
      if (!screenStream.getTracks().includes(track)) screenStream.addTrack(track);
      this.#emit('peerscreen', { id: peer.id });
      return;
    }
    const { stream } = peer;
    for (const old of stream.getTracks()) {
      if (old.kind === track.kind && old !== track) stream.removeTrack(old);
    }
    if (!stream.getTracks().includes(track)) stream.addTrack(track);
    this.#emit('peerstream', { id: peer.id, stream });
  }

  #onConnectionState(peer) {
    const { pc } = peer;
    if (peer.closed) return;
    const state = pc.connectionState;
    this.#emit('peerstate', { id: peer.id, state });
    clearTimeout(peer.disconnectedTimer);
    if (state === 'connected') {
      peer.restarts = 0;
      clearTimeout(peer.restartTimer);
    } else if (state === 'disconnected') {
      peer.disconnectedTimer = setTimeout(() => {
        if (pc.connectionState === 'disconnected') this.#restartIce(peer);
      }, DISCONNECTED_GRACE_MS);
    } else if (state === 'failed') {
      this.#restartIce(peer);
    }
  }

  /** Asks for new ICE candidates on both sides; after MAX_RESTARTS fruitless tries, gives up. */
  #restartIce(peer) {
    if (peer.closed) return;
    clearTimeout(peer.restartTimer);
    if (peer.restarts >= MAX_RESTARTS) {
      console.warn(`room: giving up on the connection to ${peer.id}`);
      this.removePeer(peer.id);
      this.#emit('peerfailed', { id: peer.id });
      return;
    }
    peer.restarts += 1;
    console.info(`room: ICE restart ${peer.restarts} for ${peer.id}`);
    // Fires negotiationneeded: an offer with new ICE credentials goes out.
    peer.pc.restartIce();
    peer.restartTimer = setTimeout(() => {
      if (peer.pc.connectionState !== 'connected') this.#restartIce(peer);
    }, RESTART_TIMEOUT_MS);
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
