/**
 * Merges the regional shards of an endpoint's health state into one `/health` entry per target and one key record
 * per key (issue 13.5, pure; see `health-shards.ts`). Counters add up, so `/health` and `/metrics` count every
 * region's traffic. The state shown is the most severe among the shards (`ejected`, then `probing`, `rate_limited`,
 * `failing`, `healthy`): a target ejected in one region is out of service for that region's traffic, and the
 * operator should see it. The `regions` field (additive) gives each shard's own state and counters.
 */
import type { KeyRecord } from "../../keys/key-state";
import type { ReportedState, TargetRecord } from "./health-policy";
import type { TargetHealthJson } from "./health-report";
import { percentile } from "./health-stats";

/** The label of the unsharded object in `regions`. */
export const UNSHARDED_LABEL = "default";

/** Most severe first. */
const SEVERITY: readonly ReportedState[] = ["ejected", "probing", "rate_limited", "failing", "healthy"];

/** One shard's view of a target: its record (for the latency samples) and its own `/health` entry. */
export interface ShardTarget {
  region: string | null;
  record: TargetRecord | undefined;
  json: TargetHealthJson;
}

/** A target's state and counters in one shard. */
export interface RegionHealthJson {
  state: ReportedState;
  requests: number;
  successes: number;
  failures: number;
  ejected_until: string | null;
  rate_limited_until: string | null;
}

const latest = (a: string | null, b: string | null): string | null =>
  a === null ? b : b === null || b < a ? a : b;

/**
 * One target's entry from its shards' entries. With a single shard it is that shard's entry unchanged; with more,
 * counters are summed, `success_rate` and the latency percentiles are recomputed over all of them (the EWMA is
 * weighted by requests), `state` is the most severe, and `regions` lists the shards that saw the target.
 */
export function mergeTargetJson(shards: readonly ShardTarget[]): TargetHealthJson {
  const first = shards[0];
  if (first === undefined) throw new Error("mergeTargetJson needs at least one shard");
  if (shards.length === 1) return first.json;
  const sum = (pick: (j: TargetHealthJson) => number) => shards.reduce((n, s) => n + pick(s.json), 0);
  const requests = sum((j) => j.requests);
  const successes = sum((j) => j.successes);
  const worst = [...shards].sort(
    (a, b) => SEVERITY.indexOf(a.json.state) - SEVERITY.indexOf(b.json.state),
  )[0] as ShardTarget;
  const samples = shards.flatMap((s) => s.record?.stats.latencySamples ?? []);
  let ewmaWeight = 0;
  let ewmaSum = 0;
  for (const s of shards) {
    if (s.json.latency_ms.ewma === null) continue;
    const weight = Math.max(1, s.json.requests);
    ewmaWeight += weight;
    ewmaSum += weight * s.json.latency_ms.ewma;
  }
  let lastError: TargetHealthJson["last_error"] = null;
  for (const s of shards) {
    const e = s.json.last_error;
    if (e !== null && (lastError === null || e.at > lastError.at)) lastError = e;
  }
  const regions: Record<string, RegionHealthJson> = {};
  for (const s of shards) {
    if (s.record === undefined) continue;
    const j = s.json;
    regions[s.region ?? UNSHARDED_LABEL] = {
      state: j.state,
      requests: j.requests,
      successes: j.successes,
      failures: j.failures,
      ejected_until: j.ejected_until,
      rate_limited_until: j.rate_limited_until,
    };
  }
  return {
    ...first.json,
    state: worst.json.state,
    requests,
    successes,
    failures: sum((j) => j.failures),
    consecutive_failures: Math.max(...shards.map((s) => s.json.consecutive_failures)),
    success_rate: requests === 0 ? null : Math.round((successes / requests) * 1000) / 1000,
    latency_ms: {
      ewma: ewmaWeight === 0 ? null : Math.round((ewmaSum / ewmaWeight) * 10) / 10,
      p50: percentile(samples, 50),
      p95: percentile(samples, 95),
    },
    ejected_until: shards.map((s) => s.json.ejected_until).reduce(latest, null),
    rate_limited_until: shards.map((s) => s.json.rate_limited_until).reduce(latest, null),
    last_error: lastError,
    rate_limited_responses: sum((j) => j.rate_limited_responses),
    ejections: sum((j) => j.ejections),
    ejection_reason: worst.json.ejection_reason,
    failing_reason: worst.json.failing_reason,
    regions,
  };
}

/**
 * One key record per fingerprint from the shards' records: counters summed, the latest cool-down (and its kind),
 * an invalid mark from any shard, the latest error. A key found invalid or cooling down in one region shows so.
 */
export function mergeKeyRecords(
  shards: readonly Readonly<Record<string, KeyRecord>>[],
): Record<string, KeyRecord> {
  if (shards.length === 1) return { ...shards[0] };
  const out: Record<string, KeyRecord> = {};
  for (const records of shards) {
    for (const [fingerprint, r] of Object.entries(records)) {
      const m = out[fingerprint];
      if (m === undefined) {
        out[fingerprint] = structuredClone(r);
        continue;
      }
      m.requests += r.requests;
      m.successes += r.successes;
      m.rateLimited += r.rateLimited;
      if (r.cooldownUntil !== null && (m.cooldownUntil === null || r.cooldownUntil > m.cooldownUntil)) {
        m.cooldownUntil = r.cooldownUntil;
        m.cooldownKind = r.cooldownKind;
      }
      m.invalidGeneration ??= r.invalidGeneration;
      if (r.lastError !== null && (m.lastError === null || r.lastError.at > m.lastError.at)) {
        m.lastError = { ...r.lastError };
      }
    }
  }
  return out;
}
