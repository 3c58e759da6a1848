// An end-to-end check of the Janus VideoRoom configuration in conf/, and a capture of the Janus
// API flow that a benchmark client has to speak (see README.md).
//
// Node speaks the raw Janus JSON API over WebSocket (subprotocol "janus-protocol"); Chromium
// pages only do WebRTC. Page A publishes audio + simulcast VP8 (rids q,h,f at 1/4, 1/2, 1/1 of
// 1280x720, trickling its candidates); page B joins the room as a passive participant (to be told
// about publishers) and subscribes to A's two streams on a second handle (candidates in its SDP
// answer, no trickle), checks that video frames are decoded, then switches substreams with
// `configure` and watches frameWidth follow. Page C then publishes a plain VP8 camera: B adds it
// with `subscribe` (Janus sends a new offer); C unpublishes and Janus re-offers B by itself; B
// drops A's audio with `update` (another offer); C leaves, the room is destroyed.
//
// Run inside the benchmark's network namespace (see README.md), with Janus started from conf/:
//
//   node --experimental-websocket bench/peers/janus/check.mjs [ws://10.200.0.1:8188]
//
// (Node 22 has WebSocket built in and needs no flag.) FLOW_LOG=/path writes every frame in and
// out, one JSON line each. It prints one line per step and exits 1 on the first failure.

import { chromium } from '../../../e2e/node_modules/playwright-core/index.mjs';
import { createServer } from 'node:http';
import { appendFileSync, writeFileSync } from 'node:fs';

const URL_WS = process.argv[2] ?? 'ws://10.200.0.1:8188';
const FLOW_LOG = process.env.FLOW_LOG;
const WAIT_MS = 20_000;
if (FLOW_LOG) writeFileSync(FLOW_LOG, '');

const step = (s) => console.log(`${(performance.now() / 1000).toFixed(1)}s ${s}`);
function fail(why) {
  console.error(`FAIL: ${why}`);
  process.exit(1);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(what, fn, ms = WAIT_MS, soft = false) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) return soft ? null : fail(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

/** One Janus session on its own WebSocket. */
class Janus {
  static async open(label) {
    const j = new Janus();
    j.label = label;
    j.n = 0;
    j.pending = new Map(); // transaction -> resolve
    j.events = []; // frames with no pending transaction (async plugin events, webrtcup, media...)
    j.ws = new WebSocket(URL_WS, 'janus-protocol');
    j.ws.onmessage = (e) => j.onFrame(JSON.parse(e.data));
    await new Promise((ok, ko) => {
      j.ws.onopen = ok;
      j.ws.onerror = () => ko(new Error(`cannot connect to ${URL_WS}`));
    });
    const r = await j.send({ janus: 'create' });
    j.session = r.data.id;
    j.keepalive = setInterval(() => j.send({ janus: 'keepalive', session_id: j.session }), 25_000);
    return j;
  }
  log(dir, msg) {
    if (FLOW_LOG) appendFileSync(FLOW_LOG, JSON.stringify({ who: this.label, dir, msg }) + '\n');
  }
  onFrame(msg) {
    this.log('in', msg);
    const p = msg.transaction && this.pending.get(msg.transaction);
    // Requests to a plugin are answered "ack" first, then "event" with the same transaction.
    if (p && !(msg.janus === 'ack' && p.async)) {
      this.pending.delete(msg.transaction);
      p.resolve(msg);
    } else if (!p) {
      this.events.push(msg);
    }
  }
  /** Sends a request; resolves with its final answer ("success", "event" or "ack" for sync ones). */
  send(req, async = false) {
    const transaction = `${this.label}-${++this.n}`;
    const msg = { ...req, transaction };
    this.log('out', msg);
    this.ws.send(JSON.stringify(msg));
    return new Promise((resolve) => {
      const timer = setTimeout(() => fail(`${this.label}: no answer to ${JSON.stringify(req).slice(0, 200)}`), WAIT_MS);
      this.pending.set(transaction, {
        async,
        resolve: (m) => {
          clearTimeout(timer);
          if (m.janus === 'error') fail(`${this.label}: ${JSON.stringify(m.error)}`);
          const data = m.plugindata?.data;
          if (data?.error_code) fail(`${this.label}: ${data.error_code} ${data.error}`);
          resolve(m);
        },
      });
    });
  }
  async attach() {
    const r = await this.send({ janus: 'attach', session_id: this.session, plugin: 'janus.plugin.videoroom' });
    return r.data.id;
  }
  /** A request to the VideoRoom plugin; `async` for those answered by an event (join, publish...). */
  message(handle, body, jsep, async = true) {
    const req = { janus: 'message', session_id: this.session, handle_id: handle, body };
    if (jsep) req.jsep = jsep;
    return this.send(req, async);
  }
  trickle(handle, candidate) {
    return this.send({ janus: 'trickle', session_id: this.session, handle_id: handle, candidate });
  }
  /** Waits for (and removes) the first unsolicited frame that `pred` accepts. */
  async event(what, pred) {
    return until(what, () => {
      const i = this.events.findIndex(pred);
      return i >= 0 ? this.events.splice(i, 1)[0] : null;
    });
  }
  async close() {
    clearInterval(this.keepalive);
    await this.send({ janus: 'destroy', session_id: this.session });
    this.ws.close();
  }
}
const vr = (m) => m.plugindata?.data ?? {};

// The page: WebRTC only. Node drives it with page.evaluate.
const PAGE = `<!doctype html><script>
let pc, gathered;
function newPc() {
  pc = new RTCPeerConnection();
  gathered = new Promise((ok) => pc.addEventListener('icegatheringstatechange',
    () => pc.iceGatheringState === 'complete' && ok()));
  pc.onicecandidate = (e) => window.onCandidate(e.candidate ? e.candidate.toJSON() : null);
}
window.publish = async (simulcast, audio) => {
  newPc();
  const s = await navigator.mediaDevices.getUserMedia({ audio, video: { width: 1280, height: 720 } });
  if (audio) pc.addTransceiver(s.getAudioTracks()[0], { direction: 'sendonly' });
  pc.addTransceiver(s.getVideoTracks()[0], { direction: 'sendonly', sendEncodings: simulcast
    ? [{ rid: 'q', scaleResolutionDownBy: 4 }, { rid: 'h', scaleResolutionDownBy: 2 }, { rid: 'f', scaleResolutionDownBy: 1 }]
    : undefined });
  await pc.setLocalDescription(await pc.createOffer());
  return { type: 'offer', sdp: pc.localDescription.sdp };
};
window.accept = (jsep) => pc.setRemoteDescription(jsep);
// Answers an offer from Janus with every candidate in the SDP (no trickle).
window.answer = async (jsep) => {
  if (!pc) newPc();
  await pc.setRemoteDescription(jsep);
  await pc.setLocalDescription(await pc.createAnswer());
  await Promise.race([gathered, new Promise((ok) => setTimeout(ok, 3000))]);
  return { type: 'answer', sdp: pc.localDescription.sdp };
};
window.inbound = async () => {
  const out = {};
  (await pc.getStats()).forEach((r) => {
    if (r.type === 'inbound-rtp') out[r.mid] = { kind: r.kind, packets: r.packetsReceived,
      frames: r.framesDecoded, width: r.frameWidth, height: r.frameHeight };
  });
  return out;
};
window.pair = async () => {
  let p = null;
  const st = await pc.getStats();
  st.forEach((r) => { if (r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded') p = r; });
  if (!p) return null;
  const l = st.get(p.localCandidateId), r = st.get(p.remoteCandidateId);
  return l.candidateType + ' ' + l.address + ':' + l.port + ' -> ' + r.candidateType + ' ' + r.address + ':' + r.port;
};
</script>`;
const http = createServer((_, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE));
await new Promise((ok) => http.listen(0, '127.0.0.1', ok));
const pageUrl = `http://127.0.0.1:${http.address().port}/`;

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
    '--allow-loopback-in-peer-connection', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', '--disable-quic'],
});
const context = await browser.newContext({ permissions: ['camera', 'microphone'] });

/** A page whose ICE candidates are trickled to Janus on `handle` once `ready` is set. */
async function newPage(janus) {
  const page = await context.newPage();
  page.on('pageerror', (e) => fail(`page error: ${e.message}`));
  const peer = { page, handle: null, ready: false, queue: [] };
  peer.flush = async () => {
    peer.ready = true;
    for (const c of peer.queue.splice(0)) await janus.trickle(peer.handle, c ?? { completed: true });
  };
  await page.exposeFunction('onCandidate', (c) => {
    if (peer.trickles === false) return; // candidates go in the SDP instead
    if (peer.ready) janus.trickle(peer.handle, c ?? { completed: true });
    else peer.queue.push(c);
  });
  await page.goto(pageUrl);
  return peer;
}

/** Joins `room` as a publisher and publishes; returns the feed id. */
async function publishFrom(janus, peer, room, display, simulcast, audio) {
  peer.handle = await janus.attach();
  const joined = vr(await janus.message(peer.handle, { request: 'join', ptype: 'publisher', room, display }));
  if (joined.videoroom !== 'joined') fail(`${display}: join answered ${JSON.stringify(joined)}`);
  const offer = await peer.page.evaluate(([s, a]) => window.publish(s, a), [simulcast, audio]);
  // rid_order: the rids are listed low to high (q,h,f); Janus assumes high to low ("hml") otherwise.
  const jsep = simulcast ? { ...offer, rid_order: 'lmh' } : offer;
  const r = await janus.message(peer.handle, { request: 'publish' }, jsep);
  if (vr(r).configured !== 'ok' || r.jsep?.type !== 'answer') fail(`${display}: publish answered ${JSON.stringify(r)}`);
  await peer.flush();
  await peer.page.evaluate((j) => window.accept(j), r.jsep);
  await janus.event(`${display} webrtcup`, (m) => m.janus === 'webrtcup' && m.sender === peer.handle);
  step(`${display} publishes (feed ${joined.id}), ICE pair: ${await peer.page.evaluate(() => window.pair())}`);
  return joined.id;
}

/** Answers a Janus offer on the subscriber handle with `start`. */
async function startWith(janus, sub, offer) {
  const answer = await sub.page.evaluate((j) => window.answer(j), offer);
  const r = await janus.message(sub.handle, { request: 'start' }, { ...answer, trickle: false });
  if (vr(r).started !== 'ok') fail(`start answered ${JSON.stringify(r)}`);
}

async function videoOn(page, mid, pred, what, ms = WAIT_MS, soft = false) {
  return until(what, async () => {
    const s = (await page.evaluate(() => window.inbound()))[mid];
    return s && pred(s) ? s : null;
  }, ms, soft);
}

// --- A creates the room.
const ja = await Janus.open('A');
step(`A session ${ja.session}`);
await ja.send({ janus: 'keepalive', session_id: ja.session });
const a = await newPage(ja);
const admin = await ja.attach();
const created = vr(await ja.message(admin, {
  request: 'create', description: 'bench', publishers: 16, videocodec: 'vp8', audiocodec: 'opus',
  audiolevel_ext: true, audiolevel_event: false, transport_wide_cc_ext: true, fir_freq: 0, bitrate: 0,
  record: false,
}, null, false));
const room = created.room;
step(`room ${room} created`);

// --- B joins first as a passive participant, to be told about publishers.
const jb = await Janus.open('B');
const bPub = await jb.attach();
const bJoined = vr(await jb.message(bPub, { request: 'join', ptype: 'publisher', room, display: 'B' }));
step(`B joined passively as ${bJoined.id}, publishers now: ${JSON.stringify(bJoined.publishers)}`);

// --- A publishes audio + simulcast video.
const feedA = await publishFrom(ja, a, room, 'A', true, true);
const annA = vr(await jb.event('publishers event for A', (m) => vr(m).publishers && m.sender === bPub));
const streamsA = annA.publishers[0].streams;
step(`B told about A: ${JSON.stringify(annA.publishers)}`);

// --- B subscribes to A's audio and video on its own handle (one PeerConnection, multistream).
const b = await newPage(jb);
b.trickles = false;
b.handle = await jb.attach();
const att = await jb.message(b.handle, {
  request: 'join', ptype: 'subscriber', room, streams: streamsA.map((s) => ({ feed: feedA, mid: s.mid })),
});
if (vr(att).videoroom !== 'attached' || att.jsep?.type !== 'offer') fail(`subscribe answered ${JSON.stringify(att)}`);
await startWith(jb, b, att.jsep);
await jb.event('B webrtcup', (m) => m.janus === 'webrtcup' && m.sender === b.handle);
step(`B subscribed, ICE pair: ${await b.page.evaluate(() => window.pair())}`);
const vmid = vr(att).streams.find((s) => s.type === 'video').mid;
const amid = vr(att).streams.find((s) => s.type === 'audio').mid;
let s = await videoOn(b.page, vmid, (v) => v.frames > 30, 'B decoding A video');
step(`B decodes A: ${JSON.stringify(s)}`);
await until('A audio at B', async () => (await b.page.evaluate(() => window.inbound()))[amid]?.packets > 50);
s = await videoOn(b.page, vmid, (v) => v.width === 1280, 'B getting the full layer (default: highest)');
step(`B gets the top layer: ${s.width}x${s.height}`);

// --- B switches substreams. Janus asks A for a keyframe (PLI on every layer) once per request,
// and Chrome ignores keyframe requests that come less than ~300 ms after a keyframe, so wait a
// little between switches, and ask again if nothing changed.
for (const [substream, width] of [[0, 320], [1, 640], [2, 1280]]) {
  await sleep(1000);
  for (let attempt = 1; ; attempt++) {
    const r = await jb.message(b.handle, { request: 'configure', streams: [{ mid: vmid, substream, temporal: 2 }] });
    if (vr(r).configured !== 'ok') fail(`configure answered ${JSON.stringify(r)}`);
    s = await videoOn(b.page, vmid, (v) => v.width === width, `frameWidth ${width} after substream ${substream}`, 3000, true);
    if (s) break;
    if (attempt === 3) fail(`frameWidth never became ${width} after substream ${substream}`);
    step(`substream ${substream}: no change yet, asking again`);
  }
  step(`substream ${substream}: B decodes ${s.width}x${s.height} (${s.frames} frames so far)`);
}

// --- C publishes video only (no simulcast); B adds it to its subscription.
const jc = await Janus.open('C');
const c = await newPage(jc);
const feedC = await publishFrom(jc, c, room, 'C', false, false);
const annC = vr(await jb.event('publishers event for C', (m) => vr(m).publishers && m.sender === bPub));
step(`B told about C: ${JSON.stringify(annC.publishers)}`);
const upd = await jb.message(b.handle, { request: 'subscribe', streams: [{ feed: feedC }] });
const updated = vr(upd).videoroom === 'updated' ? upd
  : await jb.event('updated event', (m) => vr(m).videoroom === 'updated' && m.sender === b.handle);
if (updated.jsep?.type !== 'offer') fail(`subscribe answered ${JSON.stringify(upd)}`);
await startWith(jb, b, updated.jsep);
s = (await b.page.evaluate(() => window.inbound()))[vmid];
const cmid = vr(updated).streams.find((x) => x.feed_id === feedC).mid;
s = await videoOn(b.page, cmid, (v) => v.frames > 30, 'B decoding C video');
step(`B decodes C on mid ${cmid}: ${JSON.stringify(s)}`);

// --- C unpublishes: B's participant handle is told, and Janus renegotiates B's subscription by
// itself (autoupdate). ("leave" alone only says "leaving" and keeps C's PeerConnection up.)
const unp = await jc.message(c.handle, { request: 'unpublish' });
if (vr(unp).unpublished !== 'ok') fail(`unpublish answered ${JSON.stringify(unp)}`);
const gone = vr(await jb.event('C unpublished', (m) => vr(m).unpublished && m.sender === bPub));
step(`B told C unpublished: ${JSON.stringify(gone)}`);
const reneg = await jb.event('offer after C left', (m) => m.jsep?.type === 'offer' && m.sender === b.handle);
step(`Janus re-offers B: ${JSON.stringify(vr(reneg))}`);
await startWith(jb, b, reneg.jsep);
const before = s.frames;
await videoOn(b.page, vmid, (v) => v.frames > before + 30, 'A video still flowing after the renegotiation');
step('A video still flows on B');

// --- B drops A's audio with `update` (subscribe/unsubscribe lists in one request): another offer.
const upd2 = await jb.message(b.handle, { request: 'update', unsubscribe: [{ sub_mid: amid }] });
const updated2 = vr(upd2).videoroom === 'updated' ? upd2
  : await jb.event('updated event', (m) => vr(m).videoroom === 'updated' && m.sender === b.handle);
if (updated2.jsep?.type !== 'offer') fail(`update answered ${JSON.stringify(upd2)}`);
await startWith(jb, b, updated2.jsep);
const frames2 = (await b.page.evaluate(() => window.inbound()))[vmid].frames;
await videoOn(b.page, vmid, (v) => v.frames > frames2 + 30, 'A video still flowing after the update');
step(`B dropped A's audio: ${JSON.stringify(vr(updated2).streams.map((x) => [x.mid, x.type, x.active]))}`);

await jc.message(c.handle, { request: 'leave' });
vr(await jb.event('C leaving', (m) => vr(m).leaving && m.sender === bPub));
await ja.message(admin, { request: 'destroy', room }, null, false);
await jc.close();
await jb.close();
await ja.close();
await browser.close();
http.close();
step('OK');
