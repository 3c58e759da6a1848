// session.js: one person's session with the server, across connections. No DOM here.
//
// A Session owns the current Connection (protocol.js) and replaces it when it drops: it waits
// 0.5 s, 1 s, 2 s ... up to 8 s (each ±25 %) and connects again, and if the person asked to be
// in the room it joins again under the name they chose. Every server frame is re-emitted as an
// event of its `type`, with the frame as `detail`, from whichever connection is current; a
// replaced connection is never heard from again.
//
// Other events: 'open' (a connection opened), 'reconnecting' { delayMs } (the connection
// dropped; another is coming), 'frame' (every frame).

import { Connection } from './protocol.js';

/** Reconnecting waits this long at first... */
export const RECONNECT_MIN_MS = 500;
/** ...doubling up to this. */
export const RECONNECT_MAX_MS = 8000;

/** The wait before the `attempt`-th reconnection (0 first), with ±25 % jitter from `random`. */
export function reconnectDelay(attempt, random = Math.random) {
  const delay = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** attempt);
  return Math.round(delay * (0.75 + random() * 0.5));
}

/** The frame types a session passes on. */
const FRAMES = [
  'welcome', 'rooms', 'room', 'joined', 'left', 'peer_joined', 'peer_left', 'nickname', 'chat',
  'media', 'offer', 'answer', 'candidate', 'sfu_answer', 'slots', 'assign', 'speaking', 'hosts',
  'host_token', 'locked', 'listed', 'removed', 'ended', 'muted', 'unmute_asked', 'hands',
  'reaction', 'protected', 'waiting_room', 'waiting', 'knocking', 'denied', 'spotlight', 'error',
];

export class Session extends EventTarget {
  /** @type {Connection | null} */
  #conn = null;
  #attempt = 0;
  #timer = 0;
  #closed = false;
  #connect;

  /** The room to be in while `wantInRoom`, and the nickname to have there ('' for none). */
  room;
  name = '';
  /** Whether the person asked to be in the room, so a new connection joins again. */
  wantInRoom = false;
  /** The room's host token, if this person hosts it: every join carries it. */
  hostToken = null;
  /** Whether a room this person's join makes is listed (false for a new meeting). */
  listed = true;
  /** The meeting's password, as the person typed it ('' for none). */
  password = '';

  /** @param {string} room @param {() => Connection} connect opens a connection (tests pass one) */
  constructor(room, connect = () => new Connection()) {
    super();
    this.room = room;
    this.#connect = connect;
  }

  /** This connection's id and nickname, once its `welcome` came. */
  get id() {
    return this.#conn?.id ?? null;
  }

  get serverName() {
    return this.#conn?.name ?? null;
  }

  /** Whether frames can be sent now. */
  get isOpen() {
    return Boolean(this.#conn?.isOpen);
  }

  /** Opens the first connection. */
  start() {
    this.#open();
  }

  /** Reconnects now rather than when the wait is over. */
  reconnectNow() {
    clearTimeout(this.#timer);
    this.#open();
  }

  /** Asks to be in the room as `name` ('' keeps the server's guest name). */
  enter(name) {
    this.name = name;
    this.wantInRoom = true;
    this.#join();
  }

  /** Stops wanting to be in the room (after a refused join, say). */
  stayOut() {
    this.wantInRoom = false;
  }

  /** Leaves the room and closes for good: nothing reconnects after this. */
  close() {
    this.#closed = true;
    this.wantInRoom = false;
    clearTimeout(this.#timer);
    if (this.#conn) {
      this.#conn.leave();
      this.#conn.close();
    }
  }

  nickname(name) {
    return this.#conn?.nickname(name) ?? false;
  }

  chat(text) {
    return this.#conn?.chat(text) ?? false;
  }

  media(audio, video) {
    return this.#conn?.media(audio, video) ?? false;
  }

  offer(to, sdp) {
    return this.#conn?.offer(to, sdp) ?? false;
  }

  answer(to, sdp) {
    return this.#conn?.answer(to, sdp) ?? false;
  }

  candidate(to, candidate) {
    return this.#conn?.candidate(to, candidate) ?? false;
  }

  sfuOffer(sdp, tracks) {
    return this.#conn?.sfuOffer(sdp, tracks) ?? false;
  }

  view(slots) {
    return this.#conn?.view(slots) ?? false;
  }

  lock(locked) {
    return this.#conn?.lock(locked) ?? false;
  }

  remove(id) {
    return this.#conn?.remove(id) ?? false;
  }

  cohost(id, cohost) {
    return this.#conn?.cohost(id, cohost) ?? false;
  }

  end() {
    return this.#conn?.end() ?? false;
  }

  list(listed) {
    return this.#conn?.list(listed) ?? false;
  }

  setPassword(password) {
    return this.#conn?.password(password) ?? false;
  }

  waitingRoom(on) {
    return this.#conn?.waitingRoom(on) ?? false;
  }

  admit(id) {
    return this.#conn?.admit(id) ?? false;
  }

  spotlight(id) {
    return this.#conn?.spotlight(id) ?? false;
  }

  deny(id) {
    return this.#conn?.deny(id) ?? false;
  }

  mute(id) {
    return this.#conn?.mute(id) ?? false;
  }

  hand(raised) {
    return this.#conn?.hand(raised) ?? false;
  }

  lowerHand(id) {
    return this.#conn?.lowerHand(id) ?? false;
  }

  react(emoji) {
    return this.#conn?.react(emoji) ?? false;
  }

  muteAll() {
    return this.#conn?.muteAll() ?? false;
  }

  askUnmute(id) {
    return this.#conn?.askUnmute(id) ?? false;
  }

  #open() {
    if (this.#closed) return;
    const conn = this.#connect();
    this.#conn = conn;
    const mine = (handle) => (ev) => {
      if (conn === this.#conn) handle(ev.detail);
    };
    conn.addEventListener('open', mine(() => this.#emit('open', null)));
    conn.addEventListener('close', mine(() => this.#dropped()));
    conn.addEventListener('welcome', mine(() => {
      this.#attempt = 0;
      if (this.wantInRoom) this.#join();
    }));
    for (const type of FRAMES) {
      conn.addEventListener(type, mine((frame) => this.#emit(type, frame)));
    }
  }

  #join() {
    if (!this.#conn?.isOpen) return;
    if (this.name && this.name !== this.#conn.name) this.#conn.nickname(this.name);
    this.#conn.join(this.room, {
      hostToken: this.hostToken,
      listed: this.listed,
      password: this.password,
    });
  }

  #dropped() {
    if (this.#closed) return;
    const delayMs = reconnectDelay(this.#attempt);
    this.#attempt += 1;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#open(), delayMs);
    this.#emit('reconnecting', { delayMs });
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
