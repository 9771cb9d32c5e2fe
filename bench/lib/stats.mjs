/** Small statistics and a seeded random source shared by the bench and the soak. */
import { seededRandom } from "../../test/support/seeded-random.ts";

export { seededRandom };

/** Nearest-rank percentile of an unsorted numeric array (p in 0..100); NaN when empty. */
export function percentile(values, p) {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

export const median = (values) => percentile(values, 50);

/** Integer in [min, max] from a random source. */
export const randomInt = (random, min, max) => min + Math.floor(random() * (max - min + 1));

/** Picks from `[weight, value]` pairs. */
export function weightedPick(random, pairs) {
  const total = pairs.reduce((sum, [w]) => sum + w, 0);
  let x = random() * total;
  for (const [w, value] of pairs) {
    x -= w;
    if (x < 0) return value;
  }
  return pairs[pairs.length - 1][1];
}

export const round = (value, digits = 2) =>
  Number.isFinite(value) ? Math.round(value * 10 ** digits) / 10 ** digits : null;

/** Milliseconds since an arbitrary origin, sub-millisecond resolution. */
export const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

/** A seed for item `i` of stream `name`: every planned item gets its own generator, so its plan does not depend on timing. */
export function itemSeed(seed, name, i) {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const ch of `${name}:${i}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return h;
}
