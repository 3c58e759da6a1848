// Room's protocol v1 on Bun's built-in WebSocket server (Bun.serve, uWebSockets underneath):
// a benchmark peer, not a product.
//
// Written the way a Bun app is usually written: one `Bun.serve` with `fetch` for HTTP and a
// `websocket` handler, and Bun's pub/sub for fan-out. A connection in no room subscribes to the
// topic `lobby` (room count updates) and, while in a room, to `room:<name>` instead; a broadcast is one
// `server.publish`, which encodes nothing per subscriber. `server.publish` reaches every
// subscriber, the sender included (Room's chat does too); `ws.publish` skips the sender, which is
// what `peer_joined` wants. The state lives in plain Maps on the single JS thread, so every
// request's frames are queued before the next request is read. What it leaves out (private rooms,
// rate limits, caps, logs) is listed in README.md.

import type { ServerWebSocket } from 'bun';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: process.env.PORT ?? '3000' },
    'max-room-size': { type: 'string', default: '8' },
  },
});
const HOST = args.host!;
const PORT = Number(args.port);
const MAX_ROOM_SIZE = Number(args['max-room-size']);
if (!Number.isInteger(PORT) || PORT < 0 || PORT > 65535) throw new Error(`bad --port ${args.port}`);
if (!Number.isInteger(MAX_ROOM_SIZE) || MAX_ROOM_SIZE < 1) {
  throw new Error(`bad --max-room-size ${args['max-room-size']}`);
}

/** Room's limits (PROTOCOL.md section 10). */
const MAX_PAYLOAD = 64 * 1024;
const NICKNAME_MAX = 32;
const ROOM_NAME_MAX = 64;
const TEXT_MAX = 2000;
const HISTORY = 50;
/**
 * Bytes Bun may buffer for one slow reader. Past it, uWS drops frames silently unless told to
 * close; a benchmark must never lose frames quietly, so we close instead. 16 MiB (Bun's default,
 * 16x Room's 1 MiB queue) is far above what the load scenarios queue for a client that reads.
 */
const BACKPRESSURE_LIMIT = 16 * 1024 * 1024;
const LOBBY = 'lobby';
const topic = (room: Room) => `room:${room.name}`;

type Peer = {
  id: string;
  name: string;
  audio: boolean;
  video: boolean;
  room: Room | null;
  ws: ServerWebSocket<Data>;
};
type Data = { peer?: Peer };
type Room = { name: string; members: Map<string, Peer>; seq: number; history: ChatEntry[] };
type ChatEntry = { seq: number; from: string; name: string; text: string; ts: number };
type Msg = Record<string, any> & { type: string };

// ---- Wire: parse a client frame, check names and texts ----------------------------------------

/** The fields of each client message and their JSON types (a Map: no `Object.prototype` lookups). */
const SHAPES = new Map<string, Record<string, string>>([
  ['nickname', { name: 'string' }],
  ['join', { room: 'string' }],
  ['leave', {}],
  ['chat', { text: 'string' }],
  ['offer', { to: 'string', sdp: 'string' }],
  ['answer', { to: 'string', sdp: 'string' }],
  ['candidate', { to: 'string', candidate: 'object' }],
  ['media', { audio: 'boolean', video: 'boolean' }],
]);

/** Parses one text frame into a message, or returns an error code and message. */
function parseFrame(text: string): { msg: Msg } | { error: [string, string] } {
  let msg;
  try {
    msg = JSON.parse(text);
  } catch (err) {
    return { error: ['bad_json', `not JSON: ${(err as Error).message}`] };
  }
  const bad = (why: string) => ({
    error: ['bad_message', `not a protocol message: ${why}`] as [string, string],
  });
  if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) return bad('expected an object');
  if (typeof msg.type !== 'string') return bad('missing field `type`');
  const shape = SHAPES.get(msg.type);
  if (!shape) return bad(`unknown variant \`${msg.type}\``);
  for (const [field, kind] of Object.entries(shape)) {
    if (msg[field] === undefined) return bad(`missing field \`${field}\``);
    if (typeof msg[field] !== kind) return bad(`invalid type for \`${field}\`, expected ${kind}`);
  }
  if (msg.type === 'candidate') {
    msg.candidate = checkCandidate(msg.candidate);
    if (!msg.candidate) return bad('candidate must be an RTCIceCandidateInit object');
  }
  return { msg };
}

/** An RTCIceCandidateInit as Room relays it: known fields only, absent and null ones left out. */
function checkCandidate(c: any): Record<string, unknown> | null {
  if (c === null || Array.isArray(c) || typeof c.candidate !== 'string') return null;
  const out: Record<string, unknown> = { candidate: c.candidate };
  for (const [field, ok] of [
    ['sdpMid', (v: unknown) => typeof v === 'string'],
    ['sdpMLineIndex', (v: unknown) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 65535],
    ['usernameFragment', (v: unknown) => typeof v === 'string'],
  ] as const) {
    const value = c[field];
    if (value === undefined || value === null) continue;
    if (!ok(value)) return null;
    out[field] = value;
  }
  return out;
}

// Unicode White_Space (what Rust's `str::trim` removes; JS `trim` differs on U+0085 and U+FEFF).
// Every White_Space character is in the BMP, so testing UTF-16 units one by one is exact.
const WHITE_SPACE = /\p{White_Space}/u;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
/** Control characters other than tab (U+0009) and newline (U+000A), refused in chat. */
const CONTROL_IN_TEXT = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

function trimWhiteSpace(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && WHITE_SPACE.test(s[start])) start++;
  while (end > start && WHITE_SPACE.test(s[end - 1])) end--;
  return s.slice(start, end);
}

/** True when `s` has more than `max` code points (Room counts characters, not UTF-16 units). */
function longerThan(s: string, max: number): boolean {
  if (s.length <= max) return false;
  let n = 0;
  for (const _ of s) if (++n > max) return true;
  return false;
}

/** Trims and checks a nickname or room name. */
type Checked = { name: string; error?: undefined } | { error: string };
function checkName(raw: string, max: number, what: string): Checked {
  const name = trimWhiteSpace(raw);
  if (name === '') return { error: `${what} must not be empty` };
  if (longerThan(name, max)) return { error: `${what} must be at most ${max} characters` };
  if (CONTROL.test(name)) return { error: `${what} must not contain control characters` };
  return { name };
}

function checkText(text: string): string | null {
  if (trimWhiteSpace(text) === '') return 'chat text must not be blank';
  if (longerThan(text, TEXT_MAX)) return `chat text must be at most ${TEXT_MAX} characters`;
  if (CONTROL_IN_TEXT.test(text)) {
    return 'chat text must not contain control characters other than newline and tab';
  }
  return null;
}

/** Code point order (Room's sort), not JS's UTF-16 order: map units so surrogates sort last. */
function byCodePoint(a: string, b: string): number {
  const fix = (u: number) => (u < 0xd800 ? u : u >= 0xe000 ? u - 0x800 : u + 0x2000);
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return fix(x) - fix(y);
  }
  return a.length - b.length;
}

// ---- State: connections and rooms -------------------------------------------------------------

/** Every open connection (a peer leaves this set as soon as the server is done with it). */
const peers = new Set<Peer>();
/** Rooms by trimmed name; a room exists while it has members. `members` is in join order. */
const rooms = new Map<string, Room>();
let lastId = 0;

const peerInfo = (p: Peer) => ({ id: p.id, name: p.name, audio: p.audio, video: p.video });
const roomList = () =>
  [...rooms.values()]
    .map((r) => ({ name: r.name, count: r.members.size }))
    .sort((a, b) => byCodePoint(a.name, b.name));

const send = (peer: Peer, frame: object) => peer.ws.send(JSON.stringify(frame));
const sendError = (peer: Peer, code: string, message: string) =>
  send(peer, { type: 'error', code, message });
/** Tells the lobby one room's new member count (0: the room is gone). */
const roomChanged = (room: Room) =>
  server.publish(LOBBY, JSON.stringify({ type: 'room', name: room.name, count: room.members.size }));

/** To the sender and its room, or to the sender alone when it is in no room. */
function toAudience(peer: Peer, frame: object) {
  if (peer.room) server.publish(topic(peer.room), JSON.stringify(frame));
  else send(peer, frame);
}

/** Takes `peer` out of its room and tells those who stay; the caller tells the lobby. */
function leaveRoom(peer: Peer, open: boolean): Room {
  const room = peer.room!;
  if (open) peer.ws.unsubscribe(topic(room)); // a closed socket has lost its topics already
  room.members.delete(peer.id);
  peer.room = null;
  if (room.members.size === 0) rooms.delete(room.name);
  else server.publish(topic(room), JSON.stringify({ type: 'peer_left', id: peer.id }));
  return room;
}

function joinedFrame(peer: Peer, room: Room) {
  const others = [...room.members.values()].filter((p) => p !== peer).map(peerInfo);
  return { type: 'joined', room: room.name, peers: others, history: room.history };
}

// ---- Requests ---------------------------------------------------------------------------------

const handlers: Record<string, (peer: Peer, msg: Msg) => void> = {
  nickname(peer, { name: raw }) {
    const checked = checkName(raw, NICKNAME_MAX, 'nickname');
    if (checked.error !== undefined) return sendError(peer, 'invalid_nickname', checked.error);
    peer.name = checked.name;
    toAudience(peer, { type: 'nickname', id: peer.id, name: peer.name });
  },

  join(peer, { room: raw }) {
    const checked = checkName(raw, ROOM_NAME_MAX, 'room name');
    if (checked.error !== undefined) return sendError(peer, 'invalid_room', checked.error);
    const name = checked.name;
    if (name === '.' || name === '..') {
      return sendError(peer, 'invalid_room', 'room name must not be . or ..');
    }
    if (peer.room?.name === name) return send(peer, joinedFrame(peer, peer.room));
    let room = rooms.get(name);
    if (room && room.members.size >= MAX_ROOM_SIZE) {
      const members = MAX_ROOM_SIZE === 1 ? 'member' : 'members';
      return sendError(peer, 'room_full', `room is full (${MAX_ROOM_SIZE} ${members})`);
    }
    const old = peer.room && leaveRoom(peer, true);
    if (old) send(peer, { type: 'left', room: old.name });
    if (!room) {
      room = { name, members: new Map(), seq: 0, history: [] };
      rooms.set(name, room);
    }
    peer.ws.unsubscribe(LOBBY);
    peer.ws.subscribe(topic(room));
    peer.ws.publish(topic(room), JSON.stringify({ type: 'peer_joined', peer: peerInfo(peer) }));
    room.members.set(peer.id, peer);
    peer.room = room;
    send(peer, joinedFrame(peer, room));
    if (old) roomChanged(old);
    roomChanged(room);
  },

  leave(peer) {
    if (!peer.room) return sendError(peer, 'not_in_room', 'not in a room');
    const old = leaveRoom(peer, true);
    roomChanged(old);
    send(peer, { type: 'left', room: old.name });
    // Back in the lobby: it heard no room changes meanwhile, so it gets the whole list.
    peer.ws.subscribe(LOBBY);
    send(peer, { type: 'rooms', rooms: roomList() });
  },

  chat(peer, { text }) {
    const room = peer.room;
    if (!room) return sendError(peer, 'not_in_room', 'join a room to chat');
    const error = checkText(text);
    if (error) return sendError(peer, 'invalid_text', error);
    const entry = { seq: ++room.seq, from: peer.id, name: peer.name, text, ts: Date.now() };
    room.history.push(entry);
    if (room.history.length > HISTORY) room.history.shift();
    server.publish(topic(room), JSON.stringify({ type: 'chat', ...entry }));
  },

  offer: (peer, msg) => relay(peer, msg, { type: 'offer', from: peer.id, sdp: msg.sdp }),
  answer: (peer, msg) => relay(peer, msg, { type: 'answer', from: peer.id, sdp: msg.sdp }),
  candidate: (peer, msg) =>
    relay(peer, msg, { type: 'candidate', from: peer.id, candidate: msg.candidate }),

  media(peer, { audio, video }) {
    peer.audio = audio;
    peer.video = video;
    toAudience(peer, { type: 'media', id: peer.id, audio, video });
  },
};

/** Passes a signalling frame to one other member of the sender's room. */
function relay(peer: Peer, { to }: Msg, frame: object) {
  if (!peer.room) return sendError(peer, 'not_in_room', 'join a room to call its members');
  const target = peer.room.members.get(to);
  if (!target || target === peer) {
    return sendError(peer, 'unknown_peer', `no other member ${JSON.stringify(to)} in this room`);
  }
  send(target, frame);
}

/** The end of a connection, for whatever reason: like `leave`, minus the `left`. Idempotent. */
function disconnect(peer: Peer, open: boolean) {
  if (!peers.delete(peer)) return;
  if (open) peer.ws.unsubscribe(LOBBY);
  if (peer.room) roomChanged(leaveRoom(peer, open));
}

// ---- Edges: HTTP and WebSocket ----------------------------------------------------------------

const server = Bun.serve<Data>({
  hostname: HOST,
  port: PORT,
  fetch(req, server) {
    const { pathname } = new URL(req.url);
    if (pathname === '/ws') {
      if (server.upgrade(req, { data: {} })) return;
      return new Response('This is a WebSocket endpoint: connect with a WebSocket client (ws://).\n', {
        status: 426,
        headers: { upgrade: 'websocket', 'sec-websocket-version': '13' },
      });
    }
    if (pathname === '/healthz' && req.method === 'GET') {
      return Response.json({ status: 'ok', connections: peers.size, rooms: rooms.size });
    }
    return new Response('not found\n', { status: 404 });
  },
  websocket: {
    maxPayloadLength: MAX_PAYLOAD, // over it, the socket is closed with 1009 like Room
    perMessageDeflate: false, // Room has no compression either
    backpressureLimit: BACKPRESSURE_LIMIT,
    closeOnBackpressureLimit: true,
    // idleTimeout (120 s) and sendPings stay at Bun's defaults: clients answer pings by themselves.

    open(ws) {
      const n = ++lastId;
      const peer: Peer = { id: `p${n}`, name: `Guest ${n}`, audio: false, video: false, room: null, ws };
      ws.data.peer = peer;
      peers.add(peer);
      ws.subscribe(LOBBY);
      send(peer, { type: 'welcome', id: peer.id, name: peer.name, version: 1, rooms: roomList() });
    },

    message(ws, data) {
      const peer = ws.data.peer!;
      if (!peers.has(peer)) return; // the server is closing this one: frames have no effect
      if (typeof data !== 'string') {
        disconnect(peer, true);
        return ws.close(1003, 'binary frames are not supported');
      }
      const parsed = parseFrame(data);
      if ('error' in parsed) return sendError(peer, ...parsed.error);
      handlers[parsed.msg.type](peer, parsed.msg);
    },

    close(ws) {
      disconnect(ws.data.peer!, false);
    },
  },
});

const host = HOST.includes(':') ? `[${HOST}]` : HOST;
console.log(`listening on http://${host}:${server.port}`);
