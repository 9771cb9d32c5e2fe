/**
 * Upstreams cannot forge the gateway's own headers (issue 11.5): every `x-proxy-*` an upstream sends is
 * removed before the gateway adds its own, on both transports and on WebSocket handshakes.
 */
import { describe, expect, it } from "vitest";
import { echoReport, gateway, mockOrigin } from "./gateway";
import { RelayClient, wsMockPort } from "./ws-client";

const FORGED = [
  "x-proxy-error:forged",
  "x-proxy-fallback:forged",
  "x-proxy-session-id:forged",
  "x-proxy-request-id:forged",
  "x-proxy-transport:forged",
  "x-proxy-attempts:99",
  "X-Proxy-Anything:forged",
];
const forgeQuery = FORGED.map((h) => `mock_header=${encodeURIComponent(h)}`).join("&");
const vars = {
  ENDPOINTS: JSON.stringify({
    viasocket: { targets: mockOrigin("echo"), transport: "socket" },
    viafetch: { targets: mockOrigin("echo"), transport: "fetch" },
    wsviasocket: { targets: `http://127.0.0.1:${wsMockPort()}`, transport: "socket" },
    wsviafetch: { targets: `http://127.0.0.1:${wsMockPort()}`, transport: "fetch" },
  }),
};

function proxyHeaders(response: Response): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of response.headers) if (name.startsWith("x-proxy-")) out[name] = value;
  return out;
}

describe.each(["socket", "fetch"] as const)("x-proxy-* from an upstream on the %s transport", (transport) => {
  it("never reaches the client; the gateway's own headers are its own", async () => {
    const response = await gateway(`/via${transport}/v1/x?${forgeQuery}`, {}, vars);
    expect(response.status).toBe(200);
    await echoReport(response);
    const headers = proxyHeaders(response);
    expect(Object.values(headers)).not.toContain("forged");
    expect(headers["x-proxy-anything"]).toBeUndefined();
    expect(headers["x-proxy-error"]).toBeUndefined();
    expect(headers["x-proxy-session-id"]).toBeUndefined();
    expect(headers["x-proxy-fallback"]).toBeUndefined();
    expect(headers["x-proxy-transport"]).toBe(transport);
    expect(headers["x-proxy-attempts"]).toBe("1");
    expect(headers["x-proxy-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("is removed from an upstream error response too", async () => {
    const response = await gateway(`/via${transport}/v1/x?mock_status=503&${forgeQuery}`, {}, vars);
    expect(response.status).toBe(503);
    expect(Object.values(proxyHeaders(response))).not.toContain("forged");
  });
});

describe.each(["socket", "fetch"] as const)(
  "x-proxy-* in an upstream's WebSocket handshake (%s)",
  (transport) => {
    it("never reaches the client's 101", async () => {
      const response = await gateway(
        `/wsvia${transport}/echo?id=forged-101-${transport}&forge`,
        { headers: { upgrade: "websocket", "sec-websocket-version": "13" } },
        vars,
      );
      expect(response.status).toBe(101);
      const headers = proxyHeaders(response);
      expect(headers["x-proxy-error"]).toBeUndefined();
      expect(headers["x-proxy-session-id"]).toMatch(/^[0-9a-f]{64}$/);
      const client = new RelayClient(response);
      client.ws.close(1000);
      await client.closed;
    });
  },
);
