// Reads the frames each client receives in the core's conversation fixtures, for the browser
// client's unit tests: the `recv` lines of fixtures/core/*.conv, in order, per client. The
// patterns are subsets of real frames, with `$name` where the server chose a value: ids stay
// those strings, which are as opaque as real ids.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const CORE = new URL('../../fixtures/core/', import.meta.url).pathname;

/** Every core fixture's name and, per client, the frames it receives in order. */
export function coreFixtures() {
  return readdirSync(CORE)
    .filter((file) => file.endsWith('.conv'))
    .sort()
    .map((file) => ({ file, frames: receivedFrames(readFileSync(join(CORE, file), 'utf8')) }));
}

/** The frames each client of a fixture receives, by client name. */
export function receivedFrames(text) {
  const frames = new Map();
  for (const line of text.split('\n')) {
    const match = /^recv(-many)? (\S+) (?:(\d+) )?(\{.*\})$/.exec(line.trim());
    const unordered = /^recv-unordered (\S+) (\[.*\])$/.exec(line.trim());
    if (match) {
      const [, many, client, count, json] = match;
      const list = frames.get(client) ?? [];
      for (let i = 0; i < (many ? Number(count) : 1); i += 1) list.push(JSON.parse(json));
      frames.set(client, list);
    } else if (unordered) {
      const [, client, json] = unordered;
      frames.set(client, [...(frames.get(client) ?? []), ...JSON.parse(json)]);
    }
  }
  return frames;
}
