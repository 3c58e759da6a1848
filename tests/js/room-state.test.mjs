// The room state the page keeps, fed the frames the core's fixtures say a client receives.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { RoomState } from '../../static/room-state.js';
import { coreFixtures, receivedFrames } from './fixtures.mjs';
import { readFileSync } from 'node:fs';

const fixture = (name) =>
  receivedFrames(readFileSync(new URL(`../../fixtures/core/${name}`, import.meta.url), 'utf8'));

/** A state for the room of `frames` (the first `joined` names it), fed them all. */
function fed(frames) {
  const room = frames.find((frame) => frame.type === 'joined')?.room ?? 'none';
  const state = new RoomState(room);
  const changes = [];
  state.addEventListener('change', (ev) => changes.push(ev.detail));
  for (const frame of frames) {
    state.apply(frame);
    const seqs = state.transcript().map((entry) => entry.seq);
    assert.deepEqual(seqs, [...new Set(seqs)].sort((a, b) => a - b), 'the transcript is in seq order');
    if (state.inRoom) assert.ok(state.members.has(state.selfId), 'a member is in its own room');
  }
  return { state, changes };
}

test('every client of every core fixture can be followed', () => {
  for (const { file, frames } of coreFixtures()) {
    for (const [client, list] of frames) {
      assert.doesNotThrow(() => fed(list), `${file}: ${client}`);
    }
  }
});

test('three people chatting: each page has the members in join order and all eight chats', () => {
  const frames = fixture('three-person-chat.conv');
  for (const client of ['alice', 'bob', 'carol']) {
    const { state } = fed(frames.get(client));
    assert.equal(state.inRoom, true, client);
    assert.deepEqual([...state.members.keys()].sort(), ['$alice', '$bob', '$carol']);
    assert.deepEqual(state.transcript().map((entry) => entry.seq), [1, 2, 3, 4, 5, 6, 7, 8]);
  }
  const { state } = fed(frames.get('alice'));
  assert.equal(state.members.get('$bob').name, 'Bob');
  assert.equal(state.selfName, 'Alice');
});

test('a refused chat and a refused join are reported, not applied', () => {
  const { changes } = fed(fixture('three-person-chat.conv').get('carol'));
  const refused = changes.filter((change) => change.what === 'refused');
  assert.deepEqual(refused.map((change) => change.error.code), ['invalid_text']);
  const full = fed(fixture('room-full.conv').get('carol')).changes.find((c) => c.what === 'refused');
  assert.equal(full.error.code, 'room_full');
  assert.equal(full.error.limit, 2, 'the limit comes as a field');
});

test('the lobby count follows room lists and room updates for this room only', () => {
  const state = new RoomState('standup');
  state.apply({ type: 'welcome', id: 'p1', name: 'Guest 1', rooms: [{ name: 'standup', count: 2 }] });
  assert.equal(state.occupancy, 2);
  state.apply({ type: 'room', name: 'other', count: 5 });
  assert.equal(state.occupancy, 2);
  state.apply({ type: 'room', name: 'standup', count: 0 });
  assert.equal(state.occupancy, 0);
});

test('members leave, rename and change media, with events saying so', () => {
  const state = new RoomState('r');
  const seen = [];
  state.addEventListener('change', (ev) => seen.push(ev.detail.what));
  state.apply({ type: 'welcome', id: 'p2', name: 'Guest 2', rooms: [] });
  state.apply({
    type: 'joined',
    room: 'r',
    peers: [{ id: 'p1', name: 'Ann', audio: true, video: false }],
    history: [{ seq: 1, from: 'p1', name: 'Ann', text: 'hi', ts: 1 }],
  });
  assert.deepEqual([...state.members.keys()], ['p1', 'p2']);
  assert.equal(state.transcript()[0].text, 'hi');
  state.apply({ type: 'nickname', id: 'p1', name: 'Annie' });
  assert.equal(state.nameOf('p1'), 'Annie');
  state.apply({ type: 'media', id: 'p1', audio: false, video: true });
  assert.equal(state.members.get('p1').video, true);
  state.apply({ type: 'chat', seq: 1, from: 'p1', name: 'Ann', text: 'again', ts: 2 });
  assert.equal(state.chat.size, 1, 'an entry already there is not taken twice');
  state.apply({ type: 'peer_left', id: 'p1' });
  assert.deepEqual([...state.members.keys()], ['p2']);
  assert.equal(state.nameOf('p1'), 'Someone');
  assert.deepEqual(seen, ['welcome', 'occupancy', 'joined', 'member', 'member', 'member-left']);
});

test('the media mode comes from welcome, and who speaks from speaking frames of members', () => {
  const state = new RoomState('r');
  state.apply({ type: 'welcome', id: 'p1', name: 'Guest 1', version: 2, media: 'sfu', rooms: [] });
  assert.equal(state.media, 'sfu');
  const speaking = [];
  state.addEventListener('change', (ev) => {
    if (ev.detail.what === 'speaking') speaking.push([ev.detail.speaking, ev.detail.dominant]);
  });
  state.apply({ type: 'speaking', speaking: ['p2'], dominant: 'p2' });
  assert.deepEqual(speaking, [], 'not in the room yet');
  state.apply({ type: 'joined', room: 'r', peers: [{ id: 'p2', name: 'Bob' }], history: [] });
  state.apply({ type: 'speaking', speaking: ['p2', 'p9'], dominant: 'p9' });
  assert.deepEqual(speaking, [[['p2'], null]], 'someone not in the room is left out');
  state.apply({ type: 'welcome', id: 'p3', name: 'Guest 3', version: 2, media: 'mesh', rooms: [] });
  assert.equal(state.media, 'mesh');
  assert.deepEqual([state.speaking, state.dominant], [[], null]);
});

test('hosting: who hosts, the lock and the token follow the hosts fixture', () => {
  const frames = fixture('hosts.conv');
  const bob = fed(frames.get('bob'));
  const locks = bob.changes.filter((change) => change.what === 'locked').map((c) => c.locked);
  assert.deepEqual(locks, [true, false]);
  assert.equal(bob.changes.filter((change) => change.what === 'ended').length, 1);
  // Bob joined the room anew after it ended, and hosts it alone.
  assert.deepEqual(bob.state.hosts, ['$bob']);
  assert.equal(bob.state.roleOf('$bob'), 'host');
  assert.equal(bob.state.hostToken, '$_', 'the token of the room he hosts now');
  const ann = fed(frames.get('ann'));
  assert.equal(ann.state.hostToken, '$token');
  assert.deepEqual(ann.state.hosts, ['$ann', '$bob'], 'Bob was named co-host');
  assert.equal(ann.state.roleOf('$bob'), 'cohost');
  assert.equal(ann.state.roleOf('$cat'), 'member');
  const cat = fed(frames.get('cat'));
  const removed = cat.changes.find((change) => change.what === 'removed');
  assert.ok(removed, 'Cat hears she was removed');
  assert.equal(cat.state.inRoom, false);
  assert.deepEqual(cat.state.hosts, []);
});

test('two members of one name are told apart by their labels, in join order', () => {
  const state = new RoomState('team');
  state.apply({ type: 'welcome', id: 'p1', name: 'Ann', rooms: [] });
  state.apply({ type: 'joined', room: 'team', peers: [{ id: 'p0', name: 'Ann' }], history: [] });
  state.apply({ type: 'peer_joined', peer: { id: 'p2', name: 'Ann' } });
  state.apply({ type: 'peer_joined', peer: { id: 'p3', name: 'Bob' } });
  const labels = () => [...state.members.values()].map((m) => m.label);
  assert.deepEqual(labels(), ['Ann', 'Ann (2)', 'Ann (3)', 'Bob']);
  state.apply({ type: 'nickname', id: 'p1', name: 'Annie' });
  assert.deepEqual(labels(), ['Ann', 'Annie', 'Ann (2)', 'Bob']);
  state.apply({ type: 'peer_left', id: 'p0' });
  assert.deepEqual(labels(), ['Annie', 'Ann', 'Bob']);
});

test('a page that resumes keeps its members and takes each chat it missed once', () => {
  const frames = fixture('resume.conv');
  // The session holds the new connection's welcome while it resumes, and its refusals too.
  const resuming = frames.get('bob2').filter((f) => f.type !== 'welcome' && f.type !== 'error');
  const { state, changes } = fed([...frames.get('bob'), ...resuming]);
  assert.equal(state.selfId, '$bob');
  assert.equal(state.inRoom, true);
  assert.deepEqual([...state.members.keys()], ['$ann', '$bob']);
  assert.equal(state.members.get('$ann').name, 'Ann');
  assert.deepEqual(state.transcript().map((entry) => entry.seq), [1, 2, 3]);
  const after = changes.slice(changes.findIndex((change) => change.what === 'joined') + 1);
  const whats = after.map((change) => change.what);
  assert.deepEqual(whats, ['chat', 'member', 'chat', 'resumed', 'chat'], 'Ann renamed, nobody came or went');
  assert.equal(after[1].renamed, 'Someone');
});

test('members who came and went while the page was away are told as they would have been', () => {
  const state = new RoomState('r');
  const changes = [];
  state.apply({ type: 'welcome', id: 'p2', name: 'Bob' });
  state.apply({ type: 'joined', room: 'r', peers: [{ id: 'p1', name: 'Ann' }], history: [] });
  state.addEventListener('change', (ev) => changes.push(ev.detail));
  state.apply({
    type: 'resumed',
    id: 'p2',
    name: 'Bob',
    room: 'r',
    peers: [{ id: 'p3', name: 'Cat' }],
    history: [],
    hosts: ['p3'],
  });
  assert.deepEqual(
    changes.map((change) => [change.what, change.member?.id]),
    [['member-left', 'p1'], ['member-joined', 'p3'], ['resumed', undefined]],
  );
  assert.deepEqual([...state.members.keys()], ['p3', 'p2']);
  assert.deepEqual(state.hosts, ['p3']);
});
