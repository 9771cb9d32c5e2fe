import { describe, expect, it } from "vitest";
import { ConfigError } from "../transport/errors";
import { loadConfig, parseBoolean, parseConfig } from "./config";

describe("parseBoolean", () => {
  it.each([
    ["true", true],
    ["TRUE", true],
    [" yes ", true],
    ["On", true],
    ["1", true],
    ["false", false],
    ["No", false],
    ["OFF", false],
    ["0", false],
  ])("reads %j as %s", (raw, expected) => {
    expect(parseBoolean("X", raw, !expected)).toBe(expected);
  });

  it("accepts JSON booleans and falls back only when unset", () => {
    expect(parseBoolean("X", true, false)).toBe(true);
    expect(parseBoolean("X", undefined, true)).toBe(true);
    expect(parseBoolean("X", "", false)).toBe(false);
  });

  it("refuses anything else, naming the variable", () => {
    expect(() => parseBoolean("DEBUG_MODE", "maybe", false)).toThrow(/DEBUG_MODE.*maybe/);
    expect(() => parseBoolean("DEBUG_MODE", "maybe", false)).toThrow(ConfigError);
  });
});

describe("parseConfig", () => {
  it("has the documented defaults", () => {
    const config = parseConfig({});
    expect(config).toMatchObject({
      authToken: null,
      presetAuthEnabled: false,
      geminiSpecialHandling: true,
      debug: false,
      aggressiveFallback: true,
      allowPrivateTargets: false,
      retryPromptOverrides: {},
    });
    expect(config.endpoints.size).toBeGreaterThanOrEqual(30);
    expect(config.endpoints.get("gemini")?.gemini).toBe(true);
  });

  it("treats an empty or blank AUTH_TOKEN as unset", () => {
    expect(parseConfig({ AUTH_TOKEN: "  " }).authToken).toBeNull();
    expect(parseConfig({ AUTH_TOKEN: "abc" }).authToken).toBe("abc");
  });

  it("keeps only the retry prompts that are set", () => {
    expect(
      parseConfig({ GEMINI_RETRY_PROMPT_JA: "続けて", GEMINI_RETRY_PROMPT_EN: "" }).retryPromptOverrides,
    ).toEqual({
      ja: "続けて",
    });
  });

  it("reads GEMINI_ENGINE bounds and refuses unknown fields by name", () => {
    expect(parseConfig({ GEMINI_ENGINE: '{"maxContinuations": 6, "graceMs": 5000}' }).geminiEngine).toEqual({
      bounds: { maxContinuations: 6 },
      graceMs: 5000,
    });
    expect(() => parseConfig({ GEMINI_ENGINE: '{"maxContinuation": 6}' })).toThrow(
      /GEMINI_ENGINE.*maxContinuation/,
    );
  });

  it("resolves aliases to their provider's targets", () => {
    const { endpoints } = parseConfig({});
    expect(endpoints.get("anthropic")?.targets).toEqual(endpoints.get("claude")?.targets);
  });
});

describe("ENDPOINTS", () => {
  const parse = (value: unknown) => parseConfig({ ENDPOINTS: JSON.stringify(value) });

  it("adds an endpoint with weighted targets and trims trailing slashes", () => {
    const endpoint = parse({
      mygroq: {
        targets: [{ url: "https://api.groq.com/openai/", weight: 2 }, "https://mirror.example.com/groq"],
        transport: "fetch",
      },
    }).endpoints.get("mygroq");
    expect(endpoint).toEqual({
      name: "mygroq",
      displayName: "mygroq",
      targets: [
        { url: "https://api.groq.com/openai", weight: 2 },
        { url: "https://mirror.example.com/groq", weight: 1 },
      ],
      transport: "fetch",
      gemini: false,
    });
  });

  it("replaces a preset, inheriting what the override does not say", () => {
    const config = parse({ gemini: { targets: "http://127.0.0.1:9000" } });
    expect(config.endpoints.get("gemini")).toMatchObject({
      targets: [{ url: "http://127.0.0.1:9000", weight: 1 }],
      gemini: true,
      transport: "socket",
    });
    expect(config.overridden.has("gemini")).toBe(true);
  });

  it("removes a preset with null", () => {
    expect(parse({ meta: null }).endpoints.has("meta")).toBe(false);
  });

  it("accepts a bare URL or URL list as shorthand", () => {
    expect(parse({ a: "https://a.example" }).endpoints.get("a")?.targets).toEqual([
      { url: "https://a.example", weight: 1 },
    ]);
    expect(
      parse({ b: ["https://b1.example", "https://b2.example"] }).endpoints.get("b")?.targets,
    ).toHaveLength(2);
  });

  it("accepts per-endpoint health thresholds", () => {
    expect(
      parse({ a: { targets: "https://a.example", health: { consecutiveFailures: 3 } } }).endpoints.get("a")
        ?.health,
    ).toEqual({
      consecutiveFailures: 3,
    });
  });

  it.each([
    ["not JSON", "{", "ENDPOINTS: not valid JSON"],
    ["an array", "[]", "ENDPOINTS: must be a JSON object"],
    ["a reserved name", '{"health": "https://a.example"}', 'endpoint name "health"'],
    ["an upper-case name", '{"Bad": "https://a.example"}', 'endpoint name "Bad"'],
    ["a non-http target", '{"x": {"targets": "ftp://a"}}', "ENDPOINTS.x.targets[0]"],
    ["a relative target", '{"x": "/v1"}', "ENDPOINTS.x.targets[0]: not an absolute URL"],
    ["a target with a query", '{"x": "https://a.example/?key=1"}', "must not carry a query"],
    [
      "a zero weight",
      '{"x": {"targets": [{"url": "https://a", "weight": 0}]}}',
      "ENDPOINTS.x.targets[0].weight",
    ],
    ["an empty target list", '{"x": {"targets": []}}', "ENDPOINTS.x.targets"],
    ["an unknown transport", '{"x": {"targets": "https://a", "transport": "udp"}}', "ENDPOINTS.x.transport"],
    ["an unknown field", '{"x": {"targets": "https://a", "target": 1}}', 'unknown field "target"'],
    ["a non-boolean gemini flag", '{"x": {"targets": "https://a", "gemini": "yes"}}', "ENDPOINTS.x.gemini"],
    [
      "an unknown threshold",
      '{"x": {"targets": "https://a", "health": {"n": 1}}}',
      "x.health.n is not a known field",
    ],
    [
      "a negative threshold",
      '{"x": {"targets": "https://a", "health": {"baseEjectionMs": -1}}}',
      "x.health.baseEjectionMs",
    ],
    [
      "a non-numeric threshold",
      '{"x": {"targets": "https://a", "health": {"maxAttempts": "3"}}}',
      "x.health.maxAttempts",
    ],
  ])("refuses %s with a message naming where", (_label, raw, message) => {
    expect(() => parseConfig({ ENDPOINTS: raw })).toThrow(message);
  });
});

describe("loadConfig", () => {
  it("reuses the parsed config while the variables are unchanged", () => {
    const vars = { ENDPOINTS: '{"a": "https://a.example"}' };
    expect(loadConfig(vars)).toBe(loadConfig({ ...vars }));
    expect(loadConfig({ ENDPOINTS: '{"b": "https://b.example"}' }).endpoints.has("b")).toBe(true);
  });
});

describe("DROP_REQUEST_HEADERS", () => {
  it("is empty by default", () => {
    const { extraDroppedHeaders } = parseConfig({});
    expect(extraDroppedHeaders.names.size).toBe(0);
    expect(extraDroppedHeaders.prefixes).toEqual([]);
  });

  it("reads names and prefixes separated by commas or whitespace, case-insensitively", () => {
    const { extraDroppedHeaders } = parseConfig({ DROP_REQUEST_HEADERS: " X-Acme-User,x-b\n  X-Tenant-* ," });
    expect([...extraDroppedHeaders.names].sort()).toEqual(["x-acme-user", "x-b"]);
    expect(extraDroppedHeaders.prefixes).toEqual(["x-tenant-"]);
  });

  it.each(["x-a, bad name:", "x-a,*", "x-*-b", "x-ä"])("refuses %j naming the variable", (raw) => {
    expect(() => parseConfig({ DROP_REQUEST_HEADERS: raw })).toThrow(ConfigError);
    expect(() => parseConfig({ DROP_REQUEST_HEADERS: raw })).toThrow(/DROP_REQUEST_HEADERS/);
  });
});
