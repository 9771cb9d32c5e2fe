/**
 * Regional shards of an endpoint's health state (issue 13.5, pure). One `TargetHealth` object per endpoint saturates
 * at about a thousand outcome syncs a second (README "Scale model"), so with `HEALTH_SHARDING=region` (the default)
 * the isolates of one region share one object per endpoint, named `<endpoint>#<region>`, and each shard decides from
 * its own region's traffic (ejections, cool-downs). A request without a known region (local development, tests,
 * `HEALTH_SHARDING=off`) uses the unsharded object, named `<endpoint>` as before. `/health` and `/metrics` merge the
 * shards an endpoint has (`health-merge.ts`); each shard registers its name in the sessions object's registry, so
 * the report knows which exist.
 *
 * The region is the continent Cloudflare reports for the request (`request.cf.continent`: AF, AN, AS, EU, NA, OC, SA).
 * Anycast routes a client to a nearby data center, so the continent of the client is, nearly always, the continent
 * of the isolate that serves it and of the shard object it creates.
 */

/** Separates an endpoint's name from its region in a shard's object name (endpoint names never contain it). */
export const SHARD_SEPARATOR = "#";

/** `HEALTH_SHARDING`: `region` shards by continent; `off` keeps one object per endpoint. */
export type HealthSharding = "region" | "off";
export const HEALTH_SHARDING_VALUES = ["region", "off"] as const satisfies readonly HealthSharding[];

/** What a region may look like (continent codes; tests inject others of this form). */
const REGION = /^[A-Za-z0-9_-]{1,16}$/;

/** The name passed to `idFromName` for an endpoint's shard in `region` (the unsharded object for null). */
export function shardName(endpoint: string, region: string | null): string {
  return region === null ? endpoint : `${endpoint}${SHARD_SEPARATOR}${region}`;
}

/** Splits a registry entry into its endpoint and region (null: the unsharded object). */
export function parseShardName(name: string): { endpoint: string; region: string | null } {
  const at = name.indexOf(SHARD_SEPARATOR);
  if (at < 0) return { endpoint: name, region: null };
  return { endpoint: name.slice(0, at), region: name.slice(at + 1) };
}

/** Whether `region` may name a shard. */
export function isRegion(region: unknown): region is string {
  return typeof region === "string" && REGION.test(region);
}

/** The request's region under `sharding`: its continent, or null (unsharded) when off or unknown. */
export function regionOf(cf: unknown, sharding: HealthSharding): string | null {
  if (sharding === "off" || typeof cf !== "object" || cf === null) return null;
  const continent = (cf as { continent?: unknown }).continent;
  return isRegion(continent) ? continent : null;
}

/**
 * The regions whose shards `/health` reads for each endpoint, from the registry's entries: the unsharded object
 * (null) always, then each registered region, sorted; plus `ownRegion` (the caller's), whose shard may hold outcomes
 * this isolate has not yet seen registered.
 */
export function shardRegions(
  registered: readonly string[] | null,
  endpoint: string,
  ownRegion: string | null = null,
): (string | null)[] {
  const regions = new Set<string>();
  for (const name of registered ?? []) {
    const shard = parseShardName(name);
    if (shard.endpoint === endpoint && shard.region !== null && isRegion(shard.region))
      regions.add(shard.region);
  }
  if (ownRegion !== null) regions.add(ownRegion);
  return [null, ...[...regions].sort()];
}

/** The endpoints the registry lists, whether registered unsharded or by a shard. */
export function registeredEndpointNames(registered: readonly string[]): Set<string> {
  return new Set(registered.map((name) => parseShardName(name).endpoint));
}
