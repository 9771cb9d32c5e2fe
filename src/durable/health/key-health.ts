/**
 * Adds each key pool's `keys` list to the `/health` endpoints (issue 14), from the key records the
 * endpoint's syncs just brought into the isolate's views, merged over the regional shards read
 * (`regionsOf`, see `health-merge.ts`). A pool whose secret cannot be read is shown
 * as `keys: []` with `keys_error` naming the secret (never its content).
 */
import { resolveKeyPool } from "../../keys/fingerprint";
import { type KeyHealthJson, keyHealthJson } from "../../keys/key-report";
import type { EndpointConfig } from "../../transport/endpoint";
import { mergeKeyRecords } from "./health-merge";
import { type HealthEnv, healthViewsFor } from "./health-snapshot";

export interface KeyHealthFields {
  keys?: KeyHealthJson[];
  keys_error?: string;
}

export async function addKeyHealth(
  env: HealthEnv,
  endpoints: readonly EndpointConfig[],
  entries: readonly [string, KeyHealthFields][],
  now: () => number,
  regionsOf: ReadonlyMap<string, readonly (string | null)[]> = new Map(),
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
      const regions = regionsOf.get(endpoint.name) ?? [null];
      const records = mergeKeyRecords(regions.map((r) => healthViewsFor(r).keyRecords(endpoint)));
      entry.keys = keyHealthJson(pool, records, now());
    } catch (error) {
      entry.keys = [];
      entry.keys_error = error instanceof Error ? error.message : String(error);
    }
  }
}
