import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { EndpointConfig } from "../transport/endpoint";
import {
  applyOutcomes,
  claimProbe,
  DEFAULT_HEALTH_POLICY,
  type Outcome,
  type TargetRecord,
} from "./health-policy";
import {
  clearLocalHealthViews,
  type HealthEnv,
  healthView,
  REPORT_BATCH_DELAY_MS,
  reportOutcome,
  requestProbe,
  settleHealthReports,
  syncEndpoint,
} from "./health-snapshot";
import type { SyncRequest, SyncResponse } from "./target-health";

const policy = { ...DEFAULT_HEALTH_POLICY, consecutiveFailures: 2 };
const endpoint: EndpointConfig = {
  name: "ep",
  displayName: "ep",
  targets: [
    { url: "http://a", weight: 1 },
    { url: "http://b", weight: 1 },
  ],
  transport: "fetch",
  gemini: false,
};

/** Stands in for the TargetHealth object: same pure policy, records every call. */
class FakeObject {
  records: Record<string, TargetRecord> = {};
  calls: SyncRequest[] = [];
  down = false;
  async sync(request: SyncRequest): Promise<SyncResponse> {
    if (this.down) throw new Error("object unreachable");
    this.calls.push(structuredClone(request));
    applyOutcomes(this.records, request.outcomes, request.policy, request.targets);
    let probeClaimed = false;
    const record = request.claimProbe ? this.records[request.claimProbe] : undefined;
    if (record) probeClaimed = claimProbe(record, request.now ?? 0, request.policy);
    return structuredClone({ records: this.records, probeClaimed });
  }
}

let object: FakeObject;
let now = 1_000;
const waits: Promise<unknown>[] = [];
const env = {
  TARGET_HEALTH: { idFromName: (n: string) => n, get: () => object },
} as unknown as HealthEnv;
const ctx = { env, waitUntil: (p: Promise<unknown>) => void waits.push(p), now: () => now };
const ok = (url: string): Outcome => ({ url, at: now, kind: "success", status: 200, latencyMs: 10 });
const fail = (url: string): Outcome => ({
  url,
  at: now,
  kind: "connect_error",
  status: null,
  latencyMs: null,
});

beforeEach(() => {
  vi.useFakeTimers();
  clearLocalHealthViews();
  object = new FakeObject();
  now = 1_000;
  waits.length = 0;
});
afterEach(() => {
  vi.useRealTimers();
});

describe("isolate health view", () => {
  it("batches routine outcomes into one sync after the delay", async () => {
    healthView(endpoint, policy, ctx); // first use: immediate sync
    await vi.advanceTimersByTimeAsync(0);
    expect(object.calls).toHaveLength(1);
    for (const url of ["http://a", "http://b", "http://a"]) reportOutcome(endpoint, policy, ok(url), ctx);
    await vi.advanceTimersByTimeAsync(REPORT_BATCH_DELAY_MS - 1);
    expect(object.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(object.calls).toHaveLength(2);
    expect(object.calls[1]!.outcomes.map((o) => o.url)).toEqual(["http://a", "http://b", "http://a"]);
  });

  it("applies outcomes locally at once and reports a state change without waiting", async () => {
    reportOutcome(endpoint, policy, fail("http://a"), ctx);
    reportOutcome(endpoint, policy, fail("http://a"), ctx); // second failure ejects (policy: 2)
    expect(healthView(endpoint, policy, ctx)["http://a"]?.ejectedUntil).toBe(now + policy.baseEjectionMs);
    await vi.advanceTimersByTimeAsync(0);
    expect(object.calls.flatMap((c) => c.outcomes)).toHaveLength(2);
    expect(object.records["http://a"]?.ejectedUntil).toBe(now + policy.baseEjectionMs);
  });

  it("refreshes from the object after the TTL, keeping outcomes queued meanwhile", async () => {
    healthView(endpoint, policy, ctx);
    await settleHealthReports();
    // Another isolate ejected b.
    applyOutcomes(object.records, [fail("http://b"), fail("http://b")], policy, ["http://a", "http://b"]);
    expect(healthView(endpoint, policy, ctx)["http://b"]).toBeUndefined(); // not stale yet
    now += 2_000;
    healthView(endpoint, policy, ctx);
    reportOutcome(endpoint, policy, ok("http://a"), ctx);
    await settleHealthReports();
    const view = healthView(endpoint, policy, ctx);
    expect(view["http://b"]?.ejectedUntil).not.toBeNull();
    expect(view["http://a"]?.stats.successes).toBe(1);
  });

  it("keeps and resends outcomes while the object is unreachable", async () => {
    object.down = true;
    reportOutcome(endpoint, policy, ok("http://a"), ctx);
    await settleHealthReports();
    expect(object.calls).toHaveLength(0);
    object.down = false;
    reportOutcome(endpoint, policy, ok("http://b"), ctx);
    await settleHealthReports();
    expect(object.calls.flatMap((c) => c.outcomes.map((o) => o.url))).toEqual(["http://a", "http://b"]);
    expect((await syncEndpoint(endpoint, policy, env, () => now))["http://a"]?.stats.requests).toBe(1);
  });

  it("claims a probe through the object, or locally when it is unreachable", async () => {
    reportOutcome(endpoint, policy, fail("http://a"), ctx);
    reportOutcome(endpoint, policy, fail("http://a"), ctx);
    await settleHealthReports();
    now += policy.baseEjectionMs;
    expect(await requestProbe(endpoint, policy, "http://a", ctx)).toBe(true);
    expect(await requestProbe(endpoint, policy, "http://a", ctx)).toBe(false); // one at a time
    now += policy.probeTimeoutMs;
    object.down = true;
    expect(await requestProbe(endpoint, policy, "http://a", ctx)).toBe(true);
  });

  it("never lets a sync failure escape into waitUntil", async () => {
    object.down = true;
    reportOutcome(endpoint, policy, fail("http://a"), ctx);
    await settleHealthReports();
    await expect(Promise.all(waits)).resolves.toBeDefined();
  });
});
