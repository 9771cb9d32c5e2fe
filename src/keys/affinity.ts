/**
 * Session affinity (pure): a client that sends `x-proxy-affinity: <any conversation id>` is pinned to
 * one target and one key while they stay usable, so a provider's prompt cache keeps hitting.
 *
 * Weighted rendezvous (highest-random-weight) hashing: each candidate scores
 * `weight / -ln(h)`, where `h` in (0, 1) is a hash of the affinity value and the candidate's id, and
 * the highest score wins. Only candidates that are usable right now take part, so a pin never defeats
 * an ejection or a cool-down; when the pinned candidate drops out, only the conversations pinned to
 * it move (each to its own next-highest candidate), and they return when it comes back.
 */

export const AFFINITY_HEADER = "x-proxy-affinity";
/** Longest affinity value used (longer values are hashed on their first this-many characters). */
export const AFFINITY_MAX_CHARS = 256;

/** A 53-bit string hash (cyrb53): fast, synchronous and well mixed; not a security primitive. */
export function hash53(text: string, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** The hash as a number strictly inside (0, 1). */
function unitHash(text: string): number {
  return (hash53(text) + 0.5) / 2 ** 53;
}

/** The affinity value from a request header, trimmed; null when absent or empty. */
export function affinityOf(headers: Headers): string | null {
  const value = headers.get(AFFINITY_HEADER)?.trim() ?? "";
  return value === "" ? null : value.slice(0, AFFINITY_MAX_CHARS);
}

/** The candidate with the highest weighted rendezvous score; null when none has a positive weight. */
export function rendezvousPick<T>(
  candidates: readonly { id: string; weight: number; item: T }[],
  affinity: string,
): T | null {
  let best: T | null = null;
  let bestScore = -1;
  for (const { id, weight, item } of candidates) {
    if (!(weight > 0 && Number.isFinite(weight))) continue;
    const score = weight / -Math.log(unitHash(`${affinity}\u0000${id}`));
    if (score > bestScore) {
      bestScore = score;
      best = item;
    }
  }
  return best;
}
