// quality.js: how good a connection is, from what `getStats` says of it. No DOM here.
//
// Each tile gets a mark: good, fair or poor, from the share of packets lost since the last
// look and the round trip, with the numbers in words for its tooltip.

/** Up to these, a connection is good; up to the next, fair; past them, poor. */
const GOOD = { loss: 0.02, rttMs: 200 };
const FAIR = { loss: 0.08, rttMs: 400 };

/** 'good', 'fair' or 'poor' for `loss` (0 to 1) and `rttMs`; null with nothing to go on. */
export function grade({ loss, rttMs }) {
  if (loss === null && rttMs === null) return null;
  const within = (limit) => (loss ?? 0) <= limit.loss && (rttMs ?? 0) <= limit.rttMs;
  if (within(GOOD)) return 'good';
  if (within(FAIR)) return 'fair';
  return 'poor';
}

/** The tooltip of a mark: "Connection good: 0.4% lost, 32 ms". */
export function describe(mark, { loss, rttMs }) {
  const parts = [];
  if (loss !== null) parts.push(`${(loss * 100).toFixed(1)}% lost`);
  if (rttMs !== null) parts.push(`${Math.round(rttMs)} ms`);
  return `Connection ${mark}: ${parts.join(', ')}`;
}

/**
 * Loss since the last look, per key (a stream, or a member): feed it each look's cumulative
 * received and lost packet counts.
 */
export class LossMeter {
  #last = new Map();

  /** The share lost since `key`'s last look (null on the first look, or with no packets). */
  update(key, received, lost) {
    const before = this.#last.get(key);
    this.#last.set(key, { received, lost });
    if (!before) return null;
    const got = received - before.received;
    const missing = Math.max(0, lost - before.lost);
    return got + missing > 0 ? missing / (got + missing) : null;
  }

  /** Forgets keys not in `keep`. */
  retain(keep) {
    for (const key of this.#last.keys()) if (!keep.has(key)) this.#last.delete(key);
  }
}
