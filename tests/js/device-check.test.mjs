// The speaker test's tone: a WAV file a browser plays.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { toneWav } from '../../static/ui/device-check.js';

test('the test tone is a 16-bit mono WAV of 0.6 s that is not silent', async () => {
  const wav = toneWav();
  assert.equal(wav.type, 'audio/wav');
  const view = new DataView(await wav.arrayBuffer());
  const text = (at, length) =>
    String.fromCharCode(...Array.from({ length }, (_, i) => view.getUint8(at + i)));
  assert.equal(text(0, 4), 'RIFF');
  assert.equal(text(8, 4), 'WAVE');
  assert.equal(view.getUint16(22, true), 1, 'mono');
  assert.equal(view.getUint16(34, true), 16, '16-bit');
  const rate = view.getUint32(24, true);
  const samples = view.getUint32(40, true) / 2;
  assert.equal(samples / rate, 0.6);
  assert.equal(view.byteLength, 44 + samples * 2);
  let peak = 0;
  for (let i = 0; i < samples; i += 1) {
    peak = Math.max(peak, Math.abs(view.getInt16(44 + i * 2, true)));
  }
  assert.ok(peak > 5000 && peak < 32767 * 0.31, `peak ${peak}`);
});
