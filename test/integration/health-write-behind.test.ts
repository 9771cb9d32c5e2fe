/**
 * Issue 13.5: a `TargetHealth` object writes decisions at once and routine statistics behind, at most
 * `STATS_FLUSH_INTERVAL_MS` later, from its alarm; the registry's expiry shares that alarm. Real objects in workerd;
 * the flush alarm is run with `runDurableObjectAlarm`, the restart is `evictDurableObject`.
 */
import { env, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_HEALTH_POLICY,
  type Outcome,
  type OutcomeKind,
} from "../../src/durable/health/health-policy";
import {
  REGISTRY_TTL_MS,
  STATS_FLUSH_INTERVAL_MS,
  type SyncRequest,
} from "../../src/durable/health/target-health";
import type { KeyOutcome } from "../../src/keys/key-state";
import { scenarioId } from "./health-harness";

const ns = env.TARGET_HEALTH;
const A = "http://127.0.0.1:9/a";
const B = "http://127.0.0.1:9/b";
const policy = { ...DEFAULT_HEALTH_POLICY, consecutiveFailures: 2 };

const out = (url: string, at: number, kind: OutcomeKind, status: number | null): Outcome => ({
  url,
  at,
  kind,
  status,
  latencyMs: kind === "success" ? 40 : null,
});

function request(outcomes: Outcome[], extra: Partial<SyncRequest> = {}): SyncRequest {
  return { targets: [A, B], policy, outcomes, ...extra };
}

/** The rows the object has written to SQLite, by primary key. */
async function storedRows(
  name: string,
): Promise<{ targets: Record<string, unknown>; keys: Record<string, unknown> }> {
  return runInDurableObject(ns.get(ns.idFromName(name)), (_o, state) => {
    const read = (sql: string) =>
      Object.fromEntries(
        state.storage.sql
          .exec<{ k: string; record: string }>(sql)
          .toArray()
          .map((r) => [r.k, JSON.parse(r.record)]),
      );
    return {
      targets: read("SELECT url AS k, record FROM targets"),
      keys: read("SELECT fingerprint AS k, record FROM key_records"),
    };
  });
}

const alarmOf = (name: string) =>
  runInDurableObject(ns.get(ns.idFromName(name)), (_o, state) => state.storage.getAlarm());

describe("TargetHealth write-behind", () => {
  it("routine statistics wait for the flush alarm; the flush persists them across a restart", async () => {
    const name = scenarioId("wb-routine");
    const stub = ns.get(ns.idFromName(name));
    const before = Date.now();
    await stub.sync(
      request([out(A, 1, "success", 200), out(B, 1, "success", 200), out(A, 2, "success", 200)]),
    );
    // Nothing written yet, and a flush is due within the interval.
    expect((await storedRows(name)).targets).toEqual({});
    const alarm = await alarmOf(name);
    expect(alarm).not.toBeNull();
    expect(alarm!).toBeGreaterThanOrEqual(before);
    expect(alarm!).toBeLessThanOrEqual(Date.now() + STATS_FLUSH_INTERVAL_MS);

    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const rows = (await storedRows(name)).targets;
    expect(rows[A]).toMatchObject({ stats: { requests: 2, successes: 2 } });
    expect(rows[B]).toMatchObject({ stats: { requests: 1 } });
    const live = await stub.snapshot();
    await evictDurableObject(stub);
    expect(await ns.get(ns.idFromName(name)).snapshot()).toEqual(live);
  });

  it("an ejection is written at once and survives an immediate restart", async () => {
    const name = scenarioId("wb-eject");
    const stub = ns.get(ns.idFromName(name));
    await stub.sync(request([out(A, 1, "success", 200), out(B, 1, "connect_error", null)]));
    expect((await storedRows(name)).targets).toEqual({}); // one failure is routine
    await stub.sync(request([out(B, 2, "connect_error", null)])); // the second in a row ejects B
    const rows = (await storedRows(name)).targets;
    expect(rows[B]).toMatchObject({ ejectionReason: "consecutive_failures", ejections: 1 });
    expect(rows[A]).toBeUndefined(); // A's success is still only dirty

    const ejectedUntil = (await stub.snapshot())[B]!.ejectedUntil;
    expect(ejectedUntil).not.toBeNull();
    await evictDurableObject(stub);
    const after = await ns.get(ns.idFromName(name)).snapshot();
    expect(after[B]).toMatchObject({ ejectedUntil, ejections: 1, stats: { failures: 2 } });
  });

  it("a probe claim is written at once", async () => {
    const name = scenarioId("wb-probe");
    const stub = ns.get(ns.idFromName(name));
    await stub.sync(request([out(B, 1, "connect_error", null), out(B, 2, "connect_error", null)]));
    const { ejectedUntil } = (await stub.snapshot())[B]!;
    const claimed = await stub.sync(request([], { claimProbe: B, now: ejectedUntil! }));
    expect(claimed.probeClaimed).toBe(true);
    expect((await storedRows(name)).targets[B]).toMatchObject({ probeSince: ejectedUntil });
  });

  it("a key cool-down is written at once, a key's counters with the flush", async () => {
    const name = scenarioId("wb-keys");
    const stub = ns.get(ns.idFromName(name));
    const key = (fingerprint: string, kind: KeyOutcome["kind"], status: number): KeyOutcome => ({
      fingerprint,
      at: 1,
      kind,
      status,
      generation: "g",
      ...(kind === "rate_limited" ? { cooldownMs: 60_000 } : {}),
    });
    await stub.sync(
      request([], { keyOutcomes: [key("k-ok", "success", 200), key("k-429", "rate_limited", 429)] }),
    );
    const keys = (await storedRows(name)).keys;
    expect(keys["k-429"]).toMatchObject({ cooldownUntil: 60_001, cooldownKind: "rate_limited" });
    expect(keys["k-ok"]).toBeUndefined();
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await storedRows(name)).keys["k-ok"]).toMatchObject({ requests: 1, successes: 1 });
  });

  it("writeThrough writes every change at once (the bench's comparison)", async () => {
    const name = scenarioId("wb-through");
    const stub = ns.get(ns.idFromName(name));
    await stub.sync(request([out(A, 1, "success", 200)], { writeThrough: true }));
    expect((await storedRows(name)).targets[A]).toMatchObject({ stats: { requests: 1 } });
  });

  it("one alarm serves the statistics flush and the registry's expiry, each when it is due", async () => {
    // Any TargetHealth object can hold the registry; a fresh one keeps this test apart from the shared one.
    const name = scenarioId("wb-both");
    const stub = ns.get(ns.idFromName(name));
    const now = Date.now();
    const stale = scenarioId("wb-stale");
    // Expires a minute from now: the registry's alarm.
    await stub.registerEndpoint(stale, now - REGISTRY_TTL_MS + 60_000);
    expect(await alarmOf(name)).toBe(now + 60_000);
    // A sync with routine statistics needs a flush sooner: the alarm moves earlier.
    await stub.sync(request([out(A, 1, "success", 200)]));
    expect(await alarmOf(name)).toBeLessThanOrEqual(Date.now() + STATS_FLUSH_INTERVAL_MS);

    // The flush's run writes the statistics and leaves the registry alone (not due), re-arming its alarm.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await storedRows(name)).targets[A]).toMatchObject({ stats: { requests: 1 } });
    expect(await stub.registeredEndpoints(now)).toContain(stale);
    expect(await alarmOf(name)).toBe(now + 60_000);

    // The registry's run expires the entry.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await stub.registeredEndpoints(now)).not.toContain(stale);
  });
});
