// The browser scenarios: each gets a fresh server and a fresh Chromium (see run.mjs). The
// calls here are peer to peer (`--media mesh`) unless they are about something else; sfu.mjs
// has the calls through the server.

import assert from 'node:assert/strict';
import {
  joinRoom,
  remoteTileIds,
  screenshot,
  selectedPairTypes,
  startServer,
  startTurn,
  waitForInboundGrowth,
  waitForRemoteVideo,
  waitInPage,
  WAIT_MS,
} from './lib.mjs';
import { MEETING_SCENARIOS } from './meeting.mjs';
import { RESUME_SCENARIOS } from './resume.mjs';
import { SFU_SCENARIOS } from './sfu.mjs';

/** The flags of a server whose calls are peer to peer. */
const MESH = ['--media', 'mesh'];

/** Two people in one room see and hear each other. */
async function twoPeople({ browser, server }) {
  const ann = await joinRoom(browser, server.url, 'standup', 'Ann');
  const bob = await joinRoom(browser, server.url, 'standup', 'Bob');
  for (const person of [ann, bob]) {
    await waitForRemoteVideo(person, 1);
    await waitForInboundGrowth(person, 'video');
    await waitForInboundGrowth(person, 'audio');
  }
  // The fake microphone beeps: Bob's page rings Ann's tile from the sound it receives.
  await waitInPage(bob, "Ann's tile ringed while she speaks", () =>
    document.querySelector('#video-grid .tile.speaking:not(.self)') !== null,
  );
}

/** Three people all see each other; one leaves and is dropped; a fourth gets everyone. */
async function threePeople({ browser, server }) {
  const ann = await joinRoom(browser, server.url, 'team', 'Ann');
  const bob = await joinRoom(browser, server.url, 'team', 'Bob');
  const cat = await joinRoom(browser, server.url, 'team', 'Cat');
  for (const person of [ann, bob, cat]) {
    await waitForRemoteVideo(person, 2);
    await waitForInboundGrowth(person, 'video');
  }
  await screenshot(ann, 'three-person-call');

  const catId = await cat.page.evaluate(() => window.roomCall.selfId());
  await cat.page.click('#leave');
  for (const person of [ann, bob]) {
    await waitInPage(
      person,
      `the tile of ${catId} is gone`,
      (id) => !document.querySelector(`#video-grid .tile[data-peer-id="${id}"]`),
      catId,
    );
    await waitForRemoteVideo(person, 1);
  }
  // Cat's page says she left and offers the way back.
  await waitInPage(cat, '"You left" with Rejoin', () => {
    const panel = document.querySelector('#left-panel');
    return !panel.hidden && panel.offsetParent !== null && document.activeElement?.id === 'rejoin';
  });
  await cat.page.click('#rejoin');
  await cat.page.waitForSelector('#join-button:not([disabled])', { timeout: WAIT_MS });

  const dan = await joinRoom(browser, server.url, 'team', 'Dan');
  await waitForRemoteVideo(dan, 2);
  await waitForInboundGrowth(dan, 'video');
  for (const person of [ann, bob]) await waitForRemoteVideo(person, 2);
  const annId = await ann.page.evaluate(() => window.roomCall.selfId());
  const bobId = await bob.page.evaluate(() => window.roomCall.selfId());
  assert.deepEqual(await remoteTileIds(dan), [annId, bobId].sort());
}

/** Chat reaches every page in one order; a nickname with HTML shows as text. */
async function chat({ browser, server }) {
  const people = [
    await joinRoom(browser, server.url, 'chat', '<b>Bold</b> Ann'),
    await joinRoom(browser, server.url, 'chat', 'Bob'),
    await joinRoom(browser, server.url, 'chat', 'Cat'),
  ];
  const lines = ['one from Ann', 'two from Bob', 'three from Cat', '<img src=x onerror=alert(1)>'];
  // All pages type at once (each its own lines in turn): the server's order is the one every
  // page must show.
  await Promise.all(
    people.map(async (person, index) => {
      for (const line of lines.filter((_, n) => n % people.length === index)) {
        await person.page.fill('#chat-input', line);
        await person.page.press('#chat-input', 'Enter');
      }
    }),
  );
  const transcripts = [];
  for (const person of people) {
    await waitInPage(
      person,
      `${lines.length} chat entries`,
      (count) => document.querySelectorAll('#chat-log li.chat-entry').length === count,
      lines.length,
    );
    transcripts.push(
      await person.page.$$eval('#chat-log li.chat-entry', (entries) =>
        entries.map((entry) => `${entry.dataset.seq} ${entry.querySelector('.chat-text').textContent}`),
      ),
    );
  }
  assert.deepEqual(transcripts[1], transcripts[0], 'Bob sees Ann\'s order');
  assert.deepEqual(transcripts[2], transcripts[0], 'Cat sees Ann\'s order');
  assert.deepEqual(transcripts[0].map((entry) => entry.split(' ')[0]), ['1', '2', '3', '4']);
  assert.deepEqual([...transcripts[0].map((entry) => entry.slice(2))].sort(), [...lines].sort());

  const bob = people[1];
  await waitInPage(
    bob,
    'Ann\'s HTML nickname shown as text',
    () =>
      [...document.querySelectorAll('#members .member-name')].some(
        (name) => name.textContent === '<b>Bold</b> Ann' && !name.querySelector('b'),
      ) &&
      [...document.querySelectorAll('#video-grid .tile-name')].some(
        (name) => name.textContent === '<b>Bold</b> Ann',
      ),
  );
  assert.equal(await bob.page.$$eval('#chat-log img', (images) => images.length), 0);
}

/** Mute and camera off show on the other pages; screen sharing keeps frames flowing. */
async function mediaControls({ browser, server }) {
  const ann = await joinRoom(browser, server.url, 'media', 'Ann');
  const bob = await joinRoom(browser, server.url, 'media', 'Bob');
  await waitForRemoteVideo(bob, 1);
  const annId = await ann.page.evaluate(() => window.roomCall.selfId());
  const annTile = (flag) => (args) => {
    const tile = document.querySelector(`#video-grid .tile[data-peer-id="${args.id}"]`);
    return tile !== null && tile.classList.contains(args.flag) === args.on;
  };

  await ann.page.click('#toggle-mic');
  await waitInPage(bob, 'Ann shown muted', annTile(), { id: annId, flag: 'audio-off', on: true });
  await ann.page.keyboard.press('v');
  await waitInPage(bob, 'Ann shown camera off', annTile(), { id: annId, flag: 'video-off', on: true });
  await ann.page.keyboard.press('m');
  await ann.page.click('#toggle-camera');
  await waitInPage(bob, 'Ann shown unmuted', annTile(), { id: annId, flag: 'audio-off', on: false });
  await waitInPage(bob, 'Ann shown camera on', annTile(), { id: annId, flag: 'video-off', on: false });

  // Ann shares her screen: at Bob's it takes the stage as "Ann is presenting", and her camera
  // stays a tile of its own, both playing.
  await ann.page.click('#share-screen');
  await waitInPage(ann, 'Ann is sharing', () =>
    document.querySelector('#share-screen').getAttribute('aria-pressed') === 'true',
  );
  await waitForRemoteVideo(bob, 2);
  await waitInPage(bob, "Ann's screen on the stage, named", (id) => {
    const tile = document.querySelector(`#video-grid .tile.on-stage[data-peer-id="screen:${id}"]`);
    return tile?.querySelector('.tile-name')?.textContent === 'Ann is presenting';
  }, annId);
  const sizes = await bob.page.$$eval('#video-grid .tile:not(.self)', (tiles) =>
    Object.fromEntries(tiles.map((tile) => {
      const video = tile.querySelector('video');
      return [tile.dataset.peerId, `${video.videoWidth}x${video.videoHeight}`];
    })),
  );
  assert.notEqual(sizes[`screen:${annId}`], sizes[annId], `two pictures: ${JSON.stringify(sizes)}`);
  await waitForInboundGrowth(bob, 'video');
  // Cat comes in while Ann shares: she gets the screen too (Ann, polite to the newcomer, adds it
  // once she has answered Cat's first offer).
  const cat = await joinRoom(browser, server.url, 'media', 'Cat');
  await waitForRemoteVideo(cat, 3);
  await waitInPage(cat, "Ann's screen at Cat's", (id) =>
    document.querySelector(`#video-grid .tile[data-peer-id="screen:${id}"] video`)?.videoWidth > 0,
  annId);
  await cat.page.click('#leave');
  await ann.page.click('#share-screen');
  await waitInPage(ann, 'Ann stopped sharing', () =>
    document.querySelector('#share-screen').getAttribute('aria-pressed') !== 'true',
  );
  await waitInPage(bob, "Ann's screen gone, her camera still there", (id) =>
    !document.querySelector(`#video-grid .tile[data-peer-id="screen:${id}"]`) &&
    document.querySelector(`#video-grid .tile[data-peer-id="${id}"] video`)?.videoWidth > 0, annId);
  await waitForRemoteVideo(bob, 1);
  await waitForInboundGrowth(bob, 'video');
}

/** A room at its cap refuses the next person with a visible message. */
async function roomFull({ browser, server }) {
  const ann = await joinRoom(browser, server.url, 'small', 'Ann');
  await joinRoom(browser, server.url, 'small', 'Bob');
  // Cat sees the room is full before pressing anything, and cannot press Join.
  const cat = await joinRoom(browser, server.url, 'small', 'Cat', { pressJoin: false });
  await waitInPage(cat, 'a visible "room is full (2 people)" before joining', () => {
    const occupancy = document.querySelector('#occupancy');
    return occupancy.offsetParent !== null && /full \(2 people\)/.test(occupancy.textContent);
  });
  assert.equal(await cat.page.$eval('#join-button', (button) => button.disabled), true);
  // A place frees up: Cat is told, and joins.
  await ann.page.click('#leave');
  await waitInPage(cat, 'a place is free', () =>
    /place is free/.test(document.querySelector('#status').textContent) &&
    !document.querySelector('#join-button').disabled,
  );
  await cat.page.click('#join-button');
  await cat.page.waitForFunction(() => window.roomCall.selfId(), null, { timeout: WAIT_MS });
}

/** The same call over https and wss with a self-signed certificate. */
async function tls({ browser, server }) {
  assert.ok(server.url.startsWith('https://'), server.url);
  await twoPeople({ browser, server });
}

/** The home page's room list follows the rooms live: created, counted, emptied, gone. */
async function lobby({ browser, server }) {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const home = { page: await context.newPage(), nickname: 'the home page', problems: [] };
  await home.page.goto(`${server.url}/`);
  const listed = (name, count) =>
    waitInPage(
      home,
      `"${name}" listed with "${count}"`,
      ([name, count]) =>
        [...document.querySelectorAll('#room-list .room-item')].some(
          (item) =>
            item.querySelector('.room-link')?.textContent === name &&
            item.querySelector('.room-count')?.textContent === count,
        ),
      [name, count],
    );

  const ann = await joinRoom(browser, server.url, 'standup', 'Ann');
  await listed('standup', '1 person');
  const bob = await joinRoom(browser, server.url, 'standup', 'Bob');
  await listed('standup', '2 people');
  await ann.page.click('#leave');
  await listed('standup', '1 person');
  await bob.page.click('#leave');
  await waitInPage(home, 'an empty list that says so', () => {
    const empty = document.querySelector('#rooms-empty');
    return document.querySelectorAll('#room-list .room-item').length === 0 && !empty.hidden;
  });

  // The server restarts: the list says it is not live, then comes back by itself.
  const { port } = new URL(server.url);
  await server.stop();
  await waitInPage(home, 'the list said not to be live', () =>
    document.querySelector('#status').textContent.startsWith('The room list is not live'),
  );
  const again = await startServer([], { port: Number(port) });
  try {
    await joinRoom(browser, again.url, 'after the restart', 'Cat');
    await listed('after the restart', '1 person');
  } finally {
    await again.stop();
  }
  assert.deepEqual(home.problems, []);
}

/** The address of the test namespace's own interface (see tests/browser.rs). */
const NAMESPACE_IP = '10.200.0.1';
/** The secret Room and coturn share in the TURN scenario. */
const TURN_SECRET = 'e2e-shared-secret';

/**
 * A call forced through a real TURN server (coturn with the TURN REST API): each page gets
 * its own login made from the shared secret, and both ends of the selected pair are relays.
 */
async function turnRelay({ browser, server }) {
  const turn = await startTurn(NAMESPACE_IP, TURN_SECRET);
  try {
    const ann = await joinRoom(browser, server.url, 'relayed', 'Ann');
    const bob = await joinRoom(browser, server.url, 'relayed', 'Bob');
    const logins = [];
    for (const person of [ann, bob]) {
      const servers = await person.page.evaluate(() =>
        JSON.parse(document.querySelector('#room-page').dataset.iceServers),
      );
      const [{ username, credential }] = servers;
      assert.match(username, /^\d+:[0-9a-f]{16}$/, 'a TURN REST login');
      assert.ok(credential, 'with a password');
      logins.push(username);
    }
    assert.notEqual(logins[0], logins[1], 'each page gets its own login');
    for (const person of [ann, bob]) {
      await waitForRemoteVideo(person, 1);
      await waitForInboundGrowth(person, 'video');
    }
    for (const person of [ann, bob]) {
      assert.deepEqual(await selectedPairTypes(person), [['relay', 'relay']]);
    }
  } catch (err) {
    throw new Error(`${err.message}\ncoturn log (last 20 lines):\n${turn.log.slice(-20).join('\n')}`);
  } finally {
    turn.stop();
  }
}

/** Every scenario: its function and the flags its server needs. */
export const SCENARIOS = {
  'two-people': { run: twoPeople, args: MESH },
  'three-people': { run: threePeople, args: MESH },
  chat: { run: chat, args: [] },
  'media-controls': { run: mediaControls, args: MESH },
  'room-full': { run: roomFull, args: ['--max-room-size', '2'] },
  tls: { run: tls, args: [...MESH, '--tls-self-signed'] },
  'sfu-tls': { run: tls, args: ['--tls-self-signed'] },
  lobby: { run: lobby, args: [] },
  'turn-relay': {
    run: turnRelay,
    args: [
      ...MESH,
      '--ice-server',
      `turn:${NAMESPACE_IP}:3478?transport=udp`,
      '--turn-secret',
      TURN_SECRET,
      '--ice-relay-only',
    ],
  },
  ...SFU_SCENARIOS,
  ...MEETING_SCENARIOS,
  ...RESUME_SCENARIOS,
};
