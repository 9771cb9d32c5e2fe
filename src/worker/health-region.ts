/**
 * The region whose health shard a request uses (`src/durable/health/health-shards.ts`): the continent
 * Cloudflare reports in `request.cf`, unless `HEALTH_SHARDING=off`; null (the unsharded object) when
 * there is none, as under `wrangler dev` and in tests.
 */
import { regionOf } from "../durable/health/health-shards";
import { type HealthViews, healthViewsFor } from "../durable/health/health-snapshot";
import type { GatewayContext } from "./context";

export function requestRegion(g: GatewayContext): string | null {
  return regionOf((g.raw as { cf?: unknown }).cf, g.config.healthSharding);
}

/** The isolate's health views for the request's region. */
export function requestHealthViews(g: GatewayContext): HealthViews {
  return healthViewsFor(requestRegion(g));
}
