import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { readSessionCounters } from "../../src/durable/health/session-counters";
import { getRelayStats } from "../../src/durable/relay/relay-route";
import { RELAY_STATS_RETENTION_MS } from "../../src/durable/relay/relay-session";
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

  it("stores the final stats with a deadline: the alarm deletes them", async () => {
    const c = await RelayClient.open("/echo?id=stats-expiry");
    const id = c.response.headers.get("x-proxy-session-id")!;
    c.ws.send("x");
    await c.next();
    const closedAt = Date.now();
    c.ws.close(1000, "bye");
    await c.closed;
    const stub = env.RELAY_SESSION.get(env.RELAY_SESSION.idFromString(id));
    // The close reaches the object asynchronously: wait for the stats it stores (no sleeping on a timer).
    await expect.poll(() => runInDurableObject(stub, (_o, state) => state.storage.get("stats"))).toBeTruthy();
    const alarm = await runInDurableObject(stub, (_o, state) => state.storage.getAlarm());
    expect(alarm).not.toBeNull();
    expect(alarm!).toBeGreaterThanOrEqual(closedAt);
    expect(alarm!).toBeLessThanOrEqual(Date.now() + RELAY_STATS_RETENTION_MS);
    // The deadline is the retention counted from the session's end, not merely some alarm after the close.
    const stats = await runInDurableObject(stub, (_o, state) =>
      state.storage.get<{ endedAt: number }>("stats"),
    );
    expect(stats!.endedAt).toBeGreaterThanOrEqual(closedAt);
    expect(alarm).toBe(stats!.endedAt + RELAY_STATS_RETENTION_MS);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await runInDurableObject(stub, async (_o, state) => (await state.storage.list()).size)).toBe(0);
  });
});
