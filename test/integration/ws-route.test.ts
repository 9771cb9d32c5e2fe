/**
 * The relay behind the real router (the lead's `handleRequest`): generic `ws` routes and WebSocket
 * upgrades on a preset reach the ws mock through `openRelay`.
 */
import { describe, expect, it } from "vitest";
import type { WsConnectionLog } from "../mocks/ws.mock";
import { gateway } from "./gateway";
import { RelayClient, wsMockLog, wsMockPort } from "./ws-client";

const TOKEN = "ws-route-token-0123456789";

describe("WebSocket relay through the router", () => {
  it("relays a generic /{token}/ws/{host:port}/… upgrade, token not forwarded", async () => {
    const response = await gateway(
      `/${TOKEN}/ws/127.0.0.1:${wsMockPort()}/echo?id=route-generic`,
      { headers: { upgrade: "websocket", "sec-websocket-protocol": "chat.v1" } },
      { AUTH_TOKEN: TOKEN },
    );
    expect(response.status).toBe(101);
    const c = new RelayClient(response);
    expect(response.headers.get("sec-websocket-protocol")).toBe("chat.v1");
    c.ws.send("through the router");
    expect(await c.nextText()).toBe("through the router");
    c.ws.send("cmd:headers");
    const headers = JSON.parse(await c.nextText()) as [string, string][];
    expect(JSON.stringify(headers)).not.toContain(TOKEN);
    c.ws.close(4002, "route bye");
    expect(await c.closed).toEqual({ code: 4002, reason: "route bye" });
    const log = await wsMockLog<WsConnectionLog>("log", "route-generic", true);
    expect(log.closeCode).toBe(4002);
  });

  it("relays an upgrade on a preset with an http target as ws://", async () => {
    const ENDPOINTS = JSON.stringify({ wsecho: { targets: [`http://127.0.0.1:${wsMockPort()}`] } });
    const response = await gateway(
      "/wsecho/echo?id=route-preset",
      { headers: { upgrade: "websocket" } },
      { ENDPOINTS },
    );
    expect(response.status).toBe(101);
    const c = new RelayClient(response);
    c.ws.send(new Uint8Array([7, 8, 9]));
    expect([...(await c.nextBinary())]).toEqual([7, 8, 9]);
    c.ws.close(1000);
    await c.closed;
  });

  it("answers an upstream handshake refusal with a 502 error JSON", async () => {
    const response = await gateway(
      `/${TOKEN}/ws/127.0.0.1:${wsMockPort()}/status/401`,
      { headers: { upgrade: "websocket" } },
      { AUTH_TOKEN: TOKEN },
    );
    expect(response.status).toBe(502);
    expect(response.webSocket).toBeNull();
    const body = (await response.json()) as { error: { message: string } };
    expect(body.error.message).toContain("401");
    expect(response.headers.get("x-proxy-error")).toBe("upstream_ws_handshake_failed");
  });
});
