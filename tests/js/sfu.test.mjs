// The parts of the SFU call that need no browser: reading `assign` frames, the `view` entries
// of the slots, and keeping each member's stream as slots move.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { CAMERA_LAYERS, slotMap, slotViews, syncStreams } from '../../static/sfu.js';

test('an assign frame becomes who each slot carries, and empty slots carry nobody', () => {
  const { video, audio } = slotMap({
    type: 'assign',
    video: [
      { slot: '3', member: 'p2', source: 'camera' },
      { slot: '4', member: 'p2', source: 'screen' },
      { slot: '5', member: null },
    ],
    audio: [{ slot: '7', member: 'p2' }, { slot: '8', member: null }],
  });
  assert.deepEqual([...video], [
    ['3', { member: 'p2', source: 'camera' }],
    ['4', { member: 'p2', source: 'screen' }],
  ]);
  assert.deepEqual([...audio], [['7', 'p2']]);
  assert.deepEqual(slotMap({}), { video: new Map(), audio: new Map() }, 'a frame without slots');
});

test("each video slot is reported at the size of the tile that shows what it carries", () => {
  const slots = new Map([
    ['3', { member: 'p2', source: 'camera' }],
    ['4', { member: 'p2', source: 'screen' }],
    ['5', { member: 'p9', source: 'camera' }],
  ]);
  const sizes = new Map([
    ['p2', { width: 320.4, height: 180.2, visible: true }],
    ['screen:p2', { width: 1280, height: 720, visible: false }],
  ]);
  assert.deepEqual(slotViews(slots, sizes), [
    { slot: '3', width: 320, height: 180, visible: true },
    { slot: '4', width: 1280, height: 720, visible: false },
  ]);
});

test('the camera goes up in three layers, a quarter, half and full size, smallest first', () => {
  assert.deepEqual(
    CAMERA_LAYERS.map(({ rid, scaleResolutionDownBy }) => [rid, scaleResolutionDownBy]),
    [['q', 4], ['h', 2], ['f', 1]],
  );
  const rates = CAMERA_LAYERS.map((layer) => layer.maxBitrate);
  assert.deepEqual(rates, [...rates].sort((a, b) => a - b));
});

/** Enough of a MediaStream for syncStreams: a list of tracks. */
class FakeStream {
  #tracks = [];
  getTracks() {
    return [...this.#tracks];
  }
  addTrack(track) {
    this.#tracks.push(track);
  }
  removeTrack(track) {
    this.#tracks = this.#tracks.filter((t) => t !== track);
  }
}

test('a member keeps one stream while its slots change, and loses it when none carries it', () => {
  globalThis.MediaStream = FakeStream;
  const streams = new Map();
  const camera = { kind: 'video' };
  const sound = { kind: 'audio' };
  assert.equal(syncStreams(streams, new Map([['p2', [camera]]])), true);
  const first = streams.get('p2');
  assert.equal(syncStreams(streams, new Map([['p2', [camera, sound]]])), true);
  assert.equal(streams.get('p2'), first, 'the same stream, so its tile goes on playing');
  assert.deepEqual(first.getTracks(), [camera, sound]);
  assert.equal(syncStreams(streams, new Map([['p2', [camera, sound]]])), false, 'no change');
  assert.equal(syncStreams(streams, new Map([['p3', [camera]]])), true);
  assert.deepEqual([...streams.keys()], ['p3']);
  assert.deepEqual(first.getTracks(), [], "the leaver's stream is emptied");
});
