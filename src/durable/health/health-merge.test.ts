import { describe, expect, it } from "vitest";
import type { KeyRecord } from "../../keys/key-state";
import { mergeKeyRecords, mergeTargetJson, type ShardTarget } from "./health-merge";
import { applyOutcomes, DEFAULT_HEALTH_POLICY, type Outcome, type TargetRecord } from "./health-policy";
import { targetHealthJson } from "./health-report";

const URL_A = "http://a.test";
const OTHER = "http://b.test";
const target = { url: URL_A, weight: 1 };
const policy = { ...DEFAULT_HEALTH_POLICY, consecutiveFailures: 2 };
const NOW = 1_000;

function shard(region: string | null, outcomes: Omit<Outcome, "url">[]): ShardTarget {
  const records: Record<string, TargetRecord> = {};
  applyOutcomes(
    records,
    outcomes.map((o) => ({ ...o, url: URL_A })),
    policy,
    [URL_A, OTHER],
  );
  return { region, record: records[URL_A], json: targetHealthJson(target, records[URL_A], NOW, policy) };
}

const ok = (at: number, latencyMs: number) => ({ at, kind: "success" as const, status: 200, latencyMs });
const fail = (at: number) => ({ at, kind: "connect_error" as const, status: null, latencyMs: null });

describe("mergeTargetJson", () => {
  it("one shard: its entry unchanged (no regions field)", () => {
    const only = shard(null, [ok(1, 10)]);
    expect(mergeTargetJson([only])).toBe(only.json);
  });

  it("sums counters, recomputes rates and percentiles, shows the most severe state and each region", () => {
    const eu = shard("EU", [ok(1, 100), fail(2), fail(3)]); // ejected at 3
    const na = shard("NA", [ok(1, 10), ok(2, 20), ok(3, 30)]);
    const empty = shard(null, []);
    expect(eu.json.state).toBe("ejected");
    const merged = mergeTargetJson([empty, eu, na]);
    expect(merged).toMatchObject({
      url: URL_A,
      state: "ejected",
      requests: 6,
      successes: 4,
      failures: 2,
      success_rate: 0.667,
      ejections: 1,
      ejection_reason: "consecutive_failures",
      ejected_until: eu.json.ejected_until,
      last_error: eu.json.last_error,
    });
    expect(merged.latency_ms.p50).toBe(20);
    expect(merged.latency_ms.p95).toBe(100);
    expect(merged.regions).toEqual({
      EU: expect.objectContaining({ state: "ejected", requests: 3, failures: 2 }),
      NA: expect.objectContaining({ state: "healthy", requests: 3, failures: 0 }),
    });
  });

  it("a rate-limited shard outranks a healthy one; the merge is healthy only when every shard is", () => {
    const limited = shard("AS", [
      { at: 999, kind: "rate_limited", status: 429, latencyMs: 5, retryAfterMs: 60_000 },
    ]);
    const healthy = shard("EU", [ok(1, 10)]);
    expect(mergeTargetJson([healthy, limited]).state).toBe("rate_limited");
    expect(mergeTargetJson([healthy, limited]).rate_limited_until).toBe(limited.json.rate_limited_until);
    expect(mergeTargetJson([healthy, shard("NA", [ok(2, 20)])]).state).toBe("healthy");
  });
});

describe("mergeKeyRecords", () => {
  const key = (extra: Partial<KeyRecord>): KeyRecord => ({
    fingerprint: "k1",
    requests: 1,
    successes: 1,
    rateLimited: 0,
    cooldownUntil: null,
    cooldownKind: null,
    invalidGeneration: null,
    lastError: null,
    ...extra,
  });

  it("sums counters and keeps the latest cool-down and any invalid mark", () => {
    const merged = mergeKeyRecords([
      { k1: key({}) },
      { k1: key({ requests: 3, rateLimited: 2, cooldownUntil: 500, cooldownKind: "exhausted" }) },
      {
        k1: key({ requests: 2, invalidGeneration: "g", lastError: { kind: "invalid", status: 401, at: 7 } }),
        k2: key({ fingerprint: "k2" }),
      },
    ]);
    expect(merged.k1).toMatchObject({
      requests: 6,
      successes: 3,
      rateLimited: 2,
      cooldownUntil: 500,
      cooldownKind: "exhausted",
      invalidGeneration: "g",
      lastError: { kind: "invalid", at: 7 },
    });
    expect(merged.k2?.fingerprint).toBe("k2");
  });
});
