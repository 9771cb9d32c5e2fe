/**
 * Key pools through the whole Worker (issue 14): the token requirement, what the client sees when
 * every key cools down, and that no key reaches a log line, an error body, `/health` or the dashboard.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { clearLocalHealthViews } from "../../src/durable/health/health-snapshot";
import type { GatewayVars } from "../../src/worker/config";
import { callGateway } from "./gateway";
import { scenarioId } from "./health-harness";
import { keysOrigin, observedKeys, scriptKeys } from "./keys-harness";

const TOKEN = "gw-token-keys-14";
const KEYS = ["sk-pool-alpha-7f3a9c", "sk-pool-bravo-2b8d41", "sk-pool-charlie-e5c06a"];

let lines: string[] = [];
beforeEach(() => {
  lines = [];
  vi.spyOn(console, "log").mockImplementation((line: unknown) => void lines.push(String(line)));
  vi.spyOn(console, "error").mockImplementation((line: unknown) => void lines.push(String(line)));
  vi.spyOn(console, "warn").mockImplementation((line: unknown) => void lines.push(String(line)));
});
afterEach(() => {
  vi.restoreAllMocks();
});

function varsFor(name: string, extra: Record<string, unknown> = {}): GatewayVars {
  return {
    AUTH_TOKEN: TOKEN,
    PRESET_AUTH_ENABLED: "false",
    ENDPOINTS: JSON.stringify({
      [name]: { targets: `${keysOrigin()}/${name}`, keys: { secret: "POOL_KEYS" } },
    }),
    POOL_KEYS: `# test pool\n${KEYS.join("\n")}\n`,
    ...extra,
  } as GatewayVars;
}

/** Asserts that no key, and no recognisable part of one, appears in `text`. */
function expectNoKey(text: string): void {
  for (const key of KEYS) {
    expect(text).not.toContain(key);
    expect(text).not.toContain(key.slice(-6));
  }
}

describe("key pools through the gateway", () => {
  it("without the token: 401 and no upstream request, whatever PRESET_AUTH_ENABLED says", async () => {
    const name = scenarioId("kauth");
    await scriptKeys(name, Object.fromEntries(KEYS.map((k, i) => [k, { id: `k${i}`, mode: "ok" }])));
    const vars = varsFor(name);
    const inits: RequestInit[] = [
      {},
      { headers: { authorization: "Bearer my-own-key" } },
      { headers: { "x-proxy-token": "wrong" } },
    ];
    for (const init of inits) {
      const { response, settled } = await callGateway(`/${name}/v1/chat/completions`, init, vars);
      expect(response.status).toBe(401);
      const body = (await response.json()) as { error: { code: number; message: string } };
      expect(body.error.code).toBe(401);
      expect(body.error.message).toMatch(/key pool|invalid x-proxy-token/);
      await settled;
    }
    expect((await observedKeys(name)).requests).toBe(0);
    // With the token (path or header form), the pool key replaces the client's own.
    const viaPath = await callGateway(
      `/${TOKEN}/${name}/v1/x?key=client-own`,
      { headers: { authorization: "Bearer my-own-key" } },
      vars,
    );
    expect(viaPath.response.status).toBe(200);
    await viaPath.response.arrayBuffer();
    const viaHeader = await callGateway(`/${name}/v1/x`, { headers: { "x-proxy-token": TOKEN } }, vars);
    expect(viaHeader.response.status).toBe(200);
    await viaHeader.response.arrayBuffer();
    await Promise.all([viaPath.settled, viaHeader.settled]);
    const seen = await observedKeys(name);
    expect(seen.requests).toBe(2);
    for (const creds of seen.credentials) {
      expect(creds).toHaveLength(1);
      expect(KEYS.map((k) => `authorization: Bearer ${k}`)).toContain(creds[0]);
    }
  });

  it("a pool endpoint without AUTH_TOKEN configured is refused (403), not opened to everyone", async () => {
    const name = scenarioId("knotoken");
    const { response, settled } = await callGateway(`/${name}/v1/x`, {}, varsFor(name, { AUTH_TOKEN: "" }));
    expect(response.status).toBe(403);
    expect(response.headers.get("x-proxy-error")).toBe("auth_not_configured");
    await response.arrayBuffer();
    await settled;
    expect((await observedKeys(name)).requests).toBe(0);
  });

  it("every key cooling: 429, Retry-After of the soonest key, the gateway's error JSON; keys nowhere to be seen", async () => {
    const name = scenarioId("kcoolgw");
    await scriptKeys(name, {
      [KEYS[0]!]: { id: "k0", mode: "rate_limit", style: "retry-after", delaySeconds: 90 },
      [KEYS[1]!]: { id: "k1", mode: "rate_limit", style: "gemini", delaySeconds: 45 },
      [KEYS[2]!]: { id: "k2", mode: "quota", style: "402" },
    });
    const vars = varsFor(name);
    const { response, settled } = await callGateway(
      `/${name}/v1/chat/completions`,
      {
        method: "POST",
        headers: { "x-proxy-token": TOKEN, "content-type": "application/json" },
        body: '{"model":"m"}',
      },
      vars,
    );
    expect(response.status).toBe(429);
    const retryAfter = Number(response.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(44);
    expect(retryAfter).toBeLessThanOrEqual(45);
    expect(response.headers.get("x-proxy-error")).toBe("keys_cooling_down");
    expect(response.headers.get("access-control-expose-headers")).toContain("retry-after");
    const text = await response.text();
    const body = JSON.parse(text) as {
      error: { code: number; status: string; message: string; request_id: string };
    };
    expect(body.error).toMatchObject({ code: 429, status: "RESOURCE_EXHAUSTED" });
    expect(body.error.message).toMatch(/every key of endpoint .* usable again in 4[45] s/);
    expectNoKey(text);
    await settled;
    expect((await observedKeys(name)).requests).toBe(3);

    // /health: each key by fingerprint with its state; the dashboard page; the log lines.
    const health = await callGateway(`/health?all=1`, { headers: { "x-proxy-token": TOKEN } }, vars);
    const healthText = await health.response.text();
    await health.settled;
    expect(health.response.status).toBe(200);
    const keys = (
      JSON.parse(healthText) as {
        endpoints: Record<string, { keys: { fingerprint: string; state: string }[] }>;
      }
    ).endpoints[name]!.keys;
    expect(keys.map((k) => k.state)).toEqual(["rate_limited", "rate_limited", "exhausted"]);
    for (const k of keys) expect(k.fingerprint).toMatch(/^[0-9a-f]{8}$/);
    expectNoKey(healthText);
    const page = await callGateway("/", {}, vars);
    const html = await page.response.text();
    await page.settled;
    expect(html).toContain(name);
    expectNoKey(html);
    expect(lines.length).toBeGreaterThan(0);
    expectNoKey(lines.join("\n"));
    // The request's log line names the keys it tried by fingerprint.
    const line = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.endpoint === name);
    expect(keys.map((k) => k.fingerprint)).toContain(line?.key);
  });

  it("a missing pool secret is a configuration error naming the secret", async () => {
    const name = scenarioId("kmissing");
    const { response, settled } = await callGateway(
      `/${name}/v1/x`,
      { headers: { "x-proxy-token": TOKEN } },
      varsFor(name, { POOL_KEYS: undefined }),
    );
    expect(response.status).toBe(500);
    expect(response.headers.get("x-proxy-error")).toBe("config_invalid");
    expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(
      /POOL_KEYS: the key pool secret is not set/,
    );
    await settled;
    clearLocalHealthViews();
  });
});
