// The browser scenarios of calls through Room's media server (`--media sfu`, the default): each
// page has one connection, to the server, and receives the others through slots.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  health,
  inboundStreams,
  joinRoom,
  screenshot,
  selectedPairs,
  selfId,
  waitForDecodedCameras,
  waitForHealth,
  waitForInboundGrowth,
  waitForSelectedPairs,
  waitForRemoteVideo,
  waitInPage,
  waitUntil,
  WAIT_MS,
} from './lib.mjs';


/** Joins `names` to `room` one after the other; returns the people and their ids. */
async function joinAll(browser, server, room, names, options = {}) {
  const people = [];
  for (const name of names) people.push(await joinRoom(browser, server.url, room, name, options));
  return { people, ids: await Promise.all(people.map(selfId)) };
}

/** Waits until `count` of the page's inbound audio streams each receive more than before. */
async function waitForSound(person, count) {
  const before = Object.fromEntries(
    (await inboundStreams(person, 'audio')).map((stream) => [stream.mid, stream.bytesReceived]),
  );
  await waitUntil(person.nickname, `sound from ${count} members`, async () => {
    const growing = (await inboundStreams(person, 'audio')).filter(
      (stream) => stream.bytesReceived > (before[stream.mid] ?? 0),
    );
    return growing.length >= count;
  });
}

/**
 * Four people through the server: every page has one connection and decodes every other
 * page's camera and sound; the server gets all three layers of the cameras.
 */
async function sfuFour({ browser, server }) {
  const { people, ids } = await joinAll(browser, server, 'all-hands', ['Ann', 'Bob', 'Cat', 'Dan']);
  for (const [index, person] of people.entries()) {
    assert.equal(await person.page.evaluate(() => window.roomCall.mode()), 'sfu');
    await waitForDecodedCameras(person, ids.filter((_, other) => other !== index));
    await waitForRemoteVideo(person, 3);
    await waitForSound(person, 3);
    const connections = await person.page.evaluate(() => window.roomCall.peerConnections().size);
    assert.equal(connections, 1, `${person.nickname} has one connection, to the server`);
  }
  const first = (await health(server)).media.camera_layers_in;
  await waitForHealth(
    server,
    'packets of every simulcast layer arriving',
    ({ media }) => media.connected === 4 && media.camera_layers_in.every((n, layer) => n > first[layer]),
  );
  await screenshot(people[0], 'sfu-four-person-call');
}

/** The width of the frames a page decodes from the slot that carries `member`'s camera. */
async function decodedWidth(person, member) {
  const slots = await person.page.evaluate(() => [...window.roomCall.videoSlots()]);
  const mid = slots.find(([, slot]) => slot.member === member && slot.source === 'camera')?.[0];
  const stream = (await inboundStreams(person, 'video')).find((s) => s.mid === mid);
  return stream?.frameWidth ?? 0;
}

/** Waits until the frames `person` decodes of `member`'s camera are as wide as `fits` wants. */
async function waitForWidth(person, member, fits, what) {
  const deadline = Date.now() + WAIT_MS;
  let px = 0;
  while (!fits(px)) {
    if (Date.now() > deadline) {
      const tile = await person.page.evaluate((id) => {
        const node = document.querySelector(`#video-grid .tile[data-peer-id="${id}"]`);
        return node && { width: node.clientWidth, classes: node.className };
      }, member);
      throw new Error(`${person.nickname}: ${what}: still ${px} px, tile ${JSON.stringify(tile)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    px = await decodedWidth(person, member);
  }
}

/** A small tile gets a smaller layer than a large one: each is sent what it shows. */
async function sfuLayers({ browser, server }) {
  const ann = await joinRoom(browser, server.url, 'layers', 'Ann');
  const annId = await selfId(ann);
  // Ann keeps quiet: a dominant speaker is sent a layer above what the tile needs.
  await ann.page.click('#toggle-mic');
  const big = await joinRoom(browser, server.url, 'layers', 'Big', {
    viewport: { width: 1920, height: 1200 },
  });
  const small = await joinRoom(browser, server.url, 'layers', 'Small', {
    viewport: { width: 480, height: 360 },
  });
  for (const person of [big, small]) await waitForDecodedCameras(person, [annId]);
  // The layers settle as the tiles report their sizes and the bandwidth estimates grow. A
  // busy machine's Chromium may stop sending Ann's largest layer, so the large tile is only
  // asked to get a larger one than the small tile's.
  await waitForWidth(small, annId, (px) => px > 0 && px <= 320, "Ann's smallest layer in a small tile");
  await waitForWidth(big, annId, (px) => px > 320, "a larger layer of Ann's in a large tile");
  const [large, tiny] = [await decodedWidth(big, annId), await decodedWidth(small, annId)];
  assert.ok(large > tiny, `a large tile decodes ${large} px, a small one ${tiny} px`);
}

/**
 * A late joiner decodes everyone within 2 s of being in the room, and a leaver's tile is gone
 * from every page within 1 s.
 */
async function sfuJoinLeave({ browser, server }) {
  const { people, ids } = await joinAll(browser, server, 'drop-in', ['Ann', 'Bob', 'Cat']);
  for (const [index, person] of people.entries()) {
    await waitForDecodedCameras(person, ids.filter((_, other) => other !== index));
  }
  const dan = await joinRoom(browser, server.url, 'drop-in', 'Dan');
  const joinedAt = Date.now();
  await waitForDecodedCameras(dan, ids);
  const firstFrames = Date.now() - joinedAt;
  console.log(`the late joiner decoded every camera ${firstFrames} ms after joining`);
  assert.ok(firstFrames < 2000, `the late joiner waited ${firstFrames} ms for its first frames`);

  const [, bob, cat] = people;
  const catId = ids[2];
  const leftAt = Date.now();
  await cat.page.click('#leave');
  for (const person of [people[0], bob, dan]) {
    await waitInPage(
      person,
      `the tile of ${catId} is gone`,
      (id) => !document.querySelector(`#video-grid .tile[data-peer-id="${id}"]`),
      catId,
    );
  }
  const gone = Date.now() - leftAt;
  console.log(`the leaver's tile was gone from every page ${gone} ms after leaving`);
  assert.ok(gone < 1000, `the leaver's tile stayed ${gone} ms`);
}

/** A shared screen reaches everyone in a tile of its own while the camera goes on. */
async function sfuScreenShare({ browser, server }) {
  const { people, ids } = await joinAll(browser, server, 'demo', ['Ann', 'Bob', 'Cat']);
  const [ann, ...others] = people;
  const annId = ids[0];
  await ann.page.click('#share-screen');
  for (const person of others) {
    await waitInPage(
      person,
      "Ann's screen playing in its own tile",
      (id) => {
        const video = document.querySelector(`#video-grid .tile[data-peer-id="screen:${id}"] video`);
        return video !== null && video.videoWidth > 0 && !video.paused;
      },
      annId,
    );
    // The camera keeps going beside it.
    await waitForDecodedCameras(person, [annId]);
  }
  await ann.page.click('#share-screen');
  for (const person of others) {
    await waitInPage(
      person,
      "Ann's screen tile gone",
      (id) => !document.querySelector(`#video-grid .tile[data-peer-id="screen:${id}"]`),
      annId,
    );
  }
}

/**
 * A page refused its camera and microphone still sees and hears everyone: it offers only
 * mDNS-named candidates, and the server pairs with the address its checks come from.
 */
async function sfuWatchOnly({ browser, server }) {
  const { people, ids } = await joinAll(browser, server, 'webinar', ['Ann', 'Bob']);
  const watcher = await joinRoom(browser, server.url, 'webinar', 'Wes', { watchOnly: true });
  const wesId = await selfId(watcher);
  await waitForDecodedCameras(watcher, ids);
  await waitForSound(watcher, 2);
  for (const person of people) {
    await waitInPage(
      person,
      "Wes's tile, with his initial and no picture",
      (id) => document.querySelector(`#video-grid .tile[data-peer-id="${id}"].no-video`) !== null,
      wesId,
    );
  }
}

/**
 * With a firewall dropping UDP to the server's media port (a rule in the test's own network
 * namespace), pages connect to the server over TCP and decode video.
 */
async function sfuTcp({ browser, server }) {
  const { media } = await health(server);
  const port = String(Number(media.udp[0].split(':').pop()));
  execFileSync('iptables', ['-A', 'INPUT', '-p', 'udp', '--dport', port, '-j', 'DROP']);
  const { people, ids } = await joinAll(browser, server, 'firewalled', ['Ann', 'Tess']);
  for (const [index, person] of people.entries()) {
    await waitForDecodedCameras(person, ids.filter((_, other) => other !== index));
    await waitForSelectedPairs(person);
    const [pair] = await selectedPairs(person);
    const protocol = pair.remote.protocol;
    assert.equal(protocol, 'tcp', `${person.nickname}'s connection to the server runs over TCP`);
  }
}

/** The SFU scenarios: their functions and the flags their servers need. */
export const SFU_SCENARIOS = {
  'sfu-four': { run: sfuFour, args: [] },
  'sfu-layers': { run: sfuLayers, args: [] },
  'sfu-join-leave': { run: sfuJoinLeave, args: [] },
  'sfu-screen-share': { run: sfuScreenShare, args: [] },
  'sfu-watch-only': { run: sfuWatchOnly, args: [] },
  'sfu-tcp': { run: sfuTcp, args: [] },
};
