import { describe, expect, it } from "vitest";
import { ConfigError } from "../../transport/errors";
import {
  applyOutcomes,
  BASE_EJECTION_MS,
  claimProbe,
  DEFAULT_HEALTH_POLICY,
  emptyRecord,
  type HealthPolicy,
  maxEjectable,
  type Outcome,
  type OutcomeKind,
  RATE_LIMIT_DEFAULT_MS,
  RATE_LIMIT_MAX_MS,
  reportedStateOf,
  resolveHealthPolicy,
  retryAfterMs,
  stateOf,
  type TargetRecord,
} from "./health-policy";

const A = "http://a.test";
const B = "http://b.test";
const C = "http://c.test";
const TARGETS = [A, B, C];
const policy: HealthPolicy = { ...DEFAULT_HEALTH_POLICY };

function out(
  url: string,
  at: number,
  kind: OutcomeKind,
  status: number | null = null,
  extra?: Partial<Outcome>,
) {
  return { url, at, kind, status, latencyMs: kind === "success" ? 100 : null, ...extra } satisfies Outcome;
}

function failTimes(records: Record<string, TargetRecord>, url: string, n: number, at: number, p = policy) {
  for (let i = 0; i < n; i += 1) applyOutcomes(records, [out(url, at, "connect_error")], p, TARGETS);
}

describe("resolveHealthPolicy", () => {
  it("returns the documented defaults and applies overrides", () => {
    expect(resolveHealthPolicy()).toEqual(DEFAULT_HEALTH_POLICY);
    expect(resolveHealthPolicy({ consecutiveFailures: 2, baseEjectionMs: 1000 })).toMatchObject({
      consecutiveFailures: 2,
      baseEjectionMs: 1000,
    });
  });

  it("rejects unknown fields and out-of-range values naming the field", () => {
    expect(() => resolveHealthPolicy({ consecutiveFailure: 2 }, "groq")).toThrow(ConfigError);
    expect(() => resolveHealthPolicy({ consecutiveFailure: 2 }, "groq")).toThrow(
      /groq\.health\.consecutiveFailure/,
    );
    expect(() => resolveHealthPolicy({ successRateThreshold: 1.5 })).toThrow(/between 0 and 1/);
    expect(() => resolveHealthPolicy({ maxAttempts: 0 })).toThrow(/integer/);
    expect(() => resolveHealthPolicy({ baseEjectionMs: -1 })).toThrow(/negative/);
    expect(() => resolveHealthPolicy({ baseEjectionMs: Number.NaN })).toThrow(/finite/);
  });
});

describe("consecutive-failure ejection", () => {
  it("ejects after N gateway failures, not before", () => {
    const records: Record<string, TargetRecord> = {};
    failTimes(records, A, policy.consecutiveFailures - 1, 1000);
    expect(stateOf(records[A], 1000)).toBe("healthy");
    failTimes(records, A, 1, 1000);
    expect(stateOf(records[A], 1000)).toBe("ejected");
    expect(records[A]!.ejectedUntil).toBe(1000 + BASE_EJECTION_MS);
    expect(records[A]!.ejectionReason).toBe("consecutive_failures");
  });

  it("counts 502/503/504 and transport errors but not 500 or 429; a success resets the run", () => {
    const records: Record<string, TargetRecord> = {};
    applyOutcomes(
      records,
      [out(A, 0, "http_5xx", 502), out(A, 0, "http_5xx", 503), out(A, 0, "timeout")],
      policy,
      TARGETS,
    );
    applyOutcomes(records, [out(A, 0, "http_5xx", 500), out(A, 0, "rate_limited", 429)], policy, TARGETS);
    expect(records[A]!.stats.consecutiveFailures).toBe(3);
    applyOutcomes(records, [out(A, 0, "success", 200)], policy, TARGETS);
    expect(records[A]!.stats.consecutiveFailures).toBe(0);
  });

  it("grows the ejection time on repeated ejection, capped", () => {
    const p = { ...policy, baseEjectionMs: 10_000, maxEjectionMs: 35_000 };
    const records: Record<string, TargetRecord> = {};
    let t = 0;
    failTimes(records, A, p.consecutiveFailures, t, p);
    const lengths: number[] = [records[A]!.ejectedUntil! - t];
    for (let i = 0; i < 4; i += 1) {
      t = records[A]!.ejectedUntil!;
      expect(stateOf(records[A], t)).toBe("probing");
      expect(claimProbe(records[A]!, t, p)).toBe(true);
      applyOutcomes(records, [out(A, t, "connect_error")], p, TARGETS); // the probe fails
      lengths.push(records[A]!.ejectedUntil! - t);
    }
    expect(lengths).toEqual([10_000, 20_000, 30_000, 35_000, 35_000]);
    expect(records[A]!.ejections).toBe(5);
  });

  it("returns to service on a successful probe and decays the level while healthy", () => {
    const p = { ...policy, baseEjectionMs: 10_000, ejectionLevelDecayMs: 100_000 };
    const records: Record<string, TargetRecord> = {};
    failTimes(records, A, p.consecutiveFailures, 0, p);
    let t = records[A]!.ejectedUntil!;
    claimProbe(records[A]!, t, p);
    applyOutcomes(records, [out(A, t, "connect_error")], p, TARGETS);
    t = records[A]!.ejectedUntil!; // level 2
    claimProbe(records[A]!, t, p);
    applyOutcomes(records, [out(A, t, "success", 200)], p, TARGETS);
    expect(stateOf(records[A], t)).toBe("healthy");
    expect(records[A]!.stats.consecutiveFailures).toBe(0);
    // Soon after: the next ejection continues the growth (level 3).
    failTimes(records, A, p.consecutiveFailures, t + 1000, p);
    expect(records[A]!.ejectedUntil! - (t + 1000)).toBe(30_000);
    const t2 = records[A]!.ejectedUntil!;
    claimProbe(records[A]!, t2, p);
    applyOutcomes(records, [out(A, t2, "success", 200)], p, TARGETS);
    // Level 3 decays by one per period in service: three periods later an ejection is a first one again.
    const t3 = t2 + 3 * p.ejectionLevelDecayMs;
    failTimes(records, A, p.consecutiveFailures, t3, p);
    expect(records[A]!.ejectedUntil! - t3).toBe(10_000);
  });

  it("ignores failures of requests that were in flight when the target was ejected", () => {
    const records: Record<string, TargetRecord> = {};
    failTimes(records, A, policy.consecutiveFailures, 0);
    const until = records[A]!.ejectedUntil!;
    failTimes(records, A, 3, 10);
    expect(records[A]!.ejectedUntil).toBe(until);
    expect(records[A]!.ejections).toBe(1);
  });
});

describe("probing", () => {
  it("grants one probe at a time, and another after the probe timeout", () => {
    const records: Record<string, TargetRecord> = {};
    failTimes(records, A, policy.consecutiveFailures, 0);
    const t = records[A]!.ejectedUntil!;
    expect(claimProbe(records[A]!, t - 1, policy)).toBe(false); // still ejected
    expect(claimProbe(records[A]!, t, policy)).toBe(true);
    expect(claimProbe(records[A]!, t + 1, policy)).toBe(false);
    expect(claimProbe(records[A]!, t + policy.probeTimeoutMs, policy)).toBe(true);
  });

  it("a healthy target cannot be claimed for a probe", () => {
    expect(claimProbe(emptyRecord(A), 0, policy)).toBe(false);
  });
});

describe("success-rate ejection", () => {
  it("ejects below the threshold once the window holds the minimum request count", () => {
    const p = { ...policy, successRateMinRequests: 10, successRateThreshold: 0.5, consecutiveFailures: 100 };
    const records: Record<string, TargetRecord> = {};
    // Alternate 1 success, 2 failures (500s: not gateway failures) → 33 %.
    const seq: Outcome[] = [];
    for (let i = 0; i < 3; i += 1) {
      seq.push(
        out(A, 1000 + i, "success", 200),
        out(A, 1000 + i, "http_5xx", 500),
        out(A, 1000 + i, "http_5xx", 500),
      );
    }
    applyOutcomes(records, seq, p, TARGETS); // 9 requests: below the minimum
    expect(stateOf(records[A], 2000)).toBe("healthy");
    applyOutcomes(records, [out(A, 2000, "http_5xx", 500)], p, TARGETS); // 10th
    expect(stateOf(records[A], 2000)).toBe("ejected");
    expect(records[A]!.ejectionReason).toBe("success_rate");
  });

  it("forgets failures that left the window", () => {
    const p = { ...policy, successRateMinRequests: 4, consecutiveFailures: 100, successRateWindowMs: 60_000 };
    const records: Record<string, TargetRecord> = {};
    applyOutcomes(
      records,
      [out(A, 0, "http_5xx", 500), out(A, 0, "http_5xx", 500), out(A, 0, "http_5xx", 500)],
      p,
      TARGETS,
    );
    applyOutcomes(records, [out(A, 120_000, "http_5xx", 500), out(A, 120_000, "success", 200)], p, TARGETS);
    expect(stateOf(records[A], 120_000)).toBe("healthy");
  });

  it("does not count 429s toward the success rate", () => {
    const p = { ...policy, successRateMinRequests: 4, consecutiveFailures: 100 };
    const records: Record<string, TargetRecord> = {};
    const seq = Array.from({ length: 10 }, (_, i) => out(A, i, "rate_limited", 429, { retryAfterMs: 1 }));
    applyOutcomes(records, [...seq, out(A, 20, "success", 200)], p, TARGETS);
    expect(records[A]!.ejectedUntil).toBeNull();
  });
});

describe("ejection cap", () => {
  it("allows at least one of two or more, and none of one", () => {
    expect(maxEjectable(1, policy)).toBe(0);
    expect(maxEjectable(2, policy)).toBe(1);
    expect(maxEjectable(3, policy)).toBe(1);
    expect(maxEjectable(4, policy)).toBe(2);
    expect(maxEjectable(10, { ...policy, maxEjectionShare: 0.3 })).toBe(3);
  });

  it("does not eject beyond the share; the target keeps serving", () => {
    const records: Record<string, TargetRecord> = {};
    failTimes(records, A, policy.consecutiveFailures, 0);
    failTimes(records, B, policy.consecutiveFailures + 3, 0);
    expect(stateOf(records[A], 1)).toBe("ejected");
    expect(stateOf(records[B], 1)).toBe("healthy");
    // Once A is back, B's next failure ejects it.
    const t = records[A]!.ejectedUntil!;
    applyOutcomes(records, [out(A, t, "success", 200), out(B, t, "connect_error")], policy, TARGETS);
    expect(stateOf(records[B], t)).toBe("ejected");
  });

  it("never ejects a lone target", () => {
    const records: Record<string, TargetRecord> = {};
    for (let i = 0; i < 20; i += 1) applyOutcomes(records, [out(A, 0, "connect_error")], policy, [A]);
    expect(stateOf(records[A], 0)).toBe("healthy");
  });
});

describe("rate limiting", () => {
  it("marks the target until Retry-After and ends on time", () => {
    const records: Record<string, TargetRecord> = {};
    applyOutcomes(records, [out(A, 1000, "rate_limited", 429, { retryAfterMs: 5000 })], policy, TARGETS);
    expect(stateOf(records[A], 5999)).toBe("rate_limited");
    expect(stateOf(records[A], 6000)).toBe("healthy");
    expect(records[A]!.stats.rateLimited).toBe(1);
    expect(records[A]!.lastError).toEqual({ kind: "rate_limited", status: 429, at: 1000 });
  });

  it("a 429 from an ejected target's probe returns it to service, rate limited", () => {
    const records: Record<string, TargetRecord> = {};
    failTimes(records, A, policy.consecutiveFailures, 0);
    const t = records[A]!.ejectedUntil!;
    applyOutcomes(records, [out(A, t, "rate_limited", 429, { retryAfterMs: 1000 })], policy, TARGETS);
    expect(records[A]!.ejectedUntil).toBeNull();
    expect(stateOf(records[A], t)).toBe("rate_limited");
    expect(stateOf(records[A], t + 1000)).toBe("healthy");
  });
});

describe("retryAfterMs", () => {
  const now = Date.parse("2026-11-26T08:00:00.000Z");
  it("parses delay-seconds", () => {
    expect(retryAfterMs("7", now, policy)).toBe(7000);
    expect(retryAfterMs(" 0 ", now, policy)).toBe(0);
    expect(retryAfterMs("1.5", now, policy)).toBe(1500);
  });
  it("parses an HTTP date relative to now, past dates as zero", () => {
    expect(retryAfterMs("Thu, 26 Nov 2026 08:00:30 GMT", now, policy)).toBe(30_000);
    expect(retryAfterMs("Thu, 26 Nov 2026 07:00:00 GMT", now, policy)).toBe(0);
  });
  it("defaults when absent or unparsable, and caps", () => {
    expect(retryAfterMs(null, now, policy)).toBe(RATE_LIMIT_DEFAULT_MS);
    expect(retryAfterMs("soon", now, policy)).toBe(RATE_LIMIT_DEFAULT_MS);
    expect(retryAfterMs("-5", now, policy)).toBe(RATE_LIMIT_DEFAULT_MS);
    expect(retryAfterMs("86400", now, policy)).toBe(RATE_LIMIT_MAX_MS);
    expect(retryAfterMs("Fri, 27 Nov 2026 08:00:00 GMT", now, policy)).toBe(RATE_LIMIT_MAX_MS);
  });
});

describe("unknown targets", () => {
  it("creates records on first sight and keeps other targets untouched", () => {
    const records: Record<string, TargetRecord> = {};
    applyOutcomes(records, [out(C, 0, "success", 200)], policy, TARGETS);
    expect(Object.keys(records)).toEqual([C]);
    expect(records[C]!.stats).toMatchObject({ requests: 1, successes: 1, failures: 0 });
  });
});

describe("failing: kept in service while breaking an outlier rule (issue 11.12)", () => {
  const T = 1_000_000;
  const apply = (records: Record<string, TargetRecord>, targets: string[], outcomes: Outcome[]) =>
    applyOutcomes(records, outcomes, policy, targets);

  it("a lone target whose every request fails (502s) is failing, and still selectable as healthy", () => {
    const records: Record<string, TargetRecord> = {};
    const fails = Array.from({ length: policy.consecutiveFailures }, (_, i) =>
      out(A, T + i, "http_5xx", 502),
    );
    apply(records, [A], fails.slice(0, -1));
    // One failure short of the rule: nothing to report yet.
    expect(reportedStateOf(records[A], T + 10, policy)).toBe("healthy");
    apply(records, [A], fails.slice(-1));
    expect(stateOf(records[A], T + 10)).toBe("healthy");
    expect(reportedStateOf(records[A], T + 10, policy)).toBe("failing");
    // A success ends the run of failures (the window holds too few requests for the rate rule).
    apply(records, [A], [out(A, T + 20, "success", 200)]);
    expect(reportedStateOf(records[A], T + 30, policy)).toBe("healthy");
  });

  it("a lone target answering 500 to everything is failing by success rate, until the window forgets it", () => {
    const records: Record<string, TargetRecord> = {};
    const n = policy.successRateMinRequests;
    apply(
      records,
      [A],
      Array.from({ length: n }, (_, i) => out(A, T + i, "http_5xx", 500)),
    );
    // 500 is not a gateway failure: no run of failures, but a 0 % success rate over enough requests.
    expect(records[A]!.stats.consecutiveFailures).toBe(0);
    expect(reportedStateOf(records[A], T + n, policy)).toBe("failing");
    expect(reportedStateOf(records[A], T + n + policy.successRateWindowMs + 60_000, policy)).toBe("healthy");
  });

  it("the last target left while the others are ejected is failing; the ejected one stays ejected", () => {
    const records: Record<string, TargetRecord> = {};
    failTimes(records, A, policy.consecutiveFailures, T, policy);
    expect(stateOf(records[A], T + 1)).toBe("ejected");
    // Two of three may be ejected at most once (share 0.5 of 3 = 1): B and C are kept in service.
    failTimes(records, B, policy.consecutiveFailures, T + 1, policy);
    expect(stateOf(records[B], T + 2)).toBe("healthy");
    expect(reportedStateOf(records[B], T + 2, policy)).toBe("failing");
    expect(reportedStateOf(records[A], T + 2, policy)).toBe("ejected");
    expect(reportedStateOf(records[C], T + 2, policy)).toBe("healthy");
    expect(reportedStateOf(undefined, T + 2, policy)).toBe("healthy");
  });
});
