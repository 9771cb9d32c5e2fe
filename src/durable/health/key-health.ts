/**
 * Adds each key pool's `keys` list to the `/health` endpoints (issue 14), from the key records the
 * endpoint's sync just brought into the isolate's views. A pool whose secret cannot be read is shown
 * as `keys: []` with `keys_error` naming the secret (never its content).
 */
import { resolveKeyPool } from "../../keys/fingerprint";
import { type KeyHealthJson, keyHealthJson } from "../../keys/key-report";
import type { EndpointConfig } from "../../transport/endpoint";
import { type HealthEnv, isolateHealthViews } from "./health-snapshot";

export interface KeyHealthFields {
  keys?: KeyHealthJson[];
  keys_error?: string;
}

export async function addKeyHealth(
  env: HealthEnv,
  endpoints: readonly EndpointConfig[],
  entries: readonly [string, KeyHealthFields][],
  now: () => number,
): Promise<void> {
  const byName = new Map(entries);
  for (const endpoint of endpoints) {
    const entry = byName.get(endpoint.name);
    if (!endpoint.keys || !entry) continue;
    try {
      const pool = await resolveKeyPool(
        endpoint.keys.secret,
        (env as unknown as Record<string, unknown>)[endpoint.keys.secret],
      );
      entry.keys = keyHealthJson(pool, isolateHealthViews.keyRecords(endpoint), now());
    } catch (error) {
      entry.keys = [];
      entry.keys_error = error instanceof Error ? error.message : String(error);
    }
  }
}
