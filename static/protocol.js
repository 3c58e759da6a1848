// protocol.js: the WebSocket and the protocol v2 codec, nothing else.
//
// UI modules never touch the socket: they listen for events named after frame types
// ('welcome', 'rooms', 'joined', 'chat', 'error', ...) whose `detail` is the frame, plus
// 'open' and 'close', and they talk through the send helpers below. The server's
// crates/room-core/src/protocol.rs is the reference for every frame, docs/PROTOCOL.md its prose.

/** The protocol version this client speaks; the server announces its own in `welcome`. */
export const VERSION = 2;

/** The WebSocket URL of the server that served this page. */
export function socketUrl() {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${location.host}/ws`;
}

/**
 * One connection to the server.
 *
 * Events:
 * - 'open': the socket is open (the server's `welcome` follows).
 * - 'close': the socket closed; detail is { code, reason, wasClean }.
 * - one event per server frame, named by its `type`; detail is the whole frame.
 * - 'frame': every server frame too, for logging.
 *
 * The 'error' event is the protocol's `error` frame ({ code, message }), not a socket failure:
 * a failed socket shows up as 'close'.
 */
export class Connection extends EventTarget {
  #ws;

  /** This connection's id and nickname, known once `welcome` arrives (a `resumed` changes
   * them to the member's). */
  id = null;
  name = null;

  constructor(url = socketUrl()) {
    super();
    this.#ws = new WebSocket(url);
    this.#ws.addEventListener('open', () => this.#emit('open', null));
    this.#ws.addEventListener('close', (ev) =>
      this.#emit('close', { code: ev.code, reason: ev.reason, wasClean: ev.wasClean }),
    );
    this.#ws.addEventListener('message', (ev) => this.#receive(ev.data));
  }

  /** Whether frames can be sent now. */
  get isOpen() {
    return this.#ws.readyState === WebSocket.OPEN;
  }

  /** Closes the connection; the server treats it as leaving. */
  close() {
    this.#ws.close(1000, 'bye');
  }

  /** Sends one client frame; returns false if the socket is not open. */
  send(frame) {
    if (!this.isOpen) return false;
    this.#ws.send(JSON.stringify(frame));
    return true;
  }

  /** Picks a display name (1 to 32 characters after trimming). */
  nickname(name) {
    return this.send({ type: 'nickname', name });
  }

  /**
   * Enters a room, leaving the current one first; `hostToken` makes a returning host host, and
   * `listed` false keeps a room this join makes off the room lists.
   */
  join(room, { hostToken = null, listed = true, password = '' } = {}) {
    const frame = { type: 'join', room };
    if (hostToken) frame.host_token = hostToken;
    if (!listed) frame.listed = false;
    if (password) frame.password = password;
    return this.send(frame);
  }

  /** Speaks for member `id` again, whose connection dropped: `token` is its resume token. */
  resume(id, token, lastSeq) {
    return this.send({ type: 'resume', id, token, last_seq: lastSeq });
  }

  /** A host's: sets the meeting's password ('' for none). */
  password(password) {
    return this.send({ type: 'password', password: password || null });
  }

  /** A host's: turns the waiting room on or off. */
  waitingRoom(on) {
    return this.send({ type: 'waiting_room', on: Boolean(on) });
  }

  /** A host's: puts a member on everyone's stage (null: nobody). */
  spotlight(id) {
    return this.send({ type: 'spotlight', id });
  }

  /** A host's: lets in someone who waits. */
  admit(id) {
    return this.send({ type: 'admit', id });
  }

  /** A host's: turns away someone who waits. */
  deny(id) {
    return this.send({ type: 'deny', id });
  }

  /** A host's: puts the room on the room lists, or takes it off. */
  list(listed) {
    return this.send({ type: 'list', listed: Boolean(listed) });
  }

  /** A host's: locks the room to newcomers, or unlocks it. */
  lock(locked) {
    return this.send({ type: 'lock', locked: Boolean(locked) });
  }

  /** A host's: sends a member out of the room. */
  remove(id) {
    return this.send({ type: 'remove', id });
  }

  /** The host's: names a member co-host, or unnames it. */
  cohost(id, cohost) {
    return this.send({ type: 'cohost', id, cohost: Boolean(cohost) });
  }

  /** A host's: mutes a member's microphone for everyone. */
  mute(id) {
    return this.send({ type: 'mute', id });
  }

  /** A host's: mutes everyone but the hosts. */
  muteAll() {
    return this.send({ type: 'mute_all' });
  }

  /** A host's: asks a muted member to unmute. */
  askUnmute(id) {
    return this.send({ type: 'ask_unmute', id });
  }

  /** Raises this member's hand, or lowers it. */
  hand(raised) {
    return this.send({ type: 'hand', raised: Boolean(raised) });
  }

  /** A host's: lowers a member's hand. */
  lowerHand(id) {
    return this.send({ type: 'lower_hand', id });
  }

  /** Sends a reaction (one of the page's few emoji). */
  react(emoji) {
    return this.send({ type: 'react', emoji });
  }

  /** The host's: ends the meeting for everyone. */
  end() {
    return this.send({ type: 'end' });
  }

  /** Leaves the current room. */
  leave() {
    return this.send({ type: 'leave' });
  }

  /** Says something to the current room. */
  chat(text) {
    return this.send({ type: 'chat', text });
  }

  /** Sends a WebRTC offer (SDP text) to one member of the room. */
  offer(to, sdp) {
    return this.send({ type: 'offer', to, sdp });
  }

  /** Sends a WebRTC answer (SDP text) to one member of the room. */
  answer(to, sdp) {
    return this.send({ type: 'answer', to, sdp });
  }

  /** Sends an ICE candidate (an RTCIceCandidate or RTCIceCandidateInit) to one member. */
  candidate(to, candidate) {
    const init = typeof candidate?.toJSON === 'function' ? candidate.toJSON() : candidate;
    return this.send({ type: 'candidate', to, candidate: init });
  }

  /** SFU mode: offers this page's one connection to the server, and says what each track is. */
  sfuOffer(sdp, tracks) {
    return this.send({ type: 'sfu_offer', sdp, tracks });
  }

  /** SFU mode: how big each video slot is drawn. */
  view(slots) {
    return this.send({ type: 'view', slots });
  }

  /** Announces this connection's microphone, camera and screen state. */
  media(audio, video, screen = false) {
    const frame = { type: 'media', audio: Boolean(audio), video: Boolean(video) };
    if (screen) frame.screen = true;
    return this.send(frame);
  }

  #receive(data) {
    let frame;
    try {
      frame = JSON.parse(data);
    } catch (err) {
      console.warn('room: ignoring a frame that is not JSON', err);
      return;
    }
    if (frame === null || typeof frame !== 'object' || typeof frame.type !== 'string') {
      console.warn('room: ignoring a frame without a type', frame);
      return;
    }
    if (frame.type === 'welcome') {
      if (frame.version !== VERSION) {
        console.warn(`room: server speaks protocol v${frame.version}, this client v${VERSION}`);
      }
      this.id = frame.id;
      this.name = frame.name;
    } else if (frame.type === 'resumed') {
      this.id = frame.id;
      this.name = frame.name;
    } else if (frame.type === 'nickname' && frame.id === this.id) {
      this.name = frame.name;
    }
    this.#emit('frame', frame);
    this.#emit(frame.type, frame);
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
