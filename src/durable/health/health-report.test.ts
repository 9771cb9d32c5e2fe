import { describe, expect, it } from "vitest";
import { applyOutcomes, DEFAULT_HEALTH_POLICY, type TargetRecord } from "./health-policy";
import { endpointHealthJson, targetHealthJson } from "./health-report";

const T = Date.parse("2026-11-26T08:00:00.000Z");
const target = { url: "http://a", weight: 2 };

describe("health report JSON", () => {
  it("renders a never-used target with zeros and nulls", () => {
    expect(targetHealthJson(target, undefined, T)).toEqual({
      url: "http://a",
      weight: 2,
      state: "healthy",
      requests: 0,
      successes: 0,
      failures: 0,
      consecutive_failures: 0,
      success_rate: null,
      latency_ms: { ewma: null, p50: null, p95: null },
      ejected_until: null,
      rate_limited_until: null,
      last_error: null,
      rate_limited_responses: 0,
      ejections: 0,
      ejection_reason: null,
      failing_reason: null,
    });
  });

  it("reports a lone target that fails every request as failing, with the rule it breaks", () => {
    const records: Record<string, TargetRecord> = {};
    const policy = { ...DEFAULT_HEALTH_POLICY, consecutiveFailures: 3 };
    applyOutcomes(
      records,
      [1, 2, 3].map((i) => ({
        url: "http://a",
        at: T - i,
        kind: "connect_error" as const,
        status: null,
        latencyMs: null,
      })),
      policy,
      ["http://a"],
    );
    expect(targetHealthJson(target, records["http://a"], T, policy)).toMatchObject({
      state: "failing",
      failing_reason: "consecutive_failures",
      success_rate: 0,
      ejected_until: null,
      ejection_reason: null,
    });
    // The endpoint's own rules decide: with the default of 5 in a row, 3 failures are not failing yet.
    expect(targetHealthJson(target, records["http://a"], T).state).toBe("healthy");
  });

  it("renders counters, latency, ejection and the last error with ISO times", () => {
    const records: Record<string, TargetRecord> = {};
    const policy = { ...DEFAULT_HEALTH_POLICY, consecutiveFailures: 2 };
    applyOutcomes(
      records,
      [
        { url: "http://a", at: T - 5000, kind: "success", status: 200, latencyMs: 400 },
        { url: "http://a", at: T - 4000, kind: "timeout", status: null, latencyMs: null },
        { url: "http://a", at: T - 3000, kind: "http_5xx", status: 503, latencyMs: 100 },
      ],
      policy,
      ["http://a", "http://b"],
    );
    const json = targetHealthJson(target, records["http://a"], T);
    expect(json).toMatchObject({
      state: "ejected",
      requests: 3,
      successes: 1,
      failures: 2,
      consecutive_failures: 2,
      success_rate: 0.333,
      latency_ms: { ewma: 310, p50: 100, p95: 400 },
      ejected_until: new Date(T - 3000 + policy.baseEjectionMs).toISOString(),
      rate_limited_until: null,
      last_error: { kind: "http_5xx", status: 503, at: new Date(T - 3000).toISOString() },
      ejections: 1,
      ejection_reason: "consecutive_failures",
    });
    // After the ejection time the target shows as probing, without an ejected_until.
    const later = targetHealthJson(target, records["http://a"], T + policy.baseEjectionMs);
    expect(later).toMatchObject({ state: "probing", ejected_until: null });
  });

  it("lists configured targets in order, ignoring records of removed ones", () => {
    const endpoint = {
      name: "x",
      displayName: "x",
      targets: [target, { url: "http://b", weight: 1 }],
      transport: "fetch" as const,
      gemini: false,
    };
    const json = endpointHealthJson(endpoint, {}, T);
    expect(json.targets.map((t) => t.url)).toEqual(["http://a", "http://b"]);
  });
});
