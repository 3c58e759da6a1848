// session.js: one person's session with the server, across connections. No DOM here.
//
// A Session owns the current Connection (protocol.js) and replaces it when it drops: it waits
// 0.5 s, 1 s, 2 s ... up to 8 s (each ±25 %) and connects again. If the person was in the room
// it first tries to resume its place there (`resume` with the token of its last `joined` and
// the last chat `seq` it has): the server answers `resumed`, and the page carries on as the
// same member, its calls untouched. If that fails (the server restarted, or the grace ran
// out) it says 'resume-failed', passes the new connection's `welcome` on, and joins again
// under the name the person chose. Every server frame is re-emitted as an event of its `type`,
// with the frame as `detail`, from whichever connection is current; a replaced connection is
// never heard from again.
//
// Other events: 'open' (a connection opened), 'reconnecting' { delayMs, resuming } (the
// connection dropped; another is coming, and will try to resume), 'resume-failed', 'frame'
// (every frame).

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
  'resumed', 'rooms', 'room', 'joined', 'left', 'peer_joined', 'peer_left', 'nickname', 'chat',
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
  /** How to come back as the same member: { id, token, lastSeq }, while in the room. */
  #resume = null;
  /** The held `welcome` of a connection that is resuming, or null. */
  #resuming = null;
  /**
   * Whether the current connection speaks for this person: it was welcomed and, if it is
   * resuming, resumed. Until then nothing is sent on it (an offer sent before the resume would
   * come from a stranger in no room); the senders say so by returning false.
   */
  #ready = false;

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

  /** Whether a dropped connection will try to come back as the same member. */
  get canResume() {
    return this.wantInRoom && this.#resume !== null;
  }

  /** Whether frames can be sent now. */
  get isOpen() {
    return this.#ready && Boolean(this.#conn?.isOpen);
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
    this.#resume = null;
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
    return this.#ready ? this.#conn.nickname(name) : false;
  }

  chat(text) {
    return this.#ready ? this.#conn.chat(text) : false;
  }

  media(audio, video, screen) {
    return this.#ready ? this.#conn.media(audio, video, screen) : false;
  }

  offer(to, sdp) {
    return this.#ready ? this.#conn.offer(to, sdp) : false;
  }

  answer(to, sdp) {
    return this.#ready ? this.#conn.answer(to, sdp) : false;
  }

  candidate(to, candidate) {
    return this.#ready ? this.#conn.candidate(to, candidate) : false;
  }

  sfuOffer(sdp, tracks) {
    return this.#ready ? this.#conn.sfuOffer(sdp, tracks) : false;
  }

  view(slots) {
    return this.#ready ? this.#conn.view(slots) : false;
  }

  lock(locked) {
    return this.#ready ? this.#conn.lock(locked) : false;
  }

  remove(id) {
    return this.#ready ? this.#conn.remove(id) : false;
  }

  cohost(id, cohost) {
    return this.#ready ? this.#conn.cohost(id, cohost) : false;
  }

  end() {
    return this.#ready ? this.#conn.end() : false;
  }

  list(listed) {
    return this.#ready ? this.#conn.list(listed) : false;
  }

  setPassword(password) {
    return this.#ready ? this.#conn.password(password) : false;
  }

  waitingRoom(on) {
    return this.#ready ? this.#conn.waitingRoom(on) : false;
  }

  admit(id) {
    return this.#ready ? this.#conn.admit(id) : false;
  }

  spotlight(id) {
    return this.#ready ? this.#conn.spotlight(id) : false;
  }

  deny(id) {
    return this.#ready ? this.#conn.deny(id) : false;
  }

  mute(id) {
    return this.#ready ? this.#conn.mute(id) : false;
  }

  hand(raised) {
    return this.#ready ? this.#conn.hand(raised) : false;
  }

  lowerHand(id) {
    return this.#ready ? this.#conn.lowerHand(id) : false;
  }

  react(emoji) {
    return this.#ready ? this.#conn.react(emoji) : false;
  }

  muteAll() {
    return this.#ready ? this.#conn.muteAll() : false;
  }

  askUnmute(id) {
    return this.#ready ? this.#conn.askUnmute(id) : false;
  }

  #open() {
    if (this.#closed) return;
    const conn = this.#connect();
    this.#conn = conn;
    this.#ready = false;
    const mine = (handle) => (ev) => {
      if (conn === this.#conn) handle(ev.detail);
    };
    conn.addEventListener('open', mine(() => this.#emit('open', null)));
    conn.addEventListener('close', mine(() => this.#dropped()));
    conn.addEventListener('welcome', mine((frame) => this.#welcomed(frame)));
    conn.addEventListener('joined', mine((frame) => {
      this.#resume = frame.resume_token
        ? { id: conn.id, token: frame.resume_token, lastSeq: lastSeq(frame.history, 0) }
        : null;
    }));
    conn.addEventListener('resumed', mine((frame) => {
      this.#resuming = null;
      this.#ready = true;
      if (this.#resume) this.#resume.lastSeq = lastSeq(frame.history, this.#resume.lastSeq);
    }));
    conn.addEventListener('chat', mine((frame) => {
      if (this.#resume) this.#resume.lastSeq = Math.max(this.#resume.lastSeq, frame.seq ?? 0);
    }));
    for (const type of ['left', 'removed', 'ended', 'denied']) {
      conn.addEventListener(type, mine(() => {
        this.#resume = null;
      }));
    }
    conn.addEventListener('error', mine((frame) => {
      if (frame.code === 'resume_failed' && this.#resuming) this.#resumeFailed();
    }));
    for (const type of FRAMES) {
      conn.addEventListener(type, mine((frame) => {
        if (type === 'error' && frame.code === 'resume_failed') return;
        this.#emit(type, frame);
      }));
    }
  }

  /** A connection's greeting: resume the member it was, join again, or just pass it on. */
  #welcomed(frame) {
    this.#attempt = 0;
    if (this.canResume) {
      this.#resuming = frame;
      const { id, token, lastSeq: seq } = this.#resume;
      this.#conn.resume(id, token, seq);
      return;
    }
    this.#ready = true;
    this.#emit('welcome', frame);
    if (this.wantInRoom) this.#join();
  }

  /** The server has no place to resume: start afresh, as after a new page load. */
  #resumeFailed() {
    const welcome = this.#resuming;
    this.#resuming = null;
    this.#resume = null;
    this.#ready = true;
    this.#emit('resume-failed', null);
    this.#emit('welcome', welcome);
    if (this.wantInRoom) this.#join();
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
    this.#resuming = null;
    this.#timer = setTimeout(() => this.#open(), delayMs);
    this.#emit('reconnecting', { delayMs, resuming: this.canResume });
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

/** The highest `seq` among chat `entries`, or `since` if none is higher. */
function lastSeq(entries, since) {
  return (entries ?? []).reduce((last, entry) => Math.max(last, entry.seq ?? 0), since);
}
