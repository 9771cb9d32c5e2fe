import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { getRelayStats } from "../../src/durable/relay-route";
import { readSessionCounters } from "../../src/durable/session-counters";
import { RelayClient } from "./ws-client";

describe("WebSocket relay: stats", () => {
  it("records messages and bytes each way, duration and close code, and feeds /health counters", async () => {
    const before = await readSessionCounters(env);
    const c = await RelayClient.open("/echo?id=stats");
    const id = c.response.headers.get("x-proxy-session-id");
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    const during = await readSessionCounters(env);
    expect(during.websocket.active).toBe(before.websocket.active + 1);
    c.ws.send("héllo"); // 6 bytes of UTF-8
    c.ws.send(new Uint8Array(10));
    await c.next();
    await c.next();
    c.ws.close(4001, "stats done");
    expect(await c.closed).toEqual({ code: 4001, reason: "stats done" });
    const stats = await getRelayStats(env, env.RELAY_SESSION.idFromString(id!));
    expect(stats).toMatchObject({
      endpoint: "generic",
      transport: "socket",
      clientToUpstream: { messages: 2, bytes: 16 },
      upstreamToClient: { messages: 2, bytes: 16 },
      closeCode: 4001,
      closeReason: "stats done",
      closedBy: "client",
      resumptions: 0,
    });
    expect(stats.durationMs).toBeGreaterThanOrEqual(0);
    const after = await readSessionCounters(env);
    expect(after.websocket.completed).toBe(before.websocket.completed + 1);
    expect(after.websocket.active).toBe(before.websocket.active);
  });
});
