import { describe, expect, it } from "vitest";
import { seededRandom } from "../../../test/support/seeded-random";
import type { TargetConfig } from "../../transport/endpoint";
import { applyOutcomes, DEFAULT_HEALTH_POLICY, type Outcome, type TargetRecord } from "./health-policy";
import { latencyFactor, selectTarget, successFactor, weightedPick } from "./target-selection";

const policy = { ...DEFAULT_HEALTH_POLICY };
const A: TargetConfig = { url: "http://a.test", weight: 1 };
const B: TargetConfig = { url: "http://b.test", weight: 2 };
const C: TargetConfig = { url: "http://c.test", weight: 1 };
const TARGETS = [A, B, C];
const URLS = TARGETS.map((t) => t.url);

function counts(
  records: Record<string, TargetRecord>,
  n: number,
  seed: number,
  now = 0,
): Record<string, number> {
  const random = seededRandom(seed);
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i += 1) {
    const s = selectTarget(TARGETS, records, { now, policy, random })!;
    out[s.target.url] = (out[s.target.url] ?? 0) + 1;
  }
  return out;
}

/** Expected count ± 4.5 standard deviations of a binomial: fails by chance with p < 1e-5. */
function expectNear(observed: number, n: number, p: number): void {
  const sd = Math.sqrt(n * p * (1 - p));
  expect(Math.abs(observed - n * p)).toBeLessThan(4.5 * sd);
}

describe("weightedPick", () => {
  it("maps the unit interval onto cumulative weights and skips non-positive weights", () => {
    const items = [
      { item: "x", weight: 1 },
      { item: "skip", weight: 0 },
      { item: "y", weight: 3 },
    ];
    expect(weightedPick(items, () => 0)).toBe("x");
    expect(weightedPick(items, () => 0.2499)).toBe("x");
    expect(weightedPick(items, () => 0.25)).toBe("y");
    expect(weightedPick(items, () => 0.999999)).toBe("y");
    expect(weightedPick([{ item: "z", weight: 0 }], () => 0.5)).toBeNull();
  });
});

describe("selectTarget", () => {
  it("respects configured weights within statistical bounds (seeded)", () => {
    const n = 20_000;
    for (const seed of [1, 42, 2026]) {
      const c = counts({}, n, seed);
      expectNear(c[A.url] ?? 0, n, 0.25);
      expectNear(c[B.url] ?? 0, n, 0.5);
      expectNear(c[C.url] ?? 0, n, 0.25);
    }
  });

  it("scales weights by windowed success rate", () => {
    const records: Record<string, TargetRecord> = {};
    const seq: Outcome[] = [];
    // B: 2 of 10 succeed → factor 0.2 → effective weight 0.4 vs A 1, C 1.
    for (let i = 0; i < 10; i += 1) {
      seq.push({
        url: B.url,
        at: 0,
        kind: i < 2 ? "success" : "http_5xx",
        status: i < 2 ? 200 : 500,
        latencyMs: null,
      });
    }
    applyOutcomes(records, seq, { ...policy, successRateMinRequests: 1000 }, URLS);
    expect(successFactor(records[B.url], 0, policy)).toBeCloseTo(0.2);
    const n = 20_000;
    const c = counts(records, n, 7);
    expectNear(c[B.url] ?? 0, n, 0.4 / 2.4);
  });

  it("scales weights by latency relative to the fastest target", () => {
    const records: Record<string, TargetRecord> = {};
    applyOutcomes(
      records,
      [
        { url: A.url, at: 0, kind: "success", status: 200, latencyMs: 100 },
        { url: C.url, at: 0, kind: "success", status: 200, latencyMs: 400 },
      ],
      policy,
      URLS,
    );
    expect(latencyFactor(records[C.url], 100)).toBeCloseTo(0.5);
    expect(latencyFactor(records[C.url], null)).toBe(1);
    expect(
      latencyFactor({ ...records[C.url]!, stats: { ...records[C.url]!.stats, latencyEwmaMs: 1e6 } }, 100),
    ).toBe(0.25);
    const n = 20_000;
    const c = counts(records, n, 11);
    expectNear(c[C.url] ?? 0, n, 0.5 / 3.5);
  });

  it("never picks ejected or rate-limited targets while others are eligible", () => {
    const records: Record<string, TargetRecord> = {};
    const fails = Array.from({ length: policy.consecutiveFailures }, () => ({
      url: A.url,
      at: 0,
      kind: "connect_error" as const,
      status: null,
      latencyMs: null,
    }));
    applyOutcomes(records, fails, policy, URLS);
    applyOutcomes(
      records,
      [{ url: B.url, at: 0, kind: "rate_limited", status: 429, latencyMs: 1, retryAfterMs: 10_000 }],
      policy,
      URLS,
    );
    const c = counts(records, 2000, 3, 1);
    expect(c).toEqual({ [C.url]: 2000 });
    // B comes back exactly when its Retry-After runs out.
    expect(counts(records, 2000, 3, 10_000)[B.url]).toBeGreaterThan(0);
  });

  it("marks a probing target's pick as a probe and skips it while its probe is out", () => {
    const records: Record<string, TargetRecord> = {};
    const fails = Array.from({ length: policy.consecutiveFailures }, () => ({
      url: A.url,
      at: 0,
      kind: "timeout" as const,
      status: null,
      latencyMs: null,
    }));
    applyOutcomes(records, fails, policy, URLS);
    const t = records[A.url]!.ejectedUntil!;
    const exclude = new Set([B.url, C.url]);
    expect(selectTarget(TARGETS, records, { now: t, policy, random: () => 0, exclude })).toEqual({
      target: A,
      mode: "probe",
    });
    records[A.url]!.probeSince = t;
    expect(selectTarget(TARGETS, records, { now: t, policy, random: () => 0, exclude })?.mode).toBe("panic");
  });

  it("panics rather than refusing: untried targets are used when none is eligible, rate-limited last", () => {
    const records: Record<string, TargetRecord> = {};
    for (const t of [A, B]) {
      applyOutcomes(
        records,
        [{ url: t.url, at: 0, kind: "rate_limited", status: 429, latencyMs: 1, retryAfterMs: 60_000 }],
        policy,
        URLS,
      );
    }
    records[C.url] = { ...records[A.url]!, url: C.url, rateLimitedUntil: null, ejectedUntil: 60_000 };
    const s = selectTarget(TARGETS, records, { now: 1, policy, random: seededRandom(5) });
    expect(s).toEqual({ target: C, mode: "panic" });
    const s2 = selectTarget(TARGETS, records, {
      now: 1,
      policy,
      random: seededRandom(5),
      exclude: new Set([C.url]),
    });
    expect(s2?.mode).toBe("panic");
    expect([A.url, B.url]).toContain(s2?.target.url);
    expect(
      selectTarget(TARGETS, records, { now: 1, policy, random: seededRandom(5), exclude: new Set(URLS) }),
    ).toBeNull();
  });
});
