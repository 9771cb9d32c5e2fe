import { describe, expect, it } from "vitest";
import {
  emptyStats,
  LATENCY_EWMA_ALPHA,
  LATENCY_SAMPLE_SIZE,
  latencySummary,
  percentile,
  recordSample,
  type StatsSample,
  successRate,
  windowCounts,
} from "./health-stats";

const ok = (at: number, latencyMs: number | null = null): StatsSample => ({
  at,
  ok: true,
  rateLimited: false,
  gatewayFailure: false,
  latencyMs,
});
const fail = (at: number): StatsSample => ({
  at,
  ok: false,
  rateLimited: false,
  gatewayFailure: true,
  latencyMs: null,
});

describe("health stats", () => {
  it("counts requests, successes, failures and the consecutive run", () => {
    const s = emptyStats();
    for (const x of [ok(0), fail(0), fail(0), ok(0), fail(0)]) recordSample(s, x, 60_000);
    expect(s).toMatchObject({ requests: 5, successes: 2, failures: 3, consecutiveFailures: 1 });
    expect(successRate(s)).toBe(0.4);
    expect(successRate(emptyStats())).toBeNull();
  });

  it("keeps an EWMA of latency", () => {
    const s = emptyStats();
    recordSample(s, ok(0, 100), 60_000);
    expect(s.latencyEwmaMs).toBe(100);
    recordSample(s, ok(0, 200), 60_000);
    expect(s.latencyEwmaMs).toBeCloseTo(100 + LATENCY_EWMA_ALPHA * 100);
  });

  it("computes nearest-rank percentiles over a bounded sample", () => {
    expect(percentile([], 50)).toBeNull();
    expect(percentile([5], 95)).toBe(5);
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 95)).toBe(95);
    const s = emptyStats();
    for (let i = 1; i <= LATENCY_SAMPLE_SIZE + 50; i += 1) recordSample(s, ok(0, i), 60_000);
    expect(s.latencySamples.length).toBe(LATENCY_SAMPLE_SIZE);
    expect(s.latencySamples[0]).toBe(51); // the oldest were dropped
    const summary = latencySummary(s);
    expect(summary.p50).toBe(50 + Math.ceil(LATENCY_SAMPLE_SIZE * 0.5));
    expect(summary.p95).toBe(50 + Math.ceil(LATENCY_SAMPLE_SIZE * 0.95));
  });

  it("counts the sliding window in buckets and drops old ones", () => {
    const s = emptyStats();
    recordSample(s, fail(0), 60_000);
    recordSample(s, ok(30_000), 60_000);
    recordSample(s, ok(59_000), 60_000);
    expect(windowCounts(s, 59_000, 60_000)).toEqual({ ok: 2, fail: 1 });
    expect(windowCounts(s, 80_000, 60_000)).toEqual({ ok: 2, fail: 0 });
    recordSample(s, ok(200_000), 60_000);
    expect(s.window.length).toBe(1);
  });

  it("keeps 429s out of the window but in the lifetime counters", () => {
    const s = emptyStats();
    recordSample(s, { at: 0, ok: false, rateLimited: true, gatewayFailure: false, latencyMs: 5 }, 60_000);
    expect(windowCounts(s, 0, 60_000)).toEqual({ ok: 0, fail: 0 });
    expect(s).toMatchObject({ requests: 1, failures: 1, rateLimited: 1, consecutiveFailures: 0 });
  });
});
