// Room's protocol v1 on Node.js and the `ws` package: a benchmark peer, not a product.
//
// One file, written the way a Node app on `ws` is usually written: an `http` server for /healthz,
// a `WebSocketServer` on /ws, the state in plain Maps on the single event loop (no locks needed:
// one handler runs at a time, so every request's frames are sent before the next request is
// read). Each broadcast is encoded once and the same string goes to every recipient. What it
// leaves out (private rooms, rate limits, caps, pings, logs) is listed in README.md.

import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { WebSocketServer } from 'ws';

const { values: args } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: process.env.PORT ?? '3000' },
    'max-room-size': { type: 'string', default: '8' },
  },
});
const HOST = args.host;
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

// ---- Wire: parse a client frame, check names and texts ----------------------------------------

/** The fields of each client message and their JSON types (a Map: no `Object.prototype` lookups). */
const SHAPES = new Map([
  ['nickname', { name: 'string' }],
  ['join', { room: 'string' }],
  ['leave', {}],
  ['chat', { text: 'string' }],
  ['offer', { to: 'string', sdp: 'string' }],
  ['answer', { to: 'string', sdp: 'string' }],
  ['candidate', { to: 'string', candidate: 'object' }],
  ['media', { audio: 'boolean', video: 'boolean' }],
]);

/** Parses one text frame into a message, or returns `{ error: [code, message] }`. */
function parseFrame(text) {
  let msg;
  try {
    msg = JSON.parse(text);
  } catch (err) {
    return { error: ['bad_json', `not JSON: ${err.message}`] };
  }
  const bad = (why) => ({ error: ['bad_message', `not a protocol message: ${why}`] });
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
function checkCandidate(c) {
  if (c === null || Array.isArray(c) || typeof c.candidate !== 'string') return null;
  const out = { candidate: c.candidate };
  for (const [field, ok] of [
    ['sdpMid', (v) => typeof v === 'string'],
    ['sdpMLineIndex', (v) => Number.isInteger(v) && v >= 0 && v <= 65535],
    ['usernameFragment', (v) => typeof v === 'string'],
  ]) {
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

function trimWhiteSpace(s) {
  let start = 0;
  let end = s.length;
  while (start < end && WHITE_SPACE.test(s[start])) start++;
  while (end > start && WHITE_SPACE.test(s[end - 1])) end--;
  return s.slice(start, end);
}

/** True when `s` has more than `max` code points (Room counts characters, not UTF-16 units). */
function longerThan(s, max) {
  if (s.length <= max) return false;
  let n = 0;
  for (const _ of s) if (++n > max) return true;
  return false;
}

/** Trims and checks a nickname or room name; returns `{ name }` or `{ error }`. */
function checkName(raw, max, what) {
  const name = trimWhiteSpace(raw);
  if (name === '') return { error: `${what} must not be empty` };
  if (longerThan(name, max)) return { error: `${what} must be at most ${max} characters` };
  if (CONTROL.test(name)) return { error: `${what} must not contain control characters` };
  return { name };
}

function checkText(text) {
  if (trimWhiteSpace(text) === '') return 'chat text must not be blank';
  if (longerThan(text, TEXT_MAX)) return `chat text must be at most ${TEXT_MAX} characters`;
  if (CONTROL_IN_TEXT.test(text)) {
    return 'chat text must not contain control characters other than newline and tab';
  }
  return null;
}

/** Code point order (Room's sort), not JS's UTF-16 order: map units so surrogates sort last. */
function byCodePoint(a, b) {
  const fix = (u) => (u < 0xd800 ? u : u >= 0xe000 ? u - 0x800 : u + 0x2000);
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
const peers = new Set();
/** Rooms by trimmed name; a room exists while it has members. `members` is in join order. */
const rooms = new Map();
/** The connections in no room: the only ones told of room changes. */
const lobby = new Set();
let lastId = 0;

const peerInfo = (p) => ({ id: p.id, name: p.name, audio: p.audio, video: p.video });
const roomList = () =>
  [...rooms.values()]
    .map((r) => ({ name: r.name, count: r.members.size }))
    .sort((a, b) => byCodePoint(a.name, b.name));

const send = (peer, frame) => peer.socket.send(JSON.stringify(frame));

/** Sends one frame to many peers, encoded once. */
function sendAll(targets, frame) {
  const text = JSON.stringify(frame);
  for (const peer of targets) peer.socket.send(text);
}

const sendError = (peer, code, message) => send(peer, { type: 'error', code, message });
/** Tells the lobby one room's new member count (0: the room is gone). */
const roomChanged = (room) =>
  sendAll(lobby, { type: 'room', name: room.name, count: room.members.size });
/** The sender and its room, or the sender alone when it is in no room. */
const audience = (peer) => (peer.room ? peer.room.members.values() : [peer]);

/** Takes `peer` out of its room and tells those who stay; the caller tells the lobby. */
function leaveRoom(peer) {
  const room = peer.room;
  room.members.delete(peer.id);
  peer.room = null;
  if (room.members.size === 0) rooms.delete(room.name);
  else sendAll(room.members.values(), { type: 'peer_left', id: peer.id });
  return room;
}

function joinedFrame(peer, room) {
  const others = [...room.members.values()].filter((p) => p !== peer).map(peerInfo);
  return { type: 'joined', room: room.name, peers: others, history: room.history };
}

// ---- Requests ---------------------------------------------------------------------------------

const handlers = {
  nickname(peer, { name: raw }) {
    const { name, error } = checkName(raw, NICKNAME_MAX, 'nickname');
    if (error) return sendError(peer, 'invalid_nickname', error);
    peer.name = name;
    sendAll(audience(peer), { type: 'nickname', id: peer.id, name });
  },

  join(peer, { room: raw }) {
    let { name, error } = checkName(raw, ROOM_NAME_MAX, 'room name');
    if (!error && (name === '.' || name === '..')) error = 'room name must not be . or ..';
    if (error) return sendError(peer, 'invalid_room', error);
    if (peer.room?.name === name) return send(peer, joinedFrame(peer, peer.room));
    let room = rooms.get(name);
    if (room && room.members.size >= MAX_ROOM_SIZE) {
      const members = MAX_ROOM_SIZE === 1 ? 'member' : 'members';
      return sendError(peer, 'room_full', `room is full (${MAX_ROOM_SIZE} ${members})`);
    }
    const old = peer.room && leaveRoom(peer);
    if (old) send(peer, { type: 'left', room: old.name });
    if (!room) {
      room = { name, members: new Map(), seq: 0, history: [] };
      rooms.set(name, room);
    }
    sendAll(room.members.values(), { type: 'peer_joined', peer: peerInfo(peer) });
    room.members.set(peer.id, peer);
    peer.room = room;
    lobby.delete(peer);
    send(peer, joinedFrame(peer, room));
    if (old) roomChanged(old);
    roomChanged(room);
  },

  leave(peer) {
    if (!peer.room) return sendError(peer, 'not_in_room', 'not in a room');
    const old = leaveRoom(peer);
    roomChanged(old);
    send(peer, { type: 'left', room: old.name });
    // Back in the lobby: it heard no room changes meanwhile, so it gets the whole list.
    lobby.add(peer);
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
    sendAll(room.members.values(), { type: 'chat', ...entry });
  },

  offer: (peer, msg) => relay(peer, msg, { type: 'offer', from: peer.id, sdp: msg.sdp }),
  answer: (peer, msg) => relay(peer, msg, { type: 'answer', from: peer.id, sdp: msg.sdp }),
  candidate: (peer, msg) =>
    relay(peer, msg, { type: 'candidate', from: peer.id, candidate: msg.candidate }),

  media(peer, { audio, video }) {
    peer.audio = audio;
    peer.video = video;
    sendAll(audience(peer), { type: 'media', id: peer.id, audio, video });
  },
};

/** Passes a signalling frame to one other member of the sender's room. */
function relay(peer, { to }, frame) {
  if (!peer.room) return sendError(peer, 'not_in_room', 'join a room to call its members');
  const target = peer.room.members.get(to);
  if (!target || target === peer) {
    return sendError(peer, 'unknown_peer', `no other member ${JSON.stringify(to)} in this room`);
  }
  send(target, frame);
}

/** The end of a connection, for whatever reason: like `leave`, minus the `left`. Idempotent. */
function disconnect(peer) {
  if (!peers.delete(peer)) return;
  lobby.delete(peer);
  if (peer.room) roomChanged(leaveRoom(peer));
}

// ---- Edges: HTTP and WebSocket ----------------------------------------------------------------

const server = createServer((req, res) => {
  const path = req.url.split('?', 1)[0];
  if (path === '/healthz' && req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'ok', connections: peers.size, rooms: rooms.size }));
  } else if (path === '/ws') {
    res.writeHead(426, { upgrade: 'websocket', 'sec-websocket-version': '13' });
    res.end('This is a WebSocket endpoint: connect with a WebSocket client (ws://).\n');
  } else {
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
  }
});

const wss = new WebSocketServer({
  server,
  path: '/ws',
  maxPayload: MAX_PAYLOAD, // over it, ws closes with 1009 like Room
  perMessageDeflate: false, // the default, said out loud: Room has no compression either
  clientTracking: false, // `peers` is the list of connections
});

wss.on('connection', (socket) => {
  const n = ++lastId;
  const peer = { id: `p${n}`, name: `Guest ${n}`, audio: false, video: false, room: null, socket };
  peers.add(peer);
  lobby.add(peer);
  send(peer, { type: 'welcome', id: peer.id, name: peer.name, version: 1, rooms: roomList() });

  socket.on('message', (data, isBinary) => {
    if (!peers.has(peer)) return; // the server is closing this one: frames have no effect
    if (isBinary) {
      disconnect(peer);
      return socket.close(1003, 'binary frames are not supported');
    }
    const { msg, error } = parseFrame(data.toString());
    if (error) return sendError(peer, ...error);
    handlers[msg.type](peer, msg);
  });
  // ws reports a broken frame (1002, 1007, 1009) here and closes the socket itself.
  socket.on('error', () => disconnect(peer));
  socket.on('close', () => disconnect(peer));
});

server.listen(PORT, HOST, () => {
  const { port } = server.address();
  const host = HOST.includes(':') ? `[${HOST}]` : HOST;
  console.log(`listening on http://${host}:${port}`);
});
