// The browser-test toolkit: a real `room` server, real Chromium pages with fake camera and
// microphone, and waits that end on an event or a deadline (never a bare sleep).

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

/** How long any one wait may take before the test fails. */
export const WAIT_MS = 30_000;

/** Every page a scenario opened with `joinRoom`, so the runner can check none had errors. */
export const opened = [];

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  '--allow-loopback-in-peer-connection',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  // Screen sharing in a headless browser: pick the (fake) screen without asking.
  '--auto-select-desktop-capture-source=Entire screen',
  '--enable-features=FakeDesktopCaptureForTesting',
];

/**
 * Starts `room --port PORT ...args` (any free port unless told) and resolves once it says (on
 * stderr) where it listens. `stop()` kills it and resolves once it is gone.
 */
export async function startServer(args = [], { port = 0 } = {}) {
  const bin = process.env.ROOM_BIN;
  if (!bin) throw new Error('ROOM_BIN must name the room binary');
  const child = spawn(bin, ['--host', '127.0.0.1', '--port', String(port), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = [];
  createInterface({ input: child.stdout }).on('line', (line) => log.push(line));
  const stderr = createInterface({ input: child.stderr });
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the server did not start')), WAIT_MS);
    child.once('exit', (code) => reject(new Error(`the server exited with ${code}`)));
    stderr.on('line', (line) => {
      log.push(line);
      const listening = /^room: listening on (\S+)$/.exec(line);
      if (listening) {
        clearTimeout(timer);
        resolve(listening[1]);
      }
    });
  });
  return {
    url,
    log,
    stop() {
      const gone = new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) resolve();
        else child.once('exit', resolve);
      });
      child.kill('SIGKILL');
      return gone;
    },
  };
}

/**
 * Starts coturn on `ip` (an address of the test's network namespace) with the TURN REST API's
 * shared `secret`, and resolves once it listens. Its relayed addresses are on the same `ip`.
 */
export async function startTurn(ip, secret) {
  const child = spawn(
    process.env.ROOM_TURNSERVER || 'turnserver',
    [
      '--listening-ip', ip,
      '--relay-ip', ip,
      '--listening-port', '3478',
      '--min-port', '49160',
      '--max-port', '49260',
      '--use-auth-secret',
      '--static-auth-secret', secret,
      '--realm', 'room.test',
      '--fingerprint',
      '--no-tls',
      '--no-dtls',
      '--no-cli',
      '--no-tcp-relay',
      '--log-file', 'stdout',
      '--simple-log',
      // Verbose, for the line that says the listener is open.
      '--verbose',
      '-n',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const log = [];
  const lines = createInterface({ input: child.stdout });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`coturn did not start:\n${log.join('\n')}`)), WAIT_MS);
    child.once('exit', (code) => reject(new Error(`coturn exited with ${code}:\n${log.join('\n')}`)));
    lines.on('line', (line) => {
      log.push(line);
      if (/UDP listener opened on/.test(line)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return {
    log,
    stop() {
      child.kill('SIGKILL');
    },
  };
}

/**
 * The pair each of the page's peer connections selected, as { local, remote }, each with the
 * candidate's `type` ('host', 'srflx', 'prflx', 'relay') and `protocol` ('udp', 'tcp'); null
 * where none is selected yet.
 */
export async function selectedPairs(person) {
  return person.page.evaluate(async () => {
    const pairs = [];
    for (const pc of window.roomCall.peerConnections().values()) {
      const stats = await pc.getStats();
      let pair = null;
      stats.forEach((report) => {
        if (report.type === 'transport' && report.selectedCandidatePairId) {
          pair = stats.get(report.selectedCandidatePairId);
        }
      });
      const candidate = (id) => {
        const found = stats.get(id);
        return found ? { type: found.candidateType, protocol: found.protocol } : null;
      };
      const local = pair && candidate(pair.localCandidateId);
      const remote = pair && candidate(pair.remoteCandidateId);
      pairs.push(local && remote ? { local, remote } : null);
    }
    return pairs;
  });
}

/** The candidate types of each selected pair, [local, remote] (see selectedPairs). */
export async function selectedPairTypes(person) {
  return (await selectedPairs(person)).map((pair) =>
    pair ? [pair.local.type, pair.remote.type] : null,
  );
}

/** Waits until every one of the page's peer connections has selected a candidate pair. */
export async function waitForSelectedPairs(person) {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const pairs = await selectedPairs(person);
    if (pairs.length > 0 && pairs.every(Boolean)) return pairs;
    if (Date.now() > deadline) {
      throw new Error(`${person.nickname}: no selected candidate pair: ${JSON.stringify(pairs)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Launches headless Chromium with fake media devices (Playwright gives it a fresh profile). */
export async function launchBrowser(extraArgs = []) {
  const executablePath = process.env.ROOM_CHROMIUM || '/usr/bin/chromium';
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: [...CHROMIUM_ARGS, ...extraArgs],
  });
  return {
    browser,
    async close() {
      await browser.close();
    },
  };
}

/**
 * Opens the room page of `room` as a person called `nickname`, joins the call and waits until
 * the page says it is in the room. Each person gets a browser context of their own.
 * `watchOnly` refuses the page its camera and microphone, as a person who says no would;
 * `viewport` sizes its window.
 */
export async function joinRoom(
  browser,
  serverUrl,
  room,
  nickname,
  {
    expectJoined = true,
    watchOnly = false,
    viewport = { width: 1280, height: 800 },
    pressJoin = true,
  } = {},
) {
  const context = await browser.newContext({
    ignoreHTTPSErrors: true,
    permissions: watchOnly ? [] : ['camera', 'microphone'],
    viewport,
  });
  await context.addInitScript((name) => {
    localStorage.setItem('room.nickname', name);
  }, nickname);
  if (watchOnly) {
    // The fake-UI switch grants every request; this page's person refuses instead, until the
    // test lets the page have them (`window.roomAllowMedia = true`). Refused, Chromium lists
    // the devices without ids or names, as it does for a page that was denied them.
    await context.addInitScript(() => {
      const devices = navigator.mediaDevices;
      const ask = devices.getUserMedia.bind(devices);
      const list = devices.enumerateDevices.bind(devices);
      devices.getUserMedia = (constraints) =>
        window.roomAllowMedia
          ? ask(constraints)
          : Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));
      devices.enumerateDevices = async () => {
        const found = await list();
        if (window.roomAllowMedia) return found;
        return found.map(({ kind }) => ({ deviceId: '', groupId: '', kind, label: '' }));
      };
    });
  }
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (err) => problems.push(`${nickname}: page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`${nickname}: console error: ${msg.text()}`);
  });
  opened.push({ nickname, problems });
  await page.goto(`${serverUrl}/room/${encodeURIComponent(room)}`);
  if (!pressJoin) return { page, context, nickname, problems };
  await page.click('#join-button');
  if (expectJoined) {
    await page.waitForFunction(() => window.roomCall && window.roomCall.selfId(), null, {
      timeout: WAIT_MS,
    });
  }
  return { page, context, nickname, problems };
}

/** The page's own member id while it is in the room (null before). */
export const selfId = (person) => person.page.evaluate(() => window.roomCall.selfId());

/**
 * Waits until `check` (run here, async) is true, asking every 100 ms; fails with `who` and
 * `what`. Checks of what a page measures (getStats) read it through helpers such as
 * `inboundStreams`.
 */
export async function waitUntil(who, what, check) {
  const deadline = Date.now() + WAIT_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${who}: ${what}: not within ${WAIT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Waits until `predicate` (run in the page with `arg`) is true; fails with `what`. It is asked
 * from here (`page.waitForFunction` would take an async predicate's promise for true at once).
 */
export function waitInPage(person, what, predicate, arg) {
  return waitUntil(person.nickname, what, () => person.page.evaluate(predicate, arg));
}

/** The ids of the remote tiles the page shows. */
export async function remoteTileIds(person) {
  return person.page.$$eval('#video-grid .tile:not(.self)', (tiles) =>
    tiles.map((tile) => tile.dataset.peerId).sort(),
  );
}

/** Waits until the page shows exactly `count` remote tiles, each playing video with a size. */
export async function waitForRemoteVideo(person, count) {
  await waitInPage(
    person,
    `${count} remote tiles with playing video`,
    (count) => {
      const videos = [...document.querySelectorAll('#video-grid .tile:not(.self) video')];
      return (
        videos.length === count &&
        videos.every((video) => video.videoWidth > 0 && video.videoHeight > 0 && !video.paused)
      );
    },
    count,
  );
}

/** Sums the inbound RTP bytes of `kind` ('audio' or 'video') over every peer connection. */
export async function inboundBytes(person, kind) {
  return person.page.evaluate(async (kind) => {
    let total = 0;
    for (const pc of window.roomCall.peerConnections().values()) {
      const stats = await pc.getStats();
      stats.forEach((report) => {
        if (report.type === 'inbound-rtp' && report.kind === kind) total += report.bytesReceived;
      });
    }
    return total;
  }, kind);
}

/** Waits until inbound bytes of `kind` grow past their current value, twice (media flows). */
export async function waitForInboundGrowth(person, kind) {
  let last = await inboundBytes(person, kind);
  for (let round = 0; round < 2; round += 1) {
    const start = last;
    await waitUntil(person.nickname, `inbound ${kind} bytes growing past ${start}`, async () => {
      last = await inboundBytes(person, kind);
      return last > start;
    });
  }
  return last;
}

/**
 * The inbound RTP streams of `kind` on the page's connections, as
 * { mid, framesDecoded, frameWidth, bytesReceived }.
 */
export async function inboundStreams(person, kind) {
  return person.page.evaluate(async (kind) => {
    const streams = [];
    for (const pc of window.roomCall.peerConnections().values()) {
      const stats = await pc.getStats();
      stats.forEach((report) => {
        if (report.type !== 'inbound-rtp' || report.kind !== kind) return;
        streams.push({
          mid: report.mid,
          framesDecoded: report.framesDecoded ?? 0,
          frameWidth: report.frameWidth ?? 0,
          bytesReceived: report.bytesReceived ?? 0,
        });
      });
    }
    return streams;
  }, kind);
}

/**
 * Waits until the SFU's video slots of the page carry `members` (their cameras) and each of
 * those slots decodes frames: more than it had when the wait began. Returns the slots' mids by
 * member.
 */
export async function waitForDecodedCameras(person, members) {
  const mids = {};
  await waitInPage(
    person,
    `the cameras of ${members.join(', ')} in slots`,
    (members) => {
      const carried = [...window.roomCall.videoSlots()]
        .filter(([, slot]) => slot.source === 'camera')
        .map(([, slot]) => slot.member);
      return members.every((member) => carried.includes(member));
    },
    members,
  );
  for (const [mid, slot] of await person.page.evaluate(() => [...window.roomCall.videoSlots()])) {
    if (slot.source === 'camera' && members.includes(slot.member)) mids[slot.member] = mid;
  }
  const decoded = async () =>
    new Map((await inboundStreams(person, 'video')).map((stream) => [stream.mid, stream.framesDecoded]));
  const before = await decoded();
  await waitUntil(person.nickname, `frames decoded from ${members.join(', ')}`, async () => {
    const now = await decoded();
    return Object.values(mids).every((mid) => (now.get(mid) ?? 0) > (before.get(mid) ?? 0));
  });
  return mids;
}

/** The server's /healthz. */
export async function health(server) {
  const response = await fetch(`${server.url}/healthz`);
  if (!response.ok) throw new Error(`/healthz answered ${response.status}`);
  return response.json();
}

/** Waits until `predicate(health)` holds for the server's /healthz; fails with `what`. */
export async function waitForHealth(server, what, predicate) {
  let last = null;
  try {
    await waitUntil('the server', what, async () => predicate((last = await health(server))));
  } catch (err) {
    throw new Error(`${err.message}; /healthz said ${JSON.stringify(last)}`);
  }
  return last;
}

/** Saves a screenshot of the page under target/e2e/. */
export async function screenshot(person, name) {
  const dir = process.env.ROOM_E2E_OUT || 'target/e2e';
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.png`);
  await person.page.screenshot({ path, fullPage: true });
  return path;
}
