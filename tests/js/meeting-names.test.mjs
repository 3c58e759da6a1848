// New meetings' names: seven words of 256, every byte a different word, always a valid name.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { meetingName, NAME_WORDS, WORDS } from '../../static/meeting-names.js';

test('256 different words of plain lowercase letters', () => {
  assert.equal(WORDS.length, 256);
  assert.equal(new Set(WORDS).size, 256);
  for (const word of WORDS) assert.match(word, /^[a-z]{2,7}$/);
});

test('a name is seven words, one per random byte, within the 64 characters of a room name', () => {
  const fixed = (values) => (bytes) => {
    bytes.set(values);
    return bytes;
  };
  assert.equal(meetingName(fixed([0, 1, 2, 3, 4, 5, 255])).split('-').length, NAME_WORDS);
  assert.equal(meetingName(fixed([0, 0, 0, 0, 0, 0, 0])), Array(7).fill(WORDS[0]).join('-'));
  assert.equal(meetingName(fixed([255, 1, 2, 3, 4, 5, 6])).split('-')[0], WORDS[255]);
  const longest = [...WORDS].sort((a, b) => b.length - a.length)[0];
  assert.ok(Array(NAME_WORDS).fill(longest).join('-').length <= 64);
});
