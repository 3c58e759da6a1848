// A quick conformance check of protocol v1 for any server that speaks it: Room or a benchmark
// peer. Three clients join, chat, call, switch rooms, leave and drop, a fourth is refused, and a
// lobby client (L) stays in no room throughout and watches the `room` updates that all of this
// causes. Every frame each of them gets is checked in order, and a barrier (a plain-text frame,
// answered `bad_json` to its sender alone) proves that nothing unexpected arrived in between:
// that is how the check knows members of a room get no `room` updates at all.
//
// Start the server with a room size of 3, then point this at it:
//
//   node server.mjs --port 3000 --max-room-size 3                     (bench/peers/node-ws)
//   node_modules/.bin/bun server.ts --port 3000 --max-room-size 3     (bench/peers/bun)
//   cargo run --release -- --port 3000 --max-room-size 3              (Room)
//
//   node --experimental-websocket bench/peers/check.mjs http://127.0.0.1:3000
//
// (Node 22 and Bun have WebSocket built in and need no flag.) It prints one line per step and
// exits 1 on the first frame that is not what PROTOCOL.md says.

import assert from 'node:assert/strict';

const BASE = (process.argv[2] ?? 'http://127.0.0.1:3000').replace(/\/$/, '');
const WAIT_MS = 5000;
const CHATS_EACH = 20;

/** A protocol client that queues what it receives and hands frames out one at a time. */
async function connect(label) {
  const ws = new WebSocket(`${BASE.replace(/^http/, 'ws')}/ws`);
  const queue = [];
  const waiters = [];
  const closed = new Promise((resolve) => ws.addEventListener('close', (e) => resolve(e)));
  ws.addEventListener('message', (e) => {
    const frame = JSON.parse(e.data);
    if (waiters.length) waiters.shift()(frame);
    else queue.push(frame);
  });
  await new Promise((resolve, reject) => {
    ws.addEventListener('open', resolve, { once: true });
    ws.addEventListener('error', () => reject(new Error(`${label} could not connect`)), { once: true });
  });
  const client = {
    label,
    ws,
    closed,
    send: (frame) => ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
    next() {
      if (queue.length) return Promise.resolve(queue.shift());
      return new Promise((resolve, reject) => {
        const fail = () => reject(new Error(`${label}: no frame within ${WAIT_MS} ms`));
        const timer = setTimeout(fail, WAIT_MS);
        waiters.push((frame) => {
          clearTimeout(timer);
          resolve(frame);
        });
      });
    },
    /** The next frame must be `expected` exactly (`ts` is checked for shape, then ignored). */
    async expect(expected) {
      const frame = await client.next();
      const got = structuredClone(frame);
      // First the type, so that a stray frame is named as it is, not by a field it lacks.
      assert.equal(got.type, expected.type, `${label} got ${JSON.stringify(frame)}`);
      if (expected.type === 'chat') {
        assert.ok(Number.isInteger(got.ts) && Math.abs(got.ts - Date.now()) < 60_000, `${label}: chat ts`);
        got.ts = expected.ts = 0;
      }
      if (expected.type === 'room') {
        // Peers promise Room's bytes, so the field order is checked too.
        assert.deepEqual(Object.keys(got), ['type', 'name', 'count'], `${label}: room fields`);
      }
      if (expected.type === 'rooms' || expected.type === 'welcome') {
        // Other rooms may exist on a shared server: compare only ours, and the order of all.
        const names = got.rooms.map((r) => r.name);
        assert.deepEqual(names, [...names].sort(byCodePoint), `${label}: rooms sorted by code point`);
        got.rooms = got.rooms.filter((r) => OURS.has(r.name));
      }
      assert.deepEqual(got, expected, `${label} got an unexpected frame`);
      return frame;
    },
    /** Proves nothing else is queued for this client. */
    async barrier() {
      client.send('barrier');
      const frame = await client.next();
      const got = JSON.stringify(frame);
      assert.equal(frame.code, 'bad_json', `${label}: expected nothing before the barrier, got ${got}`);
    },
  };
  return client;
}

/** Proves that none of `clients` has anything else queued. */
async function nothingMore(...clients) {
  for (const client of clients) await client.barrier();
}

function byCodePoint(a, b) {
  const x = [...a].map((c) => c.codePointAt(0));
  const y = [...b].map((c) => c.codePointAt(0));
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

async function health() {
  const res = await fetch(`${BASE}/healthz`);
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.status, 'ok');
  return body;
}

/** Polls /healthz until it shows `want` (a connection's end is handled asynchronously). */
async function healthIs(want) {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const { connections, rooms } = await health();
    if (connections === want.connections && rooms === want.rooms) return;
    if (Date.now() > deadline) assert.deepEqual({ connections, rooms }, want, '/healthz');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const ROOM = `check ${process.pid}-${Date.now()}`;
const ROOM2 = `${ROOM} (2)`;
const OURS = new Set([ROOM, ROOM2]);
const rooms = (...counts) => ({ type: 'rooms', rooms: counts });
const inRoom = (count, name = ROOM) => ({ name, count });
/** The lobby's update for one room (count 0: the room is gone). */
const roomUpdate = (count, name = ROOM) => ({ type: 'room', name, count });
const info = (c, name, audio = false) => ({ id: c.id, name, audio, video: false });

let stepNo = 0;
async function step(what, body) {
  stepNo++;
  try {
    await body();
  } catch (err) {
    console.log(`not ok ${stepNo} ${what}\n${err.stack}`);
    process.exit(1);
  }
  console.log(`ok ${stepNo} ${what}`);
}

const base = await health();
assert.equal((await fetch(`${BASE}/nowhere`)).status, 404, 'other paths are 404');
let a, b, c, d, l;

await step('welcome comes first, with a fresh id and a guest name', async () => {
  [a, b, c, l] = [await connect('A'), await connect('B'), await connect('C'), await connect('L')];
  for (const client of [a, b, c, l]) {
    const welcome = await client.next();
    assert.deepEqual(Object.keys(welcome).sort(), ['id', 'name', 'rooms', 'type', 'version']);
    assert.equal(welcome.type, 'welcome');
    assert.equal(welcome.version, 1);
    assert.match(welcome.name, /^Guest \d+$/);
    assert.deepEqual(welcome.rooms.filter((r) => OURS.has(r.name)), []);
    client.id = welcome.id;
  }
  assert.equal(new Set([a.id, b.id, c.id, l.id]).size, 4);
  await healthIs({ connections: base.connections + 4, rooms: base.rooms });
});

await step('nicknames are trimmed and confirmed to a roomless sender alone', async () => {
  a.send({ type: 'nickname', name: '  Ann ' });
  await a.expect({ type: 'nickname', id: a.id, name: 'Ann' });
  b.send({ type: 'nickname', name: '민수', from: 'p9' });
  await b.expect({ type: 'nickname', id: b.id, name: '민수' });
  c.send({ type: 'nickname', name: '😀'.repeat(32) }); // 32 characters, 64 UTF-16 units
  await c.expect({ type: 'nickname', id: c.id, name: '😀'.repeat(32) });
  c.send({ type: 'nickname', name: 'Cy' });
  await c.expect({ type: 'nickname', id: c.id, name: 'Cy' });
  await nothingMore(a, b, c, l); // a rename changes no room count
});

await step('joining creates the room; the lobby gets its count, the new member no room update', async () => {
  a.send({ type: 'join', room: `  ${ROOM}\t` });
  await a.expect({ type: 'joined', room: ROOM, peers: [], history: [] });
  for (const lobby of [b, c, l]) await lobby.expect(roomUpdate(1));
  await nothingMore(a);
});

await step('the second member sees the first; the first sees it arrive; the lobby sees 2', async () => {
  b.send({ type: 'join', room: ROOM });
  await b.expect({ type: 'joined', room: ROOM, peers: [info(a, 'Ann')], history: [] });
  await a.expect({ type: 'peer_joined', peer: info(b, '민수') });
  for (const lobby of [c, l]) await lobby.expect(roomUpdate(2));
  await nothingMore(a, b);
});

await step('media goes to the room, the sender included', async () => {
  a.send({ type: 'media', audio: true, video: false });
  await a.expect({ type: 'media', id: a.id, audio: true, video: false });
  await b.expect({ type: 'media', id: a.id, audio: true, video: false });
  await nothingMore(c, l);
});

await step('the third member sees both, in join order, with their media state', async () => {
  c.send({ type: 'join', room: ROOM });
  const peers = [info(a, 'Ann', true), info(b, '민수')];
  await c.expect({ type: 'joined', room: ROOM, peers, history: [] });
  for (const member of [a, b]) await member.expect({ type: 'peer_joined', peer: info(c, 'Cy') });
  await l.expect(roomUpdate(3));
  await nothingMore(a, b, c);
});

await step('a fourth client is refused (room_full) and gets only errors', async () => {
  d = await connect('D');
  const welcome = await d.next();
  assert.deepEqual(welcome.rooms.filter((r) => OURS.has(r.name)), [inRoom(3)]);
  const refused = [
    [{ type: 'join', room: ROOM }, 'room_full'],
    [{ type: 'join', room: ' \n ' }, 'invalid_room'],
    [{ type: 'join', room: 'x'.repeat(65) }, 'invalid_room'],
    [{ type: 'chat', text: 'hi' }, 'not_in_room'],
    [{ type: 'offer', to: a.id, sdp: 'v=0' }, 'not_in_room'],
    [{ type: 'leave' }, 'not_in_room'],
    [{ type: 'nickname', name: 'x'.repeat(33) }, 'invalid_nickname'],
    [{ type: 'nickname', name: 'a\u0085b' }, 'invalid_nickname'],
  ];
  for (const [frame, code] of refused) {
    d.send(frame);
    const error = await d.next();
    assert.deepEqual(Object.keys(error).sort(), ['code', 'message', 'type']);
    assert.equal(error.code, code, `${JSON.stringify(frame)} -> ${JSON.stringify(error)}`);
  }
  d.ws.close(1000);
  await d.closed;
  // No room update for a refused join, nor for a roomless connection coming and going.
  await nothingMore(a, b, c, l);
});

await step(`chat: ${3 * CHATS_EACH} messages, everyone gets each once, in one seq order`, async () => {
  const senders = [[a, 'Ann'], [b, '민수'], [c, 'Cy']];
  for (let i = 0; i < CHATS_EACH; i++) {
    for (const [client] of senders) client.send({ type: 'chat', text: `${client.label} ${i}\n\tend` });
  }
  const transcripts = [];
  for (const [client] of senders) {
    const frames = [];
    for (let i = 0; i < 3 * CHATS_EACH; i++) frames.push(await client.next());
    frames.forEach((f, i) => assert.equal(f.seq, i + 1, `${client.label}: seq`));
    transcripts.push(frames);
  }
  for (const frames of transcripts) assert.deepEqual(frames, transcripts[0], 'the same transcript for all');
  for (const [client, name] of senders) {
    const own = transcripts[0].filter((f) => f.from === client.id);
    const sent = Array.from({ length: CHATS_EACH }, (_, i) => `${client.label} ${i}\n\tend`);
    assert.deepEqual(own.map((f) => f.text), sent);
    assert.ok(own.every((f) => f.name === name && f.type === 'chat'));
    assert.deepEqual(Object.keys(own[0]), ['type', 'seq', 'from', 'name', 'text', 'ts']);
  }
  c.history = transcripts[0].slice(-50).map(({ type, ...entry }) => entry);
  await nothingMore(l);
});

await step('a same-room join answers joined alone, with the last 50 messages', async () => {
  c.send({ type: 'join', room: ROOM });
  const joined = await c.next();
  const peers = [info(a, 'Ann', true), info(b, '민수')];
  assert.deepEqual(joined, { type: 'joined', room: ROOM, peers, history: c.history });
  assert.equal(joined.history[0].seq, 3 * CHATS_EACH - 49);
  await nothingMore(a, b, c, l);
});

await step('offer, answer and candidate reach one member, from set by the server', async () => {
  b.send({ type: 'offer', to: a.id, sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n', from: 'p999' });
  await a.expect({ type: 'offer', from: b.id, sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n' });
  a.send({ type: 'answer', to: b.id, sdp: 'v=0 answer' });
  await b.expect({ type: 'answer', from: a.id, sdp: 'v=0 answer' });
  const line = 'candidate:1 1 udp 1 192.0.2.7 5 typ host';
  // null optional fields and unknown fields are dropped on the way
  b.send({ type: 'candidate', to: a.id, candidate: { candidate: line, sdpMid: null, sdpMLineIndex: 0, x: 1 } });
  await a.expect({ type: 'candidate', from: b.id, candidate: { candidate: line, sdpMLineIndex: 0 } });
  await nothingMore(a, b, c);
});

await step('refused requests get one error each and change nothing', async () => {
  const refused = [
    [{ type: 'offer', to: a.id, sdp: 'x' }, 'unknown_peer'], // oneself
    [{ type: 'offer', to: ` ${b.id}`, sdp: 'x' }, 'unknown_peer'],
    [{ type: 'answer', to: 'p999999', sdp: 'x' }, 'unknown_peer'],
    ['Hello! 이건 클라이언트에서 보내는 메세지야 안녕', 'bad_json'],
    ['{"type":"leave"} {}', 'bad_json'],
    ['[]', 'bad_message'],
    [{ type: 'Join', room: 'x' }, 'bad_message'],
    [{ type: 'toString' }, 'bad_message'],
    [{ type: 'chat' }, 'bad_message'],
    [{ type: 'chat', text: 7 }, 'bad_message'],
    [{ type: 'media', audio: 'yes', video: false }, 'bad_message'],
    [{ type: 'candidate', to: b.id, candidate: null }, 'bad_message'],
    [{ type: 'candidate', to: b.id, candidate: { candidate: '', sdpMLineIndex: 65536 } }, 'bad_message'],
    [{ type: 'chat', text: 'a\r\nb' }, 'invalid_text'],
    [{ type: 'chat', text: ' \n\t ' }, 'invalid_text'],
    [{ type: 'chat', text: 'x'.repeat(2001) }, 'invalid_text'],
    [{ type: 'join', room: '..' }, 'invalid_room'],
  ];
  for (const [frame, code] of refused) {
    a.send(frame);
    const error = await a.next();
    assert.equal(error.code, code, `${JSON.stringify(frame).slice(0, 80)} -> ${JSON.stringify(error)}`);
  }
  a.send({ type: 'chat', text: '😀'.repeat(2000) }); // 2000 characters: allowed
  for (const member of [a, b, c]) assert.equal((await member.next()).seq, 3 * CHATS_EACH + 1);
  await nothingMore(a, b, c, l); // the refused join among them changed no room
});

await step('switching rooms: left, joined; the old room gets peer_left; the lobby both counts', async () => {
  c.send({ type: 'join', room: ROOM2 });
  await c.expect({ type: 'left', room: ROOM });
  await c.expect({ type: 'joined', room: ROOM2, peers: [], history: [] });
  for (const member of [a, b]) await member.expect({ type: 'peer_left', id: c.id });
  await l.expect(roomUpdate(2));
  await l.expect(roomUpdate(1, ROOM2));
  await nothingMore(a, b, c);
});

await step('leave: left and the whole list to the sender, 0 to the lobby; the empty room is gone', async () => {
  c.send({ type: 'leave' });
  await c.expect({ type: 'left', room: ROOM2 });
  await c.expect(rooms(inRoom(2)));
  await l.expect(roomUpdate(0, ROOM2));
  await nothingMore(a, b, c);
  await healthIs({ connections: base.connections + 4, rooms: base.rooms + 1 });
});

await step('a dropped connection acts like leave, without left; the leaver is in the lobby now', async () => {
  b.ws.close(1000, 'bye');
  assert.equal((await b.closed).code, 1000);
  await a.expect({ type: 'peer_left', id: b.id });
  for (const lobby of [c, l]) await lobby.expect(roomUpdate(1));
  await nothingMore(a);
});

await step('a binary frame closes with 1003 and takes the sender out of its room', async () => {
  a.ws.send(new Uint8Array([1, 2, 3]));
  const close = await a.closed;
  assert.equal(close.code, 1003);
  for (const lobby of [c, l]) await lobby.expect(roomUpdate(0));
  await healthIs({ connections: base.connections + 2, rooms: base.rooms });
  for (const lobby of [c, l]) {
    lobby.ws.close(1000);
    await lobby.closed;
  }
  await healthIs({ connections: base.connections, rooms: base.rooms });
});

console.log(`all ${stepNo} steps passed against ${BASE}`);
