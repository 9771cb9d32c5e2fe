/**
 * The relay behind the real router (the lead's `handleRequest`): generic `ws` routes and WebSocket
 * upgrades on a preset reach the ws mock through `openRelay`.
 */
import { describe, expect, it } from "vitest";
import type { LiveSessionLog, WsConnectionLog } from "../mocks/ws.mock";
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

  it("resumes a Gemini Live session behind the gemini preset's /ws/…BidiGenerateContent route", async () => {
    const ENDPOINTS = JSON.stringify({
      gemini: { targets: [`http://127.0.0.1:${wsMockPort()}/live/drop`], gemini: true },
    });
    const response = await gateway(
      "/gemini/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent?key=k-123&tag=route-live",
      { headers: { upgrade: "websocket" } },
      { ENDPOINTS },
    );
    expect(response.status).toBe(101);
    const c = new RelayClient(response);
    c.ws.send(JSON.stringify({ setup: { model: "models/m", sessionResumption: {} } }));
    const texts: string[] = [];
    const turn = (text: string) => JSON.stringify({ clientContent: { turns: [{ parts: [{ text }] }] } });
    for (let i = 0; i < 6; i++) c.ws.send(turn(`r${i}`));
    let setupCompletes = 0;
    while (texts.length < 6) {
      const m = await c.next();
      const msg = JSON.parse(typeof m === "string" ? m : new TextDecoder().decode(m)) as {
        setupComplete?: object;
        serverContent?: { modelTurn: { parts: { text: string }[] } };
      };
      if (msg.setupComplete) setupCompletes++;
      if (msg.serverContent) texts.push(msg.serverContent.modelTurn.parts[0]!.text);
    }
    expect(setupCompletes).toBe(1);
    expect(texts).toEqual(["echo:r0", "echo:r1", "echo:r2", "echo:r3", "echo:r4", "echo:r5"]);
    const log = await wsMockLog<LiveSessionLog>("live-log", "route-live");
    expect(log.connections).toBe(2);
    expect(log.duplicates).toEqual([]);
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
