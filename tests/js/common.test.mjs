// The naming rules the pages check before a round trip, and room paths.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { checkName, people, roomPath } from '../../static/common.js';

test('names are trimmed and counted in code points, as the server does', () => {
  assert.deepEqual(checkName('  민수  ', 32), { value: '민수' });
  assert.deepEqual(checkName('😀'.repeat(32), 32), { value: '😀'.repeat(32) });
  assert.ok(checkName('😀'.repeat(33), 32).error);
  assert.ok(checkName('   ', 32).error);
  assert.ok(checkName('a\nb', 32).error);
});

test('room paths keep a name one path segment', () => {
  assert.equal(roomPath("a/b?c#d%e&f.g_h-i~j k+l'm"), '/room/a%2Fb%3Fc%23d%25e%26f.g_h-i~j%20k%2Bl%27m');
  assert.equal(roomPath('회의'), '/room/%ED%9A%8C%EC%9D%98');
});

test('people are counted in words', () => {
  assert.equal(people(1), '1 person');
  assert.equal(people(3), '3 people');
});
