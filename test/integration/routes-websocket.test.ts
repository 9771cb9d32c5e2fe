/**
 * WebSocket upgrades through the gateway's own routing (the relay itself is covered by ws-*.test.ts):
 * the generic `ws`/`https`-with-upgrade routes, presets (`https → wss`), auth, and refusals.
 */
import { describe, expect, it } from "vitest";
import { gateway } from "./gateway";
import { RelayClient, wsMockLog, wsMockPort } from "./ws-client";

const TOKEN = "ws-route-token-123456";
const vars = {
  AUTH_TOKEN: TOKEN,
  ENDPOINTS: JSON.stringify({ wsmock: { targets: `http://127.0.0.1:${wsMockPort()}` } }),
};
const upgrade = { upgrade: "websocket", "sec-websocket-version": "13" };

async function echoOnce(response: Response, message: string): Promise<string> {
  expect(response.status).toBe(101);
  const client = new RelayClient(response);
  client.ws.send(message);
  const answer = await client.next();
  client.ws.close(1000, "done");
  await client.closed;
  return String(answer);
}

describe("WebSocket routes", () => {
  it("relays /{token}/ws/{host}/{path} to the upstream, query kept", async () => {
    const response = await gateway(
      `/${TOKEN}/ws/127.0.0.1:${wsMockPort()}/echo?id=route-generic`,
      { headers: upgrade },
      vars,
    );
    expect(await echoOnce(response, "hello generic")).toBe("hello generic");
    const log = await wsMockLog<{ headers: [string, string][] }>("log", "route-generic", true);
    const names = log.headers.map(([name]) => name);
    expect(names).not.toContain("x-proxy-token");
    expect(names).not.toContain("cf-connecting-ip");
  });

  it("relays an upgrade on a preset to its target with the scheme switched to ws", async () => {
    const response = await gateway(
      "/wsmock/echo?id=route-preset",
      { headers: { ...upgrade, "x-forwarded-for": "203.0.113.1" } },
      vars,
    );
    expect(await echoOnce(response, "hello preset")).toBe("hello preset");
    const log = await wsMockLog<{ headers: [string, string][] }>("log", "route-preset", true);
    expect(log.headers.map(([name]) => name)).not.toContain("x-forwarded-for");
  });

  it("needs the token on the generic route", async () => {
    const response = await gateway(`/ws/127.0.0.1:${wsMockPort()}/echo`, { headers: upgrade }, vars);
    expect(response.status).toBe(401);
  });

  it("answers 426 for a plain GET on a ws route", async () => {
    const response = await gateway(`/${TOKEN}/ws/127.0.0.1:${wsMockPort()}/echo`, {}, vars);
    expect(response.status).toBe(426);
    expect(response.headers.get("x-proxy-error")).toBe("websocket_upgrade_required");
  });

  it("turns a refused upstream handshake into an HTTP error, not a 101", async () => {
    const response = await gateway(
      `/${TOKEN}/ws/127.0.0.1:${wsMockPort()}/status/403`,
      { headers: upgrade },
      vars,
    );
    expect(response.status).toBe(502);
    const body = (await response.json()) as { error: { message: string } };
    expect(body.error.message).toContain("403");
  });
});
