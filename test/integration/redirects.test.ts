/**
 * Upstream redirects are never followed by the gateway (issue 11.1): following one would carry the
 * client's credential headers to another origin and step around the generic proxy's private-address
 * guard, which checks only the first host. A 3xx answer to a WebSocket upgrade becomes a 502 naming
 * the upstream status on both transports; a 3xx to a plain HTTP request reaches the client unchanged.
 * The redirect mock sends every request to a landing port that records whether anything arrived.
 */
import { describe, expect, it } from "vitest";
import { gateway, mockOrigin, mockPort } from "./gateway";

const TOKEN = "redirect-token-0123456789";
const origin = mockOrigin("redirect");
const vars = {
  AUTH_TOKEN: TOKEN,
  ENDPOINTS: JSON.stringify({
    redirfetch: { targets: origin, transport: "fetch" },
    redirsocket: { targets: origin, transport: "socket" },
  }),
};
const upgrade = { upgrade: "websocket", "sec-websocket-version": "13" };
const credentials = { "x-goog-api-key": "AIza-client-secret-key", "x-api-key": "client-secret-key" };

interface Landing {
  requests: number;
  headers: [string, string][];
}

async function landing(id: string): Promise<Landing> {
  const response = await fetch(`${origin}/reached/${id}`);
  return (await response.json()) as Landing;
}

let counter = 0;
const nextId = (label: string) => `${label}-${++counter}`;

describe("a 3xx answer to a WebSocket upgrade", () => {
  for (const transport of ["fetch", "socket"] as const) {
    for (const status of [301, 302, 303, 307, 308]) {
      it(`is a 502 naming HTTP ${status} on the ${transport} transport, and the redirect is not followed`, async () => {
        const id = nextId(`ws-${transport}-${status}`);
        const response = await gateway(
          `/redir${transport}/${status}/${id}/live`,
          { headers: { ...upgrade, ...credentials } },
          vars,
        );
        expect(response.status).toBe(502);
        expect(response.webSocket).toBeNull();
        expect(response.headers.get("x-proxy-error")).toBe("upstream_ws_handshake_failed");
        const body = (await response.json()) as { error: { message: string } };
        expect(body.error.message).toContain(`HTTP ${status}`);
        expect(await landing(id)).toEqual({ requests: 0, headers: [] });
      });
    }
  }
});

describe("a 3xx answer to a plain HTTP request", () => {
  const routes: [string, string][] = [
    ["a fetch-transport preset", "/redirfetch"],
    ["a socket-transport preset", "/redirsocket"],
    ["the generic proxy", `/${TOKEN}/http/127.0.0.1:${mockPort("redirect")}`],
  ];
  for (const [label, prefix] of routes) {
    it(`reaches the client unchanged through ${label}, and is not followed`, async () => {
      const id = nextId("http");
      const response = await gateway(
        `${prefix}/307/${id}/v1/x`,
        { method: "POST", headers: credentials, body: "{}" },
        vars,
      );
      expect(response.status).toBe(307);
      expect(response.headers.get("location")).toBe(
        `http://127.0.0.1:${mockPort("redirect.landing")}/landed/${id}`,
      );
      expect(response.headers.get("x-mock")).toBe("redirect");
      expect(await response.text()).toBe("moved");
      expect((await landing(id)).requests).toBe(0);
    });
  }
});
