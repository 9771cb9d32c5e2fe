/**
 * Choosing a key of a pool for one attempt (pure): weighted random among the usable (`ok`) keys not
 * yet tried for this request, or the rendezvous pick for an affinity value (`affinity.ts`). When no
 * key is usable the answer says why: every remaining key cooling down (with the soonest end, for the
 * client's `Retry-After`), or none left at all (all invalid or already tried).
 */
import { weightedPick } from "../durable/health/target-selection";
import { rendezvousPick } from "./affinity";
import type { KeyPool, PoolKey } from "./fingerprint";
import { type KeyRecord, keyStateOf } from "./key-state";

export type KeyChoice =
  | { kind: "key"; key: PoolKey }
  /** Every key not known invalid is cooling down; the soonest is usable again at `until`. */
  | { kind: "cooling"; until: number }
  /** Every key is invalid, or was tried for this request already without a cool-down. */
  | { kind: "none" };

export interface KeyChoiceOptions {
  now: number;
  random: () => number;
  /** Fingerprints already tried for this request. */
  exclude?: ReadonlySet<string>;
  affinity?: string | null;
}

export function chooseKey(
  pool: KeyPool,
  records: Readonly<Record<string, KeyRecord>>,
  options: KeyChoiceOptions,
): KeyChoice {
  const { now } = options;
  const usable = pool.keys.filter(
    (k) =>
      !options.exclude?.has(k.fingerprint) &&
      keyStateOf(records[k.fingerprint], now, pool.generation) === "ok",
  );
  if (usable.length > 0) {
    const key = options.affinity
      ? rendezvousPick(
          usable.map((k) => ({ id: k.fingerprint, weight: k.weight, item: k })),
          options.affinity,
        )
      : weightedPick(
          usable.map((k) => ({ item: k, weight: k.weight })),
          options.random,
        );
    return { kind: "key", key: key ?? usable[0]! };
  }
  let soonest: number | null = null;
  for (const k of pool.keys) {
    const state = keyStateOf(records[k.fingerprint], now, pool.generation);
    if (state !== "rate_limited" && state !== "exhausted") continue;
    const until = records[k.fingerprint]!.cooldownUntil!;
    if (soonest === null || until < soonest) soonest = until;
  }
  return soonest === null ? { kind: "none" } : { kind: "cooling", until: soonest };
}
