import { afterEach, describe, expect, it } from "vitest";
import { buildHealthReport } from "../../src/durable/health/health-report";
import { AllTargetsFailedError } from "../../src/transport/errors";
import {
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

describe("dispatch: failover and ejection with real upstreams", () => {
  it("three targets, one refusing connections: every request succeeds, the dead one is ejected, then probed", async () => {
    const name = scenarioId("dead");
    const endpoint = endpointOf(
      name,
      [{ name: "t1" }, { name: "t2" }, { name: "dead" }],
      { consecutiveFailures: 3, baseEjectionMs: 30_000 },
      "socket",
    );
    const dead = targetUrl("dead", name);
    const h = new Harness({ random: () => 0.99 }); // the last eligible target first: the dead one
    const attempts: number[] = [];
    for (let i = 0; i < 12; i += 1) {
      const r = await h.send(endpoint);
      expect(r.response.status).toBe(200);
      expect(r.target.url).not.toBe(dead);
      attempts.push(Number(r.response.headers.get("x-proxy-attempts")));
      await r.response.arrayBuffer();
    }
    // The first three requests tried the dead target first; then it was ejected and got nothing.
    expect(attempts).toEqual([2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    await h.settle();
    let report = await buildHealthReport(healthEnv, [endpoint], h.clock.now);
    let deadJson = report.endpoints[name]!.targets[2]!;
    expect(deadJson).toMatchObject({ url: dead, state: "ejected", requests: 3, failures: 3, successes: 0 });
    expect(deadJson.ejected_until).toBe(new Date(T0 + 30_000).toISOString());
    expect(deadJson.last_error?.kind).toMatch(/connect_error|upstream_error/);

    // Still ejected one millisecond before the end.
    h.clock.advance(29_999);
    const before = await h.send(endpoint);
    expect(before.attempts).toBe(1);
    await before.response.arrayBuffer();

    // After the ejection time, the next request probes it; the probe fails, fails over, and the
    // second ejection lasts twice as long.
    h.clock.advance(1);
    const probe = await h.send(endpoint);
    expect(probe.response.status).toBe(200);
    expect(probe.attempts).toBe(2);
    await probe.response.arrayBuffer();
    const after = await h.send(endpoint);
    expect(after.attempts).toBe(1);
    await after.response.arrayBuffer();
    await h.settle();
    report = await buildHealthReport(healthEnv, [endpoint], h.clock.now);
    deadJson = report.endpoints[name]!.targets[2]!;
    expect(deadJson).toMatchObject({ state: "ejected", requests: 4, failures: 4, ejections: 2 });
    expect(deadJson.ejected_until).toBe(new Date(T0 + 30_000 + 60_000).toISOString());

    // /health counts of the live targets equal what the mocks observed.
    const seen = await observed(name);
    const live = report.endpoints[name]!.targets.slice(0, 2);
    expect(live.map((t) => t.requests)).toEqual([seen.t1?.requests ?? 0, seen.t2?.requests ?? 0]);
    expect(live.map((t) => t.successes)).toEqual([seen.t1?.requests ?? 0, seen.t2?.requests ?? 0]);
  });

  it("fails over on 5xx and replays the request body; 4xx passes through unchanged", async () => {
    const name = scenarioId("replay");
    const endpoint = endpointOf(name, [{ name: "t1" }, { name: "t2" }]);
    await script(name, "t1", { queue: [{ status: 503 }, { status: 404, body: '{"error":"nope"}' }] });
    const h = new Harness({ random: () => 0 }); // t1 first
    const payload = JSON.stringify({ model: "m", messages: [{ role: "user", content: "hi" }] });
    const r = await h.send(endpoint, {
      method: "POST",
      headers: new Headers({ "content-type": "application/json" }),
      body: new Response(payload).body,
    });
    expect(r.response.status).toBe(200);
    expect(r.response.headers.get("x-proxy-attempts")).toBe("2");
    expect(await r.response.json()).toEqual({ target: "t2" });
    const seen = await observed(name);
    expect(seen.t1?.bodies).toEqual([payload]);
    expect(seen.t2?.bodies).toEqual([payload]);
    expect(seen.t2?.paths).toEqual([`/${name}/v1/x`]);

    const notFound = await h.send(endpoint);
    expect(notFound.response.status).toBe(404);
    expect(notFound.attempts).toBe(1);
    expect(await notFound.response.text()).toBe('{"error":"nope"}');
  });

  it("fails over on a first-byte timeout", async () => {
    const name = scenarioId("slow");
    const endpoint = endpointOf(name, [{ name: "t1" }, { name: "t2" }]);
    await script(name, "t1", { fallback: { status: 200, delayMs: 3_000 } });
    const h = new Harness({ random: () => 0 });
    const r = await h.send(endpoint, {}, { timeouts: { firstByteTimeoutMs: 200 } });
    expect(r.response.status).toBe(200);
    expect(r.attempts).toBe(2);
    expect(r.target.url).toBe(targetUrl("t2", name));
    await r.response.arrayBuffer();
    await h.settle();
    const report = await buildHealthReport(healthEnv, [endpoint], h.clock.now);
    expect(report.endpoints[name]!.targets[0]!.last_error?.kind).toBe("timeout");
  });

  it("when every target fails: a clear error naming each cause, bounded attempts, no hang", async () => {
    const name = scenarioId("allfail");
    const endpoint = endpointOf(name, [{ name: "t1" }, { name: "t2" }, { name: "dead" }], {
      consecutiveFailures: 1,
    });
    await script(name, "t1", { fallback: { status: 503 } });
    await script(name, "t2", { fallback: { status: 502 } });
    const h = new Harness({ random: () => 0 });
    const error = await h.send(endpoint).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AllTargetsFailedError);
    const e = error as AllTargetsFailedError;
    expect(e.status).toBe(502);
    expect(e.attempts).toBe(3);
    expect(e.message).toContain(`endpoint ${name}`);
    expect(e.message).toContain("HTTP 503");
    expect(e.message).toContain("HTTP 502");
    expect(e.message).not.toContain(`/${name}`); // targets are named by host, never by path

    // Panic: at most one of three is ejected; the rest keep receiving traffic rather than a refusal.
    await h.settle();
    const report = await buildHealthReport(healthEnv, [endpoint], h.clock.now);
    const states = report.endpoints[name]!.targets.map((t) => t.state);
    expect(states.filter((s) => s === "ejected")).toHaveLength(1);
    await script(name, "t1", { fallback: { status: 200 } });
    await script(name, "t2", { fallback: { status: 200 } });
    const ok = await h.send(endpoint);
    expect(ok.response.status).toBe(200);
    await ok.response.arrayBuffer();
  });

  it("panic: when every target is rate limited, they are used anyway", async () => {
    const name = scenarioId("panic");
    const endpoint = endpointOf(name, [{ name: "t1" }, { name: "t2" }]);
    const limited = { status: 429, headers: { "retry-after": "60" } };
    await script(name, "t1", { queue: [limited] });
    await script(name, "t2", { queue: [limited] });
    const h = new Harness({ random: () => 0 });
    const first = await h.send(endpoint);
    // The last attempt was a 429: it reaches the client with its Retry-After.
    expect(first.response.status).toBe(429);
    expect(first.response.headers.get("retry-after")).toBe("60");
    expect(first.attempts).toBe(2);
    await first.response.arrayBuffer();
    const second = await h.send(endpoint);
    expect(second.response.status).toBe(200);
    await second.response.arrayBuffer();
  });
});
