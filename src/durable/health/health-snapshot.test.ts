import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CallHold } from "../../../test/support/hold";
import type { EndpointConfig } from "../../transport/endpoint";
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
  HealthViews,
  isolateHealthViews,
  REPORT_BATCH_DELAY_MS,
  SYNC_STALE_MS,
  settleHealthReports,
  syncEndpoint,
} from "./health-snapshot";
import type { SyncRequest, SyncResponse } from "./target-health";

const healthView: HealthViews["view"] = (...a) => isolateHealthViews.view(...a);
const reportOutcome: HealthViews["report"] = (...a) => isolateHealthViews.report(...a);
const requestProbe: HealthViews["requestProbe"] = (...a) => isolateHealthViews.requestProbe(...a);

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
  readonly #hold = new CallHold();
  /** The next call waits until the returned function is called. */
  holdNext(): () => void {
    return this.#hold.next();
  }
  async sync(request: SyncRequest): Promise<SyncResponse> {
    if (this.down) throw new Error("object unreachable");
    this.calls.push(structuredClone(request));
    await this.#hold.pass();
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
/** Another request (or object) in the same isolate, with a `waitUntil` of its own. */
function otherCaller() {
  const own: Promise<unknown>[] = [];
  return { waits: own, ctx: { env, waitUntil: (p: Promise<unknown>) => void own.push(p), now: () => now } };
}
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

describe("context safety: data is shared, each I/O belongs to its caller", () => {
  it("a caller that finds a sync in flight only queues; the sender's own loop carries its outcomes", async () => {
    const release = object.holdNext();
    healthView(endpoint, policy, ctx); // first use: this caller's sync, held in flight
    const b = otherCaller();
    reportOutcome(endpoint, policy, ok("http://b"), b.ctx);
    reportOutcome(endpoint, policy, fail("http://a"), b.ctx);
    reportOutcome(endpoint, policy, fail("http://a"), b.ctx); // ejects: urgent, still only queued
    expect(b.waits).toHaveLength(0); // no I/O started (or chained) in b's context
    expect(object.calls).toHaveLength(1);
    release();
    await Promise.all(waits); // only the sender's own waitUntil is needed
    expect(object.calls).toHaveLength(2);
    expect(object.calls[1]!.outcomes.map((o) => o.url)).toEqual(["http://b", "http://a", "http://a"]);
    expect(object.records["http://a"]?.ejectedUntil).toBe(now + policy.baseEjectionMs);
  });

  it("an urgent caller takes over from a sender still waiting out its batching delay", async () => {
    reportOutcome(endpoint, policy, ok("http://b"), ctx); // routine: waits for company
    expect(waits).toHaveLength(1);
    const b = otherCaller();
    reportOutcome(endpoint, policy, fail("http://a"), b.ctx);
    reportOutcome(endpoint, policy, fail("http://a"), b.ctx); // ejects: b sends now, from its own context
    expect(b.waits).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(0);
    expect(object.calls).toHaveLength(1);
    expect(object.calls[0]!.outcomes).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(REPORT_BATCH_DELAY_MS);
    await Promise.all([...waits, ...b.waits]);
    expect(object.calls).toHaveLength(1); // the replaced sender ended without I/O
  });

  it("a sender whose context never finishes is replaced after SYNC_STALE_MS", async () => {
    object.holdNext(); // never released: that context died with its RPC in flight
    healthView(endpoint, policy, ctx);
    const b = otherCaller();
    reportOutcome(endpoint, policy, fail("http://a"), b.ctx);
    reportOutcome(endpoint, policy, fail("http://a"), b.ctx);
    expect(b.waits).toHaveLength(0);
    vi.setSystemTime(Date.now() + SYNC_STALE_MS);
    reportOutcome(endpoint, policy, ok("http://b"), b.ctx);
    expect(b.waits).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(REPORT_BATCH_DELAY_MS);
    await Promise.all(b.waits);
    expect(object.calls).toHaveLength(2);
    expect(object.calls[1]!.outcomes.map((o) => o.url)).toEqual(["http://a", "http://a", "http://b"]);
  });

  it("a probe claim is the caller's own round trip, even while another caller's sync is in flight", async () => {
    reportOutcome(endpoint, policy, fail("http://a"), ctx);
    reportOutcome(endpoint, policy, fail("http://a"), ctx);
    await settleHealthReports();
    now += policy.baseEjectionMs;
    const release = object.holdNext();
    reportOutcome(endpoint, policy, ok("http://b"), ctx);
    await vi.advanceTimersByTimeAsync(REPORT_BATCH_DELAY_MS); // that sync is now in flight, held
    const b = otherCaller();
    expect(await requestProbe(endpoint, policy, "http://a", b.ctx)).toBe(true);
    const claim = object.calls.at(-1)!;
    expect(claim.claimProbe).toBe("http://a");
    expect(claim.outcomes).toEqual([]); // the outcomes stay with the sync that carries them
    release();
    await Promise.all(waits);
  });

  it("views are independent; a child starts from its parent's records and keeps them current", async () => {
    const parent = new HealthViews({ reportDelayMs: 0 });
    applyOutcomes(object.records, [fail("http://b"), fail("http://b")], policy, ["http://a", "http://b"]);
    parent.view(endpoint, policy, ctx);
    await parent.settle();
    expect(object.calls).toHaveLength(1);
    expect(healthView(endpoint, policy, ctx)["http://b"]).toBeUndefined(); // the isolate's views are apart
    await settleHealthReports();
    expect(object.calls).toHaveLength(2);

    const child = new HealthViews({ parent, reportDelayMs: 0 });
    expect(child.view(endpoint, policy, ctx)["http://b"]?.ejectedUntil).not.toBeNull(); // no sync needed
    await child.settle();
    expect(object.calls).toHaveLength(2);
    child.report(endpoint, policy, ok("http://a"), ctx);
    await child.settle();
    expect(object.calls).toHaveLength(3);
    expect(parent.view(endpoint, policy, ctx)["http://a"]?.stats.successes).toBe(1);
  });
});
