/**
 * The `keys` list of an endpoint in `/health` (DESIGN §7, issue 14), pure: each key of the pool by
 * fingerprint, in the order of the secret, never the key itself.
 */
import type { KeyPool } from "./fingerprint";
import { type KeyRecord, type KeyState, keyStateOf } from "./key-state";

export interface KeyHealthJson {
  fingerprint: string;
  weight: number;
  state: KeyState;
  requests: number;
  successes: number;
  rate_limited_responses: number;
  last_error: { kind: string; status: number | null; at: string } | null;
  /** End of the running cool-down (`rate_limited`, `exhausted`); null otherwise. */
  cooldown_until: string | null;
}

export function keyHealthJson(
  pool: KeyPool,
  records: Readonly<Record<string, KeyRecord>>,
  now: number,
): KeyHealthJson[] {
  return pool.keys.map((key) => {
    const record = records[key.fingerprint];
    const state = keyStateOf(record, now, pool.generation);
    const cooling = state === "rate_limited" || state === "exhausted";
    return {
      fingerprint: key.fingerprint,
      weight: key.weight,
      state,
      requests: record?.requests ?? 0,
      successes: record?.successes ?? 0,
      rate_limited_responses: record?.rateLimited ?? 0,
      last_error: record?.lastError
        ? {
            kind: record.lastError.kind,
            status: record.lastError.status,
            at: new Date(record.lastError.at).toISOString(),
          }
        : null,
      cooldown_until: cooling && record?.cooldownUntil ? new Date(record.cooldownUntil).toISOString() : null,
    };
  });
}
