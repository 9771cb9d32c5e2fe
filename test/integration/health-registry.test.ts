/**
 * Issue 11.4: the registry of endpoints behind the default `/health` listing forgets an endpoint that had no traffic
 * for `REGISTRY_TTL_MS`. Real `TargetHealth` objects; the callers' clock (`now` of each sync) is injected, and the
 * registry's alarm is run with `runDurableObjectAlarm`.
 */
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { DEFAULT_HEALTH_POLICY, type Outcome } from "../../src/durable/health/health-policy";
import { SESSIONS_OBJECT_NAME } from "../../src/durable/health/session-counters";
import { REGISTRY_REFRESH_MS, REGISTRY_TTL_MS } from "../../src/durable/health/target-health";
import { scenarioId } from "./health-harness";

const ns = env.TARGET_HEALTH;
const sessions = () => ns.get(ns.idFromName(SESSIONS_OBJECT_NAME));
const TARGET = "http://127.0.0.1:9/x";

/** One outcome reported to the endpoint's object at `now`, as an isolate's health view does. */
async function traffic(endpoint: string, now: number): Promise<void> {
  const outcome: Outcome = { url: TARGET, at: now, kind: "success", status: 200, latencyMs: 5 };
  await ns.get(ns.idFromName(endpoint)).sync({
    endpoint,
    targets: [TARGET],
    policy: { ...DEFAULT_HEALTH_POLICY },
    outcomes: [outcome],
    now,
  });
}

const alarmOfSessions = () => runInDurableObject(sessions(), (_o, state) => state.storage.getAlarm());

describe("endpoint registry expiry", () => {
  it("an endpoint not seen for the TTL leaves the registry when its alarm runs; a recent one stays", async () => {
    const now = Date.now();
    const stale = scenarioId("reg-stale");
    const fresh = scenarioId("reg-fresh");
    // Last seen a minute before the TTL runs out: the alarm is due a minute from now.
    await traffic(stale, now - REGISTRY_TTL_MS + 60_000);
    await traffic(fresh, now);
    expect(await sessions().registeredEndpoints()).toEqual(expect.arrayContaining([stale, fresh]));
    const alarm = await alarmOfSessions();
    expect(alarm).not.toBeNull();
    expect(alarm!).toBeLessThanOrEqual(now + 60_000);

    expect(await runDurableObjectAlarm(sessions())).toBe(true);
    const listed = await sessions().registeredEndpoints();
    expect(listed).toContain(fresh);
    expect(listed).not.toContain(stale);
    // The next deadline is the remaining entries' oldest one.
    expect(await alarmOfSessions()).not.toBeNull();
  });

  it("the listing never shows an expired entry, even before the alarm ran", async () => {
    const now = Date.now();
    const name = scenarioId("reg-listing");
    await traffic(name, now);
    expect(await sessions().registeredEndpoints(now + REGISTRY_TTL_MS - 1)).toContain(name);
    expect(await sessions().registeredEndpoints(now + REGISTRY_TTL_MS)).not.toContain(name);
  });

  it("an endpoint with traffic renews its entry (at most every REGISTRY_REFRESH_MS), so it does not expire", async () => {
    const now = Date.now();
    const name = scenarioId("reg-renew");
    const t0 = now - REGISTRY_TTL_MS + 60_000;
    await traffic(name, t0);
    // Within the refresh period the object does not register again: the entry keeps its first time.
    await traffic(name, t0 + REGISTRY_REFRESH_MS - 1);
    expect(await sessions().registeredEndpoints(t0 + REGISTRY_TTL_MS)).not.toContain(name);
    // After it, traffic renews the entry.
    await traffic(name, now);
    expect(await sessions().registeredEndpoints(t0 + REGISTRY_TTL_MS)).toContain(name);
  });
});
