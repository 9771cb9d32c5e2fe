/**
 * `GET /metrics` through the real Worker: real traffic to the scriptable targets mock, then `/health`
 * and `/metrics` read at the same moment must show the same numbers (both render the `TargetHealth`
 * and session-counter records), parsed by a real Prometheus text parser.
 */
import parsePrometheus, { type ParsedFamily } from "parse-prometheus-text-format";
import { describe, expect, it, vi } from "vitest";
import type { HealthReport } from "../../src/durable/health/health-report";
import { settleHealthReports } from "../../src/durable/health/health-snapshot";
import { callGateway, echoEndpoint, echoReport, gateway } from "./gateway";
import { observed, scenarioId, script, targetUrl } from "./health-harness";

const TOKEN = "metrics-token-0123456789";
const auth = { headers: { "x-proxy-token": TOKEN } };

function sample(families: ParsedFamily[], name: string, labels: Record<string, string>): number | undefined {
  const family = families.find((f) => f.name === name);
  const hits = (family?.metrics ?? []).filter((m) =>
    Object.entries(labels).every(([k, v]) => m.labels?.[k] === v),
  );
  expect(hits.length, `${name} ${JSON.stringify(labels)}`).toBeLessThanOrEqual(1);
  return hits[0] === undefined ? undefined : Number(hits[0].value);
}

async function sendTraffic(name: string, vars: Record<string, string>, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const call = await callGateway(`/${name}/v1/chat/completions`, { method: "POST", body: "{}" }, vars);
    await call.response.arrayBuffer();
    await call.settled;
  }
  await settleHealthReports();
}

async function readBoth(name: string, vars: Record<string, string>) {
  const health = (await (await gateway(`/health?endpoint=${name}`, auth, vars)).json()) as HealthReport;
  const response = await gateway(`/${TOKEN}/metrics?endpoint=${name}`, {}, vars);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await response.text();
  return { health, text, families: parsePrometheus(text) };
}

describe("/metrics", () => {
  it("agrees with /health after real traffic, and its counters never go down", async () => {
    const name = scenarioId("metrics");
    // t2 fails every time (kept in service: a high ejection threshold), so both counters move.
    await script(name, "t2", { fallback: { status: 503 } });
    const endpoints = {
      [name]: {
        targets: [targetUrl("t1", name), targetUrl("t2", name)],
        transport: "fetch",
        health: { consecutiveFailures: 1000, successRateMinRequests: 1000 },
      },
    };
    const vars = { ENDPOINTS: JSON.stringify(endpoints), AUTH_TOKEN: TOKEN };
    await sendTraffic(name, vars, 12);

    const first = await readBoth(name, vars);
    expect(first.text).not.toContain(TOKEN);
    const seen = await observed(name);
    let total = 0;
    for (const t of first.health.endpoints[name]!.targets) {
      const labels = { endpoint: name, target: t.url };
      expect(sample(first.families, "llm_gateway_target_requests_total", labels)).toBe(t.requests);
      expect(sample(first.families, "llm_gateway_target_failures_total", labels)).toBe(t.failures);
      expect(sample(first.families, "llm_gateway_target_state", { ...labels, state: t.state })).toBe(1);
      const p50 = sample(first.families, "llm_gateway_target_latency_seconds", {
        ...labels,
        quantile: "0.5",
      });
      const p95 = sample(first.families, "llm_gateway_target_latency_seconds", {
        ...labels,
        quantile: "0.95",
      });
      expect(p50).toBe(t.latency_ms.p50 === null ? undefined : t.latency_ms.p50 / 1000);
      expect(p95).toBe(t.latency_ms.p95 === null ? undefined : t.latency_ms.p95 / 1000);
      total += t.requests;
    }
    // The counts are the upstream's own: every attempt the targets mock saw, no more.
    expect(total).toBe((seen.t1?.requests ?? 0) + (seen.t2?.requests ?? 0));
    expect(first.health.endpoints[name]!.targets[1]!.failures).toBeGreaterThan(0);
    const { gemini, websocket } = first.health.sessions;
    expect(sample(first.families, "llm_gateway_sessions_active", { kind: "gemini" })).toBe(gemini.active);
    expect(sample(first.families, "llm_gateway_sessions_active", { kind: "websocket" })).toBe(
      websocket.active,
    );
    expect(
      sample(first.families, "llm_gateway_sessions_total", { kind: "gemini", outcome: "completed" }),
    ).toBe(gemini.completed);
    expect(sample(first.families, "llm_gateway_sessions_total", { kind: "gemini", outcome: "failed" })).toBe(
      gemini.failed,
    );
    expect(
      sample(first.families, "llm_gateway_sessions_total", { kind: "websocket", outcome: "completed" }),
    ).toBe(websocket.completed);

    await sendTraffic(name, vars, 3);
    const second = await readBoth(name, vars);
    for (const family of ["llm_gateway_target_requests_total", "llm_gateway_target_failures_total"]) {
      for (const t of second.health.endpoints[name]!.targets) {
        const labels = { endpoint: name, target: t.url };
        expect(sample(second.families, family, labels)!).toBeGreaterThanOrEqual(
          sample(first.families, family, labels)!,
        );
      }
    }
    const after = second.health.endpoints[name]!.targets.reduce((n, t) => n + t.requests, 0);
    expect(after).toBeGreaterThanOrEqual(total + 3);
  });

  it("has /health's authentication: 401 without the token, the header or path form with it", async () => {
    const vars = { ENDPOINTS: echoEndpoint("openai"), AUTH_TOKEN: TOKEN };
    const refused = await gateway("/metrics", {}, vars);
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(/\/metrics/);
    expect(
      (await gateway("/metrics?endpoint=openai", { headers: { "x-proxy-token": "wrong" } }, vars)).status,
    ).toBe(401);
    const byHeader = await gateway("/metrics?endpoint=openai", auth, vars);
    expect(byHeader.status).toBe(200);
    expect(await byHeader.text()).toContain('llm_gateway_target_requests_total{endpoint="openai"');
    // Without AUTH_TOKEN the page is public, like /health.
    expect((await gateway("/metrics?endpoint=openai", {}, { ENDPOINTS: "{}", AUTH_TOKEN: "" })).status).toBe(
      200,
    );
  });

  it("keeps /{preset}/metrics a proxied path", async () => {
    const vars = { ENDPOINTS: echoEndpoint("openai"), AUTH_TOKEN: TOKEN };
    const report = await echoReport(await gateway("/openai/metrics", {}, vars));
    expect(report.url).toBe("/metrics");
  });
});

describe("request log lines", () => {
  it("are one JSON object per request with indexable fields and no secret", async () => {
    const name = scenarioId("logline");
    const vars = {
      ENDPOINTS: JSON.stringify({ [name]: { targets: [targetUrl("t1", name)], transport: "fetch" } }),
      AUTH_TOKEN: TOKEN,
      PRESET_AUTH_ENABLED: "true",
    };
    const lines: string[] = [];
    const spy = vi.spyOn(console, "log").mockImplementation((line: unknown) => void lines.push(String(line)));
    try {
      const call = await callGateway(
        `/${TOKEN}/${name}/v1/models?key=AIzaSyA-secret-value-0123456789`,
        {},
        vars,
      );
      await call.response.arrayBuffer();
      await call.settled;
    } finally {
      spy.mockRestore();
    }
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(entry).toMatchObject({
      level: "info",
      route: "preset",
      endpoint: name,
      target_host: new URL(targetUrl("t1", name)).host,
      transport: "fetch",
      attempts: 1,
      status: 200,
      request_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      duration_ms: expect.any(Number),
      upstream_ms: expect.any(Number),
    });
    expect(lines[0]).not.toContain(TOKEN);
    expect(lines[0]).not.toContain("AIzaSyA-secret");
  });
});
