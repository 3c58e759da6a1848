// The browser scenarios of what people expect of a meeting: hosting it (the host's tools, a
// lock that keeps a newcomer out, a co-host, a host who reloads and is host again, removing
// someone, muting, ending for all), hands and reactions, and the chat's unread count.

import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { toneWav } from '../static/ui/device-check.js';
import {
  joinRoom,
  launchBrowser,
  screenshot,
  selfId,
  waitInPage,
  waitUntil,
  WAIT_MS,
} from './lib.mjs';


/** A selector for the member list's entry of `id` on a page. */
const entry = (id) => `#members [data-peer-id="${id}"]`;

/** Waits until `person`'s member list marks `id` with `role` ('host' or 'cohost'). */
const waitForRole = (person, id, role, what) =>
  waitForShown(person, `${entry(id)} .member-role.${role}`, what);

/** Waits until `selector` finds something on `person`'s page (or, with `shown` false, nothing). */
const waitForShown = (person, selector, what, shown = true) =>
  waitInPage(
    person,
    what,
    ([sel, want]) => (document.querySelector(sel) !== null) === want,
    [selector, shown],
  );

/** Waits until `person`'s page shows a message matching `pattern` in its banner. */
const waitForBanner = (person, pattern, what) =>
  waitInPage(
    person,
    what,
    (source) => {
      const banner = document.querySelector('#error');
      return banner !== null && !banner.hidden && new RegExp(source).test(banner.textContent);
    },
    pattern.source,
  );

async function hosting({ browser, server }) {
  const ann = await joinRoom(browser, server.url, 'hosted', 'Ann');
  const bob = await joinRoom(browser, server.url, 'hosted', 'Bob');
  const annId = await selfId(ann);
  const bobId = await selfId(bob);

  // Ann made the room, so she hosts it: she has the tools, Bob sees her marked and has none.
  await waitInPage(ann, 'the host tools', () => !document.querySelector('#host-tools').hidden);
  await waitForRole(bob, annId, 'host', 'Ann marked host');
  assert.equal(await bob.page.$eval('#host-tools', (tools) => tools.hidden), true);
  assert.equal(await bob.page.$$eval('#members .member-actions', (found) => found.length), 0);

  // Locked, the meeting keeps Cat out and says why.
  await ann.page.click('#lock-room');
  await waitInPage(bob, 'the meeting shown locked', () =>
    document.querySelector('#status').textContent.includes('locked'),
  );
  const cat = await joinRoom(browser, server.url, 'hosted', 'Cat', { expectJoined: false });
  await waitForBanner(cat, /locked/, 'a "locked" message');

  // Bob is made co-host: he gets the tools, but not "End for all".
  await ann.page.click(`${entry(bobId)} .cohost`);
  await waitInPage(bob, 'a co-host\'s tools', () =>
    !document.querySelector('#host-tools').hidden && document.querySelector('#end-meeting').hidden,
  );

  // Ann reloads: while she is gone Bob hosts; back with her token she is host again, though
  // the meeting is locked, and Bob co-host.
  await ann.page.reload();
  await ann.page.click('#join-button');
  await ann.page.waitForFunction(() => window.roomCall.selfId(), null, { timeout: WAIT_MS });
  const annAgain = await selfId(ann);
  assert.notEqual(annAgain, annId, 'a new connection');
  await waitForRole(bob, annAgain, 'host', 'Ann host again');
  await waitForRole(bob, bobId, 'cohost', 'Bob co-host again');

  // Unlocked, Cat gets in; Ann removes her, and Cat's page says so.
  await waitInPage(ann, 'Ann sees the meeting locked', () =>
    document.querySelector('#lock-room').getAttribute('aria-pressed') === 'true',
  );
  await ann.page.click('#lock-room');
  await waitInPage(ann, 'the meeting unlocked', () =>
    document.querySelector('#lock-room').getAttribute('aria-pressed') === 'false',
  );
  await cat.page.click('#join-button');
  await cat.page.waitForFunction(() => window.roomCall.selfId(), null, { timeout: WAIT_MS });
  const catId = await selfId(cat);
  await waitForShown(ann, entry(catId), 'Cat in the meeting');
  await ann.page.click(`${entry(catId)} .remove`);
  await waitForBanner(cat, /Ann removed you/, 'Cat told she was removed');
  await waitForShown(ann, entry(catId), 'Cat gone', false);

  // Ann ends the meeting for everyone.
  await ann.page.click('#end-meeting');
  await waitForBanner(bob, /Ann ended the meeting/, 'Bob told the meeting ended');
  await waitForBanner(ann, /ended the meeting/, 'Ann told the meeting ended');
}

/**
 * Waits until `person` hears member `id` (`heard` true) or does not: through the server, one of
 * its audio slots carries the member; in a mesh, sound came from the member over the last 1.5 s
 * (the fake microphone beeps once a second).
 */
async function waitForHeard(person, id, heard, what) {
  if ((await person.page.evaluate(() => window.roomCall.mode())) === 'sfu') {
    await waitInPage(
      person,
      what,
      ([member, want]) => [...window.roomCall.audioSlots().values()].includes(member) === want,
      [id, heard],
    );
    return;
  }
  let last = null;
  await waitUntil(person.nickname, what, async () => {
    const energy = await person.page.evaluate(async (member) => {
      const pc = window.roomCall.peerConnections().get(member);
      if (!pc) return null;
      let total = 0;
      (await pc.getStats()).forEach((report) => {
        if (report.type === 'inbound-rtp' && report.kind === 'audio') {
          total += report.totalAudioEnergy ?? 0;
        }
      });
      return total;
    }, id);
    if (energy === null) return false;
    const now = Date.now();
    if (last && now - last.at < 1500) return false;
    const before = last;
    last = { energy, at: now };
    return before !== null && energy - before.energy > 1e-6 === heard;
  });
}

/**
 * A host mutes a member for everyone: the member's page turns its microphone off and says who
 * did it, the others see it off, and its sound stops (the server stops forwarding it; in a
 * mesh, the page stops sending it); the host can only ask, and the member unmutes itself and
 * is heard again. "Mute all" spares the hosts.
 */
async function hostMute({ browser, server }) {
  const ann = await joinRoom(browser, server.url, 'quiet', 'Ann');
  const bob = await joinRoom(browser, server.url, 'quiet', 'Bob');
  const bobId = await selfId(bob);
  await waitForHeard(ann, bobId, true, "Bob's sound in one of Ann's slots");

  await ann.page.click(`${entry(bobId)} .mute`);
  await waitForBanner(bob, /Ann muted you/, 'Bob told Ann muted him');
  await waitInPage(bob, "Bob's mic button off", () =>
    document.querySelector('#toggle-mic').getAttribute('aria-pressed') === 'false',
  );
  await waitInPage(ann, "Bob's tile muted", ([sel]) => document.querySelector(sel) !== null, [
    `#video-grid .tile.audio-off[data-peer-id="${bobId}"]`,
  ]);
  await waitForHeard(ann, bobId, false, 'Bob no longer forwarded to Ann');

  await ann.page.click(`${entry(bobId)} .ask-unmute`);
  await waitForBanner(bob, /Ann asks you to unmute/, 'Bob asked to unmute');
  await bob.page.click('#error button');
  await waitForHeard(ann, bobId, true, 'Bob forwarded again once he unmuted');

  await ann.page.click('#mute-all');
  await waitForBanner(bob, /Ann muted you/, 'Bob muted by "Mute all"');
  await waitForHeard(ann, bobId, false, 'Bob not forwarded after "Mute all"');
  const annId = await selfId(ann);
  await waitForHeard(bob, annId, true, 'Ann, the host, still heard');
}

/**
 * Hands and reactions: Bob raises his hand with the H key and Ann sees it on his tile and in
 * the list; his reaction shows on his tile on Ann's page; Cat raises hers after him, and
 * everyone sees them numbered in that order; Ann, the host, lowers Bob's, and Cat's is first.
 */
async function hands({ browser, server }) {
  const ann = await joinRoom(browser, server.url, 'talk', 'Ann');
  const bob = await joinRoom(browser, server.url, 'talk', 'Bob');
  const bobId = await selfId(bob);
  const tile = `#video-grid .tile[data-peer-id="${bobId}"]`;
  await waitForShown(ann, tile, "Bob's tile");

  await bob.page.keyboard.press('h');
  await waitInPage(ann, "Bob's hand on his tile", ([sel]) =>
    document.querySelector(`${sel} .tile-hand`)?.textContent === '✋ 1', [tile]);
  await waitForShown(ann, `${entry(bobId)} .member-hand`, "Bob's hand in the list");
  await waitInPage(bob, "Bob's hand button pressed", () =>
    document.querySelector('#raise-hand').getAttribute('aria-pressed') === 'true',
  );

  await bob.page.click('#react');
  await bob.page.click('#reaction-picker [data-emoji="🎉"]');
  await waitInPage(ann, "Bob's 🎉 on his tile", ([sel]) =>
    document.querySelector(`${sel} .tile-reaction`)?.textContent === '🎉', [tile]);

  // Cat raises hers after Bob: everyone sees the order, and it moves up when Bob's goes down.
  const cat = await joinRoom(browser, server.url, 'talk', 'Cat');
  const catId = await selfId(cat);
  await cat.page.click('#raise-hand');
  for (const person of [ann, bob]) {
    await waitInPage(person, 'Bob first, Cat second', ([ids, want]) =>
      ids.every((id, i) =>
        document.querySelector(`#video-grid .tile[data-peer-id="${id}"] .tile-hand`)
          ?.textContent === want[i]),
    [[bobId, catId], ['✋ 1', '✋ 2']]);
  }

  await ann.page.click(`${entry(bobId)} .lower-hand`);
  await waitInPage(bob, 'Bob told his hand is down', () =>
    document.querySelector('#raise-hand').getAttribute('aria-pressed') === 'false',
  );
  await waitForShown(ann, `${entry(bobId)} .member-hand`, "Bob's hand gone from the list", false);
  await waitInPage(bob, "Cat's hand first now", (id) =>
    document.querySelector(`#video-grid .tile[data-peer-id="${id}"] .tile-hand`)?.textContent ===
    '✋ 1', catId);
}

/**
 * Messages that come while Ann's chat is scrolled back are counted on the chat's heading and
 * in the tab's title, until she scrolls to the end; her own never count.
 */
async function chatUnread({ browser, server }) {
  const ann = await joinRoom(browser, server.url, 'unread', 'Ann');
  const bob = await joinRoom(browser, server.url, 'unread', 'Bob');
  const say = async (person, text) => {
    await person.page.fill('#chat-input', text);
    await person.page.press('#chat-input', 'Enter');
  };
  for (let n = 1; n <= 30; n += 1) await say(bob, `line ${n}`);
  await waitForShown(ann, '#chat-log [data-seq="30"]', 'all 30 lines on Ann\'s page');
  const badgeHidden = () => ann.page.$eval('#chat-unread', (badge) => badge.hidden);
  assert.equal(await badgeHidden(), true, 'seen as they came');
  const scroll = (person, toEnd) =>
    person.page.$eval(
      '#chat-log',
      (log, end) => {
        log.scrollTop = end ? log.scrollHeight : 0;
      },
      toEnd,
    );
  await scroll(ann, false);
  await say(bob, 'while you scrolled back');
  await waitInPage(ann, 'one unread on the badge and in the title', () => {
    const badge = document.querySelector('#chat-unread');
    return !badge.hidden && badge.textContent === '1' && document.title.startsWith('(1) ');
  });
  await say(bob, 'and another');
  await waitInPage(ann, 'two unread', () =>
    document.querySelector('#chat-unread').textContent === '2',
  );
  await scroll(ann, true);
  await waitInPage(ann, 'read once scrolled to the end', () =>
    document.querySelector('#chat-unread').hidden && !document.title.startsWith('('),
  );
  // Her own message takes her to the end: nothing is left unread.
  await scroll(ann, false);
  await say(ann, 'mine');
  await waitForShown(ann, '#chat-log .chat-entry.mine', 'her own message');
  assert.equal(await badgeHidden(), true);
}

/**
 * Camera and microphone refused: the pickers say they are blocked (not missing), the page
 * says how to allow them, and once allowed "Try again" starts them without a reload.
 */
async function blockedDevices({ browser, server }) {
  const ann = await joinRoom(browser, server.url, 'blocked', 'Ann', {
    watchOnly: true,
    pressJoin: false,
  });
  await waitInPage(ann, 'the pickers say blocked', () =>
    document.querySelector('#camera-select').textContent.includes('Camera blocked') &&
    document.querySelector('#mic-select').textContent.includes('Microphone blocked'),
  );
  await waitInPage(ann, 'how to allow them, and Try again', () =>
    /blocked/.test(document.querySelector('#media-error').textContent) &&
    !document.querySelector('#media-retry').hidden,
  );
  await ann.page.evaluate(() => {
    window.roomAllowMedia = true;
  });
  await ann.page.click('#media-retry');
  await waitInPage(ann, 'the camera in the preview and the problem gone', () => {
    const preview = document.querySelector('#preview');
    return (
      preview.srcObject?.getVideoTracks().length === 1 &&
      document.querySelector('#media-error').hidden &&
      document.querySelector('#media-retry').hidden
    );
  });
}

/** On a 1280×800 screen, opening Settings in a call keeps the chat's input on screen. */
async function settingsLayout({ browser, server }) {
  const ann = await joinRoom(browser, server.url, 'layout', 'Ann');
  await joinRoom(browser, server.url, 'layout', 'Bob');
  await ann.page.click('#toggle-settings');
  await waitInPage(ann, 'settings open, the chat input wholly on screen', () => {
    const inView = (node) => {
      const box = node.getBoundingClientRect();
      return box.height > 0 && box.top >= 0 && box.bottom <= window.innerHeight;
    };
    const settings = document.querySelector('#settings');
    return !settings.hidden && inView(document.querySelector('#chat-input')) &&
      inView(document.querySelector('#chat-send'));
  });
}

/** The names the home page `person` lists. */
const listedOn = (person) =>
  person.page.$$eval('#room-list .room-link', (links) => links.map((a) => a.textContent));

/** Waits until the home page `person` lists `name`. */
const waitForListed = (person, name, what) =>
  waitInPage(
    person,
    what,
    (room) =>
      [...document.querySelectorAll('#room-list .room-link')].some((a) => a.textContent === room),
    name,
  );

/**
 * "New meeting" opens a room named in seven words that the home page does not list, while a
 * room made by its typed name is listed; the host lists the meeting and it shows up.
 */
async function newMeeting({ browser, server }) {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const home = { page: await context.newPage(), nickname: 'the home page', problems: [] };
  await home.page.goto(`${server.url}/`);

  const annContext = await browser.newContext({
    ignoreHTTPSErrors: true,
    permissions: ['camera', 'microphone'],
  });
  const ann = { page: await annContext.newPage(), nickname: 'Ann', problems: [] };
  await ann.page.goto(`${server.url}/`);
  await ann.page.click('#new-meeting');
  await ann.page.waitForURL(/\/room\/[a-z]+(-[a-z]+){6}\?new$/, { timeout: WAIT_MS });
  await ann.page.click('#join-button');
  await ann.page.waitForFunction(() => window.roomCall.selfId(), null, { timeout: WAIT_MS });
  const meeting = await ann.page.$eval('#room-page', (node) => node.dataset.room);

  // A room made by name is listed; the new meeting, made before it, is not.
  await joinRoom(browser, server.url, 'open house', 'Bob');
  await waitForListed(home, 'open house', '"open house" listed');
  assert.deepEqual(await listedOn(home), ['open house'], `${meeting} is not listed`);

  await ann.page.click('#list-room');
  await waitForListed(home, meeting, 'the meeting listed once its host lists it');
}

/** Presses Join on `person`'s page with `password` typed in the password field. */
async function joinWithPassword(person, password) {
  await person.page.fill('#meeting-password', password);
  await person.page.click('#join-button');
}

/**
 * A password and a waiting room: Bob must give the password, then waits until Ann lets him
 * in; Cat, with the password too, is turned away.
 */
async function waitingRoom({ browser, server }) {
  const ann = await joinRoom(browser, server.url, 'gate', 'Ann');
  await ann.page.fill('#password-input', 'tulip 42');
  await ann.page.click('#set-password');
  await waitInPage(ann, 'the password set', () =>
    document.querySelector('#set-password').textContent === 'Change',
  );
  await ann.page.click('#waiting-room');
  await waitInPage(ann, 'the waiting room on', () =>
    document.querySelector('#waiting-room').getAttribute('aria-pressed') === 'true',
  );

  const bob = await joinRoom(browser, server.url, 'gate', 'Bob', { expectJoined: false });
  await waitForShown(bob, '#password-field:not([hidden])', 'the password asked for');
  await joinWithPassword(bob, 'tulip 41');
  await waitForBanner(bob, /not the password/, 'a wrong password said so');
  await joinWithPassword(bob, 'tulip 42');
  await waitInPage(bob, 'Bob waits to be let in', () =>
    document.querySelector('#status').textContent.startsWith('Waiting for a host'),
  );
  await waitForShown(ann, '#waiting-list .waiting', 'Bob in Ann\'s waiting list');
  await ann.page.click('#waiting-list .admit');
  await bob.page.waitForFunction(() => window.roomCall.selfId(), null, { timeout: WAIT_MS });
  await waitForShown(ann, '#waiting-panel[hidden]', 'the waiting list empty again');

  const cat = await joinRoom(browser, server.url, 'gate', 'Cat', { expectJoined: false });
  await waitForShown(cat, '#password-field:not([hidden])', 'the password asked of Cat');
  await joinWithPassword(cat, 'tulip 42');
  await waitForShown(ann, '#waiting-list .waiting', 'Cat in Ann\'s waiting list');
  await ann.page.click('#waiting-list .deny');
  await waitForBanner(cat, /did not let you in/, 'Cat told she was not let in');
}

/** Waits until `person`'s stage shows the tile `tileId` (null: no stage, every tile alike). */
const waitForStage = (person, tileId, what) =>
  waitInPage(
    person,
    what,
    (id) => {
      const staged = [...document.querySelectorAll('#video-grid .tile.on-stage')];
      const grid = document.querySelector('#video-grid');
      if (id === null) return staged.length === 0 && !grid.classList.contains('staged');
      const onStage = staged.length === 1 && staged[0].dataset.peerId === id;
      return onStage && grid.classList.contains('staged');
    },
    tileId,
  );

/**
 * The stage: speaker view puts someone on it, a pin chooses who for oneself, a shared screen
 * takes it with "… is presenting", a host's spotlight chooses for everyone, and back in the
 * grid with none of these every tile is alike again.
 */
async function stage({ browser, server }) {
  const ann = await joinRoom(browser, server.url, 'stage', 'Ann');
  const bob = await joinRoom(browser, server.url, 'stage', 'Bob');
  const cat = await joinRoom(browser, server.url, 'stage', 'Cat');
  const [bobId, catId] = [await selfId(bob), await selfId(cat)];
  await waitForShown(ann, `#video-grid .tile[data-peer-id="${catId}"]`, "Cat's tile");
  await waitForStage(ann, null, 'a grid of equals at first');

  await ann.page.click('#view-mode');
  await waitInPage(ann, 'someone else on the stage in speaker view', () => {
    const staged = document.querySelector('#video-grid .tile.on-stage');
    return staged !== null && !staged.classList.contains('self');
  });

  await ann.page.click(`#video-grid .tile[data-peer-id="${catId}"] .tile-pin`);
  await waitForStage(ann, catId, 'Cat pinned to the stage');
  await ann.page.click(`#video-grid .tile[data-peer-id="${catId}"] .tile-pin`);
  await ann.page.click('#view-mode');
  await waitForStage(ann, null, 'unpinned, in the grid again');

  await bob.page.click('#share-screen');
  await waitForStage(ann, `screen:${bobId}`, "Bob's screen on the stage");
  const label = await ann.page.$eval(
    `#video-grid .tile[data-peer-id="screen:${bobId}"] .tile-name`,
    (node) => node.textContent,
  );
  assert.equal(label, 'Bob is presenting');
  const bobTile = `#video-grid .tile[data-peer-id="${bobId}"]`;
  await waitForShown(ann, bobTile, "Bob's camera still a tile");

  await ann.page.click(`${entry(catId)} .spotlight`);
  await waitForStage(bob, catId, 'Cat spotlit on Bob\'s stage, over his own screen');
  await waitForStage(ann, catId, 'Cat spotlit on Ann\'s stage');
  await ann.page.click(`${entry(catId)} .spotlight`);
  await bob.page.click('#share-screen');
  await waitForStage(ann, null, 'no spotlight, no screen: the grid again');
}

/**
 * The keyboard: focus lands on the first control after joining; the microphone button keeps
 * its name and says its state; ? lists the shortcuts, C goes to the chat; and Settings turn
 * the single-key shortcuts off.
 */
async function keyboard({ browser, server }) {
  const ann = await joinRoom(browser, server.url, 'keys', 'Ann');
  const mic = (property) =>
    ann.page.$eval('#toggle-mic', (button, name) => button.getAttribute(name), property);
  await waitInPage(ann, 'focus in the call, not on the page', () =>
    document.querySelector('#stage').contains(document.activeElement),
  );
  assert.equal(await mic('aria-label'), 'Microphone');
  assert.equal(await mic('aria-pressed'), 'true');
  await ann.page.keyboard.press('m');
  await waitInPage(ann, 'the microphone off', () =>
    document.querySelector('#toggle-mic').getAttribute('aria-pressed') === 'false',
  );
  assert.equal(await mic('aria-label'), 'Microphone', 'the same name, on or off');

  await ann.page.keyboard.press('?');
  await waitInPage(ann, 'the shortcuts listed', () =>
    document.querySelector('#shortcuts-dialog').open,
  );
  await ann.page.keyboard.press('Escape');
  await waitInPage(ann, 'the list closed', () => !document.querySelector('#shortcuts-dialog').open);
  await ann.page.keyboard.press('c');
  await waitInPage(ann, 'C goes to the chat', () => document.activeElement?.id === 'chat-input');

  await ann.page.click('#toggle-settings');
  await ann.page.click('#shortcuts-on');
  await ann.page.click('#toggle-mic');
  await waitInPage(ann, 'the microphone on again', () =>
    document.querySelector('#toggle-mic').getAttribute('aria-pressed') === 'true',
  );
  await ann.page.keyboard.press('m');
  await ann.page.keyboard.press('?');
  assert.equal(await mic('aria-pressed'), 'true', 'M does nothing with shortcuts off');
  assert.equal(await ann.page.$eval('#shortcuts-dialog', (dialog) => dialog.open), false);
}

/** Waits until `person`'s tile of `id` carries a connection mark of `mark`, with its numbers. */
const waitForQuality = (person, id, mark, what) =>
  waitInPage(
    person,
    what,
    ([member, want]) => {
      const quality = document.querySelector(
        `#video-grid .tile[data-peer-id="${member}"] .tile-quality`,
      );
      return quality?.dataset.quality === want && /lost, \d+ ms$/.test(quality.title);
    },
    [id, mark],
  );

/** Each remote tile gets a connection mark: on loopback, good, with loss and round trip. */
async function quality({ browser, server }) {
  const ann = await joinRoom(browser, server.url, 'quality', 'Ann');
  const bob = await joinRoom(browser, server.url, 'quality', 'Bob');
  await waitForQuality(ann, await selfId(bob), 'good', "Bob's tile marked good");
  await waitForQuality(bob, await selfId(ann), 'good', "Ann's tile marked good");
}

/**
 * Before joining and in the call's settings, the microphone's meter moves with its sound and
 * the speaker test plays its tone to the end.
 */
async function deviceCheck({ browser, server }) {
  const ann = await joinRoom(browser, server.url, 'check', 'Ann', { pressJoin: false });
  // Sound starts once the person did something on the page.
  await ann.page.click('#prejoin-heading');
  const meterMoves = (what) =>
    waitInPage(ann, what, () => document.querySelector('#mic-level').value > 0.01);
  await meterMoves('the meter moves with the fake microphone before joining');
  await ann.page.click('#speaker-test');
  await waitInPage(ann, 'the tone playing', () =>
    document.querySelector('#speaker-test').textContent === 'Playing…',
  );
  await waitInPage(ann, 'the tone played to its end', () => {
    const test = document.querySelector('#speaker-test');
    return test.textContent === 'Test speaker' && !test.disabled;
  });
  await ann.page.click('#join-button');
  await ann.page.waitForFunction(() => window.roomCall.selfId(), null, { timeout: WAIT_MS });
  await ann.page.click('#toggle-settings');
  await waitForShown(ann, '#settings #mic-level', 'the meter in the settings');
  await meterMoves('the meter moves in the call');
}

/** Where `selector` is drawn on `person`'s page, and the window's size. */
const box = (person, selector) =>
  person.page.$eval(selector, (node) => {
    const { top, bottom, left, right, width, height } = node.getBoundingClientRect();
    return { top, bottom, left, right, width, height, vw: innerWidth, vh: innerHeight };
  });

/** Whether `b` lies wholly within the window. */
const onScreen = (b) =>
  b.height > 0 && b.top >= 0 && b.left >= 0 && b.bottom <= b.vh && b.right <= b.vw;

/**
 * A phone, upright and on its side: Join is on screen before joining; in the call the
 * controls are one bar, the others' tiles are big enough to see, the page does not scroll,
 * and the chat opens as a panel of its own with its input on screen.
 */
async function phone({ browser, server }) {
  await joinRoom(browser, server.url, 'pocket', 'Ann');
  for (const [orientation, viewport, minTile] of [
    ['portrait', { width: 390, height: 844 }, { width: 300, height: 160 }],
    ['landscape', { width: 844, height: 390 }, { width: 240, height: 135 }],
  ]) {
    const bob = await joinRoom(browser, server.url, 'pocket', `Bob ${orientation}`, {
      viewport,
      pressJoin: false,
    });
    await waitForShown(bob, '#join-button:not([disabled])', 'Join ready');
    const join = await box(bob, '#join-button');
    assert.ok(onScreen(join), `${orientation}: Join on screen: ${JSON.stringify(join)}`);
    await screenshot(bob, `phone-${orientation}-prejoin`);
    await bob.page.click('#join-button');
    await bob.page.waitForFunction(() => window.roomCall.selfId(), null, { timeout: WAIT_MS });
    await waitForShown(bob, '#video-grid .tile:not(.self) video', "Ann's tile");
    await waitInPage(bob, 'the tiles laid out', () => {
      const tile = document.querySelector('#video-grid .tile:not(.self)');
      return tile.getBoundingClientRect().width > 100;
    });
    const controls = await box(bob, '.controls');
    assert.ok(
      onScreen(controls) && controls.height <= 72,
      `${orientation}: one bar of controls: ${JSON.stringify(controls)}`,
    );
    const tile = await box(bob, '#video-grid .tile:not(.self)');
    assert.ok(onScreen(tile), `${orientation}: Ann's tile on screen: ${JSON.stringify(tile)}`);
    assert.ok(
      tile.width >= minTile.width && tile.height >= minTile.height,
      `${orientation}: Ann's tile at least ${JSON.stringify(minTile)}: ${JSON.stringify(tile)}`,
    );
    const scrolls = await bob.page.evaluate(
      () => document.scrollingElement.scrollHeight > innerHeight + 1,
    );
    assert.equal(scrolls, false, `${orientation}: the page does not scroll`);
    await screenshot(bob, `phone-${orientation}-call`);
    await bob.page.click('#toggle-chat');
    await waitInPage(bob, 'the chat as a panel, its input on screen', () => {
      const input = document.querySelector('#chat-input').getBoundingClientRect();
      return input.height > 0 && input.top >= 0 && input.bottom <= innerHeight;
    });
    await screenshot(bob, `phone-${orientation}-chat`);
    await bob.page.click('#close-sidebar');
    await bob.page.click('#leave');
  }
}

/** A WAV file of the speaker test's tone, or of as much silence, for a fake microphone. */
async function fakeMicrophoneFile(dir, name, silent) {
  const wav = Buffer.from(await toneWav().arrayBuffer());
  if (silent) wav.fill(0, 44);
  const path = join(dir, name);
  writeFileSync(path, wav);
  return path;
}

/**
 * Who speaks, through the server: Ann's fake microphone plays a tone, Bob's and Cat's play
 * silence (browsers of their own, each with its file). Every page rings Ann's tile as the one
 * speaking, and never Cat's.
 */
async function activeSpeaker({ server }) {
  const dir = mkdtempSync(join(tmpdir(), 'room-speaker-'));
  const fake = (path) => [`--use-file-for-fake-audio-capture=${path}`];
  const loud = await launchBrowser(fake(await fakeMicrophoneFile(dir, 'tone.wav', false)));
  const quiet = await launchBrowser(fake(await fakeMicrophoneFile(dir, 'silence.wav', true)));
  try {
    const ann = await joinRoom(loud.browser, server.url, 'talk', 'Ann');
    const bob = await joinRoom(quiet.browser, server.url, 'talk', 'Bob');
    const cat = await joinRoom(quiet.browser, server.url, 'talk', 'Cat');
    const [annId, catId] = [await selfId(ann), await selfId(cat)];
    // From the moment Cat's tile is on Bob's page, Bob's page notes if it is ever ringed.
    const catTile = `#video-grid .tile[data-peer-id="${catId}"]`;
    await waitForShown(bob, catTile, "Cat's tile on Bob's page");
    await bob.page.evaluate((id) => {
      const tile = document.querySelector(`#video-grid .tile[data-peer-id="${id}"]`);
      window.catRinged = tile.classList.contains('speaking');
      new MutationObserver(() => {
        if (tile.classList.contains('speaking')) window.catRinged = true;
      }).observe(tile, { attributes: true, attributeFilter: ['class'] });
    }, catId);
    for (const person of [bob, cat]) {
      await waitInPage(
        person,
        "Ann's tile ringed as the speaker",
        (id) => document.querySelector(`#video-grid .tile.dominant[data-peer-id="${id}"]`) !== null,
        annId,
      );
    }
    // By the time the server has found Ann speaking, it has heard Cat's silence as long.
    const catRinged = await bob.page.evaluate(() => window.catRinged);
    assert.equal(catRinged, false, 'Cat, silent, never ringed');
  } finally {
    await loud.close();
    await quiet.close();
  }
}

export const MEETING_SCENARIOS = {
  'active-speaker': { run: activeSpeaker, args: [] },
  phone: { run: phone, args: [] },
  'device-check': { run: deviceCheck, args: [] },
  quality: { run: quality, args: [] },
  'quality-mesh': { run: quality, args: ['--media', 'mesh'] },
  keyboard: { run: keyboard, args: [] },
  stage: { run: stage, args: [] },
  'waiting-room': { run: waitingRoom, args: [] },
  'new-meeting': { run: newMeeting, args: [] },
  'settings-layout': { run: settingsLayout, args: [] },
  'blocked-devices': { run: blockedDevices, args: [] },
  'chat-unread': { run: chatUnread, args: [] },
  hands: { run: hands, args: [] },
  hosting: { run: hosting, args: [] },
  'host-mute': { run: hostMute, args: [] },
  'host-mute-mesh': { run: hostMute, args: ['--media', 'mesh'] },
};
