// The connection marks on the tiles, from loss and round trip.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { describe, grade, LossMeter } from '../../static/quality.js';

test('a mark from loss and round trip, the worse of the two deciding', () => {
  assert.equal(grade({ loss: 0, rttMs: 20 }), 'good');
  assert.equal(grade({ loss: 0.02, rttMs: 200 }), 'good');
  assert.equal(grade({ loss: 0.05, rttMs: 20 }), 'fair');
  assert.equal(grade({ loss: 0, rttMs: 300 }), 'fair');
  assert.equal(grade({ loss: 0.2, rttMs: 20 }), 'poor');
  assert.equal(grade({ loss: 0, rttMs: 900 }), 'poor');
  assert.equal(grade({ loss: null, rttMs: 50 }), 'good');
  assert.equal(grade({ loss: null, rttMs: null }), null);
  assert.equal(describe('fair', { loss: 0.054, rttMs: 31.6 }), 'Connection fair: 5.4% lost, 32 ms');
});

test('loss is counted between looks, not since the start', () => {
  const meter = new LossMeter();
  assert.equal(meter.update('a', 100, 50), null, 'nothing to compare the first look with');
  assert.equal(meter.update('a', 200, 50), 0);
  assert.equal(meter.update('a', 290, 60), 0.1);
  assert.equal(meter.update('a', 290, 60), null, 'no packets since');
  meter.retain(new Set());
  assert.equal(meter.update('a', 300, 60), null, 'forgotten');
});
