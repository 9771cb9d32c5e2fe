import { describe, expect, it } from "vitest";
import { parseConfig } from "./config";
import { resolveProxyRoute, splitFirstSegment } from "./route";

const TOKEN = "s3cret-token";
const withToken = parseConfig({ AUTH_TOKEN: TOKEN });
const withoutToken = parseConfig({});
const statusOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return (error as { status: number }).status;
  }
  return 200;
};

describe("splitFirstSegment", () => {
  it("splits on the first slash and keeps the rest raw", () => {
    expect(splitFirstSegment("/a/b//c/")).toEqual(["a", "/b//c/"]);
    expect(splitFirstSegment("/a")).toEqual(["a", ""]);
    expect(splitFirstSegment("/")).toEqual(["", ""]);
  });
});

describe("resolveProxyRoute", () => {
  it("routes a preset with its raw remainder", () => {
    const route = resolveProxyRoute("/openai/v1//x/", withoutToken, null);
    expect(route).toMatchObject({ kind: "preset", rest: "/v1//x/" });
    expect(route.kind === "preset" && route.endpoint.name).toBe("openai");
  });

  it("routes a preset behind the token segment", () => {
    expect(resolveProxyRoute(`/${TOKEN}/groq/v1/models`, withToken, null)).toMatchObject({
      kind: "preset",
      rest: "/v1/models",
    });
  });

  it("accepts a percent-encoded token segment", () => {
    const config = parseConfig({ AUTH_TOKEN: "a b" });
    expect(resolveProxyRoute("/a%20b/openai/v1", config, null)).toMatchObject({ kind: "preset" });
  });

  it("routes the generic proxy with path or header token", () => {
    expect(resolveProxyRoute(`/${TOKEN}/https/api.example.com:8443/v1/x`, withToken, null)).toEqual({
      kind: "generic",
      scheme: "https",
      hostPort: "api.example.com:8443",
      rest: "/v1/x",
    });
    expect(resolveProxyRoute("/wss/h.example/live", withToken, TOKEN)).toMatchObject({
      kind: "generic",
      scheme: "wss",
    });
  });

  it.each([
    ["an unknown prefix", "/nope/v1", withToken, null, 404],
    ["an unknown prefix without any token", "/nope", withoutToken, null, 404],
    ["a wrong path token before a preset", "/wrong/openai/v1", withToken, null, 401],
    ["a wrong path token before a scheme", "/wrong/https/a.example/x", withToken, null, 401],
    ["a wrong header token", "/openai/v1", withToken, "wrong", 401],
    ["the generic proxy without a token", "/https/a.example/x", withToken, null, 401],
    ["the generic proxy when AUTH_TOKEN is unset", "/https/a.example/x", withoutToken, null, 403],
    ["a token segment when AUTH_TOKEN is unset", "/tok/https/a.example/x", withoutToken, null, 403],
    ["the generic proxy without a host", `/${TOKEN}/https`, withToken, null, 400],
    ["a token with nothing after it", `/${TOKEN}`, withToken, null, 404],
    ["an unknown endpoint after the token", `/${TOKEN}/nope/x`, withToken, null, 404],
  ])("refuses %s", (_label, path, config, header, status) => {
    expect(statusOf(() => resolveProxyRoute(path, config, header))).toBe(status);
  });

  it("enforces PRESET_AUTH_ENABLED", () => {
    const config = parseConfig({ AUTH_TOKEN: TOKEN, PRESET_AUTH_ENABLED: "true" });
    expect(statusOf(() => resolveProxyRoute("/openai/v1", config, null))).toBe(401);
    expect(statusOf(() => resolveProxyRoute("/openai/v1", config, TOKEN))).toBe(200);
    expect(statusOf(() => resolveProxyRoute(`/${TOKEN}/openai/v1`, config, null))).toBe(200);
    const misconfigured = parseConfig({ PRESET_AUTH_ENABLED: "true" });
    expect(statusOf(() => resolveProxyRoute("/openai/v1", misconfigured, null))).toBe(403);
  });

  it("never puts the token into an error message", () => {
    try {
      resolveProxyRoute(`/${TOKEN}x/openai/v1`, withToken, null);
    } catch (error) {
      expect((error as Error).message).not.toContain(TOKEN);
    }
  });
});
