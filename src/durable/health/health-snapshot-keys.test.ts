/** Key outcomes in the isolate health views (issue 14): batched with target outcomes, state changes sent at once. */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { applyKeyOutcomes, type KeyOutcome, type KeyRecord, keyStateOf } from "../../keys/key-state";
import type { EndpointConfig } from "../../transport/endpoint";
import { applyOutcomes, DEFAULT_HEALTH_POLICY, type TargetRecord } from "./health-policy";
import { type HealthEnv, HealthViews, REPORT_BATCH_DELAY_MS } from "./health-snapshot";
import type { SyncRequest, SyncResponse } from "./target-health";

const policy = { ...DEFAULT_HEALTH_POLICY };
const endpoint: EndpointConfig = {
  name: "kp",
  displayName: "kp",
  targets: [{ url: "http://a", weight: 1 }],
  transport: "fetch",
  gemini: false,
};

/** Stands in for TargetHealth: the same pure key and target code, every call recorded. */
class FakeObject {
  records: Record<string, TargetRecord> = {};
  keys: Record<string, KeyRecord> = {};
  calls: SyncRequest[] = [];
  down = false;
  async sync(request: SyncRequest): Promise<SyncResponse> {
    if (this.down) throw new Error("object unreachable");
    this.calls.push(structuredClone(request));
    applyOutcomes(this.records, request.outcomes, request.policy, request.targets);
    applyKeyOutcomes(this.keys, request.keyOutcomes ?? []);
    return structuredClone({ records: this.records, probeClaimed: false, keys: this.keys });
  }
}

let object: FakeObject;
let now = 1_000;
const env = { TARGET_HEALTH: { idFromName: (n: string) => n, get: () => object } } as unknown as HealthEnv;
const ctx = { env, waitUntil: () => {}, now: () => now };
const keyOutcome = (fingerprint: string, kind: KeyOutcome["kind"], cooldownMs?: number): KeyOutcome => ({
  fingerprint,
  at: now,
  kind,
  status: kind === "rate_limited" ? 429 : 200,
  generation: "g",
  ...(cooldownMs === undefined ? {} : { cooldownMs }),
});

beforeEach(() => {
  vi.useFakeTimers();
  object = new FakeObject();
  now = 1_000;
});
afterEach(() => {
  vi.useRealTimers();
});

describe("key outcomes in the health views", () => {
  it("routine key outcomes ride the batched sync with the target outcomes", async () => {
    const views = new HealthViews();
    views.view(endpoint, policy, ctx);
    await vi.advanceTimersByTimeAsync(0);
    views.report(
      endpoint,
      policy,
      { url: "http://a", at: now, kind: "success", status: 200, latencyMs: 5 },
      ctx,
    );
    views.reportKey(endpoint, policy, keyOutcome("f1", "success"), ctx);
    views.reportKey(endpoint, policy, keyOutcome("f2", "success"), ctx);
    await vi.advanceTimersByTimeAsync(REPORT_BATCH_DELAY_MS);
    expect(object.calls).toHaveLength(2);
    expect(object.calls[1]!.outcomes).toHaveLength(1);
    expect(object.calls[1]!.keyOutcomes!.map((o) => o.fingerprint)).toEqual(["f1", "f2"]);
    expect(views.keyRecords(endpoint).f2?.requests).toBe(1);
  });

  it("a key that starts cooling is applied locally and reported at once", async () => {
    const views = new HealthViews();
    views.view(endpoint, policy, ctx);
    await vi.advanceTimersByTimeAsync(0);
    views.reportKey(endpoint, policy, keyOutcome("f1", "rate_limited", 30_000), ctx);
    expect(keyStateOf(views.keyRecords(endpoint).f1, now, "g")).toBe("rate_limited");
    await vi.advanceTimersByTimeAsync(0);
    expect(object.calls).toHaveLength(2);
    expect(object.keys.f1?.cooldownUntil).toBe(now + 30_000);
  });

  it("another isolate's view learns the key state from the object; unsent outcomes survive an unreachable object", async () => {
    const first = new HealthViews();
    first.reportKey(endpoint, policy, keyOutcome("f1", "rate_limited", 10_000), ctx);
    await vi.advanceTimersByTimeAsync(0);
    const second = new HealthViews();
    second.view(endpoint, policy, ctx);
    await vi.advanceTimersByTimeAsync(0);
    expect(keyStateOf(second.keyRecords(endpoint).f1, now, "g")).toBe("rate_limited");

    object.down = true;
    second.reportKey(endpoint, policy, keyOutcome("f2", "rate_limited", 5_000), ctx);
    await vi.advanceTimersByTimeAsync(0);
    expect(object.keys.f2).toBeUndefined();
    object.down = false;
    now += 3_000; // the view is stale: the next look syncs and carries the kept outcome
    second.view(endpoint, policy, ctx);
    await vi.advanceTimersByTimeAsync(0);
    expect(object.keys.f2?.cooldownUntil).toBe(1_000 + 5_000);
    expect(keyStateOf(second.keyRecords(endpoint).f2, now, "g")).toBe("rate_limited");
  });
});
