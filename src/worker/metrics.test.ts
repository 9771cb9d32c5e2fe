import fc from "fast-check";
import parsePrometheus, { type ParsedFamily } from "parse-prometheus-text-format";
import { describe, expect, it } from "vitest";
import type { HealthReport, TargetHealthJson } from "../durable/health/health-report";
import { targetHealthJson } from "../durable/health/health-report";
import { escapeLabelValue, KEY_STATES, renderMetrics, TARGET_STATES } from "./metrics";

const T = Date.parse("2026-11-26T08:00:00.000Z");

function target(url: string, fields: Partial<TargetHealthJson> = {}): TargetHealthJson {
  return { ...targetHealthJson({ url, weight: 1 }, undefined, T), ...fields };
}

function report(fields: Partial<HealthReport> = {}): HealthReport {
  return {
    generated_at: new Date(T).toISOString(),
    endpoints: {
      mygroq: {
        targets: [
          target("https://api.groq.com/openai", {
            requests: 120,
            successes: 118,
            failures: 2,
            rate_limited_responses: 1,
            consecutive_failures: 0,
            latency_ms: { ewma: 412.5, p50: 380, p95: 900 },
          }),
          target("https://mirror.example.com/groq", {
            state: "ejected",
            requests: 7,
            failures: 7,
            ejections: 1,
          }),
        ],
      },
    },
    sessions: {
      gemini: { active: 1, completed: 40, recovered: 6, continuations: 9, failed: 3 },
      websocket: { active: 2, completed: 11 },
      stream: { active: 0, completed: 5, recovered: 2, continuations: 3, failed: 1 },
    },
    ...fields,
  };
}

/** The parsed exposition, failing on anything the parser read as untyped or without help. */
function parse(text: string): Map<string, ParsedFamily> {
  const families = parsePrometheus(text);
  const byName = new Map(families.map((f) => [f.name, f]));
  expect(byName.size).toBe(families.length); // one block per family
  for (const f of families) {
    expect(f.type, f.name).not.toBe("UNTYPED");
    expect(f.help, f.name).not.toBe("");
    expect(f.name).toMatch(/^llm_gateway_[a-z0-9_]+$/);
    if (f.type === "COUNTER") expect(f.name).toMatch(/_total$/);
    for (const m of f.metrics) expect(Number.isFinite(Number(m.value)), `${f.name} ${m.value}`).toBe(true);
  }
  return byName;
}

function value(families: Map<string, ParsedFamily>, name: string, labels: Record<string, string>): number {
  const family = families.get(name);
  const hits = (family?.metrics ?? []).filter((m) =>
    Object.entries(labels).every(([k, v]) => m.labels?.[k] === v),
  );
  expect(hits, `${name} ${JSON.stringify(labels)}`).toHaveLength(1);
  return Number(hits[0]!.value);
}

describe("renderMetrics", () => {
  it("renders every contract family with HELP and TYPE, read back by a Prometheus text parser", () => {
    const text = renderMetrics(report());
    const families = parse(text);
    const types = Object.fromEntries([...families].map(([n, f]) => [n, f.type]));
    expect(types).toMatchObject({
      llm_gateway_target_requests_total: "COUNTER",
      llm_gateway_target_failures_total: "COUNTER",
      llm_gateway_target_state: "GAUGE",
      llm_gateway_target_latency_seconds: "GAUGE",
      llm_gateway_sessions_active: "GAUGE",
      llm_gateway_sessions_total: "COUNTER",
    });
    const groq = { endpoint: "mygroq", target: "https://api.groq.com/openai" };
    expect(value(families, "llm_gateway_target_requests_total", groq)).toBe(120);
    expect(value(families, "llm_gateway_target_failures_total", groq)).toBe(2);
    expect(value(families, "llm_gateway_target_successes_total", groq)).toBe(118);
    expect(value(families, "llm_gateway_target_rate_limited_responses_total", groq)).toBe(1);
    expect(value(families, "llm_gateway_target_latency_seconds", { ...groq, quantile: "0.5" })).toBe(0.38);
    expect(value(families, "llm_gateway_target_latency_seconds", { ...groq, quantile: "0.95" })).toBe(0.9);
    expect(value(families, "llm_gateway_sessions_active", { kind: "gemini" })).toBe(1);
    expect(value(families, "llm_gateway_sessions_active", { kind: "websocket" })).toBe(2);
    expect(value(families, "llm_gateway_sessions_total", { kind: "gemini", outcome: "completed" })).toBe(40);
    expect(value(families, "llm_gateway_sessions_total", { kind: "gemini", outcome: "failed" })).toBe(3);
    expect(value(families, "llm_gateway_sessions_total", { kind: "websocket", outcome: "completed" })).toBe(
      11,
    );
    expect(value(families, "llm_gateway_sessions_recovered_total", { kind: "gemini" })).toBe(6);
    expect(value(families, "llm_gateway_continuations_total", { kind: "gemini" })).toBe(9);
    // Stream repair sessions are a kind like the others.
    expect(value(families, "llm_gateway_sessions_total", { kind: "stream", outcome: "completed" })).toBe(5);
    expect(value(families, "llm_gateway_sessions_total", { kind: "stream", outcome: "failed" })).toBe(1);
    expect(value(families, "llm_gateway_continuations_total", { kind: "stream" })).toBe(3);
    expect(families.get("llm_gateway_sessions_total")!.metrics).toHaveLength(5);
    expect(value(families, "llm_gateway_endpoint_read_failed", { endpoint: "mygroq" })).toBe(0);
    expect(value(families, "llm_gateway_sessions_read_failed", {})).toBe(0);
    expect(text.endsWith("\n")).toBe(true);
  });

  it("lists every state of DESIGN §7 for each target, 1 for the current one", () => {
    const families = parse(renderMetrics(report()));
    const mirror = { endpoint: "mygroq", target: "https://mirror.example.com/groq" };
    expect(TARGET_STATES).toEqual(["healthy", "failing", "ejected", "rate_limited", "probing"]);
    const states = Object.fromEntries(
      TARGET_STATES.map((s) => [s, value(families, "llm_gateway_target_state", { ...mirror, state: s })]),
    );
    expect(states).toEqual({ healthy: 0, failing: 0, ejected: 1, rate_limited: 0, probing: 0 });
    expect(families.get("llm_gateway_target_state")!.metrics).toHaveLength(2 * TARGET_STATES.length);
  });

  it("leaves out latency quantiles a target has no sample for", () => {
    const families = parse(renderMetrics(report()));
    const quantiles = families
      .get("llm_gateway_target_latency_seconds")!
      .metrics.map((m) => `${m.labels?.target} ${m.labels?.quantile}`);
    expect(quantiles).toEqual(["https://api.groq.com/openai 0.5", "https://api.groq.com/openai 0.95"]);
  });

  it("leaves out an endpoint it could not read instead of showing counters at zero", () => {
    const broken = report();
    broken.endpoints.mygroq = { ...broken.endpoints.mygroq!, error: "object unreachable" };
    const families = parse(renderMetrics(broken));
    expect(families.get("llm_gateway_target_requests_total")!.metrics).toEqual([]);
    expect(value(families, "llm_gateway_endpoint_read_failed", { endpoint: "mygroq" })).toBe(1);
  });

  it("renders a session kind added to /health later with the counters it has", () => {
    const r = report();
    (r.sessions as unknown as Record<string, object>).stream = {
      active: 3,
      completed: 5,
      failed: 1,
      recovered: 2,
    };
    const families = parse(renderMetrics(r));
    expect(value(families, "llm_gateway_sessions_active", { kind: "stream" })).toBe(3);
    expect(value(families, "llm_gateway_sessions_total", { kind: "stream", outcome: "failed" })).toBe(1);
    expect(value(families, "llm_gateway_sessions_recovered_total", { kind: "stream" })).toBe(2);
  });

  it("leaves out the session counters when they could not be read", () => {
    const families = parse(renderMetrics(report({ sessions_error: "unreachable" })));
    expect(families.get("llm_gateway_sessions_total")!.metrics).toEqual([]);
    expect(families.get("llm_gateway_sessions_active")!.metrics).toEqual([]);
    expect(value(families, "llm_gateway_sessions_read_failed", {})).toBe(1);
  });

  it("renders key pools by fingerprint, every key state listed, and nothing for an unreadable pool", () => {
    const r = report();
    r.endpoints.mygroq!.keys = [
      {
        fingerprint: "k:3f2a9c",
        weight: 1,
        state: "rate_limited",
        requests: 9,
        successes: 7,
        rate_limited_responses: 2,
        last_error: null,
        cooldown_until: null,
      },
    ];
    r.endpoints.broken = { targets: [], keys: [], keys_error: "secret GROQ_KEYS is not set" };
    const families = parse(renderMetrics(r));
    const key = { endpoint: "mygroq", key: "k:3f2a9c" };
    expect(value(families, "llm_gateway_key_requests_total", key)).toBe(9);
    expect(value(families, "llm_gateway_key_rate_limited_responses_total", key)).toBe(2);
    const states = Object.fromEntries(
      KEY_STATES.map((s) => [s, value(families, "llm_gateway_key_state", { ...key, state: s })]),
    );
    expect(states).toEqual({ ok: 0, rate_limited: 1, invalid: 0, exhausted: 0 });
    expect(families.get("llm_gateway_key_requests_total")!.metrics).toHaveLength(1);
  });

  it("escapes backslash, double quote and line feed in label values", () => {
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
  });

  it("round-trips any endpoint and target text through the parser (property)", () => {
    // Endpoint names and target URLs are validated by the config, but the renderer must not rely on it.
    const text = fc.string({ unit: "binary", maxLength: 40 });
    fc.assert(
      fc.property(text, text, (endpoint, url) => {
        const r = report({ endpoints: { [endpoint]: { targets: [target(url, { requests: 5 })] } } });
        const families = parse(renderMetrics(r));
        expect(value(families, "llm_gateway_target_requests_total", { endpoint, target: url })).toBe(5);
        expect(value(families, "llm_gateway_endpoint_read_failed", { endpoint })).toBe(0);
      }),
      { numRuns: 300 },
    );
  });
});
