/**
 * Target selection (pure): weighted random among the eligible targets of an endpoint, each
 * configured weight scaled by live health. The random source is a parameter (seed it in tests).
 *
 * - Eligible: `healthy` targets, and `probing` targets whose probe is free (the caller must claim
 *   the probe before sending, see `health-snapshot.ts`). Targets already tried for this request are
 *   skipped.
 * - Health factor = success factor × latency factor:
 *   - success factor: the success rate over the policy window once it holds
 *     `HEALTH_SCALING_MIN_REQUESTS` requests (1 before that), floored at `MIN_SUCCESS_FACTOR` so a
 *     recovering target still sees traffic;
 *   - latency factor: √(fastest EWMA among the candidates / this target's EWMA), floored at
 *     `MIN_LATENCY_FACTOR`: a target twice as slow gets ~71 % of its share; no data means 1.
 * - Panic: when no untried target is eligible, every untried target is a candidate (rate-limited
 *   ones only when nothing else is left) rather than refusing the request.
 */
import type { TargetConfig } from "../../transport/endpoint";
import { type HealthPolicy, probeAvailable, stateOf, type TargetRecord } from "./health-policy";
import { windowCounts } from "./health-stats";

export const HEALTH_SCALING_MIN_REQUESTS = 5;
export const MIN_SUCCESS_FACTOR = 0.05;
export const MIN_LATENCY_FACTOR = 0.25;

export type SelectionMode = "normal" | "probe" | "panic";

export interface Selection {
  target: TargetConfig;
  mode: SelectionMode;
}

/** Picks an item with probability proportional to its weight; null when no weight is positive. */
export function weightedPick<T>(
  items: readonly { item: T; weight: number }[],
  random: () => number,
): T | null {
  let total = 0;
  for (const { weight } of items) if (weight > 0 && Number.isFinite(weight)) total += weight;
  if (total <= 0) return null;
  let point = random() * total;
  let last: T | null = null;
  for (const { item, weight } of items) {
    if (!(weight > 0 && Number.isFinite(weight))) continue;
    last = item;
    if (point < weight) return item;
    point -= weight;
  }
  return last; // random() returned ~1 and rounding left a sliver
}

export function successFactor(record: TargetRecord | undefined, now: number, policy: HealthPolicy): number {
  if (!record) return 1;
  const { ok, fail } = windowCounts(record.stats, now, policy.successRateWindowMs);
  const total = ok + fail;
  if (total < HEALTH_SCALING_MIN_REQUESTS) return 1;
  return Math.max(MIN_SUCCESS_FACTOR, ok / total);
}

export function latencyFactor(record: TargetRecord | undefined, fastestEwmaMs: number | null): number {
  const ewma = record?.stats.latencyEwmaMs ?? null;
  if (ewma === null || fastestEwmaMs === null || ewma <= 0) return 1;
  return Math.max(MIN_LATENCY_FACTOR, Math.min(1, Math.sqrt(Math.max(fastestEwmaMs, 1) / Math.max(ewma, 1))));
}

/** Configured weight × health factor for each candidate. */
export function effectiveWeights(
  candidates: readonly TargetConfig[],
  records: Readonly<Record<string, TargetRecord>>,
  now: number,
  policy: HealthPolicy,
): { item: TargetConfig; weight: number }[] {
  let fastest: number | null = null;
  for (const t of candidates) {
    const ewma = records[t.url]?.stats.latencyEwmaMs ?? null;
    if (ewma !== null && (fastest === null || ewma < fastest)) fastest = ewma;
  }
  return candidates.map((t) => {
    const record = records[t.url];
    return {
      item: t,
      weight: t.weight * successFactor(record, now, policy) * latencyFactor(record, fastest),
    };
  });
}

export interface SelectOptions {
  now: number;
  policy: HealthPolicy;
  random: () => number;
  /** URLs already tried for this request. */
  exclude?: ReadonlySet<string>;
}

export function selectTarget(
  targets: readonly TargetConfig[],
  records: Readonly<Record<string, TargetRecord>>,
  options: SelectOptions,
): Selection | null {
  const { now, policy, random } = options;
  const untried = targets.filter((t) => !options.exclude?.has(t.url));
  if (untried.length === 0) return null;
  const eligible = untried.filter((t) => {
    const record = records[t.url];
    const state = stateOf(record, now);
    return (
      state === "healthy" ||
      (state === "probing" && record !== undefined && probeAvailable(record, now, policy))
    );
  });
  if (eligible.length > 0) {
    const target = weightedPick(effectiveWeights(eligible, records, now, policy), random) ?? eligible[0]!;
    const mode: SelectionMode = stateOf(records[target.url], now) === "probing" ? "probe" : "normal";
    return { target, mode };
  }
  const notLimited = untried.filter((t) => stateOf(records[t.url], now) !== "rate_limited");
  const pool = notLimited.length > 0 ? notLimited : untried;
  const target = weightedPick(
    pool.map((t) => ({ item: t, weight: t.weight })),
    random,
  );
  return { target: target ?? pool[0]!, mode: "panic" };
}
