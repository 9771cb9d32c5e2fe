/**
 * Per-key health (pure, plain JSON so records travel over RPC and into SQLite unchanged). A key is:
 *
 * - `ok`: usable;
 * - `rate_limited`: answered 429; sits out the provider's own delay (`classify.ts`), capped;
 * - `exhausted`: the provider said the key's quota or credit is spent (402, `insufficient_quota`,
 *   a per-day quota); sits out a long cool-down;
 * - `invalid`: 401, 403 or the provider's invalid-key error; unusable until the pool's configuration
 *   changes (a record remembers the pool `generation` it was judged under, so editing the secret —
 *   adding, removing or re-weighting any key — gives every key a fresh chance).
 *
 * Only key-attributable answers change a key's state; other outcomes (2xx-4xx that are not about
 * the key, 5xx, transport errors) only count a request. A success ends a cool-down early: the
 * provider accepted the key again.
 */

export type KeyState = "ok" | "rate_limited" | "invalid" | "exhausted";

/** How one attempt with a key ended, as far as the key is concerned. */
export type KeyOutcomeKind = "success" | "rate_limited" | "exhausted" | "invalid" | "other";

export interface KeyOutcome {
  fingerprint: string;
  at: number;
  kind: KeyOutcomeKind;
  status: number | null;
  /** For `rate_limited` and `exhausted`: the cool-down, already defaulted and capped. */
  cooldownMs?: number;
  /** The pool generation the key was used under (`fingerprint.ts`). */
  generation: string;
}

export interface KeyRecord {
  fingerprint: string;
  requests: number;
  successes: number;
  /** 429 answers (rate limits and quota exhaustion reported as 429). */
  rateLimited: number;
  cooldownUntil: number | null;
  cooldownKind: "rate_limited" | "exhausted" | null;
  /** Pool generation under which the key was found invalid; null when it never was. */
  invalidGeneration: string | null;
  lastError: { kind: KeyOutcomeKind; status: number | null; at: number } | null;
}

export function emptyKeyRecord(fingerprint: string): KeyRecord {
  return {
    fingerprint,
    requests: 0,
    successes: 0,
    rateLimited: 0,
    cooldownUntil: null,
    cooldownKind: null,
    invalidGeneration: null,
    lastError: null,
  };
}

export function keyStateOf(record: KeyRecord | undefined, now: number, generation: string): KeyState {
  if (!record) return "ok";
  if (record.invalidGeneration !== null && record.invalidGeneration === generation) return "invalid";
  if (record.cooldownUntil !== null && now < record.cooldownUntil)
    return record.cooldownKind ?? "rate_limited";
  return "ok";
}

export function applyKeyOutcome(record: KeyRecord, outcome: KeyOutcome): void {
  record.requests += 1;
  if (outcome.status === 429) record.rateLimited += 1;
  switch (outcome.kind) {
    case "success":
      record.successes += 1;
      record.cooldownUntil = null;
      record.cooldownKind = null;
      if (record.invalidGeneration === outcome.generation) record.invalidGeneration = null;
      return;
    case "other":
      return;
    case "invalid":
      record.invalidGeneration = outcome.generation;
      break;
    case "rate_limited":
    case "exhausted": {
      const active = record.cooldownUntil !== null && record.cooldownUntil > outcome.at;
      const until = outcome.at + Math.max(0, outcome.cooldownMs ?? 0);
      record.cooldownUntil = active ? Math.max(record.cooldownUntil!, until) : until;
      // Exhaustion outranks a rate limit: a running exhaustion is not shortened or relabelled by a 429.
      record.cooldownKind =
        outcome.kind === "exhausted" || (active && record.cooldownKind === "exhausted")
          ? "exhausted"
          : "rate_limited";
      break;
    }
  }
  record.lastError = { kind: outcome.kind, status: outcome.status, at: outcome.at };
}

/** Applies outcomes in order (creating records on first sight); returns the fingerprints changed. */
export function applyKeyOutcomes(
  records: Record<string, KeyRecord>,
  outcomes: readonly KeyOutcome[],
): Set<string> {
  const changed = new Set<string>();
  for (const outcome of outcomes) {
    const record = records[outcome.fingerprint] ?? emptyKeyRecord(outcome.fingerprint);
    records[outcome.fingerprint] = record;
    applyKeyOutcome(record, outcome);
    changed.add(outcome.fingerprint);
  }
  return changed;
}
