import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { resolveHealthPolicy } from "../../src/durable/health/health-policy";
import { callGateway, echoEndpoint, echoReport, gateway, headerNames, mockOrigin, mockPort } from "./gateway";

const TOKEN = "test-token-0123456789";
const withEcho = { ENDPOINTS: echoEndpoint("openai"), AUTH_TOKEN: TOKEN };

async function errorOf(response: Response) {
  const body = (await response.json()) as {
    error: { code: number; status: string; message: string; request_id: string };
  };
  expect(body.error.code).toBe(response.status);
  expect(body.error.request_id).toBe(response.headers.get("x-proxy-request-id"));
  expect(response.headers.get("x-proxy-error")).toBeTruthy();
  return body.error;
}

describe("gateway pages", () => {
  it("answers liveness without auth", async () => {
    const response = await gateway("/healthz", {}, withEcho);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok" });
    expect(response.headers.get("x-proxy-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("serves the dashboard as HTML at /", async () => {
    const response = await gateway("/", {}, withEcho);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/html");
  });

  it("answers CORS preflights itself", async () => {
    const response = await gateway(
      "/openai/v1/chat/completions",
      {
        method: "OPTIONS",
        headers: {
          origin: "https://app.example",
          "access-control-request-headers": "authorization, x-stainless-os",
        },
      },
      withEcho,
    );
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
    expect(response.headers.get("access-control-allow-headers")).toBe("authorization, x-stainless-os");
    expect(response.headers.get("access-control-allow-methods")).toContain("POST");
  });
});

describe("preset routes", () => {
  it("forwards path and query byte-exact: double slashes, trailing slash, percent-encoding", async () => {
    const path = "/v1//models/a%2Fb%20c/?q=%E4%BD%A0&x=1&x=2&empty=";
    const response = await gateway(`/openai${path}`, {}, withEcho);
    expect(response.status).toBe(200);
    expect((await echoReport(response)).url).toBe(path);
  });

  it("maps /{preset} with no remainder to the target root", async () => {
    const report = await echoReport(await gateway("/openai", {}, withEcho));
    expect(report.url).toBe("/");
  });

  it("accepts the token as a leading path segment and strips it", async () => {
    const report = await echoReport(await gateway(`/${TOKEN}/openai/v1/models`, {}, withEcho));
    expect(report.url).toBe("/v1/models");
  });

  it("forwards method, body and credentials; marks the response for CORS", async () => {
    const body = JSON.stringify({ model: "gpt", messages: [{ role: "user", content: "héllo" }] });
    const response = await gateway(
      "/openai/v1/chat/completions",
      {
        method: "POST",
        headers: { authorization: "Bearer sk-user", "content-type": "application/json", "x-custom": "1" },
        body,
      },
      withEcho,
    );
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
    expect(response.headers.get("access-control-expose-headers")).toContain("x-proxy-request-id");
    const report = await echoReport(response);
    expect(report.method).toBe("POST");
    expect(report.body).toBe(body);
    expect(report.headers).toEqual(
      expect.arrayContaining([
        ["authorization", "Bearer sk-user"],
        ["content-type", "application/json"],
        ["x-custom", "1"],
      ]),
    );
  });

  it("strips forged identifying headers before the upstream sees them", async () => {
    const response = await gateway(
      "/openai/v1/models",
      {
        headers: {
          "x-forwarded-for": "203.0.113.9",
          "x-real-ip": "203.0.113.9",
          cookie: "session=secret",
          "cf-connecting-ip": "203.0.113.9",
          forwarded: "for=203.0.113.9",
          "true-client-ip": "203.0.113.9",
          referer: "https://private.example/",
          origin: "https://private.example",
          "x-proxy-token": TOKEN,
          "x-api-key": "kept",
        },
      },
      withEcho,
    );
    const report = await echoReport(response);
    const names = headerNames(report);
    for (const name of [
      "x-forwarded-for",
      "x-real-ip",
      "cookie",
      "cf-connecting-ip",
      "forwarded",
      "true-client-ip",
      "referer",
      "origin",
      "x-proxy-token",
    ]) {
      expect(names).not.toContain(name);
    }
    expect(report.headers).toContainEqual(["x-api-key", "kept"]);
    expect(JSON.stringify(report)).not.toContain("203.0.113.9");
  });

  it("sends a socket preset through the socket path, with no identifying header and no cf-worker", async () => {
    const vars = { ENDPOINTS: echoEndpoint("sockecho", { transport: "socket" }) };
    const response = await gateway(
      "/sockecho/v1/models",
      {
        headers: {
          "x-forwarded-for": "203.0.113.9",
          "cf-connecting-ip": "203.0.113.9",
          cookie: "a=b",
          "x-api-key": "k",
        },
      },
      vars,
    );
    expect(response.headers.get("x-proxy-transport")).toBe("socket");
    expect(response.headers.get("x-proxy-fallback")).toBeNull();
    const report = await echoReport(response);
    const names = headerNames(report);
    for (const name of ["x-forwarded-for", "cf-connecting-ip", "cookie", "cf-worker"])
      expect(names).not.toContain(name);
    expect(report.headers).toContainEqual(["x-api-key", "k"]);
  });

  it("passes upstream error statuses through unchanged", async () => {
    const response = await gateway("/openai/v1/x?mock_status=418", {}, withEcho);
    expect(response.status).toBe(418);
  });

  it("with PRESET_AUTH_ENABLED requires the token, by path or header", async () => {
    const vars = { ...withEcho, PRESET_AUTH_ENABLED: "YES" };
    const denied = await gateway("/openai/v1/models", {}, vars);
    expect(denied.status).toBe(401);
    expect((await errorOf(denied)).status).toBe("UNAUTHENTICATED");
    expect((await gateway(`/${TOKEN}/openai/v1/models`, {}, vars)).status).toBe(200);
    expect((await gateway("/openai/v1/models", { headers: { "x-proxy-token": TOKEN } }, vars)).status).toBe(
      200,
    );
  });

  it("ENDPOINTS null removes a preset", async () => {
    const response = await gateway("/openai/v1/models", {}, { ENDPOINTS: JSON.stringify({ openai: null }) });
    expect(response.status).toBe(404);
  });
});

describe("auth and unknown routes", () => {
  it("answers 404 for an unknown first segment, not 401", async () => {
    const response = await gateway("/nope/v1/x", {}, withEcho);
    expect(response.status).toBe(404);
    expect((await errorOf(response)).message).toContain("nope");
  });

  it("answers 401 for a wrong token before a known route", async () => {
    const response = await gateway("/wrong-token/openai/v1/models", {}, withEcho);
    expect(response.status).toBe(401);
    const error = await errorOf(response);
    expect(error.message).not.toContain("wrong-token");
  });

  it("answers 401 for a wrong x-proxy-token header", async () => {
    const response = await gateway("/openai/v1/models", { headers: { "x-proxy-token": "bad" } }, withEcho);
    expect(response.status).toBe(401);
  });
});

describe("generic proxy", () => {
  const echoHost = `127.0.0.1:${mockPort("echo")}`;

  it("forwards /{token}/http/{host:port}/{rest} byte-exact", async () => {
    const response = await gateway(`/${TOKEN}/http/${echoHost}/a//b/?k=v%20w`, {}, withEcho);
    expect(response.status).toBe(200);
    expect((await echoReport(response)).url).toBe("/a//b/?k=v%20w");
  });

  it("accepts the token in x-proxy-token instead of the path", async () => {
    const response = await gateway(
      `/http/${echoHost}/v1/x`,
      { headers: { "x-proxy-token": TOKEN } },
      withEcho,
    );
    const report = await echoReport(response);
    expect(report.url).toBe("/v1/x");
    expect(headerNames(report)).not.toContain("x-proxy-token");
  });

  it("is disabled with guidance when AUTH_TOKEN is not set", async () => {
    const response = await gateway(`/http/${echoHost}/v1/x`, {}, { ENDPOINTS: "{}", AUTH_TOKEN: "" });
    expect(response.status).toBe(403);
    expect((await errorOf(response)).message).toContain("AUTH_TOKEN");
  });

  it("needs the token when AUTH_TOKEN is set", async () => {
    expect((await gateway(`/http/${echoHost}/v1/x`, {}, withEcho)).status).toBe(401);
  });

  it("refuses private targets unless ALLOW_PRIVATE_TARGETS", async () => {
    const vars = { ...withEcho, ALLOW_PRIVATE_TARGETS: "false" };
    for (const host of [echoHost, "169.254.169.254", "0x7f000001", "localhost", "[::1]", "10.0.0.1"]) {
      const response = await gateway(`/${TOKEN}/http/${host}/x`, {}, vars);
      expect(response.status, host).toBe(403);
      expect((await errorOf(response)).message).toContain("ALLOW_PRIVATE_TARGETS");
    }
  });

  it("reports an unreachable upstream as a 502 error JSON without leaking ?key=", async () => {
    const dead = `127.0.0.1:${mockPort("echo") === 1 ? 2 : 1}`;
    const response = await gateway(
      `/${TOKEN}/http/${dead}/v1/x?key=AIzaSecretSecretSecretSecret12`,
      {},
      withEcho,
    );
    expect(response.status).toBeGreaterThanOrEqual(502);
    const error = await errorOf(response);
    expect(JSON.stringify(error)).not.toContain("AIzaSecret");
    expect(JSON.stringify(error)).not.toContain(TOKEN);
  });
});

describe("configuration errors", () => {
  it("names the variable when a boolean is invalid", async () => {
    const response = await gateway("/openai/v1/models", {}, { ...withEcho, DEBUG_MODE: "maybe" });
    expect(response.status).toBe(500);
    const error = await errorOf(response);
    expect(error.message).toContain("DEBUG_MODE");
    expect(response.headers.get("x-proxy-error")).toBe("config_invalid");
  });

  it("names the endpoint when ENDPOINTS is invalid", async () => {
    const response = await gateway("/openai/v1/models", {}, { ENDPOINTS: '{"x": {"targets": "ftp://a"}}' });
    expect(response.status).toBe(500);
    expect((await errorOf(response)).message).toContain("ENDPOINTS.x.targets[0]");
  });
});

describe("streaming", () => {
  it("streams SSE events through", async () => {
    const { response } = await callGateway("/openai/sse?mock_sse=5&mock_interval_ms=5", {}, withEcho);
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    const text = await response.text();
    expect(text.match(/^data: /gm)?.length).toBe(6);
    expect(text.endsWith("data: [DONE]\n\n")).toBe(true);
  });

  it("reaches the mock at its own origin", () => {
    expect(mockOrigin("echo")).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });
});

describe("/health", () => {
  it("needs the token when AUTH_TOKEN is set, by header or path", async () => {
    expect((await gateway("/health", {}, withEcho)).status).toBe(401);
    const byHeader = await gateway(
      "/health?endpoint=openai",
      { headers: { "x-proxy-token": TOKEN } },
      withEcho,
    );
    expect(byHeader.status).toBe(200);
    const report = (await byHeader.json()) as {
      generated_at: string;
      endpoints: Record<string, unknown>;
      sessions: unknown;
    };
    expect(Object.keys(report.endpoints)).toEqual(["openai"]);
    expect(report.sessions).toMatchObject({
      gemini: { active: expect.any(Number) },
      websocket: { active: expect.any(Number) },
    });
    expect((await gateway(`/${TOKEN}/health?endpoint=openai`, {}, withEcho)).status).toBe(200);
  });

  it("lists configured and used endpoints by default, every endpoint with ?all=1", async () => {
    const headers = { "x-proxy-token": TOKEN };
    const names = async (query: string) =>
      Object.keys(
        ((await (await gateway(`/health${query}`, { headers }, withEcho)).json()) as { endpoints: object })
          .endpoints,
      );
    // `openai` is configured by ENDPOINTS; `cohere` is an idle built-in preset.
    expect(await names("")).toContain("openai");
    expect(await names("")).not.toContain("cohere");
    expect(await names("?all=1")).toContain("cohere");
    // An endpoint's object registers it as in use with its first reported outcome.
    const ns = env.TARGET_HEALTH;
    const policy = resolveHealthPolicy(undefined, "cohere");
    await ns.get(ns.idFromName("cohere")).sync({
      endpoint: "cohere",
      targets: ["https://api.cohere.com"],
      policy,
      outcomes: [
        { url: "https://api.cohere.com", at: Date.now(), kind: "success", status: 200, latencyMs: 5 },
      ],
    });
    expect(await names("")).toContain("cohere");
  });

  it("keeps /{preset}/health a proxied path", async () => {
    const report = await echoReport(await gateway("/openai/health", {}, withEcho));
    expect(report.url).toBe("/health");
  });

  it("has no token form without AUTH_TOKEN: an unknown first segment stays a 404", async () => {
    expect((await gateway("/whatever/health", {}, { ENDPOINTS: "{}", AUTH_TOKEN: "" })).status).toBe(404);
    expect((await gateway("/health?endpoint=openai", {}, { ENDPOINTS: "{}", AUTH_TOKEN: "" })).status).toBe(
      200,
    );
  });

  it("refuses an unknown endpoint filter", async () => {
    const response = await gateway(
      "/health?endpoint=nope",
      { headers: { "x-proxy-token": TOKEN } },
      withEcho,
    );
    expect(response.status).toBe(400);
  });
});
