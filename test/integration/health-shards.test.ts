/**
 * Issue 13.5: regional shards of an endpoint's health state, against real `TargetHealth` objects in workerd. Two
 * regions' traffic is driven through `dispatch()` with each region's views (`healthViewsFor`), the region source the
 * Worker uses; a request's `cf.continent` picks the shard through the real Worker entry point; `/health` and
 * `/metrics` (real Worker routes) merge the shards.
 */
import { env } from "cloudflare:test";
import parsePrometheus from "parse-prometheus-text-format";
import { describe, expect, it } from "vitest";
import type { HealthReport } from "../../src/durable/health/health-report";
import { healthViewsFor } from "../../src/durable/health/health-snapshot";
import { SESSIONS_OBJECT_NAME } from "../../src/durable/health/session-counters";
import { callGateway, gateway } from "./gateway";
import {
  endpointOf,
  FakeClock,
  Harness,
  observed,
  scenarioId,
  script,
  settleHarnesses,
  targetUrl,
} from "./health-harness";

const TOKEN = "shards-token-0123456789";
const ns = env.TARGET_HEALTH;

const varsFor = (name: string, extra: Record<string, string> = {}) => ({
  AUTH_TOKEN: TOKEN,
  ENDPOINTS: JSON.stringify({
    [name]: {
      targets: [targetUrl("t1", name), targetUrl("t2", name)],
      transport: "fetch",
      health: { consecutiveFailures: 2 },
    },
  }),
  ...extra,
});

describe("regional health shards", () => {
  it("each region decides from its own traffic; /health and /metrics merge the shards", async () => {
    const name = scenarioId("shards");
    const endpoint = endpointOf(name, [{ name: "t1" }, { name: "t2" }], { consecutiveFailures: 2 });
    const [t1, t2] = [targetUrl("t1", name), targetUrl("t2", name)];
    // t1 fails twice (EU's first two requests), then serves.
    await script(name, "t1", { queue: [{ status: 503 }, { status: 503 }], fallback: { status: 200 } });
    // The real clock: the Worker's /health below reads at real time, within the ejection.
    const h = new Harness({ clock: new FakeClock(Date.now()), random: () => 0 }); // t1 first while eligible
    const eu = { views: healthViewsFor("EU") };
    const na = { views: healthViewsFor("NA") };

    for (let i = 0; i < 2; i += 1) {
      const r = await h.send(endpoint, {}, eu);
      expect({ target: r.target.url, attempts: r.attempts }).toEqual({ target: t2, attempts: 2 });
      await r.response.arrayBuffer();
    }
    await h.settle();
    // EU ejected t1 after its second failure; NA never saw one and keeps sending to t1.
    for (let i = 0; i < 2; i += 1) {
      const r = await h.send(endpoint, {}, na);
      expect({ target: r.target.url, attempts: r.attempts }).toEqual({ target: t1, attempts: 1 });
      await r.response.arrayBuffer();
    }
    const euAgain = await h.send(endpoint, {}, eu);
    expect({ target: euAgain.target.url, attempts: euAgain.attempts }).toEqual({ target: t2, attempts: 1 });
    await euAgain.response.arrayBuffer();
    await settleHarnesses();

    // Each shard holds its region's records only; the unsharded object saw nothing.
    const shard = (n: string) => ns.get(ns.idFromName(n)).snapshot();
    expect((await shard(`${name}#EU`))[t1]).toMatchObject({
      ejections: 1,
      stats: { requests: 2, failures: 2 },
    });
    expect((await shard(`${name}#NA`))[t1]).toMatchObject({
      ejections: 0,
      ejectedUntil: null,
      stats: { requests: 2 },
    });
    expect(await shard(name)).toEqual({});
    const registry = await ns.get(ns.idFromName(SESSIONS_OBJECT_NAME)).registeredEndpoints();
    expect(registry).toEqual(expect.arrayContaining([`${name}#EU`, `${name}#NA`]));

    // /health through the Worker (no cf: the unsharded region) merges EU and NA.
    const vars = varsFor(name);
    const response = await gateway(`/health?endpoint=${name}`, { headers: { "x-proxy-token": TOKEN } }, vars);
    const report = (await response.json()) as HealthReport;
    const [j1, j2] = report.endpoints[name]!.targets;
    const seen = await observed(name);
    expect(j1).toMatchObject({
      state: "ejected",
      requests: seen.t1!.requests,
      successes: 2,
      failures: 2,
      ejections: 1,
      regions: {
        EU: expect.objectContaining({ state: "ejected", requests: 2, failures: 2 }),
        NA: expect.objectContaining({ state: "healthy", requests: 2, failures: 0 }),
      },
    });
    expect(seen.t1!.requests).toBe(4);
    expect(j2).toMatchObject({ state: "healthy", requests: seen.t2!.requests, successes: 3 });
    expect(Object.keys(j2!.regions ?? {})).toEqual(["EU"]);

    // /metrics renders the same merged records.
    const text = await (await gateway(`/${TOKEN}/metrics?endpoint=${name}`, {}, vars)).text();
    const families = parsePrometheus(text);
    const value = (family: string, labels: Record<string, string>) =>
      families
        .find((f) => f.name === family)
        ?.metrics.filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))
        .map((m) => Number(m.value));
    const label = { endpoint: name, target: j1!.url };
    expect(value("llm_gateway_target_requests_total", label)).toEqual([4]);
    expect(value("llm_gateway_target_state", { ...label, state: "ejected" })).toEqual([1]);
    expect(value("llm_gateway_target_requests_total", { endpoint: name, target: j2!.url })).toEqual([3]);
  });

  it("a request's cf.continent picks its region's shard through the Worker; HEALTH_SHARDING=off keeps one object", async () => {
    const name = scenarioId("shard-cf");
    const t1 = targetUrl("t1", name);
    const init = { method: "POST", body: "{}", cf: { continent: "OC" } } as RequestInit;
    const sharded = await callGateway(`/${name}/v1/x`, init, varsFor(name));
    expect(sharded.response.status).toBe(200);
    await sharded.response.arrayBuffer();
    await sharded.settled;
    await settleHarnesses();
    const snapshot = (n: string) => ns.get(ns.idFromName(n)).snapshot();
    const picked = Object.keys(await snapshot(`${name}#OC`));
    expect(picked).toHaveLength(1);
    expect(await snapshot(name)).toEqual({});

    const off = await callGateway(`/${name}/v1/x`, init, varsFor(name, { HEALTH_SHARDING: "off" }));
    expect(off.response.status).toBe(200);
    await off.response.arrayBuffer();
    await off.settled;
    const unsharded = await snapshot(name);
    expect(Object.values(unsharded).reduce((n, r) => n + r.stats.requests, 0)).toBe(1);
    expect([t1, targetUrl("t2", name)]).toEqual(expect.arrayContaining(Object.keys(unsharded)));
  });

  it("a Gemini endpoint's pass-through request reports to its region's shard too", async () => {
    const name = scenarioId("shard-gemini");
    const vars = {
      AUTH_TOKEN: TOKEN,
      ENDPOINTS: JSON.stringify({
        [name]: { targets: [targetUrl("t1", name)], transport: "fetch", gemini: true },
      }),
    };
    // Not a protected route (a GET): the Worker forwards it through dispatch with the request's views.
    const init = { method: "GET", cf: { continent: "SA" } } as RequestInit;
    const called = await callGateway(`/${name}/v1beta/models`, init, vars);
    expect(called.response.status).toBe(200);
    await called.response.arrayBuffer();
    await called.settled;
    await settleHarnesses();
    const snapshot = (n: string) => ns.get(ns.idFromName(n)).snapshot();
    expect(Object.keys(await snapshot(`${name}#SA`))).toEqual([targetUrl("t1", name)]);
    expect(await snapshot(name)).toEqual({});
  });

  it("an invalid HEALTH_SHARDING is a configuration error naming the variable", async () => {
    const name = scenarioId("shard-bad");
    const response = await gateway(`/${name}/v1/x`, {}, varsFor(name, { HEALTH_SHARDING: "continent" }));
    expect(response.status).toBe(500);
    expect(await response.text()).toMatch(/HEALTH_SHARDING/);
  });
});
