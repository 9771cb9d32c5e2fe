import { evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { buildHealthReport } from "../../src/durable/health/health-report";
import { recordSessionEvent } from "../../src/durable/health/session-counters";
import { seededRandom } from "../support/seeded-random";
import {
  clearLocalHealthViews,
  endpointOf,
  Harness,
  healthEnv,
  observed,
  scenarioId,
  script,
  settleHarnesses,
  T0,
  targetUrl,
} from "./health-harness";

afterEach(settleHarnesses);

describe("health state: rate limits, success rate, /health, persistence", () => {
  it("a 429 moves traffic away at once and the cool-down expires on time (fake clock)", async () => {
    const name = scenarioId("ratelimit");
    const endpoint = endpointOf(name, [{ name: "t1" }, { name: "t2" }, { name: "t3" }]);
    await script(name, "t1", { queue: [{ status: 429, headers: { "retry-after": "10" } }] });
    const h = new Harness({ random: () => 0 }); // the first eligible target
    const first = await h.send(endpoint);
    expect(first.response.status).toBe(200);
    expect(first.attempts).toBe(2);
    expect(first.target.url).toBe(targetUrl("t2", name));
    await first.response.arrayBuffer();
    await h.settle();
    let report = await buildHealthReport(healthEnv, [endpoint], h.clock.now);
    expect(report.endpoints[name]!.targets[0]).toMatchObject({
      state: "rate_limited",
      rate_limited_until: new Date(T0 + 10_000).toISOString(),
      last_error: { kind: "rate_limited", status: 429, at: new Date(T0).toISOString() },
    });

    h.clock.advance(9_999);
    const during = await h.send(endpoint);
    expect(during.target.url).toBe(targetUrl("t2", name));
    await during.response.arrayBuffer();

    h.clock.advance(1);
    const afterwards = await h.send(endpoint);
    expect(afterwards.target.url).toBe(targetUrl("t1", name));
    expect(afterwards.attempts).toBe(1);
    await afterwards.response.arrayBuffer();
    await h.settle();
    report = await buildHealthReport(healthEnv, [endpoint], h.clock.now);
    expect(report.endpoints[name]!.targets[0]).toMatchObject({ state: "healthy", rate_limited_until: null });
    expect((await observed(name)).t1?.requests).toBe(2);
  });

  it("ejects a target whose success rate falls below the threshold", async () => {
    const name = scenarioId("successrate");
    const endpoint = endpointOf(name, [{ name: "t1" }, { name: "t2" }], {
      consecutiveFailures: 100,
      successRateMinRequests: 6,
      successRateThreshold: 0.5,
    });
    const ok = { status: 200 };
    const bad = { status: 500 };
    await script(name, "t1", { queue: [bad, ok, bad, bad, ok, bad], fallback: ok });
    const h = new Harness({ random: () => 0 }); // t1 first while it is eligible
    for (let i = 0; i < 8; i += 1) {
      const r = await h.send(endpoint);
      expect(r.response.status).toBe(200); // 500s fail over to t2
      await r.response.arrayBuffer();
    }
    await h.settle();
    const report = await buildHealthReport(healthEnv, [endpoint], h.clock.now);
    const t1 = report.endpoints[name]!.targets[0]!;
    expect(t1).toMatchObject({
      state: "ejected",
      requests: 6,
      successes: 2,
      failures: 4,
      ejection_reason: "success_rate",
    });
    expect(t1.success_rate).toBe(0.333);
    expect((await observed(name)).t1?.requests).toBe(6);
  });

  it("/health counts equal what the mocks observed (weighted random traffic with failures)", async () => {
    const name = scenarioId("counts");
    const endpoint = endpointOf(name, [{ name: "t1", weight: 2 }, { name: "t2" }, { name: "t3" }], {
      consecutiveFailures: 1000,
      successRateMinRequests: 1000,
    });
    await script(name, "t2", {
      queue: [{ status: 503 }, { status: 200 }, { status: 502 }, { status: 404 }, { status: 503 }],
    });
    await script(name, "t3", { queue: [{ status: 429, headers: { "retry-after": "0" } }] });
    const h = new Harness({ random: seededRandom(2026) });
    for (let i = 0; i < 40; i += 1) {
      const r = await h.send(endpoint);
      expect([200, 404]).toContain(r.response.status);
      await r.response.arrayBuffer();
    }
    await h.settle();
    const report = await buildHealthReport(healthEnv, [endpoint], h.clock.now);
    const seen = await observed(name);
    for (const [i, target] of ["t1", "t2", "t3"].entries()) {
      const json = report.endpoints[name]!.targets[i]!;
      const obs = seen[target] ?? { requests: 0, statuses: {} as Record<string, number> };
      const failed = Object.entries(obs.statuses)
        .filter(([s]) => Number(s) >= 500 || s === "429")
        .reduce((n, [, c]) => n + c, 0);
      expect({ target, requests: json.requests, failures: json.failures }).toEqual({
        target,
        requests: obs.requests,
        failures: failed,
      });
      expect(json.successes).toBe(obs.requests - failed);
    }
    expect(report.endpoints[name]!.targets[2]!.rate_limited_responses).toBe(1);
    // Weight 2 of 4 for t1: with 40 draws it carries clearly more than either other target.
    const requests = report.endpoints[name]!.targets.map((t) => t.requests);
    expect(requests[0]!).toBeGreaterThan(requests[2]!);
  });

  it("spreads traffic by configured weight within statistical bounds (seeded)", async () => {
    const name = scenarioId("weights");
    const endpoint = endpointOf(name, [
      { name: "t1", weight: 1 },
      { name: "t2", weight: 3 },
    ]);
    const h = new Harness({ random: seededRandom(99) });
    const n = 200;
    for (let i = 0; i < n; i += 1) {
      const r = await h.send(endpoint);
      await r.response.arrayBuffer();
    }
    const seen = await observed(name);
    const t2 = seen.t2?.requests ?? 0;
    expect((seen.t1?.requests ?? 0) + t2).toBe(n);
    // Binomial(200, 0.75): mean 150, sd ≈ 6.1; ±4.5 sd.
    expect(Math.abs(t2 - 150)).toBeLessThan(4.5 * Math.sqrt(n * 0.75 * 0.25));
  });

  it("state survives a Durable Object restart at once, statistics once flushed, and a fresh isolate view learns it", async () => {
    const name = scenarioId("restart");
    const endpoint = endpointOf(name, [{ name: "t1" }, { name: "t2" }, { name: "dead" }], {
      consecutiveFailures: 2,
    });
    const h = new Harness({ random: () => 0.99 }); // dead first
    for (let i = 0; i < 3; i += 1) {
      const r = await h.send(endpoint);
      expect(r.response.status).toBe(200);
      await r.response.arrayBuffer();
    }
    await h.settle();
    const before = await buildHealthReport(healthEnv, [endpoint], h.clock.now);
    expect(before.endpoints[name]!.targets[2]!.state).toBe("ejected");

    const stub = () => healthEnv.TARGET_HEALTH.get(healthEnv.TARGET_HEALTH.idFromName(name));
    // Statistics are written behind (at most STATS_FLUSH_INTERVAL_MS later, by the object's alarm); run the flush
    // as its alarm would, then restart: everything /health showed is back.
    expect(await runDurableObjectAlarm(stub())).toBe(true);
    await evictDurableObject(stub());
    clearLocalHealthViews();
    const after = await buildHealthReport(healthEnv, [endpoint], h.clock.now);
    expect(after.endpoints[name]).toEqual(before.endpoints[name]);

    // A decision is written at once: a new ejection survives a restart that comes before any flush.
    h.clock.advance(31_000); // past the first ejection: the next request probes the dead target, which fails again
    const probe = await h.send(endpoint);
    await probe.response.arrayBuffer();
    await h.settle();
    const reEjected = (await buildHealthReport(healthEnv, [endpoint], h.clock.now)).endpoints[name]!
      .targets[2]!;
    expect(reEjected).toMatchObject({ state: "ejected", ejections: 2 });
    await evictDurableObject(stub());
    clearLocalHealthViews();
    const restarted = (await buildHealthReport(healthEnv, [endpoint], h.clock.now)).endpoints[name]!
      .targets[2]!;
    expect(restarted).toMatchObject({
      state: "ejected",
      ejections: 2,
      ejected_until: reEjected.ejected_until,
      failures: reEjected.failures,
    });

    // A fresh isolate view learns the ejection from the object and keeps traffic off the dead target.
    clearLocalHealthViews();
    const warm = await h.send(endpoint); // schedules the first sync
    await warm.response.arrayBuffer();
    await h.settle();
    const r = await h.send(endpoint);
    expect(r.attempts).toBe(1);
    await r.response.arrayBuffer();
  });

  it("reports session counters recorded by the session objects", async () => {
    const h = new Harness();
    const base = (await buildHealthReport(healthEnv, [], h.clock.now)).sessions;
    const waits: Promise<unknown>[] = [];
    const waitUntil = (p: Promise<unknown>) => void waits.push(p);
    for (const e of [
      "gemini.started",
      "gemini.started",
      "gemini.continuation",
      "gemini.recovered",
    ] as const) {
      recordSessionEvent(healthEnv, waitUntil, e);
    }
    recordSessionEvent(healthEnv, waitUntil, "gemini.completed");
    recordSessionEvent(healthEnv, waitUntil, "websocket.opened", 3);
    recordSessionEvent(healthEnv, waitUntil, "websocket.closed");
    await Promise.all(waits);
    const now = (await buildHealthReport(healthEnv, [], h.clock.now)).sessions;
    expect(now.gemini.active - base.gemini.active).toBe(1);
    expect(now.gemini.completed - base.gemini.completed).toBe(1);
    expect(now.gemini.recovered - base.gemini.recovered).toBe(1);
    expect(now.gemini.continuations - base.gemini.continuations).toBe(1);
    expect(now.websocket.active - base.websocket.active).toBe(2);
    expect(now.websocket.completed - base.websocket.completed).toBe(1);
  });

  it("renders the DESIGN §7 shape", async () => {
    const name = scenarioId("shape");
    const endpoint = endpointOf(name, [{ name: "t1" }]);
    const h = new Harness();
    const r = await h.send(endpoint);
    await r.response.arrayBuffer();
    await h.settle();
    const report = await buildHealthReport(healthEnv, [endpoint], h.clock.now);
    expect(report.generated_at).toBe(new Date(T0).toISOString());
    expect(Object.keys(report.sessions)).toEqual(["gemini", "websocket", "stream"]);
    const target = report.endpoints[name]!.targets[0]!;
    expect(Object.keys(target)).toEqual(
      expect.arrayContaining([
        "url",
        "weight",
        "state",
        "requests",
        "successes",
        "failures",
        "consecutive_failures",
        "success_rate",
        "latency_ms",
        "ejected_until",
        "rate_limited_until",
        "last_error",
      ]),
    );
    expect(target).toMatchObject({
      weight: 1,
      state: "healthy",
      requests: 1,
      success_rate: 1,
      last_error: null,
    });
    expect(Object.keys(target.latency_ms)).toEqual(["ewma", "p50", "p95"]);
  });
});
