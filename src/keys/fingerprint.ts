/**
 * Key fingerprints: the last `FINGERPRINT_HEX_CHARS` hex digits of the key's SHA-256. They name a
 * key in `/health`, the dashboard, logs and the `TargetHealth` records; the key itself appears only
 * in the upstream request. SHA-256 is one-way, and a provider key has far more entropy than a short
 * suffix of its hash can reveal.
 *
 * `crypto.subtle.digest` is asynchronous, so a pool is resolved once per distinct secret text and
 * cached (`resolveKeyPool`); the hot path then reads the cached pool synchronously.
 */
import { ConfigError } from "../transport/errors";
import { type KeyEntry, parseKeyPoolText } from "./pool-config";

/** 8 hex digits: short enough to read, long enough that two keys of one pool practically never share one. */
export const FINGERPRINT_HEX_CHARS = 8;
/** Resolved pools kept per isolate (one per distinct secret text). */
const MAX_CACHED_POOLS = 32;

export interface PoolKey {
  key: string;
  weight: number;
  fingerprint: string;
}

export interface KeyPool {
  /** Name of the secret the keys came from. */
  secret: string;
  keys: PoolKey[];
  /**
   * Identifies this configuration of the pool (a hash over every fingerprint and weight): a key
   * marked invalid stays invalid until it changes.
   */
  generation: string;
}

const encoder = new TextEncoder();

async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
  let hex = "";
  for (const byte of digest) hex += byte.toString(16).padStart(2, "0");
  return hex;
}

export async function fingerprintOf(key: string): Promise<string> {
  return (await sha256Hex(key)).slice(-FINGERPRINT_HEX_CHARS);
}

export async function buildKeyPool(secretName: string, entries: readonly KeyEntry[]): Promise<KeyPool> {
  const keys: PoolKey[] = [];
  const seen = new Map<string, number>();
  for (const [index, entry] of entries.entries()) {
    const fingerprint = await fingerprintOf(entry.key);
    const earlier = seen.get(fingerprint);
    if (earlier !== undefined) {
      throw new ConfigError(
        secretName,
        `keys number ${earlier + 1} and ${index + 1} are the same key (fingerprint ${fingerprint})`,
      );
    }
    seen.set(fingerprint, index);
    keys.push({ key: entry.key, weight: entry.weight, fingerprint });
  }
  const generation = (await sha256Hex(keys.map((k) => `${k.fingerprint}:${k.weight}`).join(","))).slice(
    0,
    16,
  );
  return { secret: secretName, keys, generation };
}

const cache = new Map<string, Promise<KeyPool>>();

/**
 * The pool held in the secret `secretName`, parsed and fingerprinted once per distinct text. A
 * missing or empty secret is a `ConfigError` naming it.
 */
export function resolveKeyPool(secretName: string, text: unknown): Promise<KeyPool> {
  if (typeof text !== "string" || text.trim() === "") {
    return Promise.reject(
      new ConfigError(
        secretName,
        "the key pool secret is not set (wrangler secret put, or .dev.vars locally)",
      ),
    );
  }
  const cacheKey = `${secretName}\n${text}`;
  let pool = cache.get(cacheKey);
  if (!pool) {
    pool = Promise.resolve().then(() => buildKeyPool(secretName, parseKeyPoolText(secretName, text)));
    // A failed parse is not cached: the operator fixes the secret and the next request sees it.
    pool.catch(() => cache.delete(cacheKey));
    if (cache.size >= MAX_CACHED_POOLS) cache.delete(cache.keys().next().value!);
    cache.set(cacheKey, pool);
  }
  return pool;
}
