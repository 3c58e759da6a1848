// A call that survives a blip: one page's WebSocket is cut (through a TCP proxy the test holds)
// and comes back within the server's resume grace. The page stays the same member: its remote
// videos go on decoding all along, nobody sees it leave or join, a chat sent while it was away
// arrives once, and the screen it started sharing meanwhile (an offer that could not go out)
// reaches the others once it is back.

import assert from 'node:assert/strict';
import net from 'node:net';

import { joinRoom, selfId, waitForDecodedCameras, waitInPage, waitUntil } from './lib.mjs';

/**
 * A TCP proxy on 127.0.0.1 in front of `target` (the server's URL). `cut()` resets every
 * connection through it and holds new ones unanswered, as a network that went away would;
 * `restore()` lets them through again, the held ones first.
 */
async function startProxy(target) {
  const { hostname, port } = new URL(target);
  const pairs = new Set();
  let held = null;
  const forward = (client) => {
    const upstream = net.connect(Number(port), hostname);
    const pair = { client, upstream };
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      socket.on('error', end);
      socket.on('close', end);
    }
    client.pipe(upstream);
    upstream.pipe(client);
  };
  const proxy = net.createServer((client) => {
    if (held) {
      client.on('error', () => client.destroy());
      held.push(client);
    } else {
      forward(client);
    }
  });
  await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${proxy.address().port}`,
    cut() {
      held = [];
      for (const { client, upstream } of pairs) {
        client.resetAndDestroy();
        upstream.resetAndDestroy();
      }
      pairs.clear();
    },
    restore() {
      const waiting = held ?? [];
      held = null;
      for (const client of waiting) if (!client.destroyed) forward(client);
    },
    close() {
      proxy.close();
    },
  };
}

/** Waits until every peer connection of `person` has decoded more video frames than now. */
async function waitForMeshDecoding(person, count) {
  const decoded = () =>
    person.page.evaluate(async () => {
      const counts = [];
      for (const pc of window.roomCall.peerConnections().values()) {
        let frames = 0;
        (await pc.getStats()).forEach((report) => {
          if (report.type === 'inbound-rtp' && report.kind === 'video') {
            frames += report.framesDecoded ?? 0;
          }
        });
        counts.push(frames);
      }
      return counts;
    });
  const before = await decoded();
  assert.equal(before.length, count, `${person.nickname} has a connection to each of the others`);
  await waitUntil(person.nickname, 'video decoding from everyone', async () => {
    const now = await decoded();
    return now.length === before.length && now.every((frames, i) => frames > before[i]);
  });
}

/** Marks on `person`'s page whether the tile of `id` is ever taken away, from now on. */
async function watchTile(person, id) {
  await person.page.evaluate((id) => {
    window.tileRemoved = false;
    new MutationObserver(() => {
      if (!document.querySelector(`#video-grid .tile[data-peer-id="${id}"]`)) {
        window.tileRemoved = true;
      }
    }).observe(document.querySelector('#video-grid'), { childList: true, subtree: true });
  }, id);
}

const notices = (person) =>
  person.page.$$eval('#chat-log .chat-notice', (items) => items.map((item) => item.textContent));
const chatTexts = (person) =>
  person.page.$$eval('#chat-log .chat-entry .chat-text', (items) =>
    items.map((item) => item.textContent),
  );

async function resume({ browser, server }) {
  const proxy = await startProxy(server.url);
  try {
    const ann = await joinRoom(browser, server.url, 'blip', 'Ann');
    const bob = await joinRoom(browser, proxy.url, 'blip', 'Bob');
    const cat = await joinRoom(browser, server.url, 'blip', 'Cat');
    const [annId, bobId, catId] = await Promise.all([ann, bob, cat].map(selfId));
    const sfu = (await bob.page.evaluate(() => window.roomCall.mode())) === 'sfu';
    const decoding = () =>
      sfu ? waitForDecodedCameras(bob, [annId, catId]) : waitForMeshDecoding(bob, 2);
    await decoding();
    await bob.page.evaluate(() => {
      window.callsBefore = [...window.roomCall.peerConnections().values()];
    });
    for (const person of [ann, cat]) await watchTile(person, bobId);

    proxy.cut();
    await waitInPage(bob, 'Bob told the connection was lost', () =>
      document.querySelector('#status').textContent.startsWith('Connection lost'),
    );
    await ann.page.fill('#chat-input', 'are you still there, Bob?');
    await ann.page.press('#chat-input', 'Enter');
    await waitInPage(cat, "Ann's chat at Cat's", () =>
      [...document.querySelectorAll('#chat-log .chat-text')].some(
        (item) => item.textContent === 'are you still there, Bob?',
      ),
    );
    // No WebSocket, yet the call goes on: the media never went through it.
    await decoding();
    await bob.page.click('#share-screen');
    await waitInPage(bob, 'Bob shares while cut off', () =>
      document.querySelector('#share-screen').getAttribute('aria-pressed') === 'true',
    );

    proxy.restore();
    await waitInPage(bob, "Bob back in the meeting, Ann's chat in his log", () =>
      document.querySelector('#status').textContent.startsWith('In the meeting') &&
      [...document.querySelectorAll('#chat-log .chat-text')].some(
        (item) => item.textContent === 'are you still there, Bob?',
      ),
    );
    assert.equal(await selfId(bob), bobId, 'Bob is the same member');
    const sameCalls = await bob.page.evaluate(() => {
      const now = [...window.roomCall.peerConnections().values()];
      return now.length === window.callsBefore.length && now.every((pc, i) => pc === window.callsBefore[i]);
    });
    assert.ok(sameCalls, "Bob's peer connections were kept");
    const texts = await chatTexts(bob);
    assert.equal(
      texts.filter((text) => text === 'are you still there, Bob?').length,
      1,
      `the chat Bob missed is shown once: ${JSON.stringify(texts)}`,
    );

    await bob.page.fill('#chat-input', 'yes, back');
    await bob.page.press('#chat-input', 'Enter');
    await waitInPage(ann, "Bob's chat at Ann's, from Bob", (id) =>
      [...document.querySelectorAll('#chat-log .chat-entry')].some(
        (item) =>
          item.querySelector('.chat-text').textContent === 'yes, back' &&
          item.querySelector('.chat-name').textContent === 'Bob',
      ), bobId);
    await decoding();
    for (const person of [ann, cat]) {
      await waitInPage(person, "Bob's screen, shared while he was cut off", (id) =>
        document.querySelector(`#video-grid .tile[data-peer-id="screen:${id}"] video`)?.videoWidth > 0,
      bobId);
    }
    for (const person of [ann, cat]) {
      const seen = await notices(person);
      assert.ok(!seen.some((text) => text.startsWith('Bob left')), `${person.nickname}: ${seen}`);
      assert.equal(seen.filter((text) => text.startsWith('Bob joined')).length, person === ann ? 1 : 0);
      assert.equal(await person.page.evaluate(() => window.tileRemoved), false, 'the tile stayed');
    }
  } finally {
    proxy.close();
  }
}

export const RESUME_SCENARIOS = {
  resume: { run: resume, args: [] },
  'resume-mesh': { run: resume, args: ['--media', 'mesh'] },
};
